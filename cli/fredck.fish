# SPDX-License-Identifier: GPL-2.0-or-later
# fish completion for fredck(1); make install puts it in
# $(datadir)/fish/vendor_completions.d as fredck.fish.
#
# Like the bash (cli/fredck.bash-completion) and zsh (cli/_fredck)
# completions, it asks the fredck being completed what to offer:
# `fredck [COMMAND] --list-for-completion` prints, from fredck's own
# tables, the options with what their arguments are and their values, and
# the operands (commands at the top, finding codes for explain, files
# elsewhere); see cli/complete.h.  A new command, option, value, format or
# finding code needs no change here.

# The record of option $argv[1] (long or short name) in the listing
# $argv[2..]: its name (long, else short) and what its argument is ("-"
# for none), on two lines; nothing if it is not one of the options.
function __fredck_option
    set -l opt $argv[1]
    for line in $argv[2..-1]
        set -l f (string split \t -- $line)
        if test "$f[1]" = option; and contains -- $opt $f[2] $f[3]
            if test "$f[2]" != -
                echo $f[2]
            else
                echo $f[3]
            end
            echo $f[5]
            return
        end
    end
end

# The values of $argv[1] (an option's name, or "operand") in the listing
# $argv[3..], each with its description, prefixed by $argv[2].
function __fredck_values
    set -l name $argv[1]
    set -l prefix $argv[2]
    for line in $argv[3..-1]
        set -l f (string split \t -- $line)
        if test "$f[1]" = value; and test "$f[2]" = "$name"
            if test "$f[4]" = -
                printf '%s%s\n' $prefix $f[3]
            else
                printf '%s%s\t%s\n' $prefix $f[3] $f[4]
            end
        end
    end
end

# The options of the listing $argv: "--name", "--name=" when it takes an
# argument, "-x", each with its description.
function __fredck_options
    for line in $argv
        set -l f (string split \t -- $line)
        test "$f[1]" = option; or continue
        set -l eq
        test "$f[5]" != -; and set eq =
        set -l doc
        test "$f[6]" != -; and set doc $f[6]
        test "$f[2]" != -; and printf '%s%s\t%s\n' $f[2] "$eq" "$doc"
        test "$f[3]" != -; and printf '%s\t%s\n' $f[3] "$doc"
    end
end

# The paths that complete $argv[2] (directories only if $argv[1] is
# "directory"), prefixed by $argv[3].
function __fredck_paths
    set -l kind $argv[1]
    set -l cur $argv[2]
    set -l prefix $argv[3]
    for p in (__fish_complete_path $cur)
        set p (string split -m 1 \t -- $p)[1]
        if test $kind = directory; and not string match -q -- '*/' $p
            continue
        end
        printf '%s%s\n' $prefix $p
    end
end

function __fredck_complete
    set -l tokens (commandline -opc)
    set -l cur (commandline -ct)
    set -l fredck $tokens[1]
    set -l top ($fredck --list-for-completion 2>/dev/null)

    # The command: the first word after fredck that is not an option or
    # an option's value ("--format NAME").
    set -l cmd
    set -l i 2
    while test $i -le (count $tokens)
        set -l w $tokens[$i]
        switch $w
            case '-*=*'
            case '-*'
                set -l o (__fredck_option $w $top)
                test -n "$o[2]"; and test "$o[2]" != -; and set i (math $i + 1)
            case '*'
                set cmd $w
                break
        end
        set i (math $i + 1)
    end
    set -l list $top
    test -n "$cmd"; and set list ($fredck $cmd --list-for-completion 2>/dev/null)

    # The option whose argument cur is: "--opt=value", or "--opt value".
    set -l opt
    set -l prefix
    if string match -qr -- '^--[^=]+=' $cur
        set opt (string split -m 1 = -- $cur)[1]
        set prefix $opt=
        set cur (string split -m 1 = -- $cur)[2]
    else if test (count $tokens) -gt 1; and string match -q -- '-*' $tokens[-1]
        and not string match -q -- '*=*' $tokens[-1]
        set opt $tokens[-1]
    end
    if test -n "$opt"
        set -l o (__fredck_option $opt $list)
        switch "$o[2]"
            case values
                __fredck_values $o[1] "$prefix" $list
                return
            case file directory
                __fredck_paths $o[2] "$cur" "$prefix"
                return
            case text
                return
        end
        # not an option of this command, or a flag: cur is an operand
    end

    if string match -q -- '-*' $cur
        __fredck_options $list
        return
    end
    set -l operand
    for line in $list
        set -l f (string split \t -- $line)
        test "$f[1]" = operand; and set operand $f[2]
    end
    if test "$operand" = values
        __fredck_values operand '' $list
    else
        __fredck_paths file "$cur" ''
    end
end

complete -c fredck -f -a '(__fredck_complete)'
