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

#include "config_int.h"
#include "ft_err.h"
#include "ft_util.h"
#include "ldap_map.h"
#include "login.h"

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
static const struct word link_by_words[] = {
	{"username", LINK_BY_USERNAME}, {"email", LINK_BY_EMAIL}, {NULL, 0}};
static const struct word log_level_words[] = {{"error", LOG_ERR},
					      {"warning", LOG_WARNING},
					      {"info", LOG_INFO},
					      {"debug", LOG_DEBUG},
					      {NULL, 0}};
static const struct word login_format_words[] = {
	{"strip-realm", LOGIN_STRIP_REALM},
	{"strip-domain", LOGIN_STRIP_DOMAIN},
	{"lower", LOGIN_LOWER},
	{NULL, 0}};
static const struct word mode_words[] = {{"standalone", MODE_STANDALONE},
					 {"relay", MODE_RELAY},
					 {"provisioner", MODE_PROVISIONER},
					 {NULL, 0}};
static const struct word member_attr_words[] = {
	{"member", MEMBER_ATTR_MEMBER},
	{"uniqueMember", MEMBER_ATTR_UNIQUE_MEMBER},
	{"memberUid", MEMBER_ATTR_MEMBER_UID},
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
const struct key conf_keys[] = {
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
	{"ldap", "login_format", K_FLAGS, F_EMPTY, OFF(ldap.login_format), 0, 0,
	 login_format_words, NULL, NULL, 0},
	K("ldap", "start_tls", K_BOOL, 0, ldap.start_tls, 0, 0, "no"),
	K("ldap", "tls_ca_file", K_PATH, F_EMPTY, ldap.tls_ca_file, 0, 0, NULL),
	E("ldap", "tls_require_cert", ldap.tls_require_cert, tls_words,
	  "demand"),
	K("ldap", "timeout", K_UINT, 0, ldap.timeout, 1, 3600, "10"),
	K("ldap", "page_size", K_UINT, 0, ldap.page_size, 0, 100000, "500"),
	K("ldap", "insecure_ldap", K_BOOL, 0, ldap.insecure_ldap, 0, 0, "no"),
	K("ldap", "ignore_referrals", K_LIST, 0, ldap.ignore_referrals, 0, 0,
	  NULL),
	K("ldap", "expires_attribute", K_ATTR, F_EMPTY, ldap.expires_attribute,
	  0, 0, NULL),
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
	K("ftrack", "insecure_http", K_BOOL, 0, ftrack.insecure_http, 0, 0,
	  "no"),
	E("ftrack", "link_by", ftrack.link_by, link_by_words, "username"),
	K("mapping", "username", K_MAP, 0, mapping.username, 0, 0, "uid"),
	K("mapping", "email", K_MAP, F_EMPTY, mapping.email, 0, 0, "mail"),
	K("mapping", "first_name", K_MAP, F_EMPTY, mapping.first_name, 0, 0,
	  "givenName"),
	K("mapping", "last_name", K_MAP, F_EMPTY, mapping.last_name, 0, 0,
	  "sn"),
	K("mapping", "full_name", K_MAP, F_EMPTY, mapping.full_name, 0, 0,
	  NULL),
	K("mapping", "transform", K_PATH, F_EMPTY, mapping.transform, 0, 0,
	  NULL),
	K("mapping", "transform_attributes", K_LIST, F_ATTRS,
	  mapping.transform_attributes, 0, 0, NULL),
	K("mapping", "transform_timeout", K_UINT, 0, mapping.transform_timeout,
	  1, 3600, "5"),
	E("policy", "on_login", policy.on_login, on_login_words, "create"),
	K("policy", "reconcile_interval", K_ULONG, 0, policy.reconcile_interval,
	  0, SECONDS_MAX, "0"),
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
	K("daemon", "nonroot_rate", K_UINT, 0, daemon.nonroot_rate, 0,
	  NONROOT_RATE_MAX, "240"),
	E("daemon", "mode", daemon.mode, mode_words, "standalone"),
	{"relay", "upstream", K_LIST, F_URLS, OFF(relay.upstream), 0, 0, NULL,
	 NULL, NULL, 0},
	K("relay", "tls_cert_file", K_PATH, 0, relay.tls_cert_file, 0, 0, NULL),
	K("relay", "tls_key_file", K_PATH, F_KEYFILE | F_CRED,
	  relay.tls_key_file, 0, 0, NULL),
	K("relay", "tls_ca_file", K_PATH, F_EMPTY, relay.tls_ca_file, 0, 0,
	  NULL),
	K("relay", "timeout", K_UINT, 0, relay.timeout, 1, 3600, "10"),
	K("relay", "retry_primary", K_ULONG, 0, relay.retry_primary, 0,
	  SECONDS_MAX, "300"),
	K("provisioner", "listen", K_LIST, 0, provisioner.listen, 0, 0,
	  "0.0.0.0:8443"),
	K("provisioner", "tls_cert_file", K_PATH, F_EMPTY,
	  provisioner.tls_cert_file, 0, 0, NULL),
	K("provisioner", "tls_key_file", K_PATH, F_EMPTY | F_KEYFILE,
	  provisioner.tls_key_file, 0, 0, NULL),
	K("provisioner", "client_ca_file", K_PATH, F_EMPTY,
	  provisioner.client_ca_file, 0, 0, NULL),
	K("provisioner", "crl_file", K_PATH, F_EMPTY, provisioner.crl_file, 0,
	  0, NULL),
	K("provisioner", "allow_hosts", K_LIST, 0, provisioner.allow_hosts, 0,
	  0, NULL),
	K("provisioner", "deny_file", K_PATH, F_EMPTY, provisioner.deny_file, 0,
	  0, NULL),
	K("provisioner", "host_rate", K_UINT, 0, provisioner.host_rate, 1,
	  100000, "10"),
	K("provisioner", "max_connections", K_UINT, 0,
	  provisioner.max_connections, 1, PROV_CONN_MAX, "1024"),
	K("provisioner", "per_ip_connections", K_UINT, 0,
	  provisioner.per_ip_connections, 1, PROV_CONN_MAX, "64"),
	K("provisioner", "metrics_listen", K_STR, F_EMPTY,
	  provisioner.metrics_listen, 0, 0, NULL),
	K("provisioner", "new_seats_per_host", K_ULONG, 0,
	  provisioner.new_seats_per_host, 0, COUNT_MAX, "20"),
	K("provisioner", "new_seats_total", K_ULONG, 0,
	  provisioner.new_seats_total, 0, COUNT_MAX, "500"),
	K("hooks", "on_change", K_PATH, F_EMPTY, hooks.on_change, 0, 0, NULL),
	K("hooks", "hook_timeout", K_UINT, 0, hooks.hook_timeout, 1, 3600,
	  "30"),
	K("groups", "search_base", K_STR, F_EMPTY, groups.search_base, 0, 0,
	  NULL),
	K("groups", "search_filter", K_FILTER, 0, groups.search_filter, 0, 0,
	  "(objectClass=groupOfNames)"),
	K("groups", "name_attribute", K_ATTR, 0, groups.name_attribute, 0, 0,
	  "cn"),
	E("groups", "member_attribute", groups.member_attribute,
	  member_attr_words, "member"),
	K("groups", "nested", K_BOOL, 0, groups.nested, 0, 0, "no"),
	K("groups", "remove", K_BOOL, 0, groups.remove, 0, 0, "yes"),
	K("groups", "max_removals", K_LIMIT, 0, groups.max_removals, 0,
	  COUNT_MAX, "5%"),
};

_Static_assert(sizeof(conf_keys) / sizeof(conf_keys[0]) == CONF_NKEYS,
	       "CONF_NKEYS in config_int.h counts the keys of this table");

static const char *const sections[] = {
	"ldap",        "ftrack", "mapping", "policy",    "daemon",  "relay",
	"provisioner", "hooks",  "groups",  "group_map", "role_map"};

void *
conf_field(struct config *cfg, const struct key *k)
{
	return (char *)cfg + k->off;
}

const void *
conf_cfield(const struct config *cfg, const struct key *k)
{
	return (const char *)cfg + k->off;
}

/* Record an error as "path:line: msg" (line 0: "path: msg"); returns r. */
int
conf_fail(struct load *l, int line, int r, const char *fmt, ...)
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

size_t
conf_key_find(const char *section, const char *name)
{
	size_t i;

	for (i = 0; i < CONF_NKEYS; i++)
		if (strcmp(conf_keys[i].section, section) == 0 &&
		    strcmp(conf_keys[i].name, name) == 0)
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

static int
config_defaults(struct config *cfg)
{
	char msg[MSG_MAX];
	size_t i;
	int r;

	for (i = 0; i < CONF_NKEYS; i++) {
		if (conf_keys[i].def == NULL)
			continue;
		r = conf_set_value(cfg, &conf_keys[i], conf_keys[i].def, msg,
				   sizeof(msg));
		if (r < 0)
			return r == FT_E_NOMEM ? r : FT_E_INTERNAL;
	}
	return FT_OK;
}

/* ---- the file --------------------------------------------------------- */

/* The first line of the sections whose presence the mode judges. */
static void
note_section(struct load *l, const char *name, size_t len)
{
	int *line = NULL;

	if (len == 4 && strncmp(name, "ldap", 4) == 0)
		line = &l->ldap_line;
	else if (len == 6 && strncmp(name, "ftrack", 6) == 0)
		line = &l->ftrack_line;
	else if (len == 5 && strncmp(name, "relay", 5) == 0)
		line = &l->relay_line;
	if (line != NULL && *line == 0)
		*line = l->lineno;
}

/* "[name]" on line s: refuse unknown sections, even empty ones. */
static void
check_section_line(struct load *l, const char *s)
{
	const char *end = strchr(s + 1, ']');

	if (end == NULL)
		return; /* inih reports the syntax error */
	if (!section_known(s + 1, (size_t)(end - s - 1)))
		conf_fail(
			l, l->lineno, FT_E_CONFIG,
			"[%.*s]: unknown section (known: ldap, ftrack, mapping, "
			"policy, daemon, relay, provisioner, groups, group_map, "
			"role_map)",
			(int)(end - s - 1 > 64 ? 64 : end - s - 1), s + 1);
	else
		note_section(l, s + 1, (size_t)(end - s - 1));
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
			conf_fail(l, 0, FT_E_CONFIG, "cannot read: %s",
				  strerror(errno));
		return NULL;
	}
	len = (size_t)n;
	if (++l->lineno > CONFIG_MAX_LINES)
		conf_fail(l, l->lineno, FT_E_CONFIG, "too many lines");
	else if (strlen(l->buf) != len)
		conf_fail(l, l->lineno, FT_E_CONFIG,
			  "line contains a NUL byte");
	while (len > 0 && (l->buf[len - 1] == '\n' || l->buf[len - 1] == '\r'))
		l->buf[--len] = '\0';
	s = l->buf;
	if (l->lineno == 1 && strncmp(s, "\xef\xbb\xbf", 3) == 0)
		s += 3; /* UTF-8 byte order mark */
	s += strspn(s, " \t");
	len = strlen(s);
	if (!l->failed && len >= (size_t)num)
		conf_fail(l, l->lineno, FT_E_CONFIG,
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
	if (conf_groupmap_section(section))
		return conf_groupmap_add(l, section, name, value) == FT_OK;
	i = conf_key_find(section, name);
	if (*section == '\0')
		conf_fail(l, l->lineno, FT_E_CONFIG,
			  "%.64s: key outside a section; put it under [ldap], "
			  "[ftrack], [mapping], [policy], [daemon] or [relay]",
			  name);
	else if (i == CONF_NKEYS)
		conf_fail(l, l->lineno, FT_E_CONFIG, "[%s] %.64s: unknown key",
			  section, name);
	else if (l->seen[i] != 0)
		conf_fail(l, l->lineno, FT_E_CONFIG,
			  "[%s] %s: duplicate key (first set on line %d)",
			  section, name, l->seen[i]);
	if (l->failed)
		return 0;
	l->seen[i] = l->lineno;
	r = conf_set_value(l->cfg, &conf_keys[i], value, msg, sizeof(msg));
	if (r < 0)
		conf_fail(l, l->lineno, r, "[%s] %s: %s", section, name, msg);
	return r == FT_OK;
}

/* The config file must not be writable by anyone but root or us. */
static int
check_config_file(struct load *l, int fd)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return conf_fail(l, 0, FT_E_CONFIG, "cannot stat: %s",
				 strerror(errno));
	if (!S_ISREG(st.st_mode))
		return conf_fail(l, 0, FT_E_CONFIG, "is not a regular file");
	if (st.st_uid != 0 && st.st_uid != geteuid())
		return conf_fail(
			l, 0, FT_E_PERM,
			"is owned by uid %u, not by root or uid %u; run "
			"chown root %s",
			(unsigned)st.st_uid, (unsigned)geteuid(), l->path);
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0)
		return conf_fail(
			l, 0, FT_E_PERM,
			"is writable by group or others; run chmod go-w %s",
			l->path);
	if (st.st_size > CONFIG_MAX_BYTES)
		return conf_fail(l, 0, FT_E_CONFIG, "is larger than %ld bytes",
				 CONFIG_MAX_BYTES);
	return FT_OK;
}

static int
parse_file(struct load *l)
{
	int fd, n, r = FT_E_INTERNAL;

	fd = open(l->path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return conf_fail(l, 0, FT_E_CONFIG, "cannot open: %s",
				 strerror(errno));
	r = check_config_file(l, fd);
	if (r < 0)
		goto out_close;
	l->f = fdopen(fd, "r");
	if (l->f == NULL) {
		r = conf_fail(l, 0, FT_E_NOMEM, "out of memory");
		goto out_close;
	}
	n = ini_parse_stream(reader, l, handler, l);
	/* inih reports the first bad line, ours or its own syntax error. */
	if (n > 0 && (!l->failed || (l->err_line > 0 && n < l->err_line)))
		conf_fail(l, n, FT_E_CONFIG,
			  "syntax error: expected [section], key = value or a "
			  "comment");
	else if (n < 0 && !l->failed)
		conf_fail(l, 0, FT_E_NOMEM, "out of memory");
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

	for (i = 0; i < CONF_NKEYS; i++) {
		v = conf_keys[i].env != NULL ? getenv(conf_keys[i].env) : NULL;
		if (v == NULL || *v == '\0')
			continue;
		r = strlen(v) > ENV_MAX ? FT_E_CONFIG : FT_OK;
		if (r < 0)
			(void)snprintf(msg, sizeof(msg), "is too long");
		else
			r = conf_set_value(l->cfg, &conf_keys[i], v, msg,
					   sizeof(msg));
		if (r < 0)
			return conf_fail(l, 0, r, "environment %s: %s",
					 conf_keys[i].env, msg);
	}
	v = getenv("FTRACK_API_KEY");
	if (v == NULL || *v == '\0')
		return FT_OK;
	if (strlen(v) > SECRET_MAX || conf_check_text(v) != NULL)
		return conf_fail(
			l, 0, FT_E_CONFIG,
			"environment FTRACK_API_KEY: must be one line of at "
			"most %d bytes",
			SECRET_MAX);
	l->cfg->ftrack.api_key = strdup(v);
	if (l->cfg->ftrack.api_key == NULL)
		return conf_fail(l, 0, FT_E_NOMEM, "out of memory");
	return FT_OK;
}

/* Whether key k must be set in cfg's mode (F_REQ, or a relay's own). */
static bool
key_required(const struct config *cfg, const struct key *k)
{
	bool relay_key = strcmp(k->section, "relay") == 0;

	if (cfg->daemon.mode == MODE_RELAY)
		return relay_key && (k->kind == K_LIST || k->kind == K_PATH) &&
		       strcmp(k->name, "tls_ca_file") != 0;
	return !relay_key && (k->flags & F_REQ);
}

static int
check_required(struct load *l)
{
	const struct config *cfg = l->cfg;
	size_t i;

	for (i = 0; i < CONF_NKEYS; i++) {
		const void *p = conf_cfield(cfg, &conf_keys[i]);

		/* required keys are strings or lists (key_required) */
		if (!key_required(cfg, &conf_keys[i]))
			continue;
		if (conf_keys[i].kind == K_LIST
			    ? ((const struct strlist *)p)->n > 0
			    : *(char *const *)p != NULL)
			continue;
		return conf_fail(l, 0, FT_E_CONFIG,
				 "[%s] %s: required key is missing%s%s%s",
				 conf_keys[i].section, conf_keys[i].name,
				 conf_keys[i].env != NULL ? " (or set " : "",
				 conf_keys[i].env != NULL ? conf_keys[i].env
							  : "",
				 conf_keys[i].env != NULL ? ")" : "");
	}
	if (cfg->daemon.mode != MODE_RELAY && cfg->ftrack.api_key == NULL &&
	    cfg->ftrack.api_key_file == NULL)
		return conf_fail(
			l, 0, FT_E_CONFIG,
			"[ftrack] api_key_file: required key is missing "
			"(or set FTRACK_API_KEY)");
	return FT_OK;
}

/*
 * A relay holds nothing that can change ftrack: no [ldap], no [ftrack],
 * none of their secrets (FTRACK_API_KEY and the other variables either);
 * [relay] belongs to a relay only.
 */
static int
check_mode(struct load *l)
{
	static const char *const env[] = {"FTRACK_API_KEY", "FTRACK_SERVER",
					  "FTRACK_API_USER"};
	size_t i;

	if (l->cfg->daemon.mode != MODE_RELAY) {
		if (l->relay_line > 0)
			return conf_fail(l, l->relay_line, FT_E_CONFIG,
					 "[relay]: only a relay reads this "
					 "section; set mode = relay in "
					 "[daemon] or remove it");
		return FT_OK;
	}
	if (l->ldap_line > 0 || l->ftrack_line > 0)
		return conf_fail(
			l,
			l->ldap_line > 0 && (l->ftrack_line == 0 ||
					     l->ldap_line < l->ftrack_line)
				? l->ldap_line
				: l->ftrack_line,
			FT_E_CONFIG,
			"[%s]: a relay holds nothing that can change ftrack: "
			"remove [ldap] and [ftrack] (and their secret files) "
			"from a relay; the provisioners hold them",
			l->ldap_line > 0 && (l->ftrack_line == 0 ||
					     l->ldap_line < l->ftrack_line)
				? "ldap"
				: "ftrack");
	if (l->cfg->relay.upstream.n > RELAY_UPSTREAM_MAX)
		return conf_fail(l, l->seen[conf_key_find("relay", "upstream")],
				 FT_E_CONFIG,
				 "[relay] upstream: at most %d URLs",
				 RELAY_UPSTREAM_MAX);
	for (i = 0; i < sizeof(env) / sizeof(env[0]); i++) {
		const char *v = getenv(env[i]);

		if (v != NULL && *v != '\0')
			return conf_fail(l, 0, FT_E_CONFIG,
					 "environment %s: a relay holds "
					 "nothing that can change ftrack: "
					 "unset it",
					 env[i]);
	}
	return FT_OK;
}

/*
 * mode = provisioner needs its certificate, key, client CA and at least
 * one allow_hosts glob: no default lets every host the CA signed in.
 */
static int
check_provisioner(struct load *l)
{
	const struct config_provisioner *p = &l->cfg->provisioner;
	const char *missing = NULL;

	if (l->cfg->daemon.mode != MODE_PROVISIONER)
		return FT_OK;
	if (p->tls_cert_file == NULL)
		missing = "tls_cert_file";
	else if (p->tls_key_file == NULL)
		missing = "tls_key_file";
	else if (p->client_ca_file == NULL)
		missing = "client_ca_file";
	else if (p->allow_hosts.n == 0)
		missing = "allow_hosts";
	else if (p->listen.n == 0)
		missing = "listen";
	if (missing != NULL)
		return conf_fail(l, l->seen[conf_key_find("daemon", "mode")],
				 FT_E_CONFIG,
				 "[provisioner] %s: required with mode = "
				 "provisioner",
				 missing);
	return FT_OK;
}

static int
check_consistent(struct load *l)
{
	const struct config_ldap *c = &l->cfg->ldap;
	size_t i = conf_key_find("ldap", "bind_dn");
	size_t j = conf_key_find("ldap", "bind_password_file");
	size_t t = conf_key_find("ldap", "start_tls");

	if ((c->bind_dn == NULL) != (c->bind_password_file == NULL))
		return conf_fail(
			l, l->seen[c->bind_dn != NULL ? i : j], FT_E_CONFIG,
			"[ldap] %s: bind_dn and bind_password_file go "
			"together (set both, or neither for an anonymous "
			"bind)",
			c->bind_dn != NULL ? "bind_dn" : "bind_password_file");
	if (c->start_tls && strcasestr(c->uri, "ldaps://") != NULL)
		return conf_fail(
			l, l->seen[t], FT_E_CONFIG,
			"[ldap] start_tls: ldaps:// URIs are already TLS; "
			"set start_tls = no or use ldap://");
	if (c->expires_attribute != NULL &&
	    ldap_map_expiry_format(c->expires_attribute) == LDAP_EXPIRY_NONE)
		return conf_fail(
			l, l->seen[conf_key_find("ldap", "expires_attribute")],
			FT_E_CONFIG,
			"[ldap] expires_attribute: '%s' is neither "
			"accountExpires (AD, FILETIME) nor shadowExpire (days "
			"since 1970-01-01)",
			c->expires_attribute);
	return check_provisioner(l);
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
		r = conf_fail(&l, 0, FT_E_NOMEM, "out of memory");
		goto out;
	}
	l.cfg->path = strdup(l.path);
	r = l.cfg->path != NULL ? config_defaults(l.cfg) : FT_E_NOMEM;
	if (r < 0) {
		conf_fail(&l, 0, r, "cannot set the defaults: %s",
			  ft_strerror(r));
		goto out;
	}
	r = parse_file(&l);
	if (r == FT_OK)
		r = check_mode(&l);
	if (r == FT_OK)
		r = apply_env(&l);
	if (r == FT_OK)
		r = check_required(&l);
	if (r == FT_OK)
		r = check_consistent(&l);
	if (r == FT_OK)
		r = conf_check_groups(&l);
	if (r == FT_OK)
		r = conf_check_transport(&l);
	if (r == FT_OK)
		r = conf_read_secrets(&l);
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
	for (i = 0; i < CONF_NKEYS; i++) {
		void *p = conf_field(cfg, &conf_keys[i]);

		if (conf_keys[i].kind == K_LIST)
			conf_strlist_clear(p);
		else if (conf_is_string(&conf_keys[i]))
			free(*(char **)p);
	}
	conf_groupmap_free(cfg);
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
