/* SPDX-License-Identifier: Apache-2.0 */
/* ftrack_reply.c: ftrack replies, classified and decoded (jansson). */
#include "ftrack_json.h"

#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "array.h"
#include "ft_err.h"
#include "ft_util.h"

struct ftrack_reply {
	json_t *root; /* the result array */
};

/* ---- classifying replies ------------------------------------------------ */

/*
 * Copy s into out (capacity cap) as it is, cut after a whole character
 * (a byte that is not UTF-8 counts as one).  The server's text is not
 * cleaned here: whatever shows it, the log or a command's output, passes
 * it through the one cleaner (ft_clean.h), which escapes every control
 * and bidi character visibly; cleaning here as well would escape it twice.
 */
static void
copy_text(char *out, size_t cap, const char *s)
{
	size_t len = strlen(s), i = 0;

	if (cap == 0)
		return;
	while (i < len) {
		size_t n = ft_utf8_next(s + i, len - i, NULL);

		if (n == 0)
			n = 1;
		if (i + n > cap - 1)
			break;
		i += n;
	}
	memcpy(out, s, i);
	out[i] = '\0';
}

/* Write "<prefix><s>" into err, truncated. */
static void
set_err(char *err, size_t errlen, const char *prefix, const char *s)
{
	char tmp[1024];
	int n = snprintf(tmp, sizeof(tmp), "%s%s", prefix, s);

	if (n < 0)
		tmp[0] = '\0';
	copy_text(err, errlen, tmp); /* a truncated message is fine */
}

static bool
name_in(const char *name, const char *const list[], size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(name, list[i]) == 0)
			return true;
	return false;
}

/* Does s hold "licen" (any case), ending a word there when word is set:
 * "licence", "license", "licences" but not "licensed"? */
static bool
says_licence(const char *s, bool word)
{
	const char *p;

	for (p = s; *p != '\0'; p++) {
		const char *e = p + 7; /* after "licence" or "license" */

		if (strncasecmp(p, "licen", 5) != 0)
			continue;
		if (!word)
			return true;
		if (strchr("cCsS", p[5]) == NULL || p[5] == '\0' ||
		    tolower((unsigned char)p[6]) != 'e')
			continue;
		if (tolower((unsigned char)*e) == 's')
			e++;
		if (!isalpha((unsigned char)*e))
			return true;
	}
	return false;
}

/*
 * The FT_E_* code of an ftrack exception class (ftrack-api.md 7, 10).
 * XXX: what a server answers when the licence has no seat for a write
 * asking is_active true is unknown (ftrack-api.md 5: it may keep the user
 * inactive silently); an exception whose class names a licence, or whose
 * text has the word licence/license, is taken for that: FT_E_SEAT.
 */
static int
exception_code(const char *exc, const char *content, long status)
{
	static const char *const auth[] = {"InvalidCredentialsError",
					   "FTAuthenticationError",
					   "PermissionError"};
	static const char *const data[] = {"ValidationError", "ParseError",
					   "DuplicateEntryError",
					   "IntegrityError", "ValueError"};

	if (says_licence(exc, false) || says_licence(content, true))
		return FT_E_SEAT;
	if (name_in(exc, auth, sizeof(auth) / sizeof(auth[0])))
		return FT_E_AUTH;
	if (name_in(exc, data, sizeof(data) / sizeof(data[0])))
		return FT_E_DATA;
	return status >= 500 ? FT_E_HTTP : FT_E_DATA;
}

static bool
status_busy(long status)
{
	return status == 429 || status == 502 || status == 503 || status == 504;
}

/* Classify an error object (not a successful array). */
static int
classify_error(const json_t *root, long status, char *exc, size_t exclen,
	       char *err, size_t errlen)
{
	const json_t *e = json_object_get(root, "exception");
	const json_t *c = json_object_get(root, "content");
	const char *content = json_is_string(c) ? json_string_value(c) : "";
	char prefix[FTRACK_EXC_MAX + 16];

	if (json_is_string(e)) {
		if (exc != NULL)
			copy_text(exc, exclen, json_string_value(e));
		snprintf(prefix, sizeof(prefix), "%.*s: ", FTRACK_EXC_MAX,
			 json_string_value(e));
		set_err(err, errlen, prefix, content);
		if (status_busy(status))
			return FT_E_HTTP;
		return exception_code(json_string_value(e), content, status);
	}
	snprintf(prefix, sizeof(prefix), "HTTP %ld", status);
	if (status_busy(status)) {
		set_err(err, errlen, prefix, "");
		return FT_E_HTTP;
	}
	if (json_is_object(root) && json_object_get(root, "detail") != NULL) {
		set_err(err, errlen, prefix, ": validation error (detail)");
		return FT_E_DATA;
	}
	set_err(err, errlen, prefix, ": unexpected response shape");
	return FT_E_MALFORMED;
}

/* Describe a body that is not JSON at all. */
static int
classify_invalid(const char *body, size_t len, long status, char *err,
		 size_t errlen)
{
	char head[81];
	char prefix[64];

	snprintf(head, sizeof(head), "%.*s", (int)(len < 80 ? len : 80), body);
	snprintf(prefix, sizeof(prefix), "HTTP %ld: ", status);
	if (status_busy(status)) {
		set_err(err, errlen, prefix, "server busy");
		return FT_E_HTTP;
	}
	set_err(err, errlen, prefix,
		len == 0 ? "empty response" : "response is not JSON: ");
	if (len > 0) {
		size_t used = strlen(err);

		copy_text(err + used, errlen - used, head);
	}
	return FT_E_MALFORMED;
}

/* The JSON structure of body, counted outside strings (ftrack_json.h). */
struct shape {
	size_t values;     /* [ { , : */
	size_t containers; /* [ { */
};

static void
count_shape(const char *body, size_t len, struct shape *sh)
{
	bool in_str = false;
	size_t i;

	sh->values = 0;
	sh->containers = 0;
	for (i = 0; i < len; i++) {
		char c = body[i];

		if (in_str) {
			if (c == '\\')
				i++; /* the escaped character */
			else if (c == '"')
				in_str = false;
			continue;
		}
		in_str = c == '"';
		if (c == '[' || c == '{')
			sh->containers++;
		if (c == '[' || c == '{' || c == ',' || c == ':')
			sh->values++;
	}
}

/*
 * FT_E_TOOBIG, said in err, when body is an array or object over the
 * bounds; anything else (a scalar, HTML, nothing) builds no tree to speak
 * of and is left to the parser to classify.
 */
static int
check_shape(const char *body, size_t len, char *err, size_t errlen)
{
	struct shape sh;
	size_t i = 0;
	char msg[160];

	while (i < len && (body[i] == ' ' || body[i] == '\t' ||
			   body[i] == '\r' || body[i] == '\n'))
		i++;
	if (i == len || (body[i] != '[' && body[i] != '{'))
		return FT_OK;
	count_shape(body + i, len - i, &sh);
	if (sh.values <= FTRACK_REPLY_VALUES_MAX &&
	    sh.containers <= FTRACK_REPLY_CONTAINERS_MAX)
		return FT_OK;
	snprintf(
		msg, sizeof(msg),
		"answer of more than %zu JSON values or %zu objects and arrays (%zu, %zu), refused before parsing",
		FTRACK_REPLY_VALUES_MAX, FTRACK_REPLY_CONTAINERS_MAX, sh.values,
		sh.containers);
	set_err(err, errlen, "", msg);
	return FT_E_TOOBIG;
}

int
ftrack_reply_parse(const char *body, size_t len, long status, size_t nops,
		   struct ftrack_reply **ret, char *exc, size_t exclen,
		   char *err, size_t errlen)
{
	struct ftrack_reply *rep;
	json_error_t jerr;
	json_t *root;
	char dummy[1];
	int r;

	if (err == NULL || errlen == 0) {
		err = dummy;
		errlen = sizeof(dummy);
	}
	copy_text(exc, exc != NULL ? exclen : 0, "");
	r = check_shape(body, len, err, errlen);
	if (r != FT_OK)
		return r;
	root = json_loadb(body, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY,
			  &jerr);
	if (root == NULL)
		return classify_invalid(body, len, status, err, errlen);
	if (json_is_array(root) && json_array_size(root) == nops) {
		rep = malloc(sizeof(*rep));
		if (rep == NULL) {
			json_decref(root);
			return FT_E_NOMEM;
		}
		rep->root = root;
		*ret = rep;
		return FT_OK;
	}
	if (json_is_array(root) && !status_busy(status)) {
		char msg[96];

		snprintf(msg, sizeof(msg),
			 "HTTP %ld: %zu results for %zu operations", status,
			 json_array_size(root), nops);
		set_err(err, errlen, "", msg);
		r = FT_E_MALFORMED;
	} else {
		r = classify_error(root, status, exc, exclen, err, errlen);
	}
	json_decref(root);
	return r;
}

void
ftrack_reply_free(struct ftrack_reply *r)
{
	if (r == NULL)
		return;
	json_decref(r->root);
	free(r);
}

/* ---- decoding results --------------------------------------------------- */

int
ftrack_reply_server_version(const struct ftrack_reply *r, size_t i, char *out,
			    size_t cap)
{
	const json_t *v =
		json_object_get(json_array_get(r->root, i), "version");
	int n;

	if (!json_is_string(v))
		return FT_E_MALFORMED;
	n = snprintf(out, cap, "%s", json_string_value(v));
	if (n < 0 || (size_t)n >= cap)
		return FT_E_TOOBIG;
	return FT_OK;
}

/* The `data` array of query result i, or NULL when it has none. */
static const json_t *
query_data(const struct ftrack_reply *r, size_t i)
{
	const json_t *d = json_object_get(json_array_get(r->root, i), "data");

	if (!json_is_array(d) || json_array_size(d) > FTRACK_PAGE_MAX)
		return NULL;
	return d;
}

/*
 * Copy the string attribute k of o into *ret: NULL when missing or null.
 * FT_E_MALFORMED when it is another type or longer than max.
 */
static int
get_str(const json_t *o, const char *k, size_t max, char **ret)
{
	const json_t *v = json_object_get(o, k);

	*ret = NULL;
	if (v == NULL || json_is_null(v))
		return FT_OK;
	if (!json_is_string(v) || json_string_length(v) > max ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return FT_E_MALFORMED;
	*ret = strdup(json_string_value(v));
	return *ret != NULL ? FT_OK : FT_E_NOMEM;
}

static bool
entity_type_is(const json_t *o, const char *type)
{
	const json_t *t = json_object_get(o, "__entity_type__");

	return json_is_string(t) && strcmp(json_string_value(t), type) == 0;
}

/* Decode one User record; FT_E_NOTFOUND for a reference stub. */
static int
decode_user(const json_t *o, struct ft_user *u)
{
	const json_t *act = json_object_get(o, "is_active");
	int r;

	memset(u, 0, sizeof(*u));
	if (!json_is_object(o) || !entity_type_is(o, "User"))
		return FT_E_MALFORMED;
	if (json_object_get(o, "username") == NULL)
		return FT_E_NOTFOUND;
	if (act != NULL && !json_is_null(act) && !json_is_boolean(act))
		return FT_E_MALFORMED;
	u->is_active = json_is_true(act);
	r = get_str(o, "id", FTRACK_ID_MAX, &u->id);
	if (r == FT_OK && u->id == NULL)
		r = FT_E_MALFORMED;
	if (r == FT_OK)
		r = get_str(o, "username", FTRACK_STR_MAX, &u->username);
	if (r == FT_OK && u->username == NULL)
		r = FT_E_MALFORMED;
	if (r == FT_OK)
		r = get_str(o, "email", FTRACK_STR_MAX, &u->email);
	if (r == FT_OK)
		r = get_str(o, "first_name", FTRACK_STR_MAX, &u->first_name);
	if (r == FT_OK)
		r = get_str(o, "last_name", FTRACK_STR_MAX, &u->last_name);
	if (r != FT_OK)
		ft_user_clear(u);
	return r;
}

/*
 * How the records of one kind are decoded into a list: take() decodes o
 * and appends it (FT_E_NOTFOUND: a record to pass over), count() is the
 * list's length, truncate() drops what was appended after n0.
 */
struct record_kind {
	int (*take)(const json_t *o, void *list);
	size_t (*count)(const void *list);
	void (*truncate)(void *list, size_t n0);
};

/* The one decode loop: every record of query i, all or none appended. */
static int
decode_records(const struct ftrack_reply *r, size_t i,
	       const struct record_kind *kind, void *list, size_t *ret_count)
{
	const json_t *data = query_data(r, i);
	size_t n0, k;
	int rc = FT_OK;

	if (data == NULL)
		return FT_E_MALFORMED;
	n0 = kind->count(list);
	for (k = 0; k < json_array_size(data) && rc == FT_OK; k++) {
		rc = kind->take(json_array_get(data, k), list);
		if (rc == FT_E_NOTFOUND)
			rc = FT_OK;
	}
	if (rc != FT_OK) {
		kind->truncate(list, n0);
		return rc;
	}
	if (ret_count != NULL)
		*ret_count = kind->count(list) - n0;
	return FT_OK;
}

static int
take_user(const json_t *o, void *list)
{
	struct ft_user u;
	int rc = decode_user(o, &u);

	if (rc == FT_OK)
		rc = ft_user_list_push(list, &u);
	ft_user_clear(&u);
	return rc;
}

static size_t
users_count(const void *list)
{
	return ((const struct ft_user_list *)list)->n;
}

static void
users_truncate(void *list, size_t n0)
{
	struct ft_user_list *l = list;

	while (l->n > n0)
		ft_user_clear(&l->v[--l->n]);
}

int
ftrack_reply_users(const struct ftrack_reply *r, size_t i,
		   struct ft_user_list *list, size_t *ret_count)
{
	static const struct record_kind users = {take_user, users_count,
						 users_truncate};

	return decode_records(r, i, &users, list, ret_count);
}

void
ftrack_marker_list_clear(struct ftrack_marker_list *list)
{
	size_t i;

	for (i = 0; i < list->n; i++) {
		free(list->v[i].parent_id);
		free(list->v[i].key);
		free(list->v[i].value);
	}
	free(list->v);
	memset(list, 0, sizeof(*list));
}

static int
marker_push(struct ftrack_marker_list *list, struct ftrack_marker *m)
{
	int r = array_grow(&list->v, &list->cap, list->n + 1, sizeof(*list->v),
			   64, 0);

	if (r < 0)
		return r;
	list->v[list->n++] = *m;
	memset(m, 0, sizeof(*m));
	return FT_OK;
}

static void
marker_clear(struct ftrack_marker *m)
{
	free(m->parent_id);
	free(m->key);
	free(m->value);
	memset(m, 0, sizeof(*m));
}

/* Decode one Metadata record; FT_E_NOTFOUND when it has no value. */
static int
decode_marker(const json_t *o, struct ftrack_marker *m)
{
	int r;

	memset(m, 0, sizeof(*m));
	if (!json_is_object(o) || !entity_type_is(o, "Metadata"))
		return FT_E_MALFORMED;
	r = get_str(o, "parent_id", FTRACK_ID_MAX, &m->parent_id);
	if (r == FT_OK)
		r = get_str(o, "key", FTRACK_STR_MAX, &m->key);
	if (r == FT_OK && (m->parent_id == NULL || m->key == NULL))
		r = FT_E_MALFORMED;
	if (r == FT_OK)
		r = get_str(o, "value", FTRACK_STR_MAX, &m->value);
	if (r == FT_OK && m->value == NULL)
		r = FT_E_NOTFOUND;
	if (r != FT_OK)
		marker_clear(m);
	return r;
}

static int
take_marker(const json_t *o, void *list)
{
	struct ftrack_marker m;
	int rc = decode_marker(o, &m);

	if (rc == FT_OK)
		rc = marker_push(list, &m);
	marker_clear(&m);
	return rc;
}

static size_t
markers_count(const void *list)
{
	return ((const struct ftrack_marker_list *)list)->n;
}

static void
markers_truncate(void *list, size_t n0)
{
	struct ftrack_marker_list *l = list;

	while (l->n > n0)
		marker_clear(&l->v[--l->n]);
}

int
ftrack_reply_markers(const struct ftrack_reply *r, size_t i,
		     struct ftrack_marker_list *list, size_t *ret_count)
{
	static const struct record_kind markers = {take_marker, markers_count,
						   markers_truncate};

	return decode_records(r, i, &markers, list, ret_count);
}

/* ---- records of any type as strings ------------------------------------ */

void
ftrack_rows_clear(struct ftrack_rows *rows)
{
	size_t i;

	for (i = 0; i < rows->n * rows->nf; i++)
		free(rows->v[i]);
	free(rows->v);
	rows->v = NULL;
	rows->n = rows->cap = 0;
}

const char *
ftrack_rows_get(const struct ftrack_rows *rows, size_t k, size_t f)
{
	return k < rows->n && f < rows->nf ? rows->v[k * rows->nf + f] : NULL;
}

/* One field of o as text into *ret (NULL: missing or null). */
static int
field_text(const json_t *o, const char *k, char **ret)
{
	const json_t *v = json_object_get(o, k);
	char num[32];

	*ret = NULL;
	if (json_is_boolean(v))
		*ret = strdup(json_is_true(v) ? "true" : "false");
	else if (json_is_integer(v))
		(void)snprintf(num, sizeof(num), "%lld",
			       (long long)json_integer_value(v));
	else
		return get_str(o, k, FTRACK_STR_MAX, ret);
	if (json_is_integer(v))
		*ret = strdup(num);
	return *ret != NULL ? FT_OK : FT_E_NOMEM;
}

static int
take_row(const json_t *o, void *list)
{
	struct ftrack_rows *rows = list;
	size_t f, base;
	int rc;

	if (!json_is_object(o) || !entity_type_is(o, rows->type))
		return FT_E_MALFORMED;
	/* cap counts values (rows times fields) */
	rc = array_grow(&rows->v, &rows->cap, (rows->n + 1) * rows->nf,
			sizeof(*rows->v), 64, 0);
	if (rc < 0)
		return rc;
	base = rows->n * rows->nf;
	for (f = 0; f < rows->nf && rc == FT_OK; f++)
		rc = field_text(o, rows->fields[f], &rows->v[base + f]);
	if (rc == FT_OK && rows->v[base] == NULL)
		rc = FT_E_MALFORMED;
	if (rc == FT_OK) {
		rows->n++;
		return FT_OK;
	}
	for (f = 0; f < rows->nf; f++) {
		free(rows->v[base + f]);
		rows->v[base + f] = NULL;
	}
	return rc;
}

static size_t
rows_count(const void *list)
{
	return ((const struct ftrack_rows *)list)->n;
}

static void
rows_truncate(void *list, size_t n0)
{
	struct ftrack_rows *rows = list;
	size_t i;

	for (i = n0 * rows->nf; i < rows->n * rows->nf; i++) {
		free(rows->v[i]);
		rows->v[i] = NULL;
	}
	rows->n = n0;
}

int
ftrack_reply_rows(const struct ftrack_reply *r, size_t i,
		  struct ftrack_rows *rows, size_t *ret_count)
{
	static const struct record_kind kind = {take_row, rows_count,
						rows_truncate};

	if (rows->nf == 0 || rows->type == NULL || rows->fields == NULL)
		return FT_E_INVAL;
	return decode_records(r, i, &kind, rows, ret_count);
}

size_t
ftrack_reply_data_len(const struct ftrack_reply *r, size_t i)
{
	const json_t *d = json_object_get(json_array_get(r->root, i), "data");

	return json_array_size(d);
}

int
ftrack_reply_next(const struct ftrack_reply *r, size_t i, long long *ret)
{
	const json_t *res = json_array_get(r->root, i);
	const json_t *meta = json_object_get(res, "metadata");
	const json_t *next = json_object_get(meta, "next");
	const json_t *off = json_object_get(next, "offset");

	if (!json_is_object(res))
		return FT_E_MALFORMED;
	if (off == NULL || json_is_null(off)) {
		*ret = -1;
		return FT_OK;
	}
	if (!json_is_integer(off) || json_integer_value(off) < 0)
		return FT_E_MALFORMED;
	*ret = (long long)json_integer_value(off);
	return FT_OK;
}

int
ftrack_reply_entity_id(const struct ftrack_reply *r, size_t i, char *out,
		       size_t cap)
{
	const json_t *d = json_object_get(json_array_get(r->root, i), "data");
	const json_t *id = json_object_get(d, "id");
	int n;

	if (!json_is_string(id))
		return FT_E_MALFORMED;
	n = snprintf(out, cap, "%s", json_string_value(id));
	if (n < 0 || (size_t)n >= cap)
		return FT_E_TOOBIG;
	return FT_OK;
}

int
ftrack_reply_entity_bool(const struct ftrack_reply *r, size_t i,
			 const char *name, bool *ret)
{
	const json_t *d = json_object_get(json_array_get(r->root, i), "data");
	const json_t *v = json_object_get(d, name);

	if (v == NULL || json_is_null(v))
		return FT_E_NOTFOUND;
	if (!json_is_boolean(v))
		return FT_E_MALFORMED;
	*ret = json_is_true(v);
	return FT_OK;
}
