/* SPDX-License-Identifier: Apache-2.0 */
/*
 * queue.h: the daemon's durable spool of login events (DESIGN.md 2 and 4).
 *
 * Layout under state_dir (every folder mode 0700, never a symlink, never
 * writable by group or others, owned by us or root):
 *
 *	state_dir/queue/          one file per user: name = lowercase hex of
 *	                          the user name, content = ft_event_encode()
 *	state_dir/queue/failed/   permanent failures (same name, plus an
 *	                          `error=` line) and damaged files
 *	                          ("<name>.damaged")
 *	state_dir/queue/held/     events held beyond a seat cap (same name,
 *	                          plus a `held=` line: which cap, which host;
 *	                          the file's mtime is when it was held)
 *	state_dir/reports/        reconcile reports (written by others)
 *
 * Every write is ft_write_atomic() (temp ".<name>.<pid>.<tid>", fsync,
 * rename, fsync of the folder), so a reader sees an old or a new file,
 * never half of one.  The PAM module writes the same files as its
 * fallback when the daemon cannot be reached; names starting with '.'
 * are in-flight temp files and are ignored by every reader here.
 *
 * One file per user is the coalescing: a newer event for a user replaces
 * the older one.  The daemon keeps its per-user retry state in memory;
 * this unit provides the files and the back-off function only.
 *
 * Threading: after queue_open() the struct is read-only (apart from
 * queue_set_scan_limit()), and every call only uses its folder fds, so
 * calls may run from several threads at once.  Non-logging unit: errors
 * come back as FT_E_* (FT_E_IO with errno kept).
 */
#ifndef QUEUE_H
#define QUEUE_H

#include <stddef.h>
#include <time.h>

#include "ft_attrs.h"
#include "ft_proto.h"
#include "state.h"

struct queue;

/* Default cap on the files one queue_scan() delivers or moves aside. */
#define QUEUE_SCAN_MAX 100000

/*
 * Longest user name (bytes) that can be spooled: the temp file name
 * ".<hex>.<pid>.<tid>" must fit NAME_MAX (255) with 7-digit pid and tid.
 */
#define QUEUE_USER_MAX 119

/* Stale temp files (names starting with '.') older than this are removed. */
#define QUEUE_STALE_TEMP_SECONDS STATE_STALE_TEMP_SECONDS

/* Back-off bounds of queue_backoff_ms(). */
#define QUEUE_BACKOFF_BASE_MS 1000UL
#define QUEUE_BACKOFF_MAX_MS  (15UL * 60UL * 1000UL)

/*
 * Open (creating what is missing, mode 0700) state_dir, state_dir/queue,
 * state_dir/queue/failed, state_dir/queue/held and state_dir/reports, each as an O_DIRECTORY|
 * O_NOFOLLOW|O_CLOEXEC fd.  Only the last component of state_dir is
 * created.  Removes regular files whose name starts with '.' and that are
 * older than QUEUE_STALE_TEMP_SECONDS from every one of these folders
 * (temp files left by a crash of the daemon or the PAM module).
 * Returns FT_OK and a new queue in *ret (free with queue_free());
 * FT_E_PERM when a folder is a symlink, not owned by us or root, or
 * writable by group or others; FT_E_IO (errno set); FT_E_NOMEM.
 */
FT_MUST_USE int queue_open(const char *state_dir, struct queue **ret);

/* Close the folders and free q; NULL is a no-op. */
void queue_free(struct queue *q);

/*
 * Borrowed fds of state_dir and state_dir/reports (valid until
 * queue_free()), for metrics.prom, last-good.json and the reports.
 */
int queue_state_dirfd(const struct queue *q);
int queue_reports_dirfd(const struct queue *q);

/*
 * Journal ev: encode it and write it atomically as queue/<hex(user)>,
 * replacing an older event for the same user.  Returns FT_OK; FT_E_INVAL
 * (an invalid field, empty user); FT_E_TOOBIG (user over QUEUE_USER_MAX
 * bytes, or the event over FT_PROTO_MAX); FT_E_IO with errno kept
 * (ENOSPC, EDQUOT, ...): then nothing already queued was changed, the
 * caller should log loudly and retry later.
 */
FT_MUST_USE int queue_put(struct queue *q, const struct ft_event *ev);

/*
 * queue_put() without the fsyncs, for a burst of events: the files are
 * complete when seen, and durable once queue_sync() returned FT_OK.
 */
FT_MUST_USE int queue_put_nosync(struct queue *q, const struct ft_event *ev);

/*
 * Make every earlier queue_put_nosync() durable: one syncfs(2) of the
 * queue's filesystem.  Returns FT_OK or FT_E_IO (errno set).
 */
FT_MUST_USE int queue_sync(struct queue *q);

/*
 * Remove user's queue file (after a success).  Returns FT_OK, also when
 * there was no file; FT_E_INVAL/FT_E_TOOBIG for a bad name; FT_E_IO.
 * It removes whatever version is there: an event that arrived while the
 * operation ran goes too, which login_cooldown would coalesce anyway.
 * The folder is not fsynced: a removal lost in a crash only costs a
 * second, harmless sync of that user.
 */
FT_MUST_USE int queue_remove(struct queue *q, const char *user);

/*
 * When user's queue file was written (its mtime) into *ret.  Returns
 * FT_OK; FT_E_NOTFOUND; FT_E_INVAL/FT_E_TOOBIG (a bad name); FT_E_IO.
 */
FT_MUST_USE int queue_mtime(const struct queue *q, const char *user,
			    time_t *ret);

/*
 * Journal the event of queue/<hex(from)> as the login to (its user field
 * rewritten; the other fields kept), replacing an older event of to, then
 * remove from's file: the PAM module spools the name PAM had, the daemon
 * works with the login [ldap] login_format makes of it.  The new file is
 * durable before the old one goes, so a crash leaves both, never none.
 * Returns FT_OK; FT_E_NOTFOUND (no such file); FT_E_PROTO (from's file is
 * damaged: left for queue_scan() to move aside); FT_E_INVAL/FT_E_TOOBIG
 * (a bad name); FT_E_IO (errno set).
 */
FT_MUST_USE int queue_move(struct queue *q, const char *from, const char *to);

/*
 * Permanent failure: move user's queue file to failed/ (rename, so an
 * event arriving later is a fresh file in queue/) and rewrite it there
 * atomically with an `error=<reason>` line, replacing any earlier error
 * line.  The reason goes through the one cleaner (ft_clean.h: controls,
 * C1, bidi overrides and bytes that are not UTF-8 escaped visibly), which
 * also makes it a codec value: at most FT_PROTO_VALUE_MAX bytes, cut
 * further (with the cleaner's mark) so that the file stays within
 * FT_PROTO_MAX; empty or NULL: "unknown".  The result decodes
 * with ft_event_decode().  Returns FT_OK; FT_E_NOTFOUND (no such file);
 * FT_E_PROTO (moved, but its content did not decode, so it was left as
 * it was); FT_E_INVAL/FT_E_TOOBIG (bad name); FT_E_IO (errno set).
 */
FT_MUST_USE int queue_fail(struct queue *q, const char *user,
			   const char *reason);

/*
 * Seat caps (provisioner): move user's queue file to held/ and rewrite it
 * there with a `held=<reason>` line (cleaned as queue_fail() cleans), its
 * mtime the time it was first held (a user held again, by a newer login,
 * keeps the time of the held file it replaces).  Returns as queue_fail().
 */
FT_MUST_USE int queue_hold(struct queue *q, const char *user,
			   const char *reason);

/*
 * Release user's held event: write it back to queue/ (without the held=
 * line; a newer event of the user already in queue/ is kept instead) and
 * remove the held file.  Returns FT_OK; FT_E_NOTFOUND (not held);
 * FT_E_PROTO (the held file is damaged); FT_E_INVAL/FT_E_TOOBIG; FT_E_IO.
 */
FT_MUST_USE int queue_unhold(struct queue *q, const char *user);

/* Remove user's held file (provisioned by `sync`); FT_OK if none. */
FT_MUST_USE int queue_held_remove(struct queue *q, const char *user);

/*
 * Read and check user's file in queue/ (as queue_scan() checks it, host=
 * included) into *ret_ev.  Returns FT_OK; FT_E_NOTFOUND; FT_E_PROTO (a
 * damaged file: queue_scan() moves it aside); FT_E_INVAL/FT_E_TOOBIG.
 */
FT_MUST_USE int queue_load(struct queue *q, const char *user,
			   struct ft_event *ret_ev);

/*
 * Called for each good event (ev is borrowed for the call).  A non-zero
 * return stops the scan and queue_scan() returns that value.
 */
typedef int (*queue_event_fn)(void *ctx, const struct ft_event *ev);

/*
 * Called for each damaged entry after it was moved aside (or failed to
 * be; the reason then says so).  name is the entry's name in queue/.
 */
typedef void (*queue_damaged_fn)(void *ctx, const char *name,
				 const char *reason);

/*
 * Deliver every event in queue/, oldest first (by mtime, then name), at
 * most the scan limit (QUEUE_SCAN_MAX by default) per call: the oldest
 * ones when there are more.  Names starting with '.' and the failed/ and
 * held/ folders are skipped.  An entry that is damaged (name not the hex of a
 * valid user name, not a regular file, a symlink, empty, over
 * FT_PROTO_MAX, cut short, bad bytes, not a valid event, or a user other
 * than the name's) is renamed to failed/<name>.damaged and reported to
 * on_damaged (may be NULL); the rest proceed.  Files are read with
 * O_NOFOLLOW|O_NONBLOCK and never followed, waited on or changed.
 * Returns FT_OK when every entry was seen; FT_E_AGAIN when the limit was
 * reached and more remain (call again once those are handled); the
 * callback's non-zero value; FT_E_NOMEM; FT_E_IO.
 */
FT_MUST_USE int queue_scan(struct queue *q, queue_event_fn on_event,
			   queue_damaged_fn on_damaged, void *ctx);

/*
 * Called for each held event: reason is its held= line ("" if none),
 * since the time it was held (the file's mtime, seconds since the epoch).
 */
typedef int (*queue_held_fn)(void *ctx, const struct ft_event *ev,
			     const char *reason, long long since);

/*
 * queue_scan() of held/: every held event, oldest first, with its
 * reason; a damaged entry goes to failed/<name>.damaged as there.
 */
FT_MUST_USE int queue_held_scan(struct queue *q, queue_held_fn on_held,
				queue_damaged_fn on_damaged, void *ctx);

/* Set the per-scan limit (0: QUEUE_SCAN_MAX).  Not thread-safe. */
void queue_set_scan_limit(struct queue *q, size_t limit);

/*
 * Count the entries of queue/ (not '.' names, not failed/) or of failed/
 * (not '.' names).  One readdir, no stat: cheap enough every few seconds.
 * Returns FT_OK and the count in *ret_n, or FT_E_IO / FT_E_NOMEM.
 */
FT_MUST_USE int queue_depth(const struct queue *q, size_t *ret_n);
FT_MUST_USE int queue_failed_count(const struct queue *q, size_t *ret_n);
FT_MUST_USE int queue_held_count(const struct queue *q, size_t *ret_n);

/*
 * Delay before retry number attempt (0 = the first retry) of a transient
 * failure: d = min(QUEUE_BACKOFF_BASE_MS * 2^attempt, QUEUE_BACKOFF_MAX_MS),
 * with a jitter of +-20% picked by rnd (any random value, e.g. from
 * random() or getrandom()), the upper side capped so that the result
 * never exceeds QUEUE_BACKOFF_MAX_MS:
 *	result in [d - d/5, min(d + d/5, QUEUE_BACKOFF_MAX_MS)]
 * e.g. attempt 0: 800..1200 ms; attempt 10 and later: 720000..900000 ms.
 * Pure; no overflow for any attempt.
 */
unsigned long queue_backoff_ms(unsigned attempt, unsigned long rnd);

#endif
