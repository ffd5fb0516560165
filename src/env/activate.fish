# Source this file from fish: `source bin/activate.fish`.
# Written by tempest-env; `deactivate` undoes everything it does.

function deactivate -d "Leave the tempest-env environment"
    if set -q _TEMPEST_ENV_OLD_PATH
        set -gx PATH $_TEMPEST_ENV_OLD_PATH
        set -e _TEMPEST_ENV_OLD_PATH
    end
    if set -q _TEMPEST_ENV_OLD_PYTHONHOME
        set -gx PYTHONHOME $_TEMPEST_ENV_OLD_PYTHONHOME
        set -e _TEMPEST_ENV_OLD_PYTHONHOME
    end
    if functions -q _tempest_env_old_fish_prompt
        functions -e fish_prompt
        functions -c _tempest_env_old_fish_prompt fish_prompt
        functions -e _tempest_env_old_fish_prompt
    end
    set -e VIRTUAL_ENV
    set -e VIRTUAL_ENV_PROMPT
    if test "$argv[1]" != nondestructive
        functions -e deactivate
    end
end

deactivate nondestructive

set -gx VIRTUAL_ENV @ENV_DIR@
set -gx VIRTUAL_ENV_PROMPT @PROMPT@
set -gx _TEMPEST_ENV_OLD_PATH $PATH
set -gx PATH "$VIRTUAL_ENV/bin" $PATH

if set -q PYTHONHOME
    set -gx _TEMPEST_ENV_OLD_PYTHONHOME $PYTHONHOME
    set -e PYTHONHOME
end

if test -z "$VIRTUAL_ENV_DISABLE_PROMPT"
    functions -c fish_prompt _tempest_env_old_fish_prompt
    function fish_prompt
        set -l old_status $status
        printf "(%s) " $VIRTUAL_ENV_PROMPT
        echo "exit $old_status" | source
        _tempest_env_old_fish_prompt
    end
end
