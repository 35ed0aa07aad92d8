#!/bin/sh
# on-change-webhook.sh: an ftrack-syncd on_change hook that posts each change
# as JSON to a URL (a webhook: chat, a ticket system, the pipeline team).
#
# ftrack-syncd writes the changes it applied to ftrack on this program's
# stdin, one JSON line each (see "Change hooks" in the README).  Each line is
# sent as the body of one POST (Content-Type: application/json).  When a
# POST fails (no answer within 10 s, or an HTTP status of 400 or more) the
# script exits with curl's status and ftrack-syncd offers the whole batch again later: the
# receiver may get a change twice and drops repeats by its "id".
#
# Install: copy to /etc/ftrack-syncd-ext/on-change, owned by root, mode 0755,
# set URL below, and
#   [hooks]
#   on_change = /etc/ftrack-syncd-ext/on-change
# The environment is PATH=/usr/bin:/bin and LANG=C.UTF-8 only; packaged, the
# hook runs as the account ftrack-syncd-ext through ftrack-syncd-hook.socket.
# Needs curl.
set -eu

URL=https://hooks.example.com/ftrack-syncd   # edit: where to post

while IFS= read -r line; do
	[ -n "$line" ] || continue
	printf '%s' "$line" |
		curl --silent --show-error --fail --max-time 10 \
			--header 'Content-Type: application/json' \
			--data-binary @- "$URL" >/dev/null
done
