#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# etc/rpm/shim-sysusers.sh FILE: part of etc/rpm/macros.shim (a payload
# check on Debian only; never for EL, where systemd-rpm-macros defines
# %sysusers_create_compat).  Prints, for each "u NAME - GECOS HOME" line
# of a sysusers.d file, the commands that make the system group and
# account if they are missing, as %pre shell.
awk '
$1 == "u" {
	name = $2
	if (match($0, /"[^"]*"/)) {
		gecos = substr($0, RSTART + 1, RLENGTH - 2)
		rest = substr($0, RSTART + RLENGTH)
	} else {
		gecos = ""
		rest = ""
	}
	split(rest, f, " ")
	home = (f[1] != "" && f[1] != "-") ? f[1] : "/"
	printf "getent group '\''%s'\'' >/dev/null || groupadd -r '\''%s'\'' || :\n", name, name
	printf "getent passwd '\''%s'\'' >/dev/null || useradd -r -g '\''%s'\'' -d '\''%s'\'' -s /sbin/nologin -c '\''%s'\'' '\''%s'\'' || :\n", name, name, home, gecos, name
}' "$1"
