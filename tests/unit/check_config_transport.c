/* SPDX-License-Identifier: Apache-2.0 */
/* check_config_transport.c: config_transport.c: where the secrets may go. */
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "ft_err.h"
#include "h_config.h"

Suite *config_transport_suite(void);

#define BIND                                                                   \
	"bind_dn = cn=sync,dc=example,dc=com\n"                                \
	"bind_password_file = @DIR@/ldap.secret"

/* ---- LDAP: a password bind ------------------------------------------ */

struct ldap_row {
	const char *uri;
	const char *more;    /* lines after uri (with bind_dn: a password) */
	const char *refused; /* NULL: accepted; else the URI named */
	int warnings;        /* config_warnings lines when accepted */
};

static const struct ldap_row ldap_rows[] = {
	/* TLS, or a socket only root can make */
	{"ldaps://ldap.example.com", BIND, NULL, 0},
	{"LDAPS://ldap.example.com:636", BIND, NULL, 0},
	{"ldapi://%2Frun%2Fslapd%2Fldapi", BIND, NULL, 0},
	{"ldap://ldap.example.com", BIND "\nstart_tls = yes", NULL, 0},
	{"ldap://ldap1.example.com ldap://ldap2.example.com",
	 BIND "\nstart_tls = yes", NULL, 0},
	{"ldaps://a.example.com ldapi://%2Fx", BIND, NULL, 0},
	/* loopback on a port below 1024 (389 when none is given) */
	{"ldap://127.0.0.1", BIND, NULL, 0},
	{"ldap://127.0.0.1:389/", BIND, NULL, 0},
	{"ldap://127.0.0.2:1023", BIND, NULL, 0},
	{"ldap://localhost:636", BIND, NULL, 0},
	{"ldap://[::1]:389", BIND, NULL, 0},
	{"ldap://[::1]", BIND, NULL, 0},
	/* plain, to anything else: refused, naming the URI */
	{"ldap://ldap.example.com", BIND, "'ldap://ldap.example.com'", 0},
	{"ldap://127.0.0.1:3890", BIND, "'ldap://127.0.0.1:3890'", 0},
	{"ldap://127.0.0.1:1024", BIND, "'ldap://127.0.0.1:1024'", 0},
	{"ldap://localhost:8389", BIND, "'ldap://localhost:8389'", 0},
	{"ldap://[::1]:3890", BIND, "'ldap://[::1]:3890'", 0},
	{"ldap://10.0.0.5:389", BIND, "'ldap://10.0.0.5:389'", 0},
	{"ldap://localhost.example.com", BIND, "'ldap://localhost.example.com'",
	 0},
	{"ldap:///", BIND, "'ldap:///'", 0},
	/* an escape is not decoded, so never taken for loopback */
	{"ldap://%31%32%37.0.0.1", BIND, "'ldap://%31%32%37.0.0.1'", 0},
	/* every URI of a failover list must pass, blanks or commas */
	{"ldaps://ldap1.example.com ldap://ldap2.example.com", BIND,
	 "'ldap://ldap2.example.com'", 0},
	{"ldaps://a.example.com,ldap://b.example.com", BIND,
	 "'ldap://b.example.com'", 0},
	{"ldap://127.0.0.1 ldap://127.0.0.1:3890", BIND,
	 "'ldap://127.0.0.1:3890'", 0},
	{"ldap://ldap.example.com", BIND "\ninsecure_ldap = no",
	 "'ldap://ldap.example.com'", 0},
	/* insecure_ldap lets it through, warned about once per URI */
	{"ldap://127.0.0.1:3890", BIND "\ninsecure_ldap = yes", NULL, 1},
	{"ldap://a.example.com ldaps://b.example.com ldap://c.example.com",
	 BIND "\ninsecure_ldap = yes", NULL, 2},
	{"ldaps://ldap.example.com", BIND "\ninsecure_ldap = yes", NULL, 0},
	/* anonymous: no password, nothing to refuse or warn about */
	{"ldap://ldap.example.com", "", NULL, 0},
	{"ldap://ldap.example.com", "insecure_ldap = yes", NULL, 0},
};

#define NLDAP (sizeof(ldap_rows) / sizeof(ldap_rows[0]))

static void
count_line(void *ctx, const char *line)
{
	int *n = ctx;

	ck_assert_ptr_null(strchr(line, '\n'));
	(*n)++;
}

START_TEST(test_ldap_bind)
{
	const struct ldap_row *row = &ldap_rows[_i];
	char text[1024], why[512];
	struct config *c;
	int line, n = 0;

	(void)snprintf(text, sizeof(text), "uri = %s\n%s", row->uri, row->more);
	line = h_cfg_build("ldap", "uri", "ldap", text);
	if (row->refused != NULL) {
		/* the file and the uri line, the URI and what to do */
		h_cfg_load_fails(FT_E_CONFIG, h_cfg_at(line, "[ldap] uri: "),
				 row->refused);
		ck_assert_msg(strstr(h_cfg.err, "would get the bind password "
						"in clear text") != NULL,
			      "%s", h_cfg.err);
		ck_assert_ptr_nonnull(strstr(h_cfg.err, "start_tls = yes"));
		ck_assert_ptr_nonnull(strstr(h_cfg.err, "insecure_ldap = yes"));
		ck_assert_ptr_null(strstr(h_cfg.err, "ldap-pw"));
		return;
	}
	c = h_cfg_load_ok();
	ck_assert_int_eq(config_ldap_bind_check(&c->ldap, why, sizeof(why)),
			 FT_OK);
	config_warnings(c, count_line, &n);
	ck_assert_int_eq(n, row->warnings);
	config_free(c);
}

END_TEST

/* The rule itself, as ldap_src calls it on a config made by hand. */
START_TEST(test_ldap_bind_check)
{
	char uri[] = "ldap://127.0.0.1:3890", dn[] = "cn=sync", empty[] = "";
	struct config c;
	char why[512], small[16];

	memset(&c, 0, sizeof(c));
	c.ldap.uri = uri;
	c.ldap.bind_dn = dn;
	ck_assert_int_eq(config_ldap_bind_check(&c.ldap, why, sizeof(why)),
			 FT_E_CONFIG);
	ck_assert_ptr_nonnull(strstr(why, "'ldap://127.0.0.1:3890'"));
	/* a short buffer is cut, never overrun */
	ck_assert_int_eq(config_ldap_bind_check(&c.ldap, small, sizeof(small)),
			 FT_E_CONFIG);
	ck_assert_uint_eq(strlen(small), sizeof(small) - 1);
	c.ldap.insecure_ldap = true;
	ck_assert_int_eq(config_ldap_bind_check(&c.ldap, why, sizeof(why)),
			 FT_OK);
	c.ldap.insecure_ldap = false;
	c.ldap.start_tls = true;
	ck_assert_int_eq(config_ldap_bind_check(&c.ldap, why, sizeof(why)),
			 FT_OK);
	c.ldap.start_tls = false;
	/* anonymous: an empty bind DN sends no password */
	c.ldap.bind_dn = empty;
	ck_assert_int_eq(config_ldap_bind_check(&c.ldap, why, sizeof(why)),
			 FT_OK);
	c.ldap.bind_dn = NULL;
	ck_assert_int_eq(config_ldap_bind_check(&c.ldap, why, sizeof(why)),
			 FT_OK);
}

END_TEST

/* ---- ftrack: the API key --------------------------------------------- */

START_TEST(test_http_needs_insecure_http)
{
	struct config *c;
	int line, n = 0;

	/* refused at the server line, whichever comes first */
	line = h_cfg_build("ftrack", "server", "ftrack",
			   "server = http://127.0.0.1:8080");
	h_cfg_load_fails(FT_E_CONFIG, h_cfg_at(line, "[ftrack] server: "),
			 "'http://127.0.0.1:8080' would get the API key in "
			 "clear text: use https://, or set insecure_http = "
			 "yes in [ftrack]");
	ck_assert_ptr_null(strstr(h_cfg.err, "sekrit"));
	line = h_cfg_build("ftrack", "server", "ftrack",
			   "insecure_http = no\nserver = HTTP://localhost:9");
	h_cfg_load_fails(FT_E_CONFIG, h_cfg_at(line + 1, "[ftrack] server: "),
			 "'HTTP://localhost:9'");
	/* allowed with insecure_http, before or after the server line */
	h_cfg_build("ftrack", "server", "ftrack",
		    "insecure_http = yes\nserver = http://[::1]:8080/");
	c = h_cfg_load_ok();
	ck_assert_str_eq(c->ftrack.server, "http://[::1]:8080");
	ck_assert(c->ftrack.insecure_http);
	config_free(c);
	h_cfg_build("ftrack", "server", "ftrack",
		    "server = http://127.0.0.1:8080\ninsecure_http = yes");
	c = h_cfg_load_ok();
	config_free(c);
	/* never to another host, even with insecure_http */
	line = h_cfg_build("ftrack", "server", "ftrack",
			   "server = http://ftrack.example.com\n"
			   "insecure_http = yes");
	h_cfg_load_fails(FT_E_CONFIG, h_cfg_at(line, "[ftrack] server: "),
			 "may use http:// only to a loopback address");
	/* https: insecure_http changes nothing, nothing to warn about */
	h_cfg_build(NULL, NULL, "ftrack", "insecure_http = yes");
	c = h_cfg_load_ok();
	config_warnings(c, count_line, &n);
	ck_assert_int_eq(n, 0);
	config_free(c);
}

END_TEST

START_TEST(test_http_from_environment)
{
	struct config *c;

	h_cfg_build(NULL, NULL, NULL, NULL);
	setenv("FTRACK_SERVER", "http://127.0.0.1:9/", 1);
	h_cfg_load_fails(FT_E_CONFIG,
			 h_cfg_at(0, "environment FTRACK_SERVER: "),
			 "'http://127.0.0.1:9' would get the API key in clear "
			 "text");
	ck_assert_ptr_nonnull(strstr(h_cfg.err, "insecure_http = yes"));
	h_cfg_build(NULL, NULL, "ftrack", "insecure_http = yes");
	c = h_cfg_load_ok();
	ck_assert_str_eq(c->ftrack.server, "http://127.0.0.1:9");
	config_free(c);
	/* the file's own http:// server, overridden by https: fine */
	setenv("FTRACK_SERVER", "https://ftrack.example.com", 1);
	h_cfg_build("ftrack", "server", "ftrack",
		    "server = http://127.0.0.1:9");
	c = h_cfg_load_ok();
	ck_assert_str_eq(c->ftrack.server, "https://ftrack.example.com");
	config_free(c);
}

END_TEST

/* ---- warnings -------------------------------------------------------- */

struct lines {
	char text[4096];
	size_t n;
	int count;
};

static void
collect(void *ctx, const char *line)
{
	struct lines *l = ctx;
	int k = snprintf(l->text + l->n, sizeof(l->text) - l->n, "%s\n", line);

	ck_assert(k > 0 && (size_t)k < sizeof(l->text) - l->n);
	l->n += (size_t)k;
	l->count++;
}

static struct lines *
warnings_of(const char *xsec, const char *xtext)
{
	static struct lines l;
	struct config *c;

	memset(&l, 0, sizeof(l));
	h_cfg_build(strcmp(xsec, "ftrack") == 0 ? "ftrack" : NULL,
		    strcmp(xsec, "ftrack") == 0 ? "server" : NULL, xsec, xtext);
	c = h_cfg_load_ok();
	config_warnings(c, collect, &l);
	config_free(c);
	return &l;
}

START_TEST(test_warnings)
{
	static const char *const reqs[] = {"never", "allow", "try"};
	char text[128], want[128];
	struct lines *l;
	size_t i;

	/* the defaults: https, anonymous, demand: nothing */
	l = warnings_of("policy", "min_ldap_users = 1");
	ck_assert_int_eq(l->count, 0);
	/* insecure_http: the server named, the risk said */
	l = warnings_of("ftrack",
			"server = http://127.0.0.1:8080\ninsecure_http = yes");
	ck_assert_int_eq(l->count, 1);
	ck_assert_str_eq(l->text,
			 "[ftrack] insecure_http = yes: the API key goes in "
			 "clear text to 'http://127.0.0.1:8080'; any local "
			 "user who binds that port first gets it (tests "
			 "only)\n");
	/* insecure_ldap: each URI it lets the password go to */
	l = warnings_of("ldap", BIND "\ninsecure_ldap = yes");
	ck_assert_int_eq(l->count, 1);
	ck_assert_str_eq(l->text,
			 "[ldap] insecure_ldap = yes: the bind password goes "
			 "in clear text to 'ldap://127.0.0.1:3890' (tests "
			 "only)\n");
	/* tls_require_cert: anything but demand */
	for (i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
		(void)snprintf(text, sizeof(text), "tls_require_cert = %s",
			       reqs[i]);
		l = warnings_of("ldap", text);
		ck_assert_int_eq(l->count, 1);
		(void)snprintf(want, sizeof(want),
			       "[ldap] tls_require_cert = %s: ", reqs[i]);
		ck_assert_msg(strncmp(l->text, want, strlen(want)) == 0, "%s",
			      l->text);
		ck_assert_ptr_nonnull(strstr(l->text, "use demand"));
	}
	l = warnings_of("ldap", "tls_require_cert = demand");
	ck_assert_int_eq(l->count, 0);
	/* several at once (the server is https: no insecure_http line) */
	l = warnings_of("ldap", BIND "\ninsecure_ldap = yes\n"
				     "tls_require_cert = never\n"
				     "[ftrack]\ninsecure_http = yes");
	ck_assert_int_eq(l->count, 2);
	ck_assert_ptr_nonnull(strstr(l->text, "insecure_ldap"));
	ck_assert_ptr_nonnull(strstr(l->text, "tls_require_cert = never"));
}

END_TEST

Suite *
config_transport_suite(void)
{
	Suite *s = suite_create("config_transport");
	TCase *tc = tcase_create("config_transport");

	h_cfg_fixtures(tc);
	tcase_add_loop_test(tc, test_ldap_bind, 0, (int)NLDAP);
	tcase_add_test(tc, test_ldap_bind_check);
	tcase_add_test(tc, test_http_needs_insecure_http);
	tcase_add_test(tc, test_http_from_environment);
	tcase_add_test(tc, test_warnings);
	suite_add_tcase(s, tc);
	return s;
}
