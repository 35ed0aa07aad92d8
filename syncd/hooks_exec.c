/* SPDX-License-Identifier: Apache-2.0 */
/* hooks_exec.c: one run of the on_change program (minimal launcher). */
#include "hooks_exec.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ft_err.h"
#include "log.h"
#include "timing.h"

#define ERR_LINES_MAX 20   /* stderr lines logged per run */
#define ERR_LINE_MAX  1024 /* bytes of one */

/* sshd's StrictModes: root- or our-owned, not group/other-writable. */
static int
check_path(const char *path, char *why, size_t cap)
{
	char real[PATH_MAX], *slash;
	struct stat st;
	bool file = true;

	if (realpath(path, real) == NULL) {
		(void)snprintf(why, cap, "'%s': %s", path, strerror(errno));
		return FT_E_IO;
	}
	for (;;) {
		if (stat(real, &st) < 0) {
			(void)snprintf(why, cap, "'%s': %s", real,
				       strerror(errno));
			return FT_E_IO;
		}
		if (file && !S_ISREG(st.st_mode)) {
			(void)snprintf(why, cap, "'%s' is not a regular file",
				       real);
			return FT_E_PERM;
		}
		if (st.st_uid != 0 && st.st_uid != geteuid()) {
			(void)snprintf(why, cap,
				       "'%s' is owned by uid %lu, "
				       "not root",
				       real, (unsigned long)st.st_uid);
			return FT_E_PERM;
		}
		if ((st.st_mode & 022) != 0 &&
		    !(!file && st.st_uid == 0 && (st.st_mode & S_ISVTX))) {
			(void)snprintf(why, cap,
				       "'%s' is writable by group or "
				       "others",
				       real);
			return FT_E_PERM;
		}
		file = false;
		slash = strrchr(real, '/');
		if (slash == NULL || real[1] == '\0')
			return FT_OK;
		if (slash == real)
			slash[1] = '\0';
		else
			*slash = '\0';
	}
}

static int
spawn(const char *path, int in_fd, int err_fd, pid_t *ret_pid)
{
	char e0[] = "PATH=/usr/bin:/bin", e1[] = "LANG=C.UTF-8";
	char *env[] = {e0, e1, NULL};
	char *argv[] = {(char *)(uintptr_t)path, NULL};
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, all;
	int r;

	(void)sigemptyset(&none);
	(void)sigfillset(&all);
	(void)posix_spawn_file_actions_init(&fa);
	(void)posix_spawnattr_init(&at);
	(void)posix_spawn_file_actions_adddup2(&fa, in_fd, 0);
	(void)posix_spawn_file_actions_adddup2(&fa, err_fd, 1);
	(void)posix_spawn_file_actions_adddup2(&fa, err_fd, 2);
	(void)posix_spawn_file_actions_addclosefrom_np(&fa, 3);
	(void)posix_spawn_file_actions_addchdir_np(&fa, "/");
	(void)posix_spawnattr_setpgroup(&at, 0);
	(void)posix_spawnattr_setsigmask(&at, &none);
	(void)posix_spawnattr_setsigdefault(&at, &all);
	(void)posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP |
						    POSIX_SPAWN_SETSIGMASK |
						    POSIX_SPAWN_SETSIGDEF);
	r = posix_spawn(ret_pid, path, &fa, &at, argv, env);
	(void)posix_spawn_file_actions_destroy(&fa);
	(void)posix_spawnattr_destroy(&at);
	errno = r;
	return r == 0 ? FT_OK : FT_E_IO;
}

/* The program's output so far: whole lines to the log. */
struct out {
	char line[ERR_LINE_MAX];
	size_t len;
	unsigned logged;
};

static void
out_take(struct out *o, const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (p[i] != '\n' && o->len < sizeof(o->line) - 1) {
			o->line[o->len++] = p[i];
			continue;
		}
		if (p[i] != '\n')
			continue; /* the rest of a long line is dropped */
		o->line[o->len] = '\0';
		if (o->logged++ < ERR_LINES_MAX)
			log_warn("on_change: %s", o->line);
		o->len = 0;
	}
}

/* Feed and drain the program until it closes its output or deadline. */
static bool
pump(int in_fd, int out_fd, const char *buf, size_t len, uint64_t deadline)
{
	struct out o = {.len = 0, .logged = 0};
	size_t off = 0;
	char rb[4096];

	while (out_fd >= 0) {
		struct pollfd p[2] = {{.fd = out_fd, .events = POLLIN},
				      {.fd = in_fd, .events = POLLOUT}};
		uint64_t now = timing_now_ms();
		ssize_t n;

		if (now >= deadline ||
		    (poll(p, in_fd >= 0 ? 2 : 1, (int)(deadline - now)) < 0 &&
		     errno != EINTR))
			break;
		if (in_fd >= 0 && (p[1].revents & (POLLOUT | POLLERR))) {
			n = write(in_fd, buf + off, len - off);
			if (n > 0)
				off += (size_t)n;
			if ((n < 0 && errno != EAGAIN && errno != EINTR) ||
			    off == len) {
				(void)close(in_fd);
				in_fd = -1;
			}
		}
		if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			n = read(out_fd, rb, sizeof(rb));
			if (n > 0)
				out_take(&o, rb, (size_t)n);
			else if (n == 0 || (errno != EAGAIN && errno != EINTR))
				out_fd = -1;
		}
	}
	if (o.logged > ERR_LINES_MAX)
		log_warn("on_change: %u more line(s) not logged",
			 o.logged - ERR_LINES_MAX);
	if (in_fd >= 0)
		(void)close(in_fd);
	return out_fd < 0;
}

/* Reap pid by deadline (then stop its process group); whether it ended. */
static bool
reap(pid_t pid, uint64_t deadline, int *ret_status)
{
	struct timespec ts = {0, 10000000L};
	pid_t got;

	while ((got = waitpid(pid, ret_status, WNOHANG)) == 0 &&
	       timing_now_ms() < deadline)
		(void)nanosleep(&ts, NULL);
	if (got == pid)
		return true;
	(void)kill(-pid, SIGKILL);
	while (waitpid(pid, ret_status, 0) < 0 && errno == EINTR)
		;
	return false;
}

static int
status_of(int st, char *why, size_t cap)
{
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return FT_OK;
	if (WIFEXITED(st))
		(void)snprintf(why, cap, "exit status %d", WEXITSTATUS(st));
	else
		(void)snprintf(why, cap, "killed by signal %d",
			       WIFSIGNALED(st) ? WTERMSIG(st) : 0);
	return FT_E_DATA;
}

int
hooks_exec_run(const char *path, const char *buf, size_t len,
	       unsigned timeout_s, char *why, size_t cap)
{
	int in[2] = {-1, -1}, out[2] = {-1, -1}, st = 0, r;
	uint64_t deadline = timing_now_ms() + (uint64_t)timeout_s * 1000u;
	pid_t pid = -1;
	bool done;

	r = check_path(path, why, cap);
	if (r < 0)
		return r;
	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 ||
	    spawn(path, in[0], out[1], &pid) < 0) {
		(void)snprintf(why, cap, "unable to start '%s': %s", path,
			       strerror(errno));
		r = FT_E_IO;
		goto out;
	}
	(void)close(in[0]);
	(void)close(out[1]);
	in[0] = out[1] = -1;
	(void)fcntl(in[1], F_SETFL, O_NONBLOCK);
	(void)fcntl(out[0], F_SETFL, O_NONBLOCK);
	done = pump(in[1], out[0], buf, len, deadline);
	in[1] = -1; /* pump closed it */
	done = reap(pid, done ? deadline : 0, &st) && done;
	if (!done) {
		(void)snprintf(why, cap, "still running after %u s: stopped",
			       timeout_s);
		r = FT_E_AGAIN;
	} else {
		r = status_of(st, why, cap);
	}
out:
	for (size_t i = 0; i < 2; i++) {
		if (in[i] >= 0)
			(void)close(in[i]);
		if (out[i] >= 0)
			(void)close(out[i]);
	}
	return r;
}
