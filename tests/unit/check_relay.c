/* SPDX-License-Identifier: Apache-2.0 */
/*
 * check_relay.c: the relay's forwarding thread (syncd/relay.c) driven in
 * process, no daemon: with its upstream down a queued event stays queued
 * and relay_stats shows the failed request; with an in-process
 * provisioner (syncd/prov.c) as its upstream, both units in this one
 * process, the queued event is forwarded: the relay's queue file goes,
 * the provisioner's queue file (with host=) is there.
 */
#include <check.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "ft_err.h"
#include "ft_proto.h"
#include "harness.h"
#include "prov.h"
#include "queue.h"
#include "relay.h"

Suite *relay_suite(void);

/* "alice" in hex: the name of her queue file. */
#define ALICE_FILE "queue/616c696365"

static char *dir;
static char pki[PATH_MAX], rstate[PATH_MAX];
static struct config *rcfg, *pcfg;
static struct queue *rq, *pq;
static struct relay *r;
static struct prov *p;

static void
setup(void)
{
	char path[PATH_MAX], *crl;
	size_t len;

	dir = h_tmpdir();
	ck_assert_ptr_nonnull(dir);
	H_FMT(pki, "%s/pki", dir);
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
}

static void
teardown(void)
{
	relay_free(r); /* first: it may be talking to p */
	r = NULL;
	prov_free(p);
	p = NULL;
	queue_free(rq);
	queue_free(pq);
	rq = pq = NULL;
	config_free(rcfg);
	config_free(pcfg);
	rcfg = pcfg = NULL;
	h_rmtree(dir);
	free(dir);
	dir = NULL;
}

/* The relay (config, queue holding alice's login) for upstream port. */
static void
relay_open(int port)
{
	char text[4096], conf[PATH_MAX], rdir[PATH_MAX], err[512];
	struct ft_event ev;

	H_FMT(rdir, "%s/relay", dir);
	ck_assert_int_eq(mkdir(rdir, 0700), 0);
	H_FMT(rstate, "%s/state", rdir);
	ck_assert_int_eq(mkdir(rstate, 0700), 0);
	H_FMT(conf, "%s/relay.conf", rdir);
	H_FMT(text,
	      "[daemon]\n"
	      "mode = relay\n"
	      "socket = %s/notify.sock\n"
	      "state_dir = %s\n"
	      "log_target = stderr\n"
	      "log_level = debug\n"
	      "[relay]\n"
	      "upstream = https://127.0.0.1:%d\n"
	      "tls_cert_file = %s/host1.crt\n"
	      "tls_key_file = %s/host1.key\n"
	      "tls_ca_file = %s/ca.crt\n"
	      "timeout = 5\n",
	      rdir, rstate, port, pki, pki, pki);
	ck_assert_int_eq(h_write_file(conf, text, 0600), FT_OK);
	ck_assert_msg(config_load(conf, &rcfg, err, sizeof(err)) == FT_OK,
		      "config_load: %s", err);
	ck_assert_int_eq(queue_open(rcfg->daemon.state_dir, &rq), FT_OK);
	memset(&ev, 0, sizeof(ev));
	(void)snprintf(ev.user, sizeof(ev.user), "alice");
	(void)snprintf(ev.service, sizeof(ev.service), "sshd");
	ck_assert_int_eq(queue_put(rq, &ev), FT_OK);
	ck_assert_int_eq(relay_new(rcfg, rq, &r), FT_OK);
	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(relay_start(r), FT_OK);
	relay_kick(r);
}

/* An in-process provisioner on port, its state in DIR/state. */
static void
prov_open(int port)
{
	char text[4096], err[512], *conf;

	ck_assert_int_eq(h_prov_lines(text, sizeof(text), pki, port, 0, true),
			 FT_OK);
	conf = h_write_config(dir, NULL, NULL, text);
	ck_assert_ptr_nonnull(conf);
	ck_assert_msg(config_load(conf, &pcfg, err, sizeof(err)) == FT_OK,
		      "config_load: %s", err);
	free(conf);
	ck_assert_int_eq(queue_open(pcfg->daemon.state_dir, &pq), FT_OK);
	ck_assert_msg(prov_start(pcfg, pq, &p, err, sizeof(err)) == FT_OK,
		      "prov_start: %s", err);
}

static bool
tried(void *arg)
{
	struct relay_stats st;

	(void)arg;
	relay_stats(r, &st);
	return st.requests >= 1;
}

static bool
forwarded(void *arg)
{
	struct relay_stats st;

	(void)arg;
	relay_stats(r, &st);
	return st.forwarded >= 1;
}

static bool
file_there(const char *state, const char *name)
{
	char path[PATH_MAX];
	struct stat st;

	H_FMT(path, "%s/%s", state, name);
	return stat(path, &st) == 0;
}

START_TEST(test_upstream_down_keeps_event)
{
	struct relay_stats st;
	size_t n = 0;
	int port = h_free_port();

	ck_assert_int_gt(port, 0);
	relay_open(port); /* nobody listens there */
	ck_assert_msg(h_wait_until(tried, NULL, 20000),
		      "the relay never tried its upstream");
	relay_stats(r, &st);
	ck_assert_uint_eq(st.n, 1);
	ck_assert(!st.up[0]);
	ck_assert_uint_eq(st.forwarded, 0);
	ck_assert_uint_eq(st.invalid, 0);
	ck_assert_uint_ge(st.requests, 1);
	ck_assert(file_there(rstate, ALICE_FILE));
	ck_assert_int_eq(queue_depth(rq, &n), FT_OK);
	ck_assert_uint_eq(n, 1);
}

END_TEST

START_TEST(test_forwarded_to_prov)
{
	struct relay_stats st;
	char path[PATH_MAX], *text;
	size_t len, n = 1;
	int port = h_free_port();

	ck_assert_int_gt(port, 0);
	prov_open(port);
	relay_open(port);
	ck_assert_msg(h_wait_until(forwarded, NULL, 20000),
		      "the relay never forwarded alice");
	relay_stats(r, &st);
	ck_assert_uint_eq(st.forwarded, 1);
	ck_assert_uint_eq(st.invalid, 0);
	ck_assert(st.up[0]);
	ck_assert(!file_there(rstate, ALICE_FILE));
	ck_assert_int_eq(queue_depth(rq, &n), FT_OK);
	ck_assert_uint_eq(n, 0);
	H_FMT(path, "%s/%s", pcfg->daemon.state_dir, ALICE_FILE);
	text = h_read_file(path, &len);
	ck_assert_msg(text != NULL, "no provisioner queue file %s", path);
	ck_assert_ptr_nonnull(strstr(text, "host1.ws.example.com"));
	free(text);
}

END_TEST

Suite *
relay_suite(void)
{
	Suite *s = suite_create("relay");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_upstream_down_keeps_event);
	tcase_add_test(tc, test_forwarded_to_prov);
	suite_add_tcase(s, tc);
	return s;
}
