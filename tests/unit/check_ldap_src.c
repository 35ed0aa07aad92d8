/* SPDX-License-Identifier: Apache-2.0 */
/* check_ldap_src.c: ldap_src.c: connection, bind, TLS, failover, options,
 * the message size cap. */
#include <check.h>
#include <ldap.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"
#include "ft_err.h"
#include "ft_user.h"
#include "h_ldapsrc.h"
#include "harness.h"
#include "ldap_int.h"
#include "ldap_src.h"

Suite *ldap_src_suite(void);

/* ---- connection, bind, failover ----------------------------------------- */

START_TEST(test_bind)
{
	struct config *c = h_ls_cfg_new(h_ls_shared_uri());
	struct ldap_src *src;
	char err[LDAP_SRC_REASON_MAX];
	struct ft_user u;

	h_ls_set(&c->ldap.bind_password, "wrong-secret");
	src = h_ls_src_new(c);
	ck_assert_int_eq(h_ls_lookup(src, "alice", &u, err, sizeof(err)),
			 FT_E_LDAP);
	ck_assert_msg(strstr(err, "Invalid credentials") != NULL, "%s", err);
	ck_assert_ptr_nonnull(strstr(err, H_LDAP_SYNC_DN));
	ck_assert_ptr_null(strstr(err, "wrong-secret"));
	ck_assert_int_eq(ldap_src_connect(src, err, sizeof(err)), FT_E_LDAP);
	ldap_src_free(src);
	/* anonymous */
	h_ls_set(&c->ldap.bind_dn, NULL);
	h_ls_set(&c->ldap.bind_password, NULL);
	src = h_ls_src_new(c);
	ck_assert_int_eq(ldap_src_connect(src, err, sizeof(err)), FT_OK);
	ck_assert_int_eq(h_ls_lookup(src, "alice", &u, err, sizeof(err)),
			 FT_OK);
	ck_assert_str_eq(u.username, "alice");
	ft_user_clear(&u);
	ldap_src_free(src);
	/* a bind DN without a password would be an unauthenticated bind */
	h_ls_set(&c->ldap.bind_dn, H_LDAP_SYNC_DN);
	ck_assert_int_eq(ldap_src_new(c, &src), FT_E_CONFIG);
	h_ls_set(&c->ldap.bind_password, "");
	ck_assert_int_eq(ldap_src_new(c, &src), FT_E_CONFIG);
	/* a mapping that does not compile */
	h_ls_set(&c->ldap.bind_password, H_LDAP_SYNC_PW);
	h_ls_set(&c->mapping.email, "{uid|upper}");
	ck_assert_int_eq(ldap_src_new(c, &src), FT_E_CONFIG);
	h_ls_cfg_free(c);
}

END_TEST

START_TEST(test_failover)
{
	char uri[300];
	struct config *c;
	struct ldap_src *src;
	char err[LDAP_SRC_REASON_MAX];
	struct ft_user u;
	int port = h_free_port();

	ck_assert_int_gt(port, 0);
	snprintf(uri, sizeof(uri), "ldap://127.0.0.1:%d %s", port,
		 h_ls_shared_uri());
	c = h_ls_cfg_new(uri);
	src = h_ls_src_new(c);
	ck_assert_msg(h_ls_lookup(src, "alice", &u, err, sizeof(err)) == FT_OK,
		      "%s", err);
	ck_assert_str_eq(u.username, "alice");
	ft_user_clear(&u);
	ldap_src_free(src);
	/* nothing listening anywhere: down, quickly */
	snprintf(uri, sizeof(uri), "ldap://127.0.0.1:%d ldap://127.0.0.1:1",
		 port);
	h_ls_set(&c->ldap.uri, uri);
	src = h_ls_src_new(c);
	ck_assert_int_eq(h_ls_lookup(src, "alice", &u, err, sizeof(err)),
			 FT_E_LDAP_DOWN);
	ck_assert_msg(strstr(err, "Can't contact LDAP server") != NULL, "%s",
		      err);
	ldap_src_free(src);
	h_ls_cfg_free(c);
}

END_TEST

START_TEST(test_starttls_unavailable)
{
	struct config *c = h_ls_cfg_new(h_ls_shared_uri());
	struct ldap_src *src;
	char err[LDAP_SRC_REASON_MAX];
	struct ft_user u;

	c->ldap.start_tls = true;
	src = h_ls_src_new(c);
	ck_assert_int_eq(h_ls_lookup(src, "alice", &u, err, sizeof(err)),
			 FT_E_LDAP);
	ck_assert_msg(strstr(err, "StartTLS") != NULL, "%s", err);
	ck_assert_ptr_null(u.username);
	ck_assert_int_eq(ldap_src_connect(src, err, sizeof(err)), FT_E_LDAP);
	ldap_src_free(src);
	h_ls_cfg_free(c);
}

END_TEST

/* ---- the transport rule: no password over plain ldap:// ----------------- */

/* The StartTLS extended operation's OID (RFC 4511 4.14.1). */
#define STARTTLS_OID "1.3.6.1.4.1.1466.20037"

static bool
has(const char *buf, long n, const char *s)
{
	return n > 0 && memmem(buf, (size_t)n, s, strlen(s)) != NULL;
}

START_TEST(test_no_password_in_clear)
{
	char uri[64], got[4096], err[LDAP_SRC_REASON_MAX];
	struct ldap_src_stats st;
	struct h_ls_coll k = {0};
	struct ldap_src *src;
	struct config *c;
	struct ft_user u;
	int port, lfd = h_tcp_listen(&port);
	long n;

	/* a listening socket nobody serves records what a client sends */
	ck_assert_int_ge(lfd, 0);
	snprintf(uri, sizeof(uri), "ldap://127.0.0.1:%d", port);
	c = h_ls_cfg_new(uri);
	c->ldap.timeout = 1;
	/* refused (a config made by hand, past config_load): no connection */
	c->ldap.insecure_ldap = false;
	src = h_ls_src_new(c);
	ck_assert_int_eq(ldap_src_connect(src, err, sizeof(err)), FT_E_CONFIG);
	ck_assert_msg(strstr(err, "refusing to bind as '" H_LDAP_SYNC_DN "'") !=
				      NULL &&
			      strstr(err, uri) != NULL,
		      "%s", err);
	ck_assert_ptr_null(strstr(err, H_LDAP_SYNC_PW));
	ck_assert_int_eq(h_ls_lookup(src, "alice", &u, err, sizeof(err)),
			 FT_E_CONFIG);
	ck_assert_int_eq(h_ls_search_all(src, &k, &st), FT_E_CONFIG);
	ck_assert_ptr_nonnull(strstr(st.reason, "refusing to bind"));
	ldap_src_free(src);
	ck_assert_int_eq(h_tcp_take(lfd, got, sizeof(got), 300), -1);
	/* start_tls: allowed, and StartTLS goes first, never the password */
	c->ldap.start_tls = true;
	src = h_ls_src_new(c);
	ck_assert_int_ne(ldap_src_connect(src, err, sizeof(err)), FT_OK);
	ldap_src_free(src);
	n = h_tcp_take(lfd, got, sizeof(got), 3000);
	ck_assert_msg(has(got, n, STARTTLS_OID), "%ld bytes", n);
	ck_assert(!has(got, n, H_LDAP_SYNC_PW));
	/* the recorder works: insecure_ldap sends the password as it is */
	c->ldap.start_tls = false;
	c->ldap.insecure_ldap = true;
	src = h_ls_src_new(c);
	ck_assert_int_ne(ldap_src_connect(src, err, sizeof(err)), FT_OK);
	ldap_src_free(src);
	n = h_tcp_take(lfd, got, sizeof(got), 3000);
	ck_assert_msg(has(got, n, H_LDAP_SYNC_PW), "%ld bytes", n);
	ck_assert(has(got, n, H_LDAP_SYNC_DN));
	/* anonymous over plain ldap://: no password, so no refusal */
	c->ldap.insecure_ldap = false;
	h_ls_set(&c->ldap.bind_dn, NULL);
	h_ls_set(&c->ldap.bind_password, NULL);
	src = h_ls_src_new(c);
	ck_assert_int_ne(ldap_src_connect(src, err, sizeof(err)), FT_E_CONFIG);
	ldap_src_free(src);
	ck_assert_int_ge(h_tcp_take(lfd, got, sizeof(got), 3000), 0);
	(void)close(lfd);
	h_ls_cfg_free(c);
}

END_TEST

/* ---- faults: each test has its own slapd --------------------------------- */

static bool
slapd_gone(void *arg)
{
	return h_ldap_bind(h_slapd_uri(arg), NULL, NULL) == LDAP_SERVER_DOWN;
}

START_TEST(test_server_down_and_back)
{
	struct h_slapd *s = h_ls_own_slapd(0);
	struct config *c = h_ls_cfg_new(h_slapd_uri(s));
	struct ldap_src *src = h_ls_src_new(c);
	struct ldap_src_stats st;
	struct h_ls_coll k = {0};
	char err[LDAP_SRC_REASON_MAX];
	struct ft_user u;

	ck_assert_int_eq(h_ls_lookup(src, "alice", &u, err, sizeof(err)),
			 FT_OK);
	ft_user_clear(&u);
	ck_assert_int_eq(kill(h_slapd_pid(s), SIGTERM), 0);
	ck_assert(h_wait_until(slapd_gone, s, 10000));
	ck_assert_int_eq(h_ls_lookup(src, "alice", &u, err, sizeof(err)),
			 FT_E_LDAP_DOWN);
	ck_assert_int_eq(h_ls_lookup(src, "alice", &u, err, sizeof(err)),
			 FT_E_LDAP_DOWN);
	ck_assert_int_eq(h_ls_search_all(src, &k, &st), FT_E_LDAP_DOWN);
	ck_assert_str_ne(st.reason, "");
	ck_assert_int_eq(h_slapd_restart(s), FT_OK);
	/* the same source reconnects by itself */
	ck_assert_msg(h_ls_lookup(src, "alice", &u, err, sizeof(err)) == FT_OK,
		      "%s", err);
	ck_assert_str_eq(u.username, "alice");
	ft_user_clear(&u);
	/* a kept connection that the server dropped is made again */
	ck_assert_int_eq(h_slapd_restart(s), FT_OK);
	ck_assert_msg(h_ls_lookup(src, "bob", &u, err, sizeof(err)) == FT_OK,
		      "%s", err);
	ft_user_clear(&u);
	ck_assert_int_eq(h_slapd_restart(s), FT_OK);
	ck_assert_msg(h_ls_search_all(src, &k, &st) == FT_OK, "%s", st.reason);
	ck_assert_uint_eq(k.list.n, H_LDAP_NPEOPLE);
	ft_user_list_clear(&k.list);
	ldap_src_free(src);
	h_ls_cfg_free(c);
	h_slapd_stop(s);
}

END_TEST

START_TEST(test_paused)
{
	struct h_slapd *s = h_ls_own_slapd(0);
	struct config *c = h_ls_cfg_new(h_slapd_uri(s));
	struct ldap_src *src, *fresh;
	struct ldap_src_stats st;
	struct h_ls_coll k = {0};
	char err[LDAP_SRC_REASON_MAX];
	struct ft_user u;
	long long t0;

	c->ldap.timeout = 1;
	src = h_ls_src_new(c);
	fresh = h_ls_src_new(c);
	ck_assert_int_eq(h_ls_lookup(src, "alice", &u, err, sizeof(err)),
			 FT_OK);
	ft_user_clear(&u);
	ck_assert_int_eq(h_slapd_pause(s), FT_OK);
	t0 = h_now_ms();
	ck_assert_int_eq(h_ls_lookup(src, "alice", &u, err, sizeof(err)),
			 FT_E_LDAP_DOWN);
	ck_assert_int_eq(h_ls_lookup(fresh, "alice", &u, err, sizeof(err)),
			 FT_E_LDAP_DOWN);
	ck_assert_int_eq(h_ls_search_all(src, &k, &st), FT_E_LDAP_DOWN);
	/* three calls of about 1 s each; generous bound */
	ck_assert_msg(h_now_ms() - t0 < 12000, "took %lld ms", h_now_ms() - t0);
	ck_assert_int_eq(h_slapd_resume(s), FT_OK);
	ck_assert_msg(h_ls_lookup(src, "alice", &u, err, sizeof(err)) == FT_OK,
		      "%s", err);
	ft_user_clear(&u);
	ldap_src_free(fresh);
	ldap_src_free(src);
	h_ls_cfg_free(c);
	h_slapd_stop(s);
}

END_TEST

/* ---- TLS: a slapd with a generated certificate ------------------------- */

/* ---- TLS: a slapd with a generated certificate ------------------------- */

static int
tls_lookup(struct config *c, const char *ca, enum tls_require req, char *err,
	   size_t errlen)
{
	struct ldap_src *src;
	struct ft_user u;
	int r;

	h_ls_set(&c->ldap.tls_ca_file, ca);
	c->ldap.tls_require_cert = req;
	src = h_ls_src_new(c);
	r = h_ls_lookup(src, "alice", &u, err, errlen);
	if (r == FT_OK)
		ck_assert_str_eq(u.username, "alice");
	ft_user_clear(&u);
	ldap_src_free(src);
	return r;
}

START_TEST(test_starttls_ca)
{
	struct h_slapd *s = h_ls_own_slapd(0);
	struct config *c = h_ls_cfg_new(h_slapd_uri(s));
	char right[512], wrong[512], err[LDAP_SRC_REASON_MAX];

	h_ls_enable_tls(s);
	h_ls_make_cert(h_slapd_dir(s), "other");
	snprintf(right, sizeof(right), "%s/server.crt", h_slapd_dir(s));
	snprintf(wrong, sizeof(wrong), "%s/other.crt", h_slapd_dir(s));
	c->ldap.start_tls = true;
	/* the right CA: TLS works, so the failures below are the CA's */
	ck_assert_msg(tls_lookup(c, right, TLS_DEMAND, err, sizeof(err)) ==
			      FT_OK,
		      "%s", err);
	/* a wrong CA is refused, with no plaintext fallback */
	ck_assert_int_eq(tls_lookup(c, wrong, TLS_DEMAND, err, sizeof(err)),
			 FT_E_LDAP);
	ck_assert_msg(strstr(err, "StartTLS") != NULL, "%s", err);
	/* so is the system's CA list, which does not know this one */
	ck_assert_int_eq(tls_lookup(c, NULL, TLS_DEMAND, err, sizeof(err)),
			 FT_E_LDAP);
	/* each handle has its own context: right again after wrong */
	ck_assert_msg(tls_lookup(c, right, TLS_DEMAND, err, sizeof(err)) ==
			      FT_OK,
		      "%s", err);
	/* tls_require_cert reaches the handle: never accepts anything */
	ck_assert_msg(tls_lookup(c, wrong, TLS_NEVER, err, sizeof(err)) ==
			      FT_OK,
		      "%s", err);
	/* a CA file that does not exist is an error, not a fallback */
	ck_assert_int_eq(tls_lookup(c, "/nonexistent/ca.pem", TLS_DEMAND, err,
				    sizeof(err)),
			 FT_E_LDAP);
	/* plain LDAP still works on the same server without StartTLS */
	c->ldap.start_tls = false;
	ck_assert_int_eq(tls_lookup(c, NULL, TLS_DEMAND, err, sizeof(err)),
			 FT_OK);
	h_ls_cfg_free(c);
	h_slapd_stop(s);
}

END_TEST

/* ---- the size of one LDAP message ---------------------------------------- */

/* Append the BER length n (long form, 4 bytes) at p; returns 5. */
static size_t
ber_len4(unsigned char *p, size_t n)
{
	p[0] = 0x84;
	p[1] = (unsigned char)(n >> 24);
	p[2] = (unsigned char)(n >> 16);
	p[3] = (unsigned char)(n >> 8);
	p[4] = (unsigned char)n;
	return 5;
}

/*
 * A BindResponse (success) to message id whose matchedDN is dn_len bytes
 * of 'a', into *ret (caller frees); returns its length.  The LDAPMessage
 * is 20 bytes longer than dn_len.
 */
static size_t
big_bind_response(unsigned char id, size_t dn_len, unsigned char **ret)
{
	size_t op_len = 3 + 5 + 1 + dn_len + 2, msg_len = 3 + 5 + 1 + op_len;
	unsigned char *m = malloc(msg_len + 6), *p = m;

	ck_assert_ptr_nonnull(m);
	*p++ = 0x30; /* LDAPMessage */
	p += ber_len4(p, msg_len);
	*p++ = 0x02; /* messageID */
	*p++ = 0x01;
	*p++ = id;
	*p++ = 0x61; /* [APPLICATION 1] BindResponse */
	p += ber_len4(p, op_len);
	*p++ = 0x0a; /* resultCode: success */
	*p++ = 0x01;
	*p++ = 0x00;
	*p++ = 0x04; /* matchedDN */
	p += ber_len4(p, dn_len);
	memset(p, 'a', dn_len);
	p += dn_len;
	*p++ = 0x04; /* diagnosticMessage: "" */
	*p++ = 0x00;
	*ret = m;
	return (size_t)(p - m);
}

/* Read one BER element (short or long length) of fd; its 3rd..5th bytes
 * are the message id of an LDAP request.  Returns the id, or -1. */
static int
read_request_id(int fd)
{
	unsigned char head[6], skip[4096];
	size_t len = 0, i, n;
	ssize_t k;

	if (recv(fd, head, 2, MSG_WAITALL) != 2 || head[0] != 0x30)
		return -1;
	n = head[1] & 0x80 ? head[1] & 0x7f : 0;
	len = n ? 0 : head[1];
	if (n > 4 || (n && recv(fd, head + 2, n, MSG_WAITALL) != (ssize_t)n))
		return -1;
	for (i = 0; i < n; i++)
		len = len << 8 | head[2 + i];
	if (len < 3 || recv(fd, skip, 3, MSG_WAITALL) != 3 || skip[0] != 2)
		return -1;
	i = skip[2];
	for (len -= 3; len > 0; len -= (size_t)k) {
		k = recv(fd, skip, len < sizeof(skip) ? len : sizeof(skip), 0);
		if (k <= 0)
			return -1;
	}
	return (int)i;
}

/* The server child: answer every bind on lfd with a dn_len matchedDN. */
FT_NORETURN static void
big_answer_server(int lfd, size_t dn_len)
{
	unsigned char *m;
	size_t len;
	int c, id;
	char buf[256];

	(void)signal(SIGPIPE, SIG_IGN);
	for (;;) {
		c = accept(lfd, NULL, NULL);
		if (c < 0)
			continue;
		id = read_request_id(c);
		if (id >= 0) {
			len = big_bind_response((unsigned char)id, dn_len, &m);
			(void)h_write_all(c, (const char *)m, len);
			free(m);
		}
		while (read(c, buf, sizeof(buf)) > 0)
			; /* until the client hangs up */
		(void)close(c);
	}
}

/* Bind through a server whose BindResponse is dn_len + 20 bytes. */
static int
bind_big_answer(size_t dn_len, char *err, size_t errlen)
{
	char uri[64];
	struct config *c;
	struct ldap_src *src;
	int port, lfd = h_tcp_listen(&port), r, st;
	pid_t pid;

	ck_assert_int_ge(lfd, 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
		big_answer_server(lfd, dn_len);
	}
	(void)close(lfd);
	snprintf(uri, sizeof(uri), "ldap://127.0.0.1:%d", port);
	c = h_ls_cfg_new(uri);
	src = h_ls_src_new(c);
	r = ldap_src_connect(src, err, errlen);
	ldap_src_free(src);
	h_ls_cfg_free(c);
	ck_assert_int_eq(kill(pid, SIGKILL), 0);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	return r;
}

/*
 * Every LDAP message is capped (LDAP_SRC_PDU_MAX, set on the connection
 * before it is made): libldap refuses one whose announced length is over
 * it before reading or allocating it, so a directory (or what poses as
 * one) cannot make the daemon hold a message of any size.  The same
 * server with a message just under the cap is bound through.
 */
START_TEST(test_pdu_cap)
{
	char err[LDAP_SRC_REASON_MAX];
	int r;

	r = bind_big_answer(LDAP_SRC_PDU_MAX - 20, err, sizeof(err));
	ck_assert_msg(r == FT_OK, "%d: %s", r, err);
	r = bind_big_answer(LDAP_SRC_PDU_MAX - 19, err, sizeof(err));
	ck_assert_msg(r == FT_E_LDAP_DOWN, "%d: %s", r, err);
	ck_assert_str_ne(err, "");
}

END_TEST

/*
 * A reason keeps the server's or the entry's text as it is (cut to the
 * buffer): the one cleaner escapes it where it is shown, the log and every
 * command's output, instead of turning controls into '?' here (which hid
 * what they were, and let C1 controls and bidi overrides through).
 */
START_TEST(test_reason_text_kept)
{
	char buf[32];

	lsrc_msg(buf, sizeof(buf), "entry '%s': %s", "uid=a\x1b[2J",
		 "b\xc2\x9b\xe2\x80\xae");
	ck_assert_str_eq(buf, "entry 'uid=a\x1b[2J': b\xc2\x9b\xe2\x80\xae");
	lsrc_msg(buf, 8, "%s", "0123456789");
	ck_assert_str_eq(buf, "0123456");
}

END_TEST

Suite *
ldap_src_suite(void)
{
	Suite *s = suite_create("ldap_src");
	TCase *tc = tcase_create("shared");
	TCase *tf = tcase_create("faults");

	tcase_add_unchecked_fixture(tc, h_ls_shared_setup,
				    h_ls_shared_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_bind);
	tcase_add_test(tc, test_failover);
	tcase_add_test(tc, test_starttls_unavailable);
	tcase_add_test(tc, test_no_password_in_clear);
	tcase_add_test(tc, test_reason_text_kept);
	suite_add_tcase(s, tc);
	tcase_set_timeout(tf, 60);
	tcase_add_test(tf, test_server_down_and_back);
	tcase_add_test(tf, test_paused);
	tcase_add_test(tf, test_starttls_ca);
	tcase_add_test(tf, test_pdu_cap);
	suite_add_tcase(s, tf);
	return s;
}
