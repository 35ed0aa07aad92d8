/* SPDX-License-Identifier: Apache-2.0 */
/* ftrack_batch.c: write batches: operations, groups, commits, isolation. */
#include "ftrack_api.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include <gnutls/crypto.h>

#include "array.h"
#include "ft_err.h"
#include "ftrack_int.h"

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
	bool wants_active; /* asks is_active true: read it back */
	int active;        /* 1, 0, -1 (see struct ftrack_result) */
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
	o->active = -1;
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

/*
 * The namespace of the ids of the users we create: uuid5(NAMESPACE_DNS,
 * "ftrack-syncd.uuid"), fixed forever (changing it would let two hosts of
 * different versions create the same person twice).
 */
static const unsigned char id_namespace[16] = {
	0xdb, 0xa6, 0x2b, 0x16, 0xb9, 0x6a, 0x58, 0x83,
	0x95, 0xe6, 0x35, 0xae, 0xa4, 0xda, 0xb1, 0x09,
};

int
ftrack_user_id_for(const char *uuid, char out[37])
{
	unsigned char buf[16 + FTRACK_UUID_NAME_MAX], md[20];
	size_t len = strnlen(uuid, FTRACK_UUID_NAME_MAX + 1);

	if (len == 0 || len > FTRACK_UUID_NAME_MAX)
		return FT_E_INVAL;
	memcpy(buf, id_namespace, sizeof(id_namespace));
	memcpy(buf + sizeof(id_namespace), uuid, len);
	if (gnutls_hash_fast(GNUTLS_DIG_SHA1, buf, sizeof(id_namespace) + len,
			     md) < 0)
		return FT_E_INTERNAL;
	md[6] = (unsigned char)((md[6] & 0x0f) | 0x50); /* version 5 */
	md[8] = (unsigned char)((md[8] & 0x3f) | 0x80); /* RFC 4122 variant */
	snprintf(out, 37,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
		 "%02x%02x%02x%02x%02x%02x",
		 md[0], md[1], md[2], md[3], md[4], md[5], md[6], md[7], md[8],
		 md[9], md[10], md[11], md[12], md[13], md[14], md[15]);
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
	size_t n0 = b->n;
	char id[37];
	struct bop o;
	int r;

	/* derived from the LDAP uuid: two hosts creating the same person at
	 * once send the same id, and ftrack keeps one (a duplicate key) */
	r = uuid != NULL ? ftrack_user_id_for(uuid, id) : make_uuid4(id);
	if (r == FT_OK)
		r = bop_prepare(b, &o, BOP_CREATE_USER, id, NULL, NULL);
	if (r != FT_OK)
		return r;
	o.wants_active = true; /* a create asks is_active true */
	r = ftrack_ops_create_user(b->ops, id, u);
	r = bop_finish(b, &o, r, NULL);
	if (r == FT_OK && uuid != NULL)
		r = add_marker(b, id, FTRACK_MARKER_UUID, uuid, false, NULL);
	if (r != FT_OK) {
		ftrack_batch_truncate(b, n0);
		return r;
	}
	if (ret_op != NULL)
		*ret_op = n0;
	return FT_OK;
}

int
ftrack_membership_id(const char *user_id, const char *group_id, char out[37])
{
	char name[FTRACK_UUID_NAME_MAX + 1];
	int n;

	if (user_id == NULL || group_id == NULL)
		return FT_E_INVAL;
	n = snprintf(name, sizeof(name), "membership:%s/%s", user_id, group_id);
	if (n < 0 || (size_t)n >= sizeof(name))
		return FT_E_INVAL;
	return ftrack_user_id_for(name, out);
}

int
ftrack_batch_add_membership(struct ftrack_batch *b, const char *user_id,
			    const char *group_id, char *ret_id, size_t *ret_op)
{
	char id[37];
	struct bop o;
	int r = ftrack_membership_id(user_id, group_id, id);

	if (r == FT_OK)
		r = bop_prepare(b, &o, BOP_OTHER, user_id, NULL, NULL);
	if (r != FT_OK)
		return r;
	r = ftrack_ops_create_membership(b->ops, id, user_id, group_id);
	r = bop_finish(b, &o, r, ret_op);
	if (r == FT_OK && ret_id != NULL)
		memcpy(ret_id, id, sizeof(id));
	return r;
}

int
ftrack_batch_delete_membership(struct ftrack_batch *b, const char *user_id,
			       const char *id, size_t *ret_op)
{
	struct bop o;
	int r = bop_prepare(b, &o, BOP_OTHER, user_id, NULL, NULL);

	if (r != FT_OK)
		return r;
	r = ftrack_ops_delete_membership(b->ops, id);
	return bop_finish(b, &o, r, ret_op);
}

int
ftrack_batch_role(struct ftrack_batch *b, int op, const char *user_id,
		  const char *role_id, size_t *ret_op)
{
	struct bop o;
	int r;

	if (op < FTRACK_ROLE_ADD || op > FTRACK_ROLE_REMOVE)
		return FT_E_INVAL;
	r = bop_prepare(b, &o, BOP_OTHER, user_id, NULL, NULL);
	if (r != FT_OK)
		return r;
	r = ftrack_ops_role(b->ops, (enum ftrack_role_op)op, user_id, role_id);
	return bop_finish(b, &o, r, ret_op);
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
	o.wants_active = (fields & FTRACK_F_IS_ACTIVE) && u->is_active;
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

void
ftrack_batch_truncate(struct ftrack_batch *b, size_t n)
{
	if (b->committed)
		return;
	while (b->n > n)
		bop_clear(&b->v[--b->n]);
	ftrack_ops_truncate(b->ops, b->n);
	b->groups = b->n > 0 ? b->v[b->n - 1].group + 1 : 0;
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
	ret->active = b->v[i].active;
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

/*
 * Record what the answers of [first, end) say: the ids ftrack gave the
 * created users, and is_active of the writes that asked for it.
 */
static void
note_answers(struct ftrack_batch *b, size_t first, size_t end,
	     const struct ftrack_reply *rep)
{
	char id[FTRACK_ID_MAX + 1];
	size_t i;

	for (i = first; i < end; i++) {
		bool active;
		char *d;

		if (b->v[i].wants_active &&
		    ftrack_reply_entity_bool(rep, i - first, "is_active",
					     &active) == FT_OK)
			b->v[i].active = active;
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
marker_matches(struct ft_user *u, const char *key, const char *value)
{
	char **have = ftrack_marker_field(u, key);

	return have != NULL && *have != NULL && strcmp(*have, value) == 0;
}

/* True when every create of [first, end) is found in users. */
static bool
creates_found(const struct ftrack_batch *b, size_t first, size_t end,
	      struct ft_user_list *users)
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

/* is_active of the users read back, for the writes of [first, end) that
 * asked for it and do not know yet. */
static void
note_users(struct ftrack_batch *b, size_t first, size_t end,
	   const struct ft_user_list *users)
{
	size_t i, j;

	for (i = first; i < end; i++) {
		struct bop *o = &b->v[i];

		if (!o->wants_active || o->active >= 0)
			continue;
		for (j = 0; j < users->n; j++) {
			if (strcmp(users->v[j].id, o->user_id) == 0) {
				o->active = users->v[j].is_active;
				break;
			}
		}
	}
}

/*
 * A POST sent again answered DuplicateEntryError: was an earlier attempt
 * applied, its answer lost?  Yes when every create of [first, end) exists
 * now: the users by their ids (random, ours), the markers with our
 * values.  Returns FT_OK (applied; is_active of the creates noted),
 * FT_E_DATA (no) or another failure.
 */
static int
check_applied(struct ftrack_client *c, struct ftrack_batch *b, size_t first,
	      size_t end, char *err, size_t errlen)
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
		r = ftrack_users_by_ids(c, ids, n, &users, err, errlen);
	if (r == FT_OK && !creates_found(b, first, end, &users))
		r = FT_E_DATA;
	if (r == FT_OK)
		note_users(b, first, end, &users);
	ft_user_list_clear(&users);
	free(ids);
	return r;
}

/*
 * A first POST answered DuplicateEntryError: did another host create one
 * of its users at the same moment (the ids are derived from the LDAP uuid,
 * so its user has our id)?  True when one exists now.
 */
static bool
created_elsewhere(struct ftrack_client *c, const struct ftrack_batch *b,
		  size_t first, size_t end)
{
	struct ft_user_list users = {NULL, 0, 0};
	const char **ids;
	char why[256];
	size_t i, n = 0;
	bool yes = false;

	if (end <= first)
		return false;
	ids = calloc(end - first, sizeof(*ids));

	for (i = first; ids != NULL && i < end; i++)
		if (b->v[i].kind == BOP_CREATE_USER)
			ids[n++] = b->v[i].user_id;
	if (n > 0 &&
	    ftrack_users_by_ids(c, ids, n, &users, why, sizeof(why)) == FT_OK)
		yes = users.n > 0;
	ft_user_list_clear(&users);
	free(ids);
	return yes;
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

	r = ftrack_call_ops(c, b->ops, first, end - first, &k, &rep, msg,
			    msglen);
	if (r == FT_E_DATA && k.attempts > 1 && is_duplicate(k.exc)) {
		char why[512];
		int v = check_applied(c, b, first, end, why, sizeof(why));
		if (v != FT_E_DATA)
			r = v;
		if (v != FT_E_DATA && v != FT_OK)
			snprintf(msg, msglen, "%s", why);
	}
	/* one group only (a POST of several is then sent group by group) */
	if (r == FT_E_DATA && is_duplicate(k.exc) &&
	    group_end(b, first) >= end && created_elsewhere(c, b, first, end)) {
		/* the loser of a race: read again (it exists now), never a
		 * permanent failure */
		r = FT_E_AGAIN;
		snprintf(msg, msglen,
			 "created at the same moment by another host (the same "
			 "id, derived from the LDAP uuid); read again at the "
			 "next try");
	}
	if (r == FT_OK) {
		if (rep != NULL)
			note_answers(b, first, end, rep);
		mark(b, first, end, FT_OK, NULL, false);
	}
	ftrack_reply_free(rep);
	return r;
}

/* ftrack refused the POST for its data (one record of it, perhaps): the
 * groups are worth sending alone. */
static bool
refused(int r)
{
	return r == FT_E_DATA || r == FT_E_SEAT;
}

/* The worse of two refusals: a data error outweighs a seat refused. */
static int
worse(int worst, int r)
{
	return worst == FT_E_DATA || r == FT_OK ? worst : r;
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
		if (refused(r)) {
			mark(b, g, gend, r, why, false);
			worst = worse(worst, r);
		} else if (r == FT_E_AGAIN) {
			mark(b, g, gend, r, why, false); /* lost a race */
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

	if (!refused(r))
		return r;
	if (group_end(b, first) >= end) {
		mark(b, first, end, r, msg, false);
		return r;
	}
	return isolate(c, b, first, end, msg, msglen);
}

/*
 * The writes that asked for is_active true, landed, and whose answers
 * did not say it: one query for all of them (a failure leaves them -1).
 */
static void
read_back(struct ftrack_client *c, struct ftrack_batch *b)
{
	const char **ids = calloc(b->n + 1, sizeof(*ids));
	struct ft_user_list users = {NULL, 0, 0};
	char err[256];
	size_t i, n = 0;

	for (i = 0; ids != NULL && i < b->n; i++)
		if (b->v[i].wants_active && b->v[i].code == FT_OK &&
		    b->v[i].active < 0)
			ids[n++] = b->v[i].user_id;
	if (n > 0 &&
	    ftrack_users_by_ids(c, ids, n, &users, err, sizeof(err)) == FT_OK)
		note_users(b, 0, b->n, &users);
	ft_user_list_clear(&users);
	free(ids);
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
		if (refused(r)) {
			worst = worse(worst, r);
			continue;
		}
		if (r != FT_OK) {
			/* stopped: what landed is not read back either (the
			 * caller retries those people, and sees then) */
			mark(b, i, b->n, r, msg, true);
			return r;
		}
	}
	read_back(c, b);
	return worst;
}
