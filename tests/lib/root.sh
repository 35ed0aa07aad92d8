# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# tests/lib/root.sh: shell helpers shared by the suites that run real servers
# and, as root, a throwaway root: tests/integration/check_install.sh and
# tests/integration/check_sssd.sh (sourced, bash, after tests/lib/proc.sh).
# The caller sets ROOT (the source tree), W (its temporary folder) and may
# set PYTHON.

# ---- the tally: one line per test, "SUITE: N passed, N failed, N skipped" --
PASSED=0 FAILED=0 SKIPPED=0
pass() {
	PASSED=$((PASSED + 1))
	printf '  ok    %s\n' "$*"
}
skip() {
	SKIPPED=$((SKIPPED + 1))
	printf '  skip  %s\n' "$*"
}
fail() {
	FAILED=$((FAILED + 1))
	printf '  FAIL  %s\n' "$*"
}
# check DESCRIPTION COMMAND...: one test, run in this shell (it may start
# servers); what the command prints is shown when it fails.  Returns its
# status.
check() {
	local d=$1 rc=0
	shift
	"$@" >"$W/check.log" 2>&1 </dev/null || rc=$?
	if [[ $rc == 0 ]]; then
		pass "$d"
		return 0
	fi
	fail "$d"
	sed 's/^/        /' "$W/check.log"
	return 1
}
have() { command -v "$1" >/dev/null 2>&1; }

# ---- the servers: slapd and the ftrack emulator on 127.0.0.1 ----------------

free_port() {
	"${PYTHON:-python3}" -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# start_servers: slapd with tests/data/people.ldif in $W/slapd and the
# emulator, each on a free port; sets LDAP_PORT, SLAPD_PID, API_KEY,
# EMU_PID and EMU_URL (the caller stops both PIDs with stop_pid).
# shellcheck disable=SC2034 # the variables are for the caller
start_servers() {
	local i j
	for ((i = 0; i < 5; i++)); do
		LDAP_PORT=$(free_port)
		"$ROOT/tests/slapd.sh" start "$W/slapd" "$LDAP_PORT" \
			"$ROOT/tests/data/people.ldif" >>"$W/slapd.log" 2>&1 &
		SLAPD_PID=$!
		for ((j = 0; j < 150; j++)); do
			kill -0 "$SLAPD_PID" 2>/dev/null || break
			ldapsearch -x -H "ldap://127.0.0.1:$LDAP_PORT" -s base \
				-b dc=example,dc=com -LLL dn >/dev/null 2>&1 && break 2
			sleep 0.1
		done
		stop_pid "$SLAPD_PID"
		SLAPD_PID=0
	done
	[[ $SLAPD_PID != 0 ]] || { echo "slapd did not start" && return 1; }
	API_KEY=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
	"${PYTHON:-python3}" "$ROOT/tests/ftrack_emulator.py" --port 0 \
		--api-user ftrack-sync --api-key "$API_KEY" \
		>"$W/emulator.out" 2>"$W/emulator.log" &
	EMU_PID=$!
	for ((i = 0; i < 150; i++)); do
		grep -q '^listening on http://' "$W/emulator.out" && break
		sleep 0.1
	done
	EMU_URL=$(sed -n 's/^listening on //p' "$W/emulator.out" | head -n 1)
	[[ -n "$EMU_URL" ]] || { echo "the emulator did not start" && return 1; }
}

# ---- a throwaway root: an overlay of / (run in a private mount namespace) ---

# overlay_root OV: / as the lower layer of an overlay at OV/root whose
# writes land in a tmpfs mounted at OV; everything goes away with the
# mount namespace (unshare --mount --propagation private).
overlay_root() {
	local ov=$1
	mkdir -p "$ov" &&
		mount -t tmpfs -o mode=0755 tmpfs "$ov" &&
		mkdir -p "$ov/up" "$ov/work" "$ov/root" &&
		mount -t overlay overlay \
			-o "lowerdir=/,upperdir=$ov/up,workdir=$ov/work" "$ov/root"
}

# in_root ROOT COMMAND...: chroot ROOT COMMAND with /proc, /dev, an empty
# /run and /tmp; returns its status.
in_root() {
	local r=$1 rc=0
	shift
	mount -t proc proc "$r/proc" &&
		mount --rbind /dev "$r/dev" &&
		mount -t tmpfs -o mode=0755 tmpfs "$r/run" &&
		mount -t tmpfs -o mode=1777 tmpfs "$r/tmp" || return 1
	chroot "$r" "$@" || rc=$?
	umount -R "$r/tmp" "$r/run" "$r/dev" "$r/proc"
	return $rc
}
