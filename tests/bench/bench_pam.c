/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench_pam.c: what pam_ftrack.so adds to a PAM session open, measured
 * in one run through the real libpam (pam_start_confdir, a private
 * service folder), against the same stack without it, against
 * pam_exec running /bin/true and against the floor: a bare sendmsg of
 * the same datagram with SCM_CREDENTIALS to the same reading socket.
 * Prints a Markdown table.
 *
 * Build and run (as root, from the top of the tree, after `make`):
 *
 *   gcc -std=c11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Werror -pthread \
 *       -o build/tests/bench_pam tests/bench/bench_pam.c -lpam
 *   build/tests/bench_pam [ITERATIONS [MODULE [CDF_DIR]]]
 *
 * ITERATIONS (default 10000) per case; MODULE defaults to
 * build/pam_ftrack/pam_ftrack.so.  One iteration times one
 * pam_open_session + pam_close_session on the case's handle.  The cases
 * run side by side, in interleaved blocks of 10 iterations, so that
 * whatever else the machine does falls on all of them alike:
 *   (a) pam_permit only;  (b) + pam_ftrack, its socket read by a thread;
 *   (c) + pam_ftrack, a socket nobody reads (queue full: spool fallback);
 *   (d) + pam_ftrack, no socket (spool fallback);
 *   (e) + pam_exec /bin/true instead of pam_ftrack;
 *   (f) the floor: one sendmsg of the datagram (b) sends, with
 *       SCM_CREDENTIALS, on a socket opened once, to (b)'s socket.
 * Then the same with a fork per cycle, as sshd runs it (ITERATIONS / 5
 * per case, interleaved): the child times its open + close (or its one
 * sendmsg, on a socket of its own) and hands the figure up a pipe.
 * With CDF_DIR, each case's sorted times go to CDF_DIR/<case>.dat (one
 * "microseconds fraction" line each, for gnuplot), the fork pass's to
 * CDF_DIR/fork-<case>.dat.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <security/pam_appl.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ft_proto.h"

#define NCASES 6
#define FLOOR  5  /* the index of the floor */
#define BLOCK  10 /* small: a burst of the machine's load falls on all */
#define FORKS  5  /* the fork pass runs ITERATIONS / FORKS per case */

enum listener { NONE, DRAINED, STUCK };

/* The floor's datagram (what case b sends) and its socket. */
static char floor_msg[FT_PROTO_MAX + 1];
static size_t floor_len;
static int floor_fd = -1;
static struct sockaddr_un floor_sa;

struct bench_case {
	const char *name;
	const char *label;
	enum listener listener;
	int uses_ftrack;
	int is_floor; /* no PAM: one bare sendmsg */
	int no_fork;  /* left out of the fork pass */
	char sock[128];
	char spool[160];   /* its own spool folder */
	char session[768]; /* the session line after pam_permit, or "" */
	int fd;            /* the listener, or -1 */
	pam_handle_t *pamh;
	double *t; /* microseconds per iteration */
	double p50, p99, max;
	double *ft; /* the fork pass */
	double fp50, fp99, fmax;
};

struct drainer {
	int fd;
	atomic_int stop;
};

static char dir[64], spool[128], confdir[128];

static int
null_conv(int n, const struct pam_message **m, struct pam_response **r, void *d)
{
	(void)n;
	(void)m;
	(void)r;
	(void)d;
	return PAM_CONV_ERR;
}

static const struct pam_conv conv = {null_conv, NULL};

static void
die(const char *what)
{
	perror(what);
	exit(1);
}

static double
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static int
listen_at(const char *path)
{
	struct sockaddr_un sa;
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path) >=
		    (int)sizeof(sa.sun_path) ||
	    fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		die("bench_pam: bind");
	return fd;
}

static void *
drain_main(void *arg)
{
	struct drainer *dr = arg;
	char buf[2048];

	while (!atomic_load(&dr->stop)) {
		struct pollfd p = {.fd = dr->fd, .events = POLLIN};

		if (poll(&p, 1, 50) > 0)
			while (recv(dr->fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
				;
	}
	return NULL;
}

static void
write_service(const struct bench_case *c)
{
	char path[256];
	FILE *f;

	if (snprintf(path, sizeof(path), "%s/%s", confdir, c->name) >=
	    (int)sizeof(path))
		die("bench_pam: path");
	f = fopen(path, "we");
	if (f == NULL)
		die(path);
	fprintf(f, "session required pam_permit.so\n%s\n", c->session);
	if (fclose(f) != 0)
		die(path);
}

/* The service file, the listener and the PAM handle of case c. */
static void
prepare(struct bench_case *c, const char *module, int n)
{
	int r;

	c->t = calloc((size_t)n, sizeof(*c->t));
	c->ft = calloc((size_t)(n / FORKS), sizeof(*c->ft));
	if (c->t == NULL || c->ft == NULL)
		die("calloc");
	c->fd = -1;
	if (c->is_floor)
		return;
	r = snprintf(c->sock, sizeof(c->sock), "%s/%s.sock", dir, c->name);
	/* a spool folder per case: (c) and (d) send different events
	 * (service=), and each case spools one login again and again */
	if (r > 0 && c->uses_ftrack)
		r = snprintf(c->spool, sizeof(c->spool), "%s/%s", spool,
			     c->name);
	if (r > 0 && (size_t)r < sizeof(c->spool) && c->uses_ftrack &&
	    mkdir(c->spool, 0700) < 0)
		die(c->spool);
	if (r > 0 && c->uses_ftrack)
		r = snprintf(c->session, sizeof(c->session),
			     "session optional %s socket=%s spool=%s "
			     "daemon_user=root",
			     module, c->sock, c->spool);
	if (r < 0 || (size_t)r >= sizeof(c->session))
		die("bench_pam: paths too long");
	write_service(c);
	c->fd = c->listener != NONE ? listen_at(c->sock) : -1;
	r = pam_start_confdir(c->name, "alice", &conv, confdir, &c->pamh);
	if (r != PAM_SUCCESS)
		die("pam_start_confdir");
	(void)pam_set_item(c->pamh, PAM_RHOST, "192.0.2.10");
	(void)pam_set_item(c->pamh, PAM_TTY, "ssh");
}

/*
 * The datagram case (b) sends: what pam_ftrack encodes from its items
 * (ft_event_encode, the module's own encoder), and the floor's socket.
 */
static void
prepare_floor(const struct bench_case *drained)
{
	struct ft_event ev;

	memset(&ev, 0, sizeof(ev));
	snprintf(ev.user, sizeof(ev.user), "alice");
	snprintf(ev.service, sizeof(ev.service), "%s", drained->name);
	snprintf(ev.rhost, sizeof(ev.rhost), "192.0.2.10");
	snprintf(ev.tty, sizeof(ev.tty), "ssh");
	if (ft_event_encode(&ev, floor_msg, sizeof(floor_msg), &floor_len) < 0)
		die("bench_pam: encode");
	memset(&floor_sa, 0, sizeof(floor_sa));
	floor_sa.sun_family = AF_UNIX;
	if (strlen(drained->sock) >= sizeof(floor_sa.sun_path))
		die("bench_pam: socket path");
	memcpy(floor_sa.sun_path, drained->sock, strlen(drained->sock) + 1);
	floor_fd =
		socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (floor_fd < 0)
		die("bench_pam: socket");
}

/* The floor: one sendmsg of the datagram with SCM_CREDENTIALS on fd. */
static int
floor_send(int fd)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(struct ucred))];
	} ctl;
	struct ucred uc = {.pid = getpid(), .uid = geteuid(), .gid = getegid()};
	struct iovec iov = {.iov_base = floor_msg, .iov_len = floor_len};
	struct msghdr mh;
	struct cmsghdr *cm;

	memset(&mh, 0, sizeof(mh));
	memset(&ctl, 0, sizeof(ctl));
	mh.msg_name = &floor_sa;
	mh.msg_namelen = (socklen_t)sizeof(floor_sa);
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = ctl.buf;
	mh.msg_controllen = sizeof(ctl.buf);
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_CREDENTIALS;
	cm->cmsg_len = CMSG_LEN(sizeof(uc));
	memcpy(CMSG_DATA(cm), &uc, sizeof(uc));
	return sendmsg(fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL) ==
			       (ssize_t)floor_len
		       ? PAM_SUCCESS
		       : PAM_SYSTEM_ERR;
}

/* One timed cycle of case c: open + close, or the floor's sendmsg. */
static int
cycle(struct bench_case *c, int fd, double *ret_us)
{
	double t0 = now_us();
	int r;

	if (c->is_floor) {
		r = floor_send(fd);
	} else {
		r = pam_open_session(c->pamh, 0);
		if (r == PAM_SUCCESS)
			r = pam_close_session(c->pamh, 0);
	}
	*ret_us = now_us() - t0;
	return r;
}

/*
 * cycle(), but the floor on a full queue (net.unix.max_dgram_qlen is 10
 * by default) is tried again once the reader drained it: a datagram not
 * sent is not a figure.
 */
static int
cycle_sent(struct bench_case *c, int fd, double *ret_us)
{
	int r = cycle(c, fd, ret_us), tries = 0;

	while (c->is_floor && r != PAM_SUCCESS && errno == EAGAIN &&
	       tries++ < 1000) {
		(void)poll(NULL, 0, 1);
		r = cycle(c, fd, ret_us);
	}
	return r;
}

static void
cycle_failed(const struct bench_case *c, int r)
{
	fprintf(stderr, "bench_pam: %s: %s\n", c->name,
		c->is_floor ? "sendmsg failed" : pam_strerror(c->pamh, r));
	exit(1);
}

/* Iterations [from, to) of case c; timed when from >= 0. */
static void
run_block(struct bench_case *c, int from, int to)
{
	int i, r = PAM_SUCCESS;
	double us = 0;

	for (i = from; i < to && r == PAM_SUCCESS; i++) {
		r = cycle_sent(c, floor_fd, &us);
		if (i >= 0)
			c->t[i] = us;
	}
	if (r != PAM_SUCCESS)
		cycle_failed(c, r);
}

/*
 * One cycle of case c in a child of its own (as sshd forks one per
 * connection); the floor opens its socket in the child, as the module
 * does.  Returns the child's figure.
 */
static double
fork_cycle(struct bench_case *c)
{
	double us = 0;
	int p[2], status;
	pid_t pid;

	if (pipe(p) < 0)
		die("pipe");
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		int fd = floor_fd, r;

		close(p[0]);
		if (c->is_floor)
			fd = socket(AF_UNIX,
				    SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
				    0);
		r = cycle_sent(c, fd, &us);
		if (r != PAM_SUCCESS ||
		    write(p[1], &us, sizeof(us)) != (ssize_t)sizeof(us))
			_exit(1);
		_exit(0);
	}
	close(p[1]);
	if (read(p[0], &us, sizeof(us)) != (ssize_t)sizeof(us))
		us = -1;
	close(p[0]);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0 || us < 0)
		cycle_failed(c, PAM_SYSTEM_ERR);
	return us;
}

static void
run_fork_block(struct bench_case *c, int from, int to)
{
	int i;

	for (i = from; i < to; i++)
		c->ft[i] = fork_cycle(c);
}

/* Sort t (n figures) into p50, p99, max; write it to cdf_dir/prefix+name.dat. */
static void
summarize(double *t, int n, double *p50, double *p99, double *max,
	  const char *cdf_dir, const char *prefix, const char *name)
{
	char path[512];
	FILE *f;
	int i;

	qsort(t, (size_t)n, sizeof(*t), cmp_double);
	*p50 = t[n / 2];
	*p99 = t[(size_t)((double)n * 0.99)];
	*max = t[n - 1];
	if (cdf_dir == NULL)
		return;
	if (snprintf(path, sizeof(path), "%s/%s%s.dat", cdf_dir, prefix,
		     name) >= (int)sizeof(path))
		die("bench_pam: CDF path");
	f = fopen(path, "we");
	if (f == NULL)
		die(path);
	for (i = 0; i < n; i++)
		fprintf(f, "%.2f %.5f\n", t[i], (double)(i + 1) / n);
	if (fclose(f) != 0)
		die(path);
}

static void
finish(struct bench_case *c, int n, const char *cdf_dir)
{
	summarize(c->t, n, &c->p50, &c->p99, &c->max, cdf_dir, "", c->name);
	if (!c->no_fork)
		summarize(c->ft, n / FORKS, &c->fp50, &c->fp99, &c->fmax,
			  cdf_dir, "fork-", c->name);
	if (c->pamh != NULL)
		(void)pam_end(c->pamh, PAM_SUCCESS);
	if (c->fd >= 0)
		close(c->fd);
	free(c->t);
	free(c->ft);
}

/* What case i adds to a session open (the floor: all of it). */
static double
added(const struct bench_case *c, int i, bool fork_pass)
{
	if (fork_pass)
		return c[i].is_floor ? c[i].fp50 : c[i].fp50 - c[0].fp50;
	return c[i].is_floor ? c[i].p50 : c[i].p50 - c[0].p50;
}

static double
added99(const struct bench_case *c, int i, bool fork_pass)
{
	if (fork_pass)
		return c[i].is_floor ? c[i].fp99 : c[i].fp99 - c[0].fp99;
	return c[i].is_floor ? c[i].p99 : c[i].p99 - c[0].p99;
}

static void
print_table(const struct bench_case *c, int n)
{
	struct utsname u;
	char line[256], model[256] = "unknown CPU";
	FILE *f = fopen("/proc/cpuinfo", "re");
	int i;

	while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, "model name", 10) == 0) {
			snprintf(model, sizeof(model), "%s",
				 strchr(line, ':') + 2);
			model[strcspn(model, "\n")] = '\0';
			break;
		}
	}
	if (f != NULL)
		fclose(f);
	uname(&u);
	printf("%s, %ld CPUs, Linux %s; %d open+close session cycles per "
	       "case, interleaved; microseconds.\n\n",
	       model, sysconf(_SC_NPROCESSORS_ONLN), u.release, n);
	printf("| case | p50 | p99 | max | added p50 | added p99 | "
	       "pam_exec/case p50 | pam_exec/case p99 |\n"
	       "|---|---:|---:|---:|---:|---:|---:|---:|\n");
	for (i = 0; i < NCASES; i++)
		printf("| %s | %.1f | %.1f | %.1f | %.1f | %.1f | %.1fx | "
		       "%.1fx |\n",
		       c[i].label, c[i].p50, c[i].p99, c[i].max,
		       added(c, i, false), added99(c, i, false),
		       c[4].p50 / c[i].p50, c[4].p99 / c[i].p99);
	printf("\nAdded to a session open at p50: pam_ftrack %.1f us (socket "
	       "read), pam_exec %.1f us: %.0f times more; the floor (f) "
	       "%.1f us: pam_ftrack added / floor = %.2f.  Spool fallback "
	       "added p99: %.1f us (c), %.1f us (d).\n",
	       added(c, 1, false), added(c, 4, false),
	       added(c, 4, false) / added(c, 1, false), c[FLOOR].p50,
	       added(c, 1, false) / c[FLOOR].p50, added99(c, 2, false),
	       added99(c, 3, false));
	printf("\nWith a fork per cycle (as sshd runs it): %d cycles per "
	       "case, interleaved, each timed in its child; pam_exec left "
	       "out.\n\n",
	       n / FORKS);
	printf("| case, fork per cycle | p50 | p99 | max | added p50 | "
	       "added p99 |\n|---|---:|---:|---:|---:|---:|\n");
	for (i = 0; i < NCASES; i++) {
		if (c[i].no_fork)
			continue;
		printf("| %s | %.1f | %.1f | %.1f | %.1f | %.1f |\n",
		       c[i].label, c[i].fp50, c[i].fp99, c[i].fmax,
		       added(c, i, true), added99(c, i, true));
	}
	printf("\nFork per cycle: pam_ftrack added p50 %.1f us, the floor "
	       "%.1f us: pam_ftrack added / floor = %.2f.\n",
	       added(c, 1, true), c[FLOOR].fp50,
	       added(c, 1, true) / c[FLOOR].fp50);
}

static void
make_dirs(void)
{
	snprintf(dir, sizeof(dir), "/tmp/bench_pam.XXXXXX");
	if (mkdtemp(dir) == NULL)
		die("mkdtemp");
	snprintf(spool, sizeof(spool), "%s/queue", dir);
	snprintf(confdir, sizeof(confdir), "%s/pam.d", dir);
	if (mkdir(spool, 0700) < 0 || mkdir(confdir, 0700) < 0)
		die("mkdir");
}

static void
cleanup(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "bench_pam: could not remove %s\n", dir);
}

int
main(int argc, char **argv)
{
	static struct bench_case c[NCASES] = {
		{.name = "base",
		 .label = "(a) pam_permit only",
		 .listener = NONE,
		 .uses_ftrack = 0},
		{.name = "drained",
		 .label = "(b) + pam_ftrack, socket read",
		 .listener = DRAINED,
		 .uses_ftrack = 1},
		{.name = "stuck",
		 .label = "(c) + pam_ftrack, queue full (spool)",
		 .listener = STUCK,
		 .uses_ftrack = 1},
		{.name = "nosock",
		 .label = "(d) + pam_ftrack, no socket (spool)",
		 .listener = NONE,
		 .uses_ftrack = 1},
		{.name = "exec",
		 .label = "(e) + pam_exec /bin/true",
		 .listener = NONE,
		 .uses_ftrack = 0,
		 .no_fork = 1},
		{.name = "floor",
		 .label = "(f) floor: bare sendmsg of (b)'s datagram",
		 .listener = NONE,
		 .uses_ftrack = 0,
		 .is_floor = 1},
	};
	struct drainer dr;
	pthread_t th;
	char module[PATH_MAX];
	const char *cdf_dir = argc > 3 ? argv[3] : NULL;
	int n = argc > 1 ? (int)strtol(argv[1], NULL, 10) : 10000, i, done;

	if (n < BLOCK * FORKS || n % (BLOCK * FORKS) != 0 ||
	    realpath(argc > 2 ? argv[2] : "build/pam_ftrack/pam_ftrack.so",
		     module) == NULL) {
		fprintf(stderr, "usage: bench_pam [ITERATIONS (a multiple of "
				"50) [MODULE [CDF_DIR]]]\n");
		return 2;
	}
	make_dirs();
	snprintf(c[4].session, sizeof(c[4].session),
		 "session optional pam_exec.so /bin/true");
	for (i = 0; i < NCASES; i++)
		prepare(&c[i], module, n);
	prepare_floor(&c[1]);
	dr.fd = c[1].fd;
	atomic_init(&dr.stop, 0);
	if (pthread_create(&th, NULL, drain_main, &dr) != 0)
		die("pthread_create");
	for (i = 0; i < NCASES; i++)
		run_block(&c[i], -10 * BLOCK, 0); /* warm up */
	for (done = 0; done < n; done += BLOCK)
		for (i = 0; i < NCASES; i++)
			run_block(&c[i], done, done + BLOCK);
	for (done = 0; done < n / FORKS; done += BLOCK / FORKS)
		for (i = 0; i < NCASES; i++)
			if (!c[i].no_fork) /* pam_exec forks already */
				run_fork_block(&c[i], done,
					       done + BLOCK / FORKS);
	atomic_store(&dr.stop, 1);
	pthread_join(th, NULL);
	for (i = 0; i < NCASES; i++)
		finish(&c[i], n, cdf_dir);
	close(floor_fd);
	print_table(c, n);
	cleanup();
	return 0;
}
