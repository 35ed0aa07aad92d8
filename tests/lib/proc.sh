# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# tests/lib/proc.sh: process helpers shared by tests/demo.sh and the shell
# suites (check_install.sh, check_sssd.sh, check_rpm.sh, and the parts
# they run in a throwaway root, which get this file prepended).  Sourced,
# bash.

# Stop one process we started: TERM, up to 5 s, then KILL; 0 is no process.
stop_pid() {
	local pid=$1 i
	[[ "$pid" != 0 ]] || return 0
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < 50; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

# wait_for SECONDS CMD...: poll CMD every 0.1 s for up to SECONDS s; 0 once
# it succeeds.
wait_for() {
	local secs=$1 i
	shift
	for ((i = 0; i < secs * 10; i++)); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

# free_port: a TCP port free on 127.0.0.1 now.
free_port() {
	"${PYTHON:-python3}" -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# stop_at_exit VAR...: at exit (INT and TERM exit 130 and 143) stop the
# processes whose PIDs the variables named hold then (0 or unset: none),
# remove the folder $W when set, and exit with the script's status.
stop_at_exit() {
	STOP_AT_EXIT=("$@")
	trap _stop_at_exit EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
}
_stop_at_exit() {
	local rc=$? v
	trap - EXIT INT TERM ERR
	for v in "${STOP_AT_EXIT[@]}"; do
		stop_pid "${!v:-0}"
	done
	[[ -z "${W:-}" ]] || rm -rf -- "$W"
	exit "$rc"
}
