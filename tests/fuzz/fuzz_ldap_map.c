/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_ldap_map.c: [mapping] templates and LDAP entry mapping
 * (syncd/mapping.h).
 *
 * Input, lines cut at '\n':
 *	username template, email, first_name, last_name, full_name
 *	(an empty line: unmapped), login attribute, uuid attribute,
 *	the entry's DN, then "name=value" lines, one per attribute value
 *	(consecutive lines with the same name are one multi-valued
 *	attribute; a line without '=' is an attribute without values).
 * Every template, name and value is its own exact-size heap copy, so
 * that ASan sees any read past an end.  Checked: compile and apply codes,
 * a message on failure, ldap_map_attrs listing each name once (ignoring
 * case) with the login and uuid attributes, and on success every rule of
 * the header (required fields, lengths, UTF-8 without controls, the DN
 * copied).  A second mapping "{A|lower}" / "{A}" on the first attribute
 * checks that lowering keeps the byte length.
 */
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "ft_err.h"
#include "ft_user.h"
#include "ft_util.h"
#include "fuzz.h"
#include "ldap_map.h"

#define NHEAD      8   /* template, id and DN lines before the attributes */
#define ATTRS_MAX  64  /* distinct attribute runs */
#define VALUES_MAX 256 /* values in all */

struct input {
	char *head[NHEAD]; /* NULL when empty */
	struct map_attr attrs[ATTRS_MAX];
	struct map_val vals[VALUES_MAX];
	char *names[ATTRS_MAX];
	char *owned[VALUES_MAX]; /* vals[i].p, writable, for free() */
	size_t nattrs, nvals;
};

/* A NUL-terminated copy up to the first NUL; NULL when that is empty. */
static char *
copy_str(const uint8_t *p, size_t len)
{
	char *s;

	if (len == 0 || p[0] == '\0')
		return NULL;
	s = strndup((const char *)p, len);
	if (s == NULL)
		fuzz_fail("out of memory");
	return s;
}

/* Add value v (len bytes) to attribute `name`, or start a new one. */
static void
add_value(struct input *in, const uint8_t *name, size_t nlen, const uint8_t *v,
	  size_t vlen, bool has_value)
{
	struct map_attr *a = in->nattrs > 0 ? &in->attrs[in->nattrs - 1] : NULL;
	char *copy;

	if (in->nvals == VALUES_MAX)
		return;
	if (a == NULL || strlen(a->name) != nlen ||
	    memcmp(a->name, name, nlen) != 0 || !has_value) {
		if (in->nattrs == ATTRS_MAX)
			return;
		in->names[in->nattrs] = strndup((const char *)name, nlen);
		if (in->names[in->nattrs] == NULL)
			fuzz_fail("out of memory");
		a = &in->attrs[in->nattrs];
		a->name = in->names[in->nattrs++];
		a->vals = &in->vals[in->nvals];
		a->nvals = 0;
	}
	if (!has_value)
		return;
	copy = malloc(vlen > 0 ? vlen : 1);
	if (copy == NULL)
		fuzz_fail("out of memory");
	memcpy(copy, v, vlen);
	in->owned[in->nvals] = copy;
	in->vals[in->nvals].p = copy;
	in->vals[in->nvals++].len = vlen;
	a->nvals++;
}

static void
parse_input(struct input *in, const uint8_t *data, size_t size)
{
	const uint8_t *p = data, *end = data + size;
	size_t line = 0;

	memset(in, 0, sizeof(*in));
	while (p < end) {
		const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
		const uint8_t *e = nl != NULL ? nl : end;
		size_t len = (size_t)(e - p);
		const uint8_t *eq = memchr(p, '=', len);

		if (line < NHEAD)
			in->head[line] = copy_str(p, len);
		else if (eq != NULL)
			add_value(in, p, (size_t)(eq - p), eq + 1,
				  (size_t)(e - eq - 1), true);
		else
			add_value(in, p, len, NULL, 0, false);
		line++;
		p = nl != NULL ? nl + 1 : end;
	}
}

static void
free_input(struct input *in)
{
	size_t i;

	for (i = 0; i < NHEAD; i++)
		free(in->head[i]);
	for (i = 0; i < in->nattrs; i++)
		free(in->names[i]);
	for (i = 0; i < in->nvals; i++)
		free(in->owned[i]);
}

/* UTF-8, no C0, DEL or C1 control, 1 to max bytes. */
static bool
clean(const char *s, size_t max)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i, len = strlen(s);

	if (len == 0 || len > max || !ft_utf8_valid(s, len))
		return false;
	for (i = 0; i < len; i++) {
		if (p[i] < 0x20 || p[i] == 0x7f)
			return false;
		if (p[i] == 0xc2 && i + 1 < len && p[i + 1] <= 0x9f)
			return false;
	}
	return true;
}

static void
check_attrs(const struct ldap_map *map, const char *login, const char *uuid)
{
	const char *const *a = ldap_map_attrs(map);
	bool has_login = false, has_uuid = uuid == NULL;
	size_t i, j;

	fuzz_check(a != NULL && login != NULL);
	for (i = 0; a[i] != NULL; i++) {
		for (j = 0; j < i; j++)
			if (strcasecmp(a[i], a[j]) == 0)
				fuzz_fail("ldap_map_attrs lists a name twice");
		has_login = has_login || strcasecmp(a[i], login) == 0;
		has_uuid = has_uuid || strcasecmp(a[i], uuid) == 0;
	}
	fuzz_check(has_login && has_uuid);
}

static void
check_user(const struct ft_user *u, const struct input *in)
{
	const char *opt[] = {u->email, u->first_name, u->last_name};
	size_t i;

	fuzz_check(u->username != NULL && clean(u->username, MAP_VALUE_MAX));
	fuzz_check(u->login != NULL && clean(u->login, MAP_VALUE_MAX));
	for (i = 0; i < sizeof(opt) / sizeof(opt[0]); i++)
		fuzz_check(opt[i] == NULL || clean(opt[i], MAP_VALUE_MAX));
	fuzz_check((u->uuid != NULL) == (in->head[6] != NULL));
	fuzz_check(u->uuid == NULL || clean(u->uuid, MAP_VALUE_MAX));
	fuzz_check(u->dn != NULL && strlen(u->dn) <= MAP_DN_MAX);
	fuzz_check(strcmp(u->dn, in->head[7] != NULL ? in->head[7] : "") == 0);
	fuzz_check(u->id == NULL && u->deactivated == NULL);
	fuzz_check(!u->is_active && !u->disabled);
}

static void
check_apply(const struct ldap_map *map, const struct map_entry *e,
	    const struct input *in)
{
	struct ft_user u;
	char reason[256];
	int r;

	memset(&u, 0, sizeof(u));
	reason[0] = '\0';
	r = ldap_map_apply(map, e, &u, reason, sizeof(reason));
	if (r != FT_OK) {
		fuzz_check(r == FT_E_INVAL || r == FT_E_NOMEM);
		fuzz_check(reason[0] != '\0');
		fuzz_check(u.username == NULL && u.dn == NULL);
		return;
	}
	check_user(&u, in);
	ft_user_clear(&u);
}

/* "{A|lower}" and "{A}" of the same value have the same length. */
static void
check_lower(const struct map_entry *e)
{
	struct config_mapping m = {0};
	char lower[160], plain[160], err[256];
	struct ldap_map *map = NULL;
	struct ft_user u;

	if (e->nattrs == 0 || strlen(e->attrs[0].name) > 128)
		return;
	(void)snprintf(lower, sizeof(lower), "{%s|lower}", e->attrs[0].name);
	(void)snprintf(plain, sizeof(plain), "{%s}", e->attrs[0].name);
	m.username = lower;
	m.email = plain;
	if (ldap_map_compile(&m, e->attrs[0].name, NULL, &map, err,
			     sizeof(err)) != FT_OK)
		return;
	memset(&u, 0, sizeof(u));
	if (ldap_map_apply(map, e, &u, err, sizeof(err)) == FT_OK) {
		fuzz_check(u.email != NULL);
		fuzz_check(strlen(u.username) == strlen(u.email));
		ft_user_clear(&u);
	}
	ldap_map_free(map);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct input in;
	struct config_mapping m;
	struct map_entry e;
	struct ldap_map *map = NULL;
	char err[256];
	int r;

	parse_input(&in, data, size);
	m = (struct config_mapping){.username = in.head[0],
				    .email = in.head[1],
				    .first_name = in.head[2],
				    .last_name = in.head[3],
				    .full_name = in.head[4]};
	e = (struct map_entry){in.head[7] != NULL ? in.head[7] : "", in.nattrs,
			       in.attrs};
	err[0] = '\0';
	r = ldap_map_compile(&m, in.head[5], in.head[6], &map, err,
			     sizeof(err));
	if (r == FT_OK) {
		fuzz_check(map != NULL);
		check_attrs(map, in.head[5], in.head[6]);
		check_apply(map, &e, &in);
		ldap_map_free(map);
	} else {
		fuzz_check(r == FT_E_INVAL || r == FT_E_NOMEM);
		fuzz_check(err[0] != '\0');
	}
	check_lower(&e);
	free_input(&in);
	return 0;
}
