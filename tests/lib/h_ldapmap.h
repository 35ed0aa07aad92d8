/* SPDX-License-Identifier: Apache-2.0 */
/*
 * h_ldapmap.h: test library: what the ldap_map and ldap_map_apply suites
 * share (h_ldapmap.c, prefix h_lm_): a [mapping] written as a table row,
 * compiled with the defaults of DESIGN.md filling what the row leaves out.
 * Test code, single-threaded; nothing here asserts.
 */
#ifndef FT_H_LDAPMAP_H
#define FT_H_LDAPMAP_H

#include <stddef.h>

#include "config.h"
#include "ldap_map.h"

/* [mapping] as text; NULL fields take the defaults of DESIGN.md. */
struct h_lm_map {
	const char *username, *email, *first_name, *last_name, *full_name;
	const char *login, *uuid;
	int none; /* 1: the field left NULL is unmapped, not defaulted */
};

/*
 * ldap_map_compile of t (username uid, email mail, first_name givenName,
 * last_name sn, login uid, uuid entryUUID where t says NULL, unless none);
 * its code, *ret and err as there.
 */
int h_lm_compile(const struct h_lm_map *t, struct ldap_map **ret, char *err,
		 size_t len);

/* Free the strings of cm (not cm itself). */
void h_lm_mapping_clear(struct config_mapping *cm);

#endif
