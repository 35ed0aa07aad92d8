/* SPDX-License-Identifier: Apache-2.0 */
/* check_ftrack_reply.c: classifying replies, decoding users, markers, pages. */
#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ft_err.h"
#include "ft_user.h"
#include "ftrack_json.h"
#include "h_ftrack.h"
#include "http.h" /* HTTP_MAX_BODY: what the parser can be given */

Suite *ftrack_reply_suite(void);

#define ID1 "3f1c2a9e-4b7d-4e0a-9a51-0c2f7e6d8b11"

/* ---- classification ----------------------------------------------------- */

static const struct {
	const char *body;
	long status;
	size_t nops;
	int want;
	const char *exc;
	const char *err; /* a substring of the message */
} classify[] = {
	{"[{}]", 200, 1, FT_OK, "", ""},
	{"[]", 200, 0, FT_OK, "", ""},
	{"[{},{}]", 200, 2, FT_OK, "", ""},
	{"[{}]", 200, 2, FT_E_MALFORMED, "", "1 results for 2 operations"},
	{"[{},{}]", 200, 1, FT_E_MALFORMED, "", "2 results"},
	{"{\"exception\":\"InvalidCredentialsError\",\"content\":\"The supplied "
	 "API key is not valid.\",\"error_code\":null}",
	 401, 1, FT_E_AUTH, "InvalidCredentialsError",
	 "InvalidCredentialsError: The supplied API key is not valid."},
	{"{\"exception\":\"InvalidCredentialsError\",\"content\":\"bad key\"}",
	 200, 1, FT_E_AUTH, "InvalidCredentialsError", "bad key"},
	{"{\"exception\":\"FTAuthenticationError\",\"content\":\"x\"}", 401, 1,
	 FT_E_AUTH, "FTAuthenticationError", ""},
	{"{\"exception\":\"PermissionError\",\"content\":\"Permission denied: "
	 "cannot create User.\"}",
	 403, 1, FT_E_AUTH, "PermissionError", "cannot create User."},
	{"{\"exception\":\"ValidationError\",\"content\":\"Unknown attribute\"}",
	 400, 1, FT_E_DATA, "ValidationError", "Unknown attribute"},
	{"{\"exception\":\"ParseError\",\"content\":\"Failed to parse: x\"}",
	 400, 1, FT_E_DATA, "ParseError", "Failed to parse"},
	{"{\"exception\":\"DuplicateEntryError\",\"content\":\"dup\"}", 409, 3,
	 FT_E_DATA, "DuplicateEntryError", "DuplicateEntryError: dup"},
	{"{\"exception\":\"IntegrityError\",\"content\":\"dup\"}", 200, 1,
	 FT_E_DATA, "IntegrityError", ""},
	{"{\"exception\":\"ValueError\",\"content\":\"Could not find entity\"}",
	 404, 1, FT_E_DATA, "ValueError", "Could not find"},
	/* a data error stays a data error even with a 500 */
	{"{\"exception\":\"ValidationError\",\"content\":\"v\"}", 500, 1,
	 FT_E_DATA, "ValidationError", ""},
	/* unknown classes: transient on 5xx, data otherwise */
	{"{\"exception\":\"ServerError\",\"content\":\"boom\"}", 500, 1,
	 FT_E_HTTP, "ServerError", "ServerError: boom"},
	{"{\"exception\":\"ServerError\",\"content\":\"boom\"}", 200, 1,
	 FT_E_DATA, "ServerError", ""},
	{"{\"exception\":\"Weird\"}", 400, 1, FT_E_DATA, "Weird", "Weird: "},
	/* busy statuses are transient whatever the body */
	{"{\"exception\":\"TooManyRequests\",\"content\":\"slow down\"}", 429,
	 1, FT_E_HTTP, "TooManyRequests", "slow down"},
	{"{\"exception\":\"ValidationError\",\"content\":\"v\"}", 503, 1,
	 FT_E_HTTP, "ValidationError", ""},
	{"<html>Bad Gateway</html>", 502, 1, FT_E_HTTP, "", "HTTP 502"},
	{"", 504, 1, FT_E_HTTP, "", "HTTP 504"},
	{"[]", 429, 1, FT_E_HTTP, "", "HTTP 429"},
	/* the licence refusing a seat: whatever its class, never a data
	 * error (the write is asked for again) nor retried inside the call
	 * (it is no busy server); what a real server says is unknown */
	{"{\"exception\":\"LicenseError\",\"content\":\"No free seat: the "
	 "licence allows 9 active users.\"}",
	 403, 1, FT_E_SEAT, "LicenseError", "LicenseError: No free seat"},
	{"{\"exception\":\"LicenseError\",\"content\":\"x\"}", 500, 1,
	 FT_E_SEAT, "LicenseError", ""},
	{"{\"exception\":\"LicenceExceeded\"}", 200, 1, FT_E_SEAT,
	 "LicenceExceeded", ""},
	{"{\"exception\":\"ValidationError\",\"content\":\"The LICENSE "
	 "allows no more active users\"}",
	 400, 1, FT_E_SEAT, "ValidationError", "no more active"},
	{"{\"exception\":\"PermissionError\",\"content\":\"license "
	 "full\"}",
	 403, 1, FT_E_SEAT, "PermissionError", ""},
	{"{\"exception\":\"LicenseError\",\"content\":\"x\"}", 503, 1,
	 FT_E_HTTP, "LicenseError", ""},
	/* the word, not a longer one that holds it */
	{"{\"exception\":\"ValidationError\",\"content\":\"Unknown "
	 "attribute \\\"licensed\\\"\"}",
	 400, 1, FT_E_DATA, "ValidationError", ""},
	{"{\"exception\":\"ValidationError\",\"content\":\"all licences "
	 "in use\"}",
	 400, 1, FT_E_SEAT, "ValidationError", ""},
	/* the FastAPI-style 422 body */
	{"{\"detail\":[{\"loc\":[\"body\",0],\"msg\":\"field required\","
	 "\"type\":\"value_error.missing\"}]}",
	 422, 1, FT_E_DATA, "", "HTTP 422"},
	/* malformed */
	{"not json", 200, 1, FT_E_MALFORMED, "", "not JSON: not json"},
	{"", 200, 1, FT_E_MALFORMED, "", "empty response"},
	{"\"a string\"", 200, 1, FT_E_MALFORMED, "", "unexpected"},
	{"42", 200, 1, FT_E_MALFORMED, "", "unexpected"},
	{"null", 200, 1, FT_E_MALFORMED, "", ""},
	{"{\"foo\":1}", 200, 1, FT_E_MALFORMED, "", ""},
	{"{\"exception\":7,\"content\":\"x\"}", 400, 1, FT_E_MALFORMED, "", ""},
	{"<html><body>Internal Server Error</body></html>", 500, 1,
	 FT_E_MALFORMED, "", "HTTP 500: response is not JSON: <html>"},
	{"[{}", 200, 1, FT_E_MALFORMED, "", ""},
	{"{\"a\":1,\"a\":2}", 200, 1, FT_E_MALFORMED, "", ""},
};

START_TEST(test_classify_table)
{
	struct ftrack_reply *rep = NULL;
	char exc[FTRACK_EXC_MAX] = "junk", err[256] = "";
	int r;

	r = ftrack_reply_parse(classify[_i].body, strlen(classify[_i].body),
			       classify[_i].status, classify[_i].nops, &rep,
			       exc, sizeof(exc), err, sizeof(err));
	ck_assert_msg(r == classify[_i].want, "case %d (%s): got %d want %d",
		      _i, classify[_i].body, r, classify[_i].want);
	if (r == FT_OK) {
		ck_assert_ptr_nonnull(rep);
		ftrack_reply_free(rep);
		return;
	}
	ck_assert_ptr_null(rep);
	ck_assert_str_eq(exc, classify[_i].exc);
	ck_assert_msg(strstr(err, classify[_i].err) != NULL,
		      "case %d: '%s' lacks '%s'", _i, err, classify[_i].err);
}

END_TEST

/*
 * The server's text is kept as it is, cut at a whole character: the one
 * cleaner (ft_clean.h) escapes it wherever it is shown, the log and every
 * command's output (check_log, cmd_check test_check_server_text_escaped),
 * so nothing is blanked here (C1 controls and bidi overrides were not,
 * issue 12) and nothing is escaped twice.
 */
START_TEST(test_classify_message_text)
{
	const char *body = "{\"exception\":\"ValueError\",\"content\":"
			   "\"line1\\nline2\\u001b[31m\\u009b\\u202e "
			   "\\u00e9\\u00e9\"}";
	const char *whole = "ValueError: line1\nline2\x1b[31m\xc2\x9b"
			    "\xe2\x80\xae \xc3\xa9\xc3\xa9";
	struct ftrack_reply *rep = NULL;
	char err[64], exc[FTRACK_EXC_MAX];
	size_t n = strlen(whole);

	ck_assert_int_eq(ftrack_reply_parse(body, strlen(body), 400, 1, &rep,
					    exc, sizeof(exc), err, sizeof(err)),
			 FT_E_DATA);
	ck_assert_str_eq(err, whole);
	ck_assert_str_eq(exc, "ValueError");
	/* cut to the buffer */
	ck_assert_int_eq(ftrack_reply_parse(body, strlen(body), 400, 1, &rep,
					    NULL, 0, err,
					    sizeof("ValueError: line1\nline2")),
			 FT_E_DATA);
	ck_assert_str_eq(err, "ValueError: line1\nline2");
	/* a cut inside the last "é" keeps the first whole */
	ck_assert_int_eq(ftrack_reply_parse(body, strlen(body), 400, 1, &rep,
					    NULL, 0, err, n),
			 FT_E_DATA);
	ck_assert_uint_eq(strlen(err), n - 2);
	ck_assert(strncmp(err, whole, n - 2) == 0);
}

END_TEST

START_TEST(test_classify_nul_in_body)
{
	const char body[] = "[{}]\0garbage";
	struct ftrack_reply *rep = NULL;
	char err[128];

	ck_assert_int_eq(ftrack_reply_parse(body, sizeof(body) - 1, 200, 1,
					    &rep, NULL, 0, err, sizeof(err)),
			 FT_E_MALFORMED);
	ck_assert_int_eq(ftrack_reply_parse(body, 4, 200, 1, &rep, NULL, 0, err,
					    sizeof(err)),
			 FT_OK);
	ftrack_reply_free(rep);
}

END_TEST

/* ---- decoding ----------------------------------------------------------- */

static struct ftrack_reply *
parse_ok(const char *body, size_t nops)
{
	struct ftrack_reply *rep = NULL;
	char err[256];

	ck_assert_int_eq(ftrack_reply_parse(body, strlen(body), 200, nops, &rep,
					    NULL, 0, err, sizeof(err)),
			 FT_OK);
	return rep;
}

START_TEST(test_decode_users)
{
	struct ftrack_reply *rep = parse_ok(
		"[{\"action\":\"query\",\"data\":["
		"{\"__entity_type__\":\"User\",\"id\":\"u1\",\"username\":\"jdoe\","
		"\"first_name\":\"John\",\"last_name\":\"Doe\",\"email\":"
		"\"jdoe@example.com\",\"is_active\":true,\"resource_type\":\"user\","
		"\"user_type\":{\"__entity_type__\":\"UserType\",\"id\":\"t\"}},"
		"{\"__entity_type__\":\"User\",\"id\":\"u2\",\"username\":\"bob\","
		"\"email\":null,\"is_active\":false},"
		"{\"__entity_type__\":\"User\",\"id\":\"u3\"},"
		"{\"__entity_type__\":\"User\",\"id\":\"u4\",\"username\":\"eve\"}"
		"],\"metadata\":{\"next\":{\"offset\":null}}}]",
		1);
	struct ft_user_list list = {NULL, 0, 0};
	size_t n = 99;

	ck_assert_int_eq(ftrack_reply_users(rep, 0, &list, &n), FT_OK);
	ck_assert_uint_eq(n, 3); /* u3 is a reference stub */
	ck_assert_uint_eq(ftrack_reply_data_len(rep, 0), 4);
	ck_assert_uint_eq(ftrack_reply_data_len(rep, 1), 0);
	ck_assert_uint_eq(list.n, 3);
	ck_assert_str_eq(list.v[0].id, "u1");
	ck_assert_str_eq(list.v[0].username, "jdoe");
	ck_assert_str_eq(list.v[0].first_name, "John");
	ck_assert_str_eq(list.v[0].last_name, "Doe");
	ck_assert_str_eq(list.v[0].email, "jdoe@example.com");
	ck_assert(list.v[0].is_active);
	ck_assert_ptr_null(list.v[0].uuid);
	ck_assert_ptr_null(list.v[0].deactivated);
	ck_assert_str_eq(list.v[1].username, "bob");
	ck_assert_ptr_null(list.v[1].email);
	ck_assert_ptr_null(list.v[1].first_name);
	ck_assert(!list.v[1].is_active);
	ck_assert_str_eq(list.v[2].id, "u4");
	ck_assert(!list.v[2].is_active); /* missing is_active: false */
	ft_user_list_clear(&list);
	ftrack_reply_free(rep);
}

END_TEST

static const char *const bad_users[] = {
	"{\"__entity_type__\":\"User\",\"id\":\"u\",\"username\":7}",
	"{\"__entity_type__\":\"User\",\"id\":\"u\",\"username\":null}",
	"{\"__entity_type__\":\"User\",\"id\":5,\"username\":\"a\"}",
	"{\"__entity_type__\":\"User\",\"username\":\"a\"}",
	"{\"__entity_type__\":\"User\",\"id\":\"u\",\"username\":\"a\","
	"\"is_active\":\"yes\"}",
	"{\"__entity_type__\":\"User\",\"id\":\"u\",\"username\":\"a\","
	"\"is_active\":1}",
	"{\"__entity_type__\":\"User\",\"id\":\"u\",\"username\":\"a\","
	"\"email\":[\"x\"]}",
	"{\"__entity_type__\":\"User\",\"id\":\"u\",\"username\":\"a\","
	"\"first_name\":{\"x\":1}}",
	"{\"__entity_type__\":\"Group\",\"id\":\"u\",\"username\":\"a\"}",
	"{\"id\":\"u\",\"username\":\"a\"}",
	"\"User\"",
	"null",
};

START_TEST(test_decode_users_bad)
{
	char body[512];
	struct ftrack_reply *rep;
	struct ft_user_list list = {NULL, 0, 0};
	struct ft_user keep = {.username = strdup("keep")};

	ck_assert_int_eq(ft_user_list_push(&list, &keep), FT_OK);
	/* a good record first: it must not stay in the list on failure */
	snprintf(body, sizeof(body),
		 "[{\"data\":[{\"__entity_type__\":\"User\",\"id\":\"ok\","
		 "\"username\":\"good\"},%s]}]",
		 bad_users[_i]);
	rep = parse_ok(body, 1);
	ck_assert_int_eq(ftrack_reply_users(rep, 0, &list, NULL),
			 FT_E_MALFORMED);
	ck_assert_uint_eq(list.n, 1);
	ck_assert_str_eq(list.v[0].username, "keep");
	ft_user_list_clear(&list);
	ftrack_reply_free(rep);
}

END_TEST

START_TEST(test_decode_users_limits)
{
	size_t len = FTRACK_STR_MAX + 1, cap = len + 256;
	char *body = malloc(cap);
	struct ftrack_reply *rep;
	struct ft_user_list list = {NULL, 0, 0};
	int n;

	ck_assert_ptr_nonnull(body);
	n = snprintf(body, cap,
		     "[{\"data\":[{\"__entity_type__\":\"User\",\"id\":\"u\","
		     "\"username\":\"a\",\"email\":\"%0*d\"}]}]",
		     (int)len, 0);
	ck_assert_int_lt(n, (int)cap);
	rep = parse_ok(body, 1);
	ck_assert_int_eq(ftrack_reply_users(rep, 0, &list, NULL),
			 FT_E_MALFORMED);
	ftrack_reply_free(rep);
	/* exactly the maximum is accepted */
	snprintf(body, cap,
		 "[{\"data\":[{\"__entity_type__\":\"User\",\"id\":\"u\","
		 "\"username\":\"a\",\"email\":\"%0*d\"}]}]",
		 (int)(len - 1), 0);
	rep = parse_ok(body, 1);
	ck_assert_int_eq(ftrack_reply_users(rep, 0, &list, NULL), FT_OK);
	ck_assert_uint_eq(strlen(list.v[0].email), FTRACK_STR_MAX);
	ft_user_list_clear(&list);
	ftrack_reply_free(rep);
	free(body);
}

END_TEST

START_TEST(test_decode_page_cap)
{
	size_t n = FTRACK_PAGE_MAX + 1, i, cap = n * 64 + 64, len;
	char *body = malloc(cap);
	struct ftrack_reply *rep;
	struct ft_user_list list = {NULL, 0, 0};

	ck_assert_ptr_nonnull(body);
	len = (size_t)snprintf(body, cap, "[{\"data\":[");
	for (i = 0; i < n; i++)
		len += (size_t)snprintf(body + len, cap - len,
					"%s{\"__entity_type__\":\"User\","
					"\"id\":\"%zu\"}",
					i ? "," : "", i);
	snprintf(body + len, cap - len, "]}]");
	rep = parse_ok(body, 1);
	ck_assert_int_eq(ftrack_reply_users(rep, 0, &list, NULL),
			 FT_E_MALFORMED);
	ck_assert_uint_eq(list.n, 0);
	ftrack_reply_free(rep);
	free(body);
}

END_TEST

START_TEST(test_decode_no_data)
{
	struct ftrack_reply *rep =
		parse_ok("[{\"action\":\"query\"},{\"data\":{}},7]", 3);
	struct ft_user_list list = {NULL, 0, 0};
	struct ftrack_marker_list ml = {NULL, 0, 0};

	ck_assert_int_eq(ftrack_reply_users(rep, 0, &list, NULL),
			 FT_E_MALFORMED);
	ck_assert_int_eq(ftrack_reply_users(rep, 1, &list, NULL),
			 FT_E_MALFORMED);
	ck_assert_int_eq(ftrack_reply_markers(rep, 2, &ml, NULL),
			 FT_E_MALFORMED);
	ck_assert_int_eq(ftrack_reply_users(rep, 3, &list, NULL),
			 FT_E_MALFORMED);
	ftrack_reply_free(rep);
}

END_TEST

START_TEST(test_decode_markers)
{
	struct ftrack_reply *rep = parse_ok(
		"[{\"action\":\"query\",\"data\":["
		"{\"__entity_type__\":\"Metadata\",\"parent_id\":\"u1\",\"key\":"
		"\"ftrack_syncd.uuid\",\"value\":\"e-1\",\"parent_type\":\"User\"},"
		"{\"__entity_type__\":\"Metadata\",\"parent_id\":\"u1\",\"key\":"
		"\"other\",\"value\":null},"
		"{\"__entity_type__\":\"Metadata\",\"parent_id\":\"u2\",\"key\":"
		"\"ftrack_syncd.deactivated\",\"value\":\"2024-01-01T00:00:00Z\"}"
		"]}, {\"data\":[{\"__entity_type__\":\"Metadata\",\"key\":\"k\","
		"\"value\":\"v\"}]}]",
		2);
	struct ftrack_marker_list ml = {NULL, 0, 0};
	size_t n = 0;

	ck_assert_int_eq(ftrack_reply_markers(rep, 0, &ml, &n), FT_OK);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(ml.v[0].parent_id, "u1");
	ck_assert_str_eq(ml.v[0].key, FTRACK_MARKER_UUID);
	ck_assert_str_eq(ml.v[0].value, "e-1");
	ck_assert_str_eq(ml.v[1].parent_id, "u2");
	ck_assert_str_eq(ml.v[1].value, "2024-01-01T00:00:00Z");
	/* no parent_id: malformed, list unchanged */
	ck_assert_int_eq(ftrack_reply_markers(rep, 1, &ml, &n), FT_E_MALFORMED);
	ck_assert_uint_eq(ml.n, 2);
	ftrack_marker_list_clear(&ml);
	ck_assert_uint_eq(ml.n, 0);
	ftrack_reply_free(rep);
}

END_TEST

static const struct {
	const char *result;
	int want;
	long long next;
} next_table[] = {
	{"{\"data\":[],\"metadata\":{\"next\":{\"offset\":null}}}", FT_OK, -1},
	{"{\"data\":[],\"metadata\":{\"next\":{}}}", FT_OK, -1},
	{"{\"data\":[],\"metadata\":{}}", FT_OK, -1},
	{"{\"data\":[]}", FT_OK, -1},
	{"{\"data\":[],\"metadata\":{\"next\":{\"offset\":500}}}", FT_OK, 500},
	{"{\"data\":[],\"metadata\":{\"next\":{\"offset\":0}}}", FT_OK, 0},
	{"{\"data\":[],\"metadata\":{\"next\":{\"offset\":-1}}}",
	 FT_E_MALFORMED, 0},
	{"{\"data\":[],\"metadata\":{\"next\":{\"offset\":\"7\"}}}",
	 FT_E_MALFORMED, 0},
	{"{\"data\":[],\"metadata\":{\"next\":{\"offset\":7.5}}}",
	 FT_E_MALFORMED, 0},
	{"[]", FT_E_MALFORMED, 0},
};

START_TEST(test_next_offset)
{
	char body[256];
	struct ftrack_reply *rep;
	long long next = 12345;

	snprintf(body, sizeof(body), "[%s]", next_table[_i].result);
	rep = parse_ok(body, 1);
	ck_assert_int_eq(ftrack_reply_next(rep, 0, &next), next_table[_i].want);
	if (next_table[_i].want == FT_OK)
		ck_assert_int_eq(next, next_table[_i].next);
	else
		ck_assert_int_eq(next, 12345); /* untouched */
	ftrack_reply_free(rep);
}

END_TEST

START_TEST(test_server_version_and_id)
{
	struct ftrack_reply *rep = parse_ok(
		"[{\"version\":\"4.13.9\",\"schema_hash\":\"x\"},"
		"{\"action\":\"create\",\"data\":{\"__entity_type__\":\"User\","
		"\"id\":\"" ID1 "\"}},{\"version\":4}]",
		3);
	char out[64], tiny[4];

	ck_assert_int_eq(ftrack_reply_server_version(rep, 0, out, sizeof(out)),
			 FT_OK);
	ck_assert_str_eq(out, "4.13.9");
	ck_assert_int_eq(
		ftrack_reply_server_version(rep, 0, tiny, sizeof(tiny)),
		FT_E_TOOBIG);
	ck_assert_int_eq(ftrack_reply_server_version(rep, 2, out, sizeof(out)),
			 FT_E_MALFORMED);
	ck_assert_int_eq(ftrack_reply_server_version(rep, 1, out, sizeof(out)),
			 FT_E_MALFORMED);
	ck_assert_int_eq(ftrack_reply_entity_id(rep, 1, out, sizeof(out)),
			 FT_OK);
	ck_assert_str_eq(out, ID1);
	ck_assert_int_eq(ftrack_reply_entity_id(rep, 0, out, sizeof(out)),
			 FT_E_MALFORMED);
	ck_assert_int_eq(ftrack_reply_entity_id(rep, 1, tiny, sizeof(tiny)),
			 FT_E_TOOBIG);
	ftrack_reply_free(rep);
	ftrack_reply_free(NULL);
}

END_TEST

/* is_active read back from create and update answers (0, 1 or absent). */
START_TEST(test_entity_bool)
{
	struct ftrack_reply *rep = parse_ok(
		"[{\"action\":\"create\",\"data\":{\"__entity_type__\":"
		"\"User\",\"id\":\"" ID1 "\",\"is_active\":false}},"
		"{\"action\":\"update\",\"data\":{\"__entity_type__\":"
		"\"User\",\"id\":\"" ID1 "\",\"is_active\":true}},"
		"{\"action\":\"update\",\"data\":{\"id\":\"" ID1 "\"}},"
		"{\"action\":\"update\",\"data\":{\"is_active\":null}},"
		"{\"action\":\"update\",\"data\":{\"is_active\":1}},"
		"{\"action\":\"delete\",\"data\":true}]",
		6);
	bool v = true;

	ck_assert_int_eq(ftrack_reply_entity_bool(rep, 0, "is_active", &v),
			 FT_OK);
	ck_assert(!v);
	ck_assert_int_eq(ftrack_reply_entity_bool(rep, 1, "is_active", &v),
			 FT_OK);
	ck_assert(v);
	ck_assert_int_eq(ftrack_reply_entity_bool(rep, 2, "is_active", &v),
			 FT_E_NOTFOUND);
	ck_assert_int_eq(ftrack_reply_entity_bool(rep, 3, "is_active", &v),
			 FT_E_NOTFOUND);
	ck_assert_int_eq(ftrack_reply_entity_bool(rep, 4, "is_active", &v),
			 FT_E_MALFORMED);
	ck_assert_int_eq(ftrack_reply_entity_bool(rep, 5, "is_active", &v),
			 FT_E_NOTFOUND);
	ck_assert_int_eq(ftrack_reply_entity_bool(rep, 9, "is_active", &v),
			 FT_E_NOTFOUND);
	ck_assert(v); /* left alone on failure */
	ftrack_reply_free(rep);
}

END_TEST

/* ---- out of memory ------------------------------------------------------ */

START_TEST(test_oom)
{
	const char *reply = "[{\"data\":[{\"__entity_type__\":\"User\",\"id\":"
			    "\"u\",\"username\":\"a\"}]}]";
	int i, r = FT_E_NOMEM;

	for (i = 0; i < 200 && r == FT_E_NOMEM; i++) {
		struct ftrack_reply *rep = NULL;

		h_ft_oom_after(i);
		r = ftrack_reply_parse(reply, strlen(reply), 200, 1, &rep, NULL,
				       0, NULL, 0);
		h_ft_oom_off();
		ck_assert(r == FT_OK || r == FT_E_NOMEM || r == FT_E_MALFORMED);
		if (r ==
		    FT_E_MALFORMED) /* jansson reports OOM as a parse error */
			r = FT_E_NOMEM;
		ftrack_reply_free(rep);
	}
	ck_assert_int_eq(r, FT_OK);
}

END_TEST

/* ---- what parsing may cost ---------------------------------------------- */

/* What one parse did (parse_in_child). */
struct parse_job {
	const char *body;
	size_t len, nops;
};

struct parse_result {
	int r;
	char err[256];
};

/* h_peak_kib_in_child: parse the job arg into out, then free the tree. */
static void
parse_in_child(void *arg, void *out)
{
	const struct parse_job *job = arg;
	struct parse_result *res = out;
	struct ftrack_reply *rep = NULL;

	res->r = ftrack_reply_parse(job->body, job->len, 200, job->nops, &rep,
				    NULL, 0, res->err, sizeof(res->err));
	ftrack_reply_free(rep);
}

/*
 * Answers just under the HTTP cap made of the cheapest JSON values to
 * send and the dearest to build: jansson makes 20 (zeros) to 77 (empty
 * objects) bytes of tree per byte, 160 to 620 MiB here.
 */
static const char *const dear_items[] = {"{}", "[]", "0", "\"\"", "{\"\":0}"};

START_TEST(test_parse_bound)
{
	const char *item = dear_items[_i];
	size_t n = strlen(item), len = 1, cap = HTTP_MAX_BODY;
	struct parse_job job = {NULL, 0, 1};
	struct parse_result res;
	char *body = malloc(cap);
	long grew;

	ck_assert_ptr_nonnull(body);
	body[0] = '[';
	while (len + 2 * n + 2 < cap) {
		memcpy(body + len, item, n);
		len += n;
		body[len++] = ',';
	}
	memcpy(body + len, item, n);
	len += n;
	body[len++] = ']';
	job.body = body;
	job.len = len;
	memset(&res, 0, sizeof(res));
	grew = h_peak_kib_in_child(parse_in_child, &job, &res, sizeof(res));
	ck_assert_msg(res.r == FT_E_TOOBIG, "[%s, ...]: %d (%s)", item, res.r,
		      res.err);
	ck_assert_msg(strstr(res.err, "JSON values") != NULL &&
			      strstr(res.err, "refused before parsing") != NULL,
		      "%s", res.err);
	ck_assert_msg(grew >= 0 && grew < 64 * 1024, "[%s, ...]: grew %ld KiB",
		      item, grew);
	free(body);
}

END_TEST

/* Append one record of the largest listing step (see test_parse_page). */
static size_t
page_record(char *p, size_t cap, size_t i, bool marker)
{
	int n;

	if (marker)
		n = snprintf(
			p, cap,
			"%s{\"__entity_type__\": \"Metadata\", "
			"\"parent_id\": \"%08zx-2dc7-11ec-8000-00155d01a7b3\", "
			"\"key\": \"" FTRACK_MARKER_UUID "\", "
			"\"value\": \"%08zx-9c4e-4f1a-b8e2-7d3c5a1f9e60\", "
			"\"parent_type\": \"User\"}",
			i ? ", " : "", i, i);
	else
		n = snprintf(
			p, cap,
			"%s{\"__entity_type__\": \"User\", "
			"\"id\": \"%08zx-2dc7-11ec-8000-00155d01a7b3\", "
			"\"username\": \"user.name%06zu\", "
			"\"first_name\": \"Firstname%06zu\", "
			"\"last_name\": \"Lastname-Longer%06zu\", "
			"\"email\": \"firstname.lastname%06zu"
			"@studio.example.com\", "
			"\"is_active\": true, \"resource_type\": \"user\"}",
			i ? ", " : "", i, i, i, i, i);
	ck_assert(n > 0 && (size_t)n < cap);
	return (size_t)n;
}

/*
 * The largest legitimate answer the cap and the parse bound were computed
 * from (http.h): one listing step of FTRACK_PAGE_MAX Users of the fields
 * we select and as many markers, spaced as Python's json.dumps spaces
 * it.  It fits both, and decodes whole.
 */
START_TEST(test_parse_page)
{
	size_t cap = HTTP_MAX_BODY, len, i;
	char *body = malloc(cap);
	struct ftrack_reply *rep;
	struct ft_user_list users = {NULL, 0, 0};
	struct ftrack_marker_list ml = {NULL, 0, 0};

	ck_assert_ptr_nonnull(body);
	len = (size_t)snprintf(body, cap,
			       "[{\"action\": \"query\", \"data\": [");
	for (i = 0; i < FTRACK_PAGE_MAX; i++)
		len += page_record(body + len, cap - len, i, false);
	len += (size_t)snprintf(body + len, cap - len,
				"], \"metadata\": {\"next\": {\"offset\": "
				"%d}}}, {\"action\": \"query\", \"data\": [",
				FTRACK_PAGE_MAX);
	for (i = 0; i < FTRACK_PAGE_MAX; i++)
		len += page_record(body + len, cap - len, i, true);
	len += (size_t)snprintf(body + len, cap - len,
				"], \"metadata\": {\"next\": {\"offset\": "
				"%d}}}]",
				FTRACK_PAGE_MAX);
	ck_assert_uint_lt(len, cap - 1);
	rep = parse_ok(body, 2);
	ck_assert_int_eq(ftrack_reply_users(rep, 0, &users, NULL), FT_OK);
	ck_assert_int_eq(ftrack_reply_markers(rep, 1, &ml, NULL), FT_OK);
	ck_assert_uint_eq(users.n, FTRACK_PAGE_MAX);
	ck_assert_uint_eq(ml.n, FTRACK_PAGE_MAX);
	ft_user_list_clear(&users);
	ftrack_marker_list_clear(&ml);
	ftrack_reply_free(rep);
	free(body);
}

END_TEST

Suite *
ftrack_reply_suite(void)
{
	Suite *s = suite_create("ftrack_reply");
	TCase *c = tcase_create("classify");
	TCase *d = tcase_create("decode");

	tcase_add_loop_test(c, test_classify_table, 0,
			    (int)(sizeof(classify) / sizeof(classify[0])));
	tcase_add_test(c, test_classify_message_text);
	tcase_add_test(c, test_classify_nul_in_body);
	tcase_add_test(c, test_oom);
	tcase_add_test(d, test_decode_users);
	tcase_add_loop_test(d, test_decode_users_bad, 0,
			    (int)(sizeof(bad_users) / sizeof(bad_users[0])));
	tcase_add_test(d, test_decode_users_limits);
	tcase_add_test(d, test_decode_page_cap);
	tcase_add_test(d, test_decode_no_data);
	tcase_add_test(d, test_decode_markers);
	tcase_add_loop_test(d, test_next_offset, 0,
			    (int)(sizeof(next_table) / sizeof(next_table[0])));
	tcase_add_test(d, test_server_version_and_id);
	tcase_add_loop_test(d, test_parse_bound, 0,
			    (int)(sizeof(dear_items) / sizeof(dear_items[0])));
	tcase_add_test(d, test_parse_page);
	tcase_add_test(d, test_entity_bool);
	suite_add_tcase(s, c);
	suite_add_tcase(s, d);
	return s;
}
