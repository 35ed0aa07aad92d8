/* SPDX-License-Identifier: Apache-2.0 */
/* check_ldap_map_apply.c: ldap_map_apply.c: entry -> ft_user, and identity. */
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "ft_err.h"
#include "ft_user.h"
#include "h_ldapmap.h"
#include "ldap_map.h"

Suite *ldap_map_apply_suite(void);

#define MAXV 3
#define MAXA 8

/* An attribute in a table: up to MAXV values; len0 > 0 sets vals[0]'s
 * length (binary values with NUL bytes). */
struct tattr {
	const char *name;
	const char *v[MAXV];
	size_t len0;
};

struct mcase {
	const char *what;
	struct h_lm_map m;
	struct tattr a[MAXA];
	int rc;
	/* expected fields (NULL: absent) or the reason's substring */
	const char *username, *email, *first, *last, *uuid, *reason;
};

/* A view of the table's attributes; storage lives in the callers' arrays. */
static void
build_entry(const struct tattr *ta, struct map_attr *attrs,
	    struct map_val vals[MAXA][MAXV], struct map_entry *e)
{
	size_t i, j;

	e->dn = "uid=x,ou=people,dc=example,dc=com";
	e->attrs = attrs;
	e->nattrs = 0;
	for (i = 0; i < MAXA && ta[i].name != NULL; i++) {
		for (j = 0; j < MAXV && ta[i].v[j] != NULL; j++) {
			vals[i][j].p = ta[i].v[j];
			vals[i][j].len = strlen(ta[i].v[j]);
		}
		if (ta[i].len0 > 0)
			vals[i][0].len = ta[i].len0;
		attrs[i].name = ta[i].name;
		attrs[i].nvals = j;
		attrs[i].vals = vals[i];
		e->nattrs++;
	}
}

/* clang-format off */
#define A(name, ...)        {name, {__VA_ARGS__}, 0}
#define A0(name)            {name, {NULL}, 0}
#define BIN(name, val, len) {name, {val}, len}
#define UUID                A("entryUUID", "u-1")
#define ALICE                                                                  \
	A("uid", "alice"), A("mail", "alice@example.com"),                     \
	A("givenName", "Alice"), A("sn", "Archer"),                            \
	A("entryUUID", "a3f1b2c4-0000-1000-8000-00000000a11c")
/* clang-format on */

/* 257 and 256 bytes */
#define X64  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
#define L256 X64 X64 X64 X64
#define L257 L256 "y"

static const struct mcase cases[] = {
	{"every field",
	 {0},
	 {ALICE},
	 FT_OK,
	 "alice",
	 "alice@example.com",
	 "Alice",
	 "Archer",
	 "a3f1b2c4-0000-1000-8000-00000000a11c",
	 NULL},
	{"names match case-insensitively",
	 {0},
	 {A("UID", "bob"), A("MAIL", "bob@example.com"), A("GivenName", "Bob"),
	  A("SN", "Baker"), A("ENTRYUUID", "u-2")},
	 FT_OK,
	 "bob",
	 "bob@example.com",
	 "Bob",
	 "Baker",
	 "u-2",
	 NULL},
	{"template with lower",
	 {.email = "{uid|lower}@example.com"},
	 {A("uid", "Alice.Archer"), UUID},
	 FT_OK,
	 "Alice.Archer",
	 "alice.archer@example.com",
	 NULL,
	 NULL,
	 "u-1",
	 NULL},
	{"template with two references and literals",
	 {.username = "{givenName|lower}.{sn|lower}", .email = "x-{uid}"},
	 {A("uid", "jm"), A("givenName", "Jörg"), A("sn", "MÜLLER"), UUID},
	 FT_OK,
	 "jörg.müller",
	 "x-jm",
	 "Jörg",
	 "MÜLLER",
	 "u-1",
	 NULL},
	{"lower: Latin-1, Latin Extended-A, Greek, Cyrillic",
	 {.username = "{cn|lower}"},
	 {A("uid", "u"), A("cn", "ÀÉÎÕÜÞ×ß ĀĆĹŁŇŊŸŹŽ ΑΩ ДЯЁ İ 山田 ÿ"), UUID},
	 FT_OK,
	 "àéîõüþ×ß āćĺłňŋÿźž αω дяё İ 山田 ÿ",
	 NULL,
	 NULL,
	 NULL,
	 "u-1",
	 NULL},
	{"multi-valued: first value",
	 {0},
	 {A("uid", "multi"),
	  A("mail", "maria.multi@example.com", "mia@example.com"),
	  A("givenName", "Maria", "Mia"), A("sn", "Multi"), UUID},
	 FT_OK,
	 "multi",
	 "maria.multi@example.com",
	 "Maria",
	 "Multi",
	 "u-1",
	 NULL},
	{"no mail: email absent",
	 {0},
	 {A("uid", "nomail"), A("givenName", "Nora"), A("sn", "N"), UUID},
	 FT_OK,
	 "nomail",
	 NULL,
	 "Nora",
	 "N",
	 "u-1",
	 NULL},
	{"template over an absent attribute: email absent",
	 {.email = "{mailLocal}@example.com"},
	 {A("uid", "a"), UUID},
	 FT_OK,
	 "a",
	 NULL,
	 NULL,
	 NULL,
	 "u-1",
	 NULL},
	{"full name, one word",
	 {.first_name = NULL,
	  .full_name = "cn",
	  .username = "uid",
	  .login = "uid",
	  .none = 1},
	 {A("uid", "p"), A("cn", "Prince"), UUID},
	 FT_OK,
	 "p",
	 NULL,
	 "Prince",
	 NULL,
	 "u-1",
	 NULL},
	{"full name, two words",
	 {.full_name = "cn", .username = "uid", .login = "uid", .none = 1},
	 {A("uid", "a"), A("cn", "Alice Archer"), UUID},
	 FT_OK,
	 "a",
	 NULL,
	 "Alice",
	 "Archer",
	 "u-1",
	 NULL},
	{"full name, three words",
	 {.full_name = "cn", .username = "uid", .login = "uid", .none = 1},
	 {A("uid", "a"), A("cn", "Mary Ann Smith"), UUID},
	 FT_OK,
	 "a",
	 NULL,
	 "Mary Ann",
	 "Smith",
	 "u-1",
	 NULL},
	{"full name, extra spaces",
	 {.full_name = "cn", .username = "uid", .login = "uid", .none = 1},
	 {A("uid", "a"), A("cn", "   Mary    Ann   Smith   "), UUID},
	 FT_OK,
	 "a",
	 NULL,
	 "Mary Ann",
	 "Smith",
	 "u-1",
	 NULL},
	{"full name, only spaces",
	 {.full_name = "cn", .username = "uid", .login = "uid", .none = 1},
	 {A("uid", "a"), A("cn", "   "), UUID},
	 FT_OK,
	 "a",
	 NULL,
	 NULL,
	 NULL,
	 "u-1",
	 NULL},
	{"full name fills only the empty field",
	 {.full_name = "cn"},
	 {A("uid", "a"), A("cn", "Jo Van Dyke"), A("sn", "Dyke"), UUID},
	 FT_OK,
	 "a",
	 NULL,
	 "Jo Van",
	 "Dyke",
	 "u-1",
	 NULL},
	{"full name does not override mapped names",
	 {.full_name = "cn"},
	 {A("uid", "a"), A("cn", "Someone Else"), A("givenName", "Alice"),
	  A("sn", "Archer"), UUID},
	 FT_OK,
	 "a",
	 NULL,
	 "Alice",
	 "Archer",
	 "u-1",
	 NULL},
	{"mail not UTF-8",
	 {0},
	 {A("uid", "a"), A("mail", "a\xff@example.com"), UUID},
	 FT_E_INVAL,
	 .reason = "'mail' is not valid UTF-8"},
	{"overlong UTF-8 form",
	 {0},
	 {A("uid", "a"), A("sn", "\xc0\xaf"), UUID},
	 FT_E_INVAL,
	 .reason = "'sn' is not valid UTF-8"},
	{"control character",
	 {0},
	 {A("uid", "a"), A("givenName", "Al\nice"), UUID},
	 FT_E_INVAL,
	 .reason = "'givenName' holds a control character"},
	{"C1 control character",
	 {0},
	 {A("uid", "a"), A("givenName", "Al\xc2\x85ice"), UUID},
	 FT_E_INVAL,
	 .reason = "'givenName' holds a control character"},
	{"NUL byte inside a value",
	 {0},
	 {A("uid", "a"), BIN("sn", "a\0b", 3), UUID},
	 FT_E_INVAL,
	 .reason = "'sn' holds a control character"},
	{"256 bytes is fine",
	 {.full_name = "cn"},
	 {A("uid", "a"), A("cn", L256), UUID},
	 FT_OK,
	 "a",
	 NULL,
	 L256,
	 NULL,
	 "u-1",
	 NULL},
	{"257 bytes is too long",
	 {.full_name = "cn"},
	 {A("uid", "a"), A("cn", L257), UUID},
	 FT_E_INVAL,
	 .reason = "'cn' is longer than 256 bytes"},
	{"template result too long",
	 {.email = "{cn}@example.com"},
	 {A("uid", "a"), A("cn", L256), UUID},
	 FT_E_INVAL,
	 .reason = "email template gives more than 256 bytes"},
	{"no login value",
	 {0},
	 {A("cn", "x"), UUID},
	 FT_E_INVAL,
	 .reason = "no 'uid' value"},
	{"empty login",
	 {0},
	 {A("uid", ""), UUID},
	 FT_E_INVAL,
	 .reason = "empty username"},
	{"empty login, username from elsewhere",
	 {.username = "cn"},
	 {A("uid", ""), A("cn", "c"), UUID},
	 FT_E_INVAL,
	 .reason = "empty 'uid' value"},
	{"attribute present without values",
	 {0},
	 {A0("uid"), UUID},
	 FT_E_INVAL,
	 .reason = "no 'uid' value"},
	{"login differs from username",
	 {.username = "cn", .login = "sAMAccountName"},
	 {A("sAMAccountName", "jdoe"), A("cn", "John Doe"), UUID},
	 FT_OK,
	 "John Doe",
	 NULL,
	 NULL,
	 NULL,
	 "u-1",
	 NULL},
	{"objectGUID is hex",
	 {.uuid = "objectGUID"},
	 {A("uid", "a"),
	  BIN("objectGUID",
	      "\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x00",
	      16)},
	 FT_OK,
	 "a",
	 NULL,
	 NULL,
	 NULL,
	 "0102030405060708090a0b0c0d0e0f00",
	 NULL},
	{"objectGUID of printable bytes is still hex",
	 {.uuid = "objectguid"},
	 {A("uid", "a"), A("objectGUID", "ABCDEFGHIJKLMNOP")},
	 FT_OK,
	 "a",
	 NULL,
	 NULL,
	 NULL,
	 "4142434445464748494a4b4c4d4e4f50",
	 NULL},
	{"a binary uuid of another name is hex",
	 {.uuid = "nsUniqueId"},
	 {A("uid", "a"), A("nsUniqueId", "\xfe\xff")},
	 FT_OK,
	 "a",
	 NULL,
	 NULL,
	 NULL,
	 "feff",
	 NULL},
	{"no uuid value",
	 {0},
	 {A("uid", "a")},
	 FT_E_INVAL,
	 .reason = "no 'entryUUID' value"},
	{"username mapped from an empty attribute",
	 {.username = "cn"},
	 {A("uid", "a"), A("cn", ""), UUID},
	 FT_E_INVAL,
	 .reason = "empty username"},
};

static int
same(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

static void
check_user(const struct mcase *c, const struct ft_user *u)
{
	ck_assert_msg(same(u->username, c->username), "%s: username '%s'",
		      c->what, u->username ? u->username : "(null)");
	ck_assert_msg(same(u->email, c->email), "%s: email '%s'", c->what,
		      u->email ? u->email : "(null)");
	ck_assert_msg(same(u->first_name, c->first), "%s: first '%s'", c->what,
		      u->first_name ? u->first_name : "(null)");
	ck_assert_msg(same(u->last_name, c->last), "%s: last '%s'", c->what,
		      u->last_name ? u->last_name : "(null)");
	ck_assert_msg(same(u->uuid, c->uuid), "%s: uuid '%s'", c->what,
		      u->uuid ? u->uuid : "(null)");
	ck_assert_str_eq(u->dn, "uid=x,ou=people,dc=example,dc=com");
	ck_assert_ptr_nonnull(u->login);
	ck_assert(!u->disabled);
}

START_TEST(test_apply_table)
{
	const struct mcase *c = &cases[_i];
	struct map_attr attrs[MAXA];
	struct map_val vals[MAXA][MAXV];
	struct map_entry e;
	struct ldap_map *map = NULL;
	struct ft_user u = {0};
	char err[256] = "", reason[256] = "";
	int r;

	ck_assert_msg(h_lm_compile(&c->m, &map, err, sizeof(err)) == FT_OK,
		      "%s: %s", c->what, err);
	build_entry(c->a, attrs, vals, &e);
	r = ldap_map_apply(map, &e, &u, reason, sizeof(reason));
	ck_assert_msg(r == c->rc, "%s: got %d (%s), want %d", c->what, r,
		      reason, c->rc);
	if (r == FT_OK)
		check_user(c, &u);
	else
		ck_assert_msg(strstr(reason, c->reason) != NULL,
			      "%s: reason '%s' lacks '%s'", c->what, reason,
			      c->reason);
	ft_user_clear(&u);
	ldap_map_free(map);
}

END_TEST

START_TEST(test_login_copied)
{
	static const struct tattr ta[] = {A("uid", "st*r(x)\\5c"),
					  A("entryUUID", "u"), A0(NULL)};
	struct map_attr attrs[MAXA];
	struct map_val vals[MAXA][MAXV];
	struct map_entry e;
	struct ldap_map *map = NULL;
	struct ft_user u = {0};
	struct h_lm_map t = {0};
	char sentinel[] = "sentinel";

	ck_assert_int_eq(h_lm_compile(&t, &map, NULL, 0), FT_OK);
	build_entry(ta, attrs, vals, &e);
	ck_assert_int_eq(ldap_map_apply(map, &e, &u, NULL, 0), FT_OK);
	ck_assert_str_eq(u.login, "st*r(x)\\5c");
	ck_assert_str_eq(u.username, "st*r(x)\\5c");
	ft_user_clear(&u);
	/* a failure leaves *ret_user untouched */
	e.nattrs = 1;
	u.username = sentinel;
	ck_assert_int_eq(ldap_map_apply(map, &e, &u, NULL, 0), FT_E_INVAL);
	ck_assert_str_eq(u.username, "sentinel");
	ldap_map_free(map);
}

END_TEST

START_TEST(test_no_uuid_attr)
{
	static const struct tattr ta[] = {A("uid", "a"), A0(NULL)};
	struct config_mapping cm = {0};
	struct map_attr attrs[MAXA];
	struct map_val vals[MAXA][MAXV];
	struct map_entry e;
	struct ldap_map *map = NULL;
	struct ft_user u = {0};
	const char *const *a;

	cm.username = strdup("uid");
	ck_assert_int_eq(ldap_map_compile(&cm, "uid", "", &map, NULL, 0),
			 FT_OK);
	h_lm_mapping_clear(&cm);
	a = ldap_map_attrs(map);
	ck_assert_str_eq(a[0], "uid");
	ck_assert_ptr_null(a[1]);
	build_entry(ta, attrs, vals, &e);
	ck_assert_int_eq(ldap_map_apply(map, &e, &u, NULL, 0), FT_OK);
	ck_assert_ptr_null(u.uuid);
	ck_assert_ptr_null(u.email);
	ck_assert_str_eq(u.username, "a");
	ft_user_clear(&u);
	ldap_map_free(map);
}

END_TEST

START_TEST(test_bad_dn)
{
	static const struct tattr ta[] = {A("uid", "a"), A("entryUUID", "u"),
					  A0(NULL)};
	struct map_attr attrs[MAXA];
	struct map_val vals[MAXA][MAXV];
	struct map_entry e;
	struct ldap_map *map = NULL;
	struct ft_user u = {0};
	struct h_lm_map t = {0};
	char reason[128];

	ck_assert_int_eq(h_lm_compile(&t, &map, NULL, 0), FT_OK);
	build_entry(ta, attrs, vals, &e);
	e.dn = "uid=\xff,dc=x";
	ck_assert_int_eq(ldap_map_apply(map, &e, &u, reason, sizeof(reason)),
			 FT_E_INVAL);
	ck_assert_ptr_nonnull(strstr(reason, "DN"));
	e.dn = NULL;
	ck_assert_int_eq(ldap_map_apply(map, &e, &u, reason, sizeof(reason)),
			 FT_E_INVAL);
	ck_assert_ptr_null(u.username);
	ldap_map_free(map);
}

END_TEST

/* ---- identity: what can be told of an entry that does not map ---------- */

struct icase {
	const char *what;
	struct h_lm_map m;
	const char *dn; /* NULL: build_entry's */
	struct tattr a[MAXA];
	/* expected (NULL: absent); dn is expected when the entry's is valid */
	const char *login, *uuid, *username;
	int dn_ok;
};

static const struct icase idents[] = {
	{"every part",
	 {0},
	 NULL,
	 {ALICE},
	 "alice",
	 "a3f1b2c4-0000-1000-8000-00000000a11c",
	 "alice",
	 1},
	{"a bad mail does not hide the rest",
	 {0},
	 NULL,
	 {A("uid", "a"), A("mail", "a\xff@example.com"), UUID},
	 "a",
	 "u-1",
	 "a",
	 1},
	{"no login value: no login, no username",
	 {0},
	 NULL,
	 {A("cn", "x"), UUID},
	 NULL,
	 "u-1",
	 NULL,
	 1},
	{"no uuid value", {0}, NULL, {A("uid", "a")}, "a", NULL, "a", 1},
	{"a username too long",
	 {.username = "cn"},
	 NULL,
	 {A("uid", "a"), A("cn", L257), UUID},
	 "a",
	 "u-1",
	 NULL,
	 1},
	{"objectGUID as hex",
	 {.uuid = "objectGUID"},
	 NULL,
	 {A("uid", "a"), A("objectGUID", "ABCDEFGHIJKLMNOP")},
	 "a",
	 "4142434445464748494a4b4c4d4e4f50",
	 "a",
	 1},
	{"a DN that is not UTF-8",
	 {0},
	 "uid=\xff,dc=x",
	 {A("uid", "a"), UUID},
	 "a",
	 "u-1",
	 "a",
	 0},
};

START_TEST(test_identity_table)
{
	const struct icase *c = &idents[_i];
	struct map_attr attrs[MAXA];
	struct map_val vals[MAXA][MAXV];
	struct map_entry e;
	struct ldap_map *map = NULL;
	struct ft_user u = {0};
	char err[256] = "";

	ck_assert_msg(h_lm_compile(&c->m, &map, err, sizeof(err)) == FT_OK,
		      "%s: %s", c->what, err);
	build_entry(c->a, attrs, vals, &e);
	if (c->dn != NULL)
		e.dn = c->dn;
	ck_assert_int_eq(ldap_map_identity(map, &e, &u), FT_OK);
	ck_assert_msg(same(u.login, c->login), "%s: login '%s'", c->what,
		      u.login ? u.login : "(null)");
	ck_assert_msg(same(u.uuid, c->uuid), "%s: uuid '%s'", c->what,
		      u.uuid ? u.uuid : "(null)");
	ck_assert_msg(same(u.username, c->username), "%s: username '%s'",
		      c->what, u.username ? u.username : "(null)");
	ck_assert_msg(same(u.dn, c->dn_ok ? e.dn : NULL), "%s: dn '%s'",
		      c->what, u.dn ? u.dn : "(null)");
	ck_assert_ptr_null(u.email);
	ck_assert_ptr_null(u.first_name);
	ck_assert_ptr_null(u.last_name);
	ft_user_clear(&u);
	ldap_map_free(map);
}

END_TEST

/* ---- expiry ----------------------------------------------------------- */

#define NOW    ((time_t)1796299200) /* 2026-12-03T12:00:00Z: day 20790 */
#define NOW_FT "134407728000000000" /* the same instant as a FILETIME */

struct xcase {
	const char *attr, *value;
	time_t now; /* 0: NOW */
	int rc;
	bool expired;
	const char *reason; /* a substring of the reason on FT_E_INVAL */
};

static const struct xcase xcases[] = {
	{"accountExpires", "0", 0, FT_OK, false, NULL},
	{"accountExpires", "9223372036854775807", 0, FT_OK, false, NULL},
	{"accountExpires", NOW_FT, 0, FT_OK, true, NULL},
	{"accountExpires", "134407728000000001", 0, FT_OK, false, NULL},
	{"accountExpires", "134407727999999999", 0, FT_OK, true, NULL},
	{"accountExpires", "134409456000000000", 0, FT_OK, false, NULL},
	{"accountExpires", "1", 0, FT_OK, true, NULL},
	{"accountexpires", "1", 0, FT_OK, true, NULL},
	{"accountExpires", NOW_FT, NOW - 1, FT_OK, false, NULL},
	{"accountExpires", "116444736000000000", 0, FT_OK, true, NULL},
	{"accountExpires", "116444736000000000", -1, FT_OK, false, NULL},
	{"accountExpires", "9223372036854775808", 0, FT_E_INVAL, false,
	 "is not a FILETIME"},
	{"accountExpires", "99999999999999999999", 0, FT_E_INVAL, false,
	 "is not a FILETIME"},
	{"accountExpires", "-1", 0, FT_E_INVAL, false,
	 "'-1' is not a FILETIME"},
	{"accountExpires", "", 0, FT_E_INVAL, false, "is not a FILETIME"},
	{"accountExpires", "12a", 0, FT_E_INVAL, false, "'12a'"},
	{"accountExpires", " 1", 0, FT_E_INVAL, false, "is not a FILETIME"},
	{"shadowExpire", "20790", 0, FT_OK, true, NULL},
	{"shadowExpire", "20791", 0, FT_OK, false, NULL},
	{"shadowExpire", "20791", 20791 * 86400 - 1, FT_OK, false, NULL},
	{"shadowExpire", "20791", 20791 * 86400, FT_OK, true, NULL},
	{"shadowExpire", "20789", 0, FT_OK, true, NULL},
	{"shadowExpire", "1", 0, FT_OK, true, NULL},
	{"SHADOWEXPIRE", "99999", 0, FT_OK, false, NULL},
	{"shadowExpire", "-1", 0, FT_OK, false, NULL},
	{"shadowExpire", "0", 0, FT_E_INVAL, false, "shadow(5)"},
	{"shadowExpire", "-2", 0, FT_E_INVAL, false, "days since 1970-01-01"},
	{"shadowExpire", "+5", 0, FT_E_INVAL, false, "days since 1970-01-01"},
	{"shadowExpire", "soon", 0, FT_E_INVAL, false,
	 "'shadowExpire' value 'soon' is not"},
	{"mail", "1", 0, FT_E_INVAL, false, "not an expiry attribute"},
};

START_TEST(test_expiry_table)
{
	const struct xcase *c = &xcases[_i];
	struct map_val v = {c->value, strlen(c->value)};
	char reason[256] = "";
	bool expired = !c->expired;
	int r;

	r = ldap_map_expiry_judge(c->attr, &v, c->now != 0 ? c->now : NOW,
				  &expired, reason, sizeof(reason));
	ck_assert_msg(r == c->rc, "%s '%s': %d (%s)", c->attr, c->value, r,
		      reason);
	if (r == FT_OK)
		ck_assert_msg(expired == c->expired, "%s '%s': expired %d",
			      c->attr, c->value, expired);
	else
		ck_assert_msg(strstr(reason, c->reason) != NULL,
			      "%s '%s': reason '%s'", c->attr, c->value,
			      reason);
}

END_TEST

START_TEST(test_expiry_format)
{
	ck_assert_int_eq(ldap_map_expiry_format("accountExpires"),
			 LDAP_EXPIRY_FILETIME);
	ck_assert_int_eq(ldap_map_expiry_format("ACCOUNTEXPIRES"),
			 LDAP_EXPIRY_FILETIME);
	ck_assert_int_eq(ldap_map_expiry_format("shadowExpire"),
			 LDAP_EXPIRY_DAYS);
	ck_assert_int_eq(ldap_map_expiry_format("shadowExpireX"),
			 LDAP_EXPIRY_NONE);
	ck_assert_int_eq(ldap_map_expiry_format(""), LDAP_EXPIRY_NONE);
	ck_assert_int_eq(ldap_map_expiry_format(NULL), LDAP_EXPIRY_NONE);
}

END_TEST

/* The entry's first value is judged; no attribute, or none set: never. */
START_TEST(test_expired_entry)
{
	const struct tattr ta[] = {A("uid", "a"),
				   {"shadowExpire", {"1", "-1", NULL}, 0},
				   {NULL, {NULL}, 0}};
	const struct tattr bad[] = {
		A("uid", "a"), A("shadowExpire", "0"), {NULL, {NULL}, 0}};
	struct map_attr attrs[MAXA];
	struct map_val vals[MAXA][MAXV];
	struct map_entry e;
	char reason[256] = "";
	bool expired = false;

	build_entry(ta, attrs, vals, &e);
	ck_assert_int_eq(ldap_map_expired("shadowexpire", &e, NOW, &expired,
					  reason, sizeof(reason)),
			 FT_OK);
	ck_assert(expired);
	ck_assert_int_eq(ldap_map_expired(NULL, &e, NOW, &expired, reason,
					  sizeof(reason)),
			 FT_OK);
	ck_assert(!expired);
	expired = true;
	ck_assert_int_eq(
		ldap_map_expired("", &e, NOW, &expired, reason, sizeof(reason)),
		FT_OK);
	ck_assert(!expired);
	expired = true;
	ck_assert_int_eq(ldap_map_expired("accountExpires", &e, NOW, &expired,
					  reason, sizeof(reason)),
			 FT_OK);
	ck_assert(!expired); /* absent: never */
	build_entry(bad, attrs, vals, &e);
	ck_assert_int_eq(ldap_map_expired("shadowExpire", &e, NOW, &expired,
					  reason, sizeof(reason)),
			 FT_E_INVAL);
	ck_assert_ptr_nonnull(strstr(reason, "'shadowExpire' value '0'"));
}

END_TEST

Suite *
ldap_map_apply_suite(void)
{
	Suite *s = suite_create("ldap_map_apply");
	TCase *tc = tcase_create("apply");

	tcase_add_loop_test(tc, test_apply_table, 0,
			    (int)(sizeof(cases) / sizeof(cases[0])));
	tcase_add_test(tc, test_login_copied);
	tcase_add_loop_test(tc, test_expiry_table, 0,
			    (int)(sizeof(xcases) / sizeof(xcases[0])));
	tcase_add_test(tc, test_expiry_format);
	tcase_add_test(tc, test_expired_entry);
	tcase_add_test(tc, test_no_uuid_attr);
	tcase_add_test(tc, test_bad_dn);
	tcase_add_loop_test(tc, test_identity_table, 0,
			    (int)(sizeof(idents) / sizeof(idents[0])));
	suite_add_tcase(s, tc);
	return s;
}
