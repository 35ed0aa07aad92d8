/* SPDX-License-Identifier: Apache-2.0 */
/* ldap_map.c: [mapping] templates compiled once, applied per LDAP entry. */
#include "ldap_map.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ft_err.h"
#include "ft_util.h"

#define ATTR_NAME_MAX 128

enum field_id { F_USERNAME, F_EMAIL, F_FIRST, F_LAST, F_FULL, F_COUNT };

static const char *const field_names[F_COUNT] = {
	"username", "email", "first_name", "last_name", "full_name",
};

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

static void msg(char *buf, size_t len, const char *fmt, ...) FT_PRINTF(3, 4);

static void
msg(char *buf, size_t len, const char *fmt, ...)
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
static bool
clean_text(const char *s, size_t len)
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
			msg(err, errlen,
			    "unknown filter '%.*s' in '%s' (the one filter "
			    "is |lower)",
			    (int)flen, bar + 1, src);
			return FT_E_INVAL;
		}
		lower = true;
	}
	if (!ldap_map_attr_valid(ref, nlen)) {
		msg(err, errlen, "'%.*s' is not an attribute name in '%s'",
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
			msg(err, errlen, "unexpected '}' in '%s'", src);
			return FT_E_INVAL;
		}
		if (*p == '{') {
			end = strchr(p, '}');
			if (end == NULL) {
				msg(err, errlen, "unclosed '{' in '%s'", src);
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
	if (len > MAP_TEMPLATE_MAX || !clean_text(src, len)) {
		msg(err, errlen,
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
		msg(err, errlen, "'%s' is neither an attribute name nor a template",
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
		msg(err, errlen,
		    "login_attribute: '%s' is not an attribute name",
		    login_attr != NULL ? login_attr : "");
		return FT_E_INVAL;
	}
	if (uuid_attr != NULL && *uuid_attr != '\0' &&
	    !ldap_map_attr_valid(uuid_attr, strlen(uuid_attr))) {
		msg(err, errlen,
		    "uuid_attribute: '%s' is not an attribute name", uuid_attr);
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
			msg(err, errlen, "%s: %s", field_names[i], why);
		if (r < 0)
			goto out;
	}
	if (map->f[F_USERNAME].nparts == 0) {
		msg(err, errlen, "username: must be mapped");
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
		msg(err, errlen, "out of memory");
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
		msg(err, errlen, "must not be empty");
		return FT_E_INVAL;
	}
	r = parse_field(&f, src, err, errlen);
	if (r == FT_E_NOMEM)
		msg(err, errlen, "out of memory");
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

	if (v == NULL) {
		msg(reason, rl, "no '%s' value", name);
		return FT_E_NOTFOUND;
	}
	if (v->len > MAP_VALUE_MAX) {
		msg(reason, rl, "'%s' is longer than %d bytes", name,
		    MAP_VALUE_MAX);
		return FT_E_INVAL;
	}
	if (!ft_utf8_valid(v->p, v->len)) {
		msg(reason, rl, "'%s' is not valid UTF-8", name);
		return FT_E_INVAL;
	}
	if (!clean_text(v->p, v->len)) {
		msg(reason, rl, "'%s' holds a control character", name);
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
			msg(reason, rl,
			    "the %s template gives more than %d bytes",
			    field_names[i], MAP_VALUE_MAX);
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
		msg(reason, rl, "empty username");
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
		msg(reason, rl, "empty '%s' value", map->login_attr);
		return FT_E_INVAL;
	}
	*ret = strndup(v->p, v->len);
	return *ret != NULL ? FT_OK : FT_E_NOMEM;
}

static bool
uuid_binary(const char *name, const struct map_val *v)
{
	return strcasecmp(name, "objectGUID") == 0 ||
	       strcasecmp(name, "GUID") == 0 || !clean_text(v->p, v->len);
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
		msg(reason, rl, "no '%s' value", name);
		return FT_E_INVAL;
	}
	if (!uuid_binary(name, v)) {
		if (v->len > MAP_VALUE_MAX) {
			msg(reason, rl, "'%s' is longer than %d bytes", name,
			    MAP_VALUE_MAX);
			return FT_E_INVAL;
		}
		*ret = strndup(v->p, v->len);
		return *ret != NULL ? FT_OK : FT_E_NOMEM;
	}
	if (ft_hex_encode(v->p, v->len, hex, sizeof(hex)) < 0) {
		msg(reason, rl, "binary '%s' is longer than %d bytes", name,
		    MAP_VALUE_MAX / 2);
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
		msg(reason, rl,
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
		msg(reason, reasonlen, "out of memory");
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
