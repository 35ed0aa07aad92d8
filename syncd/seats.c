/* SPDX-License-Identifier: Apache-2.0 */
/* seats.c: the provisioner's seat budget per host and in total. */
#include "seats.h"

#include <inttypes.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ft_err.h"
#include "ft_proto.h"
#include "ft_util.h"
#include "state.h"
#include "umap.h"

#define MAGIC "FTSEATS1\n"

struct seats {
	int dirfd;
	unsigned long per_host;
	unsigned long total_cap;
	long period;
	time_t start;        /* of the period the counts are of */
	unsigned long total; /* seats counted in it */
	struct umap *hosts;  /* host -> seats counted in it */
	bool dirty;
};

time_t
seats_period_start(const struct seats *s, time_t now)
{
	return now - now % s->period;
}

long
seats_period(const struct seats *s)
{
	return s->period;
}

/* Start from zero when now is in a later period than the counts. */
static int
roll(struct seats *s, time_t now)
{
	time_t start = seats_period_start(s, now);
	struct umap *m;

	if (start == s->start)
		return FT_OK;
	m = umap_new();
	if (m == NULL)
		return FT_E_NOMEM;
	umap_free(s->hosts, NULL);
	s->hosts = m;
	s->start = start;
	s->total = 0;
	s->dirty = true;
	return FT_OK;
}

/* One "key=value" line of the file into s; false when it is not one. */
static bool
parse_line(struct seats *s, char *line)
{
	unsigned long long n;
	char *sp;

	if (strncmp(line, "period=", 7) == 0) {
		if (ft_parse_uint(line + 7, (unsigned long long)INT64_MAX, &n) <
		    0)
			return false;
		s->start = (time_t)n;
		return true;
	}
	if (strncmp(line, "total=", 6) == 0) {
		if (ft_parse_uint(line + 6, ULONG_MAX, &n) < 0)
			return false;
		s->total = (unsigned long)n;
		return true;
	}
	if (strncmp(line, "host=", 5) != 0)
		return false;
	sp = strchr(line + 5, ' ');
	if (sp == NULL || ft_parse_uint(sp + 1, ULONG_MAX, &n) < 0)
		return false;
	*sp = '\0';
	if (!ft_host_name_ok(line + 5, strlen(line + 5)))
		return false;
	return umap_put_num(s->hosts, line + 5, n) == FT_OK;
}

/* The file's counts (len bytes of buf, NUL-terminated, changed). */
static bool
parse(struct seats *s, char *buf, size_t len)
{
	char *line, *save = NULL;

	if (len < sizeof(MAGIC) - 1 ||
	    memcmp(buf, MAGIC, sizeof(MAGIC) - 1) != 0)
		return false;
	for (line = strtok_r(buf + sizeof(MAGIC) - 1, "\n", &save);
	     line != NULL; line = strtok_r(NULL, "\n", &save))
		if (!parse_line(s, line))
			return false;
	return true;
}

int
seats_open(int dirfd, unsigned long per_host, unsigned long total, long period,
	   time_t now, struct seats **ret, const char **why)
{
	struct seats *s = calloc(1, sizeof(*s));
	char *buf = NULL;
	size_t len = 0;
	int r;

	*why = NULL;
	if (s == NULL)
		return FT_E_NOMEM;
	s->dirfd = dirfd;
	s->per_host = per_host;
	s->total_cap = total;
	s->period = period > 0 ? period : SEATS_PERIOD;
	s->start = -1;
	s->hosts = umap_new();
	if (s->hosts == NULL) {
		seats_free(s);
		return FT_E_NOMEM;
	}
	r = state_read_file(dirfd, SEATS_FILE, SEATS_FILE_MAX, &buf, &len, why);
	if (r == FT_E_NOTFOUND)
		r = FT_OK;
	else if (r == FT_OK && !parse(s, buf, len)) {
		*why = "not a seats file";
		r = FT_E_PROTO;
	} else if (r < 0)
		r = FT_E_PROTO;
	free(buf);
	if (r < 0)
		s->start = -1; /* damaged: start from zero */
	if (roll(s, now) < 0) {
		seats_free(s);
		return FT_E_NOMEM;
	}
	if (r == FT_OK && s->start == seats_period_start(s, now))
		s->dirty = false;
	*ret = s;
	return r;
}

void
seats_free(struct seats *s)
{
	if (s == NULL)
		return;
	umap_free(s->hosts, NULL);
	free(s);
}

void
seats_set_caps(struct seats *s, unsigned long per_host, unsigned long total)
{
	s->per_host = per_host;
	s->total_cap = total;
}

bool
seats_room(struct seats *s, const char *host, time_t now,
	   unsigned long extra_host, unsigned long extra_total, char *why,
	   size_t whylen)
{
	uint64_t used;

	if (roll(s, now) < 0) {
		(void)snprintf(why, whylen, "out of memory");
		return false;
	}
	used = umap_get_num(s->hosts, host);
	if (used + extra_host >= s->per_host) {
		(void)snprintf(why, whylen,
			       "new_seats_per_host: host %s reached %lu new "
			       "seats this hour",
			       host, s->per_host);
		return false;
	}
	if (s->total + extra_total >= s->total_cap) {
		(void)snprintf(
			why, whylen,
			"new_seats_total: all hosts reached %lu new seats "
			"this hour (this one: host %s)",
			s->total_cap, host);
		return false;
	}
	return true;
}

bool
seats_take(struct seats *s, const char *host, time_t now, char *why,
	   size_t whylen)
{
	if (!seats_room(s, host, now, 0, 0, why, whylen))
		return false;
	if (umap_put_num(s->hosts, host, umap_get_num(s->hosts, host) + 1) <
	    0) {
		(void)snprintf(why, whylen, "out of memory");
		return false;
	}
	s->total++;
	s->dirty = true;
	return true;
}

void
seats_refund(struct seats *s, const char *host, time_t now)
{
	uint64_t used = umap_get_num(s->hosts, host);

	if (seats_period_start(s, now) != s->start || used == 0 ||
	    s->total == 0)
		return;
	if (umap_put_num(s->hosts, host, used - 1) < 0)
		return;
	s->total--;
	s->dirty = true;
}

struct out {
	const struct umap *m;
	char *buf;
	size_t len, cap;
	bool full;
};

static int
put_host(void *ctx, const char *key, void *val)
{
	struct out *o = ctx;
	int n;

	(void)val;
	if (o->full)
		return 0;
	n = snprintf(o->buf + o->len, o->cap - o->len, "host=%s %" PRIu64 "\n",
		     key, umap_get_num(o->m, key));
	if (n < 0 || (size_t)n >= o->cap - o->len)
		o->full = true;
	else
		o->len += (size_t)n;
	return 0;
}

int
seats_save(struct seats *s)
{
	struct out o = {s->hosts, NULL, 0, 0, false};
	int n, r;

	if (!s->dirty)
		return FT_OK;
	o.cap = 64 + umap_size(s->hosts) * (FT_HOST_MAX + 32);
	if (o.cap > (size_t)SEATS_FILE_MAX)
		o.cap = (size_t)SEATS_FILE_MAX;
	o.buf = malloc(o.cap);
	if (o.buf == NULL)
		return FT_E_NOMEM;
	n = snprintf(o.buf, o.cap, MAGIC "period=%lld\ntotal=%lu\n",
		     (long long)s->start, s->total);
	o.len = n > 0 ? (size_t)n : 0;
	(void)umap_each(s->hosts, put_host, &o);
	r = ft_write_atomic(s->dirfd, SEATS_FILE, o.buf, o.len);
	free(o.buf);
	if (r == FT_OK)
		s->dirty = false;
	return r;
}
