/* SPDX-License-Identifier: Apache-2.0 */
/* check_ftrack_json.c: quoting, request bodies, reply classification, decoding. */
#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ft_err.h"
#include "ft_user.h"
#include "ftrack_json.h"

Suite *ftrack_json_suite(void);

#define ID1 "3f1c2a9e-4b7d-4e0a-9a51-0c2f7e6d8b11"

/* ---- quoting ------------------------------------------------------------ */

static const struct {
	const char *in;
	const char *out;
} quote_ok[] = {
	{"jdoe", "\"jdoe\""},
	{"", "\"\""},
	{"o\"neil", "\"o\\\"neil\""},
	{"o'neil", "\"o\\'neil\""},
	{"back\\slash", "\"back\\\\slash\""},
	{"\\\"", "\"\\\\\\\"\""},
	{"a) or (username like \"%", "\"a) or (username like \\\"%\""},
	{"x\" or username is \"admin", "\"x\\\" or username is \\\"admin\""},
	{"' or 1=1 --", "\"\\' or 1=1 --\""},
	{"Zo\xc3\xab \xe6\x97\xa5\xe6\x9c\xac",
	 "\"Zo\xc3\xab \xe6\x97\xa5\xe6\x9c\xac\""},
	{"a b)", "\"a b)\""},
};

START_TEST(test_quote_table)
{
	char out[256];

	ck_assert_int_eq(ftrack_quote(quote_ok[_i].in, out, sizeof(out)),
			 FT_OK);
	ck_assert_str_eq(out, quote_ok[_i].out);
}

END_TEST

START_TEST(test_quote_refused)
{
	char out[64];

	ck_assert_int_eq(ftrack_quote("a\nb", out, sizeof(out)), FT_E_INVAL);
	ck_assert_int_eq(ftrack_quote("a\tb", out, sizeof(out)), FT_E_INVAL);
	ck_assert_int_eq(ftrack_quote("a\x7f", out, sizeof(out)), FT_E_INVAL);
	ck_assert_int_eq(ftrack_quote("bad\xff", out, sizeof(out)), FT_E_INVAL);
	ck_assert_int_eq(ftrack_quote("\xc0\xaf", out, sizeof(out)),
			 FT_E_INVAL);
}

END_TEST

START_TEST(test_quote_bounds)
{
	char out[16];

	/* "abc" needs 6 bytes: quotes, 3 chars, NUL */
	ck_assert_int_eq(ftrack_quote("abc", out, 6), FT_OK);
	ck_assert_str_eq(out, "\"abc\"");
	ck_assert_int_eq(ftrack_quote("abc", out, 5), FT_E_TOOBIG);
	/* escapes count: a"b needs 7 */
	ck_assert_int_eq(ftrack_quote("a\"b", out, 7), FT_OK);
	ck_assert_int_eq(ftrack_quote("a\"b", out, 6), FT_E_TOOBIG);
	ck_assert_int_eq(ftrack_quote("", out, 3), FT_OK);
	ck_assert_int_eq(ftrack_quote("", out, 2), FT_E_TOOBIG);
	/* the documented worst case always fits */
	ck_assert_int_eq(ftrack_quote("\"\"\"\"\"", out, 2 * 5 + 3), FT_OK);
	ck_assert_str_eq(out, "\"\\\"\\\"\\\"\\\"\\\"\"");
}

END_TEST

START_TEST(test_expr_in)
{
	const char *const v[] = {"alice", "o'neil", "a\"b\\"};
	char *e = NULL;

	ck_assert_int_eq(ftrack_expr_in("select id from User where username in",
					v, 3, " order by id", &e),
			 FT_OK);
	ck_assert_str_eq(e, "select id from User where username in (\"alice\", "
			    "\"o\\'neil\", \"a\\\"b\\\\\") order by id");
	free(e);
	e = NULL;
	ck_assert_int_eq(ftrack_expr_in("x in", v, 1, "", &e), FT_OK);
	ck_assert_str_eq(e, "x in (\"alice\")");
	free(e);
	e = NULL;
	ck_assert_int_eq(ftrack_expr_in("x in", v, 0, "", &e), FT_E_INVAL);
	ck_assert_ptr_null(e);
}

END_TEST

START_TEST(test_expr_in_refused)
{
	const char *const v[] = {"ok", "bad\n"};
	const char *const nul[] = {"ok", NULL};
	char *e = NULL;

	ck_assert_int_eq(ftrack_expr_in("x in", v, 2, "", &e), FT_E_INVAL);
	ck_assert_int_eq(ftrack_expr_in("x in", nul, 2, "", &e), FT_E_INVAL);
	ck_assert_ptr_null(e);
}

END_TEST

START_TEST(test_expr_in_toobig)
{
	size_t n = 2000, len = 1000, i;
	char **v = calloc(n, sizeof(*v));
	char *e = NULL;

	ck_assert_ptr_nonnull(v);
	for (i = 0; i < n; i++) {
		v[i] = malloc(len + 1);
		ck_assert_ptr_nonnull(v[i]);
		memset(v[i], 'a', len);
		v[i][len] = '\0';
	}
	ck_assert_int_eq(
		ftrack_expr_in("x in", (const char *const *)v, n, "", &e),
		FT_E_TOOBIG);
	ck_assert_ptr_null(e);
	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

END_TEST

/* A user with copies of the given strings (NULL stays NULL). */
static struct ft_user
mkuser(const char *username, const char *first, const char *last,
       const char *email)
{
	struct ft_user u;

	memset(&u, 0, sizeof(u));
	u.username = username ? strdup(username) : NULL;
	u.first_name = first ? strdup(first) : NULL;
	u.last_name = last ? strdup(last) : NULL;
	u.email = email ? strdup(email) : NULL;
	return u;
}

/* ---- request bodies ----------------------------------------------------- */

/* Dump every operation of ops, check it against want, free ops. */
static void
assert_body(struct ftrack_ops *ops, const char *want)
{
	char *body = NULL;
	size_t len = 0;

	ck_assert_int_eq(
		ftrack_ops_dump(ops, 0, ftrack_ops_count(ops), &body, &len),
		FT_OK);
	ck_assert_str_eq(body, want);
	ck_assert_uint_eq(len, strlen(want));
	free(body);
	ftrack_ops_free(ops);
}

START_TEST(test_body_query)
{
	struct ftrack_ops *ops = ftrack_ops_new();

	ck_assert_ptr_nonnull(ops);
	ck_assert_int_eq(ftrack_ops_server_info(ops), FT_OK);
	ck_assert_int_eq(ftrack_ops_query(ops, "select id from User where "
					       "username is \"jdoe\""),
			 FT_OK);
	ck_assert_int_eq(ftrack_ops_query_page(ops, "User order by id", 500, 7),
			 FT_OK);
	ck_assert_uint_eq(ftrack_ops_count(ops), 3);
	assert_body(ops, "[{\"action\":\"query_server_information\"},"
			 "{\"action\":\"query\",\"expression\":\"select id "
			 "from User where username is \\\"jdoe\\\"\"},"
			 "{\"action\":\"query\",\"expression\":\"User order "
			 "by id offset 500 limit 7\"}]");
}

END_TEST

START_TEST(test_body_create_user)
{
	struct ftrack_ops *ops = ftrack_ops_new();
	struct ft_user u = mkuser("jdoe", "John", "Doe", "jdoe@example.com");

	ck_assert_int_eq(ftrack_ops_create_user(ops, ID1, &u), FT_OK);
	ft_user_clear(&u);
	assert_body(
		ops,
		"[{\"action\":\"create\",\"entity_data\":{\"__entity_type__"
		"\":\"User\",\"email\":\"jdoe@example.com\",\"first_name\""
		":\"John\",\"id\":\"" ID1 "\",\"is_active\":true,\"last_"
		"name\":\"Doe\",\"username\":\"jdoe\"},\"entity_key\":[\"" ID1
		"\"],\"entity_type\":\"User\"}]");
}

END_TEST

START_TEST(test_body_create_user_minimal)
{
	struct ftrack_ops *ops = ftrack_ops_new();
	struct ft_user u = mkuser("bob", NULL, NULL, NULL);
	struct ft_user none = mkuser(NULL, NULL, NULL, "x@example.com");

	ck_assert_int_eq(ftrack_ops_create_user(ops, "i1", &u), FT_OK);
	ck_assert_int_eq(ftrack_ops_create_user(ops, "i2", &none), FT_E_INVAL);
	ck_assert_int_eq(ftrack_ops_create_user(ops, NULL, &u), FT_E_INVAL);
	ft_user_clear(&u);
	ft_user_clear(&none);
	assert_body(ops, "[{\"action\":\"create\",\"entity_data\":{\"__entity_"
			 "type__\":\"User\",\"id\":\"i1\",\"is_active\":true,"
			 "\"username\":\"bob\"},\"entity_key\":[\"i1\"],"
			 "\"entity_type\":\"User\"}]");
}

END_TEST

START_TEST(test_body_update_user)
{
	struct ftrack_ops *ops = ftrack_ops_new();
	struct ft_user u = mkuser("jd", "Johnny", "Doe", NULL);

	ck_assert_int_eq(
		ftrack_ops_update_user(ops, ID1, &u,
				       FTRACK_F_FIRST_NAME | FTRACK_F_EMAIL),
		FT_OK);
	ck_assert_int_eq(
		ftrack_ops_update_user(ops, ID1, &u, FTRACK_F_IS_ACTIVE),
		FT_OK);
	ck_assert_int_eq(ftrack_ops_update_user(ops, ID1, &u, 0), FT_E_INVAL);
	ck_assert_int_eq(ftrack_ops_update_user(ops, ID1, &u, 1u << 9),
			 FT_E_INVAL);
	ft_user_clear(&u);
	assert_body(ops,
		    "[{\"action\":\"update\",\"entity_data\":{\"__entity_type__"
		    "\":\"User\",\"email\":null,\"first_name\":\"Johnny\"},"
		    "\"entity_key\":[\"" ID1 "\"],\"entity_type\":\"User\"},"
		    "{\"action\":\"update\",\"entity_data\":{\"__entity_type__"
		    "\":\"User\",\"is_active\":false},\"entity_key\":[\"" ID1
		    "\"],\"entity_type\":\"User\"}]");
}

END_TEST

START_TEST(test_body_update_username)
{
	struct ftrack_ops *ops = ftrack_ops_new();
	struct ft_user u = mkuser("new", NULL, NULL, NULL);
	struct ft_user nouser = mkuser(NULL, NULL, NULL, NULL);

	u.is_active = true;

	ck_assert_int_eq(
		ftrack_ops_update_user(ops, "i", &u,
				       FTRACK_F_USERNAME | FTRACK_F_IS_ACTIVE),
		FT_OK);
	/* username cannot be set to null */
	ck_assert_int_eq(
		ftrack_ops_update_user(ops, "i", &nouser, FTRACK_F_USERNAME),
		FT_E_INVAL);
	ft_user_clear(&u);
	assert_body(ops, "[{\"action\":\"update\",\"entity_data\":{\"__entity_"
			 "type__\":\"User\",\"is_active\":true,\"username\":"
			 "\"new\"},\"entity_key\":[\"i\"],\"entity_type\":"
			 "\"User\"}]");
}

END_TEST

START_TEST(test_body_delete_and_markers)
{
	struct ftrack_ops *ops = ftrack_ops_new();

	ck_assert_int_eq(ftrack_ops_delete_user(ops, "u1"), FT_OK);
	ck_assert_int_eq(
		ftrack_ops_create_marker(ops, "u1", FTRACK_MARKER_UUID, "e-1"),
		FT_OK);
	ck_assert_int_eq(ftrack_ops_update_marker(ops, "u1",
						  FTRACK_MARKER_DEACTIVATED,
						  "2024-01-02T03:04:05Z"),
			 FT_OK);
	ck_assert_int_eq(
		ftrack_ops_delete_marker(ops, "u1", FTRACK_MARKER_UUID), FT_OK);
	ck_assert_int_eq(ftrack_ops_delete_marker(ops, "u1", NULL), FT_E_INVAL);
	ck_assert_int_eq(ftrack_ops_create_marker(ops, "u1", "k", NULL),
			 FT_E_INVAL);
	assert_body(ops,
		    "[{\"action\":\"delete\",\"entity_key\":[\"u1\"],\"entity_"
		    "type\":\"User\"},"
		    "{\"action\":\"create\",\"entity_data\":{\"__entity_type__"
		    "\":\"Metadata\",\"key\":\"ftrack_syncd.uuid\",\"parent_"
		    "id\":\"u1\",\"parent_type\":\"User\",\"value\":\"e-1\"},"
		    "\"entity_type\":\"Metadata\"},"
		    "{\"action\":\"update\",\"entity_data\":{\"__entity_type__"
		    "\":\"Metadata\",\"value\":\"2024-01-02T03:04:05Z\"},"
		    "\"entity_key\":[\"u1\",\"ftrack_syncd.deactivated\"],"
		    "\"entity_type\":\"Metadata\"},"
		    "{\"action\":\"delete\",\"entity_key\":[\"u1\",\"ftrack_"
		    "syncd.uuid\"],\"entity_type\":\"Metadata\"}]");
}

END_TEST

START_TEST(test_body_refuses_bad_utf8)
{
	struct ftrack_ops *ops = ftrack_ops_new();
	struct ft_user u = mkuser("a\xff", NULL, NULL, NULL);

	ck_assert_int_eq(ftrack_ops_create_user(ops, "i", &u), FT_E_INVAL);
	ft_user_clear(&u);
	ck_assert_int_eq(ftrack_ops_query(ops, "x\xc3"), FT_E_INVAL);
	ck_assert_int_eq(
		ftrack_ops_update_marker(ops, "i", "k", "\xed\xa0\x80"),
		FT_E_INVAL);
	ck_assert_uint_eq(ftrack_ops_count(ops), 0);
	assert_body(ops, "[]");
}

END_TEST

START_TEST(test_body_dump_range)
{
	struct ftrack_ops *ops = ftrack_ops_new();
	char *body = NULL;
	size_t len = 0;

	ck_assert_int_eq(ftrack_ops_delete_user(ops, "a"), FT_OK);
	ck_assert_int_eq(ftrack_ops_delete_user(ops, "b"), FT_OK);
	ck_assert_int_eq(ftrack_ops_delete_user(ops, "c"), FT_OK);
	ck_assert_int_eq(ftrack_ops_dump(ops, 1, 2, &body, &len), FT_OK);
	ck_assert_str_eq(body,
			 "[{\"action\":\"delete\",\"entity_key\":[\"b\"],"
			 "\"entity_type\":\"User\"},{\"action\":\"delete\","
			 "\"entity_key\":[\"c\"],\"entity_type\":\"User\"}]");
	free(body);
	ck_assert_int_eq(ftrack_ops_dump(ops, 3, 0, &body, &len), FT_OK);
	ck_assert_str_eq(body, "[]");
	free(body);
	ck_assert_int_eq(ftrack_ops_dump(ops, 2, 2, &body, &len), FT_E_INVAL);
	ftrack_ops_truncate(ops, 5);
	ck_assert_uint_eq(ftrack_ops_count(ops), 3);
	ftrack_ops_truncate(ops, 1);
	ck_assert_uint_eq(ftrack_ops_count(ops), 1);
	ck_assert_int_eq(ftrack_ops_dump(ops, 0, 1, &body, &len), FT_OK);
	ck_assert_str_eq(body, "[{\"action\":\"delete\",\"entity_key\":[\"a\"],"
			       "\"entity_type\":\"User\"}]");
	free(body);
	ck_assert_int_eq(ftrack_ops_dump(ops, 4, 0, &body, &len), FT_E_INVAL);
	ftrack_ops_free(ops);
	ftrack_ops_free(NULL);
}

END_TEST

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

START_TEST(test_classify_message_clean)
{
	const char *body =
		"{\"exception\":\"ValueError\",\"content\":\"line1\\n"
		"line2\\u001b[31m\"}";
	struct ftrack_reply *rep = NULL;
	char err[24];
	size_t i;

	ck_assert_int_eq(ftrack_reply_parse(body, strlen(body), 400, 1, &rep,
					    NULL, 0, err, sizeof(err)),
			 FT_E_DATA);
	/* no control characters, truncated to the buffer */
	ck_assert_uint_eq(strlen(err), sizeof(err) - 1);
	for (i = 0; err[i] != '\0'; i++)
		ck_assert_int_ge((unsigned char)err[i], 0x20);
	ck_assert_str_eq(err, "ValueError: line1 line2");
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

/* ---- out of memory ------------------------------------------------------ */

static int fail_after;

static void *
failing_malloc(size_t n)
{
	if (fail_after-- <= 0)
		return NULL;
	return malloc(n);
}

/* Build a body of every kind of operation; returns the first error. */
static int
build_all(char **ret_body)
{
	struct ft_user u = mkuser("u", "f", NULL, "e");
	struct ftrack_ops *ops = ftrack_ops_new();
	size_t len;
	int r;

	if (ops == NULL) {
		ft_user_clear(&u);
		return FT_E_NOMEM;
	}
	r = ftrack_ops_create_user(ops, "i", &u);
	if (r == FT_OK)
		r = ftrack_ops_update_user(ops, "i", &u, FTRACK_F_EMAIL);
	if (r == FT_OK)
		r = ftrack_ops_create_marker(ops, "i", "k", "v");
	if (r == FT_OK)
		r = ftrack_ops_delete_marker(ops, "i", "k");
	if (r == FT_OK)
		r = ftrack_ops_query_page(ops, "User", 0, 5);
	if (r == FT_OK)
		r = ftrack_ops_dump(ops, 0, ftrack_ops_count(ops), ret_body,
				    &len);
	ftrack_ops_free(ops);
	ft_user_clear(&u);
	return r;
}

START_TEST(test_oom)
{
	const char *reply = "[{\"data\":[{\"__entity_type__\":\"User\",\"id\":"
			    "\"u\",\"username\":\"a\"}]}]";
	int i, r = FT_E_NOMEM;
	char *body = NULL;

	for (i = 0; i < 200 && r == FT_E_NOMEM; i++) {
		fail_after = i;
		json_set_alloc_funcs(failing_malloc, free);
		r = build_all(&body);
		json_set_alloc_funcs(malloc, free);
	}
	ck_assert_int_eq(r, FT_OK);
	ck_assert_int_gt(i, 5);
	free(body);
	for (i = 0, r = FT_E_NOMEM; i < 200 && r == FT_E_NOMEM; i++) {
		struct ftrack_reply *rep = NULL;

		fail_after = i;
		json_set_alloc_funcs(failing_malloc, free);
		r = ftrack_reply_parse(reply, strlen(reply), 200, 1, &rep, NULL,
				       0, NULL, 0);
		json_set_alloc_funcs(malloc, free);
		ck_assert(r == FT_OK || r == FT_E_NOMEM || r == FT_E_MALFORMED);
		if (r ==
		    FT_E_MALFORMED) /* jansson reports OOM as a parse error */
			r = FT_E_NOMEM;
		ftrack_reply_free(rep);
	}
	ck_assert_int_eq(r, FT_OK);
}

END_TEST

Suite *
ftrack_json_suite(void)
{
	Suite *s = suite_create("ftrack_json");
	TCase *q = tcase_create("quote");
	TCase *b = tcase_create("build");
	TCase *c = tcase_create("classify");
	TCase *d = tcase_create("decode");

	tcase_add_loop_test(q, test_quote_table, 0,
			    (int)(sizeof(quote_ok) / sizeof(quote_ok[0])));
	tcase_add_test(q, test_quote_refused);
	tcase_add_test(q, test_quote_bounds);
	tcase_add_test(q, test_expr_in);
	tcase_add_test(q, test_expr_in_refused);
	tcase_add_test(q, test_expr_in_toobig);
	tcase_add_test(b, test_body_query);
	tcase_add_test(b, test_body_create_user);
	tcase_add_test(b, test_body_create_user_minimal);
	tcase_add_test(b, test_body_update_user);
	tcase_add_test(b, test_body_update_username);
	tcase_add_test(b, test_body_delete_and_markers);
	tcase_add_test(b, test_body_refuses_bad_utf8);
	tcase_add_test(b, test_body_dump_range);
	tcase_add_test(b, test_oom);
	tcase_add_loop_test(c, test_classify_table, 0,
			    (int)(sizeof(classify) / sizeof(classify[0])));
	tcase_add_test(c, test_classify_message_clean);
	tcase_add_test(c, test_classify_nul_in_body);
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
	suite_add_tcase(s, q);
	suite_add_tcase(s, b);
	suite_add_tcase(s, c);
	suite_add_tcase(s, d);
	return s;
}
