/* SPDX-License-Identifier: Apache-2.0 */
/* check_harness.c: the integration-test harness itself works. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <ldap.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ft_err.h"
#include "ft_util.h"
#include "harness.h"

Suite *harness_suite(void);

#define JOERG_CN "J\xc3\xb6rg M\xc3\xbcller"
#define META_UID "st*r(x)\\5c"

static const char slapd_sh[] = FT_TEST_SRCDIR "/tests/slapd.sh";

/* Shared servers of the unchecked fixtures (started in the runner). */
static struct h_slapd *g_slapd;
static struct h_emu *g_emu;

static void
slapd_setup(void)
{
	g_slapd = h_slapd_start(H_LDIF_PEOPLE, 0);
}

static void
slapd_teardown(void)
{
	h_slapd_stop(g_slapd);
	g_slapd = NULL;
}

static void
emu_setup(void)
{
	g_emu = h_emu_start(NULL);
}

static void
emu_teardown(void)
{
	h_emu_stop(g_emu);
	g_emu = NULL;
}

/* Count entries under ou=people matching filter, anonymously. */
static int
count_people(const struct h_slapd *s, const char *filter)
{
	int n = -1;

	ck_assert_int_eq(h_ldap_count(h_slapd_uri(s), NULL, NULL, H_LDAP_PEOPLE,
				      filter, &n),
			 LDAP_SUCCESS);
	return n;
}

static void
assert_values(const struct h_slapd *s, const char *filter, const char *attr,
	      const char *want)
{
	char *got = h_ldap_values(h_slapd_uri(s), filter, attr);

	ck_assert_ptr_nonnull(got);
	ck_assert_str_eq(got, want);
	free(got);
}

/* ---- the shared slapd ------------------------------------------------ */

START_TEST(test_slapd_search)
{
	ck_assert_ptr_nonnull(g_slapd);
	ck_assert_int_eq(count_people(g_slapd, "(uid=alice)"), 1);
	ck_assert_int_eq(count_people(g_slapd, "(objectClass=inetOrgPerson)"),
			 H_LDAP_NPEOPLE);
	assert_values(g_slapd, "(uid=alice)", "mail", "alice@example.com\n");
	assert_values(g_slapd, "(uid=multi)", "mail",
		      "maria.multi@example.com\nmia@example.com\n");
	assert_values(g_slapd, "(uid=multi)", "givenName", "Maria\nMia\n");
	assert_values(g_slapd, "(uid=nobody)", "mail", "");
}

END_TEST

START_TEST(test_slapd_hard_cases)
{
	assert_values(g_slapd, "(uid=joerg)", "cn", JOERG_CN "\n");
	assert_values(g_slapd, "(uid=zoe)", "sn", "\xc3\x85ngstr\xc3\xb6m\n");
	assert_values(g_slapd, "(uid=nomail)", "mail", "");
	assert_values(g_slapd, "(uid=nomail)", "uid", "nomail\n");
	assert_values(g_slapd, H_LDAP_DISABLED, "uid", "gone\n");
	/* unescaped, '*' is a wildcard; escaped, it matches only itself */
	ck_assert_int_eq(count_people(g_slapd, "(uid=star*)"), 2);
	ck_assert_int_eq(count_people(g_slapd, "(uid=star\\2a)"), 0);
	ck_assert_int_eq(count_people(g_slapd, "(uid=st*r)"), 1);
}

END_TEST

START_TEST(test_slapd_metachar_uid)
{
	char uid[] = META_UID;
	struct berval in = {sizeof(uid) - 1, uid};
	struct berval out = {0, NULL};
	char filter[128];

	/* libldap's RFC 4515 escape of the literal uid finds exactly it */
	ck_assert_int_eq(ldap_bv2escaped_filter_value(&in, &out), 0);
	ck_assert_str_eq(out.bv_val, "st\\2Ar\\28x\\29\\5C5c");
	snprintf(filter, sizeof(filter), "(uid=%s)", out.bv_val);
	ber_memfree(out.bv_val);
	ck_assert_int_eq(count_people(g_slapd, filter), 1);
	assert_values(g_slapd, filter, "uid", META_UID "\n");
}

END_TEST

START_TEST(test_slapd_sync_account)
{
	const char *uri = h_slapd_uri(g_slapd);
	int n = -1;

	ck_assert_int_eq(h_ldap_bind(uri, H_LDAP_SYNC_DN, H_LDAP_SYNC_PW),
			 LDAP_SUCCESS);
	ck_assert_int_eq(h_ldap_bind(uri, H_LDAP_SYNC_DN, "wrong"),
			 LDAP_INVALID_CREDENTIALS);
	ck_assert_int_eq(h_ldap_bind(uri, H_LDAP_ROOT_DN, H_LDAP_ROOT_PW),
			 LDAP_SUCCESS);
	ck_assert_int_eq(h_ldap_count(uri, H_LDAP_SYNC_DN, H_LDAP_SYNC_PW,
				      H_LDAP_PEOPLE, "(uid=*)", &n),
			 LDAP_SUCCESS);
	ck_assert_int_eq(n, H_LDAP_NPEOPLE);
	/* userPassword serves binds but is not readable */
	ck_assert_int_eq(
		h_ldap_bind(uri, "uid=alice," H_LDAP_PEOPLE, "alice-secret"),
		LDAP_SUCCESS);
	assert_values(g_slapd, "(uid=alice)", "userPassword", "");
	ck_assert_int_eq(count_people(g_slapd, "(userPassword=*)"), 0);
}

END_TEST

/* ---- slapd lifecycle (own servers) ----------------------------------- */

START_TEST(test_slapd_sizelimit)
{
	struct h_slapd *s = h_slapd_start(H_LDIF_PEOPLE, 5);
	const char *uri;
	int n = -1;

	ck_assert_ptr_nonnull(s);
	uri = h_slapd_uri(s);
	ck_assert_int_eq(h_ldap_count(uri, H_LDAP_SYNC_DN, H_LDAP_SYNC_PW,
				      H_LDAP_PEOPLE, "(uid=*)", &n),
			 LDAP_SIZELIMIT_EXCEEDED);
	ck_assert_int_eq(n, 5);
	ck_assert_int_eq(
		h_ldap_count(uri, NULL, NULL, H_LDAP_PEOPLE, "(uid=*)", &n),
		LDAP_SIZELIMIT_EXCEEDED);
	ck_assert_int_eq(h_ldap_count(uri, H_LDAP_SYNC_DN, H_LDAP_SYNC_PW,
				      H_LDAP_PEOPLE, "(uid=alice)", &n),
			 LDAP_SUCCESS);
	ck_assert_int_eq(n, 1);
	/* the rootdn is exempt */
	ck_assert_int_eq(h_ldap_count(uri, H_LDAP_ROOT_DN, H_LDAP_ROOT_PW,
				      H_LDAP_PEOPLE, "(uid=*)", &n),
			 LDAP_SUCCESS);
	ck_assert_int_eq(n, H_LDAP_NPEOPLE);
	h_slapd_stop(s);
}

END_TEST

START_TEST(test_slapd_stop_leaves_nothing)
{
	struct h_slapd *s = h_slapd_start(H_LDIF_PEOPLE, 0);
	struct stat st;
	char *dir;
	pid_t pid;

	ck_assert_ptr_nonnull(s);
	pid = h_slapd_pid(s);
	ck_assert_int_gt(pid, 0);
	dir = strdup(h_slapd_dir(s));
	ck_assert_int_eq(stat(dir, &st), 0);
	h_slapd_stop(s);
	ck_assert_int_eq(kill(pid, 0), -1);
	ck_assert_int_eq(errno, ESRCH);
	ck_assert_int_eq(stat(dir, &st), -1);
	ck_assert_int_eq(errno, ENOENT);
	free(dir);
	h_slapd_stop(NULL);
}

END_TEST

static const char mod_alice[] = "dn: uid=alice,ou=people,dc=example,dc=com\n"
				"changetype: modify\n"
				"replace: mail\n"
				"mail: alice.archer@example.com\n";

static const char add_henry[] = "dn: uid=henry,ou=people,dc=example,dc=com\n"
				"changetype: add\n"
				"objectClass: inetOrgPerson\n"
				"uid: henry\n"
				"cn: Henry Hill\n"
				"sn: Hill\n";

START_TEST(test_slapd_modify_restart)
{
	struct h_slapd *s = h_slapd_start(H_LDIF_PEOPLE, 0);
	char *uri;
	pid_t pid;

	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(h_slapd_modify(s, mod_alice), FT_OK);
	ck_assert_int_eq(h_slapd_modify(s, add_henry), FT_OK);
	assert_values(s, "(uid=alice)", "mail", "alice.archer@example.com\n");
	/* adding henry again fails, and says so */
	ck_assert_int_eq(h_slapd_modify(s, add_henry), FT_E_LDAP);
	uri = strdup(h_slapd_uri(s));
	pid = h_slapd_pid(s);
	ck_assert_int_eq(h_slapd_restart(s), FT_OK);
	ck_assert_str_eq(h_slapd_uri(s), uri);
	ck_assert_int_ne(h_slapd_pid(s), pid);
	ck_assert_int_eq(kill(pid, 0), -1);
	assert_values(s, "(uid=alice)", "mail", "alice.archer@example.com\n");
	assert_values(s, "(uid=henry)", "cn", "Henry Hill\n");
	ck_assert_int_eq(count_people(s, "(uid=*)"), H_LDAP_NPEOPLE + 1);
	free(uri);
	h_slapd_stop(s);
}

END_TEST

START_TEST(test_slapd_down_and_back)
{
	struct h_slapd *s = h_slapd_start(H_LDIF_PEOPLE, 0);

	ck_assert_ptr_nonnull(s);
	h_slapd_down(s);
	ck_assert_int_eq(h_slapd_pid(s), 0);
	ck_assert_int_eq(h_ldap_bind(h_slapd_uri(s), NULL, NULL),
			 LDAP_SERVER_DOWN);
	ck_assert_int_eq(h_slapd_restart(s), FT_OK);
	ck_assert_int_eq(count_people(s, "(uid=alice)"), 1);
	h_slapd_down(s);
	h_slapd_stop(s);
}

END_TEST

START_TEST(test_slapd_pause)
{
	struct h_slapd *s = h_slapd_start(H_LDIF_PEOPLE, 0);
	int rc;

	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(h_slapd_pause(s), FT_OK);
	/* the kernel still accepts the connection; the bind gets no answer */
	rc = h_ldap_bind(h_slapd_uri(s), NULL, NULL);
	ck_assert_msg(rc == LDAP_TIMEOUT || rc == LDAP_SERVER_DOWN,
		      "bind to a paused slapd: %s", ldap_err2string(rc));
	ck_assert_int_eq(h_slapd_resume(s), FT_OK);
	ck_assert_int_eq(h_ldap_bind(h_slapd_uri(s), NULL, NULL), LDAP_SUCCESS);
	/* stop works on a paused slapd too */
	ck_assert_int_eq(h_slapd_pause(s), FT_OK);
	h_slapd_stop(s);
}

END_TEST

static bool
conf_ok(const char *dir, const char *limit)
{
	const char *conf_argv[] = {"/bin/bash", slapd_sh, "conf", dir,
				   "3890",      limit,    NULL};
	char path[512];
	const char *test_argv[] = {"slaptest", "-u", "-f", path, NULL};
	int st = -1;

	snprintf(path, sizeof(path), "%s/slapd.conf", dir);
	ck_assert_int_eq(h_run(conf_argv, NULL, 10000, &st), FT_OK);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	ck_assert_int_eq(h_run(test_argv, NULL, 10000, &st), FT_OK);
	return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

START_TEST(test_slapd_conf_only)
{
	char *dir = h_tmpdir(), path[512], *text;

	ck_assert_ptr_nonnull(dir);
	snprintf(path, sizeof(path), "%s/slapd.conf", dir);
	ck_assert(conf_ok(dir, "7"));
	text = h_read_file(path, NULL);
	ck_assert_ptr_nonnull(strstr(text, "\nsizelimit 7\n"));
	ck_assert_ptr_null(strstr(text, "limits dn.exact"));
	ck_assert_ptr_null(strstr(text, "slapd.d"));
	free(text);
	ck_assert(conf_ok(dir, NULL));
	text = h_read_file(path, NULL);
	ck_assert_ptr_null(strstr(text, "sizelimit"));
	ck_assert_ptr_nonnull(strstr(text, "limits dn.exact=\"" H_LDAP_SYNC_DN
					   "\" size.prtotal=unlimited "
					   "size=unlimited\n"));
	free(text);
	h_rmtree(dir);
	free(dir);
}

END_TEST

START_TEST(test_slapd_bad_ldif)
{
	char *dir = h_tmpdir(), path[512];
	struct h_slapd *s;

	ck_assert_ptr_nonnull(dir);
	snprintf(path, sizeof(path), "%s/bad.ldif", dir);
	ck_assert_int_eq(h_write_file(path,
				      "dn: dc=other,dc=org\n"
				      "objectClass: dcObject\n",
				      0600),
			 FT_OK);
	s = h_slapd_start(path, 0);
	ck_assert_ptr_null(s);
	h_rmtree(dir);
	free(dir);
}

END_TEST

/* ---- processes, files, waiting --------------------------------------- */

START_TEST(test_proc_exit_and_log)
{
	char *dir = h_tmpdir(), log[512], *text;
	const char *argv[] = {"sh", "-c", "echo out; echo err >&2; exit 3",
			      NULL};
	const char *bad[] = {"/nonexistent/program", NULL};
	int st = -1;

	ck_assert_ptr_nonnull(dir);
	snprintf(log, sizeof(log), "%s/log", dir);
	ck_assert_int_eq(h_run(argv, log, 10000, &st), FT_OK);
	ck_assert(WIFEXITED(st));
	ck_assert_int_eq(WEXITSTATUS(st), 3);
	text = h_read_file(log, NULL);
	ck_assert_str_eq(text, "out\nerr\n");
	free(text);
	ck_assert_int_eq(h_run(bad, NULL, 10000, &st), FT_OK);
	ck_assert_int_eq(WEXITSTATUS(st), 127);
	h_rmtree(dir);
	free(dir);
}

END_TEST

START_TEST(test_proc_wait_signal_stop)
{
	const char *argv[] = {"sleep", "30", NULL};
	struct h_proc *p = h_proc_start(argv, NULL);
	int st = -1;
	pid_t pid;

	ck_assert_ptr_nonnull(p);
	pid = h_proc_pid(p);
	ck_assert_int_eq(getpgid(pid), pid);
	ck_assert_int_eq(h_proc_wait(p, 50, &st), FT_E_AGAIN);
	ck_assert_int_eq(h_proc_signal(p, SIGUSR1), FT_OK);
	ck_assert_int_eq(h_proc_wait(p, 5000, &st), FT_OK);
	ck_assert(WIFSIGNALED(st));
	ck_assert_int_eq(WTERMSIG(st), SIGUSR1);
	/* reaped: no signal may reach a recycled pid */
	ck_assert_int_eq(h_proc_signal(p, SIGTERM), FT_E_INVAL);
	h_proc_stop(p);
	h_proc_stop(NULL);
}

END_TEST

static bool
file_exists(void *path)
{
	return access(path, F_OK) == 0;
}

/* sh and its sleep both ignore SIGTERM; stop must SIGKILL the group. */
START_TEST(test_proc_stop_escalates)
{
	char *dir = h_tmpdir(), pidfile[512], *text, script[2048];
	const char *argv[] = {"sh", "-c", script, NULL};
	unsigned long long child;
	struct h_proc *p;
	int st = -1, n;

	ck_assert_ptr_nonnull(dir);
	ck_assert_int_eq(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
	snprintf(pidfile, sizeof(pidfile), "%s/pid", dir);
	n = snprintf(script, sizeof(script),
		     "trap '' TERM; sleep 30 & echo $! > %s.tmp; mv %s.tmp %s; "
		     "wait",
		     pidfile, pidfile, pidfile);
	ck_assert(n > 0 && (size_t)n < sizeof(script));
	p = h_proc_start(argv, NULL);
	ck_assert_ptr_nonnull(p);
	ck_assert(h_wait_until(file_exists, pidfile, 10000));
	text = h_read_file(pidfile, NULL);
	ck_assert_ptr_nonnull(text);
	text[strcspn(text, "\n")] = '\0';
	ck_assert_int_eq(ft_parse_uint(text, 1u << 30, &child), FT_OK);
	free(text);
	h_proc_stop(p);
	ck_assert_int_eq(waitpid((pid_t)child, &st, 0), (pid_t)child);
	ck_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	h_rmtree(dir);
	free(dir);
}

END_TEST

START_TEST(test_proc_fds_closed)
{
	char script[128];
	const char *argv[] = {"sh", "-c", script, NULL};
	int fd, st = -1;

	fd = open("/dev/null", O_RDONLY); /* deliberately inheritable */
	ck_assert_int_ge(fd, 3);
	snprintf(script, sizeof(script), "test ! -e /proc/self/fd/%d", fd);
	ck_assert_int_eq(h_run(argv, NULL, 10000, &st), FT_OK);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	close(fd);
}

END_TEST

/* A test child that crashes takes its servers with it. */
static void
crashing_child(int wfd)
{
	struct h_slapd *s = h_slapd_start(H_LDIF_PEOPLE, 0);
	struct h_emu *e = h_emu_start(NULL);
	pid_t pids[2] = {s != NULL ? h_slapd_pid(s) : 0,
			 e != NULL ? h_proc_pid(h_emu_proc(e)) : 0};
	char dirs[2][256] = {"", ""};

	if (s != NULL)
		snprintf(dirs[0], sizeof(dirs[0]), "%s", h_slapd_dir(s));
	if (e != NULL)
		snprintf(dirs[1], sizeof(dirs[1]), "%s", h_emu_dir(e));
	(void)!write(wfd, pids, sizeof(pids));
	(void)!write(wfd, dirs, sizeof(dirs));
	kill(getpid(), SIGKILL);
}

static bool
reaped_by_sigkill(pid_t pid)
{
	int st = 0;

	ck_assert_int_gt(pid, 0);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	return WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL;
}

START_TEST(test_children_die_with_crashing_test)
{
	pid_t pids[2] = {0, 0}, child;
	char dirs[2][256];
	int fds[2], st = 0;

	/* orphans come back to us, so that we can see how they died */
	ck_assert_int_eq(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
	ck_assert_int_eq(pipe(fds), 0);
	child = fork();
	ck_assert_int_ge(child, 0);
	if (child == 0)
		crashing_child(fds[1]);
	close(fds[1]);
	ck_assert_int_eq(read(fds[0], pids, sizeof(pids)), sizeof(pids));
	ck_assert_int_eq(read(fds[0], dirs, sizeof(dirs)), sizeof(dirs));
	close(fds[0]);
	ck_assert_int_eq(waitpid(child, &st, 0), child);
	ck_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	ck_assert(reaped_by_sigkill(pids[0])); /* slapd */
	ck_assert(reaped_by_sigkill(pids[1])); /* the emulator */
	h_rmtree(dirs[0]);
	h_rmtree(dirs[1]);
}

END_TEST

static bool
third_call(void *arg)
{
	int *n = arg;

	return ++*n >= 3;
}

static bool
never(void *arg)
{
	int *n = arg;

	++*n;
	return false;
}

START_TEST(test_wait_until)
{
	struct timespec t0, t1;
	long ms;
	int n = 0;

	ck_assert(h_wait_until(third_call, &n, 5000));
	ck_assert_int_eq(n, 3);
	n = 0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ck_assert(!h_wait_until(never, &n, 100));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 +
	     (t1.tv_nsec - t0.tv_nsec) / 1000000;
	ck_assert_int_ge(ms, 100);
	ck_assert_int_ge(n, 2);
}

END_TEST

START_TEST(test_files_and_ports)
{
	char *dir = h_tmpdir(), path[512], *text;
	struct stat st;
	size_t len = 0;
	int port;

	ck_assert_ptr_nonnull(dir);
	ck_assert_int_eq(stat(dir, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0700);
	snprintf(path, sizeof(path), "%s/sub", dir);
	ck_assert_int_eq(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/sub/f", dir);
	ck_assert_int_eq(h_write_file(path, "a\nb", 0640), FT_OK);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0640);
	text = h_read_file(path, &len);
	ck_assert_str_eq(text, "a\nb");
	ck_assert_uint_eq(len, 3);
	free(text);
	ck_assert_ptr_null(h_read_file("/nonexistent/file", NULL));
	ck_assert_int_eq(errno, ENOENT);
	h_rmtree("/tmp/not-made-by-the-harness"); /* refused, harmless */
	h_rmtree(dir);
	ck_assert_int_eq(stat(dir, &st), -1);
	free(dir);
	port = h_free_port();
	ck_assert(port > 0 && port < 65536);
}

END_TEST

/* ---- the emulator ---------------------------------------------------- */

static json_int_t
stat_count(const char *action)
{
	json_t *st = h_emu_get(g_emu, "/_emulator/stats");
	json_int_t n;

	ck_assert_ptr_nonnull(st);
	n = json_integer_value(
		json_object_get(json_object_get(st, "operations"), action));
	json_decref(st);
	return n;
}

START_TEST(test_emu_server_information)
{
	json_t *res;
	json_int_t before;

	ck_assert_ptr_nonnull(g_emu);
	ck_assert_int_eq(strncmp(h_emu_url(g_emu), "http://127.0.0.1:", 17), 0);
	res = h_emu_post(g_emu, "/_emulator/reset", NULL);
	ck_assert(json_is_true(json_object_get(res, "reset")));
	json_decref(res);
	before = stat_count("query_server_information");
	ck_assert_int_eq(before, 0);
	res = h_emu_api(g_emu, "[{\"action\": \"query_server_information\"}]");
	ck_assert_ptr_nonnull(res);
	ck_assert(json_is_array(res));
	ck_assert_uint_eq(json_array_size(res), 1);
	ck_assert(json_is_string(
		json_object_get(json_array_get(res, 0), "version")));
	json_decref(res);
	ck_assert_int_eq(stat_count("query_server_information"), before + 1);
}

END_TEST

START_TEST(test_emu_credentials)
{
	static const char ops[] =
		"[{\"action\": \"query_server_information\"}]";
	char *body = NULL;
	long status = 0;
	json_t *j;

	/* no ftrack-user/ftrack-api-key: HTTP 200 with the exception... */
	ck_assert_int_eq(
		h_emu_http(g_emu, "POST", "/api", ops, 0, &status, &body),
		FT_OK);
	ck_assert_int_eq(status, 200);
	j = json_loads(body, 0, NULL);
	ck_assert_str_eq(json_string_value(json_object_get(j, "exception")),
			 "InvalidCredentialsError");
	json_decref(j);
	free(body);
	/* ...or, strict, an HTTP error status */
	ck_assert_int_eq(h_emu_http(g_emu, "POST", "/api", ops, H_HTTP_STRICT,
				    &status, &body),
			 FT_OK);
	ck_assert_int_ge(status, 400);
	free(body);
	ck_assert_int_eq(h_emu_http(g_emu, "POST", "/api", ops,
				    H_HTTP_AUTH | H_HTTP_STRICT, &status,
				    &body),
			 FT_OK);
	ck_assert_int_eq(status, 200);
	free(body);
	ck_assert_ptr_null(h_emu_get(g_emu, "/no/such/path"));
}

END_TEST

static void
create_user(const char *username)
{
	json_t *ops, *res;
	char *text;

	ops = json_pack("[{s:s, s:s, s:{s:s, s:s, s:s, s:s, s:b}}]", "action",
			"create", "entity_type", "User", "entity_data",
			"__entity_type__", "User", "username", username,
			"first_name", "Hank", "last_name", "Harness",
			"is_active", 1);
	ck_assert_ptr_nonnull(ops);
	text = json_dumps(ops, JSON_COMPACT);
	res = h_emu_api(g_emu, text);
	ck_assert_msg(json_is_array(res), "create '%s' failed", username);
	json_decref(res);
	free(text);
	json_decref(ops);
}

START_TEST(test_emu_user)
{
	static const char odd[] = "we\"ird\\na'me";
	json_t *u;

	create_user("hank");
	create_user(odd);
	u = h_emu_user(g_emu, "hank");
	ck_assert_ptr_nonnull(u);
	ck_assert_str_eq(json_string_value(json_object_get(u, "username")),
			 "hank");
	ck_assert_str_eq(json_string_value(json_object_get(u, "last_name")),
			 "Harness");
	ck_assert(json_is_true(json_object_get(u, "is_active")));
	ck_assert(json_is_string(json_object_get(u, "id")));
	json_decref(u);
	u = h_emu_user(g_emu, odd);
	ck_assert_ptr_nonnull(u);
	ck_assert_str_eq(json_string_value(json_object_get(u, "username")),
			 odd);
	json_decref(u);
	ck_assert_ptr_null(h_emu_user(g_emu, "nobody"));
	ck_assert_ptr_null(h_emu_user(g_emu, "hank*"));
}

END_TEST

START_TEST(test_emu_extra_args_and_stop)
{
	const char *extra[] = {"--server-version", "dev", NULL};
	struct h_emu *e = h_emu_start(extra);
	struct stat st;
	char *dir;
	json_t *res;
	pid_t pid;

	ck_assert_ptr_nonnull(e);
	ck_assert_str_ne(h_emu_url(e), h_emu_url(g_emu));
	res = h_emu_api(e, "[{\"action\": \"query_server_information\"}]");
	ck_assert_str_eq(json_string_value(json_object_get(
				 json_array_get(res, 0), "version")),
			 "dev");
	json_decref(res);
	pid = h_proc_pid(h_emu_proc(e));
	dir = strdup(h_emu_dir(e));
	h_emu_stop(e);
	ck_assert_int_eq(kill(pid, 0), -1);
	ck_assert_int_eq(stat(dir, &st), -1);
	free(dir);
	h_emu_stop(NULL);
}

END_TEST

START_TEST(test_emu_start_fails_fast)
{
	const char *extra[] = {"--page-max", "0", NULL};
	struct timespec t0, t1;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	ck_assert_ptr_null(h_emu_start(extra));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ck_assert_int_lt(t1.tv_sec - t0.tv_sec, 8);
}

END_TEST

/* ---- the daemon's config --------------------------------------------- */

static const char want_conf[] =
	"; written by tests/lib/h_daemon.c (h_write_config)\n"
	"\n[ldap]\n"
	"uri = ldap://127.0.0.1:1\n"
	"bind_dn = cn=ftrack-sync,ou=services,dc=example,dc=com\n"
	"bind_password_file = @D@/ldap.secret\n"
	"search_base = ou=people,dc=example,dc=com\n"
	"search_filter = \n"
	"insecure_ldap = yes\n"
	"timeout = 3\n"
	"\n[ftrack]\n"
	"server = http://127.0.0.1:1\n"
	"api_user = ftrack-sync\n"
	"api_key_file = @D@/ftrack.secret\n"
	"insecure_http = yes\n"
	"\n[daemon]\n"
	"socket = @D@/notify.sock\n"
	"state_dir = @D@/state\n"
	"log_target = stderr\n"
	"log_level = info\n"
	"\n[policy]\n"
	"reconcile_create = yes\n";

/* tmpl with every "@D@" replaced by dir, into out. */
static void
subst(char *out, size_t cap, const char *tmpl, const char *dir)
{
	const char *at;
	size_t len = 0;
	int n;

	while ((at = strstr(tmpl, "@D@")) != NULL) {
		n = snprintf(out + len, cap - len, "%.*s%s", (int)(at - tmpl),
			     tmpl, dir);
		ck_assert(n > 0 && (size_t)n < cap - len);
		len += (size_t)n;
		tmpl = at + 3;
	}
	n = snprintf(out + len, cap - len, "%s", tmpl);
	ck_assert(n >= 0 && (size_t)n < cap - len);
}

static void
assert_file(const char *dir, const char *name, const char *want, int mode)
{
	char path[512], *text;
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, mode);
	if (want == NULL)
		return;
	text = h_read_file(path, NULL);
	ck_assert_ptr_nonnull(text);
	ck_assert_str_eq(text, want);
	free(text);
}

START_TEST(test_write_config)
{
	char *dir = h_tmpdir(), *conf, want[4096];

	ck_assert_ptr_nonnull(dir);
	conf = h_write_config(dir, NULL, NULL,
			      "policy.reconcile_create = yes\n"
			      "  ldap.timeout=3\n"
			      "# a comment\n\n"
			      "-ldap.disabled_filter\n"
			      "ldap.search_filter =\n"
			      "daemon.log_level = info");
	ck_assert_ptr_nonnull(conf);
	subst(want, sizeof(want), want_conf, dir);
	assert_file(dir, "ftrack-syncd.conf", want, 0600);
	assert_file(dir, "ldap.secret", H_LDAP_SYNC_PW, 0600);
	assert_file(dir, "ftrack.secret", H_EMU_KEY, 0600);
	assert_file(dir, "state", NULL, 0700);
	free(conf);
	ck_assert_ptr_null(h_write_config(dir, NULL, NULL, "nodot = 1"));
	ck_assert_ptr_null(h_write_config(dir, NULL, NULL, "ldap.uri"));
	ck_assert_ptr_null(h_write_config(dir, NULL, NULL, "-ldap.uri = x"));
	h_rmtree(dir);
	free(dir);
}

END_TEST

START_TEST(test_write_config_servers)
{
	char *dir = h_tmpdir(), *conf, *text, line[256];

	ck_assert_ptr_nonnull(dir);
	ck_assert_ptr_nonnull(g_slapd);
	ck_assert_ptr_nonnull(g_emu);
	conf = h_write_config(dir, g_slapd, g_emu, NULL);
	ck_assert_ptr_nonnull(conf);
	text = h_read_file(conf, NULL);
	snprintf(line, sizeof(line), "\nuri = %s\n", h_slapd_uri(g_slapd));
	ck_assert_ptr_nonnull(strstr(text, line));
	snprintf(line, sizeof(line), "\nserver = %s\n", h_emu_url(g_emu));
	ck_assert_ptr_nonnull(strstr(text, line));
	ck_assert_ptr_nonnull(
		strstr(text, "\ndisabled_filter = (employeeType=disabled)\n"));
	free(text);
	free(conf);
	h_rmtree(dir);
	free(dir);
}

END_TEST

/* h_rmtree removes a symlink, never what it points to. */
START_TEST(test_rmtree_keeps_link_targets)
{
	char *dir = h_tmpdir(), *other = h_tmpdir(), path[512], link[512];
	struct stat st;

	ck_assert_ptr_nonnull(dir);
	ck_assert_ptr_nonnull(other);
	snprintf(path, sizeof(path), "%s/keep", other);
	ck_assert_int_eq(h_write_file(path, "x", 0600), FT_OK);
	snprintf(link, sizeof(link), "%s/to-file", dir);
	ck_assert_int_eq(symlink(path, link), 0);
	snprintf(link, sizeof(link), "%s/to-dir", dir);
	ck_assert_int_eq(symlink(other, link), 0);
	h_rmtree(dir);
	ck_assert_int_eq(lstat(dir, &st), -1);
	ck_assert_int_eq(stat(path, &st), 0);
	h_rmtree(other);
	ck_assert_int_eq(stat(other, &st), -1);
	free(dir);
	free(other);
}

END_TEST

static void
add_slapd_cases(Suite *s)
{
	TCase *tc;

	tc = tcase_create("slapd_shared");
	tcase_set_timeout(tc, 60);
	tcase_add_unchecked_fixture(tc, slapd_setup, slapd_teardown);
	tcase_add_test(tc, test_slapd_search);
	tcase_add_test(tc, test_slapd_hard_cases);
	tcase_add_test(tc, test_slapd_metachar_uid);
	tcase_add_test(tc, test_slapd_sync_account);
	suite_add_tcase(s, tc);

	tc = tcase_create("slapd_own");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_slapd_sizelimit);
	tcase_add_test(tc, test_slapd_stop_leaves_nothing);
	tcase_add_test(tc, test_slapd_modify_restart);
	tcase_add_test(tc, test_slapd_down_and_back);
	tcase_add_test(tc, test_slapd_pause);
	tcase_add_test(tc, test_slapd_conf_only);
	tcase_add_test(tc, test_slapd_bad_ldif);
	suite_add_tcase(s, tc);
}

Suite *
harness_suite(void)
{
	Suite *s = suite_create("harness");
	TCase *tc;

	add_slapd_cases(s);

	tc = tcase_create("process");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_proc_exit_and_log);
	tcase_add_test(tc, test_proc_wait_signal_stop);
	tcase_add_test(tc, test_proc_stop_escalates);
	tcase_add_test(tc, test_proc_fds_closed);
	tcase_add_test(tc, test_children_die_with_crashing_test);
	tcase_add_test(tc, test_wait_until);
	tcase_add_test(tc, test_files_and_ports);
	tcase_add_test(tc, test_rmtree_keeps_link_targets);
	suite_add_tcase(s, tc);

	tc = tcase_create("emulator");
	tcase_set_timeout(tc, 60);
	tcase_add_unchecked_fixture(tc, emu_setup, emu_teardown);
	tcase_add_test(tc, test_emu_server_information);
	tcase_add_test(tc, test_emu_credentials);
	tcase_add_test(tc, test_emu_user);
	tcase_add_test(tc, test_emu_extra_args_and_stop);
	tcase_add_test(tc, test_emu_start_fails_fast);
	suite_add_tcase(s, tc);

	tc = tcase_create("config");
	tcase_set_timeout(tc, 60);
	tcase_add_unchecked_fixture(tc, slapd_setup, slapd_teardown);
	tcase_add_unchecked_fixture(tc, emu_setup, emu_teardown);
	tcase_add_test(tc, test_write_config);
	tcase_add_test(tc, test_write_config_servers);
	suite_add_tcase(s, tc);
	return s;
}
