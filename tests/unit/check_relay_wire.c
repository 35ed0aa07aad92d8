/* SPDX-License-Identifier: Apache-2.0 */
/* check_relay_wire.c: relay_wire.c: the batch body and the answer, by table. */
#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ft_err.h"
#include "relay_wire.h"

Suite *relay_wire_suite(void);

static struct ft_event
event(const char *user, const char *service, const char *rhost, const char *tty)
{
	struct ft_event ev;

	memset(&ev, 0, sizeof(ev));
	(void)snprintf(ev.user, sizeof(ev.user), "%s", user);
	(void)snprintf(ev.service, sizeof(ev.service), "%s", service);
	(void)snprintf(ev.rhost, sizeof(ev.rhost), "%s", rhost);
	(void)snprintf(ev.tty, sizeof(ev.tty), "%s", tty);
	return ev;
}

/* ---- encoding ---------------------------------------------------------- */

struct enc_case {
	struct ft_event ev;
	time_t when;
	const char *want; /* NULL: refused with r */
	int r;
};

static const struct enc_case enc_cases[] = {
	{{"alice", "sshd", "10.1.2.3", "ssh", ""},
	 1796288400,
	 "{\"events\":[{\"user\":\"alice\",\"service\":\"sshd\",\"rhost\":"
	 "\"10.1.2.3\",\"tty\":\"ssh\",\"time\":\"2026-12-03T09:00:00Z\"}]}",
	 FT_OK},
	/* empty optional fields and no time are left out */
	{{"bob", "", "", "", ""},
	 0,
	 "{\"events\":[{\"user\":\"bob\"}]}",
	 FT_OK},
	/* JSON escaping of what the datagram allows */
	{{"d\"q\\b", "gdm", "", "", ""},
	 0,
	 "{\"events\":[{\"user\":\"d\\\"q\\\\b\",\"service\":\"gdm\"}]}",
	 FT_OK},
	{{"\xc3\xa9lise", "", "", "", ""},
	 0,
	 "{\"events\":[{\"user\":\"\xc3\xa9lise\"}]}",
	 FT_OK},
	/* the datagram's rules hold: no user, a control, bad UTF-8 */
	{{"", "sshd", "", "", ""}, 0, NULL, FT_E_INVAL},
	{{"al\x01ice", "", "", "", ""}, 0, NULL, FT_E_INVAL},
	{{"bob", "ss\xffhd", "", "", ""}, 0, NULL, FT_E_INVAL},
};

START_TEST(test_encode)
{
	const struct enc_case *c = &enc_cases[_i];
	char *body = NULL;
	size_t len = 0;
	int r;

	r = relay_wire_encode(&c->ev, &c->when, 1, &body, &len);
	ck_assert_int_eq(r, c->want != NULL ? FT_OK : c->r);
	if (c->want == NULL) {
		ck_assert_ptr_null(body);
		ck_assert_uint_eq(relay_wire_event_size(&c->ev, c->when), 0);
		return;
	}
	ck_assert_str_eq(body, c->want);
	ck_assert_uint_eq(len, strlen(c->want));
	/* the size the batcher counts: the body of one event */
	ck_assert_uint_eq(RELAY_WIRE_FRAME - 1 +
				  relay_wire_event_size(&c->ev, c->when) - 1,
			  len);
	free(body);
}

END_TEST

/* Counts: 1..100 events; a body over 64 KiB is FT_E_TOOBIG. */
START_TEST(test_encode_bounds)
{
	static struct ft_event ev[RELAY_MAX_EVENTS + 1];
	char *body = NULL, big[FT_PROTO_VALUE_MAX + 1];
	size_t i, len = 0, total = RELAY_WIRE_FRAME;

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	for (i = 0; i <= RELAY_MAX_EVENTS; i++)
		ev[i] = event("user", big, big, big);
	ck_assert_int_eq(relay_wire_encode(ev, NULL, 0, &body, &len),
			 FT_E_INVAL);
	ck_assert_int_eq(
		relay_wire_encode(ev, NULL, RELAY_MAX_EVENTS + 1, &body, &len),
		FT_E_INVAL);
	/* 100 events of 3 full fields: over the body cap */
	ck_assert_int_eq(
		relay_wire_encode(ev, NULL, RELAY_MAX_EVENTS, &body, &len),
		FT_E_TOOBIG);
	ck_assert_ptr_null(body);
	/* as many as the sizes say fit: accepted, and within the cap */
	for (i = 0; total + relay_wire_event_size(&ev[i], 0) <= RELAY_MAX_BODY;
	     i++)
		total += relay_wire_event_size(&ev[i], 0);
	ck_assert_uint_gt(i, 10);
	ck_assert_int_eq(relay_wire_encode(ev, NULL, i, &body, &len), FT_OK);
	ck_assert_uint_le(len, RELAY_MAX_BODY);
	free(body);
	body = NULL;
	ck_assert_int_eq(relay_wire_encode(ev, NULL, i + 1, &body, &len),
			 FT_E_TOOBIG);
}

END_TEST

/* ---- decoding ---------------------------------------------------------- */

struct dec_case {
	const char *body;
	size_t n;
	int r;
	const char *want; /* results as letters: a, i, o */
	const char *why;  /* the first invalid's reason */
};

static const struct dec_case dec_cases[] = {
	{"{\"results\": [\"accepted\"]}", 1, FT_OK, "a", NULL},
	{"{\"results\": [\"accepted\", \"invalid: bad user\", \"later\"]}", 3,
	 FT_OK, "aio", "bad user"},
	/* other keys are ignored; a result of another kind is kept */
	{"{\"v\": 2, \"results\": [\"queued\", \"ACCEPTED\"], \"x\": {}}", 2,
	 FT_OK, "oo", NULL},
	{"{\"results\": [\"invalid: \"]}", 1, FT_OK, "i", "unknown"},
	{"{\"results\": [\"invalid:nospace\"]}", 1, FT_OK, "o", NULL},
	/* jansson refuses a NUL in a string: not JSON we read */
	{"{\"results\": [\"invalid: a\\u0000b\"]}", 1, FT_E_PROTO, NULL, NULL},
	/* not the shape: nothing is settled */
	{"{\"results\": [\"accepted\"]}", 2, FT_E_PROTO, NULL, NULL},
	{"{\"results\": [\"accepted\", \"accepted\"]}", 1, FT_E_PROTO, NULL,
	 NULL},
	{"{\"results\": [1]}", 1, FT_E_PROTO, NULL, NULL},
	{"{\"results\": \"accepted\"}", 1, FT_E_PROTO, NULL, NULL},
	{"[\"accepted\"]", 1, FT_E_PROTO, NULL, NULL},
	{"{\"results\": [\"accepted\"], \"results\": []}", 1, FT_E_PROTO, NULL,
	 NULL},
	{"{\"results\": [\"accepted\"", 1, FT_E_PROTO, NULL, NULL},
	{"", 1, FT_E_PROTO, NULL, NULL},
	{"<html>502 Bad Gateway</html>", 1, FT_E_PROTO, NULL, NULL},
};

START_TEST(test_decode)
{
	const struct dec_case *c = &dec_cases[_i];
	static struct relay_answer a;
	size_t i;
	int r;

	r = relay_wire_decode(c->body, strlen(c->body), c->n, &a);
	ck_assert_msg(r == c->r, "%s: %d", c->body, r);
	if (r != FT_OK)
		return;
	ck_assert_uint_eq(a.n, c->n);
	for (i = 0; i < c->n; i++) {
		enum relay_result want = c->want[i] == 'a'   ? RELAY_ACCEPTED
					 : c->want[i] == 'i' ? RELAY_INVALID
							     : RELAY_OTHER;

		ck_assert_int_eq(a.result[i], want);
		if (want == RELAY_INVALID && c->why != NULL) {
			ck_assert_str_eq(a.why[i], c->why);
			break;
		}
	}
}

END_TEST

/* A long reason is cut, never inside a UTF-8 sequence; the cap holds. */
START_TEST(test_decode_bounds)
{
	static char body[RELAY_MAX_ANSWER + 64];
	static struct relay_answer a;
	size_t n = 0, i;

	n += (size_t)snprintf(body, sizeof(body), "{\"results\": [\"invalid: ");
	for (i = 0; i < 200; i++)
		n += (size_t)snprintf(body + n, sizeof(body) - n, "\xc3\xa9");
	n += (size_t)snprintf(body + n, sizeof(body) - n, "\"]}");
	ck_assert_int_eq(relay_wire_decode(body, n, 1, &a), FT_OK);
	ck_assert_int_eq(a.result[0], RELAY_INVALID);
	ck_assert_uint_eq(strlen(a.why[0]), RELAY_WHY_MAX);
	memset(body, ' ', sizeof(body));
	ck_assert_int_eq(relay_wire_decode(body, RELAY_MAX_ANSWER + 1, 1, &a),
			 FT_E_TOOBIG);
	ck_assert_int_eq(relay_wire_decode("{}", 2, 0, &a), FT_E_INVAL);
	ck_assert_int_eq(relay_wire_decode("{}", 2, RELAY_MAX_EVENTS + 1, &a),
			 FT_E_INVAL);
}

END_TEST

Suite *
relay_wire_suite(void)
{
	Suite *s = suite_create("relay_wire");
	TCase *tc = tcase_create("relay_wire");

	tcase_add_loop_test(tc, test_encode, 0,
			    (int)(sizeof(enc_cases) / sizeof(enc_cases[0])));
	tcase_add_test(tc, test_encode_bounds);
	tcase_add_loop_test(tc, test_decode, 0,
			    (int)(sizeof(dec_cases) / sizeof(dec_cases[0])));
	tcase_add_test(tc, test_decode_bounds);
	suite_add_tcase(s, tc);
	return s;
}
