/* SPDX-License-Identifier: Apache-2.0 */
/* timing.c: the monotonic clock, UTC timestamps, jittered back-off. */
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "timing.h"

#include "ft_err.h"

uint64_t
timing_now_ms(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

double
timing_now_s(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void
timing_now_iso(char *buf, size_t len)
{
	time_t now = time(NULL);
	struct tm tm;

	if (gmtime_r(&now, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		buf[0] = '\0';
}

void
timing_iso(long long t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		buf[0] = '\0';
}

int
timing_iso_parse(const char *iso, long long *ret)
{
	struct tm tm;
	const char *end;

	memset(&tm, 0, sizeof(tm));
	end = strptime(iso, "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (end == NULL || *end != '\0' || strlen(iso) != 20)
		return FT_E_INVAL;
	*ret = (long long)timegm(&tm);
	return FT_OK;
}

uint64_t
timing_seed(void)
{
	uint64_t s = 0;

	if (getrandom(&s, sizeof(s), GRND_NONBLOCK) != (ssize_t)sizeof(s))
		s = timing_now_ms() ^ ((uint64_t)getpid() << 32);
	return s != 0 ? s : 0x9e3779b97f4a7c15ULL;
}

uint64_t
timing_rand(uint64_t *state)
{
	uint64_t x = *state != 0 ? *state : 0x9e3779b97f4a7c15ULL;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545f4914f6cdd1dULL;
}

uint64_t
timing_backoff_ms(unsigned attempt, uint64_t base_ms, uint64_t max_ms,
		  uint64_t rnd)
{
	uint64_t d = base_ms, lo, hi;
	unsigned i;

	for (i = 0; i < attempt && d < max_ms; i++)
		d *= 2;
	if (d > max_ms)
		d = max_ms;
	lo = d - d / 5;
	hi = d + d / 5;
	if (hi > max_ms)
		hi = max_ms;
	if (hi < lo)
		return lo;
	return lo + rnd % (hi - lo + 1);
}
