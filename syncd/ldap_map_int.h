/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ldap_map_int.h: what the two files of the mapping share: the compiled
 * form of [mapping] (ldap_map.c: the grammar, compiling) that
 * ldap_map_apply.c evaluates per entry.  Pure, non-logging.
 */
#ifndef LDAP_MAP_INT_H
#define LDAP_MAP_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "ft_attrs.h"
#include "ldap_map.h"

enum field_id { F_USERNAME, F_EMAIL, F_FIRST, F_LAST, F_FULL, F_COUNT };

/* A piece of a field: literal text, or a reference to an attribute. */
struct part {
	char *text; /* the literal, or the attribute name */
	bool is_attr;
	bool lower;
};

struct field {
	struct part *parts;
	size_t nparts;    /* 0: unmapped */
	bool is_template; /* written with braces (for messages) */
};

struct ldap_map {
	struct field f[F_COUNT];
	char *login_attr;
	char *uuid_attr;    /* NULL: none */
	const char **attrs; /* NULL-terminated; names borrowed from above */
	size_t nattrs;
};

/* The ftrack field names, by enum field_id ("username", "email", ...). */
extern const char *const lmap_field_names[F_COUNT];

/* snprintf into buf (capacity len; NULL or 0: nothing); cut short is ok. */
void lmap_msg(char *buf, size_t len, const char *fmt, ...) FT_PRINTF(3, 4);

/* UTF-8 and no control character (C0, DEL, C1). */
bool lmap_clean_text(const char *s, size_t len);

#endif
