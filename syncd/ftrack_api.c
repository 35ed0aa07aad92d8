/* SPDX-License-Identifier: Apache-2.0 */
/* ftrack_api.c: the ftrack client: retries, lookups, listings, batches. */
#include "ftrack_api.h"
#include "timing.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "array.h"
#include "ft_err.h"
#include "http.h"

#define USER_SELECT   "select " FTRACK_USER_FIELDS " from User"
#define MARKER_SELECT "select parent_id, key, value from Metadata"
#define MARKER_KEYS                                                            \
	"(\"" FTRACK_MARKER_UUID "\", \"" FTRACK_MARKER_DEACTIVATED "\")"
#define MARKER_ORDER " order by parent_id, key"

struct ftrack_client {
	struct http *http;
	unsigned batch_size;
	struct ftrack_retry retry;
	const volatile sig_atomic_t *stop;
	unsigned long retries;
	uint64_t rng; /* xorshift64* state, for back-off jitter */
};

static const struct ftrack_retry retry_defaults = {
	.attempts = 5,
	.base_ms = 500,
	.max_ms = 30000,
	.retry_after_max = 60,
	.deadline_ms = 180000,
};

/* ---- client ------------------------------------------------------------- */

/* "<server>/api", the server's trailing slashes dropped. */
static int
make_url(const char *server, char **ret)
{
	size_t len = strlen(server);
	char *url;

	while (len > 0 && server[len - 1] == '/')
		len--;
	if (len == 0)
		return FT_E_INVAL;
	url = malloc(len + sizeof("/api"));
	if (url == NULL)
		return FT_E_NOMEM;
	memcpy(url, server, len);
	memcpy(url + len, "/api", sizeof("/api"));
	*ret = url;
	return FT_OK;
}

int
ftrack_client_new(const struct config *cfg, struct ftrack_client **ret)
{
	const struct config_ftrack *f = &cfg->ftrack;
	struct ftrack_client *c = NULL;
	struct http_opts o;
	char *url = NULL;
	int r;

	if (f->server == NULL)
		return FT_E_INVAL;
	r = make_url(f->server, &url);
	if (r != FT_OK)
		return r;
	memset(&o, 0, sizeof(o));
	o.url = url;
	o.user = f->api_user;
	o.api_key = f->api_key;
	o.ca_file = f->tls_ca_file;
	o.timeout = f->timeout ? f->timeout : 30;
	r = FT_E_NOMEM;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		goto out;
	r = http_new(&o, &c->http);
	if (r != FT_OK)
		goto out;
	c->batch_size = f->batch_size ? f->batch_size : 100;
	if (c->batch_size > FTRACK_MAX_BATCH_SIZE)
		c->batch_size = FTRACK_MAX_BATCH_SIZE;
	c->retry = retry_defaults;
	c->rng = timing_seed();
	*ret = c;
	c = NULL;
out:
	free(url);
	ftrack_client_free(c);
	return r;
}

void
ftrack_client_free(struct ftrack_client *c)
{
	if (c == NULL)
		return;
	http_free(c->http);
	free(c);
}

void
ftrack_client_set_retry(struct ftrack_client *c, const struct ftrack_retry *r)
{
	const struct ftrack_retry *d = &retry_defaults;

	c->retry.attempts = r->attempts ? r->attempts : d->attempts;
	c->retry.base_ms = r->base_ms ? r->base_ms : d->base_ms;
	c->retry.max_ms = r->max_ms ? r->max_ms : d->max_ms;
	c->retry.retry_after_max =
		r->retry_after_max ? r->retry_after_max : d->retry_after_max;
	c->retry.deadline_ms = r->deadline_ms ? r->deadline_ms : d->deadline_ms;
}

void
ftrack_client_set_stop(struct ftrack_client *c,
		       const volatile sig_atomic_t *stop)
{
	c->stop = stop;
}

void
ftrack_client_stats(const struct ftrack_client *c, struct ftrack_stats *ret)
{
	ret->requests = http_requests(c->http);
	ret->connections = http_connections(c->http);
	ret->retries = c->retries;
}

/* ---- one call, with retries --------------------------------------------- */

/* What one call learnt, beyond its result. */
struct call {
	size_t nops;
	char exc[FTRACK_EXC_MAX]; /* exception class of the last failure */
	unsigned attempts;
	long retry_after;
	bool transient;
};

static bool
stopped(const struct ftrack_client *c)
{
	return c->stop != NULL && *c->stop != 0;
}

/* Back-off before attempt n + 1: exponential, jittered, >= Retry-After. */
static uint64_t
backoff_ms(struct ftrack_client *c, unsigned n, long retry_after)
{
	uint64_t d = timing_backoff_ms(n > 0 ? n - 1 : 0, c->retry.base_ms,
				       c->retry.max_ms, timing_rand(&c->rng));

	if (retry_after > 0) {
		uint64_t ra = (uint64_t)retry_after;

		if (ra > c->retry.retry_after_max)
			ra = c->retry.retry_after_max;
		if (ra * 1000 > d)
			d = ra * 1000;
	}
	return d;
}

/* Sleep ms, in short naps; false when the deadline or a stop forbids. */
static bool
pause_ms(const struct ftrack_client *c, uint64_t ms, uint64_t deadline)
{
	uint64_t end = timing_now_ms() + ms;

	if (end > deadline)
		return false;
	while (!stopped(c)) {
		uint64_t now = timing_now_ms(), left;
		struct timespec ts;

		if (now >= end)
			return true;
		left = end - now < 100 ? end - now : 100;
		ts.tv_sec = 0;
		ts.tv_nsec = (long)(left * 1000000);
		nanosleep(&ts, NULL); /* EINTR: the loop looks again */
	}
	return false;
}

/* One HTTP exchange, classified. */
static int
call_once(struct ftrack_client *c, const char *body, size_t len, struct call *k,
	  struct ftrack_reply **ret, char *err, size_t errlen)
{
	struct http_resp resp;
	int r;

	r = http_post(c->http, body, len, &resp, err, errlen);
	k->retry_after = resp.retry_after;
	k->exc[0] = '\0';
	if (r != FT_OK) {
		k->transient = r == FT_E_HTTP && resp.transient;
		goto out;
	}
	r = ftrack_reply_parse(resp.body, resp.len, resp.status, k->nops, ret,
			       k->exc, sizeof(k->exc), err, errlen);
	k->transient =
		r == FT_E_HTTP || (r == FT_E_MALFORMED && resp.status >= 500);
out:
	http_resp_clear(&resp);
	return r;
}

/*
 * Send operations [first, first + n) of ops, retrying transient failures
 * (see ftrack_api.h).  On success *ret is the reply (caller frees).
 */
static int
call_ops(struct ftrack_client *c, const struct ftrack_ops *ops, size_t first,
	 size_t n, struct call *k, struct ftrack_reply **ret, char *err,
	 size_t errlen)
{
	uint64_t deadline = timing_now_ms() + c->retry.deadline_ms;
	char *body = NULL;
	size_t len = 0;
	int r;

	memset(k, 0, sizeof(*k));
	k->nops = n;
	r = ftrack_ops_dump(ops, first, n, &body, &len);
	if (r != FT_OK)
		return r;
	for (;;) {
		k->attempts++;
		r = call_once(c, body, len, k, ret, err, errlen);
		if (r == FT_OK || !k->transient ||
		    k->attempts >= c->retry.attempts)
			break;
		if (!pause_ms(c, backoff_ms(c, k->attempts, k->retry_after),
			      deadline))
			break;
		c->retries++;
	}
	free(body);
	return r;
}

int
ftrack_server_info(struct ftrack_client *c, char *version, size_t vlen,
		   char *err, size_t errlen)
{
	struct ftrack_ops *ops = ftrack_ops_new();
	struct ftrack_reply *rep = NULL;
	struct call k;
	int r = FT_E_NOMEM;

	if (ops == NULL)
		return FT_E_NOMEM;
	r = ftrack_ops_server_info(ops);
	if (r == FT_OK)
		r = call_ops(c, ops, 0, 1, &k, &rep, err, errlen);
	if (r == FT_OK) {
		r = ftrack_reply_server_version(rep, 0, version, vlen);
		if (r != FT_OK)
			snprintf(err, errlen,
				 "no version in the server "
				 "information");
	}
	ftrack_reply_free(rep);
	ftrack_ops_free(ops);
	return r;
}

/* ---- paged queries ------------------------------------------------------ */

enum cursor_kind { CUR_USERS, CUR_MARKERS };

/* A paged query: its base expression (with `order by`) and position. */
struct cursor {
	char *expr; /* owned */
	enum cursor_kind kind;
	unsigned limit;
	long long offset; /* the next page; -1 when done */
	unsigned long pages;
};

/* Set up cu for expr (taken over, even on failure; NULL: FT_E_NOMEM). */
static int
cursor_init(struct cursor *cu, char *expr, enum cursor_kind kind,
	    unsigned limit)
{
	cu->expr = expr;
	cu->kind = kind;
	cu->limit = limit;
	cu->offset = 0;
	cu->pages = 0;
	return expr != NULL ? FT_OK : FT_E_NOMEM;
}

static bool
cursors_done(const struct cursor *cur, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (cur[i].expr != NULL && cur[i].offset >= 0)
			return false;
	return true;
}

/* Decode result i of rep, a page of cu, and move cu on. */
static int
cursor_decode(const struct ftrack_reply *rep, size_t i, struct cursor *cu,
	      struct ft_user_list *users, struct ftrack_marker_list *markers)
{
	long long next = -1;
	int r;

	if (cu->kind == CUR_USERS)
		r = ftrack_reply_users(rep, i, users, NULL);
	else
		r = ftrack_reply_markers(rep, i, markers, NULL);
	if (r == FT_OK)
		r = ftrack_reply_next(rep, i, &next);
	if (r != FT_OK)
		return r;
	/* the offset must move forward, or the listing would never end */
	if (next >= 0 && next <= cu->offset)
		return FT_E_MALFORMED;
	cu->offset = ftrack_reply_data_len(rep, i) == 0 ? -1 : next;
	if (++cu->pages >= FTRACK_MAX_PAGES && cu->offset >= 0)
		return FT_E_TOOBIG;
	return FT_OK;
}

/* One POST holding the next page of every unfinished cursor. */
static int
cursors_step(struct ftrack_client *c, struct cursor *cur, size_t n,
	     struct ft_user_list *users, struct ftrack_marker_list *markers,
	     char *err, size_t errlen)
{
	struct ftrack_ops *ops = ftrack_ops_new();
	struct ftrack_reply *rep = NULL;
	struct call k;
	size_t i, j;
	int r = ops != NULL ? FT_OK : FT_E_NOMEM;

	for (i = 0; i < n && r == FT_OK; i++)
		if (cur[i].expr != NULL && cur[i].offset >= 0)
			r = ftrack_ops_query_page(
				ops, cur[i].expr,
				(unsigned long long)cur[i].offset,
				cur[i].limit);
	if (r == FT_OK)
		r = call_ops(c, ops, 0, ftrack_ops_count(ops), &k, &rep, err,
			     errlen);
	for (i = 0, j = 0; i < n && r == FT_OK; i++) {
		if (cur[i].expr == NULL || cur[i].offset < 0)
			continue;
		r = cursor_decode(rep, j++, &cur[i], users, markers);
		if (r != FT_OK)
			snprintf(err, errlen, "unexpected query result: %s",
				 ft_strerror(r));
	}
	ftrack_reply_free(rep);
	ftrack_ops_free(ops);
	return r;
}

/* Run the cursors to their ends; every page is appended. */
static int
cursors_run(struct ftrack_client *c, struct cursor *cur, size_t n,
	    struct ft_user_list *users, struct ftrack_marker_list *markers,
	    char *err, size_t errlen)
{
	int r = FT_OK;

	while (r == FT_OK && !cursors_done(cur, n))
		r = cursors_step(c, cur, n, users, markers, err, errlen);
	return r;
}

/* ---- markers onto users ------------------------------------------------- */

static int
marker_cmp(const void *a, const void *b)
{
	const struct ftrack_marker *x = a, *y = b;
	int d = strcmp(x->parent_id, y->parent_id);

	return d != 0 ? d : strcmp(x->key, y->key);
}

static void
markers_sort(struct ftrack_marker_list *ml)
{
	if (ml->n > 1)
		qsort(ml->v, ml->n, sizeof(ml->v[0]), marker_cmp);
}

/* Index of the first marker of parent id in the sorted ml (or ml->n). */
static size_t
marker_first(const struct ftrack_marker_list *ml, const char *id)
{
	size_t lo = 0, hi = ml->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(ml->v[mid].parent_id, id) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Fill u->uuid and u->deactivated from the sorted markers. */
static int
attach_markers(struct ft_user *u, const struct ftrack_marker_list *ml)
{
	size_t i;

	for (i = marker_first(ml, u->id);
	     i < ml->n && strcmp(ml->v[i].parent_id, u->id) == 0; i++) {
		char **dst = NULL;

		if (strcmp(ml->v[i].key, FTRACK_MARKER_UUID) == 0)
			dst = &u->uuid;
		else if (strcmp(ml->v[i].key, FTRACK_MARKER_DEACTIVATED) == 0)
			dst = &u->deactivated;
		if (dst == NULL)
			continue;
		free(*dst);
		*dst = strdup(ml->v[i].value);
		if (*dst == NULL)
			return FT_E_NOMEM;
	}
	return FT_OK;
}

static int
attach_all(struct ft_user_list *users, struct ftrack_marker_list *ml)
{
	size_t i;
	int r = FT_OK;

	markers_sort(ml);
	for (i = 0; i < users->n && r == FT_OK; i++)
		r = attach_markers(&users->v[i], ml);
	return r;
}

/* Move every user of from to the end of to; on failure to is unchanged. */
static int
move_users(struct ft_user_list *to, struct ft_user_list *from)
{
	size_t n0 = to->n, i;

	for (i = 0; i < from->n; i++) {
		if (ft_user_list_push(to, &from->v[i]) != FT_OK) {
			while (to->n > n0)
				ft_user_clear(&to->v[--to->n]);
			return FT_E_NOMEM;
		}
	}
	return FT_OK;
}

/* ---- lookups ------------------------------------------------------------ */

/* Run the one query "<head> (values...)<tail>" to its end. */
static int
run_in(struct ftrack_client *c, const char *head, const char *const values[],
       size_t n, const char *tail, enum cursor_kind kind,
       struct ft_user_list *users, struct ftrack_marker_list *markers,
       char *err, size_t errlen)
{
	struct cursor cu = {NULL, kind, 0, -1, 0};
	char *expr = NULL;
	int r;

	r = ftrack_expr_in(head, values, n, tail, &expr);
	if (r == FT_OK)
		r = cursor_init(&cu, expr, kind, FTRACK_DEFAULT_PAGE);
	if (r == FT_OK)
		r = cursors_run(c, &cu, 1, users, markers, err, errlen);
	else
		snprintf(err, errlen, "unable to build a query: %s",
			 ft_strerror(r));
	free(cu.expr);
	return r;
}

/* The markers of users (all of them), attached. */
static int
users_markers(struct ftrack_client *c, struct ft_user_list *users, char *err,
	      size_t errlen)
{
	struct ftrack_marker_list ml = {NULL, 0, 0};
	const char **ids = calloc(users->n ? users->n : 1, sizeof(*ids));
	size_t i, k;
	int r = ids != NULL ? FT_OK : FT_E_NOMEM;

	for (i = 0; i < users->n && ids != NULL; i++)
		ids[i] = users->v[i].id;
	for (i = 0; i < users->n && r == FT_OK; i += k) {
		k = users->n - i < FTRACK_LOOKUP_CHUNK ? users->n - i
						       : FTRACK_LOOKUP_CHUNK;
		r = run_in(c,
			   MARKER_SELECT " where key in " MARKER_KEYS
					 " and parent_id in",
			   ids + i, k, MARKER_ORDER, CUR_MARKERS, NULL, &ml,
			   err, errlen);
	}
	if (r == FT_OK)
		r = attach_all(users, &ml);
	ftrack_marker_list_clear(&ml);
	free(ids);
	return r;
}

int
ftrack_users_get(struct ftrack_client *c, const char *const usernames[],
		 size_t n, struct ft_user_list *list, char *err, size_t errlen)
{
	struct ft_user_list got = {NULL, 0, 0};
	size_t i, k;
	int r = FT_OK;

	for (i = 0; i < n && r == FT_OK; i += k) {
		k = n - i < FTRACK_LOOKUP_CHUNK ? n - i : FTRACK_LOOKUP_CHUNK;
		r = run_in(c, USER_SELECT " where username in", usernames + i,
			   k, " order by id", CUR_USERS, &got, NULL, err,
			   errlen);
	}
	if (r == FT_OK && got.n > 0)
		r = users_markers(c, &got, err, errlen);
	if (r == FT_OK)
		r = move_users(list, &got);
	ft_user_list_clear(&got);
	return r;
}

/* Users with ids[0..n) and their markers, both in the same POSTs. */
static int
users_by_ids(struct ftrack_client *c, const char *const ids[], size_t n,
	     struct ft_user_list *users, char *err, size_t errlen)
{
	struct cursor cur[2] = {{NULL, CUR_USERS, 0, -1, 0},
				{NULL, CUR_MARKERS, 0, -1, 0}};
	struct ftrack_marker_list ml = {NULL, 0, 0};
	char *e0 = NULL, *e1 = NULL;
	int r;

	r = ftrack_expr_in(USER_SELECT " where id in", ids, n, " order by id",
			   &e0);
	if (r == FT_OK)
		r = ftrack_expr_in(MARKER_SELECT " where key in " MARKER_KEYS
						 " and parent_id in",
				   ids, n, MARKER_ORDER, &e1);
	if (r == FT_OK)
		r = cursor_init(&cur[0], e0, CUR_USERS, FTRACK_DEFAULT_PAGE);
	if (r == FT_OK)
		r = cursor_init(&cur[1], e1, CUR_MARKERS, FTRACK_DEFAULT_PAGE);
	if (r == FT_OK)
		r = cursors_run(c, cur, 2, users, &ml, err, errlen);
	if (r == FT_OK)
		r = attach_all(users, &ml);
	ftrack_marker_list_clear(&ml);
	free(e0);
	free(e1);
	return r;
}

/* The users whose uuid marker is one of uuids[0..n), n <= chunk. */
static int
by_uuid_chunk(struct ftrack_client *c, const char *const uuids[], size_t n,
	      struct ft_user_list *got, char *err, size_t errlen)
{
	struct ftrack_marker_list ml = {NULL, 0, 0};
	const char **ids = NULL;
	size_t i, k;
	int r;

	r = run_in(c,
		   MARKER_SELECT " where key is \"" FTRACK_MARKER_UUID
				 "\" and value in",
		   uuids, n, MARKER_ORDER, CUR_MARKERS, NULL, &ml, err, errlen);
	if (r == FT_OK && ml.n > 0) {
		ids = calloc(ml.n, sizeof(*ids));
		r = ids != NULL ? FT_OK : FT_E_NOMEM;
	}
	for (i = 0; ids != NULL && i < ml.n; i++)
		ids[i] = ml.v[i].parent_id;
	for (i = 0; i < ml.n && r == FT_OK; i += k) {
		k = ml.n - i < FTRACK_LOOKUP_CHUNK ? ml.n - i
						   : FTRACK_LOOKUP_CHUNK;
		r = users_by_ids(c, ids + i, k, got, err, errlen);
	}
	free(ids);
	ftrack_marker_list_clear(&ml);
	return r;
}

int
ftrack_users_by_uuid(struct ftrack_client *c, const char *const uuids[],
		     size_t n, struct ft_user_list *list, char *err,
		     size_t errlen)
{
	struct ft_user_list got = {NULL, 0, 0};
	size_t i, k;
	int r = FT_OK;

	for (i = 0; i < n && r == FT_OK; i += k) {
		k = n - i < FTRACK_LOOKUP_CHUNK ? n - i : FTRACK_LOOKUP_CHUNK;
		r = by_uuid_chunk(c, uuids + i, k, &got, err, errlen);
	}
	if (r == FT_OK)
		r = move_users(list, &got);
	ft_user_list_clear(&got);
	return r;
}

/* ---- the on-demand look-up (two POSTs) ---------------------------------- */

/* Two queries "<head> (values...)<tail>" run together, page by page. */
static int
run_in_pair(struct ftrack_client *c, const char *const heads[2],
	    const char *const *values[2], const size_t n[2],
	    const char *const tails[2], const enum cursor_kind kinds[2],
	    struct ft_user_list *users, struct ftrack_marker_list *markers,
	    char *err, size_t errlen)
{
	struct cursor cur[2] = {{NULL, kinds[0], 0, -1, 0},
				{NULL, kinds[1], 0, -1, 0}};
	size_t i;
	int r = FT_OK;

	for (i = 0; i < 2 && r == FT_OK; i++) {
		char *expr = NULL;

		if (n[i] == 0)
			continue; /* no query: the cursor stays done */
		r = ftrack_expr_in(heads[i], values[i], n[i], tails[i], &expr);
		if (r == FT_OK)
			r = cursor_init(&cur[i], expr, kinds[i],
					FTRACK_DEFAULT_PAGE);
	}
	if (r == FT_OK)
		r = cursors_run(c, cur, 2, users, markers, err, errlen);
	else
		snprintf(err, errlen, "unable to build a query: %s",
			 ft_strerror(r));
	free(cur[0].expr);
	free(cur[1].expr);
	return r;
}

static bool
has_id(const struct ft_user_list *l, const char *id)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (l->v[i].id != NULL && strcmp(l->v[i].id, id) == 0)
			return true;
	return false;
}

/*
 * Second POST: every marker of the users found (by name, and the parents
 * of the uuid markers found) and the users known only by such a marker.
 */
static int
lookup_rest(struct ftrack_client *c, struct ft_user_list *got,
	    const struct ftrack_marker_list *um, char *err, size_t errlen)
{
	static const char *const heads[2] = {
		MARKER_SELECT " where key in " MARKER_KEYS " and parent_id in",
		USER_SELECT " where id in"};
	static const char *const tails[2] = {MARKER_ORDER, " order by id"};

	static const enum cursor_kind kinds[2] = {CUR_MARKERS, CUR_USERS};
	struct ftrack_marker_list ml = {NULL, 0, 0};
	size_t cap = got->n + um->n + 1, n[2] = {0, 0}, i;
	const char **ids = calloc(cap, sizeof(*ids)),
		   **missing = calloc(cap, sizeof(*missing));
	int r = ids && missing ? FT_OK : FT_E_NOMEM;

	for (i = 0; r == FT_OK && i < got->n; i++)
		ids[n[0]++] = got->v[i].id;
	for (i = 0; r == FT_OK && i < um->n; i++) {
		if (has_id(got, um->v[i].parent_id))
			continue;
		ids[n[0]++] = um->v[i].parent_id;
		missing[n[1]++] = um->v[i].parent_id;
	}
	if (r == FT_OK && n[0] > 0) {
		const char *const *values[2] = {ids, missing};

		r = run_in_pair(c, heads, values, n, tails, kinds, got, &ml,
				err, errlen);
	}
	if (r == FT_OK)
		r = attach_all(got, &ml);
	ftrack_marker_list_clear(&ml);
	free(ids);
	free(missing);
	return r;
}

/* One chunk: the users by name and the uuid markers, then the rest. */
static int
lookup_chunk(struct ftrack_client *c, const char *const names[], size_t nn,
	     const char *const uuids[], size_t nu, struct ft_user_list *got,
	     char *err, size_t errlen)
{
	static const char *const heads[2] = {
		USER_SELECT " where username in", MARKER_SELECT
		" where key is \"" FTRACK_MARKER_UUID "\" and value in"};
	static const char *const tails[2] = {" order by id", MARKER_ORDER};

	static const enum cursor_kind kinds[2] = {CUR_USERS, CUR_MARKERS};

	const char *const *values[2] = {names, uuids};
	const size_t n[2] = {nn, nu};
	struct ftrack_marker_list um = {NULL, 0, 0};
	int r;

	r = run_in_pair(c, heads, values, n, tails, kinds, got, &um, err,
			errlen);
	if (r == FT_OK && (got->n > 0 || um.n > 0))
		r = lookup_rest(c, got, &um, err, errlen);
	ftrack_marker_list_clear(&um);
	return r;
}

int
ftrack_users_lookup(struct ftrack_client *c, const char *const usernames[],
		    size_t nn, const char *const uuids[], size_t nu,
		    struct ft_user_list *list, char *err, size_t errlen)
{
	struct ft_user_list got = {NULL, 0, 0};
	size_t i = 0, j = 0;
	int r = FT_OK;

	while (r == FT_OK && (i < nn || j < nu)) {
		struct ft_user_list part = {NULL, 0, 0};
		size_t a, b;

		a = nn - i < FTRACK_LOOKUP_CHUNK ? nn - i : FTRACK_LOOKUP_CHUNK;
		b = nu - j < FTRACK_LOOKUP_CHUNK ? nu - j : FTRACK_LOOKUP_CHUNK;
		r = lookup_chunk(c, usernames + i, a, uuids + j, b, &part, err,
				 errlen);
		if (r == FT_OK)
			r = move_users(&got, &part);
		ft_user_list_clear(&part);
		i += a;
		j += b;
	}
	if (r == FT_OK)
		r = move_users(list, &got);
	ft_user_list_clear(&got);
	return r;
}

/* ---- listing every user ------------------------------------------------- */

/* Hand every user of users to on_user (markers attached); empty it. */
static int
hand_out(struct ft_user_list *users, const struct ftrack_marker_list *ml,
	 int (*on_user)(void *ctx, struct ft_user *u), void *ctx)
{
	size_t i;
	int r = FT_OK;

	for (i = 0; i < users->n; i++) {
		if (r == FT_OK)
			r = attach_markers(&users->v[i], ml);
		if (r == FT_OK)
			r = on_user(ctx, &users->v[i]);
		ft_user_clear(&users->v[i]);
	}
	users->n = 0; /* the array is kept for the next page */
	return r;
}

int
ftrack_users_all(struct ftrack_client *c, unsigned page_size,
		 int (*on_user)(void *ctx, struct ft_user *u), void *ctx,
		 char *err, size_t errlen)
{
	struct cursor cur[2] = {{NULL, CUR_USERS, 0, -1, 0},
				{NULL, CUR_MARKERS, 0, -1, 0}};
	struct ft_user_list users = {NULL, 0, 0};
	struct ftrack_marker_list ml = {NULL, 0, 0};
	bool markers_done = false;
	int r;

	if (page_size == 0 || page_size > FTRACK_PAGE_MAX)
		page_size = page_size ? FTRACK_PAGE_MAX : FTRACK_DEFAULT_PAGE;
	r = cursor_init(&cur[0], strdup(USER_SELECT " order by id"), CUR_USERS,
			page_size);
	if (r == FT_OK)
		r = cursor_init(
			&cur[1],
			strdup(MARKER_SELECT
			       " where key in " MARKER_KEYS MARKER_ORDER),
			CUR_MARKERS, page_size);
	while (r == FT_OK && !cursors_done(cur, 2)) {
		r = cursors_step(c, cur, 2, &users, &ml, err, errlen);
		if (r == FT_OK && !markers_done && cur[1].offset < 0) {
			markers_sort(&ml);
			markers_done = true;
		}
		if (r == FT_OK && markers_done)
			r = hand_out(&users, &ml, on_user, ctx);
	}
	free(cur[0].expr);
	free(cur[1].expr);
	ft_user_list_clear(&users);
	ftrack_marker_list_clear(&ml);
	return r;
}

/* ---- write batches ------------------------------------------------------ */

enum bop_kind { BOP_CREATE_USER, BOP_CREATE_MARKER, BOP_OTHER };

/* The bookkeeping of one operation of a batch. */
struct bop {
	enum bop_kind kind;
	size_t group;
	char *user_id; /* the user it is about (a create: the new id) */
	char *key;     /* a marker create: key and value, to recognise it */
	char *value;
	int code;
	char *message;
};

struct ftrack_batch {
	struct ftrack_ops *ops; /* index-aligned with v */
	struct bop *v;
	size_t n;
	size_t cap;
	size_t groups;
	bool committed;
};

int
ftrack_batch_new(struct ftrack_batch **ret)
{
	struct ftrack_batch *b = calloc(1, sizeof(*b));

	if (b == NULL)
		return FT_E_NOMEM;
	b->ops = ftrack_ops_new();
	if (b->ops == NULL) {
		free(b);
		return FT_E_NOMEM;
	}
	*ret = b;
	return FT_OK;
}

static void
bop_clear(struct bop *o)
{
	free(o->user_id);
	free(o->key);
	free(o->value);
	free(o->message);
	memset(o, 0, sizeof(*o));
}

void
ftrack_batch_free(struct ftrack_batch *b)
{
	size_t i;

	if (b == NULL)
		return;
	for (i = 0; i < b->n; i++)
		bop_clear(&b->v[i]);
	free(b->v);
	ftrack_ops_free(b->ops);
	free(b);
}

size_t
ftrack_batch_count(const struct ftrack_batch *b)
{
	return b->n;
}

static char *
dup_or_null(const char *s, int *r)
{
	char *d;

	if (s == NULL)
		return NULL;
	d = strdup(s);
	if (d == NULL)
		*r = FT_E_NOMEM;
	return d;
}

/* Make room for one more operation and fill o (before adding the op). */
static int
bop_prepare(struct ftrack_batch *b, struct bop *o, enum bop_kind kind,
	    const char *user_id, const char *key, const char *value)
{
	int r = FT_OK;

	memset(o, 0, sizeof(*o));
	if (user_id == NULL || b->committed)
		return FT_E_INVAL;
	r = array_grow(&b->v, &b->cap, b->n + 1, sizeof(*b->v), 64, 0);
	if (r < 0)
		return r;
	o->kind = kind;
	o->code = FT_E_AGAIN;
	o->user_id = dup_or_null(user_id, &r);
	o->key = dup_or_null(key, &r);
	o->value = dup_or_null(value, &r);
	if (r != FT_OK)
		bop_clear(o);
	return r;
}

/* Keep o when the op was added (r == FT_OK), else drop it; returns r. */
static int
bop_finish(struct ftrack_batch *b, struct bop *o, int r, size_t *ret_op)
{
	if (r != FT_OK) {
		bop_clear(o);
		return r;
	}
	if (b->n > 0 && strcmp(b->v[b->n - 1].user_id, o->user_id) == 0)
		o->group = b->v[b->n - 1].group;
	else
		o->group = b->groups++;
	if (ret_op != NULL)
		*ret_op = b->n;
	b->v[b->n++] = *o;
	return FT_OK;
}

/* A random (version 4) UUID in its 36-character text form. */
static int
make_uuid4(char out[37])
{
	unsigned char x[16];
	ssize_t n;

	do
		n = getrandom(x, sizeof(x), 0);
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof(x))
		return FT_E_IO;
	x[6] = (unsigned char)((x[6] & 0x0f) | 0x40);
	x[8] = (unsigned char)((x[8] & 0x3f) | 0x80);
	snprintf(out, 37,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
		 "%02x%02x%02x%02x%02x%02x",
		 x[0], x[1], x[2], x[3], x[4], x[5], x[6], x[7], x[8], x[9],
		 x[10], x[11], x[12], x[13], x[14], x[15]);
	return FT_OK;
}

static int
add_marker(struct ftrack_batch *b, const char *user_id, const char *key,
	   const char *value, bool exists, size_t *ret_op)
{
	struct bop o;
	int r;

	r = bop_prepare(b, &o, exists ? BOP_OTHER : BOP_CREATE_MARKER, user_id,
			key, value);
	if (r != FT_OK)
		return r;
	if (exists)
		r = ftrack_ops_update_marker(b->ops, user_id, key, value);
	else
		r = ftrack_ops_create_marker(b->ops, user_id, key, value);
	return bop_finish(b, &o, r, ret_op);
}

int
ftrack_batch_create_user(struct ftrack_batch *b, const struct ft_user *u,
			 const char *uuid, size_t *ret_op)
{
	size_t n0 = b->n, groups0 = b->groups;
	char id[37];
	struct bop o;
	int r;

	r = make_uuid4(id);
	if (r == FT_OK)
		r = bop_prepare(b, &o, BOP_CREATE_USER, id, NULL, NULL);
	if (r != FT_OK)
		return r;
	r = ftrack_ops_create_user(b->ops, id, u);
	r = bop_finish(b, &o, r, NULL);
	if (r == FT_OK && uuid != NULL)
		r = add_marker(b, id, FTRACK_MARKER_UUID, uuid, false, NULL);
	if (r != FT_OK) {
		while (b->n > n0)
			bop_clear(&b->v[--b->n]);
		ftrack_ops_truncate(b->ops, n0);
		b->groups = groups0;
		return r;
	}
	if (ret_op != NULL)
		*ret_op = n0;
	return FT_OK;
}

int
ftrack_batch_update_user(struct ftrack_batch *b, const char *id,
			 const struct ft_user *u, unsigned fields,
			 size_t *ret_op)
{
	struct bop o;
	int r;

	r = bop_prepare(b, &o, BOP_OTHER, id, NULL, NULL);
	if (r != FT_OK)
		return r;
	r = ftrack_ops_update_user(b->ops, id, u, fields);
	return bop_finish(b, &o, r, ret_op);
}

int
ftrack_batch_set_marker(struct ftrack_batch *b, const char *user_id,
			const char *key, const char *value, bool exists,
			size_t *ret_op)
{
	if (key == NULL || value == NULL)
		return FT_E_INVAL;
	return add_marker(b, user_id, key, value, exists, ret_op);
}

int
ftrack_batch_delete_marker(struct ftrack_batch *b, const char *user_id,
			   const char *key, size_t *ret_op)
{
	struct bop o;
	int r;

	r = bop_prepare(b, &o, BOP_OTHER, user_id, NULL, NULL);
	if (r != FT_OK)
		return r;
	r = ftrack_ops_delete_marker(b->ops, user_id, key);
	return bop_finish(b, &o, r, ret_op);
}

int
ftrack_batch_delete_user(struct ftrack_batch *b, const char *id, size_t *ret_op)
{
	struct bop o;
	int r;

	r = bop_prepare(b, &o, BOP_OTHER, id, NULL, NULL);
	if (r != FT_OK)
		return r;
	r = ftrack_ops_delete_user(b->ops, id);
	return bop_finish(b, &o, r, ret_op);
}

int
ftrack_batch_result(const struct ftrack_batch *b, size_t i,
		    struct ftrack_result *ret)
{
	if (i >= b->n)
		return FT_E_INVAL;
	ret->code = b->v[i].code;
	ret->message = b->v[i].message;
	ret->id = b->v[i].user_id;
	return FT_OK;
}

/* ---- committing --------------------------------------------------------- */

/* The end of the group that starts at or contains operation i. */
static size_t
group_end(const struct ftrack_batch *b, size_t i)
{
	size_t g = b->v[i].group;

	while (i < b->n && b->v[i].group == g)
		i++;
	return i;
}

/* The end of the POST starting at first: whole groups, <= max ops. */
static size_t
chunk_end(const struct ftrack_batch *b, size_t first, size_t max)
{
	size_t end = group_end(b, first); /* a big group goes alone */

	while (end < b->n && group_end(b, end) - first <= max)
		end = group_end(b, end);
	return end;
}

/* Set the outcome of operations [first, end) still pending (or all). */
static void
mark(struct ftrack_batch *b, size_t first, size_t end, int code,
     const char *msg, bool pending_only)
{
	size_t i;

	for (i = first; i < end; i++) {
		if (pending_only && b->v[i].code != FT_E_AGAIN)
			continue;
		b->v[i].code = code;
		free(b->v[i].message);
		b->v[i].message = msg != NULL ? strdup(msg) : NULL;
	}
}

/* Record the ids ftrack gave the created users of [first, end). */
static void
note_created(struct ftrack_batch *b, size_t first, size_t end,
	     const struct ftrack_reply *rep)
{
	char id[FTRACK_ID_MAX + 1];
	size_t i;

	for (i = first; i < end; i++) {
		char *d;

		if (b->v[i].kind != BOP_CREATE_USER ||
		    ftrack_reply_entity_id(rep, i - first, id, sizeof(id)) !=
			    FT_OK ||
		    strcmp(id, b->v[i].user_id) == 0)
			continue;
		d = strdup(id);
		if (d == NULL)
			continue; /* keep the id we sent */
		free(b->v[i].user_id);
		b->v[i].user_id = d;
	}
}

/* Does user u carry marker key with value (only our markers are read)? */
static bool
marker_matches(const struct ft_user *u, const char *key, const char *value)
{
	const char *have = NULL;

	if (strcmp(key, FTRACK_MARKER_UUID) == 0)
		have = u->uuid;
	else if (strcmp(key, FTRACK_MARKER_DEACTIVATED) == 0)
		have = u->deactivated;
	return have != NULL && strcmp(have, value) == 0;
}

/* True when every create of [first, end) is found in users. */
static bool
creates_found(const struct ftrack_batch *b, size_t first, size_t end,
	      const struct ft_user_list *users)
{
	size_t i, j;

	for (i = first; i < end; i++) {
		const struct bop *o = &b->v[i];

		if (o->kind == BOP_OTHER)
			continue;
		for (j = 0; j < users->n; j++)
			if (strcmp(users->v[j].id, o->user_id) == 0)
				break;
		if (j == users->n)
			return false;
		if (o->kind == BOP_CREATE_MARKER &&
		    !marker_matches(&users->v[j], o->key, o->value))
			return false;
	}
	return true;
}

/*
 * A POST sent again answered DuplicateEntryError: was an earlier attempt
 * applied, its answer lost?  Yes when every create of [first, end) exists
 * now: the users by their ids (random, ours), the markers with our
 * values.  Returns FT_OK (applied), FT_E_DATA (no) or another failure.
 */
static int
check_applied(struct ftrack_client *c, const struct ftrack_batch *b,
	      size_t first, size_t end, char *err, size_t errlen)
{
	const char **ids = calloc(end - first, sizeof(*ids));
	struct ft_user_list users = {NULL, 0, 0};
	size_t i, n = 0;
	int r = ids != NULL ? FT_OK : FT_E_NOMEM;

	for (i = first; ids != NULL && i < end; i++)
		if (b->v[i].kind != BOP_OTHER)
			ids[n++] = b->v[i].user_id;
	if (r == FT_OK && n == 0)
		r = FT_E_DATA;
	if (r == FT_OK)
		r = users_by_ids(c, ids, n, &users, err, errlen);
	if (r == FT_OK && !creates_found(b, first, end, &users))
		r = FT_E_DATA;
	ft_user_list_clear(&users);
	free(ids);
	return r;
}

static bool
is_duplicate(const char *exc)
{
	return strcmp(exc, "DuplicateEntryError") == 0 ||
	       strcmp(exc, "IntegrityError") == 0;
}

/* One POST of operations [first, end); on success they are marked done. */
static int
send_range(struct ftrack_client *c, struct ftrack_batch *b, size_t first,
	   size_t end, char *msg, size_t msglen)
{
	struct ftrack_reply *rep = NULL;
	struct call k;
	int r;

	r = call_ops(c, b->ops, first, end - first, &k, &rep, msg, msglen);
	if (r == FT_E_DATA && k.attempts > 1 && is_duplicate(k.exc)) {
		char why[512];
		int v = check_applied(c, b, first, end, why, sizeof(why));
		if (v != FT_E_DATA)
			r = v;
		if (v != FT_E_DATA && v != FT_OK)
			snprintf(msg, msglen, "%s", why);
	}
	if (r == FT_OK) {
		if (rep != NULL)
			note_created(b, first, end, rep);
		mark(b, first, end, FT_OK, NULL, false);
	}
	ftrack_reply_free(rep);
	return r;
}

/* Send the groups of [first, end) one by one: only bad ones fail. */
static int
isolate(struct ftrack_client *c, struct ftrack_batch *b, size_t first,
	size_t end, char *msg, size_t msglen)
{
	char why[512];
	size_t g, gend;
	int worst = FT_OK;

	for (g = first; g < end; g = gend) {
		int r;

		gend = group_end(b, g);
		why[0] = '\0';
		r = send_range(c, b, g, gend, why, sizeof(why));
		if (r == FT_E_DATA) {
			mark(b, g, gend, FT_E_DATA, why, false);
			worst = FT_E_DATA;
		} else if (r != FT_OK) {
			snprintf(msg, msglen, "%s", why);
			return r;
		}
	}
	return worst;
}

/* One POST of whole groups, then, if ftrack refused it, group by group. */
static int
commit_chunk(struct ftrack_client *c, struct ftrack_batch *b, size_t first,
	     size_t end, char *msg, size_t msglen)
{
	int r = send_range(c, b, first, end, msg, msglen);

	if (r != FT_E_DATA)
		return r;
	if (group_end(b, first) >= end) {
		mark(b, first, end, FT_E_DATA, msg, false);
		return FT_E_DATA;
	}
	return isolate(c, b, first, end, msg, msglen);
}

int
ftrack_batch_commit(struct ftrack_client *c, struct ftrack_batch *b, char *err,
		    size_t errlen)
{
	char msg[512];
	size_t i, end;
	int worst = FT_OK;

	if (b->committed)
		return FT_E_INVAL;
	b->committed = true;
	for (i = 0; i < b->n; i = end) {
		int r;

		end = chunk_end(b, i, c->batch_size);
		msg[0] = '\0';
		r = commit_chunk(c, b, i, end, msg, sizeof(msg));
		if (r != FT_OK && worst == FT_OK)
			snprintf(err, errlen, "%s", msg);
		if (r == FT_E_DATA) {
			worst = FT_E_DATA;
			continue;
		}
		if (r != FT_OK) {
			mark(b, i, b->n, r, msg, true);
			return r;
		}
	}
	return worst;
}
