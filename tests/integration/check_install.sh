#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# tests/integration/check_install.sh: what an administrator gets from `make install`,
# the systemd units, the man pages and the Debian package.
#
#   bash tests/integration/check_install.sh install        (make check-install)
#       make install / uninstall into a DESTDIR (files, modes, kept config,
#       PREFIX=/usr/local), tmpfiles.d applied to a scratch root, the units
#       (systemd-analyze verify, systemd-analyze security --offline=true and
#       its exposure score), the man pages (mandoc -T lint, man --warnings,
#       every key, command, option, exit code and module argument
#       documented), README.md, the man pages and the annotated config
#       against the binary's keys and defaults and the code's guards, the
#       pam-auth-update profile, the relay and provisioner example configs.
#   bash tests/integration/check_install.sh deb DEB_DIR    (make check-deb, after make deb)
#       the .deb's contents and conffiles, lintian, then, as root, the
#       package installed into a throwaway root (an overlay of / in a private
#       mount namespace, chroot): the account, folders and modes, the PAM
#       profile off, `ftrack-syncd check` against a private slapd and ftrack
#       emulator, a login through the installed PAM stack provisioned by the
#       installed daemon, a login spooled while it is down, an upgrade that
#       keeps the changed config, remove and purge; then, in a root booted
#       with systemd-nspawn, the packaged unit (sandbox, reload, restart,
#       reconcile) and the same unit as a provisioner (a throwaway PKI from
#       tests/lib/ca.sh: /v1/health, a relay's POST, check) and as a relay
#       (the root-only host key through LoadCredential=, a PAM login
#       forwarded to a hand-run provisioner, status and check).
#
# A tool that is missing is reported as skipped (`make deps` installs them
# all).  Servers run on 127.0.0.1 on free ports and are stopped, and every
# temporary folder removed, whatever happens.  The last line reads
# "install: N passed, N failed, N skipped"; exit 1 when anything failed.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
B=${B:-build}
PYTHON=${PYTHON:-python3}
MODE=${1:-install}
W=""
SLAPD_PID=0 EMU_PID=0
SECURITY_MAX=1.5 # the exposure score ftrack-syncd.service must stay under

# stop_pid PID: TERM, up to 5 s, then KILL (tests/lib/proc.sh); the tally
# (pass, skip, fail, check, have), start_servers, overlay_root and in_root
# (tests/lib/root.sh).
# shellcheck source=tests/lib/proc.sh
. "$ROOT/tests/lib/proc.sh"
# shellcheck source=tests/lib/tally.sh
. "$ROOT/tests/lib/tally.sh"
# shellcheck source=tests/lib/root.sh
. "$ROOT/tests/lib/root.sh"

# the servers it started stopped and $W removed, whatever happens
stop_at_exit EMU_PID SLAPD_PID

mk() { make -s --no-print-directory -C "$ROOT" B="$B" "$@"; }

# ---- where things go: found as the Makefile documents, independently ---------

pam_dir() {
	local d
	d=$(pkg-config --variable=securedir pam 2>/dev/null)
	if [[ -z "$d" ]]; then
		d=$(dpkg -L "libpam-modules:$(dpkg --print-architecture)" 2>/dev/null |
			grep -m1 '/pam_unix\.so$')
		d=${d%/pam_unix.so}
	fi
	[[ -n "$d" ]] || d=/lib/$(gcc -print-multiarch)/security
	printf '%s\n' "$d"
}
PAMDIR=$(pam_dir)
UNITDIR=$(pkg-config --variable=systemdsystemunitdir systemd 2>/dev/null)
UNITDIR=${UNITDIR:-/lib/systemd/system}
TMPFILESDIR=$(pkg-config --variable=tmpfilesdir systemd 2>/dev/null)
TMPFILESDIR=${TMPFILESDIR:-/usr/lib/tmpfiles.d}
UNITS="ftrack-syncd.service ftrack-syncd-reconcile.service ftrack-syncd-reconcile.timer
ftrack-syncd-transform.socket ftrack-syncd-transform@.service
ftrack-syncd-hook.socket ftrack-syncd-hook@.service"

# expected_files PREFIX UNITDIR TMPFILESDIR: "mode path" of a make install
expected_files() {
	local p=${1#/} u=${2#/} t=${3#/} x
	{
		echo "755 $p/sbin/ftrack-syncd"
		echo "755 $p/libexec/ftrack-syncd/ftrack-syncd-ext-adapter"
		echo "644 $p/share/doc/ftrack-ldap-sync/examples/transform-example.py"
		echo "644 $p/share/doc/ftrack-ldap-sync/examples/on-change-log.sh"
		echo "644 $p/share/doc/ftrack-ldap-sync/examples/on-change-webhook.sh"
		echo "644 ${PAMDIR#/}/pam_ftrack.so"
		for x in $UNITS; do echo "644 $u/$x"; done
		echo "644 $t/ftrack-syncd.conf"
		echo "644 usr/share/pam-configs/ftrack"
		echo "644 $p/share/man/man8/pam_ftrack.8"
		echo "644 $p/share/man/man8/ftrack-syncd.8"
		echo "644 $p/share/man/man5/ftrack-syncd.conf.5"
		echo "644 $p/share/doc/ftrack-ldap-sync/examples/ftrack-syncd.conf"
		echo "644 $p/share/doc/ftrack-ldap-sync/examples/ftrack-syncd-relay.conf"
		echo "644 $p/share/doc/ftrack-ldap-sync/examples/ftrack-syncd-provisioner.conf"
		echo "644 $p/share/doc/ftrack-ldap-sync/examples/pam.d/ftrack"
		echo "644 etc/ftrack-syncd.conf"
	} | sort -k2
}

files_in() { (cd "$1" && find . -type f -printf '%m %P\n' | sort -k2); }

same_files() {
	local got
	got=$(files_in "$1")
	[[ "$got" == "$2" ]] && return 0
	echo "expected:"
	printf '%s\n' "$2"
	echo "installed:"
	printf '%s\n' "$got"
	return 1
}

# ---- make install / uninstall --------------------------------------------------

t_install_layout() {
	local d=$W/dest
	mk install DESTDIR="$d" >"$W/install.log" 2>&1 || {
		cat "$W/install.log"
		return 1
	}
	same_files "$d" "$(expected_files /usr "$UNITDIR" "$TMPFILESDIR")" &&
		cmp "$ROOT/$B/syncd/ftrack-syncd" "$d/usr/sbin/ftrack-syncd" &&
		cmp "$ROOT/$B/pam_ftrack/pam_ftrack.so" "$d$PAMDIR/pam_ftrack.so" &&
		cmp "$ROOT/etc/ftrack-syncd.conf" "$d/etc/ftrack-syncd.conf"
}

t_pam_dir() {
	# the module sits beside the platform's own modules
	[[ -e "$PAMDIR/pam_unix.so" ]] ||
		{ echo "no pam_unix.so in $PAMDIR" && return 1; }
}

t_units_execstart() {
	local d=$W/dest u
	for u in ftrack-syncd.service ftrack-syncd-reconcile.service; do
		grep -q '^ExecStart=/usr/sbin/ftrack-syncd ' "$d$UNITDIR/$u" ||
			{ echo "$u: ExecStart not /usr/sbin/ftrack-syncd" && return 1; }
	done
	! grep -n '@[A-Z]*@' "$d$UNITDIR"/ftrack-syncd*
}

t_config_kept() {
	local d=$W/dest
	echo '; changed by the administrator' >>"$d/etc/ftrack-syncd.conf"
	mk install DESTDIR="$d" >"$W/install2.log" 2>&1 || return 1
	grep -q 'kept the existing' "$W/install2.log" &&
		tail -n 1 "$d/etc/ftrack-syncd.conf" | grep -q 'changed by the'
}

t_uninstall() {
	local d=$W/dest
	mk uninstall DESTDIR="$d" >"$W/uninstall.log" 2>&1 || return 1
	grep -q 'kept .*ftrack-syncd.conf (changed)' "$W/uninstall.log" &&
		same_files "$d" "644 etc/ftrack-syncd.conf" || return 1
	cp "$ROOT/etc/ftrack-syncd.conf" "$d/etc/ftrack-syncd.conf"
	mk uninstall DESTDIR="$d" >>"$W/uninstall.log" 2>&1 &&
		same_files "$d" "" &&
		[[ ! -e "$d/usr/share/doc/ftrack-ldap-sync" ]]
}

t_prefix() {
	local d=$W/local
	mk install DESTDIR="$d" PREFIX=/usr/local >"$W/local.log" 2>&1 || {
		cat "$W/local.log"
		return 1
	}
	same_files "$d" "$(expected_files /usr/local \
		/usr/local/lib/systemd/system /usr/local/lib/tmpfiles.d)" &&
		grep -q '^ExecStart=/usr/local/sbin/ftrack-syncd run$' \
			"$d/usr/local/lib/systemd/system/ftrack-syncd.service" &&
		mk uninstall DESTDIR="$d" PREFIX=/usr/local >>"$W/local.log" 2>&1 &&
		same_files "$d" ""
}

# systemd-tmpfiles on a scratch root with the account: folders and modes.
t_tmpfiles() {
	local r=$W/tmproot got
	mkdir -p "$r/etc" "$r/usr/lib/tmpfiles.d" "$r/var/lib"
	echo 'ftrack-syncd:x:990:990::/var/lib/ftrack-syncd:/usr/sbin/nologin' \
		>"$r/etc/passwd"
	echo 'ftrack-syncd:x:990:' >"$r/etc/group"
	cp "$ROOT/etc/tmpfiles.d/ftrack-syncd.conf" "$r/usr/lib/tmpfiles.d/"
	systemd-tmpfiles --root="$r" --create ftrack-syncd.conf || return 1
	got=$(cd "$r/var/lib" && find ftrack-syncd -printf '%m %U:%G %p\n' | sort -k3)
	[[ "$got" == "755 990:990 ftrack-syncd
700 990:990 ftrack-syncd/queue
700 990:990 ftrack-syncd/queue/failed
700 990:990 ftrack-syncd/reports" ]] || {
		printf 'got:\n%s\n' "$got"
		return 1
	}
}

# ---- systemd units --------------------------------------------------------------

# The units as installed, ExecStart pointing at the DESTDIR's binary.
stage_units() {
	local s=$W/sd u
	mk install DESTDIR="$s" >"$W/sd.log" 2>&1 || {
		cat "$W/sd.log"
		return 1
	}
	mkdir -p "$W/units"
	for u in $UNITS; do
		sed -e "s|^ExecStart=/usr/sbin/|ExecStart=$s/usr/sbin/|" \
			-e "s|^ExecStart=/usr/libexec/ftrack-syncd/|ExecStart=$s/usr/libexec/ftrack-syncd/|" \
			"$s$UNITDIR/$u" >"$W/units/$u" || return 1
	done
}

t_verify() {
	local out
	out=$(cd "$W/units" && MANPATH="$W/sd/usr/share/man" \
		systemd-analyze verify $UNITS 2>&1) && [[ -z "$out" ]] || {
		printf '%s\n' "$out"
		return 1
	}
}

# The same verify notices a unit whose program is missing.
t_verify_fails() {
	mkdir -p "$W/bad"
	sed 's|^ExecStart=[^ ]*|ExecStart=/nonexistent/ftrack-syncd|' \
		"$W/units/ftrack-syncd.service" >"$W/bad/ftrack-syncd.service"
	! (cd "$W/bad" && MANPATH="$W/sd/usr/share/man" \
		systemd-analyze verify ftrack-syncd.service >/dev/null 2>&1)
}

# Both services cap memory and tasks (MemoryMax=, TasksMax=), with the
# values README.md and ftrack-syncd(8) give.
t_limits() {
	local u key v
	for u in ftrack-syncd.service ftrack-syncd-reconcile.service; do
		for key in MemoryMax TasksMax; do
			v=$(sed -n "s/^$key=//p" "$W/units/$u")
			[[ -n "$v" && "$v" != *$'\n'* ]] ||
				{ echo "$u: not one $key= line" && return 1; }
			grep -qF "\`$key=$v\`" "$ROOT/README.md" ||
				{ echo "README.md does not give $key=$v" && return 1; }
			grep -qF "$key=$v" "$ROOT/etc/man/ftrack-syncd.8" ||
				{ echo "ftrack-syncd(8) does not give $key=$v" && return 1; }
		done
	done
}

# exposure UNITFILE: the overall exposure score, e.g. 1.2
exposure() {
	systemd-analyze security --offline=true "$1" 2>/dev/null |
		sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p'
}

t_security() {
	local u=$1 max=$2 score
	score=$(exposure "$W/units/$u")
	[[ -n "$score" ]] || { echo "no score for $u" && return 1; }
	echo "$u: exposure $score (at most $max)" >>"$W/scores"
	awk -v s="$score" -v m="$max" 'BEGIN { exit !(s <= m) }' ||
		{ echo "$u: exposure $score above $max" && return 1; }
}

# The score of a bare unit is far above the bound: the check can fail.
t_security_fails() {
	local score
	mkdir -p "$W/bare"
	printf '[Service]\nExecStart=%s run\n' "$W/sd/usr/sbin/ftrack-syncd" \
		>"$W/bare/bare.service"
	score=$(exposure "$W/bare/bare.service")
	awk -v s="$score" -v m="$SECURITY_MAX" 'BEGIN { exit !(s > m) }'
}

# ---- man pages -----------------------------------------------------------------

MANPAGES="pam_ftrack.8 ftrack-syncd.8 ftrack-syncd.conf.5"

t_mandoc() {
	local p out rc=0
	for p in $MANPAGES; do
		out=$(mandoc -T lint -W all "$ROOT/etc/man/$p" 2>&1) || rc=1
		[[ -z "$out" ]] || { printf '%s\n' "$out" && rc=1; }
	done
	return $rc
}

t_man_warnings() {
	local p err rc=0
	for p in $MANPAGES; do
		err=$(MANWIDTH=80 man --warnings -E UTF-8 -l "$ROOT/etc/man/$p" 2>&1 >"$W/man.out") || rc=1
		[[ -z "$err" ]] || { printf '%s: %s\n' "$p" "$err" && rc=1; }
		grep -q '^NAME' "$W/man.out" || { echo "$p: no NAME" && rc=1; }
	done
	return $rc
}

# The docs agree with the code.  The keys and their defaults come from the
# binary (`check --dump` of a config holding only the required keys, so
# every other key shows its default), the guards from syncd/plan_recon.c
# (guard_names): so a key or guard added to the code must be documented.
#   - every key: in README.md's Configuration section (a table row
#     | `key` | default | under the paragraph that starts with `[section]`),
#     in ftrack-syncd.conf(5) (.BI key " = " under .SH "[section]", with
#     "Default: value."), and in the annotated etc/ftrack-syncd.conf (a
#     `key = value` line under [section]), each with the binary's default;
#     the required keys and secret files show an example, not a default;
#   - every guard: in README.md and ftrack-syncd(8);
#   - no key the binary does not know in the annotated config or the page;
#   - README.md, the three man pages, the annotated config and --help never
#     refer to DESIGN.md (a user cannot see it).
t_conf_keys() {
	local min=$W/docs-min.conf dump=$W/docs-dump.txt help=$W/docs-help.txt
	printf '%s\n' '[ldap]' 'uri = ldaps://ldap.example.com' \
		'search_base = dc=example,dc=com' '[ftrack]' \
		'server = https://ftrack.example.com' 'api_user = ftrack-sync' >"$min"
	FTRACK_API_KEY=docs-test "$ROOT/$B/syncd/ftrack-syncd" -c "$min" \
		check --dump >"$dump" || { cat "$dump" && return 1; }
	"$ROOT/$B/syncd/ftrack-syncd" --help >"$help" || return 1
	"$PYTHON" - "$ROOT" "$dump" "$help" <<'PY'
import re, sys

root, dump_path, help_path = sys.argv[1:4]
def read(rel):
    return open(rel if rel.startswith("/") else root + "/" + rel).read()

example = read("etc/ftrack-syncd.conf")
page = read("etc/man/ftrack-syncd.conf.5")
syncd_page = read("etc/man/ftrack-syncd.8")
readme = read("README.md")
# required keys and secret files show an example, not a default
no_default = {"uri", "search_base", "server", "api_user", "bind_dn",
              "bind_password_file", "api_key_file",
              "upstream", "tls_cert_file", "tls_key_file"}
bad = 0
def fail(msg):
    global bad
    print(msg)
    bad += 1

# the binary's keys, in table order; "(set)"/"(unset)": a secret's line
keys = []
for line in open(dump_path).read().splitlines():
    m = re.match(r"(\w+)\.(\w+) =(?: (.*))?$", line)
    if not m:
        fail("check --dump: unexpected line %r" % line); continue
    value = (m.group(3) or "").strip()
    if value in ("(set)", "(unset)"):
        continue
    keys.append((m.group(1), m.group(2), value))
if len(keys) < 10:
    fail("check --dump gave %d keys" % len(keys))
known = {(s, k) for s, k, _ in keys}

# the annotated example: section -> {key: value}; a section shown
# commented out ("; [relay]": a standalone file refuses it) has its keys
# as "; key = value" lines
ex, section, commented = {}, None, False
for line in example.splitlines():
    m = re.match(r"(; )?\[(\w+)\]", line)
    if m:
        section, commented = m.group(2), m.group(1) is not None
    m = re.match(r"; (\w+) = ?(.*)" if commented else r"(\w+) = ?(.*)",
                 line)
    if m:
        ex.setdefault(section, {})[m.group(1)] = m.group(2).strip()

# README.md's Configuration section: section -> {key: default cell}
conf = re.search(r"^## Configuration\n(.*?)(?=^## )", readme, re.M | re.S)
rd, section = {}, None
for line in (conf.group(1) if conf else "").splitlines():
    m = re.match(r"`\[(\w+)\]`", line)
    if m:
        section = m.group(1)
    m = re.match(r"\| `(\w+)` \| (.*?) \|", line)
    if m and section:
        rd.setdefault(section, {})[m.group(1)] = m.group(2).strip()
if not conf:
    fail("README.md: no Configuration section")

sections = {m.group(1): m.end()
            for m in re.finditer(r'^\.SH "\[(\w+)\]"$', page, re.M)}
def page_entry(section, key):
    start = sections.get(section)
    if start is None:
        return None
    end = page.find("\n.SH ", start)
    body = page[start:end]
    m = re.search(r'^\.BI %s " = "[^\n]*\n(.*?)(?=^\.TP$|\Z)' % key, body,
                  re.M | re.S)
    if not m:
        return None
    return " ".join(re.sub(r"^\.B[RI]? ", "", l).replace('"', "")
                    for l in m.group(1).splitlines()).replace("\\-", "-")

for section, key, value in keys:
    where = "[%s] %s" % (section, key)
    text = page_entry(section, key)
    if text is None:
        fail("ftrack-syncd.conf(5): %s: not documented" % where)
    elif key not in no_default:
        want = (r"Default: (unset|none)" if value == "" else
                r"Default: %s\s*\." % re.escape(value))
        if not re.search(want, text):
            fail("ftrack-syncd.conf(5): %s: default %r not in: %s"
                 % (where, value, text))
    got = ex.get(section, {}).get(key)
    if got is None:
        fail("etc/ftrack-syncd.conf: %s: no `%s = ` line" % (where, key))
    elif key not in no_default and got != value:
        fail("etc/ftrack-syncd.conf: %s = %r, the binary's default is %r"
             % (where, got, value))
    cell = rd.get(section, {}).get(key)
    if cell is None:
        fail("README.md Configuration: %s: no | `%s` | row under `[%s]`"
             % (where, key, section))
    elif key not in no_default:
        want = "(none)" if value == "" else "`%s`" % value
        if cell != want:
            fail("README.md Configuration: %s: default %s, the binary's is %s"
                 % (where, cell, want))

for section, body in ex.items():
    for key in body:
        if (section, key) not in known:
            fail("etc/ftrack-syncd.conf: [%s] %s: not a key of the binary"
                 % (section, key))
for m in re.finditer(r'^\.BI (\w+) " = "', page, re.M):
    if m.group(1) not in {k for _, k, _ in keys}:
        fail("ftrack-syncd.conf(5): %s: not a key of the binary" % m.group(1))

# the guards, from the code
src = read("syncd/plan_recon.c")
m = re.search(r"guard_names\[[A-Z_]*\]\s*=\s*\{(.*?)\};", src, re.S)
guards = re.findall(r'"(\w+)"', m.group(1)) if m else []
if len(guards) < 3:
    fail("syncd/plan_recon.c: no guard_names found")
for g in guards:
    for name, text in (("README.md", readme), ("ftrack-syncd(8)", syncd_page)):
        if not re.search(r"\b%s\b" % g, text):
            fail("%s: guard %s not named" % (name, g))

# no DESIGN.md where a user reads
for rel in ("README.md", "etc/ftrack-syncd.conf", "etc/man/ftrack-syncd.8",
            "etc/man/ftrack-syncd.conf.5", "etc/man/pam_ftrack.8", help_path):
    if "DESIGN" in read(rel):
        fail("%s: refers to DESIGN.md" % rel.replace(root + "/", ""))
sys.exit(1 if bad else 0)
PY
}

# Every command, option, signal, exit code and variable of the daemon.
t_syncd_page() {
	local page=$ROOT/etc/man/ftrack-syncd.8 help x rc=0
	help=$("$ROOT/$B/syncd/ftrack-syncd" --help) || return 1
	for x in $(printf '%s\n' "$help" | grep -o '^  [a-z]*  ' | tr -d ' '); do
		grep -q "^\.BI\? $x\b" "$page" || { echo "command $x" && rc=1; }
	done
	for x in $(printf '%s\n' "$help" | grep -oE -- '(^|[[ ])--?[a-z]+' |
		tr -d '[ ' | sort -u); do
		grep -qF -- "${x//-/\\-}" "$page" || { echo "option $x" && rc=1; }
	done
	for x in 0 1 2 3 4; do
		sed -n '/^\.SH EXIT STATUS/,/^\.SH /p' "$page" | grep -q "^\.B $x$" ||
			{ echo "exit code $x" && rc=1; }
	done
	for x in SIGHUP SIGUSR1 SIGTERM FTRACK_SYNCD_CONFIG FTRACK_SERVER \
		FTRACK_API_USER FTRACK_API_KEY; do
		grep -q "$x" "$page" || { echo "$x" && rc=1; }
	done
	return $rc
}

# Every argument pft_args.c accepts is in pam_ftrack(8).
t_pam_page() {
	local page=$ROOT/etc/man/pam_ftrack.8 x args rc=0
	args=$(grep -oE '"[a-z_]+=?"' "$ROOT/pam_ftrack/pft_args.c" | tr -d '"' |
		grep -vE '^(root|ftrack-syncd)$' | sort -u)
	[[ -n "$args" ]] || { echo "no argument found in pft_args.c" && return 1; }
	for x in $args; do
		grep -qE "^\.BI? $x( |$)" "$page" || { echo "argument $x" && rc=1; }
	done
	return $rc
}

t_pam_profile() {
	local f=$ROOT/etc/pam-configs/ftrack
	grep -qx 'Default: no' "$f" &&
		grep -qx 'Session-Type: Additional' "$f" &&
		grep -qx 'Session-Interactive-Only: yes' "$f" &&
		grep -qx 'Session:' "$f" &&
		grep -qP '^\toptional\tpam_ftrack\.so$' "$f" &&
		grep -q '^Name: .' "$f" &&
		! grep -qE '^(Auth|Account|Password)' "$f"
}

# The example configs of a relay and a provisioner load, with their files
# (secrets, keys) made in $W: check --dump reads and checks them all.
t_examples() {
	local d=$W/examples f k rc=0
	mkdir -p "$d" || return 1
	for k in ldap.secret ftrack.secret provisioner.key host.key; do
		printf 'x\n' >"$d/$k" && chmod 0600 "$d/$k" || return 1
	done
	for f in relay provisioner; do
		sed "s|/etc/ftrack-syncd/|$d/|g" "$ROOT/etc/ftrack-syncd-$f.conf" >"$d/$f.conf" &&
			"$ROOT/$B/syncd/ftrack-syncd" -c "$d/$f.conf" check --dump >"$d/$f.out" 2>&1 &&
			grep -qx "daemon.mode = $f" "$d/$f.out" || {
			echo "etc/ftrack-syncd-$f.conf:" && cat "$d/$f.out" && rc=1
		}
	done
	return $rc
}

mode_install() {
	echo "install: make install/uninstall, units, man pages (build: $B)"
	[[ -x "$ROOT/$B/syncd/ftrack-syncd" && -e "$ROOT/$B/pam_ftrack/pam_ftrack.so" ]] || {
		fail "the build is missing: run 'make all' first"
		return
	}
	check "the PAM module folder $PAMDIR holds the platform's modules" t_pam_dir
	check "make install DESTDIR: every file, mode and place" t_install_layout
	check "installed units start \$SBINDIR/ftrack-syncd" t_units_execstart
	check "make install keeps a changed /etc/ftrack-syncd.conf" t_config_kept
	check "make uninstall removes everything but a changed config" t_uninstall
	check "PREFIX=/usr/local: sbin, units and tmpfiles under it; PAM folder kept" t_prefix
	if have systemd-tmpfiles; then
		check "tmpfiles.d makes the state folders with owner and modes" t_tmpfiles
	else
		skip "tmpfiles.d (no systemd-tmpfiles; make deps installs systemd)"
	fi
	if have systemd-analyze; then
		if check "units staged" stage_units; then
			check "systemd-analyze verify: the units, clean" t_verify
			check "systemd-analyze verify notices a missing program" t_verify_fails
			check "both services set MemoryMax= and TasksMax=, as README.md and ftrack-syncd(8) say" t_limits
			check "ftrack-syncd.service exposure <= $SECURITY_MAX" \
				t_security ftrack-syncd.service "$SECURITY_MAX"
			check "ftrack-syncd-reconcile.service exposure <= $SECURITY_MAX" \
				t_security ftrack-syncd-reconcile.service "$SECURITY_MAX"
			check "ftrack-syncd-transform@.service exposure <= $SECURITY_MAX" \
				t_security ftrack-syncd-transform@.service "$SECURITY_MAX"
			check "ftrack-syncd-hook@.service exposure <= $SECURITY_MAX" \
				t_security ftrack-syncd-hook@.service "$SECURITY_MAX"
			check "a bare unit scores above $SECURITY_MAX" t_security_fails
			[[ ! -s "$W/scores" ]] || sed 's/^/        /' "$W/scores"
		fi
	else
		skip "systemd-analyze (no systemd; make deps installs it)"
	fi
	if have mandoc; then
		check "mandoc -T lint -W all: the man pages, clean" t_mandoc
	else
		skip "mandoc -T lint (no mandoc; make deps installs it)"
	fi
	if have man; then
		check "man --warnings: the man pages, clean" t_man_warnings
	else
		skip "man --warnings (no man-db)"
	fi
	check "README.md, ftrack-syncd.conf(5), the annotated config: every key of the binary with its default; README.md and ftrack-syncd(8): every guard; no DESIGN.md" t_conf_keys
	check "ftrack-syncd(8): every command, option, signal, exit code, variable" t_syncd_page
	check "pam_ftrack(8): every module argument" t_pam_page
	check "pam-auth-update profile: off by default, session optional" t_pam_profile
	check "the relay and provisioner example configs load (every key known, the mode's rules)" t_examples
}

# ---- the Debian package ------------------------------------------------------------

DEB="" CHANGES=""

t_deb_contents() {
	local got want
	got=$(dpkg-deb -c "$DEB" | awk '$1 !~ /^d/ { print substr($1, 2, 9), $6 }' | sort -k2)
	want="rw-r--r-- ./etc/ftrack-syncd.conf
rw-r--r-- .${PAMDIR}/pam_ftrack.so
rw-r--r-- .${UNITDIR}/ftrack-syncd-reconcile.service
rw-r--r-- .${UNITDIR}/ftrack-syncd-reconcile.timer
rw-r--r-- .${UNITDIR}/ftrack-syncd.service
rw-r--r-- .${UNITDIR}/ftrack-syncd-transform.socket
rw-r--r-- .${UNITDIR}/ftrack-syncd-transform@.service
rw-r--r-- .${UNITDIR}/ftrack-syncd-hook.socket
rw-r--r-- .${UNITDIR}/ftrack-syncd-hook@.service
rw-r--r-- .${TMPFILESDIR}/ftrack-syncd.conf
rwxr-xr-x ./usr/libexec/ftrack-syncd/ftrack-syncd-ext-adapter
rwxr-xr-x ./usr/sbin/ftrack-syncd
rw-r--r-- ./usr/share/doc/ftrack-ldap-sync/examples/transform-example.py
rw-r--r-- ./usr/share/doc/ftrack-ldap-sync/examples/on-change-log.sh
rw-r--r-- ./usr/share/doc/ftrack-ldap-sync/examples/on-change-webhook.sh
rw-r--r-- ./usr/share/doc/ftrack-ldap-sync/changelog.gz
rw-r--r-- ./usr/share/doc/ftrack-ldap-sync/copyright
rw-r--r-- ./usr/share/doc/ftrack-ldap-sync/examples/ftrack-syncd.conf
rw-r--r-- ./usr/share/doc/ftrack-ldap-sync/examples/ftrack-syncd-relay.conf
rw-r--r-- ./usr/share/doc/ftrack-ldap-sync/examples/ftrack-syncd-provisioner.conf
rw-r--r-- ./usr/share/doc/ftrack-ldap-sync/examples/pam.d/ftrack
rw-r--r-- ./usr/share/lintian/overrides/ftrack-ldap-sync
rw-r--r-- ./usr/share/man/man5/ftrack-syncd.conf.5.gz
rw-r--r-- ./usr/share/man/man8/ftrack-syncd.8.gz
rw-r--r-- ./usr/share/man/man8/pam_ftrack.8.gz
rw-r--r-- ./usr/share/pam-configs/ftrack"
	want=$(printf '%s\n' "$want" | sort -k2)
	[[ "$got" == "$want" ]] || {
		printf 'expected:\n%s\ngot:\n%s\n' "$want" "$got"
		return 1
	}
	[[ "$(dpkg-deb --ctrl-tarfile "$DEB" | tar -xOf - ./conffiles)" == /etc/ftrack-syncd.conf ]] ||
		{ echo "conffiles is not just /etc/ftrack-syncd.conf" && return 1; }
	dpkg-deb -f "$DEB" Depends | grep -q 'adduser' &&
		dpkg-deb -f "$DEB" Depends | grep -q 'libpam-runtime'
}

t_lintian() {
	local out rc=0
	# lintian says so when run as root; that line is not a finding
	out=$(lintian --fail-on error,warning -I -E --pedantic "$CHANGES" 2>&1) || rc=$?
	out=$(printf '%s\n' "$out" | grep -v 'running with root privileges')
	[[ -z "$out" ]] || printf '%s\n' "$out" >"$W/lintian.txt"
	[[ $rc == 0 ]] && ! printf '%s\n' "$out" | grep -q '^[EW]: ' || {
		printf '%s\n' "$out"
		return 1
	}
}

# The test PKI (a CA, the server's and hosts' certificates) for the boot
# phase's provisioner and relay.
make_pki() {
	mkdir -p "$W/pki" && bash "$ROOT/tests/lib/ca.sh" "$W/pki" >"$W/pki.log" 2>&1 ||
		{ cat "$W/pki.log" && return 1; }
}

# An upgrade: the same package as version X+check1.
repack() {
	local x=$W/repack v
	v=$(dpkg-deb -f "$DEB" Version)
	dpkg-deb -R "$DEB" "$x" &&
		sed -i "s/^Version: .*/Version: $v+check1/" "$x/DEBIAN/control" &&
		dpkg-deb -b "$x" "$W/upgrade.deb" >/dev/null
}

mode_deb() {
	local out=${1:-$ROOT/$B/deb}
	echo "install: the Debian package in $out"
	DEB=$(ls "$out"/ftrack-ldap-sync_*.deb 2>/dev/null | head -n 1)
	CHANGES=$(ls "$out"/ftrack-ldap-sync_*.changes 2>/dev/null | head -n 1)
	[[ -n "$DEB" ]] || {
		fail "no package in $out: run 'make deb' first"
		return
	}
	check "package contents, modes and conffiles; Depends adduser, libpam-runtime" t_deb_contents
	if have lintian; then
		check "lintian: no error or warning (see the remaining tags below)" t_lintian
		[[ ! -s "$W/lintian.txt" ]] || sed 's/^/        /' "$W/lintian.txt"
	else
		skip "lintian (make deps installs it)"
	fi
	if [[ "$(id -u)" != 0 ]]; then
		skip "installing the package into a throwaway root needs root"
		return
	fi
	for x in unshare chroot pamtester slapd ldapsearch setpriv runuser; do
		have "$x" || {
			skip "installing the package: no $x (make deps)"
			return
		}
	done
	check "test servers started (slapd, ftrack emulator)" start_servers || return
	check "upgrade package built (version +check1)" repack || return
	check "a throwaway PKI for the relay and provisioner modes (tests/lib/ca.sh)" make_pki || return
	cp "$DEB" "$W/pkg.deb"
	inner_script "$ROOT/tests/integration/check_install.sh" "$W/inner.sh"
	# one tally line per phase (chroot, setup, boot)
	in_namespaces 3 "$ROOT/tests/integration/check_install.sh" "$W" \
		"$LDAP_PORT" "$EMU_URL" "$API_KEY"
}

# In the private mount namespace: a throwaway root (overlay_root); the
# test's files go to /opt/ftrack-check in it.
make_root() {
	local w=$1 ov=$2
	overlay_root "$ov" &&
		mkdir -p "$ov/root/opt/ftrack-check" &&
		cp "$w/pkg.deb" "$w/upgrade.deb" "$w/inner.sh" "$ov/root/opt/ftrack-check/" &&
		cp -r "$w/pki" "$ov/root/opt/ftrack-check/pki"
}

# inner ROOT PHASE ARGS...: the inner part in ROOT (in_root).
inner() {
	local r=$1
	shift
	in_root "$r" /bin/bash /opt/ftrack-check/inner.sh "$@"
}

# Three phases: the package used in a chroot (then upgraded and purged);
# then, in a second throwaway root, installed and enabled (setup) and the
# root booted with systemd-nspawn, where the probe unit runs the boot phase
# against the real service and its sandbox.
enter_root() {
	local w=$1 rc=0
	shift
	make_root "$w" "$w/ov1" && inner "$w/ov1/root" chroot "$@" || {
		echo "unable to make the throwaway root (overlay of /)"
		echo "root: 0 passed, 1 failed, 0 skipped"
	}
	if ! command -v systemd-nspawn >/dev/null; then
		echo "  skip  the service under systemd (no systemd-nspawn; make deps installs systemd-container)"
		echo "root: 0 passed, 0 failed, 1 skipped"
		echo "root: 0 passed, 0 failed, 0 skipped"
		exit 0
	fi
	make_root "$w" "$w/ov2" && inner "$w/ov2/root" setup "$@" || {
		echo "root: 0 passed, 1 failed, 0 skipped"
		echo "root: 0 passed, 0 failed, 0 skipped"
		exit 0
	}
	mkdir -p "$w/out"
	timeout 240 systemd-nspawn --quiet --register=no --keep-unit \
		--directory="$w/ov2/root" --boot --bind="$w/out:/out" \
		</dev/null >"$w/boot.log" 2>&1 || rc=$?
	if grep -q '^root: ' "$w/out/result" 2>/dev/null; then
		cat "$w/out/result"
	else
		echo "  FAIL  the booted root did not report (systemd-nspawn exit $rc); its console:"
		tail -n 40 "$w/boot.log" | sed 's/^/        /'
		echo "root: 0 passed, 1 failed, 0 skipped"
	fi
	exit 0
}

if [[ "$MODE" == __root ]]; then
	trap - EXIT
	enter_root "$2" "$3" "$4" "$5"
fi

case "$MODE" in
install | deb)
	W=$(mktemp -d "${TMPDIR:-/tmp}/ftrack-install.XXXXXX")
	if [[ "$MODE" == install ]]; then mode_install; else mode_deb "${2:-}"; fi
	;;
*)
	echo "usage: $0 install | deb [DEB_DIR]" >&2
	exit 2
	;;
esac
echo "install: $PASSED passed, $FAILED failed, $SKIPPED skipped"
[[ $FAILED == 0 ]]
exit

# ---- inside the throwaway root ----
# Runs as /opt/ftrack-check/inner.sh PHASE LDAP_PORT EMU_URL API_KEY in a
# throwaway root; prints one line per check and
# "root: N passed, N failed, N skipped".
#   chroot  dpkg -i, the account, folders, check, PAM, the daemon by hand,
#           upgrade, remove, purge
#   setup   dpkg -i, configure, enable the service and the probe unit
#   boot    (the probe unit, in the booted root) the service under systemd
set -uo pipefail
PHASE=$1 LDAP_PORT=$2 EMU_URL=$3 API_KEY=$4
PKG=/opt/ftrack-check
PASSED=0 FAILED=0 DAEMON_PID=0
SYNCD=/usr/sbin/ftrack-syncd
as_daemon() { runuser -u ftrack-syncd -- "$@"; }

finish() {
	stop_daemon >/dev/null 2>&1
	echo "root: $PASSED passed, $FAILED failed, 0 skipped"
	exit 0
}
trap finish EXIT

# ftrack_has USER: the emulator has USER, active
ftrack_has() {
	python3 - "$EMU_URL" "$1" <<'PY'
import json, sys, urllib.request
with urllib.request.urlopen(sys.argv[1] + "/_emulator/users", timeout=5) as r:
    users = json.load(r)
sys.exit(0 if any(u["username"] == sys.argv[2] and u.get("is_active")
                  for u in users) else 1)
PY
}

# the owner, group and mode of a path, e.g. "ftrack-syncd ftrack-syncd 700"
own() { stat -c '%U %G %a' "$1"; }

t_install() {
	dpkg -i $PKG/pkg.deb >/tmp/dpkg-i.log 2>&1 || {
		cat /tmp/dpkg-i.log
		return 1
	}
}

t_account() {
	local uid home shell
	IFS=: read -r _ _ uid _ _ home shell < <(getent passwd ftrack-syncd) || return 1
	getent group ftrack-syncd >/dev/null || { echo "no group" && return 1; }
	((uid < 1000)) || { echo "uid $uid is not a system uid" && return 1; }
	[[ "$home" == /var/lib/ftrack-syncd ]] || { echo "home $home" && return 1; }
	[[ "$shell" == */nologin || "$shell" == /bin/false ]] || { echo "shell $shell" && return 1; }
	# the transform and hook programs' own account
	IFS=: read -r _ _ uid _ _ home shell < <(getent passwd ftrack-syncd-ext) ||
		{ echo "no ftrack-syncd-ext" && return 1; }
	((uid < 1000)) || { echo "ftrack-syncd-ext: uid $uid" && return 1; }
	[[ "$shell" == */nologin || "$shell" == /bin/false ]] ||
		{ echo "ftrack-syncd-ext: shell $shell" && return 1; }
}

t_folders() {
	local p want got rc=0
	while read -r p want; do
		got=$(own "$p" 2>&1)
		[[ "$got" == "$want" ]] || { echo "$p: $got, not $want" && rc=1; }
	done <<'EOF'
/var/lib/ftrack-syncd ftrack-syncd ftrack-syncd 755
/var/lib/ftrack-syncd/queue ftrack-syncd ftrack-syncd 700
/var/lib/ftrack-syncd/queue/failed ftrack-syncd ftrack-syncd 700
/var/lib/ftrack-syncd/reports ftrack-syncd ftrack-syncd 700
/etc/ftrack-syncd root ftrack-syncd 750
/etc/ftrack-syncd-ext root root 755
/etc/ftrack-syncd.conf root root 644
/usr/sbin/ftrack-syncd root root 755
EOF
	return $rc
}

t_pam_off() {
	[[ -e /usr/share/pam-configs/ftrack ]] &&
		! grep -n pam_ftrack /etc/pam.d/common-*
}

t_units_disabled() {
	local u s rc=0
	for u in ftrack-syncd.service ftrack-syncd-reconcile.timer; do
		s=$(systemctl is-enabled "$u" 2>&1)
		[[ "$s" == disabled ]] || { echo "$u: $s" && rc=1; }
	done
	return $rc
}

t_conffile() {
	dpkg-query -W -f='${Conffiles}\n' ftrack-ldap-sync | grep -q '^ /etc/ftrack-syncd.conf '
}

# configure [LOG_TARGET]: the test servers, secrets owned by ftrack-syncd
configure() {
	cat >/etc/ftrack-syncd.conf <<EOF
; written by tests/integration/check_install.sh
[ldap]
uri = ldap://127.0.0.1:$LDAP_PORT
bind_dn = cn=ftrack-sync,ou=services,dc=example,dc=com
bind_password_file = /etc/ftrack-syncd/ldap.secret
search_base = ou=people,dc=example,dc=com
disabled_filter = (employeeType=disabled)
timeout = 5
; the test slapd: plain LDAP on a high port
insecure_ldap = yes

[ftrack]
server = $EMU_URL
api_user = ftrack-sync
api_key_file = /etc/ftrack-syncd/ftrack.secret
timeout = 10
; the emulator: http:// on 127.0.0.1
insecure_http = yes

[policy]
reconcile_interval = 0
login_cooldown = 0

[daemon]
log_level = debug
log_target = ${1:-stderr}
EOF
	printf '%s\n' sync-secret >/etc/ftrack-syncd/ldap.secret
	printf '%s\n' "$API_KEY" >/etc/ftrack-syncd/ftrack.secret
	chown ftrack-syncd /etc/ftrack-syncd/ldap.secret /etc/ftrack-syncd/ftrack.secret
	chmod 0600 /etc/ftrack-syncd/ldap.secret /etc/ftrack-syncd/ftrack.secret
	cp /etc/ftrack-syncd.conf $PKG/conf.mine
}

t_check() {
	as_daemon "$SYNCD" check >/tmp/check.out 2>&1 || {
		cat /tmp/check.out
		return 1
	}
	grep -q '^ldap: *ok' /tmp/check.out && grep -q '^ftrack: *ok' /tmp/check.out &&
		grep -q '^warning: \[ftrack\] insecure_http = yes: ' /tmp/check.out &&
		grep -q '^warning: \[ldap\] insecure_ldap = yes: ' /tmp/check.out
}

# As documented: a root-owned secret is unreadable to the daemon: exit 2.
t_root_secret_refused() {
	local rc=0
	chown root /etc/ftrack-syncd/ftrack.secret
	as_daemon "$SYNCD" check >/tmp/check2.out 2>&1 || rc=$?
	chown ftrack-syncd /etc/ftrack-syncd/ftrack.secret
	[[ $rc == 2 ]] || { echo "exit $rc, not 2" && cat /tmp/check2.out && return 1; }
}

# Root runs the admin commands too: the daemon's secrets are accepted (they
# belong to the owner of the state folder) and the command becomes that
# account before writing, so the report it leaves is the daemon's.
t_root_admin() {
	local rc=0
	"$SYNCD" check >/tmp/check3.out 2>&1 || rc=$?
	[[ $rc == 0 ]] || { echo "check as root: exit $rc" && cat /tmp/check3.out && return 1; }
	rc=0
	"$SYNCD" reconcile >/tmp/check4.out 2>&1 || rc=$?
	[[ $rc == 0 || $rc == 4 ]] || { echo "reconcile as root: exit $rc" && cat /tmp/check4.out && return 1; }
	[[ $(stat -c %U /var/lib/ftrack-syncd/reports/last-dry-run.json) == ftrack-syncd ]] ||
		{ echo "the report is not the daemon's" && return 1; }
}

t_pam_enable() {
	pam-auth-update --enable ftrack >/tmp/pam-auth-update.log 2>&1 || {
		cat /tmp/pam-auth-update.log
		return 1
	}
	grep -qE '^session[[:space:]]+optional[[:space:]]+pam_ftrack\.so[[:space:]]*$' \
		/etc/pam.d/common-session &&
		! grep -q pam_ftrack /etc/pam.d/common-session-noninteractive || {
		grep -n 'pam_' /etc/pam.d/common-session*
		return 1
	}
}

start_daemon() {
	# what RuntimeDirectory= makes for the service
	install -d -m 0755 -o ftrack-syncd -g ftrack-syncd /run/ftrack-syncd
	setpriv --reuid=ftrack-syncd --regid=ftrack-syncd --init-groups -- \
		"$SYNCD" run >>/tmp/syncd.log 2>&1 &
	DAEMON_PID=$!
	wait_for 10 test -S /run/ftrack-syncd/notify.sock || {
		echo "the daemon did not listen:"
		tail -n 20 /tmp/syncd.log
		return 1
	}
}

stop_daemon() {
	local i
	[[ $DAEMON_PID != 0 ]] || return 0
	kill -TERM "$DAEMON_PID" 2>/dev/null
	for ((i = 0; i < 100; i++)); do
		kill -0 "$DAEMON_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$DAEMON_PID" 2>/dev/null
	wait "$DAEMON_PID" 2>/dev/null
	DAEMON_PID=0
	[[ ! -e /run/ftrack-syncd/notify.sock ]]
}

# login USER: a login through the installed common-session stack
login() {
	pamtester ftrack-check "$1" open_session close_session
}

t_login() {
	login alice || return 1
	wait_for 15 ftrack_has alice || {
		echo "alice not in ftrack; the daemon's log:"
		tail -n 20 /tmp/syncd.log
		return 1
	}
}

t_status() {
	as_daemon "$SYNCD" status >/tmp/status.out 2>&1 &&
		grep -q 'listening on /run/ftrack-syncd/notify.sock' /tmp/status.out ||
		{ cat /tmp/status.out && return 1; }
}

t_spooled() {
	local f=/var/lib/ftrack-syncd/queue/626f62 # hex of "bob"
	stop_daemon || { echo "the socket stayed" && return 1; }
	login bob || return 1
	[[ -f "$f" && "$(own "$f")" == "ftrack-syncd ftrack-syncd 600" ]] || {
		ls -la /var/lib/ftrack-syncd/queue
		return 1
	}
	ftrack_has bob && { echo "bob provisioned with the daemon down?" && return 1; }
	start_daemon || return 1
	wait_for 15 ftrack_has bob || { tail -n 20 /tmp/syncd.log && return 1; }
	wait_for 5 test ! -e "$f"
}

t_reconcile() {
	local rc=0 r=/var/lib/ftrack-syncd/reports/last-dry-run.json
	as_daemon "$SYNCD" reconcile >/tmp/reconcile.out 2>&1 || rc=$?
	[[ $rc == 0 || $rc == 4 ]] || { echo "exit $rc" && cat /tmp/reconcile.out && return 1; }
	[[ "$(own "$r")" == "ftrack-syncd ftrack-syncd 600" ]] || { ls -la "$r" && return 1; }
}

t_upgrade() {
	local uid
	uid=$(id -u ftrack-syncd)
	dpkg -i $PKG/upgrade.deb >/tmp/dpkg-u.log 2>&1 || { cat /tmp/dpkg-u.log && return 1; }
	dpkg-query -W -f='${Version}' ftrack-ldap-sync | grep -q '+check1$' &&
		cmp $PKG/conf.mine /etc/ftrack-syncd.conf &&
		[[ "$(id -u ftrack-syncd)" == "$uid" ]] &&
		grep -q pam_ftrack /etc/pam.d/common-session &&
		[[ -s /etc/ftrack-syncd/ftrack.secret ]] &&
		[[ -e /var/lib/ftrack-syncd/reports/last-dry-run.json ]]
}

t_remove() {
	local pamdir
	pamdir=$(dpkg -L ftrack-ldap-sync | grep '/pam_ftrack\.so$')
	dpkg -r ftrack-ldap-sync >/tmp/dpkg-r.log 2>&1 || { cat /tmp/dpkg-r.log && return 1; }
	! grep -n pam_ftrack /etc/pam.d/common-* &&
		[[ ! -e /usr/sbin/ftrack-syncd && ! -e "$pamdir" ]] &&
		cmp $PKG/conf.mine /etc/ftrack-syncd.conf &&
		login carol # the stack works without the module
}

t_purge() {
	dpkg -P ftrack-ldap-sync >/tmp/dpkg-p.log 2>&1 || { cat /tmp/dpkg-p.log && return 1; }
	[[ ! -e /etc/ftrack-syncd.conf && ! -e /var/lib/ftrack-syncd ]] &&
		[[ -s /etc/ftrack-syncd/ftrack.secret ]] && # the administrator's
		! dpkg-query -W -f='${Status}' ftrack-ldap-sync 2>/dev/null | grep -q installed
}

# users who log in, and a PAM service that is the common-session stack
login_setup() {
	local u
	for u in alice bob carol; do
		useradd --no-create-home --shell /usr/sbin/nologin "$u" || return 1
	done
	printf '%s\n' 'auth required pam_permit.so' 'account required pam_permit.so' \
		'@include common-session' >/etc/pam.d/ftrack-check
}

phase_chroot() {
	echo "root: the package in a throwaway root (chroot)"
	check "dpkg -i" t_install || exit
	check "system account ftrack-syncd (uid < 1000, nologin, home in /var/lib)" t_account
	check "folders and modes (tmpfiles.d, postinst)" t_folders
	check "PAM profile installed but not enabled" t_pam_off
	check "units installed disabled" t_units_disabled
	check "/etc/ftrack-syncd.conf is a conffile" t_conffile
	configure
	check "ftrack-syncd check as ftrack-syncd against slapd and the emulator" t_check
	check "a root-owned secret is refused (exit 2), as documented" t_root_secret_refused
	check "root runs check and reconcile as the daemon's account" t_root_admin
	check "pam-auth-update --enable ftrack: common-session only" t_pam_enable
	check "test logins set up" login_setup
	if check "the daemon starts as ftrack-syncd" start_daemon; then
		check "a login through the PAM stack: alice appears in ftrack" t_login
		check "ftrack-syncd status as ftrack-syncd: listening" t_status
		check "daemon down: bob's login spooled (owner ftrack-syncd), then provisioned" t_spooled
		check "ftrack-syncd reconcile (dry run) as ftrack-syncd: report written" t_reconcile
		check "the daemon stops on SIGTERM and removes its socket" stop_daemon
	fi
	check "upgrade: config, account, PAM line, secrets and state kept" t_upgrade
	check "dpkg -r: PAM line and files gone, config kept, logins work" t_remove
	check "dpkg -P: config and state gone, the secrets' folder kept" t_purge
}

# ---- setup and boot: the service under systemd ----

t_enable() {
	systemctl enable ftrack-syncd.service >/tmp/enable.log 2>&1 || {
		cat /tmp/enable.log
		return 1
	}
	cat >/etc/systemd/system/ftrack-check.service <<UNIT
[Unit]
Description=tests/integration/check_install.sh: the service under systemd
After=ftrack-syncd.service multi-user.target

[Service]
Type=oneshot
ExecStart=/bin/bash $PKG/inner.sh boot $LDAP_PORT $EMU_URL $API_KEY
StandardOutput=file:/out/result
TimeoutStartSec=200
ExecStopPost=/bin/systemctl --no-block poweroff

[Install]
WantedBy=multi-user.target
UNIT
	systemctl enable ftrack-check.service >>/tmp/enable.log 2>&1 || {
		cat /tmp/enable.log
		return 1
	}
}

# The transform program, socket-activated: it says in alice's last name
# which account ran it and whether it could read the daemon's secrets.
t_transform_setup() {
	cat >/etc/ftrack-syncd-ext/transform <<'PY'
#!/usr/bin/python3
import json, os, pwd, sys
me = pwd.getpwuid(os.getuid()).pw_name
try:
    open('/etc/ftrack-syncd/ldap.secret').read()
    secret = 'secrets-readable'
except OSError:
    secret = 'secrets-unreadable'
for line in sys.stdin:
    r = json.loads(line)
    print(json.dumps({'id': r['id'], 'login': r['login'],
                      'user': {'last_name': me + ' ' + secret}}), flush=True)
PY
	chmod 0755 /etc/ftrack-syncd-ext/transform &&
		printf '[mapping]\ntransform = /etc/ftrack-syncd-ext/transform\n' \
			>>/etc/ftrack-syncd.conf &&
		systemctl enable ftrack-syncd-transform.socket >/tmp/enable-t.log 2>&1 || {
		cat /tmp/enable-t.log
		return 1
	}
}

# The on_change hook, socket-activated: it writes each change it is given
# to the one folder it may write, after the account that ran it and whether
# it could read the daemon's secrets.
t_hook_setup() {
	cat >/etc/ftrack-syncd-ext/on-change <<'SH'
#!/bin/sh
me=$(id -un)
if cat /etc/ftrack-syncd/ldap.secret >/dev/null 2>&1; then
	secret=secrets-readable
else
	secret=secrets-unreadable
fi
while IFS= read -r line; do
	printf '%s %s %s\n' "$me" "$secret" "$line"
done >>/var/log/ftrack-syncd-ext/boot-check.log
SH
	chmod 0755 /etc/ftrack-syncd-ext/on-change &&
		printf '[hooks]\non_change = /etc/ftrack-syncd-ext/on-change\n' \
			>>/etc/ftrack-syncd.conf &&
		systemctl enable ftrack-syncd-hook.socket >/tmp/enable-h.log 2>&1 || {
		cat /tmp/enable-h.log
		return 1
	}
}

phase_setup() {
	echo "root: a second throwaway root, booted with systemd-nspawn"
	check "dpkg -i" t_install || exit
	configure syslog
	check "a transform in /etc/ftrack-syncd-ext, ftrack-syncd-transform.socket enabled" t_transform_setup
	check "an on_change hook in /etc/ftrack-syncd-ext, ftrack-syncd-hook.socket enabled" t_hook_setup
	check "pam-auth-update --enable ftrack" t_pam_enable
	check "test logins set up" login_setup
	check "systemctl enable ftrack-syncd (and the probe unit)" t_enable
}

main_pid() { systemctl show -p MainPID --value ftrack-syncd.service; }
unit_prop() { systemctl show -p "$2" --value "$1"; }
journal() { journalctl -q -u ftrack-syncd.service --no-pager; }
journal_has() { journal | grep -- "$1" >/dev/null; } # reads it all: no SIGPIPE under pipefail

t_active() {
	wait_for 20 test -S /run/ftrack-syncd/notify.sock &&
		systemctl is-active --quiet ftrack-syncd.service || {
		systemctl status --no-pager ftrack-syncd.service
		return 1
	}
}

# the process: the account, no capability, no new privileges, seccomp on
t_sandboxed() {
	local pid uid st rc=0
	pid=$(main_pid)
	uid=$(id -u ftrack-syncd)
	st=/proc/$pid/status
	grep -qP "^Uid:\t$uid\t$uid\t$uid\t$uid$" "$st" || { grep ^Uid "$st" && rc=1; }
	grep -qP '^CapEff:\t0+$' "$st" || { grep ^CapEff "$st" && rc=1; }
	grep -qP '^CapBnd:\t0+$' "$st" || { grep ^CapBnd "$st" && rc=1; }
	grep -qP '^NoNewPrivs:\t1$' "$st" || { grep ^NoNewPrivs "$st" && rc=1; }
	grep -qP '^Seccomp:\t2$' "$st" || { grep ^Seccomp "$st" && rc=1; }
	[[ "$(own /run/ftrack-syncd)" == "ftrack-syncd ftrack-syncd 755" ]] ||
		{ own /run/ftrack-syncd && rc=1; }
	[[ "$(stat -c %a /run/ftrack-syncd/notify.sock)" == 666 ]] ||
		{ ls -la /run/ftrack-syncd && rc=1; }
	return $rc
}

t_login_boot() {
	login alice || return 1
	wait_for 15 ftrack_has alice || {
		journal | tail -n 20
		return 1
	}
	journal_has 'listening on' # syslog reaches the journal from the sandbox
}

# ftrack_last USER: the last name of the emulator's USER
ftrack_last() {
	python3 - "$EMU_URL" "$1" <<'PY'
import json, sys, urllib.request
with urllib.request.urlopen(sys.argv[1] + "/_emulator/users", timeout=5) as r:
    users = json.load(r)
print(next((u.get("last_name") or "" for u in users
            if u["username"] == sys.argv[2]), ""))
PY
}

# alice went through the socket-activated transform: run as
# ftrack-syncd-ext, which cannot read the secrets; check says so
t_transform_boot() {
	local last
	last=$(ftrack_last alice)
	[[ "$last" == "ftrack-syncd-ext secrets-unreadable" ]] ||
		{ echo "alice's last name: '$last'" && journal | tail -n 20 && return 1; }
	test -S /run/ftrack-syncd-ext/transform.sock || return 1
	as_daemon "$SYNCD" check >/tmp/check-t.out 2>&1
	grep -q "runs as ftrack-syncd-ext through /run/ftrack-syncd-ext/transform.sock" \
		/tmp/check-t.out || { cat /tmp/check-t.out && return 1; }
}

# alice's login reached the hook through the socket: run as
# ftrack-syncd-ext, which cannot read the secrets; check says so
hook_got_alice() {
	grep '^ftrack-syncd-ext secrets-unreadable {' \
		/var/log/ftrack-syncd-ext/boot-check.log 2>/dev/null |
		grep -q '"username":"alice"'
}

t_hook_boot() {
	wait_for 20 hook_got_alice || {
		cat /var/log/ftrack-syncd-ext/boot-check.log
		journal | tail -n 20
		journalctl -q --no-pager -u 'ftrack-syncd-hook@*' | tail -n 20
		return 1
	}
	test -S /run/ftrack-syncd-ext/on-change.sock || return 1
	[[ "$(stat -c %U /var/log/ftrack-syncd-ext/boot-check.log)" == ftrack-syncd-ext ]] ||
		{ ls -la /var/log/ftrack-syncd-ext && return 1; }
	as_daemon "$SYNCD" check >/tmp/check-h.out 2>&1
	grep -q "^hook:    ok: /etc/ftrack-syncd-ext/on-change, run as ftrack-syncd-ext through /run/ftrack-syncd-ext/on-change.sock" \
		/tmp/check-h.out || { cat /tmp/check-h.out && return 1; }
}

t_reload() {
	local pid
	pid=$(main_pid)
	systemctl reload ftrack-syncd.service &&
		wait_for 10 journal_has 'configuration reloaded' &&
		[[ "$(main_pid)" == "$pid" ]] &&
		systemctl is-active --quiet ftrack-syncd.service
}

# SIGUSR1: the daemon's reconcile child (/proc/self/exe) runs in the sandbox
t_usr1() {
	systemctl kill -s USR1 --kill-whom=main ftrack-syncd.service &&
		wait_for 60 journal_has 'reconcile finished' &&
		journal_has 'reconcile finished (exit 0)' || {
		journal | tail -n 20
		return 1
	}
}

t_reconcile_unit() {
	systemctl start ftrack-syncd-reconcile.service &&
		[[ "$(unit_prop ftrack-syncd-reconcile.service Result)" == success ]] &&
		[[ "$(stat -c %U /var/lib/ftrack-syncd/reports/last-apply.json)" == ftrack-syncd ]] || {
		systemctl status --no-pager ftrack-syncd-reconcile.service
		journalctl -q -u ftrack-syncd-reconcile.service --no-pager | tail -n 20
		return 1
	}
}

t_timer() {
	systemctl start ftrack-syncd-reconcile.timer &&
		systemctl is-active --quiet ftrack-syncd-reconcile.timer &&
		[[ -n "$(unit_prop ftrack-syncd-reconcile.timer NextElapseUSecRealtime)" ]]
}

restarts_are() { [[ "$(unit_prop ftrack-syncd.service NRestarts)" == "$1" ]]; }

t_restart_on_crash() {
	local pid
	pid=$(main_pid)
	kill -KILL "$pid" &&
		wait_for 20 restarts_are 1 &&
		wait_for 10 systemctl is-active --quiet ftrack-syncd.service &&
		[[ "$(main_pid)" != "$pid" ]] &&
		wait_for 10 test -S /run/ftrack-syncd/notify.sock
}

t_stop() {
	systemctl stop ftrack-syncd.service &&
		[[ "$(unit_prop ftrack-syncd.service ActiveState)" == inactive ]] &&
		[[ ! -e /run/ftrack-syncd ]] # RuntimeDirectory= goes
}

# exit 2 (a configuration error): failed, and not restarted
t_config_error() {
	local rc=0
	cp /etc/ftrack-syncd.conf /tmp/conf.good
	echo 'bogus = 1' >>/etc/ftrack-syncd.conf
	systemctl reset-failed ftrack-syncd.service
	systemctl start ftrack-syncd.service
	wait_for 10 systemctl is-failed --quiet ftrack-syncd.service || rc=1
	[[ "$(unit_prop ftrack-syncd.service ExecMainStatus)" == 2 ]] || rc=1
	sleep 7 # RestartSec=5s
	systemctl is-failed --quiet ftrack-syncd.service || rc=1
	restarts_are 0 || rc=1
	cp /tmp/conf.good /etc/ftrack-syncd.conf
	((rc == 0)) || systemctl status --no-pager ftrack-syncd.service
	return $rc
}

# ---- the same unit as a provisioner, then as a relay ----

PKI=$PKG/pki PROV_PORT=0 UP_PORT=0 UP_PID=0

# prov_lines PORT: the [daemon] mode and [provisioner] lines of a provisioner
# on 127.0.0.1:PORT with the test PKI (after configure's [daemon] lines).
prov_lines() {
	cat <<EOF
mode = provisioner
[provisioner]
listen = 127.0.0.1:$1
tls_cert_file = /etc/ftrack-syncd/provisioner.crt
tls_key_file = /etc/ftrack-syncd/provisioner.key
client_ca_file = /etc/ftrack-syncd/hosts-ca.crt
allow_hosts = *.ws.example.com
EOF
}

# health_ok PORT: GET /v1/health answers 200 (no client certificate)
health_ok() {
	[[ "$(curl -s -o /dev/null -w '%{http_code}' --cacert /etc/ftrack-syncd/ca.crt \
		"https://127.0.0.1:$1/v1/health")" == 200 ]]
}

# The server's and host1's files as an administrator installs them: the
# provisioner's key readable by the daemon, the host key by root only
# (it reaches the relay through LoadCredential=).
t_fleet_files() {
	PROV_PORT=$(free_port) && UP_PORT=$(free_port) &&
		install -m 0644 $PKI/server.crt /etc/ftrack-syncd/provisioner.crt &&
		install -m 0600 -o ftrack-syncd $PKI/server.key /etc/ftrack-syncd/provisioner.key &&
		install -m 0644 $PKI/ca.crt /etc/ftrack-syncd/hosts-ca.crt &&
		install -m 0644 $PKI/ca.crt /etc/ftrack-syncd/ca.crt &&
		install -m 0644 $PKI/host1.crt /etc/ftrack-syncd/host.crt &&
		install -m 0600 -o root $PKI/host1.key /etc/ftrack-syncd/host.key
}

t_prov_unit() {
	configure syslog
	prov_lines "$PROV_PORT" >>/etc/ftrack-syncd.conf
	systemctl reset-failed ftrack-syncd.service 2>/dev/null
	systemctl restart ftrack-syncd.service &&
		wait_for 20 health_ok "$PROV_PORT" &&
		systemctl is-active --quiet ftrack-syncd.service || {
		systemctl status --no-pager ftrack-syncd.service
		journal | tail -n 20
		return 1
	}
}

# a relay's POST with host1's certificate: 202, provisioned, logged with it
t_prov_post() {
	local code
	code=$(curl -s -o /tmp/post.out -w '%{http_code}' --cacert /etc/ftrack-syncd/ca.crt \
		--cert $PKI/host1.crt --key $PKI/host1.key -H 'Content-Type: application/json' \
		--data '{"events": [{"user": "carol", "service": "sshd"}]}' \
		"https://127.0.0.1:$PROV_PORT/v1/logins")
	[[ "$code" == 202 ]] && grep -q '"accepted"' /tmp/post.out || {
		echo "HTTP $code: $(cat /tmp/post.out)"
		return 1
	}
	wait_for 15 ftrack_has carol &&
		wait_for 10 journal_has "login of 'carol' (service 'sshd') accepted from host 'host1.ws.example.com'" ||
		{ journal | tail -n 20 && return 1; }
}

# check on the running provisioner: its port is the daemon's, all ok
t_prov_check() {
	as_daemon "$SYNCD" check >/tmp/check-prov.out 2>&1 &&
		grep -q "^listen:  ok: listen = 127.0.0.1:$PROV_PORT is bound already, and the daemon is running" /tmp/check-prov.out &&
		grep -q '^cert:    ok: ' /tmp/check-prov.out && grep -q '^ldap: *ok' /tmp/check-prov.out ||
		{ cat /tmp/check-prov.out && return 1; }
}

# The relay's upstream: a second provisioner run by hand (its own state
# folder, socket and port), logging to /tmp/upstream.log.
t_upstream() {
	configure stderr
	{
		cat /etc/ftrack-syncd.conf
		echo "state_dir = /var/lib/ftrack-upstream"
		echo "socket = /run/ftrack-upstream/notify.sock"
		prov_lines "$UP_PORT"
	} >$PKG/upstream.conf
	install -d -m 0700 -o ftrack-syncd -g ftrack-syncd /var/lib/ftrack-upstream &&
		install -d -m 0755 -o ftrack-syncd -g ftrack-syncd /run/ftrack-upstream || return 1
	setpriv --reuid=ftrack-syncd --regid=ftrack-syncd --init-groups -- \
		"$SYNCD" -c $PKG/upstream.conf run >>/tmp/upstream.log 2>&1 &
	UP_PID=$!
	wait_for 20 health_ok "$UP_PORT" || { tail -n 20 /tmp/upstream.log && return 1; }
}

# The packaged unit as a relay: no [ldap] or [ftrack], the root-owned host
# key handed over with LoadCredential= (a drop-in, as README.md says).
t_relay_unit() {
	cat >/etc/ftrack-syncd.conf <<EOF
; written by tests/integration/check_install.sh: a relay
[daemon]
mode = relay
log_level = debug
log_target = syslog
[relay]
upstream = https://127.0.0.1:$UP_PORT
tls_cert_file = /etc/ftrack-syncd/host.crt
tls_key_file = host.key
tls_ca_file = /etc/ftrack-syncd/ca.crt
timeout = 5
EOF
	mkdir -p /etc/systemd/system/ftrack-syncd.service.d &&
		printf '%s\n' '[Service]' 'LoadCredential=host.key:/etc/ftrack-syncd/host.key' \
			>/etc/systemd/system/ftrack-syncd.service.d/relay.conf &&
		systemctl daemon-reload || return 1
	systemctl restart ftrack-syncd.service &&
		wait_for 20 test -S /run/ftrack-syncd/notify.sock &&
		systemctl is-active --quiet ftrack-syncd.service || {
		systemctl status --no-pager ftrack-syncd.service
		journal | tail -n 20
		return 1
	}
}

# a login on the relay reaches ftrack through the upstream, named host1
t_relay_login() {
	login bob || return 1
	wait_for 20 ftrack_has bob &&
		grep -q "login of 'bob' (service 'ftrack-check') accepted from host 'host1.ws.example.com'" /tmp/upstream.log || {
		journal | tail -n 20
		tail -n 20 /tmp/upstream.log
		return 1
	}
}

# relay_cmd ARGS...: ftrack-syncd ARGS as the relay's unit runs it: the
# daemon's account, the host key as its credential (README.md's recipe for
# check and status on a relay whose key only root may read)
relay_cmd() {
	systemd-run --quiet --pipe --wait -p User=ftrack-syncd \
		-p LoadCredential=host.key:/etc/ftrack-syncd/host.key "$SYNCD" "$@"
}

relay_forwarded() {
	relay_cmd status >/tmp/status-relay.out 2>&1 &&
		grep -q "^upstream https://127.0.0.1:$UP_PORT: up (in use)" /tmp/status-relay.out &&
		grep -q '1 events forwarded' /tmp/status-relay.out
}

t_relay_status() {
	wait_for 10 relay_forwarded || { cat /tmp/status-relay.out && return 1; }
}

t_relay_check() {
	relay_cmd check >/tmp/check-relay.out 2>&1 &&
		grep -q '^cert:    ok: .* for host1.ws.example.com' /tmp/check-relay.out &&
		grep -q "^upstream: ok: https://127.0.0.1:$UP_PORT" /tmp/check-relay.out ||
		{ cat /tmp/check-relay.out && return 1; }
}

fleet_stop() {
	systemctl stop ftrack-syncd.service
	rm -f /etc/systemd/system/ftrack-syncd.service.d/relay.conf
	systemctl daemon-reload
	[[ $UP_PID == 0 ]] || stop_pid "$UP_PID"
	UP_PID=0
}

phase_fleet() {
	if ! have curl; then
		skip "the unit as a provisioner and as a relay (no curl)"
		return
	fi
	check "the PKI installed: provisioner key for the daemon, host key root-only" t_fleet_files || return
	if check "provisioner mode: the unit active, GET /v1/health 200" t_prov_unit; then
		check "provisioner: a relay's POST (host1's certificate) 202, provisioned, host in the journal" t_prov_post
		check "provisioner: ftrack-syncd check ok, its port bound by the running daemon" t_prov_check
	fi
	if check "an upstream provisioner started by hand" t_upstream &&
		check "relay mode: the unit active, the root-only key through LoadCredential=" t_relay_unit; then
		check "relay: a login through the PAM stack reaches ftrack through the upstream, host1 named" t_relay_login
		check "relay: ftrack-syncd status shows the upstream up and the forward" t_relay_status
		check "relay: ftrack-syncd check (certificate, key, CA, the upstream's health) ok" t_relay_check
	fi
	fleet_stop
}

phase_boot() {
	echo "root: the service under systemd (booted root)"
	if check "ftrack-syncd.service active at boot, socket there" t_active; then
		check "runs as ftrack-syncd: no capability, NoNewPrivs, seccomp; /run/ftrack-syncd 0755, socket 0666" t_sandboxed
		check "a login through the PAM stack: alice appears in ftrack; syslog in the journal" t_login_boot
		check "the transform through ftrack-syncd-transform.socket: run as ftrack-syncd-ext, the secrets unreadable; check says so" t_transform_boot
		check "alice's change delivered to the hook through ftrack-syncd-hook.socket: run as ftrack-syncd-ext, the secrets unreadable; check says so" t_hook_boot
		check "systemctl reload: the configuration reloaded in place" t_reload
		check "SIGUSR1: a reconcile runs as the daemon's child, ok" t_usr1
		check "ftrack-syncd-reconcile.service: a reconcile, Result=success" t_reconcile_unit
		check "ftrack-syncd-reconcile.timer starts and has a next run" t_timer
		check "killed: restarted by systemd (Restart=on-failure)" t_restart_on_crash
		check "systemctl stop: inactive, /run/ftrack-syncd removed" t_stop
		check "a configuration error (exit 2): failed, not restarted" t_config_error
		phase_fleet
	fi
}

case "$PHASE" in
chroot) phase_chroot ;;
setup) phase_setup ;;
boot) phase_boot ;;
*) echo "inner.sh: unknown phase $PHASE" ;;
esac
