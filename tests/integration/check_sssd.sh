#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# tests/integration/check_sssd.sh: SSSD's qualified login names reach ftrack
# as the plain login (make check-sssd).
#
#   bash tests/integration/check_sssd.sh
#       A real sssd (Debian's sssd-ldap: id_provider = ldap, auth_provider =
#       ldap, use_fully_qualified_names = true, cache_credentials = false)
#       against the test slapd, in a throwaway root (an overlay of / in a
#       private mount and pid namespace, chroot), so that the host's own NSS,
#       PAM and sssd stay untouched.  A PAM service with pam_sss (auth) and
#       the built pam_ftrack (session), run by pamtester as
#       alice@corp.example.com with alice's password, reports the login to
#       the built daemon (a real process): without login_format the login is
#       not-ldap (counted in ftrack_syncd_logins_not_ldap_total and logged
#       at info with the login_format hint); with login_format = strip-realm
#       the daemon provisions `alice` in the ftrack emulator.
#
# Needs root, sssd, pam_sss.so, pamtester, unshare, chroot and slapd; without
# one of them the suite says why and is skipped.  Servers run on 127.0.0.1
# on free ports and are stopped, and every temporary folder removed,
# whatever happens.  The last line reads "sssd: N passed, N failed, N
# skipped"; exit 1 when anything failed.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
B=${B:-build}
PYTHON=${PYTHON:-python3}
W=""
SLAPD_PID=0 EMU_PID=0

# stop_pid (proc.sh); the tally, the servers, the throwaway root (root.sh)
# shellcheck source=tests/lib/proc.sh
. "$ROOT/tests/lib/proc.sh"
# shellcheck source=tests/lib/tally.sh
. "$ROOT/tests/lib/tally.sh"
# shellcheck source=tests/lib/root.sh
. "$ROOT/tests/lib/root.sh"

# where pam_sss.so is: libpam's module folder
PAMDIR=$(pkg-config --variable=securedir pam 2>/dev/null)
PAMDIR=${PAMDIR:-/lib/$(gcc -print-multiarch 2>/dev/null)/security}

# In the private namespaces: the root, the files, the inner part.
enter_root() {
	local w=$1 r=$1/ov/root
	shift
	overlay_root "$w/ov" && mkdir -p "$r/opt/ftrack-sssd" &&
		cp "$ROOT/$B/pam_ftrack/pam_ftrack.so" \
			"$ROOT/$B/syncd/ftrack-syncd" "$w/inner.sh" \
			"$r/opt/ftrack-sssd/" || {
		echo "  FAIL  unable to make the throwaway root (overlay of /)"
		echo "root: 0 passed, 1 failed, 0 skipped"
		exit 0
	}
	in_root "$r" /bin/bash /opt/ftrack-sssd/inner.sh "$@" ||
		echo "root: 0 passed, 1 failed, 0 skipped"
	exit 0
}

if [[ "${1:-}" == __root ]]; then
	enter_root "$2" "$3" "$4" "$5"
fi

# the servers it started stopped and $W removed, whatever happens
stop_at_exit EMU_PID SLAPD_PID

main() {
	local x
	echo "sssd: a real sssd with use_fully_qualified_names, pam_sss and pam_ftrack"
	if [[ "$(id -u)" != 0 ]]; then
		skip "sssd in a throwaway root needs root (run make check-sssd as root)"
		return
	fi
	for x in sssd pamtester unshare chroot slapd ldapsearch; do
		have "$x" || {
			skip "sssd in a throwaway root: no $x (make deps installs sssd-ldap, libpam-sss, libnss-sss, pamtester)"
			return
		}
	done
	[[ -e "$PAMDIR/pam_sss.so" ]] || {
		skip "sssd in a throwaway root: no $PAMDIR/pam_sss.so (make deps installs libpam-sss)"
		return
	}
	[[ -x "$ROOT/$B/syncd/ftrack-syncd" && -e "$ROOT/$B/pam_ftrack/pam_ftrack.so" ]] || {
		fail "no built daemon or module in $ROOT/$B: run make first"
		return
	}
	check "test servers started (slapd, ftrack emulator)" start_servers || return
	inner_script "$ROOT/tests/integration/check_sssd.sh" "$W/inner.sh"
	in_namespaces 1 "$ROOT/tests/integration/check_sssd.sh" "$W" \
		"$LDAP_PORT" "$EMU_URL" "$API_KEY"
}

W=$(mktemp -d "${TMPDIR:-/tmp}/ftrack-sssd.XXXXXX")
main
echo "sssd: $PASSED passed, $FAILED failed, $SKIPPED skipped"
[[ $FAILED == 0 ]]
exit

# ---- inside the throwaway root ----
# Runs as /opt/ftrack-sssd/inner.sh LDAP_PORT EMU_URL API_KEY in the
# throwaway root (root, its own pid namespace); prints one line per check
# and "root: N passed, N failed, N skipped".
set -uo pipefail
LDAP_PORT=$1 EMU_URL=$2 API_KEY=$3
PKG=/opt/ftrack-sssd
STATE=/var/lib/ftrack-sssd
SOCK=/run/ftrack-sssd/notify.sock
SERVICE=ftrack-sssd
DOMAIN=corp.example.com
PASSED=0 FAILED=0 SSSD_PID=0 DAEMON_PID=0

finish() {
	stop_pid "$DAEMON_PID"
	stop_pid "$SSSD_PID"
	echo "root: $PASSED passed, $FAILED failed, 0 skipped"
	exit 0
}
trap finish EXIT

# ---- sssd: the LDAP provider on the test slapd, qualified names -------------

t_sssd_start() {
	mkdir -p /etc/sssd &&
		cat >/etc/sssd/sssd.conf <<EOF &&
[sssd]
config_file_version = 2
services = nss, pam
domains = $DOMAIN

[domain/$DOMAIN]
id_provider = ldap
auth_provider = ldap
ldap_uri = ldap://127.0.0.1:$LDAP_PORT
ldap_search_base = ou=people,dc=example,dc=com
ldap_schema = rfc2307
ldap_id_use_start_tls = false
ldap_tls_reqcert = never
ldap_auth_disable_tls_never_use_in_production = true
use_fully_qualified_names = true
cache_credentials = false
enumerate = false
EOF
		chmod 600 /etc/sssd/sssd.conf || return 1
	# a fresh cache: nothing of the host's sssd (this is the overlay's copy)
	rm -rf /var/lib/sss/db/* /var/lib/sss/mc/* /var/log/sssd/*
	find /var/lib/sss/pipes -type s -delete
	grep -q '^passwd:.*sss' /etc/nsswitch.conf ||
		sed -i 's/^\(passwd:.*\)$/\1 sss/' /etc/nsswitch.conf
	sssd -i --logger=stderr >/tmp/sssd.log 2>&1 &
	SSSD_PID=$!
	wait_for 30 getent passwd "alice@$DOMAIN" || {
		echo "sssd does not resolve alice@$DOMAIN; its log:"
		tail -n 30 /tmp/sssd.log
		return 1
	}
}

# SSSD knows alice only by her qualified name.
t_sssd_names() {
	local uid
	uid=$(getent passwd "alice@$DOMAIN" | cut -d: -f3)
	[[ "$uid" == 10001 ]] || { echo "alice@$DOMAIN has uid '$uid'" && return 1; }
	! getent passwd alice || { echo "plain alice resolves: names are not qualified" && return 1; }
}

# ---- the PAM service and the daemon ----------------------------------------

write_pam() {
	cat >/etc/pam.d/$SERVICE <<EOF
auth required pam_sss.so
account required pam_sss.so
session optional $PKG/pam_ftrack.so socket=$SOCK spool=$STATE/queue
EOF
}

# login USER PASSWORD: pam_sss authenticates, pam_ftrack reports the session.
login() {
	printf '%s\n' "$2" | pamtester "$SERVICE" "$1" authenticate open_session close_session
}

# start_daemon LOGIN_FORMAT: a fresh state folder and config, the daemon up.
start_daemon() {
	rm -rf "$STATE" $PKG/conf
	mkdir -p $PKG/conf "$STATE" && chmod 700 $PKG/conf "$STATE" &&
		printf 'sync-secret' >$PKG/conf/ldap.secret &&
		printf '%s' "$API_KEY" >$PKG/conf/ftrack.secret &&
		chmod 600 $PKG/conf/*.secret &&
		cat >$PKG/conf/syncd.conf <<EOF || return 1
[ldap]
uri = ldap://127.0.0.1:$LDAP_PORT
bind_dn = cn=ftrack-sync,ou=services,dc=example,dc=com
bind_password_file = $PKG/conf/ldap.secret
search_base = ou=people,dc=example,dc=com
disabled_filter = (employeeType=disabled)
insecure_ldap = yes
login_format = $1

[ftrack]
server = $EMU_URL
api_user = ftrack-sync
api_key_file = $PKG/conf/ftrack.secret
insecure_http = yes

[policy]
reconcile_interval = 0

[daemon]
socket = $SOCK
state_dir = $STATE
log_target = stderr
log_level = info
EOF
	$PKG/ftrack-syncd -c $PKG/conf/syncd.conf run >/tmp/syncd.log 2>&1 &
	DAEMON_PID=$!
	wait_for 15 test -S "$SOCK" || {
		echo "the daemon did not listen:"
		tail -n 20 /tmp/syncd.log
		return 1
	}
}

stop_daemon() {
	stop_pid "$DAEMON_PID"
	DAEMON_PID=0
}

# ftrack_users: the emulator's usernames, one a line
ftrack_users() {
	python3 - "$EMU_URL" <<'PY'
import json, sys, urllib.request
with urllib.request.urlopen(sys.argv[1] + "/_emulator/users", timeout=5) as r:
    for u in json.load(r):
        print(u["username"])
PY
}

ftrack_has() { ftrack_users | grep -qx -- "$1"; }

# metric NAME: its value in metrics.prom (written at the daemon's stop)
metric() { sed -n "s/^ftrack_syncd_$1 //p" "$STATE/metrics.prom"; }

t_wrong_password() {
	write_pam || return 1
	! login "alice@$DOMAIN" not-her-password
}

# Without login_format: SSSD's name is not an LDAP login; said and counted.
t_not_ldap() {
	local hint="info: not-ldap 'alice@$DOMAIN': not in LDAP; the name holds '@'"
	start_daemon "" || return 1
	login "alice@$DOMAIN" alice-secret || { echo "pamtester failed" && return 1; }
	wait_for 15 grep -qF "$hint" /tmp/syncd.log || {
		echo "no not-ldap line at info; the daemon's log:"
		tail -n 20 /tmp/syncd.log
		return 1
	}
	stop_daemon
	[[ "$(metric logins_not_ldap_total)" == 1 ]] ||
		{ echo "logins_not_ldap_total: '$(metric logins_not_ldap_total)'" && return 1; }
	[[ -z "$(ftrack_users | grep -v '^ftrack-sync$')" ]] ||
		{ echo "ftrack has users:" && ftrack_users && return 1; }
}

# With login_format = strip-realm: the plain login reaches ftrack.
t_strip_realm() {
	start_daemon strip-realm || return 1
	login "alice@$DOMAIN" alice-secret || { echo "pamtester failed" && return 1; }
	wait_for 15 ftrack_has alice || {
		echo "alice not in ftrack; the daemon's log:"
		tail -n 20 /tmp/syncd.log
		echo "ftrack's users:"
		ftrack_users
		return 1
	}
	stop_daemon
	! ftrack_has "alice@$DOMAIN" &&
		grep -q "created 'alice'" /tmp/syncd.log &&
		[[ "$(metric logins_not_ldap_total)" == 0 ]] &&
		[[ -z "$(find "$STATE/queue" -type f)" ]] ||
		{ tail -n 20 /tmp/syncd.log && ls -la "$STATE/queue" && return 1; }
}

check "sssd (ldap provider, use_fully_qualified_names) started in the root" t_sssd_start || exit
check "sssd knows alice as alice@$DOMAIN only" t_sssd_names
check "pam_sss refuses a wrong password (the stack really authenticates)" t_wrong_password
check "without login_format: not-ldap, logged at info with the hint, counted" t_not_ldap
check "login_format = strip-realm: alice@$DOMAIN provisioned as alice" t_strip_realm
