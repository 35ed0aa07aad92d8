/* SPDX-License-Identifier: Apache-2.0 */
/*
 * relay.h: the forwarding thread of a relay ([daemon] mode = relay).
 *
 * In relay mode this replaces the worker: the reader (cmd_run.c) journals
 * each login into queue/ as a standalone daemon does and kicks the relay;
 * the relay's thread takes the queued events, oldest first, in batches of
 * at most RELAY_MAX_EVENTS events and RELAY_MAX_BODY bytes, POSTs each
 * batch to <upstream>/v1/logins (relay_up.h: order, fail-over,
 * retry_primary, back-off) over one keep-alive https connection per
 * upstream with the host's client certificate, and settles each event by
 * its result: accepted, the queue file goes; invalid, it moves to
 * queue/failed/ with the reason; anything else, it stays and is sent
 * again after a back-off.  A 413 halves the batch.  Nothing is removed
 * without an "accepted": a cut connection, a restart or an outage leave
 * every file in place (a resent event is harmless: one file a person).
 * It never exits on a network fault.
 *
 * After each request it writes state_dir/relay.status (each upstream,
 * the last forward) for `ftrack-syncd status`.
 *
 * Threading: relay_* are called from the reader thread; the relay's own
 * thread runs inside.  A driver: it logs (once per state change of an
 * upstream, every refusal at error).
 */
#ifndef RELAY_H
#define RELAY_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "ft_attrs.h"
#include "queue.h"
#include "relay_up.h"

#define RELAY_STATUS_FILE "relay.status"
#define RELAY_STATUS_MAX  16384

struct relay;

struct relay_stats {
	unsigned long long forwarded; /* events accepted upstream */
	unsigned long long invalid;   /* events refused as invalid */
	unsigned long long requests;  /* POSTs attempted */
	size_t n;                     /* upstreams */
	bool up[RELAY_UP_MAX];        /* the last request to it worked */
};

/*
 * A relay for cfg (borrowed until replaced by relay_set_config; mode
 * relay) and the queue q (borrowed).  Returns FT_OK, FT_E_NOMEM,
 * FT_E_CONFIG (no upstream) or FT_E_INTERNAL (libcurl).
 */
FT_MUST_USE int relay_new(const struct config *cfg, struct queue *q,
			  struct relay **ret);

/* Start the thread.  FT_OK or FT_E_IO. */
FT_MUST_USE int relay_start(struct relay *r);

/* Stop after the request in hand, wait for the thread, free; NULL: no-op. */
void relay_free(struct relay *r);

/* Something was queued: forward it (when the back-off allows). */
void relay_kick(struct relay *r);

/* Use cfg (borrowed) from the next request on. */
void relay_set_config(struct relay *r, const struct config *cfg);

/* True once the relay no longer uses old (after relay_set_config). */
bool relay_config_retired(struct relay *r, const struct config *old);

/* A snapshot of the counters. */
void relay_stats(struct relay *r, struct relay_stats *ret);

/*
 * GET <url>/v1/health with cfg's certificate, key and CA (for `check`).
 * Returns FT_OK with the HTTP status in *ret_status, or the http unit's
 * error with its reason in err (capacity errlen).
 */
FT_MUST_USE int relay_health(const struct config *cfg, const char *url,
			     long *ret_status, char *err, size_t errlen);

#endif
