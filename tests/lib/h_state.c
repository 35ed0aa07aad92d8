/* SPDX-License-Identifier: Apache-2.0 */
/* h_state.c: test library: the daemon's state folder (queue, spool, metrics). */
#include "harness.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ft_err.h"
#include "ft_proto.h"
#include "ft_util.h"

#define METRIC_PREFIX "ftrack_syncd_"

/* ---- the state folder ------------------------------------------------ */

int
h_queue_path(const char *state, const char *user, char *buf, size_t cap)
{
	char hex[2 * FT_PROTO_VALUE_MAX + 1];
	int n;

	if (ft_hex_encode(user, strlen(user), hex, sizeof(hex)) < 0)
		return FT_E_TOOBIG;
	n = snprintf(buf, cap, "%s/queue/%s", state, hex);
	if (n < 0 || (size_t)n >= cap)
		return FT_E_TOOBIG;
	return FT_OK;
}

bool
h_queued(const char *state, const char *user)
{
	char path[PATH_MAX];

	return h_queue_path(state, user, path, sizeof(path)) == FT_OK &&
	       access(path, F_OK) == 0;
}

long
h_queue_count(const char *state, const char *sub)
{
	char path[PATH_MAX];
	struct dirent *e;
	DIR *d;
	long n = 0;
	int len;

	len = snprintf(path, sizeof(path), "%s/%s", state, sub);
	if (len < 0 || (size_t)len >= sizeof(path))
		return -1;
	d = opendir(path);
	if (d == NULL)
		return -1;
	/* cppcheck-suppress readdirCalled */
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] != '.' && e->d_type != DT_DIR)
			n++;
	}
	(void)closedir(d);
	return n;
}

int
h_spool(const char *state, const char *user)
{
	char path[PATH_MAX], msg[FT_PROTO_MAX + 1];
	char hex[2 * FT_PROTO_VALUE_MAX + 1];
	size_t len = h_event(user, msg, sizeof(msg));
	int dfd, n, r;

	n = snprintf(path, sizeof(path), "%s/queue", state);
	if (len == 0 || n < 0 || (size_t)n >= sizeof(path) ||
	    ft_hex_encode(user, strlen(user), hex, sizeof(hex)) < 0)
		return FT_E_INVAL;
	dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return FT_E_IO;
	r = ft_write_atomic(dfd, hex, msg, len);
	(void)close(dfd);
	return r;
}

int
h_spool_host(const char *state, const char *user, const char *host)
{
	char path[PATH_MAX], msg[FT_PROTO_MAX + 1];
	char hex[2 * FT_PROTO_VALUE_MAX + 1];
	int dfd, n, len, r;

	n = snprintf(path, sizeof(path), "%s/queue", state);
	len = snprintf(msg, sizeof(msg),
		       FT_PROTO_VERSION "\nuser=%s\nservice=sshd\nhost=%s\n",
		       user, host);
	if (n < 0 || (size_t)n >= sizeof(path) || len < 0 ||
	    (size_t)len >= sizeof(msg) ||
	    ft_hex_encode(user, strlen(user), hex, sizeof(hex)) < 0)
		return FT_E_INVAL;
	dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return FT_E_IO;
	r = ft_write_atomic(dfd, hex, msg, (size_t)len);
	(void)close(dfd);
	return r;
}

/* The unsigned number at the start of s (up to a blank or newline). */
static long long
leading_number(const char *s)
{
	char num[32];
	size_t n = strcspn(s, " \t\n");
	unsigned long long v = 0;

	if (n == 0 || n >= sizeof(num))
		return -1;
	memcpy(num, s, n);
	num[n] = '\0';
	if (ft_parse_uint(num, (unsigned long long)LLONG_MAX, &v) < 0)
		return -1;
	return (long long)v;
}

long long
h_metric(const char *state, const char *sample)
{
	char path[PATH_MAX], want[256];
	char *text, *p;
	long long v = -1;
	int n, m;

	n = snprintf(path, sizeof(path), "%s/metrics.prom", state);
	m = snprintf(want, sizeof(want), "\n" METRIC_PREFIX "%s ", sample);
	if (n < 0 || (size_t)n >= sizeof(path) || m < 0 ||
	    (size_t)m >= sizeof(want))
		return -1;
	text = h_read_file(path, NULL);
	if (text == NULL)
		return -1;
	p = strstr(text, want);
	if (p != NULL)
		v = leading_number(p + m);
	free(text);
	return v;
}

static int
put_event(int dfd, const char *user)
{
	char hex[2 * FT_PROTO_VALUE_MAX + 1], msg[FT_PROTO_MAX + 1];
	size_t len = h_event(user, msg, sizeof(msg));
	int fd, r;

	if (len == 0)
		return FT_E_INVAL;
	r = ft_hex_encode(user, strlen(user), hex, sizeof(hex));
	if (r < 0)
		return r;
	fd = openat(dfd, hex, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return FT_E_IO;
	r = h_write_all(fd, msg, len) ? FT_OK : FT_E_IO;
	if (close(fd) < 0)
		r = FT_E_IO;
	return r;
}

int
h_queue_fill(const char *state, const char *prefix, unsigned n)
{
	char path[PATH_MAX], user[64];
	unsigned i;
	int dfd, r = FT_OK;

	if (snprintf(path, sizeof(path), "%s/queue", state) >=
	    (int)sizeof(path))
		return FT_E_TOOBIG;
	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		return FT_E_IO;
	dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return FT_E_IO;
	for (i = 0; i < n && r == FT_OK; i++) {
		if (snprintf(user, sizeof(user), "%s%06u", prefix, i) >=
		    (int)sizeof(user))
			r = FT_E_TOOBIG;
		else
			r = put_event(dfd, user);
	}
	if (r < 0)
		(void)fprintf(stderr, "harness: unable to fill %s: %s\n", path,
			      r == FT_E_IO ? strerror(errno) : ft_strerror(r));
	(void)close(dfd);
	return r;
}
