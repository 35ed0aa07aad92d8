/* SPDX-License-Identifier: Apache-2.0 */
/* check_config_value.c: config_value.c: every key with good and bad values. */
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include "config.h"
#include "ft_err.h"
#include "h_config.h"

Suite *config_value_suite(void);

/* The dump of c must hold the line "line". */
static void
dump_has(const struct config *c, const char *line)
{
	static struct h_cfg_dump d;
	char want[1100];

	memset(&d, 0, sizeof(d));
	d.text[0] = '\n';
	d.n = 1;
	config_dump(c, h_cfg_collect, &d);
	h_cfg_subst(line, want + 1, sizeof(want) - 2);
	want[0] = '\n';
	ck_assert(strlen(want) + 1 < sizeof(want));
	want[strlen(want) + 1] = '\0';
	want[strlen(want)] = '\n';
	ck_assert_msg(strstr(d.text, want) != NULL, "dump lacks '%s':\n%s",
		      line, d.text);
}

/* ---- every key with a good value ---------------------------------------- */

struct good {
	const char *section, *key, *value;
	const char *also; /* a second line in the section, or NULL */
	enum h_cfg_kind kind;
	size_t off;
	const char *s;
	unsigned long n;
	const char *dump; /* the dump's value; NULL: value */
};

#define G(sec, key, value, kind, f, s, n, dump)                                \
	{                                                                      \
		sec, key, value, NULL, kind, H_CFG_OFF(f), s, n, dump          \
	}
#define GS(sec, key, value, f) G(sec, key, value, H_CFG_STR, f, value, 0, NULL)
/* An http:// server: allowed with insecure_http (config_transport.c). */
#define GH(value, s, dump)                                                     \
	{                                                                      \
		"ftrack", "server", value, "insecure_http = yes", H_CFG_STR,   \
			H_CFG_OFF(ftrack.server), s, 0, dump                   \
	}

static const struct good goods[] = {
	GS("ldap", "uri", "ldaps://a.example.com ldap://b.example.com:389",
	   ldap.uri),
	GS("ldap", "uri", "ldapi://%2Frun%2Fslapd%2Fldapi", ldap.uri),
	{"ldap", "bind_dn", "cn=sync,ou=services,dc=example,dc=com",
	 "bind_password_file = @DIR@/ldap.secret\ninsecure_ldap = yes",
	 H_CFG_STR, H_CFG_OFF(ldap.bind_dn),
	 "cn=sync,ou=services,dc=example,dc=com", 0, NULL},
	{"ldap", "bind_password_file", "@DIR@/ldap.secret",
	 "bind_dn = cn=sync,dc=example,dc=com\ninsecure_ldap = yes", H_CFG_STR,
	 H_CFG_OFF(ldap.bind_password_file), "@DIR@/ldap.secret", 0, NULL},
	GS("ldap", "search_base", "dc=example,dc=com", ldap.search_base),
	GS("ldap", "search_filter", "(&(objectClass=person)(!(uid=svc-*)))",
	   ldap.search_filter),
	GS("ldap", "search_filter", "(cn=a\\29b)", ldap.search_filter),
	GS("ldap", "disabled_filter",
	   "(userAccountControl:1.2.840.113556.1.4.803:=2)",
	   ldap.disabled_filter),
	G("ldap", "disabled_filter", "", H_CFG_NULL, ldap.disabled_filter, NULL,
	  0, ""),
	GS("ldap", "login_attribute", "sAMAccountName", ldap.login_attribute),
	GS("ldap", "login_attribute", "0.9.2342.19200300.100.1.1",
	   ldap.login_attribute),
	GS("ldap", "uuid_attribute", "objectGUID", ldap.uuid_attribute),
	GS("ldap", "uuid_attribute", "objectGUID;binary", ldap.uuid_attribute),
	G("ldap", "start_tls", "yes", H_CFG_BOOL, ldap.start_tls, NULL, 1,
	  "yes"),
	G("ldap", "start_tls", "On", H_CFG_BOOL, ldap.start_tls, NULL, 1,
	  "yes"),
	G("ldap", "start_tls", "false", H_CFG_BOOL, ldap.start_tls, NULL, 0,
	  "no"),
	GS("ldap", "tls_ca_file", "/etc/ssl/certs/studio-ca.pem",
	   ldap.tls_ca_file),
	G("ldap", "tls_require_cert", "never", H_CFG_INT, ldap.tls_require_cert,
	  NULL, TLS_NEVER, NULL),
	G("ldap", "tls_require_cert", "allow", H_CFG_INT, ldap.tls_require_cert,
	  NULL, TLS_ALLOW, NULL),
	G("ldap", "tls_require_cert", "try", H_CFG_INT, ldap.tls_require_cert,
	  NULL, TLS_TRY, NULL),
	G("ldap", "tls_require_cert", "demand", H_CFG_INT,
	  ldap.tls_require_cert, NULL, TLS_DEMAND, NULL),
	G("ldap", "timeout", "1", H_CFG_UINT, ldap.timeout, NULL, 1, NULL),
	G("ldap", "timeout", "3600", H_CFG_UINT, ldap.timeout, NULL, 3600,
	  NULL),
	G("ldap", "page_size", "0", H_CFG_UINT, ldap.page_size, NULL, 0, NULL),
	G("ldap", "page_size", "1000", H_CFG_UINT, ldap.page_size, NULL, 1000,
	  NULL),
	G("ldap", "insecure_ldap", "yes", H_CFG_BOOL, ldap.insecure_ldap, NULL,
	  1, NULL),
	G("ldap", "insecure_ldap", "no", H_CFG_BOOL, ldap.insecure_ldap, NULL,
	  0, NULL),
	GS("ftrack", "server", "https://studio.ftrackapp.com", ftrack.server),
	G("ftrack", "server", "https://studio.ftrackapp.com/", H_CFG_STR,
	  ftrack.server, "https://studio.ftrackapp.com", 0,
	  "https://studio.ftrackapp.com"),
	G("ftrack", "server", "https://h.example.com:8443/ftrack//", H_CFG_STR,
	  ftrack.server, "https://h.example.com:8443/ftrack", 0,
	  "https://h.example.com:8443/ftrack"),
	GH("http://127.0.0.1:8080", "http://127.0.0.1:8080", NULL),
	GH("http://127.45.6.7", "http://127.45.6.7", NULL),
	GH("http://localhost:1234/", "http://localhost:1234",
	   "http://localhost:1234"),
	GH("http://LocalHost", "http://LocalHost", NULL),
	GH("http://[::1]:5000", "http://[::1]:5000", NULL),
	GH("http://[::1]", "http://[::1]", NULL),
	GS("ftrack", "api_user", "robot@example.com", ftrack.api_user),
	GS("ftrack", "api_key_file", "@DIR@/ldap.secret", ftrack.api_key_file),
	G("ftrack", "timeout", "1", H_CFG_UINT, ftrack.timeout, NULL, 1, NULL),
	G("ftrack", "timeout", "3600", H_CFG_UINT, ftrack.timeout, NULL, 3600,
	  NULL),
	G("ftrack", "batch_size", "1", H_CFG_UINT, ftrack.batch_size, NULL, 1,
	  NULL),
	G("ftrack", "batch_size", "1000", H_CFG_UINT, ftrack.batch_size, NULL,
	  1000, NULL),
	GS("ftrack", "tls_ca_file", "/etc/ssl/ftrack.pem", ftrack.tls_ca_file),
	G("ftrack", "insecure_http", "yes", H_CFG_BOOL, ftrack.insecure_http,
	  NULL, 1, NULL),
	G("ftrack", "insecure_http", "off", H_CFG_BOOL, ftrack.insecure_http,
	  NULL, 0, "no"),
	GS("mapping", "username", "{uid|lower}", mapping.username),
	GS("mapping", "username", "sAMAccountName", mapping.username),
	GS("mapping", "email", "{uid|lower}@example.com", mapping.email),
	GS("mapping", "email", "{givenName}.{sn}@example.com", mapping.email),
	G("mapping", "email", "", H_CFG_NULL, mapping.email, NULL, 0, ""),
	GS("mapping", "first_name", "2.5.4.42", mapping.first_name),
	G("mapping", "first_name", "", H_CFG_NULL, mapping.first_name, NULL, 0,
	  ""),
	GS("mapping", "last_name", "surname", mapping.last_name),
	G("mapping", "last_name", "", H_CFG_NULL, mapping.last_name, NULL, 0,
	  ""),
	GS("mapping", "full_name", "cn", mapping.full_name),
	GS("mapping", "full_name", "cn;lang-en", mapping.full_name),
	GS("mapping", "email", "{2.5.4.3;x-a}.{uid|lower}", mapping.email),
	GS("mapping", "full_name", "Dr {displayName}", mapping.full_name),
	G("policy", "on_login", "create", H_CFG_INT, policy.on_login, NULL,
	  ON_LOGIN_CREATE, NULL),
	G("policy", "on_login", "update-only", H_CFG_INT, policy.on_login, NULL,
	  ON_LOGIN_UPDATE_ONLY, NULL),
	G("policy", "on_login", "ignore", H_CFG_INT, policy.on_login, NULL,
	  ON_LOGIN_IGNORE, NULL),
	G("policy", "reconcile_interval", "0", H_CFG_ULONG,
	  policy.reconcile_interval, NULL, 0, NULL),
	G("policy", "reconcile_interval", "86400", H_CFG_ULONG,
	  policy.reconcile_interval, NULL, 86400, NULL),
	G("policy", "reconcile_create", "yes", H_CFG_BOOL,
	  policy.reconcile_create, NULL, 1, NULL),
	G("policy", "reconcile_create", "0", H_CFG_BOOL,
	  policy.reconcile_create, NULL, 0, "no"),
	G("policy", "missing", "deactivate", H_CFG_INT, policy.missing, NULL,
	  MISSING_DEACTIVATE, NULL),
	G("policy", "missing", "delete", H_CFG_INT, policy.missing, NULL,
	  MISSING_DELETE, NULL),
	G("policy", "missing", "ignore", H_CFG_INT, policy.missing, NULL,
	  MISSING_IGNORE, NULL),
	G("policy", "scope", "managed", H_CFG_INT, policy.scope, NULL,
	  SCOPE_MANAGED, NULL),
	G("policy", "scope", "all", H_CFG_INT, policy.scope, NULL, SCOPE_ALL,
	  NULL),
	G("policy", "reactivate", "never", H_CFG_INT, policy.reactivate, NULL,
	  REACTIVATE_NEVER, NULL),
	G("policy", "reactivate", "sync-deactivated", H_CFG_INT,
	  policy.reactivate, NULL, REACTIVATE_SYNC_DEACTIVATED, NULL),
	G("policy", "reactivate", "always", H_CFG_INT, policy.reactivate, NULL,
	  REACTIVATE_ALWAYS, NULL),
	G("policy", "protected_users", "a,b  c ,d,,e\tf", H_CFG_LIST,
	  policy.protected_users, "a|b|c|d|e|f", 0, "a, b, c, d, e, f"),
	G("policy", "protected_users", "", H_CFG_LIST, policy.protected_users,
	  "", 0, ""),
	G("policy", "protected_users", " , ", H_CFG_LIST,
	  policy.protected_users, "", 0, ""),
	G("policy", "skip_users", "root, daemon", H_CFG_LIST, policy.skip_users,
	  "root|daemon", 0, NULL),
	G("policy", "skip_users", "", H_CFG_LIST, policy.skip_users, "", 0, ""),
	G("policy", "login_cooldown", "0", H_CFG_ULONG, policy.login_cooldown,
	  NULL, 0, NULL),
	G("policy", "login_cooldown", "86400", H_CFG_ULONG,
	  policy.login_cooldown, NULL, 86400, NULL),
	G("policy", "min_ldap_users", "0", H_CFG_ULONG, policy.min_ldap_users,
	  NULL, 0, NULL),
	G("policy", "min_ldap_users", "250", H_CFG_ULONG, policy.min_ldap_users,
	  NULL, 250, NULL),
	G("policy", "max_shrink", "10", H_CFG_LIMIT, policy.max_shrink, "10", 0,
	  NULL),
	G("policy", "max_shrink", "100%", H_CFG_LIMIT, policy.max_shrink,
	  "100%", 0, NULL),
	G("policy", "max_shrink", "0%", H_CFG_LIMIT, policy.max_shrink, "0%", 0,
	  NULL),
	G("policy", "max_shrink", "5000", H_CFG_LIMIT, policy.max_shrink,
	  "5000", 0, NULL),
	G("policy", "max_deactivate", "25", H_CFG_LIMIT, policy.max_deactivate,
	  "25", 0, NULL),
	G("policy", "max_deactivate", "0", H_CFG_LIMIT, policy.max_deactivate,
	  "0", 0, NULL),
	G("policy", "max_deactivate", "1%", H_CFG_LIMIT, policy.max_deactivate,
	  "1%", 0, NULL),
	G("policy", "sentinel_users", "alice bob", H_CFG_LIST,
	  policy.sentinel_users, "alice|bob", 0, "alice, bob"),
	GS("daemon", "socket", "/tmp/ftrack-syncd.sock", daemon.socket),
	GS("daemon", "state_dir", "/srv/ftrack-syncd", daemon.state_dir),
	G("daemon", "log_level", "error", H_CFG_INT, daemon.log_level, NULL,
	  LOG_ERR, NULL),
	G("daemon", "log_level", "warning", H_CFG_INT, daemon.log_level, NULL,
	  LOG_WARNING, NULL),
	G("daemon", "log_level", "info", H_CFG_INT, daemon.log_level, NULL,
	  LOG_INFO, NULL),
	G("daemon", "log_level", "debug", H_CFG_INT, daemon.log_level, NULL,
	  LOG_DEBUG, NULL),
	G("daemon", "log_target", "syslog", H_CFG_INT, daemon.log_target, NULL,
	  LOG_TARGET_SYSLOG, NULL),
	G("daemon", "log_target", "stderr", H_CFG_INT, daemon.log_target, NULL,
	  LOG_TARGET_STDERR, NULL),
	G("daemon", "nonroot_rate", "0", H_CFG_UINT, daemon.nonroot_rate, NULL,
	  0, NULL),
	G("daemon", "nonroot_rate", "1", H_CFG_UINT, daemon.nonroot_rate, NULL,
	  1, NULL),
	G("daemon", "nonroot_rate", "240", H_CFG_UINT, daemon.nonroot_rate,
	  NULL, 240, NULL),
	G("daemon", "nonroot_rate", "600000", H_CFG_UINT, daemon.nonroot_rate,
	  NULL, 600000, NULL),
};

#define NGOODS (sizeof(goods) / sizeof(goods[0]))

/* Whether the row's second line sets "section.key" name. */
static bool
also_sets(const struct good *g, const char *name)
{
	const char *key = strchr(name, '.');
	char want[128];

	if (g->also == NULL || key == NULL)
		return false;
	(void)snprintf(want, sizeof(want), "%s =", key + 1);
	return strstr(g->also, want) != NULL;
}

START_TEST(test_good_value)
{
	const struct good *g = &goods[_i];
	char text[512], line[512], what[128];
	struct config *c;
	size_t i;

	(void)snprintf(text, sizeof(text), "%s = %s%s%s", g->key, g->value,
		       g->also != NULL ? "\n" : "",
		       g->also != NULL ? g->also : "");
	h_cfg_build(g->section, g->key, g->section, text);
	c = h_cfg_load_ok();
	(void)snprintf(what, sizeof(what), "%s.%s", g->section, g->key);
	h_cfg_check_field(c, what, g->kind, g->off, g->s, g->n);
	(void)snprintf(line, sizeof(line), "%s.%s =%s%s", g->section, g->key,
		       *(g->dump ? g->dump : g->value) ? " " : "",
		       g->dump ? g->dump : g->value);
	dump_has(c, line);
	/* every other key keeps its default (but those the row sets too) */
	for (i = 0; i < h_cfg_ndefaults; i++)
		if (h_cfg_defaults[i].off != g->off &&
		    strcmp(h_cfg_defaults[i].name, what) != 0 &&
		    strstr(h_cfg_defaults[i].name, "bind_") == NULL &&
		    !also_sets(g, h_cfg_defaults[i].name))
			h_cfg_check_field(
				c, h_cfg_defaults[i].name,
				h_cfg_defaults[i].kind, h_cfg_defaults[i].off,
				h_cfg_defaults[i].s, h_cfg_defaults[i].n);
	config_free(c);
}

END_TEST

/* ---- every bad value ------------------------------------------------------ */

struct bad {
	const char *section, *key, *value;
	const char *msg; /* what follows "[section] key: " */
};

static const struct bad bads[] = {
	{"ldap", "uri", "", "must not be empty"},
	{"ldap", "uri", "ldap1.example.com",
	 "'ldap1.example.com' is not a list of ldap://, ldaps:// or ldapi:// "
	 "URIs"},
	{"ldap", "uri", "ldaps://a.example.com http://b.example.com",
	 "is not a list of ldap://"},
	{"ldap", "uri", "ldap://", "is not a list of ldap://"},
	{"ldap", "search_base", "", "must not be empty"},
	{"ldap", "search_filter", "", "must not be empty"},
	{"ldap", "search_filter", "objectClass=person",
	 "'objectClass=person' must be enclosed in parentheses"},
	{"ldap", "search_filter", "(objectClass=person",
	 "has unbalanced parentheses"},
	{"ldap", "search_filter", "(&(a=b)(c=d)", "has unbalanced parentheses"},
	{"ldap", "search_filter", "(a=b))", "must be one filter"},
	{"ldap", "search_filter", "(a=b)(c=d)", "must be one filter"},
	{"ldap", "search_filter", "(objectClass)",
	 "has no attribute=value test"},
	{"ldap", "search_filter", "(&()(a=b))", "has an empty '()'"},
	{"ldap", "disabled_filter", "(a=b\\)", "has unbalanced parentheses"},
	{"ldap", "disabled_filter", "disabled=TRUE",
	 "must be enclosed in parentheses"},
	{"ldap", "login_attribute", "", "must not be empty"},
	{"ldap", "login_attribute", "u id", "must be an attribute name"},
	{"ldap", "login_attribute", "1uid", "must be an attribute name"},
	{"ldap", "login_attribute", "1..2", "must be an attribute name"},
	{"ldap", "login_attribute", "1.2.", "must be an attribute name"},
	{"ldap", "uuid_attribute", "entry_UUID", "must be an attribute name"},
	{"ldap", "uuid_attribute", "{entryUUID}", "must be an attribute name"},
	{"ldap", "uuid_attribute", "entryUUID;", "must be an attribute name"},
	{"ldap", "uuid_attribute", "entryUUID;;x", "must be an attribute name"},
	{"ldap", "uuid_attribute", "cn;lang en", "must be an attribute name"},
	{"ldap", "uuid_attribute", "cn;a_b", "must be an attribute name"},
	{"ldap", "start_tls", "maybe", "'maybe' is not yes or no"},
	{"ldap", "start_tls", "", "must not be empty"},
	{"ldap", "insecure_ldap", "sometimes", "'sometimes' is not yes or no"},
	{"ldap", "insecure_ldap", "", "must not be empty"},
	{"ldap", "tls_require_cert", "hard",
	 "'hard' is not one of: never, allow, try, demand"},
	{"ldap", "tls_require_cert", "Demand", "is not one of"},
	{"ldap", "timeout", "0", "'0' is not a number from 1 to 3600"},
	{"ldap", "timeout", "3601", "'3601' is not a number from 1 to 3600"},
	{"ldap", "timeout", "-1", "is not a number from 1 to 3600"},
	{"ldap", "timeout", "10s", "is not a number from 1 to 3600"},
	{"ldap", "timeout", "1 0", "is not a number from 1 to 3600"},
	{"ldap", "timeout", "99999999999999999999999", "is not a number"},
	{"ldap", "timeout", "", "must not be empty"},
	{"ldap", "page_size", "100001", "is not a number from 0 to 100000"},
	{"ldap", "tls_ca_file", "certs/ca.pem",
	 "'certs/ca.pem' must be an absolute path"},
	{"ldap", "bind_password_file", "ldap.secret",
	 "must be an absolute path"},
	{"ldap", "bind_dn", "cn=\x01x", "contains a control character"},
	{"ldap", "bind_dn", "cn=\xff", "is not valid UTF-8"},
	{"ftrack", "server", "studio.ftrackapp.com",
	 "must start with https:// (or http:// to a loopback address)"},
	{"ftrack", "server", "ftp://ftrack.example.com", "must start with"},
	{"ftrack", "server", "http://ftrack.example.com",
	 "may use http:// only to a loopback address"},
	{"ftrack", "server", "http://128.0.0.1", "only to a loopback"},
	{"ftrack", "server", "http://10.0.0.1:8080", "only to a loopback"},
	{"ftrack", "server", "http://localhost.example.com",
	 "only to a loopback"},
	{"ftrack", "server", "http://127.0.0.1.example.com",
	 "only to a loopback"},
	{"ftrack", "server", "http://[::2]", "only to a loopback"},
	{"ftrack", "server", "http://[::1", "only to a loopback"},
	{"ftrack", "server", "http://127.0.0.1:99999", "only to a loopback"},
	{"ftrack", "server", "https://", "names no host"},
	{"ftrack", "server", "https:///api", "names no host"},
	{"ftrack", "server", "https://user:pw@ftrack.example.com",
	 "must not contain blanks, '?', '#' or '@'"},
	{"ftrack", "server", "https://ftrack.example.com/?x=1",
	 "must not contain"},
	{"ftrack", "server", "https://a b", "must not contain"},
	{"ftrack", "api_key_file", "secret", "must be an absolute path"},
	{"ftrack", "timeout", "0", "is not a number from 1 to 3600"},
	{"ftrack", "batch_size", "0", "'0' is not a number from 1 to 1000"},
	{"ftrack", "batch_size", "1001",
	 "'1001' is not a number from 1 to 1000"},
	{"ftrack", "tls_ca_file", "ca.pem", "must be an absolute path"},
	{"ftrack", "insecure_http", "2", "'2' is not yes or no"},
	{"ftrack", "insecure_http", "", "must not be empty"},
	{"mapping", "username", "", "must not be empty"},
	/* the mapping unit's own grammar and words (ldap_map_check) */
	{"mapping", "username", "{uid",
	 "[mapping] username: unclosed '{' in "
	 "'{uid'"},
	{"mapping", "email", "{uid}}@x", "unexpected '}' in '{uid}}@x'"},
	{"mapping", "email", "{uid|upper}@example.com",
	 "unknown filter 'upper' in '{uid|upper}@example.com' (the one filter "
	 "is |lower)"},
	{"mapping", "email", "{uid|}@example.com", "unknown filter '' in"},
	{"mapping", "email", "{uid|lower|lower}",
	 "unknown filter 'lower|lower'"},
	{"mapping", "email", "{}@example.com",
	 "'' is not an attribute name in '{}@example.com'"},
	{"mapping", "email", "{u id}@example.com",
	 "'u id' is not an attribute name"},
	{"ftrack", "link_by", "mail", "'mail' is not one of: username, email"},
	{"ftrack", "link_by", "Email", "is not one of: username, email"},
	{"ftrack", "link_by", "", "must not be empty"},
	{"mapping", "email", "john@example.com",
	 "'john@example.com' is neither an attribute name nor a template"},
	{"mapping", "first_name", "{given{Name}}",
	 "'given{Name' is not an attribute name"},
	{"mapping", "last_name", "s n",
	 "'s n' is neither an attribute name nor a template"},
	{"mapping", "full_name", "{cn", "unclosed '{'"},
	{"mapping", "email", "{cn;}", "'cn;' is not an attribute name"},
	{"mapping", "email", "{1..2}", "'1..2' is not an attribute name"},
	{"policy", "on_login", "always",
	 "'always' is not one of: create, update-only, ignore"},
	{"policy", "reconcile_interval", "-5",
	 "is not a number from 0 to 31536000"},
	{"policy", "reconcile_interval", "31536001",
	 "is not a number from 0 to 31536000"},
	{"policy", "reconcile_create", "2", "is not yes or no"},
	{"policy", "missing", "remove",
	 "is not one of: deactivate, delete, ignore"},
	{"policy", "scope", "some", "is not one of: managed, all"},
	{"policy", "reactivate", "sometimes",
	 "is not one of: never, sync-deactivated, always"},
	{"policy", "login_cooldown", "abc", "is not a number from 0 to"},
	{"policy", "min_ldap_users", "1e3",
	 "is not a number from 0 to 100000000"},
	{"policy", "max_shrink", "101%",
	 "'101%' is not a count (0 to 100000000) or a percentage (0% to "
	 "100%)"},
	{"policy", "max_shrink", "abc%", "is not a count"},
	{"policy", "max_shrink", "%", "is not a count"},
	{"policy", "max_shrink", "20 %", "is not a count"},
	{"policy", "max_shrink", "-1", "is not a count"},
	{"policy", "max_shrink", "", "must not be empty"},
	{"policy", "max_deactivate", "100000001", "is not a count"},
	{"policy", "max_deactivate", "5%%", "is not a count"},
	{"policy", "protected_users", "admin\x7f", "contains a control"},
	{"daemon", "socket", "notify.sock", "must be an absolute path"},
	{"daemon", "socket",
	 "/run/ftrack-syncd/this/path/is/far/too/long/for/a/unix/socket/"
	 "address/which/holds/at/most/107/bytes/notify.sock",
	 "is too long"},
	{"daemon", "socket", "", "must not be empty"},
	{"daemon", "state_dir", "var/lib/ftrack-syncd",
	 "must be an absolute path"},
	{"daemon", "log_level", "verbose",
	 "'verbose' is not one of: error, warning, info, debug"},
	{"daemon", "log_level", "notice", "is not one of"},
	{"daemon", "log_target", "file", "is not one of: syslog, stderr"},
	{"daemon", "nonroot_rate", "600001",
	 "'600001' is not a number from 0 to 600000"},
	{"daemon", "nonroot_rate", "-1", "is not a number from 0 to 600000"},
	{"daemon", "nonroot_rate", "240/min", "is not a number"},
	{"daemon", "nonroot_rate", "", "must not be empty"},
};

#define NBADS (sizeof(bads) / sizeof(bads[0]))

START_TEST(test_bad_value)
{
	const struct bad *b = &bads[_i];
	char text[512], tail[512];
	int line;

	(void)snprintf(text, sizeof(text), "%s = %s", b->key, b->value);
	line = h_cfg_build(b->section, b->key, b->section, text);
	(void)snprintf(tail, sizeof(tail), "[%s] %s: ", b->section, b->key);
	h_cfg_load_fails(FT_E_CONFIG, h_cfg_at(line, tail), b->msg);
	/* the same line in the middle of the file: same line number */
	(void)snprintf(text, sizeof(text),
		       "%s = %s\n[daemon]\nlog_level = info", b->key, b->value);
	if (strcmp(b->key, "log_level") != 0) {
		line = h_cfg_build(b->section, b->key, b->section, text);
		h_cfg_load_fails(FT_E_CONFIG, h_cfg_at(line, tail), b->msg);
	}
}

END_TEST

Suite *
config_value_suite(void)
{
	Suite *s = suite_create("config_value");
	TCase *tc = tcase_create("config_value");

	h_cfg_fixtures(tc);
	tcase_add_loop_test(tc, test_good_value, 0, (int)NGOODS);
	tcase_add_loop_test(tc, test_bad_value, 0, (int)NBADS);
	suite_add_tcase(s, tc);
	return s;
}
