/* SPDX-License-Identifier: Apache-2.0 */
/* check_prov_wire.c: the relay's request body and the 202 answer. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ft_err.h"
#include "prov_wire.h"

Suite *prov_wire_suite(void);

#define HOST "host1.ws.example.com"

static struct prov_batch *
batch(void)
{
	struct prov_batch *b = calloc(1, sizeof(*b));

	ck_assert_ptr_nonnull(b);
	return b;
}

/* Bodies that are not that JSON, or too large: no event at all. */
static const struct {
	const char *body;
	int want;
} bad[] = {
	{"", FT_E_PROTO},
	{"nope", FT_E_PROTO},
	{"[]", FT_E_PROTO},
	{"{}", FT_E_PROTO},
	{"{\"events\": {}}", FT_E_PROTO},
	{"{\"events\": \"alice\"}", FT_E_PROTO},
	{"{\"events\": [], \"events\": []}", FT_E_PROTO}, /* duplicate key */
	{"{\"events\": [{\"user\": \"alice\"}]", FT_E_PROTO},
	{"{\"events\": [{\"user\": \"a\\u0000b\"}]}", FT_E_PROTO},
	{"{\"events\": []} trailing", FT_E_PROTO},
};

START_TEST(test_bad_body)
{
	struct prov_batch *b = batch();

	b->n = 77;
	ck_assert_int_eq(
		prov_wire_decode(bad[_i].body, strlen(bad[_i].body), HOST, b),
		bad[_i].want);
	ck_assert_uint_eq(b->n, 77); /* untouched */
	free(b);
}

END_TEST

/* One event each: valid (why NULL) or invalid with its reason. */
static const struct {
	const char *event;
	const char *why;
} events[] = {
	{"{\"user\": \"alice\"}", NULL},
	{"{\"user\": \"alice\", \"service\": \"sshd\", \"rhost\": "
	 "\"10.1.2.3\", \"tty\": \"ssh\", \"time\": \"2026-12-03T09:00:00Z\"}",
	 NULL},
	{"{\"user\": \"alice\", \"future_field\": [1, 2], \"host\": \"x\"}",
	 NULL},
	{"{\"user\": \"alice\", \"tty\": null}", NULL},
	{"{\"user\": \"J\\u00f6rg\"}", NULL},
	{"{}", "no user"},
	{"{\"user\": null}", "no user"},
	{"{\"user\": \"\"}", "an empty user"},
	{"{\"user\": 7}", "not a string"},
	{"{\"user\": \"alice\", \"service\": 1}", "not a string"},
	{"{\"user\": \"a\\nb\"}", "a value that is not text (UTF-8, no "
				  "controls)"},
	{"{\"user\": \"a\\u0085b\"}", "a value that is not text (UTF-8, no "
				      "controls)"},
	{"{\"user\": \"a\\u202eb\"}", NULL}, /* bidi: cleaned when logged */
	{"\"alice\"", "not an object"},
	{"[\"alice\"]", "not an object"},
};

START_TEST(test_event)
{
	struct prov_batch *b = batch();
	char body[1024];

	(void)snprintf(body, sizeof(body), "{\"events\": [%s]}",
		       events[_i].event);
	ck_assert_int_eq(prov_wire_decode(body, strlen(body), HOST, b), FT_OK);
	ck_assert_uint_eq(b->n, 1);
	if (events[_i].why == NULL) {
		ck_assert_ptr_null(b->item[0].why);
		ck_assert_str_eq(b->item[0].ev.host,
				 HOST); /* never the body's */
	} else {
		ck_assert_ptr_nonnull(b->item[0].why);
		ck_assert_str_eq(b->item[0].why, events[_i].why);
	}
	free(b);
}

END_TEST

START_TEST(test_fields_and_order)
{
	static const char body[] =
		"{\"events\": [{\"user\": \"alice\", \"service\": \"sshd\", "
		"\"rhost\": \"10.1.2.3\", \"tty\": \"ssh\"}, {\"user\": 1}, "
		"{\"user\": \"bob\"}]}";
	struct prov_batch *b = batch();
	char out[PROV_WIRE_ANSWER_MAX];
	size_t len;

	ck_assert_int_eq(prov_wire_decode(body, strlen(body), HOST, b), FT_OK);
	ck_assert_uint_eq(b->n, 3);
	ck_assert_str_eq(b->item[0].ev.user, "alice");
	ck_assert_str_eq(b->item[0].ev.service, "sshd");
	ck_assert_str_eq(b->item[0].ev.rhost, "10.1.2.3");
	ck_assert_str_eq(b->item[0].ev.tty, "ssh");
	ck_assert_str_eq(b->item[2].ev.user, "bob");
	ck_assert_str_eq(b->item[2].ev.service, "");
	ck_assert_int_eq(prov_wire_answer(b, out, sizeof(out), &len), FT_OK);
	ck_assert_str_eq(out, "{\"results\":[\"accepted\",\"invalid: not a "
			      "string\",\"accepted\"]}");
	ck_assert_uint_eq(len, strlen(out));
	ck_assert_int_eq(prov_wire_answer(b, out, 10, &len), FT_E_TOOBIG);
	free(b);
}

END_TEST

/* 100 events pass, 101 are too many; 64 KiB pass, one byte more not. */
START_TEST(test_limits)
{
	struct prov_batch *b = batch();
	char *body = malloc(PROV_WIRE_BODY_MAX + 2);
	char out[PROV_WIRE_ANSWER_MAX];
	size_t n, i, len;

	ck_assert_ptr_nonnull(body);
	for (i = 100; i <= 101; i++) {
		size_t k;

		n = (size_t)snprintf(body, 64, "{\"events\": [");
		for (k = 0; k < i; k++)
			n += (size_t)snprintf(body + n, 64,
					      "%s{\"user\": \"u\"}",
					      k > 0 ? "," : "");
		n += (size_t)snprintf(body + n, 64, "]}");
		ck_assert_int_eq(prov_wire_decode(body, n, HOST, b),
				 i == 100 ? FT_OK : FT_E_TOOBIG);
	}
	/* the answer of a full batch of the longest reason fits */
	for (i = 0; i < PROV_WIRE_EVENTS_MAX; i++)
		b->item[i].why =
			"a value that is not text (UTF-8, no controls)";
	b->n = PROV_WIRE_EVENTS_MAX;
	ck_assert_int_eq(prov_wire_answer(b, out, sizeof(out), &len), FT_OK);
	memset(body, ' ', PROV_WIRE_BODY_MAX + 1);
	memcpy(body, "{\"events\": []}", 14);
	ck_assert_int_eq(prov_wire_decode(body, PROV_WIRE_BODY_MAX, HOST, b),
			 FT_OK);
	ck_assert_int_eq(
		prov_wire_decode(body, PROV_WIRE_BODY_MAX + 1, HOST, b),
		FT_E_TOOBIG);
	free(body);
	free(b);
}

END_TEST

/* An event must fit a queue file with its host: else invalid, not 400. */
START_TEST(test_too_long_to_journal)
{
	struct prov_batch *b = batch();
	char body[2048], v[257];

	memset(v, 'x', 256);
	v[256] = '\0';
	(void)snprintf(body, sizeof(body),
		       "{\"events\": [{\"user\": \"%s\", \"service\": \"%s\", "
		       "\"rhost\": \"%s\", \"tty\": \"%s\"}]}",
		       v, v, v, v);
	ck_assert_int_eq(prov_wire_decode(body, strlen(body), HOST, b), FT_OK);
	ck_assert_str_eq(b->item[0].why, "too long to journal");
	v[0] = '\0';
	ck_assert_int_eq(prov_wire_decode("{\"events\": []}", 14, v, b),
			 FT_E_INVAL);
	free(b);
}

END_TEST

Suite *
prov_wire_suite(void)
{
	Suite *s = suite_create("prov_wire");
	TCase *tc = tcase_create("wire");

	tcase_add_loop_test(tc, test_bad_body, 0,
			    (int)(sizeof(bad) / sizeof(bad[0])));
	tcase_add_loop_test(tc, test_event, 0,
			    (int)(sizeof(events) / sizeof(events[0])));
	tcase_add_test(tc, test_fields_and_order);
	tcase_add_test(tc, test_limits);
	tcase_add_test(tc, test_too_long_to_journal);
	suite_add_tcase(s, tc);
	return s;
}
