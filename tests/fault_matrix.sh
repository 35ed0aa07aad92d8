#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# fault_matrix.sh: run the suite 'faults' (tests/integration/check_faults.c) and write
# its fault matrix and resource bounds, as Markdown tables, into README.md
# between the lines <!-- fault-matrix:begin --> and <!-- fault-matrix:end -->.
#
#   tests/fault_matrix.sh RUNNER [README]      (make fault-matrix)
#
# The tables are built from the lines the suite writes to $FAULT_MATRIX_OUT,
# one per row that ran and passed ("FAULT|fault|sees|lost|deactivated",
# "BOUND|case|measured|bound"), so they show what actually ran.  When the
# suite fails, README.md is left as it was and the exit status is 1.
set -euo pipefail

runner=${1:?usage: $0 RUNNER [README]}
readme=${2:-README.md}
begin='<!-- fault-matrix:begin -->'
end='<!-- fault-matrix:end -->'

if ! grep -qxF "$begin" "$readme" || ! grep -qxF "$end" "$readme"; then
	echo "$0: $readme has no $begin ... $end block" >&2
	exit 2
fi
lines=$(mktemp)
table=$(mktemp)
trap 'rm -f "$lines" "$table" "$readme.tmp"' EXIT

start=$(date +%s)
if ! FAULT_MATRIX_OUT=$lines CK_RUN_SUITE=faults CK_DEFAULT_TIMEOUT=240 \
	"$runner"; then
	echo "fault-matrix: the suite 'faults' failed; $readme left as it was" >&2
	exit 1
fi
seconds=$(($(date +%s) - start))

grep -q '^FAULT|' "$lines" || {
	echo "fault-matrix: no row was written (FAULTS_ONLY set?)" >&2
	exit 1
}
{
	echo '| fault | what a user sees | what is lost | wrongly deactivated |'
	echo '|---|---|---|---|'
	awk -F'|' '$1 == "FAULT" { printf "| %s | %s | %s | %s |\n", $2, $3, $4, $5 }' "$lines"
	if grep -q '^BOUND|' "$lines"; then
		echo
		echo '| resource bound | measured | asserted |'
		echo '|---|---|---|'
		awk -F'|' '$1 == "BOUND" { printf "| %s | %s | %s |\n", $2, $3, $4 }' "$lines"
	fi
	echo
	# shellcheck disable=SC2016 # the backquotes are Markdown
	printf '%s rows and %s bounds passed in %s s on %s CPUs (`make fault-matrix`).\n' \
		"$(grep -c '^FAULT|' "$lines")" "$(grep -c '^BOUND|' "$lines" || true)" \
		"$seconds" "$(nproc)"
} >"$table"

awk -v begin="$begin" -v end="$end" -v table="$table" '
	$0 == begin { print; while ((getline l < table) > 0) print l; skip = 1; next }
	$0 == end { skip = 0 }
	!skip { print }
' "$readme" >"$readme.tmp"
mv "$readme.tmp" "$readme"
echo "fault-matrix: $readme updated"
