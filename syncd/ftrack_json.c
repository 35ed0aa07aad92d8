/* SPDX-License-Identifier: Apache-2.0 */
/* ftrack_json.c: ftrack query quoting and operations as JSON (jansson). */
#include "ftrack_json.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "ft_err.h"
#include "ft_util.h"

struct ftrack_ops {
	json_t *ops; /* array of operation objects */
};

/* ---- quoting ------------------------------------------------------------ */

int
ftrack_quote(const char *in, char *out, size_t cap)
{
	size_t len = strlen(in), o = 0, i;

	if (!ft_utf8_valid(in, len))
		return FT_E_INVAL;
	if (cap < 3)
		return FT_E_TOOBIG;
	out[o++] = '"';
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];

		bool esc = c == '\\' || c == '"' || c == '\'';

		if (c < 0x20 || c == 0x7f)
			return FT_E_INVAL;
		/* this byte (and its backslash), the closing '"' and NUL */
		if (o + (esc ? 2 : 1) + 2 > cap)
			return FT_E_TOOBIG;
		if (esc)
			out[o++] = '\\';
		out[o++] = (char)c;
	}
	out[o++] = '"';
	out[o] = '\0';
	return FT_OK;
}

/* A growable string for expressions, bounded by FTRACK_EXPR_MAX. */
struct sbuf {
	char *p;
	size_t len;
	size_t cap;
};

static int
sb_add(struct sbuf *sb, const char *s, size_t n)
{
	int r;

	if (n > FTRACK_EXPR_MAX - sb->len)
		return FT_E_TOOBIG;
	r = array_grow(&sb->p, &sb->cap, sb->len + n + 1, 1, 256, 0);
	if (r < 0)
		return r;
	memcpy(sb->p + sb->len, s, n);
	sb->len += n;
	sb->p[sb->len] = '\0';
	return FT_OK;
}

static int
sb_add_quoted(struct sbuf *sb, const char *v)
{
	size_t cap = 2 * strlen(v) + 3;
	char *q = malloc(cap);
	int r;

	if (q == NULL)
		return FT_E_NOMEM;
	r = ftrack_quote(v, q, cap);
	if (r == FT_OK)
		r = sb_add(sb, q, strlen(q));
	free(q);
	return r;
}

int
ftrack_expr_in(const char *head, const char *const values[], size_t n,
	       const char *tail, char **ret)
{
	struct sbuf sb = {NULL, 0, 0};
	size_t i;
	int r;

	if (n == 0 || head == NULL || tail == NULL)
		return FT_E_INVAL;
	r = sb_add(&sb, head, strlen(head));
	if (r == FT_OK)
		r = sb_add(&sb, " (", 2);
	for (i = 0; i < n && r == FT_OK; i++) {
		if (i > 0)
			r = sb_add(&sb, ", ", 2);
		if (r == FT_OK)
			r = values[i] ? sb_add_quoted(&sb, values[i])
				      : FT_E_INVAL;
	}
	if (r == FT_OK)
		r = sb_add(&sb, ")", 1);
	if (r == FT_OK)
		r = sb_add(&sb, tail, strlen(tail));
	if (r != FT_OK) {
		free(sb.p);
		return r;
	}
	*ret = sb.p;
	return FT_OK;
}

/* ---- building operations ------------------------------------------------ */

struct ftrack_ops *
ftrack_ops_new(void)
{
	struct ftrack_ops *ops = calloc(1, sizeof(*ops));

	if (ops == NULL)
		return NULL;
	ops->ops = json_array();
	if (ops->ops == NULL) {
		free(ops);
		return NULL;
	}
	return ops;
}

void
ftrack_ops_free(struct ftrack_ops *ops)
{
	if (ops == NULL)
		return;
	json_decref(ops->ops);
	free(ops);
}

size_t
ftrack_ops_count(const struct ftrack_ops *ops)
{
	return json_array_size(ops->ops);
}

void
ftrack_ops_truncate(struct ftrack_ops *ops, size_t n)
{
	size_t total = json_array_size(ops->ops);

	while (total > n)
		json_array_remove(ops->ops, --total);
}

/* A new JSON string, or NULL; *r says why (FT_E_INVAL or FT_E_NOMEM). */
static json_t *
jstr(const char *s, int *r)
{
	json_t *j;

	if (s == NULL || !ft_utf8_valid(s, strlen(s))) {
		*r = FT_E_INVAL;
		return NULL;
	}
	j = json_string(s);
	if (j == NULL)
		*r = FT_E_NOMEM;
	return j;
}

/* Set o[k] to the string s, or null when s is NULL and nullable. */
static int
set_str(json_t *o, const char *k, const char *s, bool nullable)
{
	int r = FT_OK;
	json_t *j = (s == NULL && nullable) ? json_null() : jstr(s, &r);

	if (j == NULL)
		return r;
	return json_object_set_new(o, k, j) == 0 ? FT_OK : FT_E_NOMEM;
}

/* Append the string s to array a. */
static int
append_str(json_t *a, const char *s)
{
	int r = FT_OK;
	json_t *j = jstr(s, &r);

	if (j == NULL)
		return r;
	return json_array_append_new(a, j) == 0 ? FT_OK : FT_E_NOMEM;
}

/* A new entity_key array of one or two strings (b may be NULL). */
static json_t *
entity_key(const char *a, const char *b, int *r)
{
	json_t *k = json_array();

	*r = k != NULL ? append_str(k, a) : FT_E_NOMEM;
	if (*r == FT_OK && b != NULL)
		*r = append_str(k, b);
	if (*r != FT_OK) {
		json_decref(k);
		return NULL;
	}
	return k;
}

/*
 * Append {"action": action, "entity_type": type, ["entity_key": key,]
 * ["entity_data": data]}, stealing key and data (either may be NULL).
 */
static int
add_entity_op(struct ftrack_ops *ops, const char *action, const char *type,
	      json_t *key, json_t *data)
{
	json_t *op =
		json_pack("{s:s, s:s}", "action", action, "entity_type", type);
	int r = FT_E_NOMEM;

	if (op == NULL)
		goto out;
	if (key != NULL && json_object_set(op, "entity_key", key) != 0)
		goto out;
	if (data != NULL && json_object_set(op, "entity_data", data) != 0)
		goto out;
	if (json_array_append(ops->ops, op) != 0)
		goto out;
	r = FT_OK;
out:
	json_decref(op);
	json_decref(key);
	json_decref(data);
	return r;
}

int
ftrack_ops_server_info(struct ftrack_ops *ops)
{
	json_t *op = json_pack("{s:s}", "action", "query_server_information");

	if (op == NULL)
		return FT_E_NOMEM;
	return json_array_append_new(ops->ops, op) == 0 ? FT_OK : FT_E_NOMEM;
}

int
ftrack_ops_query(struct ftrack_ops *ops, const char *expr)
{
	json_t *op = json_pack("{s:s}", "action", "query");
	int r;

	if (op == NULL)
		return FT_E_NOMEM;
	r = set_str(op, "expression", expr, false);
	if (r == FT_OK && json_array_append(ops->ops, op) != 0)
		r = FT_E_NOMEM;
	json_decref(op);
	return r;
}

int
ftrack_ops_query_page(struct ftrack_ops *ops, const char *expr,
		      unsigned long long offset, unsigned limit)
{
	char tail[64];
	struct sbuf sb = {NULL, 0, 0};
	int n, r;

	if (expr == NULL)
		return FT_E_INVAL;
	n = snprintf(tail, sizeof(tail), " offset %llu limit %u", offset,
		     limit);
	if (n < 0 || (size_t)n >= sizeof(tail))
		return FT_E_INTERNAL;
	r = sb_add(&sb, expr, strlen(expr));
	if (r == FT_OK)
		r = sb_add(&sb, tail, (size_t)n);
	if (r == FT_OK)
		r = ftrack_ops_query(ops, sb.p);
	free(sb.p);
	return r;
}

/* The entity_data object {"__entity_type__": type}, or NULL on OOM. */
static json_t *
entity_data(const char *type)
{
	return json_pack("{s:s}", "__entity_type__", type);
}

int
ftrack_ops_create_user(struct ftrack_ops *ops, const char *id,
		       const struct ft_user *u)
{
	json_t *data = entity_data("User"), *key = NULL;
	int r = FT_E_NOMEM;

	if (data == NULL)
		return FT_E_NOMEM;
	r = u->username != NULL ? FT_OK : FT_E_INVAL;
	if (r == FT_OK)
		r = set_str(data, "id", id, false);
	if (r == FT_OK)
		r = set_str(data, "username", u->username, false);
	if (r == FT_OK && u->first_name != NULL)
		r = set_str(data, "first_name", u->first_name, false);
	if (r == FT_OK && u->last_name != NULL)
		r = set_str(data, "last_name", u->last_name, false);
	if (r == FT_OK && u->email != NULL)
		r = set_str(data, "email", u->email, false);
	if (r == FT_OK &&
	    json_object_set_new(data, "is_active", json_true()) != 0)
		r = FT_E_NOMEM;
	if (r == FT_OK)
		key = entity_key(id, NULL, &r);
	if (r != FT_OK) {
		json_decref(data);
		return r;
	}
	return add_entity_op(ops, "create", "User", key, data);
}

/* Set the attributes of u named in fields on data. */
static int
set_user_fields(json_t *data, const struct ft_user *u, unsigned fields)
{
	int r = FT_OK;

	if (fields & FTRACK_F_USERNAME)
		r = set_str(data, "username", u->username, false);
	if (r == FT_OK && (fields & FTRACK_F_EMAIL))
		r = set_str(data, "email", u->email, true);
	if (r == FT_OK && (fields & FTRACK_F_FIRST_NAME))
		r = set_str(data, "first_name", u->first_name, true);
	if (r == FT_OK && (fields & FTRACK_F_LAST_NAME))
		r = set_str(data, "last_name", u->last_name, true);
	if (r == FT_OK && (fields & FTRACK_F_IS_ACTIVE) &&
	    json_object_set_new(data, "is_active",
				json_boolean(u->is_active)) != 0)
		r = FT_E_NOMEM;
	return r;
}

int
ftrack_ops_update_user(struct ftrack_ops *ops, const char *id,
		       const struct ft_user *u, unsigned fields)
{
	const unsigned all = FTRACK_F_USERNAME | FTRACK_F_EMAIL |
			     FTRACK_F_FIRST_NAME | FTRACK_F_LAST_NAME |
			     FTRACK_F_IS_ACTIVE;
	json_t *data, *key;
	int r;

	if (fields == 0 || (fields & ~all) != 0)
		return FT_E_INVAL;
	key = entity_key(id, NULL, &r);
	if (key == NULL)
		return r;
	data = entity_data("User");
	r = data != NULL ? set_user_fields(data, u, fields) : FT_E_NOMEM;
	if (r != FT_OK) {
		json_decref(key);
		json_decref(data);
		return r;
	}
	return add_entity_op(ops, "update", "User", key, data);
}

int
ftrack_ops_delete_user(struct ftrack_ops *ops, const char *id)
{
	int r;
	json_t *key = entity_key(id, NULL, &r);

	if (key == NULL)
		return r;
	return add_entity_op(ops, "delete", "User", key, NULL);
}

int
ftrack_ops_create_marker(struct ftrack_ops *ops, const char *user_id,
			 const char *key, const char *value)
{
	json_t *data = entity_data("Metadata");
	int r;

	if (data == NULL)
		return FT_E_NOMEM;
	r = set_str(data, "parent_type", "User", false);
	if (r == FT_OK)
		r = set_str(data, "parent_id", user_id, false);
	if (r == FT_OK)
		r = set_str(data, "key", key, false);
	if (r == FT_OK)
		r = set_str(data, "value", value, false);
	if (r != FT_OK) {
		json_decref(data);
		return r;
	}
	/* JS-style: no entity_key; the primary key is in entity_data. */
	return add_entity_op(ops, "create", "Metadata", NULL, data);
}

/*
 * XXX: entity_key order follows the Metadata primary key (parent_id, key)
 * as the JS schema fixture lists it.
 */
int
ftrack_ops_update_marker(struct ftrack_ops *ops, const char *user_id,
			 const char *key, const char *value)
{
	json_t *data, *k;
	int r;

	k = entity_key(user_id, key, &r);
	if (k == NULL)
		return r;
	data = entity_data("Metadata");
	r = data != NULL ? set_str(data, "value", value, false) : FT_E_NOMEM;
	if (r != FT_OK) {
		json_decref(k);
		json_decref(data);
		return r;
	}
	return add_entity_op(ops, "update", "Metadata", k, data);
}

int
ftrack_ops_delete_marker(struct ftrack_ops *ops, const char *user_id,
			 const char *key)
{
	int r;
	json_t *k;

	if (key == NULL)
		return FT_E_INVAL;
	k = entity_key(user_id, key, &r);
	if (k == NULL)
		return r;
	return add_entity_op(ops, "delete", "Metadata", k, NULL);
}

int
ftrack_ops_create_membership(struct ftrack_ops *ops, const char *id,
			     const char *user_id, const char *group_id)
{
	json_t *data = entity_data("Membership"), *key = NULL;
	int r;

	if (data == NULL)
		return FT_E_NOMEM;
	r = set_str(data, "id", id, false);
	if (r == FT_OK)
		r = set_str(data, "user_id", user_id, false);
	if (r == FT_OK)
		r = set_str(data, "group_id", group_id, false);
	if (r == FT_OK)
		key = entity_key(id, NULL, &r);
	if (r != FT_OK) {
		json_decref(data);
		return r;
	}
	return add_entity_op(ops, "create", "Membership", key, data);
}

int
ftrack_ops_delete_membership(struct ftrack_ops *ops, const char *id)
{
	int r;
	json_t *k = entity_key(id, NULL, &r);

	if (k == NULL)
		return r;
	return add_entity_op(ops, "delete", "Membership", k, NULL);
}

int
ftrack_ops_role(struct ftrack_ops *ops, enum ftrack_role_op op,
		const char *user_id, const char *role_id)
{
	static const char *const actions[] = {
		"add_user_security_role", "grant_user_security_role_project",
		"revoke_user_security_role_project",
		"remove_user_security_role"};
	json_t *o;
	int r;

	if ((unsigned)op >= sizeof(actions) / sizeof(actions[0]))
		return FT_E_INVAL;
	o = json_pack("{s:s}", "action", actions[op]);
	if (o == NULL)
		return FT_E_NOMEM;
	r = set_str(o, "user_id", user_id, false);
	if (r == FT_OK)
		r = set_str(o, "role_id", role_id, false);
	if (r == FT_OK &&
	    (op == FTRACK_ROLE_GRANT_ALL_OPEN ||
	     op == FTRACK_ROLE_REVOKE_ALL_OPEN) &&
	    json_object_set_new(o, "all_open_projects", json_true()) != 0)
		r = FT_E_NOMEM;
	if (r == FT_OK && json_array_append(ops->ops, o) != 0)
		r = FT_E_NOMEM;
	json_decref(o);
	return r;
}

int
ftrack_ops_dump(const struct ftrack_ops *ops, size_t first, size_t n,
		char **ret_body, size_t *ret_len)
{
	size_t total = json_array_size(ops->ops), i;
	json_t *slice;
	char *s;

	if (first > total || n > total - first)
		return FT_E_INVAL;
	slice = json_array();
	if (slice == NULL)
		return FT_E_NOMEM;
	for (i = first; i < first + n; i++) {
		if (json_array_append(slice, json_array_get(ops->ops, i)) !=
		    0) {
			json_decref(slice);
			return FT_E_NOMEM;
		}
	}
	s = json_dumps(slice, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(slice);
	if (s == NULL)
		return FT_E_NOMEM;
	*ret_len = strlen(s);
	*ret_body = s;
	return FT_OK;
}
