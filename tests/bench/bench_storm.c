/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench_storm.c: drive the real libpam and the built pam_ftrack.so through
 * many session opens, as a busy host does when everyone logs in at once,
 * and report how long each pam_open_session took and what the module did
 * with each event.
 *
 *   bench_storm MODULE SOCKET SPOOL USERS_FILE COUNT RATE
 *
 * A private service folder (pam_start_confdir) holds one service:
 * auth/account pam_permit, `session optional MODULE socket=SOCKET
 * spool=SPOOL`, then `session required pam_permit`.  Login i is by user
 * i % n of USERS_FILE (one name per line, at most 100,000 names), so the
 * same people log in again and again.  Logins start at RATE per second
 * (0: back to back), each a full pam_start_confdir, pam_open_session,
 * pam_close_session, pam_end; only pam_open_session is timed.
 *
 * The module reports a fallback only through pam_syslog, which ends in
 * glibc's syslog; this program defines those functions itself (the
 * executable's symbols come first in the dynamic lookup), counts the
 * messages that say "spooled in" and "event dropped", and sends nothing
 * to the host's syslog.  Datagrams handed to the daemon are the rest.
 *
 * Prints one JSON object on stdout: logins, seconds, spooled, dropped,
 * other_logs, pam_errors, p50_us, p99_us, max_us.  Exit 0, or 1 on a
 * setup error (message on stderr).  Benchmark tool, single-threaded.
 */
#include <errno.h>
#include <limits.h>
#include <security/pam_appl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ft_err.h"
#include "ft_util.h"

#define MAX_USERS  100000
#define MAX_LOGINS 10000000ULL
#define MAX_RATE   1000000ULL
#define NAME_MAX_B 256

struct counts {
	unsigned long spooled;
	unsigned long dropped;
	unsigned long other;
};

static struct counts logged;

/* The syslog entry points glibc offers; libpam calls the _chk one. */
void __syslog_chk(int pri, int flag, const char *fmt, ...); /* NOLINT */
void __vsyslog_chk(int pri, int flag, const char *fmt,      /* NOLINT */
		   va_list ap);
void syslog(int pri, const char *fmt, ...);
void vsyslog(int pri, const char *fmt, va_list ap);

static void
count_message(const char *fmt, va_list ap)
{
	char msg[2048];

	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	if (strstr(msg, "spooled in") != NULL)
		logged.spooled++;
	else if (strstr(msg, "event dropped") != NULL)
		logged.dropped++;
	else
		logged.other++;
}

void
__vsyslog_chk(int pri, int flag, const char *fmt, va_list ap) /* NOLINT */
{
	(void)pri;
	(void)flag;
	count_message(fmt, ap);
}

void
__syslog_chk(int pri, int flag, const char *fmt, ...) /* NOLINT */
{
	va_list ap;

	(void)pri;
	(void)flag;
	va_start(ap, fmt);
	count_message(fmt, ap);
	va_end(ap);
}

void
vsyslog(int pri, const char *fmt, va_list ap)
{
	(void)pri;
	count_message(fmt, ap);
}

void
syslog(int pri, const char *fmt, ...)
{
	va_list ap;

	(void)pri;
	va_start(ap, fmt);
	count_message(fmt, ap);
	va_end(ap);
}

struct storm {
	const char *module, *sock, *spool;
	char **users;
	size_t nusers;
	unsigned long long count, rate;
	char confdir[64];
	double *lat_us;
	unsigned long pam_errors;
};

static int
no_conv(int n, const struct pam_message **msg, struct pam_response **resp,
	void *data)
{
	(void)n;
	(void)msg;
	(void)resp;
	(void)data;
	return PAM_CONV_ERR;
}

static double
now_s(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Read USERS_FILE into st->users.  Returns FT_OK or an FT_E_* code. */
static int
read_users(struct storm *st, const char *path)
{
	char line[NAME_MAX_B + 2];
	FILE *f = fopen(path, "re");
	int r = FT_E_IO;

	if (f == NULL)
		goto out;
	r = FT_E_NOMEM;
	st->users = calloc(MAX_USERS, sizeof(*st->users));
	if (st->users == NULL)
		goto out;
	while (st->nusers < MAX_USERS && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (line[0] == '\0')
			continue;
		st->users[st->nusers] = strdup(line);
		if (st->users[st->nusers] == NULL)
			goto out;
		st->nusers++;
	}
	r = st->nusers > 0 ? FT_OK : FT_E_INVAL;
out:
	if (f != NULL)
		(void)fclose(f);
	return r;
}

/* Write the service file name in the private folder. */
static int
write_file(const struct storm *st, const char *name, const char *text)
{
	char path[PATH_MAX];
	FILE *f;
	int n, r = FT_E_IO;

	n = snprintf(path, sizeof(path), "%s/%s", st->confdir, name);
	if (n < 0 || (size_t)n >= sizeof(path))
		return FT_E_TOOBIG;
	f = fopen(path, "we");
	if (f == NULL)
		return FT_E_IO;
	if (fputs(text, f) >= 0)
		r = FT_OK;
	if (fclose(f) != 0)
		r = FT_E_IO;
	return r;
}

/* The private service folder: "bench", and "other" so libpam is quiet. */
static int
write_service(struct storm *st)
{
	char text[3 * PATH_MAX];
	int n, r;

	n = snprintf(st->confdir, sizeof(st->confdir),
		     "/tmp/ftbench-pam.XXXXXX");
	if (n < 0 || (size_t)n >= sizeof(st->confdir) ||
	    mkdtemp(st->confdir) == NULL) {
		st->confdir[0] = '\0';
		return FT_E_IO;
	}
	n = snprintf(text, sizeof(text),
		     "auth required pam_permit.so\n"
		     "account required pam_permit.so\n"
		     "session optional %s socket=%s spool=%s\n"
		     "session required pam_permit.so\n",
		     st->module, st->sock, st->spool);
	if (n < 0 || (size_t)n >= sizeof(text))
		return FT_E_TOOBIG;
	r = write_file(st, "bench", text);
	if (r == FT_OK)
		r = write_file(st, "other",
			       "auth required pam_deny.so\n"
			       "account required pam_deny.so\n"
			       "session required pam_deny.so\n");
	return r;
}

static void
remove_service(const struct storm *st)
{
	static const char *const names[] = {"bench", "other"};
	char path[PATH_MAX];
	size_t i;

	if (st->confdir[0] == '\0')
		return;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		int n = snprintf(path, sizeof(path), "%s/%s", st->confdir,
				 names[i]);
		if (n > 0 && (size_t)n < sizeof(path))
			(void)unlink(path);
	}
	(void)rmdir(st->confdir);
}

/* One login by user; its pam_open_session time in *ret_us. */
static void
one_login(struct storm *st, const char *user, double *ret_us)
{
	const struct pam_conv conv = {no_conv, NULL};
	pam_handle_t *pamh = NULL;
	double t0;
	int r;

	r = pam_start_confdir("bench", user, &conv, st->confdir, &pamh);
	if (r != PAM_SUCCESS) {
		st->pam_errors++;
		*ret_us = 0;
		return;
	}
	(void)pam_set_item(pamh, PAM_RHOST, "10.1.2.3");
	(void)pam_set_item(pamh, PAM_TTY, "ssh");
	t0 = now_s();
	r = pam_open_session(pamh, 0);
	*ret_us = (now_s() - t0) * 1e6;
	if (r != PAM_SUCCESS)
		st->pam_errors++;
	r = pam_close_session(pamh, 0);
	(void)pam_end(pamh, r);
}

static void
pace(double start, unsigned long long i, unsigned long long rate)
{
	struct timespec ts;
	double when;

	if (rate == 0)
		return;
	when = start + (double)i / (double)rate;
	if (now_s() >= when)
		return;
	ts.tv_sec = (time_t)when;
	ts.tv_nsec = (long)((when - (double)ts.tv_sec) * 1e9);
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) ==
	       EINTR)
		;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double
pct(const double *v, unsigned long long n, double p)
{
	unsigned long long k = (unsigned long long)(p * (double)(n - 1) + 0.5);

	return v[k < n ? k : n - 1];
}

static void
run(struct storm *st)
{
	unsigned long long i, n = st->count;
	double start = now_s(), seconds;

	for (i = 0; i < n; i++) {
		pace(start, i, st->rate);
		one_login(st, st->users[i % st->nusers], &st->lat_us[i]);
	}
	seconds = now_s() - start;
	qsort(st->lat_us, n, sizeof(*st->lat_us), cmp_double);
	printf("{\"logins\": %llu, \"seconds\": %.6f, \"spooled\": %lu, "
	       "\"dropped\": %lu, \"other_logs\": %lu, \"pam_errors\": %lu, "
	       "\"p50_us\": %.3f, \"p99_us\": %.3f, \"max_us\": %.3f}\n",
	       n, seconds, logged.spooled, logged.dropped, logged.other,
	       st->pam_errors, pct(st->lat_us, n, 0.50),
	       pct(st->lat_us, n, 0.99), st->lat_us[n - 1]);
}

static int
parse_args(struct storm *st, int argc, char **argv)
{
	int r;

	if (argc != 7) {
		fprintf(stderr, "usage: bench_storm MODULE SOCKET SPOOL "
				"USERS_FILE COUNT RATE\n");
		return FT_E_INVAL;
	}
	st->module = argv[1];
	st->sock = argv[2];
	st->spool = argv[3];
	r = ft_parse_uint(argv[5], MAX_LOGINS, &st->count);
	if (r == FT_OK && st->count == 0)
		r = FT_E_INVAL;
	if (r == FT_OK)
		r = ft_parse_uint(argv[6], MAX_RATE, &st->rate);
	if (r != FT_OK) {
		fprintf(stderr, "bench_storm: bad COUNT or RATE\n");
		return r;
	}
	r = read_users(st, argv[4]);
	if (r != FT_OK)
		fprintf(stderr, "bench_storm: unable to read users from '%s'\n",
			argv[4]);
	return r;
}

int
main(int argc, char **argv)
{
	struct storm st;
	size_t i;
	int r;

	memset(&st, 0, sizeof(st));
	r = parse_args(&st, argc, argv);
	if (r == FT_OK) {
		st.lat_us = calloc(st.count, sizeof(*st.lat_us));
		r = st.lat_us != NULL ? write_service(&st) : FT_E_NOMEM;
		if (r != FT_OK)
			fprintf(stderr, "bench_storm: unable to set up: %s\n",
				ft_strerror(r));
	}
	if (r == FT_OK)
		run(&st);
	remove_service(&st);
	for (i = 0; i < st.nusers; i++)
		free(st.users[i]);
	free(st.users);
	free(st.lat_us);
	return r == FT_OK ? 0 : 1;
}
