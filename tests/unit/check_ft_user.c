/* SPDX-License-Identifier: Apache-2.0 */
/* check_ft_user.c: struct ft_user and its growable list, table-driven. */
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ft_err.h"
#include "ft_user.h"

Suite *ft_user_suite(void);

/* The string fields of one user, NULL where absent. */
struct fields {
	const char *username, *email, *first_name, *last_name, *uuid,
		*deactivated, *dn, *login, *id;
	bool is_active, disabled;
};

static const struct fields users[] = {
	{"alice", "alice@example.com", "Alice", "Liddell", "u-1", NULL,
	 "uid=alice,ou=people,dc=example,dc=com", "alice", NULL, false, false},
	{"bob", NULL, NULL, NULL, NULL, NULL, NULL, NULL, "id-2", true, false},
	{"carol", "c@x", "Carol", "", "u-3", "2024-01-02T03:04:05Z", NULL, NULL,
	 "id-3", false, false},
	{"dave", NULL, "Dave", NULL, "0a1b2c", NULL, "uid=dave,dc=x", "DAVE",
	 NULL, false, true},
	{NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, false, false},
	{"\xc3\xa9mile", "e@x", "\xc3\x89mile", "Zola", "u-6", NULL, "dn",
	 "emile", "id-6", true, false},
};

#define NUSERS (sizeof(users) / sizeof(users[0]))

static char *
dup_or_null(const char *s)
{
	char *d;

	if (s == NULL)
		return NULL;
	d = strdup(s);
	ck_assert_ptr_nonnull(d);
	return d;
}

/* A heap-owned ft_user holding copies of f. */
static struct ft_user
make(const struct fields *f)
{
	struct ft_user u;

	memset(&u, 0, sizeof(u));
	u.username = dup_or_null(f->username);
	u.email = dup_or_null(f->email);
	u.first_name = dup_or_null(f->first_name);
	u.last_name = dup_or_null(f->last_name);
	u.uuid = dup_or_null(f->uuid);
	u.deactivated = dup_or_null(f->deactivated);
	u.dn = dup_or_null(f->dn);
	u.login = dup_or_null(f->login);
	u.id = dup_or_null(f->id);
	u.is_active = f->is_active;
	u.disabled = f->disabled;
	return u;
}

static void
same_str(const char *got, const char *want, const char *what)
{
	if (want == NULL)
		ck_assert_msg(got == NULL, "%s: got '%s' want NULL", what, got);
	else
		ck_assert_msg(got != NULL && strcmp(got, want) == 0,
			      "%s: got '%s' want '%s'", what,
			      got ? got : "(null)", want);
}

static void
same_user(const struct ft_user *u, const struct fields *f)
{
	same_str(u->username, f->username, "username");
	same_str(u->email, f->email, "email");
	same_str(u->first_name, f->first_name, "first_name");
	same_str(u->last_name, f->last_name, "last_name");
	same_str(u->uuid, f->uuid, "uuid");
	same_str(u->deactivated, f->deactivated, "deactivated");
	same_str(u->dn, f->dn, "dn");
	same_str(u->login, f->login, "login");
	same_str(u->id, f->id, "id");
	ck_assert(u->is_active == f->is_active);
	ck_assert(u->disabled == f->disabled);
}

static bool
all_zero(const struct ft_user *u)
{
	static const struct ft_user zero;

	return memcmp(u, &zero, sizeof(zero)) == 0;
}

/* Clearing frees every string (LeakSanitizer checks) and zeroes. */
START_TEST(test_clear)
{
	struct ft_user u = make(&users[_i]);

	same_user(&u, &users[_i]);
	ft_user_clear(&u);
	ck_assert(all_zero(&u));
	ft_user_clear(&u); /* twice: nothing left to free */
	ck_assert(all_zero(&u));
}

END_TEST

START_TEST(test_clear_null)
{
	ft_user_clear(NULL);
}

END_TEST

/* A push moves the strings into the list (same pointers) and zeroes u. */
START_TEST(test_push_takes_ownership)
{
	struct ft_user_list list = {NULL, 0, 0};
	struct ft_user u = make(&users[_i]);
	char *name = u.username, *id = u.id;

	ck_assert_int_eq(ft_user_list_push(&list, &u), FT_OK);
	ck_assert(all_zero(&u));
	ck_assert_uint_eq(list.n, 1);
	ck_assert_uint_ge(list.cap, 1);
	ck_assert_ptr_eq(list.v[0].username, name);
	ck_assert_ptr_eq(list.v[0].id, id);
	same_user(&list.v[0], &users[_i]);
	ft_user_list_clear(&list);
	ck_assert_ptr_null(list.v);
	ck_assert_uint_eq(list.n, 0);
	ck_assert_uint_eq(list.cap, 0);
}

END_TEST

/* The list keeps order and content across growth, and is reusable. */
START_TEST(test_growth)
{
	static const size_t sizes[] = {0, 1, 63, 64, 65, 128, 129, 1000};
	size_t count = sizes[_i];
	struct ft_user_list list = {NULL, 0, 0};
	char name[32];
	size_t i, round;

	for (round = 0; round < 2; round++) {
		for (i = 0; i < count; i++) {
			struct ft_user u = make(&users[i % NUSERS]);

			free(u.login);
			(void)snprintf(name, sizeof(name), "user%zu", i);
			u.login = dup_or_null(name);
			ck_assert_int_eq(ft_user_list_push(&list, &u), FT_OK);
			ck_assert_uint_eq(list.n, i + 1);
			ck_assert_uint_ge(list.cap, list.n);
		}
		for (i = 0; i < count; i++) {
			(void)snprintf(name, sizeof(name), "user%zu", i);
			ck_assert_str_eq(list.v[i].login, name);
			same_str(list.v[i].username, users[i % NUSERS].username,
				 "username");
			same_str(list.v[i].email, users[i % NUSERS].email,
				 "email");
		}
		ft_user_list_clear(&list);
		ck_assert_uint_eq(list.n, 0);
		ck_assert_ptr_null(list.v);
	}
}

END_TEST

/* The one rule for "the same e-mail address": ASCII case folded only. */
static const struct {
	const char *a, *b;
	int sign; /* of ft_email_cmp(a, b) */
} emails[] = {
	{"alice@example.com", "alice@example.com", 0},
	{"Alice.Smith@Studio.Example", "alice.smith@studio.example", 0},
	{"ALICE@X", "alice@x", 0},
	{"alice@x", "alice@y", -1},
	{"alice@x", "alice@x.com", -1},
	{"bob@x", "Alice@x", 1},
	{"", "", 0},
	{"", "a", -1},
	{"[@x", "a@x", -1}, /* '[' is not a folded 'Z' + 1 */
	{"\xc3\x89mile@x", "\xc3\xa9mile@x", -1}, /* not ASCII: as is */
};

START_TEST(test_email_cmp)
{
	int d = ft_email_cmp(emails[_i].a, emails[_i].b);
	int back = ft_email_cmp(emails[_i].b, emails[_i].a);

	ck_assert_int_eq((d > 0) - (d < 0), emails[_i].sign);
	ck_assert_int_eq((back > 0) - (back < 0), -emails[_i].sign);
}

END_TEST

START_TEST(test_linked_by_email)
{
	struct ft_user u;

	memset(&u, 0, sizeof(u));
	ck_assert(!ft_user_linked_by_email(&u));
	u.linked_by = strdup(FT_LINKED_BY_EMAIL);
	ck_assert(ft_user_linked_by_email(&u));
	ft_user_clear(&u); /* frees linked_by too (ASan checks) */
	ck_assert_ptr_null(u.linked_by);
	u.linked_by = strdup("username");
	ck_assert(!ft_user_linked_by_email(&u));
	ft_user_clear(&u);
}

END_TEST

START_TEST(test_list_clear_empty)
{
	struct ft_user_list list = {NULL, 0, 0};

	ft_user_list_clear(&list);
	ck_assert_ptr_null(list.v);
	ck_assert_uint_eq(list.n, 0);
}

END_TEST

Suite *
ft_user_suite(void)
{
	Suite *s = suite_create("ft_user");
	TCase *tc = tcase_create("user");

	tcase_add_loop_test(tc, test_clear, 0, (int)NUSERS);
	tcase_add_test(tc, test_clear_null);
	tcase_add_loop_test(tc, test_push_takes_ownership, 0, (int)NUSERS);
	tcase_add_loop_test(tc, test_growth, 0, 8);
	tcase_add_test(tc, test_list_clear_empty);
	tcase_add_loop_test(tc, test_email_cmp, 0,
			    (int)(sizeof(emails) / sizeof(emails[0])));
	tcase_add_test(tc, test_linked_by_email);
	suite_add_tcase(s, tc);
	return s;
}
