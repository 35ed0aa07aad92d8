/* SPDX-License-Identifier: Apache-2.0 */
/* check_ftrack_json.c: quoting, query expressions, building request bodies. */
#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ft_err.h"
#include "ft_user.h"
#include "ftrack_json.h"
#include "h_ftrack.h"

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
	struct ft_user u =
		h_ft_mkuser("jdoe", "John", "Doe", "jdoe@example.com");

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
	struct ft_user u = h_ft_mkuser("bob", NULL, NULL, NULL);
	struct ft_user none = h_ft_mkuser(NULL, NULL, NULL, "x@example.com");

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
	struct ft_user u = h_ft_mkuser("jd", "Johnny", "Doe", NULL);

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
	struct ft_user u = h_ft_mkuser("new", NULL, NULL, NULL);
	struct ft_user nouser = h_ft_mkuser(NULL, NULL, NULL, NULL);

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

/* Memberships by client-made id; the role actions of section 12. */
START_TEST(test_body_groups_and_roles)
{
	struct ftrack_ops *ops = ftrack_ops_new();

	ck_assert_ptr_nonnull(ops);
	ck_assert_int_eq(ftrack_ops_create_membership(ops, "m1", "u1", "g1"),
			 FT_OK);
	ck_assert_int_eq(ftrack_ops_delete_membership(ops, "m1"), FT_OK);
	ck_assert_int_eq(ftrack_ops_role(ops, FTRACK_ROLE_ADD, "u1", "r1"),
			 FT_OK);
	ck_assert_int_eq(
		ftrack_ops_role(ops, FTRACK_ROLE_GRANT_ALL_OPEN, "u1", "r1"),
		FT_OK);
	ck_assert_int_eq(
		ftrack_ops_role(ops, FTRACK_ROLE_REVOKE_ALL_OPEN, "u1", "r1"),
		FT_OK);
	ck_assert_int_eq(ftrack_ops_role(ops, FTRACK_ROLE_REMOVE, "u1", "r1"),
			 FT_OK);
	ck_assert_int_eq(ftrack_ops_role(ops, FTRACK_ROLE_ADD, "u1", NULL),
			 FT_E_INVAL);
	ck_assert_int_eq(ftrack_ops_create_membership(ops, "m1", NULL, "g1"),
			 FT_E_INVAL);
	assert_body(ops,
		    "[{\"action\":\"create\",\"entity_data\":{\"__entity_"
		    "type__\":\"Membership\",\"group_id\":\"g1\",\"id\":"
		    "\"m1\",\"user_id\":\"u1\"},\"entity_key\":[\"m1\"],"
		    "\"entity_type\":\"Membership\"},"
		    "{\"action\":\"delete\",\"entity_key\":[\"m1\"],"
		    "\"entity_type\":\"Membership\"},"
		    "{\"action\":\"add_user_security_role\",\"role_id\":"
		    "\"r1\",\"user_id\":\"u1\"},"
		    "{\"action\":\"grant_user_security_role_project\","
		    "\"all_open_projects\":true,\"role_id\":\"r1\","
		    "\"user_id\":\"u1\"},"
		    "{\"action\":\"revoke_user_security_role_project\","
		    "\"all_open_projects\":true,\"role_id\":\"r1\","
		    "\"user_id\":\"u1\"},"
		    "{\"action\":\"remove_user_security_role\",\"role_id\":"
		    "\"r1\",\"user_id\":\"u1\"}]");
}

END_TEST

START_TEST(test_body_refuses_bad_utf8)
{
	struct ftrack_ops *ops = ftrack_ops_new();
	struct ft_user u = h_ft_mkuser("a\xff", NULL, NULL, NULL);

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

/* ---- out of memory ------------------------------------------------------ */

/* Build a body of every kind of operation; returns the first error. */
static int
build_all(char **ret_body)
{
	struct ft_user u = h_ft_mkuser("u", "f", NULL, "e");
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
	int i, r = FT_E_NOMEM;
	char *body = NULL;

	for (i = 0; i < 200 && r == FT_E_NOMEM; i++) {
		h_ft_oom_after(i);
		r = build_all(&body);
		h_ft_oom_off();
	}
	ck_assert_int_eq(r, FT_OK);
	ck_assert_int_gt(i, 5);
	free(body);
}

END_TEST

Suite *
ftrack_json_suite(void)
{
	Suite *s = suite_create("ftrack_json");
	TCase *q = tcase_create("quote");
	TCase *b = tcase_create("build");

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
	tcase_add_test(b, test_body_groups_and_roles);
	tcase_add_test(b, test_body_refuses_bad_utf8);
	tcase_add_test(b, test_body_dump_range);
	tcase_add_test(b, test_oom);
	suite_add_tcase(s, q);
	suite_add_tcase(s, b);
	return s;
}
