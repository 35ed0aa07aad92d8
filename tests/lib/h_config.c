/* SPDX-License-Identifier: Apache-2.0 */
/* h_config.c: test library: the config suites' files, loading, errors. */
#include "h_config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "ft_err.h"
#include "harness.h"

struct h_cfg_files h_cfg;

/* ---- files ------------------------------------------------------------ */

void
h_cfg_write_file(const char *path, const char *data, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	ck_assert_msg(fd >= 0, "open %s: %s", path, strerror(errno));
	ck_assert_int_eq(write(fd, data, len), (ssize_t)len);
	ck_assert_int_eq(fchmod(fd, mode), 0);
	ck_assert_int_eq(close(fd), 0);
}

void
h_cfg_write_text(const char *path, const char *text, mode_t mode)
{
	h_cfg_write_file(path, text, strlen(text), mode);
}

void
h_cfg_subst(const char *in, char *out, size_t cap)
{
	size_t n = 0;
	int k;

	out[0] = '\0';
	while (*in != '\0') {
		if (strncmp(in, "@DIR@", 5) == 0) {
			k = snprintf(out + n, cap - n, "%s", h_cfg.dir);
			in += 5;
		} else {
			k = snprintf(out + n, cap - n, "%c", *in++);
		}
		ck_assert(k > 0 && (size_t)k < cap - n);
		n += (size_t)k;
	}
}

void
h_cfg_cat(char *buf, size_t *n, const char *s)
{
	size_t len = strlen(s);

	ck_assert(len < H_CFG_TEXT_MAX - *n);
	memcpy(buf + *n, s, len + 1);
	*n += len;
}

/* ---- fixtures --------------------------------------------------------- */

/*
 * One temp folder per test case, made and removed by the parent process
 * (an unchecked fixture), so that a failed test leaves nothing behind;
 * each test starts with it holding only the two secret files.
 */
static void
make_dir(void)
{
	char *d = h_tmpdir();
	int n;

	ck_assert_ptr_nonnull(d);
	n = snprintf(h_cfg.dir, sizeof(h_cfg.dir), "%s", d);
	free(d);
	ck_assert(n > 0 && (size_t)n < sizeof(h_cfg.dir));
}

static void
remove_dir(void)
{
	h_rmtree(h_cfg.dir);
}

static void
set_path(char *buf, const char *name)
{
	int n = snprintf(buf, PATH_MAX, "%s/%s", h_cfg.dir, name);

	ck_assert(n > 0 && n < PATH_MAX);
}

static void
setup(void)
{
	h_rmtree(h_cfg.dir);
	ck_assert_int_eq(mkdir(h_cfg.dir, 0700), 0);
	set_path(h_cfg.path, "syncd.conf");
	set_path(h_cfg.key, "ftrack.secret");
	set_path(h_cfg.pw, "ldap.secret");
	h_cfg_write_text(h_cfg.key, "sekrit-api-key\n", 0600);
	h_cfg_write_text(h_cfg.pw, "ldap-pw", 0600);
	unsetenv("FTRACK_SERVER");
	unsetenv("FTRACK_API_USER");
	unsetenv("FTRACK_API_KEY");
	unsetenv("FTRACK_SYNCD_CONFIG");
	h_cfg.err[0] = '\0';
}

void
h_cfg_fixtures(TCase *tc)
{
	tcase_add_unchecked_fixture(tc, make_dir, remove_dir);
	tcase_add_checked_fixture(tc, setup, NULL);
}

/* ---- the config under test -------------------------------------------- */

struct kv {
	const char *section, *key, *value;
};

/* The smallest valid file: the required keys. */
static const struct kv base[] = {
	{"ldap", "uri", "ldap://127.0.0.1:3890"},
	{"ldap", "search_base", "ou=people,dc=example,dc=com"},
	{"ftrack", "server", "https://ftrack.example.com"},
	{"ftrack", "api_user", "ftrack-sync"},
	{"ftrack", "api_key_file", "@DIR@/ftrack.secret"},
};

/* "[section]\n" when the base lines move to another section. */
static int
open_section(char *text, size_t *n, const char **cur, const char *section)
{
	if (strcmp(*cur, section) == 0)
		return 0;
	h_cfg_cat(text, n, "[");
	h_cfg_cat(text, n, section);
	h_cfg_cat(text, n, "]\n");
	*cur = section;
	return 1;
}

int
h_cfg_build(const char *osec, const char *okey, const char *xsec,
	    const char *xtext)
{
	static char text[H_CFG_TEXT_MAX], out[H_CFG_TEXT_MAX];
	const char *cur = "";
	size_t i, n = 0;
	int lines = 0;

	for (i = 0; i < sizeof(base) / sizeof(base[0]); i++) {
		if (osec != NULL && strcmp(base[i].section, osec) == 0 &&
		    strcmp(base[i].key, okey) == 0)
			continue;
		lines += open_section(text, &n, &cur, base[i].section);
		h_cfg_cat(text, &n, base[i].key);
		h_cfg_cat(text, &n, " = ");
		h_cfg_cat(text, &n, base[i].value);
		h_cfg_cat(text, &n, "\n");
		lines++;
	}
	if (xsec != NULL && xtext != NULL) {
		h_cfg_cat(text, &n, "[");
		h_cfg_cat(text, &n, xsec);
		h_cfg_cat(text, &n, "]\n");
		h_cfg_cat(text, &n, xtext);
		h_cfg_cat(text, &n, "\n");
	}
	h_cfg_subst(text, out, sizeof(out));
	h_cfg_write_text(h_cfg.path, out, 0600);
	return lines + 2;
}

int
h_cfg_load(struct config **ret)
{
	*ret = NULL;
	return config_load(h_cfg.path, ret, h_cfg.err, sizeof(h_cfg.err));
}

struct config *
h_cfg_load_ok(void)
{
	struct config *c = NULL;
	int r = h_cfg_load(&c);

	ck_assert_msg(r == FT_OK, "config_load: %s: %s", ft_strerror(r),
		      h_cfg.err);
	ck_assert_ptr_nonnull(c);
	return c;
}

void
h_cfg_load_fails(int r, const char *prefix, const char *part)
{
	struct config *c = NULL;
	int got = h_cfg_load(&c);

	ck_assert_msg(got == r, "want %s, got %s: %s", ft_strerror(r),
		      ft_strerror(got), h_cfg.err);
	ck_assert_ptr_null(c);
	ck_assert_msg(strncmp(h_cfg.err, prefix, strlen(prefix)) == 0,
		      "error '%s' does not start with '%s'", h_cfg.err, prefix);
	if (part != NULL)
		ck_assert_msg(strstr(h_cfg.err, part) != NULL,
			      "error '%s' does not contain '%s'", h_cfg.err,
			      part);
}

const char *
h_cfg_at(int line, const char *tail)
{
	static char buf[PATH_MAX + 512];

	if (line > 0)
		(void)snprintf(buf, sizeof(buf), "%s:%d: %s", h_cfg.path, line,
			       tail);
	else
		(void)snprintf(buf, sizeof(buf), "%s: %s", h_cfg.path, tail);
	return buf;
}

/* ---- checking fields ---------------------------------------------------- */

static void
check_list(const char *what, const struct strlist *l, const char *s)
{
	char buf[1024];
	size_t i, k = 0;

	buf[0] = '\0';
	for (i = 0; i < l->n; i++)
		k += (size_t)snprintf(buf + k, sizeof(buf) - k, "%s%s",
				      i > 0 ? "|" : "", l->v[i]);
	ck_assert_msg(strcmp(buf, s) == 0, "%s is '%s', want '%s'", what, buf,
		      s);
}

void
h_cfg_check_field(const struct config *c, const char *what,
		  enum h_cfg_kind kind, size_t off, const char *s,
		  unsigned long n)
{
	const void *p = (const char *)c + off;
	const struct limit *lim = p;
	char buf[1024], want[1024];
	int e;

	switch (kind) {
	case H_CFG_STR:
		h_cfg_subst(s, want, sizeof(want));
		ck_assert_msg(*(char *const *)p != NULL, "%s is NULL", what);
		ck_assert_msg(strcmp(*(char *const *)p, want) == 0,
			      "%s is '%s', want '%s'", what, *(char *const *)p,
			      want);
		break;
	case H_CFG_NULL:
		ck_assert_msg(*(char *const *)p == NULL, "%s is not NULL",
			      what);
		break;
	case H_CFG_UINT:
		ck_assert_msg(*(const unsigned *)p == n, "%s is %u, want %lu",
			      what, *(const unsigned *)p, n);
		break;
	case H_CFG_ULONG:
		ck_assert_msg(*(const unsigned long *)p == n,
			      "%s is %lu, want %lu", what,
			      *(const unsigned long *)p, n);
		break;
	case H_CFG_INT:
		memcpy(&e, p, sizeof(e));
		ck_assert_msg(e == (int)n, "%s is %d, want %lu", what, e, n);
		break;
	case H_CFG_BOOL:
		ck_assert_msg(*(const bool *)p == (n != 0), "%s is %d", what,
			      *(const bool *)p);
		break;
	case H_CFG_LIST:
		check_list(what, p, s);
		break;
	case H_CFG_LIMIT:
		(void)snprintf(buf, sizeof(buf), "%lu%s", lim->value,
			       lim->percent ? "%" : "");
		ck_assert_msg(strcmp(buf, s) == 0, "%s is '%s', want '%s'",
			      what, buf, s);
		break;
	}
}

/* ---- every default ------------------------------------------------------ */

#define FC(name, kind, f, s, n)                                                \
	{                                                                      \
		name, kind, H_CFG_OFF(f), s, n                                 \
	}

const struct h_cfg_field h_cfg_defaults[] = {
	FC("ldap.bind_dn", H_CFG_NULL, ldap.bind_dn, NULL, 0),
	FC("ldap.bind_password_file", H_CFG_NULL, ldap.bind_password_file, NULL,
	   0),
	FC("ldap.bind_password", H_CFG_NULL, ldap.bind_password, NULL, 0),
	FC("ldap.search_filter", H_CFG_STR, ldap.search_filter,
	   "(objectClass=inetOrgPerson)", 0),
	FC("ldap.disabled_filter", H_CFG_NULL, ldap.disabled_filter, NULL, 0),
	FC("ldap.login_attribute", H_CFG_STR, ldap.login_attribute, "uid", 0),
	FC("ldap.uuid_attribute", H_CFG_STR, ldap.uuid_attribute, "entryUUID",
	   0),
	FC("ldap.login_format", H_CFG_UINT, ldap.login_format, NULL, 0),
	FC("ldap.start_tls", H_CFG_BOOL, ldap.start_tls, NULL, 0),
	FC("ldap.tls_ca_file", H_CFG_NULL, ldap.tls_ca_file, NULL, 0),
	FC("ldap.tls_require_cert", H_CFG_INT, ldap.tls_require_cert, NULL,
	   TLS_DEMAND),
	FC("ldap.timeout", H_CFG_UINT, ldap.timeout, NULL, 10),
	FC("ldap.page_size", H_CFG_UINT, ldap.page_size, NULL, 500),
	FC("ldap.insecure_ldap", H_CFG_BOOL, ldap.insecure_ldap, NULL, 0),
	FC("ldap.ignore_referrals", H_CFG_LIST, ldap.ignore_referrals, "", 0),
	FC("ldap.expires_attribute", H_CFG_NULL, ldap.expires_attribute, NULL,
	   0),
	FC("ftrack.timeout", H_CFG_UINT, ftrack.timeout, NULL, 30),
	FC("ftrack.batch_size", H_CFG_UINT, ftrack.batch_size, NULL, 100),
	FC("ftrack.tls_ca_file", H_CFG_NULL, ftrack.tls_ca_file, NULL, 0),
	FC("ftrack.insecure_http", H_CFG_BOOL, ftrack.insecure_http, NULL, 0),
	FC("ftrack.link_by", H_CFG_INT, ftrack.link_by, NULL, LINK_BY_USERNAME),
	FC("mapping.username", H_CFG_STR, mapping.username, "uid", 0),
	FC("mapping.email", H_CFG_STR, mapping.email, "mail", 0),
	FC("mapping.first_name", H_CFG_STR, mapping.first_name, "givenName", 0),
	FC("mapping.last_name", H_CFG_STR, mapping.last_name, "sn", 0),
	FC("mapping.full_name", H_CFG_NULL, mapping.full_name, NULL, 0),
	FC("policy.on_login", H_CFG_INT, policy.on_login, NULL,
	   ON_LOGIN_CREATE),
	FC("policy.reconcile_interval", H_CFG_ULONG, policy.reconcile_interval,
	   NULL, 0),
	FC("policy.reconcile_create", H_CFG_BOOL, policy.reconcile_create, NULL,
	   0),
	FC("policy.missing", H_CFG_INT, policy.missing, NULL,
	   MISSING_DEACTIVATE),
	FC("policy.scope", H_CFG_INT, policy.scope, NULL, SCOPE_MANAGED),
	FC("policy.reactivate", H_CFG_INT, policy.reactivate, NULL,
	   REACTIVATE_SYNC_DEACTIVATED),
	FC("policy.protected_users", H_CFG_LIST, policy.protected_users,
	   "admin|ftrack-sync", 0),
	FC("policy.skip_users", H_CFG_LIST, policy.skip_users, "root", 0),
	FC("policy.login_cooldown", H_CFG_ULONG, policy.login_cooldown, NULL,
	   600),
	FC("policy.min_ldap_users", H_CFG_ULONG, policy.min_ldap_users, NULL,
	   1),
	FC("policy.max_shrink", H_CFG_LIMIT, policy.max_shrink, "20%", 0),
	FC("policy.max_deactivate", H_CFG_LIMIT, policy.max_deactivate, "5%",
	   0),
	FC("policy.sentinel_users", H_CFG_LIST, policy.sentinel_users, "", 0),
	FC("daemon.socket", H_CFG_STR, daemon.socket,
	   "/run/ftrack-syncd/notify.sock", 0),
	FC("daemon.state_dir", H_CFG_STR, daemon.state_dir,
	   "/var/lib/ftrack-syncd", 0),
	FC("daemon.log_level", H_CFG_INT, daemon.log_level, NULL, LOG_INFO),
	FC("daemon.log_target", H_CFG_INT, daemon.log_target, NULL,
	   LOG_TARGET_SYSLOG),
	FC("daemon.nonroot_rate", H_CFG_UINT, daemon.nonroot_rate, NULL, 240),
	FC("daemon.mode", H_CFG_INT, daemon.mode, NULL, MODE_STANDALONE),
	FC("relay.upstream", H_CFG_LIST, relay.upstream, "", 0),
	FC("relay.tls_cert_file", H_CFG_NULL, relay.tls_cert_file, NULL, 0),
	FC("relay.tls_key_file", H_CFG_NULL, relay.tls_key_file, NULL, 0),
	FC("relay.tls_ca_file", H_CFG_NULL, relay.tls_ca_file, NULL, 0),
	FC("relay.timeout", H_CFG_UINT, relay.timeout, NULL, 10),
	FC("relay.retry_primary", H_CFG_ULONG, relay.retry_primary, NULL, 300),
	FC("provisioner.listen", H_CFG_LIST, provisioner.listen, "0.0.0.0:8443",
	   0),
	FC("provisioner.tls_cert_file", H_CFG_NULL, provisioner.tls_cert_file,
	   NULL, 0),
	FC("provisioner.tls_key_file", H_CFG_NULL, provisioner.tls_key_file,
	   NULL, 0),
	FC("provisioner.client_ca_file", H_CFG_NULL, provisioner.client_ca_file,
	   NULL, 0),
	FC("provisioner.crl_file", H_CFG_NULL, provisioner.crl_file, NULL, 0),
	FC("provisioner.allow_hosts", H_CFG_LIST, provisioner.allow_hosts, "",
	   0),
	FC("provisioner.deny_file", H_CFG_NULL, provisioner.deny_file, NULL, 0),
	FC("provisioner.host_rate", H_CFG_UINT, provisioner.host_rate, NULL,
	   10),
	FC("provisioner.max_connections", H_CFG_UINT,
	   provisioner.max_connections, NULL, 1024),
	FC("provisioner.per_ip_connections", H_CFG_UINT,
	   provisioner.per_ip_connections, NULL, 64),
	FC("provisioner.metrics_listen", H_CFG_NULL, provisioner.metrics_listen,
	   NULL, 0),
	FC("provisioner.new_seats_per_host", H_CFG_ULONG,
	   provisioner.new_seats_per_host, NULL, 20),
	FC("provisioner.new_seats_total", H_CFG_ULONG,
	   provisioner.new_seats_total, NULL, 500),
	FC("hooks.on_change", H_CFG_NULL, hooks.on_change, NULL, 0),
	FC("hooks.hook_timeout", H_CFG_UINT, hooks.hook_timeout, NULL, 30),
	FC("groups.search_base", H_CFG_NULL, groups.search_base, NULL, 0),
	FC("groups.search_filter", H_CFG_STR, groups.search_filter,
	   "(objectClass=groupOfNames)", 0),
	FC("groups.name_attribute", H_CFG_STR, groups.name_attribute, "cn", 0),
	FC("groups.member_attribute", H_CFG_INT, groups.member_attribute, NULL,
	   MEMBER_ATTR_MEMBER),
	FC("groups.nested", H_CFG_BOOL, groups.nested, NULL, 0),
	FC("groups.remove", H_CFG_BOOL, groups.remove, NULL, 1),
	FC("groups.max_removals", H_CFG_LIMIT, groups.max_removals, "5%", 0),
};

const size_t h_cfg_ndefaults =
	sizeof(h_cfg_defaults) / sizeof(h_cfg_defaults[0]);

/* ---- the dump ----------------------------------------------------------- */

void
h_cfg_collect(void *ctx, const char *line)
{
	struct h_cfg_dump *d = ctx;

	h_cfg_cat(d->text, &d->n, line);
	h_cfg_cat(d->text, &d->n, "\n");
	d->lines++;
}
