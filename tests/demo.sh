#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# tests/demo.sh: `make demo`, the whole story of ftrack-ldap-sync in about
# ten seconds, on a private slapd and ftrack emulator:
#
#   1. the servers, the config, `ftrack-syncd check`, the daemon
#   2. people log in through the real PAM stack and appear in ftrack
#   3. someone's name changes in LDAP; their next login updates ftrack
#   4. someone leaves; the reconcile deactivates them
#   5. teams: an LDAP group becomes an ftrack group; a person is in it at
#      first login and leaves it when they move
#   6. a broken LDAP answer (a size limit) is held back by a safety guard
#   7. a second host in relay mode, holding no secret: its login reaches
#      ftrack through a provisioner (HTTPS, client certificates)
#   8. where the logs, reports and metrics are; everything stopped
#
# Everything runs on 127.0.0.1, on free ports, in one mktemp -d folder;
# a trap stops every process this script started and removes the folder,
# whatever happens.  Each step checks its outcome, so the demo doubles as a
# smoke test: exit 0 when every step did what it says, 1 otherwise.
#
# Needs root (pam_ftrack's events from root may name any user), the build
# (`make all`) and the Debian packages of `make deps`: slapd, ldap-utils,
# pamtester, libpam-wrapper, python3, openssl.
#
#   bash tests/demo.sh        (or: make demo)
set -Eeuo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
B=${B:-build}
SYNCD=$ROOT/$B/syncd/ftrack-syncd
MODULE=$ROOT/$B/pam_ftrack/pam_ftrack.so
PAM_MATRIX=/usr/lib/x86_64-linux-gnu/pam_wrapper/pam_matrix.so
for f in /usr/lib/*/pam_wrapper/pam_matrix.so; do # another architecture
	[[ -e "$PAM_MATRIX" || ! -e "$f" ]] || PAM_MATRIX=$f
done
PYTHON=${PYTHON:-python3}

ROOTDN="cn=admin,dc=example,dc=com"
ROOTPW="admin-secret"
PEOPLE="ou=people,dc=example,dc=com"

W=""                  # the demo folder
SLAPD_PID=0 EMU_PID=0 DAEMON_PID=0 PROV_PID=0 RELAY_PID=0 # 0: not running
STEP=0

# ---- output ----------------------------------------------------------------

if [[ -t 1 ]]; then
	BOLD=$'\e[1m' DIM=$'\e[2m' GREEN=$'\e[32m' RED=$'\e[31m' OFF=$'\e[0m'
else
	BOLD="" DIM="" GREEN="" RED="" OFF=""
fi

step() {
	STEP=$1
	shift
	printf '\n%s== %s. %s ==%s\n' "$BOLD" "$STEP" "$*" "$OFF"
}
say() { printf '%s\n' "$*"; }
ok() { printf '  %sok%s  %s\n' "$GREEN" "$OFF" "$*"; }
indent() { sed 's/^/    /'; }
# Show a command, then run it with its output indented; its exit code.
show() {
	local rc=0
	printf '  %s$ %s%s\n' "$DIM" "${*#"$ROOT/"}" "$OFF"
	"$@" >"$W/show.out" 2>&1 || rc=$?
	indent <"$W/show.out"
	return "$rc"
}

fail() {
	trap - ERR
	printf '\n%sdemo: FAILED in step %s: %s%s\n' "$RED" "$STEP" "$*" "$OFF" >&2
	if [[ -n "$W" && -s "$W/ftrack-syncd.log" ]]; then
		echo "last lines of the daemon's log:" >&2
		tail -n 15 "$W/ftrack-syncd.log" | indent >&2
	fi
	exit 1
}
trap 'fail "unexpected failure (line $LINENO): $BASH_COMMAND"' ERR

# ---- processes and cleanup -------------------------------------------------

# stop_pid PID: TERM, up to 5 s, then KILL (tests/lib/proc.sh).
# shellcheck source=tests/lib/proc.sh
. "$ROOT/tests/lib/proc.sh"

# the servers it started stopped and $W removed, whatever happens
stop_at_exit RELAY_PID PROV_PID DAEMON_PID EMU_PID SLAPD_PID

alive() { kill -0 "$1" 2>/dev/null; }

# ---- LDAP --------------------------------------------------------------------

ldap_up() {
	alive "$SLAPD_PID" &&
		[[ "$(cat "$W/slapd/slapd.pid" 2>/dev/null)" == "$SLAPD_PID" ]] &&
		ldapsearch -x -H "$LDAP_URI" -b "$PEOPLE" -s base -LLL dn
}

# start_slapd start|run [SIZELIMIT]: our slapd on LDAP_PORT, up and ours.
start_slapd() {
	local how=$1 limit=${2:-} i
	if [[ "$how" == start ]]; then
		"$ROOT/tests/slapd.sh" start "$W/slapd" "$LDAP_PORT" \
			"$ROOT/tests/data/people.ldif" >>"$W/slapd.log" 2>&1 &
	else
		"$ROOT/tests/slapd.sh" conf "$W/slapd" "$LDAP_PORT" ${limit:+"$limit"}
		"$ROOT/tests/slapd.sh" run "$W/slapd" "$LDAP_PORT" \
			>>"$W/slapd.log" 2>&1 &
	fi
	SLAPD_PID=$!
	for ((i = 0; i < 150; i++)); do
		alive "$SLAPD_PID" || return 1 # e.g. the port was taken
		ldap_up >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

stop_slapd() {
	stop_pid "$SLAPD_PID"
	SLAPD_PID=0
}

ldap_count() {
	ldapsearch -x -H "$LDAP_URI" -D "$ROOTDN" -w "$ROOTPW" -b "$PEOPLE" \
		-LLL '(objectClass=inetOrgPerson)' dn | grep -c '^dn:'
}

# ---- ftrack (the emulator's test controls), in a small Python helper -------
#
# One Python run per look at ftrack: `ft table [USER...]` prints the table
# and leaves every user's fields and markers in $W/ft.tsv for the checks
# (val USER KEY); `ft dump` only writes the file.

write_ft_helper() {
	cat >"$W/ft.py" <<'PY'
"""The demo's view of the emulator's users and markers (stdlib only)."""
import json, os, sys, unicodedata, urllib.request

BASE, TSV = sys.argv[1], sys.argv[2]
FIELDS = ("first_name", "last_name", "email", "is_active")


def get(path):
    with urllib.request.urlopen(BASE + path, timeout=5) as r:
        return json.load(r)


def post(path, obj):
    req = urllib.request.Request(BASE + path, json.dumps(obj).encode(),
                                 {"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=5) as r:
        return json.load(r)


def users():
    """{username: user} with "markers": {key: value}; also written to TSV."""
    meta = {}
    for m in get("/_emulator/metadata"):
        if m.get("parent_type", "User") == "User":
            meta.setdefault(m["parent_id"], {})[m["key"]] = m["value"]
    out = {u["username"]: dict(u, markers=meta.get(u["id"], {}))
           for u in get("/_emulator/users")}
    with open(TSV + ".tmp", "w", encoding="utf-8") as f:
        for n, u in sorted(out.items()):
            for k, v in [(k, u.get(k)) for k in FIELDS] + sorted(u["markers"].items()):
                f.write("%s\t%s\t%s\n" % (n, k, "" if v is None else v))
    os.replace(TSV + ".tmp", TSV)
    return out


def width(s):
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in s)


def table(names):
    us = users()
    rows = [("USERNAME", "NAME", "EMAIL", "ACTIVE", "MANAGED", "NOTE")]
    for n in sorted(us):
        if names and n not in names:
            continue
        u, mk = us[n], us[n]["markers"]
        note = ""
        if "ftrack_syncd.deactivated" in mk:
            note = "deactivated " + mk["ftrack_syncd.deactivated"]
        elif n == "ftrack-sync":
            note = "the API user"
        name = " ".join(x for x in (u.get("first_name"), u.get("last_name")) if x)
        rows.append((n, name, u.get("email") or "-",
                     "yes" if u.get("is_active") else "NO",
                     "yes" if "ftrack_syncd.uuid" in mk else "no", note))
    w = [max(width(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  ".join(c + " " * (w[i] - width(c)) for i, c in enumerate(r)).rstrip())


GROUPS = {"Compositing": "7a000000-0000-4000-8000-000000000001",
          "Lighting": "7a000000-0000-4000-8000-000000000002"}


def teams(names):
    """Each user's ftrack groups; also written to TSV.teams."""
    byid = {u["id"]: u["username"] for u in get("/_emulator/users")}
    gname = {g["id"]: g["name"] for g in get("/_emulator/entities/Group")}
    rows = sorted((byid.get(m["user_id"], "?"), gname.get(m["group_id"], "?"))
                  for m in get("/_emulator/entities/Membership"))
    with open(TSV + ".teams", "w", encoding="utf-8") as f:
        for u, g in rows:
            f.write("%s\t%s\n" % (u, g))
    print("USERNAME  GROUP")
    for u, g in rows:
        if not names or u in names:
            print("%-8s  %s" % (u, g))


def main():
    cmd, args = sys.argv[3], sys.argv[4:]
    if cmd == "seed":
        post("/_emulator/users", [
            {"username": "admin", "first_name": "Ada", "last_name": "Admin",
             "email": "admin@example.com", "is_active": True},
            {"username": "carol", "first_name": "Carol", "last_name": "Carter",
             "email": "c.carter@old-studio.example", "is_active": True},
        ])
    elif cmd == "groups":
        post("/_emulator/entities/Group", [
            {"id": GROUPS[n], "name": n, "local": False} for n in GROUPS])
    elif cmd == "teams":
        teams(set(args))
    elif cmd == "table":
        table(set(args))
    elif cmd == "dump":
        users()
    else:
        sys.exit("ft.py: unknown command " + cmd)
    return 0


sys.exit(main())
PY
}

ft() { "$PYTHON" "$W/ft.py" "$EMU_URL" "$W/ft.tsv" "$@"; }

# val USER KEY: a field (first_name, last_name, email, is_active) or marker
# of USER as of the last `ft table` or `ft dump`.
val() {
	awk -F '\t' -v u="$1" -v k="$2" '$1 == u && $2 == k { print $3 }' "$W/ft.tsv"
}
exists() { awk -F '\t' -v u="$1" '$1 == u { f = 1 } END { exit !f }' "$W/ft.tsv"; }
# The active usernames, on one line.
active() {
	awk -F '\t' '$2 == "is_active" && $3 == "True" { printf "%s ", $1 }' "$W/ft.tsv"
}

# A reconcile report (last-apply.json, last-dry-run.json, held.json), in a few lines.
report_summary() {
	"$PYTHON" - "$1" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
l, f = d.get("ldap", {}), d.get("ftrack", {})
n = lambda k, what: "%d %s%s" % (k, what, "" if k == 1 else "s")
print("mode %s, result %s, started %s, took %.3f s" % (
    d["mode"], d["result"], d["started"], d["seconds"]))
print("LDAP: %s%s; ftrack: %s, %s" % (
    n(l.get("entries", 0), "entry").replace("entrys", "entries"),
    " (error: %s)" % l["error"] if l.get("error") else "",
    n(f.get("users", 0), "user"), n(f.get("requests", 0), "HTTP request")))
for g in d.get("guards", []):
    if not g["ok"]:
        print("guard %s HELD: %s%s" % (g["name"], g["detail"],
                                       "" if g["forceable"] else " (not forceable)"))
acts = [a for a in d.get("actions", []) if a["action"] not in ("none", "skip")]
for a in acts:
    print("%s %s: %s" % (a["action"], a.get("user"), a["reason"]))
if not acts:
    print("no changes")
PY
}

# ---- PAM ---------------------------------------------------------------------

# login USER: pamtester under pam_wrapper, service "demo" in $W/pam.d:
# pam_matrix checks the password, then pam_ftrack notes the session.
login() {
	local user=$1 out
	out=$(printf '%s-pw\n' "$user" |
		LD_PRELOAD=libpam_wrapper.so PAM_WRAPPER=1 \
			PAM_WRAPPER_SERVICE_DIR="$W/pam.d" \
			pamtester -v demo "$user" authenticate acct_mgmt \
			open_session close_session 2>&1) ||
		fail "pamtester for '$user' failed: $out"
	grep -q 'successfully opened a session' <<<"$out" ||
		fail "no session for '$user': $out"
	printf '    %-7s password ok, session opened\n' "$user:"
}

# Show the daemon's log lines added since line FROM that match RE.
log_since() {
	local from=$1 re=$2
	tail -n "+$((from + 1))" "$W/ftrack-syncd.log" | grep -E "$re" | indent || true
}
log_lines() { wc -l <"$W/ftrack-syncd.log"; }

# ---- the story ---------------------------------------------------------------

preflight() {
	local f
	[[ "$(id -u)" == 0 ]] ||
		fail "run as root (pam_ftrack's events from root may name any user)"
	for f in "$SYNCD" "$MODULE"; do
		[[ -e "$f" ]] || fail "$f is missing: run 'make all' first"
	done
	for f in slapd slapadd ldapsearch ldapmodify ldapdelete pamtester \
		openssl "$PYTHON"; do
		command -v "$f" >/dev/null ||
			fail "$f is missing: run 'make deps' first"
	done
	[[ -e "$PAM_MATRIX" ]] ||
		fail "$PAM_MATRIX is missing: run 'make deps' first"
	[[ "$ROOT" != *[[:space:]]* ]] ||
		fail "the checkout's path holds a blank, which a pam.d line cannot"
}

write_config() {
	(
		umask 077
		cat >"$CONF" <<EOF
; the demo's configuration (etc/ftrack-syncd.conf has every key)
[ldap]
uri = $LDAP_URI
bind_dn = cn=ftrack-sync,ou=services,dc=example,dc=com
bind_password_file = $W/ldap.secret
search_base = $PEOPLE
search_filter = (objectClass=inetOrgPerson)
disabled_filter = (employeeType=disabled)
timeout = 5
; slapd on a high port of 127.0.0.1 without TLS: a real host uses ldaps://
insecure_ldap = yes

[ftrack]
server = $EMU_URL
api_user = ftrack-sync
api_key_file = $W/ftrack.secret
timeout = 10
; the emulator speaks http:// on 127.0.0.1: a real host uses https://
insecure_http = yes

[policy]
on_login = create
reconcile_interval = 0
login_cooldown = 0
max_deactivate = 2

[daemon]
socket = $W/run/notify.sock
state_dir = $W/state
log_level = debug
log_target = stderr
EOF
		printf '%s' "sync-secret" >"$W/ldap.secret"
		printf '%s' "$API_KEY" >"$W/ftrack.secret"
	)
}

start_emulator() {
	API_KEY=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
	"$PYTHON" "$ROOT/tests/ftrack_emulator.py" --port 0 \
		--api-user ftrack-sync --api-key "$API_KEY" \
		>"$W/emulator.out" 2>"$W/emulator.log" &
	EMU_PID=$!
	wait_for 15 grep -q '^listening on http://' "$W/emulator.out" ||
		fail "the ftrack emulator did not start: $(cat "$W/emulator.log")"
	EMU_URL=$(sed -n 's/^listening on //p' "$W/emulator.out" | head -n 1)
	write_ft_helper
	ft seed
}

step1_servers() {
	local i tmp
	step 1 "A private directory, an ftrack, the daemon"
	tmp=${TMPDIR:-/tmp}
	# a blank cannot go into a pam.d line, and a socket path is short
	[[ "$tmp" != *[[:space:]]* && ${#tmp} -le 60 ]] || tmp=/tmp
	W=$(mktemp -d "$tmp/ftrack-demo.XXXXXX")
	chmod 0700 "$W"
	mkdir -m 0700 "$W/run" "$W/state" "$W/pam.d"
	CONF=$W/ftrack-syncd.conf
	say "  Everything lives in $W and goes away at the end."

	for ((i = 0; i < 5 && SLAPD_PID == 0; i++)); do
		LDAP_PORT=$(free_port)
		LDAP_URI="ldap://127.0.0.1:$LDAP_PORT"
		start_slapd start || stop_slapd
	done
	[[ $SLAPD_PID != 0 ]] || fail "slapd did not start: $(tail -n 5 "$W/slapd.log")"
	ok "slapd on $LDAP_URI: tests/data/people.ldif, $(ldap_count) people" \
		"(gone is disabled)"

	start_emulator
	ok "ftrack emulator on $EMU_URL, with two accounts made by hand:"
	ft table | indent

	write_config
	ok "config $CONF:"
	say "      on_login = create, login_cooldown = 0, max_deactivate = 2,"
	say "      reconcile_interval = 0 (run by hand below), log_level = debug,"
	say "      insecure_ldap = yes and insecure_http = yes (plain LDAP to a"
	say "      high port, http:// to the emulator: refused without them)"
	show "$SYNCD" -c "$CONF" check || fail "ftrack-syncd check failed"
	grep -q '^warning: \[ftrack\] insecure_http = yes: ' "$W/show.out" &&
		grep -q '^warning: \[ldap\] insecure_ldap = yes: ' "$W/show.out" ||
		fail "check did not warn about insecure_http and insecure_ldap"
	ok "check warns about both exceptions"

	"$SYNCD" -c "$CONF" run 2>"$W/ftrack-syncd.log" &
	DAEMON_PID=$!
	wait_for 10 grep -q 'listening on' "$W/ftrack-syncd.log" ||
		fail "the daemon did not start listening"
	ok "ftrack-syncd run (pid $DAEMON_PID), listening on $W/run/notify.sock"
	[[ $(grep -c ': warning: .*: \[[a-z]*\] insecure_' "$W/ftrack-syncd.log") == 2 ]] ||
		fail "the daemon did not warn at start"
	ok "and warns at start too:"
	log_since 0 ': warning: '
}

write_pam_service() {
	local u
	for u in alice bob carol joerg yamada nomail gone dave erin; do
		printf '%s:%s-pw:demo\n' "$u" "$u"
	done >"$W/passdb"
	cat >"$W/pam.d/demo" <<EOF
auth     required  $PAM_MATRIX passdb=$W/passdb
account  required  $PAM_MATRIX passdb=$W/passdb
session  optional  $MODULE socket=$W/run/notify.sock spool=$W/state/queue daemon_user=root
session  required  $PAM_MATRIX passdb=$W/passdb
EOF
}

OUTCOMES="(created|updated|linked|renamed|reactivated|unchanged|not-ldap|skipped|failed)"

# outcome_logged FROM USER: the daemon logged an outcome for USER after
# line FROM of its log.
outcome_logged() {
	tail -n "+$(($1 + 1))" "$W/ftrack-syncd.log" |
		grep -qE "$OUTCOMES '$2':"
}

# Logs USER... in through PAM, waits until the daemon has logged an
# outcome for each, and shows those lines.
login_all() {
	local from u
	from=$(log_lines)
	for u in "$@"; do
		login "$u"
	done
	for u in "$@"; do
		wait_for 15 outcome_logged "$from" "$u" ||
			fail "the daemon logged no outcome for '$u'"
	done
	say "  The daemon's log:"
	log_since "$from" "$OUTCOMES '"
}

step2_logins() {
	local u people=(alice bob carol joerg yamada nomail)
	step 2 "People log in"
	write_pam_service
	say "  The PAM service 'demo' ($W/pam.d/demo, read by pam_wrapper):"
	sed "s|$W|\$DEMO|g" "$W/pam.d/demo" | indent
	say "  Each login is a real PAM conversation, the password on stdin:"
	say "  $DIM\$ pamtester demo USER authenticate acct_mgmt open_session close_session$OFF"
	login_all gone "${people[@]}"
	say "  ftrack now:"
	ft table | indent
	for u in "${people[@]}"; do
		[[ "$(val "$u" is_active)" == True ]] || fail "'$u' is not active"
		[[ -n "$(val "$u" ftrack_syncd.uuid)" ]] ||
			fail "'$u' has no ftrack_syncd.uuid marker"
	done
	! exists gone || fail "'gone' (disabled in LDAP) got an ftrack account"
	[[ "$(val carol email)" == carol@example.com ]] ||
		fail "carol's hand-made account was not linked and updated"
	[[ "$(val joerg last_name)" == "Müller" && "$(val yamada last_name)" == "山田" ]] ||
		fail "the UTF-8 names did not arrive intact"
	[[ -z "$(val nomail email)" ]] || fail "nomail got an e-mail from nowhere"
	ok "5 new accounts, named and mailed from LDAP; 'gone' (disabled) got none"
	ok "carol's hand-made account was linked (uuid marker), her e-mail corrected"
}

step3_rename() {
	step 3 "Someone's name changes"
	say "  Before:"
	ft table alice | indent
	say "  Alice marries; the directory is changed (ldapmodify):"
	cat >"$W/alice.ldif" <<EOF
dn: uid=alice,$PEOPLE
changetype: modify
replace: sn
sn: Lane
-
replace: cn
cn: Alice Lane
-
replace: mail
mail: alice.lane@example.com
EOF
	indent <"$W/alice.ldif"
	ldapmodify -x -H "$LDAP_URI" -D "$ROOTDN" -w "$ROOTPW" \
		-f "$W/alice.ldif" >/dev/null
	say "  Her next login:"
	login_all alice
	say "  After:"
	ft table alice | indent
	[[ "$(val alice email)" == alice.lane@example.com &&
		"$(val alice last_name)" == Lane &&
		"$(val alice first_name)" == Alice ]] ||
		fail "alice's new name and e-mail did not reach ftrack"
	ok "only what changed was written (last_name, email)"
}

# reconcile ARGS...: run it, show its output; its exit code in RC.
reconcile() {
	RC=0
	printf '  %s$ ftrack-syncd reconcile%s%s\n' "$DIM" "${*:+ $*}" "$OFF"
	"$SYNCD" -c "$CONF" reconcile "$@" >"$W/reconcile.out" 2>&1 || RC=$?
	indent <"$W/reconcile.out"
	say "    (exit $RC)"
}

step4_leaver() {
	local before
	step 4 "Someone leaves"
	say "  bob leaves the studio; his entry is deleted from the directory:"
	show ldapdelete -x -H "$LDAP_URI" -D "$ROOTDN" -w "$ROOTPW" \
		"uid=bob,$PEOPLE"
	say "  The reconcile compares every LDAP person with every ftrack user."
	say "  A dry run (the default) prints the plan and changes nothing:"
	reconcile
	[[ $RC == 4 ]] || fail "the dry run should exit 4 (changes to make), not $RC"
	grep -qE '^ *deactivate +bob ' "$W/reconcile.out" ||
		fail "the plan does not deactivate bob"
	ft dump
	[[ "$(val bob is_active)" == True ]] || fail "the dry run changed bob"
	before=$(active)
	say "  Applied:"
	reconcile --apply
	[[ $RC == 0 ]] || fail "reconcile --apply should exit 0, not $RC"
	ft table bob | indent
	[[ "$(val bob is_active)" == False ]] || fail "bob is still active"
	[[ -n "$(val bob ftrack_syncd.deactivated)" ]] ||
		fail "bob has no ftrack_syncd.deactivated marker"
	[[ "$(active)" == "${before/bob /}" ]] ||
		fail "the reconcile changed more than bob: '$before' -> '$(active)'"
	ok "bob's seat is taken back: inactive, with the deactivated marker"
	ok "admin, the API user and everyone still in LDAP are untouched"
}

step6_guard() {
	local before
	step 6 "A broken LDAP answer is held back"
	say "  slapd is restarted with a size limit of 5 entries, below the"
	say "  $(ldap_count) people: a search now stops early (sizeLimitExceeded), and"
	say "  taken at its word, that answer would make leavers of most people."
	stop_slapd
	start_slapd run 5 || fail "slapd did not restart with the size limit"
	ft dump
	before=$(active)
	reconcile --apply
	[[ $RC == 3 ]] || fail "the guarded run should exit 3 (held), not $RC"
	grep -qE 'ldap_complete +HELD' "$W/reconcile.out" ||
		fail "no ldap_complete HELD line"
	ft dump
	[[ "$(active)" == "$before" ]] ||
		fail "a held run changed ftrack: '$before' -> '$(active)'"
	[[ -s "$W/state/reports/held.json" ]] || fail "no reports/held.json"
	ok "exit 3, held by the ldap_complete guard: nothing written to ftrack"
	say "  The held run, kept for a person to look at (reports/held.json):"
	report_summary "$W/state/reports/held.json" | indent
	say "  With LDAP whole again, the dry run finds nothing to do:"
	stop_slapd
	start_slapd run || fail "slapd did not restart without the size limit"
	reconcile
	[[ $RC == 0 ]] || fail "the dry run should exit 0 (in sync), not $RC"
	ok "exit 0: in sync"
}

# The config of a provisioner: the demo's [ldap], [ftrack] and [policy],
# its own socket and state folder, mode = provisioner, [provisioner].
write_prov_config() {
	sed -e "s|^socket = .*|socket = $W/prov/run/notify.sock|" \
		-e "s|^state_dir = .*|state_dir = $W/prov/state|" \
		-e 's|^log_level = .*|log_level = info|' "$CONF" >"$W/prov.conf"
	cat >>"$W/prov.conf" <<EOF
mode = provisioner

[provisioner]
listen = 127.0.0.1:$PROV_PORT
tls_cert_file = $W/pki/server.crt
tls_key_file = $W/pki/server.key
client_ca_file = $W/pki/ca.crt
allow_hosts = *.ws.example.com
EOF
	chmod 0600 "$W/prov.conf"
}

# A workstation's config (mode = relay, [relay], no [ldap] or [ftrack])
# and its PAM service 'demo' (in pam.relay/): the same stack, the relay's
# socket and spool.
write_relay_config() {
	cat >"$W/relay.conf" <<EOF
; a workstation: no [ldap], no [ftrack], no secret of either
[relay]
upstream = https://127.0.0.1:$PROV_PORT
tls_cert_file = $W/pki/host1.crt
tls_key_file = $W/pki/host1.key
tls_ca_file = $W/pki/ca.crt

[daemon]
mode = relay
socket = $W/relay/run/notify.sock
state_dir = $W/relay/state
log_level = info
log_target = stderr
EOF
	sed -e "s|socket=$W/run/notify.sock|socket=$W/relay/run/notify.sock|" \
		-e "s|spool=$W/state/queue|spool=$W/relay/state/queue|" \
		"$W/pam.d/demo" >"$W/pam.relay/demo"
}

step7_relay() {
	step 7 "A workstation that holds no secret (relay mode)"
	say "  On many workstations, each relays its logins over HTTPS to a"
	say "  provisioner, which alone holds the LDAP and ftrack secrets."
	mkdir -m 0700 "$W/pki" "$W/prov" "$W/prov/run" "$W/prov/state" \
		"$W/relay" "$W/relay/run" "$W/relay/state" "$W/pam.relay"
	bash "$ROOT/tests/lib/ca.sh" "$W/pki" >"$W/pki.log" 2>&1 ||
		fail "the throwaway CA was not made: $(tail -n 5 "$W/pki.log")"
	ok "a throwaway CA (openssl): the provisioner's certificate and the"
	say "      workstation's (host1.ws.example.com)"
	PROV_PORT=$(free_port)
	write_prov_config
	"$SYNCD" -c "$W/prov.conf" run 2>"$W/prov.log" &
	PROV_PID=$!
	wait_for 10 grep -q 'provisioner listening on' "$W/prov.log" ||
		fail "the provisioner did not start: $(tail -n 5 "$W/prov.log")"
	ok "a provisioner (a second daemon, mode = provisioner) on https://127.0.0.1:$PROV_PORT"
	write_relay_config
	say "  The workstation's whole config:"
	grep -v '^;' "$W/relay.conf" | sed "s|$W|\$DEMO|g" | indent
	"$SYNCD" -c "$W/relay.conf" run 2>"$W/relay.log" &
	RELAY_PID=$!
	wait_for 10 grep -q 'listening on' "$W/relay.log" ||
		fail "the relay did not start: $(tail -n 5 "$W/relay.log")"
	ok "ftrack-syncd run on the workstation (mode = relay, pid $RELAY_PID)"
	! exists dave || fail "'dave' is in ftrack before his first login"
	say "  dave logs in on the workstation (the same PAM stack, its socket):"
	printf '%s-pw\n' dave | LD_PRELOAD=libpam_wrapper.so PAM_WRAPPER=1 \
		PAM_WRAPPER_SERVICE_DIR="$W/pam.relay" pamtester demo dave \
		authenticate acct_mgmt open_session close_session \
		>"$W/relay-login.out" 2>&1 ||
		fail "pamtester for 'dave' on the relay failed: $(cat "$W/relay-login.out")"
	wait_for 15 grep -q "created 'dave'" "$W/prov.log" ||
		fail "the provisioner did not create 'dave': $(tail -n 5 "$W/prov.log")"
	ft dump
	[[ "$(val dave is_active)" == True ]] || fail "'dave' is not active in ftrack"
	ok "dave is in ftrack, created by the provisioner; its log:"
	grep -E "accepted from host|created 'dave'" "$W/prov.log" | indent
	show "$SYNCD" -c "$W/relay.conf" status || fail "status on the relay failed"
	stop_pid "$RELAY_PID"
	RELAY_PID=0
	stop_pid "$PROV_PID"
	PROV_PID=0
	ok "relay and provisioner stopped"
}

# teams USER: USER's ftrack groups, as of the last `ft teams`, on one line.
teams() {
	awk -F'\t' -v u="$1" '$1 == u { printf "%s ", $2 }' "$W/ft.tsv.teams"
}

# log_matches FROM RE: the daemon logged RE after line FROM of its log.
log_matches() {
	tail -n "+$(($1 + 1))" "$W/ftrack-syncd.log" | grep -qE "$2"
}

# ldif_apply FILE: ldapmodify as the rootdn.
ldif_apply() {
	ldapmodify -x -H "$LDAP_URI" -D "$ROOTDN" -w "$ROOTPW" -f "$1" >/dev/null
}

step5_teams() {
	local from
	step 5 "Teams: LDAP groups become ftrack groups"
	say "  Two LDAP groups (ldapmodify), and two groups in ftrack:"
	cat >"$W/groups.ldif" <<EOF
dn: cn=comp,ou=groups,dc=example,dc=com
changetype: add
objectClass: groupOfNames
cn: comp
member: uid=erin,$PEOPLE
member: cn=ftrack-sync,ou=services,dc=example,dc=com

dn: cn=lighting,ou=groups,dc=example,dc=com
changetype: add
objectClass: groupOfNames
cn: lighting
member: uid=carol,$PEOPLE
EOF
	grep -E '^(dn|member):' "$W/groups.ldif" | indent
	say "  (a group must have a member: the service account, not a person,"
	say "  is one, which the sync ignores)"
	ldif_apply "$W/groups.ldif" || fail "the LDAP groups were not added"
	ft groups
	# before [daemon]: a provisioner's config (step 7) appends to it
	cat >"$W/groups.conf" <<EOF
[groups]
search_base = ou=groups,dc=example,dc=com
max_removals = 10

[group_map]
Compositing = comp
Lighting = lighting

EOF
	awk -v f="$W/groups.conf" \
		'/^\[daemon\]/ { while ((getline l < f) > 0) print l } { print }' \
		"$CONF" >"$W/conf.new" && cat "$W/conf.new" >"$CONF" ||
		fail "the config was not rewritten"
	say "  The config gains (then SIGHUP: the daemon reloads it):"
	indent <"$W/groups.conf"
	from=$(log_lines)
	kill -HUP "$DAEMON_PID"
	wait_for 10 log_matches "$from" 'configuration reloaded' ||
		fail "the daemon did not reload its configuration"
	ft dump
	! exists erin || fail "'erin' is in ftrack before her first login"
	say "  erin logs in for the first time:"
	login_all erin
	ft teams | indent
	[[ "$(teams erin)" == "Compositing " ]] ||
		fail "erin is not in Compositing after her first login: '$(teams erin)'"
	ok "erin is in her team from her first login (the same call created her)"
	say "  erin moves from comp to lighting in the directory; the reconcile:"
	cat >"$W/move.ldif" <<EOF
dn: cn=comp,ou=groups,dc=example,dc=com
changetype: modify
delete: member
member: uid=erin,$PEOPLE

dn: cn=lighting,ou=groups,dc=example,dc=com
changetype: modify
add: member
member: uid=erin,$PEOPLE
EOF
	ldif_apply "$W/move.ldif" || fail "erin was not moved in LDAP"
	reconcile --apply
	[[ $RC == 0 ]] || fail "reconcile --apply should exit 0, not $RC"
	ft teams | indent
	[[ "$(teams erin)" == "Lighting " ]] ||
		fail "erin is not only in Lighting after the reconcile: '$(teams erin)'"
	ok "out of Compositing (the membership the sync made), into Lighting"
}

step8_files() {
	local s=$W/state rc=0 w
	step 8 "Where to look"
	say "  In this demo (and on a real host):"
	w=$((${#s} + 15))
	printf '    %-8s %-*s %s\n' \
		log "$w" "$W/ftrack-syncd.log" "(syslog: journalctl -t ftrack-syncd)" \
		reports "$w" "$s/reports/" "(/var/lib/ftrack-syncd/reports/)" \
		metrics "$w" "$s/metrics.prom" "(/var/lib/ftrack-syncd/metrics.prom)" \
		queue "$w" "$s/queue/" "(/var/lib/ftrack-syncd/queue/)"
	show "$SYNCD" -c "$CONF" status || fail "ftrack-syncd status failed"
	say "  reports/last-apply.json (JSON: the last --apply, here the held one),"
	say "  summed up; the dry run after it did not overwrite it:"
	report_summary "$s/reports/last-apply.json" | indent
	say "  reports/last-dry-run.json (the last dry run), summed up:"
	report_summary "$s/reports/last-dry-run.json" | indent

	say "  The daemon stops on SIGTERM (systemctl stop), writing its metrics:"
	kill -TERM "$DAEMON_PID"
	wait "$DAEMON_PID" || rc=$?
	DAEMON_PID=0
	[[ $rc == 0 ]] || fail "the daemon exited $rc on SIGTERM"
	grep -q '^ftrack_syncd_events_received_total 9$' "$s/metrics.prom" ||
		fail "metrics.prom does not count the 9 logins"
	say "  metrics.prom (every 10 s and at exit), the lines that are not zero:"
	grep -v '^#' "$s/metrics.prom" | awk '$2 != 0' | indent
	say "  The daemon's log ends with:"
	tail -n 3 "$W/ftrack-syncd.log" | indent
	stop_pid "$EMU_PID"
	EMU_PID=0
	stop_slapd
	rm -rf -- "$W"
	ok "daemon (SIGTERM, exit 0), slapd and emulator stopped; $W removed"
}

main() {
	local t0=$SECONDS
	preflight
	step1_servers
	step2_logins
	step3_rename
	step4_leaver
	step5_teams
	step6_guard
	step7_relay
	step8_files
	printf '\n%sdemo: every step did what it says (%d s).%s\n' "$BOLD" \
		"$((SECONDS - t0))" "$OFF"
}

main "$@"
