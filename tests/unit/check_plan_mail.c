/* SPDX-License-Identifier: Apache-2.0 */
/* check_plan_mail.c: the reconcile's index of ftrack users by e-mail. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "ft_err.h"
#include "plan_mail.h"

Suite *plan_mail_suite(void);

#define S(x) ((char *)(uintptr_t)(x))

/* username, email (id "id-<username>", except "noid") */
static struct ft_user ft_v[] = {
	{.username = S("Carol@X"), .email = S("carol@x"), .id = S("1")},
	{.username = S("cnew"), .email = S("CAROL@X"), .id = S("2")},
	{.username = S("bob"), .email = S("bob@x"), .id = S("3")},
	{.username = S("empty"), .email = S(""), .id = S("4")},
	{.username = S("none"), .id = S("5")},
	{.username = S("noid"), .email = S("noid@x")},
	{.username = S("alice.a@x"), .email = S("Alice.A@X"), .id = S("7")},
	{.username = S("claimed"), .email = S("carol@x"), .id = S("8")},
};
static const bool claimed[] = {false, false, false, false,
			       false, false, false, true};
static struct ft_user ldap_v[] = {
	{.username = S("carol"), .email = S("carol@x")},
	{.username = S("dave"), .email = S("dave@x")},
	{.username = S("erin"), .email = S("DAVE@X")},
	{.username = S("frank")},
	{.username = S("gina"), .email = S("")},
	{.username = S("hal"), .email = S("")},
};

static const struct ft_user_list ft = {ft_v, 8, 8};
static const struct ft_user_list ldap = {ldap_v, 6, 6};

/* An address and the usernames it matches, in the index's order. */
static const struct {
	const char *email;
	const char *want; /* "|"-joined */
} cases[] = {
	{"carol@x", "Carol@X|cnew"}, /* not "claimed", ordered by name */
	{"CaRoL@x", "Carol@X|cnew"},
	{"alice.a@x", "alice.a@x"},
	{"bob@x", "bob"},
	{"bob@y", ""},
	{"noid@x", ""}, /* no id: not a user to link */
	{"", ""},       /* "empty" is never matched */
	{NULL, ""},
	{"a", ""},
	{"zzz@x", ""},
};

START_TEST(test_matches)
{
	struct plan_mail m;
	char got[256] = "";
	size_t i, n;

	ck_assert_int_eq(plan_mail_build(&m, &ft, claimed, &ldap), FT_OK);
	ck_assert_uint_eq(m.n, 4); /* with an id and an address, unclaimed */
	n = plan_mail_matches(&m, cases[_i].email);
	for (i = 0; i < n; i++)
		(void)snprintf(got + strlen(got), sizeof(got) - strlen(got),
			       "%s%s", i ? "|" : "", m.cand[i]->username);
	ck_assert_str_eq(got, cases[_i].want);
	plan_mail_free(&m);
	ck_assert_ptr_null(m.by_mail);
	ck_assert_uint_eq(m.n, 0);
}

END_TEST

START_TEST(test_twins_and_claims)
{
	struct plan_mail m;

	ck_assert_int_eq(plan_mail_build(&m, &ft, NULL, &ldap), FT_OK);
	/* nothing claimed: "claimed" is a candidate too */
	ck_assert_uint_eq(plan_mail_matches(&m, "carol@x"), 3);
	ck_assert(!m.twin[0]);
	ck_assert(m.twin[1]); /* dave@x and DAVE@X */
	ck_assert(m.twin[2]);
	ck_assert(!m.twin[3]); /* no address */
	ck_assert(!m.twin[4]); /* two empty addresses are no twins */
	ck_assert(!m.twin[5]);
	plan_mail_free(&m);
	plan_mail_free(&m); /* an empty index: a no-op */
}

END_TEST

START_TEST(test_empty_lists)
{
	const struct ft_user_list none = {NULL, 0, 0};
	struct plan_mail m;

	ck_assert_int_eq(plan_mail_build(&m, &none, NULL, &none), FT_OK);
	ck_assert_uint_eq(m.n, 0);
	ck_assert_uint_eq(plan_mail_matches(&m, "carol@x"), 0);
	plan_mail_free(&m);
}

END_TEST

Suite *
plan_mail_suite(void)
{
	Suite *s = suite_create("plan_mail");
	TCase *tc = tcase_create("plan_mail");

	tcase_add_loop_test(tc, test_matches, 0,
			    (int)(sizeof(cases) / sizeof(cases[0])));
	tcase_add_test(tc, test_twins_and_claims);
	tcase_add_test(tc, test_empty_lists);
	suite_add_tcase(s, tc);
	return s;
}
