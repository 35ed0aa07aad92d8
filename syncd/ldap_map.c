/* SPDX-License-Identifier: Apache-2.0 */
/* ldap_map.c: the [mapping] template grammar, compiled once. */
#include "ldap_map.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ft_err.h"
#include "ft_util.h"
#include "ldap_map_int.h"

#define ATTR_NAME_MAX 128

const char *const lmap_field_names[F_COUNT] = {
	"username", "email", "first_name", "last_name", "full_name",
};

void
lmap_msg(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (buf == NULL || len == 0)
		return;
	va_start(ap, fmt);
	/* A message cut short is still a message. */
	(void)vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}

static bool
is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* A name (letter, then letters, digits, '-') or an OID (1.2.3). */
static bool
attr_type_valid(const char *s, size_t len)
{
	size_t i;
	bool dot = true; /* an OID component may start here */

	if (len == 0)
		return false;
	if (is_alpha(s[0])) {
		for (i = 1; i < len; i++)
			if (!(is_alpha(s[i]) || is_digit(s[i]) || s[i] == '-'))
				return false;
		return true;
	}
	for (i = 0; i < len; i++) {
		if (s[i] == '.' && !dot)
			dot = true;
		else if (is_digit(s[i]))
			dot = false;
		else
			return false;
	}
	return !dot;
}

bool
ldap_map_attr_valid(const char *s, size_t len)
{
	size_t n = 0, i;

	if (len == 0 || len > ATTR_NAME_MAX)
		return false;
	while (n < len && s[n] != ';')
		n++;
	if (!attr_type_valid(s, n))
		return false;
	for (i = n; i < len; i++)
		if (!(is_alpha(s[i]) || is_digit(s[i]) || s[i] == '-' ||
		      (s[i] == ';' && i + 1 < len && s[i + 1] != ';')))
			return false;
	return true;
}

/* UTF-8 and no control character (C0, DEL, C1). */
bool
lmap_clean_text(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i;

	if (!ft_utf8_valid(s, len))
		return false;
	for (i = 0; i < len; i++) {
		if (p[i] < 0x20 || p[i] == 0x7f)
			return false;
		if (p[i] == 0xc2 && i + 1 < len && p[i + 1] >= 0x80 &&
		    p[i + 1] <= 0x9f)
			return false;
	}
	return true;
}

const char *
ldap_map_value_check(const char *s, size_t len)
{
	if (len > MAP_VALUE_MAX)
		return "is longer than " FT_STR(MAP_VALUE_MAX) " bytes";
	if (!ft_utf8_valid(s, len))
		return "is not valid UTF-8";
	if (!lmap_clean_text(s, len))
		return "holds a control character";
	return NULL;
}

static int
add_part(struct field *f, const char *text, size_t len, bool is_attr,
	 bool lower)
{
	char *t = strndup(text, len);

	if (t == NULL)
		return FT_E_NOMEM;
	f->parts[f->nparts].text = t;
	f->parts[f->nparts].is_attr = is_attr;
	f->parts[f->nparts].lower = lower;
	f->nparts++;
	return FT_OK;
}

/* "{name}" or "{name|lower}": ref points after '{', len up to the '}'. */
static int
add_ref(struct field *f, const char *src, const char *ref, size_t len,
	char *err, size_t errlen)
{
	const char *bar = memchr(ref, '|', len);
	size_t nlen = bar != NULL ? (size_t)(bar - ref) : len;
	bool lower = false;

	if (bar != NULL) {
		size_t flen = len - nlen - 1;

		if (flen != 5 || strncmp(bar + 1, "lower", 5) != 0) {
			lmap_msg(
				err, errlen,
				"unknown filter '%.*s' in '%s' (the one filter "
				"is |lower)",
				(int)flen, bar + 1, src);
			return FT_E_INVAL;
		}
		lower = true;
	}
	if (!ldap_map_attr_valid(ref, nlen)) {
		lmap_msg(err, errlen, "'%.*s' is not an attribute name in '%s'",
			 (int)nlen, ref, src);
		return FT_E_INVAL;
	}
	return add_part(f, ref, nlen, true, lower);
}

static int
parse_template(struct field *f, const char *src, char *err, size_t errlen)
{
	const char *p = src;
	int r;

	f->is_template = true;
	while (*p != '\0') {
		const char *end = NULL;

		if (*p == '}') {
			lmap_msg(err, errlen, "unexpected '}' in '%s'", src);
			return FT_E_INVAL;
		}
		if (*p == '{') {
			end = strchr(p, '}');
			if (end == NULL) {
				lmap_msg(err, errlen, "unclosed '{' in '%s'",
					 src);
				return FT_E_INVAL;
			}
			r = add_ref(f, src, p + 1, (size_t)(end - p - 1), err,
				    errlen);
			p = end + 1;
		} else {
			size_t n = strcspn(p, "{}");

			r = add_part(f, p, n, false, false);
			p += n;
		}
		if (r < 0)
			return r;
	}
	return FT_OK;
}

/* The one template grammar: src into f; err says what is wrong. */
static int
parse_field(struct field *f, const char *src, char *err, size_t errlen)
{
	size_t len = src != NULL ? strlen(src) : 0;

	if (len == 0)
		return FT_OK;
	if (len > MAP_TEMPLATE_MAX || !lmap_clean_text(src, len)) {
		lmap_msg(
			err, errlen,
			"not UTF-8 text of at most %d bytes without control characters",
			MAP_TEMPLATE_MAX);
		return FT_E_INVAL;
	}
	f->parts = calloc(len + 1, sizeof(*f->parts));
	if (f->parts == NULL)
		return FT_E_NOMEM;
	if (strpbrk(src, "{}") != NULL)
		return parse_template(f, src, err, errlen);
	if (!ldap_map_attr_valid(src, len)) {
		lmap_msg(err, errlen,
			 "'%s' is neither an attribute name nor a template",
			 src);
		return FT_E_INVAL;
	}
	return add_part(f, src, len, true, false);
}

static void
add_attr(struct ldap_map *map, const char *name)
{
	size_t i;

	for (i = 0; i < map->nattrs; i++)
		if (strcasecmp(map->attrs[i], name) == 0)
			return;
	map->attrs[map->nattrs++] = name;
}

/* Fill map->attrs; the array is sized for every reference. */
static int
collect_attrs(struct ldap_map *map)
{
	size_t i, j, n = 3;

	for (i = 0; i < F_COUNT; i++)
		n += map->f[i].nparts;
	map->attrs = calloc(n, sizeof(*map->attrs));
	if (map->attrs == NULL)
		return FT_E_NOMEM;
	for (i = 0; i < F_COUNT; i++)
		for (j = 0; j < map->f[i].nparts; j++)
			if (map->f[i].parts[j].is_attr)
				add_attr(map, map->f[i].parts[j].text);
	add_attr(map, map->login_attr);
	if (map->uuid_attr != NULL)
		add_attr(map, map->uuid_attr);
	return FT_OK;
}

static int
compile_ids(struct ldap_map *map, const char *login_attr, const char *uuid_attr,
	    char *err, size_t errlen)
{
	if (login_attr == NULL ||
	    !ldap_map_attr_valid(login_attr, strlen(login_attr))) {
		lmap_msg(err, errlen,
			 "login_attribute: '%s' is not an attribute name",
			 login_attr != NULL ? login_attr : "");
		return FT_E_INVAL;
	}
	if (uuid_attr != NULL && *uuid_attr != '\0' &&
	    !ldap_map_attr_valid(uuid_attr, strlen(uuid_attr))) {
		lmap_msg(err, errlen,
			 "uuid_attribute: '%s' is not an attribute name",
			 uuid_attr);
		return FT_E_INVAL;
	}
	map->login_attr = strdup(login_attr);
	if (map->login_attr == NULL)
		return FT_E_NOMEM;
	if (uuid_attr != NULL && *uuid_attr != '\0') {
		map->uuid_attr = strdup(uuid_attr);
		if (map->uuid_attr == NULL)
			return FT_E_NOMEM;
	}
	return FT_OK;
}

int
ldap_map_compile(const struct config_mapping *m, const char *login_attr,
		 const char *uuid_attr, struct ldap_map **ret, char *err,
		 size_t errlen)
{
	const char *src[F_COUNT] = {m->username, m->email, m->first_name,
				    m->last_name, m->full_name};
	struct ldap_map *map = NULL;
	int r = FT_E_NOMEM;
	size_t i;

	map = calloc(1, sizeof(*map));
	if (map == NULL)
		goto out;
	for (i = 0; i < F_COUNT; i++) {
		char why[MAP_ERR_MAX];

		r = parse_field(&map->f[i], src[i], why, sizeof(why));
		if (r == FT_E_INVAL)
			lmap_msg(err, errlen, "%s: %s", lmap_field_names[i],
				 why);
		if (r < 0)
			goto out;
	}
	if (map->f[F_USERNAME].nparts == 0) {
		lmap_msg(err, errlen, "username: must be mapped");
		r = FT_E_INVAL;
		goto out;
	}
	r = compile_ids(map, login_attr, uuid_attr, err, errlen);
	if (r < 0)
		goto out;
	r = collect_attrs(map);
	if (r < 0)
		goto out;
	*ret = map;
	map = NULL;
out:
	if (r == FT_E_NOMEM)
		lmap_msg(err, errlen, "out of memory");
	ldap_map_free(map);
	return r;
}

static void
field_clear(struct field *f)
{
	size_t j;

	for (j = 0; j < f->nparts; j++)
		free(f->parts[j].text);
	free(f->parts);
}

int
ldap_map_check(const char *src, char *err, size_t errlen)
{
	struct field f = {NULL, 0, false};
	int r;

	if (src == NULL || *src == '\0') {
		lmap_msg(err, errlen, "must not be empty");
		return FT_E_INVAL;
	}
	r = parse_field(&f, src, err, errlen);
	if (r == FT_E_NOMEM)
		lmap_msg(err, errlen, "out of memory");
	field_clear(&f);
	return r;
}

void
ldap_map_free(struct ldap_map *map)
{
	size_t i;

	if (map == NULL)
		return;
	for (i = 0; i < F_COUNT; i++)
		field_clear(&map->f[i]);
	free(map->login_attr);
	free(map->uuid_attr);
	free(map->attrs);
	free(map);
}

const char *const *
ldap_map_attrs(const struct ldap_map *map)
{
	return map->attrs;
}
