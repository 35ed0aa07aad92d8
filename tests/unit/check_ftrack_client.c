/* SPDX-License-Identifier: Apache-2.0 */
/* check_ftrack_client.c: calls and retries of the client, on the emulator. */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "ft_err.h"
#include "ft_user.h"
#include "ftrack_api.h"
#include "h_ftrack.h"
#include "harness.h"
#include "http.h"

Suite *ftrack_client_suite(void);

/* Seconds on the monotonic clock. */
static double
now_s(void)
{
	return (double)h_now_ms() / 1e3;
}

/* ---- authentication ----------------------------------------------------- */

START_TEST(test_server_info)
{
	char version[64] = "", err[256] = "";

	h_ft_start(NULL);
	ck_assert_int_eq(ftrack_server_info(h_ft_cl, version, sizeof(version),
					    err, sizeof(err)),
			 FT_OK);
	ck_assert_uint_gt(strlen(version), 0);
	ck_assert_uint_eq(h_ft_requests(), 1);
	h_ft_client("wrong-key", 10, 100);
	ck_assert_int_eq(ftrack_server_info(h_ft_cl, version, sizeof(version),
					    err, sizeof(err)),
			 FT_E_AUTH);
	ck_assert_ptr_nonnull(strstr(err, "InvalidCredentialsError"));
	ck_assert_ptr_null(strstr(err, "wrong-key")); /* the key never shows */
	ck_assert_uint_eq(h_ft_requests(), 1);        /* not retried */
	h_ft_stop();
}

END_TEST

START_TEST(test_unreachable)
{
	char server[256], user[64], key[64], version[64], err[256] = "";
	int port = h_free_port();
	struct config cfg;

	memset(&cfg, 0, sizeof(cfg));
	snprintf(server, sizeof(server), "http://127.0.0.1:%d", port);
	snprintf(user, sizeof(user), "%s", H_EMU_USER);
	snprintf(key, sizeof(key), "%s", H_EMU_KEY);
	cfg.ftrack.server = server;
	cfg.ftrack.api_user = user;
	cfg.ftrack.api_key = key;
	ck_assert_int_eq(ftrack_client_new(&cfg, &h_ft_cl), FT_OK);
	ftrack_client_set_retry(
		h_ft_cl, &(struct ftrack_retry){.attempts = 3, .base_ms = 10});
	ck_assert_int_eq(ftrack_server_info(h_ft_cl, version, sizeof(version),
					    err, sizeof(err)),
			 FT_E_HTTP);
	ck_assert_uint_gt(strlen(err), 0);
	ck_assert_uint_eq(h_ft_requests(), 3);
	ftrack_client_free(h_ft_cl);
	h_ft_cl = NULL;
	/* only http and https */
	snprintf(server, sizeof(server), "file:///etc");
	ck_assert_int_eq(ftrack_client_new(&cfg, &h_ft_cl), FT_OK);
	ck_assert_int_eq(ftrack_server_info(h_ft_cl, version, sizeof(version),
					    err, sizeof(err)),
			 FT_E_CONFIG);
	ftrack_client_free(h_ft_cl);
	h_ft_cl = NULL;
	/* no header injection through the user name */
	snprintf(user, sizeof(user), "a\r\nX-Evil: 1");
	ck_assert_int_eq(ftrack_client_new(&cfg, &h_ft_cl), FT_E_INVAL);
}

END_TEST

/* ---- retries ------------------------------------------------------------ */

START_TEST(test_retry_503)
{
	char version[64], err[256] = "";
	struct ftrack_stats st;

	h_ft_start(NULL);
	h_ft_fault("{\"count\":2,\"status\":503}");
	ck_assert_int_eq(ftrack_server_info(h_ft_cl, version, sizeof(version),
					    err, sizeof(err)),
			 FT_OK);
	ftrack_client_stats(h_ft_cl, &st);
	ck_assert_uint_eq(st.requests, 3);
	ck_assert_uint_eq(st.retries, 2);
	ck_assert_int_eq(h_ft_stat("requests"), 3);
	/* a 500 with an exception body is transient too */
	h_ft_fault(
		"{\"count\":1,\"status\":500,\"exception\":\"ServerError\"}");
	ck_assert_int_eq(ftrack_server_info(h_ft_cl, version, sizeof(version),
					    err, sizeof(err)),
			 FT_OK);
	ftrack_client_stats(h_ft_cl, &st);
	ck_assert_uint_eq(st.retries, 3);
	h_ft_stop();
}

END_TEST

START_TEST(test_retry_after)
{
	char version[64], err[256] = "";
	double t0, took;

	h_ft_start(NULL);
	h_ft_fault("{\"count\":1,\"status\":429,\"retry_after\":1}");
	t0 = now_s();
	ck_assert_int_eq(ftrack_server_info(h_ft_cl, version, sizeof(version),
					    err, sizeof(err)),
			 FT_OK);
	took = now_s() - t0;
	ck_assert_msg(took >= 1.0 && took < 10.0, "took %.3f s", took);
	ck_assert_uint_eq(h_ft_requests(), 2);
	h_ft_stop();
}

END_TEST

START_TEST(test_retry_dropped)
{
	const char *const names[] = {"ftrack-sync"};
	struct ft_user_list list = {NULL, 0, 0};
	char version[64], err[256] = "";

	h_ft_start(NULL);
	/* on a fresh connection, and on a kept-alive one */
	h_ft_fault("{\"count\":1,\"drop\":true}");
	ck_assert_int_eq(ftrack_server_info(h_ft_cl, version, sizeof(version),
					    err, sizeof(err)),
			 FT_OK);
	h_ft_fault("{\"count\":1,\"drop\":true}");
	ck_assert_int_eq(ftrack_users_lookup(h_ft_cl, names, 1, h_ft_none, 0,
					     &list, err, sizeof(err)),
			 FT_OK);
	ck_assert_uint_eq(list.n, 1);
	ck_assert_int_eq(h_ft_stat("faults_pending"), 0);
	ck_assert_int_ge(h_ft_stat("requests"), 2 + 2);
	ft_user_list_clear(&list);
	h_ft_stop();
}

END_TEST

START_TEST(test_timeout)
{
	char version[64], err[256] = "";
	double t0, took;

	h_ft_start(NULL);
	h_ft_client(H_EMU_KEY, 1, 100);
	ftrack_client_set_retry(
		h_ft_cl, &(struct ftrack_retry){.attempts = 3, .base_ms = 10});
	h_ft_fault("{\"count\":3,\"delay_ms\":2500}");
	t0 = now_s();
	ck_assert_int_eq(ftrack_server_info(h_ft_cl, version, sizeof(version),
					    err, sizeof(err)),
			 FT_E_HTTP);
	took = now_s() - t0;
	ck_assert_msg(took >= 2.9 && took < 8.0, "took %.3f s", took);
	ck_assert_uint_eq(h_ft_requests(), 3);
	ck_assert_ptr_nonnull(strstr(err, "timed out"));
	h_ft_stop();
}

END_TEST

START_TEST(test_stop_flag)
{
	static volatile sig_atomic_t stop_now = 1;
	char version[64], err[256] = "";

	h_ft_start(NULL);
	ftrack_client_set_stop(h_ft_cl, &stop_now);
	h_ft_fault("{\"count\":5,\"status\":503}");
	ck_assert_int_eq(ftrack_server_info(h_ft_cl, version, sizeof(version),
					    err, sizeof(err)),
			 FT_E_HTTP);
	ck_assert_uint_eq(h_ft_requests(), 1);
	h_ft_stop();
}

END_TEST

START_TEST(test_malformed_answers)
{
	char version[64], err[256] = "";
	struct ftrack_stats st;

	h_ft_start(NULL);
	/* a 200 that is not JSON: malformed, not sent again */
	h_ft_fault("{\"count\":1,\"status\":200,\"body\":\"<html>oops\"}");
	ck_assert_int_eq(ftrack_server_info(h_ft_cl, version, sizeof(version),
					    err, sizeof(err)),
			 FT_E_MALFORMED);
	ck_assert_ptr_nonnull(strstr(err, "not JSON"));
	ck_assert_uint_eq(h_ft_requests(), 1);
	/* a 500 error page: transient, sent again */
	h_ft_fault("{\"count\":1,\"status\":500}");
	ck_assert_int_eq(ftrack_server_info(h_ft_cl, version, sizeof(version),
					    err, sizeof(err)),
			 FT_OK);
	ftrack_client_stats(h_ft_cl, &st);
	ck_assert_uint_eq(st.requests, 3);
	ck_assert_uint_eq(st.retries, 1);
	h_ft_stop();
}

END_TEST

/* What server_info_in_child saw. */
struct info_result {
	int r;
	unsigned long requests;
	char err[256];
};

/* h_peak_kib_in_child: ftrack_server_info on h_ft_cl into out. */
static void
server_info_in_child(void *arg, void *out)
{
	struct info_result *res = out;
	struct ftrack_stats st;
	char version[64];

	(void)arg;
	res->r = ftrack_server_info(h_ft_cl, version, sizeof(version), res->err,
				    sizeof(res->err));
	ftrack_client_stats(h_ft_cl, &st);
	res->requests = st.requests;
}

/*
 * The answer through the client: 250 MiB of [0,0,...] gzipped to
 * about 250 KiB, as the answer to the server-information request (what
 * `check` sends first): too big, not retried, a message that says why,
 * and the call costs far less than the body (peak RSS, in a child).
 */
START_TEST(test_gzip_bomb)
{
	struct info_result res;
	char version[64], err[256];
	long grew;

	h_ft_start(NULL);
	h_ft_fault("{\"count\": 5, \"zeros\": 262144000, \"gzip\": true}");
	memset(&res, 0, sizeof(res));
	grew = h_peak_kib_in_child(server_info_in_child, NULL, &res,
				   sizeof(res));
	ck_assert_msg(res.r == FT_E_TOOBIG, "%d: %s", res.r, res.err);
	ck_assert_str_eq(res.err, "answer over the 8 MiB limit, counted "
				  "after decompression");
	ck_assert_uint_eq(res.requests, 1);
	ck_assert_msg(grew >= 0 && grew < 64 * 1024,
		      "the call grew the process by %ld KiB", grew);
	ck_assert_int_eq(h_ft_stat("faults_pending"), 4);
	/* the client (here, the parent's) still works once ftrack does */
	h_ft_fault("[]");
	ck_assert_int_eq(ftrack_server_info(h_ft_cl, version, sizeof(version),
					    err, sizeof(err)),
			 FT_OK);
	h_ft_stop();
}

END_TEST

/* The http unit: any status is a response; the body cap holds. */
START_TEST(test_http_cap)
{
	const char *q = "[{\"action\":\"query\",\"expression\":\"select id, "
			"username from User\"}]";
	struct http_opts o = {.user = H_EMU_USER,
			      .api_key = H_EMU_KEY,
			      .timeout = 5,
			      .max_body = 64};
	struct h_emu *emu = h_emu_start(NULL);
	struct http *h = NULL;
	struct http_resp resp;
	char url[256], err[256] = "";

	ck_assert_ptr_nonnull(emu);
	snprintf(url, sizeof(url), "%s/api", h_emu_url(emu));
	o.url = url;
	ck_assert_int_eq(http_new(&o, &h), FT_OK);
	ck_assert_int_eq(http_post(h, q, strlen(q), &resp, err, sizeof(err)),
			 FT_E_TOOBIG);
	http_resp_clear(&resp);
	http_free(h);
	o.max_body = 0;
	ck_assert_int_eq(http_new(&o, &h), FT_OK);
	ck_assert_int_eq(http_post(h, q, strlen(q), &resp, err, sizeof(err)),
			 FT_OK);
	ck_assert_int_eq(resp.status, 200);
	ck_assert_uint_gt(resp.len, 64);
	ck_assert_uint_eq(strlen(resp.body), resp.len);
	http_resp_clear(&resp);
	/* an error status is still a response */
	ck_assert_int_eq(http_post(h, "nope", 4, &resp, err, sizeof(err)),
			 FT_OK);
	ck_assert_int_eq(resp.status, 400);
	ck_assert_ptr_nonnull(strstr(resp.body, "ValidationError"));
	http_resp_clear(&resp);
	ck_assert_uint_eq(http_requests(h), 2);
	ck_assert_uint_eq(http_connections(h), 1);
	http_free(h);
	o.api_key = "k\nX-Injected: 1";
	ck_assert_int_eq(http_new(&o, &h), FT_E_INVAL);
	h_emu_stop(emu);
}

END_TEST

/* ---- keep-alive --------------------------------------------------------- */

/*
 * 20 rounds of server_info and a look-up that finds the API user (one
 * POST for the user, a second for its markers): one connection.
 */
START_TEST(test_keepalive)
{
	const char *const names[] = {"ftrack-sync"};
	char version[64], err[256] = "";
	struct ftrack_stats st;
	int i;

	h_ft_start(NULL);
	for (i = 0; i < 20; i++) {
		struct ft_user_list list = {NULL, 0, 0};

		ck_assert_int_eq(ftrack_server_info(h_ft_cl, version,
						    sizeof(version), err,
						    sizeof(err)),
				 FT_OK);
		ck_assert_int_eq(ftrack_users_lookup(h_ft_cl, names, 1,
						     h_ft_none, 0, &list, err,
						     sizeof(err)),
				 FT_OK);
		ck_assert_uint_eq(list.n, 1);
		ft_user_list_clear(&list);
	}
	ftrack_client_stats(h_ft_cl, &st);
	ck_assert_uint_eq(st.requests, 20 * 2 + 20);
	ck_assert_uint_eq(st.connections, 1);
	ck_assert_int_eq(h_ft_stat("api_connections"), 1);
	h_ft_stop();
}

END_TEST

Suite *
ftrack_client_suite(void)
{
	Suite *s = suite_create("ftrack_client");
	TCase *a = tcase_create("api");
	TCase *f = tcase_create("faults");

	tcase_set_timeout(a, 60);
	tcase_set_timeout(f, 60);
	tcase_add_test(a, test_server_info);
	tcase_add_test(a, test_unreachable);
	tcase_add_test(a, test_keepalive);
	tcase_add_test(f, test_retry_503);
	tcase_add_test(f, test_retry_after);
	tcase_add_test(f, test_retry_dropped);
	tcase_add_test(f, test_timeout);
	tcase_add_test(f, test_stop_flag);
	tcase_add_test(f, test_malformed_answers);
	tcase_add_test(f, test_http_cap);
	tcase_add_test(f, test_gzip_bomb);
	suite_add_tcase(s, a);
	suite_add_tcase(s, f);
	return s;
}
