/* SPDX-License-Identifier: Apache-2.0 */
/* check_config.c: config.c: the file, sections, keys, environment, loading. */
#include <check.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "ft_err.h"
#include "h_config.h"
#include "harness.h"
#include "login.h"

Suite *config_suite(void);

/* ---- every default ------------------------------------------------------ */

START_TEST(test_defaults)
{
	struct config *c;
	size_t i;

	h_cfg_build(NULL, NULL, NULL, NULL);
	c = h_cfg_load_ok();
	for (i = 0; i < h_cfg_ndefaults; i++)
		h_cfg_check_field(c, h_cfg_defaults[i].name,
				  h_cfg_defaults[i].kind, h_cfg_defaults[i].off,
				  h_cfg_defaults[i].s, h_cfg_defaults[i].n);
	/* the required keys as written, the secret as read */
	ck_assert_str_eq(c->path, h_cfg.path);
	ck_assert_str_eq(c->ldap.uri, "ldap://127.0.0.1:3890");
	ck_assert_str_eq(c->ldap.search_base, "ou=people,dc=example,dc=com");
	ck_assert_str_eq(c->ftrack.server, "https://ftrack.example.com");
	ck_assert_str_eq(c->ftrack.api_user, "ftrack-sync");
	ck_assert_str_eq(c->ftrack.api_key_file, h_cfg.key);
	ck_assert_str_eq(c->ftrack.api_key, "sekrit-api-key");
	config_free(c);
}

END_TEST

/* [ftrack] link_by: username (the default, tested above) or email. */
START_TEST(test_link_by)
{
	struct config *c;

	h_cfg_build(NULL, NULL, "ftrack", "link_by = email");
	c = h_cfg_load_ok();
	ck_assert_int_eq(c->ftrack.link_by, LINK_BY_EMAIL);
	config_free(c);
	h_cfg_build(NULL, NULL, "ftrack", "link_by = username");
	c = h_cfg_load_ok();
	ck_assert_int_eq(c->ftrack.link_by, LINK_BY_USERNAME);
	config_free(c);
}

END_TEST

/* [provisioner] new_seats_per_host and new_seats_total: counts, 0 allowed. */
START_TEST(test_seat_caps)
{
	struct config *c;
	int line;

	h_cfg_build(NULL, NULL, "provisioner",
		    "new_seats_per_host = 3\nnew_seats_total = 0");
	c = h_cfg_load_ok();
	ck_assert_uint_eq(c->provisioner.new_seats_per_host, 3);
	ck_assert_uint_eq(c->provisioner.new_seats_total, 0);
	config_free(c);
	line = h_cfg_build(NULL, NULL, "provisioner",
			   "new_seats_per_host = -1");
	h_cfg_load_fails(FT_E_CONFIG, h_cfg_at(line, ""), "new_seats_per_host");
	line = h_cfg_build(NULL, NULL, "provisioner", "new_seats_total = many");
	h_cfg_load_fails(FT_E_CONFIG, h_cfg_at(line, ""), "new_seats_total");
}

END_TEST

/* [hooks] on_change (a path) and hook_timeout (seconds, 1 to 3600). */
START_TEST(test_hooks_keys)
{
	struct config *c;
	int line;

	h_cfg_build(NULL, NULL, "hooks",
		    "on_change = /etc/ftrack-syncd/on-change\n"
		    "hook_timeout = 5");
	c = h_cfg_load_ok();
	ck_assert_str_eq(c->hooks.on_change, "/etc/ftrack-syncd/on-change");
	ck_assert_uint_eq(c->hooks.hook_timeout, 5);
	config_free(c);
	line = h_cfg_build(NULL, NULL, "hooks", "hook_timeout = 0");
	h_cfg_load_fails(FT_E_CONFIG, h_cfg_at(line, ""), "hook_timeout");
	line = h_cfg_build(NULL, NULL, "hooks", "hook_timeout = 3601");
	h_cfg_load_fails(FT_E_CONFIG, h_cfg_at(line, ""), "hook_timeout");
}

END_TEST

/* ---- file structure ------------------------------------------------------- */

START_TEST(test_unknown_section)
{
	int line = h_cfg_build(NULL, NULL, "ldpa", "timeout = 5");

	h_cfg_load_fails(FT_E_CONFIG,
			 h_cfg_at(line - 1, "[ldpa]: unknown section"), NULL);
	/* an empty unknown section is refused too */
	line = h_cfg_build(NULL, NULL, "policy", "min_ldap_users = 3\n[extra]");
	h_cfg_load_fails(FT_E_CONFIG,
			 h_cfg_at(line + 1, "[extra]: unknown section"), NULL);
	line = h_cfg_build(NULL, NULL, "LDAP", "timeout = 5");
	h_cfg_load_fails(FT_E_CONFIG,
			 h_cfg_at(line - 1, "[LDAP]: unknown section"), NULL);
}

END_TEST

START_TEST(test_unknown_key)
{
	int line = h_cfg_build(NULL, NULL, "ldap", "timeout = 5\nurii = x");

	h_cfg_load_fails(FT_E_CONFIG,
			 h_cfg_at(line + 1, "[ldap] urii: unknown key"), NULL);
	/* a key of another section */
	line = h_cfg_build(NULL, NULL, "daemon", "batch_size = 5");
	h_cfg_load_fails(FT_E_CONFIG,
			 h_cfg_at(line, "[daemon] batch_size: unknown key"),
			 NULL);
	line = h_cfg_build(NULL, NULL, "ldap", "Timeout = 5");
	h_cfg_load_fails(FT_E_CONFIG,
			 h_cfg_at(line, "[ldap] Timeout: unknown key"), NULL);
}

END_TEST

START_TEST(test_duplicate_key)
{
	int line = h_cfg_build(NULL, NULL, "ldap", "uri = ldap://other");

	h_cfg_load_fails(
		FT_E_CONFIG,
		h_cfg_at(line,
			 "[ldap] uri: duplicate key (first set on line 2)"),
		NULL);
	/* an empty value counts as set */
	line = h_cfg_build(NULL, NULL, "mapping", "email =\nemail = mail");
	h_cfg_load_fails(
		FT_E_CONFIG,
		h_cfg_at(line + 1,
			 "[mapping] email: duplicate key (first set on "
			 "line 9)"),
		NULL);
}

END_TEST

START_TEST(test_key_outside_section)
{
	h_cfg_write_text(h_cfg.path, "\n; hello\ntimeout = 3\n[ldap]\n", 0600);
	h_cfg_load_fails(FT_E_CONFIG,
			 h_cfg_at(3, "timeout: key outside a section"), NULL);
}

END_TEST

START_TEST(test_syntax_errors)
{
	int line = h_cfg_build(NULL, NULL, "ldap", "timeout 5");

	h_cfg_load_fails(FT_E_CONFIG, h_cfg_at(line, "syntax error"), NULL);
	line = h_cfg_build(NULL, NULL, "ldap", "timeout = 5\n[policy");
	h_cfg_load_fails(FT_E_CONFIG, h_cfg_at(line + 1, "syntax error"), NULL);
	/* the first error wins, whoever finds it */
	line = h_cfg_build(NULL, NULL, "ldap", "nonsense\ntimeout = 0");
	h_cfg_load_fails(FT_E_CONFIG, h_cfg_at(line, "syntax error"), NULL);
	line = h_cfg_build(NULL, NULL, "ldap", "timeout = 0\nnonsense");
	h_cfg_load_fails(FT_E_CONFIG, h_cfg_at(line, "[ldap] timeout: "), NULL);
	line = h_cfg_build(NULL, NULL, "ldap", "nonsense\n[bogus]");
	h_cfg_load_fails(FT_E_CONFIG, h_cfg_at(line, "syntax error"), NULL);
}

END_TEST

START_TEST(test_long_and_nul_lines)
{
	static char text[H_CFG_TEXT_MAX];
	char filter[300];
	int line;

	memset(filter, 'a', sizeof(filter));
	memcpy(filter, "(cn=", 4);
	filter[195] = ')';
	filter[196] = '\0';
	/* "search_filter = " (16) + 196 = 212: too long for inih */
	(void)snprintf(text, sizeof(text), "search_filter = %s", filter);
	line = h_cfg_build(NULL, NULL, "ldap", text);
	h_cfg_load_fails(FT_E_CONFIG,
			 h_cfg_at(line, "line too long (at most 199"), NULL);
	/* 183 + 16 = 199 characters fit */
	filter[182] = ')';
	filter[183] = '\0';
	(void)snprintf(text, sizeof(text), "search_filter = %s", filter);
	h_cfg_build(NULL, NULL, "ldap", text);
	config_free(h_cfg_load_ok());

	h_cfg_write_file(h_cfg.path, "[ldap]\ntime\0out = 5\n", 20, 0600);
	h_cfg_load_fails(FT_E_CONFIG, h_cfg_at(2, "line contains a NUL byte"),
			 NULL);
}

END_TEST

START_TEST(test_comments_and_blanks)
{
	struct config *c;

	h_cfg_build(NULL, NULL, "ldap",
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
	h_cfg_load_fails(FT_E_CONFIG, h_cfg_at(20, "[policy] max_deactivate: "),
			 "'3 # not a comment' is not a count");
	h_cfg_build(NULL, NULL, "ldap",
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
	h_cfg_load_fails(FT_E_CONFIG, h_cfg_at(15, "[ldap] start_tls: "),
			 "'yes;no' is not yes or no");
	h_cfg_build(NULL, NULL, "ldap",
		    "   timeout = 42      ; seconds\n"
		    "\tpage_size = 7\t; tab before the comment\n"
		    "disabled_filter =                ; e.g. AD\n"
		    "bind_dn = cn=a;b,dc=x\n"
		    "  bind_password_file = @DIR@/ldap.secret\n"
		    "insecure_ldap = yes ; slapd on port 3890\n"
		    "[mapping]\n"
		    "full_name =   ; unset\n"
		    "email = {uid|lower}@example.com ; inline\n"
		    "[policy]\n"
		    "protected_users = admin, ftrack-sync   ; x");
	c = h_cfg_load_ok();
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
	h_cfg_write_text(h_cfg.path,
			 "\xef\xbb\xbf[ldap]\r\n"
			 "uri = ldap://127.0.0.1\r\n"
			 "    search_base = dc=example,dc=com\r\n"
			 "[ftrack]\r\n"
			 "  server = http://127.0.0.1:9\r\n"
			 "  api_user = u\r\n"
			 "  api_key_file = /nonexistent\r\n"
			 "  insecure_http = yes\r\n",
			 0600);
	setenv("FTRACK_API_KEY", "k", 1);
	c = h_cfg_load_ok();
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

	h_cfg_build(m->section, m->key, NULL, NULL);
	ck_assert_int_eq(h_cfg_load(&c), FT_E_CONFIG);
	ck_assert_str_eq(h_cfg.err, h_cfg_at(0, m->msg));
	/* server, api_user and api_key_file may be left empty: unset */
	(void)snprintf(text, sizeof(text), "%s =", m->key);
	h_cfg_build(m->section, m->key, m->section, text);
	ck_assert_int_eq(h_cfg_load(&c), FT_E_CONFIG);
	if (strcmp(m->section, "ftrack") == 0)
		ck_assert_str_eq(h_cfg.err, h_cfg_at(0, m->msg));
	else
		ck_assert_ptr_nonnull(strstr(h_cfg.err, "must not be empty"));
	ck_assert_ptr_null(c);
}

END_TEST

START_TEST(test_empty_file)
{
	h_cfg_write_text(h_cfg.path, "", 0600);
	h_cfg_load_fails(FT_E_CONFIG,
			 h_cfg_at(0, "[ldap] uri: required key is missing"),
			 NULL);
}

END_TEST

START_TEST(test_bind_pairs)
{
	int line = h_cfg_build(NULL, NULL, "ldap", "bind_dn = cn=x,dc=y");

	h_cfg_load_fails(
		FT_E_CONFIG,
		h_cfg_at(line, "[ldap] bind_dn: bind_dn and bind_password_file "
			       "go together"),
		NULL);
	line = h_cfg_build(NULL, NULL, "ldap",
			   "bind_password_file = @DIR@/ldap.secret");
	h_cfg_load_fails(FT_E_CONFIG,
			 h_cfg_at(line,
				  "[ldap] bind_password_file: bind_dn and "
				  "bind_password_file go together"),
			 NULL);
}

END_TEST

START_TEST(test_start_tls_with_ldaps)
{
	int line = h_cfg_build("ldap", "uri", "ldap",
			       "uri = ldap://a ldaps://b\nstart_tls = yes");

	h_cfg_load_fails(FT_E_CONFIG, h_cfg_at(line + 1, "[ldap] start_tls: "),
			 "already TLS");
}

END_TEST

START_TEST(test_expires_and_referrals)
{
	struct config *c;
	int line;

	h_cfg_build(NULL, NULL, "ldap",
		    "expires_attribute = accountexpires\n"
		    "ignore_referrals = DomainDnsZones, ForestDnsZones "
		    "ldap://*.corp.example.com/CN=Configuration?*");
	c = h_cfg_load_ok();
	ck_assert_str_eq(c->ldap.expires_attribute, "accountexpires");
	ck_assert_uint_eq(c->ldap.ignore_referrals.n, 3);
	ck_assert_str_eq(c->ldap.ignore_referrals.v[0], "DomainDnsZones");
	ck_assert_str_eq(c->ldap.ignore_referrals.v[2],
			 "ldap://*.corp.example.com/CN=Configuration?*");
	config_free(c);
	h_cfg_build(NULL, NULL, "ldap", "expires_attribute = shadowExpire");
	c = h_cfg_load_ok();
	ck_assert_str_eq(c->ldap.expires_attribute, "shadowExpire");
	config_free(c);
	/* empty: none */
	h_cfg_build(NULL, NULL, "ldap", "expires_attribute =");
	c = h_cfg_load_ok();
	ck_assert_ptr_null(c->ldap.expires_attribute);
	config_free(c);
	/* an attribute whose format is not known is refused at its line */
	line = h_cfg_build(NULL, NULL, "ldap",
			   "expires_attribute = pwdEndTime");
	h_cfg_load_fails(FT_E_CONFIG,
			 h_cfg_at(line,
				  "[ldap] expires_attribute: "
				  "'pwdEndTime' is neither accountExpires"),
			 "shadowExpire");
	line = h_cfg_build(NULL, NULL, "ldap",
			   "expires_attribute = not an attr");
	h_cfg_load_fails(FT_E_CONFIG, h_cfg_at(line, ""), "expires_attribute");
}

END_TEST

/* ---- environment ---------------------------------------------------------- */

START_TEST(test_env_overrides)
{
	struct config *c;

	h_cfg_build(NULL, NULL, "ftrack", "insecure_http = yes");
	setenv("FTRACK_SERVER", "http://127.0.0.1:8123/", 1);
	setenv("FTRACK_API_USER", "tester", 1);
	setenv("FTRACK_API_KEY", "env-key", 1);
	c = h_cfg_load_ok();
	ck_assert_str_eq(c->ftrack.server, "http://127.0.0.1:8123");
	ck_assert_str_eq(c->ftrack.api_user, "tester");
	ck_assert_str_eq(c->ftrack.api_key, "env-key");
	config_free(c);

	/* the environment stands in for missing keys; the key file is not
	 * read when FTRACK_API_KEY is set */
	h_cfg_write_text(h_cfg.path,
			 "[ldap]\nuri = ldap://h\nsearch_base = dc=x\n"
			 "[ftrack]\napi_key_file = /nonexistent/key\n"
			 "insecure_http = yes\n",
			 0600);
	c = h_cfg_load_ok();
	ck_assert_str_eq(c->ftrack.api_key, "env-key");
	config_free(c);

	/* empty variables are ignored */
	setenv("FTRACK_SERVER", "", 1);
	setenv("FTRACK_API_KEY", "", 1);
	h_cfg_build(NULL, NULL, NULL, NULL);
	c = h_cfg_load_ok();
	ck_assert_str_eq(c->ftrack.server, "https://ftrack.example.com");
	ck_assert_str_eq(c->ftrack.api_key, "sekrit-api-key");
	config_free(c);
}

END_TEST

START_TEST(test_env_checked)
{
	static char big[5000];

	h_cfg_build(NULL, NULL, NULL, NULL);
	setenv("FTRACK_SERVER", "http://ftrack.example.com", 1);
	h_cfg_load_fails(FT_E_CONFIG,
			 h_cfg_at(0, "environment FTRACK_SERVER: "),
			 "only to a loopback address");
	unsetenv("FTRACK_SERVER");
	setenv("FTRACK_API_USER", "a\nb", 1);
	h_cfg_load_fails(FT_E_CONFIG,
			 h_cfg_at(0, "environment FTRACK_API_USER: "),
			 "control character");
	unsetenv("FTRACK_API_USER");
	memset(big, 'k', sizeof(big) - 1);
	setenv("FTRACK_API_KEY", big, 1);
	h_cfg_load_fails(FT_E_CONFIG,
			 h_cfg_at(0, "environment FTRACK_API_KEY: "), NULL);
}

END_TEST

START_TEST(test_config_path)
{
	struct config *c = NULL;

	h_cfg_build(NULL, NULL, NULL, NULL);
	setenv("FTRACK_SYNCD_CONFIG", h_cfg.path, 1);
	ck_assert_int_eq(config_load(NULL, &c, h_cfg.err, sizeof(h_cfg.err)),
			 FT_OK);
	ck_assert_str_eq(c->path, h_cfg.path);
	config_free(c);
	c = NULL;
	/* an argument wins over the environment */
	ck_assert_int_eq(config_load("/nonexistent/x.conf", &c, h_cfg.err,
				     sizeof(h_cfg.err)),
			 FT_E_CONFIG);
	ck_assert_str_eq(h_cfg.err, "/nonexistent/x.conf: cannot open: No such "
				    "file or directory");
	unsetenv("FTRACK_SYNCD_CONFIG");
	if (access(FT_DEFAULT_CONFIG, F_OK) != 0) {
		ck_assert_int_eq(
			config_load(NULL, &c, h_cfg.err, sizeof(h_cfg.err)),
			FT_E_CONFIG);
		ck_assert_str_eq(h_cfg.err, FT_DEFAULT_CONFIG
				 ": cannot open: No such file or directory");
	}
	ck_assert_ptr_null(c);
}

END_TEST

/* ---- the config file itself ------------------------------------------------ */

START_TEST(test_config_file_checks)
{
	struct config *c;

	h_cfg_build(NULL, NULL, NULL, NULL);
	ck_assert_int_eq(chmod(h_cfg.path, 0646), 0);
	h_cfg_load_fails(FT_E_PERM,
			 h_cfg_at(0, "is writable by group or others; run "
				     "chmod go-w "),
			 h_cfg.path);
	ck_assert_int_eq(chmod(h_cfg.path, 0664), 0);
	h_cfg_load_fails(FT_E_PERM,
			 h_cfg_at(0, "is writable by group or others"), NULL);
	/* readable by all is fine: the file holds no secret */
	ck_assert_int_eq(chmod(h_cfg.path, 0644), 0);
	c = h_cfg_load_ok();
	config_free(c);
	(void)snprintf(h_cfg.path, sizeof(h_cfg.path), "%s", h_cfg.dir);
	h_cfg_load_fails(FT_E_CONFIG, h_cfg_at(0, "is not a regular file"),
			 NULL);
}

END_TEST

START_TEST(test_config_file_owner)
{
	if (geteuid() != 0)
		return;
	h_cfg_build(NULL, NULL, NULL, NULL);
	ck_assert_int_eq(chown(h_cfg.path, 65534, 0), 0);
	h_cfg_load_fails(
		FT_E_PERM,
		h_cfg_at(0, "is owned by uid 65534, not by root or uid 0"),
		NULL);
	/* owned by the daemon's (effective) user is fine */
	ck_assert_int_eq(chown(h_cfg.path, geteuid(), 0), 0);
	config_free(h_cfg_load_ok());
}

END_TEST

/* ---- API odds and ends ------------------------------------------------------ */

START_TEST(test_free_null_and_strlist_has)
{
	struct config *c;

	config_free(NULL);
	ck_assert(!strlist_has(NULL, "admin"));
	h_cfg_build(NULL, NULL, NULL, NULL);
	c = h_cfg_load_ok();
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

	h_cfg_build(NULL, NULL, "ldap", "timeout = 0");
	ck_assert_int_eq(config_load(h_cfg.path, &c, small, sizeof(small)),
			 FT_E_CONFIG);
	ck_assert_uint_eq(strlen(small), sizeof(small) - 1);
	ck_assert_int_eq(strncmp(small, h_cfg.path, sizeof(small) - 1), 0);
	ck_assert_ptr_null(c);
}

END_TEST

/* ---- the shipped example ------------------------------------------------------ */

static void
copy_example(void)
{
	static char text[H_CFG_TEXT_MAX], out[H_CFG_TEXT_MAX];
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
			h_cfg_cat(out, &k, h_cfg.dir);
			h_cfg_cat(out, &k, "/");
			i += 17;
		} else {
			ck_assert(k + 1 < H_CFG_TEXT_MAX);
			out[k++] = text[i];
			out[k] = '\0';
		}
	}
	h_cfg_write_text(h_cfg.path, out, 0644);
}

START_TEST(test_example_config)
{
	struct config *c;
	size_t i;

	copy_example();
	c = h_cfg_load_ok();
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
	for (i = 0; i < h_cfg_ndefaults; i++)
		if (strstr(h_cfg_defaults[i].name, "bind_") == NULL)
			h_cfg_check_field(
				c, h_cfg_defaults[i].name,
				h_cfg_defaults[i].kind, h_cfg_defaults[i].off,
				h_cfg_defaults[i].s, h_cfg_defaults[i].n);
	config_free(c);
}

END_TEST

START_TEST(test_example_lists_every_key)
{
	static struct h_cfg_dump d;
	static char text[H_CFG_TEXT_MAX];
	char want[160];
	const char *p;
	struct config *c;
	FILE *f;
	size_t n;

	copy_example();
	c = h_cfg_load_ok();
	config_dump(c, h_cfg_collect, &d);
	config_free(c);
	f = fopen(h_cfg.path, "re");
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
		/* [relay] is commented out: the example is a standalone
		 * config, and a standalone config refuses [relay] */
		(void)snprintf(want, sizeof(want), "\n%s%.*s =",
			       strncmp(p, "relay.", 6) == 0 ? "; " : "",
			       (int)(eq - dot - 2), dot + 1);
		ck_assert_msg(strstr(text, want) != NULL, "example lacks '%s'",
			      want + 1);
	}
}

END_TEST

/* ---- [daemon] mode and [provisioner] ------------------------------------ */

#define PROV_KEYS                                                              \
	"mode = provisioner\n[provisioner]\n"                                  \
	"listen = 127.0.0.1:8443 [::1]:8443\n"                                 \
	"tls_cert_file = @DIR@/prov.crt\ntls_key_file = @DIR@/prov.key\n"      \
	"client_ca_file = @DIR@/ca.crt\nhost_rate = 5\n"

START_TEST(test_provisioner_keys)
{
	char key[PATH_MAX];
	struct config *c;
	int line;

	/* mode = provisioner needs its files and allow_hosts */
	line = h_cfg_build(NULL, NULL, "daemon", "mode = provisioner");
	h_cfg_load_fails(FT_E_CONFIG,
			 h_cfg_at(line, "[provisioner] tls_cert_file: required "
					"with mode = provisioner"),
			 NULL);
	line = h_cfg_build(NULL, NULL, "daemon", PROV_KEYS);
	h_cfg_load_fails(FT_E_CONFIG,
			 h_cfg_at(line, "[provisioner] allow_hosts: required "
					"with mode = provisioner"),
			 NULL);
	/* the key file is checked as a secret: 0600, no link */
	h_cfg_subst("@DIR@/prov.key", key, sizeof(key));
	h_cfg_write_text(key, "-----BEGIN PRIVATE KEY-----\n", 0644);
	line = h_cfg_build(NULL, NULL, "daemon",
			   PROV_KEYS "allow_hosts = *.ws.example.com");
	h_cfg_load_fails(FT_E_PERM,
			 h_cfg_at(line + 4, "[provisioner] tls_key_file: "),
			 "open to group or others");
	ck_assert_int_eq(chmod(key, 0600), 0);
	c = h_cfg_load_ok();
	ck_assert_int_eq(c->daemon.mode, MODE_PROVISIONER);
	ck_assert_uint_eq(c->provisioner.listen.n, 2);
	ck_assert_str_eq(c->provisioner.listen.v[1], "[::1]:8443");
	ck_assert_uint_eq(c->provisioner.host_rate, 5);
	ck_assert_uint_eq(c->provisioner.allow_hosts.n, 1);
	ck_assert_ptr_null(c->provisioner.crl_file);
	config_free(c);
	/* a standalone daemon ignores [provisioner]; limits still hold */
	line = h_cfg_build(NULL, NULL, "provisioner", "max_connections = 0");
	h_cfg_load_fails(FT_E_CONFIG,
			 h_cfg_at(line, "[provisioner] "
					"max_connections"),
			 NULL);
}

END_TEST

/* ---- [ldap] login_format: a set of words ------------------------------- */

START_TEST(test_login_format)
{
	static const struct {
		const char *v;
		unsigned want;
		const char *dump;
	} ok[] = {
		{"", 0, "ldap.login_format ="},
		{"strip-realm", LOGIN_STRIP_REALM,
		 "ldap.login_format = strip-realm"},
		{"lower, strip-domain", LOGIN_LOWER | LOGIN_STRIP_DOMAIN,
		 "ldap.login_format = strip-domain, lower"},
		{"strip-realm,strip-domain lower, lower",
		 LOGIN_STRIP_REALM | LOGIN_STRIP_DOMAIN | LOGIN_LOWER,
		 "ldap.login_format = strip-realm, strip-domain, lower"},
	};
	static struct h_cfg_dump d;
	char text[128];
	struct config *c;
	size_t i;
	int line;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		(void)snprintf(text, sizeof(text), "login_format = %s",
			       ok[i].v);
		h_cfg_build(NULL, NULL, "ldap", text);
		c = h_cfg_load_ok();
		ck_assert_uint_eq(c->ldap.login_format, ok[i].want);
		memset(&d, 0, sizeof(d));
		config_dump(c, h_cfg_collect, &d);
		ck_assert_msg(strstr(d.text, ok[i].dump) != NULL, "%s in %s",
			      ok[i].dump, d.text);
		config_free(c);
	}
	/* an unknown word names the file, the line, the word and the words */
	line = h_cfg_build(NULL, NULL, "ldap",
			   "timeout = 5\nlogin_format = strip-realm, upper");
	h_cfg_load_fails(FT_E_CONFIG,
			 h_cfg_at(line + 1,
				  "[ldap] login_format: 'upper' is not one "
				  "of: strip-realm, strip-domain, lower"),
			 NULL);
	line = h_cfg_build(NULL, NULL, "ldap", "login_format = Strip-Realm");
	h_cfg_load_fails(FT_E_CONFIG,
			 h_cfg_at(line, "[ldap] login_format: 'Strip-Realm'"),
			 NULL);
	/* only in [ldap] */
	line = h_cfg_build(NULL, NULL, "policy", "login_format = lower");
	h_cfg_load_fails(FT_E_CONFIG,
			 h_cfg_at(line, "[policy] login_format: unknown key"),
			 NULL);
}

END_TEST

/* ---- [daemon] mode = relay ---------------------------------------------- */

/*
 * A relay's config: [daemon] mode = relay, then [relay] (upstream, the
 * host's certificate and key, 0600, and the CA), then extra (NULL: none).
 * Returns the line number of extra's first line.
 */
static int
relay_config(const char *upstream, const char *key, const char *extra)
{
	char text[H_CFG_TEXT_MAX], out[H_CFG_TEXT_MAX], path[PATH_MAX + 16];

	H_FMT(path, "%s/host.key", h_cfg.dir);
	h_cfg_write_text(path, "-----BEGIN PRIVATE KEY-----\n", 0600);
	H_FMT(path, "%s/host.crt", h_cfg.dir);
	h_cfg_write_text(path, "-----BEGIN CERTIFICATE-----\n", 0644);
	H_FMT(text,
	      "[daemon]\n"
	      "mode = relay\n"
	      "[relay]\n"
	      "upstream = %s\n"
	      "tls_cert_file = @DIR@/host.crt\n"
	      "tls_key_file = %s\n"
	      "tls_ca_file = @DIR@/host.crt\n"
	      "%s",
	      upstream, key, extra != NULL ? extra : "");
	h_cfg_subst(text, out, sizeof(out));
	h_cfg_write_text(h_cfg.path, out, 0600);
	return 8;
}

#define UP2 "https://prov1.example.com:8443 https://prov2.example.com:8443/"

START_TEST(test_relay_loads)
{
	struct config *c;
	char want[PATH_MAX + 16];

	relay_config(UP2, "@DIR@/host.key",
		     "timeout = 5\nretry_primary = 60\n");
	c = h_cfg_load_ok();
	ck_assert_int_eq(c->daemon.mode, MODE_RELAY);
	ck_assert_uint_eq(c->relay.upstream.n, 2);
	ck_assert_str_eq(c->relay.upstream.v[0],
			 "https://prov1.example.com:8443");
	ck_assert_str_eq(c->relay.upstream.v[1],
			 "https://prov2.example.com:8443/");
	H_FMT(want, "%s/host.key", h_cfg.dir);
	ck_assert_str_eq(c->relay.tls_key_file, want);
	ck_assert_uint_eq(c->relay.timeout, 5);
	ck_assert_uint_eq(c->relay.retry_primary, 60);
	/* nothing of LDAP or ftrack is needed, or held */
	ck_assert_ptr_null(c->ldap.uri);
	ck_assert_ptr_null(c->ftrack.server);
	ck_assert_ptr_null(c->ftrack.api_key);
	config_free(c);
}

END_TEST

/* A relay holds nothing that can change ftrack: the section's line. */
struct refused_case {
	const char *extra;
	int line; /* of the error, after relay_config's 7 lines */
	const char *part;
};

static const struct refused_case refused_cases[] = {
	{"[ftrack]\nserver = https://ftrack.example.com\n", 8,
	 "[ftrack]: a relay holds nothing that can change ftrack"},
	{"[ldap]\nuri = ldaps://ldap.example.com\n", 8,
	 "[ldap]: a relay holds nothing that can change ftrack"},
	{"[mapping]\nusername = uid\n[ftrack]\n[ldap]\n", 10,
	 "[ftrack]: a relay holds nothing"},
	{"[ftrack]\napi_key_file = @DIR@/ftrack.secret\n", 8,
	 "[ftrack]: a relay holds nothing"},
};

START_TEST(test_relay_refuses_secrets)
{
	const struct refused_case *c = &refused_cases[_i];

	relay_config(UP2, "@DIR@/host.key", c->extra);
	h_cfg_load_fails(FT_E_CONFIG, h_cfg_at(c->line, c->part), NULL);
}

END_TEST

/* The environment cannot hand a relay the ftrack secrets either. */
START_TEST(test_relay_refuses_env)
{
	relay_config(UP2, "@DIR@/host.key", NULL);
	ck_assert_int_eq(setenv("FTRACK_API_KEY", "sekrit", 1), 0);
	h_cfg_load_fails(FT_E_CONFIG,
			 h_cfg_at(0, "environment FTRACK_API_KEY: a relay "
				     "holds nothing that can change ftrack"),
			 NULL);
}

END_TEST

/* [relay] outside relay mode: an error at its line. */
START_TEST(test_relay_section_needs_mode)
{
	int line = h_cfg_build(NULL, NULL, "relay",
			       "upstream = https://prov1.example.com");

	h_cfg_load_fails(FT_E_CONFIG,
			 h_cfg_at(line - 1, "[relay]: only a relay reads this "
					    "section"),
			 NULL);
	line = h_cfg_build(NULL, NULL, "daemon", "mode = provisioner\n[relay]");
	h_cfg_load_fails(FT_E_CONFIG,
			 h_cfg_at(line + 1, "[relay]: only a relay"), NULL);
}

END_TEST

/* The mode's words; a relay without [relay]. */
START_TEST(test_mode_words)
{
	struct config *c;
	int line;

	h_cfg_build(NULL, NULL, "daemon", "mode = standalone");
	c = h_cfg_load_ok();
	ck_assert_int_eq(c->daemon.mode, MODE_STANDALONE);
	config_free(c);
	line = h_cfg_build(NULL, NULL, "daemon", "mode = workstation");
	h_cfg_load_fails(FT_E_CONFIG, h_cfg_at(line, "[daemon] mode: "),
			 "standalone");
	/* a relay without [relay]: its keys are required */
	h_cfg_write_text(h_cfg.path, "[daemon]\nmode = relay\n", 0600);
	h_cfg_load_fails(FT_E_CONFIG,
			 h_cfg_at(0, "[relay] upstream: required key is "
				     "missing"),
			 NULL);
}

END_TEST

/* upstream: https:// only, a URL each, at most 8. */
struct upstream_case {
	const char *upstream;
	const char *part;
};

static const struct upstream_case upstream_cases[] = {
	{"http://127.0.0.1:8080", "over https:// only"},
	{"https://prov1.example.com http://prov2.example.com",
	 "'http://prov2.example.com' may use http:// only to a loopback"},
	{"ftp://prov1.example.com", "must start with https://"},
	{"https://a https://b https://c https://d https://e https://f "
	 "https://g https://h https://i",
	 "at most 8 URLs"},
	{"https://user@prov1.example.com", "must not contain"},
};

START_TEST(test_relay_upstream)
{
	const struct upstream_case *c = &upstream_cases[_i];

	relay_config(c->upstream, "@DIR@/host.key", NULL);
	h_cfg_load_fails(FT_E_CONFIG, h_cfg_at(4, "[relay] upstream: "),
			 c->part);
}

END_TEST

/* The key is checked like a secret file: mode, symlink. */
START_TEST(test_relay_key_checked)
{
	char path[PATH_MAX + 16], link[PATH_MAX + 16];

	relay_config(UP2, "@DIR@/host.key", NULL);
	H_FMT(path, "%s/host.key", h_cfg.dir);
	ck_assert_int_eq(chmod(path, 0640), 0);
	h_cfg_load_fails(FT_E_PERM, h_cfg_at(6, "[relay] tls_key_file: "),
			 "open to group or others");
	relay_config(UP2, "@DIR@/key.link", NULL);
	H_FMT(link, "%s/key.link", h_cfg.dir);
	ck_assert_int_eq(symlink(path, link), 0);
	h_cfg_load_fails(FT_E_PERM, h_cfg_at(6, "[relay] tls_key_file: "),
			 "symbolic link");
	relay_config(UP2, "@DIR@/missing.key", NULL);
	h_cfg_load_fails(FT_E_CONFIG, h_cfg_at(6, "[relay] tls_key_file: "),
			 "cannot open");
	relay_config(UP2, "relative/host.key", NULL);
	h_cfg_load_fails(FT_E_CONFIG, h_cfg_at(6, "[relay] tls_key_file: "),
			 "absolute path");
}

END_TEST

/* A bare name is a credential of the unit (LoadCredential=). */
START_TEST(test_relay_key_credential)
{
	struct config *c;
	char want[PATH_MAX + 16];

	relay_config(UP2, "host.key", NULL);
	ck_assert_int_eq(unsetenv("CREDENTIALS_DIRECTORY"), 0);
	h_cfg_load_fails(FT_E_CONFIG, h_cfg_at(6, "[relay] tls_key_file: "),
			 "LoadCredential=host.key:");
	ck_assert_int_eq(setenv("CREDENTIALS_DIRECTORY", h_cfg.dir, 1), 0);
	c = h_cfg_load_ok();
	H_FMT(want, "%s/host.key", h_cfg.dir);
	ck_assert_str_eq(c->relay.tls_key_file, want);
	config_free(c);
	ck_assert_int_eq(unsetenv("CREDENTIALS_DIRECTORY"), 0);
}

END_TEST

Suite *
config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("config");

	h_cfg_fixtures(tc);
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_link_by);
	tcase_add_test(tc, test_relay_loads);
	tcase_add_loop_test(
		tc, test_relay_refuses_secrets, 0,
		(int)(sizeof(refused_cases) / sizeof(refused_cases[0])));
	tcase_add_test(tc, test_relay_refuses_env);
	tcase_add_test(tc, test_relay_section_needs_mode);
	tcase_add_test(tc, test_mode_words);
	tcase_add_loop_test(
		tc, test_relay_upstream, 0,
		(int)(sizeof(upstream_cases) / sizeof(upstream_cases[0])));
	tcase_add_test(tc, test_relay_key_checked);
	tcase_add_test(tc, test_relay_key_credential);
	tcase_add_test(tc, test_unknown_section);
	tcase_add_test(tc, test_unknown_key);
	tcase_add_test(tc, test_duplicate_key);
	tcase_add_test(tc, test_key_outside_section);
	tcase_add_test(tc, test_syntax_errors);
	tcase_add_test(tc, test_long_and_nul_lines);
	tcase_add_test(tc, test_comments_and_blanks);
	tcase_add_test(tc, test_crlf_bom_and_indent);
	tcase_add_test(tc, test_provisioner_keys);
	tcase_add_loop_test(tc, test_missing_required, 0,
			    (int)(sizeof(missings) / sizeof(missings[0])));
	tcase_add_test(tc, test_empty_file);
	tcase_add_test(tc, test_bind_pairs);
	tcase_add_test(tc, test_start_tls_with_ldaps);
	tcase_add_test(tc, test_expires_and_referrals);
	tcase_add_test(tc, test_env_overrides);
	tcase_add_test(tc, test_env_checked);
	tcase_add_test(tc, test_config_path);
	tcase_add_test(tc, test_config_file_checks);
	tcase_add_test(tc, test_config_file_owner);
	tcase_add_test(tc, test_free_null_and_strlist_has);
	tcase_add_test(tc, test_error_buffer_small);
	tcase_add_test(tc, test_example_config);
	tcase_add_test(tc, test_example_lists_every_key);
	tcase_add_test(tc, test_login_format);
	tcase_add_test(tc, test_seat_caps);
	tcase_add_test(tc, test_hooks_keys);
	suite_add_tcase(s, tc);
	return s;
}
