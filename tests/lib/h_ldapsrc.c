/* SPDX-License-Identifier: Apache-2.0 */
/* h_ldapsrc.c: test library: the LDAP source suites' slapd, config, reads. */
#include "h_ldapsrc.h"

#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "ft_err.h"

/* The slapd shared by the read-only tests (started in the runner). */
static struct h_slapd *g_slapd;

void
h_ls_shared_setup(void)
{
	g_slapd = h_slapd_start(H_LDIF_PEOPLE, 0);
}

void
h_ls_shared_teardown(void)
{
	h_slapd_stop(g_slapd);
	g_slapd = NULL;
}

const char *
h_ls_shared_uri(void)
{
	ck_assert_msg(g_slapd != NULL, "the shared slapd did not start");
	return h_slapd_uri(g_slapd);
}

struct h_slapd *
h_ls_own_slapd(unsigned sizelimit)
{
	struct h_slapd *s = h_slapd_start(H_LDIF_PEOPLE, sizelimit);

	ck_assert_msg(s != NULL, "unable to start slapd");
	return s;
}

/* ---- a struct config by hand (independent of the parser) -------------- */

void
h_ls_set(char **field, const char *value)
{
	free(*field);
	*field = NULL;
	if (value != NULL) {
		*field = strdup(value);
		ck_assert_ptr_nonnull(*field);
	}
}

struct config *
h_ls_cfg_new(const char *uri)
{
	struct config *c = calloc(1, sizeof(*c));

	ck_assert_ptr_nonnull(c);
	h_ls_set(&c->ldap.uri, uri);
	h_ls_set(&c->ldap.bind_dn, H_LDAP_SYNC_DN);
	h_ls_set(&c->ldap.bind_password, H_LDAP_SYNC_PW);
	h_ls_set(&c->ldap.search_base, H_LDAP_PEOPLE);
	h_ls_set(&c->ldap.search_filter, "(objectClass=inetOrgPerson)");
	h_ls_set(&c->ldap.disabled_filter, H_LDAP_DISABLED);
	h_ls_set(&c->ldap.login_attribute, "uid");
	h_ls_set(&c->ldap.uuid_attribute, "entryUUID");
	c->ldap.tls_require_cert = TLS_DEMAND;
	c->ldap.insecure_ldap = true; /* slapd listens on a high port */
	c->ldap.timeout = 5;
	c->ldap.page_size = 500;
	h_ls_set(&c->mapping.username, "uid");
	h_ls_set(&c->mapping.email, "mail");
	h_ls_set(&c->mapping.first_name, "givenName");
	h_ls_set(&c->mapping.last_name, "sn");
	return c;
}

void
h_ls_cfg_free(struct config *c)
{
	char **fields[] = {&c->ldap.uri,
			   &c->ldap.bind_dn,
			   &c->ldap.bind_password,
			   &c->ldap.search_base,
			   &c->ldap.search_filter,
			   &c->ldap.disabled_filter,
			   &c->ldap.login_attribute,
			   &c->ldap.uuid_attribute,
			   &c->ldap.tls_ca_file,
			   &c->ldap.expires_attribute,
			   &c->mapping.username,
			   &c->mapping.email,
			   &c->mapping.first_name,
			   &c->mapping.last_name,
			   &c->mapping.full_name};
	size_t i;

	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		free(fields[i][0]);
	free(c);
}

struct ldap_src *
h_ls_src_new(const struct config *c)
{
	struct ldap_src *src = NULL;

	ck_assert_int_eq(ldap_src_new(c, &src), FT_OK);
	ck_assert_ptr_nonnull(src);
	return src;
}

int
h_ls_lookup(struct ldap_src *src, const char *login, struct ft_user *u,
	    char *err, size_t errlen)
{
	memset(u, 0, sizeof(*u));
	err[0] = '\0';
	return ldap_src_lookup(src, login, u, err, errlen);
}

/* ---- a full read ------------------------------------------------------ */

int
h_ls_coll_user(void *ctx, struct ft_user *u)
{
	struct h_ls_coll *c = ctx;

	if (c->stop_after > 0 && c->list.n == c->stop_after)
		return -42;
	if (c->kill != NULL && c->list.n == 3)
		ck_assert_int_eq(kill(h_slapd_pid(c->kill), SIGKILL), 0);
	return ft_user_list_push(&c->list, u);
}

void
h_ls_coll_skip(void *ctx, const struct ft_user *id, const char *reason)
{
	struct h_ls_coll *c = ctx;

	c->skips++;
	snprintf(c->skip_dn, sizeof(c->skip_dn), "%s", id->dn ? id->dn : "");
	snprintf(c->skip_login, sizeof(c->skip_login), "%s",
		 id->login ? id->login : "");
	snprintf(c->skip_uuid, sizeof(c->skip_uuid), "%s",
		 id->uuid ? id->uuid : "");
	snprintf(c->skip_reason, sizeof(c->skip_reason), "%s", reason);
}

int
h_ls_search_all(struct ldap_src *src, struct h_ls_coll *c,
		struct ldap_src_stats *st)
{
	return ldap_src_search_all(src, h_ls_coll_user, h_ls_coll_skip, c, st);
}

/* ---- TLS: a certificate, a slapd that uses it ------------------------- */

void
h_ls_make_cert(const char *dir, const char *name)
{
	char key[512], crt[512], log[512];
	const char *argv[] = {"openssl",
			      "req",
			      "-x509",
			      "-newkey",
			      "ec",
			      "-pkeyopt",
			      "ec_paramgen_curve:prime256v1",
			      "-nodes",
			      "-keyout",
			      key,
			      "-out",
			      crt,
			      "-days",
			      "2",
			      "-subj",
			      "/CN=127.0.0.1",
			      "-addext",
			      "subjectAltName=IP:127.0.0.1",
			      NULL};
	int st = -1;

	snprintf(key, sizeof(key), "%s/%s.key", dir, name);
	snprintf(crt, sizeof(crt), "%s/%s.crt", dir, name);
	snprintf(log, sizeof(log), "%s/openssl-%s.log", dir, name);
	ck_assert_int_eq(h_run(argv, log, 30000, &st), FT_OK);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		      "openssl failed, see %s", log);
}

void
h_ls_enable_tls(struct h_slapd *s)
{
	const char *dir = h_slapd_dir(s);
	char path[512], *conf, *text;
	size_t len = 0;

	h_ls_make_cert(dir, "server");
	snprintf(path, sizeof(path), "%s/slapd.conf", dir);
	conf = h_read_file(path, &len);
	ck_assert_ptr_nonnull(conf);
	/* global directives: before the first line of the generated file */
	ck_assert_int_ge(asprintf(&text,
				  "TLSCertificateFile %s/server.crt\n"
				  "TLSCertificateKeyFile %s/server.key\n%s",
				  dir, dir, conf),
			 0);
	ck_assert_int_eq(h_write_file(path, text, 0600), FT_OK);
	free(text);
	free(conf);
	ck_assert_int_eq(h_slapd_restart(s), FT_OK);
}
