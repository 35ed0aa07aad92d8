# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# tests/lib/root.sh: shell helpers shared by the suites that run real servers
# and, as root, a throwaway root: tests/integration/check_install.sh and
# tests/integration/check_sssd.sh (sourced, bash, after tests/lib/proc.sh
# and tests/lib/tally.sh).
# The caller sets ROOT (the source tree), W (its temporary folder) and may
# set PYTHON.

# ---- the servers: slapd and the ftrack emulator on 127.0.0.1 ----------------

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

# inner_script SUITE OUT: the part of SUITE from its "# ---- inside the
# throwaway root ----" line on, after proc.sh and tally.sh, written to OUT
# (the script a suite runs in its throwaway root).
inner_script() {
	{
		cat "$ROOT/tests/lib/proc.sh" "$ROOT/tests/lib/tally.sh"
		sed -n '/^# ---- inside the throwaway root ----$/,$p' "$1"
	} >"$2"
}

# in_namespaces PHASES SUITE ARGS...: `bash SUITE __root ARGS...` in a
# private mount namespace (nothing reaches the host's mounts) and a
# private pid namespace (whatever it starts dies with it); its output is
# shown and its "root: N passed, N failed, N skipped" lines, one a phase,
# added to the tally: fewer than PHASES is a failure.
in_namespaces() {
	local phases=$1 suite=$2 tally p f k
	shift 2
	unshare --mount --propagation private --pid --fork --mount-proc \
		bash "$suite" __root "$@" >"$W/root.out" 2>&1 </dev/null
	cat "$W/root.out"
	tally=$(sed -n 's/^root: \([0-9]*\) passed, \([0-9]*\) failed, \([0-9]*\) skipped$/\1 \2 \3/p' \
		"$W/root.out")
	if (($(printf '%s\n' "$tally" | grep -c .) < phases)); then
		fail "the throwaway root did not finish (see above)"
	fi
	while read -r p f k; do
		PASSED=$((PASSED + p))
		FAILED=$((FAILED + f))
		SKIPPED=$((SKIPPED + k))
	done < <(printf '%s\n' "$tally" | grep .)
}
