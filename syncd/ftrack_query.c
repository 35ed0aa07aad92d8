/* SPDX-License-Identifier: Apache-2.0 */
/* ftrack_query.c: paged queries, markers onto users, look-ups, listings. */
#include "ftrack_api.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "array.h"
#include "ft_err.h"
#include "ftrack_int.h"

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
		r = ftrack_call_ops(c, ops, 0, ftrack_ops_count(ops), &k, &rep,
				    err, errlen);
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

char **
ftrack_marker_field(struct ft_user *u, const char *key)
{
	if (strcmp(key, FTRACK_MARKER_UUID) == 0)
		return &u->uuid;
	if (strcmp(key, FTRACK_MARKER_DEACTIVATED) == 0)
		return &u->deactivated;
	if (strcmp(key, FTRACK_MARKER_SEAT_WAITING) == 0)
		return &u->seat_waiting;
	if (strcmp(key, FTRACK_MARKER_LINKED_BY) == 0)
		return &u->linked_by;
	return NULL;
}

/* Fill u->uuid, deactivated, seat_waiting, linked_by from the markers. */
static int
attach_markers(struct ft_user *u, const struct ftrack_marker_list *ml)
{
	size_t i;

	for (i = marker_first(ml, u->id);
	     i < ml->n && strcmp(ml->v[i].parent_id, u->id) == 0; i++) {
		char **dst = ftrack_marker_field(u, ml->v[i].key);

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

/* Users with ids[0..n) and their markers, both in the same POSTs. */
int
ftrack_users_by_ids(struct ftrack_client *c, const char *const ids[], size_t n,
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

/* ---- the API user's records --------------------------------------------- */

/* Is key one of the records of the API user that ftrack_own_read keeps? */
static bool
own_key(const char *key)
{
	return strcmp(key, FTRACK_MARKER_SCHEMA) == 0 ||
	       strcmp(key, FTRACK_MARKER_LAST_GOOD) == 0 ||
	       strcmp(key, FTRACK_MARKER_LEASE) == 0 ||
	       strncmp(key, FTRACK_MARKER_LEASE_TOKEN,
		       strlen(FTRACK_MARKER_LEASE_TOKEN)) == 0;
}

/* Move the markers of parent id in ml that own_key() keeps into o. */
static int
own_take(struct ftrack_own *o, struct ftrack_marker_list *ml)
{
	size_t i, n = 0;

	for (i = 0; i < ml->n; i++)
		n += strcmp(ml->v[i].parent_id, o->user_id) == 0 &&
		     own_key(ml->v[i].key);
	if (n > FTRACK_OWN_MAX)
		return FT_E_TOOBIG;
	o->v = calloc(n + 1, sizeof(*o->v));
	if (o->v == NULL)
		return FT_E_NOMEM;
	for (i = 0; i < ml->n; i++) {
		struct ftrack_marker *m = &ml->v[i];

		if (strcmp(m->parent_id, o->user_id) != 0 || !own_key(m->key))
			continue;
		o->v[o->n].key = m->key;
		o->v[o->n++].value = m->value;
		m->key = m->value = NULL;
	}
	return FT_OK;
}

int
ftrack_own_read(struct ftrack_client *c, const char *api_user,
		struct ftrack_own *ret, char *err, size_t errlen)
{
	/* `like` is wider on a server where `_` is a wildcard too: what it
	 * finds is sorted by own_key() */
	static const char *const heads[2] = {
		USER_SELECT " where username in",
		MARKER_SELECT " where key in",
	};
	static const char *const tails[2] = {
		" order by id",
		" or key like \"" FTRACK_MARKER_LEASE "%\"" MARKER_ORDER,
	};

	static const enum cursor_kind kinds[2] = {CUR_USERS, CUR_MARKERS};

	static const char *const keys[2] = {FTRACK_MARKER_SCHEMA,
					    FTRACK_MARKER_LAST_GOOD};
	const char *const names[1] = {api_user};
	const char *const *values[2] = {names, keys};
	const size_t n[2] = {1, 2};
	struct ft_user_list users = {NULL, 0, 0};
	struct ftrack_marker_list ml = {NULL, 0, 0};
	struct ftrack_own o = {NULL, NULL, 0};
	size_t i;
	int r;

	r = run_in_pair(c, heads, values, n, tails, kinds, &users, &ml, err,
			errlen);
	for (i = 0; r == FT_OK && i < users.n && o.user_id == NULL; i++)
		if (users.v[i].username != NULL &&
		    strcmp(users.v[i].username, api_user) == 0) {
			o.user_id = users.v[i].id;
			users.v[i].id = NULL;
		}
	if (r == FT_OK && o.user_id == NULL) {
		snprintf(err, errlen, "no ftrack user named '%s'", api_user);
		r = FT_E_NOTFOUND;
	}
	if (r == FT_OK) {
		r = own_take(&o, &ml);
		if (r == FT_E_TOOBIG)
			snprintf(err, errlen,
				 "more than %d records on the API user",
				 FTRACK_OWN_MAX);
	}
	if (r == FT_OK)
		*ret = o;
	else
		ftrack_own_clear(&o);
	ft_user_list_clear(&users);
	ftrack_marker_list_clear(&ml);
	return r;
}

const char *
ftrack_own_get(const struct ftrack_own *o, const char *key)
{
	size_t i;

	for (i = 0; i < o->n; i++)
		if (strcmp(o->v[i].key, key) == 0)
			return o->v[i].value;
	return NULL;
}

void
ftrack_own_clear(struct ftrack_own *o)
{
	size_t i;

	for (i = 0; i < o->n; i++) {
		free(o->v[i].key);
		free(o->v[i].value);
	}
	free(o->v);
	free(o->user_id);
	o->v = NULL;
	o->user_id = NULL;
	o->n = 0;
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

/* v + i while i < n, else NULL: no arithmetic on a NULL array of 0. */
static const char *const *
rest_of(const char *const v[], size_t i, size_t n)
{
	return i < n ? v + i : NULL;
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
		r = lookup_chunk(c, rest_of(usernames, i, nn), a,
				 rest_of(uuids, j, nu), b, &part, err, errlen);
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

/* ---- the look-up by e-mail -------------------------------------------- */

/* The address s with its ASCII letters in lower case (caller frees). */
static char *
ascii_lower(const char *s)
{
	char *out = strdup(s);
	size_t i;

	for (i = 0; out != NULL && out[i] != '\0'; i++)
		if (out[i] >= 'A' && out[i] <= 'Z')
			out[i] = (char)(out[i] - 'A' + 'a');
	return out;
}

static bool
email_asked(const struct ft_user *u, const char *const emails[], size_t n)
{
	size_t i;

	for (i = 0; u->email != NULL && i < n; i++)
		if (ft_email_cmp(u->email, emails[i]) == 0)
			return true;
	return false;
}

/* Keep the users of got asked for (and not in to yet), moved to to. */
static int
move_asked(struct ft_user_list *to, struct ft_user_list *got,
	   const char *const emails[], size_t n)
{
	size_t i;
	int r = FT_OK;

	for (i = 0; r == FT_OK && i < got->n; i++) {
		struct ft_user *u = &got->v[i];

		if (u->id == NULL || has_id(to, u->id) ||
		    !email_asked(u, emails, n))
			continue;
		r = ft_user_list_push(to, u);
	}
	return r;
}

/* One chunk: the users with the addresses (as given, lower case). */
static int
email_chunk(struct ftrack_client *c, const char *const emails[], size_t n,
	    struct ft_user_list *got, char *err, size_t errlen)
{
	static const char *const heads[2] = {USER_SELECT " where email in", ""};
	static const char *const tails[2] = {" order by id", ""};

	static const enum cursor_kind kinds[2] = {CUR_USERS, CUR_MARKERS};
	struct ftrack_marker_list none = {NULL, 0, 0};
	char **low = calloc(n + 1, sizeof(*low));
	const char **vals = calloc(2 * n + 1, sizeof(*vals));
	size_t cnt[2] = {0, 0}, i;
	int r = low && vals ? FT_OK : FT_E_NOMEM;

	for (i = 0; r == FT_OK && i < n; i++) {
		vals[cnt[0]++] = emails[i];
		low[i] = ascii_lower(emails[i]);
		if (low[i] == NULL)
			r = FT_E_NOMEM;
		else if (strcmp(low[i], emails[i]) != 0)
			vals[cnt[0]++] = low[i];
	}
	if (r == FT_OK) {
		const char *const *values[2] = {vals, NULL};

		r = run_in_pair(c, heads, values, cnt, tails, kinds, got, &none,
				err, errlen);
	}
	if (r == FT_OK && got->n > 0)
		r = lookup_rest(c, got, &none, err, errlen);
	else if (r == FT_E_NOMEM)
		snprintf(err, errlen, "out of memory");
	ftrack_marker_list_clear(&none);
	for (i = 0; low != NULL && i < n; i++)
		free(low[i]);
	free(low);
	free(vals);
	return r;
}

int
ftrack_users_by_email(struct ftrack_client *c, const char *const emails[],
		      size_t n, struct ft_user_list *list, char *err,
		      size_t errlen)
{
	struct ft_user_list got = {NULL, 0, 0};
	size_t i = 0, step = FTRACK_LOOKUP_CHUNK / 2;
	int r = FT_OK;

	while (r == FT_OK && i < n) {
		struct ft_user_list part = {NULL, 0, 0};
		size_t a = n - i < step ? n - i : step;

		r = email_chunk(c, emails + i, a, &part, err, errlen);
		if (r == FT_OK)
			r = move_asked(&got, &part, emails + i, a);
		ft_user_list_clear(&part);
		i += a;
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
