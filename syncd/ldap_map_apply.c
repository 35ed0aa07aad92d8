/* SPDX-License-Identifier: Apache-2.0 */
/* ldap_map_apply.c: a compiled [mapping] applied to one LDAP entry. */
#include "ldap_map.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ft_err.h"
#include "ft_util.h"
#include "ldap_map_int.h"

/* ---- applying -------------------------------------------------------- */

/* Latin Extended-A (U+0100..U+017F): capitals to small letters. */
static unsigned
lower_latin_ext_a(unsigned cp)
{
	if (cp == 0x130) /* İ lowercases to two code points: leave it */
		return cp;
	if ((cp <= 0x137 || (cp >= 0x14a && cp <= 0x177)) && cp % 2 == 0)
		return cp + 1;
	if (((cp >= 0x139 && cp <= 0x148) || (cp >= 0x179 && cp <= 0x17e)) &&
	    cp % 2 == 1)
		return cp + 1;
	if (cp == 0x178)
		return 0xff;
	return cp;
}

/* Lowercase one code point of U+0080..U+07FF, staying in that range. */
static unsigned
lower_cp(unsigned cp)
{
	if (cp >= 0xc0 && cp <= 0xde && cp != 0xd7)
		return cp + 0x20;
	if (cp >= 0x100 && cp <= 0x17f)
		return lower_latin_ext_a(cp);
	if (cp >= 0x391 && cp <= 0x3ab && cp != 0x3a2)
		return cp + 0x20;
	if (cp >= 0x410 && cp <= 0x42f)
		return cp + 0x20;
	if (cp >= 0x400 && cp <= 0x40f)
		return cp + 0x50;
	return cp;
}

/* Lowercase valid UTF-8 in place; the length never changes. */
static void
lower_utf8(char *s, size_t len)
{
	unsigned char *p = (unsigned char *)s;
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned cp;

		if (p[i] >= 'A' && p[i] <= 'Z') {
			p[i] = (unsigned char)(p[i] + ('a' - 'A'));
			continue;
		}
		if ((p[i] & 0xe0) != 0xc0 || i + 1 >= len)
			continue;
		cp = lower_cp((p[i] & 0x1fu) << 6 | (p[i + 1] & 0x3fu));
		p[i] = (unsigned char)(0xc0 | cp >> 6);
		p[i + 1] = (unsigned char)(0x80 | (cp & 0x3f));
		i++;
	}
}

static const struct map_val *
first_value(const struct map_entry *e, const char *name)
{
	size_t i;

	for (i = 0; i < e->nattrs; i++) {
		const struct map_attr *a = &e->attrs[i];

		if (a->name != NULL && strcasecmp(a->name, name) == 0)
			return a->nvals > 0 ? &a->vals[0] : NULL;
	}
	return NULL;
}

/* The first value of name, checked.  FT_E_NOTFOUND when absent. */
static int
text_value(const struct map_entry *e, const char *name,
	   const struct map_val **ret, char *reason, size_t rl)
{
	const struct map_val *v = first_value(e, name);
	const char *why;

	if (v == NULL) {
		lmap_msg(reason, rl, "no '%s' value", name);
		return FT_E_NOTFOUND;
	}
	why = ldap_map_value_check(v->p, v->len);
	if (why != NULL) {
		lmap_msg(reason, rl, "'%s' %s", name, why);
		return FT_E_INVAL;
	}
	*ret = v;
	return FT_OK;
}

/*
 * Render field i into out (MAP_VALUE_MAX + 1 bytes).  FT_E_NOTFOUND when
 * an attribute it uses is absent (reason says which).
 */
static int
render(const struct ldap_map *map, size_t i, const struct map_entry *e,
       char *out, char *reason, size_t rl)
{
	const struct field *f = &map->f[i];
	size_t k, len = 0;
	int r;

	for (k = 0; k < f->nparts; k++) {
		const struct part *pt = &f->parts[k];
		const struct map_val *v = NULL;
		const char *p = pt->text;
		size_t n = strlen(p);

		if (pt->is_attr) {
			r = text_value(e, pt->text, &v, reason, rl);
			if (r < 0)
				return r;
			p = v->p;
			n = v->len;
		}
		if (n > MAP_VALUE_MAX - len) {
			lmap_msg(reason, rl,
				 "the %s template gives more than %d bytes",
				 lmap_field_names[i], MAP_VALUE_MAX);
			return FT_E_INVAL;
		}
		memcpy(out + len, p, n);
		if (pt->lower)
			lower_utf8(out + len, n);
		len += n;
	}
	out[len] = '\0';
	return FT_OK;
}

/* *ret: the field's text, or NULL when unmapped, absent or empty. */
static int
eval_field(const struct ldap_map *map, size_t i, const struct map_entry *e,
	   char **ret, char *reason, size_t rl)
{
	char buf[MAP_VALUE_MAX + 1];
	int r;

	*ret = NULL;
	if (map->f[i].nparts == 0)
		return FT_OK;
	r = render(map, i, e, buf, reason, rl);
	if (r == FT_E_NOTFOUND && i != F_USERNAME)
		return FT_OK;
	if (r < 0)
		return r == FT_E_NOTFOUND ? FT_E_INVAL : r;
	if (buf[0] == '\0') {
		if (i != F_USERNAME)
			return FT_OK;
		lmap_msg(reason, rl, "empty username");
		return FT_E_INVAL;
	}
	*ret = strdup(buf);
	return *ret != NULL ? FT_OK : FT_E_NOMEM;
}

static int
eval_login(const struct ldap_map *map, const struct map_entry *e, char **ret,
	   char *reason, size_t rl)
{
	const struct map_val *v = NULL;
	int r;

	r = text_value(e, map->login_attr, &v, reason, rl);
	if (r < 0)
		return r == FT_E_NOTFOUND ? FT_E_INVAL : r;
	if (v->len == 0) {
		lmap_msg(reason, rl, "empty '%s' value", map->login_attr);
		return FT_E_INVAL;
	}
	*ret = strndup(v->p, v->len);
	return *ret != NULL ? FT_OK : FT_E_NOMEM;
}

static bool
uuid_binary(const char *name, const struct map_val *v)
{
	return strcasecmp(name, "objectGUID") == 0 ||
	       strcasecmp(name, "GUID") == 0 || !lmap_clean_text(v->p, v->len);
}

static int
eval_uuid(const struct ldap_map *map, const struct map_entry *e, char **ret,
	  char *reason, size_t rl)
{
	const char *name = map->uuid_attr;
	const struct map_val *v;
	char hex[MAP_VALUE_MAX + 1];

	*ret = NULL;
	if (name == NULL)
		return FT_OK;
	v = first_value(e, name);
	if (v == NULL || v->len == 0) {
		lmap_msg(reason, rl, "no '%s' value", name);
		return FT_E_INVAL;
	}
	if (!uuid_binary(name, v)) {
		if (v->len > MAP_VALUE_MAX) {
			lmap_msg(reason, rl, "'%s' is longer than %d bytes",
				 name, MAP_VALUE_MAX);
			return FT_E_INVAL;
		}
		*ret = strndup(v->p, v->len);
		return *ret != NULL ? FT_OK : FT_E_NOMEM;
	}
	if (ft_hex_encode(v->p, v->len, hex, sizeof(hex)) < 0) {
		lmap_msg(reason, rl, "binary '%s' is longer than %d bytes",
			 name, MAP_VALUE_MAX / 2);
		return FT_E_INVAL;
	}
	*ret = strdup(hex);
	return *ret != NULL ? FT_OK : FT_E_NOMEM;
}

/*
 * Split a full name: words are separated by runs of spaces; the last word
 * is the last name, the rest the first name.  One word: first name only.
 */
static int
split_full(const char *full, char **ret_first, char **ret_last)
{
	char buf[MAP_VALUE_MAX + 1];
	size_t len = 0;
	const char *p;
	char *sp;

	for (p = full; *p != '\0' && len < MAP_VALUE_MAX; p++)
		if (*p != ' ' || (len > 0 && buf[len - 1] != ' '))
			buf[len++] = *p;
	if (len > 0 && buf[len - 1] == ' ')
		len--;
	buf[len] = '\0';
	*ret_first = NULL;
	*ret_last = NULL;
	if (len == 0)
		return FT_OK;
	sp = strrchr(buf, ' ');
	if (sp != NULL) {
		*sp = '\0';
		*ret_last = strdup(sp + 1);
		if (*ret_last == NULL)
			return FT_E_NOMEM;
	}
	*ret_first = strdup(buf);
	return *ret_first != NULL ? FT_OK : FT_E_NOMEM;
}

/* Fill first/last name from full where they are NULL. */
static int
apply_full(char *v[F_COUNT])
{
	char *first = NULL, *last = NULL;
	int r;

	if (v[F_FULL] == NULL || (v[F_FIRST] != NULL && v[F_LAST] != NULL))
		return FT_OK;
	r = split_full(v[F_FULL], &first, &last);
	if (r == FT_OK && v[F_FIRST] == NULL) {
		v[F_FIRST] = first;
		first = NULL;
	}
	if (r == FT_OK && v[F_LAST] == NULL) {
		v[F_LAST] = last;
		last = NULL;
	}
	free(first);
	free(last);
	return r;
}

static int
copy_dn(const struct map_entry *e, char **ret, char *reason, size_t rl)
{
	size_t len = e->dn != NULL ? strlen(e->dn) : 0;

	if (len == 0 || len > MAP_DN_MAX || !ft_utf8_valid(e->dn, len)) {
		lmap_msg(reason, rl,
			 "the DN is empty, longer than %d bytes or not UTF-8",
			 MAP_DN_MAX);
		return FT_E_INVAL;
	}
	*ret = strdup(e->dn);
	return *ret != NULL ? FT_OK : FT_E_NOMEM;
}

int
ldap_map_apply(const struct ldap_map *map, const struct map_entry *entry,
	       struct ft_user *ret_user, char *reason, size_t reasonlen)
{
	struct ft_user u = {0};
	char *v[F_COUNT] = {NULL};
	size_t i;
	int r;

	r = copy_dn(entry, &u.dn, reason, reasonlen);
	for (i = 0; i < F_COUNT && r == FT_OK; i++)
		r = eval_field(map, i, entry, &v[i], reason, reasonlen);
	if (r == FT_OK)
		r = eval_login(map, entry, &u.login, reason, reasonlen);
	if (r == FT_OK)
		r = eval_uuid(map, entry, &u.uuid, reason, reasonlen);
	if (r == FT_OK)
		r = apply_full(v);
	if (r < 0)
		goto out;
	u.username = v[F_USERNAME];
	u.email = v[F_EMAIL];
	u.first_name = v[F_FIRST];
	u.last_name = v[F_LAST];
	memset(v, 0, sizeof(v[0]) * F_FULL);
	*ret_user = u;
	memset(&u, 0, sizeof(u));
out:
	if (r == FT_E_NOMEM)
		lmap_msg(reason, reasonlen, "out of memory");
	for (i = 0; i < F_COUNT; i++)
		free(v[i]);
	ft_user_clear(&u);
	return r;
}

int
ldap_map_identity(const struct ldap_map *map, const struct map_entry *entry,
		  struct ft_user *ret_id)
{
	struct ft_user u = {0};
	char scratch[64];
	int r;

	/* each part on its own: a failure of one leaves it NULL */
	r = copy_dn(entry, &u.dn, scratch, sizeof(scratch));
	if (r != FT_E_NOMEM)
		r = eval_login(map, entry, &u.login, scratch, sizeof(scratch));
	if (r != FT_E_NOMEM)
		r = eval_uuid(map, entry, &u.uuid, scratch, sizeof(scratch));
	if (r != FT_E_NOMEM)
		r = eval_field(map, F_USERNAME, entry, &u.username, scratch,
			       sizeof(scratch));
	if (r == FT_E_NOMEM) {
		ft_user_clear(&u);
		return r;
	}
	*ret_id = u;
	return FT_OK;
}

/* ---- expiry ---------------------------------------------------------- */

#define FILETIME_NEVER   9223372036854775807ULL /* AD: never expires */
#define FILETIME_PER_S   10000000ULL            /* 100-ns intervals */
#define FILETIME_TO_UNIX 11644473600ULL /* seconds, 1601-01-01 to 1970 */
#define EXPIRY_DIGITS    19             /* digits of FILETIME_NEVER */
#define SECONDS_PER_DAY  86400

enum ldap_expiry
ldap_map_expiry_format(const char *attr)
{
	if (attr == NULL)
		return LDAP_EXPIRY_NONE;
	if (strcasecmp(attr, "accountExpires") == 0)
		return LDAP_EXPIRY_FILETIME;
	if (strcasecmp(attr, "shadowExpire") == 0)
		return LDAP_EXPIRY_DAYS;
	return LDAP_EXPIRY_NONE;
}

/* An optional '-' then 1 to 19 decimal digits, at most FILETIME_NEVER. */
static bool
parse_int64(const struct map_val *v, bool *ret_neg, uint64_t *ret)
{
	size_t i = v->len > 0 && v->p[0] == '-' ? 1 : 0;
	uint64_t n = 0;

	if (v->len <= i || v->len - i > EXPIRY_DIGITS)
		return false;
	for (; i < v->len; i++) {
		if (v->p[i] < '0' || v->p[i] > '9')
			return false;
		n = n * 10 + (uint64_t)(v->p[i] - '0');
	}
	if (n > FILETIME_NEVER)
		return false;
	*ret_neg = v->p[0] == '-';
	*ret = n;
	return true;
}

/* now as whole seconds since 1601-01-01 UTC (0 before that). */
static uint64_t
now_since_1601(time_t now)
{
	if (now < 0)
		return (uint64_t)-now > FILETIME_TO_UNIX
			       ? 0
			       : FILETIME_TO_UNIX - (uint64_t)-now;
	return (uint64_t)now + FILETIME_TO_UNIX;
}

/* FILETIME ft (not 0, not never) has passed when now >= ft. */
static bool
filetime_passed(uint64_t ft, time_t now)
{
	/* now * 10^7 >= ft  <=>  now >= ceil(ft / 10^7) */
	return now_since_1601(now) >=
	       (ft + FILETIME_PER_S - 1) / FILETIME_PER_S;
}

static int
judge_filetime(const char *attr, const struct map_val *v, time_t now,
	       bool *ret_expired, char *reason, size_t rl)
{
	uint64_t ft = 0;
	bool neg = false;

	if (!parse_int64(v, &neg, &ft) || neg) {
		lmap_msg(reason, rl,
			 "'%s' value '%.*s' is not a FILETIME (0 to %llu "
			 "100-ns intervals since 1601-01-01 UTC)",
			 attr, (int)(v->len > 32 ? 32 : v->len), v->p,
			 FILETIME_NEVER);
		return FT_E_INVAL;
	}
	*ret_expired =
		ft != 0 && ft != FILETIME_NEVER && filetime_passed(ft, now);
	return FT_OK;
}

static int
judge_days(const char *attr, const struct map_val *v, time_t now,
	   bool *ret_expired, char *reason, size_t rl)
{
	uint64_t days = 0;
	bool neg = false;
	const char *why = NULL;

	if (!parse_int64(v, &neg, &days) || (neg && days != 1))
		why = "is not a number of days since 1970-01-01 (-1: never)";
	else if (!neg && days == 0)
		why = "is 0, which shadow(5) says must not be used (read "
		      "as never or as 1970-01-01); set -1 or remove it for "
		      "never";
	if (why != NULL) {
		lmap_msg(reason, rl, "'%s' value '%.*s' %s", attr,
			 (int)(v->len > 32 ? 32 : v->len), v->p, why);
		return FT_E_INVAL;
	}
	*ret_expired =
		!neg && now >= 0 && (uint64_t)(now / SECONDS_PER_DAY) >= days;
	return FT_OK;
}

int
ldap_map_expiry_judge(const char *attr, const struct map_val *v, time_t now,
		      bool *ret_expired, char *reason, size_t reasonlen)
{
	switch (ldap_map_expiry_format(attr)) {
	case LDAP_EXPIRY_FILETIME:
		return judge_filetime(attr, v, now, ret_expired, reason,
				      reasonlen);
	case LDAP_EXPIRY_DAYS:
		return judge_days(attr, v, now, ret_expired, reason, reasonlen);
	case LDAP_EXPIRY_NONE:
		break;
	}
	lmap_msg(reason, reasonlen, "'%s' is not an expiry attribute",
		 attr != NULL ? attr : "");
	return FT_E_INVAL;
}

int
ldap_map_expired(const char *attr, const struct map_entry *entry, time_t now,
		 bool *ret_expired, char *reason, size_t reasonlen)
{
	const struct map_val *v;

	if (attr == NULL || *attr == '\0') {
		*ret_expired = false;
		return FT_OK;
	}
	v = first_value(entry, attr);
	if (v == NULL) {
		*ret_expired = false;
		return FT_OK;
	}
	return ldap_map_expiry_judge(attr, v, now, ret_expired, reason,
				     reasonlen);
}
