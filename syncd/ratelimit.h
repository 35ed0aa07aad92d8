/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ratelimit.h: a token bucket per sender uid, in a fixed-size table.
 *
 * Bounds what one local user can make the daemon do: each uid may send
 * `burst` events at once and `per_minute` more each minute.  uid 0 (sshd,
 * display managers: every login on the host) is not limited.  When the
 * table is full the least recently seen uid is forgotten.  Pure (time is
 * passed in); not thread-safe.
 */
#ifndef RATELIMIT_H
#define RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define RATELIMIT_SLOTS 256

struct ratelimit_slot {
	uid_t uid;
	bool used;
	double tokens;
	uint64_t last_ms;
};

struct ratelimit {
	unsigned burst;
	unsigned per_minute;
	struct ratelimit_slot slot[RATELIMIT_SLOTS];
};

/* Set up rl (a zeroed or reused struct). */
void ratelimit_init(struct ratelimit *rl, unsigned burst, unsigned per_minute);

/* May uid send one more event at now_ms?  Takes a token when yes. */
bool ratelimit_allow(struct ratelimit *rl, uid_t uid, uint64_t now_ms);

#endif
