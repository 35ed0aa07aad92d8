/* SPDX-License-Identifier: Apache-2.0 */
/*
 * check_relay_e2e.c: suite 'relay_e2e': a relay (`ftrack-syncd run`,
 * [daemon] mode = relay) and the real provisioner (mode = provisioner,
 * the daemon suites' slapd and emulator: tests/lib/h_fixture.c) as real
 * processes on loopback, with a throwaway PKI (tests/lib/ca.sh): a login
 * on the relay reaches ftrack through the provisioner, with the relay's
 * host in the provisioner's log; the provisioner down: the login waits in
 * the relay's queue, across a relay restart too, and arrives when it is
 * back; the first upstream down: the second, and back to the first after
 * retry_primary; a host= line that no certificate gave (a spool file, a
 * datagram) is never believed; two provisioners behind two relays, one person logging
 * in on both at the same moment: one ftrack user.
 */
#include <check.h>
#include <jansson.h>
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

Suite *relay_e2e_suite(void);

#define HOST "host1.ws.example.com"

/* A TCP forwarder on 127.0.0.1:argv[1] to 127.0.0.1:argv[2]. */
static const char forward_py[] =
	"import socket, sys, threading\n"
	"def pipe(a, b):\n"
	"    try:\n"
	"        while True:\n"
	"            d = a.recv(65536)\n"
	"            if not d:\n"
	"                break\n"
	"            b.sendall(d)\n"
	"    except OSError:\n"
	"        pass\n"
	"    for s in (a, b):\n"
	"        try:\n"
	"            s.shutdown(socket.SHUT_RDWR)\n"
	"        except OSError:\n"
	"            pass\n"
	"l = socket.socket()\n"
	"l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
	"l.bind(('127.0.0.1', int(sys.argv[1])))\n"
	"l.listen(16)\n"
	"while True:\n"
	"    c, _ = l.accept()\n"
	"    u = socket.create_connection(('127.0.0.1', int(sys.argv[2])))\n"
	"    for a, b in ((c, u), (u, c)):\n"
	"        threading.Thread(target=pipe, args=(a, b), daemon=True)"
	".start()\n";

static char pki[PATH_MAX];
static int port;
static struct h_proc *fwd;

/* A relay: its folder, config, state, socket, log and process. */
struct relay_w {
	char dir[PATH_MAX], conf[PATH_MAX], state[PATH_MAX];
	char sock[PATH_MAX], log[PATH_MAX];
	struct h_proc *p;
};

static struct relay_w rl[2]; /* rl[0]: host1; rl[1]: host2 (the race) */

static void
make_pki(void)
{
	h_fx_fmt(pki, sizeof(pki), "%s/pki", h_fx.dir);
	ck_assert_int_eq(mkdir(pki, 0700), 0);
	ck_assert_int_eq(h_ca_make(pki), FT_OK);
}

/* The [provisioner] lines of a provisioner on 127.0.0.1:p. */
static void
prov_lines(char *buf, size_t cap, int p)
{
	char lines[4 * PATH_MAX];

	ck_assert_int_eq(h_prov_lines(lines, sizeof(lines), pki, p, 0, false),
			 FT_OK);
	h_fx_fmt(buf, cap, "%spolicy.login_cooldown = 0\n", lines);
}

/* The provisioner (the fixture's daemon) on a free port. */
static void
prov_config(void)
{
	char text[4096];

	port = h_free_port();
	ck_assert_int_gt(port, 0);
	prov_lines(text, sizeof(text), port);
	h_fx_config(text);
}

/*
 * Relay i's own folder and config, with the certificate of host i + 1:
 * upstream is its [relay] upstream.
 */
static void
relay_config_n(int i, const char *upstream, const char *extra)
{
	struct relay_w *r = &rl[i];
	char text[4096];

	h_fx_fmt(r->dir, sizeof(r->dir), "%s/relay%d", h_fx.dir, i + 1);
	(void)mkdir(r->dir, 0700);
	h_fx_fmt(r->conf, sizeof(r->conf), "%s/relay.conf", r->dir);
	h_fx_fmt(r->state, sizeof(r->state), "%s/state", r->dir);
	h_fx_fmt(r->sock, sizeof(r->sock), "%s/notify.sock", r->dir);
	h_fx_fmt(r->log, sizeof(r->log), "%s/relay.log", r->dir);
	(void)mkdir(r->state, 0700);
	h_fx_fmt(text, sizeof(text),
		 "[daemon]\n"
		 "mode = relay\n"
		 "socket = %s\n"
		 "state_dir = %s\n"
		 "log_target = stderr\n"
		 "log_level = debug\n"
		 "[relay]\n"
		 "upstream = %s\n"
		 "tls_cert_file = %s/host%d.crt\n"
		 "tls_key_file = %s/host%d.key\n"
		 "tls_ca_file = %s/ca.crt\n"
		 "timeout = 5\n%s",
		 r->sock, r->state, upstream, pki, i + 1, pki, i + 1, pki,
		 extra != NULL ? extra : "");
	ck_assert_int_eq(h_write_file(r->conf, text, 0600), FT_OK);
}

static void
relay_config(const char *upstream, const char *extra)
{
	relay_config_n(0, upstream, extra);
}

/* arg: a struct relay_w.  Its socket exists. */
static bool
relay_listening(void *arg)
{
	const struct relay_w *r = arg;
	struct stat st;

	return stat(r->sock, &st) == 0;
}

static void
relay_start_n(int i)
{
	rl[i].p = h_daemon_start(rl[i].conf, rl[i].log);
	ck_assert_ptr_nonnull(rl[i].p);
	h_fx_wait_or_fail(relay_listening, &rl[i], "the relay's socket");
}

static void
relay_start(void)
{
	relay_start_n(0);
}

static void
relay_stop_n(int i)
{
	int st = 0;

	ck_assert_int_eq(h_proc_signal(rl[i].p, SIGTERM), FT_OK);
	ck_assert_int_eq(h_proc_wait(rl[i].p, H_FX_WAIT_MS, &st), FT_OK);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		      "the relay did not stop cleanly");
	h_fx_assert_no_sanitizer_report(rl[i].log);
	h_proc_stop(rl[i].p);
	rl[i].p = NULL;
}

static void
relay_stop(void)
{
	relay_stop_n(0);
}

static void
prov_start(void)
{
	h_fx_daemon_start();
	h_fx_wait_or_fail(h_tcp_port_open, &port, "the provisioner's port");
}

static char want[256];

static bool
relay_log_has(void *arg)
{
	(void)arg;
	return h_file_count(rl[0].log, want) > 0;
}

static void
wait_relay_log(const char *text)
{
	h_fx_fmt(want, sizeof(want), "%s", text);
	if (!h_wait_until(relay_log_has, NULL, H_FX_WAIT_MS)) {
		h_show_log("relay", rl[0].log);
		ck_abort_msg("the relay never logged '%s'", text);
	}
}

/* arg: a struct relay_w.  Nothing in its queue/. */
static bool
relay_queue_empty_n(void *arg)
{
	const struct relay_w *r = arg;

	return h_queue_count(r->state, "queue") == 0;
}

static bool
relay_queue_empty(void *arg)
{
	(void)arg;
	return relay_queue_empty_n(&rl[0]);
}

static void
setup(void)
{
	h_fx_world_setup();
	make_pki();
	prov_config();
}

static void
teardown(void)
{
	for (size_t i = 0; i < sizeof(rl) / sizeof(rl[0]); i++) {
		h_proc_stop(rl[i].p);
		rl[i].p = NULL;
	}
	h_proc_stop(fwd);
	fwd = NULL;
	h_fx_world_teardown();
}

/* A login on the relay reaches ftrack; the host is in the provisioner's log. */
START_TEST(test_login_through_provisioner)
{
	char up[64], line[256];

	h_fx_fmt(up, sizeof(up), "https://127.0.0.1:%d", port);
	relay_config(up, NULL);
	prov_start();
	relay_start();
	ck_assert_int_eq(h_login(rl[0].sock, "p0001"), FT_OK);
	h_fx_wait_provisioned("p0001");
	h_fx_fmt(line, sizeof(line),
		 "login of 'p0001' (service 'ftest') accepted from host '%s'",
		 HOST);
	ck_assert_msg(h_file_count(h_fx.log, line) == 1, "%s", line);
	h_fx_wait_or_fail(relay_queue_empty, NULL, "the relay's queue empty");
	ck_assert_int_eq(h_queue_count(rl[0].state, "queue/failed"), 0);
	h_fx_assert_once("p0001");
	relay_stop();
	h_fx_daemon_stop();
}

END_TEST

/* The provisioner down: the login waits (a relay restart too), then goes. */
START_TEST(test_provisioner_down)
{
	char up[64];

	h_fx_fmt(up, sizeof(up), "https://127.0.0.1:%d", port);
	relay_config(up, NULL);
	relay_start();
	ck_assert_int_eq(h_login(rl[0].sock, "p0002"), FT_OK);
	wait_relay_log("is down");
	ck_assert_int_eq(h_queue_count(rl[0].state, "queue"), 1);
	relay_stop();
	ck_assert(h_queued(rl[0].state, "p0002"));
	relay_start();
	wait_relay_log("still down");
	ck_assert_int_eq(h_emu_named(h_fx_emu, "p0002"), 0);
	prov_start();
	h_fx_wait_provisioned("p0002");
	h_fx_wait_or_fail(relay_queue_empty, NULL, "the relay's queue empty");
	ck_assert_int_eq(h_queue_count(rl[0].state, "queue/failed"), 0);
	h_fx_assert_once("p0002");
	relay_stop();
	h_fx_daemon_stop();
}

END_TEST

/* The first upstream down: the second; back to the first after retry_primary. */
START_TEST(test_failover_and_back)
{
	char up[128], p1[16], p2[16], first[64];
	int fport = h_free_port();

	ck_assert_int_gt(fport, 0);
	/* the first upstream: a forwarder to the provisioner, not up yet */
	h_fx_fmt(up, sizeof(up), "https://127.0.0.1:%d https://127.0.0.1:%d",
		 fport, port);
	h_fx_fmt(first, sizeof(first), "forwarded to https://127.0.0.1:%d",
		 fport);
	relay_config(up, "retry_primary = 2\n");
	prov_start();
	relay_start();
	ck_assert_int_eq(h_login(rl[0].sock, "p0003"), FT_OK);
	h_fx_wait_provisioned("p0003");
	ck_assert_int_eq(h_file_count(rl[0].log, first), 0);
	wait_relay_log("forwarded to https://127.0.0.1:");
	h_fx_fmt(p1, sizeof(p1), "%d", fport);
	h_fx_fmt(p2, sizeof(p2), "%d", port);
	{
		const char *const argv[] = {"python3", "-c", forward_py,
					    p1,        p2,   NULL};
		char log[PATH_MAX + 16];

		h_fx_fmt(log, sizeof(log), "%s/forward.log", rl[0].dir);
		fwd = h_proc_start(argv, log);
	}
	ck_assert_ptr_nonnull(fwd);
	h_fx_wait_or_fail(h_tcp_port_open, &fport, "the forwarder");
	/* logins until one goes by the first again (retry_primary = 2 s) */
	h_fx_fmt(want, sizeof(want), "%s", first);
	for (int i = 0; i < 40 && !relay_log_has(NULL); i++) {
		char user[16];

		h_fx_fmt(user, sizeof(user), "p%04d", 10 + i);
		ck_assert_int_eq(h_login(rl[0].sock, user), FT_OK);
		h_sleep_ms(250);
	}
	wait_relay_log(first);
	h_fx_wait_or_fail(relay_queue_empty, NULL, "the relay's queue empty");
	ck_assert_int_eq(h_queue_count(rl[0].state, "queue/failed"), 0);
	relay_stop();
	h_fx_daemon_stop();
}

END_TEST

/* ---- host= comes from the certificate only ---------------------------- */

/* One raw datagram (as root) to the socket at path. */
static void
send_raw(const char *path, const char *msg)
{
	int fd = h_sender_open(path);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(h_sender_send(fd, msg, strlen(msg), 0), FT_OK);
	(void)close(fd);
}

/*
 * A host= line that did not come from a certificate is never believed:
 * in a spool file of the relay's queue (as a tampered or foreign writer
 * could leave it; the PAM module never writes one) and in a datagram to
 * the relay, the provisioner names the relay's certificate host; in a
 * datagram to the provisioner's own socket, the login is a local one (no
 * host, no seat counted).
 */
START_TEST(test_host_line_ignored)
{
	char up[64], line[256], seats[PATH_MAX + 16];

	h_fx_fmt(up, sizeof(up), "https://127.0.0.1:%d", port);
	relay_config(up, NULL);
	h_fx_fmt(seats, sizeof(seats), "%s/queue", rl[0].state);
	ck_assert_int_eq(mkdir(seats, 0700), 0);
	ck_assert_int_eq(
		h_spool_host(rl[0].state, "p0006", "evil1.ws.example.com"),
		FT_OK);
	prov_start();
	relay_start();
	send_raw(rl[0].sock, "FTSYNC1\nuser=p0007\nservice=ftest\n"
			     "host=evil2.ws.example.com\n");
	send_raw(h_fx.sock, "FTSYNC1\nuser=p0008\nservice=ftest\n"
			    "host=evil3.ws.example.com\n");
	h_fx_wait_provisioned("p0006");
	h_fx_wait_provisioned("p0007");
	h_fx_wait_provisioned("p0008");
	h_fx_wait_or_fail(relay_queue_empty, NULL, "the relay's queue empty");
	h_fx_fmt(line, sizeof(line),
		 "login of 'p0006' (service 'sshd') accepted from host '%s'",
		 HOST);
	ck_assert_msg(h_file_count(h_fx.log, line) == 1, "%s", line);
	h_fx_fmt(line, sizeof(line),
		 "login of 'p0007' (service 'ftest') accepted from host '%s'",
		 HOST);
	ck_assert_msg(h_file_count(h_fx.log, line) == 1, "%s", line);
	ck_assert_int_eq(
		h_file_count(h_fx.log, "created 'p0006' (host " HOST ")"), 1);
	ck_assert_int_eq(h_file_count(h_fx.log, "created 'p0008': "), 1);
	ck_assert_int_eq(h_file_count(h_fx.log, "evil"), 0);
	h_fx_fmt(seats, sizeof(seats), "%s/seats", h_fx.state);
	ck_assert_int_eq(h_file_count(seats, "host=" HOST " 2\n"), 1);
	ck_assert_int_eq(h_file_count(seats, "evil"), 0);
	ck_assert_int_eq(h_queue_count(rl[0].state, "queue/failed"), 0);
	h_fx_assert_queue_clean();
	relay_stop();
	h_fx_daemon_stop();
}

END_TEST

/* ---- two provisioners, one person on two relays at once ------------- */

#define RACE_ROUNDS 10 /* fresh people, each on both relays at once */

static char race_state2[PATH_MAX + 16];

/* arg: NULL.  Nothing queued on either relay nor either provisioner. */
static bool
all_queues_empty(void *arg)
{
	(void)arg;
	return relay_queue_empty_n(&rl[0]) && relay_queue_empty_n(&rl[1]) &&
	       h_queue_count(h_fx.state, "queue") == 0 &&
	       h_queue_count(race_state2, "queue") == 0;
}

static void
emu_config(const char *json)
{
	json_t *r = h_emu_post(h_fx_emu, "/_emulator/config", json);

	ck_assert_ptr_nonnull(r);
	json_decref(r);
}

/*
 * Two provisioners (two real daemons, the one slapd and emulator), two
 * relays (host1 forwarding to the first, host2 to the second): the same
 * person logs in on both relays at the same moment, RACE_ROUNDS times with
 * a fresh person each time, the first half with ftrack enforcing unique
 * usernames, the second half without: exactly one ftrack user each time,
 * each provisioner got the login over HTTPS from its relay, and nothing in
 * any failed/.
 */
START_TEST(test_two_provisioners_race)
{
	char dir2[PATH_MAX + 8], log2[PATH_MAX + 16], text[4096];
	char up[64], user[16], line[256], *conf2;
	struct h_proc *d2;
	int i, port2 = h_free_port(), st = 0;
	long lost;

	ck_assert_int_gt(port2, 0);
	ck_assert_int_ne(port2, port);
	h_fx_fmt(dir2, sizeof(dir2), "%s/prov2", h_fx.dir);
	ck_assert_int_eq(mkdir(dir2, 0700), 0);
	h_fx_fmt(text, sizeof(text), "%s", H_FX_BASE_CONFIG);
	prov_lines(text + strlen(text), sizeof(text) - strlen(text), port2);
	conf2 = h_write_config(dir2, h_fx_slapd, h_fx_emu, text);
	ck_assert_ptr_nonnull(conf2);
	h_fx_fmt(log2, sizeof(log2), "%s/daemon.log", dir2);
	h_fx_fmt(race_state2, sizeof(race_state2), "%s/state", dir2);
	prov_start();
	d2 = h_daemon_start(conf2, log2);
	ck_assert_ptr_nonnull(d2);
	h_fx_wait_or_fail(h_tcp_port_open, &port2, "the second provisioner");
	h_fx_fmt(up, sizeof(up), "https://127.0.0.1:%d", port);
	relay_config_n(0, up, NULL);
	h_fx_fmt(up, sizeof(up), "https://127.0.0.1:%d", port2);
	relay_config_n(1, up, NULL);
	relay_start_n(0);
	relay_start_n(1);
	/* both provisioners look up before either writes */
	emu_config("{\"latency_ms\": 100}");
	for (i = 0; i < RACE_ROUNDS; i++) {
		if (i == RACE_ROUNDS / 2)
			emu_config("{\"unique_usernames\": false}");
		h_fx_fmt(user, sizeof(user), H_FX_PREFIX "%04d", 400 + i);
		ck_assert_int_eq(h_login(rl[0].sock, user), FT_OK);
		ck_assert_int_eq(h_login(rl[1].sock, user), FT_OK);
		h_fx_wait_provisioned(user);
		h_fx_wait_or_fail(all_queues_empty, NULL, "every queue empty");
		h_fx_assert_once(user);
		h_fx_fmt(line, sizeof(line),
			 "login of '%s' (service 'ftest') accepted from host "
			 "'host1.ws.example.com'",
			 user);
		ck_assert_msg(h_file_count(h_fx.log, line) == 1, "%s", line);
		h_fx_fmt(line, sizeof(line),
			 "login of '%s' (service 'ftest') accepted from host "
			 "'host2.ws.example.com'",
			 user);
		ck_assert_msg(h_file_count(log2, line) == 1, "%s", line);
		ck_assert_int_eq(h_queue_count(h_fx.state, "queue/failed"), 0);
		ck_assert_int_eq(h_queue_count(race_state2, "queue/failed"), 0);
		ck_assert_int_eq(h_queue_count(rl[0].state, "queue/failed"), 0);
		ck_assert_int_eq(h_queue_count(rl[1].state, "queue/failed"), 0);
	}
	ck_assert_int_eq(h_emu_people(h_fx_emu), RACE_ROUNDS);
	lost = h_file_count(h_fx.log, "created at the same moment") +
	       h_file_count(log2, "created at the same moment");
	relay_stop_n(0);
	relay_stop_n(1);
	ck_assert_int_eq(h_proc_signal(d2, SIGTERM), FT_OK);
	ck_assert_int_eq(h_proc_wait(d2, H_FX_WAIT_MS, &st), FT_OK);
	h_proc_stop(d2);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	h_fx_assert_no_sanitizer_report(log2);
	h_fx_daemon_stop();
	free(conf2);
	(void)fprintf(stderr,
		      "relay_e2e: two provisioners behind two relays, %d "
		      "people at once: %ld lost races read again, one user "
		      "each\n",
		      RACE_ROUNDS, lost);
}

END_TEST

Suite *
relay_e2e_suite(void)
{
	Suite *s = suite_create("relay_e2e");
	TCase *tc = tcase_create("relay_e2e");

	tcase_add_unchecked_fixture(tc, h_fx_servers_setup,
				    h_fx_servers_teardown);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 180);
	tcase_add_test(tc, test_login_through_provisioner);
	tcase_add_test(tc, test_provisioner_down);
	tcase_add_test(tc, test_failover_and_back);
	tcase_add_test(tc, test_host_line_ignored);
	tcase_add_test(tc, test_two_provisioners_race);
	suite_add_tcase(s, tc);
	return s;
}
