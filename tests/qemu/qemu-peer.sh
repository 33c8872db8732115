# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
#
# qemu-peer.sh --- real QEMU for the tests (docs/design.md section 7, "Real
# peers"): make migration streams and load them back.  Sourced by BATS
# files, tests/qemu/stream-matrix.sh and scripts/install-qemu-peers.sh;
# needs bash.
#
# Peers:
#   debian12  the host's qemu-system-x86_64 (Debian 12: QEMU 7.2)
#   trixie    $FREDCK_CHROOTS/trixie (Debian 13: QEMU 10.0)
#   sid       $FREDCK_CHROOTS/sid (Debian unstable: newest QEMU)
#   host      the host's qemu-system-x86_64, whatever its version: for a
#             root that has only its own release's QEMU (the autopkgtest
#             "qemu" in a Debian 12 or 13 testbed); not in qemu_peer_list
# scripts/install-qemu-peers.sh installs them.  A peer that is not there
# has a one-line skip reason instead (qemu_peer_skip_reason), so tests say
# "skipped" with the reason rather than failing or passing silently.
#
# Functions (see each one's comment):
#   qemu_peer_list, qemu_peer_skip_reason PEER, qemu_peer_version PEER,
#   qemu_peer_selftest PEER, qemu_run PEER ARGS...,
#   qemu_make_stream PEER OUT [options], qemu_load_stream PEER FILE [options],
#   qemu_savevm PEER STREAM IMAGE NAME [options]
#   qemu_loadvm_save PEER IMAGE NAME OUT [options]
#
# Every QEMU here runs under TCG (-accel tcg: no /dev/kvm needed, same
# result on every host), with -nodefaults and no display, and is driven
# over QMP on its standard input and output through two FIFOs: nothing
# beyond bash and coreutils is needed.  Every wait is bounded by
# QEMU_PEER_TIMEOUT seconds.  Temporary files go to a fresh directory under
# $BATS_TEST_TMPDIR (else $TMPDIR, else /tmp), never into the source tree,
# so the functions work from a read-only VPATH tree (make distcheck).
#
# Environment:
#   FREDCK_CHROOTS      where the chroots are (default /var/cache/fredck/chroots)
#   QEMU_PEER_TIMEOUT   seconds for each migration / QMP exchange (default 120)
#   QEMU_PEER_SHARE     extra host directories (colon-separated) a chroot
#                       peer must see, for qemu_run callers
#   QEMU_PEER_KEEP=1    keep the temporary directory (QMP transcript,
#                       QEMU's stderr) and print its name

FREDCK_CHROOTS=${FREDCK_CHROOTS:-/var/cache/fredck/chroots}
QEMU_PEER_TIMEOUT=${QEMU_PEER_TIMEOUT:-120}

# All peers this library knows, in version order.
QEMU_PEERS="debian12 trixie sid"

# The chroot directory of PEER; empty for the host's QEMU; fails for an
# unknown name.
_qp_root() {
	case "$1" in
	debian12 | host) echo "" ;;
	trixie | sid) echo "$FREDCK_CHROOTS/$1" ;;
	*) return 1 ;;
	esac
}

# qemu_peer_skip_reason PEER: nothing when PEER is usable here, else one
# line saying why not (for BATS "skip").  Cheap: it runs "--version" only;
# qemu_peer_selftest is the thorough check.
qemu_peer_skip_reason() {
	local peer=$1 root v
	if ! root=$(_qp_root "$peer"); then
		echo "unknown QEMU peer '$peer' (known: $QEMU_PEERS)"
		return 0
	fi
	if [ -z "$root" ]; then
		if ! command -v qemu-system-x86_64 >/dev/null 2>&1; then
			echo "qemu-system-x86_64 is not installed (run scripts/install-qemu-peers.sh)"
			return 0
		fi
		[ "$peer" = debian12 ] || return 0
		v=$(qemu_peer_version debian12)
		# The debian12 tests assume 7.2's stream (no cpu/fred, no
		# COMMAND 11...); another host QEMU is not that peer.
		case "$v" in
		7.2.*) ;;
		*) echo "the host's QEMU is ${v:-unknown}, not Debian 12's 7.2" ;;
		esac
		return 0
	fi
	if [ ! -x "$root/usr/bin/qemu-system-x86_64" ]; then
		if [ -s "$root.failed" ]; then
			echo "no $peer QEMU: the chroot could not be built: $(head -1 "$root.failed")"
		else
			echo "no $peer QEMU: no chroot at $root (run scripts/install-qemu-peers.sh)"
		fi
		return 0
	fi
	# chroot and the private mounts of qemu_run need root.
	if [ "$(id -u)" -ne 0 ]; then
		echo "the $peer QEMU runs in a chroot, which needs root"
		return 0
	fi
	if ! command -v unshare >/dev/null 2>&1; then
		echo "the $peer QEMU needs unshare (util-linux)"
		return 0
	fi
	if ! chroot "$root" qemu-system-x86_64 --version >/dev/null 2>&1; then
		echo "the $peer chroot at $root is broken: its qemu-system-x86_64 --version fails"
	fi
	return 0
}

# qemu_peer_version PEER: QEMU's version number, e.g. 7.2.22.
qemu_peer_version() {
	local root
	root=$(_qp_root "$1") || return 1
	if [ -z "$root" ]; then
		qemu-system-x86_64 --version 2>/dev/null
	else
		chroot "$root" qemu-system-x86_64 --version 2>/dev/null
	fi | sed -n '1s/^QEMU emulator version \([0-9][0-9.]*\).*/\1/p'
}

# qemu_peer_list: the peers usable here, one per line: NAME VERSION.
qemu_peer_list() {
	local p
	for p in $QEMU_PEERS; do
		[ -z "$(qemu_peer_skip_reason "$p")" ] || continue
		echo "$p $(qemu_peer_version "$p")"
	done
}

# Directories a chroot peer must not get from the host: binding them would
# replace the chroot's own system (or QEMU) with the host's.
_qp_shareable() {
	case "$1" in
	/ | /var | /run | /usr | /usr/* | /bin | /bin/* | /sbin | /sbin/* | /lib | /lib/* | \
		/lib32* | /lib64* | /libx32* | /etc | /etc/* | /dev | /dev/* | /proc | /proc/* | \
		/sys | /sys/* | /boot | /boot/*) return 1 ;;
	/*) [ -d "$1" ] ;;
	*) return 1 ;;
	esac
}

# _qp_prefix PEER NSDIR SHARE...: sets the array _qp_argv to the command
# that runs PEER's qemu-system-x86_64 (append QEMU's arguments to it).
#
# How a chroot peer sees the caller's files: in a private mount namespace
# (unshare -m; it and its mounts vanish with QEMU), the chroot is mounted
# as an overlay whose writable layer is a tmpfs on NSDIR, so the cached
# chroot is never written to; the host's /dev and a /proc are mounted in
# it, and every SHARE directory is bind-mounted at the same path.  Host
# paths therefore mean the same inside, and QEMU starts in the caller's
# working directory when that is shared too.  Where overlayfs is not
# available the mount points are made in the chroot itself (empty
# directories, left behind).  Each step execs the next, so the process
# started is, in the end, QEMU itself: its pid is QEMU's.
_qp_prefix() {
	local peer=$1 ns=$2 root
	shift 2
	root=$(_qp_root "$peer") || return 1
	if [ -z "$root" ]; then
		_qp_argv=(qemu-system-x86_64)
		return 0
	fi
	# shellcheck disable=SC2016
	_qp_argv=(unshare -m --propagation private bash -c '
		root=$1 ns=$2 wd=$3 n=$4
		shift 4
		mnt=$root
		if mount -t tmpfs fredck-qemu "$ns" 2>/dev/null &&
			mkdir "$ns/upper" "$ns/work" "$ns/root" &&
			mount -t overlay fredck-qemu \
				-o "lowerdir=$root,upperdir=$ns/upper,workdir=$ns/work" "$ns/root" 2>/dev/null; then
			mnt=$ns/root
		fi
		mount --rbind /dev "$mnt/dev" || exit 125
		mount -t proc proc "$mnt/proc" || exit 125
		while [ "$n" -gt 0 ]; do
			mkdir -p "$mnt$1" && mount --bind "$1" "$mnt$1" || exit 125
			shift
			n=$((n - 1))
		done
		exec chroot "$mnt" /bin/sh -c "cd \"\$0\" 2>/dev/null || cd /; exec qemu-system-x86_64 \"\$@\"" "$wd" "$@"
	' qemu-peer "$root" "$ns" "$PWD")
	local d shares=()
	for d in "$@"; do
		_qp_shareable "$d" && shares+=("$d")
	done
	_qp_argv+=("${#shares[@]}" "${shares[@]}")
}

# The directories qemu_run shares with a chroot peer: QEMU_PEER_SHARE, the
# temporary directories tests write to, and the working directory.
_qp_default_shares() {
	local d
	local IFS=:
	for d in ${QEMU_PEER_SHARE:-}; do echo "$d"; done
	IFS=' '
	for d in "${TMPDIR:-/tmp}" "${BATS_RUN_TMPDIR:-}" "${BATS_FILE_TMPDIR:-}" \
		"${BATS_TEST_TMPDIR:-}" "$PWD"; do
		[ -n "$d" ] && echo "$d"
	done
}

# A fresh temporary directory for one QEMU (see the header for where).
_qp_tmpdir() {
	mktemp -d "${BATS_TEST_TMPDIR:-${TMPDIR:-/tmp}}/qemu-peer.XXXXXX"
}

# qemu_run PEER ARGS...: run PEER's qemu-system-x86_64 with ARGS, in the
# foreground; its exit status.  Host paths in ARGS work for a chroot peer
# when they lie under a shared directory (_qp_default_shares).
qemu_run() {
	local peer=$1 ns rc shares=()
	shift
	[ -z "$(qemu_peer_skip_reason "$peer")" ] || {
		echo "qemu_run: $(qemu_peer_skip_reason "$peer")" >&2
		return 125
	}
	ns=$(_qp_tmpdir) || return 125
	mapfile -t shares < <(_qp_default_shares)
	_qp_prefix "$peer" "$ns" "${shares[@]}" || return 125
	"${_qp_argv[@]}" "$@"
	rc=$?
	rm -rf "$ns"
	return "$rc"
}

# ---------------------------------------------------------------------
# QMP client: one QEMU per subshell (qemu_make_stream and qemu_load_stream
# run in subshells, so their state, traps and file descriptors die with
# them).  State: _qp_dir (temporary directory), _qp_pid (QEMU), _qp_in and
# _qp_out (QMP file descriptors), _qp_reply (last reply line), _qp_what
# (the function name, for messages).

# Fail loudly: the step that failed and what QEMU said, on stderr.
_qp_die() {
	echo "$_qp_what: $*" >&2
	if [ -s "$_qp_dir/qemu.err" ]; then
		sed 's/^/  qemu: /' "$_qp_dir/qemu.err" | tail -n 8 >&2
	fi
	exit 1
}

_qp_alive() {
	local st
	[ -n "${_qp_pid:-}" ] || return 1
	st=$(cut -d' ' -f3 "/proc/$_qp_pid/stat" 2>/dev/null) || return 1
	[ -n "$st" ] && [ "$st" != Z ]
}

# EXIT trap of the subshell: QEMU never outlives its caller.
_qp_cleanup() {
	if _qp_alive; then
		kill -TERM "$_qp_pid" 2>/dev/null
		sleep 0.2
		kill -KILL "$_qp_pid" 2>/dev/null
	fi
	if [ -n "${_qp_relay:-}" ] && kill -0 "$_qp_relay" 2>/dev/null; then
		kill -KILL "$_qp_relay" 2>/dev/null
	fi
	wait 2>/dev/null
	if [ "${QEMU_PEER_KEEP:-0}" = 1 ]; then
		echo "$_qp_what: kept $_qp_dir${_qp_partial:+ and the partial $_qp_partial}" >&2
	else
		rm -rf "$_qp_dir"
		# A stream that did not complete must not pass for one.
		[ -z "${_qp_partial:-}" ] || rm -f "$_qp_partial"
	fi
}

# _qp_start PEER SHARE... -- QEMU-ARGS...: start QEMU with QMP on its
# stdio, read the greeting, leave capabilities negotiation done.
_qp_start() {
	local peer=$1 shares=()
	shift
	while [ "$1" != -- ]; do
		shares+=("$1")
		shift
	done
	shift
	mkfifo "$_qp_dir/qmp.in" "$_qp_dir/qmp.out" || _qp_die "cannot make FIFOs in $_qp_dir"
	mkdir "$_qp_dir/ns" || _qp_die "cannot make $_qp_dir/ns"
	_qp_prefix "$peer" "$_qp_dir/ns" "${shares[@]}" || _qp_die "unknown peer $peer"
	echo "${_qp_argv[*]} $*" >"$_qp_dir/cmdline"
	# fd 3 closed: BATS waits for whoever holds it (and so would hang on a
	# leftover migration child).
	"${_qp_argv[@]}" "$@" -qmp stdio \
		<"$_qp_dir/qmp.in" >"$_qp_dir/qmp.out" 2>"$_qp_dir/qemu.err" 3>&- &
	_qp_pid=$!
	# Read-write on the input FIFO: opening never blocks, and a QEMU that
	# died cannot turn our writes into SIGPIPE.  Read-only on the output:
	# QEMU's exit is then an end of file.
	exec {_qp_in}<>"$_qp_dir/qmp.in"
	exec {_qp_out}<"$_qp_dir/qmp.out"
	_qp_read greeting || _qp_die "QEMU did not start"
	case "$_qp_reply" in
	*'"QMP"'*) ;;
	*) _qp_die "no QMP greeting: $_qp_reply" ;;
	esac
	_qp_qmp '{"execute": "qmp_capabilities"}' || _qp_die "qmp_capabilities: $_qp_reply"
}

# _qp_read WHAT: the next QMP line that is not an event, into _qp_reply.
# Fails on end of file (QEMU gone) or timeout.
_qp_read() {
	local line deadline=$((SECONDS + QEMU_PEER_TIMEOUT))
	while :; do
		if IFS= read -r -t 1 -u "$_qp_out" line; then
			line=${line%$'\r'}
			echo "<- $line" >>"$_qp_dir/qmp.log"
			case "$line" in
			'{"event"'* | '{"timestamp"'*) continue ;;
			esac
			_qp_reply=$line
			return 0
		elif [ $? -le 128 ]; then
			_qp_reply="QEMU exited while waiting for $1"
			return 1
		fi
		if [ "$SECONDS" -ge "$deadline" ]; then
			_qp_reply="timed out after ${QEMU_PEER_TIMEOUT}s waiting for $1"
			return 1
		fi
	done
}

# _qp_qmp JSON: send one command; the reply in _qp_reply; fails on an
# error reply (then _qp_reply is QEMU's error text) or no reply.
_qp_qmp() {
	echo "-> $1" >>"$_qp_dir/qmp.log"
	printf '%s\n' "$1" >&"$_qp_in"
	_qp_read "the reply to $1" || return 1
	case "$_qp_reply" in
	'{"return"'*) return 0 ;;
	*'"desc": "'*)
		_qp_reply=$(printf '%s\n' "$_qp_reply" | sed 's/.*"desc": "\(.*\)"}.*/\1/')
		return 1
		;;
	*) return 1 ;;
	esac
}

# The value of "KEY": "..." in _qp_reply (first occurrence).
_qp_field() {
	printf '%s\n' "$_qp_reply" | grep -o "\"$1\": \"[^\"]*\"" | head -n 1 | cut -d'"' -f4
}

# Poll query-migrate until a final status; prints it.  On "failed" the
# error description follows after a colon.
_qp_wait_migration() {
	local st deadline=$((SECONDS + QEMU_PEER_TIMEOUT))
	while :; do
		if ! _qp_qmp '{"execute": "query-migrate"}'; then
			echo "failed: $_qp_reply"
			return 1
		fi
		st=$(_qp_field status)
		case "$st" in
		completed)
			echo completed
			return 0
			;;
		failed | cancelled)
			echo "$st: $(_qp_field error-desc)"
			return 1
			;;
		esac
		if [ "$SECONDS" -ge "$deadline" ]; then
			echo "timed out after ${QEMU_PEER_TIMEOUT}s (last status: ${st:-none})"
			return 1
		fi
		sleep 0.05
	done
}

# Ask QEMU to quit and wait (bounded) for it to be gone.
_qp_quit() {
	_qp_qmp '{"execute": "quit"}' || true
	for _ in $(seq 100); do
		_qp_alive || break
		sleep 0.05
	done
	if _qp_alive; then
		kill -KILL "$_qp_pid" 2>/dev/null
		return 1
	fi
	wait "$_qp_pid" 2>/dev/null
	return 0
}

# An absolute version of host path $1 (its directory must exist), refused
# when it holds characters that would need quoting inside QMP JSON, a
# shell command or a file: URI (which splits options at commas).
_qp_abspath() {
	local d
	case "$1" in
	*[\'\"\\,]* | *$'\n'*) return 1 ;;
	esac
	d=$(cd "$(dirname "$1")" 2>/dev/null && pwd) || return 1
	echo "${d%/}/$(basename "$1")"
}

# Shape options common to both ends; sets _qp_shape (QEMU arguments) and
# leaves the options it does not know in _qp_rest.
_qp_parse_shape() {
	local machine=pc smp=2 mem=64 cpu="" vmdesc="" drive="" extra=()
	_qp_rest=()
	_qp_shares=()
	_qp_mode="exec"
	while [ $# -gt 0 ]; do
		case "$1" in
		--machine | --smp | --mem | --cpu | --mode | --drive)
			[ $# -ge 2 ] || _qp_die "option $1 needs a value"
			case "$1" in
			--machine) machine=$2 ;;
			--smp) smp=$2 ;;
			--mem) mem=$2 ;;
			--cpu) cpu=$2 ;;
			--mode) _qp_mode=$2 ;;
			--drive) drive=$2 ;;
			esac
			shift 2
			;;
		--suppress-vmdesc)
			vmdesc=,suppress-vmdesc=on
			shift
			;;
		--args)
			[ $# -ge 2 ] || _qp_die "option $1 needs a value"
			read -r -a extra <<<"$2"
			shift 2
			;;
		*)
			_qp_rest+=("$1")
			shift
			;;
		esac
	done
	case "$smp$mem" in
	*[!0-9]* | '') _qp_die "--smp and --mem take numbers (got '$smp', '$mem')" ;;
	esac
	case "$_qp_mode" in
	exec | file | mapped-ram) ;;
	*) _qp_die "--mode is exec, file or mapped-ram (got '$_qp_mode')" ;;
	esac
	_qp_shape=(-accel tcg -machine "$machine$vmdesc" -smp "$smp" -m "$mem")
	[ -z "$cpu" ] || _qp_shape+=(-cpu "$cpu")
	if [ -n "$drive" ]; then
		# The first IDE disk (-machine pc: PIIX primary master, which
		# SeaBIOS boots from).  Its directory is shared with a chroot peer.
		local d=$drive
		drive=$(_qp_abspath "$d") && [ -f "$drive" ] ||
			_qp_die "--drive: no such file (or one of ' \" \\ , in its path): $d"
		_qp_shape+=(-drive "file=$drive,format=raw,if=ide,index=0,media=disk")
		_qp_shares+=("$(dirname "$drive")")
	fi
	_qp_shape+=("${extra[@]}" -display none -nodefaults -no-user-config -S)
}

# The capabilities of mapped-ram (QEMU >= 9.0): both ends must set them.
_qp_mapped_ram_caps() {
	_qp_qmp '{"execute": "migrate-set-capabilities", "arguments": {"capabilities": [{"capability": "multifd", "state": true}, {"capability": "mapped-ram", "state": true}]}}' ||
		_qp_die "migrate-set-capabilities multifd + mapped-ram (needs QEMU >= 9.0): $_qp_reply"
}

# qemu_make_stream PEER OUT [options]: a paused TCG VM of PEER, migrated to
# the host file OUT; then QEMU quits.  Options:
#   --machine M        pc (default: the peer's newest i440fx), q35,
#                      pc-i440fx-X.Y, ... (may carry ",prop=value")
#   --smp N            vCPUs (default 2)
#   --mem MiB          RAM (default 64)
#   --cpu MODEL        -cpu MODEL (default: QEMU's, qemu64)
#   --mode exec        migrate "exec:cat > OUT" (default)
#   --mode file        migrate "file:OUT" (QEMU >= 8.2)
#   --mode mapped-ram  capabilities multifd + mapped-ram, "file:OUT" (>= 9.0)
#   --suppress-vmdesc  -machine ...,suppress-vmdesc=on: no device description
#   --args "ARGS"      more QEMU arguments (split at blanks), e.g. a device;
#                      load with the same
#   --run-ms N         let the guest (SeaBIOS, no boot device) run N ms
#                      first, so RAM is not all zero pages (default 0)
#   --drive FILE       a raw disk: the first IDE disk (-machine pc: the PIIX
#                      primary master, which SeaBIOS boots).  QEMU may write
#                      it (the guest decides); load with the same --drive.
#   --run-until ERE    run the guest until HMP "info registers" (vCPU 0)
#                      matches the extended regex ERE, e.g. a parked guest:
#                      'EIP=00007c[0-9a-f]{2} .*HLT=1'; then stop.  Bounded
#                      by QEMU_PEER_TIMEOUT.
#   --via "CMD"        exec mode through a filter: "exec:CMD > OUT".  For a
#                      chroot peer CMD (a host program) runs on the host,
#                      fed by "exec:cat > FIFO".
#   --ram-file FILE    guest RAM starts as FILE's bytes (exactly --mem MiB;
#                      memory-backend-file, private: FILE is not written):
#                      non-zero pages all go into the stream, which is then
#                      about as big as the RAM.  Host QEMU (debian12) only.
# Exit 0 when migration completed and OUT is not empty; else 1 with a
# message naming the failed step.
qemu_make_stream() (
	_qp_what="qemu_make_stream $*"
	_qp_partial=""
	_qp_dir=""
	_qp_pid=""
	set +e +u
	local peer=$1 out=$2 out_arg=$2 runms=0 via="" uri reason st ramfile="" until="" regs
	_qp_relay=""
	[ $# -ge 2 ] || { echo "usage: qemu_make_stream PEER OUT [options]" >&2; exit 2; }
	shift 2
	reason=$(qemu_peer_skip_reason "$peer")
	[ -z "$reason" ] || { echo "$_qp_what: $reason" >&2; exit 1; }
	_qp_dir=$(_qp_tmpdir) || { echo "$_qp_what: no temporary directory" >&2; exit 1; }
	trap _qp_cleanup EXIT
	_qp_parse_shape "$@"
	set -- "${_qp_rest[@]}"
	while [ $# -gt 0 ]; do
		case "$1" in
		--run-ms) runms=$2; shift 2 ;;
		--run-until) until=$2; shift 2 ;;
		--via) via=$2; shift 2 ;;
		--ram-file) ramfile=$2; shift 2 ;;
		*) _qp_die "unknown option $1" ;;
		esac
	done
	case "$runms" in *[!0-9]* | '') _qp_die "--run-ms takes a number of milliseconds" ;; esac
	[ -z "$via" ] || [ "$_qp_mode" = exec ] || _qp_die "--via needs --mode exec"
	out=$(_qp_abspath "$out") || _qp_die "bad output path (directory missing, or one of ' \" \\ , in it): $out_arg"
	rm -f "$out" || _qp_die "cannot replace $out"
	_qp_partial=$out

	case "$_qp_mode" in
	exec)
		if [ -z "$via" ]; then
			uri="exec:cat > '$out'"
		elif [ -z "$(_qp_root "$peer")" ]; then
			uri="exec:$via > '$out'"
		else
			# The filter is a host program: QEMU in the chroot writes
			# into a FIFO, the filter reads it here.
			mkfifo "$_qp_dir/via.fifo" || _qp_die "cannot make a FIFO"
			sh -c "$via" <"$_qp_dir/via.fifo" >"$out" 3>&- &
			_qp_relay=$!
			uri="exec:cat > '$_qp_dir/via.fifo'"
		fi
		# JSON string: escape backslashes and double quotes.
		uri=${uri//\\/\\\\}
		uri=${uri//\"/\\\"}
		;;
	file | mapped-ram) uri="file:$out" ;;
	esac

	if [ -n "$ramfile" ]; then
		[ -z "$(_qp_root "$peer")" ] || _qp_die "--ram-file works with the host's QEMU only"
		ramfile=$(_qp_abspath "$ramfile") && [ -f "$ramfile" ] ||
			_qp_die "--ram-file: no such file (or one of ' \" \\ , in its path)"
		# The backend takes the default RAM block's name, so that a VM
		# started with plain -m loads the stream.
		_qp_shape+=(-object "memory-backend-file,id=pc.ram,size=$(stat -c %s "$ramfile"),mem-path=$ramfile,share=off"
			-machine memory-backend=pc.ram)
	fi
	_qp_start "$peer" "$_qp_dir" "$(dirname "$out")" "${_qp_shares[@]}" -- "${_qp_shape[@]}"
	if [ "$runms" -gt 0 ]; then
		_qp_qmp '{"execute": "cont"}' || _qp_die "cont: $_qp_reply"
		sleep "$((runms / 1000)).$(printf %03d $((runms % 1000)))"
		_qp_qmp '{"execute": "stop"}' || _qp_die "stop: $_qp_reply"
	fi
	if [ -n "$until" ]; then
		_qp_qmp '{"execute": "cont"}' || _qp_die "cont: $_qp_reply"
		local deadline=$((SECONDS + QEMU_PEER_TIMEOUT))
		while :; do
			_qp_qmp '{"execute": "human-monitor-command", "arguments": {"command-line": "info registers"}}' ||
				_qp_die "info registers: $_qp_reply"
			# One line: the reply's \r\n are literal in the JSON.
			regs=${_qp_reply//\\r\\n/ }
			grep -Eq -- "$until" <<<"$regs" && break
			[ "$SECONDS" -lt "$deadline" ] ||
				_qp_die "the guest never reached '$until' in ${QEMU_PEER_TIMEOUT}s: $(grep -o 'EIP=[^"]*HLT=[01]' <<<"$regs")"
			sleep 0.05
		done
		_qp_qmp '{"execute": "stop"}' || _qp_die "stop: $_qp_reply"
	fi
	[ "$_qp_mode" != mapped-ram ] || _qp_mapped_ram_caps
	_qp_qmp "{\"execute\": \"migrate\", \"arguments\": {\"uri\": \"$uri\"}}" ||
		_qp_die "migrate $uri: $_qp_reply"
	st=$(_qp_wait_migration) || _qp_die "migration to $out: $st"
	# A command after "completed" lets QEMU finish the migration's cleanup
	# (for exec: it waits for the writer to exit) before it is told to quit.
	_qp_qmp '{"execute": "query-status"}' || _qp_die "query-status: $_qp_reply"
	_qp_quit || _qp_die "QEMU did not quit"
	if [ -n "$_qp_relay" ]; then
		for _ in $(seq $((QEMU_PEER_TIMEOUT * 10))); do
			kill -0 "$_qp_relay" 2>/dev/null || break
			sleep 0.1
		done
		kill -0 "$_qp_relay" 2>/dev/null && _qp_die "'$via' did not finish"
		wait "$_qp_relay"
		st=$?
		_qp_relay=""
		[ "$st" -eq 0 ] || echo "$_qp_what: note: '$via' exited $st" >&2
	fi
	[ -s "$out" ] || _qp_die "migration completed but $out is empty"
	_qp_partial=""
	exit 0
)

# qemu_load_stream PEER FILE [options]: a paused TCG VM of PEER of the same
# shape loads the host file FILE (-incoming "exec:cat FILE"; --mode file:
# -incoming "file:FILE"; --mode mapped-ram: -incoming defer, the mapped-ram
# capabilities, migrate-incoming "file:FILE").  Options as for
# qemu_make_stream: --machine, --smp, --mem, --cpu, --suppress-vmdesc, --args, --drive,
# --mode.  Prints the final status ("completed", or "failed: ...") and
# then every line QEMU wrote to stderr (warnings, the load error); exit 0
# only on "completed".  QEMU exits by itself when a load fails.
qemu_load_stream() (
	_qp_what="qemu_load_stream $*"
	_qp_dir=""
	_qp_pid=""
	set +e +u
	local peer=$1 file=$2 file_arg=$2 reason st rc=0 incoming resave="" a
	[ $# -ge 2 ] || { echo "usage: qemu_load_stream PEER FILE [options]" >&2; exit 2; }
	shift 2
	# --resave OUT (OUT beside FILE): once loaded, the paused VM migrates out
	# again to OUT, so a test can see what QEMU made of the loaded state.
	local args=()
	while [ $# -gt 0 ]; do
		case "$1" in
		--resave) resave=$2; shift 2 ;;
		*) args+=("$1"); shift ;;
		esac
	done
	set -- "${args[@]}"
	reason=$(qemu_peer_skip_reason "$peer")
	[ -z "$reason" ] || { echo "$_qp_what: $reason" >&2; exit 1; }
	_qp_dir=$(_qp_tmpdir) || { echo "$_qp_what: no temporary directory" >&2; exit 1; }
	trap _qp_cleanup EXIT
	_qp_parse_shape "$@"
	[ ${#_qp_rest[@]} -eq 0 ] || _qp_die "unknown option ${_qp_rest[0]}"
	file=$(_qp_abspath "$file") || _qp_die "bad stream path (directory missing, or one of ' \" \\ , in it): $file_arg"
	[ -r "$file" ] || _qp_die "cannot read $file"
	case "$_qp_mode" in
	exec) incoming="exec:cat '$file'" ;;
	file) incoming="file:$file" ;;
	mapped-ram) incoming=defer ;;
	esac
	_qp_start "$peer" "$_qp_dir" "$(dirname "$file")" "${_qp_shares[@]}" -- "${_qp_shape[@]}" -incoming "$incoming"
	if [ "$_qp_mode" = mapped-ram ]; then
		_qp_mapped_ram_caps
		_qp_qmp "{\"execute\": \"migrate-incoming\", \"arguments\": {\"uri\": \"file:$file\"}}" ||
			_qp_die "migrate-incoming file:$file: $_qp_reply"
	fi
	st=$(_qp_wait_migration) || rc=1
	if [ "$rc" -eq 0 ] && [ -n "$resave" ]; then
		a=$(_qp_abspath "$resave") || _qp_die "bad resave path: $resave"
		_qp_qmp "{\"execute\": \"migrate\", \"arguments\": {\"uri\": \"exec:cat > '$a'\"}}" ||
			_qp_die "migrate to $a: $_qp_reply"
		sleep 0.2 # query-migrate still reports the finished load at first
		st=$(_qp_wait_migration) || rc=1
		[ "$rc" -ne 0 ] || [ -s "$a" ] || { st="failed: empty re-saved stream"; rc=1; }
	fi
	if [ "$rc" -eq 0 ]; then
		_qp_quit || true
	else
		# A failed load makes QEMU exit; give it the time to say why.
		for _ in $(seq 40); do
			_qp_alive || break
			sleep 0.05
		done
		_qp_alive && _qp_quit
		wait "$_qp_pid" 2>/dev/null
		case "$st" in
		"failed: QEMU exited"*)
			# Its last complaint is the reason (the lines follow anyway).
			st=$(grep -v 'warning:' "$_qp_dir/qemu.err" 2>/dev/null | tail -n 1 |
				sed 's/^qemu-system-x86_64: //')
			st="failed: ${st:-QEMU exited}"
			;;
		esac
	fi
	echo "$st"
	[ ! -s "$_qp_dir/qemu.err" ] || cat "$_qp_dir/qemu.err"
	exit "$rc"
)

# qemu_savevm PEER STREAM IMAGE NAME [options]: a paused TCG VM of PEER
# loads the host file STREAM (-incoming "exec:cat STREAM") with the qcow2
# IMAGE attached as a drive of no device (-drive if=none: no guest device,
# so that a stream made without it loads), then saves itself into IMAGE as
# the internal snapshot NAME (HMP savevm: QEMU writes the VM state into
# the image) and quits.  QEMU 10.0 and later leave the block nodes
# inactive after an incoming migration, so that savevm fails ("is
# writable but does not support snapshots") until QMP blockdev-set-active
# {"active": true}; 7.2 has no such command and needs none.  NAME is
# letters, digits, '.', '_' and '-'.  Options as for qemu_load_stream:
# --machine, --smp, --mem, --cpu, --suppress-vmdesc.  Exit 0 when the
# snapshot was made; else 1 with a message naming the failed step.
qemu_savevm() (
	_qp_what="qemu_savevm $*"
	_qp_dir=""
	_qp_pid=""
	set +e +u
	local peer=$1 file=$2 image=$3 name=$4 reason st
	[ $# -ge 4 ] || { echo "usage: qemu_savevm PEER STREAM IMAGE NAME [options]" >&2; exit 2; }
	shift 4
	case "$name" in
	'' | *[!A-Za-z0-9._-]*) echo "$_qp_what: NAME must be letters, digits, . _ -" >&2; exit 2 ;;
	esac
	reason=$(qemu_peer_skip_reason "$peer")
	[ -z "$reason" ] || { echo "$_qp_what: $reason" >&2; exit 1; }
	_qp_dir=$(_qp_tmpdir) || { echo "$_qp_what: no temporary directory" >&2; exit 1; }
	trap _qp_cleanup EXIT
	_qp_parse_shape "$@"
	[ ${#_qp_rest[@]} -eq 0 ] || _qp_die "unknown option ${_qp_rest[0]}"
	file=$(_qp_abspath "$file") && [ -r "$file" ] || _qp_die "cannot read the stream $2"
	image=$(_qp_abspath "$image") && [ -f "$image" ] || _qp_die "no image $3"
	_qp_start "$peer" "$_qp_dir" "$(dirname "$file")" "$(dirname "$image")" "${_qp_shares[@]}" -- \
		"${_qp_shape[@]}" -drive "file=$image,format=qcow2,if=none,id=fredck-disk" \
		-incoming "exec:cat '$file'"
	st=$(_qp_wait_migration) || _qp_die "loading $file: $st"
	if ! _qp_qmp '{"execute": "blockdev-set-active", "arguments": {"active": true}}'; then
		case "$_qp_reply" in
		*"not been found"* | *"not found"*) ;; # before QEMU 10.0: active already
		*) _qp_die "blockdev-set-active: $_qp_reply" ;;
		esac
	fi
	_qp_qmp "{\"execute\": \"human-monitor-command\", \"arguments\": {\"command-line\": \"savevm $name\"}}" ||
		_qp_die "savevm $name: $_qp_reply"
	# HMP reports its errors as the command's text, not as a QMP error.
	case "$_qp_reply" in
	'{"return": ""}'*) ;;
	*) _qp_die "savevm $name: $_qp_reply" ;;
	esac
	_qp_quit || _qp_die "QEMU did not quit"
	exit 0
)

# qemu_loadvm_save PEER IMAGE NAME OUT [options]: a paused TCG VM of PEER
# with the qcow2 IMAGE attached as a drive of no device (as qemu_savevm
# made it) loads the internal snapshot NAME (HMP loadvm: QEMU reads the VM
# state out of the image), then migrates to the host file OUT, so that
# what QEMU loaded can be read back, and quits.  Options as for
# qemu_savevm.  Exit 0 when OUT was written; else 1 naming the failed step
# (a loadvm that QEMU refuses: its message).
qemu_loadvm_save() (
	_qp_what="qemu_loadvm_save $*"
	_qp_partial=""
	_qp_dir=""
	_qp_pid=""
	set +e +u
	local peer=$1 image=$2 name=$3 out=$4 reason st
	[ $# -ge 4 ] || { echo "usage: qemu_loadvm_save PEER IMAGE NAME OUT [options]" >&2; exit 2; }
	shift 4
	case "$name" in
	'' | *[!A-Za-z0-9._-]*) echo "$_qp_what: NAME must be letters, digits, . _ -" >&2; exit 2 ;;
	esac
	reason=$(qemu_peer_skip_reason "$peer")
	[ -z "$reason" ] || { echo "$_qp_what: $reason" >&2; exit 1; }
	_qp_dir=$(_qp_tmpdir) || { echo "$_qp_what: no temporary directory" >&2; exit 1; }
	trap _qp_cleanup EXIT
	_qp_parse_shape "$@"
	[ ${#_qp_rest[@]} -eq 0 ] || _qp_die "unknown option ${_qp_rest[0]}"
	image=$(_qp_abspath "$image") && [ -f "$image" ] || _qp_die "no image $2"
	out=$(_qp_abspath "$out") || _qp_die "bad output path: $4"
	rm -f "$out" || _qp_die "cannot replace $out"
	_qp_partial=$out
	_qp_start "$peer" "$_qp_dir" "$(dirname "$image")" "$(dirname "$out")" "${_qp_shares[@]}" -- \
		"${_qp_shape[@]}" -drive "file=$image,format=qcow2,if=none,id=fredck-disk"
	_qp_qmp "{\"execute\": \"human-monitor-command\", \"arguments\": {\"command-line\": \"loadvm $name\"}}" ||
		_qp_die "loadvm $name: $_qp_reply"
	case "$_qp_reply" in
	'{"return": ""}'*) ;;
	*) _qp_die "loadvm $name: $_qp_reply" ;;
	esac
	_qp_qmp "{\"execute\": \"migrate\", \"arguments\": {\"uri\": \"exec:cat > '$out'\"}}" ||
		_qp_die "migrate: $_qp_reply"
	st=$(_qp_wait_migration) || _qp_die "migration to $out: $st"
	_qp_qmp '{"execute": "query-status"}' || _qp_die "query-status: $_qp_reply"
	_qp_quit || _qp_die "QEMU did not quit"
	[ -s "$out" ] || _qp_die "migration completed but $out is empty"
	_qp_partial=""
	exit 0
)

# qemu_peer_selftest PEER: PEER starts -machine pc and -machine q35 paused
# (firmware found, TCG works) and quits.  Prints one line; exit 0 if fine.
qemu_peer_selftest() (
	_qp_what="qemu_peer_selftest $1"
	_qp_dir=""
	_qp_pid=""
	set +e +u
	local peer=$1 m reason top
	reason=$(qemu_peer_skip_reason "$peer")
	[ -z "$reason" ] || { echo "$peer: $reason"; exit 1; }
	top=$(_qp_tmpdir) || exit 1
	trap 'rm -rf "$top"' EXIT
	for m in pc q35; do
		# One QEMU per subshell, as the QMP client wants.
		(
			_qp_dir=$top/$m
			mkdir "$_qp_dir"
			trap _qp_cleanup EXIT
			_qp_parse_shape --machine "$m" --smp 1
			_qp_start "$peer" -- "${_qp_shape[@]}" 2>&1
			_qp_qmp '{"execute": "query-status"}' || _qp_die "query-status: $_qp_reply"
			_qp_quit
		) >"$top/$m.out" 2>&1 || {
			echo "$peer: QEMU $(qemu_peer_version "$peer") does not start -machine $m: $(tr '\n' ' ' <"$top/$m.out")"
			exit 1
		}
	done
	echo "$peer: QEMU $(qemu_peer_version "$peer") starts -machine pc and q35 (TCG)"
)
