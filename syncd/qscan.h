/* SPDX-License-Identifier: Apache-2.0 */
/*
 * qscan.h: scans of queue/ off the socket reader's thread.
 *
 * A scan of a large queue (queue_scan(): list, stat and sort up to
 * QUEUE_SCAN_MAX names, then read and check each file) takes seconds with
 * 100,000 files; on the reader's thread it would leave logins on the
 * socket meanwhile.  A qscan runs each scan on a thread of its own and
 * keeps the user names it found, oldest first; the reader takes them one
 * by one, as many as fit in its time slice, between reads of the socket.
 * The queue's counts (queue_depth() and the others, a read of the whole
 * folder each) for the metrics are taken on the same thread.
 *
 * Threading: one owner thread (the reader) calls every function here;
 * the qscan's own thread runs only inside.  on_damaged runs on the
 * qscan's thread (it must be thread-safe: the daemon's logs it).
 * Non-logging unit: errors come back as FT_E_*.
 */
#ifndef QSCAN_H
#define QSCAN_H

#include <stdbool.h>
#include <stddef.h>

#include "ft_attrs.h"
#include "queue.h"

struct qscan;

/* The queue's counts, as the metrics show them. */
struct qscan_counts {
	size_t depth, failed, held;
	bool valid; /* false until a first count succeeded */
};

/*
 * A qscan of q (borrowed), its thread started; on_damaged(ctx, name,
 * reason) is told of each damaged file a scan moved to failed/ (may be
 * NULL).  Returns FT_OK and *ret (free with qscan_free()); FT_E_NOMEM;
 * FT_E_IO (errno set: the eventfd or the thread).
 */
FT_MUST_USE int qscan_new(struct queue *q, queue_damaged_fn on_damaged,
			  void *ctx, struct qscan **ret);

/*
 * Stop the thread after the file in hand (a scan under way ends there)
 * and free s with the names not taken.  NULL is a no-op.
 */
void qscan_free(struct qscan *s);

/*
 * Readable (an eventfd, borrowed) when names wait, a scan ended or new
 * counts are in: then call qscan_next() and qscan_done() until they
 * have nothing more.
 */
int qscan_fd(const struct qscan *s);

/*
 * Ask for a scan.  When one runs already, another follows it (a file
 * that turned up meanwhile, or one damaged, is seen then).
 */
void qscan_start(struct qscan *s);

/* Ask for new counts (see qscan_counts()). */
void qscan_count(struct qscan *s);

/*
 * The next user name a scan found (oldest first) into ret_user (cap
 * bytes; QUEUE_USER_MAX + 1 always fit).  False when none waits now.
 */
bool qscan_next(struct qscan *s, char *ret_user, size_t cap);

/*
 * True once per scan that ended with all its names taken, its
 * queue_scan() result in *ret_result (FT_OK; FT_E_AGAIN: more files than
 * one scan takes, scan again soon; another FT_E_*, errno in *ret_errno).
 */
bool qscan_done(struct qscan *s, int *ret_result, int *ret_errno);

/* The counts of the last count asked for (or older ones). */
void qscan_counts(struct qscan *s, struct qscan_counts *ret);

/* True while a scan runs, is asked for, or has names not yet taken. */
bool qscan_busy(struct qscan *s);

#endif
