/* SPDX-License-Identifier: Apache-2.0 */
/* report.c: reconcile reports and last-good.json, in JSON (jansson). */
#include "report.h"

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
#include "state.h"

#define LAST_GOOD      "last-good.json"
#define LAST_RECONCILE "last-reconcile.json"

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
	if (r->plan != NULL) {
		json_object_set_new(o, "guards", guards_json(r->plan));
		json_object_set_new(o, "counts", counts_json(r->plan));
	}
	json_object_set_new(o, "actions", actions_json(r));
	json_object_set_new(o, "skipped_entries", skipped_json(r));
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

int
report_read_summary(int reports_dirfd, struct report_summary *ret)
{
	struct report_summary sum;
	const char *result, *mode;
	json_t *o = NULL;
	int r;

	r = read_json(reports_dirfd, LAST_RECONCILE, REPORT_READ_MAX, &o, NULL);
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

void
report_print_status(const char *state_dir, FILE *out)
{
	char path[4096], counts[1024];
	const char *result, *finished, *why = "unreadable";
	json_t *root = NULL;
	int rfd, r;

	(void)snprintf(path, sizeof(path), "%s/reports/" LAST_RECONCILE,
		       state_dir);
	rfd = open_reports(state_dir);
	r = rfd < 0 ? (errno == ENOENT ? FT_E_NOTFOUND : FT_E_IO)
		    : read_json(rfd, LAST_RECONCILE, REPORT_READ_MAX, &root,
				&why);
	if (rfd >= 0)
		(void)close(rfd);
	if (r == FT_E_NOTFOUND || r == FT_E_PROTO) {
		ft_clean_print(out, "last reconcile:  never (%s)", path);
		return;
	}
	if (r == FT_E_TOOBIG && strcmp(why, "too large") == 0) {
		ft_clean_print(out,
			       "last reconcile:  unreadable: larger than %zu "
			       "bytes (%s)",
			       REPORT_READ_MAX, path);
		return;
	}
	if (r < 0) {
		ft_clean_print(out, "last reconcile:  unreadable: %s (%s)",
			       r == FT_E_IO ? strerror(errno) : why, path);
		return;
	}
	result = json_string_value(json_object_get(root, "result"));
	finished = json_string_value(json_object_get(root, "finished"));
	counts_text(json_object_get(root, "counts"), counts, sizeof(counts));
	/* every field is the file's: the one cleaner shows them */
	ft_clean_print(out, "last reconcile:  %s, %s:%s (%s)",
		       finished ? finished : "?", result ? result : "?",
		       counts[0] ? counts : " nothing to change", path);
	json_decref(root);
}
