/* SPDX-License-Identifier: Apache-2.0 */
/* report.c: reconcile reports and last-good.json, in JSON (jansson). */
#include "report.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ft_clean.h"
#include "ft_err.h"
#include "ft_util.h"
#include "ftrack_api.h"
#include "state.h"

#define LAST_GOOD "last-good.json"
#define RUNS      "runs"

/*
 * The most a report or last-good.json may hold to be read back (the state
 * folder's rule: state files are size-capped).  A report is about 300
 * bytes an action: 64 MiB is some 200,000 changes in one run.
 */
#define REPORT_READ_MAX    ((size_t)64 << 20)
#define LAST_GOOD_READ_MAX ((size_t)4096)

/*
 * Read the JSON state file name of dirfd with the one reader (state.c: no
 * symlink, no waiting on a FIFO, a regular file, at most max bytes) and
 * parse it into *ret (the caller decrefs).  Returns FT_OK, FT_E_PROTO (not
 * JSON, duplicate keys), or state_read_file()'s code and words in *ret_why.
 */
static int
read_json(int dirfd, const char *name, size_t max, json_t **ret,
	  const char **ret_why)
{
	json_error_t jerr;
	char *text = NULL;
	size_t len = 0;
	json_t *o;
	int r;

	r = state_read_file(dirfd, name, max, &text, &len, ret_why);
	if (r < 0)
		return r;
	o = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	free(text);
	if (o == NULL) {
		if (ret_why != NULL)
			*ret_why = "not JSON";
		return FT_E_PROTO;
	}
	*ret = o;
	return FT_OK;
}

/*
 * s as a JSON string, NULL as null.  Text that is not UTF-8 (the bytes of
 * a server's answer in an error message) goes through the one cleaner
 * first, since a JSON string must be UTF-8: jansson would refuse it, and
 * the action or section holding it would be missing from the report.
 */
static json_t *
json_text(const char *s)
{
	size_t len;
	char *clean;
	json_t *j;

	if (s == NULL)
		return json_null();
	len = strlen(s);
	if (ft_utf8_valid(s, len))
		return json_stringn(s, len);
	if (len > (SIZE_MAX - 1) / FT_CLEAN_GROWTH)
		return NULL;
	clean = malloc(FT_CLEAN_CAP(len));
	if (clean == NULL)
		return NULL;
	(void)ft_clean(clean, FT_CLEAN_CAP(len), s, len);
	j = json_string(clean);
	free(clean);
	return j;
}

static json_t *
guards_json(const struct plan_recon *p)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; a && i < GUARD_COUNT; i++) {
		const struct plan_guard *g = &p->guard[i];

		json_array_append_new(
			a, json_pack("{s:s?, s:b, s:b, s:o}", "name", g->name,
				     "ok", g->ok, "forceable", g->forceable,
				     "detail", json_text(g->detail)));
	}
	return a;
}

static json_t *
counts_json(const struct plan_recon *p)
{
	json_t *o = json_object();
	int k;

	for (k = PLAN_NONE; o && k <= PLAN_SKIP; k++)
		json_object_set_new(o, plan_kind_name((enum plan_kind)k),
				    json_integer((json_int_t)p->count[k]));
	return o;
}

/* {"old": before, "new": after} of one field */
static json_t *
pair_json(json_t *before, json_t *after)
{
	return json_pack("{s:o, s:o}", "old", before, "new", after);
}

/*
 * What action a writes, each field's value before (the ftrack user as the
 * run read it) and after (what it writes): the record `--undo` reverses.
 * The deactivated marker's new value is "set" (its text is the time of
 * the write).  NULL when a writes no field of an existing user.
 */
static json_t *
changes_json(const struct plan_action *a)
{
	const struct ft_user *f = a->ftrack, *l = a->ldap;
	json_t *o;
	size_t i;

	if (f == NULL || a->kind == PLAN_CREATE || a->kind == PLAN_DELETE)
		return NULL;
	o = json_object();
	for (i = 0; o && l && i < PLAN_NFIELDS; i++) {
		unsigned bit = PLAN_FIELDS[i];

		if (a->fields & bit)
			json_object_set_new(
				o, plan_field_name(bit),
				pair_json(json_text(plan_field_get(f, bit)),
					  json_text(plan_field_get(l, bit))));
	}
	if (o && (a->fields & (PLAN_F_ACTIVATE | PLAN_F_DEACTIVATE)))
		json_object_set_new(
			o, "is_active",
			pair_json(json_boolean(f->is_active),
				  json_boolean(a->fields & PLAN_F_ACTIVATE)));
	if (o && l && (a->fields & PLAN_F_MARK_UUID))
		json_object_set_new(
			o, FTRACK_MARKER_UUID,
			pair_json(json_text(f->uuid), json_text(l->uuid)));
	if (o && (a->fields & PLAN_F_UNMARK_UUID))
		json_object_set_new(o, FTRACK_MARKER_UUID,
				    pair_json(json_text(f->uuid), json_null()));
	if (o && (a->fields & (PLAN_F_MARK_GONE | PLAN_F_UNMARK_GONE)))
		json_object_set_new(o, FTRACK_MARKER_DEACTIVATED,
				    pair_json(json_text(f->deactivated),
					      a->fields & PLAN_F_MARK_GONE
						      ? json_string("set")
						      : json_null()));
	if (o != NULL && json_object_size(o) == 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *
action_json(const struct report *r, size_t i)
{
	const struct plan_action *a = &r->plan->v[i];
	const struct ft_user *u = a->ldap ? a->ldap : a->ftrack;
	json_t *o;

	o = json_pack("{s:s, s:o, s:o, s:o, s:o}", "action",
		      plan_kind_name(a->kind), "user",
		      json_text(u ? u->username : NULL), "id",
		      json_text(a->ftrack ? a->ftrack->id : NULL), "dn",
		      json_text(a->ldap ? a->ldap->dn : NULL), "reason",
		      json_text(a->reason));
	if (o != NULL) {
		json_t *c = changes_json(a);

		if (c != NULL)
			json_object_set_new(o, "changes", c);
	}
	if (o != NULL && r->codes != NULL) {
		json_object_set_new(o, "ok",
				    json_boolean(r->codes[i] == FT_OK));
		json_object_set_new(o, "waiting_for_seat",
				    json_boolean(r->codes[i] == FT_E_SEAT));
		json_object_set_new(
			o, "error",
			r->codes[i] == FT_OK
				? json_null()
				: json_text(
					  r->messages[i]
						  ? r->messages[i]
						  : ft_strerror(r->codes[i])));
	}
	return o;
}

static json_t *
actions_json(const struct report *r)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; a && r->plan && i < r->plan->n; i++)
		json_array_append_new(a, action_json(r, i));
	return a;
}

/* Every link the plan makes: both names, and by which rule. */
static json_t *
links_json(const struct plan_recon *p)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; a && i < p->n; i++) {
		const struct plan_action *x = &p->v[i];
		const char *by = plan_link_by(x);

		if (by == NULL)
			continue;
		json_array_append_new(
			a,
			json_pack("{s:s, s:o, s:o, s:o, s:o, s:s}", "by", by,
				  "ldap_user", json_text(x->ldap->username),
				  "ftrack_user", json_text(x->ftrack->username),
				  "id", json_text(x->ftrack->id), "dn",
				  json_text(x->ldap->dn), "action",
				  plan_kind_name(x->kind)));
	}
	return a;
}

/* The ftrack users no LDAP login accounts for. */
static json_t *
unaccounted_json(const struct plan_recon *p)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; a && i < p->n_unaccounted; i++) {
		const struct ft_user *u = p->unaccounted[i];

		json_array_append_new(
			a, json_pack("{s:o, s:o, s:o, s:b}", "username",
				     json_text(u->username), "email",
				     json_text(u->email), "id",
				     json_text(u->id), "active", u->is_active));
	}
	return a;
}

static json_t *
skipped_json(const struct report *r)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; a && i < r->nskipped; i++)
		json_array_append_new(
			a, json_pack("{s:o, s:o}", "dn",
				     json_text(r->skipped[i].dn), "reason",
				     json_text(r->skipped[i].reason)));
	return a;
}

/* "groups": the membership and role changes, the guard, the counts. */
static json_t *
groups_json(const struct report_groups *g)
{
	json_t *a = json_array(), *o;
	size_t i;

	for (i = 0; a != NULL && i < g->n; i++) {
		const struct report_group_change *c = &g->v[i];

		json_array_append_new(
			a, json_pack("{s:s, s:o, s:o, s:o, s:s}", "action",
				     c->action, "user", json_text(c->user),
				     "target", json_text(c->target), "reason",
				     json_text(c->reason), "result",
				     c->code == FT_OK        ? "ok"
				     : c->code == FT_E_AGAIN ? "planned"
							     : "failed"));
	}
	o = json_pack("{s:o, s:b, s:I, s:I, s:I}", "changes", a, "complete",
		      g->complete, "held", (json_int_t)g->held, "frozen",
		      (json_int_t)g->frozen, "taken_away_by_hand",
		      (json_int_t)g->gone);
	if (o != NULL)
		json_object_set_new(o, "held_by",
				    g->held_by != NULL ? json_string(g->held_by)
						       : json_null());
	return o;
}

static json_t *
report_json(const struct report *r)
{
	json_t *o = json_pack(
		"{s:s, s:s, s:b, s:s, s:s, s:f, s:{s:f, s:f, s:f}}", "mode",
		r->mode, "result", r->result, "forced", r->forced, "started",
		r->started, "finished", r->finished, "seconds", r->seconds,
		"timings", "ldap", r->ldap_seconds, "ftrack", r->ftrack_seconds,
		"apply", r->apply_seconds);

	if (o == NULL)
		return NULL;
	if (r->run != NULL)
		json_object_set_new(o, "run", json_string(r->run));
	if (r->undo_of != NULL)
		json_object_set_new(o, "undo_of", json_text(r->undo_of));
	json_object_set_new(
		o, "ldap",
		json_pack("{s:I, s:I, s:I, s:I, s:o}", "entries",
			  (json_int_t)r->ldap_entries, "disabled",
			  (json_int_t)r->ldap_disabled, "skipped",
			  (json_int_t)r->ldap_skipped, "pages",
			  (json_int_t)r->ldap_pages, "error",
			  json_text(r->ldap_error ? r->ldap_error : "")));
	json_object_set_new(o, "ftrack",
			    json_pack("{s:I, s:I, s:I}", "users",
				      (json_int_t)r->ftrack_users, "requests",
				      (json_int_t)r->http_requests,
				      "connections",
				      (json_int_t)r->connections));
	if (r->plan != NULL && r->undo_of == NULL)
		json_object_set_new(o, "guards", guards_json(r->plan));
	if (r->plan != NULL) {
		json_object_set_new(o, "counts", counts_json(r->plan));
	}
	json_object_set_new(o, "links",
			    r->plan ? links_json(r->plan) : json_array());
	json_object_set_new(o, "unaccounted",
			    r->plan ? unaccounted_json(r->plan) : json_array());
	json_object_set_new(o, "actions", actions_json(r));
	json_object_set_new(o, "skipped_entries", skipped_json(r));
	if (r->groups != NULL)
		json_object_set_new(o, "groups", groups_json(r->groups));
	return o;
}

/*
 * o (consumed) as JSON text that is plain printable ASCII: jansson
 * escapes the controls and, with JSON_ENSURE_ASCII, every non-ASCII
 * character (C1 controls, bidi overrides) as \uXXXX; DEL, which it
 * leaves raw, becomes \u007F here.  The same values decode, and the text
 * is safe on a terminal: `reconcile --json`, or a report read with cat.
 * NULL on OOM; the caller frees.
 */
static char *
dump_ascii(json_t *o)
{
	char *text, *out;
	size_t dels = 0, i, j;

	if (o == NULL)
		return NULL;
	text = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER |
				     JSON_ENSURE_ASCII);
	json_decref(o);
	if (text == NULL)
		return NULL;
	for (i = 0; text[i] != '\0'; i++)
		dels += text[i] == 0x7f;
	if (dels == 0)
		return text;
	/* DEL is inside a string: the JSON grammar has no other place */
	out = malloc(i + 5 * dels + 1);
	for (i = j = 0; out != NULL && text[i] != '\0'; i++) {
		if (text[i] != 0x7f) {
			out[j++] = text[i];
			continue;
		}
		memcpy(out + j, "\\u007F", 6);
		j += 6;
	}
	if (out != NULL)
		out[j] = '\0';
	free(text);
	return out;
}

static int
write_json(json_t *o, int dirfd, const char *name)
{
	char *text = dump_ascii(o);
	int r;

	if (text == NULL)
		return FT_E_NOMEM;
	r = ft_write_atomic(dirfd, name, text, strlen(text));
	free(text);
	return r;
}

int
report_write(const struct report *r, int dirfd, const char *name)
{
	return write_json(report_json(r), dirfd, name);
}

int
report_print_json(const struct report *r, FILE *out)
{
	char *text = dump_ascii(report_json(r));
	int e;

	if (text == NULL)
		return FT_E_NOMEM;
	e = fputs(text, out);
	free(text);
	if (e == EOF || fputc('\n', out) == EOF)
		return FT_E_IO;
	return FT_OK;
}

/* Copy the string member name of o into out (capacity cap); "" when
 * absent.  False when it is there but not a string that fits. */
static bool
copy_member(const json_t *o, const char *name, char *out, size_t cap)
{
	const json_t *v = json_object_get(o, name);
	const char *t = json_string_value(v);

	out[0] = '\0';
	if (v == NULL)
		return true;
	if (t == NULL || strlen(t) >= cap)
		return false;
	memcpy(out, t, strlen(t) + 1);
	return true;
}

int
report_last_good_read(int dirfd, struct report_last_good *ret)
{
	struct report_last_good g;
	json_t *o = NULL, *v;
	int r;

	memset(ret, 0, sizeof(*ret));
	memset(&g, 0, sizeof(g));
	r = read_json(dirfd, LAST_GOOD, LAST_GOOD_READ_MAX, &o, NULL);
	if (r == FT_E_NOTFOUND)
		return FT_OK;
	if (r < 0)
		return FT_E_PROTO;
	v = json_object_get(o, "population");
	r = FT_E_PROTO;
	if (json_is_integer(v) && json_integer_value(v) >= 0 &&
	    copy_member(o, "time", g.time, sizeof(g.time)) &&
	    copy_member(o, "host", g.host, sizeof(g.host))) {
		g.population = (unsigned long)json_integer_value(v);
		*ret = g;
		r = FT_OK;
	}
	json_decref(o);
	return r;
}

int
report_last_good_write(int dirfd, const struct report_last_good *g)
{
	return write_json(json_pack("{s:I, s:s, s:s}", "population",
				    (json_int_t)g->population, "time", g->time,
				    "host", g->host),
			  dirfd, LAST_GOOD);
}

static long long
iso_to_unix(const char *iso)
{
	struct tm tm;
	const char *end;

	memset(&tm, 0, sizeof(tm));
	end = iso ? strptime(iso, "%Y-%m-%dT%H:%M:%SZ", &tm) : NULL;
	if (end == NULL || *end != '\0')
		return 0;
	return (long long)timegm(&tm);
}

const char *
report_last_name(const struct report *r)
{
	return strcmp(r->mode, "apply") == 0 ? REPORT_LAST_APPLY
					     : REPORT_LAST_DRY_RUN;
}

bool
report_run_id_valid(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if (!(s[i] >= '0' && s[i] <= '9') &&
		    !(s[i] >= 'A' && s[i] <= 'Z') &&
		    !(s[i] >= 'a' && s[i] <= 'z') && s[i] != '-')
			return false;
	return i > 0 && i < REPORT_RUN_ID_MAX;
}

/* Open reports/runs (made when missing): FT_OK, FT_E_PERM or FT_E_IO. */
static int
open_runs(int reports_dirfd, bool make, int *ret_fd)
{
	int fd;

	if (make)
		return state_open_dir(reports_dirfd, RUNS, ret_fd);
	fd = openat(reports_dirfd, RUNS,
		    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? FT_E_NOTFOUND : FT_E_IO;
	*ret_fd = fd;
	return FT_OK;
}

int
report_run_id(int reports_dirfd, const char *started, char *buf, size_t cap)
{
	char base[REPORT_RUN_ID_MAX], name[REPORT_RUN_ID_MAX + 8];
	int fd = -1, n;
	unsigned i;

	/* "2024-05-06T07:08:09Z" -> "20240506T070809Z" */
	if (cap < REPORT_RUN_ID_MAX || started == NULL ||
	    iso_to_unix(started) == 0)
		return FT_E_INVAL;
	(void)snprintf(base, sizeof(base), "%.4s%.2s%.2sT%.2s%.2s%.2sZ",
		       started, started + 5, started + 8, started + 11,
		       started + 14, started + 17);
	if (open_runs(reports_dirfd, false, &fd) < 0)
		fd = -1; /* no runs yet: the id is free */
	for (i = 1; i < 100; i++) {
		n = i == 1 ? snprintf(buf, cap, "%s", base)
			   : snprintf(buf, cap, "%s-%02u", base, i);
		if (n < 0 || (size_t)n >= cap)
			break;
		(void)snprintf(name, sizeof(name), "%s.json", buf);
		if (fd < 0 ||
		    faccessat(fd, name, F_OK, AT_SYMLINK_NOFOLLOW) < 0)
			goto out;
	}
	buf[0] = '\0';
out:
	if (fd >= 0)
		(void)close(fd);
	return buf[0] != '\0' ? FT_OK : FT_E_INVAL;
}

/* The run reports' names, to keep the newest REPORT_RUNS_KEPT. */
struct run_names {
	char **v;
	size_t n, cap;
};

static int
collect_run(void *ctx, int dirfd, const char *name)
{
	struct run_names *rn = ctx;
	size_t len = strlen(name);
	char *copy;

	(void)dirfd;
	if (name[0] == '.' || len < 6 || strcmp(name + len - 5, ".json") != 0)
		return FT_OK;
	if (rn->n == rn->cap) {
		size_t cap = rn->cap ? rn->cap * 2 : 64;
		char **v = realloc(rn->v, cap * sizeof(*v));

		if (v == NULL)
			return FT_E_NOMEM;
		rn->v = v;
		rn->cap = cap;
	}
	copy = strdup(name);
	if (copy == NULL)
		return FT_E_NOMEM;
	rn->v[rn->n++] = copy;
	return FT_OK;
}

/* Oldest first: ids are times, and "X" comes before "X-02" (the
 * stems, without ".json", compared: a prefix sorts first). */
static int
cmp_run(const void *a, const void *b)
{
	const char *x = *(char *const *)a, *y = *(char *const *)b;
	size_t lx = strlen(x) - 5, ly = strlen(y) - 5;
	int c = strncmp(x, y, lx < ly ? lx : ly);

	if (c != 0)
		return c;
	return lx < ly ? -1 : lx > ly ? 1 : 0;
}

/* Remove the oldest run reports beyond REPORT_RUNS_KEPT. */
static int
prune_runs(int runs_fd)
{
	struct run_names rn = {NULL, 0, 0};
	time_t now = time(NULL);
	size_t i;
	int r;

	(void)state_for_each_name(runs_fd, state_sweep_one, &now);
	r = state_for_each_name(runs_fd, collect_run, &rn);
	if (r == FT_OK && rn.n > REPORT_RUNS_KEPT) {
		qsort(rn.v, rn.n, sizeof(*rn.v), cmp_run);
		for (i = 0; i + REPORT_RUNS_KEPT < rn.n; i++)
			if (unlinkat(runs_fd, rn.v[i], 0) < 0 &&
			    errno != ENOENT)
				r = FT_E_IO;
	}
	for (i = 0; i < rn.n; i++)
		free(rn.v[i]);
	free(rn.v);
	return r;
}

int
report_write_run(const struct report *r, int reports_dirfd)
{
	char name[REPORT_RUN_ID_MAX + 8];
	int fd = -1, e;

	if (r->run == NULL || !report_run_id_valid(r->run))
		return FT_E_INVAL;
	(void)snprintf(name, sizeof(name), "%s.json", r->run);
	e = open_runs(reports_dirfd, true, &fd);
	if (e < 0)
		return e;
	e = report_write(r, fd, name);
	/* the report is written: an old one that cannot be removed now is
	 * tried again by the next run */
	if (e == FT_OK)
		(void)prune_runs(fd);
	(void)close(fd);
	return e;
}

static char *
dup_json(json_t *v)
{
	const char *s = json_string_value(v);

	return s != NULL ? strdup(s) : NULL;
}

/*
 * One field of "changes": its bit(s) in *fields, old and new values into
 * the slots (strings; NULL stays NULL).  FT_E_PROTO when it is not a
 * pair of strings or nulls, FT_E_NOMEM.
 */
static int
read_pair(json_t *pair, char **before, char **after)
{
	json_t *o = json_object_get(pair, "old"),
	       *n = json_object_get(pair, "new");

	if (!json_is_object(pair) || o == NULL || n == NULL ||
	    (!json_is_string(o) && !json_is_null(o)) ||
	    (!json_is_string(n) && !json_is_null(n)))
		return FT_E_PROTO;
	*before = dup_json(o);
	*after = dup_json(n);
	if ((json_is_string(o) && *before == NULL) ||
	    (json_is_string(n) && *after == NULL))
		return FT_E_NOMEM;
	return FT_OK;
}

static int
read_changes(json_t *changes, struct report_change *c)
{
	const char *key;
	json_t *v;
	int r = FT_OK;
	size_t i;

	json_object_foreach(changes, key, v)
	{
		unsigned bit = 0;

		for (i = 0; i < PLAN_NFIELDS; i++)
			if (strcmp(key, plan_field_name(PLAN_FIELDS[i])) == 0)
				bit = PLAN_FIELDS[i];
		if (bit != 0) {
			r = read_pair(v, plan_field_slot(&c->before, bit),
				      plan_field_slot(&c->after, bit));
			c->fields |= bit;
		} else if (strcmp(key, "is_active") == 0) {
			json_t *o = json_object_get(v, "old"),
			       *n = json_object_get(v, "new");

			if (!json_is_boolean(o) || !json_is_boolean(n))
				return FT_E_PROTO;
			c->before.is_active = json_is_true(o);
			c->after.is_active = json_is_true(n);
			c->fields |= c->after.is_active ? PLAN_F_ACTIVATE
							: PLAN_F_DEACTIVATE;
		} else if (strcmp(key, FTRACK_MARKER_UUID) == 0) {
			r = read_pair(v, &c->before.uuid, &c->after.uuid);
			c->fields |= c->after.uuid ? PLAN_F_MARK_UUID
						   : PLAN_F_UNMARK_UUID;
		} else if (strcmp(key, FTRACK_MARKER_DEACTIVATED) == 0) {
			r = read_pair(v, &c->before.deactivated,
				      &c->after.deactivated);
			c->fields |= c->after.deactivated ? PLAN_F_MARK_GONE
							  : PLAN_F_UNMARK_GONE;
		} else {
			return FT_E_PROTO;
		}
		if (r < 0)
			return r;
	}
	return FT_OK;
}

static int
read_change(json_t *a, struct report_change *c)
{
	const char *kind = json_string_value(json_object_get(a, "action"));
	json_t *changes = json_object_get(a, "changes");
	json_t *ok = json_object_get(a, "ok");
	int k;

	memset(c, 0, sizeof(*c));
	if (kind == NULL || !json_is_boolean(ok) ||
	    (changes != NULL && !json_is_object(changes)))
		return FT_E_PROTO;
	for (k = PLAN_NONE; k <= PLAN_SKIP; k++)
		if (strcmp(kind, plan_kind_name((enum plan_kind)k)) == 0)
			break;
	if (k > PLAN_SKIP)
		return FT_E_PROTO;
	c->kind = (enum plan_kind)k;
	c->ok = json_is_true(ok);
	c->user = dup_json(json_object_get(a, "user"));
	c->id = dup_json(json_object_get(a, "id"));
	return changes != NULL ? read_changes(changes, c) : FT_OK;
}

int
report_read_run(int reports_dirfd, const char *run, struct report_run *ret,
		const char **ret_why)
{
	char name[REPORT_RUN_ID_MAX + 8];
	struct report_run rr;
	json_t *o = NULL, *actions, *a;
	const char *mode, *result, *finished, *why = "not JSON";
	int fd = -1, r;
	size_t i;

	memset(&rr, 0, sizeof(rr));
	if (ret_why != NULL)
		*ret_why = "";
	if (!report_run_id_valid(run))
		return FT_E_INVAL;
	(void)snprintf(name, sizeof(name), "%s.json", run);
	r = open_runs(reports_dirfd, false, &fd);
	if (r == FT_OK) {
		r = read_json(fd, name, REPORT_READ_MAX, &o, &why);
		(void)close(fd);
	}
	if (r < 0) {
		if (ret_why != NULL)
			*ret_why = why;
		return r;
	}
	mode = json_string_value(json_object_get(o, "mode"));
	result = json_string_value(json_object_get(o, "result"));
	finished = json_string_value(json_object_get(o, "finished"));
	actions = json_object_get(o, "actions");
	r = FT_E_PROTO;
	why = "not a report of an applied run";
	if (mode == NULL || strcmp(mode, "apply") != 0 || result == NULL ||
	    finished == NULL || !json_is_array(actions) ||
	    json_string_value(json_object_get(o, "run")) == NULL ||
	    strcmp(json_string_value(json_object_get(o, "run")), run) != 0)
		goto out;
	(void)snprintf(rr.run, sizeof(rr.run), "%s", run);
	(void)snprintf(rr.finished, sizeof(rr.finished), "%s", finished);
	(void)snprintf(rr.result, sizeof(rr.result), "%s", result);
	rr.undo = json_object_get(o, "undo_of") != NULL;
	r = FT_E_NOMEM;
	rr.v = calloc(json_array_size(actions) + 1, sizeof(*rr.v));
	if (rr.v == NULL)
		goto out;
	json_array_foreach(actions, i, a)
	{
		r = read_change(a, &rr.v[rr.n]);
		rr.n++;
		if (r < 0) {
			why = r == FT_E_PROTO ? "an action is not what the run "
						"wrote"
					      : "out of memory";
			goto out;
		}
	}
	r = FT_OK;
	*ret = rr;
	memset(&rr, 0, sizeof(rr));
out:
	if (r < 0 && ret_why != NULL)
		*ret_why = why;
	report_run_free(&rr);
	json_decref(o);
	return r;
}

void
report_run_free(struct report_run *r)
{
	size_t i;

	for (i = 0; i < r->n; i++) {
		free(r->v[i].user);
		free(r->v[i].id);
		ft_user_clear(&r->v[i].before);
		ft_user_clear(&r->v[i].after);
	}
	free(r->v);
	memset(r, 0, sizeof(*r));
}

static void
count_done(json_t *actions, struct report_summary *sum)
{
	size_t i;
	json_t *a;
	int k;

	json_array_foreach(actions, i, a)
	{
		const char *kind =
			json_string_value(json_object_get(a, "action"));

		if (!json_is_true(json_object_get(a, "ok")) || kind == NULL)
			continue;
		for (k = PLAN_NONE; k <= PLAN_SKIP; k++)
			if (strcmp(kind, plan_kind_name((enum plan_kind)k)) ==
			    0)
				sum->done[k]++;
	}
}

static void
count_planned(json_t *counts, struct report_summary *sum)
{
	int k;

	for (k = PLAN_NONE; k <= PLAN_SKIP; k++) {
		json_int_t v = json_integer_value(json_object_get(
			counts, plan_kind_name((enum plan_kind)k)));

		sum->planned[k] = v > 0 ? (unsigned long)v : 0;
	}
}

/*
 * Read the last apply's or dry run's report into *ret_o: last-apply.json,
 * else (an upgrade) an older version's last-reconcile.json when it
 * records an apply; last-dry-run.json.  *ret_name: the file read.
 */
static int
read_last(int reports_dirfd, enum report_which which, json_t **ret_o,
	  const char **ret_name, const char **ret_why)
{
	const char *name =
		which == REPORT_APPLY ? REPORT_LAST_APPLY : REPORT_LAST_DRY_RUN;
	const char *mode;
	json_t *o = NULL;
	int r;

	*ret_name = name;
	r = read_json(reports_dirfd, name, REPORT_READ_MAX, &o, ret_why);
	if (r != FT_E_NOTFOUND || which != REPORT_APPLY) {
		*ret_o = o;
		return r;
	}
	r = read_json(reports_dirfd, REPORT_LAST_OLD, REPORT_READ_MAX, &o,
		      ret_why);
	if (r < 0) /* whatever it is, it is no apply of ours */
		return FT_E_NOTFOUND;
	mode = json_string_value(json_object_get(o, "mode"));
	if (mode == NULL || strcmp(mode, "apply") != 0) {
		json_decref(o);
		return FT_E_NOTFOUND;
	}
	*ret_name = REPORT_LAST_OLD;
	*ret_o = o;
	return FT_OK;
}

int
report_read_summary(int reports_dirfd, enum report_which which,
		    struct report_summary *ret)
{
	struct report_summary sum;
	const char *result, *mode, *name;
	json_t *o = NULL;
	int r;

	r = read_last(reports_dirfd, which, &o, &name, NULL);
	if (r == FT_E_NOTFOUND)
		return r;
	if (r < 0)
		return FT_E_PROTO;
	memset(&sum, 0, sizeof(sum));
	result = json_string_value(json_object_get(o, "result"));
	mode = json_string_value(json_object_get(o, "mode"));
	sum.finished =
		iso_to_unix(json_string_value(json_object_get(o, "finished")));
	if (result == NULL || mode == NULL || sum.finished == 0) {
		json_decref(o);
		return FT_E_PROTO;
	}
	sum.seconds = json_number_value(json_object_get(o, "seconds"));
	sum.held = strcmp(result, "held") == 0;
	sum.failed = !strcmp(result, "failed") || !strcmp(result, "errors");
	sum.applied = strcmp(mode, "apply") == 0;
	count_done(json_object_get(o, "actions"), &sum);
	count_planned(json_object_get(o, "counts"), &sum);
	json_decref(o);
	*ret = sum;
	return FT_OK;
}

/* " <n> <kind>" for each count of the report but none and skip, with
 * commas, into buf (cap bytes; cut when full: it is cleaned when shown). */
static void
counts_text(json_t *counts, char *buf, size_t cap)
{
	const char *key, *sep = "";
	size_t used = 0;
	json_t *v;
	int n;

	buf[0] = '\0';
	json_object_foreach(counts, key, v)
	{
		if (strcmp(key, "none") == 0 || strcmp(key, "skip") == 0 ||
		    json_integer_value(v) <= 0)
			continue;
		n = snprintf(buf + used, cap - used, "%s %lld %s", sep,
			     (long long)json_integer_value(v), key);
		if (n < 0 || (size_t)n >= cap - used)
			break;
		used += (size_t)n;
		sep = ",";
	}
	buf[used] = '\0';
}

/*
 * Open state_dir/reports (never through a symlink) for the status line;
 * -1 when there is none (errno ENOENT) or it cannot be opened.
 */
static int
open_reports(const char *state_dir)
{
	int sfd, rfd, saved;

	sfd = open(state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (sfd < 0)
		return -1;
	rfd = openat(sfd, "reports",
		     O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	saved = errno;
	(void)close(sfd);
	errno = saved;
	return rfd;
}

/* The actions of an applied run that failed (not waiting for a seat). */
static unsigned long
count_failed(json_t *actions)
{
	unsigned long n = 0;
	size_t i;
	json_t *a;

	json_array_foreach(actions, i, a)
	{
		json_t *ok = json_object_get(a, "ok");

		n += json_is_false(ok) &&
		     !json_is_true(json_object_get(a, "waiting_for_seat"));
	}
	return n;
}

/* One line of `status` for the last apply or dry run. */
static void
print_last(int rfd, int open_errno, const char *state_dir,
	   enum report_which which, FILE *out)
{
	const char *label = which == REPORT_APPLY ? "last apply:      "
						  : "last dry run:    ";
	char path[4096], counts[1024], failed[64] = "", run[64] = "";
	const char *result, *finished, *name, *why = "unreadable";
	json_t *root = NULL;
	unsigned long nfailed;
	int r;

	if (rfd < 0) {
		name = which == REPORT_APPLY ? REPORT_LAST_APPLY
					     : REPORT_LAST_DRY_RUN;
		r = open_errno == ENOENT ? FT_E_NOTFOUND : FT_E_IO;
		errno = open_errno;
	} else {
		r = read_last(rfd, which, &root, &name, &why);
	}
	(void)snprintf(path, sizeof(path), "%s/reports/%s", state_dir, name);
	if (r == FT_E_NOTFOUND || r == FT_E_PROTO) {
		ft_clean_print(out, "%snever (%s)", label, path);
		return;
	}
	if (r == FT_E_TOOBIG && strcmp(why, "too large") == 0) {
		ft_clean_print(out, "%sunreadable: larger than %zu bytes (%s)",
			       label, REPORT_READ_MAX, path);
		return;
	}
	if (r < 0) {
		ft_clean_print(out, "%sunreadable: %s (%s)", label,
			       r == FT_E_IO ? strerror(errno) : why, path);
		return;
	}
	result = json_string_value(json_object_get(root, "result"));
	finished = json_string_value(json_object_get(root, "finished"));
	counts_text(json_object_get(root, "counts"), counts, sizeof(counts));
	nfailed = count_failed(json_object_get(root, "actions"));
	if (nfailed > 0)
		(void)snprintf(failed, sizeof(failed), ", %lu failed", nfailed);
	if (json_string_value(json_object_get(root, "run")) != NULL)
		(void)snprintf(run, sizeof(run), ", run %s",
			       json_string_value(json_object_get(root, "run")));
	/* every field is the file's: the one cleaner shows them */
	ft_clean_print(out, "%s%s, %s:%s%s%s (%s)", label,
		       finished ? finished : "?", result ? result : "?",
		       counts[0] ? counts : " nothing to change", failed, run,
		       path);
	json_decref(root);
}

void
report_print_status(const char *state_dir, FILE *out)
{
	int rfd = open_reports(state_dir), saved = errno;

	print_last(rfd, saved, state_dir, REPORT_APPLY, out);
	print_last(rfd, saved, state_dir, REPORT_DRY_RUN, out);
	if (rfd >= 0)
		(void)close(rfd);
}
