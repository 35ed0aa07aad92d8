/* SPDX-License-Identifier: Apache-2.0 */
/* check_login.c: login.c: [ldap] login_format on PAM names, table-driven. */
#include <check.h>
#include <stdbool.h>
#include <string.h>

#include "ft_err.h"
#include "ft_proto.h"
#include "login.h"

Suite *login_suite(void);

#define SD LOGIN_STRIP_DOMAIN
#define SR LOGIN_STRIP_REALM
#define LO LOGIN_LOWER

static const struct {
	unsigned fmt;
	const char *raw;
	int want;          /* FT_OK or the error */
	const char *login; /* the result when FT_OK */
} rows[] = {
	/* empty format: as is, whatever the name holds */
	{0, "alice", FT_OK, "alice"},
	{0, "alice@corp.example.com", FT_OK, "alice@corp.example.com"},
	{0, "CORP\\Alice", FT_OK, "CORP\\Alice"},
	/* strip-realm: from the last '@' */
	{SR, "alice@corp.example.com", FT_OK, "alice"},
	{SR, "alice", FT_OK, "alice"},
	{SR, "a@b@CORP", FT_OK, "a@b"},
	{SR, "alice@", FT_OK, "alice"},
	{SR, "@CORP", FT_E_INVAL, NULL},
	{SR, "@", FT_E_INVAL, NULL},
	{SR, "CORP\\alice", FT_OK, "CORP\\alice"},
	/* strip-domain: up to the first '\' */
	{SD, "CORP\\alice", FT_OK, "alice"},
	{SD, "CORP\\sub\\alice", FT_OK, "sub\\alice"},
	{SD, "\\alice", FT_OK, "alice"},
	{SD, "CORP\\", FT_E_INVAL, NULL},
	{SD, "alice@corp", FT_OK, "alice@corp"},
	/* both, in that order whatever the words' order */
	{SD | SR, "CORP\\alice@corp", FT_OK, "alice"},
	{SD | SR, "alice@we\\ird", FT_OK, "ird"},
	{SD | SR, "CORP\\@corp", FT_E_INVAL, NULL},
	/* lower: ASCII only; other letters keep their case */
	{LO, "ALICE", FT_OK, "alice"},
	{LO, "Alice-Smith_2", FT_OK, "alice-smith_2"},
	{LO, "\xc3\x89LODIE", FT_OK, "\xc3\x89lodie"}, /* ÉLODIE */
	{SR | LO, "ALICE@CORP.EXAMPLE.COM", FT_OK, "alice"},
	{SD | SR | LO, "CORP\\Alice", FT_OK, "alice"},
	/* the one rule for a login name, before and after */
	{0, "", FT_E_INVAL, NULL},
	{LO, "", FT_E_INVAL, NULL},
	{SR, "bad\x01name@corp", FT_E_INVAL, NULL},
	{SR, "tab\tname", FT_E_INVAL, NULL},
	{SR, "\xff@corp", FT_E_INVAL, NULL},
	{0, "\xc2\x85next-line", FT_E_INVAL, NULL}, /* C1 control */
};

#define NROWS (sizeof(rows) / sizeof(rows[0]))

START_TEST(test_login_name)
{
	char out[FT_PROTO_VALUE_MAX + 1] = "untouched";
	int r = login_name(rows[_i].fmt, rows[_i].raw, out, sizeof(out));

	ck_assert_msg(r == rows[_i].want, "row %d '%s': %d, want %d", _i,
		      rows[_i].raw, r, rows[_i].want);
	if (r == FT_OK)
		ck_assert_str_eq(out, rows[_i].login);
	else
		ck_assert_str_eq(out,
				 "untouched"); /* written only on success */
	/* in place gives the same */
	if (r == FT_OK) {
		char buf[FT_PROTO_VALUE_MAX + 1];

		memcpy(buf, rows[_i].raw, strlen(rows[_i].raw) + 1);
		ck_assert_int_eq(
			login_name(rows[_i].fmt, buf, buf, sizeof(buf)), FT_OK);
		ck_assert_str_eq(buf, rows[_i].login);
	}
}

END_TEST

/* The capacity bounds the result, not the name: exact fit, one short. */
START_TEST(test_capacity)
{
	char out[6];

	ck_assert_int_eq(login_name(SR, "alice@corp", out, 6), FT_OK);
	ck_assert_str_eq(out, "alice");
	ck_assert_int_eq(login_name(SR, "alice@corp", out, 5), FT_E_TOOBIG);
	ck_assert_int_eq(login_name(0, "alice@corp", out, sizeof(out)),
			 FT_E_TOOBIG);
}

END_TEST

/* The longest name an event may carry is a login; one byte more is not. */
START_TEST(test_valid_bounds)
{
	char name[FT_PROTO_VALUE_MAX + 2];

	memset(name, 'a', sizeof(name) - 1);
	name[FT_PROTO_VALUE_MAX] = '\0';
	ck_assert(login_valid(name));
	name[FT_PROTO_VALUE_MAX] = 'a';
	name[FT_PROTO_VALUE_MAX + 1] = '\0';
	ck_assert(!login_valid(name));
	ck_assert(!login_valid(NULL));
	ck_assert(!login_valid(""));
	ck_assert(login_valid("alice"));
}

END_TEST

START_TEST(test_qualified)
{
	ck_assert(login_qualified("alice@corp.example.com"));
	ck_assert(login_qualified("CORP\\alice"));
	ck_assert(!login_qualified("alice"));
	ck_assert(!login_qualified("alice.smith"));
	ck_assert(!login_qualified(NULL));
}

END_TEST

Suite *
login_suite(void)
{
	Suite *s = suite_create("login");
	TCase *tc = tcase_create("login");

	tcase_add_loop_test(tc, test_login_name, 0, (int)NROWS);
	tcase_add_test(tc, test_capacity);
	tcase_add_test(tc, test_valid_bounds);
	tcase_add_test(tc, test_qualified);
	suite_add_tcase(s, tc);
	return s;
}
