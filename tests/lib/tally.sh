# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# tests/lib/tally.sh: the tally of the shell suites (check_install.sh,
# check_sssd.sh, check_rpm.sh and the parts they run in a throwaway root,
# which get this file prepended): one line per test and the counts the
# caller prints as "SUITE: N passed, N failed, N skipped".  Sourced, bash.
# A test's output goes to $W/check.log ($W: the caller's temporary folder;
# /tmp in a throwaway root).

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
	local d=$1 rc=0 log=${W:-/tmp}/check.log
	shift
	"$@" >"$log" 2>&1 </dev/null || rc=$?
	if [[ $rc == 0 ]]; then
		pass "$d"
		return 0
	fi
	fail "$d"
	sed 's/^/        /' "$log"
	return 1
}
have() { command -v "$1" >/dev/null 2>&1; }
