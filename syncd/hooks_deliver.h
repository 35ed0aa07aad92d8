/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hooks_deliver.h: the delivery of journaled changes (hooks.h) to the
 * [hooks] on_change program, on a thread of its own (`run` only).
 *
 * In journal order, up to HOOKS_BATCH_MAX changes at a time (one JSON
 * line each) go to the program's stdin; exit status 0 removes them.  Any
 * other status, or a program still running after hook_timeout seconds
 * (stopped), is a refusal: the same changes are
 * offered again after a back-off (doubling from HOOKS_BACKOFF_BASE_MS to
 * HOOKS_BACKOFF_MAX_MS, +/-20% jitter), the first of them alone from the
 * second try on, so that the change it stumbles on is found; a change
 * refused HOOKS_REFUSALS_MAX times moves to hooks/failed/ (a warning and
 * a metric) and the rest goes on.  A program that cannot be started (the
 * file rule, a missing file, its socket) refuses nothing: the changes
 * wait, tried again after the same back-off.  At least once: a hook that exits 0
 * after the daemon died may be given the same changes again (same ids).
 *
 * An intent left by a writer that is gone (hooks.h) is re-checked with
 * ftrack before anything after it is delivered: changes ftrack shows
 * become ready, the others are dropped (logged at info).  When ftrack
 * cannot be asked, delivery waits and asks again after the back-off.
 * An intent whose writer still runs (its lock held) is waited for.
 *
 * Provisioning never waits for a hook: nothing here is called from the
 * worker or the socket reader but the non-blocking setters and getters.
 * Threading: every function is called from the main thread; the
 * delivery's own thread only runs inside.  A driver: it logs.
 */
#ifndef HOOKS_DELIVER_H
#define HOOKS_DELIVER_H

#include <stdint.h>

#include "config.h"
#include "ft_attrs.h"

#define HOOKS_BATCH_MAX       100     /* changes given to one run */
#define HOOKS_BATCH_BYTES     1048576 /* bytes given to one run, at most */
#define HOOKS_BACKOFF_BASE_MS 5000u
#define HOOKS_BACKOFF_MAX_MS  600000u

struct hooks_deliver;

/* Counts since the start. */
struct hooks_deliver_stats {
	unsigned long long delivered;   /* changes a run took (exit 0) */
	unsigned long long refused;     /* runs that refused */
	unsigned long long failed;      /* changes moved to hooks/failed/ */
	unsigned long long not_started; /* tries it could not be started */
};

/*
 * The delivery for cfg (its [hooks] keys are copied; its [ftrack] keys
 * give the client that re-checks intents) over state_dir's hooks folder.
 * With no on_change, *ret is NULL (nothing to deliver) and FT_OK.
 * Returns FT_OK, FT_E_NOMEM, FT_E_PERM, FT_E_IO.
 */
FT_MUST_USE int hooks_deliver_new(const struct config *cfg, int state_dirfd,
				  struct hooks_deliver **ret);

/* Start the thread.  FT_OK or FT_E_IO. */
FT_MUST_USE int hooks_deliver_start(struct hooks_deliver *d);

/*
 * Stop the thread and free d: a program running is waited for (at most
 * hook_timeout; what it did not take is offered again at the next
 * start).  NULL is a no-op.
 */
void hooks_deliver_free(struct hooks_deliver *d);

/*
 * A reload: on_change and hook_timeout of cfg (copied) from the next run
 * on.  An on_change removed keeps the pending changes for a later start.
 */
void hooks_deliver_set_config(struct hooks_deliver *d,
			      const struct config *cfg);

/* Tests: other back-off bounds (ms), before hooks_deliver_start(). */
void hooks_deliver_set_backoff(struct hooks_deliver *d, uint64_t base_ms,
			       uint64_t max_ms);

/* A snapshot of the counters; d NULL: all zero. */
void hooks_deliver_stats(struct hooks_deliver *d,
			 struct hooks_deliver_stats *ret);

#endif
