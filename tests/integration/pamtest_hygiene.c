/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pamtest_hygiene.c: the pam suite's hygiene cases: 10,000 open/close
 * cycles with no fd growth (also with 2,000 fds open and from 4
 * threads), no fd inheritable by a fork+exec at any moment, signal
 * dispositions and mask untouched, nothing printed on stdout/stderr.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "pamtest_suite.h"

#define W       pamtest_world
#define MAXFD   4096
#define NTHREAD 4

static int
listen_sock(void)
{
	int fd = h_pam_listen(W.sock, 0666);

	ck_assert_int_ge(fd, 0);
	return fd;
}

/*
 * n open/close cycles of user on one handle through the stack; each
 * event is read from fd when fd >= 0.  Returns how many cycles failed.
 */
static int
cycles(const char *user, int n, int fd)
{
	const struct h_pam_login l = {user, "10.0.0.1", "pts/1", NULL};
	struct h_pam_dgram d;
	pam_handle_t *pamh = NULL;
	int i, bad = 0;

	if (h_pam_start(W.confdir, "ftest", &l, &pamh) != PAM_SUCCESS)
		return n;
	for (i = 0; i < n; i++) {
		bad += pam_open_session(pamh, 0) != PAM_SUCCESS;
		if (fd >= 0)
			bad += h_pam_recv(fd, 5000, &d) != 1 || !d.decoded;
		bad += pam_close_session(pamh, 0) != PAM_SUCCESS;
	}
	(void)pam_end(pamh, PAM_SUCCESS);
	return bad;
}

static void
write_ftest(const char *extra)
{
	char args[512];

	h_pam_args(&W, extra, args, sizeof(args));
	ck_assert_int_eq(h_pam_service(W.confdir, "ftest", W.module, args), 0);
}

START_TEST(test_fd_cycles)
{
	int fd = listen_sock();
	long before;

	write_ftest(NULL);
	ck_assert_int_eq(cycles("alice", 1, fd), 0); /* warm: libs, syslog */
	before = h_fd_count(getpid());
	ck_assert_int_eq(cycles("alice", 10000, fd), 0);
	ck_assert_int_eq(h_fd_count(getpid()), before);
	ck_assert_int_eq(h_pam_drain(fd), 0);
	close(fd);
}

END_TEST

START_TEST(test_fd_cycles_many_fds)
{
	struct rlimit rl;
	int fd = listen_sock(), i, fds[2000];
	long before;

	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
	if (rl.rlim_cur < 2200 && rl.rlim_max >= 2200) {
		rl.rlim_cur = 2200;
		ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
	}
	for (i = 0; i < 2000; i++) {
		fds[i] = fcntl(fd, F_DUPFD_CLOEXEC, 0);
		ck_assert_int_ge(fds[i], 0);
	}
	write_ftest(NULL);
	ck_assert_int_eq(cycles("alice", 1, fd), 0);
	before = h_fd_count(getpid());
	ck_assert_int_ge(before, 2000);
	ck_assert_int_eq(cycles("alice", 2000, fd), 0);
	ck_assert_int_eq(h_fd_count(getpid()), before);
	/* nothing spooled: every event went through the socket above 2000 */
	ck_assert_int_eq(pamtest_count_entries(W.spool), 0);
	for (i = 0; i < 2000; i++)
		close(fds[i]);
	close(fd);
}

END_TEST

struct worker {
	pthread_t th;
	char user[16];
	int bad;
};

static void *
worker_main(void *arg)
{
	struct worker *w = arg;

	w->bad = cycles(w->user, 2500, -1);
	return NULL;
}

struct drainer {
	int fd;
	atomic_int stop;
	int got;
};

static void *
drainer_main(void *arg)
{
	struct drainer *dr = arg;
	struct h_pam_dgram d;

	for (;;) {
		if (h_pam_recv(dr->fd, 20, &d) == 1)
			dr->got++;
		else if (atomic_load(&dr->stop))
			break;
	}
	return NULL;
}

START_TEST(test_threads)
{
	struct worker w[NTHREAD];
	struct drainer dr = {.fd = listen_sock()};
	pthread_t dth;
	long before;
	int i;

	write_ftest(NULL);
	ck_assert_int_eq(cycles("alice", 1, dr.fd), 0);
	before = h_fd_count(getpid());
	memset(w, 0, sizeof(w));
	ck_assert_int_eq(pthread_create(&dth, NULL, drainer_main, &dr), 0);
	for (i = 0; i < NTHREAD; i++) {
		snprintf(w[i].user, sizeof(w[i].user), "t%d", i);
		ck_assert_int_eq(
			pthread_create(&w[i].th, NULL, worker_main, &w[i]), 0);
	}
	for (i = 0; i < NTHREAD; i++) {
		ck_assert_int_eq(pthread_join(w[i].th, NULL), 0);
		ck_assert_int_eq(w[i].bad, 0);
	}
	atomic_store(&dr.stop, 1);
	ck_assert_int_eq(pthread_join(dth, NULL), 0);
	ck_assert_int_gt(dr.got, 0);
	ck_assert_int_eq(h_fd_count(getpid()), before);
	close(dr.fd);
}

END_TEST

struct hammer {
	pthread_t th;
	atomic_int stop;
	atomic_int calls;
	pam_handle_t *pamh;
	h_pam_sm_fn fn;
	const char *argv[16];
	int argc;
};

/* Call the module directly: only its own fds come and go meanwhile. */
static void *
hammer_main(void *arg)
{
	struct hammer *h = arg;

	while (!atomic_load(&h->stop)) {
		(void)h->fn(h->pamh, 0, h->argc, h->argv);
		atomic_fetch_add(&h->calls, 1);
	}
	return NULL;
}

/* In a fork child: fail when an fd not inheritable before is now. */
static void
child_check(const unsigned char *inherit, int maxfd)
{
	int fd;

	for (fd = 0; fd < maxfd; fd++) {
		int fl = fcntl(fd, F_GETFD);

		if (fl >= 0 && !(fl & FD_CLOEXEC) && !inherit[fd])
			_exit(1);
	}
	execl("/bin/true", "true", (char *)NULL);
	_exit(2);
}

static int
fork_exec_once(const unsigned char *inherit, int maxfd)
{
	int status = -1;
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (pid == 0)
		child_check(inherit, maxfd);
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/*
 * A thread calls the module without pause (socket full, so each call
 * opens a socket, then the spool folder and a temp file) while the main
 * thread forks and execs: no child ever inherits one of those fds.
 */
START_TEST(test_fork_exec)
{
	static const struct h_pam_login l = {"alice", NULL, NULL, NULL};
	static unsigned char inherit[MAXFD];
	char args[512];
	struct hammer h;
	int fd = listen_sock(), i, maxfd = 0;

	memset(&h, 0, sizeof(h));
	for (i = 0; i < MAXFD; i++) {
		int fl = fcntl(i, F_GETFD);

		inherit[i] = fl >= 0 && !(fl & FD_CLOEXEC);
		maxfd = fl >= 0 ? i : maxfd;
	}
	maxfd = maxfd + 64 < MAXFD ? maxfd + 64 : MAXFD;
	h_pam_args(&W, NULL, args, sizeof(args));
	h.argc = h_pam_split(args, h.argv, 16);
	h.fn = h_pam_entry(&W, "pam_sm_open_session");
	ck_assert(h.fn != NULL);
	ck_assert_int_eq(h_pam_start(W.confdir, "ftest", &l, &h.pamh),
			 PAM_SUCCESS);
	ck_assert_int_eq(pthread_create(&h.th, NULL, hammer_main, &h), 0);
	for (i = 0; i < 300; i++)
		ck_assert_int_eq(fork_exec_once(inherit, maxfd), 0);
	atomic_store(&h.stop, 1);
	ck_assert_int_eq(pthread_join(h.th, NULL), 0);
	ck_assert_int_gt(atomic_load(&h.calls), 0);
	(void)pam_end(h.pamh, PAM_SUCCESS);
	pamtest_assert_spooled("alice", "FTSYNC1\nuser=alice\nservice=ftest\n");
	close(fd);
}

END_TEST

static void
on_usr1(int sig)
{
	(void)sig;
}

/* Run the module through every path once: sent, spooled, skipped. */
static void
every_path(void)
{
	/* numeric rhost: libpam's audit code resolves names */
	static const struct h_pam_login bob = {"bob", "192.0.2.1", "t", NULL};
	static const struct h_pam_login root = {"root", NULL, NULL, NULL};
	int fd = listen_sock(), i;

	ck_assert_int_eq(pamtest_login2("debug frobnicate", &bob), PAM_SUCCESS);
	ck_assert_int_eq(pamtest_login2(NULL, &root), PAM_SUCCESS);
	for (i = 0; i < 20; i++) /* queue full: spooled */
		ck_assert_int_eq(pamtest_login2("debug", &bob), PAM_SUCCESS);
	close(fd);
	ck_assert_int_eq(unlink(W.sock), 0);
	ck_assert_int_eq(pamtest_login2("debug", &bob), PAM_SUCCESS);
	ck_assert_int_eq(pamtest_login2("spool=/nonexistent", &bob),
			 PAM_SUCCESS);
}

static bool
same_set(const sigset_t *a, const sigset_t *b)
{
	int sig;

	for (sig = 1; sig < NSIG; sig++) {
		if (sigismember(a, sig) != sigismember(b, sig))
			return false;
	}
	return true;
}

static bool
same_action(const struct sigaction *a, const struct sigaction *b)
{
	return a->sa_handler == b->sa_handler && a->sa_flags == b->sa_flags &&
	       same_set(&a->sa_mask, &b->sa_mask);
}

START_TEST(test_signals_untouched)
{
	static struct sigaction before[NSIG], after[NSIG];
	struct sigaction sa;
	sigset_t mask_before, mask_after;
	int sig;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	ck_assert_int_eq(sigaction(SIGUSR1, &sa, NULL), 0);
	sa.sa_handler = SIG_IGN;
	ck_assert_int_eq(sigaction(SIGCHLD, &sa, NULL), 0);
	sa.sa_handler = SIG_DFL; /* a SIGPIPE would kill us */
	ck_assert_int_eq(sigaction(SIGPIPE, &sa, NULL), 0);
	memset(before, 0, sizeof(before));
	memset(after, 0, sizeof(after));
	for (sig = 1; sig < NSIG; sig++)
		(void)sigaction(sig, NULL, &before[sig]);
	ck_assert_int_eq(pthread_sigmask(SIG_SETMASK, NULL, &mask_before), 0);
	every_path();
	for (sig = 1; sig < NSIG; sig++) {
		(void)sigaction(sig, NULL, &after[sig]);
		ck_assert_msg(same_action(&before[sig], &after[sig]),
			      "signal %d: disposition changed", sig);
	}
	ck_assert_int_eq(pthread_sigmask(SIG_SETMASK, NULL, &mask_after), 0);
	ck_assert(same_set(&mask_before, &mask_after));
	/* leave the process as found (CK_FORK=no runs the next test here) */
	sa.sa_handler = SIG_DFL;
	ck_assert_int_eq(sigaction(SIGUSR1, &sa, NULL), 0);
	ck_assert_int_eq(sigaction(SIGCHLD, &sa, NULL), 0);
}

END_TEST

START_TEST(test_nothing_printed)
{
	char path[160];
	struct stat st;
	int out, saved1, saved2;

	snprintf(path, sizeof(path), "%s/output", W.dir);
	out = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	ck_assert_int_ge(out, 0);
	fflush(stdout);
	fflush(stderr);
	saved1 = fcntl(1, F_DUPFD_CLOEXEC, 0);
	saved2 = fcntl(2, F_DUPFD_CLOEXEC, 0);
	ck_assert(saved1 >= 0 && saved2 >= 0);
	ck_assert(dup2(out, 1) == 1 && dup2(out, 2) == 2);
	every_path();
	fflush(stdout);
	fflush(stderr);
	ck_assert(dup2(saved1, 1) == 1 && dup2(saved2, 2) == 2);
	close(saved1);
	close(saved2);
	ck_assert_int_eq(fstat(out, &st), 0);
	ck_assert_int_eq(st.st_size, 0);
	close(out);
}

END_TEST

TCase *
pamtest_hygiene_tcase(void)
{
	TCase *tc = tcase_create("hygiene");

	tcase_add_checked_fixture(tc, pamtest_world_setup,
				  pamtest_world_teardown);
	tcase_add_test(tc, test_fd_cycles);
	tcase_add_test(tc, test_fd_cycles_many_fds);
	tcase_add_test(tc, test_threads);
	tcase_add_test(tc, test_fork_exec);
	tcase_add_test(tc, test_signals_untouched);
	tcase_add_test(tc, test_nothing_printed);
	return tc;
}
