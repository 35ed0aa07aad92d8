/* SPDX-License-Identifier: Apache-2.0 */
/* transform.c: the transform program: requests, answers, the window. */
#include "transform.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "extprog.h"
#include "ft_err.h"
#include "ft_util.h"
#include "timing.h"

#define SHOW_MAX 80 /* bytes of a bad answer quoted in a reason */

/* Requests waiting to be written: one write for many. */
struct batch {
	char *p;
	size_t len, cap;
};

struct transform {
	const struct config *cfg;
	const char *socket_path;
	struct extprog *prog;
	unsigned long long next_id;
	struct transform_stats st;
	char *line; /* TRANSFORM_LINE_MAX + 1 */
	/* kept from batch to batch: freeing a large block makes glibc's
	 * malloc consolidate its small ones, costly amid 100,000 users */
	struct batch out;
};

/* One run: the items and the window of unanswered requests. */
struct window {
	struct transform_item *items;
	size_t n;
	size_t next;                   /* the next item to send */
	size_t pend[TRANSFORM_WINDOW]; /* unanswered items, a ring */
	unsigned long long id[TRANSFORM_WINDOW];
	size_t head, count;
	uint64_t last_ms; /* the previous answer (or the first request) */
};

bool
transform_configured(const struct config *cfg)
{
	return cfg->mapping.transform != NULL && cfg->mapping.transform[0];
}

/* ---- the request ------------------------------------------------------ */

static json_t *
value_json(const struct map_val *v)
{
	char *hex;
	json_t *j;

	if (ft_utf8_valid(v->p, v->len) && memchr(v->p, '\0', v->len) == NULL)
		return json_stringn(v->p, v->len);
	hex = malloc(v->len * 2 + 1);
	if (hex == NULL)
		return NULL;
	if (ft_hex_encode(v->p, v->len, hex, v->len * 2 + 1) < 0) {
		free(hex);
		return NULL;
	}
	j = json_string(hex);
	free(hex);
	return j;
}

static json_t *
attr_json(const struct map_attr *a)
{
	json_t *arr = json_array();
	size_t i;

	for (i = 0; arr != NULL && i < a->nvals; i++)
		if (json_array_append_new(arr, value_json(&a->vals[i])) < 0) {
			json_decref(arr);
			arr = NULL;
		}
	return arr;
}

int
transform_attrs_json(const struct map_entry *e, char **ret)
{
	json_t *o = json_object();
	char *text = NULL;
	size_t i;

	for (i = 0; o != NULL && i < e->nattrs; i++) {
		const struct map_attr *a = &e->attrs[i];

		if (a->name == NULL || !ft_utf8_valid(a->name, strlen(a->name)))
			continue;
		if (json_object_set_new(o, a->name, attr_json(a)) < 0) {
			json_decref(o);
			o = NULL;
		}
	}
	if (o != NULL)
		text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (text == NULL)
		return FT_E_NOMEM;
	*ret = text;
	return FT_OK;
}

static json_t *
str_or_null(const char *s)
{
	return s != NULL ? json_string(s) : json_null();
}

/* The request for u as one line, with its newline, into *ret (free). */
static int
request_line(const struct ft_user *u, unsigned long long id, char **ret,
	     size_t *ret_len)
{
	json_t *req = json_object(), *user = json_object();
	const char *attrs = u->attrs_json ? u->attrs_json : "{}";
	char *head = NULL, *line;
	size_t hl, al;
	int r = FT_E_NOMEM;

	if (req == NULL || user == NULL ||
	    json_object_set_new(user, "username", str_or_null(u->username)) ||
	    json_object_set_new(user, "email", str_or_null(u->email)) ||
	    json_object_set_new(user, "first_name",
				str_or_null(u->first_name)) ||
	    json_object_set_new(user, "last_name", str_or_null(u->last_name)) ||
	    json_object_set_new(req, "id", json_integer((json_int_t)id)) ||
	    json_object_set_new(req, "dn", str_or_null(u->dn)) ||
	    json_object_set_new(req, "login", str_or_null(u->login)) ||
	    json_object_set(req, "user", user))
		goto out;
	head = json_dumps(req, JSON_COMPACT);
	if (head == NULL)
		goto out;
	/* "{...}" + ',"attributes":' + attrs + "}\n" */
	hl = strlen(head) - 1;
	al = strlen(attrs);
	r = FT_E_TOOBIG;
	if (hl + al + 16 > TRANSFORM_LINE_MAX)
		goto out;
	r = FT_E_NOMEM;
	line = malloc(hl + al + 17);
	if (line == NULL)
		goto out;
	(void)snprintf(line, hl + al + 17, "%.*s,\"attributes\":%s}\n", (int)hl,
		       head, attrs);
	*ret = line;
	*ret_len = strlen(line);
	r = FT_OK;
out:
	free(head);
	json_decref(user);
	json_decref(req);
	return r;
}

/* ---- the answer ------------------------------------------------------- */

static void reason_set(char *buf, size_t cap, const char *fmt, ...)
	FT_PRINTF(3, 4);

static void
reason_set(char *buf, size_t cap, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(buf, cap, fmt, ap);
	va_end(ap);
}

static const char *const fields[] = {"username", "email", "first_name",
				     "last_name"};

static char **
field_of(struct ft_user *u, size_t i)
{
	char **f[] = {&u->username, &u->email, &u->first_name, &u->last_name};

	return f[i];
}

/* Check one field of the answer's user; its new value (NULL: none). */
static int
judge_field(size_t i, json_t *v, char **ret, char *why, size_t cap)
{
	const char *bad;

	if (json_is_null(v) && i > 0) {
		*ret = NULL;
		return FT_OK;
	}
	if (!json_is_string(v)) {
		reason_set(why, cap, "\"%s\" is not a string", fields[i]);
		return FT_E_INVAL;
	}
	bad = ldap_map_value_check(json_string_value(v), json_string_length(v));
	if (bad == NULL && i == 0 && json_string_length(v) == 0)
		bad = "is empty";
	if (bad != NULL) {
		reason_set(why, cap, "\"%s\" %s", fields[i], bad);
		return FT_E_INVAL;
	}
	/* an empty email or name is none, as the mapping has it */
	*ret = json_string_length(v) > 0 ? strdup(json_string_value(v)) : NULL;
	if (json_string_length(v) > 0 && *ret == NULL)
		return FT_E_NOMEM;
	return FT_OK;
}

/* The same text (NULL: none)? */
static bool
same_value(const char *a, const char *b)
{
	return a == NULL ? b == NULL : b != NULL && strcmp(a, b) == 0;
}

static size_t
field_index(const char *key)
{
	size_t i;

	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (strcmp(key, fields[i]) == 0)
			return i;
	return SIZE_MAX;
}

/* {"user": {...}}: every field checked first, then all replaced. */
static int
judge_user(struct transform_item *it, json_t *user)
{
	char *nv[4] = {NULL, NULL, NULL, NULL};
	bool set[4] = {false, false, false, false};
	const char *key;
	json_t *v;
	size_t i;
	int r = FT_OK;

	if (!json_is_object(user)) {
		reason_set(it->reason, sizeof(it->reason),
			   "\"user\" is not an object");
		return FT_E_INVAL;
	}
	json_object_foreach(user, key, v)
	{
		i = field_index(key);
		if (i == SIZE_MAX) {
			reason_set(it->reason, sizeof(it->reason),
				   "unknown field '%.64s' in \"user\"", key);
			r = FT_E_INVAL;
			break;
		}
		if (set[i]) { /* cannot be: duplicates are refused */
			reason_set(it->reason, sizeof(it->reason),
				   "\"%s\" twice", key);
			r = FT_E_INVAL;
			break;
		}
		r = judge_field(i, v, &nv[i], it->reason, sizeof(it->reason));
		if (r < 0)
			break;
		set[i] = true;
	}
	/* an unchanged field keeps its string: no free of the mapping's
	 * memory from another thread (glibc's arenas) for nothing */
	for (i = 0; i < 4; i++) {
		char **f = field_of(it->user, i);

		if (r == FT_OK && set[i] && !same_value(*f, nv[i])) {
			free(*f);
			*f = nv[i];
		} else {
			free(nv[i]);
		}
	}
	if (r == FT_OK)
		it->verdict = TRANSFORM_USE;
	return r;
}

/* The body of an answer about the right entry. */
static int
judge_body(struct transform_item *it, json_t *ans)
{
	json_t *user = json_object_get(ans, "user");
	json_t *skip = json_object_get(ans, "skip");

	if ((user == NULL) == (skip == NULL)) {
		reason_set(it->reason, sizeof(it->reason),
			   "the answer has %s of \"user\" and \"skip\"",
			   user == NULL ? "neither" : "both");
		return FT_E_INVAL;
	}
	if (user != NULL)
		return judge_user(it, user);
	if (!json_is_string(skip)) {
		reason_set(it->reason, sizeof(it->reason),
			   "\"skip\" is not a string");
		return FT_E_INVAL;
	}
	it->verdict = TRANSFORM_SKIP;
	reason_set(it->reason, sizeof(it->reason), "%s",
		   json_string_value(skip));
	return FT_OK;
}

/*
 * One answer line for the oldest unanswered item.  FT_OK (its verdict
 * set, TRANSFORM_BAD included); FT_E_PROTO when the line is not an
 * answer about that entry (why says how); FT_E_NOMEM.
 */
static int
judge(struct transform_item *it, unsigned long long id, const char *line,
      size_t len, char *why, size_t cap)
{
	json_t *ans = json_loadb(line, len, JSON_REJECT_DUPLICATES, NULL);
	json_t *jid = json_object_get(ans, "id");
	json_t *jlogin = json_object_get(ans, "login");
	int r = FT_E_PROTO;

	if (!json_is_object(ans))
		reason_set(why, cap, "a line that is not a JSON object: '%.*s'",
			   (int)(len < SHOW_MAX ? len : SHOW_MAX), line);
	else if (!json_is_integer(jid) ||
		 (unsigned long long)json_integer_value(jid) != id)
		reason_set(why, cap, "an answer for another id (expected %llu)",
			   id);
	else if (!json_is_string(jlogin) || it->user->login == NULL ||
		 strcmp(json_string_value(jlogin), it->user->login) != 0)
		reason_set(why, cap,
			   "an answer for id %llu with another login "
			   "(expected '%s')",
			   id, it->user->login ? it->user->login : "");
	else
		r = FT_OK;
	if (r == FT_OK && judge_body(it, ans) == FT_E_NOMEM)
		r = FT_E_NOMEM;
	else if (r == FT_OK && it->verdict != TRANSFORM_USE &&
		 it->verdict != TRANSFORM_SKIP)
		it->verdict = TRANSFORM_BAD;
	json_decref(ans);
	return r;
}

/* ---- the program ------------------------------------------------------ */

int
transform_new(const struct config *cfg, const char *socket_path,
	      struct transform **ret)
{
	struct transform *t;

	if (!transform_configured(cfg))
		return FT_E_CONFIG;
	t = calloc(1, sizeof(*t));
	if (t == NULL)
		return FT_E_NOMEM;
	t->line = malloc(TRANSFORM_LINE_MAX + 1);
	if (t->line == NULL) {
		free(t);
		return FT_E_NOMEM;
	}
	t->cfg = cfg;
	t->socket_path = socket_path ? socket_path : TRANSFORM_SOCKET;
	t->next_id = 1;
	*ret = t;
	return FT_OK;
}

static void
stop_prog(struct transform *t)
{
	extprog_free(t->prog);
	t->prog = NULL;
}

void
transform_free(struct transform *t)
{
	if (t == NULL)
		return;
	stop_prog(t);
	free(t->out.p);
	free(t->line);
	free(t);
}

/* Keep the users to use; the others to drop, then freed. */
static int
sort_list(struct ft_user_list *list, const struct transform_item *it,
	  transform_drop_fn drop, void *ctx)
{
	struct ft_user_list kept = {0};
	size_t i;
	int r = FT_OK;

	for (i = 0; r == FT_OK && i < list->n; i++) {
		if (it[i].verdict == TRANSFORM_USE)
			r = ft_user_list_push(&kept, &list->v[i]);
		else
			drop(ctx, &list->v[i], &it[i]);
	}
	if (r < 0) {
		ft_user_list_clear(&kept);
		return r;
	}
	ft_user_list_clear(list);
	*list = kept;
	return FT_OK;
}

int
transform_list(struct transform *t, struct ft_user_list *list,
	       transform_drop_fn drop, void *ctx, char *err, size_t errlen)
{
	struct transform_item *it = calloc(list->n + 1, sizeof(*it));
	size_t i;
	int r;

	if (it == NULL)
		return FT_E_NOMEM;
	for (i = 0; i < list->n; i++)
		it[i].user = &list->v[i];
	r = list->n > 0 ? transform_run(t, it, list->n, err, errlen) : FT_OK;
	if (r == FT_OK)
		r = sort_list(list, it, drop, ctx);
	free(it);
	return r;
}

void
transform_stats(const struct transform *t, struct transform_stats *ret)
{
	*ret = t->st;
}

static int
ensure_started(struct transform *t, char *err, size_t errlen)
{
	char why[EXTPROG_WHY_MAX];
	int r;

	if (t->prog != NULL)
		return FT_OK;
	r = extprog_start(t->cfg->mapping.transform, t->socket_path,
			  "transform", &t->prog, why, sizeof(why));
	if (r < 0) {
		reason_set(err, errlen, "the transform cannot be started: %s",
			   why);
		return FT_E_AGAIN;
	}
	t->st.started = true;
	t->st.spawned = extprog_spawned(t->prog);
	return FT_OK;
}

static uint64_t
timeout_ms(const struct transform *t)
{
	return (uint64_t)t->cfg->mapping.transform_timeout * 1000u;
}

static int
batch_add(struct batch *b, const char *line, size_t len)
{
	char *n;

	if (b->len + len > b->cap) {
		size_t cap = b->cap ? b->cap : 64u << 10;

		while (cap < b->len + len)
			cap *= 2;
		n = realloc(b->p, cap);
		if (n == NULL)
			return FT_E_NOMEM;
		b->p = n;
		b->cap = cap;
	}
	memcpy(b->p + b->len, line, len);
	b->len += len;
	return FT_OK;
}

/* The request of the next item into b (or the item judged unsendable). */
static int
queue_next(struct transform *t, struct window *w, struct batch *b)
{
	struct transform_item *it = &w->items[w->next];
	size_t slot = (w->head + w->count) % TRANSFORM_WINDOW;
	char *line = NULL;
	size_t len = 0;
	int r;

	it->verdict = TRANSFORM_BAD;
	it->reason[0] = '\0';
	r = request_line(it->user, t->next_id, &line, &len);
	if (r == FT_E_TOOBIG) {
		reason_set(it->reason, sizeof(it->reason),
			   "its request is over %u bytes", TRANSFORM_LINE_MAX);
		t->st.bad++;
		w->next++;
		return FT_OK;
	}
	if (r == FT_OK)
		r = batch_add(b, line, len);
	free(line);
	if (r < 0)
		return r;
	w->pend[slot] = w->next++;
	w->id[slot] = t->next_id++;
	w->count++;
	return FT_OK;
}

/* Fill the window with the next requests, written at once. */
static int
send_batch(struct transform *t, struct window *w, char *err, size_t errlen)
{
	struct batch *b = &t->out;
	int r;

	b->len = 0;
	r = ensure_started(t, err, errlen);
	if (r < 0)
		return r;
	if (w->count == 0)
		w->last_ms = timing_now_ms();
	while (r == FT_OK && w->next < w->n && w->count < TRANSFORM_WINDOW)
		r = queue_next(t, w, b);
	if (r == FT_OK && b->len > 0)
		r = extprog_write(t->prog, b->p, b->len,
				  timing_now_ms() + timeout_ms(t));
	if (r == FT_E_AGAIN || r == FT_E_IO || r == FT_E_TOOBIG) {
		reason_set(err, errlen, "the transform %s",
			   r == FT_E_AGAIN ? "did not read its input in time"
					   : "stopped reading its input");
		return FT_E_AGAIN;
	}
	return r;
}

/* The whole open window cannot be used; the program is stopped. */
static void
window_bad(struct transform *t, struct window *w, const char *why)
{
	while (w->count > 0) {
		struct transform_item *it = &w->items[w->pend[w->head]];

		it->verdict = TRANSFORM_BAD;
		reason_set(it->reason, sizeof(it->reason),
			   "the transform answered out of step (%s)", why);
		t->st.bad++;
		w->head = (w->head + 1) % TRANSFORM_WINDOW;
		w->count--;
	}
	stop_prog(t);
	t->st.restarts++;
}

static int
outage_of_read(int r, const struct transform *t, char *err, size_t errlen)
{
	if (r == FT_E_AGAIN)
		reason_set(err, errlen,
			   "the transform did not answer within %u s",
			   t->cfg->mapping.transform_timeout);
	else if (r == FT_E_IO && errno == 0)
		reason_set(err, errlen, "the transform exited");
	else
		reason_set(err, errlen, "the transform cannot be read: %s",
			   r == FT_E_IO ? strerror(errno) : ft_strerror(r));
	return FT_E_AGAIN;
}

/* Read and judge the answer to the oldest unanswered request. */
static int
read_answer(struct transform *t, struct window *w, char *err, size_t errlen)
{
	struct transform_item *it = &w->items[w->pend[w->head]];
	char why[TRANSFORM_REASON_MAX];
	size_t len = 0;
	int r;

	r = extprog_read_line(t->prog, t->line, TRANSFORM_LINE_MAX + 1, &len,
			      w->last_ms + timeout_ms(t));
	if (r == FT_E_TOOBIG) {
		reason_set(why, sizeof(why), "a line over %u bytes",
			   TRANSFORM_LINE_MAX);
		window_bad(t, w, why);
		return FT_OK;
	}
	if (r < 0)
		return outage_of_read(r, t, err, errlen);
	w->last_ms = timing_now_ms();
	r = judge(it, w->id[w->head], t->line, len, why, sizeof(why));
	if (r == FT_E_PROTO) {
		window_bad(t, w, why);
		return FT_OK;
	}
	if (r < 0)
		return r;
	if (it->verdict == TRANSFORM_BAD)
		t->st.bad++;
	w->head = (w->head + 1) % TRANSFORM_WINDOW;
	w->count--;
	return FT_OK;
}

int
transform_run(struct transform *t, struct transform_item *items, size_t n,
	      char *err, size_t errlen)
{
	struct window *w = calloc(1, sizeof(*w));
	int r = FT_OK;

	if (w == NULL)
		return FT_E_NOMEM;
	w->items = items;
	w->n = n;
	/* refilled when half answered: few writes, the window kept busy */
	while (r == FT_OK && (w->next < n || w->count > 0)) {
		if (w->next < n && w->count <= TRANSFORM_WINDOW / 2)
			r = send_batch(t, w, err, errlen);
		else
			r = read_answer(t, w, err, errlen);
	}
	free(w);
	if (r == FT_E_AGAIN) {
		stop_prog(t);
		t->st.outages++;
		t->st.consecutive++;
	} else if (r == FT_OK) {
		t->st.consecutive = 0;
	}
	return r;
}
