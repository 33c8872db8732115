#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# kill-points.sh --- kill `fredck repair --in-place` with SIGKILL at many
# points and check, after each kill, what docs/design.md section 4 promises:
# the input path holds either the complete original or the complete
# verified repair, and a backup, when present, is the complete original
# (and present whenever the input holds the repair, unless --no-backup).
#
#   kill-points.sh [options] INPUT [-- REPAIR-OPTIONS...]
#
# INPUT is a file or a directory fredck repairs (exit 1); it is never
# touched: every run works on a copy, of the same name, in a directory of
# its own under --work.  A reference repair of another copy is made first:
# "the repair" below means byte-identical to it (a directory: the same
# entries, types, modes, owners, link targets and file contents).
#
# Kill points:
#   (default)        every system call of the repair: the reference run is
#                    traced once (strace), and for each of its system calls,
#                    the K-th call of name S, a run is killed on entry to
#                    exactly that call (strace -e inject=S:signal=KILL:when=K:
#                    strace counts each system call name separately).
#                    Killed on entry to call N+1 is killed right after call N.
#   --stride N       only every N-th of those system calls (and the last).
#   --from REGEX     only from the first system call whose strace line
#                    matches REGEX (awk), e.g. O_EXCL: the temporary file's
#                    creation, where writing starts.
#   --times "T..."   instead: kill after each delay T (seconds), by
#                    timeout -s KILL: for big inputs, where one system call
#                    (copy_file_range) may copy hundreds of MB.
#   --spread N       as --times, N delays evenly spread over 1.2 times the
#                    reference repair's run time (measured here, untraced).
#
# Other options:
#   --signal SIG     INT, TERM or HUP instead of KILL: fredck's own handler
#                    then runs, and more is checked after each point: it
#                    exits 32 (cancelled) unless it had finished, says so,
#                    leaves no temporary at all, and keeps no backup unless
#                    the input holds the repair
#   --output         repair INPUT -o INPUT.out instead of --in-place: the
#                    input must stay the original at every point, and the
#                    output be absent or the complete repair
#   --fredck PATH    the binary (default: $FREDCK, else _build/fredck)
#   --work DIR       where the copies go (default: a new mktemp -d,
#                    removed at the end)
#   --rerun          after each kill, run the same repair again, untraced,
#                    and check that it finishes the job (exit 1, or 0 when
#                    the input already holds the repair) or refuses with
#                    exit 8 naming the backup an interrupted run left; the
#                    leftover temporary files must be named in its output
#   -v               one line per kill point
#
# Prints, last, one summary line; exit 0 when every check held, 1 when one
# failed (each failure is printed), 2 on a usage or setup error.
set -u

die() {
	echo "kill-points: $*" >&2
	exit 2
}

fredck=${FREDCK:-$(cd "$(dirname "$0")/../.." && pwd)/_build/fredck}
work="" stride=1 from="" times="" spread=0 rerun=0 verbose=0 input="" signal=KILL output=0
repair_opts=()
while [ $# -gt 0 ]; do
	case "$1" in
	--fredck) fredck=$2; shift 2 ;;
	--work) work=$2; shift 2 ;;
	--stride) stride=$2; shift 2 ;;
	--from) from=$2; shift 2 ;;
	--times) times=$2; shift 2 ;;
	--spread) spread=$2; times=spread; shift 2 ;;
	--rerun) rerun=1; shift ;;
	--signal) signal=$2; shift 2 ;;
	--output) output=1; shift ;;
	-v) verbose=1; shift ;;
	--) shift; repair_opts=("$@"); break ;;
	-*) die "unknown option $1" ;;
	*) [ -z "$input" ] || die "one INPUT only"; input=$1; shift ;;
	esac
done
[ -n "$input" ] || die "usage: kill-points.sh [--stride N] [--from REGEX] [--times \"T...\" | --spread N] [--rerun] [--signal SIG] [--output] [-v] [--fredck PATH] [--work DIR] INPUT [-- REPAIR-OPTIONS]"
[ -e "$input" ] || die "no such input: $input"
[ -x "$fredck" ] || die "not an executable: $fredck"
[ -n "$times" ] || command -v strace >/dev/null || die "strace is not installed"
# Under ptrace LeakSanitizer cannot run and reports a fatal error instead;
# in a sanitizer build ASan and UBSan still watch every traced run.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
case "$stride" in *[!0-9]* | '' | 0) die "--stride takes a positive number" ;; esac
case "$signal" in KILL | INT | TERM | HUP) ;; *) die "--signal takes KILL, INT, TERM or HUP" ;; esac
# A shell started in the background (bash's "&", nohup) passes SIGINT or
# SIGHUP on ignored, and fredck keeps an ignored signal ignored (as it
# should: nohup means it): give the runs the default dispositions.
default_signals="env --default-signal=INT,TERM,HUP"
env --default-signal=INT true 2>/dev/null || default_signals=""
# The status of a process the signal's default action ended: 128 + its number.
default_death=$((128 + $(kill -l "$signal")))
[ "$output" -eq 0 ] || [ "$rerun" -eq 0 ] || die "--rerun goes with --in-place, not --output"
input=$(cd "$(dirname "$input")" && pwd)/$(basename "$input")
name=$(basename "$input")
no_backup=0
for o in "${repair_opts[@]}"; do
	[ "$o" != --no-backup ] || no_backup=1
done
backup_suffix=.orig
for o in "${repair_opts[@]}"; do
	case "$o" in --backup=*) backup_suffix=${o#--backup=} ;; esac
done

# how DIR: the repair's own arguments for the copy in DIR.
how() {
	if [ "$output" -eq 1 ]; then
		printf '%s\n' "$1/$name" -o "$1/$name.out"
	else
		printf '%s\n' --in-place "$1/$name"
	fi
}

# LeakSanitizer (a sanitizer build) stops a traced process: it needs ptrace itself.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"

own_work=0
if [ -z "$work" ]; then
	work=$(mktemp -d) || die "mktemp failed"
	own_work=1
fi
rm -rf "$work/ref" "$work/run" && mkdir -p "$work/ref" "$work/run" || die "cannot make $work/ref and $work/run"
cleanup() {
	[ "$own_work" -eq 0 ] || rm -rf "$work"
}
trap cleanup EXIT

since() { # START: seconds since $EPOCHREALTIME was START, 1 decimal
	awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'
}

# sig PATH: what "the same" compares.  A file: its metadata (the content is
# compared with cmp); a directory: every entry's type, mode, owner, link
# target and the sha256 of every file.
sig() {
	if [ -d "$1" ] && [ ! -L "$1" ]; then
		(
			cd "$1" || exit 1
			find . -printf '%y %m %U:%G %p %l\n' | LC_ALL=C sort
			find . -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum
		)
	else
		stat -c '%F %a %U:%G' "$1"
	fi
}

# same REF REF_SIG PATH: PATH holds what REF holds.
same() {
	[ -e "$3" ] || return 1
	[ "$(sig "$3")" = "$2" ] || return 1
	[ -d "$1" ] || cmp -s "$1" "$3"
}

# copy SRC DST: a fresh copy keeping modes and owners.
copy() {
	rm -rf "$2" && cp -a "$1" "$2"
}

leftovers() { # DIR: the temporary names fredck may leave there
	find "$1" -maxdepth 1 -name ".$name.fredck-*" -printf '%f\n' | LC_ALL=C sort
}

# ---- the reference repair, traced ---------------------------------------

copy "$input" "$work/ref/$name" || die "cannot copy $input"
orig_sig=$(sig "$input")
start=$EPOCHREALTIME
if [ -n "$times" ]; then
	mapfile -t args < <(how "$work/ref")
	"$fredck" repair "${args[@]}" "${repair_opts[@]}" >"$work/ref.out" 2>&1
	st=$?
else
	mapfile -t args < <(how "$work/ref")
	strace -qq -o "$work/trace" -- "$fredck" repair "${args[@]}" "${repair_opts[@]}" \
		>"$work/ref.out" 2>&1
	st=$?
fi
ref_time=$(since "$start")
ref_time_exact=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { print b - a }')
[ "$st" -eq 1 ] || die "the reference repair exited $st, not 1: $(cat "$work/ref.out")"
ref="$work/ref/$name"
[ "$output" -eq 0 ] || ref="$work/ref/$name.out"
ref_sig=$(sig "$ref")
ref_size=$(stat -c %s "$ref")
[ "$ref_sig" != "$orig_sig" ] || [ ! -d "$ref" ] || die "the reference repair changed nothing"

# The kill points: "NAME K" per line (the K-th call of NAME), or delays.
points=()
if [ "$times" = spread ]; then
	mapfile -t points < <(awk -v t="$ref_time_exact" -v n="$spread" \
		'BEGIN { for (i = 1; i <= n; i++) printf "%.3f\n", 1.2 * t * i / n }')
elif [ -n "$times" ]; then
	read -r -a points <<<"$times"
else
	# Lines look like 'openat(AT_FDCWD, ...) = 3'; the last is exit_group
	# (no result), "+++ exited" follows.  execve is the traced start.
	mapfile -t points < <(awk -v from="$from" '
		NR > 1 && /^[a-z0-9_]+\(/ {
			name = substr($0, 1, index($0, "(") - 1)
			n[name]++
			if (from == "" || $0 ~ from) on = 1
			if (on) print name " " n[name]
		}' "$work/trace" |
		awk -v s="$stride" '{ l[NR] = $0 } END { for (i = 1; i <= NR; i++) if ((i - 1) % s == 0 || i == NR) print l[i] }')
fi
[ "${#points[@]}" -gt 0 ] || die "no kill points"

# ---- one kill point -------------------------------------------------------

tried=0 killed=0 not_killed=0 held_orig=0 held_repair=0 with_backup=0 with_temp=0
failures=0 partial=0 rerun_done=0 rerun_refused=0 rerun_nothing=0
fail() {
	echo "FAIL at kill point $1: $2" >&2
	failures=$((failures + 1))
}

run_killed() { # POINT
	if [ -n "$times" ]; then
		(
			mapfile -t args < <(how "$work/run")
			# --preserve-status: fredck's own status (32 cancelled, 1 done
			# just before the signal), not timeout's 124.
			$default_signals timeout --preserve-status -s "$signal" "$1" "$fredck" repair "${args[@]}" \
				"${repair_opts[@]}" \
				>"$work/run.out" 2>&1
			exit $?
		) 2>/dev/null
	else
		set -- $1
		# A subshell, its stderr silenced: bash would say "Killed" of its child.
		(
			mapfile -t args < <(how "$work/run")
			$default_signals strace -qq -o /dev/null -e trace="$1" -e inject="$1:signal=$signal:when=$2" -- \
				"$fredck" repair "${args[@]}" "${repair_opts[@]}" >"$work/run.out" 2>&1
			exit $?
		) 2>/dev/null
	fi
}

# After a kill, with --output: the input is the original; the output nothing or the repair.
check_output_state() { # POINT
	local p=$1 in="$work/run/$name" out="$work/run/$name.out" left
	same "$input" "$orig_sig" "$in" || fail "$p" "the input changed"
	state=original
	held_orig=$((held_orig + 1))
	if [ -e "$out" ]; then
		same "$ref" "$ref_sig" "$out" || fail "$p" "$out is not the complete repair"
		held_repair=$((held_repair + 1))
	fi
	left=$(find "$work/run" -maxdepth 1 -name ".$name.out.fredck-*" -printf '%f\n')
	[ -z "$left" ] || with_temp=$((with_temp + 1))
	line="input=original output=$([ -e "$out" ] && echo repair || echo absent) temp=$left"
}

# After a kill: what the input, the backup and the directory hold.
check_state() { # POINT
	if [ "$output" -eq 1 ]; then
		check_output_state "$@"
		return
	fi
	local p=$1 in="$work/run/$name" bk="$work/run/$name$backup_suffix" left state backup
	if same "$input" "$orig_sig" "$in"; then
		state=original
		held_orig=$((held_orig + 1))
	elif same "$ref" "$ref_sig" "$in"; then
		state=repair
		held_repair=$((held_repair + 1))
	else
		state=DAMAGED
		fail "$p" "$in holds neither the original nor the repair"
	fi
	if [ ! -e "$bk" ] && [ ! -L "$bk" ]; then
		backup=absent
		[ "$state" != repair ] || [ "$no_backup" -eq 1 ] ||
			fail "$p" "the input holds the repair but there is no backup $bk"
	elif same "$input" "$orig_sig" "$bk"; then
		backup=complete
		with_backup=$((with_backup + 1))
	else
		backup=DAMAGED
		fail "$p" "the backup $bk is not the complete original"
	fi
	left=$(leftovers "$work/run")
	[ -z "$left" ] || with_temp=$((with_temp + 1))
	for l in $left; do
		[ ! -f "$work/run/$l" ] || [ "$(stat -c %s "$work/run/$l")" -ge "$ref_size" ] ||
			partial=$((partial + 1))
	done
	line="input=$state backup=$backup temp=$(for l in $left; do
		printf '%s(%s) ' "$l" "$(du -s --apparent-size -B1 "$work/run/$l" | cut -f1)"
	done)"
}

# After SIGINT, SIGTERM or SIGHUP, fredck's handler ran: nothing half made is left.
check_cancelled() { # POINT STATUS
	local p=$1 st=$2
	# Before main() installs the handler (the loader, libc's start) the
	# signal's default action ends fredck: nothing can have been written.
	if [ "$st" -eq "$default_death" ]; then
		[ "$state" = original ] || fail "$p" "died of the signal's default action after writing"
	elif [ "$st" -ne 32 ] && [ "$st" -ne 1 ]; then
		fail "$p" "exited $st, neither cancelled (32) nor done (1)"
	fi
	if [ "$st" -eq 32 ]; then
		grep -q "^fredck: interrupted by SIG$signal" "$work/run.out" ||
			fail "$p" "cancelled without saying so: $(cat "$work/run.out")"
	fi
	[ -z "$(leftovers "$work/run")" ] || fail "$p" "temporaries left: $(leftovers "$work/run")"
	[ -z "$(find "$work/run" -maxdepth 1 -name ".$name.out.fredck-*")" ] ||
		fail "$p" "temporaries of the output left"
	if [ "$state" = original ] && [ -e "$work/run/$name$backup_suffix" ]; then
		fail "$p" "the input is the original but a backup was left"
	fi
}

# The same repair again, untraced: it finishes, or refuses naming why.
check_rerun() { # POINT
	local p=$1 st left
	left=$(leftovers "$work/run")
	"$fredck" repair --in-place "${repair_opts[@]}" "$work/run/$name" >"$work/rerun.out" 2>&1
	st=$?
	case "$st" in
	1)
		rerun_done=$((rerun_done + 1))
		same "$ref" "$ref_sig" "$work/run/$name" || fail "$p" "the rerun did not leave the repair"
		;;
	0) rerun_nothing=$((rerun_nothing + 1)) ;;
	12)
		rerun_refused=$((rerun_refused + 1))
		grep -q "backup already exists" "$work/rerun.out" ||
			fail "$p" "the rerun exited 12: $(cat "$work/rerun.out")"
		;;
	*) fail "$p" "the rerun exited $st: $(cat "$work/rerun.out")" ;;
	esac
	for l in $left; do
		grep -qF "$l" "$work/rerun.out" || fail "$p" "the rerun does not mention the leftover $l"
	done
	line="$line rerun=$st"
}

# Back to the original for the next point: cheap when it still is.
restore() {
	local in="$work/run/$name"
	rm -rf "$work/run/$name$backup_suffix" "$work/run/$name.out" "$work/run/.$name.out.fredck-"*
	leftovers "$work/run" | while read -r l; do rm -rf "${work:?}/run/$l"; done
	[ "$state" = original ] || copy "$input" "$in"
}

copy "$input" "$work/run/$name" || die "cannot copy $input"
start=$EPOCHREALTIME
for p in "${points[@]}"; do
	tried=$((tried + 1))
	run_killed "$p"
	st=$?
	if [ "$st" -eq 137 ] || { [ "$signal" != KILL ] && { [ "$st" -eq 32 ] || [ "$st" -eq "$default_death" ]; }; }; then
		killed=$((killed + 1))
	else
		not_killed=$((not_killed + 1))
		[ -n "$times" ] || [ "$st" -eq 1 ] ||
			fail "$p" "not killed, and exited $st: $(cat "$work/run.out")"
	fi
	check_state "$p"
	state=${line#input=}
	state=${state%% *}
	[ "$signal" = KILL ] || check_cancelled "$p" "$st"
	[ "$rerun" -eq 0 ] || check_rerun "$p"
	[ "$verbose" -eq 0 ] || printf '%4d %-22s exit=%-3d %s\n' "$tried" "$p" "$st" "$line"
	[ "$rerun" -eq 0 ] || state=changed
	restore
done
elapsed=$(since "$start")

how="every system call"
[ "$stride" -eq 1 ] || how="one system call in $stride"
[ -z "$from" ] || how="$how from the first matching /$from/"
[ -z "$times" ] || how="kills after ${#points[@]} delays from ${points[0]} to ${points[-1]} s (the repair takes $ref_time s)"
printf '%s: %d kill points (SIG%s, %s): killed %d, finished first %d; input held the original %d, the repair %d; complete backup present %d; temporary files left %d (of them cut short while being written %d)' \
	"$name" "$tried" "$signal" "$how" "$killed" "$not_killed" "$held_orig" "$held_repair" "$with_backup" "$with_temp" "$partial"
[ "$rerun" -eq 0 ] ||
	printf '; rerun repaired %d, found nothing to do %d, refused (backup exists) %d' \
		"$rerun_done" "$rerun_nothing" "$rerun_refused"
printf '; %d failures; %s s\n' "$failures" "$elapsed"
[ "$failures" -eq 0 ]
