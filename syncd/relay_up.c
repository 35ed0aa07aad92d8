/* SPDX-License-Identifier: Apache-2.0 */
/* relay_up.c: upstream order, fail-over, retry_primary and back-off (pure). */
#include "relay_up.h"

#include <stdio.h>
#include <string.h>

#include "ft_err.h"
#include "queue.h"

void
relay_up_init(struct relay_up *s, size_t n, unsigned long retry_primary)
{
	memset(s, 0, sizeof(*s));
	s->n = n == 0 ? 1 : n > RELAY_UP_MAX ? RELAY_UP_MAX : n;
	s->retry_primary_ms = (uint64_t)retry_primary * 1000u;
	s->all_refused = true;
}

size_t
relay_up_pick(struct relay_up *s, uint64_t now_ms, uint64_t *ret_wait_ms)
{
	if (s->cur != 0 && now_ms - s->left_primary_ms >= s->retry_primary_ms) {
		s->cur = 0;
		s->left_primary_ms = 0;
	}
	*ret_wait_ms = s->next_ms > now_ms ? s->next_ms - now_ms : 0;
	return s->cur;
}

/* Every upstream of the round failed: wait, then start again at 0. */
static void
round_failed(struct relay_up *s, uint64_t now_ms, unsigned long rnd)
{
	uint64_t wait = s->all_refused ? QUEUE_BACKOFF_MAX_MS
				       : queue_backoff_ms(s->attempt, rnd);

	if (s->attempt < 64)
		s->attempt++;
	if (wait < s->round_wait_ms)
		wait = s->round_wait_ms;
	s->next_ms = now_ms + wait;
	s->cur = 0;
	s->left_primary_ms = 0;
	s->failed = 0;
	s->all_refused = true;
	s->round_wait_ms = 0;
}

void
relay_up_done(struct relay_up *s, size_t i, enum relay_outcome o,
	      uint64_t now_ms, time_t wall, unsigned long retry_after,
	      unsigned long rnd, const char *err)
{
	struct relay_upstream *u = &s->u[i < s->n ? i : 0];

	if (o == RELAY_OUT_OK) {
		u->state = RELAY_UP_UP;
		u->last_ok = wall;
		s->attempt = 0;
		s->failed = 0;
		s->all_refused = true;
		s->round_wait_ms = 0;
		s->next_ms = now_ms;
		return;
	}
	u->state = RELAY_UP_DOWN;
	u->last_fail = wall;
	(void)snprintf(u->err, sizeof(u->err), "%s",
		       err != NULL && *err != '\0' ? err : "unknown");
	if (o != RELAY_OUT_REFUSED)
		s->all_refused = false;
	if (retry_after * 1000u > s->round_wait_ms)
		s->round_wait_ms = (uint64_t)retry_after * 1000u;
	if (++s->failed >= s->n) {
		round_failed(s, now_ms, rnd);
		return;
	}
	s->cur = (i + 1) % s->n;
	if (s->cur != 0 && s->left_primary_ms == 0)
		s->left_primary_ms = now_ms;
	if (s->cur == 0)
		s->left_primary_ms = 0;
	s->next_ms = now_ms;
}

void
relay_up_defer(struct relay_up *s, uint64_t now_ms, unsigned long rnd)
{
	s->next_ms = now_ms + queue_backoff_ms(s->attempt, rnd);
	if (s->attempt < 64)
		s->attempt++;
}

enum relay_outcome
relay_up_classify(int r, long status)
{
	if (r != FT_OK)
		return RELAY_OUT_DOWN;
	switch (status) {
	case 202:
	case 413: /* answered: the caller splits the batch */
		return RELAY_OUT_OK;
	case 400:
	case 401:
	case 403:
	case 404:
	case 405:
		return RELAY_OUT_REFUSED;
	default:
		return RELAY_OUT_DOWN;
	}
}
