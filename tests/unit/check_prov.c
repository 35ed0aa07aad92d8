/* SPDX-License-Identifier: Apache-2.0 */
/*
 * check_prov.c: the provisioner's HTTPS intake (syncd/prov.c) driven in
 * process, no daemon: prov_start with a config and a queue in a temp
 * state dir and the throwaway PKI of tests/lib/ca.sh; a good POST with a
 * host certificate is 202 and journals the login with host=; /v1/health
 * without a certificate is 200; /v1/logins without one is 403;
 * prov_free stops it (the port refuses afterwards).
 */
#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "ft_err.h"
#include "harness.h"
#include "prov.h"
#include "queue.h"

Suite *prov_suite(void);

static char *dir;
static char pki[PATH_MAX], state[PATH_MAX];
static int port;
static struct config *cfg;
static struct queue *q;
static struct prov *p;

static void
setup(void)
{
	char text[4096], path[PATH_MAX], err[512], *conf, *crl;
	size_t len;

	dir = h_tmpdir();
	ck_assert_ptr_nonnull(dir);
	H_FMT(pki, "%s/pki", dir);
	H_FMT(state, "%s/state", dir);
	ck_assert_int_eq(mkdir(pki, 0700), 0);
	ck_assert_int_eq(h_ca_make(pki), FT_OK);
	H_FMT(path, "%s/crl-empty.pem", pki);
	crl = h_read_file(path, &len);
	ck_assert_ptr_nonnull(crl);
	H_FMT(path, "%s/crl.pem", pki);
	ck_assert_int_eq(h_write_file(path, crl, 0644), FT_OK);
	free(crl);
	H_FMT(path, "%s/denied", pki);
	ck_assert_int_eq(h_write_file(path, "# none yet\n", 0644), FT_OK);
	port = h_free_port();
	ck_assert_int_gt(port, 0);
	ck_assert_int_eq(h_prov_lines(text, sizeof(text), pki, port, 0, true),
			 FT_OK);
	conf = h_write_config(dir, NULL, NULL, text);
	ck_assert_ptr_nonnull(conf);
	ck_assert_msg(config_load(conf, &cfg, err, sizeof(err)) == FT_OK,
		      "config_load: %s", err);
	free(conf);
	ck_assert_int_eq(queue_open(cfg->daemon.state_dir, &q), FT_OK);
	ck_assert_msg(prov_start(cfg, q, &p, err, sizeof(err)) == FT_OK,
		      "prov_start: %s", err);
	ck_assert_ptr_nonnull(p);
}

static void
teardown(void)
{
	prov_free(p);
	p = NULL;
	queue_free(q);
	q = NULL;
	config_free(cfg);
	cfg = NULL;
	h_rmtree(dir);
	free(dir);
	dir = NULL;
}

/* A request to path as client (a PKI name, NULL: no certificate). */
static long
request(const char *client, const char *path, const char *body,
	struct h_https_resp *resp)
{
	char url[256], ca[PATH_MAX], cert[PATH_MAX], key[PATH_MAX];
	struct h_https_req rq = {.url = url, .ca = ca};

	H_FMT(url, "https://127.0.0.1:%d%s", port, path);
	H_FMT(ca, "%s/ca.crt", pki);
	if (body != NULL) {
		rq.content_type = "application/json";
		rq.body = body;
		rq.len = strlen(body);
	}
	if (client != NULL) {
		H_FMT(cert, "%s/%s.crt", pki, client);
		H_FMT(key, "%s/%s.key", pki, client);
		rq.cert = cert;
		rq.key = key;
	}
	ck_assert_int_eq(h_https(&rq, resp), FT_OK);
	return resp->status;
}

#define BODY "{\"events\": [{\"user\": \"alice\", \"service\": \"sshd\"}]}"

START_TEST(test_post_journals_host)
{
	static struct h_https_resp r;
	char path[PATH_MAX], *text;
	size_t len;

	ck_assert_int_eq(request("host1", "/v1/logins", BODY, &r), 202);
	ck_assert_ptr_nonnull(strstr(r.body, "results"));
	/* the queue file of "alice" (hex 616c696365), with the host */
	H_FMT(path, "%s/queue/616c696365", cfg->daemon.state_dir);
	text = h_read_file(path, &len);
	ck_assert_msg(text != NULL, "no queue file %s", path);
	ck_assert_ptr_nonnull(strstr(text, "host="));
	ck_assert_ptr_nonnull(strstr(text, "host1.ws.example.com"));
	free(text);
}

END_TEST

START_TEST(test_health_no_cert)
{
	static struct h_https_resp r;

	ck_assert_int_eq(request(NULL, "/v1/health", NULL, &r), 200);
}

END_TEST

START_TEST(test_logins_no_cert)
{
	static struct h_https_resp r;
	size_t n = 1;

	ck_assert_int_eq(request(NULL, "/v1/logins", BODY, &r), 403);
	ck_assert_int_eq(queue_depth(q, &n), FT_OK);
	ck_assert_uint_eq(n, 0);
}

END_TEST

START_TEST(test_free_stops)
{
	ck_assert(h_tcp_port_open(&port));
	prov_free(p);
	p = NULL;
	ck_assert(!h_tcp_port_open(&port));
}

END_TEST

Suite *
prov_suite(void)
{
	Suite *s = suite_create("prov");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_post_journals_host);
	tcase_add_test(tc, test_health_no_cert);
	tcase_add_test(tc, test_logins_no_cert);
	tcase_add_test(tc, test_free_stops);
	suite_add_tcase(s, tc);
	return s;
}
