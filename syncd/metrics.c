/* SPDX-License-Identifier: Apache-2.0 */
/* metrics.c: counters and gauges as Prometheus text (see metrics.h). */
#include "metrics.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ft_err.h"
#include "ft_util.h"

#define PREFIX   "ftrack_syncd_"
#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static const char *const drop_names[] = {"malformed", "rate_limited", "skipped",
					 "journal", "nonroot_rate"};
static const char *const action_names[] = {"created",     "updated",
					   "deactivated", "reactivated",
					   "deleted",     "linked"};
static const char *const kind_names[] = {"ldap", "ftrack", "data", "io"};
static const char *const run_names[] = {"apply", "dry_run"};
static const char *const change_names[] = {"create", "update",     "link",
					   "rename", "reactivate", "deactivate",
					   "delete"};

_Static_assert(NELEM(drop_names) == METRICS_DROP_COUNT, "drop names");
_Static_assert(NELEM(action_names) == METRICS_USER_COUNT, "action names");
_Static_assert(NELEM(kind_names) == METRICS_ERR_COUNT, "kind names");
_Static_assert(NELEM(run_names) == METRICS_RUN_COUNT, "run names");
_Static_assert(NELEM(change_names) == METRICS_CHANGE_COUNT, "change names");

/* A bounded text buffer; the first overflow sticks in err. */
struct out {
	char *buf;
	size_t cap;
	size_t len;
	int err;
};

/* Account for n bytes just formatted at o->buf + o->len. */
static void
advance(struct out *o, int n)
{
	if (o->err != FT_OK)
		return;
	if (n < 0 || (size_t)n >= o->cap - o->len) {
		o->err = FT_E_TOOBIG;
		o->buf[o->len] = '\0';
		return;
	}
	o->len += (size_t)n;
}

/* Where the next piece goes and how much room it has (always >= 1). */
#define AT(o) ((o)->buf + (o)->len), ((o)->cap - (o)->len)

static void
put_family(struct out *o, const char *name, const char *type, const char *help)
{
	advance(o, snprintf(AT(o), "# HELP " PREFIX "%s %s\n", name, help));
	advance(o, snprintf(AT(o), "# TYPE " PREFIX "%s %s\n", name, type));
}

/* One sample; label may be NULL (then no label set). */
static void
put_u(struct out *o, const char *name, const char *label, const char *value,
      unsigned long long v)
{
	if (label == NULL)
		advance(o, snprintf(AT(o), PREFIX "%s %llu\n", name, v));
	else
		advance(o, snprintf(AT(o), PREFIX "%s{%s=\"%s\"} %llu\n", name,
				    label, value, v));
}

static void
put_one(struct out *o, const char *name, const char *type, const char *help,
	unsigned long long v)
{
	put_family(o, name, type, help);
	put_u(o, name, NULL, NULL, v);
}

/* A labelled family: one sample per label value. */
static void
put_labelled(struct out *o, const char *name, const char *help,
	     const char *label, const char *const *values,
	     const unsigned long long *v, size_t n)
{
	size_t i;

	put_family(o, name, "counter", help);
	for (i = 0; i < n; i++)
		put_u(o, name, label, values[i], v[i]);
}

/* One sample of a double; labels: "" or a label set with its braces. */
static void
put_double(struct out *o, const char *name, const char *labels, double v)
{
	if (isnan(v))
		advance(o, snprintf(AT(o), PREFIX "%s%s NaN\n", name, labels));
	else if (isinf(v))
		advance(o, snprintf(AT(o), PREFIX "%s%s %sInf\n", name, labels,
				    v > 0 ? "+" : "-"));
	else
		advance(o,
			snprintf(AT(o), PREFIX "%s%s %.9g\n", name, labels, v));
}

static void
format_events(struct out *o, const struct metrics *m)
{
	put_one(o, "events_received_total", "counter",
		"Well-formed login events read from the socket (some are then "
		"dropped: forged, rate_limited, nonroot_rate, skipped).",
		m->events_received);
	put_one(o, "events_forged_total", "counter",
		"Login events dropped because the sender may not report that user.",
		m->events_forged);
	put_labelled(o, "events_dropped_total",
		     "Login events dropped, by reason.", "reason", drop_names,
		     m->events_dropped, METRICS_DROP_COUNT);
	put_one(o, "sender_lookups_total", "counter",
		"NSS (passwd) look-ups made to judge non-root senders.",
		m->sender_lookups);
	put_labelled(o, "user_changes_total",
		     "Changes made to ftrack users, by action.", "action",
		     action_names, m->user_changes, METRICS_USER_COUNT);
	put_labelled(o, "errors_total", "Errors, by kind.", "kind", kind_names,
		     m->errors, METRICS_ERR_COUNT);
	put_one(o, "http_requests_total", "counter",
		"HTTP requests sent to the ftrack server.", m->http_requests);
	put_one(o, "logins_not_ldap_total", "counter",
		"Logins looked up that are no LDAP user (not in LDAP, or "
		"disabled): nothing provisioned.",
		m->logins_not_ldap);
}

/* The last_reconcile_* families, one sample set per run label. */
static void
format_reconcile(struct out *o, const struct metrics *m)
{
	static const char *const results[] = {"ok", "held", "failed"};

	static const enum metrics_result codes[] = {
		METRICS_RESULT_OK, METRICS_RESULT_HELD, METRICS_RESULT_FAILED};

	char labels[64];
	size_t i, k;

	put_family(o, "last_reconcile_timestamp_seconds", "gauge",
		   "When the last reconcile ended (unix time), by run: apply "
		   "(the last --apply) or dry_run; 0: never.");
	for (k = 0; k < METRICS_RUN_COUNT; k++)
		advance(o, snprintf(AT(o),
				    PREFIX "last_reconcile_timestamp_seconds"
					   "{run=\"%s\"} %lld\n",
				    run_names[k], m->last_reconcile[k].time));
	put_family(o, "last_reconcile_duration_seconds", "gauge",
		   "How long the last reconcile took, by run.");
	for (k = 0; k < METRICS_RUN_COUNT; k++) {
		(void)snprintf(labels, sizeof(labels), "{run=\"%s\"}",
			       run_names[k]);
		put_double(o, "last_reconcile_duration_seconds", labels,
			   m->last_reconcile[k].duration);
	}
	put_family(o, "last_reconcile_result", "gauge",
		   "1 for the result of the last reconcile, by run; all 0: "
		   "never ran.");
	for (k = 0; k < METRICS_RUN_COUNT; k++)
		for (i = 0; i < NELEM(results); i++)
			advance(o, snprintf(AT(o),
					    PREFIX "last_reconcile_result"
						   "{run=\"%s\",result=\"%s\"} "
						   "%d\n",
					    run_names[k], results[i],
					    m->last_reconcile[k].result ==
						    codes[i]));
	put_family(o, "last_reconcile_changes", "gauge",
		   "Changes of the last reconcile, by run and action: made by "
		   "the apply, planned by the dry run.");
	for (k = 0; k < METRICS_RUN_COUNT; k++)
		for (i = 0; i < METRICS_CHANGE_COUNT; i++)
			advance(o, snprintf(AT(o),
					    PREFIX "last_reconcile_changes"
						   "{run=\"%s\",action=\"%s\"} "
						   "%llu\n",
					    run_names[k], change_names[i],
					    m->last_reconcile[k].changes[i]));
}

static void
format_state(struct out *o, const struct metrics *m)
{
	put_one(o, "queue_depth", "gauge", "Events waiting in the queue.",
		m->queue_depth);
	put_one(o, "queue_failed_depth", "gauge",
		"Files in queue/failed/ (permanent failures, damaged files).",
		m->failed_depth);
	format_reconcile(o, m);
	put_one(o, "ldap_up", "gauge", "1 when the last LDAP operation worked.",
		m->ldap_up ? 1 : 0);
	put_one(o, "ftrack_up", "gauge",
		"1 when the last ftrack request worked.", m->ftrack_up ? 1 : 0);
	put_one(o, "seat_waiting", "gauge",
		"Logins this daemon keeps waiting for a seat: ftrack kept the "
		"user inactive, or refused the write, for want of a free seat "
		"in the licence.",
		m->seat_waiting);
	put_one(o, "seat_refused_total", "counter",
		"On-demand writes that asked ftrack for a seat and got none.",
		m->seat_refused);
	put_one(o, "held_seats", "gauge",
		"Logins held in queue/held/ beyond a new_seats_per_host or "
		"new_seats_total cap.",
		m->held_seats);
	put_one(o, "held_total", "counter",
		"Logins held beyond a seat cap since the daemon started.",
		m->held);
}

void
metrics_label_value(char *out, size_t cap, const char *v)
{
	size_t o = 0;

	for (; *v != '\0' && o + 3 < cap && o < 512; v++) {
		if (*v == '\\' || *v == '"' || *v == '\n')
			out[o++] = '\\';
		if (*v == '\n')
			out[o++] = 'n';
		else
			out[o++] = *v;
	}
	out[o] = '\0';
}

static void
format_relay(struct out *o, const struct metrics *m)
{
	char v[1100];
	size_t i;

	if (!m->relay)
		return;
	put_one(o, "relay_forwarded_total", "counter",
		"Login events this relay forwarded that an upstream accepted.",
		m->relay_forwarded);
	put_one(o, "relay_invalid_total", "counter",
		"Login events an upstream refused as invalid (moved to "
		"queue/failed/).",
		m->relay_invalid);
	put_one(o, "relay_requests_total", "counter",
		"Requests this relay sent to its upstreams.",
		m->relay_requests);
	put_family(o, "relay_upstream_up", "gauge",
		   "1 when the last request to this upstream worked.");
	for (i = 0; i < m->relay_n && i < METRICS_RELAY_MAX; i++) {
		metrics_label_value(v, sizeof(v),
				    m->relay_url[i] != NULL ? m->relay_url[i]
							    : "");
		put_u(o, "relay_upstream_up", "upstream", v,
		      m->relay_up[i] ? 1 : 0);
	}
}

static void
format_hooks(struct out *o, const struct metrics *m)
{
	if (!m->hooks)
		return;
	put_one(o, "hook_pending", "gauge",
		"Applied changes waiting for the on_change hook.",
		m->hook_pending);
	put_one(o, "hook_pending_bytes", "gauge",
		"Bytes of the changes waiting for the on_change hook (and of "
		"those being written).",
		m->hook_pending_bytes);
	put_one(o, "hook_delivered_total", "counter",
		"Changes the on_change hook took (exit status 0).",
		m->hook_delivered);
	put_one(o, "hook_refused_total", "counter",
		"Runs of the on_change hook that failed or timed out.",
		m->hook_refused);
	put_one(o, "hook_failed_total", "counter",
		"Changes moved to hooks/failed/ after 10 refusals.",
		m->hook_failed);
	put_one(o, "hook_failed_depth", "gauge", "Files in hooks/failed/.",
		m->hook_failed_depth);
	put_one(o, "hook_dropped_total", "counter",
		"Changes not journaled for the hook (past the bound of pending "
		"bytes, or the journal failed).",
		m->hook_dropped);
}

static void
format_transform(struct out *o, const struct metrics *m)
{
	if (!m->transform)
		return;
	put_one(o, "transform_outages_total", "counter",
		"Calls of the transform program that failed as a whole (it "
		"could not start, exited or did not answer in time).",
		m->transform_outages);
	put_one(o, "transform_bad_answers_total", "counter",
		"Entries the transform program's answers made unusable.",
		m->transform_bad);
	put_one(o, "transform_failing", "gauge",
		"Transform outages in a row since the last call that worked.",
		m->transform_failing);
}

static void
format_groups(struct out *o, const struct metrics *m)
{
	if (!m->groups)
		return;
	put_family(o, "group_changes_total", "counter",
		   "Memberships added (group_add) and security roles given "
		   "(role_grant) by the login path.");
	put_u(o, "group_changes_total", "action", "group_add", m->group_added);
	put_u(o, "group_changes_total", "action", "role_grant",
	      m->role_granted);
	put_one(o, "group_name_failures_total", "counter",
		"Reads of the mapped ftrack group and role names that failed, "
		"and at each read the mapping lines it left unresolved.",
		m->group_failures);
	if (!m->group_names_read)
		return;
	put_one(o, "group_names_resolved", "gauge",
		"Mapping lines whose ftrack name resolved at the last read.",
		m->group_names_resolved);
	put_one(o, "group_names_missing", "gauge",
		"Mapping lines left out at the last read: no such name, an "
		"ambiguous name or a role of type API.",
		m->group_names_missing);
}

int
metrics_format(const struct metrics *m, char *buf, size_t cap, size_t *ret_len)
{
	struct out o = {buf, cap, 0, FT_OK};

	if (cap == 0)
		return FT_E_TOOBIG;
	buf[0] = '\0';
	format_events(&o, m);
	format_state(&o, m);
	format_relay(&o, m);
	format_hooks(&o, m);
	format_transform(&o, m);
	format_groups(&o, m);
	if (o.err != FT_OK)
		return o.err;
	*ret_len = o.len;
	return FT_OK;
}

int
metrics_sample(const char *text, size_t len, const char *name,
	       unsigned long long *ret)
{
	char want[128], num[32];
	const char *p = text, *end = text + len, *nl;
	int n = snprintf(want, sizeof(want), PREFIX "%s ", name);
	size_t wl, vl;

	if (n < 0 || (size_t)n >= sizeof(want))
		return FT_E_NOTFOUND;
	wl = (size_t)n;
	for (; p < end; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			nl = end;
		if ((size_t)(nl - p) <= wl || memcmp(p, want, wl) != 0)
			continue;
		vl = (size_t)(nl - p) - wl;
		if (vl >= sizeof(num))
			return FT_E_NOTFOUND;
		memcpy(num, p + wl, vl);
		num[vl] = '\0';
		return ft_parse_uint(num, ~0ULL, ret) == FT_OK ? FT_OK
							       : FT_E_NOTFOUND;
	}
	return FT_E_NOTFOUND;
}

enum metrics_error
metrics_error_kind(int ft_err)
{
	switch (ft_err) {
	case FT_E_LDAP_DOWN:
	case FT_E_LDAP:
	case FT_E_PARTIAL:
		return METRICS_ERR_LDAP;
	case FT_E_HTTP:
	case FT_E_AUTH:
	case FT_E_MALFORMED:
	case FT_E_SEAT:
		return METRICS_ERR_FTRACK;
	case FT_E_DATA:
	case FT_E_CONFLICT:
	case FT_E_PROTO:
	case FT_E_INVAL:
		return METRICS_ERR_DATA;
	default:
		return METRICS_ERR_IO;
	}
}

/* chmod the staging file through an fd: never follows a symlink. */
static int
make_readable(int dirfd, const char *name)
{
	int fd, r = FT_OK, saved;

	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return FT_E_IO;
	if (fchmod(fd, 0644) < 0)
		r = FT_E_IO;
	saved = errno;
	(void)close(fd);
	errno = saved;
	return r;
}

int
metrics_write(const struct metrics *m, int dirfd, const char *name)
{
	char text[METRICS_TEXT_MAX];
	char stage[NAME_MAX + 1];
	size_t len = 0;
	int r, n;

	if (name == NULL || name[0] == '\0' || strchr(name, '/') != NULL)
		return FT_E_INVAL;
	n = snprintf(stage, sizeof(stage), ".%s.%ld.stage", name,
		     (long)getpid());
	if (n < 0 || (size_t)n >= sizeof(stage))
		return FT_E_INVAL;
	r = metrics_format(m, text, sizeof(text), &len);
	if (r < 0)
		return r;
	/* ft_write_atomic() makes 0600 files: stage, widen, then rename. */
	r = ft_write_atomic(dirfd, stage, text, len);
	if (r < 0)
		return r;
	r = make_readable(dirfd, stage);
	if (r == FT_OK && renameat(dirfd, stage, dirfd, name) < 0)
		r = FT_E_IO;
	if (r < 0) {
		int saved = errno;

		(void)unlinkat(dirfd, stage, 0);
		errno = saved;
		return r;
	}
	(void)fsync(dirfd);
	return FT_OK;
}
