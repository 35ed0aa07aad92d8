/* SPDX-License-Identifier: Apache-2.0 */
/*
 * relay_up.h: which upstream a relay talks to, and when (pure).
 *
 * The upstreams are tried in order.  A network failure, a timeout, a 5xx,
 * a 429 or an unreadable answer moves to the next one at once; a 403 (this
 * host refused), 400, 401, 404 or 405 too.  When every upstream of a round
 * failed, the relay waits: queue_backoff_ms() of the rounds failed in a
 * row (1 s doubling to 15 min, jittered), at least the largest Retry-After
 * it was given, and the whole 15 min when every failure was a refusal (a
 * refused host will not be let in sooner: no hammering).  On a later
 * upstream, the first is tried again retry_primary seconds after leaving
 * it.  Time is passed in (monotonic ms; wall-clock seconds for status).
 * No I/O, no locking: the caller serialises.
 */
#ifndef RELAY_UP_H
#define RELAY_UP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define RELAY_UP_MAX     8   /* upstreams a relay may name */
#define RELAY_UP_ERR_MAX 256 /* bytes of the last error kept */

enum relay_outcome {
	RELAY_OUT_OK,      /* an answer came: the upstream works */
	RELAY_OUT_DOWN,    /* no answer, 5xx, 429, an unreadable answer */
	RELAY_OUT_REFUSED, /* 400, 401, 403, 404, 405: refused */
};

enum relay_up_state { RELAY_UP_UNKNOWN, RELAY_UP_UP, RELAY_UP_DOWN };

struct relay_upstream {
	enum relay_up_state state;
	time_t last_ok, last_fail;  /* wall clock; 0: never */
	char err[RELAY_UP_ERR_MAX]; /* the last failure, "" when none */
};

struct relay_up {
	size_t n;                  /* upstreams, 1..RELAY_UP_MAX */
	size_t cur;                /* the one to use */
	uint64_t retry_primary_ms; /* back to the first after this */
	uint64_t left_primary_ms;  /* when cur left 0 */
	uint64_t next_ms;          /* no request before this */
	unsigned attempt;          /* rounds failed in a row */
	size_t failed;             /* upstreams failed in this round */
	bool all_refused;          /* every failure of the round a refusal */
	uint64_t round_wait_ms;    /* the largest Retry-After of the round */
	struct relay_upstream u[RELAY_UP_MAX];
};

/* n upstreams (clamped to 1..RELAY_UP_MAX), retry_primary in seconds. */
void relay_up_init(struct relay_up *s, size_t n, unsigned long retry_primary);

/*
 * The upstream to use at now_ms (going back to the first once
 * retry_primary has passed); *ret_wait_ms is how long to wait before
 * using it (0: now).
 */
size_t relay_up_pick(struct relay_up *s, uint64_t now_ms,
		     uint64_t *ret_wait_ms);

/*
 * Record outcome o of a request to upstream i at now_ms (wall: time for
 * status); retry_after in seconds (0: none), rnd any random value for the
 * jitter, err the reason (NULL or "" on success).
 */
void relay_up_done(struct relay_up *s, size_t i, enum relay_outcome o,
		   uint64_t now_ms, time_t wall, unsigned long retry_after,
		   unsigned long rnd, const char *err);

/*
 * The upstream answered, but not every event was taken (neither accepted
 * nor invalid): wait a back-off before the next request.
 */
void relay_up_defer(struct relay_up *s, uint64_t now_ms, unsigned long rnd);

/* The outcome of an http unit result r with HTTP status (0: none). */
enum relay_outcome relay_up_classify(int r, long status);

#endif
