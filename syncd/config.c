/* SPDX-License-Identifier: Apache-2.0 */
/* config.c: /etc/ftrack-syncd.conf: defaults, the libinih parser, checks. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ini.h>
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

#include "ft_err.h"
#include "ft_util.h"
#include "ldap_map.h"

#define CONFIG_MAX_BYTES 1048576L /* the config file */
#define CONFIG_MAX_LINES 10000
#define SECRET_MAX       4096 /* bytes in a secret file */
#define ENV_MAX          1024 /* bytes in FTRACK_SERVER, FTRACK_API_USER */
#define COUNT_MAX        100000000UL /* counts: users, limits */
#define SECONDS_MAX      31536000UL  /* one year */
#define SUN_PATH_MAX     107         /* sockaddr_un.sun_path - 1 */
#define PATH_MAX_LEN     4095
#define MSG_MAX          512

/* Enum fields are stored through an int. */
_Static_assert(sizeof(enum tls_require) == sizeof(int), "enum size");
_Static_assert(sizeof(enum on_login) == sizeof(int), "enum size");
_Static_assert(sizeof(enum missing_policy) == sizeof(int), "enum size");
_Static_assert(sizeof(enum scope_policy) == sizeof(int), "enum size");
_Static_assert(sizeof(enum reactivate_policy) == sizeof(int), "enum size");
_Static_assert(sizeof(enum log_target) == sizeof(int), "enum size");

enum kind {
	K_STR,    /* any text */
	K_PATH,   /* an absolute path, at most max bytes (0: PATH_MAX_LEN) */
	K_URI,    /* space-separated ldap://, ldaps://, ldapi:// URIs */
	K_URL,    /* the ftrack server */
	K_FILTER, /* a parenthesised LDAP filter */
	K_ATTR,   /* an attribute name or OID */
	K_MAP,    /* an attribute name or a template */
	K_BOOL,   /* bool */
	K_UINT,   /* unsigned, min..max */
	K_ULONG,  /* unsigned long, min..max */
	K_ENUM,   /* an int-sized enum, one of words */
	K_LIST,   /* struct strlist */
	K_LIMIT,  /* struct limit: count 0..max or percentage 0..100 */
};

#define F_EMPTY  0x1u /* an empty value unsets the key (NULL) */
#define F_REQ    0x2u /* the key must end up set */
#define F_SECRET 0x4u /* *_file key: secret is the offset of the secret */

struct word {
	const char *name;
	int value;
};

struct key {
	const char *section;
	const char *name;
	enum kind kind;
	unsigned flags;
	size_t off;
	unsigned long min, max;
	const struct word *words;
	const char *def; /* default, in config syntax; NULL: unset */
	const char *env; /* environment variable overriding it */
	size_t secret;   /* F_SECRET: offset of the secret it names */
};

static const struct word tls_words[] = {{"never", TLS_NEVER},
					{"allow", TLS_ALLOW},
					{"try", TLS_TRY},
					{"demand", TLS_DEMAND},
					{NULL, 0}};
static const struct word on_login_words[] = {
	{"create", ON_LOGIN_CREATE},
	{"update-only", ON_LOGIN_UPDATE_ONLY},
	{"ignore", ON_LOGIN_IGNORE},
	{NULL, 0}};
static const struct word missing_words[] = {{"deactivate", MISSING_DEACTIVATE},
					    {"delete", MISSING_DELETE},
					    {"ignore", MISSING_IGNORE},
					    {NULL, 0}};
static const struct word scope_words[] = {
	{"managed", SCOPE_MANAGED}, {"all", SCOPE_ALL}, {NULL, 0}};
static const struct word reactivate_words[] = {
	{"never", REACTIVATE_NEVER},
	{"sync-deactivated", REACTIVATE_SYNC_DEACTIVATED},
	{"always", REACTIVATE_ALWAYS},
	{NULL, 0}};
static const struct word log_level_words[] = {{"error", LOG_ERR},
					      {"warning", LOG_WARNING},
					      {"info", LOG_INFO},
					      {"debug", LOG_DEBUG},
					      {NULL, 0}};
static const struct word log_target_words[] = {{"syslog", LOG_TARGET_SYSLOG},
					       {"stderr", LOG_TARGET_STDERR},
					       {NULL, 0}};

#define OFF(field) offsetof(struct config, field)
#define K(s, n, kind, fl, field, min, max, def)                                \
	{                                                                      \
		s, n, kind, fl, OFF(field), min, max, NULL, def, NULL, 0       \
	}
#define E(s, n, field, words, def)                                             \
	{                                                                      \
		s, n, K_ENUM, 0, OFF(field), 0, 0, words, def, NULL, 0         \
	}

/* Every key of DESIGN.md section 5, in the order of the example file. */
static const struct key keys[] = {
	K("ldap", "uri", K_URI, F_REQ, ldap.uri, 0, 0, NULL),
	K("ldap", "bind_dn", K_STR, F_EMPTY, ldap.bind_dn, 0, 0, NULL),
	{"ldap", "bind_password_file", K_PATH, F_EMPTY | F_SECRET,
	 OFF(ldap.bind_password_file), 0, 0, NULL, NULL, NULL,
	 OFF(ldap.bind_password)},
	K("ldap", "search_base", K_STR, F_REQ, ldap.search_base, 0, 0, NULL),
	K("ldap", "search_filter", K_FILTER, 0, ldap.search_filter, 0, 0,
	  "(objectClass=inetOrgPerson)"),
	K("ldap", "disabled_filter", K_FILTER, F_EMPTY, ldap.disabled_filter, 0,
	  0, NULL),
	K("ldap", "login_attribute", K_ATTR, 0, ldap.login_attribute, 0, 0,
	  "uid"),
	K("ldap", "uuid_attribute", K_ATTR, 0, ldap.uuid_attribute, 0, 0,
	  "entryUUID"),
	K("ldap", "start_tls", K_BOOL, 0, ldap.start_tls, 0, 0, "no"),
	K("ldap", "tls_ca_file", K_PATH, F_EMPTY, ldap.tls_ca_file, 0, 0, NULL),
	E("ldap", "tls_require_cert", ldap.tls_require_cert, tls_words,
	  "demand"),
	K("ldap", "timeout", K_UINT, 0, ldap.timeout, 1, 3600, "10"),
	K("ldap", "page_size", K_UINT, 0, ldap.page_size, 0, 100000, "500"),
	{"ftrack", "server", K_URL, F_EMPTY | F_REQ, OFF(ftrack.server), 0, 0,
	 NULL, NULL, "FTRACK_SERVER", 0},
	{"ftrack", "api_user", K_STR, F_EMPTY | F_REQ, OFF(ftrack.api_user), 0,
	 0, NULL, NULL, "FTRACK_API_USER", 0},
	{"ftrack", "api_key_file", K_PATH, F_EMPTY | F_SECRET,
	 OFF(ftrack.api_key_file), 0, 0, NULL, NULL, NULL, OFF(ftrack.api_key)},
	K("ftrack", "timeout", K_UINT, 0, ftrack.timeout, 1, 3600, "30"),
	K("ftrack", "batch_size", K_UINT, 0, ftrack.batch_size, 1, 1000, "100"),
	K("ftrack", "tls_ca_file", K_PATH, F_EMPTY, ftrack.tls_ca_file, 0, 0,
	  NULL),
	K("mapping", "username", K_MAP, 0, mapping.username, 0, 0, "uid"),
	K("mapping", "email", K_MAP, F_EMPTY, mapping.email, 0, 0, "mail"),
	K("mapping", "first_name", K_MAP, F_EMPTY, mapping.first_name, 0, 0,
	  "givenName"),
	K("mapping", "last_name", K_MAP, F_EMPTY, mapping.last_name, 0, 0,
	  "sn"),
	K("mapping", "full_name", K_MAP, F_EMPTY, mapping.full_name, 0, 0,
	  NULL),
	E("policy", "on_login", policy.on_login, on_login_words, "create"),
	K("policy", "reconcile_interval", K_ULONG, 0, policy.reconcile_interval,
	  0, SECONDS_MAX, "3600"),
	K("policy", "reconcile_create", K_BOOL, 0, policy.reconcile_create, 0,
	  0, "no"),
	E("policy", "missing", policy.missing, missing_words, "deactivate"),
	E("policy", "scope", policy.scope, scope_words, "managed"),
	E("policy", "reactivate", policy.reactivate, reactivate_words,
	  "sync-deactivated"),
	K("policy", "protected_users", K_LIST, 0, policy.protected_users, 0, 0,
	  "admin, ftrack-sync"),
	K("policy", "skip_users", K_LIST, 0, policy.skip_users, 0, 0, "root"),
	K("policy", "login_cooldown", K_ULONG, 0, policy.login_cooldown, 0,
	  SECONDS_MAX, "600"),
	K("policy", "min_ldap_users", K_ULONG, 0, policy.min_ldap_users, 0,
	  COUNT_MAX, "1"),
	K("policy", "max_shrink", K_LIMIT, 0, policy.max_shrink, 0, COUNT_MAX,
	  "20%"),
	K("policy", "max_deactivate", K_LIMIT, 0, policy.max_deactivate, 0,
	  COUNT_MAX, "5%"),
	K("policy", "sentinel_users", K_LIST, 0, policy.sentinel_users, 0, 0,
	  NULL),
	K("daemon", "socket", K_PATH, 0, daemon.socket, 0, SUN_PATH_MAX,
	  "/run/ftrack-syncd/notify.sock"),
	K("daemon", "state_dir", K_PATH, 0, daemon.state_dir, 0, 0,
	  "/var/lib/ftrack-syncd"),
	E("daemon", "log_level", daemon.log_level, log_level_words, "info"),
	E("daemon", "log_target", daemon.log_target, log_target_words,
	  "syslog"),
};

#define NKEYS (sizeof(keys) / sizeof(keys[0]))

static const char *const sections[] = {"ldap", "ftrack", "mapping", "policy",
				       "daemon"};

/* One config_load(): where errors go and on which line each key was set. */
struct load {
	struct config *cfg;
	const char *path;
	char *err;
	size_t errlen;
	FILE *f;
	char *buf; /* getline buffer */
	size_t cap;
	int lineno;
	bool failed;
	int err_line; /* line of the recorded error; 0: none or no line */
	int r;        /* FT_E_* of the recorded error */
	int seen[NKEYS];
};

static void *
field(struct config *cfg, const struct key *k)
{
	return (char *)cfg + k->off;
}

static const void *
cfield(const struct config *cfg, const struct key *k)
{
	return (const char *)cfg + k->off;
}

static int fail(struct load *l, int line, int r, const char *fmt, ...)
	FT_PRINTF(4, 5);

/* Record an error as "path:line: msg" (line 0: "path: msg"); returns r. */
static int
fail(struct load *l, int line, int r, const char *fmt, ...)
{
	char msg[MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* Truncating an error message is harmless. */
	if (line > 0)
		(void)snprintf(l->err, l->errlen, "%s:%d: %s", l->path, line,
			       msg);
	else
		(void)snprintf(l->err, l->errlen, "%s: %s", l->path, msg);
	l->failed = true;
	l->err_line = line;
	l->r = r;
	return r;
}

static size_t
key_find(const char *section, const char *name)
{
	size_t i;

	for (i = 0; i < NKEYS; i++)
		if (strcmp(keys[i].section, section) == 0 &&
		    strcmp(keys[i].name, name) == 0)
			break;
	return i;
}

static bool
section_known(const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < sizeof(sections) / sizeof(sections[0]); i++)
		if (strlen(sections[i]) == len &&
		    strncmp(sections[i], name, len) == 0)
			return true;
	return false;
}

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

/* True when host (len bytes, maybe with ":port", IPv6 in [ ]) is loopback. */
static bool
host_is_loopback(const char *host, size_t len)
{
	char buf[256];
	char *name = buf, *port;
	struct in_addr a4;
	struct in6_addr a6;
	unsigned long long n;

	if (len >= sizeof(buf))
		return false;
	memcpy(buf, host, len);
	buf[len] = '\0';
	if (buf[0] == '[') {
		name = buf + 1;
		port = strchr(name, ']');
		if (port == NULL || (port[1] != '\0' && port[1] != ':'))
			return false;
		*port++ = '\0';
	} else {
		port = strchr(buf, ':');
	}
	if (port != NULL && *port == ':') {
		*port = '\0';
		if (ft_parse_uint(port + 1, 65535, &n) != FT_OK)
			return false;
	}
	if (buf[0] == '[')
		return inet_pton(AF_INET6, name, &a6) == 1 &&
		       IN6_IS_ADDR_LOOPBACK(&a6);
	if (strcasecmp(name, "localhost") == 0)
		return true;
	return inet_pton(AF_INET, name, &a4) == 1 &&
	       (ntohl(a4.s_addr) >> 24) == 127;
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
	if (host == v + 7 && !host_is_loopback(host, len))
		return "may use http:// only to a loopback address (127.0.0.0/8, "
		       "localhost, [::1]); use https://";
	return NULL;
}

/* Control characters and bad UTF-8 are refused in every value. */
static const char *
check_text(const char *v)
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
		break;
	}
	return NULL;
}

/* String kinds are char * fields owned by the config. */
static bool
is_string(const struct key *k)
{
	return k->kind == K_STR || k->kind == K_PATH || k->kind == K_URI ||
	       k->kind == K_URL || k->kind == K_FILTER || k->kind == K_ATTR ||
	       k->kind == K_MAP;
}

/* ---- setters ---------------------------------------------------------- */

static void
strlist_clear(struct strlist *l)
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
			strlist_clear(&l);
			return FT_E_NOMEM;
		}
		l.n++;
		v += len;
	}
	strlist_clear(list);
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

static int
set_enum(const struct key *k, void *p, const char *v, char *msg, size_t msglen)
{
	const struct word *w;
	size_t n;

	for (w = k->words; w->name != NULL; w++) {
		if (strcmp(w->name, v) == 0) {
			memcpy(p, &w->value, sizeof(int));
			return FT_OK;
		}
	}
	n = (size_t)snprintf(msg, msglen, "'%.64s' is not one of", v);
	for (w = k->words; w->name != NULL && n < msglen; w++)
		n += (size_t)snprintf(msg + n, msglen - n, "%s %s",
				      w == k->words ? ":" : ",", w->name);
	return FT_E_CONFIG;
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
static int
set_value(struct config *cfg, const struct key *k, const char *v, char *msg,
	  size_t msglen)
{
	void *p = field(cfg, k);
	const char *why = check_text(v);

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
		return set_list(p, v);
	case K_LIMIT:
		return set_limit(p, v, k->max, msg, msglen);
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

static int
config_defaults(struct config *cfg)
{
	char msg[MSG_MAX];
	size_t i;
	int r;

	for (i = 0; i < NKEYS; i++) {
		if (keys[i].def == NULL)
			continue;
		r = set_value(cfg, &keys[i], keys[i].def, msg, sizeof(msg));
		if (r < 0)
			return r == FT_E_NOMEM ? r : FT_E_INTERNAL;
	}
	return FT_OK;
}

/* ---- the file --------------------------------------------------------- */

/* "[name]" on line s: refuse unknown sections, even empty ones. */
static void
check_section_line(struct load *l, const char *s)
{
	const char *end = strchr(s + 1, ']');

	if (end == NULL)
		return; /* inih reports the syntax error */
	if (!section_known(s + 1, (size_t)(end - s - 1)))
		fail(l, l->lineno, FT_E_CONFIG,
		     "[%.*s]: unknown section (known: ldap, ftrack, mapping, "
		     "policy, daemon)",
		     (int)(end - s - 1 > 64 ? 64 : end - s - 1), s + 1);
}

/*
 * inih's reader: one line per call, so l->lineno is the line the handler
 * sees.  Leading blanks are dropped, which turns off inih's continuation
 * lines (an indented key would otherwise extend the previous value).
 */
static char *
reader(char *str, int num, void *stream)
{
	struct load *l = stream;
	ssize_t n;
	size_t len;
	const char *s;

	if (l->failed)
		return NULL;
	n = getline(&l->buf, &l->cap, l->f);
	if (n < 0) {
		if (ferror(l->f))
			fail(l, 0, FT_E_CONFIG, "cannot read: %s",
			     strerror(errno));
		return NULL;
	}
	len = (size_t)n;
	if (++l->lineno > CONFIG_MAX_LINES)
		fail(l, l->lineno, FT_E_CONFIG, "too many lines");
	else if (strlen(l->buf) != len)
		fail(l, l->lineno, FT_E_CONFIG, "line contains a NUL byte");
	while (len > 0 && (l->buf[len - 1] == '\n' || l->buf[len - 1] == '\r'))
		l->buf[--len] = '\0';
	s = l->buf;
	if (l->lineno == 1 && strncmp(s, "\xef\xbb\xbf", 3) == 0)
		s += 3; /* UTF-8 byte order mark */
	s += strspn(s, " \t");
	len = strlen(s);
	if (!l->failed && len >= (size_t)num)
		fail(l, l->lineno, FT_E_CONFIG,
		     "line too long (at most %d characters)", num - 1);
	if (!l->failed && *s == '[')
		check_section_line(l, s);
	if (l->failed)
		return NULL;
	memcpy(str, s, len + 1);
	return str;
}

static int
handler(void *user, const char *section, const char *name, const char *value)
{
	struct load *l = user;
	char msg[MSG_MAX];
	size_t i;
	int r;

	if (l->failed)
		return 0;
	i = key_find(section, name);
	if (*section == '\0')
		fail(l, l->lineno, FT_E_CONFIG,
		     "%.64s: key outside a section; put it under [ldap], "
		     "[ftrack], [mapping], [policy] or [daemon]",
		     name);
	else if (i == NKEYS)
		fail(l, l->lineno, FT_E_CONFIG, "[%s] %.64s: unknown key",
		     section, name);
	else if (l->seen[i] != 0)
		fail(l, l->lineno, FT_E_CONFIG,
		     "[%s] %s: duplicate key (first set on line %d)", section,
		     name, l->seen[i]);
	if (l->failed)
		return 0;
	l->seen[i] = l->lineno;
	r = set_value(l->cfg, &keys[i], value, msg, sizeof(msg));
	if (r < 0)
		fail(l, l->lineno, r, "[%s] %s: %s", section, name, msg);
	return r == FT_OK;
}

/* The config file must not be writable by anyone but root or us. */
static int
check_config_file(struct load *l, int fd)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return fail(l, 0, FT_E_CONFIG, "cannot stat: %s",
			    strerror(errno));
	if (!S_ISREG(st.st_mode))
		return fail(l, 0, FT_E_CONFIG, "is not a regular file");
	if (st.st_uid != 0 && st.st_uid != geteuid())
		return fail(l, 0, FT_E_PERM,
			    "is owned by uid %u, not by root or uid %u; run "
			    "chown root %s",
			    (unsigned)st.st_uid, (unsigned)geteuid(), l->path);
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0)
		return fail(l, 0, FT_E_PERM,
			    "is writable by group or others; run chmod go-w %s",
			    l->path);
	if (st.st_size > CONFIG_MAX_BYTES)
		return fail(l, 0, FT_E_CONFIG, "is larger than %ld bytes",
			    CONFIG_MAX_BYTES);
	return FT_OK;
}

static int
parse_file(struct load *l)
{
	int fd, n, r = FT_E_INTERNAL;

	fd = open(l->path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return fail(l, 0, FT_E_CONFIG, "cannot open: %s",
			    strerror(errno));
	r = check_config_file(l, fd);
	if (r < 0)
		goto out_close;
	l->f = fdopen(fd, "r");
	if (l->f == NULL) {
		r = fail(l, 0, FT_E_NOMEM, "out of memory");
		goto out_close;
	}
	n = ini_parse_stream(reader, l, handler, l);
	/* inih reports the first bad line, ours or its own syntax error. */
	if (n > 0 && (!l->failed || (l->err_line > 0 && n < l->err_line)))
		fail(l, n, FT_E_CONFIG,
		     "syntax error: expected [section], key = value or a "
		     "comment");
	else if (n < 0 && !l->failed)
		fail(l, 0, FT_E_NOMEM, "out of memory");
	r = l->failed ? l->r : FT_OK;
	fclose(l->f);
	l->f = NULL;
	free(l->buf);
	l->buf = NULL;
	return r;
out_close:
	close(fd);
	return r;
}

/* ---- after the file: environment, required keys, secrets -------------- */

static int
apply_env(struct load *l)
{
	char msg[MSG_MAX];
	const char *v;
	size_t i;
	int r;

	for (i = 0; i < NKEYS; i++) {
		v = keys[i].env != NULL ? getenv(keys[i].env) : NULL;
		if (v == NULL || *v == '\0')
			continue;
		r = strlen(v) > ENV_MAX ? FT_E_CONFIG : FT_OK;
		if (r < 0)
			(void)snprintf(msg, sizeof(msg), "is too long");
		else
			r = set_value(l->cfg, &keys[i], v, msg, sizeof(msg));
		if (r < 0)
			return fail(l, 0, r, "environment %s: %s", keys[i].env,
				    msg);
	}
	v = getenv("FTRACK_API_KEY");
	if (v == NULL || *v == '\0')
		return FT_OK;
	if (strlen(v) > SECRET_MAX || check_text(v) != NULL)
		return fail(
			l, 0, FT_E_CONFIG,
			"environment FTRACK_API_KEY: must be one line of at "
			"most %d bytes",
			SECRET_MAX);
	l->cfg->ftrack.api_key = strdup(v);
	if (l->cfg->ftrack.api_key == NULL)
		return fail(l, 0, FT_E_NOMEM, "out of memory");
	return FT_OK;
}

static int
check_required(struct load *l)
{
	const struct config *cfg = l->cfg;
	size_t i;

	for (i = 0; i < NKEYS; i++) {
		char *const *p = cfield(cfg, &keys[i]);

		if (!(keys[i].flags & F_REQ) || *p != NULL)
			continue;
		return fail(l, 0, FT_E_CONFIG,
			    "[%s] %s: required key is missing%s%s%s",
			    keys[i].section, keys[i].name,
			    keys[i].env != NULL ? " (or set " : "",
			    keys[i].env != NULL ? keys[i].env : "",
			    keys[i].env != NULL ? ")" : "");
	}
	if (cfg->ftrack.api_key == NULL && cfg->ftrack.api_key_file == NULL)
		return fail(l, 0, FT_E_CONFIG,
			    "[ftrack] api_key_file: required key is missing "
			    "(or set FTRACK_API_KEY)");
	return FT_OK;
}

static int
check_consistent(struct load *l)
{
	const struct config_ldap *c = &l->cfg->ldap;
	size_t i = key_find("ldap", "bind_dn");
	size_t j = key_find("ldap", "bind_password_file");
	size_t t = key_find("ldap", "start_tls");

	if ((c->bind_dn == NULL) != (c->bind_password_file == NULL))
		return fail(l, l->seen[c->bind_dn != NULL ? i : j], FT_E_CONFIG,
			    "[ldap] %s: bind_dn and bind_password_file go "
			    "together (set both, or neither for an anonymous "
			    "bind)",
			    c->bind_dn != NULL ? "bind_dn"
					       : "bind_password_file");
	if (c->start_tls && strcasestr(c->uri, "ldaps://") != NULL)
		return fail(l, l->seen[t], FT_E_CONFIG,
			    "[ldap] start_tls: ldaps:// URIs are already TLS; "
			    "set start_tls = no or use ldap://");
	return FT_OK;
}

/*
 * The daemon's account: the owner of state_dir (the package makes it
 * ftrack-syncd), so that root running `check` or `reconcile` by hand
 * accepts the secrets the daemon itself reads.  (uid_t)-1 when unknown.
 */
static uid_t
daemon_uid(const struct config *cfg)
{
	struct stat st;

	if (cfg->daemon.state_dir == NULL ||
	    stat(cfg->daemon.state_dir, &st) < 0 || !S_ISDIR(st.st_mode))
		return (uid_t)-1;
	return st.st_uid;
}

/*
 * The secret in the file named by key k: owned by root, by us or by the
 * daemon's account; mode 0600 or stricter.
 */
static int
check_secret_fd(struct load *l, const struct key *k, const char *path, int fd)
{
	struct stat st;
	int line = l->seen[k - keys];

	if (fstat(fd, &st) < 0)
		return fail(l, line, FT_E_CONFIG,
			    "[%s] %s: cannot stat '%s': %s", k->section,
			    k->name, path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return fail(l, line, FT_E_PERM,
			    "[%s] %s: '%s' is not a regular file", k->section,
			    k->name, path);
	if (st.st_uid != 0 && st.st_uid != geteuid() &&
	    st.st_uid != daemon_uid(l->cfg))
		return fail(
			l, line, FT_E_PERM,
			"[%s] %s: '%s' is owned by uid %u, not by root, "
			"uid %u or the owner of state_dir; run chown root %s",
			k->section, k->name, path, (unsigned)st.st_uid,
			(unsigned)geteuid(), path);
	if ((st.st_mode & 077) != 0)
		return fail(l, line, FT_E_PERM,
			    "[%s] %s: '%s' is open to group or others (mode "
			    "%04o); run chmod 600 %s",
			    k->section, k->name, path,
			    (unsigned)(st.st_mode & 07777), path);
	return FT_OK;
}

/* Read at most SECRET_MAX bytes; one trailing newline is dropped. */
static int
read_secret_fd(int fd, char *buf, size_t *ret_len)
{
	size_t n = 0;

	while (n <= SECRET_MAX) {
		ssize_t got = read(fd, buf + n, SECRET_MAX + 1 - n);

		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return FT_E_IO;
		if (got == 0)
			break;
		n += (size_t)got;
	}
	if (n > SECRET_MAX)
		return FT_E_TOOBIG;
	if (n > 0 && buf[n - 1] == '\n')
		n--;
	buf[n] = '\0';
	*ret_len = n;
	return FT_OK;
}

static int
read_secret(struct load *l, const struct key *k, char **ret)
{
	char buf[SECRET_MAX + 2];
	const char *path = *(char *const *)cfield(l->cfg, k);
	int fd, r, line = l->seen[k - keys];
	size_t len = 0;

	fd = open(path,
		  O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0 && errno == ELOOP)
		return fail(l, line, FT_E_PERM,
			    "[%s] %s: '%s' is a symbolic link; name the file "
			    "itself",
			    k->section, k->name, path);
	if (fd < 0)
		return fail(l, line, FT_E_CONFIG,
			    "[%s] %s: cannot open '%s': %s", k->section,
			    k->name, path, strerror(errno));
	r = check_secret_fd(l, k, path, fd);
	if (r == FT_OK)
		r = read_secret_fd(fd, buf, &len);
	if (r == FT_E_IO || r == FT_E_TOOBIG)
		fail(l, line, FT_E_CONFIG, "[%s] %s: cannot read '%s': %s",
		     k->section, k->name, path,
		     r == FT_E_IO ? strerror(errno) : "larger than 4096 bytes");
	else if (r == FT_OK && (len == 0 || memchr(buf, '\0', len) != NULL ||
				check_text(buf) != NULL))
		fail(l, line, FT_E_CONFIG,
		     "[%s] %s: '%s' must hold the secret on one line%s",
		     k->section, k->name, path,
		     len == 0 ? " (it is empty)" : "");
	if (r == FT_OK && !l->failed) {
		*ret = strdup(buf);
		if (*ret == NULL)
			fail(l, 0, FT_E_NOMEM, "out of memory");
	}
	explicit_bzero(buf, sizeof(buf));
	close(fd);
	return l->failed ? l->r : FT_OK;
}

static int
read_secrets(struct load *l)
{
	size_t i;
	char **secret;
	char *const *file;
	int r;

	for (i = 0; i < NKEYS; i++) {
		if (!(keys[i].flags & F_SECRET))
			continue;
		file = cfield(l->cfg, &keys[i]);
		secret = (void *)((char *)l->cfg + keys[i].secret);
		/* FTRACK_API_KEY wins over api_key_file. */
		if (*file == NULL || *secret != NULL)
			continue;
		r = read_secret(l, &keys[i], secret);
		if (r < 0)
			return r;
	}
	return FT_OK;
}

static const char *
config_path(const char *path)
{
	const char *env = getenv("FTRACK_SYNCD_CONFIG");

	if (path != NULL)
		return path;
	if (env != NULL && *env != '\0')
		return env;
	return FT_DEFAULT_CONFIG;
}

int
config_load(const char *path, struct config **ret, char *err, size_t errlen)
{
	struct load l;
	int r = FT_E_INTERNAL;

	memset(&l, 0, sizeof(l));
	l.path = config_path(path);
	l.err = err;
	l.errlen = errlen;
	if (errlen > 0)
		err[0] = '\0';
	l.cfg = calloc(1, sizeof(*l.cfg));
	if (l.cfg == NULL) {
		r = fail(&l, 0, FT_E_NOMEM, "out of memory");
		goto out;
	}
	l.cfg->path = strdup(l.path);
	r = l.cfg->path != NULL ? config_defaults(l.cfg) : FT_E_NOMEM;
	if (r < 0) {
		fail(&l, 0, r, "cannot set the defaults: %s", ft_strerror(r));
		goto out;
	}
	r = parse_file(&l);
	if (r == FT_OK)
		r = apply_env(&l);
	if (r == FT_OK)
		r = check_required(&l);
	if (r == FT_OK)
		r = check_consistent(&l);
	if (r == FT_OK)
		r = read_secrets(&l);
	if (r == FT_OK) {
		*ret = l.cfg;
		l.cfg = NULL;
	}
out:
	config_free(l.cfg);
	return r;
}

static void
free_secret(char *s)
{
	if (s == NULL)
		return;
	explicit_bzero(s, strlen(s));
	free(s);
}

void
config_free(struct config *cfg)
{
	size_t i;

	if (cfg == NULL)
		return;
	free_secret(cfg->ldap.bind_password);
	free_secret(cfg->ftrack.api_key);
	for (i = 0; i < NKEYS; i++) {
		void *p = field(cfg, &keys[i]);

		if (keys[i].kind == K_LIST)
			strlist_clear(p);
		else if (is_string(&keys[i]))
			free(*(char **)p);
	}
	free(cfg->path);
	free(cfg);
}

bool
strlist_has(const struct strlist *list, const char *name)
{
	size_t i;

	for (i = 0; list != NULL && name != NULL && i < list->n; i++)
		if (strcmp(list->v[i], name) == 0)
			return true;
	return false;
}

/* ---- dump ------------------------------------------------------------- */

static const char *
word_name(const struct word *w, int value)
{
	for (; w->name != NULL; w++)
		if (w->value == value)
			return w->name;
	return "?";
}

static void
format_list(const struct strlist *l, char *buf, size_t len)
{
	size_t i, n = 0;

	buf[0] = '\0';
	for (i = 0; i < l->n && n < len; i++)
		n += (size_t)snprintf(buf + n, len - n, "%s%s",
				      i > 0 ? ", " : "", l->v[i]);
}

/* The value of k in config syntax; dumping may truncate a long value. */
static void
format_value(const struct config *cfg, const struct key *k, char *buf,
	     size_t len)
{
	const void *p = cfield(cfg, k);
	const struct limit *lim = p;
	const char *s = NULL;
	int e;

	switch (k->kind) {
	case K_BOOL:
		s = *(const bool *)p ? "yes" : "no";
		break;
	case K_UINT:
		(void)snprintf(buf, len, "%u", *(const unsigned *)p);
		return;
	case K_ULONG:
		(void)snprintf(buf, len, "%lu", *(const unsigned long *)p);
		return;
	case K_ENUM:
		memcpy(&e, p, sizeof(e));
		s = word_name(k->words, e);
		break;
	case K_LIST:
		format_list(p, buf, len);
		return;
	case K_LIMIT:
		(void)snprintf(buf, len, "%lu%s", lim->value,
			       lim->percent ? "%" : "");
		return;
	case K_STR:
	case K_PATH:
	case K_URI:
	case K_URL:
	case K_FILTER:
	case K_ATTR:
	case K_MAP:
		s = *(char *const *)p;
		break;
	}
	(void)snprintf(buf, len, "%s", s != NULL ? s : "");
}

void
config_dump(const struct config *cfg, void (*emit)(void *ctx, const char *line),
	    void *ctx)
{
	char value[1024], line[1200];
	const char *secret;
	size_t i;

	for (i = 0; i < NKEYS; i++) {
		format_value(cfg, &keys[i], value, sizeof(value));
		(void)snprintf(line, sizeof(line), "%s.%s =%s%s",
			       keys[i].section, keys[i].name,
			       value[0] != '\0' ? " " : "", value);
		emit(ctx, line);
		if (!(keys[i].flags & F_SECRET))
			continue;
		secret = *(char *const *)(const void *)((const char *)cfg +
							keys[i].secret);
		/* "bind_password_file" -> "bind_password" */
		(void)snprintf(
			line, sizeof(line), "%s.%.*s = %s", keys[i].section,
			(int)(strlen(keys[i].name) - strlen("_file")),
			keys[i].name, secret != NULL ? "(set)" : "(unset)");
		emit(ctx, line);
	}
}
