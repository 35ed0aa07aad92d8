/* SPDX-License-Identifier: Apache-2.0 */
/* check_log.c: the daemon's log to stderr: levels, format, bounds. */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

Suite *log_suite(void);

/* ---- stderr captured in a temp file ------------------------------------ */

static FILE *cap;
static int saved_stderr = -1;

static void
capture_start(void)
{
	fflush(stderr);
	cap = tmpfile();
	ck_assert_ptr_nonnull(cap);
	saved_stderr = dup(STDERR_FILENO);
	ck_assert_int_ge(saved_stderr, 0);
	ck_assert_int_eq(dup2(fileno(cap), STDERR_FILENO), STDERR_FILENO);
}

/* Stop capturing; returns what was written (caller frees). */
static char *
capture_end(void)
{
	long len;
	char *text;

	fflush(stderr);
	ck_assert_int_eq(dup2(saved_stderr, STDERR_FILENO), STDERR_FILENO);
	(void)close(saved_stderr);
	saved_stderr = -1;
	len = ftell(cap);
	ck_assert_int_ge(len, 0);
	text = calloc(1, (size_t)len + 1);
	ck_assert_ptr_nonnull(text);
	rewind(cap);
	ck_assert_uint_eq(fread(text, 1, (size_t)len, cap), (size_t)len);
	(void)fclose(cap);
	cap = NULL;
	return text;
}

/* ---- levels ------------------------------------------------------------ */

struct level_case {
	int max_level, prio;
	const char *want; /* NULL: nothing written */
};

static const struct level_case level_cases[] = {
	{LOG_INFO, LOG_EMERG, "ftrack-syncd: error: m 1\n"},
	{LOG_INFO, LOG_ALERT, "ftrack-syncd: error: m 1\n"},
	{LOG_INFO, LOG_CRIT, "ftrack-syncd: error: m 1\n"},
	{LOG_INFO, LOG_ERR, "ftrack-syncd: error: m 1\n"},
	{LOG_INFO, LOG_WARNING, "ftrack-syncd: warning: m 1\n"},
	{LOG_INFO, LOG_NOTICE, "ftrack-syncd: notice: m 1\n"},
	{LOG_INFO, LOG_INFO, "ftrack-syncd: info: m 1\n"},
	{LOG_INFO, LOG_DEBUG, NULL},
	{LOG_DEBUG, LOG_DEBUG, "ftrack-syncd: debug: m 1\n"},
	{LOG_DEBUG, LOG_INFO, "ftrack-syncd: info: m 1\n"},
	{LOG_ERR, LOG_WARNING, NULL},
	{LOG_ERR, LOG_ERR, "ftrack-syncd: error: m 1\n"},
	{LOG_ERR, LOG_CRIT, "ftrack-syncd: error: m 1\n"},
	{LOG_WARNING, LOG_NOTICE, NULL},
	{LOG_WARNING, LOG_WARNING, "ftrack-syncd: warning: m 1\n"},
	{LOG_NOTICE, LOG_INFO, NULL},
	{LOG_NOTICE, LOG_NOTICE, "ftrack-syncd: notice: m 1\n"},
	{LOG_EMERG, LOG_ERR, NULL},
	{LOG_EMERG, LOG_EMERG, "ftrack-syncd: error: m 1\n"},
};

#define NLEVELS (sizeof(level_cases) / sizeof(level_cases[0]))

START_TEST(test_level)
{
	const struct level_case *c = &level_cases[_i];
	char *got;

	log_init("ftrack-syncd-test", true, c->max_level);
	ck_assert(log_enabled(c->prio) == (c->want != NULL));
	capture_start();
	log_msg(c->prio, "m %d", 1);
	got = capture_end();
	ck_assert_msg(strcmp(got, c->want ? c->want : "") == 0,
		      "level %d prio %d: got '%s'", c->max_level, c->prio, got);
	free(got);
}

END_TEST

/* The macros log at their level. */
START_TEST(test_macros)
{
	char *got;

	log_set(true, LOG_DEBUG);
	capture_start();
	log_error("unable to %s '%s': %s", "read", "x", "gone");
	log_warn("w%d", 2);
	log_info("i");
	log_debug("d %s", "last");
	got = capture_end();
	ck_assert_str_eq(got, "ftrack-syncd: error: unable to read 'x': gone\n"
			      "ftrack-syncd: warning: w2\n"
			      "ftrack-syncd: info: i\n"
			      "ftrack-syncd: debug: d last\n");
	free(got);
}

END_TEST

/* log_set changes the level at once, both ways. */
START_TEST(test_set_changes_level)
{
	char *got;

	log_set(true, LOG_ERR);
	capture_start();
	log_info("hidden");
	log_set(true, LOG_DEBUG);
	log_debug("shown");
	log_set(true, LOG_WARNING);
	log_debug("hidden");
	log_warn("shown too");
	got = capture_end();
	ck_assert_str_eq(got, "ftrack-syncd: debug: shown\n"
			      "ftrack-syncd: warning: shown too\n");
	free(got);
	ck_assert(!log_enabled(LOG_INFO));
	ck_assert(log_enabled(LOG_WARNING));
}

END_TEST

/* To syslog: nothing goes to stderr. */
START_TEST(test_syslog_target_not_stderr)
{
	char *got;

	log_set(false, LOG_DEBUG);
	capture_start();
	log_debug("check_log: a test message of ftrack-syncd's suite");
	got = capture_end();
	ck_assert_str_eq(got, "");
	free(got);
	log_set(true, LOG_INFO);
}

END_TEST

/* ---- format and bounds ------------------------------------------------- */

/* A message over the line buffer is cut, never overflowing, and marked
 * as cut (the cleaner's mark, "\\..."). */
START_TEST(test_long_message_truncated)
{
	static const size_t lens[] = {0, 1, 2046, 2047, 2048, 5000};
	size_t len = lens[_i], want = len < 2048 ? len : 2047;
	const char *prefix = "ftrack-syncd: info: ";
	const char *mark = len < 2048 ? "" : "\\...";
	char *msg = malloc(len + 1), *got;
	size_t i;

	ck_assert_ptr_nonnull(msg);
	for (i = 0; i < len; i++)
		msg[i] = (char)('a' + i % 26);
	msg[len] = '\0';
	log_set(true, LOG_INFO);
	capture_start();
	log_info("%s", msg);
	got = capture_end();
	ck_assert_uint_eq(strlen(got),
			  strlen(prefix) + want + strlen(mark) + 1);
	ck_assert(strncmp(got, prefix, strlen(prefix)) == 0);
	ck_assert(memcmp(got + strlen(prefix), msg, want) == 0);
	ck_assert(memcmp(got + strlen(prefix) + want, mark, strlen(mark)) == 0);
	ck_assert_int_eq(got[strlen(got) - 1], '\n');
	free(got);
	free(msg);
}

END_TEST

/* A '%' in an argument is text, not a format. */
START_TEST(test_percent_in_argument)
{
	char *got;

	log_set(true, LOG_INFO);
	capture_start();
	log_info("user '%s'", "%s%n%d");
	got = capture_end();
	ck_assert_str_eq(got, "ftrack-syncd: info: user '%s%n%d'\n");
	free(got);
}

END_TEST

/*
 * Every line is cleaned, whatever the caller passed (issue 12): escapes
 * that would retitle or clear root's terminal, C1 controls, bidi
 * overrides, a newline that would forge a second line, bad bytes.
 */
START_TEST(test_line_cleaned)
{
	char *got;

	log_set(true, LOG_INFO);
	capture_start();
	log_error("unable to create '%s': %s", "ev\x1b]0;pwned\x07il\x1b[2J",
		  "bad\xc2\x9b"
		  "31m\xe2\x80\xae\nftrack-syncd: info: forged\xff");
	got = capture_end();
	ck_assert_str_eq(got, "ftrack-syncd: error: unable to create "
			      "'ev\\x1b]0;pwned\\x07il\\x1b[2J': "
			      "bad\\u009b31m\\u202e\\nftrack-syncd: info: "
			      "forged\\xff\n");
	free(got);
}

END_TEST

/* ---- threads ----------------------------------------------------------- */

#define THREADS 4
#define LINES   300

static void *
writer(void *arg)
{
	long id = (long)arg;
	int i;

	for (i = 0; i < LINES; i++)
		log_info("thread %ld line %03d %s", id, i,
			 "padding-padding-padding-padding-padding-padding");
	return NULL;
}

/* Lines from several threads never interleave within a line. */
START_TEST(test_threads_whole_lines)
{
	pthread_t t[THREADS];
	int seen[THREADS] = {0};
	char *got, *line, *save = NULL;
	long i;

	log_set(true, LOG_INFO);
	capture_start();
	for (i = 0; i < THREADS; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, writer, (void *)i),
				 0);
	for (i = 0; i < THREADS; i++)
		ck_assert_int_eq(pthread_join(t[i], NULL), 0);
	got = capture_end();
	for (line = strtok_r(got, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		char want[160];
		int id = line[27] - '0';

		ck_assert_msg(
			strncmp(line, "ftrack-syncd: info: thread ", 27) == 0 &&
				id >= 0 && id < THREADS,
			"bad line '%s'", line);
		(void)snprintf(
			want, sizeof(want),
			"ftrack-syncd: info: thread %d line %03d %s", id,
			seen[id],
			"padding-padding-padding-padding-padding-padding");
		ck_assert_str_eq(line, want);
		seen[id]++;
	}
	for (i = 0; i < THREADS; i++)
		ck_assert_int_eq(seen[i], LINES);
	free(got);
}

END_TEST

Suite *
log_suite(void)
{
	Suite *s = suite_create("log");
	TCase *tc = tcase_create("stderr");

	tcase_add_loop_test(tc, test_level, 0, (int)NLEVELS);
	tcase_add_test(tc, test_macros);
	tcase_add_test(tc, test_set_changes_level);
	tcase_add_test(tc, test_syslog_target_not_stderr);
	tcase_add_loop_test(tc, test_long_message_truncated, 0, 6);
	tcase_add_test(tc, test_percent_in_argument);
	tcase_add_test(tc, test_line_cleaned);
	tcase_add_test(tc, test_threads_whole_lines);
	suite_add_tcase(s, tc);
	return s;
}
