/* SPDX-License-Identifier: Apache-2.0 */
/*
 * transform.h: the [mapping] transform program: one long-lived program
 * that sees each mapped LDAP entry and says what to make of it.
 *
 * Protocol (JSON lines, one object a line, UTF-8): for each entry we
 * write
 *   {"id": 17, "dn": "...", "login": "...", "attributes": {"mail":
 *    ["..."], ...}, "user": {"username": ..., "email": ...,
 *    "first_name": ..., "last_name": ...}}
 * (attributes: every attribute the daemon read of the entry, the mapped
 * ones and transform_attributes, with its first value; a value that is
 * not valid UTF-8 or holds a NUL byte is given as lowercase hex, like
 * binary ids in the reports; user: the mapped user, null for a field
 * without a value) and the program answers, in the same order, either
 *   {"id": 17, "login": "...", "user": {"email": "..."}}
 * (those fields replace the mapped ones, an omitted key keeps its value,
 * null empties email, first_name or last_name; every value is checked
 * like a mapped value, ldap_map_value_check(), and username must not be
 * empty) or
 *   {"id": 17, "login": "...", "skip": "reason"}
 * (out of scope, as if search_filter had not matched).  Other keys of
 * the answer are ignored.
 *
 * Requests are pipelined: at most TRANSFORM_WINDOW are unanswered at a
 * time.  Each answer must come within transform_timeout seconds of the
 * previous answer (of the first request, for the first).
 *
 * Failure rules:
 *  - An answer that is not a JSON object with the id and the login of
 *    the oldest unanswered request (a stray print(), an answer for
 *    another id, a line over TRANSFORM_LINE_MAX bytes) makes every
 *    unanswered request of the window TRANSFORM_BAD and the program is
 *    stopped, to be started again for the rest: no answer is ever taken
 *    for another person.
 *  - A well-formed answer about the right entry that is wrong (neither
 *    or both of user and skip, a value that fails the check, an unknown
 *    field) makes that entry TRANSFORM_BAD, with the reason.
 *  - A program that cannot be started (or reached), exits, or does not
 *    answer in time is an outage: transform_run() fails as a whole
 *    (FT_E_AGAIN) and the program is stopped; the next call starts it
 *    again.
 *
 * The program is started lazily, by the first transform_run(), through
 * extprog (the file rule, a minimal environment; TRANSFORM_SOCKET when
 * systemd's socket is there, else started here with our rights).  Its
 * stderr goes to the log (extprog.h).  Not thread-safe: one owner.
 */
#ifndef TRANSFORM_H
#define TRANSFORM_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "ft_attrs.h"
#include "ft_user.h"
#include "ldap_map.h"

#define TRANSFORM_WINDOW     64
#define TRANSFORM_LINE_MAX   (64u << 10) /* bytes: one request, one answer */
#define TRANSFORM_REASON_MAX 320
/* Where the packaged socket unit listens (ftrack-syncd-transform.socket). */
#ifndef TRANSFORM_SOCKET
#define TRANSFORM_SOCKET "/run/ftrack-syncd-ext/transform.sock"
#endif

enum transform_verdict {
	TRANSFORM_USE,  /* use the user (its fields as the program said) */
	TRANSFORM_SKIP, /* out of scope; reason: the program's words */
	TRANSFORM_BAD,  /* cannot be used; reason: what was wrong */
};

struct transform_item {
	struct ft_user *user; /* borrowed; fields replaced when USE */
	enum transform_verdict verdict;
	char reason[TRANSFORM_REASON_MAX];
};

/* What a struct transform has seen since transform_new. */
struct transform_stats {
	unsigned long outages;     /* runs failed as a whole */
	unsigned long bad;         /* entries its answers made unusable */
	unsigned long restarts;    /* stopped for an answer out of step */
	unsigned long consecutive; /* outages since the last run that worked */
	bool started;              /* a program was started or reached */
	bool spawned;              /* the last one was started here */
};

struct transform;

/* True when cfg names a transform program. */
bool transform_configured(const struct config *cfg);

/*
 * The entry's attributes as the request's "attributes" object (see
 * above), into *ret (the caller's, free()).  FT_OK or FT_E_NOMEM.  Pure.
 */
FT_MUST_USE int transform_attrs_json(const struct map_entry *e, char **ret);

/*
 * A transform for cfg (borrowed; must outlive it), talking to the
 * program of [mapping] transform; socket_path (borrowed; NULL:
 * TRANSFORM_SOCKET) is tried first.  No program is started yet.
 * FT_OK with *ret (transform_free), FT_E_CONFIG (no transform
 * configured) or FT_E_NOMEM.
 */
FT_MUST_USE int transform_new(const struct config *cfg, const char *socket_path,
			      struct transform **ret);

/* Stop the program and free t; NULL is a no-op. */
void transform_free(struct transform *t);

/*
 * Give the n users of items to the program and set each verdict (and
 * reason).  FT_OK: every item has its verdict.  FT_E_AGAIN: an outage,
 * the reason in err (capacity errlen): verdicts are not set, and users
 * may be half-replaced only for items already set (callers treat the
 * whole call as not done).  FT_E_NOMEM.
 */
FT_MUST_USE int transform_run(struct transform *t, struct transform_item *items,
			      size_t n, char *err, size_t errlen);

/* What transform_list() does with a user it does not keep: it is given
 * (borrowed for the call) with its verdict and reason. */
typedef void (*transform_drop_fn)(void *ctx, const struct ft_user *u,
				  const struct transform_item *it);

/*
 * transform_run() over every user of list (the reconcile's LDAP users).
 * FT_OK: list keeps only the users to use, in their order, and each other
 * one (TRANSFORM_SKIP or TRANSFORM_BAD) went to drop before it was freed.
 * Otherwise transform_run()'s code (err says why) and list keeps every
 * user (an answered one may have its fields replaced).
 */
FT_MUST_USE int transform_list(struct transform *t, struct ft_user_list *list,
			       transform_drop_fn drop, void *ctx, char *err,
			       size_t errlen);

/* The counters since transform_new. */
void transform_stats(const struct transform *t, struct transform_stats *ret);

#endif
