/* SPDX-License-Identifier: Apache-2.0 */
/* config_value.c: the rules a value must meet, and the setters that apply them. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <syslog.h>
#include <unistd.h>

#include "config_int.h"
#include "ft_err.h"
#include "ft_util.h"
#include "ldap_map.h"

/* ---- value checks: NULL when fine, else what is wrong ---------------- */

static const char *
check_attr(const char *v)
{
	if (!ldap_map_attr_valid(v, strlen(v)))
		return "must be an attribute name (letters, digits, '-') or an "
		       "OID, with optional ;options";
	return NULL;
}

static const char *
check_filter(const char *v)
{
	const char *p;
	long depth = 0;

	if (v[0] != '(')
		return "must be enclosed in parentheses, e.g. "
		       "(objectClass=person)";
	if (strchr(v, '=') == NULL)
		return "has no attribute=value test";
	for (p = v; *p != '\0'; p++) {
		if (*p == '\\' && p[1] != '\0') {
			p++; /* an escaped character is never a parenthesis */
		} else if (*p == '(') {
			if (p[1] == ')')
				return "has an empty '()'";
			depth++;
		} else if (*p == ')') {
			depth--;
			if (depth == 0 && p[1] != '\0')
				return "must be one filter: text follows its "
				       "closing parenthesis";
		}
	}
	if (depth != 0)
		return "has unbalanced parentheses";
	return NULL;
}

static const char *
check_uri(const char *v)
{
	static const char *const schemes[] = {"ldap://", "ldaps://",
					      "ldapi://"};
	const char *p = v + strspn(v, " \t");
	size_t i;

	while (*p != '\0') {
		size_t n = strcspn(p, " \t");

		for (i = 0; i < 3; i++)
			if (n > strlen(schemes[i]) &&
			    strncasecmp(p, schemes[i], strlen(schemes[i])) == 0)
				break;
		if (i == 3)
			return "is not a list of ldap://, ldaps:// or ldapi:// "
			       "URIs (separated by blanks)";
		p += n;
		p += strspn(p, " \t");
	}
	return NULL;
}

static const char *
check_path(const char *v, unsigned long max)
{
	if (v[0] != '/')
		return "must be an absolute path";
	if (strlen(v) > (max != 0 ? max : PATH_MAX_LEN))
		return "is too long";
	return NULL;
}

static const char *
check_url(const char *v)
{
	const char *host;
	size_t len;

	if (strncasecmp(v, "https://", 8) == 0)
		host = v + 8;
	else if (strncasecmp(v, "http://", 7) == 0)
		host = v + 7;
	else
		return "must start with https:// (or http:// to a loopback "
		       "address)";
	len = strcspn(host, "/");
	if (len == 0)
		return "names no host";
	if (strpbrk(v, " \t?#@") != NULL)
		return "must not contain blanks, '?', '#' or '@'";
	if (host == v + 7 && !conf_host_is_loopback(host, len, NULL))
		return "may use http:// only to a loopback address (127.0.0.0/8, "
		       "localhost, [::1]); use https://";
	return NULL;
}

/* Control characters and bad UTF-8 are refused in every value. */
const char *
conf_check_text(const char *v)
{
	const unsigned char *p;

	for (p = (const unsigned char *)v; *p != '\0'; p++)
		if ((*p < 0x20 && *p != '\t') || *p == 0x7f)
			return "contains a control character";
	if (!ft_utf8_valid(v, strlen(v)))
		return "is not valid UTF-8";
	return NULL;
}

static const char *
check_string(const struct key *k, const char *v)
{
	switch (k->kind) {
	case K_PATH:
		/* a bare name: a credential of the unit (config_secret.c) */
		if ((k->flags & F_CRED) && strchr(v, '/') == NULL)
			return strlen(v) > NAME_MAX_LEN ? "is too long" : NULL;
		return check_path(v, k->max);
	case K_URI:
		return check_uri(v);
	case K_URL:
		return check_url(v);
	case K_FILTER:
		return check_filter(v);
	case K_ATTR:
		return check_attr(v);
	case K_MAP: /* set_string: the mapping's own grammar and words */
	case K_STR:
	case K_BOOL:
	case K_UINT:
	case K_ULONG:
	case K_ENUM:
	case K_LIST:
	case K_LIMIT:
	case K_FLAGS:
		break;
	}
	return NULL;
}

/* String kinds are char * fields owned by the config. */
bool
conf_is_string(const struct key *k)
{
	return k->kind == K_STR || k->kind == K_PATH || k->kind == K_URI ||
	       k->kind == K_URL || k->kind == K_FILTER || k->kind == K_ATTR ||
	       k->kind == K_MAP;
}

/* ---- setters ---------------------------------------------------------- */

void
conf_strlist_clear(struct strlist *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static size_t
list_count(const char *v)
{
	size_t n = 0;

	v += strspn(v, ", \t");
	while (*v != '\0') {
		n++;
		v += strcspn(v, ", \t");
		v += strspn(v, ", \t");
	}
	return n;
}

/* Names separated by commas and/or blanks. */
static int
set_list(struct strlist *list, const char *v)
{
	struct strlist l = {NULL, 0};
	size_t n = list_count(v);

	if (n > 0) {
		l.v = calloc(n, sizeof(*l.v));
		if (l.v == NULL)
			return FT_E_NOMEM;
	}
	for (v += strspn(v, ", \t"); *v != '\0' && l.n < n;
	     v += strspn(v, ", \t")) {
		size_t len = strcspn(v, ", \t");

		l.v[l.n] = strndup(v, len);
		if (l.v[l.n] == NULL) {
			conf_strlist_clear(&l);
			return FT_E_NOMEM;
		}
		l.n++;
		v += len;
	}
	conf_strlist_clear(list);
	*list = l;
	return FT_OK;
}

/* A list of URLs: each one checked as [ftrack] server is. */
static int
set_urls(struct strlist *list, const char *v, char *msg, size_t msglen)
{
	struct strlist l = {NULL, 0};
	size_t i;
	int r;

	r = set_list(&l, v);
	for (i = 0; r == FT_OK && i < l.n; i++) {
		const char *why = check_url(l.v[i]);

		if (why == NULL)
			continue;
		(void)snprintf(msg, msglen, "'%.64s' %s", l.v[i], why);
		r = FT_E_CONFIG;
	}
	if (r < 0) {
		conf_strlist_clear(&l);
		return r;
	}
	conf_strlist_clear(list);
	*list = l;
	return FT_OK;
}

/* F_ATTRS: a list of attribute names, at most CONF_ATTRS_MAX. */
static int
set_attrs(struct strlist *list, const char *v, char *msg, size_t msglen)
{
	struct strlist l = {NULL, 0};
	size_t i;
	int r;

	r = set_list(&l, v);
	if (r == FT_OK && l.n > CONF_ATTRS_MAX) {
		(void)snprintf(msg, msglen, "more than %d attributes",
			       CONF_ATTRS_MAX);
		r = FT_E_CONFIG;
	}
	for (i = 0; r == FT_OK && i < l.n; i++) {
		if (ldap_map_attr_valid(l.v[i], strlen(l.v[i])))
			continue;
		(void)snprintf(msg, msglen, "'%.64s' is not an attribute name",
			       l.v[i]);
		r = FT_E_CONFIG;
	}
	if (r < 0) {
		conf_strlist_clear(&l);
		return r;
	}
	conf_strlist_clear(list);
	*list = l;
	return FT_OK;
}

static int
set_limit(struct limit *lim, const char *v, unsigned long max, char *msg,
	  size_t msglen)
{
	char num[32];
	size_t len = strlen(v);
	unsigned long long x;
	bool percent = len > 0 && v[len - 1] == '%';

	if (percent)
		len--;
	if (len < sizeof(num)) {
		memcpy(num, v, len);
		num[len] = '\0';
		if (ft_parse_uint(num, percent ? 100 : max, &x) == FT_OK) {
			lim->value = (unsigned long)x;
			lim->percent = percent;
			return FT_OK;
		}
	}
	(void)snprintf(msg, msglen,
		       "'%.64s' is not a count (0 to %lu) or a percentage (0%% "
		       "to 100%%)",
		       v, max);
	return FT_E_CONFIG;
}

static int
set_number(const struct key *k, void *p, const char *v, char *msg,
	   size_t msglen)
{
	unsigned long long x;
	unsigned *u = p;
	unsigned long *ul = p;

	if (ft_parse_uint(v, k->max, &x) != FT_OK || x < k->min) {
		(void)snprintf(msg, msglen,
			       "'%.64s' is not a number from %lu to %lu", v,
			       k->min, k->max);
		return FT_E_CONFIG;
	}
	if (k->kind == K_UINT)
		*u = (unsigned)x;
	else
		*ul = (unsigned long)x;
	return FT_OK;
}

/* The word of k that is v[0..len); NULL when none is. */
static const struct word *
find_word(const struct key *k, const char *v, size_t len)
{
	const struct word *w;

	for (w = k->words; w->name != NULL; w++)
		if (strlen(w->name) == len && strncmp(w->name, v, len) == 0)
			return w;
	return NULL;
}

/* "'v' is not one of: a, b, c" for v[0..len); returns FT_E_CONFIG. */
static int
not_a_word(const struct key *k, const char *v, size_t len, char *msg,
	   size_t msglen)
{
	const struct word *w;
	size_t n;

	n = (size_t)snprintf(msg, msglen, "'%.*s' is not one of",
			     (int)(len > 64 ? 64 : len), v);
	for (w = k->words; w->name != NULL && n < msglen; w++)
		n += (size_t)snprintf(msg + n, msglen - n, "%s %s",
				      w == k->words ? ":" : ",", w->name);
	return FT_E_CONFIG;
}

static int
set_enum(const struct key *k, void *p, const char *v, char *msg, size_t msglen)
{
	const struct word *w = find_word(k, v, strlen(v));

	if (w == NULL)
		return not_a_word(k, v, strlen(v), msg, msglen);
	memcpy(p, &w->value, sizeof(int));
	return FT_OK;
}

/* Words separated by commas and/or blanks, OR-ed; empty: none. */
static int
set_flags(const struct key *k, unsigned *p, const char *v, char *msg,
	  size_t msglen)
{
	unsigned flags = 0;

	for (v += strspn(v, ", \t"); *v != '\0'; v += strspn(v, ", \t")) {
		size_t len = strcspn(v, ", \t");
		const struct word *w = find_word(k, v, len);

		if (w == NULL)
			return not_a_word(k, v, len, msg, msglen);
		flags |= (unsigned)w->value;
		v += len;
	}
	*p = flags;
	return FT_OK;
}

static int
set_bool(bool *b, const char *v, char *msg, size_t msglen)
{
	if (ft_parse_bool(v, b) == FT_OK)
		return FT_OK;
	(void)snprintf(msg, msglen, "'%.64s' is not yes or no", v);
	return FT_E_CONFIG;
}

/* A string key: check it, then replace the old value (NULL when empty). */
static int
set_string(const struct key *k, char **p, const char *v, char *msg,
	   size_t msglen)
{
	const char *why = *v != '\0' ? check_string(k, v) : NULL;
	char *copy = NULL;
	size_t len;

	if (k->kind == K_MAP && *v != '\0' &&
	    ldap_map_check(v, msg, msglen) < 0)
		return FT_E_CONFIG;
	if (why != NULL) {
		(void)snprintf(msg, msglen, "'%.64s' %s", v, why);
		return FT_E_CONFIG;
	}
	if (*v != '\0') {
		copy = strdup(v);
		if (copy == NULL)
			return FT_E_NOMEM;
	}
	/* https://host/ and https://host name the same server. */
	len = copy != NULL ? strlen(copy) : 0;
	while (k->kind == K_URL && len > 0 && copy[len - 1] == '/')
		copy[--len] = '\0';
	free(*p);
	*p = copy;
	return FT_OK;
}

/* Parse v as the value of k into cfg; on error a message goes to msg. */
int
conf_set_value(struct config *cfg, const struct key *k, const char *v,
	       char *msg, size_t msglen)
{
	void *p = conf_field(cfg, k);
	const char *why = conf_check_text(v);

	if (why == NULL && *v == '\0' && !(k->flags & F_EMPTY) &&
	    k->kind != K_LIST)
		why = "must not be empty";
	if (why != NULL) {
		(void)snprintf(msg, msglen, "%s", why);
		return FT_E_CONFIG;
	}
	switch (k->kind) {
	case K_BOOL:
		return set_bool(p, v, msg, msglen);
	case K_UINT:
	case K_ULONG:
		return set_number(k, p, v, msg, msglen);
	case K_ENUM:
		return set_enum(k, p, v, msg, msglen);
	case K_LIST:
		if (k->flags & F_ATTRS)
			return set_attrs(p, v, msg, msglen);
		return (k->flags & F_URLS) ? set_urls(p, v, msg, msglen)
					   : set_list(p, v);
	case K_LIMIT:
		return set_limit(p, v, k->max, msg, msglen);
	case K_FLAGS:
		return set_flags(k, p, v, msg, msglen);
	case K_STR:
	case K_PATH:
	case K_URI:
	case K_URL:
	case K_FILTER:
	case K_ATTR:
	case K_MAP:
		break;
	}
	return set_string(k, p, v, msg, msglen);
}
