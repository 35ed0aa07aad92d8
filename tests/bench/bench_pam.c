/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench_pam.c: what pam_ftrack.so adds to a PAM session open, measured
 * in one run through the real libpam (pam_start_confdir, a private
 * service folder), against the same stack without it and against
 * pam_exec running /bin/true.  Prints a Markdown table.
 *
 * Build and run (as root, from the top of the tree, after `make`):
 *
 *   gcc -std=c11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Werror -pthread \
 *       -o build/tests/bench_pam tests/bench/bench_pam.c -lpam
 *   build/tests/bench_pam [ITERATIONS [MODULE]]
 *
 * ITERATIONS (default 10000) per case; MODULE defaults to
 * build/pam_ftrack/pam_ftrack.so.  One iteration times one
 * pam_open_session + pam_close_session on the case's handle.  The cases
 * run side by side, in interleaved blocks of 100 iterations, so that
 * whatever else the machine does falls on all of them alike:
 *   (a) pam_permit only;  (b) + pam_ftrack, its socket read by a thread;
 *   (c) + pam_ftrack, a socket nobody reads (queue full: spool fallback);
 *   (d) + pam_ftrack, no socket (spool fallback);
 *   (e) + pam_exec /bin/true instead of pam_ftrack.
 */
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <security/pam_appl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#define NCASES 5
#define BLOCK  100

enum listener { NONE, DRAINED, STUCK };

struct bench_case {
	const char *name;
	const char *label;
	enum listener listener;
	int uses_ftrack;
	char sock[128];
	char session[768]; /* the session line after pam_permit, or "" */
	int fd;            /* the listener, or -1 */
	pam_handle_t *pamh;
	double *t; /* microseconds per iteration */
	double p50, p99, max;
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

	r = snprintf(c->sock, sizeof(c->sock), "%s/%s.sock", dir, c->name);
	if (r > 0 && c->uses_ftrack)
		r = snprintf(c->session, sizeof(c->session),
			     "session optional %s socket=%s spool=%s "
			     "daemon_user=root",
			     module, c->sock, spool);
	if (r < 0 || (size_t)r >= sizeof(c->session))
		die("bench_pam: paths too long");
	write_service(c);
	c->fd = c->listener != NONE ? listen_at(c->sock) : -1;
	c->t = calloc((size_t)n, sizeof(*c->t));
	if (c->t == NULL)
		die("calloc");
	r = pam_start_confdir(c->name, "alice", &conv, confdir, &c->pamh);
	if (r != PAM_SUCCESS)
		die("pam_start_confdir");
	(void)pam_set_item(c->pamh, PAM_RHOST, "192.0.2.10");
	(void)pam_set_item(c->pamh, PAM_TTY, "ssh");
}

/* Iterations [from, to) of case c; timed when from >= 0. */
static void
run_block(struct bench_case *c, int from, int to)
{
	int i, r = PAM_SUCCESS;

	for (i = from; i < to && r == PAM_SUCCESS; i++) {
		double t0 = now_us();

		r = pam_open_session(c->pamh, 0);
		if (r == PAM_SUCCESS)
			r = pam_close_session(c->pamh, 0);
		if (i >= 0)
			c->t[i] = now_us() - t0;
	}
	if (r != PAM_SUCCESS) {
		fprintf(stderr, "bench_pam: %s: %s\n", c->name,
			pam_strerror(c->pamh, r));
		exit(1);
	}
}

static void
finish(struct bench_case *c, int n)
{
	qsort(c->t, (size_t)n, sizeof(*c->t), cmp_double);
	c->p50 = c->t[n / 2];
	c->p99 = c->t[(size_t)((double)n * 0.99)];
	c->max = c->t[n - 1];
	(void)pam_end(c->pamh, PAM_SUCCESS);
	if (c->fd >= 0)
		close(c->fd);
	free(c->t);
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
	printf("| case | p50 | p99 | max | added p50 | pam_exec/case p50 | "
	       "pam_exec/case p99 |\n|---|---:|---:|---:|---:|---:|---:|\n");
	for (i = 0; i < NCASES; i++)
		printf("| %s | %.1f | %.1f | %.1f | %.1f | %.1fx | %.1fx |\n",
		       c[i].label, c[i].p50, c[i].p99, c[i].max,
		       c[i].p50 - c[0].p50, c[4].p50 / c[i].p50,
		       c[4].p99 / c[i].p99);
	printf("\nAdded to a session open at p50: pam_ftrack %.1f us (socket "
	       "read), pam_exec %.1f us: %.0f times more.\n",
	       c[1].p50 - c[0].p50, c[4].p50 - c[0].p50,
	       (c[4].p50 - c[0].p50) / (c[1].p50 - c[0].p50));
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
		 .uses_ftrack = 0},
	};
	struct drainer dr;
	pthread_t th;
	char module[PATH_MAX];
	int n = argc > 1 ? (int)strtol(argv[1], NULL, 10) : 10000, i, done;

	if (n < BLOCK || n % BLOCK != 0 ||
	    realpath(argc > 2 ? argv[2] : "build/pam_ftrack/pam_ftrack.so",
		     module) == NULL) {
		fprintf(stderr, "usage: bench_pam [ITERATIONS (a multiple of "
				"100) [MODULE]]\n");
		return 2;
	}
	make_dirs();
	snprintf(c[4].session, sizeof(c[4].session),
		 "session optional pam_exec.so /bin/true");
	for (i = 0; i < NCASES; i++)
		prepare(&c[i], module, n);
	dr.fd = c[1].fd;
	atomic_init(&dr.stop, 0);
	if (pthread_create(&th, NULL, drain_main, &dr) != 0)
		die("pthread_create");
	for (i = 0; i < NCASES; i++)
		run_block(&c[i], -BLOCK, 0); /* warm up */
	for (done = 0; done < n; done += BLOCK)
		for (i = 0; i < NCASES; i++)
			run_block(&c[i], done, done + BLOCK);
	atomic_store(&dr.stop, 1);
	pthread_join(th, NULL);
	for (i = 0; i < NCASES; i++)
		finish(&c[i], n);
	print_table(c, n);
	cleanup();
	return 0;
}
