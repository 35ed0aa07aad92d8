/* SPDX-License-Identifier: Apache-2.0 */
/* check_ldap_map.c: ldap_map.c: the template grammar, compiling, attr names. */
#include <check.h>
#include <stdbool.h>
#include <string.h>

#include "config.h"
#include "ft_err.h"
#include "h_ldapmap.h"
#include "ldap_map.h"

Suite *ldap_map_suite(void);

/* ---- compiling ---------------------------------------------------------- */

struct ccase {
	struct h_lm_map m;
	const char *err;
};

static const struct ccase compile_bad[] = {
	{{.email = "{uid|upper}@example.com"},
	 "email: unknown filter 'upper' in '{uid|upper}@example.com'"},
	{{.email = "{uid|}"}, "unknown filter ''"},
	{{.email = "{uid"}, "email: unclosed '{'"},
	{{.email = "uid}"}, "email: unexpected '}'"},
	{{.email = "{}@x"}, "email: '' is not an attribute name"},
	{{.email = "{u id}"}, "'u id' is not an attribute name"},
	{{.email = "{{uid}}"}, "'{uid' is not an attribute name"},
	{{.first_name = "given name"},
	 "first_name: 'given name' is neither an attribute name nor a template"},
	{{.last_name = "a@b"}, "neither an attribute name nor a template"},
	{{.full_name = "-cn"}, "neither"},
	{{.username = "{uid|lower}\x01"}, "username: not UTF-8 text"},
	{{.username = NULL, .login = "uid", .none = 1},
	 "username: must be mapped"},
	{{.username = "", .login = "uid", .none = 1},
	 "username: must be mapped"},
	{{.username = "uid", .none = 1}, "login_attribute"},
	{{.login = "u i d"},
	 "login_attribute: 'u i d' is not an attribute name"},
	{{.uuid = "entry UUID"}, "uuid_attribute"},
};

START_TEST(test_compile_rejects)
{
	const struct ccase *c = &compile_bad[_i];
	struct ldap_map *map = NULL;
	char err[256] = "";

	ck_assert_int_eq(h_lm_compile(&c->m, &map, err, sizeof(err)),
			 FT_E_INVAL);
	ck_assert_ptr_null(map);
	ck_assert_msg(strstr(err, c->err) != NULL, "'%s' lacks '%s'", err,
		      c->err);
}

END_TEST

START_TEST(test_attrs)
{
	struct h_lm_map t = {.username = "{uid|lower}",
			     .email = "{UID}@example.com",
			     .full_name = "cn",
			     .login = "Uid",
			     .uuid = "entryUUID"};
	struct ldap_map *map = NULL;
	const char *const *a;
	const char *want[] = {"uid", "givenName", "sn", "cn", "entryUUID"};
	size_t i;

	ck_assert_int_eq(h_lm_compile(&t, &map, NULL, 0), FT_OK);
	a = ldap_map_attrs(map);
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		ck_assert_ptr_nonnull(a[i]);
		ck_assert_str_eq(a[i], want[i]);
	}
	ck_assert_ptr_null(a[i]);
	ldap_map_free(map);
}

END_TEST

/* ---- ldap_map_check: the one grammar, as the config checks it ---------- */

struct gcase {
	const char *src;
	int rc;
	const char *err; /* FT_OK: NULL; else the whole message */
};

static const struct gcase grammar[] = {
	{"mail", FT_OK, NULL},
	{"{uid|lower}@example.com", FT_OK, NULL},
	{"{givenName}.{sn} ({2.5.4.3;lang-en})", FT_OK, NULL},
	{"cn;lang-en", FT_OK, NULL},
	{"", FT_E_INVAL, "must not be empty"},
	{NULL, FT_E_INVAL, "must not be empty"},
	{"{uid}\x01", FT_E_INVAL,
	 "not UTF-8 text of at most 1024 bytes without control characters"},
	{"a\xff", FT_E_INVAL,
	 "not UTF-8 text of at most 1024 bytes without control characters"},
	{"x}", FT_E_INVAL, "unexpected '}' in 'x}'"},
	{"{uid", FT_E_INVAL, "unclosed '{' in '{uid'"},
	{"{uid|upper}", FT_E_INVAL,
	 "unknown filter 'upper' in '{uid|upper}' (the one filter is |lower)"},
	{"{cn;}", FT_E_INVAL, "'cn;' is not an attribute name in '{cn;}'"},
	{"{1..2}", FT_E_INVAL, "'1..2' is not an attribute name in '{1..2}'"},
	{"cn;", FT_E_INVAL,
	 "'cn;' is neither an attribute name nor a template"},
	{"1..2", FT_E_INVAL,
	 "'1..2' is neither an attribute name nor a template"},
};

START_TEST(test_check_grammar)
{
	const struct gcase *g = &grammar[_i];
	char err[MAP_ERR_MAX] = "";

	ck_assert_int_eq(ldap_map_check(g->src, err, sizeof(err)), g->rc);
	if (g->err == NULL)
		ck_assert_str_eq(err, "");
	else
		ck_assert_str_eq(err, g->err);
}

END_TEST

START_TEST(test_check_long)
{
	static char src[MAP_TEMPLATE_MAX + 2];
	char err[MAP_ERR_MAX] = "";

	/* MAP_TEMPLATE_MAX bytes of literal text and one reference fit */
	memset(src, 'x', MAP_TEMPLATE_MAX);
	memcpy(src, "{cn}", 4);
	src[MAP_TEMPLATE_MAX] = '\0';
	ck_assert_int_eq(ldap_map_check(src, err, sizeof(err)), FT_OK);
	src[MAP_TEMPLATE_MAX] = 'x';
	src[MAP_TEMPLATE_MAX + 1] = '\0';
	ck_assert_int_eq(ldap_map_check(src, err, sizeof(err)), FT_E_INVAL);
	ck_assert_ptr_nonnull(strstr(err, "at most 1024 bytes"));
	/* no room for the message: still the code, nothing written */
	ck_assert_int_eq(ldap_map_check("{uid", NULL, 0), FT_E_INVAL);
}

END_TEST

/* ---- ldap_map_attr_valid: RFC 4512 attribute descriptions --------------- */

struct acase {
	const char *s;
	bool ok;
};

static const struct acase attrs[] = {
	{"cn", true},
	{"givenName", true},
	{"x-custom-1", true},
	{"2.5.4.3", true},
	{"0", true},
	{"cn;lang-en", true},
	{"cn;lang-en;x-a", true},
	{"2.5.4.3;binary", true},
	{"", false},
	{"cn;", false},
	{"cn;;x", false},
	{";x", false},
	{"1..2", false},
	{"1.2.", false},
	{".1", false},
	{"1uid", false},
	{"-cn", false},
	{"c n", false},
	{"cn_x", false},
	{"cn;a_b", false},
	{"{cn}", false},
	{"cn\xc3\xa9", false},
};

START_TEST(test_attr_valid)
{
	const struct acase *a = &attrs[_i];

	ck_assert_msg(ldap_map_attr_valid(a->s, strlen(a->s)) == a->ok,
		      "'%s' should be %s", a->s, a->ok ? "valid" : "refused");
}

END_TEST

START_TEST(test_attr_valid_len)
{
	static char name[130];

	/* len, not the NUL, ends the name */
	ck_assert(ldap_map_attr_valid("cn;x", 2));
	ck_assert(!ldap_map_attr_valid("cn;x", 3));
	ck_assert(!ldap_map_attr_valid("cn", 0));
	/* at most 128 bytes */
	memset(name, 'a', sizeof(name) - 1);
	ck_assert(ldap_map_attr_valid(name, 128));
	ck_assert(!ldap_map_attr_valid(name, 129));
}

END_TEST

Suite *
ldap_map_suite(void)
{
	Suite *s = suite_create("ldap_map");
	TCase *tc = tcase_create("compile");

	tcase_add_loop_test(
		tc, test_compile_rejects, 0,
		(int)(sizeof(compile_bad) / sizeof(compile_bad[0])));
	tcase_add_test(tc, test_attrs);
	tcase_add_loop_test(tc, test_check_grammar, 0,
			    (int)(sizeof(grammar) / sizeof(grammar[0])));
	tcase_add_test(tc, test_check_long);
	tcase_add_loop_test(tc, test_attr_valid, 0,
			    (int)(sizeof(attrs) / sizeof(attrs[0])));
	tcase_add_test(tc, test_attr_valid_len);
	suite_add_tcase(s, tc);
	return s;
}
