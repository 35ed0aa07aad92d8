/* SPDX-License-Identifier: Apache-2.0 */
/* check_config.c: the config parser: every key, default, error and file. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "config.h"
#include "ft_err.h"

Suite *config_suite(void);

#define TEXT_MAX        16384
#define SECRET_MAX_TEST 5000

static char dir[64];
static char cfgpath[128];
static char keypath[128]; /* ftrack.secret, 0600 */
static char pwpath[128];  /* ldap.secret, 0600 */
static char err[1024];

/* ---- files ------------------------------------------------------------ */

static void
write_file(const char *path, const char *data, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	ck_assert_msg(fd >= 0, "open %s: %s", path, strerror(errno));
	ck_assert_int_eq(write(fd, data, len), (ssize_t)len);
	ck_assert_int_eq(fchmod(fd, mode), 0);
	ck_assert_int_eq(close(fd), 0);
}

static void
write_text(const char *path, const char *text, mode_t mode)
{
	write_file(path, text, strlen(text), mode);
}

/* Replace every @DIR@ in in by the temp folder. */
static void
subst(const char *in, char *out, size_t cap)
{
	size_t n = 0;
	int k;

	out[0] = '\0';
	while (*in != '\0') {
		if (strncmp(in, "@DIR@", 5) == 0) {
			k = snprintf(out + n, cap - n, "%s", dir);
			in += 5;
		} else {
			k = snprintf(out + n, cap - n, "%c", *in++);
		}
		ck_assert(k > 0 && (size_t)k < cap - n);
		n += (size_t)k;
	}
}

/* Append s to buf (TEXT_MAX bytes, *n used). */
static void
cat(char *buf, size_t *n, const char *s)
{
	size_t len = strlen(s);

	ck_assert(len < TEXT_MAX - *n);
	memcpy(buf + *n, s, len + 1);
	*n += len;
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	return ftw->level > 0 ? remove(path) : 0;
}

/*
 * One temp folder per test case, made and removed by the parent process
 * (an unchecked fixture), so that a failed test leaves nothing behind;
 * each test starts with it holding only the two secret files.
 */
static void
make_dir(void)
{
	(void)snprintf(dir, sizeof(dir), "/tmp/ftcfg.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void
remove_dir(void)
{
	(void)nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	(void)rmdir(dir);
}

static void
setup(void)
{
	(void)nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	(void)snprintf(cfgpath, sizeof(cfgpath), "%s/syncd.conf", dir);
	(void)snprintf(keypath, sizeof(keypath), "%s/ftrack.secret", dir);
	(void)snprintf(pwpath, sizeof(pwpath), "%s/ldap.secret", dir);
	write_text(keypath, "sekrit-api-key\n", 0600);
	write_text(pwpath, "ldap-pw", 0600);
	unsetenv("FTRACK_SERVER");
	unsetenv("FTRACK_API_USER");
	unsetenv("FTRACK_API_KEY");
	unsetenv("FTRACK_SYNCD_CONFIG");
	err[0] = '\0';
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
#define BASE_LINES 7 /* with the two section lines */

/*
 * Write the base config without [osec] okey (NULL: keep all), then
 * "[xsec]" and xtext (NULL: nothing).  Returns the line number of the
 * first line of xtext.
 */
static int
build_cfg(const char *osec, const char *okey, const char *xsec,
	  const char *xtext)
{
	static char text[TEXT_MAX], out[TEXT_MAX];
	const char *cur = "";
	size_t i, n = 0;
	int lines = 0;

	for (i = 0; i < sizeof(base) / sizeof(base[0]); i++) {
		if (osec != NULL && strcmp(base[i].section, osec) == 0 &&
		    strcmp(base[i].key, okey) == 0)
			continue;
		if (strcmp(cur, base[i].section) != 0) {
			cat(text, &n, "[");
			cat(text, &n, base[i].section);
			cat(text, &n, "]\n");
			cur = base[i].section;
			lines++;
		}
		cat(text, &n, base[i].key);
		cat(text, &n, " = ");
		cat(text, &n, base[i].value);
		cat(text, &n, "\n");
		lines++;
	}
	if (xsec != NULL && xtext != NULL) {
		cat(text, &n, "[");
		cat(text, &n, xsec);
		cat(text, &n, "]\n");
		cat(text, &n, xtext);
		cat(text, &n, "\n");
	}
	subst(text, out, sizeof(out));
	write_text(cfgpath, out, 0600);
	return lines + 2;
}

static int
load(struct config **ret)
{
	*ret = NULL;
	return config_load(cfgpath, ret, err, sizeof(err));
}

static struct config *
load_ok(void)
{
	struct config *c = NULL;
	int r = load(&c);

	ck_assert_msg(r == FT_OK, "config_load: %s: %s", ft_strerror(r), err);
	ck_assert_ptr_nonnull(c);
	return c;
}

/* Load must fail with r and an error that starts with prefix. */
static void
load_fails(int r, const char *prefix, const char *part)
{
	struct config *c = NULL;
	int got = load(&c);

	ck_assert_msg(got == r, "want %s, got %s: %s", ft_strerror(r),
		      ft_strerror(got), err);
	ck_assert_ptr_null(c);
	ck_assert_msg(strncmp(err, prefix, strlen(prefix)) == 0,
		      "error '%s' does not start with '%s'", err, prefix);
	if (part != NULL)
		ck_assert_msg(strstr(err, part) != NULL,
			      "error '%s' does not contain '%s'", err, part);
}

/* Prefix "PATH:LINE: " (line 0: "PATH: ") plus tail. */
static const char *
at(int line, const char *tail)
{
	static char buf[512];

	if (line > 0)
		(void)snprintf(buf, sizeof(buf), "%s:%d: %s", cfgpath, line,
			       tail);
	else
		(void)snprintf(buf, sizeof(buf), "%s: %s", cfgpath, tail);
	return buf;
}

/* ---- checking fields ---------------------------------------------------- */

enum vk { V_STR, V_NULL, V_UINT, V_ULONG, V_INT, V_BOOL, V_LIST, V_LIMIT };

#define OFF(f) offsetof(struct config, f)

/* A struct config field (at off) must hold s (text kinds) or n. */
static void
check_field(const struct config *c, const char *what, enum vk kind, size_t off,
	    const char *s, unsigned long n)
{
	const void *p = (const char *)c + off;
	const struct strlist *l = p;
	const struct limit *lim = p;
	char buf[1024], want[1024];
	size_t i, k = 0;
	int e;

	switch (kind) {
	case V_STR:
		subst(s, want, sizeof(want));
		ck_assert_msg(*(char *const *)p != NULL, "%s is NULL", what);
		ck_assert_msg(strcmp(*(char *const *)p, want) == 0,
			      "%s is '%s', want '%s'", what, *(char *const *)p,
			      want);
		break;
	case V_NULL:
		ck_assert_msg(*(char *const *)p == NULL, "%s is not NULL",
			      what);
		break;
	case V_UINT:
		ck_assert_msg(*(const unsigned *)p == n, "%s is %u, want %lu",
			      what, *(const unsigned *)p, n);
		break;
	case V_ULONG:
		ck_assert_msg(*(const unsigned long *)p == n,
			      "%s is %lu, want %lu", what,
			      *(const unsigned long *)p, n);
		break;
	case V_INT:
		memcpy(&e, p, sizeof(e));
		ck_assert_msg(e == (int)n, "%s is %d, want %lu", what, e, n);
		break;
	case V_BOOL:
		ck_assert_msg(*(const bool *)p == (n != 0), "%s is %d", what,
			      *(const bool *)p);
		break;
	case V_LIST:
		buf[0] = '\0';
		for (i = 0; i < l->n; i++)
			k += (size_t)snprintf(buf + k, sizeof(buf) - k, "%s%s",
					      i > 0 ? "|" : "", l->v[i]);
		ck_assert_msg(strcmp(buf, s) == 0, "%s is '%s', want '%s'",
			      what, buf, s);
		break;
	case V_LIMIT:
		(void)snprintf(buf, sizeof(buf), "%lu%s", lim->value,
			       lim->percent ? "%" : "");
		ck_assert_msg(strcmp(buf, s) == 0, "%s is '%s', want '%s'",
			      what, buf, s);
		break;
	}
}

struct dump {
	char text[TEXT_MAX];
	size_t n;
	int lines;
};

static void
collect(void *ctx, const char *line)
{
	struct dump *d = ctx;

	cat(d->text, &d->n, line);
	cat(d->text, &d->n, "\n");
	d->lines++;
}

/* The dump of c must hold the line "line". */
static void
dump_has(const struct config *c, const char *line)
{
	static struct dump d;
	char want[1100];

	memset(&d, 0, sizeof(d));
	d.text[0] = '\n';
	d.n = 1;
	config_dump(c, collect, &d);
	subst(line, want + 1, sizeof(want) - 2);
	want[0] = '\n';
	ck_assert(strlen(want) + 1 < sizeof(want));
	want[strlen(want) + 1] = '\0';
	want[strlen(want)] = '\n';
	ck_assert_msg(strstr(d.text, want) != NULL, "dump lacks '%s':\n%s",
		      line, d.text);
}

/* ---- every default ------------------------------------------------------ */

struct field_check {
	const char *name;
	enum vk kind;
	size_t off;
	const char *s;
	unsigned long n;
};

#define FC(name, kind, f, s, n)                                                \
	{                                                                      \
		name, kind, OFF(f), s, n                                       \
	}

static const struct field_check defaults[] = {
	FC("ldap.bind_dn", V_NULL, ldap.bind_dn, NULL, 0),
	FC("ldap.bind_password_file", V_NULL, ldap.bind_password_file, NULL, 0),
	FC("ldap.bind_password", V_NULL, ldap.bind_password, NULL, 0),
	FC("ldap.search_filter", V_STR, ldap.search_filter,
	   "(objectClass=inetOrgPerson)", 0),
	FC("ldap.disabled_filter", V_NULL, ldap.disabled_filter, NULL, 0),
	FC("ldap.login_attribute", V_STR, ldap.login_attribute, "uid", 0),
	FC("ldap.uuid_attribute", V_STR, ldap.uuid_attribute, "entryUUID", 0),
	FC("ldap.start_tls", V_BOOL, ldap.start_tls, NULL, 0),
	FC("ldap.tls_ca_file", V_NULL, ldap.tls_ca_file, NULL, 0),
	FC("ldap.tls_require_cert", V_INT, ldap.tls_require_cert, NULL,
	   TLS_DEMAND),
	FC("ldap.timeout", V_UINT, ldap.timeout, NULL, 10),
	FC("ldap.page_size", V_UINT, ldap.page_size, NULL, 500),
	FC("ftrack.timeout", V_UINT, ftrack.timeout, NULL, 30),
	FC("ftrack.batch_size", V_UINT, ftrack.batch_size, NULL, 100),
	FC("ftrack.tls_ca_file", V_NULL, ftrack.tls_ca_file, NULL, 0),
	FC("mapping.username", V_STR, mapping.username, "uid", 0),
	FC("mapping.email", V_STR, mapping.email, "mail", 0),
	FC("mapping.first_name", V_STR, mapping.first_name, "givenName", 0),
	FC("mapping.last_name", V_STR, mapping.last_name, "sn", 0),
	FC("mapping.full_name", V_NULL, mapping.full_name, NULL, 0),
	FC("policy.on_login", V_INT, policy.on_login, NULL, ON_LOGIN_CREATE),
	FC("policy.reconcile_interval", V_ULONG, policy.reconcile_interval,
	   NULL, 3600),
	FC("policy.reconcile_create", V_BOOL, policy.reconcile_create, NULL, 0),
	FC("policy.missing", V_INT, policy.missing, NULL, MISSING_DEACTIVATE),
	FC("policy.scope", V_INT, policy.scope, NULL, SCOPE_MANAGED),
	FC("policy.reactivate", V_INT, policy.reactivate, NULL,
	   REACTIVATE_SYNC_DEACTIVATED),
	FC("policy.protected_users", V_LIST, policy.protected_users,
	   "admin|ftrack-sync", 0),
	FC("policy.skip_users", V_LIST, policy.skip_users, "root", 0),
	FC("policy.login_cooldown", V_ULONG, policy.login_cooldown, NULL, 600),
	FC("policy.min_ldap_users", V_ULONG, policy.min_ldap_users, NULL, 1),
	FC("policy.max_shrink", V_LIMIT, policy.max_shrink, "20%", 0),
	FC("policy.max_deactivate", V_LIMIT, policy.max_deactivate, "5%", 0),
	FC("policy.sentinel_users", V_LIST, policy.sentinel_users, "", 0),
	FC("daemon.socket", V_STR, daemon.socket,
	   "/run/ftrack-syncd/notify.sock", 0),
	FC("daemon.state_dir", V_STR, daemon.state_dir, "/var/lib/ftrack-syncd",
	   0),
	FC("daemon.log_level", V_INT, daemon.log_level, NULL, LOG_INFO),
	FC("daemon.log_target", V_INT, daemon.log_target, NULL,
	   LOG_TARGET_SYSLOG),
};

#define NDEFAULTS (sizeof(defaults) / sizeof(defaults[0]))

START_TEST(test_defaults)
{
	struct config *c;
	size_t i;

	build_cfg(NULL, NULL, NULL, NULL);
	c = load_ok();
	for (i = 0; i < NDEFAULTS; i++)
		check_field(c, defaults[i].name, defaults[i].kind,
			    defaults[i].off, defaults[i].s, defaults[i].n);
	/* the required keys as written, the secret as read */
	ck_assert_str_eq(c->path, cfgpath);
	ck_assert_str_eq(c->ldap.uri, "ldap://127.0.0.1:3890");
	ck_assert_str_eq(c->ldap.search_base, "ou=people,dc=example,dc=com");
	ck_assert_str_eq(c->ftrack.server, "https://ftrack.example.com");
	ck_assert_str_eq(c->ftrack.api_user, "ftrack-sync");
	ck_assert_str_eq(c->ftrack.api_key_file, keypath);
	ck_assert_str_eq(c->ftrack.api_key, "sekrit-api-key");
	config_free(c);
}

END_TEST

/* The whole dump of the defaults, line by line, secrets masked. */
static const char default_dump[] =
	"ldap.uri = ldap://127.0.0.1:3890\n"
	"ldap.bind_dn =\n"
	"ldap.bind_password_file =\n"
	"ldap.bind_password = (unset)\n"
	"ldap.search_base = ou=people,dc=example,dc=com\n"
	"ldap.search_filter = (objectClass=inetOrgPerson)\n"
	"ldap.disabled_filter =\n"
	"ldap.login_attribute = uid\n"
	"ldap.uuid_attribute = entryUUID\n"
	"ldap.start_tls = no\n"
	"ldap.tls_ca_file =\n"
	"ldap.tls_require_cert = demand\n"
	"ldap.timeout = 10\n"
	"ldap.page_size = 500\n"
	"ftrack.server = https://ftrack.example.com\n"
	"ftrack.api_user = ftrack-sync\n"
	"ftrack.api_key_file = @DIR@/ftrack.secret\n"
	"ftrack.api_key = (set)\n"
	"ftrack.timeout = 30\n"
	"ftrack.batch_size = 100\n"
	"ftrack.tls_ca_file =\n"
	"mapping.username = uid\n"
	"mapping.email = mail\n"
	"mapping.first_name = givenName\n"
	"mapping.last_name = sn\n"
	"mapping.full_name =\n"
	"policy.on_login = create\n"
	"policy.reconcile_interval = 3600\n"
	"policy.reconcile_create = no\n"
	"policy.missing = deactivate\n"
	"policy.scope = managed\n"
	"policy.reactivate = sync-deactivated\n"
	"policy.protected_users = admin, ftrack-sync\n"
	"policy.skip_users = root\n"
	"policy.login_cooldown = 600\n"
	"policy.min_ldap_users = 1\n"
	"policy.max_shrink = 20%\n"
	"policy.max_deactivate = 5%\n"
	"policy.sentinel_users =\n"
	"daemon.socket = /run/ftrack-syncd/notify.sock\n"
	"daemon.state_dir = /var/lib/ftrack-syncd\n"
	"daemon.log_level = info\n"
	"daemon.log_target = syslog\n";

START_TEST(test_dump_defaults)
{
	static struct dump d;
	static char want[TEXT_MAX];
	struct config *c;

	build_cfg(NULL, NULL, NULL, NULL);
	c = load_ok();
	config_dump(c, collect, &d);
	subst(default_dump, want, sizeof(want));
	ck_assert_str_eq(d.text, want);
	ck_assert_int_eq(d.lines, 43);
	config_free(c);
}

END_TEST

START_TEST(test_dump_masks_secrets)
{
	static struct dump d;
	struct config *c;

	build_cfg(NULL, NULL, "ldap",
		  "bind_dn = cn=sync,dc=example,dc=com\n"
		  "bind_password_file = @DIR@/ldap.secret");
	c = load_ok();
	ck_assert_str_eq(c->ldap.bind_password, "ldap-pw");
	config_dump(c, collect, &d);
	ck_assert_ptr_nonnull(strstr(d.text, "\nldap.bind_password = (set)\n"));
	ck_assert_ptr_nonnull(strstr(d.text, "\nftrack.api_key = (set)\n"));
	ck_assert_ptr_null(strstr(d.text, "ldap-pw"));
	ck_assert_ptr_null(strstr(d.text, "sekrit"));
	config_free(c);
}

END_TEST

/* ---- every key with a good value ---------------------------------------- */

struct good {
	const char *section, *key, *value;
	const char *also; /* a second line in the section, or NULL */
	enum vk kind;
	size_t off;
	const char *s;
	unsigned long n;
	const char *dump; /* the dump's value; NULL: value */
};

#define G(sec, key, value, kind, f, s, n, dump)                                \
	{                                                                      \
		sec, key, value, NULL, kind, OFF(f), s, n, dump                \
	}
#define GS(sec, key, value, f) G(sec, key, value, V_STR, f, value, 0, NULL)

static const struct good goods[] = {
	GS("ldap", "uri", "ldaps://a.example.com ldap://b.example.com:389",
	   ldap.uri),
	GS("ldap", "uri", "ldapi://%2Frun%2Fslapd%2Fldapi", ldap.uri),
	{"ldap", "bind_dn", "cn=sync,ou=services,dc=example,dc=com",
	 "bind_password_file = @DIR@/ldap.secret", V_STR, OFF(ldap.bind_dn),
	 "cn=sync,ou=services,dc=example,dc=com", 0, NULL},
	{"ldap", "bind_password_file", "@DIR@/ldap.secret",
	 "bind_dn = cn=sync,dc=example,dc=com", V_STR,
	 OFF(ldap.bind_password_file), "@DIR@/ldap.secret", 0, NULL},
	GS("ldap", "search_base", "dc=example,dc=com", ldap.search_base),
	GS("ldap", "search_filter", "(&(objectClass=person)(!(uid=svc-*)))",
	   ldap.search_filter),
	GS("ldap", "search_filter", "(cn=a\\29b)", ldap.search_filter),
	GS("ldap", "disabled_filter",
	   "(userAccountControl:1.2.840.113556.1.4.803:=2)",
	   ldap.disabled_filter),
	G("ldap", "disabled_filter", "", V_NULL, ldap.disabled_filter, NULL, 0,
	  ""),
	GS("ldap", "login_attribute", "sAMAccountName", ldap.login_attribute),
	GS("ldap", "login_attribute", "0.9.2342.19200300.100.1.1",
	   ldap.login_attribute),
	GS("ldap", "uuid_attribute", "objectGUID", ldap.uuid_attribute),
	GS("ldap", "uuid_attribute", "objectGUID;binary", ldap.uuid_attribute),
	G("ldap", "start_tls", "yes", V_BOOL, ldap.start_tls, NULL, 1, "yes"),
	G("ldap", "start_tls", "On", V_BOOL, ldap.start_tls, NULL, 1, "yes"),
	G("ldap", "start_tls", "false", V_BOOL, ldap.start_tls, NULL, 0, "no"),
	GS("ldap", "tls_ca_file", "/etc/ssl/certs/studio-ca.pem",
	   ldap.tls_ca_file),
	G("ldap", "tls_require_cert", "never", V_INT, ldap.tls_require_cert,
	  NULL, TLS_NEVER, NULL),
	G("ldap", "tls_require_cert", "allow", V_INT, ldap.tls_require_cert,
	  NULL, TLS_ALLOW, NULL),
	G("ldap", "tls_require_cert", "try", V_INT, ldap.tls_require_cert, NULL,
	  TLS_TRY, NULL),
	G("ldap", "tls_require_cert", "demand", V_INT, ldap.tls_require_cert,
	  NULL, TLS_DEMAND, NULL),
	G("ldap", "timeout", "1", V_UINT, ldap.timeout, NULL, 1, NULL),
	G("ldap", "timeout", "3600", V_UINT, ldap.timeout, NULL, 3600, NULL),
	G("ldap", "page_size", "0", V_UINT, ldap.page_size, NULL, 0, NULL),
	G("ldap", "page_size", "1000", V_UINT, ldap.page_size, NULL, 1000,
	  NULL),
	GS("ftrack", "server", "https://studio.ftrackapp.com", ftrack.server),
	G("ftrack", "server", "https://studio.ftrackapp.com/", V_STR,
	  ftrack.server, "https://studio.ftrackapp.com", 0,
	  "https://studio.ftrackapp.com"),
	G("ftrack", "server", "https://h.example.com:8443/ftrack//", V_STR,
	  ftrack.server, "https://h.example.com:8443/ftrack", 0,
	  "https://h.example.com:8443/ftrack"),
	GS("ftrack", "server", "http://127.0.0.1:8080", ftrack.server),
	GS("ftrack", "server", "http://127.45.6.7", ftrack.server),
	G("ftrack", "server", "http://localhost:1234/", V_STR, ftrack.server,
	  "http://localhost:1234", 0, "http://localhost:1234"),
	GS("ftrack", "server", "http://LocalHost", ftrack.server),
	GS("ftrack", "server", "http://[::1]:5000", ftrack.server),
	GS("ftrack", "server", "http://[::1]", ftrack.server),
	GS("ftrack", "api_user", "robot@example.com", ftrack.api_user),
	GS("ftrack", "api_key_file", "@DIR@/ldap.secret", ftrack.api_key_file),
	G("ftrack", "timeout", "1", V_UINT, ftrack.timeout, NULL, 1, NULL),
	G("ftrack", "timeout", "3600", V_UINT, ftrack.timeout, NULL, 3600,
	  NULL),
	G("ftrack", "batch_size", "1", V_UINT, ftrack.batch_size, NULL, 1,
	  NULL),
	G("ftrack", "batch_size", "1000", V_UINT, ftrack.batch_size, NULL, 1000,
	  NULL),
	GS("ftrack", "tls_ca_file", "/etc/ssl/ftrack.pem", ftrack.tls_ca_file),
	GS("mapping", "username", "{uid|lower}", mapping.username),
	GS("mapping", "username", "sAMAccountName", mapping.username),
	GS("mapping", "email", "{uid|lower}@example.com", mapping.email),
	GS("mapping", "email", "{givenName}.{sn}@example.com", mapping.email),
	G("mapping", "email", "", V_NULL, mapping.email, NULL, 0, ""),
	GS("mapping", "first_name", "2.5.4.42", mapping.first_name),
	G("mapping", "first_name", "", V_NULL, mapping.first_name, NULL, 0, ""),
	GS("mapping", "last_name", "surname", mapping.last_name),
	G("mapping", "last_name", "", V_NULL, mapping.last_name, NULL, 0, ""),
	GS("mapping", "full_name", "cn", mapping.full_name),
	GS("mapping", "full_name", "cn;lang-en", mapping.full_name),
	GS("mapping", "email", "{2.5.4.3;x-a}.{uid|lower}", mapping.email),
	GS("mapping", "full_name", "Dr {displayName}", mapping.full_name),
	G("policy", "on_login", "create", V_INT, policy.on_login, NULL,
	  ON_LOGIN_CREATE, NULL),
	G("policy", "on_login", "update-only", V_INT, policy.on_login, NULL,
	  ON_LOGIN_UPDATE_ONLY, NULL),
	G("policy", "on_login", "ignore", V_INT, policy.on_login, NULL,
	  ON_LOGIN_IGNORE, NULL),
	G("policy", "reconcile_interval", "0", V_ULONG,
	  policy.reconcile_interval, NULL, 0, NULL),
	G("policy", "reconcile_interval", "86400", V_ULONG,
	  policy.reconcile_interval, NULL, 86400, NULL),
	G("policy", "reconcile_create", "yes", V_BOOL, policy.reconcile_create,
	  NULL, 1, NULL),
	G("policy", "reconcile_create", "0", V_BOOL, policy.reconcile_create,
	  NULL, 0, "no"),
	G("policy", "missing", "deactivate", V_INT, policy.missing, NULL,
	  MISSING_DEACTIVATE, NULL),
	G("policy", "missing", "delete", V_INT, policy.missing, NULL,
	  MISSING_DELETE, NULL),
	G("policy", "missing", "ignore", V_INT, policy.missing, NULL,
	  MISSING_IGNORE, NULL),
	G("policy", "scope", "managed", V_INT, policy.scope, NULL,
	  SCOPE_MANAGED, NULL),
	G("policy", "scope", "all", V_INT, policy.scope, NULL, SCOPE_ALL, NULL),
	G("policy", "reactivate", "never", V_INT, policy.reactivate, NULL,
	  REACTIVATE_NEVER, NULL),
	G("policy", "reactivate", "sync-deactivated", V_INT, policy.reactivate,
	  NULL, REACTIVATE_SYNC_DEACTIVATED, NULL),
	G("policy", "reactivate", "always", V_INT, policy.reactivate, NULL,
	  REACTIVATE_ALWAYS, NULL),
	G("policy", "protected_users", "a,b  c ,d,,e\tf", V_LIST,
	  policy.protected_users, "a|b|c|d|e|f", 0, "a, b, c, d, e, f"),
	G("policy", "protected_users", "", V_LIST, policy.protected_users, "",
	  0, ""),
	G("policy", "protected_users", " , ", V_LIST, policy.protected_users,
	  "", 0, ""),
	G("policy", "skip_users", "root, daemon", V_LIST, policy.skip_users,
	  "root|daemon", 0, NULL),
	G("policy", "skip_users", "", V_LIST, policy.skip_users, "", 0, ""),
	G("policy", "login_cooldown", "0", V_ULONG, policy.login_cooldown, NULL,
	  0, NULL),
	G("policy", "login_cooldown", "86400", V_ULONG, policy.login_cooldown,
	  NULL, 86400, NULL),
	G("policy", "min_ldap_users", "0", V_ULONG, policy.min_ldap_users, NULL,
	  0, NULL),
	G("policy", "min_ldap_users", "250", V_ULONG, policy.min_ldap_users,
	  NULL, 250, NULL),
	G("policy", "max_shrink", "10", V_LIMIT, policy.max_shrink, "10", 0,
	  NULL),
	G("policy", "max_shrink", "100%", V_LIMIT, policy.max_shrink, "100%", 0,
	  NULL),
	G("policy", "max_shrink", "0%", V_LIMIT, policy.max_shrink, "0%", 0,
	  NULL),
	G("policy", "max_shrink", "5000", V_LIMIT, policy.max_shrink, "5000", 0,
	  NULL),
	G("policy", "max_deactivate", "25", V_LIMIT, policy.max_deactivate,
	  "25", 0, NULL),
	G("policy", "max_deactivate", "0", V_LIMIT, policy.max_deactivate, "0",
	  0, NULL),
	G("policy", "max_deactivate", "1%", V_LIMIT, policy.max_deactivate,
	  "1%", 0, NULL),
	G("policy", "sentinel_users", "alice bob", V_LIST,
	  policy.sentinel_users, "alice|bob", 0, "alice, bob"),
	GS("daemon", "socket", "/tmp/ftrack-syncd.sock", daemon.socket),
	GS("daemon", "state_dir", "/srv/ftrack-syncd", daemon.state_dir),
	G("daemon", "log_level", "error", V_INT, daemon.log_level, NULL,
	  LOG_ERR, NULL),
	G("daemon", "log_level", "warning", V_INT, daemon.log_level, NULL,
	  LOG_WARNING, NULL),
	G("daemon", "log_level", "info", V_INT, daemon.log_level, NULL,
	  LOG_INFO, NULL),
	G("daemon", "log_level", "debug", V_INT, daemon.log_level, NULL,
	  LOG_DEBUG, NULL),
	G("daemon", "log_target", "syslog", V_INT, daemon.log_target, NULL,
	  LOG_TARGET_SYSLOG, NULL),
	G("daemon", "log_target", "stderr", V_INT, daemon.log_target, NULL,
	  LOG_TARGET_STDERR, NULL),
};

#define NGOODS (sizeof(goods) / sizeof(goods[0]))

START_TEST(test_good_value)
{
	const struct good *g = &goods[_i];
	char text[512], line[512], what[128];
	struct config *c;
	size_t i;

	(void)snprintf(text, sizeof(text), "%s = %s%s%s", g->key, g->value,
		       g->also != NULL ? "\n" : "",
		       g->also != NULL ? g->also : "");
	build_cfg(g->section, g->key, g->section, text);
	c = load_ok();
	(void)snprintf(what, sizeof(what), "%s.%s", g->section, g->key);
	check_field(c, what, g->kind, g->off, g->s, g->n);
	(void)snprintf(line, sizeof(line), "%s.%s =%s%s", g->section, g->key,
		       *(g->dump ? g->dump : g->value) ? " " : "",
		       g->dump ? g->dump : g->value);
	dump_has(c, line);
	/* every other key keeps its default */
	for (i = 0; i < NDEFAULTS; i++)
		if (defaults[i].off != g->off &&
		    strcmp(defaults[i].name, what) != 0 &&
		    strstr(defaults[i].name, "bind_") == NULL)
			check_field(c, defaults[i].name, defaults[i].kind,
				    defaults[i].off, defaults[i].s,
				    defaults[i].n);
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
};

#define NBADS (sizeof(bads) / sizeof(bads[0]))

START_TEST(test_bad_value)
{
	const struct bad *b = &bads[_i];
	char text[512], tail[512];
	int line;

	(void)snprintf(text, sizeof(text), "%s = %s", b->key, b->value);
	line = build_cfg(b->section, b->key, b->section, text);
	(void)snprintf(tail, sizeof(tail), "[%s] %s: ", b->section, b->key);
	load_fails(FT_E_CONFIG, at(line, tail), b->msg);
	/* the same line in the middle of the file: same line number */
	(void)snprintf(text, sizeof(text),
		       "%s = %s\n[daemon]\nlog_level = info", b->key, b->value);
	if (strcmp(b->key, "log_level") != 0) {
		line = build_cfg(b->section, b->key, b->section, text);
		load_fails(FT_E_CONFIG, at(line, tail), b->msg);
	}
}

END_TEST

/* ---- file structure ------------------------------------------------------- */

START_TEST(test_unknown_section)
{
	int line = build_cfg(NULL, NULL, "ldpa", "timeout = 5");

	load_fails(FT_E_CONFIG, at(line - 1, "[ldpa]: unknown section"), NULL);
	/* an empty unknown section is refused too */
	line = build_cfg(NULL, NULL, "policy", "min_ldap_users = 3\n[extra]");
	load_fails(FT_E_CONFIG, at(line + 1, "[extra]: unknown section"), NULL);
	line = build_cfg(NULL, NULL, "LDAP", "timeout = 5");
	load_fails(FT_E_CONFIG, at(line - 1, "[LDAP]: unknown section"), NULL);
}

END_TEST

START_TEST(test_unknown_key)
{
	int line = build_cfg(NULL, NULL, "ldap", "timeout = 5\nurii = x");

	load_fails(FT_E_CONFIG, at(line + 1, "[ldap] urii: unknown key"), NULL);
	/* a key of another section */
	line = build_cfg(NULL, NULL, "daemon", "batch_size = 5");
	load_fails(FT_E_CONFIG, at(line, "[daemon] batch_size: unknown key"),
		   NULL);
	line = build_cfg(NULL, NULL, "ldap", "Timeout = 5");
	load_fails(FT_E_CONFIG, at(line, "[ldap] Timeout: unknown key"), NULL);
}

END_TEST

START_TEST(test_duplicate_key)
{
	int line = build_cfg(NULL, NULL, "ldap", "uri = ldap://other");

	load_fails(FT_E_CONFIG,
		   at(line, "[ldap] uri: duplicate key (first set on line 2)"),
		   NULL);
	/* an empty value counts as set */
	line = build_cfg(NULL, NULL, "mapping", "email =\nemail = mail");
	load_fails(FT_E_CONFIG,
		   at(line + 1, "[mapping] email: duplicate key (first set on "
				"line 9)"),
		   NULL);
}

END_TEST

START_TEST(test_key_outside_section)
{
	write_text(cfgpath, "\n; hello\ntimeout = 3\n[ldap]\n", 0600);
	load_fails(FT_E_CONFIG, at(3, "timeout: key outside a section"), NULL);
}

END_TEST

START_TEST(test_syntax_errors)
{
	int line = build_cfg(NULL, NULL, "ldap", "timeout 5");

	load_fails(FT_E_CONFIG, at(line, "syntax error"), NULL);
	line = build_cfg(NULL, NULL, "ldap", "timeout = 5\n[policy");
	load_fails(FT_E_CONFIG, at(line + 1, "syntax error"), NULL);
	/* the first error wins, whoever finds it */
	line = build_cfg(NULL, NULL, "ldap", "nonsense\ntimeout = 0");
	load_fails(FT_E_CONFIG, at(line, "syntax error"), NULL);
	line = build_cfg(NULL, NULL, "ldap", "timeout = 0\nnonsense");
	load_fails(FT_E_CONFIG, at(line, "[ldap] timeout: "), NULL);
	line = build_cfg(NULL, NULL, "ldap", "nonsense\n[bogus]");
	load_fails(FT_E_CONFIG, at(line, "syntax error"), NULL);
}

END_TEST

START_TEST(test_long_and_nul_lines)
{
	static char text[TEXT_MAX];
	char filter[300];
	int line;

	memset(filter, 'a', sizeof(filter));
	memcpy(filter, "(cn=", 4);
	filter[195] = ')';
	filter[196] = '\0';
	/* "search_filter = " (16) + 196 = 212: too long for inih */
	(void)snprintf(text, sizeof(text), "search_filter = %s", filter);
	line = build_cfg(NULL, NULL, "ldap", text);
	load_fails(FT_E_CONFIG, at(line, "line too long (at most 199"), NULL);
	/* 183 + 16 = 199 characters fit */
	filter[182] = ')';
	filter[183] = '\0';
	(void)snprintf(text, sizeof(text), "search_filter = %s", filter);
	build_cfg(NULL, NULL, "ldap", text);
	config_free(load_ok());

	write_file(cfgpath, "[ldap]\ntime\0out = 5\n", 20, 0600);
	load_fails(FT_E_CONFIG, at(2, "line contains a NUL byte"), NULL);
}

END_TEST

START_TEST(test_comments_and_blanks)
{
	struct config *c;

	build_cfg(NULL, NULL, "ldap",
		  "# a comment\n"
		  "; another\n"
		  "\n"
		  "   timeout = 42      ; seconds\n"
		  "\tpage_size = 7\t; tab before the comment\n"
		  "disabled_filter =                ; e.g. AD\n"
		  "[mapping]\n"
		  "full_name =   ; unset\n"
		  "email = {uid|lower}@example.com ; inline\n"
		  "[policy]\n"
		  "protected_users = admin, ftrack-sync   ; x\n"
		  "max_deactivate = 3 # not a comment");
	/* '#' is a comment only at the start of a line */
	load_fails(FT_E_CONFIG, at(20, "[policy] max_deactivate: "),
		   "'3 # not a comment' is not a count");
	build_cfg(NULL, NULL, "ldap",
		  "# a comment\n"
		  "; another\n"
		  "\n"
		  "   timeout = 42      ; seconds\n"
		  "\tpage_size = 7\t; tab before the comment\n"
		  "disabled_filter =                ; e.g. AD\n"
		  "start_tls=yes;no\n"
		  "[mapping]\n"
		  "full_name =   ; unset\n"
		  "email = {uid|lower}@example.com ; inline\n"
		  "[policy]\n"
		  "protected_users = admin, ftrack-sync   ; x");
	/* a ';' without a blank before it is part of the value */
	load_fails(FT_E_CONFIG, at(15, "[ldap] start_tls: "),
		   "'yes;no' is not yes or no");
	build_cfg(NULL, NULL, "ldap",
		  "   timeout = 42      ; seconds\n"
		  "\tpage_size = 7\t; tab before the comment\n"
		  "disabled_filter =                ; e.g. AD\n"
		  "bind_dn = cn=a;b,dc=x\n"
		  "  bind_password_file = @DIR@/ldap.secret\n"
		  "[mapping]\n"
		  "full_name =   ; unset\n"
		  "email = {uid|lower}@example.com ; inline\n"
		  "[policy]\n"
		  "protected_users = admin, ftrack-sync   ; x");
	c = load_ok();
	ck_assert_uint_eq(c->ldap.timeout, 42);
	ck_assert_uint_eq(c->ldap.page_size, 7);
	ck_assert_ptr_null(c->ldap.disabled_filter);
	ck_assert_str_eq(c->ldap.bind_dn, "cn=a;b,dc=x");
	ck_assert_str_eq(c->ldap.bind_password, "ldap-pw");
	ck_assert_ptr_null(c->mapping.full_name);
	ck_assert_str_eq(c->mapping.email, "{uid|lower}@example.com");
	ck_assert_uint_eq(c->policy.protected_users.n, 2);
	ck_assert_str_eq(c->policy.protected_users.v[1], "ftrack-sync");
	config_free(c);
}

END_TEST

START_TEST(test_crlf_bom_and_indent)
{
	struct config *c;

	/* an indented key after a key is a key, not a continuation */
	write_text(cfgpath,
		   "\xef\xbb\xbf[ldap]\r\n"
		   "uri = ldap://127.0.0.1\r\n"
		   "    search_base = dc=example,dc=com\r\n"
		   "[ftrack]\r\n"
		   "  server = http://127.0.0.1:9\r\n"
		   "  api_user = u\r\n"
		   "  api_key_file = /nonexistent\r\n",
		   0600);
	setenv("FTRACK_API_KEY", "k", 1);
	c = load_ok();
	ck_assert_str_eq(c->ldap.uri, "ldap://127.0.0.1");
	ck_assert_str_eq(c->ldap.search_base, "dc=example,dc=com");
	ck_assert_str_eq(c->ftrack.server, "http://127.0.0.1:9");
	ck_assert_str_eq(c->ftrack.api_user, "u");
	config_free(c);
}

END_TEST

/* ---- required keys and cross-checks ------------------------------------- */

struct missing {
	const char *section, *key, *msg;
};

static const struct missing missings[] = {
	{"ldap", "uri", "[ldap] uri: required key is missing"},
	{"ldap", "search_base", "[ldap] search_base: required key is missing"},
	{"ftrack", "server",
	 "[ftrack] server: required key is missing (or set FTRACK_SERVER)"},
	{"ftrack", "api_user",
	 "[ftrack] api_user: required key is missing (or set "
	 "FTRACK_API_USER)"},
	{"ftrack", "api_key_file",
	 "[ftrack] api_key_file: required key is missing (or set "
	 "FTRACK_API_KEY)"},
};

START_TEST(test_missing_required)
{
	const struct missing *m = &missings[_i];
	char text[128];
	struct config *c = NULL;

	build_cfg(m->section, m->key, NULL, NULL);
	ck_assert_int_eq(load(&c), FT_E_CONFIG);
	ck_assert_str_eq(err, at(0, m->msg));
	/* server, api_user and api_key_file may be left empty: unset */
	(void)snprintf(text, sizeof(text), "%s =", m->key);
	build_cfg(m->section, m->key, m->section, text);
	ck_assert_int_eq(load(&c), FT_E_CONFIG);
	if (strcmp(m->section, "ftrack") == 0)
		ck_assert_str_eq(err, at(0, m->msg));
	else
		ck_assert_ptr_nonnull(strstr(err, "must not be empty"));
	ck_assert_ptr_null(c);
}

END_TEST

START_TEST(test_empty_file)
{
	write_text(cfgpath, "", 0600);
	load_fails(FT_E_CONFIG, at(0, "[ldap] uri: required key is missing"),
		   NULL);
}

END_TEST

START_TEST(test_bind_pairs)
{
	int line = build_cfg(NULL, NULL, "ldap", "bind_dn = cn=x,dc=y");

	load_fails(FT_E_CONFIG,
		   at(line, "[ldap] bind_dn: bind_dn and bind_password_file "
			    "go together"),
		   NULL);
	line = build_cfg(NULL, NULL, "ldap",
			 "bind_password_file = @DIR@/ldap.secret");
	load_fails(FT_E_CONFIG,
		   at(line, "[ldap] bind_password_file: bind_dn and "
			    "bind_password_file go together"),
		   NULL);
}

END_TEST

START_TEST(test_start_tls_with_ldaps)
{
	int line = build_cfg("ldap", "uri", "ldap",
			     "uri = ldap://a ldaps://b\nstart_tls = yes");

	load_fails(FT_E_CONFIG, at(line + 1, "[ldap] start_tls: "),
		   "already TLS");
}

END_TEST

/* ---- secret files --------------------------------------------------------- */

START_TEST(test_secret_good)
{
	struct config *c;

	write_text(keypath, "k3y", 0600); /* no newline */
	build_cfg(NULL, NULL, NULL, NULL);
	c = load_ok();
	ck_assert_str_eq(c->ftrack.api_key, "k3y");
	config_free(c);
	write_text(keypath, "k3y\n", 0400);
	build_cfg(NULL, NULL, NULL, NULL);
	c = load_ok();
	ck_assert_str_eq(c->ftrack.api_key, "k3y");
	config_free(c);
}

END_TEST

struct secret_case {
	const char *data;
	mode_t mode;
	int r;
	const char *msg;
};

static const struct secret_case secret_cases[] = {
	{"k3y\n", 0644, FT_E_PERM,
	 "is open to group or others (mode 0644); "
	 "run chmod 600 @DIR@/ftrack.secret"},
	{"k3y\n", 0640, FT_E_PERM, "(mode 0640); run chmod 600"},
	{"k3y\n", 0604, FT_E_PERM, "(mode 0604); run chmod 600"},
	{"k3y\n", 0610, FT_E_PERM, "(mode 0610); run chmod 600"},
	{"", 0600, FT_E_CONFIG,
	 "must hold the secret on one line (it is "
	 "empty)"},
	{"\n", 0600, FT_E_CONFIG, "(it is empty)"},
	{"k3y\n\n", 0600, FT_E_CONFIG, "must hold the secret on one line"},
	{"k3y\r\n", 0600, FT_E_CONFIG, "must hold the secret on one line"},
	{"a\nb\n", 0600, FT_E_CONFIG, "must hold the secret on one line"},
};

START_TEST(test_secret_bad)
{
	const struct secret_case *s = &secret_cases[_i];
	char msg[256];
	int line;

	write_text(keypath, s->data, s->mode);
	line = build_cfg("ftrack", "api_key_file", "ftrack",
			 "api_key_file = @DIR@/ftrack.secret");
	subst(s->msg, msg, sizeof(msg));
	load_fails(s->r, at(line, "[ftrack] api_key_file: "), msg);
	ck_assert_ptr_nonnull(strstr(err, keypath));
}

END_TEST

START_TEST(test_secret_missing_symlink_dir_big)
{
	static char big[SECRET_MAX_TEST];
	char link[160];
	int line;

	line = build_cfg("ftrack", "api_key_file", "ftrack",
			 "api_key_file = @DIR@/nope.secret");
	load_fails(FT_E_CONFIG, at(line, "[ftrack] api_key_file: cannot open "),
		   "nope.secret': No such file or directory");

	(void)snprintf(link, sizeof(link), "%s/link.secret", dir);
	ck_assert_int_eq(symlink(keypath, link), 0);
	line = build_cfg("ftrack", "api_key_file", "ftrack",
			 "api_key_file = @DIR@/link.secret");
	load_fails(FT_E_PERM, at(line, "[ftrack] api_key_file: "),
		   "link.secret' is a symbolic link");

	line = build_cfg("ftrack", "api_key_file", "ftrack",
			 "api_key_file = @DIR@");
	load_fails(FT_E_PERM, at(line, "[ftrack] api_key_file: "),
		   "is not a regular file");

	memset(big, 'k', sizeof(big));
	write_file(keypath, big, 4097, 0600);
	line = build_cfg("ftrack", "api_key_file", "ftrack",
			 "api_key_file = @DIR@/ftrack.secret");
	load_fails(FT_E_CONFIG, at(line, "[ftrack] api_key_file: "),
		   "larger than 4096 bytes");
	write_file(keypath, "k3\0y\n", 5, 0600);
	load_fails(FT_E_CONFIG, at(line, "[ftrack] api_key_file: "),
		   "must hold the secret on one line");
	write_file(keypath, big, 4096, 0600); /* exactly the limit is fine */
	config_free(load_ok());
}

END_TEST

START_TEST(test_secret_owner)
{
	struct config *c;
	int line;

	if (geteuid() != 0)
		return; /* chown needs root; `make check` runs as root */
	ck_assert_int_eq(chown(keypath, 65534, 65534), 0);
	line = build_cfg("ftrack", "api_key_file", "ftrack",
			 "api_key_file = @DIR@/ftrack.secret");
	load_fails(FT_E_PERM, at(line, "[ftrack] api_key_file: "),
		   "is owned by uid 65534, not by root, uid 0 or the owner of "
		   "state_dir; run chown root");
	/* the daemon's account (the owner of state_dir) may own it: root
	 * running `check` by hand reads what the daemon reads */
	{
		char state[128];

		(void)snprintf(state, sizeof(state), "%s/state", dir);
		ck_assert_int_eq(mkdir(state, 0700), 0);
		ck_assert_int_eq(chown(state, 65534, 65534), 0);
		(void)build_cfg(NULL, NULL, "daemon",
				"state_dir = @DIR@/state");
		c = load_ok();
		ck_assert_str_eq(c->ftrack.api_key, "sekrit-api-key");
		config_free(c);
		ck_assert_int_eq(rmdir(state), 0);
	}
	/* the LDAP password file is checked the same way */
	ck_assert_int_eq(chown(keypath, 0, 0), 0);
	ck_assert_int_eq(chmod(pwpath, 0644), 0);
	line = build_cfg(
		NULL, NULL, "ldap",
		"bind_dn = cn=x\nbind_password_file = @DIR@/ldap.secret");
	load_fails(FT_E_PERM, at(line + 1, "[ldap] bind_password_file: "),
		   "run chmod 600");
	ck_assert_int_eq(chmod(pwpath, 0600), 0);
	c = load_ok();
	ck_assert_str_eq(c->ldap.bind_password, "ldap-pw");
	config_free(c);
}

END_TEST

/* ---- environment ---------------------------------------------------------- */

START_TEST(test_env_overrides)
{
	struct config *c;

	build_cfg(NULL, NULL, NULL, NULL);
	setenv("FTRACK_SERVER", "http://127.0.0.1:8123/", 1);
	setenv("FTRACK_API_USER", "tester", 1);
	setenv("FTRACK_API_KEY", "env-key", 1);
	c = load_ok();
	ck_assert_str_eq(c->ftrack.server, "http://127.0.0.1:8123");
	ck_assert_str_eq(c->ftrack.api_user, "tester");
	ck_assert_str_eq(c->ftrack.api_key, "env-key");
	config_free(c);

	/* the environment stands in for missing keys; the key file is not
	 * read when FTRACK_API_KEY is set */
	write_text(cfgpath,
		   "[ldap]\nuri = ldap://h\nsearch_base = dc=x\n"
		   "[ftrack]\napi_key_file = /nonexistent/key\n",
		   0600);
	c = load_ok();
	ck_assert_str_eq(c->ftrack.api_key, "env-key");
	config_free(c);

	/* empty variables are ignored */
	setenv("FTRACK_SERVER", "", 1);
	setenv("FTRACK_API_KEY", "", 1);
	build_cfg(NULL, NULL, NULL, NULL);
	c = load_ok();
	ck_assert_str_eq(c->ftrack.server, "https://ftrack.example.com");
	ck_assert_str_eq(c->ftrack.api_key, "sekrit-api-key");
	config_free(c);
}

END_TEST

START_TEST(test_env_checked)
{
	static char big[5000];

	build_cfg(NULL, NULL, NULL, NULL);
	setenv("FTRACK_SERVER", "http://ftrack.example.com", 1);
	load_fails(FT_E_CONFIG, at(0, "environment FTRACK_SERVER: "),
		   "only to a loopback address");
	unsetenv("FTRACK_SERVER");
	setenv("FTRACK_API_USER", "a\nb", 1);
	load_fails(FT_E_CONFIG, at(0, "environment FTRACK_API_USER: "),
		   "control character");
	unsetenv("FTRACK_API_USER");
	memset(big, 'k', sizeof(big) - 1);
	setenv("FTRACK_API_KEY", big, 1);
	load_fails(FT_E_CONFIG, at(0, "environment FTRACK_API_KEY: "), NULL);
}

END_TEST

START_TEST(test_config_path)
{
	struct config *c = NULL;

	build_cfg(NULL, NULL, NULL, NULL);
	setenv("FTRACK_SYNCD_CONFIG", cfgpath, 1);
	ck_assert_int_eq(config_load(NULL, &c, err, sizeof(err)), FT_OK);
	ck_assert_str_eq(c->path, cfgpath);
	config_free(c);
	c = NULL;
	/* an argument wins over the environment */
	ck_assert_int_eq(
		config_load("/nonexistent/x.conf", &c, err, sizeof(err)),
		FT_E_CONFIG);
	ck_assert_str_eq(err, "/nonexistent/x.conf: cannot open: No such "
			      "file or directory");
	unsetenv("FTRACK_SYNCD_CONFIG");
	if (access(FT_DEFAULT_CONFIG, F_OK) != 0) {
		ck_assert_int_eq(config_load(NULL, &c, err, sizeof(err)),
				 FT_E_CONFIG);
		ck_assert_str_eq(err, FT_DEFAULT_CONFIG
				 ": cannot open: No such file or directory");
	}
	ck_assert_ptr_null(c);
}

END_TEST

/* ---- the config file itself ------------------------------------------------ */

START_TEST(test_config_file_checks)
{
	struct config *c;

	build_cfg(NULL, NULL, NULL, NULL);
	ck_assert_int_eq(chmod(cfgpath, 0646), 0);
	load_fails(FT_E_PERM,
		   at(0, "is writable by group or others; run "
			 "chmod go-w "),
		   cfgpath);
	ck_assert_int_eq(chmod(cfgpath, 0664), 0);
	load_fails(FT_E_PERM, at(0, "is writable by group or others"), NULL);
	/* readable by all is fine: the file holds no secret */
	ck_assert_int_eq(chmod(cfgpath, 0644), 0);
	c = load_ok();
	config_free(c);
	(void)snprintf(cfgpath, sizeof(cfgpath), "%s", dir);
	load_fails(FT_E_CONFIG, at(0, "is not a regular file"), NULL);
}

END_TEST

START_TEST(test_config_file_owner)
{
	if (geteuid() != 0)
		return;
	build_cfg(NULL, NULL, NULL, NULL);
	ck_assert_int_eq(chown(cfgpath, 65534, 0), 0);
	load_fails(FT_E_PERM,
		   at(0, "is owned by uid 65534, not by root or uid 0"), NULL);
	/* owned by the daemon's (effective) user is fine */
	ck_assert_int_eq(chown(cfgpath, geteuid(), 0), 0);
	config_free(load_ok());
}

END_TEST

/* ---- API odds and ends ------------------------------------------------------ */

START_TEST(test_free_null_and_strlist_has)
{
	struct config *c;

	config_free(NULL);
	ck_assert(!strlist_has(NULL, "admin"));
	build_cfg(NULL, NULL, NULL, NULL);
	c = load_ok();
	ck_assert(strlist_has(&c->policy.protected_users, "admin"));
	ck_assert(strlist_has(&c->policy.protected_users, "ftrack-sync"));
	ck_assert(!strlist_has(&c->policy.protected_users, "Admin"));
	ck_assert(!strlist_has(&c->policy.protected_users, "adm"));
	ck_assert(!strlist_has(&c->policy.protected_users, NULL));
	ck_assert(strlist_has(&c->policy.skip_users, "root"));
	ck_assert(!strlist_has(&c->policy.sentinel_users, "root"));
	config_free(c);
}

END_TEST

START_TEST(test_error_buffer_small)
{
	char small[16];
	struct config *c = NULL;

	build_cfg(NULL, NULL, "ldap", "timeout = 0");
	ck_assert_int_eq(config_load(cfgpath, &c, small, sizeof(small)),
			 FT_E_CONFIG);
	ck_assert_uint_eq(strlen(small), sizeof(small) - 1);
	ck_assert_int_eq(strncmp(small, cfgpath, sizeof(small) - 1), 0);
	ck_assert_ptr_null(c);
}

END_TEST

/* ---- the shipped example ------------------------------------------------------ */

static void
copy_example(void)
{
	static char text[TEXT_MAX], out[TEXT_MAX];
	const char *src = FT_TEST_SRCDIR "/etc/ftrack-syncd.conf";
	FILE *f = fopen(src, "re");
	size_t n, i, k = 0;

	ck_assert_msg(f != NULL, "%s: %s", src, strerror(errno));
	n = fread(text, 1, sizeof(text) - 1, f);
	ck_assert(n > 0 && n < sizeof(text) - 1);
	text[n] = '\0';
	fclose(f);
	/* point the secret files into the temp folder */
	for (i = 0; i < n; i++) {
		if (strncmp(text + i, "/etc/ftrack-syncd/", 18) == 0) {
			cat(out, &k, dir);
			cat(out, &k, "/");
			i += 17;
		} else {
			ck_assert(k + 1 < TEXT_MAX);
			out[k++] = text[i];
			out[k] = '\0';
		}
	}
	write_text(cfgpath, out, 0644);
}

START_TEST(test_example_config)
{
	struct config *c;
	size_t i;

	copy_example();
	c = load_ok();
	ck_assert_str_eq(c->ldap.uri,
			 "ldaps://ldap1.example.com ldaps://ldap2.example.com");
	ck_assert_str_eq(c->ldap.bind_dn,
			 "cn=ftrack-sync,ou=services,dc=example,dc=com");
	ck_assert_str_eq(c->ldap.bind_password, "ldap-pw");
	ck_assert_str_eq(c->ldap.search_base, "ou=people,dc=example,dc=com");
	ck_assert_str_eq(c->ftrack.server, "https://studio.ftrackapp.com");
	ck_assert_str_eq(c->ftrack.api_user, "ftrack-sync");
	ck_assert_str_eq(c->ftrack.api_key, "sekrit-api-key");
	/* everything else in the example is the default */
	for (i = 0; i < NDEFAULTS; i++)
		if (strstr(defaults[i].name, "bind_") == NULL)
			check_field(c, defaults[i].name, defaults[i].kind,
				    defaults[i].off, defaults[i].s,
				    defaults[i].n);
	config_free(c);
}

END_TEST

START_TEST(test_example_lists_every_key)
{
	static struct dump d;
	static char text[TEXT_MAX];
	char want[160];
	const char *p;
	struct config *c;
	FILE *f;
	size_t n;

	copy_example();
	c = load_ok();
	config_dump(c, collect, &d);
	config_free(c);
	f = fopen(cfgpath, "re");
	ck_assert_ptr_nonnull(f);
	n = fread(text, 1, sizeof(text) - 1, f);
	text[n] = '\0';
	fclose(f);
	/* every key the parser knows appears as "key =" at a line start */
	for (p = d.text; *p != '\0'; p = strchr(p, '\n') + 1) {
		const char *dot = strchr(p, '.');
		const char *eq = strchr(p, '=');

		if (strstr(p, "(set)") == eq + 2 ||
		    strstr(p, "(unset)") == eq + 2)
			continue; /* the secrets themselves */
		(void)snprintf(want, sizeof(want),
			       "\n%.*s =", (int)(eq - dot - 2), dot + 1);
		ck_assert_msg(strstr(text, want) != NULL, "example lacks '%s'",
			      want + 1);
	}
}

END_TEST

Suite *
config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("config");

	tcase_add_unchecked_fixture(tc, make_dir, remove_dir);
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_dump_defaults);
	tcase_add_test(tc, test_dump_masks_secrets);
	tcase_add_loop_test(tc, test_good_value, 0, (int)NGOODS);
	tcase_add_loop_test(tc, test_bad_value, 0, (int)NBADS);
	tcase_add_test(tc, test_unknown_section);
	tcase_add_test(tc, test_unknown_key);
	tcase_add_test(tc, test_duplicate_key);
	tcase_add_test(tc, test_key_outside_section);
	tcase_add_test(tc, test_syntax_errors);
	tcase_add_test(tc, test_long_and_nul_lines);
	tcase_add_test(tc, test_comments_and_blanks);
	tcase_add_test(tc, test_crlf_bom_and_indent);
	tcase_add_loop_test(tc, test_missing_required, 0,
			    (int)(sizeof(missings) / sizeof(missings[0])));
	tcase_add_test(tc, test_empty_file);
	tcase_add_test(tc, test_bind_pairs);
	tcase_add_test(tc, test_start_tls_with_ldaps);
	tcase_add_test(tc, test_secret_good);
	tcase_add_loop_test(
		tc, test_secret_bad, 0,
		(int)(sizeof(secret_cases) / sizeof(secret_cases[0])));
	tcase_add_test(tc, test_secret_missing_symlink_dir_big);
	tcase_add_test(tc, test_secret_owner);
	tcase_add_test(tc, test_env_overrides);
	tcase_add_test(tc, test_env_checked);
	tcase_add_test(tc, test_config_path);
	tcase_add_test(tc, test_config_file_checks);
	tcase_add_test(tc, test_config_file_owner);
	tcase_add_test(tc, test_free_null_and_strlist_has);
	tcase_add_test(tc, test_error_buffer_small);
	tcase_add_test(tc, test_example_config);
	tcase_add_test(tc, test_example_lists_every_key);
	suite_add_tcase(s, tc);
	return s;
}
