/* SPDX-License-Identifier: Apache-2.0 */
/*
 * check_hooks_e2e.c: suite 'hooks_e2e': the [hooks] on_change program
 * (syncd/hooks*.c) with `ftrack-syncd run` as a real process, a real
 * slapd and the ftrack emulator (issue 16): logins and a reconcile told
 * to the hook (and a dry run not), a hook that fails twice then takes
 * them, one that hangs (timeout; provisioning goes on), ten refusals of
 * one change (hooks/failed/, the rest goes on), the daemon killed between
 * the journal and ftrack's answer and after with changes pending, and the
 * two examples of etc/examples with their real interpreters (the webhook
 * against a local HTTP server); group and role changes ([group_map],
 * [role_map]) told from a first login and from a reconcile.
 *
 * The hook of most tests is a shell script written per test: it counts
 * its runs, can be told to hang, fail its first runs or refuse batches
 * naming someone, and appends what it took to DIR/got.  The world is the
 * daemon suites' fixture (tests/lib/h_fixture.c).
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
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

Suite *hooks_e2e_suite(void);

#define EXAMPLES FT_TEST_SRCDIR "/etc/examples"

/* The test hook: see the file comment. */
static const char hook_text[] =
	"#!/bin/sh\n"
	"D='%s'\n"
	"echo run >>\"$D/runs\"\n"
	"if [ -e \"$D/hang\" ]; then exec sleep 300; fi\n"
	"n=$(wc -l <\"$D/runs\")\n"
	"if [ -e \"$D/fail_until\" ] && [ \"$n\" -le \"$(cat \"$D/fail_until\")\" "
	"]; then exit 3; fi\n"
	"input=$(cat)\n"
	"if [ -e \"$D/refuse\" ] && printf '%%s\\n' \"$input\" | "
	"grep -q -F -f \"$D/refuse\"; then exit 4; fi\n"
	"printf '%%s\\n' \"$input\" >>\"$D/got\"\n";

static char got[PATH_MAX], runs[PATH_MAX];

static void
put_file(const char *name, const char *text, mode_t mode)
{
	char path[PATH_MAX];
	FILE *f;

	h_fx_fmt(path, sizeof(path), "%s/%s", h_fx.dir, name);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_ge(fputs(text, f), 0);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(chmod(path, mode), 0);
}

static void
rm_file(const char *name)
{
	char path[PATH_MAX];

	h_fx_fmt(path, sizeof(path), "%s/%s", h_fx.dir, name);
	ck_assert(unlink(path) == 0 || errno == ENOENT);
}

/* Write the test hook and the config naming it (extra: more lines). */
static void
hook_config(const char *extra)
{
	char text[2048], conf[2048];

	h_fx_fmt(text, sizeof(text), hook_text, h_fx.dir);
	put_file("hook.sh", text, 0755);
	h_fx_fmt(got, sizeof(got), "%s/got", h_fx.dir);
	h_fx_fmt(runs, sizeof(runs), "%s/runs", h_fx.dir);
	h_fx_fmt(conf, sizeof(conf), "hooks.on_change = %s/hook.sh\n%s",
		 h_fx.dir, extra != NULL ? extra : "");
	h_fx_config(conf);
}

/* What the hook took: the lines of DIR/got holding both texts. */
static long
took(const char *user, const char *action)
{
	char buf[1 << 16], u[128], a[128];
	long n = 0;
	char *line, *save = NULL;

	if (h_read_into(got, buf, sizeof(buf)) < 0)
		return 0;
	H_FMT(u, "\"username\":\"%s\"", user);
	H_FMT(a, "\"action\":\"%s\"", action);
	for (line = strtok_r(buf, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save))
		n += strstr(line, u) != NULL && strstr(line, a) != NULL;
	return n;
}

struct took_arg {
	const char *user, *action;
};

static bool
has_taken(void *arg)
{
	const struct took_arg *t = arg;

	return took(t->user, t->action) > 0;
}

static void
wait_taken(const char *user, const char *action)
{
	struct took_arg t = {user, action};

	h_fx_wait_or_fail(has_taken, &t, "the hook to take a change");
}

/*
 * Files in state/hooks/ (or its folder sub) whose name starts with
 * prefix (not temp files); with text, only those holding it.
 */
static long
hook_files_with(const char *sub, const char *prefix, const char *text)
{
	char path[PATH_MAX], file[PATH_MAX * 2];
	struct dirent *e;
	long n = 0;
	DIR *d;

	h_fx_fmt(path, sizeof(path), "%s/hooks%s%s", h_fx.state,
		 sub[0] ? "/" : "", sub);
	d = opendir(path);
	if (d == NULL)
		return 0;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.' || e->d_type != DT_REG ||
		    strncmp(e->d_name, prefix, strlen(prefix)) != 0)
			continue;
		H_FMT(file, "%s/%s", path, e->d_name);
		n += text == NULL || h_file_count(file, text) > 0;
	}
	(void)closedir(d);
	return n;
}

static long
hook_files(const char *sub, const char *prefix)
{
	return hook_files_with(sub, prefix, NULL);
}

static bool
runs_at_least(void *arg)
{
	return h_file_count(runs, "run") >= *(const long *)arg;
}

static bool
hooks_idle(void *arg)
{
	(void)arg;
	return hook_files("", "I") == 0 && hook_files("", "R") == 0;
}

/* ---- told, in order, once; a dry run tells nothing ---------------------- */

START_TEST(test_changes_told)
{
	static const char *const dry[] = {"reconcile", NULL};
	static const char *const apply[] = {"reconcile", "--apply", NULL};
	char ops[512], *id;
	json_t *r;

	hook_config(NULL);
	h_fx_daemon_start();
	h_fx_login("alice");
	h_fx_wait_provisioned("alice");
	h_fx_login("bob");
	h_fx_wait_provisioned("bob");
	wait_taken("alice", "created");
	wait_taken("bob", "created");
	ck_assert_int_eq(took("alice", "created"), 1);
	ck_assert_int_eq(h_file_count(got, "\"source\":\"login\""), 2);
	ck_assert_int_eq(h_file_count(got, "\"cause\":\"login\""), 2);
	ck_assert_int_eq(h_file_count(got, "\"host\":\""), 2);
	/* alice first: her change was journaled first */
	{
		char buf[8192];
		const char *a, *b;

		ck_assert_int_gt(h_read_into(got, buf, sizeof(buf)), 0);
		a = strstr(buf, "\"username\":\"alice\"");
		b = strstr(buf, "\"username\":\"bob\"");
		ck_assert(a != NULL && b != NULL && a < b);
	}
	/* someone changed alice's address in ftrack: a reconcile puts it
	 * back; the dry run tells nothing, the applied run tells it */
	id = h_emu_user_id(h_fx_emu, "alice");
	ck_assert_ptr_nonnull(id);
	H_FMT(ops,
	      "[{\"action\": \"update\", \"entity_type\": \"User\", "
	      "\"entity_key\": [\"%s\"], \"entity_data\": "
	      "{\"__entity_type__\": \"User\", \"email\": "
	      "\"other@example.com\"}}]",
	      id);
	free(id);
	r = h_emu_api(h_fx_emu, ops);
	ck_assert(json_is_array(r));
	json_decref(r);
	ck_assert_int_eq(h_fx_run_cmd(dry, "dry.out"), 4); /* changes planned */
	ck_assert_int_ge(h_fx_out_count("dry.out", "alice"), 1);
	ck_assert_int_eq(hook_files("", "I") + hook_files("", "R"), 0);
	ck_assert_int_eq(h_fx_run_cmd(apply, "apply.out"), 0);
	wait_taken("alice", "updated");
	ck_assert_int_eq(took("alice", "updated"), 1);
	ck_assert_int_eq(h_file_count(got, "\"fields\":[\"email\"]"), 1);
	ck_assert_int_eq(h_file_count(got, "\"source\":\"reconcile\""), 1);
	h_fx_wait_or_fail(hooks_idle, NULL, "the hooks folder to empty");
	h_fx_daemon_stop();
	ck_assert_int_eq(h_metric(h_fx.state, "hook_delivered_total"), 3);
	ck_assert_int_eq(h_metric(h_fx.state, "hook_pending"), 0);
}

END_TEST

/* ---- refused twice, then taken: delivered once more, nothing lost ------- */

START_TEST(test_fails_twice)
{
	long three = 3;

	ck_assert_int_eq(setenv("FTRACK_SYNCD_TEST_HOOK_BACKOFF_MS", "200", 1),
			 0);
	hook_config(NULL);
	put_file("fail_until", "2\n", 0644);
	h_fx_daemon_start();
	h_fx_login("alice");
	h_fx_wait_provisioned("alice");
	h_fx_wait_or_fail(runs_at_least, &three, "three runs of the hook");
	wait_taken("alice", "created");
	h_fx_wait_or_fail(hooks_idle, NULL, "the hooks folder to empty");
	ck_assert_int_eq(h_file_count(runs, "run"), 3);
	ck_assert_int_eq(took("alice", "created"), 1);
	ck_assert_int_eq(h_file_count(h_fx.log, "(refusal 2 of 10)"), 1);
	ck_assert_int_eq(h_file_count(h_fx.log, "exit status 3"), 2);
	h_fx_daemon_stop();
	ck_assert_int_eq(h_metric(h_fx.state, "hook_refused_total"), 2);
	ck_assert_int_eq(h_metric(h_fx.state, "hook_delivered_total"), 1);
}

END_TEST

/* ---- a hook that hangs: stopped at hook_timeout, logins go on ----------- */

START_TEST(test_hang)
{
	long two = 2;

	ck_assert_int_eq(setenv("FTRACK_SYNCD_TEST_HOOK_BACKOFF_MS", "200", 1),
			 0);
	hook_config("hooks.hook_timeout = 1\n");
	put_file("hang", "", 0644);
	h_fx_daemon_start();
	h_fx_login("alice");
	h_fx_wait_provisioned("alice");
	/* the hook hangs on alice's change while bob is provisioned */
	h_fx_wait_or_fail(runs_at_least, &two, "the hook to be run twice");
	h_fx_login("bob");
	h_fx_wait_provisioned("bob");
	ck_assert_int_ge(h_file_count(h_fx.log, "still running after 1 s: "
						"stopped"),
			 1);
	ck_assert_int_eq(took("alice", "created"), 0);
	rm_file("hang");
	wait_taken("alice", "created");
	wait_taken("bob", "created");
	h_fx_wait_or_fail(hooks_idle, NULL, "the hooks folder to empty");
	ck_assert_int_eq(took("alice", "created"), 1);
	ck_assert_int_eq(took("bob", "created"), 1);
	h_fx_daemon_stop();
}

END_TEST

/* ---- ten refusals: hooks/failed/, and the rest goes on ------------------ */

START_TEST(test_ten_refusals)
{
	ck_assert_int_eq(setenv("FTRACK_SYNCD_TEST_HOOK_BACKOFF_MS", "50", 1),
			 0);
	hook_config(NULL);
	put_file("refuse", "\"username\":\"alice\"\n", 0644);
	h_fx_daemon_start();
	h_fx_login("alice");
	h_fx_wait_provisioned("alice");
	h_fx_login("bob");
	h_fx_wait_provisioned("bob");
	wait_taken("bob", "created");
	h_fx_wait_or_fail(hooks_idle, NULL, "the hooks folder to empty");
	ck_assert_int_eq(took("alice", "created"), 0);
	ck_assert_int_eq(took("bob", "created"), 1);
	ck_assert_int_eq(hook_files("failed", ""), 1);
	ck_assert_int_eq(h_file_count(h_fx.log, "refused 10 times"), 1);
	ck_assert_int_eq(h_file_count(runs, "run"), 11);
	ck_assert_int_eq(
		hook_files_with("failed", "", "\"username\":\"alice\""), 1);
	h_fx_daemon_stop();
	ck_assert_int_eq(h_metric(h_fx.state, "hook_failed_total"), 1);
	ck_assert_int_eq(h_metric(h_fx.state, "hook_failed_depth"), 1);
	{
		static const char *const status[] = {"status", NULL};

		ck_assert_int_eq(h_fx_run_cmd(status, "status.out"), 0);
		ck_assert_int_eq(h_fx_out_count("status.out",
						"hooks:           0 pending "
						"(0 bytes), 0 being written, "
						"1 failed"),
				 1);
	}
}

END_TEST

/* ---- SIGKILL between the journal and ftrack's answer -------------------- */

static bool
intent_there(void *arg)
{
	(void)arg;
	return hook_files("", "I") > 0;
}

/* The write's request reached the emulator: its fault was taken. */
static bool
fault_taken(void *arg)
{
	(void)arg;
	return h_emu_stat(h_fx_emu, "faults_pending") == 0;
}

static bool
alice_in_ftrack(void *arg)
{
	(void)arg;
	return h_emu_named(h_fx_emu, "alice") == 1;
}

static void
kill_daemon(void)
{
	int st = 0;

	ck_assert_int_eq(h_proc_signal(h_fx.d, SIGKILL), FT_OK);
	ck_assert_int_eq(h_proc_wait(h_fx.d, H_FX_WAIT_MS, &st), FT_OK);
	ck_assert(WIFSIGNALED(st));
	h_proc_stop(h_fx.d);
	h_fx.d = NULL;
}

/*
 * The write of alice is delayed by the emulator (it lands after the
 * daemon is gone): the intent is left unsettled; after the restart the
 * delivery finds alice in ftrack and tells the hook, once; her queued
 * login finds nothing left to do.
 */
START_TEST(test_kill_before_applied)
{
	hook_config(NULL);
	h_fx_daemon_start();
	/* the look-up goes through; the write waits 3 s, then lands */
	ck_assert_int_eq(h_emu_control(h_fx_emu, "/_emulator/fault",
				       "{\"skip\": 1, \"delay_ms\": 3000}"),
			 FT_OK);
	h_fx_login("alice");
	h_fx_wait_or_fail(intent_there, NULL, "alice's intent");
	h_fx_wait_or_fail(fault_taken, NULL, "alice's write to be sent");
	kill_daemon();
	h_fx_wait_or_fail(alice_in_ftrack, NULL, "alice's write to land");
	ck_assert_int_eq(took("alice", "created"), 0);
	ck_assert_int_eq(hook_files("", "I"), 1);
	h_fx_daemon_start();
	wait_taken("alice", "created");
	h_fx_wait_or_fail(h_fx_queue_empty, NULL, "the queue to empty");
	h_fx_wait_or_fail(hooks_idle, NULL, "the hooks folder to empty");
	h_fx_login("bob"); /* a barrier: after alice's retry */
	wait_taken("bob", "created");
	ck_assert_int_eq(took("alice", "created"), 1);
	ck_assert_int_eq(h_file_count(h_fx.log, "1 change(s) found in ftrack"),
			 1);
	h_fx_assert_once("alice");
	h_fx_daemon_stop();
}

END_TEST

/*
 * The write of alice never reaches ftrack (the emulator drops the
 * connection before it runs it) and the daemon dies: the intent is
 * dropped at the restart (ftrack does not show it), her queued login is
 * provisioned again and that write is told, once.
 */
START_TEST(test_kill_write_lost)
{
	hook_config(NULL);
	h_fx_daemon_start();
	ck_assert_int_eq(h_emu_control(h_fx_emu, "/_emulator/fault",
				       "{\"skip\": 1, \"delay_ms\": 3000, "
				       "\"drop\": true}"),
			 FT_OK);
	h_fx_login("alice");
	h_fx_wait_or_fail(intent_there, NULL, "alice's intent");
	h_fx_wait_or_fail(fault_taken, NULL, "alice's write to be sent");
	kill_daemon();
	ck_assert_int_eq(h_emu_named(h_fx_emu, "alice"), 0);
	h_fx_daemon_start();
	h_fx_wait_provisioned("alice");
	wait_taken("alice", "created");
	h_fx_wait_or_fail(hooks_idle, NULL, "the hooks folder to empty");
	ck_assert_int_eq(took("alice", "created"), 1);
	ck_assert_int_eq(h_file_count(h_fx.log, "0 change(s) found in ftrack "
						"(to deliver), 1 not"),
			 1);
	h_fx_daemon_stop();
}

END_TEST

/* Killed with applied changes pending: delivered after the restart. */
START_TEST(test_kill_pending)
{
	long one = 1;

	ck_assert_int_eq(setenv("FTRACK_SYNCD_TEST_HOOK_BACKOFF_MS", "200", 1),
			 0);
	hook_config(NULL);
	put_file("fail_until", "1000\n", 0644);
	h_fx_daemon_start();
	h_fx_login("alice");
	h_fx_wait_provisioned("alice");
	h_fx_wait_or_fail(runs_at_least, &one, "a refused run");
	kill_daemon();
	ck_assert_int_eq(hook_files("", "R"), 1);
	rm_file("fail_until");
	h_fx_daemon_start();
	wait_taken("alice", "created");
	h_fx_wait_or_fail(hooks_idle, NULL, "the hooks folder to empty");
	ck_assert_int_eq(took("alice", "created"), 1);
	h_fx_daemon_stop();
}

END_TEST

/* ---- check: the file rule, and who runs the hook ------------------------ */

START_TEST(test_check)
{
	static const char *const check[] = {"check", NULL};
	char path[PATH_MAX];

	hook_config(NULL);
	ck_assert_int_eq(h_fx_run_cmd(check, "check.out"), 0);
	ck_assert_int_eq(h_fx_out_count("check.out", "hook:    ok: "), 1);
	ck_assert_int_eq(h_fx_out_count("check.out", "the daemon runs the "
						     "hook itself, with its "
						     "own rights"),
			 1);
	h_fx_fmt(path, sizeof(path), "%s/hook.sh", h_fx.dir);
	ck_assert_int_eq(chmod(path, 0775), 0);
	ck_assert_int_eq(h_fx_run_cmd(check, "check2.out"), 1);
	ck_assert_int_eq(h_fx_out_count("check2.out", "hook:    FAILED: "
						      "on_change: "),
			 1);
	ck_assert_int_eq(h_fx_out_count("check2.out", "writable by group or "
						      "others"),
			 1);
	h_fx_assert_out_clean("check2.out");
}

END_TEST

/* ---- the examples, with their real interpreters ------------------------- */

/* A copy of example name in the test folder with its `var=` line set. */
static void
example_copy(const char *name, const char *var, const char *value)
{
	char src[PATH_MAX], buf[8192], out[8192], *line, *save = NULL;
	size_t len = 0;

	h_fx_fmt(src, sizeof(src), "%s/%s", EXAMPLES, name);
	ck_assert_int_gt(h_read_into(src, buf, sizeof(buf)), 0);
	out[0] = '\0';
	for (line = strtok_r(buf, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		int n;

		if (strncmp(line, var, strlen(var)) == 0 &&
		    line[strlen(var)] == '=')
			n = snprintf(out + len, sizeof(out) - len, "%s=%s\n",
				     var, value);
		else
			n = snprintf(out + len, sizeof(out) - len, "%s\n",
				     line);
		ck_assert(n > 0 && (size_t)n < sizeof(out) - len);
		len += (size_t)n;
	}
	put_file(name, out, 0755);
}

START_TEST(test_example_log)
{
	char log[PATH_MAX], conf[1024];

	h_fx_fmt(log, sizeof(log), "%s/changes.log", h_fx.dir);
	example_copy("on-change-log.sh", "LOG", log);
	h_fx_fmt(conf, sizeof(conf), "hooks.on_change = %s/on-change-log.sh\n",
		 h_fx.dir);
	h_fx_config(conf);
	h_fx_daemon_start();
	h_fx_login("alice");
	h_fx_login("bob");
	h_fx_wait_provisioned("alice");
	h_fx_wait_provisioned("bob");
	h_fx_wait_or_fail(hooks_idle, NULL, "the hooks folder to empty");
	ck_assert_int_eq(h_file_count(log, "\"action\":\"created\""), 2);
	ck_assert_int_eq(
		h_file_count(log, "\"cause\":\"login\",\"username\":\"alice\""),
		1);
	ck_assert_int_eq(
		h_file_count(log, "\"cause\":\"login\",\"username\":\"bob\""),
		1);
	h_fx_daemon_stop();
}

END_TEST

static char port_file[PATH_MAX];

static bool
port_written(void *arg)
{
	(void)arg;
	return access(port_file, F_OK) == 0;
}

static bool
posted_two(void *arg)
{
	return h_file_count(arg, "application/json {\"id\":") >= 2;
}

START_TEST(test_example_webhook)
{
	char posts[PATH_MAX], url[256], conf[1024], pbuf[32];
	const char *argv[] = {"python3",
			      FT_TEST_SRCDIR "/tests/lib/webhook_recorder.py",
			      posts, port_file, NULL};
	struct h_proc *srv;

	h_fx_fmt(posts, sizeof(posts), "%s/posts", h_fx.dir);
	h_fx_fmt(port_file, sizeof(port_file), "%s/port", h_fx.dir);
	srv = h_proc_start(argv, NULL);
	ck_assert_ptr_nonnull(srv);
	h_fx_wait_or_fail(port_written, NULL, "the webhook server");
	ck_assert_int_gt(h_read_into(port_file, pbuf, sizeof(pbuf)), 0);
	pbuf[strcspn(pbuf, "\n")] = '\0';
	H_FMT(url, "http://127.0.0.1:%s/ftrack", pbuf);
	example_copy("on-change-webhook.sh", "URL", url);
	h_fx_fmt(conf, sizeof(conf),
		 "hooks.on_change = %s/on-change-webhook.sh\n", h_fx.dir);
	h_fx_config(conf);
	h_fx_daemon_start();
	h_fx_login("alice");
	h_fx_login("bob");
	h_fx_wait_provisioned("alice");
	h_fx_wait_provisioned("bob");
	h_fx_wait_or_fail(posted_two, posts, "two posts");
	h_fx_wait_or_fail(hooks_idle, NULL, "the hooks folder to empty");
	ck_assert_int_eq(
		h_file_count(posts,
			     "\"cause\":\"login\",\"username\":\"alice\""),
		1);
	ck_assert_int_eq(
		h_file_count(posts, "\"cause\":\"login\",\"username\":\"bob\""),
		1);
	ck_assert_int_eq(h_file_count(posts, "application/json "), 2);
	h_fx_daemon_stop();
	h_proc_stop(srv);
}

END_TEST

/* ---- group and role changes: at login and from a reconcile -------------- */

#define HG    "ou=groups,dc=example,dc=com"
#define HCOMP "7b000000-0000-4000-8000-000000000001"
#define HLGT  "7b000000-0000-4000-8000-000000000002"

static void
emu_group(const char *id, const char *name)
{
	char ops[512];
	json_t *res;

	H_FMT(ops,
	      "[{\"action\": \"create\", \"entity_type\": \"Group\", "
	      "\"entity_key\": [\"%s\"], \"entity_data\": "
	      "{\"__entity_type__\": \"Group\", \"id\": \"%s\", "
	      "\"name\": \"%s\", \"local\": false}}]",
	      id, id, name);
	res = h_emu_api(h_fx_emu, ops);
	ck_assert_msg(json_is_array(res), "group %s not made", name);
	json_decref(res);
}

/* The hook's lines holding all three texts. */
static long
took3(const char *a, const char *b, const char *c)
{
	char buf[1 << 16];
	long n = 0;
	char *line, *save = NULL;

	if (h_read_into(got, buf, sizeof(buf)) < 0)
		return 0;
	for (line = strtok_r(buf, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save))
		n += strstr(line, a) != NULL && strstr(line, b) != NULL &&
		     strstr(line, c) != NULL;
	return n;
}

START_TEST(test_group_changes_told)
{
	static const char *const dry[] = {"reconcile", NULL};
	static const char *const apply[] = {"reconcile", "--apply", NULL};

	ck_assert_int_eq(
		h_slapd_modify(h_fx_slapd,
			       "dn: cn=hookcomp," HG "\nchangetype: add\n"
			       "objectClass: groupOfNames\ncn: hookcomp\n"
			       "member: uid=alice,ou=people,dc=example,dc=com"
			       "\nmember: uid=bob,ou=people,dc=example,dc=com"
			       "\n\n"
			       "dn: cn=hooklight," HG "\nchangetype: add\n"
			       "objectClass: groupOfNames\ncn: hooklight\n"
			       "member: uid=bob,ou=people,dc=example,dc=com"
			       "\n"),
		FT_OK);
	emu_group(HCOMP, "Compositing");
	emu_group(HLGT, "Lighting");
	hook_config("groups.search_base = " HG "\n"
		    "groups.max_removals = 100%\n"
		    "group_map.Compositing = hookcomp\n"
		    "group_map.Lighting = hooklight\n"
		    "group_map.Rendering = hooklight\n" /* not in ftrack */
		    "role_map.Supervisor = hookcomp\n");
	h_fx_daemon_start();
	/* first login: created, then her team and role, from the login */
	h_fx_login("alice");
	h_fx_wait_provisioned("alice");
	wait_taken("alice", "created");
	wait_taken("alice", "group_add");
	wait_taken("alice", "role_grant");
	ck_assert_int_eq(took3("\"action\":\"group_add\"",
			       "\"group\":\"Compositing\"",
			       "\"source\":\"login\""),
			 1);
	ck_assert_int_eq(took3("\"action\":\"role_grant\"",
			       "\"role\":\"Supervisor\"", "\"host\":\""),
			 1);
	ck_assert_int_eq(took("alice", "group_remove"), 0);
	h_fx_wait_or_fail(hooks_idle, NULL, "the hooks folder to empty");
	/* she moves to lighting; a dry run journals nothing */
	ck_assert_int_eq(
		h_slapd_modify(h_fx_slapd,
			       "dn: cn=hookcomp," HG "\nchangetype: modify\n"
			       "delete: member\n"
			       "member: uid=alice,ou=people,dc=example,dc=com"
			       "\n\n"
			       "dn: cn=hooklight," HG "\nchangetype: modify\n"
			       "add: member\n"
			       "member: uid=alice,ou=people,dc=example,dc=com"
			       "\n"),
		FT_OK);
	ck_assert_int_eq(h_fx_run_cmd(dry, "dry.out"), 4);
	ck_assert_int_ge(h_fx_out_count("dry.out", "group_remove"), 1);
	ck_assert_int_eq(hook_files("", "I") + hook_files("", "R"), 0);
	ck_assert_int_eq(h_fx_run_cmd(apply, "apply.out"), 0);
	wait_taken("alice", "group_remove");
	wait_taken("alice", "role_revoke");
	h_fx_wait_or_fail(hooks_idle, NULL, "the hooks folder to empty");
	ck_assert_int_eq(took3("\"action\":\"group_remove\"",
			       "\"group\":\"Compositing\"",
			       "\"source\":\"reconcile\""),
			 1);
	ck_assert_int_eq(took3("\"action\":\"role_revoke\"",
			       "\"role\":\"Supervisor\"",
			       "\"cause\":\"reconcile\""),
			 1);
	ck_assert_int_eq(took3("\"action\":\"group_add\"",
			       "\"group\":\"Lighting\"",
			       "\"username\":\"alice\""),
			 1);
	h_fx_daemon_stop();
	/* the login path's counters: one membership, one role; the line
	 * naming a group ftrack does not have is left out */
	ck_assert_int_eq(h_metric(h_fx.state, "group_names_resolved"), 3);
	ck_assert_int_eq(h_metric(h_fx.state, "group_names_missing"), 1);
	ck_assert_int_eq(h_metric(h_fx.state, "group_name_failures_total"), 1);
	ck_assert_int_eq(h_metric(h_fx.state, "group_changes_total{action="
					      "\"group_add\"}"),
			 1);
	ck_assert_int_eq(h_metric(h_fx.state, "group_changes_total{action="
					      "\"role_grant\"}"),
			 1);
	ck_assert_int_ge(h_file_count(h_fx.log, "[group_map] Rendering"), 1);
	ck_assert_int_eq(h_slapd_modify(h_fx_slapd, "dn: cn=hookcomp," HG
						    "\nchangetype: delete\n\n"
						    "dn: cn=hooklight," HG
						    "\nchangetype: delete\n"),
			 FT_OK);
}

END_TEST

static bool
reconcile_finished(void *arg)
{
	(void)arg;
	return h_file_count(h_fx.log, "reconcile finished") >= 1;
}

/* The daemon reads the mapped ftrack names again after a reconcile it
 * ran: a group made in ftrack since is given at the next login. */
START_TEST(test_group_names_refreshed)
{
	ck_assert_int_eq(
		h_slapd_modify(h_fx_slapd,
			       "dn: cn=hookrend," HG "\nchangetype: add\n"
			       "objectClass: groupOfNames\ncn: hookrend\n"
			       "member: uid=alice,ou=people,dc=example,dc=com"
			       "\nmember: uid=bob,ou=people,dc=example,dc=com"
			       "\n"),
		FT_OK);
	emu_group(HCOMP, "Compositing");
	hook_config("groups.search_base = " HG "\n"
		    "group_map.Compositing = hookrend\n"
		    "group_map.Rendering = hookrend\n");
	h_fx_daemon_start();
	h_fx_login("alice");
	h_fx_wait_provisioned("alice");
	wait_taken("alice", "group_add");
	ck_assert_int_eq(took3("\"action\":\"group_add\"",
			       "\"group\":\"Rendering\"", "\"username\""),
			 0);
	/* Rendering made in ftrack; the daemon runs a reconcile */
	emu_group(HLGT, "Rendering");
	ck_assert_int_eq(h_proc_signal(h_fx.d, SIGUSR1), FT_OK);
	h_fx_wait_or_fail(reconcile_finished, NULL, "the reconcile to end");
	h_fx_login("bob");
	h_fx_wait_provisioned("bob");
	wait_taken("bob", "group_add");
	h_fx_wait_or_fail(hooks_idle, NULL, "the hooks folder to empty");
	ck_assert_int_eq(took3("\"action\":\"group_add\"",
			       "\"group\":\"Rendering\"",
			       "\"username\":\"bob\""),
			 1);
	ck_assert_int_eq(took3("\"group\":\"Rendering\"",
			       "\"username\":\"bob\"", "\"source\":\"login\""),
			 1);
	h_fx_daemon_stop();
	ck_assert_int_eq(h_metric(h_fx.state, "group_names_missing"), 0);
	ck_assert_int_eq(h_metric(h_fx.state, "group_names_resolved"), 2);
	ck_assert_int_eq(h_slapd_modify(h_fx_slapd, "dn: cn=hookrend," HG
						    "\nchangetype: delete\n"),
			 FT_OK);
}

END_TEST

Suite *
hooks_e2e_suite(void)
{
	Suite *s = suite_create("hooks_e2e");
	TCase *tc = tcase_create("hooks_e2e");

	tcase_set_timeout(tc, 120);
	tcase_add_unchecked_fixture(tc, h_fx_servers_setup,
				    h_fx_servers_teardown);
	tcase_add_checked_fixture(tc, h_fx_world_setup, h_fx_world_teardown);
	tcase_add_test(tc, test_changes_told);
	tcase_add_test(tc, test_group_changes_told);
	tcase_add_test(tc, test_group_names_refreshed);
	tcase_add_test(tc, test_fails_twice);
	tcase_add_test(tc, test_hang);
	tcase_add_test(tc, test_ten_refusals);
	tcase_add_test(tc, test_kill_before_applied);
	tcase_add_test(tc, test_kill_write_lost);
	tcase_add_test(tc, test_kill_pending);
	tcase_add_test(tc, test_check);
	tcase_add_test(tc, test_example_log);
	tcase_add_test(tc, test_example_webhook);
	suite_add_tcase(s, tc);
	return s;
}
