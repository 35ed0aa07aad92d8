/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ftrack_int.h: what the three files of the ftrack client share, and no
 * caller sees: the client's fields, one call with its retries, the
 * queries by id.  ftrack_client.c (client, retries), ftrack_query.c
 * (queries, cursors, look-ups, listings), ftrack_batch.c (write batches),
 * ftrack_probe.c (the read probes of `check`).
 * Not thread-safe on one client.
 */
#ifndef FTRACK_INT_H
#define FTRACK_INT_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ftrack_api.h"
#include "ftrack_json.h"

#define USER_SELECT   "select " FTRACK_USER_FIELDS " from User"
#define MARKER_SELECT "select parent_id, key, value from Metadata"
#define MARKER_KEYS                                                            \
	"(\"" FTRACK_MARKER_UUID "\", \"" FTRACK_MARKER_DEACTIVATED            \
	"\", \"" FTRACK_MARKER_SEAT_WAITING "\", \"" FTRACK_MARKER_LINKED_BY   \
	"\")"
#define MARKER_ORDER " order by parent_id, key"

struct ftrack_client {
	struct http *http;
	unsigned batch_size;
	struct ftrack_retry retry;
	const volatile sig_atomic_t *stop;
	unsigned long retries;
	uint64_t rng; /* xorshift64* state, for back-off jitter */
};

/* What one call learnt, beyond its result. */
struct call {
	size_t nops;
	char exc[FTRACK_EXC_MAX]; /* exception class of the last failure */
	unsigned attempts;
	long retry_after;
	bool transient;
};

/*
 * Send operations [first, first + n) of ops, retrying transient failures
 * (see ftrack_api.h).  On success *ret is the reply (caller frees).
 */
int ftrack_call_ops(struct ftrack_client *c, const struct ftrack_ops *ops,
		    size_t first, size_t n, struct call *k,
		    struct ftrack_reply **ret, char *err, size_t errlen);

/*
 * The field of u that the marker key fills (uuid, deactivated,
 * seat_waiting, linked_by), or NULL for a key that is none of FTRACK_MARKER_*.
 */
char **ftrack_marker_field(struct ft_user *u, const char *key);

/* Append the Users with ids[0..n) and their markers (see ftrack_query.c). */
int ftrack_users_by_ids(struct ftrack_client *c, const char *const ids[],
			size_t n, struct ft_user_list *users, char *err,
			size_t errlen);

#endif
