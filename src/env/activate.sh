# Source this file from bash or zsh: `source bin/activate`.
# Written by tempest-env; `deactivate` undoes everything it does.

deactivate () {
    if [ -n "${_TEMPEST_ENV_OLD_PATH+set}" ]; then
        PATH="$_TEMPEST_ENV_OLD_PATH"
        export PATH
        unset _TEMPEST_ENV_OLD_PATH
    fi
    if [ -n "${_TEMPEST_ENV_OLD_PYTHONHOME+set}" ]; then
        PYTHONHOME="$_TEMPEST_ENV_OLD_PYTHONHOME"
        export PYTHONHOME
        unset _TEMPEST_ENV_OLD_PYTHONHOME
    fi
    if [ -n "${_TEMPEST_ENV_OLD_PS1+set}" ]; then
        PS1="$_TEMPEST_ENV_OLD_PS1"
        export PS1
        unset _TEMPEST_ENV_OLD_PS1
    fi
    unset VIRTUAL_ENV VIRTUAL_ENV_PROMPT
    hash -r 2>/dev/null
    if [ "${1-}" != "nondestructive" ]; then
        unset -f deactivate
    fi
}

deactivate nondestructive

VIRTUAL_ENV=@ENV_DIR@
export VIRTUAL_ENV
VIRTUAL_ENV_PROMPT=@PROMPT@
export VIRTUAL_ENV_PROMPT

_TEMPEST_ENV_OLD_PATH="$PATH"
PATH="$VIRTUAL_ENV/bin:$PATH"
export PATH

if [ -n "${PYTHONHOME+set}" ]; then
    _TEMPEST_ENV_OLD_PYTHONHOME="$PYTHONHOME"
    unset PYTHONHOME
fi

if [ -z "${VIRTUAL_ENV_DISABLE_PROMPT-}" ]; then
    _TEMPEST_ENV_OLD_PS1="${PS1-}"
    PS1="(${VIRTUAL_ENV_PROMPT}) ${PS1-}"
    export PS1
fi

hash -r 2>/dev/null
