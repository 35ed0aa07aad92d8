#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# tests/integration/check_rpm.sh: the RHEL-family packaging, as far as a
# Debian machine can show it.
#
#   bash tests/integration/check_rpm.sh rpm RPM_DIR   (make check-rpm, after make rpm)
#       the spec parsed with etc/rpm/macros.shim (rpmspec --parse), the
#       source RPM (version from debian/changelog, its sources, the
#       tarball), rpmlint on the spec, the SRPM and the shim-built RPMs
#       (0 errors; every warning named in the spec), the payload: every
#       path, mode, owner, group and flag (rpm -qlvp --dump, %{FILEFLAGS})
#       against tests/data/rpm-payload.txt, and every scriptlet
#       (rpm -qp --scripts) through bash -n; then, as root, the RPMs
#       installed, upgraded and erased with their scriptlets by Debian's
#       rpm in a throwaway root (an overlay of / in a private mount
#       namespace, chroot).
#   bash tests/integration/check_rpm.sh selinux       (make check-selinux)
#       etc/selinux/ftrack_syncd.{te,if,fc} built into a policy package
#       with selinux-policy-dev's Makefile (m4, checkmodule,
#       semodule_package); the file contexts of the installed paths
#       (selabel_lookup); the login domains' rules: only pam_ftrack's
#       socket and spool (and the same check catches one rule more).
#   bash tests/integration/check_rpm.sh authselect    (make check-authselect, after make)
#       etc/authselect/ftrack-authselect on fixture profiles
#       (tests/data/authselect): enable, idempotence, disable back to the
#       original bytes, modes, refusals; then the resulting stacks, as
#       authselect would write them with no feature on, run through libpam
#       (pamtester under pam_wrapper): a login reaches a test socket, cron
#       and systemd's user manager do not, the spool as root, nothing once
#       disabled.
#
# A tool that is missing is reported as skipped (`make deps` installs them
# all).  Every temporary folder is removed whatever happens.  The last line
# reads "MODE: N passed, N failed, N skipped"; exit 1 when anything failed.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
B=${B:-build}
PYTHON=${PYTHON:-python3}
MODE=${1:-}
W=""
# shellcheck source=tests/lib/proc.sh
. "$ROOT/tests/lib/proc.sh"
# shellcheck source=tests/lib/tally.sh
. "$ROOT/tests/lib/tally.sh"
# shellcheck source=tests/lib/root.sh
. "$ROOT/tests/lib/root.sh"

# the servers it started stopped and $W removed, whatever happens
stop_at_exit

SPEC_IN=$ROOT/etc/rpm/ftrack-ldap-sync.spec
SHIM=$ROOT/etc/rpm/macros.shim
# the version, from debian/changelog's first line, as the Makefile reads it
VERSION=$(sed -n '1{s/^[^ ]* .//;s/. .*//;p;}' "$ROOT/debian/changelog")

# ---- rpm: the spec, the SRPM, rpmlint, the payload, the scriptlets -----------

RPM_DIR="" SPEC="" SRPM="" RPMS=()

shim_args() {
	printf '%s\n' --load "$SHIM" --define "_ft_shim_dir $ROOT/etc/rpm" \
		--define 'dist .payloadcheck'
}

t_parse() {
	local out
	mapfile -t args < <(shim_args)
	out=$(rpmspec "${args[@]}" --parse "$SPEC" 2>&1) || {
		printf '%s\n' "$out"
		return 1
	}
	printf '%s\n' "$out" >"$W/parsed.spec"
	# every macro expanded: no %systemd_*, %selinux_*, %sysusers_*,
	# %tmpfiles_*, %{_unitdir}... left, no @PLACEHOLDER@
	! grep -nE '%\{?(systemd_|selinux_|sysusers_|tmpfiles_|_unitdir|_tmpfilesdir|_sysusersdir|build_ldflags)|@[A-Z]+@' \
		"$W/parsed.spec" &&
		grep -qx "Version:        $VERSION" "$W/parsed.spec" &&
		! grep -n '^warning' <<<"$out"
}

# Without the shims the systemd and SELinux macros stay unexpanded here:
# the shims are what make the build possible (and the check above real).
t_parse_needs_shim() {
	rpmspec --parse "$SPEC" >"$W/bare.spec" 2>/dev/null
	grep -q '^%systemd_post ' "$W/bare.spec" && grep -q '^%{_unitdir}/' "$W/bare.spec"
}

t_srpm() {
	local got v
	v=$(rpm -qp --qf '%{VERSION}-%{RELEASE}' "$SRPM") || return 1
	[[ "$v" == "$VERSION-1" ]] || { echo "SRPM version $v, not $VERSION-1" && return 1; }
	got=$(rpm -qpl "$SRPM" | sort)
	[[ "$got" == "ftrack-ldap-sync-$VERSION.tar.gz
ftrack-ldap-sync.spec
ftrack-ldap-sync.sysusers" ]] || { printf 'SRPM holds:\n%s\n' "$got" && return 1; }
	# the changelog's newest entry is this version
	rpm -qp --changelog "$SRPM" >"$W/changelog" &&
		head -n 1 "$W/changelog" | grep -q -- "- $VERSION-1$"
}

t_tarball() {
	local tb=$RPM_DIR/SOURCES/ftrack-ldap-sync-$VERSION.tar.gz n=ftrack-ldap-sync-$VERSION
	tar -tzf "$tb" >"$W/tar.list" || return 1
	! grep -vq "^$n/" "$W/tar.list" || { echo "a path outside $n/" && return 1; }
	for f in Makefile debian/changelog etc/rpm/ftrack-ldap-sync.spec \
		etc/selinux/ftrack_syncd.te etc/authselect/ftrack-authselect \
		ftrack-ldap-sync.spec syncd/main.c pam_ftrack/pam_ftrack.c; do
		grep -qx "$n/$f" "$W/tar.list" || { echo "no $f" && return 1; }
	done
	! grep -nE "^$n/(\.git|build)(/|$)|__pycache__" "$W/tar.list" &&
		tar -xzOf "$tb" "$n/ftrack-ldap-sync.spec" | cmp -s - "$SPEC"
}

# rpmlint: no error; every warning's tag is on a "# rpmlint: TAG" line of
# the spec (its reason).
lint_explained() {
	local out rc=0 tag
	out=$(rpmlint -c "$ROOT/etc/rpm/rpmlint.toml" "$@" 2>&1) || rc=$?
	printf '%s\n' "$out" | grep -E '^[^ ]+: [EW]: ' >"$W/lint.txt"
	if grep -q ': E: ' "$W/lint.txt"; then
		grep ': E: ' "$W/lint.txt"
		return 1
	fi
	[[ $rc == 0 || $rc == 64 ]] || { printf '%s\n' "$out" && return 1; }
	rc=0
	while read -r tag; do
		grep -qE "^# rpmlint: (.*, )?$(printf '%s' "$tag" | sed 's/%/%%/g; s/[.]/\\./g')[:,]" \
			"$SPEC_IN" || { echo "warning $tag not explained in the spec:" &&
			grep -F ": W: $tag" "$W/lint.txt" && rc=1; }
	done < <(awk '{ print $3 }' "$W/lint.txt" | sort -u)
	return $rc
}

t_lint() {
	lint_explained "$SPEC" "$SRPM" "${RPMS[@]}" || return 1
	[[ ! -s "$W/lint.txt" ]] || awk '{ print $3 }' "$W/lint.txt" | sort | uniq -c |
		awk '{ printf "%s (%d)\n", $2, $1 }' | paste -sd ' ' >"$W/lint.summary"
}

# The check can fail: the same SRPM, the spec's reason for one of its
# warnings taken out.
t_lint_fails() {
	sed 's/^# rpmlint: summary-not-capitalized:/# gone:/' "$SPEC_IN" >"$W/bad.spec.in"
	! SPEC_IN=$W/bad.spec.in lint_explained "$SRPM" >"$W/bad.out" 2>&1 &&
		grep -q 'warning summary-not-capitalized not explained' "$W/bad.out"
}

# "PACKAGE MODE OWNER GROUP FLAGS PATH" of every file of the RPMs, but
# the build-id links (their names are hashes of the binaries)
payload() {
	local r n
	for r in "${RPMS[@]}"; do
		n=$(rpm -qp --qf '%{NAME}' "$r") || return 1
		join -j1 \
			<(rpm -qlvp --dump "$r" | awk '{ print $1, substr($5, length($5) - 5), $6, $7 }' | sort) \
			<(rpm -qp --qf '[%{FILENAMES} %{FILEFLAGS:fflags}\n]' "$r" |
				awk '{ print $1, ($2 == "" ? "-" : $2) }' | sort) |
			awk -v n="$n" '$1 !~ /^\/usr\/lib\/\.build-id(\/|$)/ { print n, $2, $3, $4, $5, $1 }'
	done | sort -k6
}

t_payload() {
	local want got
	want=$(grep -v '^#' "$ROOT/tests/data/rpm-payload.txt" | grep . | sort -k6)
	got=$(payload) || return 1
	[[ "$got" == "$want" ]] || {
		diff <(printf '%s\n' "$want") <(printf '%s\n' "$got") |
			sed 's/^</expected:/; s/^>/built:   /'
		return 1
	}
}

# The binaries in the payload are the ones the spec built from the tarball:
# an ELF executable and a shared object with pam_sm_open_session.
t_payload_binaries() {
	local x=$W/x r
	mkdir -p "$x"
	for r in "${RPMS[@]}"; do
		(cd "$x" && rpm2cpio "$r" | cpio -idm --quiet) || return 1
	done
	file "$x/usr/sbin/ftrack-syncd" | grep -q 'ELF 64-bit .*executable' &&
		nm -D --defined-only "$x/usr/lib64/security/pam_ftrack.so" >"$W/nm.out" &&
		grep -qw pam_sm_open_session "$W/nm.out" &&
		sh -n "$x/usr/sbin/ftrack-authselect" &&
		bzip2 -t "$x/usr/share/selinux/packages/targeted/ftrack_syncd.pp.bz2" &&
		cmp "$ROOT/etc/sysusers.d/ftrack-ldap-sync.conf" "$x/usr/lib/sysusers.d/ftrack-ldap-sync.conf" &&
		cmp "$ROOT/etc/ftrack-syncd.conf" "$x/etc/ftrack-syncd.conf" &&
		grep -q '^ExecStart=/usr/sbin/ftrack-syncd run$' "$x/usr/lib/systemd/system/ftrack-syncd.service" || return 1
	# the daemon's own version (FT_VERSION) is debian/changelog's
	"$x/usr/sbin/ftrack-syncd" --version >"$W/version" 2>&1 &&
		grep -qx "ftrack-syncd $VERSION" "$W/version" ||
		{ echo "ftrack-syncd --version: $(cat "$W/version"), not $VERSION" && return 1; }
}

# every scriptlet of every RPM, one file each
scriptlets() {
	local r n
	rm -rf "$W/scripts" && mkdir -p "$W/scripts"
	for r in "${RPMS[@]}"; do
		n=$(rpm -qp --qf '%{NAME}' "$r") || return 1
		rpm -qp --scripts "$r" | awk -v d="$W/scripts" -v n="$n" '
			/^[a-z]+ scriptlet( \(.*\))?:$/ || /^[a-z]+ program:/ {
				f = d "/" n "." $1; next }
			f != "" { print > f }'
	done
}

t_scriptlets() {
	local f rc=0 want
	scriptlets || return 1
	want="ftrack-ldap-sync-selinux.postinstall ftrack-ldap-sync-selinux.postuninstall
ftrack-ldap-sync-selinux.posttrans ftrack-ldap-sync-selinux.preinstall
ftrack-ldap-sync.postinstall ftrack-ldap-sync.postuninstall
ftrack-ldap-sync.preinstall ftrack-ldap-sync.preuninstall"
	[[ "$(cd "$W/scripts" && ls | LC_ALL=C sort | paste -sd ' ')" == "$(printf '%s\n' $want | LC_ALL=C sort | paste -sd ' ')" ]] ||
		{ echo "scriptlets: $(ls "$W/scripts")" && return 1; }
	for f in "$W/scripts"/*; do
		bash -n "$f" || { echo "bash -n: ${f##*/}" && rc=1; }
		if have dash; then dash -n "$f" || { echo "dash -n: ${f##*/}" && rc=1; }; fi
	done
	return $rc
}

# What each scriptlet does: the accounts, tmpfiles, units, authselect,
# the SELinux module.
t_scriptlet_contents() {
	local s=$W/scripts
	grep -q "useradd -r .*'ftrack-syncd' " "$s/ftrack-ldap-sync.preinstall" &&
		grep -q "useradd -r .*'ftrack-syncd-ext' " "$s/ftrack-ldap-sync.preinstall" &&
		grep -q 'systemd-tmpfiles --create /usr/lib/tmpfiles.d/ftrack-syncd.conf' "$s/ftrack-ldap-sync.postinstall" &&
		grep -q 'install-system-units ftrack-syncd.service ftrack-syncd-reconcile.timer' "$s/ftrack-ldap-sync.postinstall" &&
		grep -q 'ftrack-authselect -q --apply disable' "$s/ftrack-ldap-sync.preuninstall" &&
		grep -q 'remove-system-units ftrack-syncd.service' "$s/ftrack-ldap-sync.preuninstall" &&
		grep -q 'semodule .* -i /usr/share/selinux/packages/targeted/ftrack_syncd.pp.bz2' \
			"$s/ftrack-ldap-sync-selinux.postinstall" &&
		grep -q 'semodule .* -r ftrack_syncd' "$s/ftrack-ldap-sync-selinux.postuninstall"
}

# The %pre the shim generates makes the accounts: run against a scratch
# passwd with stand-in useradd/groupadd that record their arguments.
t_pre_accounts() {
	local d=$W/pre
	mkdir -p "$d/bin"
	printf '#!/bin/sh\nexit 2\n' >"$d/bin/getent"
	printf '#!/bin/sh\necho "groupadd $*" >>%s/log\n' "$d" >"$d/bin/groupadd"
	printf '#!/bin/sh\necho "useradd $*" >>%s/log\n' "$d" >"$d/bin/useradd"
	chmod 0755 "$d/bin"/*
	PATH=$d/bin:$PATH sh "$W/scripts/ftrack-ldap-sync.preinstall" 1 || return 1
	[[ "$(cat "$d/log")" == "groupadd -r ftrack-syncd
useradd -r -g ftrack-syncd -d /var/lib/ftrack-syncd -s /sbin/nologin -c ftrack-syncd daemon ftrack-syncd
groupadd -r ftrack-syncd-ext
useradd -r -g ftrack-syncd-ext -d / -s /sbin/nologin -c ftrack-syncd transform and hook programs ftrack-syncd-ext" ]] ||
		{ cat "$d/log" && return 1; }
}

# The spec's %files and sysusers.d agree with the Debian package and the
# tmpfiles.d file: the same folders, owners and modes.
t_tmpfiles_agree() {
	local p m u g rc=0
	while read -r _ p m u g _; do
		awk -v p="$p" -v m="$m" -v u="$u" -v g="$g" \
			'$1 == "d" && $2 == p && $3 == "0" substr(m, length(m) - 2) && $4 == u && $5 == g { f = 1 } END { exit !f }' \
			"$ROOT/etc/tmpfiles.d/ftrack-syncd.conf" || { echo "tmpfiles.d: no 'd $p 0${m: -3} $u $g'" && rc=1; }
	done < <(payload | awk '$6 ~ /^\/var\/lib\/ftrack-syncd/ { print $1, $6, $2, $3, $4, $5 }')
	return $rc
}

mode_rpm() {
	RPM_DIR=$(cd "${1:-$ROOT/$B/rpm}" 2>/dev/null && pwd) || RPM_DIR=${1:-$ROOT/$B/rpm}
	echo "rpm: the spec, the source RPM and the shim-built RPMs in $RPM_DIR"
	local x
	for x in rpm rpmbuild rpmspec rpm2cpio cpio; do
		have "$x" || {
			skip "RPM checks: no $x (make deps installs rpm)"
			return
		}
	done
	SPEC=$RPM_DIR/SPECS/ftrack-ldap-sync.spec
	SRPM=$(ls "$RPM_DIR"/SRPMS/ftrack-ldap-sync-*.src.rpm 2>/dev/null | head -n 1)
	mapfile -t RPMS < <(ls "$RPM_DIR"/RPMS/*/ftrack-ldap-sync*.rpm 2>/dev/null)
	[[ -f "$SPEC" && -n "$SRPM" && ${#RPMS[@]} == 2 ]] || {
		fail "no spec, SRPM and two RPMs in $RPM_DIR: run 'make rpm' first"
		return
	}
	check "rpmspec --parse with etc/rpm/macros.shim: every macro expanded, Version $VERSION" t_parse
	check "without the shims, the systemd macros are unexpanded (Debian's rpm lacks them)" t_parse_needs_shim
	check "SRPM: version $VERSION-1 from debian/changelog, tarball, spec, sysusers; changelog" t_srpm
	check "source tarball: the tree under ftrack-ldap-sync-$VERSION/, no .git or build, the spec" t_tarball
	if have rpmlint; then
		check "rpmlint (spec, SRPM, RPMs): 0 errors, every warning explained in the spec" t_lint
		[[ ! -s "$W/lint.summary" ]] || sed 's/^/        warnings: /' "$W/lint.summary"
		check "rpmlint: a warning the spec does not explain fails the check" t_lint_fails
	else
		skip "rpmlint (make deps installs it)"
	fi
	check "payload (rpm -qlvp --dump): paths, modes, owners, flags as tests/data/rpm-payload.txt" t_payload
	if have file && have nm && have bzip2; then
		check "payload: the daemon (version $VERSION), the PAM module, the script, the policy package, config, units" t_payload_binaries
	else
		skip "payload binaries (no file, nm or bzip2)"
	fi
	check "scriptlets (rpm -qp --scripts): all eight there, bash -n (and dash -n) clean" t_scriptlets
	check "scriptlets: accounts, tmpfiles, units, authselect on erase, SELinux module" t_scriptlet_contents
	check "%pre makes ftrack-syncd and ftrack-syncd-ext as sysusers.d says" t_pre_accounts
	check "the state folders of the RPM match tmpfiles.d (owner, group, mode)" t_tmpfiles_agree
	rpm_root
}

# ---- rpm, as root: the shim-built RPMs installed in a throwaway root ----------
# rpm -i, -U and -e with their scriptlets in an overlay of / (a private
# mount namespace; writes go to a tmpfs that goes with it), chroot: the
# accounts of %pre, owners and modes as %files says, rpm -V, an upgrade
# that keeps a changed config, erase (pam_ftrack out of an authselect
# profile, the config saved).  What EL's own macros would add (systemd
# presets, semodule) does not run here: see the shims.

# The upgrade: the same spec rebuilt with a later release (.payloadcheck.1).
build_upgrade() {
	local t=$W/rb new
	mkdir -p "$t" && cp -r "$RPM_DIR/SOURCES" "$t/" || return 1
	mapfile -t args < <(shim_args)
	args=("${args[@]/#dist .payloadcheck/dist .payloadcheck.1}")
	rpmbuild --quiet --define "_topdir $t" --nodeps "${args[@]}" -bb "$SPEC" \
		>"$t/log" 2>&1 || { tail -n 30 "$t/log" && return 1; }
	mkdir -p "$W/pkgs/new" &&
		cp "$t"/RPMS/*/*.rpm "$W/pkgs/new/" && cp "${RPMS[@]}" "$W/pkgs/" || return 1
	new=("$W"/pkgs/new/*.payloadcheck.1.*)
	[[ ${#new[@]} == 2 && -e ${new[0]} ]]
}

rpm_root() {
	local x
	if [[ "$(id -u)" != 0 ]]; then
		skip "installing the RPMs into a throwaway root needs root"
		return
	fi
	for x in unshare chroot useradd groupadd systemd-tmpfiles; do
		have "$x" || {
			skip "installing the RPMs into a throwaway root: no $x"
			return
		}
	done
	check "upgrade RPMs built (release 1.payloadcheck.1)" build_upgrade || return
	cp "$ROOT/tests/data/authselect/system-auth" "$ROOT/tests/data/authselect/password-auth" "$W/pkgs/"
	inner_script "$ROOT/tests/integration/check_rpm.sh" "$W/pkgs/inner.sh"
	in_namespaces 1 "$ROOT/tests/integration/check_rpm.sh" "$W"
}

# In the private mount namespace: a throwaway root (overlay_root); the
# RPMs and fixtures go to /opt/ftrack-rpm in it.
enter_root() {
	local w=$1 r=$1/ov/root
	overlay_root "$w/ov" && mkdir -p "$r/opt/ftrack-rpm" &&
		cp -r "$w/pkgs/." "$r/opt/ftrack-rpm/" || {
		echo "  FAIL  unable to make the throwaway root (overlay of /)"
		echo "root: 0 passed, 1 failed, 0 skipped"
		exit 0
	}
	in_root "$r" /bin/bash /opt/ftrack-rpm/inner.sh || true
	exit 0
}

if [[ "$MODE" == __root ]]; then
	trap - EXIT
	enter_root "$2"
fi


# ---- selinux: the policy module ----------------------------------------------

SE_MK=/usr/share/selinux/devel/Makefile
SE_DOMAINS="sshd_t xdm_t local_login_t sysadm_su_t sysadm_sudo_t staff_sudo_t xscreensaver_t vlock_t"

# se_build DIR: the module's three files built into DIR/ftrack_syncd.pp
se_build() {
	local d=$1
	make -s -C "$d" -f "$SE_MK" ftrack_syncd.pp >"$d/make.log" 2>&1 ||
		{ cat "$d/make.log" && return 1; }
	[[ -s "$d/ftrack_syncd.pp" ]] || { echo "no ftrack_syncd.pp" && return 1; }
	# refpolicy's build warns about deprecated or unknown interfaces
	! grep -i 'warning\|error' "$d/make.log"
}

t_se_build() {
	mkdir -p "$W/se"
	cp "$ROOT"/etc/selinux/ftrack_syncd.{te,if,fc} "$W/se/" && se_build "$W/se"
}

# The build fails on an interface the policy does not define.
t_se_build_fails() {
	mkdir -p "$W/se-bad"
	cp "$ROOT"/etc/selinux/ftrack_syncd.{if,fc} "$W/se-bad/"
	sed 's/^dev_read_rand(ftrack_syncd_t)$/dev_read_no_such_thing(ftrack_syncd_t)/' \
		"$ROOT/etc/selinux/ftrack_syncd.te" >"$W/se-bad/ftrack_syncd.te"
	! grep -q '^dev_read_rand' "$W/se-bad/ftrack_syncd.te" || return 1
	! se_build "$W/se-bad" >/dev/null 2>&1
}

# The file contexts of the paths the package and the daemon use.
t_se_fc() {
	local p want got rc=0
	sed -n 's/gen_context(\([^,]*\),s0)/\1:s0/p' "$ROOT/etc/selinux/ftrack_syncd.fc" |
		grep -v '^#' >"$W/ftrack_syncd.fc"
	while read -r p want; do
		got=$(selabel_lookup -b file -f "$W/ftrack_syncd.fc" -k "$p" 2>&1 |
			sed -n 's/^Default context: [^:]*:[^:]*:\([^:]*\):.*/\1/p')
		[[ "$got" == "$want" ]] || { echo "$p: ${got:-no context}, not $want" && rc=1; }
	done <<'EOF'
/usr/sbin/ftrack-syncd ftrack_syncd_exec_t
/etc/ftrack-syncd.conf ftrack_syncd_conf_t
/etc/ftrack-syncd ftrack_syncd_secret_t
/etc/ftrack-syncd/ldap.secret ftrack_syncd_secret_t
/etc/ftrack-syncd/ftrack.secret ftrack_syncd_secret_t
/etc/ftrack-syncd-ext ftrack_syncd_ext_exec_t
/etc/ftrack-syncd-ext/transform ftrack_syncd_ext_exec_t
/etc/ftrack-syncd-ext/on-change ftrack_syncd_ext_exec_t
/usr/libexec/ftrack-syncd/ftrack-syncd-ext-adapter ftrack_syncd_ext_exec_t
/run/ftrack-syncd-ext ftrack_syncd_ext_var_run_t
/run/ftrack-syncd-ext/transform.sock ftrack_syncd_ext_var_run_t
/run/ftrack-syncd-ext/on-change.sock ftrack_syncd_ext_var_run_t
/var/log/ftrack-syncd-ext/changes.log ftrack_syncd_ext_log_t
/var/lib/ftrack-syncd ftrack_syncd_var_lib_t
/var/lib/ftrack-syncd/metrics.prom ftrack_syncd_var_lib_t
/var/lib/ftrack-syncd/reports/last-reconcile.json ftrack_syncd_var_lib_t
/var/lib/ftrack-syncd/queue ftrack_syncd_spool_t
/var/lib/ftrack-syncd/queue/616c696365 ftrack_syncd_spool_t
/var/lib/ftrack-syncd/queue/failed/616c696365 ftrack_syncd_var_lib_t
/var/lib/ftrack-syncd/queue/held/616c696365 ftrack_syncd_var_lib_t
/run/ftrack-syncd ftrack_syncd_var_run_t
/run/ftrack-syncd/notify.sock ftrack_syncd_var_run_t
EOF
	# the paths the code and the units name are those above
	grep -q '"/run/ftrack-syncd/notify.sock"' "$ROOT/include/ft_proto.h" &&
		grep -q '"/var/lib/ftrack-syncd"' "$ROOT/include/ft_proto.h" &&
		grep -q 'FT_DEFAULT_STATE_DIR "/queue"' "$ROOT/include/ft_proto.h" &&
		grep -q '^RuntimeDirectory=ftrack-syncd$' "$ROOT/etc/systemd/ftrack-syncd.service" &&
		grep -q '"/run/ftrack-syncd-ext/transform.sock"' "$ROOT/syncd/transform.h" &&
		grep -q '"/run/ftrack-syncd-ext/on-change.sock"' "$ROOT/syncd/hooks_exec.h" &&
		grep -q '^ListenStream=/run/ftrack-syncd-ext/transform.sock$' "$ROOT/etc/systemd/ftrack-syncd-transform.socket" &&
		grep -q '^ListenStream=/run/ftrack-syncd-ext/on-change.sock$' "$ROOT/etc/systemd/ftrack-syncd-hook.socket" &&
		grep -q '^LogsDirectory=ftrack-syncd-ext$' "$ROOT/etc/systemd/ftrack-syncd-hook@.service" &&
		grep -q '^ExecStart=@LIBEXECDIR@/ftrack-syncd-ext-adapter ' "$ROOT/etc/systemd/ftrack-syncd-transform@.service" &&
		grep -q '^ExecStart=@LIBEXECDIR@/ftrack-syncd-ext-adapter ' "$ROOT/etc/systemd/ftrack-syncd-hook@.service" &&
		grep -q '^LIBEXECDIR  ?= $(PREFIX)/libexec/ftrack-syncd$' "$ROOT/Makefile" || {
		echo "the code's or the unit's paths changed: update ftrack_syncd.fc and this list"
		return 1
	}
	return $rc
}

# login_rules EXPANDED: "DOMAIN TARGET:CLASS PERMS" of every allow rule
# whose source is a login domain, from the m4-expanded module
login_rules() {
	"$PYTHON" - "$1" $SE_DOMAINS <<'PY'
import re, sys

text = open(sys.argv[1]).read()
domains = set(sys.argv[2:])
def names(s):
    s = s.strip()
    return s.strip("{}").split() if s.startswith("{") else [s]
rule = re.compile(r"\ballow\s+(\{[^}]*\}|\S+)\s+(\{[^}]*\}|\S+)\s*:\s*(\{[^}]*\}|\S+)\s+(\{[^}]*\}|[^;\s]+)\s*;")
for m in rule.finditer(text):
    for src in names(m.group(1)):
        if src in domains:
            for tgt in names(m.group(2)):
                for cls in names(m.group(3)):
                    print(src, "%s:%s" % (tgt, cls), " ".join(sorted(names(m.group(4)))))
PY
}

# login_ok RULES: each login domain may only search generic folders and
# reach pam_ftrack's socket and spool
login_ok() {
	awk '
	$2 ~ /^ftrack_syncd_t:unix_dgram_socket$/ && $3 == "sendto" && NF == 3 { next }
	$2 ~ /^ftrack_syncd_var_run_t:(dir|sock_file)$/ { for (i = 3; i <= NF; i++) if ($i !~ /^(getattr|search|write)$/ || ($2 ~ /:dir$/ && $i == "write")) bad = 1; if (!bad) next }
	$2 ~ /^ftrack_syncd_var_lib_t:dir$/ && $3 == "search" && NF == 3 { next }
	# the /var/run -> /run link, read to search the folder behind it
	$2 == "var_run_t:lnk_file" { for (i = 3; i <= NF; i++) if ($i !~ /^(getattr|read)$/) bad = 1; if (!bad) next }
	$2 ~ /^ftrack_syncd_spool_t:(dir|file)$/ { for (i = 3; i <= NF; i++) if ($i !~ /^(open|read|getattr|search|write|add_name|remove_name|create|setattr|rename|unlink)$/) bad = 1; if (!bad) next }
	$2 !~ /^ftrack_syncd/ && $2 ~ /:dir$/ { for (i = 3; i <= NF; i++) if ($i !~ /^(getattr|search|open|read|lock|ioctl)$/) bad = 1; if (!bad) next }
	{ print "not allowed for a login domain: " $0; err = 1; bad = 0 }
	END { exit err }' "$1"
}

t_se_login() {
	local t=$W/se/tmp/ftrack_syncd.tmp d
	[[ -s "$t" ]] || { echo "no $t (the devel Makefile keeps it)" && return 1; }
	login_rules "$t" >"$W/login.rules" || return 1
	login_ok "$W/login.rules" || return 1
	# every login domain has the datagram; the root ones the spool
	for d in $SE_DOMAINS; do
		grep -q "^$d ftrack_syncd_t:unix_dgram_socket sendto$" "$W/login.rules" ||
			{ echo "$d: no sendto" && return 1; }
		case $d in
		xscreensaver_t | vlock_t)
			! grep -q "^$d ftrack_syncd_spool_t" "$W/login.rules" ||
				{ echo "$d (a screen locker) may spool" && return 1; } ;;
		*)
			grep -q "^$d ftrack_syncd_spool_t:file .*create" "$W/login.rules" ||
				{ echo "$d: cannot spool" && return 1; } ;;
		esac
	done
	# and nothing of the secrets, the config or the state files
	! grep -E 'ftrack_syncd_(secret|conf|var_lib)_t:file|ftrack_syncd_ext' "$W/login.rules"
}

# The same check fails on a module that gives sshd_t one rule more.
t_se_login_fails() {
	mkdir -p "$W/se-more"
	cp "$ROOT"/etc/selinux/ftrack_syncd.{if,fc} "$W/se-more/"
	{
		cat "$ROOT/etc/selinux/ftrack_syncd.te"
		printf "optional_policy(\`\n\tgen_require(\`\n\t\ttype sshd_t;\n\t')\n\tallow sshd_t ftrack_syncd_secret_t:file { open read };\n')\n"
	} >"$W/se-more/ftrack_syncd.te"
	se_build "$W/se-more" >/dev/null 2>&1 || { echo "the changed module did not build" && return 1; }
	login_rules "$W/se-more/tmp/ftrack_syncd.tmp" >"$W/more.rules" &&
		! login_ok "$W/more.rules" >/dev/null
}

# Every macro the module calls is on tests/data/selinux-interfaces.txt
# (checked against EL9's policy); an EL9-only name is called only in the
# branch of an ifdef() on Debian's name, a Debian-only one only in that
# ifdef's first branch.
se_calls() {
	cat "$ROOT"/etc/selinux/ftrack_syncd.{te,if} | grep -v '^[[:space:]]*#' |
		grep -oE '\b[a-z_]+\(' | tr -d '(' | sort -u |
		grep -vx -e ifdef -e 'ftrack_syncd_[a-z_]*'
}

t_se_interfaces() {
	local list=$ROOT/tests/data/selinux-interfaces.txt n kind other rc=0
	for n in $(se_calls); do
		grep -q "^$n " "$list" || { echo "$n: not on $list (check it against EL9's policy)" && rc=1; }
	done
	while read -r n kind other; do
		case $kind in
		both | refpolicy) ;;
		el9)
			# every call sits in the else branch of ifdef(`OTHER', ...)
			awk -v n="$n" -v o="$other" '
				index($0, "ifdef(`" o "'"'"'") { open = 1 }
				$0 ~ "^[[:space:]]*" n "\\(" { if (!open) bad = 1; calls++ }
				/^'"'"'\)/ { open = 0 }
				END { exit bad || !calls }' "$ROOT"/etc/selinux/ftrack_syncd.{te,if} ||
				{ echo "$n: called outside ifdef(\`$other', ...)" && rc=1; }
			;;
		*) echo "$n: unknown kind $kind" && rc=1 ;;
		esac
	done < <(grep -v '^#' "$list" | grep .)
	return $rc
}

# Booleans, types, the ports' type: declared as the README documents.
t_se_decl() {
	local te=$ROOT/etc/selinux/ftrack_syncd.te t rc=0
	for t in ftrack_syncd_t ftrack_syncd_exec_t ftrack_syncd_ext_t ftrack_syncd_ext_exec_t \
		ftrack_syncd_ext_var_run_t ftrack_syncd_ext_log_t \
		ftrack_syncd_port_t ftrack_syncd_var_lib_t ftrack_syncd_spool_t \
		ftrack_syncd_var_run_t ftrack_syncd_conf_t ftrack_syncd_secret_t; do
		grep -q "^type $t;" "$te" || { echo "no type $t" && rc=1; }
		grep -q "$t" "$ROOT/README.md" || { echo "README.md does not name $t" && rc=1; }
	done
	for t in ftrack_syncd_ext_connect_ldap ftrack_syncd_ext_network_connect; do
		grep -q "^gen_tunable($t, false)" "$te" || { echo "no boolean $t (off)" && rc=1; }
		grep -q "$t" "$ROOT/README.md" || { echo "README.md does not name $t" && rc=1; }
	done
	grep -q 'semanage port -a -t ftrack_syncd_port_t -p tcp' "$ROOT/README.md" ||
		{ echo "README.md: no semanage port line" && rc=1; }
	return $rc
}

mode_selinux() {
	echo "selinux: etc/selinux/ftrack_syncd (built with selinux-policy-dev)"
	local x
	for x in m4 checkmodule semodule_package; do
		have "$x" || {
			skip "SELinux module: no $x (make deps installs checkpolicy, semodule-utils)"
			return
		}
	done
	[[ -e "$SE_MK" ]] || {
		skip "SELinux module: no $SE_MK (make deps installs selinux-policy-dev)"
		return
	}
	if check "make -f $SE_MK ftrack_syncd.pp: builds, no warning" t_se_build; then
		check "the login domains: the socket and the spool, nothing else" t_se_login
		check "that check fails on one rule more for sshd_t" t_se_login_fails
	fi
	check "the build fails on an interface that does not exist" t_se_build_fails
	if have selabel_lookup; then
		check "file contexts of the daemon's paths (selabel_lookup)" t_se_fc
	else
		skip "file contexts (no selabel_lookup; make deps installs selinux-utils)"
	fi
	check "every interface called is on the list checked against EL9's policy (38.1.x)" t_se_interfaces
	check "types, booleans (off) and the port type, as README.md documents" t_se_decl
}

# ---- authselect: the script and the stacks through libpam ---------------------

SCRIPT=$ROOT/etc/authselect/ftrack-authselect
FIX=$ROOT/tests/data/authselect
PAM_WRAPPER=libpam_wrapper.so
MODULE=$ROOT/$B/pam_ftrack/pam_ftrack.so

# profile NAME: a copy of the fixture profile in $W/NAME
profile() {
	rm -rf "${W:?}/$1" && mkdir -p "$W/$1" &&
		cp "$FIX/system-auth" "$FIX/password-auth" "$W/$1/" &&
		chmod 0644 "$W/$1"/*
}

fas() { sh "$SCRIPT" -d "$W/p" "$@"; }

t_as_enable() {
	profile p || return 1
	fas enable >"$W/out" || return 1
	[[ "$(cat "$W/out")" == "$W/p/system-auth: pam_ftrack added
$W/p/password-auth: pam_ftrack added" ]] || { cat "$W/out" && return 1; }
	local f
	for f in system-auth password-auth; do
		# the two lines, after the last session line of the fixture
		diff "$FIX/$f" "$W/p/$f" >"$W/diff" && return 1
		[[ "$(grep -c '^[<>]' "$W/diff")" == 2 ]] || { cat "$W/diff" && return 1; }
		grep -A2 -Fx "$(grep -E '^-?session' "$FIX/$f" | tail -n 1)" "$W/p/$f" | tail -n 2 |
			awk 'NR == 1 && $2 == "[success=1" && $4 == "pam_succeed_if.so" && $7 == "crond:atd:systemd-user" { a = 1 }
			     NR == 2 && $1 == "session" && $2 == "optional" && $3 == "pam_ftrack.so" && NF == 3 { b = 1 }
			     END { exit !(a && b) }' || { echo "$f:" && cat "$W/p/$f" && return 1; }
		[[ "$(stat -c %a "$W/p/$f")" == 644 ]] || { echo "$f: mode $(stat -c %a "$W/p/$f")" && return 1; }
	done
	[[ "$(fas status)" == "$W/p/system-auth: enabled
$W/p/password-auth: enabled" ]]
}

t_as_idempotent() {
	cp "$W/p/system-auth" "$W/sa.once" && cp "$W/p/password-auth" "$W/pa.once"
	fas enable >"$W/out" || return 1
	grep -q 'already there' "$W/out" &&
		cmp "$W/sa.once" "$W/p/system-auth" && cmp "$W/pa.once" "$W/p/password-auth"
}

t_as_disable() {
	fas disable >"$W/out" || return 1
	grep -q 'pam_ftrack removed' "$W/out" &&
		cmp "$FIX/system-auth" "$W/p/system-auth" &&
		cmp "$FIX/password-auth" "$W/p/password-auth" || return 1
	# the commented line stays; again: nothing to do
	grep -q '^#session .*pam_ftrack.so' "$W/p/password-auth" &&
		fas disable >"$W/out" && grep -q 'not there' "$W/out" &&
		cmp "$FIX/password-auth" "$W/p/password-auth" &&
		[[ "$(fas status)" == "$W/p/system-auth: disabled
$W/p/password-auth: disabled" ]]
}

# A profile with no session line gets the lines at the end; the profile's
# own crond skip line (before pam_unix) is never taken for ours.
t_as_edge() {
	profile e || return 1
	printf 'auth required pam_permit.so\n' >"$W/e/system-auth"
	sh "$SCRIPT" -q -d "$W/e" enable >"$W/out" 2>&1 || return 1
	[[ ! -s "$W/out" ]] || { echo "-q printed:" && cat "$W/out" && return 1; }
	tail -n 1 "$W/e/system-auth" | grep -q '^session .*optional .*pam_ftrack\.so$' &&
		sh "$SCRIPT" -q -d "$W/e" disable &&
		[[ "$(cat "$W/e/system-auth")" == 'auth required pam_permit.so' ]] &&
		cmp "$FIX/password-auth" "$W/e/password-auth" &&
		grep -c 'pam_succeed_if.so service in crond quiet use_uid' "$W/e/password-auth" | grep -qx 1
}

# A line the administrator wrote, with a path and arguments, counts: enable
# adds nothing, disable removes it.
t_as_own_line() {
	profile o || return 1
	printf 'session optional /usr/lib64/security/pam_ftrack.so min_uid=1000\n' >>"$W/o/system-auth"
	cp "$W/o/system-auth" "$W/o.sa"
	sh "$SCRIPT" -d "$W/o" enable >"$W/out" || return 1
	grep -q 'system-auth: pam_ftrack already there' "$W/out" && cmp "$W/o.sa" "$W/o/system-auth" &&
		sh "$SCRIPT" -q -d "$W/o" disable && cmp "$FIX/system-auth" "$W/o/system-auth" &&
		cmp "$FIX/password-auth" "$W/o/password-auth"
}

t_as_refuses() {
	local rc=0
	sh "$SCRIPT" -d "$W/none" enable >"$W/out" 2>&1 && return 1
	grep -q 'no such profile folder.*authselect create-profile' "$W/out" || { cat "$W/out" && return 1; }
	profile s || return 1
	rm "$W/s/password-auth" && ln -s "$FIX/password-auth" "$W/s/password-auth"
	sh "$SCRIPT" -d "$W/s" enable >"$W/out" 2>&1 && return 1
	grep -q 'is a symlink' "$W/out" || { cat "$W/out" && return 1; }
	# nothing was changed before the refusal
	cmp "$FIX/system-auth" "$W/s/system-auth" || return 1
	sh "$SCRIPT" -d "$W/s" bogus >/dev/null 2>&1 || rc=$?
	[[ $rc == 2 ]] || { echo "usage error: exit $rc, not 2" && return 1; }
}

t_as_lint() {
	sh -n "$SCRIPT" || return 1
	if have shellcheck; then shellcheck -s sh "$SCRIPT"; fi
}

# ftrack-authselect(8): clean for mandoc and man, and names every command
# and option the script's usage gives.
t_as_man() {
	local page=$ROOT/etc/man/ftrack-authselect.8 out x rc=0
	if have mandoc; then
		out=$(mandoc -T lint -W all "$page" 2>&1) && [[ -z "$out" ]] ||
			{ printf '%s\n' "$out" && rc=1; }
	fi
	if have man; then
		out=$(MANWIDTH=80 man --warnings -E UTF-8 -l "$page" 2>&1 >/dev/null) &&
			[[ -z "$out" ]] || { printf '%s\n' "$out" && rc=1; }
	fi
	sh "$SCRIPT" --help >"$W/usage" || return 1
	for x in enable disable status; do
		grep -q "^  $x " "$W/usage" && grep -q "^\.B $x$" "$page" ||
			{ echo "command $x" && rc=1; }
	done
	for x in -d --apply -q; do
		grep -q "^  $x " "$W/usage" && grep -qF -- "${x//-/\\-}" "$page" ||
			{ echo "option $x" && rc=1; }
	done
	return $rc
}

# render DIR OUT: the PAM files authselect would write from the profile
# with no feature on ({include if} lines out, {if not} kept, {if} gone),
# pam_ftrack pointed at the test's socket and spool, and pam_systemd out
# (pamtester must not register a session with the host's logind)
render() {
	local f
	mkdir -p "$2"
	for f in system-auth password-auth; do
		sed -E -e '/\{include if "[^"]*"\}/d' -e 's/ *\{exclude if "[^"]*"\}//' \
			-e 's/\{if not "[^"]*":([^}]*)\}/\1/g' -e 's/\{if "[^"]*":[^}]*\}//g' \
			-e '/pam_systemd\.so/d' \
			-e "s|pam_ftrack\\.so\$|$MODULE socket=$W/run/notify.sock spool=$W/queue daemon_user=$(id -un) skip_users=|" \
			"$1/$f" >"$2/$f" || return 1
	done
	! grep -nE '^[^#]*[{}]' "$2/system-auth" "$2/password-auth" || return 1
	# the services: each includes one of the two, as on EL9 (by absolute
	# path: pam_wrapper moves the service folder, not what include reads)
	printf 'session include %s\n' "$2/system-auth" >"$2/login"
	printf 'session include %s\n' "$2/password-auth" >"$2/sshd"
	printf 'session include %s\n' "$2/password-auth" >"$2/crond"
	printf 'session include %s\n' "$2/system-auth" >"$2/systemd-user"
}

# pam_run SERVICE USER: pamtester open_session close_session for USER under
# pam_wrapper with the rendered services, a test socket bound meanwhile
# (unless NOSOCK=1); prints "rc=N" and one "got user=... service=..." per
# datagram the socket received (they are queued before pamtester returns).
pam_run() {
	"$PYTHON" - "$W/run/notify.sock" "$W/pamd" "$1" "$2" "${NOSOCK:-0}" "$PAM_WRAPPER" <<'PY'
import os, socket, subprocess, sys

path, confdir, service, user, nosock, wrapper = sys.argv[1:]
s = None
if nosock != "1":
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(path)
    os.chmod(path, 0o666)
    s.setblocking(False)
env = dict(os.environ, LD_PRELOAD=wrapper, PAM_WRAPPER="1",
           PAM_WRAPPER_SERVICE_DIR=confdir)
p = subprocess.run(["pamtester", "-v", service, user, "open_session",
                    "close_session"], env=env, stdin=subprocess.DEVNULL,
                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                   timeout=60)
print("rc=%d" % p.returncode)
sys.stdout.write("".join("  pamtester: %s\n" % l
                         for l in p.stdout.decode(errors="replace").splitlines()))
while s is not None:
    try:
        d = s.recv(2048).decode(errors="replace")
    except BlockingIOError:
        break
    f = dict(l.split("=", 1) for l in d.splitlines()[1:] if "=" in l)
    print("got user=%s service=%s" % (f.get("user"), f.get("service")))
if s is not None:
    s.close()
    os.unlink(path)
PY
}

USER_PAM=daemon # a local account the stack's pam_unix and pam_limits know

# expect_run SERVICE WANT: pam_run's "got" lines are exactly WANT
expect_run() {
	local out got
	out=$(pam_run "$1" "$USER_PAM") || { printf '%s\n' "$out" && return 1; }
	got=$(printf '%s\n' "$out" | grep '^got ' || true)
	printf '%s\n' "$out" | grep -qx 'rc=0' && [[ "$got" == "$2" ]] || {
		printf 'service %s: wanted "%s"\n%s\n' "$1" "$2" "$out"
		return 1
	}
}

pam_setup() {
	profile stack || return 1
	sh "$SCRIPT" -q -d "$W/stack" enable || return 1
	mkdir -p "$W/run" "$W/queue" && chmod 0755 "$W/run" && chmod 0700 "$W/queue" &&
		render "$W/stack" "$W/pamd"
}

t_pam_login() {
	expect_run login "got user=$USER_PAM service=login" &&
		expect_run sshd "got user=$USER_PAM service=sshd"
}

t_pam_noninteractive() {
	expect_run crond "" && expect_run systemd-user ""
}

# As root with the daemon down: the login goes to the spool.
t_pam_spool() {
	local f out
	f=$W/queue/$(printf '%s' "$USER_PAM" | od -An -tx1 | tr -d ' \n')
	out=$(NOSOCK=1 pam_run login "$USER_PAM") &&
		printf '%s\n' "$out" | grep -qx 'rc=0' || { printf '%s\n' "$out" && return 1; }
	[[ -f "$f" ]] || { ls -la "$W/queue" && printf '%s\n' "$out" && return 1; }
	grep -qx "user=$USER_PAM" "$f" && grep -qx 'service=login' "$f" && rm -f "$f"
}

# Disabled: the same stacks run, and nothing is reported.
t_pam_disabled() {
	sh "$SCRIPT" -q -d "$W/stack" disable && rm -rf "$W/pamd" &&
		render "$W/stack" "$W/pamd" &&
		! grep -qE '^[^#]*pam_ftrack' "$W/pamd/system-auth" "$W/pamd/password-auth" &&
		expect_run login "" && expect_run sshd ""
}

mode_authselect() {
	echo "authselect: etc/authselect/ftrack-authselect on fixture profiles, stacks through libpam"
	check "shell syntax (sh -n; shellcheck where installed)" t_as_lint
	check "enable: the skip and pam_ftrack lines after the last session line, mode kept, status" t_as_enable &&
		check "enable again: nothing changes" t_as_idempotent &&
		check "disable: the original bytes back; again: nothing to do" t_as_disable
	check "a profile without session lines; the profile's own crond line left alone; -q" t_as_edge
	check "the administrator's own pam_ftrack line (a path, arguments) counts and is removed" t_as_own_line
	check "refuses a missing profile, a symlinked file (nothing changed), a bad command" t_as_refuses
	check "ftrack-authselect(8): mandoc and man clean; every command and option" t_as_man
	have pamtester || {
		skip "the stacks through libpam: no pamtester (make deps)"
		return
	}
	[[ -e "$MODULE" ]] || {
		fail "no $MODULE: run 'make' first"
		return
	}
	ldconfig -p 2>/dev/null | grep "$PAM_WRAPPER" >/dev/null || { # (all read: grep -q would SIGPIPE ldconfig under pipefail)
		skip "the stacks through libpam: no $PAM_WRAPPER (make deps installs libpam-wrapper)"
		return
	}
	getent passwd "$USER_PAM" >/dev/null || {
		skip "the stacks through libpam: no local account $USER_PAM"
		return
	}
	if check "the enabled profile rendered as authselect would (no feature on)" pam_setup; then
		check "login (system-auth) and sshd (password-auth): pam_ftrack's datagram reaches the socket" t_pam_login
		check "crond and systemd-user: the session opens, nothing is reported" t_pam_noninteractive
		if [[ "$(id -u)" == 0 ]]; then
			check "as root with the daemon down: the login is spooled" t_pam_spool
		else
			skip "the spool fallback (only root spools)"
		fi
		check "disabled: the stacks still open sessions, nothing is reported" t_pam_disabled
	fi
}

case "$MODE" in
rpm | selinux | authselect)
	W=$(mktemp -d "${TMPDIR:-/tmp}/ftrack-rpm.XXXXXX")
	chmod 0700 "$W"
	"mode_$MODE" "${2:-}"
	;;
*)
	echo "usage: $0 rpm [RPM_DIR] | selinux | authselect" >&2
	exit 2
	;;
esac
echo "$MODE: $PASSED passed, $FAILED failed, $SKIPPED skipped"
[[ $FAILED == 0 ]]
exit

# ---- inside the throwaway root ----
# Runs as /opt/ftrack-rpm/inner.sh in the throwaway root (chroot): the
# RPMs in /opt/ftrack-rpm (the upgrade in new/), the fixture profile;
# prints one line per check and "root: N passed, N failed, N skipped".
set -uo pipefail
PKG=/opt/ftrack-rpm
RPM=(rpm --dbpath /var/lib/rpm)
trap 'echo "root: $PASSED passed, $FAILED failed, $SKIPPED skipped"' EXIT
own() { stat -c '%U %G %a' "$1"; }

t_install() {
	mkdir -p /var/lib/rpm && "${RPM[@]}" --initdb &&
		"${RPM[@]}" -i --nodeps "$PKG"/ftrack-ldap-sync-0*.rpm "$PKG"/ftrack-ldap-sync-selinux-*.rpm
}

t_accounts() {
	local n uid home shell
	for n in ftrack-syncd ftrack-syncd-ext; do
		IFS=: read -r _ _ uid _ _ home shell < <(getent passwd "$n") || { echo "no $n" && return 1; }
		getent group "$n" >/dev/null || { echo "no group $n" && return 1; }
		((uid < 1000)) || { echo "$n: uid $uid is not a system uid" && return 1; }
		[[ "$shell" == */nologin ]] || { echo "$n: shell $shell" && return 1; }
		[[ "$n" != ftrack-syncd || "$home" == /var/lib/ftrack-syncd ]] ||
			{ echo "$n: home $home" && return 1; }
	done
}

t_owners() {
	local p want got rc=0
	while read -r p want; do
		got=$(own "$p" 2>&1)
		[[ "$got" == "$want" ]] || { echo "$p: $got, not $want" && rc=1; }
	done <<'EOF'
/etc/ftrack-syncd root ftrack-syncd 750
/etc/ftrack-syncd.conf root root 644
/var/lib/ftrack-syncd ftrack-syncd ftrack-syncd 755
/var/lib/ftrack-syncd/queue ftrack-syncd ftrack-syncd 700
/var/lib/ftrack-syncd/queue/failed ftrack-syncd ftrack-syncd 700
/var/lib/ftrack-syncd/reports ftrack-syncd ftrack-syncd 700
/usr/sbin/ftrack-syncd root root 755
/usr/sbin/ftrack-authselect root root 755
/usr/lib64/security/pam_ftrack.so root root 644
EOF
	return $rc
}

t_verify() {
	"${RPM[@]}" -V --nodeps ftrack-ldap-sync ftrack-ldap-sync-selinux
}

# The custom profile with pam_ftrack, made with the installed script;
# and a changed config.
t_profile() {
	mkdir -p /etc/authselect/custom/ftrack &&
		cp "$PKG/system-auth" "$PKG/password-auth" /etc/authselect/custom/ftrack/ &&
		/usr/sbin/ftrack-authselect -q enable &&
		grep -q pam_ftrack.so /etc/authselect/custom/ftrack/system-auth &&
		echo '; changed by the administrator' >>/etc/ftrack-syncd.conf &&
		cp /etc/ftrack-syncd.conf /tmp/conf.mine
}

t_upgrade() {
	local uid
	uid=$(id -u ftrack-syncd)
	"${RPM[@]}" -U --nodeps "$PKG"/new/*.rpm || return 1
	"${RPM[@]}" -q ftrack-ldap-sync | grep -q '\.payloadcheck\.1\.' &&
		cmp /tmp/conf.mine /etc/ftrack-syncd.conf &&
		[[ "$(id -u ftrack-syncd)" == "$uid" ]] &&
		grep -q pam_ftrack.so /etc/authselect/custom/ftrack/system-auth &&
		[[ "$(own /var/lib/ftrack-syncd/queue)" == "ftrack-syncd ftrack-syncd 700" ]]
}

t_erase() {
	"${RPM[@]}" -e ftrack-ldap-sync ftrack-ldap-sync-selinux || return 1
	[[ ! -e /usr/sbin/ftrack-syncd && ! -e /usr/lib64/security/pam_ftrack.so ]] &&
		[[ ! -e /etc/ftrack-syncd.conf ]] && cmp /tmp/conf.mine /etc/ftrack-syncd.conf.rpmsave &&
		! grep -q '^[^#]*pam_ftrack' /etc/authselect/custom/ftrack/system-auth \
			/etc/authselect/custom/ftrack/password-auth &&
		cmp "$PKG/system-auth" /etc/authselect/custom/ftrack/system-auth &&
		[[ ! -e /var/lib/ftrack-syncd ]] &&
		getent passwd ftrack-syncd >/dev/null
}

echo "root: the shim-built RPMs in a throwaway root (rpm -i, -U, -e with their scriptlets)"
check "rpm -i both RPMs (%pre, %post)" t_install || exit
check "%pre: the system accounts ftrack-syncd and ftrack-syncd-ext" t_accounts
check "owners and modes as %files says (the accounts resolved)" t_owners
check "rpm -V: both packages verify" t_verify
check "an authselect profile with pam_ftrack (the installed script), a changed config" t_profile
check "rpm -U: config kept, account kept, profile kept" t_upgrade
check "rpm -e: pam_ftrack out of the profile (%preun), config saved as .rpmsave, accounts kept" t_erase
