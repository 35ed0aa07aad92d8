/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hooks.h: the journal of the changes the on_change hook is told about.
 *
 * With [hooks] on_change set, every change a login or a reconcile writes
 * to ftrack is journaled in state_dir/hooks/ BEFORE its write (one intent
 * file per write, fsynced, held under flock(2) while the write is in
 * flight) and marked applied AFTER it (the changes that landed become a
 * ready file, the intent is removed), so that a crash in between never
 * loses one: an intent whose writer is gone (its lock free, no ready file)
 * is re-checked against ftrack by the delivery (hooks_deliver.h): a change
 * ftrack shows is delivered, one it does not show is dropped (the write
 * did not land; the login stays queued, a reconcile plans it again, and
 * that write journals it anew).
 *
 * Files of state_dir/hooks/ (mode 0700; names sort in journal order):
 *   I<seq>.json     an intent: one JSON line per change, locked by its
 *                   writer while its write is in flight
 *   R<seq>.<n>.json n applied changes, one JSON line each, to deliver
 *   cursor          how far the delivery got into the first ready file
 *   failed/<id>.json a change the hook refused HOOKS_REFUSALS_MAX times
 * <seq> is the time in nanoseconds, the pid and a counter, in hex; the id
 * of a change is "<seq>-<k>" (k: its line in the file): stable across
 * retries and restarts, so that a hook can drop repeats (at least once).
 *
 * Thread-safe: a struct hooks may be used from several threads.  This is
 * a driver: it logs what it could not journal.
 */
#ifndef HOOKS_H
#define HOOKS_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "ft_attrs.h"
#include "plan_user.h"

/* Bytes of pending changes (intents and ready files) past which new
 * changes are not journaled (a warning and a metric). */
#define HOOKS_PENDING_MAX (64ull * 1024 * 1024)
/* Refusals of one change after which it goes to hooks/failed/. */
#define HOOKS_REFUSALS_MAX 10u
/* Longest JSON line of one change. */
#define HOOKS_LINE_MAX 16384u

/*
 * The actions a hook is told of, in the order of the documentation: each
 * is one line here (its enum constant and its word).  The plan kinds map
 * to them in hooks_action_of(); the other features describe their
 * changes with struct hooks_change.
 */
#define HOOKS_ACTIONS(X)                                                       \
	X(HOOKS_CREATED, "created")                                            \
	X(HOOKS_UPDATED, "updated")                                            \
	X(HOOKS_LINKED, "linked")                                              \
	X(HOOKS_RENAMED, "renamed")                                            \
	X(HOOKS_REACTIVATED, "reactivated")                                    \
	X(HOOKS_DEACTIVATED, "deactivated")                                    \
	X(HOOKS_DELETED, "deleted")                                            \
	X(HOOKS_RECLAIMED, "reclaimed")                                        \
	X(HOOKS_SEAT_WAITING, "seat_waiting")                                  \
	X(HOOKS_GROUP_ADD, "group_add")                                        \
	X(HOOKS_GROUP_REMOVE, "group_remove")                                  \
	X(HOOKS_ROLE_GRANT, "role_grant")                                      \
	X(HOOKS_ROLE_REVOKE, "role_revoke")

#define HOOKS_ENUM_(e, w) e,

enum hooks_action { HOOKS_ACTIONS(HOOKS_ENUM_) HOOKS_NACTIONS };

#undef HOOKS_ENUM_

/* The word of an action ("created", ...); "?" out of range. */
const char *hooks_action_name(enum hooks_action a);

/*
 * The action a plan of kind k is when its write landed (FT_E_SEAT: ftrack
 * kept the user inactive waiting for a seat: HOOKS_SEAT_WAITING);
 * HOOKS_NACTIONS when it is no change (none, conflict, skip).
 */
enum hooks_action hooks_action_of(enum plan_kind k, int code);

/* Where a batch of changes comes from. */
struct hooks_origin {
	const char *source; /* "login" (on demand) or "reconcile" */
	const char *cause;  /* what asked: "login" (a login event),
			     * "sync" (the sync command), "reconcile",
			     * "undo" (reconcile --undo) */
	/* the host that reported change i ("" or NULL: this host); NULL
	 * fn: this host for all */
	const char *(*host)(void *ctx, size_t i);
	void *ctx;
};

struct hooks;
struct hooks_intent;

/*
 * The journal of cfg (borrowed; only [hooks] on_change is read, at once)
 * in state_dir's folder hooks/ (made 0700 on state_open_dir's terms).
 * With no on_change, *ret is a journal that journals nothing.  Returns
 * FT_OK, FT_E_NOMEM, FT_E_PERM or FT_E_IO.
 */
FT_MUST_USE int hooks_open(const struct config *cfg, int state_dirfd,
			   struct hooks **ret);

/* Free h; NULL is a no-op. */
void hooks_free(struct hooks *h);

/* Whether h journals anything (on_change is set). */
bool hooks_enabled(const struct hooks *h);

/*
 * Journal the changes acts[i] (want NULL or want[i] true, and a change:
 * hooks_action_of) before they are written: one intent file, fsynced,
 * locked until hooks_applied().  Returns the intent (the caller passes
 * it to hooks_applied), or NULL when there is nothing to journal, h is
 * NULL or disabled, or the journal failed or is full (then logged at
 * warning and counted in hooks_dropped(): provisioning goes on without
 * the hook).
 */
struct hooks_intent *hooks_intend(struct hooks *h,
				  const struct plan_action *acts,
				  const bool *want, size_t n,
				  const struct hooks_origin *o);

/*
 * One change, for hooks_intend_changes(): the features that write other
 * things than a plan_action (groups, roles, reclaimed seats) describe
 * theirs so.  Everything is borrowed for the call.
 */
struct hooks_change {
	enum hooks_action action;
	size_t index;               /* the caller's: host fn and codes[] */
	const struct ft_user *user; /* the user after the change */
	const char *ftrack_id;      /* the ftrack User id; NULL: not known */
	unsigned fields;            /* PLAN_F_* of the user fields written */
	const char *reason;         /* NULL: none */
	const char *what_key;       /* one more member ("group", "role"), */
	const char *what;           /* its value; what_key NULL: none */
};

/*
 * hooks_intend() for changes described directly: c[0..n) are journaled
 * (all of them), and hooks_applied() reads codes[c[i].index].
 */
struct hooks_intent *hooks_intend_changes(struct hooks *h,
					  const struct hooks_change *c,
					  size_t n,
					  const struct hooks_origin *o);

/*
 * After the write: the changes whose code (codes[i], indexed like acts)
 * says they landed (FT_OK; FT_E_SEAT as seat_waiting) go into a ready
 * file, then the intent is removed and its lock released.  Frees in;
 * NULL is a no-op.  codes is indexed like acts (hooks_intend) or by
 * hooks_change.index (hooks_intend_changes).
 */
void hooks_applied(struct hooks *h, struct hooks_intent *in, const int *codes);

/* Changes not journaled since hooks_open (full, or failed to write). */
unsigned long long hooks_dropped(struct hooks *h);

/* What the hooks folder holds (hooks_count). */
struct hooks_counts {
	unsigned long long pending;       /* applied, not yet delivered */
	unsigned long long pending_bytes; /* their bytes, and the intents' */
	unsigned long long in_flight;     /* intents (write not settled) */
	unsigned long long failed;        /* files in hooks/failed/ */
};

/*
 * Count what state_dir/hooks/ holds (a missing folder: all 0); reads
 * only names, sizes and the cursor.  FT_OK or FT_E_IO.
 */
FT_MUST_USE int hooks_count(int state_dirfd, struct hooks_counts *ret);

#endif
