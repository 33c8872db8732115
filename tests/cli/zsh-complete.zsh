#!/usr/bin/zsh -f
# SPDX-License-Identifier: GPL-2.0-or-later
# zsh-complete.zsh FUNCDIR LINE: what zsh's completion system offers for
# LINE typed at an interactive zsh whose fpath starts with FUNCDIR (where
# _fredck is), one match a line as it would be inserted, "WORD -- TEXT"
# where the completion gives a description.  Exits 2 if zsh's completion
# did not run.
#
# A real interactive zsh in a pseudo-terminal (zsh/zpty), compinit, and a
# TAB typed after LINE: the completion functions run as they do for a
# user.  compadd, through which every match passes, is wrapped to print
# the matches it adds; comppostfuncs ends the shell once completion ended.
emulate -L zsh
zmodload zsh/zpty || exit 2

funcdir=$1 typed=$2
setup=$(mktemp) || exit 2
trap 'rm -f $setup' EXIT

cat >$setup <<'EOF'
PS1='' PS2='' RPS1='' PROMPT_EOL_MARK=''
unsetopt zle_bracketed_paste 2>/dev/null
zmodload zsh/zutil
autoload -U compinit && compinit -u -D
zstyle ':completion:*' list-grouped false
zstyle ':completion:*' insert-tab false
bindkey '^I' complete-word
# Never run the line.
bindkey '^M' undefined-key
bindkey '^J' undefined-key
compadd() {
	setopt localoptions extendedglob
	# A caller that collects matches for itself (-O, -A, -D) gets them.
	if [[ " ${(j: :)@[1,(i)(-|--)]} " == *\ -[^\ ]#[OAD][^\ ]#\ * ]]; then
		builtin compadd "$@"
		return
	fi
	local -a __hits __dscr __apre __hpre __hsuf __dopt
	local __i __d
	zparseopts -E P:=__apre p:=__hpre s:=__hsuf d:=__dopt
	if (( $#__dopt )); then
		if [[ $__dopt[2] == \(* ]]; then
			eval "__dscr=$__dopt[2]"
		else
			__dscr=("${(@P)__dopt[2]}")
		fi
	fi
	builtin compadd -A __hits -D __dscr "$@"
	for (( __i = 1; __i <= $#__hits; __i++ )); do
		# A description reads "WORD  -- TEXT" (_describe) or is the word alone.
		__d=${${${__dscr[__i]-}#$__hits[__i]}##[ ]#}
		__d=${__d#-- }
		[[ -n $__d ]] && __d=" -- $__d"
		print -r -- "match:$IPREFIX$__apre[2]$__hpre[2]$__hits[__i]$__hsuf[2]$__d"
	done
	builtin compadd "$@"
}
_fredck_test_end() { print -r -- 'match-end'; exit }
comppostfuncs=(_fredck_test_end)
print -r -- 'setup-done'
EOF

zpty z zsh -f -i
zpty -w z "fpath=(${(q)funcdir} \$fpath); source ${(q)setup}"
ready=
repeat 50; do
	zpty -r -t z line 2>/dev/null || { sleep 0.1; continue; }
	[[ $line == setup-done* ]] && { ready=1; break; }
done
[[ -n $ready ]] || { print -u2 "zsh-complete: the shell did not start"; exit 2; }

zpty -w -n z "$typed"$'\t'
ended=
# A line at a time; the caller bounds the time (timeout).
while zpty -r z line; do
	line=${${line//$'\r'}%$'\n'}
	case $line in
	*match-end*) ended=1; break ;;
	*match:*) print -r -- "${line#*match:}" ;;
	esac
done
zpty -d z
[[ -n $ended ]] || { print -u2 "zsh-complete: completion did not end"; exit 2; }
