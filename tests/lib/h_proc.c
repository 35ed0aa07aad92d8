/* SPDX-License-Identifier: Apache-2.0 */
/* h_proc.c: test library: child processes that die with the test; one call's peak memory. */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ft_err.h"
#include "ft_util.h"

#define H_STOP_MS 5000u

/* ---- child processes ------------------------------------------------- */

struct h_proc {
	pid_t pid;
	bool reaped;
	int status;
};

static void
argv_free(char **v)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

/* A deep copy made before fork: the child only calls execvp on it. */
static char **
argv_dup(const char *const argv[])
{
	size_t n = 0, i;
	char **v;

	while (argv[n] != NULL)
		n++;
	v = calloc(n + 1, sizeof(*v));
	if (v == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		v[i] = strdup(argv[i]);
		if (v[i] == NULL) {
			argv_free(v);
			return NULL;
		}
	}
	return v;
}

static void
child_fail(const char *what, const char *arg)
{
	/* stderr is the log by now; write(2) is all that is safe here */
	(void)!write(STDERR_FILENO, "harness: child: ", 16);
	(void)!write(STDERR_FILENO, what, strlen(what));
	(void)!write(STDERR_FILENO, arg, strlen(arg));
	(void)!write(STDERR_FILENO, "\n", 1);
	_exit(127);
}

/* In the child, between fork and exec. */
static FT_NORETURN void
child_exec(char **argv, pid_t parent, const int fds[3])
{
	static const int dfl[] = {SIGPIPE, SIGHUP,  SIGINT,  SIGQUIT, SIGTERM,
				  SIGCHLD, SIGUSR1, SIGUSR2, SIGALRM};
	sigset_t none;
	size_t i;
	int fd;

	(void)setpgid(0, 0);
	/* the parent may have died before prctl: then nobody would stop us */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
		_exit(127);
	for (fd = 0; fd < 3; fd++) {
		if (fds[fd] == fd)
			(void)fcntl(fd, F_SETFD, 0);
		else if (dup2(fds[fd], fd) < 0)
			_exit(127);
	}
	(void)close_range(3, ~0U, 0);
	for (i = 0; i < sizeof(dfl) / sizeof(dfl[0]); i++)
		(void)signal(dfl[i], SIG_DFL);
	(void)sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
	execvp(argv[0], argv);
	child_fail("cannot execute ", argv[0]);
	_exit(127);
}

/* Start argv with stdout on out and stderr on err (both kept open here). */
struct h_proc *
h_proc_spawn(const char *const argv[], int out, int err)
{
	struct h_proc *p = calloc(1, sizeof(*p));
	char **v = argv_dup(argv);
	int fds[3] = {-1, out, err};
	pid_t parent = getpid(), pid = -1;

	fds[0] = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (p == NULL || v == NULL || fds[0] < 0)
		goto out;
	pid = fork();
	if (pid == 0)
		child_exec(v, parent, fds);
	if (pid > 0) {
		/* also here, so that kill(-pid) works as soon as we return */
		(void)setpgid(pid, pid);
		p->pid = pid;
	}
out:
	if (pid < 0)
		h_err("unable to start '%s': %s", argv[0], strerror(errno));
	if (fds[0] >= 0)
		(void)close(fds[0]);
	argv_free(v);
	if (pid < 0) {
		free(p);
		p = NULL;
	}
	return p;
}

int
h_open_log(const char *path)
{
	int fd;

	if (path == NULL)
		path = "/dev/null";
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0)
		h_err("unable to open '%s': %s", path, strerror(errno));
	return fd;
}

struct h_proc *
h_proc_start(const char *const argv[], const char *log_path)
{
	struct h_proc *p;
	int fd;

	fd = h_open_log(log_path);
	if (fd < 0)
		return NULL;
	p = h_proc_spawn(argv, fd, fd);
	(void)close(fd);
	return p;
}

pid_t
h_proc_pid(const struct h_proc *p)
{
	return p != NULL ? p->pid : 0;
}

int
h_proc_signal(struct h_proc *p, int sig)
{
	if (p == NULL || p->reaped)
		return FT_E_INVAL;
	if (kill(p->pid, sig) < 0)
		return FT_E_IO;
	return FT_OK;
}

int
h_proc_wait(struct h_proc *p, unsigned timeout_ms, int *ret_status)
{
	long long deadline = h_now_ms() + timeout_ms;
	int st;

	if (p == NULL)
		return FT_E_INVAL;
	while (!p->reaped) {
		pid_t r = waitpid(p->pid, &st, WNOHANG);

		if (r < 0 && errno != EINTR)
			return FT_E_IO;
		if (r == p->pid) {
			p->reaped = true;
			p->status = st;
		} else if (h_now_ms() >= deadline) {
			return FT_E_AGAIN;
		} else {
			h_sleep_ms(5);
		}
	}
	if (ret_status != NULL)
		*ret_status = p->status;
	return FT_OK;
}

/* Signal the whole group (the leader is not reaped yet, so the group id
 * cannot have been reused); fall back to the leader alone. */
static void
proc_kill(const struct h_proc *p, int sig)
{
	if (kill(-p->pid, sig) < 0)
		(void)kill(p->pid, sig);
}

void
h_proc_stop(struct h_proc *p)
{
	int st;

	if (p == NULL)
		return;
	if (!p->reaped) {
		proc_kill(p, SIGTERM);
		proc_kill(p, SIGCONT);
		if (h_proc_wait(p, H_STOP_MS, NULL) == FT_E_AGAIN) {
			h_err("pid %d ignored SIGTERM for %u ms: SIGKILL",
			      (int)p->pid, H_STOP_MS);
			proc_kill(p, SIGKILL);
			while (waitpid(p->pid, &st, 0) < 0 && errno == EINTR)
				;
		}
	}
	free(p);
}

int
h_run(const char *const argv[], const char *log_path, unsigned timeout_ms,
      int *ret_status)
{
	struct h_proc *p;
	int r, st = 0;

	p = h_proc_start(argv, log_path);
	if (p == NULL)
		return FT_E_IO;
	r = h_proc_wait(p, timeout_ms, &st);
	if (r == FT_E_AGAIN)
		h_err("'%s' still runs after %u ms: stopping it", argv[0],
		      timeout_ms);
	h_proc_stop(p);
	if (r == FT_OK && ret_status != NULL)
		*ret_status = st;
	return r;
}

/* ---- the peak memory of one call --------------------------------------- */

/* In the child: reset the peak, run fn, send its out and the growth. */
FT_NORETURN static void
peak_child(void (*fn)(void *arg, void *out), void *arg, void *out,
	   size_t out_size, int fd)
{
	long before, after, grew = -1;
	int cfd = open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);

	if (cfd < 0 || write(cfd, "5", 1) != 1)
		_exit(2);
	(void)close(cfd);
	before = h_status_kib(getpid(), "VmRSS");
	fn(arg, out);
	after = h_status_kib(getpid(), "VmHWM");
	if (before >= 0 && after >= 0)
		grew = after - before;
	if (!h_write_all(fd, (const char *)&grew, sizeof(grew)) ||
	    !h_write_all(fd, out, out_size))
		_exit(3);
	_exit(0);
}

/* Read exactly n bytes of fd into p; false on EOF or error. */
static bool
read_exactly(int fd, char *p, size_t n)
{
	size_t got = 0;
	ssize_t k;

	while (got < n) {
		k = read(fd, p + got, n - got);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return false;
		got += (size_t)k;
	}
	return true;
}

long
h_peak_kib_in_child(void (*fn)(void *arg, void *out), void *arg, void *out,
		    size_t out_size)
{
	long grew = -1;
	int p[2], st = -1;
	bool ok;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) != 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		(void)close(p[0]);
		peak_child(fn, arg, out, out_size, p[1]);
	}
	(void)close(p[1]);
	ok = pid > 0 && read_exactly(p[0], (char *)&grew, sizeof(grew)) &&
	     read_exactly(p[0], out, out_size);
	(void)close(p[0]);
	if (pid > 0 && waitpid(pid, &st, 0) != pid)
		st = -1;
	if (!ok || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		fprintf(stderr, "harness: unable to measure in a child: %d\n",
			st);
		return -1;
	}
	return grew;
}
