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
 * retry_primary.
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

static char pki[PATH_MAX], rdir[PATH_MAX], rconf[PATH_MAX];
static char rstate[PATH_MAX], rsock[PATH_MAX], rlog[PATH_MAX];
static int port;
static struct h_proc *relay, *fwd;

static void
make_pki(void)
{
	h_fx_fmt(pki, sizeof(pki), "%s/pki", h_fx.dir);
	ck_assert_int_eq(mkdir(pki, 0700), 0);
	ck_assert_int_eq(h_ca_make(pki), FT_OK);
}

/* The provisioner (the fixture's daemon) on a free port. */
static void
prov_config(void)
{
	char text[4096];

	port = h_free_port();
	ck_assert_int_gt(port, 0);
	h_fx_fmt(text, sizeof(text),
		 "daemon.mode = provisioner\n"
		 "policy.login_cooldown = 0\n"
		 "provisioner.listen = 127.0.0.1:%d\n"
		 "provisioner.tls_cert_file = %s/server.crt\n"
		 "provisioner.tls_key_file = %s/server.key\n"
		 "provisioner.client_ca_file = %s/ca.crt\n"
		 "provisioner.allow_hosts = *.ws.example.com\n",
		 port, pki, pki, pki);
	h_fx_config(text);
}

/* The relay's own folder and config: upstream is its [relay] upstream. */
static void
relay_config(const char *upstream, const char *extra)
{
	char text[4096];

	h_fx_fmt(rdir, sizeof(rdir), "%s/relay", h_fx.dir);
	(void)mkdir(rdir, 0700);
	h_fx_fmt(rconf, sizeof(rconf), "%s/relay.conf", rdir);
	h_fx_fmt(rstate, sizeof(rstate), "%s/state", rdir);
	h_fx_fmt(rsock, sizeof(rsock), "%s/notify.sock", rdir);
	h_fx_fmt(rlog, sizeof(rlog), "%s/relay.log", rdir);
	(void)mkdir(rstate, 0700);
	h_fx_fmt(text, sizeof(text),
		 "[daemon]\n"
		 "mode = relay\n"
		 "socket = %s\n"
		 "state_dir = %s\n"
		 "log_target = stderr\n"
		 "log_level = debug\n"
		 "[relay]\n"
		 "upstream = %s\n"
		 "tls_cert_file = %s/host1.crt\n"
		 "tls_key_file = %s/host1.key\n"
		 "tls_ca_file = %s/ca.crt\n"
		 "timeout = 5\n%s",
		 rsock, rstate, upstream, pki, pki, pki,
		 extra != NULL ? extra : "");
	ck_assert_int_eq(h_write_file(rconf, text, 0600), FT_OK);
}

static bool
relay_listening(void *arg)
{
	struct stat st;

	(void)arg;
	return stat(rsock, &st) == 0;
}

static void
relay_start(void)
{
	relay = h_daemon_start(rconf, rlog);
	ck_assert_ptr_nonnull(relay);
	h_fx_wait_or_fail(relay_listening, NULL, "the relay's socket");
}

static void
relay_stop(void)
{
	int st = 0;

	ck_assert_int_eq(h_proc_signal(relay, SIGTERM), FT_OK);
	ck_assert_int_eq(h_proc_wait(relay, H_FX_WAIT_MS, &st), FT_OK);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		      "the relay did not stop cleanly");
	h_fx_assert_no_sanitizer_report(rlog);
	h_proc_stop(relay);
	relay = NULL;
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
	return h_file_count(rlog, want) > 0;
}

static void
wait_relay_log(const char *text)
{
	h_fx_fmt(want, sizeof(want), "%s", text);
	if (!h_wait_until(relay_log_has, NULL, H_FX_WAIT_MS)) {
		h_show_log("relay", rlog);
		ck_abort_msg("the relay never logged '%s'", text);
	}
}

static bool
relay_queue_empty(void *arg)
{
	(void)arg;
	return h_queue_count(rstate, "queue") == 0;
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
	h_proc_stop(relay);
	relay = NULL;
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
	ck_assert_int_eq(h_login(rsock, "p0001"), FT_OK);
	h_fx_wait_provisioned("p0001");
	h_fx_fmt(line, sizeof(line),
		 "login of 'p0001' (service 'ftest') accepted from host '%s'",
		 HOST);
	ck_assert_msg(h_file_count(h_fx.log, line) == 1, "%s", line);
	h_fx_wait_or_fail(relay_queue_empty, NULL, "the relay's queue empty");
	ck_assert_int_eq(h_queue_count(rstate, "queue/failed"), 0);
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
	ck_assert_int_eq(h_login(rsock, "p0002"), FT_OK);
	wait_relay_log("is down");
	ck_assert_int_eq(h_queue_count(rstate, "queue"), 1);
	relay_stop();
	ck_assert(h_queued(rstate, "p0002"));
	relay_start();
	wait_relay_log("still down");
	ck_assert_int_eq(h_emu_named(h_fx_emu, "p0002"), 0);
	prov_start();
	h_fx_wait_provisioned("p0002");
	h_fx_wait_or_fail(relay_queue_empty, NULL, "the relay's queue empty");
	ck_assert_int_eq(h_queue_count(rstate, "queue/failed"), 0);
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
	ck_assert_int_eq(h_login(rsock, "p0003"), FT_OK);
	h_fx_wait_provisioned("p0003");
	ck_assert_int_eq(h_file_count(rlog, first), 0);
	wait_relay_log("forwarded to https://127.0.0.1:");
	h_fx_fmt(p1, sizeof(p1), "%d", fport);
	h_fx_fmt(p2, sizeof(p2), "%d", port);
	{
		const char *const argv[] = {"python3", "-c", forward_py,
					    p1,        p2,   NULL};
		char log[PATH_MAX + 16];

		h_fx_fmt(log, sizeof(log), "%s/forward.log", rdir);
		fwd = h_proc_start(argv, log);
	}
	ck_assert_ptr_nonnull(fwd);
	h_fx_wait_or_fail(h_tcp_port_open, &fport, "the forwarder");
	/* logins until one goes by the first again (retry_primary = 2 s) */
	h_fx_fmt(want, sizeof(want), "%s", first);
	for (int i = 0; i < 40 && !relay_log_has(NULL); i++) {
		char user[16];

		h_fx_fmt(user, sizeof(user), "p%04d", 10 + i);
		ck_assert_int_eq(h_login(rsock, user), FT_OK);
		h_sleep_ms(250);
	}
	wait_relay_log(first);
	h_fx_wait_or_fail(relay_queue_empty, NULL, "the relay's queue empty");
	ck_assert_int_eq(h_queue_count(rstate, "queue/failed"), 0);
	relay_stop();
	h_fx_daemon_stop();
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
	suite_add_tcase(s, tc);
	return s;
}
