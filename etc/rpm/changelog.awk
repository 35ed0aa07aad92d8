# SPDX-License-Identifier: Apache-2.0
# etc/rpm/changelog.awk: debian/changelog as the spec's %changelog (used by
# `make srpm`): each entry's version becomes VERSION-1, its bullets "- ...",
# its continuation lines kept, its date "Thu Nov 27 2025".
#   awk -f etc/rpm/changelog.awk debian/changelog
/^[^ \t]/ {
	v = $2
	gsub(/[()]/, "", v)
	n = 0
	next
}
/^  \* / {
	body[++n] = "- " substr($0, 5)
	next
}
/^    [^ ]/ {
	body[++n] = "  " substr($0, 5)
	next
}
/^ -- / {
	line = substr($0, 5)
	i = index(line, ">")
	who = substr(line, 1, i)
	# "  Thu, 27 Nov 2025 14:00:00 +0000"
	split(substr(line, i + 1), d, /[ ,]+/)
	if (out++)
		print ""
	printf "* %s %s %s %s %s - %s-1\n", d[2], d[4], d[3], d[5], who, v
	for (k = 1; k <= n; k++)
		print body[k]
}
