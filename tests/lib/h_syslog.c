/* SPDX-License-Identifier: Apache-2.0 */
/* h_syslog.c: test library: capture syslog() of a child in a private /dev. */
#include "harness.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#include "ft_util.h"

#define UNSUPPORTED_EXIT 77

struct reader {
	int logfd;
	int outfd;
	atomic_int stop;
};

/* Forward every message queued now, each as one line. */
static void
forward(const struct reader *rd)
{
	char msg[4096];
	ssize_t n, i;

	while ((n = recv(rd->logfd, msg, sizeof(msg) - 1, MSG_DONTWAIT)) > 0) {
		for (i = 0; i < n; i++) {
			if (msg[i] == '\n')
				msg[i] = ' ';
		}
		msg[n] = '\n';
		(void)h_write_all(rd->outfd, msg, (size_t)n + 1);
	}
}

/*
 * Forward until asked to stop.  stop is read before the last drain: every
 * message was sent before stop was set, so none is left behind.
 */
static void *
reader_main(void *arg)
{
	struct reader *rd = arg;
	int stopping;

	do {
		struct pollfd p = {.fd = rd->logfd, .events = POLLIN};

		stopping = atomic_load(&rd->stop);
		(void)poll(&p, 1, 20);
		forward(rd);
	} while (!stopping);
	return NULL;
}

static int
private_dev(void)
{
	if (unshare(CLONE_NEWNS) < 0)
		return -1;
	/* "none": the types are unused here, and valgrind wants strings */
	if (mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) < 0)
		return -1;
	return mount("pamtest", "/dev", "tmpfs", MS_NOSUID | MS_NOEXEC,
		     "mode=0755");
}

static void FT_NORETURN
child(int outfd, h_syslog_fn fn, void *arg)
{
	struct reader rd = {.outfd = outfd};
	pthread_t th;
	int rc;

	if (private_dev() < 0)
		_exit(UNSUPPORTED_EXIT);
	rd.logfd = h_pam_listen("/dev/log", 0666);
	if (rd.logfd < 0 || pthread_create(&th, NULL, reader_main, &rd) != 0)
		_exit(2);
	closelog(); /* forget any connection inherited from the parent */
	rc = fn(arg);
	closelog();
	atomic_store(&rd.stop, 1);
	(void)pthread_join(th, NULL);
	(void)h_write_all(outfd, "\n", 1);
	(void)h_write_all(outfd, (const char *)&rc, sizeof(rc));
	_exit(0);
}

/* Split what the child sent into messages and the trailing return code. */
static int
collect(int fd, int *ret_rc, char *buf, size_t cap)
{
	size_t len = 0;

	for (;;) {
		ssize_t n = read(fd, buf + len, cap - 1 - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
		if (len == cap - 1)
			return -1;
	}
	if (len < 1 + sizeof(int))
		return -1;
	memcpy(ret_rc, buf + len - sizeof(int), sizeof(int));
	len -= sizeof(int) + 1;
	buf[len] = '\0';
	return 0;
}

int
h_syslog_run(h_syslog_fn fn, void *arg, int *ret_rc, char *buf, size_t cap)
{
	int p[2], status = 0, r;
	pid_t pid;

	if (cap < 64 || pipe2(p, O_CLOEXEC) < 0)
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		(void)close(p[0]);
		child(p[1], fn, arg);
	}
	(void)close(p[1]);
	r = collect(p[0], ret_rc, buf, cap);
	(void)close(p[0]);
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status))
		return -1;
	if (WEXITSTATUS(status) == UNSUPPORTED_EXIT)
		return H_SYSLOG_UNSUPPORTED;
	return WEXITSTATUS(status) == 0 ? r : -1;
}

int
h_syslog_count(const char *buf, int prio, const char *needle)
{
	const char *line = buf;
	int n = 0;

	while (*line != '\0') {
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);
		char one[4096];
		unsigned long long pri = 0;
		const char *gt;

		if (len >= sizeof(one))
			len = sizeof(one) - 1;
		memcpy(one, line, len);
		one[len] = '\0';
		gt = strchr(one, '>');
		if (one[0] == '<' && gt != NULL) {
			one[gt - one] = '\0';
			if (ft_parse_uint(one + 1, 1023, &pri) < 0)
				pri = 0;
			one[gt - one] = '>';
		}
		if ((prio < 0 || (int)(pri & 7) == prio) &&
		    (needle == NULL || strstr(one, needle) != NULL))
			n++;
		line = nl ? nl + 1 : line + len;
	}
	return n;
}
