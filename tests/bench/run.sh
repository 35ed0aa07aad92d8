#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# run.sh: every benchmark of issue 6 (DESIGN.md section 8), one after the
# other, then build/bench/results.md (a Markdown table of results and the
# machine they ran on), which it also prints.  `make bench` runs it after
# building; run it from the top of the repository.
#
#   bash tests/bench/run.sh              the full run (about 15 minutes on 2 cores)
#   BENCH_QUICK=1 bash tests/bench/run.sh   a smoke run of each benchmark
#                                        (small sizes, one round; about a minute)
#   BENCH="fleet storm" bash tests/bench/run.sh   only the sections named
#                                        (login-path first-login storm
#                                        reconcile naive memory queue fleet
#                                        transform groups), keeping the others' last
#                                        results for the report; also
#                                        BENCH=fleet make bench
#
# 9. fleet (tests/bench/bench_fleet.py, issue 14) also needs openssl.
# Needs: the build (build/syncd/ftrack-syncd, build/pam_ftrack/pam_ftrack.so,
# build/bench/bench_storm), slapd and ldap-utils, curl, GNU time
# (/usr/bin/time), python3, python3-ldap for the naive baseline, and
# gnuplot (gnuplot-nox) for the login path's picture: build/bench/
# login-path.png, copied to docs/bench/login-path.png (the one README.md
# shows; commit it after a full run).  Runs
# as root (the storm drives libpam as root so the module may spool, and the
# login events come from uid 0).  Every server is private, on 127.0.0.1,
# started and stopped by bench.py.  Fixtures are cached in
# build/bench-cache/ between runs.
#
# Exit status: 0 when every benchmark ran (a missed target is reported, not
# an error), 1 when one could not run (its section says why).
set -uo pipefail

cd "$(dirname "$0")/../.." || exit 1
PY=${PYTHON:-python3}
BENCH_PY=tests/bench/bench.py
FLEET=tests/bench/bench_fleet.py
OUT=build/bench
QUICK=()
mode="full run"
if [[ "${BENCH_QUICK:-0}" == 1 ]]; then
	QUICK=(--quick)
	mode="quick smoke run (BENCH_QUICK=1)"
fi

missing=()
for f in build/syncd/ftrack-syncd build/pam_ftrack/pam_ftrack.so "$OUT/bench_storm" "$OUT/bench_pam"; do
	[[ -x "$f" || -f "$f" ]] || missing+=("$f")
done
for t in slapd slapadd ldapsearch curl openssl /usr/bin/time gnuplot "$PY"; do
	command -v "$t" >/dev/null 2>&1 || missing+=("$t")
done
if ((${#missing[@]})); then
	echo "run.sh: missing: ${missing[*]} (run 'make bench', which builds and installs what is needed)" >&2
	exit 1
fi
if [[ "$(id -u)" != 0 ]]; then
	echo "run.sh: run as root (the storm drives libpam as root; events come from uid 0)" >&2
	exit 1
fi

echo "run.sh: $mode; results in $OUT/results.md"
start=$SECONDS
# BENCH= keeps the other sections' last results for the report
[[ -z "${BENCH:-}" ]] && rm -rf "$OUT/results" "$OUT/logs"
mkdir -p "$OUT/results"
cp /proc/loadavg "$OUT/results/loadavg-start.txt" 2>/dev/null
failed=()

SECTIONS=(login-path first-login storm reconcile naive memory queue fleet transform groups)
read -ra WANT <<<"${BENCH:-${SECTIONS[*]}}"
for b in "${WANT[@]}"; do
	if [[ " ${SECTIONS[*]} " != *" $b "* ]]; then
		echo "run.sh: BENCH: unknown section '$b' (one of: ${SECTIONS[*]})" >&2
		exit 1
	fi
done
[[ -n "${BENCH:-}" ]] && mode="$mode, only: ${WANT[*]}"

wanted() { [[ " ${WANT[*]} " == *" $1 "* ]]; }

step() {
	local name=$1 t0=$SECONDS
	shift
	echo "run.sh: == $name"
	if "$@"; then
		echo "run.sh: == $name: done in $((SECONDS - t0)) s"
	else
		echo "run.sh: == $name: FAILED (after $((SECONDS - t0)) s)" >&2
		failed+=("$name")
	fi
}

# 1. The login path: tests/bench/bench_pam.c (10,000 session opens per case,
# interleaved, then 2,000 with a fork per cycle; it prints its own Markdown
# tables), and its CDFs drawn by gnuplot.  Called through step.
# shellcheck disable=SC2317
login_path() {
	local bin=$OUT/bench_pam md=$OUT/results/1-login-path.md n=10000
	local cdf=$OUT/cdf png=$OUT/login-path.png
	[[ ${#QUICK[@]} -gt 0 ]] && n=500
	rm -rf "$cdf" && mkdir -p "$cdf" || return 1
	{
		echo "## 1. Login path"
		echo
		echo "tests/bench/bench_pam.c, \`bench_pam $n\`: pam_open_session + pam_close_session through the real libpam."
		echo
		"$bin" "$n" build/pam_ftrack/pam_ftrack.so "$cdf"
	} >"$md.tmp" && mv "$md.tmp" "$md" || return 1
	gnuplot -e "dir='$cdf'; out='$png'" tests/bench/plot_login.gp || return 1
	# the picture README.md shows: not from smoke runs
	if [[ ${#QUICK[@]} -eq 0 ]]; then
		mkdir -p docs/bench && cp "$png" docs/bench/login-path.png
	fi
}

# the fixtures: for the sections that read them
if [[ -z "${BENCH:-}" ]] || wanted first-login || wanted storm ||
	wanted reconcile || wanted naive || wanted memory || wanted transform ||
	wanted groups; then
	step fixtures "$PY" "$BENCH_PY" "${QUICK[@]}" fixtures
fi
wanted fleet && step "fleet fixtures" "$PY" "$FLEET" "${QUICK[@]}" fixtures
if ((${#failed[@]})); then
	echo "run.sh: unable to make the fixtures" >&2
	exit 1
fi
wanted login-path && step "1. login path" login_path
wanted first-login && step "2. first login" "$PY" "$BENCH_PY" "${QUICK[@]}" first-login
wanted storm && step "3. login storm" "$PY" "$BENCH_PY" "${QUICK[@]}" storm
wanted reconcile && step "4. full reconcile" "$PY" "$BENCH_PY" "${QUICK[@]}" reconcile
wanted naive && step "5. naive sync" "$PY" "$BENCH_PY" "${QUICK[@]}" naive
wanted memory && step "6. memory" "$PY" "$BENCH_PY" "${QUICK[@]}" memory
wanted queue && step "7. queue" "$PY" "$BENCH_PY" "${QUICK[@]}" queue
wanted fleet && step "9. fleet" "$PY" "$FLEET" "${QUICK[@]}" run
wanted transform && step "10. transform" "$PY" "$BENCH_PY" "${QUICK[@]}" transform
wanted groups && step "11. groups" "$PY" "$BENCH_PY" "${QUICK[@]}" groups

cmd="make bench"
[[ ${#QUICK[@]} -gt 0 ]] && cmd="BENCH_QUICK=1 $cmd"
[[ -n "${BENCH:-}" ]] && cmd="BENCH=\"${WANT[*]}\" $cmd"
printf '%s\n' "${failed[@]}" >"$OUT/results/failed.txt"
"$PY" "$BENCH_PY" "${QUICK[@]}" report --seconds "$((SECONDS - start))" --command "$cmd"
if ((${#failed[@]})); then
	echo "run.sh: FAILED: ${failed[*]} (see the messages above)" >&2
	exit 1
fi
exit 0
