/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ftrack_api.h: the ftrack client the daemon calls.
 *
 * Speaks struct ft_user and FT_E_* only: the wire (http) and the JSON
 * (ftrack_json) stay behind it.  A struct ftrack_client holds one
 * keep-alive connection to <server>/api, the retry policy and counters.
 *
 * Errors: FT_E_HTTP (unreachable, busy, timeout: transient), FT_E_MALFORMED
 * (an unexpected answer: transient), FT_E_AUTH (credentials or
 * permission refused), FT_E_DATA (ftrack rejected the data: permanent),
 * FT_E_TOOBIG (over a limit), FT_E_NOMEM, FT_E_INVAL (bad argument, or
 * a value that cannot be quoted in a query: a control character or bytes
 * that are not UTF-8), FT_E_CONFIG (the server URL is malformed or not
 * http/https).
 * Functions taking err/errlen write a one-line reason there on failure
 * (for FT_E_DATA/FT_E_AUTH: "<exception>: <content>" from ftrack).
 *
 * Retries: a request that fails transiently (network error, HTTP 429,
 * 502-504, a 5xx exception or a 5xx non-JSON answer) is sent again inside
 * the same call, up to `attempts` times, with exponential back-off and
 * jitter, at least the Retry-After the server asked (capped), and never
 * past the request's deadline (a call of several requests, such as a
 * listing, has one deadline per request).  Creates carry client-made ids, so a create
 * whose answer was lost and that is sent again cannot make a duplicate.
 *
 * Ownership: the client borrows nothing from cfg after ftrack_client_new
 * returns.  Users appended to a caller's list belong to the list.  Not
 * thread-safe: one client per thread.  Non-logging; the API key never
 * leaves the request header.
 */
#ifndef FTRACK_API_H
#define FTRACK_API_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "ft_attrs.h"
#include "ft_user.h"

/* The daemon's markers: Metadata on the User (DESIGN.md section 6). */
#define FTRACK_MARKER_UUID         "ftrack_syncd.uuid"
#define FTRACK_MARKER_DEACTIVATED  "ftrack_syncd.deactivated"
#define FTRACK_MARKER_SEAT_WAITING "ftrack_syncd.seat_waiting"
/* how the user was linked: FT_LINKED_BY_EMAIL (link_by = email) */
#define FTRACK_MARKER_LINKED_BY "ftrack_syncd.linked_by"

/*
 * The reconcile's records: Metadata on the API user (DESIGN.md section 6;
 * their values and rules are lease.h's).  The lease's token is the key
 * FTRACK_MARKER_LEASE_TOKEN followed by the lease's nonce.
 */
#define FTRACK_MARKER_SCHEMA      "ftrack_syncd.schema"
#define FTRACK_MARKER_LEASE       "ftrack_syncd.reconcile_lease"
#define FTRACK_MARKER_LEASE_TOKEN "ftrack_syncd.reconcile_lease."
#define FTRACK_MARKER_LAST_GOOD   "ftrack_syncd.last_good"

/*
 * The marker schema this binary writes and understands: 1 is the markers
 * of this version (uuid, deactivated, seat_waiting on the users; schema,
 * reconcile_lease, last_good on the API user).  A version that changes
 * what a marker means, or adds one an older reconcile would misread,
 * raises it; the one place it is defined.
 */
#define FTRACK_MARKER_SCHEMA_VERSION 1

/* User attributes an update may carry (ftrack_batch_update_user). */
enum ftrack_field {
	FTRACK_F_USERNAME = 1 << 0,
	FTRACK_F_EMAIL = 1 << 1,
	FTRACK_F_FIRST_NAME = 1 << 2,
	FTRACK_F_LAST_NAME = 1 << 3,
	FTRACK_F_IS_ACTIVE = 1 << 4,
};

#define FTRACK_DEFAULT_PAGE   500    /* records per query page */
#define FTRACK_LOOKUP_CHUNK   100    /* values per `in (...)` lookup */
#define FTRACK_MAX_PAGES      100000 /* pages per listing */
#define FTRACK_MAX_BATCH_SIZE 1000   /* operations per POST */

struct ftrack_client;

/* The retry policy of one call (ftrack_client_set_retry). */
struct ftrack_retry {
	unsigned attempts;        /* tries per request, >= 1; default 5 */
	unsigned base_ms;         /* first back-off; default 500 */
	unsigned max_ms;          /* back-off cap; default 30000 */
	unsigned retry_after_max; /* seconds of Retry-After honoured; 60 */
	unsigned deadline_ms;     /* one request, all its tries; 180000 */
};

struct ftrack_stats {
	unsigned long requests;    /* HTTP requests sent, retries included */
	unsigned long connections; /* TCP connections opened */
	unsigned long retries;     /* requests sent again after a failure */
};

/*
 * A new client for cfg->ftrack (server, api_user, api_key, timeout,
 * batch_size, tls_ca_file).  Returns FT_OK with *ret (free with
 * ftrack_client_free), FT_E_INVAL (no server, user or key), FT_E_NOMEM or
 * FT_E_INTERNAL.  No network traffic happens here.
 */
FT_MUST_USE int ftrack_client_new(const struct config *cfg,
				  struct ftrack_client **ret);

/* Close the connection, free; NULL is a no-op. */
void ftrack_client_free(struct ftrack_client *c);

/* Replace the retry policy (a zero field takes its default). */
void ftrack_client_set_retry(struct ftrack_client *c,
			     const struct ftrack_retry *r);

/*
 * When *stop becomes non-zero (a signal handler's flag), back-off waits
 * end and no further attempt is made; the call fails with FT_E_HTTP.
 * NULL: never.  The flag is borrowed.
 */
void ftrack_client_set_stop(struct ftrack_client *c,
			    const volatile sig_atomic_t *stop);

/* The counters since ftrack_client_new. */
void ftrack_client_stats(const struct ftrack_client *c,
			 struct ftrack_stats *ret);

/*
 * Authenticate and ask query_server_information: the server's version
 * goes into version (capacity vlen).  Returns FT_OK or an FT_E_* code
 * (FT_E_AUTH for a wrong key or user).
 */
FT_MUST_USE int ftrack_server_info(struct ftrack_client *c, char *version,
				   size_t vlen, char *err, size_t errlen);

/*
 * What the API user may do, as far as ftrack can be asked without
 * changing anything (for `check`).  ftrack documents no operation that
 * tells a key's permissions, so only reading is tried, as the sync reads:
 * one User, and one ftrack_syncd.* Metadata record, each query alone in
 * its POST.  Whether the key may create and update a User cannot be told
 * without writing one, and is not tried.
 */
struct ftrack_probe {
	int users; /* FT_OK: Users can be read; else the FT_E_* of the query */
	int markers; /* FT_OK: the markers (Metadata) can be read */
	char users_err[512];
	char markers_err[512];
};

/* Run both reads on c (each with c's retry policy) into *ret. */
void ftrack_probe(struct ftrack_client *c, struct ftrack_probe *ret);

/*
 * The on-demand look-up: append to list the Users whose username is one of
 * usernames[0..nn) or whose ftrack_syncd.uuid marker is one of
 * uuids[0..nu), each once, with uuid, deactivated and seat_waiting filled
 * from their markers.  Per chunk of FTRACK_LOOKUP_CHUNK names and uuids: one POST
 * asks for both (nothing found: done, as for a first login), a second for
 * the markers of what was found and the users known only by a marker.
 * usernames (uuids) may be NULL when nn (nu) is 0.  On failure list is
 * as it was.
 */
FT_MUST_USE int ftrack_users_lookup(struct ftrack_client *c,
				    const char *const usernames[], size_t nn,
				    const char *const uuids[], size_t nu,
				    struct ft_user_list *list, char *err,
				    size_t errlen);

/*
 * The on-demand look-up by e-mail (link_by = email): append to list the
 * Users whose email equals one of emails[0..n) with ASCII case folded
 * (ft_email_cmp), each once, with their markers.  ftrack's query language
 * has no case-insensitive operator and whether `in` folds case is not
 * known, so each address is asked for as given and in lower case (`email
 * in (...)`) and the answers are compared here: a server that folds case
 * finds every spelling, one that does not finds those two.  Per chunk of
 * FTRACK_LOOKUP_CHUNK / 2 addresses: one POST for the users, one for
 * their markers (when any was found).  On failure list is as it was.
 */
FT_MUST_USE int ftrack_users_by_email(struct ftrack_client *c,
				      const char *const emails[], size_t n,
				      struct ft_user_list *list, char *err,
				      size_t errlen);

/*
 * Every User, with its markers, handed to on_user(ctx, u) one at a time.
 * on_user may move strings out of *u (setting them NULL); the client
 * clears *u after it returns.  A non-zero return from on_user stops the
 * listing and is returned.
 *
 * Users (`order by id`) and ftrack_syncd.* Metadata (`order by parent_id,
 * key`) are read page_size (0: FTRACK_DEFAULT_PAGE) records at a time,
 * following metadata.next.offset until it is null or a page is empty, at
 * most FTRACK_MAX_PAGES pages each (then FT_E_TOOBIG).  A user page and a
 * marker page travel in one POST while both have pages left.  Users are
 * handed out once every marker is read (memory: the markers, and the
 * users read before the markers were complete; never a whole JSON
 * listing).
 */
FT_MUST_USE int ftrack_users_all(struct ftrack_client *c, unsigned page_size,
				 int (*on_user)(void *ctx, struct ft_user *u),
				 void *ctx, char *err, size_t errlen);

/* A record of the API user: a Metadata key and its value. */
struct ftrack_own_marker {
	char *key;
	char *value;
};

/* The API user's id and its ftrack_syncd.* records (ftrack_own_read). */
struct ftrack_own {
	char *user_id;
	struct ftrack_own_marker *v;
	size_t n;
};

#define FTRACK_OWN_MAX 64 /* records of the API user read, at most */

/*
 * The User named api_user and its records FTRACK_MARKER_SCHEMA,
 * FTRACK_MARKER_LAST_GOOD, FTRACK_MARKER_LEASE and every
 * FTRACK_MARKER_LEASE_TOKEN* (Metadata of other parents are ignored),
 * in one POST of two queries.  Returns FT_OK with *ret filled (clear it
 * with ftrack_own_clear), FT_E_NOTFOUND (no such user), FT_E_TOOBIG (over
 * FTRACK_OWN_MAX records) or the listing's errors.
 */
FT_MUST_USE int ftrack_own_read(struct ftrack_client *c, const char *api_user,
				struct ftrack_own *ret, char *err,
				size_t errlen);

/* The value of record key of o (borrowed), or NULL. */
const char *ftrack_own_get(const struct ftrack_own *o, const char *key);

/* Free what o holds; o is left empty. */
void ftrack_own_clear(struct ftrack_own *o);

/* ---- write batches ------------------------------------------------------ */

/*
 * A batch of writes, sent by ftrack_batch_commit.  Each adder appends
 * operations and returns the index of its first in *ret_op (may be NULL).
 * Consecutive operations on the same user form a group: a group is never
 * split across POSTs, and is the unit retried alone to isolate a record
 * that ftrack rejects.  Adders return FT_OK, FT_E_INVAL (missing or non
 * UTF-8 argument), FT_E_IO (no randomness for an id) or FT_E_NOMEM.
 */
struct ftrack_batch;

/* The outcome of one operation (ftrack_batch_result). */
struct ftrack_result {
	int code;            /* FT_OK, or why it failed or was not done */
	const char *message; /* ftrack's or the transport's reason, or NULL */
	const char *id;      /* the user's id (a create: the new id) */
	/* a write asking is_active true (a create; an update of
	 * FTRACK_F_IS_ACTIVE with is_active true) that landed: 1 when the
	 * user is active after it, 0 when ftrack kept the user inactive (no
	 * free seat); -1 not known, or another operation */
	int active;
};

/* A new, empty batch (free with ftrack_batch_free). */
FT_MUST_USE int ftrack_batch_new(struct ftrack_batch **ret);

/* Free b; NULL is a no-op. */
void ftrack_batch_free(struct ftrack_batch *b);

/* Number of operations in b. */
size_t ftrack_batch_count(const struct ftrack_batch *b);

/*
 * Drop the operations of b from index n on (n >= the count: nothing), so
 * that a caller can take back what it added for one person when a later
 * adder failed.  Before the commit only (after it: nothing).
 */
void ftrack_batch_truncate(struct ftrack_batch *b, size_t n);

/*
 * Create an active User from u (username required; first_name, last_name,
 * email), plus, when uuid is not NULL, its ftrack_syncd.uuid marker in the
 * same group (operation *ret_op + 1).  Its id is ftrack_user_id_for(uuid)
 * (a random uuid4 without a uuid): two hosts creating the same person at
 * once send the same id, ftrack keeps the first, and the second's
 * DuplicateEntryError (the id, or the username) makes that person's code
 * FT_E_AGAIN (read again at the next try: it exists), never FT_E_DATA.
 */
/* Longest LDAP uuid ftrack_user_id_for() takes (a marker value). */
#define FTRACK_UUID_NAME_MAX 256

/*
 * The id of the ftrack user created for the LDAP entry of uuid: a
 * name-based (version 5, SHA-1) UUID of uuid in a fixed namespace, as 36
 * characters and a NUL in out.  Returns FT_OK; FT_E_INVAL (empty or over
 * FTRACK_UUID_NAME_MAX bytes); FT_E_INTERNAL (the hash failed).
 */
FT_MUST_USE int ftrack_user_id_for(const char *uuid, char out[37]);

FT_MUST_USE int ftrack_batch_create_user(struct ftrack_batch *b,
					 const struct ft_user *u,
					 const char *uuid, size_t *ret_op);

/* Update User id: only the attributes named in fields (FTRACK_F_*). */
FT_MUST_USE int ftrack_batch_update_user(struct ftrack_batch *b, const char *id,
					 const struct ft_user *u,
					 unsigned fields, size_t *ret_op);

/*
 * Set marker key of User user_id to value: an update when the marker
 * exists (the caller knows from ft_user.uuid/deactivated/seat_waiting),
 * else a create.
 */
FT_MUST_USE int ftrack_batch_set_marker(struct ftrack_batch *b,
					const char *user_id, const char *key,
					const char *value, bool exists,
					size_t *ret_op);

/* Delete marker key of User user_id. */
FT_MUST_USE int ftrack_batch_delete_marker(struct ftrack_batch *b,
					   const char *user_id, const char *key,
					   size_t *ret_op);

/* Delete User id. */
FT_MUST_USE int ftrack_batch_delete_user(struct ftrack_batch *b, const char *id,
					 size_t *ret_op);

/*
 * Send b: up to the configured batch_size operations per POST, groups
 * kept whole.  When ftrack rejects a POST (FT_E_DATA, or FT_E_SEAT: an
 * exception saying the licence has no seat for it), its groups are sent
 * again one by one, so that only the group with the bad record (or the
 * one asking for a seat) fails.  When a POST fails transiently after its
 * retries (or with FT_E_AUTH), the commit stops there: the rest is marked
 * not done with that code.
 *
 * Every write that asks for is_active true and landed has its is_active
 * read back (ftrack_result.active): from ftrack's answer, which carries
 * the entity; for answers that do not, one query for all of them at the
 * end (a failed query leaves active -1).
 *
 * Returns FT_OK (every operation applied), FT_E_DATA (some groups
 * rejected, the others applied), FT_E_SEAT (some groups refused a seat,
 * none rejected otherwise), or the code that stopped the commit.  err
 * gets the first failure's reason.  A batch is committed once.
 */
FT_MUST_USE int ftrack_batch_commit(struct ftrack_client *c,
				    struct ftrack_batch *b, char *err,
				    size_t errlen);

/*
 * The outcome of operation i into *ret (strings borrowed from b; before
 * the commit, code is FT_E_AGAIN).  Returns FT_OK or FT_E_INVAL (i out of
 * range).
 */
FT_MUST_USE int ftrack_batch_result(const struct ftrack_batch *b, size_t i,
				    struct ftrack_result *ret);

/* ---- groups and roles (section 12; reads: ftrack_groups.h) -------------- */

/*
 * Create the Membership of User user_id in Group group_id, with the
 * client-made id ftrack_membership_id(user_id, group_id), written to
 * ret_id (37 bytes) when not NULL.  In user_id's group of operations.
 */
FT_MUST_USE int ftrack_batch_add_membership(struct ftrack_batch *b,
					    const char *user_id,
					    const char *group_id, char *ret_id,
					    size_t *ret_op);

/* Delete Membership id (of User user_id: its group of operations). */
FT_MUST_USE int ftrack_batch_delete_membership(struct ftrack_batch *b,
					       const char *user_id,
					       const char *id, size_t *ret_op);

/*
 * The id of the Membership the sync creates for (user_id, group_id): a
 * name-based UUID as ftrack_user_id_for() makes, of "membership:" user_id
 * "/" group_id, so that a create sent twice is a duplicate, never a
 * second membership.  FT_OK, FT_E_INVAL or FT_E_INTERNAL.
 */
FT_MUST_USE int ftrack_membership_id(const char *user_id, const char *group_id,
				     char out[37]);

/* One security-role action (enum ftrack_role_op of ftrack_json.h: add,
 * grant on all open projects, revoke that, remove) for User user_id. */
FT_MUST_USE int ftrack_batch_role(struct ftrack_batch *b, int op,
				  const char *user_id, const char *role_id,
				  size_t *ret_op);

#endif
