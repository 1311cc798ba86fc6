# bash completion of ffwd (installed as share/bash-completion/completions/ffwd).
# Commands and options come from ffwd's own --help, so they never drift from
# what the binary accepts; file names complete everywhere else.
_ffwd() {
    local cur=${COMP_WORDS[COMP_CWORD]} prog=${COMP_WORDS[0]} cmd= sub= i w
    for ((i = 1; i < COMP_CWORD; i++)); do
        w=${COMP_WORDS[i]}
        [[ $w == -* ]] && continue
        if [[ -z $cmd ]]; then cmd=$w; elif [[ -z $sub ]]; then sub=$w; fi
    done
    if [[ -z $cmd ]]; then
        local cmds
        cmds=$("$prog" --help 2>/dev/null | awk '/^Commands:/ {f = 1; next} f && /^  [a-z]/ {print $1} f && /^$/ {exit}')
        COMPREPLY=($(compgen -W "$cmds --help --version --verbose --quiet" -- "$cur"))
        return
    fi
    if [[ $cmd == trace && -z $sub && $cur != -* ]]; then
        COMPREPLY=($(compgen -W "record stats dump" -- "$cur"))
        return
    fi
    if [[ $cmd == flow && -z $sub && $cur != -* ]]; then
        COMPREPLY=($(compgen -W "record report" -- "$cur"))
        return
    fi
    if [[ $cmd == suite && -z $sub && $cur != -* ]]; then
        COMPREPLY=($(compgen -W "list build run" -- "$cur"))
        return
    fi
    if [[ ($cmd == suite && -n $sub || $cmd == study) && $cur != -* ]]; then
        # a built-in suite's name, or a suite file
        local suites
        suites=$("$prog" suite list 2>/dev/null | awk '{print $1}')
        COMPREPLY=($(compgen -W "$suites" -- "$cur") $(compgen -f -- "$cur"))
        return
    fi
    if [[ $cmd == guest && -z $sub && $cur != -* ]]; then
        COMPREPLY=($(compgen -W "build path" -- "$cur"))
        return
    fi
    if [[ $cmd == guest && $sub == path && $cur != -* ]]; then
        COMPREPLY=($(compgen -W "kernel initrd disk rootfs dir manifest" -- "$cur"))
        return
    fi
    if [[ $cur == -* ]]; then
        local args=("$cmd")
        [[ ($cmd == trace || $cmd == flow) && -n $sub ]] && args+=("$sub")
        local opts
        opts=$("$prog" "${args[@]}" --help 2>/dev/null | grep -oE -- '--[a-z][a-z0-9-]*' | sort -u)
        COMPREPLY=($(compgen -W "$opts" -- "$cur"))
        return
    fi
    COMPREPLY=($(compgen -f -- "$cur"))
}
complete -o filenames -o bashdefault -F _ffwd ffwd
