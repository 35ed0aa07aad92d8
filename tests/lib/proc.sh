# SPDX-License-Identifier: Apache-2.0
# tests/lib/proc.sh: shell helpers shared by tests/demo.sh and
# tests/integration/check_install.sh (sourced, bash).

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
