/* SPDX-License-Identifier: Apache-2.0 */
/* report.c: reconcile reports and last-good.json, in JSON (jansson). */
#include "report.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ft_err.h"
#include "ft_util.h"

#define LAST_GOOD "last-good.json"

static json_t *
str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *
guards_json(const struct plan_recon *p)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; a && i < GUARD_COUNT; i++) {
		const struct plan_guard *g = &p->guard[i];

		json_array_append_new(a, json_pack("{s:s?, s:b, s:b, s:s}",
						   "name", g->name, "ok", g->ok,
						   "forceable", g->forceable,
						   "detail", g->detail));
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

	o = json_pack("{s:s, s:s?, s:s?, s:s?, s:s}", "action",
		      plan_kind_name(a->kind), "user", u ? u->username : NULL,
		      "id", a->ftrack ? a->ftrack->id : NULL, "dn",
		      a->ldap ? a->ldap->dn : NULL, "reason", a->reason);
	if (o != NULL && r->codes != NULL) {
		json_object_set_new(o, "ok",
				    json_boolean(r->codes[i] == FT_OK));
		json_object_set_new(o, "waiting_for_seat",
				    json_boolean(r->codes[i] == FT_E_SEAT));
		json_object_set_new(
			o, "error",
			r->codes[i] == FT_OK
				? json_null()
				: str_or_null(
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
		json_array_append_new(a, json_pack("{s:s, s:s}", "dn",
						   r->skipped[i].dn, "reason",
						   r->skipped[i].reason));
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
	json_object_set_new(o, "ldap",
			    json_pack("{s:I, s:I, s:I, s:I, s:s}", "entries",
				      (json_int_t)r->ldap_entries, "disabled",
				      (json_int_t)r->ldap_disabled, "skipped",
				      (json_int_t)r->ldap_skipped, "pages",
				      (json_int_t)r->ldap_pages, "error",
				      r->ldap_error ? r->ldap_error : ""));
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

static int
write_json(json_t *o, int dirfd, const char *name)
{
	char *text;
	int r;

	if (o == NULL)
		return FT_E_NOMEM;
	text = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(o);
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
	json_t *o = report_json(r);
	int e;

	if (o == NULL)
		return FT_E_NOMEM;
	e = json_dumpf(o, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(o);
	fputc('\n', out);
	return e == 0 ? FT_OK : FT_E_IO;
}

int
report_last_good_read(int dirfd, unsigned long *ret_n)
{
	json_error_t jerr;
	json_t *o, *v;
	int fd;

	*ret_n = 0;
	fd = openat(dirfd, LAST_GOOD, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? FT_OK : FT_E_PROTO;
	o = json_loadfd(fd, JSON_REJECT_DUPLICATES, &jerr);
	(void)close(fd);
	v = json_object_get(o, "population");
	if (!json_is_integer(v) || json_integer_value(v) < 0) {
		json_decref(o);
		return FT_E_PROTO;
	}
	*ret_n = (unsigned long)json_integer_value(v);
	json_decref(o);
	return FT_OK;
}

int
report_last_good_write(int dirfd, unsigned long n, const char *when)
{
	return write_json(json_pack("{s:I, s:s}", "population", (json_int_t)n,
				    "time", when),
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
	json_error_t jerr;
	const char *result, *mode;
	json_t *o;
	int fd;

	fd = openat(reports_dirfd, "last-reconcile.json",
		    O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? FT_E_NOTFOUND : FT_E_PROTO;
	o = json_loadfd(fd, JSON_REJECT_DUPLICATES, &jerr);
	(void)close(fd);
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

void
report_print_status(const char *state_dir, FILE *out)
{
	char path[4096];
	json_error_t jerr;
	json_t *root, *counts, *v;
	const char *key, *result, *finished;
	const char *sep = "";

	(void)snprintf(path, sizeof(path), "%s/reports/last-reconcile.json",
		       state_dir);
	root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		fprintf(out, "last reconcile:  never (%s)\n", path);
		return;
	}
	result = json_string_value(json_object_get(root, "result"));
	finished = json_string_value(json_object_get(root, "finished"));
	fprintf(out, "last reconcile:  %s, %s:", finished ? finished : "?",
		result ? result : "?");
	counts = json_object_get(root, "counts");
	json_object_foreach(counts, key, v)
	{
		if (strcmp(key, "none") != 0 && strcmp(key, "skip") != 0 &&
		    json_integer_value(v) > 0) {
			fprintf(out, "%s %lld %s", sep,
				(long long)json_integer_value(v), key);
			sep = ",";
		}
	}
	fprintf(out, "%s (%s)\n", *sep ? "" : " nothing to change", path);
	json_decref(root);
}
