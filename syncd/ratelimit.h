/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ratelimit.h: token buckets for login-event senders: one per non-root
 * uid (a fixed-size table) and one for all non-root uids together.
 *
 * Bounds what local users can make the daemon do.  uid 0 (sshd, display
 * managers: every login on the host) is never limited.  Every other
 * event takes a token from its uid's bucket and one from the non-root
 * bucket, or none at all: an event refused by one bucket costs the
 * other nothing, so a uid whose own bucket has room keeps it while a
 * flood from other uids is cut at the non-root bucket.
 *
 * The non-root bucket holds nonroot_per_minute / 3 tokens (20 seconds'
 * worth) and gains nonroot_per_minute a minute.  The per-uid share: no
 * uid's own bucket holds more than a quarter of it or refills faster
 * than a quarter of its rate (RATELIMIT_SHARE), so fewer than four uids
 * can never empty it.  The last quarter of the non-root bucket
 * (`reserve`) is for known senders only: an event the caller can judge
 * only with a look-up (known = false) is refused while the bucket holds
 * no more than that, so a flood from many uids (a user namespace maps
 * thousands) leaves room for the screen lockers of users already known.
 *
 * When the table is full the least recently seen uid is forgotten (it
 * comes back with a full bucket; the non-root bucket still bounds it).
 * Pure (time is passed in); not thread-safe.
 */
#ifndef RATELIMIT_H
#define RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define RATELIMIT_SLOTS 256
#define RATELIMIT_SHARE 4 /* one uid: at most 1/4 of the non-root bucket */

struct ratelimit_slot {
	uid_t uid;
	bool used;
	double tokens;
	uint64_t last_ms;
};

struct ratelimit {
	unsigned burst;      /* one uid: events at once (after the share) */
	unsigned per_minute; /* one uid: events a minute (after the share) */
	unsigned nonroot_burst;
	unsigned nonroot_per_minute;
	unsigned reserve; /* non-root tokens that only known senders take */
	double nonroot_tokens;
	uint64_t nonroot_last_ms;
	struct ratelimit_slot slot[RATELIMIT_SLOTS];
};

/* Why ratelimit_take() said no. */
enum ratelimit_verdict {
	RATELIMIT_OK,      /* a token taken from each bucket */
	RATELIMIT_UID,     /* the uid's own bucket is empty */
	RATELIMIT_NONROOT, /* the non-root bucket is empty (or at reserve) */
};

/*
 * Set up rl (a zeroed or reused struct; every bucket starts full): each
 * non-root uid `burst` events at once and `per_minute` a minute, cut to
 * its share of nonroot_per_minute (see above); nonroot_per_minute 0
 * refuses every non-root event.
 */
void ratelimit_init(struct ratelimit *rl, unsigned burst, unsigned per_minute,
		    unsigned nonroot_per_minute);

/*
 * May uid send one more event at now_ms?  known: the caller can judge
 * the event without a look-up (it may use the reserve).  Takes a token
 * from both buckets when RATELIMIT_OK, from neither otherwise.  uid 0:
 * always RATELIMIT_OK, no token taken.
 */
enum ratelimit_verdict ratelimit_take(struct ratelimit *rl, uid_t uid,
				      bool known, uint64_t now_ms);

/* ratelimit_take(rl, uid, true, now_ms) == RATELIMIT_OK. */
bool ratelimit_allow(struct ratelimit *rl, uid_t uid, uint64_t now_ms);

#endif
