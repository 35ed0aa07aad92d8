/* SPDX-License-Identifier: Apache-2.0 */
/*
 * check_metrics.c: syncd/metrics.c: the text parses line by line against
 * the Prometheus exposition format rules, carries the values given, and
 * is written atomically with mode 0644.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ft_err.h"
#include "harness.h"
#include "metrics.h"

Suite *metrics_suite(void);

#define FAMILIES_MAX 32
#define SAMPLES_MAX  64
#define LINE_MAX_LEN 512

struct family {
	char name[128];
	bool help;
	bool typed;
	bool counter;
	size_t samples;
};

struct parsed {
	struct family f[FAMILIES_MAX];
	size_t nf;
	char keys[SAMPLES_MAX][LINE_MAX_LEN];
	size_t nsamples;
	char line[LINE_MAX_LEN]; /* the line being checked */
};

static bool
is_alpha_(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Length of a metric name at p: [a-zA-Z_:][a-zA-Z0-9_:]* (0: none). */
static size_t
metric_name_len(const char *p)
{
	size_t n = 0;

	if (!is_alpha_(p[0]) && p[0] != ':')
		return 0;
	while (is_alpha_(p[n]) || is_digit(p[n]) || p[n] == ':')
		n++;
	return n;
}

/* Length of a label name at p: [a-zA-Z_][a-zA-Z0-9_]* (0: none). */
static size_t
label_name_len(const char *p)
{
	size_t n = 0;

	if (!is_alpha_(p[0]))
		return 0;
	while (is_alpha_(p[n]) || is_digit(p[n]))
		n++;
	return n;
}

/* Give up on the text with why when cond does not hold. */
#define REQUIRE(cond, why)                                                     \
	do {                                                                   \
		if (!(cond))                                                   \
			return (why);                                          \
	} while (0)

static struct family *
family(struct parsed *ps, const char *name, size_t len, bool create)
{
	size_t i;

	for (i = 0; i < ps->nf; i++) {
		if (strlen(ps->f[i].name) == len &&
		    memcmp(ps->f[i].name, name, len) == 0)
			return &ps->f[i];
	}
	if (!create || ps->nf == FAMILIES_MAX || len >= sizeof(ps->f[0].name))
		return NULL;
	memcpy(ps->f[ps->nf].name, name, len);
	ps->f[ps->nf].name[len] = '\0';
	return &ps->f[ps->nf++];
}

/* "# HELP name text" or "# TYPE name counter|gauge". */
static const char *
parse_comment(struct parsed *ps, const char *line)
{
	bool help = strncmp(line, "# HELP ", 7) == 0;
	const char *p = line + 7;
	struct family *f;
	size_t n;

	REQUIRE(help || strncmp(line, "# TYPE ", 7) == 0, "unknown comment");
	n = metric_name_len(p);
	REQUIRE(n > 0 && p[n] == ' ' && p[n + 1] != '\0', "bad HELP/TYPE");
	f = family(ps, p, n, true);
	REQUIRE(f != NULL, "too many metrics");
	REQUIRE(f->samples == 0, "HELP/TYPE after samples");
	if (help) {
		REQUIRE(!f->help, "second HELP");
		f->help = true;
		return NULL;
	}
	REQUIRE(!f->typed, "second TYPE");
	REQUIRE(strcmp(p + n + 1, "counter") == 0 ||
			strcmp(p + n + 1, "gauge") == 0,
		"unknown type");
	f->typed = true;
	f->counter = strcmp(p + n + 1, "counter") == 0;
	return NULL;
}

/* p after '{'; returns the character after '}' or NULL on bad syntax. */
static const char *
parse_labels(const char *p)
{
	for (;;) {
		size_t n = label_name_len(p);

		if (n == 0 || p[n] != '=' || p[n + 1] != '"')
			return NULL;
		for (p += n + 2; *p != '"'; p++) {
			if (*p == '\0' || *p == '\n')
				return NULL;
			if (*p == '\\' && p[1] != '\\' && p[1] != '"' &&
			    p[1] != 'n')
				return NULL;
			if (*p == '\\')
				p++;
		}
		p++;
		if (*p == '}')
			return p + 1;
		if (*p != ',')
			return NULL;
		p++;
	}
}

static bool
value_ok(const char *v)
{
	char *end;
	size_t i;

	if (strcmp(v, "NaN") == 0 || strcmp(v, "+Inf") == 0 ||
	    strcmp(v, "-Inf") == 0)
		return true;
	for (i = 0; v[i] != '\0'; i++) {
		if (!is_digit(v[i]) && strchr(".eE+-", v[i]) == NULL)
			return false;
	}
	errno = 0;
	(void)strtod(v, &end);
	return i > 0 && *end == '\0' && errno == 0;
}

static const char *
parse_sample(struct parsed *ps, const char *line)
{
	size_t n = metric_name_len(line), klen, i;
	const char *p = line + n;
	struct family *f;

	REQUIRE(n > 0, "bad metric name");
	f = family(ps, line, n, false);
	REQUIRE(f != NULL && f->typed && f->help,
		"sample without HELP and TYPE before it");
	if (*p == '{')
		p = parse_labels(p + 1);
	REQUIRE(p != NULL, "bad labels");
	REQUIRE(*p == ' ' && value_ok(p + 1), "bad value");
	klen = (size_t)(p - line);
	for (i = 0; i < ps->nsamples; i++)
		REQUIRE(strlen(ps->keys[i]) != klen ||
				memcmp(ps->keys[i], line, klen) != 0,
			"duplicate sample");
	REQUIRE(ps->nsamples < SAMPLES_MAX && klen < LINE_MAX_LEN,
		"too many samples");
	memcpy(ps->keys[ps->nsamples], line, klen);
	ps->keys[ps->nsamples++][klen] = '\0';
	f->samples++;
	return NULL;
}

static const char *
check_families(const struct parsed *ps)
{
	size_t i;

	for (i = 0; i < ps->nf; i++) {
		const struct family *f = &ps->f[i];
		size_t nl = strlen(f->name);
		bool total = nl > 6 && strcmp(f->name + nl - 6, "_total") == 0;

		REQUIRE(f->help && f->typed && f->samples > 0,
			"metric without HELP, TYPE or samples");
		REQUIRE(strncmp(f->name, "ftrack_syncd_", 13) == 0,
			"no ftrack_syncd_ prefix");
		REQUIRE(f->counter == total, "counter iff _total");
	}
	return NULL;
}

/* Check the exposition rules over the whole text; NULL when it passes. */
static const char *
check_text(const char *text, size_t len, struct parsed *ps)
{
	size_t pos = 0;

	memset(ps, 0, sizeof(*ps));
	REQUIRE(len > 0 && strlen(text) == len, "empty or NUL inside");
	REQUIRE(text[len - 1] == '\n', "no final newline");
	while (pos < len) {
		const char *nl = strchr(text + pos, '\n'), *why;
		size_t l = (size_t)(nl - (text + pos));

		REQUIRE(l > 0, "empty line");
		REQUIRE(l < sizeof(ps->line), "line too long");
		memcpy(ps->line, text + pos, l);
		ps->line[l] = '\0';
		if (ps->line[0] == '#')
			why = parse_comment(ps, ps->line);
		else
			why = parse_sample(ps, ps->line);
		if (why != NULL)
			return why;
		pos += l + 1;
	}
	ps->line[0] = '\0';
	return check_families(ps);
}

static void
parse_text(const char *text, size_t len, struct parsed *ps)
{
	const char *why = check_text(text, len, ps);

	ck_assert_msg(why == NULL, "%s: '%s'", why, ps->line);
}

/* Texts the checker must refuse: it is able to fail. */
static const char *const bad_texts[] = {
	"",
	"# HELP ftrack_syncd_a h\n# TYPE ftrack_syncd_a gauge\nftrack_syncd_a 1",
	"# TYPE ftrack_syncd_a gauge\nftrack_syncd_a 1\n",
	"# HELP ftrack_syncd_a h\nftrack_syncd_a 1\n",
	"# HELP ftrack_syncd_a h\nftrack_syncd_a 1\n# TYPE ftrack_syncd_a gauge\n",
	"# HELP ftrack_syncd_a h\n# TYPE ftrack_syncd_a gauge\n\nftrack_syncd_a 1\n",
	"# HELP 9a h\n# TYPE 9a gauge\n9a 1\n",
	"# HELP ftrack_syncd_a h\n# TYPE ftrack_syncd_a gauge\nftrack_syncd_a{k=v} 1\n",
	"# HELP ftrack_syncd_a h\n# TYPE ftrack_syncd_a gauge\nftrack_syncd_a{k=\"v\" 1\n",
	"# HELP ftrack_syncd_a h\n# TYPE ftrack_syncd_a gauge\nftrack_syncd_a{9k=\"v\"} 1\n",
	"# HELP ftrack_syncd_a h\n# TYPE ftrack_syncd_a gauge\nftrack_syncd_a{k=\"\\x\"} 1\n",
	"# HELP ftrack_syncd_a h\n# TYPE ftrack_syncd_a gauge\nftrack_syncd_a 1,5\n",
	"# HELP ftrack_syncd_a h\n# TYPE ftrack_syncd_a gauge\nftrack_syncd_a abc\n",
	"# HELP ftrack_syncd_a h\n# TYPE ftrack_syncd_a gauge\nftrack_syncd_a \n",
	"# HELP ftrack_syncd_a h\n# TYPE ftrack_syncd_a gauge\nftrack_syncd_a  1\n",
	"# HELP ftrack_syncd_a h\n# TYPE ftrack_syncd_a counter\nftrack_syncd_a 1\n",
	"# HELP ftrack_syncd_a_total h\n# TYPE ftrack_syncd_a_total gauge\nftrack_syncd_a_total 1\n",
	"# HELP ftrack_syncd_a h\n# TYPE ftrack_syncd_a gauge\nftrack_syncd_a 1\nftrack_syncd_a 2\n",
	"# HELP ftrack_syncd_a h\n# TYPE ftrack_syncd_a gauge\n# TYPE ftrack_syncd_a gauge\nftrack_syncd_a 1\n",
	"# HELP ftrack_syncd_a h\n# TYPE ftrack_syncd_a histogram\nftrack_syncd_a 1\n",
	"# HELP ftrack_syncd_a h\n# TYPE ftrack_syncd_a gauge\n# other\nftrack_syncd_a 1\n",
	"# HELP other h\n# TYPE other gauge\nother 1\n",
	"# HELP ftrack_syncd_a h\n# TYPE ftrack_syncd_a gauge\n",
};

START_TEST(test_checker_rejects)
{
	const char *t = bad_texts[_i];
	struct parsed ps;

	ck_assert_ptr_nonnull(check_text(t, strlen(t), &ps));
}

END_TEST

START_TEST(test_checker_accepts)
{
	static const char ok[] =
		"# HELP ftrack_syncd_a_total h\n"
		"# TYPE ftrack_syncd_a_total counter\n"
		"ftrack_syncd_a_total{k=\"v\\\"\\\\\\n\",k2=\"\"} 1.5e3\n"
		"ftrack_syncd_a_total{k=\"w\"} NaN\n"
		"# HELP ftrack_syncd_b h\n"
		"# TYPE ftrack_syncd_b gauge\n"
		"ftrack_syncd_b -Inf\n";
	struct parsed ps;

	ck_assert_ptr_null(check_text(ok, strlen(ok), &ps));
	ck_assert_uint_eq(ps.nf, 2);
	ck_assert_uint_eq(ps.nsamples, 3);
}

END_TEST

/* The value of the sample named exactly key (name plus labels). */
static double
value(const char *text, const char *key)
{
	size_t kl = strlen(key);
	const char *p = text;

	while (p != NULL && *p != '\0') {
		if (strncmp(p, key, kl) == 0 && p[kl] == ' ')
			return strtod(p + kl + 1, NULL);
		p = strchr(p, '\n');
		if (p != NULL)
			p++;
	}
	ck_abort_msg("no sample %s", key);
	return -1;
}

static void
format(const struct metrics *m, char *buf, size_t cap, size_t *len,
       struct parsed *ps)
{
	ck_assert_int_eq(metrics_format(m, buf, cap, len), FT_OK);
	parse_text(buf, *len, ps);
}

static struct metrics
sample_metrics(void)
{
	struct metrics m;
	size_t i;

	memset(&m, 0, sizeof(m));
	m.events_received = 1001;
	m.events_forged = 3;
	for (i = 0; i < METRICS_DROP_COUNT; i++)
		m.events_dropped[i] = 10 + i;
	m.sender_lookups = 42;
	for (i = 0; i < METRICS_USER_COUNT; i++)
		m.user_changes[i] = 100 + i;
	for (i = 0; i < METRICS_ERR_COUNT; i++)
		m.errors[i] = 20 + i;
	m.http_requests = 77;
	m.queue_depth = 5;
	m.failed_depth = 2;
	m.last_reconcile[METRICS_RUN_APPLY].time = 1700000000;
	m.last_reconcile[METRICS_RUN_APPLY].duration = 12.5;
	m.last_reconcile[METRICS_RUN_APPLY].result = METRICS_RESULT_HELD;
	m.last_reconcile[METRICS_RUN_DRY].time = 1700003600;
	m.last_reconcile[METRICS_RUN_DRY].duration = 3.25;
	m.last_reconcile[METRICS_RUN_DRY].result = METRICS_RESULT_OK;
	for (i = 0; i < METRICS_CHANGE_COUNT; i++) {
		m.last_reconcile[METRICS_RUN_APPLY].changes[i] = 30 + i;
		m.last_reconcile[METRICS_RUN_DRY].changes[i] = 40 + i;
	}
	m.ldap_up = true;
	m.ftrack_up = false;
	m.seat_waiting = 4;
	m.seat_refused = 9;
	m.logins_not_ldap = 31;
	return m;
}

#define P "ftrack_syncd_"

START_TEST(test_format_valid)
{
	struct metrics m = sample_metrics();
	char buf[METRICS_TEXT_MAX];
	struct parsed ps;
	size_t len;

	format(&m, buf, sizeof(buf), &len, &ps);
	ck_assert_uint_eq(ps.nf, 20);
	ck_assert(value(buf, P "events_received_total") == 1001);
	ck_assert(value(buf, P "events_forged_total") == 3);
	ck_assert(value(buf, P "events_dropped_total{reason=\"malformed\"}") ==
		  10);
	ck_assert(value(buf, P
			"events_dropped_total{reason=\"rate_limited\"}") == 11);
	ck_assert(value(buf, P "events_dropped_total{reason=\"journal\"}") ==
		  13);
	ck_assert(value(buf, P
			"events_dropped_total{reason=\"nonroot_rate\"}") == 14);
	ck_assert(value(buf, P "sender_lookups_total") == 42);
	ck_assert(value(buf, P "user_changes_total{action=\"created\"}") ==
		  100);
	ck_assert(value(buf, P "user_changes_total{action=\"linked\"}") == 105);
	ck_assert(value(buf, P "user_changes_total{action=\"deleted\"}") ==
		  104);
	ck_assert(value(buf, P "errors_total{kind=\"ldap\"}") == 20);
	ck_assert(value(buf, P "errors_total{kind=\"io\"}") == 23);
	ck_assert(value(buf, P "http_requests_total") == 77);
	ck_assert(value(buf, P "queue_depth") == 5);
	ck_assert(value(buf, P "queue_failed_depth") == 2);
	/* the held apply is not hidden by the later dry run */
	ck_assert(value(buf, P "last_reconcile_timestamp_seconds"
			       "{run=\"apply\"}") == 1700000000.0);
	ck_assert(value(buf, P "last_reconcile_timestamp_seconds"
			       "{run=\"dry_run\"}") == 1700003600.0);
	ck_assert(value(buf, P "last_reconcile_duration_seconds"
			       "{run=\"apply\"}") == 12.5);
	ck_assert(value(buf, P "last_reconcile_duration_seconds"
			       "{run=\"dry_run\"}") == 3.25);
	ck_assert(value(buf, P "last_reconcile_result"
			       "{run=\"apply\",result=\"held\"}") == 1);
	ck_assert(value(buf, P "last_reconcile_result"
			       "{run=\"apply\",result=\"ok\"}") == 0);
	ck_assert(value(buf, P "last_reconcile_result"
			       "{run=\"apply\",result=\"failed\"}") == 0);
	ck_assert(value(buf, P "last_reconcile_result"
			       "{run=\"dry_run\",result=\"ok\"}") == 1);
	ck_assert(value(buf, P "last_reconcile_result"
			       "{run=\"dry_run\",result=\"held\"}") == 0);
	ck_assert(value(buf, P "last_reconcile_changes"
			       "{run=\"apply\",action=\"create\"}") == 30);
	ck_assert(value(buf, P "last_reconcile_changes"
			       "{run=\"apply\",action=\"delete\"}") == 36);
	ck_assert(value(buf,
			P "last_reconcile_changes"
			  "{run=\"dry_run\",action=\"deactivate\"}") == 45);
	ck_assert(value(buf, P "ldap_up") == 1);
	ck_assert(value(buf, P "ftrack_up") == 0);
	ck_assert(value(buf, P "seat_waiting") == 4);
	ck_assert(value(buf, P "seat_refused_total") == 9);
	ck_assert_ptr_nonnull(strstr(buf, "# TYPE " P "seat_waiting gauge\n"));
	ck_assert_ptr_nonnull(
		strstr(buf, "# TYPE " P "seat_refused_total counter\n"));
	ck_assert(value(buf, P "logins_not_ldap_total") == 31);
	ck_assert_ptr_nonnull(
		strstr(buf, "# TYPE " P "logins_not_ldap_total counter\n"));
}

END_TEST

/* [hooks] on_change set: its seven families, with every value extreme. */
START_TEST(test_format_hooks)
{
	struct metrics m = sample_metrics();
	char buf[METRICS_TEXT_MAX];
	struct parsed ps;
	size_t len;

	format(&m, buf, sizeof(buf), &len, &ps);
	ck_assert_ptr_null(strstr(buf, P "hook_"));
	m.hooks = true;
	m.hook_pending = 3;
	m.hook_pending_bytes = ULLONG_MAX;
	m.hook_delivered = 40;
	m.hook_refused = 2;
	m.hook_failed = 1;
	m.hook_failed_depth = 1;
	m.hook_dropped = 7;
	format(&m, buf, sizeof(buf), &len, &ps);
	ck_assert_uint_eq(ps.nf, 27);
	ck_assert(value(buf, P "hook_pending") == 3);
	ck_assert_ptr_nonnull(strstr(buf, P "hook_pending_bytes "
					    "18446744073709551615\n"));
	ck_assert(value(buf, P "hook_delivered_total") == 40);
	ck_assert(value(buf, P "hook_refused_total") == 2);
	ck_assert(value(buf, P "hook_failed_total") == 1);
	ck_assert(value(buf, P "hook_failed_depth") == 1);
	ck_assert(value(buf, P "hook_dropped_total") == 7);
	ck_assert_ptr_nonnull(strstr(buf, "# TYPE " P "hook_pending gauge\n"));
	ck_assert_ptr_nonnull(
		strstr(buf, "# TYPE " P "hook_failed_total counter\n"));
}

END_TEST

/* [group_map] or [role_map] set: the login path's counters, and the two
 * gauges once the names were read. */
START_TEST(test_format_groups)
{
	struct metrics m = sample_metrics();
	char buf[METRICS_TEXT_MAX];
	struct parsed ps, none;
	size_t len;

	format(&m, buf, sizeof(buf), &len, &none);
	ck_assert_ptr_null(strstr(buf, P "group_"));
	m.groups = true;
	m.group_added = 12;
	m.role_granted = 5;
	m.group_failures = ULLONG_MAX;
	m.group_names_resolved = 3;
	m.group_names_missing = 1;
	format(&m, buf, sizeof(buf), &len, &ps);
	ck_assert_uint_eq(ps.nf, none.nf + 2);
	ck_assert(value(buf, P "group_changes_total{action=\"group_add\"}") ==
		  12);
	ck_assert(value(buf, P "group_changes_total{action=\"role_grant\"}") ==
		  5);
	ck_assert_ptr_nonnull(strstr(buf, P "group_name_failures_total "
					    "18446744073709551615\n"));
	ck_assert_ptr_null(strstr(buf, P "group_names_resolved"));
	ck_assert_ptr_nonnull(
		strstr(buf, "# TYPE " P "group_changes_total counter\n"));
	m.group_names_read = true;
	format(&m, buf, sizeof(buf), &len, &ps);
	ck_assert_uint_eq(ps.nf, none.nf + 4);
	ck_assert(value(buf, P "group_names_resolved") == 3);
	ck_assert(value(buf, P "group_names_missing") == 1);
	ck_assert_ptr_nonnull(
		strstr(buf, "# TYPE " P "group_names_missing gauge\n"));
}

END_TEST

START_TEST(test_format_zero)
{
	struct metrics m;
	char buf[METRICS_TEXT_MAX];
	struct parsed ps;
	size_t len, i;

	memset(&m, 0, sizeof(m));
	format(&m, buf, sizeof(buf), &len, &ps);
	ck_assert_uint_eq(ps.nf, 20);
	ck_assert(value(buf, P "sender_lookups_total") == 0);
	ck_assert(value(buf, P "logins_not_ldap_total") == 0);
	ck_assert(value(buf, P "seat_waiting") == 0);
	for (i = 0; i < 2; i++) {
		const char *run = i ? "dry_run" : "apply";
		char key[160];

		H_FMT(key, P "last_reconcile_result{run=\"%s\",result=\"ok\"}",
		      run);
		ck_assert(value(buf, key) == 0);
		H_FMT(key,
		      P "last_reconcile_result{run=\"%s\",result=\"held\"}",
		      run);
		ck_assert(value(buf, key) == 0);
		H_FMT(key,
		      P "last_reconcile_result{run=\"%s\",result=\"failed\"}",
		      run);
		ck_assert(value(buf, key) == 0);
		H_FMT(key, P "last_reconcile_timestamp_seconds{run=\"%s\"}",
		      run);
		ck_assert(value(buf, key) == 0);
		H_FMT(key,
		      P "last_reconcile_changes{run=\"%s\",action=\"update\"}",
		      run);
		ck_assert(value(buf, key) == 0);
	}
	ck_assert(value(buf, P "errors_total{kind=\"ftrack\"}") == 0);
}

END_TEST

START_TEST(test_format_results)
{
	static const char *const keys[] = {
		P "last_reconcile_result{run=\"apply\",result=\"ok\"}",
		P "last_reconcile_result{run=\"apply\",result=\"held\"}",
		P "last_reconcile_result{run=\"apply\",result=\"failed\"}"};

	static const enum metrics_result res[] = {
		METRICS_RESULT_OK, METRICS_RESULT_HELD, METRICS_RESULT_FAILED};
	struct metrics m = sample_metrics();
	char buf[METRICS_TEXT_MAX];
	struct parsed ps;
	size_t len, i, j;

	for (i = 0; i < 3; i++) {
		m.last_reconcile[METRICS_RUN_APPLY].result = res[i];
		format(&m, buf, sizeof(buf), &len, &ps);
		for (j = 0; j < 3; j++)
			ck_assert(value(buf, keys[j]) == (i == j ? 1 : 0));
	}
}

END_TEST

START_TEST(test_format_extremes)
{
	static const double durations[] = {0.0, 1e-9, 12345.678, 1e300};
	struct metrics m = sample_metrics();
	char buf[METRICS_TEXT_MAX];
	struct parsed ps;
	size_t len, i;

	for (i = 0; i < METRICS_ERR_COUNT; i++)
		m.errors[i] = ULLONG_MAX;
	m.events_received = ULLONG_MAX;
	m.last_reconcile[METRICS_RUN_APPLY].time = LLONG_MAX;
	for (i = 0; i < sizeof(durations) / sizeof(durations[0]); i++) {
		m.last_reconcile[METRICS_RUN_APPLY].duration = durations[i];
		format(&m, buf, sizeof(buf), &len, &ps);
		ck_assert(fabs(value(buf, P "last_reconcile_duration_seconds"
					    "{run=\"apply\"}") -
			       durations[i]) <= 1e-8 * fabs(durations[i]));
	}
	ck_assert_ptr_nonnull(strstr(buf, P "events_received_total "
					    "18446744073709551615\n"));
	m.last_reconcile[METRICS_RUN_APPLY].duration = NAN;
	format(&m, buf, sizeof(buf), &len, &ps);
	ck_assert_ptr_nonnull(strstr(buf, P "last_reconcile_duration_seconds"
					    "{run=\"apply\"} NaN\n"));
	m.last_reconcile[METRICS_RUN_APPLY].duration = INFINITY;
	format(&m, buf, sizeof(buf), &len, &ps);
	ck_assert_ptr_nonnull(strstr(buf, P "last_reconcile_duration_seconds"
					    "{run=\"apply\"} +Inf\n"));
}

END_TEST

/* Held seats, and a relay's families: one upstream_up sample per URL. */
START_TEST(test_format_relay_and_held)
{
	struct metrics m = sample_metrics();
	char buf[METRICS_TEXT_MAX];
	struct parsed ps;
	size_t len;

	m.held_seats = 7;
	m.held = 9;
	format(&m, buf, sizeof(buf), &len, &ps);
	ck_assert(value(buf, P "held_seats") == 7);
	ck_assert(value(buf, P "held_total") == 9);
	ck_assert_ptr_null(strstr(buf, P "relay_upstream_up"));
	m.relay = true;
	m.relay_forwarded = 12;
	m.relay_n = 2;
	m.relay_url[0] = "https://prov1.example.com:8443";
	m.relay_url[1] = "https://prov2.example.com:8443/\"x\\";
	m.relay_up[0] = false;
	m.relay_up[1] = true;
	format(&m, buf, sizeof(buf), &len, &ps);
	ck_assert(value(buf, P "relay_forwarded_total") == 12);
	ck_assert(value(buf, P
			"relay_upstream_up"
			"{upstream=\"https://prov1.example.com:8443\"}") == 0);
	ck_assert(
		value(buf, P
		      "relay_upstream_up"
		      "{upstream=\"https://prov2.example.com:8443/\\\"x\\\\\"}") ==
		1);
	ck_assert_ptr_nonnull(
		strstr(buf, "# TYPE " P "relay_upstream_up gauge\n"));
}

END_TEST

/* Label values: '\', '"' and a line feed escaped; bounded by cap. */
START_TEST(test_label_value)
{
	char out[16];

	metrics_label_value(out, sizeof(out), "*.ws.example.com");
	ck_assert_str_eq(out, "*.ws.example."); /* cut: room for an escape */
	metrics_label_value(out, sizeof(out), "a\"b\\c\nd");
	ck_assert_str_eq(out, "a\\\"b\\\\c\\nd");
	metrics_label_value(out, sizeof(out), "");
	ck_assert_str_eq(out, "");
}

END_TEST

START_TEST(test_format_toobig)
{
	struct metrics m = sample_metrics();
	char buf[METRICS_TEXT_MAX], small[METRICS_TEXT_MAX];
	size_t len, len2 = 0, cap;

	ck_assert_int_eq(metrics_format(&m, buf, sizeof(buf), &len), FT_OK);
	for (cap = 0; cap <= len; cap++) {
		ck_assert_int_eq(metrics_format(&m, small, cap, &len2),
				 FT_E_TOOBIG);
		if (cap > 0)
			ck_assert_ptr_nonnull(memchr(small, '\0', cap));
	}
	ck_assert_uint_eq(len2, 0); /* not written on failure */
	ck_assert_int_eq(metrics_format(&m, small, len + 1, &len2), FT_OK);
	ck_assert_uint_eq(len2, len);
	ck_assert_str_eq(small, buf);
}

END_TEST

struct kind_row {
	int err;
	enum metrics_error kind;
};

static const struct kind_row kind_rows[] = {
	{FT_E_LDAP_DOWN, METRICS_ERR_LDAP},
	{FT_E_LDAP, METRICS_ERR_LDAP},
	{FT_E_PARTIAL, METRICS_ERR_LDAP},
	{FT_E_HTTP, METRICS_ERR_FTRACK},
	{FT_E_AUTH, METRICS_ERR_FTRACK},
	{FT_E_MALFORMED, METRICS_ERR_FTRACK},
	{FT_E_SEAT, METRICS_ERR_FTRACK},
	{FT_E_DATA, METRICS_ERR_DATA},
	{FT_E_CONFLICT, METRICS_ERR_DATA},
	{FT_E_PROTO, METRICS_ERR_DATA},
	{FT_E_INVAL, METRICS_ERR_DATA},
	{FT_E_IO, METRICS_ERR_IO},
	{FT_E_NOMEM, METRICS_ERR_IO},
	{FT_E_INTERNAL, METRICS_ERR_IO},
};

START_TEST(test_error_kind)
{
	size_t i;

	for (i = 0; i < sizeof(kind_rows) / sizeof(kind_rows[0]); i++)
		ck_assert_int_eq(metrics_error_kind(kind_rows[i].err),
				 kind_rows[i].kind);
}

END_TEST

static char tmpdir[64];
static int dirfd_ = -1;

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void
setup(void)
{
	ck_assert_int_lt(snprintf(tmpdir, sizeof(tmpdir), "/tmp/ftm.XXXXXX"),
			 (int)sizeof(tmpdir));
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	dirfd_ = open(tmpdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ck_assert_int_ge(dirfd_, 0);
}

static void
teardown(void)
{
	if (dirfd_ >= 0)
		(void)close(dirfd_);
	dirfd_ = -1;
	(void)nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Names in the test folder, joined by ' ' into out. */
static void
listing(char *out, size_t cap)
{
	DIR *d = opendir(tmpdir);
	size_t used = 0;

	ck_assert_ptr_nonnull(d);
	out[0] = '\0';
	for (;;) {
		const struct dirent *de;
		int n;

		/* single-threaded test; readdir_r is obsolete */
		/* cppcheck-suppress readdirCalled */
		de = readdir(d);
		if (de == NULL)
			break;
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		n = snprintf(out + used, cap - used, "%s%s", used ? " " : "",
			     de->d_name);
		ck_assert(n > 0 && (size_t)n < cap - used);
		used += (size_t)n;
	}
	(void)closedir(d);
}

static size_t
slurp(const char *name, char *buf, size_t cap)
{
	int fd = openat(dirfd_, name, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	ck_assert_int_ge(fd, 0);
	n = read(fd, buf, cap - 1);
	ck_assert_int_ge(n, 0);
	buf[n] = '\0';
	(void)close(fd);
	return (size_t)n;
}

START_TEST(test_write)
{
	struct metrics m = sample_metrics();
	char want[METRICS_TEXT_MAX], got[METRICS_TEXT_MAX], names[256];
	struct stat st1, st2;
	size_t len;

	(void)umask(077); /* the mode must not depend on the umask */
	ck_assert_int_eq(metrics_write(&m, dirfd_, "metrics.prom"), FT_OK);
	ck_assert_int_eq(fstatat(dirfd_, "metrics.prom", &st1, 0), 0);
	ck_assert(S_ISREG(st1.st_mode));
	ck_assert_int_eq(st1.st_mode & 07777, 0644);
	ck_assert_int_eq(metrics_format(&m, want, sizeof(want), &len), FT_OK);
	ck_assert_uint_eq(slurp("metrics.prom", got, sizeof(got)), len);
	ck_assert_str_eq(got, want);
	listing(names, sizeof(names));
	ck_assert_str_eq(names, "metrics.prom"); /* no temp file left */
	/* a rewrite replaces the file whole (a new inode, renamed over) */
	m.queue_depth = 4242;
	ck_assert_int_eq(metrics_write(&m, dirfd_, "metrics.prom"), FT_OK);
	ck_assert_int_eq(fstatat(dirfd_, "metrics.prom", &st2, 0), 0);
	ck_assert_uint_ne(st1.st_ino, st2.st_ino);
	ck_assert_int_eq(st2.st_mode & 07777, 0644);
	slurp("metrics.prom", got, sizeof(got));
	ck_assert(value(got, P "queue_depth") == 4242);
	listing(names, sizeof(names));
	ck_assert_str_eq(names, "metrics.prom");
}

END_TEST

START_TEST(test_write_errors)
{
	struct metrics m = sample_metrics();
	char names[256];

	ck_assert_int_eq(metrics_write(&m, dirfd_, ""), FT_E_INVAL);
	ck_assert_int_eq(metrics_write(&m, dirfd_, "a/b"), FT_E_INVAL);
	ck_assert_int_eq(metrics_write(&m, dirfd_, NULL), FT_E_INVAL);
	errno = 0;
	ck_assert_int_eq(metrics_write(&m, -1, "metrics.prom"), FT_E_IO);
	ck_assert_int_eq(errno, EBADF);
	/* the target is a non-empty folder: rename fails, nothing left */
	ck_assert_int_eq(mkdirat(dirfd_, "busy", 0700), 0);
	ck_assert_int_eq(mkdirat(dirfd_, "busy/x", 0700), 0);
	ck_assert_int_eq(metrics_write(&m, dirfd_, "busy"), FT_E_IO);
	listing(names, sizeof(names));
	ck_assert_str_eq(names, "busy");
}

END_TEST

/* A reader polling the file while it is rewritten never misses it. */
static void
reader(void)
{
	char buf[METRICS_TEXT_MAX];
	int i;

	for (i = 0; i < 2000; i++) {
		int fd = openat(dirfd_, "metrics.prom", O_RDONLY | O_CLOEXEC);
		ssize_t n;

		if (fd < 0)
			_exit(1);
		n = read(fd, buf, sizeof(buf) - 1);
		(void)close(fd);
		if (n <= 0 || buf[n - 1] != '\n' ||
		    strncmp(buf, "# HELP ", 7) != 0)
			_exit(2);
	}
	_exit(0);
}

START_TEST(test_write_atomic_for_readers)
{
	struct metrics m = sample_metrics();
	int status = -1, i;
	pid_t pid;

	ck_assert_int_eq(metrics_write(&m, dirfd_, "metrics.prom"), FT_OK);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		reader();
	for (i = 0; i < 100; i++) {
		m.events_received = (unsigned long long)i;
		ck_assert_int_eq(metrics_write(&m, dirfd_, "metrics.prom"),
				 FT_OK);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "reader saw a missing or partial file (status %d)",
		      status);
}

END_TEST

Suite *
metrics_suite(void)
{
	Suite *s = suite_create("metrics");
	TCase *text = tcase_create("format");
	TCase *file = tcase_create("write");

	tcase_add_loop_test(text, test_checker_rejects, 0,
			    (int)(sizeof(bad_texts) / sizeof(bad_texts[0])));
	tcase_add_test(text, test_checker_accepts);
	tcase_add_test(text, test_format_valid);
	tcase_add_test(text, test_format_zero);
	tcase_add_test(text, test_format_groups);
	tcase_add_test(text, test_format_hooks);
	tcase_add_test(text, test_format_results);
	tcase_add_test(text, test_format_extremes);
	tcase_add_test(text, test_format_toobig);
	tcase_add_test(text, test_format_relay_and_held);
	tcase_add_test(text, test_label_value);
	tcase_add_test(text, test_error_kind);
	tcase_add_checked_fixture(file, setup, teardown);
	tcase_add_test(file, test_write);
	tcase_add_test(file, test_write_errors);
	tcase_add_test(file, test_write_atomic_for_readers);
	suite_add_tcase(s, text);
	suite_add_tcase(s, file);
	return s;
}
