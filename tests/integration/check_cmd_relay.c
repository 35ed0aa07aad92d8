/* SPDX-License-Identifier: Apache-2.0 */
/*
 * check_cmd_relay.c: suite 'cmd_relay': `ftrack-syncd run`, `status` and
 * `check` in [daemon] mode = relay (syncd/relay.c), as real processes on
 * loopback: a throwaway CA made with openssl (a server certificate for
 * 127.0.0.1, a host certificate), and a scripted https upstream (Python's
 * ssl, requiring a client certificate signed by the CA) that logs each
 * event with the host's name and answers as its mode file says: every
 * event accepted, one invalid, 413 for more than one event, 403 or 503.
 * What is tested: a relay config with [ftrack] or [ldap] refused; no
 * upstream reachable: every login (socket and PAM spool) kept across a
 * restart, status shows the upstreams down, check reports them; logins
 * forwarded and removed, an invalid one in failed/ with the reason; a 413
 * splits the batch; a 403 keeps the files; fail-over to the second
 * upstream and back to the first after retry_primary; a connection cut
 * before the answer: the event sent again.
 */
#include <check.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ft_err.h"
#include "harness.h"

Suite *cmd_relay_suite(void);

/* ---- the upstream: a scripted https server ---------------------------- */

static const char upstream_py[] =
	"import http.server, json, ssl, sys\n"
	"cert, key, port, ca, mode_file, log = sys.argv[1:7]\n"
	"class H(http.server.BaseHTTPRequestHandler):\n"
	"    protocol_version = 'HTTP/1.1'\n"
	"    def answer(self, status, obj):\n"
	"        out = json.dumps(obj).encode()\n"
	"        self.send_response(status)\n"
	"        self.send_header('Content-Type', 'application/json')\n"
	"        self.send_header('Content-Length', str(len(out)))\n"
	"        self.end_headers()\n"
	"        self.wfile.write(out)\n"
	"    def do_GET(self):\n"
	"        self.answer(200 if self.path == '/v1/health' else 404, {})\n"
	"    def do_POST(self):\n"
	"        n = int(self.headers.get('Content-Length', '0'))\n"
	"        body = json.loads(self.rfile.read(n))\n"
	"        ev = body['events']\n"
	"        mode = open(mode_file).read().strip()\n"
	"        p = self.connection.getpeercert() or {}\n"
	"        cn = [v for r in p.get('subject', ()) for k, v in r "
	"if k == 'commonName']\n"
	"        with open(log, 'a') as f:\n"
	"            f.write('request %s %d %s\\n' % (self.path, len(ev), mode))\n"
	"            for e in ev:\n"
	"                f.write('event host=%s user=%s service=%s time=%s\\n'"
	" % (cn[0], e['user'], e.get('service', ''), e.get('time', '')))\n"
	"        if mode == 'drop-once':\n"
	"            open(mode_file, 'w').write('accept')\n"
	"            self.close_connection = True\n"
	"            return self.connection.close()\n"
	"        if mode in ('403', '503'):\n"
	"            return self.answer(int(mode), {})\n"
	"        if mode == '413' and len(ev) > 1:\n"
	"            return self.answer(413, {})\n"
	"        bad = mode[8:] if mode.startswith('invalid:') else None\n"
	"        self.answer(202, {'results': ['invalid: not in LDAP' "
	"if e['user'] == bad else 'accepted' for e in ev]})\n"
	"    def log_message(self, *a):\n"
	"        pass\n"
	"s = http.server.ThreadingHTTPServer(('127.0.0.1', int(port)), H)\n"
	"s.daemon_threads = True\n"
	"c = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)\n"
	"c.load_cert_chain(cert, key)\n"
	"c.verify_mode = ssl.CERT_REQUIRED\n"
	"c.load_verify_locations(ca)\n"
	"s.socket = c.wrap_socket(s.socket, server_side=True)\n"
	"s.serve_forever()\n";

/* The CA, a server certificate for 127.0.0.1 and a host's, in $1. */
static const char pki_sh[] =
	"set -e; cd \"$1\"; ec='-newkey ec -pkeyopt "
	"ec_paramgen_curve:prime256v1 -nodes'\n"
	"openssl req -x509 $ec -days 2 -subj '/CN=test CA' -keyout ca.key "
	"-out ca.crt\n"
	"openssl req $ec -subj /CN=127.0.0.1 -keyout srv.key -out srv.csr\n"
	"printf 'subjectAltName=IP:127.0.0.1\\n' > srv.ext\n"
	"openssl x509 -req -in srv.csr -CA ca.crt -CAkey ca.key -days 2 "
	"-set_serial 2 -extfile srv.ext -out srv.crt\n"
	"openssl req $ec -subj /CN=ws1.example.com -keyout host.key -out "
	"host.csr\n"
	"printf 'subjectAltName=DNS:ws1.example.com\\n' > host.ext\n"
	"openssl x509 -req -in host.csr -CA ca.crt -CAkey ca.key -days 2 "
	"-set_serial 3 -extfile host.ext -out host.crt\n"
	"chmod 600 host.key srv.key\n";

struct upstream {
	struct h_proc *proc;
	int port;
	char mode[PATH_MAX], log[PATH_MAX];
};

static char *dir;
static char conf[PATH_MAX], state[PATH_MAX], sock[PATH_MAX];
static char dlog[PATH_MAX];
static struct upstream up[2];
static struct h_proc *daemon_proc;

static void
set_mode(struct upstream *u, const char *mode)
{
	ck_assert_int_eq(h_write_file(u->mode, mode, 0600), FT_OK);
}

/* Start upstream i on its port (reserved in setup). */
static void
upstream_start(int i, const char *mode)
{
	struct upstream *u = &up[i];
	char port[16], cert[PATH_MAX + 16], key[PATH_MAX + 16],
		ca[PATH_MAX + 16], log[PATH_MAX + 16];

	H_FMT(port, "%d", u->port);
	H_FMT(cert, "%s/srv.crt", dir);
	H_FMT(key, "%s/srv.key", dir);
	H_FMT(ca, "%s/ca.crt", dir);
	H_FMT(log, "%s/upstream%d.out", dir, i);
	set_mode(u, mode);
	{
		const char *const argv[] = {
			"python3", "-c", upstream_py, cert,   key,
			port,      ca,   u->mode,     u->log, NULL};

		u->proc = h_proc_start(argv, log);
	}
	ck_assert_ptr_nonnull(u->proc);
	ck_assert_msg(h_wait_until(h_tcp_port_open, &u->port, 10000),
		      "upstream %d did not start", i);
}

static void
upstream_stop(int i)
{
	h_proc_stop(up[i].proc);
	up[i].proc = NULL;
}

/* Lines of upstream i's log holding text. */
static long
upstream_count(int i, const char *text)
{
	long n = h_file_count(up[i].log, text);

	return n < 0 ? 0 : n;
}

/*
 * The relay's config: mode = relay, the two upstreams (in that order),
 * the host's certificate, then extra lines of [relay] (NULL: none).
 */
static void
write_relay_config(const char *extra, const char *after)
{
	char text[8192];

	H_FMT(text,
	      "[daemon]\n"
	      "mode = relay\n"
	      "socket = %s\n"
	      "state_dir = %s\n"
	      "log_target = stderr\n"
	      "log_level = debug\n"
	      "[relay]\n"
	      "upstream = https://127.0.0.1:%d https://127.0.0.1:%d\n"
	      "tls_cert_file = %s/host.crt\n"
	      "tls_key_file = %s/host.key\n"
	      "tls_ca_file = %s/ca.crt\n"
	      "timeout = 5\n"
	      "%s%s",
	      sock, state, up[0].port, up[1].port, dir, dir, dir,
	      extra != NULL ? extra : "", after != NULL ? after : "");
	ck_assert_int_eq(h_write_file(conf, text, 0600), FT_OK);
}

static void
setup(void)
{
	char log[PATH_MAX + 16];
	int st, i;

	dir = h_tmpdir();
	ck_assert_ptr_nonnull(dir);
	H_FMT(conf, "%s/relay.conf", dir);
	H_FMT(state, "%s/state", dir);
	H_FMT(sock, "%s/notify.sock", dir);
	H_FMT(dlog, "%s/daemon.log", dir);
	H_FMT(log, "%s/pki.log", dir);
	ck_assert_int_eq(mkdir(state, 0700), 0);
	{
		const char *const argv[] = {"sh", "-c", pki_sh,
					    "sh", dir,  NULL};

		ck_assert_int_eq(h_run(argv, log, 60000, &st), FT_OK);
		ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0,
			      "the test CA could not be made");
	}
	for (i = 0; i < 2; i++) {
		up[i].port = h_free_port();
		ck_assert_int_gt(up[i].port, 0);
		H_FMT(up[i].mode, "%s/mode%d", dir, i);
		H_FMT(up[i].log, "%s/upstream%d.log", dir, i);
	}
	write_relay_config(NULL, NULL);
}

static void
teardown(void)
{
	h_proc_stop(daemon_proc);
	daemon_proc = NULL;
	upstream_stop(0);
	upstream_stop(1);
	h_rmtree(dir);
	free(dir);
	dir = NULL;
}

/* ---- helpers ---------------------------------------------------------- */

/* What the package makes: state/queue, where PAM's spool writes. */
static void
make_queue(void)
{
	char q[PATH_MAX + 16];

	H_FMT(q, "%s/queue", state);
	ck_assert_int_eq(mkdir(q, 0700), 0);
}

static bool
socket_up(void *arg)
{
	struct stat st;

	(void)arg;
	return stat(sock, &st) == 0;
}

static void
relay_start(void)
{
	daemon_proc = h_daemon_start(conf, dlog);
	ck_assert_ptr_nonnull(daemon_proc);
	ck_assert_msg(h_wait_until(socket_up, NULL, 10000),
		      "the relay did not listen");
}

static void
relay_stop(void)
{
	int st = 0;

	ck_assert_int_eq(h_proc_signal(daemon_proc, SIGTERM), FT_OK);
	ck_assert_int_eq(h_proc_wait(daemon_proc, 10000, &st), FT_OK);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		      "the relay did not stop cleanly");
	ck_assert_msg(!h_san_file(dlog), "a sanitizer report in %s", dlog);
	h_proc_stop(daemon_proc);
	daemon_proc = NULL;
}

/* Run `ftrack-syncd -c conf words...`; its exit code, its output in out. */
static int
relay_cmd(const char *const args[], char **out)
{
	char log[PATH_MAX + 16];
	int st = 0;

	H_FMT(log, "%s/cmd-%s.log", dir, args[0]);
	(void)unlink(log);
	ck_assert_int_eq(h_daemon_run(conf, args, log, 60000, &st), FT_OK);
	*out = h_read_file(log, NULL);
	ck_assert_ptr_nonnull(*out);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void
wait_for(bool (*cond)(void *), void *arg, const char *what)
{
	if (!h_wait_until(cond, arg, 30000)) {
		h_show_log("relay", dlog);
		ck_abort_msg("timed out waiting for %s", what);
	}
}

static bool
queue_is(void *arg)
{
	return h_queue_count(state, "queue") == *(long *)arg;
}

static char want_text[256]; /* what log_has and status_file_has look for */

static bool
log_has(void *arg)
{
	(void)arg;
	return h_file_count(dlog, want_text) > 0;
}

struct seen {
	int i;
	const char *text;
	long n;
};

static bool
upstream_saw(void *arg)
{
	const struct seen *s = arg;

	return upstream_count(s->i, s->text) >= s->n;
}

static bool
status_file_has(void *arg)
{
	char path[PATH_MAX + 32];

	(void)arg;
	H_FMT(path, "%s/relay.status", state);
	return h_file_count(path, want_text) > 0;
}

/* Wait for text in the relay's log (cond log_has) or relay.status. */
static void
wait_text(bool (*cond)(void *), const char *text)
{
	H_FMT(want_text, "%s", text);
	wait_for(cond, NULL, text);
}

/* ---- a relay holds nothing that can change ftrack ---------------------- */

struct refused_case {
	const char *after; /* appended after [relay] */
	const char *section;
};

static const struct refused_case refused_cases[] = {
	{"[ftrack]\nserver = https://ftrack.example.com\n", "ftrack"},
	{"[ldap]\nuri = ldaps://ldap.example.com\n", "ldap"},
};

START_TEST(test_relay_config_refused)
{
	const struct refused_case *c = &refused_cases[_i];
	static const char *const check[] = {"check", NULL};
	static const char *const run[] = {"run", NULL};
	char want[PATH_MAX + 128], *out = NULL;

	write_relay_config(NULL, c->after);
	/* [daemon] and [relay] take 12 lines: the section is line 13 */
	H_FMT(want, "%s:13: [%s]: a relay holds nothing that can change ftrack",
	      conf, c->section);
	ck_assert_int_eq(relay_cmd(check, &out), 2);
	ck_assert_msg(strstr(out, want) != NULL, "%s", out);
	free(out);
	ck_assert_int_eq(relay_cmd(run, &out), 2);
	ck_assert_msg(strstr(out, want) != NULL, "%s", out);
	free(out);
	ck_assert_int_eq(h_queue_count(state, "queue"), -1); /* never made */
}

END_TEST

/* ---- no upstream: nothing lost ----------------------------------------- */

START_TEST(test_no_upstream_keeps_logins)
{
	static const char *const status[] = {"status", NULL};
	static const char *const check[] = {"check", NULL};
	long three = 3;
	char *out = NULL;

	make_queue();
	ck_assert_int_eq(h_spool(state, "carol"), FT_OK); /* PAM's spool */
	relay_start();
	ck_assert_int_eq(h_login(sock, "alice"), FT_OK);
	ck_assert_int_eq(h_login(sock, "bob"), FT_OK);
	wait_for(queue_is, &three, "three queue files");
	wait_text(status_file_has, "upstream https://127.0.0.1");
	wait_text(log_has, "is down");
	/* the relay keeps retrying: a second attempt at the first upstream */
	wait_text(log_has, "still down");
	ck_assert_int_eq(h_queue_count(state, "queue"), 3);
	ck_assert_int_eq(h_queue_count(state, "queue/failed"), 0);
	ck_assert_int_eq(relay_cmd(status, &out), 0);
	ck_assert_msg(strstr(out, "3 waiting, 0 failed") != NULL, "%s", out);
	ck_assert_msg(h_text_count(out, ": down") == 2, "%s", out);
	ck_assert_msg(strstr(out, "last forward: never") != NULL, "%s", out);
	free(out);
	ck_assert_int_eq(relay_cmd(check, &out), 1);
	ck_assert_msg(strstr(out, "cert:    ok:") != NULL, "%s", out);
	ck_assert_msg(strstr(out, "for ws1.example.com") != NULL, "%s", out);
	ck_assert_msg(strstr(out, "ca:      ok:") != NULL, "%s", out);
	ck_assert_msg(h_text_count(out, "upstream: FAILED: https://") == 2,
		      "%s", out);
	ck_assert_msg(strstr(out, "ldap") == NULL, "%s", out);
	free(out);
	/* a restart loses nothing */
	relay_stop();
	ck_assert_int_eq(h_queue_count(state, "queue"), 3);
	relay_start();
	ck_assert_int_eq(h_login(sock, "dave"), FT_OK);
	three = 4;
	wait_for(queue_is, &three, "four queue files");
	relay_stop();
	ck_assert_int_eq(h_queue_count(state, "queue"), 4);
	ck_assert(h_queued(state, "carol"));
	ck_assert(h_queued(state, "alice"));
	/* and once an upstream is there, every one of them goes */
	upstream_start(1, "accept");
	relay_start();
	three = 0;
	wait_for(queue_is, &three, "an empty queue");
	ck_assert_int_eq(upstream_count(1, "event host=ws1.example.com user="),
			 4);
	ck_assert_int_eq(upstream_count(1, "user=carol"), 1);
	ck_assert_int_eq(h_queue_count(state, "queue/failed"), 0);
}

END_TEST

/* ---- forwarding --------------------------------------------------------- */

/* arg: a failed/ file's path; true once it holds its error= line. */
static bool
has_reason(void *arg)
{
	char *text = h_read_file(arg, NULL);
	bool yes = text != NULL && strstr(text, "\nerror=") != NULL;

	free(text);
	return yes;
}

START_TEST(test_forward_and_invalid)
{
	static const char *const status[] = {"status", NULL};
	static const char *const check[] = {"check", NULL};
	struct seen s = {0, "user=bob", 1};
	long zero = 0, one = 1;
	char *out = NULL;
	char hex[64];

	upstream_start(0, "invalid:bob");
	upstream_start(1, "accept");
	relay_start();
	ck_assert_int_eq(h_login(sock, "alice"), FT_OK);
	ck_assert_int_eq(h_login(sock, "bob"), FT_OK);
	wait_for(upstream_saw, &s, "bob at the first upstream");
	wait_for(queue_is, &zero, "an empty queue");
	wait_text(log_has, "moved to failed/");
	ck_assert_int_eq(h_queue_count(state, "queue/failed"), 1);
	ck_assert_int_eq(upstream_count(0, "user=alice service=ftest time=20"),
			 1);
	ck_assert_int_eq(upstream_count(1, "event"), 0);
	/* the reason, in the failed file */
	H_FMT(hex, "%s", "626f62");
	{
		char path[PATH_MAX + 64], *text;

		H_FMT(path, "%s/queue/failed/%s", state, hex);
		/* the file is moved first, then given its reason */
		ck_assert(h_wait_until(has_reason, path, 10000));
		text = h_read_file(path, NULL);
		ck_assert_ptr_nonnull(text);
		ck_assert_msg(
			strstr(text, "error=refused by https://127.0.0.1:") !=
					NULL &&
				strstr(text, ": not in LDAP") != NULL,
			"%s", text);
		free(text);
	}
	wait_text(status_file_has, "1 events forwarded and 1 refused");
	ck_assert_int_eq(relay_cmd(status, &out), 0);
	ck_assert_msg(strstr(out, "0 waiting, 1 failed") != NULL, "%s", out);
	ck_assert_msg(strstr(out, ": up (in use)") != NULL, "%s", out);
	free(out);
	ck_assert_int_eq(relay_cmd(check, &out), 0);
	ck_assert_msg(h_text_count(out, "upstream: ok: https://") == 2, "%s",
		      out);
	free(out);
	wait_text(status_file_has, "last forward: 20");
	ck_assert_int_ge(h_metric(state, "relay_forwarded_total"), 0);
	(void)one;
}

END_TEST

/* 413: the batch is halved until it fits; every login still goes. */
START_TEST(test_too_large_splits)
{
	long zero = 0;
	int i;

	make_queue();
	for (i = 0; i < 8; i++) {
		char user[16];

		H_FMT(user, "user%d", i);
		ck_assert_int_eq(h_spool(state, user), FT_OK);
	}
	upstream_start(0, "413");
	relay_start();
	wait_for(queue_is, &zero, "an empty queue");
	ck_assert_int_eq(upstream_count(0, "request /v1/logins 8 413"), 1);
	ck_assert_int_eq(upstream_count(0, "request /v1/logins 4 413"), 1);
	ck_assert_int_ge(upstream_count(0, "request /v1/logins 1 413"), 8);
	ck_assert_int_eq(h_queue_count(state, "queue/failed"), 0);
}

END_TEST

/* 403 from every upstream: the files stay, said loudly, no hammering. */
START_TEST(test_refused_keeps_files)
{
	long one = 1;

	upstream_start(0, "403");
	upstream_start(1, "403");
	relay_start();
	ck_assert_int_eq(h_login(sock, "alice"), FT_OK);
	wait_for(queue_is, &one, "alice queued");
	wait_text(log_has, "REFUSED this host's logins (HTTP 403)");
	{
		struct seen s = {1, "user=alice", 1};

		wait_for(upstream_saw, &s, "the second upstream tried");
	}
	/* a second login during the long back-off is not sent */
	ck_assert_int_eq(h_login(sock, "bob"), FT_OK);
	one = 2;
	wait_for(queue_is, &one, "bob queued");
	h_sleep_ms(1500);
	ck_assert_int_eq(upstream_count(0, "user=bob"), 0);
	ck_assert_int_eq(upstream_count(1, "user=bob"), 0);
	ck_assert_int_eq(h_queue_count(state, "queue"), 2);
	ck_assert_int_eq(h_queue_count(state, "queue/failed"), 0);
}

END_TEST

/* The first upstream down: the second; back to the first after retry_primary. */
START_TEST(test_failover_and_back)
{
	struct seen s = {1, "user=alice", 1};
	long zero = 0;

	write_relay_config("retry_primary = 2\n", NULL);
	upstream_start(1, "accept");
	relay_start();
	ck_assert_int_eq(h_login(sock, "alice"), FT_OK);
	wait_for(upstream_saw, &s, "alice at the second upstream");
	wait_for(queue_is, &zero, "an empty queue");
	upstream_start(0, "accept");
	/* logins until one reaches the first again */
	s.i = 0;
	s.text = "user=bob";
	for (int i = 0; i < 50 && !upstream_saw(&s); i++) {
		ck_assert_int_eq(h_login(sock, "bob"), FT_OK);
		h_sleep_ms(200);
	}
	wait_for(upstream_saw, &s, "bob at the first upstream");
	wait_for(queue_is, &zero, "an empty queue");
	ck_assert_int_eq(upstream_count(0, "user=alice"), 0);
	/* the first is in use again */
	upstream_stop(1);
	s.text = "user=carol";
	ck_assert_int_eq(h_login(sock, "carol"), FT_OK);
	wait_for(upstream_saw, &s, "carol at the first upstream");
}

END_TEST

/*
 * The connection cut after the request went out and before the answer:
 * the event stays, is sent again, and goes once it is accepted.
 */
START_TEST(test_cut_before_answer)
{
	struct seen s = {0, "user=alice", 2};
	long zero = 0;

	upstream_start(0, "drop-once");
	relay_start();
	ck_assert_int_eq(h_login(sock, "alice"), FT_OK);
	wait_for(upstream_saw, &s, "alice sent twice");
	wait_for(queue_is, &zero, "an empty queue");
	ck_assert_int_eq(upstream_count(0, "request /v1/logins 1 drop-once"),
			 1);
	ck_assert_int_eq(upstream_count(0, "request /v1/logins 1 accept"), 1);
	ck_assert_int_eq(h_queue_count(state, "queue/failed"), 0);
}

END_TEST

Suite *
cmd_relay_suite(void)
{
	Suite *s = suite_create("cmd_relay");
	TCase *tc = tcase_create("relay");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 180);
	tcase_add_loop_test(
		tc, test_relay_config_refused, 0,
		(int)(sizeof(refused_cases) / sizeof(refused_cases[0])));
	tcase_add_test(tc, test_no_upstream_keeps_logins);
	tcase_add_test(tc, test_forward_and_invalid);
	tcase_add_test(tc, test_too_large_splits);
	tcase_add_test(tc, test_refused_keeps_files);
	tcase_add_test(tc, test_failover_and_back);
	tcase_add_test(tc, test_cut_before_answer);
	suite_add_tcase(s, tc);
	return s;
}
