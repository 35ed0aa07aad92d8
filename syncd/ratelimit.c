/* SPDX-License-Identifier: Apache-2.0 */
/* ratelimit.c: per-uid token buckets. */
#include "ratelimit.h"

#include <string.h>

void
ratelimit_init(struct ratelimit *rl, unsigned burst, unsigned per_minute)
{
	memset(rl, 0, sizeof(*rl));
	rl->burst = burst;
	rl->per_minute = per_minute;
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

bool
ratelimit_allow(struct ratelimit *rl, uid_t uid, uint64_t now_ms)
{
	struct ratelimit_slot *s;

	if (uid == 0)
		return true;
	s = slot_for(rl, uid, now_ms);
	if (now_ms > s->last_ms) {
		double refill = (double)(now_ms - s->last_ms) * rl->per_minute /
				60000.0;
		s->tokens += refill;
		if (s->tokens > rl->burst)
			s->tokens = rl->burst;
	}
	s->last_ms = now_ms;
	if (s->tokens < 1.0)
		return false;
	s->tokens -= 1.0;
	return true;
}
