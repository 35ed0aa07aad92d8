/* SPDX-License-Identifier: Apache-2.0 */
/*
 * check_provisioner.c: suite 'provisioner': `ftrack-syncd run` with
 * [daemon] mode = provisioner as a real process (syncd/prov.c) against
 * the real slapd and the ftrack emulator, and relays played by libcurl
 * with the client certificates of a throwaway PKI (tests/lib/ca.sh): a
 * good POST journals the login with host= and the worker provisions it;
 * every refusal (no certificate, another CA, expired, a host not
 * allowed, a wildcard, deny_file and a revoked certificate after SIGHUP,
 * too large, not JSON, 101 events, a wrong path or method) gets its
 * status, provisions nothing and is logged with its reason; /v1/health
 * without a certificate; one host's flood is 429 while another's go
 * through; /metrics answers, with events counted by host class (the
 * allow_hosts glob) and refusals by reason.
 */
#include <check.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ft_err.h"
#include "harness.h"

Suite *provisioner_suite(void);

#define LOGIN_BODY(u)                                                          \
	"{\"events\": [{\"user\": \"" u "\", \"service\": \"sshd\"}]}"

static char pki[PATH_MAX];
static int port, mport;

static void
pki_path(char *buf, size_t cap, const char *name)
{
	h_fx_fmt(buf, cap, "%s/%s", pki, name);
}

/* The provisioner's config: mode, listen, the PKI; then extra. */
static void
prov_config(const char *extra)
{
	char lines[4 * PATH_MAX];
	char text[4096];

	port = h_free_port();
	mport = h_free_port();
	ck_assert_int_gt(port, 0);
	ck_assert_int_gt(mport, 0);
	ck_assert_int_eq(
		h_prov_lines(lines, sizeof(lines), pki, port, mport, true),
		FT_OK);
	h_fx_fmt(text, sizeof(text), "%s%s", lines, extra != NULL ? extra : "");
	h_fx_config(text);
}

static void
setup_pki(void)
{
	char path[PATH_MAX], *crl;
	size_t len;

	h_fx_fmt(pki, sizeof(pki), "%s/pki", h_fx.dir);
	ck_assert_int_eq(mkdir(pki, 0700), 0);
	ck_assert_int_eq(h_ca_make(pki), FT_OK);
	pki_path(path, sizeof(path), "crl-empty.pem");
	crl = h_read_file(path, &len);
	ck_assert_ptr_nonnull(crl);
	pki_path(path, sizeof(path), "crl.pem");
	ck_assert_int_eq(h_write_file(path, crl, 0644), FT_OK);
	free(crl);
	pki_path(path, sizeof(path), "denied");
	ck_assert_int_eq(h_write_file(path, "# none yet\n", 0644), FT_OK);
}

/* A request to path as client (a PKI name, NULL: no certificate). */
static long
request(const char *client, const char *method, const char *path,
	const char *type, const char *body, size_t len,
	struct h_https_resp *resp)
{
	char url[256], ca[PATH_MAX], cert[PATH_MAX], key[PATH_MAX];
	struct h_https_req rq = {.url = url,
				 .method = method,
				 .ca = ca,
				 .content_type = type,
				 .body = body,
				 .len = len};

	h_fx_fmt(url, sizeof(url), "https://127.0.0.1:%d%s", port, path);
	pki_path(ca, sizeof(ca), "ca.crt");
	if (client != NULL) {
		h_fx_fmt(cert, sizeof(cert), "%s/%s.crt", pki, client);
		h_fx_fmt(key, sizeof(key), "%s/%s.key", pki, client);
		rq.cert = cert;
		rq.key = key;
	}
	ck_assert_int_eq(h_https(&rq, resp), FT_OK);
	return resp->status;
}

static long
post(const char *client, const char *body, struct h_https_resp *resp)
{
	return request(client, NULL, "/v1/logins", "application/json", body,
		       strlen(body), resp);
}

static bool
health_up(void *arg)
{
	struct h_https_resp *r = arg;

	if (h_fx_daemon_exited())
		return true;
	return request(NULL, NULL, "/v1/health", NULL, NULL, 0, r) == 200;
}

static void
start(const char *extra)
{
	struct h_https_resp *r = malloc(sizeof(*r));

	ck_assert_ptr_nonnull(r);
	setup_pki();
	prov_config(extra);
	h_fx_daemon_start();
	h_fx_wait_or_fail(health_up, r, "the provisioner's /v1/health");
	ck_assert(!h_fx_daemon_exited());
	ck_assert_str_eq(r->body, "{}");
	free(r);
}

static void
wait_log(const char *text)
{
	char copy[512];

	h_fx_fmt(copy, sizeof(copy), "%s", text);
	h_fx_wait_or_fail(h_fx_log_has, copy, text);
}

/* ---- a good login ------------------------------------------------------ */

START_TEST(test_login_through_provisioner)
{
	struct h_https_resp *r = malloc(sizeof(*r));
	char url[128];

	ck_assert_ptr_nonnull(r);
	start(NULL);
	ck_assert_int_eq(post("host1",
			      "{\"events\": [{\"user\": \"alice\", "
			      "\"service\": \"sshd\", \"time\": "
			      "\"2026-12-03T09:00:00Z\", \"host\": "
			      "\"forged.example.com\", \"future\": 1}, "
			      "{\"user\": \"\"}, {\"user\": 7}]}",
			      r),
			 202);
	ck_assert_ptr_nonnull(strstr(r->body, "\"accepted\""));
	ck_assert_ptr_nonnull(strstr(r->body, "\"invalid: an empty user\""));
	ck_assert_ptr_nonnull(strstr(r->body, "\"invalid: not a string\""));
	h_fx_wait_provisioned("alice");
	h_fx_assert_user("alice", "Alice", "Archer", "alice@example.com");
	h_fx_assert_once("alice");
	ck_assert_int_eq(h_emu_people(h_fx_emu), 1);
	wait_log("login of 'alice' (service 'sshd') accepted from host "
		 "'host1.ws.example.com'");
	ck_assert_int_eq(h_file_count(h_fx.log, "forged.example.com"), 0);
	/* health needs no certificate; another path with none is 404 */
	ck_assert_int_eq(request(NULL, NULL, "/v1/health", NULL, NULL, 0, r),
			 200);
	/* /metrics, plain HTTP on metrics_listen */
	h_fx_fmt(url, sizeof(url), "http://127.0.0.1:%d/metrics", mport);
	{
		struct h_https_req rq = {.url = url};

		ck_assert_int_eq(h_https(&rq, r), FT_OK);
	}
	ck_assert_int_eq(r->status, 200);
	ck_assert_ptr_nonnull(strstr(r->body,
				     "ftrack_syncd_prov_events_total{result="
				     "\"accepted\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(r->body,
				     "ftrack_syncd_prov_events_total{result="
				     "\"invalid\"} 2\n"));
	h_fx_daemon_stop();
	free(r);
}

END_TEST

/* The journal file has host= from the certificate, not from the body. */
START_TEST(test_journal_has_host)
{
	struct h_https_resp *r = malloc(sizeof(*r));
	char path[PATH_MAX], *text;
	size_t len;

	ck_assert_ptr_nonnull(r);
	/* no LDAP: the login stays in queue/ and can be read there */
	start("ldap.uri = ldap://127.0.0.1:1\n");
	ck_assert_int_eq(post("host2",
			      "{\"events\": [{\"user\": \"bob\", \"host\": "
			      "\"forged.example.com\"}]}",
			      r),
			 202);
	ck_assert_str_eq(r->body, "{\"results\":[\"accepted\"]}");
	h_fx_fmt(path, sizeof(path), "%s/queue/626f62", h_fx.state);
	text = h_read_file(path, &len);
	ck_assert_ptr_nonnull(text);
	ck_assert_str_eq(text,
			 "FTSYNC1\nuser=bob\nhost=host2.ws.example.com\n");
	free(text);
	h_fx_daemon_stop();
	free(r);
}

END_TEST

/* ---- refusals ------------------------------------------------------------ */

struct refusal {
	const char *client, *method, *path, *type, *body;
	long status;
	const char *reason;
};

static char big_body[70000], many_body[8192];

static void
make_bodies(void)
{
	size_t n = 0, i;

	memset(big_body, ' ', sizeof(big_body) - 1);
	big_body[sizeof(big_body) - 1] = '\0';
	memcpy(big_body, "{\"events\": []", 13);
	big_body[sizeof(big_body) - 2] = '}';
	n = (size_t)snprintf(many_body, sizeof(many_body), "{\"events\": [");
	for (i = 0; i < 101; i++)
		n += (size_t)snprintf(many_body + n, sizeof(many_body) - n,
				      "%s{\"user\": \"alice\"}",
				      i > 0 ? ", " : "");
	(void)snprintf(many_body + n, sizeof(many_body) - n, "]}");
}

START_TEST(test_refusals)
{
	static const struct refusal cases[] = {
		{NULL, NULL, "/v1/logins", "application/json",
		 LOGIN_BODY("alice"), 403, "no_certificate"},
		{"other", NULL, "/v1/logins", "application/json",
		 LOGIN_BODY("alice"), 403, "untrusted (host 'host9"},
		{"expired", NULL, "/v1/logins", "application/json",
		 LOGIN_BODY("alice"), 403, "expired (host 'host7"},
		{"outside", NULL, "/v1/logins", "application/json",
		 LOGIN_BODY("alice"), 403, "not_allowed (host 'evil"},
		{"wild", NULL, "/v1/logins", "application/json",
		 LOGIN_BODY("alice"), 403, "wildcard"},
		{"host1", NULL, "/v1/logins", "application/json", big_body, 413,
		 "too_large (host 'host1"},
		{"host1", NULL, "/v1/logins", "application/json", many_body,
		 413, "too_large (host 'host1"},
		{"host1", NULL, "/v1/logins", "application/json",
		 "{\"events\": [{\"user\": \"alice\"}", 400,
		 "bad_request (host 'host1"},
		{"host1", NULL, "/v1/logins", "text/plain", LOGIN_BODY("alice"),
		 400, "bad_request (host 'host1"},
		{"host1", NULL, "/v2/logins", "application/json",
		 LOGIN_BODY("alice"), 404, "not_found"},
		{"host1", "PUT", "/v1/logins", "application/json",
		 LOGIN_BODY("alice"), 405, "method (host 'host1"},
	};
	struct h_https_resp *r = malloc(sizeof(*r));
	char text[256];
	size_t i;

	ck_assert_ptr_nonnull(r);
	make_bodies();
	start(NULL);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct refusal *c = &cases[i];
		long st = request(c->client, c->method, c->path, c->type,
				  c->body, strlen(c->body), r);

		ck_assert_msg(st == c->status, "case %zu (%s): %ld, not %ld", i,
			      c->reason, st, c->status);
		h_fx_fmt(text, sizeof(text), "refused: %s", c->reason);
		wait_log(text);
	}
	/* a chunked body (no Content-Length) over the limit: 413 too */
	{
		char url[128], ca[PATH_MAX], cert[PATH_MAX], key[PATH_MAX];
		struct h_https_req rq = {.url = url,
					 .ca = ca,
					 .cert = cert,
					 .key = key,
					 .content_type = "application/json",
					 .body = big_body,
					 .len = strlen(big_body),
					 .chunked = true};

		h_fx_fmt(url, sizeof(url), "https://127.0.0.1:%d/v1/logins",
			 port);
		pki_path(ca, sizeof(ca), "ca.crt");
		pki_path(cert, sizeof(cert), "host1.crt");
		pki_path(key, sizeof(key), "host1.key");
		ck_assert_int_eq(h_https(&rq, r), FT_OK);
		ck_assert_int_eq(r->status, 413);
	}
	/* a barrier: a good login after them all is provisioned alone */
	ck_assert_int_eq(post("host2", LOGIN_BODY("joerg"), r), 202);
	h_fx_wait_provisioned("joerg");
	ck_assert_int_eq(h_emu_people(h_fx_emu), 1);
	h_fx_assert_queue_clean();
	h_fx_daemon_stop();
	free(r);
}

END_TEST

/* deny_file (a name, a fingerprint with colons) and the CRL on SIGHUP. */
START_TEST(test_deny_and_crl_after_sighup)
{
	struct h_https_resp *r = malloc(sizeof(*r));
	char path[PATH_MAX], deny[512], *fp, *crl;
	size_t len, i, n = 0;

	ck_assert_ptr_nonnull(r);
	start(NULL);
	/* one person each: a resend while in flight may wait for the scan */
	ck_assert_int_eq(post("host2", LOGIN_BODY("alice"), r), 202);
	ck_assert_int_eq(post("host3", LOGIN_BODY("joerg"), r), 202);
	ck_assert_int_eq(post("revoked", LOGIN_BODY("p0001"), r), 202);
	h_fx_wait_provisioned("alice");
	h_fx_wait_provisioned("joerg");
	h_fx_wait_provisioned("p0001");
	/* host2 by name; host3 by fingerprint, upper case with colons */
	pki_path(path, sizeof(path), "host3.sha256");
	fp = h_read_file(path, &len);
	ck_assert_ptr_nonnull(fp);
	n = (size_t)snprintf(deny, sizeof(deny), "HOST2.ws.example.com\n");
	for (i = 0; i + 1 < 64 + 1 && fp[i] != '\n' && fp[i] != '\0'; i++)
		n += (size_t)snprintf(deny + n, sizeof(deny) - n, "%s%c",
				      i > 0 && i % 2 == 0 ? ":" : "",
				      fp[i] >= 'a' ? fp[i] - 'a' + 'A' : fp[i]);
	(void)snprintf(deny + n, sizeof(deny) - n, "  # host3\n");
	free(fp);
	pki_path(path, sizeof(path), "denied");
	ck_assert_int_eq(h_write_file(path, deny, 0644), FT_OK);
	pki_path(path, sizeof(path), "crl-revoked.pem");
	crl = h_read_file(path, &len);
	ck_assert_ptr_nonnull(crl);
	pki_path(path, sizeof(path), "crl.pem");
	ck_assert_int_eq(h_write_file(path, crl, 0644), FT_OK);
	free(crl);
	ck_assert_int_eq(h_proc_signal(h_fx.d, SIGHUP), FT_OK);
	wait_log("client CA, CRL and deny_file reread");
	ck_assert_int_eq(post("host2", LOGIN_BODY("p0002"), r), 403);
	wait_log("refused: denied (host 'host2.ws.example.com')");
	ck_assert_int_eq(post("host3", LOGIN_BODY("p0002"), r), 403);
	wait_log("refused: denied (host 'host3.ws.example.com')");
	ck_assert_int_eq(post("revoked", LOGIN_BODY("p0002"), r), 403);
	wait_log("refused: revoked (host 'host8.ws.example.com')");
	/* host1 still goes through */
	ck_assert_int_eq(post("host1", LOGIN_BODY("carol"), r), 202);
	h_fx_wait_provisioned("carol");
	ck_assert_int_eq(h_emu_people(h_fx_emu), 4); /* not p0002 */
	h_fx_assert_queue_clean();
	h_fx_daemon_stop();
	free(r);
}

END_TEST

/* host_rate: one host over it gets 429 + Retry-After; another does not. */
START_TEST(test_flood_one_host)
{
	struct h_https_resp *r = malloc(sizeof(*r));
	char body[2048];
	size_t n = 0, i;
	int tries, limited = 0;

	ck_assert_ptr_nonnull(r);
	start("provisioner.host_rate = 1\n"); /* a bucket of 10 events */
	n = (size_t)snprintf(body, sizeof(body), "{\"events\": [");
	for (i = 0; i < 6; i++)
		n += (size_t)snprintf(body + n, sizeof(body) - n,
				      "%s{\"user\": \"p%04zu\"}",
				      i > 0 ? ", " : "", i);
	(void)snprintf(body + n, sizeof(body) - n, "]}");
	for (tries = 0; tries < 10 && !limited; tries++) {
		long st = post("host1", body, r);

		ck_assert(st == 202 || st == 429);
		limited = st == 429;
	}
	ck_assert_msg(limited, "10 batches of 6 at host_rate = 1 not limited");
	ck_assert_int_ge(strtol(r->retry_after, NULL, 10), 1);
	wait_log("refused: rate_limited (host 'host1.ws.example.com')");
	ck_assert_int_eq(post("host2", LOGIN_BODY("alice"), r), 202);
	h_fx_wait_provisioned("alice");
	h_fx_daemon_stop();
	free(r);
}

END_TEST

/* GET /metrics on metrics_listen into r; asserted 200. */
static void
get_metrics(struct h_https_resp *r)
{
	char url[64];
	struct h_https_req rq = {.url = url};

	h_fx_fmt(url, sizeof(url), "http://127.0.0.1:%d/metrics", mport);
	ck_assert_int_eq(h_https(&rq, r), FT_OK);
	ck_assert_int_eq(r->status, 200);
}

static void
assert_sample(const struct h_https_resp *r, const char *sample)
{
	char line[512];

	h_fx_fmt(line, sizeof(line), "\n%s\n", sample);
	ck_assert_msg(strstr(r->body, line) != NULL, "no '%s' in:\n%s", sample,
		      r->body);
}

/*
 * Events received by host class: the allow_hosts glob that let the host
 * in (its first match), one label per glob and never one per host; the
 * counts survive a reload that changes allow_hosts (kept by the glob's
 * text); refusals by reason.
 */
START_TEST(test_metrics_by_class)
{
	struct h_https_resp *r = malloc(sizeof(*r));
	int p1, p2;

	ck_assert_ptr_nonnull(r);
	start("provisioner.allow_hosts = host1.ws.example.com "
	      "*.ws.example.com\n");
	ck_assert_int_eq(post("host1", LOGIN_BODY("alice"), r), 202);
	ck_assert_int_eq(post("host2",
			      "{\"events\": [{\"user\": \"joerg\"}, "
			      "{\"user\": \"\"}]}",
			      r),
			 202);
	ck_assert_int_eq(post("host3", LOGIN_BODY("carol"), r), 202);
	ck_assert_int_eq(post("outside", LOGIN_BODY("p0001"), r), 403);
	ck_assert_int_eq(post(NULL, LOGIN_BODY("p0001"), r), 403);
	get_metrics(r);
	assert_sample(r, "ftrack_syncd_prov_events_received_total{class="
			 "\"host1.ws.example.com\"} 1");
	assert_sample(r, "ftrack_syncd_prov_events_received_total{class="
			 "\"*.ws.example.com\"} 3");
	assert_sample(r, "ftrack_syncd_prov_events_received_total{class="
			 "\"(other)\"} 0");
	assert_sample(r, "ftrack_syncd_prov_events_total{result=\"accepted\"} "
			 "3");
	assert_sample(r, "ftrack_syncd_prov_events_total{result=\"invalid\"} "
			 "1");
	assert_sample(r, "ftrack_syncd_prov_refused_total{reason="
			 "\"not_allowed\"} 1");
	assert_sample(r, "ftrack_syncd_prov_refused_total{reason="
			 "\"no_certificate\"} 1");
	ck_assert_ptr_null(strstr(r->body, "host2.ws.example.com"));
	ck_assert_ptr_null(strstr(r->body, "host3.ws.example.com"));
	/* a reload with another glob: a new class, the old counts kept */
	p1 = port;
	p2 = mport;
	prov_config("provisioner.allow_hosts = *.example.com\n");
	port = p1;
	mport = p2;
	ck_assert_int_eq(h_proc_signal(h_fx.d, SIGHUP), FT_OK);
	wait_log("client CA, CRL and deny_file reread");
	ck_assert_int_eq(post("host1", LOGIN_BODY("p0002"), r), 202);
	get_metrics(r);
	assert_sample(r, "ftrack_syncd_prov_events_received_total{class="
			 "\"*.example.com\"} 1");
	assert_sample(r, "ftrack_syncd_prov_events_received_total{class="
			 "\"host1.ws.example.com\"} 1");
	assert_sample(r, "ftrack_syncd_prov_events_received_total{class="
			 "\"*.ws.example.com\"} 3");
	h_fx_wait_provisioned("p0002");
	h_fx_daemon_stop();
	free(r);
}

END_TEST

Suite *
provisioner_suite(void)
{
	Suite *s = suite_create("provisioner");
	TCase *tc = tcase_create("provisioner");

	tcase_add_unchecked_fixture(tc, h_fx_servers_setup,
				    h_fx_servers_teardown);
	tcase_add_checked_fixture(tc, h_fx_world_setup, h_fx_world_teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_login_through_provisioner);
	tcase_add_test(tc, test_journal_has_host);
	tcase_add_test(tc, test_refusals);
	tcase_add_test(tc, test_deny_and_crl_after_sighup);
	tcase_add_test(tc, test_flood_one_host);
	tcase_add_test(tc, test_metrics_by_class);
	suite_add_tcase(s, tc);
	return s;
}
