/* SPDX-License-Identifier: Apache-2.0 */
/* ratelimit.c: per-uid and non-root token buckets (see ratelimit.h). */
#include "ratelimit.h"

#include <string.h>

static unsigned
min_u(unsigned a, unsigned b)
{
	return a < b ? a : b;
}

/* A quarter of n, at least 1 while n is not 0 (the share of one uid). */
static unsigned
share_of(unsigned n)
{
	if (n == 0)
		return 0;
	return n / RATELIMIT_SHARE > 0 ? n / RATELIMIT_SHARE : 1;
}

void
ratelimit_init(struct ratelimit *rl, unsigned burst, unsigned per_minute,
	       unsigned nonroot_per_minute)
{
	memset(rl, 0, sizeof(*rl));
	rl->nonroot_per_minute = nonroot_per_minute;
	/* 20 seconds' worth, rounded up: 240 a minute, 80 at once */
	rl->nonroot_burst =
		nonroot_per_minute / 3 + (nonroot_per_minute % 3 != 0 ? 1 : 0);
	rl->burst = min_u(burst, share_of(rl->nonroot_burst));
	rl->per_minute = min_u(per_minute, share_of(nonroot_per_minute));
	rl->reserve = rl->nonroot_burst / RATELIMIT_SHARE;
	rl->nonroot_tokens = rl->nonroot_burst;
}

static struct ratelimit_slot *
slot_for(struct ratelimit *rl, uid_t uid, uint64_t now_ms)
{
	struct ratelimit_slot *oldest = &rl->slot[0];
	size_t i;

	for (i = 0; i < RATELIMIT_SLOTS; i++) {
		struct ratelimit_slot *s = &rl->slot[i];

		if (s->used && s->uid == uid)
			return s;
		if (!s->used || (oldest->used && s->last_ms < oldest->last_ms))
			oldest = s;
	}
	oldest->used = true;
	oldest->uid = uid;
	oldest->tokens = rl->burst;
	oldest->last_ms = now_ms;
	return oldest;
}

/*
 * Add what per_minute gave since *last_ms, up to cap.  A clock going
 * back gives nothing, and forward again only the time since this call.
 */
static void
refill(double *tokens, uint64_t *last_ms, unsigned cap, unsigned per_minute,
       uint64_t now_ms)
{
	if (now_ms > *last_ms) {
		*tokens += (double)(now_ms - *last_ms) * per_minute / 60000.0;
		if (*tokens > cap)
			*tokens = cap;
	}
	*last_ms = now_ms;
}

enum ratelimit_verdict
ratelimit_take(struct ratelimit *rl, uid_t uid, bool known, uint64_t now_ms)
{
	struct ratelimit_slot *s;
	double floor;

	if (uid == 0)
		return RATELIMIT_OK;
	s = slot_for(rl, uid, now_ms);
	refill(&s->tokens, &s->last_ms, rl->burst, rl->per_minute, now_ms);
	refill(&rl->nonroot_tokens, &rl->nonroot_last_ms, rl->nonroot_burst,
	       rl->nonroot_per_minute, now_ms);
	if (rl->nonroot_burst == 0)
		return RATELIMIT_NONROOT;
	if (s->tokens < 1.0)
		return RATELIMIT_UID;
	floor = known ? 1.0 : (double)rl->reserve + 1.0;
	if (rl->nonroot_tokens < floor)
		return RATELIMIT_NONROOT;
	s->tokens -= 1.0;
	rl->nonroot_tokens -= 1.0;
	return RATELIMIT_OK;
}

bool
ratelimit_allow(struct ratelimit *rl, uid_t uid, uint64_t now_ms)
{
	return ratelimit_take(rl, uid, true, now_ms) == RATELIMIT_OK;
}
