#!/bin/sh
# on-change-log.sh: an ftrack-syncd on_change hook that appends every change
# it is given to a log file, one JSON object a line.
#
# ftrack-syncd writes the changes it applied to ftrack on this program's
# stdin, one JSON line each (see "Change hooks" in the README), then closes
# it.  Exit status 0 means "taken": they are removed.  Anything else (or
# running longer than hook_timeout) makes ftrack-syncd offer the same
# changes again later, with the same ids; a change refused 10 times is put
# aside in state_dir/hooks/failed/.
#
# Install: copy to /etc/ftrack-syncd-ext/on-change, owned by root, mode 0755,
# and
#   [hooks]
#   on_change = /etc/ftrack-syncd-ext/on-change
# The environment is PATH=/usr/bin:/bin and LANG=C.UTF-8 only; packaged, the
# hook runs as the account ftrack-syncd-ext through ftrack-syncd-hook.socket,
# and /var/log/ftrack-syncd-ext is the one folder it may write.
set -eu

LOG=/var/log/ftrack-syncd-ext/changes.log   # edit: where the changes go

cat >>"$LOG"
