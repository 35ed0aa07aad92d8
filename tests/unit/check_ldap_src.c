/* SPDX-License-Identifier: Apache-2.0 */
/* check_ldap_src.c: ldap_src against a real slapd loaded from people.ldif. */
#include <check.h>
#include <ldap.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "config.h"
#include "ft_err.h"
#include "ft_user.h"
#include "harness.h"
#include "ldap_src.h"

Suite *ldap_src_suite(void);

#define META_UID "st*r(x)\\5c"

/* The slapd shared by the read-only tests (started in the runner). */
static struct h_slapd *g_slapd;

static void
shared_setup(void)
{
	g_slapd = h_slapd_start(H_LDIF_PEOPLE, 0);
}

static void
shared_teardown(void)
{
	h_slapd_stop(g_slapd);
	g_slapd = NULL;
}

static const char *
shared_uri(void)
{
	ck_assert_msg(g_slapd != NULL, "the shared slapd did not start");
	return h_slapd_uri(g_slapd);
}

/* ---- a struct config by hand (independent of the parser) -------------- */

static void
set(char **field, const char *value)
{
	free(*field);
	*field = NULL;
	if (value != NULL) {
		*field = strdup(value);
		ck_assert_ptr_nonnull(*field);
	}
}

static struct config *
cfg_new(const char *uri)
{
	struct config *c = calloc(1, sizeof(*c));

	ck_assert_ptr_nonnull(c);
	set(&c->ldap.uri, uri);
	set(&c->ldap.bind_dn, H_LDAP_SYNC_DN);
	set(&c->ldap.bind_password, H_LDAP_SYNC_PW);
	set(&c->ldap.search_base, H_LDAP_PEOPLE);
	set(&c->ldap.search_filter, "(objectClass=inetOrgPerson)");
	set(&c->ldap.disabled_filter, H_LDAP_DISABLED);
	set(&c->ldap.login_attribute, "uid");
	set(&c->ldap.uuid_attribute, "entryUUID");
	c->ldap.tls_require_cert = TLS_DEMAND;
	c->ldap.timeout = 5;
	c->ldap.page_size = 500;
	set(&c->mapping.username, "uid");
	set(&c->mapping.email, "mail");
	set(&c->mapping.first_name, "givenName");
	set(&c->mapping.last_name, "sn");
	return c;
}

static void
cfg_free(struct config *c)
{
	char **fields[] = {&c->ldap.uri,
			   &c->ldap.bind_dn,
			   &c->ldap.bind_password,
			   &c->ldap.search_base,
			   &c->ldap.search_filter,
			   &c->ldap.disabled_filter,
			   &c->ldap.login_attribute,
			   &c->ldap.uuid_attribute,
			   &c->ldap.tls_ca_file,
			   &c->mapping.username,
			   &c->mapping.email,
			   &c->mapping.first_name,
			   &c->mapping.last_name,
			   &c->mapping.full_name};
	size_t i;

	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		free(fields[i][0]);
	free(c);
}

static struct ldap_src *
src_new(const struct config *c)
{
	struct ldap_src *src = NULL;

	ck_assert_int_eq(ldap_src_new(c, &src), FT_OK);
	ck_assert_ptr_nonnull(src);
	return src;
}

/* Look login up; returns the code, the user in *u, the reason in err. */
static int
lookup(struct ldap_src *src, const char *login, struct ft_user *u, char *err,
       size_t errlen)
{
	memset(u, 0, sizeof(*u));
	err[0] = '\0';
	return ldap_src_lookup(src, login, u, err, errlen);
}

static double
now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* ---- lookup ------------------------------------------------------------ */

START_TEST(test_lookup_alice)
{
	struct config *c = cfg_new(shared_uri());
	struct ldap_src *src = src_new(c);
	char err[LDAP_SRC_REASON_MAX], *uuid;
	struct ft_user u;

	ck_assert_int_eq(lookup(src, "alice", &u, err, sizeof(err)), FT_OK);
	ck_assert_str_eq(u.username, "alice");
	ck_assert_str_eq(u.login, "alice");
	ck_assert_str_eq(u.email, "alice@example.com");
	ck_assert_str_eq(u.first_name, "Alice");
	ck_assert_str_eq(u.last_name, "Archer");
	ck_assert_str_eq(u.dn, "uid=alice,ou=people,dc=example,dc=com");
	uuid = h_ldap_values(shared_uri(), "(uid=alice)", "entryUUID");
	ck_assert_ptr_nonnull(uuid);
	ck_assert_uint_eq(strlen(uuid), 37); /* 36 and '\n' */
	uuid[36] = '\0';
	ck_assert_str_eq(u.uuid, uuid);
	ck_assert(!u.disabled);
	ck_assert_ptr_null(u.id);
	ck_assert_ptr_null(u.deactivated);
	free(uuid);
	ft_user_clear(&u);
	/* LDAP's own matching rule decides: uid ignores case; login is
	 * the directory's spelling */
	ck_assert_int_eq(lookup(src, "ALICE", &u, err, sizeof(err)), FT_OK);
	ck_assert_str_eq(u.login, "alice");
	ft_user_clear(&u);
	/* the connection is kept and reused */
	ck_assert_int_eq(lookup(src, "bob", &u, err, sizeof(err)), FT_OK);
	ck_assert_str_eq(u.email, "bob@example.com");
	ft_user_clear(&u);
	ldap_src_free(src);
	cfg_free(c);
}

END_TEST

struct want {
	const char *login, *username, *email, *first, *last;
};

static const struct want people[] = {
	{"joerg", "joerg", "joerg@example.com", "J\xc3\xb6rg", "M\xc3\xbcller"},
	{"zoe", "zoe", "zoe@example.com", "Zo\xc3\xab",
	 "\xc3\x85ngstr\xc3\xb6m"},
	{"yamada", "yamada", "yamada@example.com", "\xe5\xa4\xaa\xe9\x83\x8e",
	 "\xe5\xb1\xb1\xe7\x94\xb0"},
	{"nomail", "nomail", NULL, "Nora", "Nomail"},
	{"multi", "multi", "maria.multi@example.com", "Maria", "Multi"},
	{META_UID, META_UID, "metachar@example.com", "Stan", "Metachar"},
	{"star", "star", "star@example.com", "Stella", "Star"},
	{"starx", "starx", "starx@example.com", "Xavier", "Starx"},
};

START_TEST(test_lookup_people)
{
	const struct want *w = &people[_i];
	struct config *c = cfg_new(shared_uri());
	struct ldap_src *src = src_new(c);
	char err[LDAP_SRC_REASON_MAX];
	struct ft_user u;

	ck_assert_msg(lookup(src, w->login, &u, err, sizeof(err)) == FT_OK,
		      "%s: %s", w->login, err);
	ck_assert_str_eq(u.login, w->login);
	ck_assert_str_eq(u.username, w->username);
	if (w->email == NULL)
		ck_assert_ptr_null(u.email);
	else
		ck_assert_str_eq(u.email, w->email);
	ck_assert_str_eq(u.first_name, w->first);
	ck_assert_str_eq(u.last_name, w->last);
	ck_assert_ptr_nonnull(u.uuid);
	ck_assert(!u.disabled);
	ft_user_clear(&u);
	ldap_src_free(src);
	cfg_free(c);
}

END_TEST

/* Logins that must match nothing: filter metacharacters stay literal. */
static const char *const no_match[] = {
	"*",        "star*",        "st*r",           "st*",
	"*)(uid=*", "alice)(uid=*", "st\\2ar(x)\\5c", "nobody",
	"alic",     "\xff",
};

START_TEST(test_lookup_no_match)
{
	struct config *c = cfg_new(shared_uri());
	struct ldap_src *src = src_new(c);
	char err[LDAP_SRC_REASON_MAX];
	struct ft_user u;

	ck_assert_msg(lookup(src, no_match[_i], &u, err, sizeof(err)) ==
			      FT_E_NOTFOUND,
		      "'%s': %s", no_match[_i], err);
	ck_assert_ptr_null(u.username);
	ldap_src_free(src);
	cfg_free(c);
}

END_TEST

START_TEST(test_lookup_disabled)
{
	struct config *c = cfg_new(shared_uri());
	struct ldap_src *src = src_new(c);
	char err[LDAP_SRC_REASON_MAX];
	struct ft_user u;

	ck_assert_int_eq(lookup(src, "gone", &u, err, sizeof(err)), FT_OK);
	ck_assert_str_eq(u.username, "gone");
	ck_assert(u.disabled);
	ft_user_clear(&u);
	ck_assert_int_eq(lookup(src, "erin", &u, err, sizeof(err)), FT_OK);
	ck_assert(!u.disabled);
	ft_user_clear(&u);
	ldap_src_free(src);
	/* without disabled_filter nobody is disabled */
	set(&c->ldap.disabled_filter, NULL);
	src = src_new(c);
	ck_assert_int_eq(lookup(src, "gone", &u, err, sizeof(err)), FT_OK);
	ck_assert(!u.disabled);
	ft_user_clear(&u);
	ldap_src_free(src);
	cfg_free(c);
}

END_TEST

START_TEST(test_lookup_errors)
{
	struct config *c = cfg_new(shared_uri());
	struct ldap_src *src = src_new(c);
	char err[LDAP_SRC_REASON_MAX];
	struct ft_user u;

	ck_assert_int_eq(lookup(src, "", &u, err, sizeof(err)), FT_E_INVAL);
	ck_assert_int_eq(lookup(src, NULL, &u, err, sizeof(err)), FT_E_INVAL);
	ldap_src_free(src);
	/* every person has gidNumber 10000: two entries for one login */
	set(&c->ldap.login_attribute, "gidNumber");
	src = src_new(c);
	ck_assert_int_eq(lookup(src, "10000", &u, err, sizeof(err)),
			 FT_E_CONFLICT);
	ck_assert_ptr_nonnull(strstr(err, "ou=people,dc=example,dc=com"));
	ldap_src_free(src);
	/* an entry that cannot be mapped: the reason names the DN */
	set(&c->ldap.login_attribute, "uid");
	set(&c->mapping.username, "employeeNumber");
	src = src_new(c);
	ck_assert_int_eq(lookup(src, "alice", &u, err, sizeof(err)),
			 FT_E_INVAL);
	ck_assert_ptr_nonnull(
		strstr(err, "'uid=alice,ou=people,dc=example,dc=com'"));
	ck_assert_ptr_nonnull(strstr(err, "no 'employeeNumber' value"));
	ck_assert_ptr_null(u.username);
	ldap_src_free(src);
	cfg_free(c);
}

END_TEST

START_TEST(test_bind)
{
	struct config *c = cfg_new(shared_uri());
	struct ldap_src *src;
	char err[LDAP_SRC_REASON_MAX];
	struct ft_user u;

	set(&c->ldap.bind_password, "wrong-secret");
	src = src_new(c);
	ck_assert_int_eq(lookup(src, "alice", &u, err, sizeof(err)), FT_E_LDAP);
	ck_assert_msg(strstr(err, "Invalid credentials") != NULL, "%s", err);
	ck_assert_ptr_nonnull(strstr(err, H_LDAP_SYNC_DN));
	ck_assert_ptr_null(strstr(err, "wrong-secret"));
	ck_assert_int_eq(ldap_src_connect(src, err, sizeof(err)), FT_E_LDAP);
	ldap_src_free(src);
	/* anonymous */
	set(&c->ldap.bind_dn, NULL);
	set(&c->ldap.bind_password, NULL);
	src = src_new(c);
	ck_assert_int_eq(ldap_src_connect(src, err, sizeof(err)), FT_OK);
	ck_assert_int_eq(lookup(src, "alice", &u, err, sizeof(err)), FT_OK);
	ck_assert_str_eq(u.username, "alice");
	ft_user_clear(&u);
	ldap_src_free(src);
	/* a bind DN without a password would be an unauthenticated bind */
	set(&c->ldap.bind_dn, H_LDAP_SYNC_DN);
	ck_assert_int_eq(ldap_src_new(c, &src), FT_E_CONFIG);
	set(&c->ldap.bind_password, "");
	ck_assert_int_eq(ldap_src_new(c, &src), FT_E_CONFIG);
	/* a mapping that does not compile */
	set(&c->ldap.bind_password, H_LDAP_SYNC_PW);
	set(&c->mapping.email, "{uid|upper}");
	ck_assert_int_eq(ldap_src_new(c, &src), FT_E_CONFIG);
	cfg_free(c);
}

END_TEST

START_TEST(test_failover)
{
	char uri[300];
	struct config *c;
	struct ldap_src *src;
	char err[LDAP_SRC_REASON_MAX];
	struct ft_user u;
	int port = h_free_port();

	ck_assert_int_gt(port, 0);
	snprintf(uri, sizeof(uri), "ldap://127.0.0.1:%d %s", port,
		 shared_uri());
	c = cfg_new(uri);
	src = src_new(c);
	ck_assert_msg(lookup(src, "alice", &u, err, sizeof(err)) == FT_OK, "%s",
		      err);
	ck_assert_str_eq(u.username, "alice");
	ft_user_clear(&u);
	ldap_src_free(src);
	/* nothing listening anywhere: down, quickly */
	snprintf(uri, sizeof(uri), "ldap://127.0.0.1:%d ldap://127.0.0.1:1",
		 port);
	set(&c->ldap.uri, uri);
	src = src_new(c);
	ck_assert_int_eq(lookup(src, "alice", &u, err, sizeof(err)),
			 FT_E_LDAP_DOWN);
	ck_assert_msg(strstr(err, "Can't contact LDAP server") != NULL, "%s",
		      err);
	ldap_src_free(src);
	cfg_free(c);
}

END_TEST

START_TEST(test_starttls_unavailable)
{
	struct config *c = cfg_new(shared_uri());
	struct ldap_src *src;
	char err[LDAP_SRC_REASON_MAX];
	struct ft_user u;

	c->ldap.start_tls = true;
	src = src_new(c);
	ck_assert_int_eq(lookup(src, "alice", &u, err, sizeof(err)), FT_E_LDAP);
	ck_assert_msg(strstr(err, "StartTLS") != NULL, "%s", err);
	ck_assert_ptr_null(u.username);
	ck_assert_int_eq(ldap_src_connect(src, err, sizeof(err)), FT_E_LDAP);
	ldap_src_free(src);
	cfg_free(c);
}

END_TEST

/* ---- search_all ---------------------------------------------------------- */

struct coll {
	struct ft_user_list list;
	unsigned long skips;
	char skip_dn[256], skip_reason[256], skip_login[64], skip_uuid[64];
	size_t stop_after;    /* > 0: return -42 when that many were taken */
	struct h_slapd *kill; /* not NULL: SIGKILL it after 3 users */
};

static int
coll_user(void *ctx, struct ft_user *u)
{
	struct coll *c = ctx;

	if (c->stop_after > 0 && c->list.n == c->stop_after)
		return -42;
	if (c->kill != NULL && c->list.n == 3)
		ck_assert_int_eq(kill(h_slapd_pid(c->kill), SIGKILL), 0);
	return ft_user_list_push(&c->list, u);
}

static void
coll_skip(void *ctx, const struct ft_user *id, const char *reason)
{
	struct coll *c = ctx;

	c->skips++;
	snprintf(c->skip_dn, sizeof(c->skip_dn), "%s", id->dn ? id->dn : "");
	snprintf(c->skip_login, sizeof(c->skip_login), "%s",
		 id->login ? id->login : "");
	snprintf(c->skip_uuid, sizeof(c->skip_uuid), "%s",
		 id->uuid ? id->uuid : "");
	snprintf(c->skip_reason, sizeof(c->skip_reason), "%s", reason);
}

static const struct ft_user *
find(const struct coll *c, const char *login)
{
	size_t i;

	for (i = 0; i < c->list.n; i++)
		if (strcmp(c->list.v[i].login, login) == 0)
			return &c->list.v[i];
	return NULL;
}

/* Every person, each once, fully mapped, gone disabled. */
static void
assert_everyone(const struct coll *c, const struct ldap_src_stats *st,
		bool disabled_filter)
{
	static const char *const logins[] = {
		"alice", "bob",    "carol", "dave",   "erin",
		"frank", "joerg",  "zoe",   "yamada", "nomail",
		"multi", META_UID, "star",  "starx",  "gone"};
	size_t i;

	ck_assert_uint_eq(c->list.n, H_LDAP_NPEOPLE);
	ck_assert_uint_eq(st->entries, H_LDAP_NPEOPLE);
	ck_assert_uint_eq(st->skipped, 0);
	ck_assert_uint_eq(st->disabled, disabled_filter ? 1 : 0);
	ck_assert_str_eq(st->reason, "");
	ck_assert(st->seconds >= 0.0 && st->seconds < 30.0);
	for (i = 0; i < sizeof(logins) / sizeof(logins[0]); i++) {
		const struct ft_user *u = find(c, logins[i]);

		ck_assert_msg(u != NULL, "missing %s", logins[i]);
		ck_assert_str_eq(u->username, logins[i]);
		ck_assert_ptr_nonnull(u->uuid);
		ck_assert_ptr_nonnull(u->dn);
		ck_assert_int_eq(u->disabled,
				 disabled_filter &&
					 strcmp(logins[i], "gone") == 0);
	}
	ck_assert_str_eq(find(c, "multi")->email, "maria.multi@example.com");
	ck_assert_ptr_null(find(c, "nomail")->email);
	ck_assert_str_eq(find(c, "joerg")->first_name, "J\xc3\xb6rg");
}

static int
search_all(struct ldap_src *src, struct coll *c, struct ldap_src_stats *st)
{
	return ldap_src_search_all(src, coll_user, coll_skip, c, st);
}

START_TEST(test_search_all_paged)
{
	struct config *c = cfg_new(shared_uri());
	struct ldap_src *src;
	struct ldap_src_stats st;
	struct coll k = {0};

	c->ldap.page_size = 2;
	src = src_new(c);
	ck_assert_msg(search_all(src, &k, &st) == FT_OK, "%s", st.reason);
	assert_everyone(&k, &st, true);
	/* 1 page of disabled DNs, ceil(15 / 2) = 8 pages of people (slapd
	 * may add an empty last page) */
	ck_assert_uint_ge(st.pages, 9);
	ck_assert_uint_le(st.pages, 10);
	ft_user_list_clear(&k.list);
	/* again on the same connection: same answer */
	ck_assert_int_eq(search_all(src, &k, &st), FT_OK);
	assert_everyone(&k, &st, true);
	ft_user_list_clear(&k.list);
	ldap_src_free(src);
	cfg_free(c);
}

END_TEST

START_TEST(test_search_all_unpaged)
{
	struct config *c = cfg_new(shared_uri());
	struct ldap_src *src;
	struct ldap_src_stats st;
	struct coll k = {0};

	c->ldap.page_size = 0;
	src = src_new(c);
	ck_assert_msg(search_all(src, &k, &st) == FT_OK, "%s", st.reason);
	assert_everyone(&k, &st, true);
	ck_assert_uint_eq(st.pages, 2); /* disabled DNs, then people */
	ft_user_list_clear(&k.list);
	ldap_src_free(src);
	/* no disabled_filter: one search */
	set(&c->ldap.disabled_filter, NULL);
	src = src_new(c);
	ck_assert_int_eq(search_all(src, &k, &st), FT_OK);
	assert_everyone(&k, &st, false);
	ck_assert_uint_eq(st.pages, 1);
	ft_user_list_clear(&k.list);
	/* stats may be NULL */
	ck_assert_int_eq(ldap_src_search_all(src, coll_user, NULL, &k, NULL),
			 FT_OK);
	ck_assert_uint_eq(k.list.n, H_LDAP_NPEOPLE);
	ft_user_list_clear(&k.list);
	ldap_src_free(src);
	cfg_free(c);
}

END_TEST

START_TEST(test_search_all_skip_and_stop)
{
	struct config *c = cfg_new(shared_uri());
	struct ldap_src *src;
	struct ldap_src_stats st;
	struct coll k = {0};

	/* username from mail: nomail cannot be mapped and is skipped */
	set(&c->mapping.username, "mail");
	c->ldap.page_size = 4;
	src = src_new(c);
	ck_assert_int_eq(search_all(src, &k, &st), FT_OK);
	ck_assert_uint_eq(k.list.n, H_LDAP_NPEOPLE - 1);
	ck_assert_uint_eq(st.entries, H_LDAP_NPEOPLE);
	ck_assert_uint_eq(st.skipped, 1);
	ck_assert_uint_eq(k.skips, 1);
	ck_assert_str_eq(k.skip_dn, "uid=nomail,ou=people,dc=example,dc=com");
	ck_assert_str_eq(k.skip_reason, "no 'mail' value");
	/* what can be told of it, so a reconcile keeps its ftrack user */
	ck_assert_str_eq(k.skip_login, "nomail");
	ck_assert_uint_eq(strlen(k.skip_uuid), 36); /* its entryUUID */
	ck_assert_str_eq(find(&k, "multi")->username,
			 "maria.multi@example.com");
	ft_user_list_clear(&k.list);
	/* on_user stops the run with its own code */
	k.stop_after = 5;
	ck_assert_int_eq(search_all(src, &k, &st), -42);
	ck_assert_uint_eq(k.list.n, 5);
	ft_user_list_clear(&k.list);
	/* and the next run starts afresh */
	k.stop_after = 0;
	ck_assert_int_eq(search_all(src, &k, &st), FT_OK);
	ck_assert_uint_eq(k.list.n, H_LDAP_NPEOPLE - 1);
	ft_user_list_clear(&k.list);
	ldap_src_free(src);
	cfg_free(c);
}

END_TEST

/* ---- faults: each test has its own slapd --------------------------------- */

static struct h_slapd *
own_slapd(unsigned sizelimit)
{
	struct h_slapd *s = h_slapd_start(H_LDIF_PEOPLE, sizelimit);

	ck_assert_msg(s != NULL, "unable to start slapd");
	return s;
}

static bool
slapd_gone(void *arg)
{
	return h_ldap_bind(h_slapd_uri(arg), NULL, NULL) == LDAP_SERVER_DOWN;
}

START_TEST(test_sizelimit_partial)
{
	struct h_slapd *s = own_slapd(3);
	struct config *c = cfg_new(h_slapd_uri(s));
	struct ldap_src_stats st;
	struct coll k = {0};
	char err[LDAP_SRC_REASON_MAX];
	struct ft_user u;
	unsigned sizes[] = {0, 2, 500};
	size_t i;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		struct ldap_src *src;

		c->ldap.page_size = sizes[i];
		src = src_new(c);
		ck_assert_int_eq(search_all(src, &k, &st), FT_E_PARTIAL);
		ck_assert_msg(strstr(st.reason, "limit") != NULL,
			      "page_size %u: %s", sizes[i], st.reason);
		ck_assert_uint_le(k.list.n, 3);
		ft_user_list_clear(&k.list);
		/* one person at a time is within the limit */
		ck_assert_int_eq(lookup(src, "alice", &u, err, sizeof(err)),
				 FT_OK);
		ft_user_clear(&u);
		ldap_src_free(src);
	}
	cfg_free(c);
	h_slapd_stop(s);
}

END_TEST

START_TEST(test_referral_partial)
{
	struct h_slapd *s = own_slapd(0);
	struct config *c = cfg_new(h_slapd_uri(s));
	struct ldap_src *src;
	struct ldap_src_stats st;
	struct coll k = {0};
	char err[LDAP_SRC_REASON_MAX];
	struct ft_user u;

	ck_assert_int_eq(h_slapd_modify(s, "dn: ou=elsewhere,ou=people,"
					   "dc=example,dc=com\n"
					   "changetype: add\n"
					   "objectClass: referral\n"
					   "objectClass: extensibleObject\n"
					   "ou: elsewhere\n"
					   "ref: ldap://127.0.0.1:1/"
					   "ou=elsewhere,dc=example,dc=com\n"),
			 FT_OK);
	src = src_new(c);
	ck_assert_int_eq(search_all(src, &k, &st), FT_E_PARTIAL);
	ck_assert_msg(strstr(st.reason, "reference") != NULL, "%s", st.reason);
	ft_user_list_clear(&k.list);
	/* a lookup does not follow continuation references either, and
	 * still finds the entry that is here */
	ck_assert_int_eq(lookup(src, "alice", &u, err, sizeof(err)), FT_OK);
	ft_user_clear(&u);
	ldap_src_free(src);
	cfg_free(c);
	h_slapd_stop(s);
}

END_TEST

START_TEST(test_server_down_and_back)
{
	struct h_slapd *s = own_slapd(0);
	struct config *c = cfg_new(h_slapd_uri(s));
	struct ldap_src *src = src_new(c);
	struct ldap_src_stats st;
	struct coll k = {0};
	char err[LDAP_SRC_REASON_MAX];
	struct ft_user u;

	ck_assert_int_eq(lookup(src, "alice", &u, err, sizeof(err)), FT_OK);
	ft_user_clear(&u);
	ck_assert_int_eq(kill(h_slapd_pid(s), SIGTERM), 0);
	ck_assert(h_wait_until(slapd_gone, s, 10000));
	ck_assert_int_eq(lookup(src, "alice", &u, err, sizeof(err)),
			 FT_E_LDAP_DOWN);
	ck_assert_int_eq(lookup(src, "alice", &u, err, sizeof(err)),
			 FT_E_LDAP_DOWN);
	ck_assert_int_eq(search_all(src, &k, &st), FT_E_LDAP_DOWN);
	ck_assert_str_ne(st.reason, "");
	ck_assert_int_eq(h_slapd_restart(s), FT_OK);
	/* the same source reconnects by itself */
	ck_assert_msg(lookup(src, "alice", &u, err, sizeof(err)) == FT_OK, "%s",
		      err);
	ck_assert_str_eq(u.username, "alice");
	ft_user_clear(&u);
	/* a kept connection that the server dropped is made again */
	ck_assert_int_eq(h_slapd_restart(s), FT_OK);
	ck_assert_msg(lookup(src, "bob", &u, err, sizeof(err)) == FT_OK, "%s",
		      err);
	ft_user_clear(&u);
	ck_assert_int_eq(h_slapd_restart(s), FT_OK);
	ck_assert_msg(search_all(src, &k, &st) == FT_OK, "%s", st.reason);
	ck_assert_uint_eq(k.list.n, H_LDAP_NPEOPLE);
	ft_user_list_clear(&k.list);
	ldap_src_free(src);
	cfg_free(c);
	h_slapd_stop(s);
}

END_TEST

START_TEST(test_killed_mid_read)
{
	struct h_slapd *s = own_slapd(0);
	struct config *c = cfg_new(h_slapd_uri(s));
	struct ldap_src *src;
	struct ldap_src_stats st;
	struct coll k = {0};

	c->ldap.page_size = 2;
	src = src_new(c);
	k.kill = s;
	ck_assert_int_eq(search_all(src, &k, &st), FT_E_LDAP_DOWN);
	ck_assert_uint_lt(k.list.n, H_LDAP_NPEOPLE);
	ck_assert_str_ne(st.reason, "");
	ft_user_list_clear(&k.list);
	ldap_src_free(src);
	cfg_free(c);
	h_slapd_stop(s);
}

END_TEST

START_TEST(test_paused)
{
	struct h_slapd *s = own_slapd(0);
	struct config *c = cfg_new(h_slapd_uri(s));
	struct ldap_src *src, *fresh;
	struct ldap_src_stats st;
	struct coll k = {0};
	char err[LDAP_SRC_REASON_MAX];
	struct ft_user u;
	double t0;

	c->ldap.timeout = 1;
	src = src_new(c);
	fresh = src_new(c);
	ck_assert_int_eq(lookup(src, "alice", &u, err, sizeof(err)), FT_OK);
	ft_user_clear(&u);
	ck_assert_int_eq(h_slapd_pause(s), FT_OK);
	t0 = now_s();
	ck_assert_int_eq(lookup(src, "alice", &u, err, sizeof(err)),
			 FT_E_LDAP_DOWN);
	ck_assert_int_eq(lookup(fresh, "alice", &u, err, sizeof(err)),
			 FT_E_LDAP_DOWN);
	ck_assert_int_eq(search_all(src, &k, &st), FT_E_LDAP_DOWN);
	/* three calls of about 1 s each; generous bound */
	ck_assert_msg(now_s() - t0 < 12.0, "took %.1f s", now_s() - t0);
	ck_assert_int_eq(h_slapd_resume(s), FT_OK);
	ck_assert_msg(lookup(src, "alice", &u, err, sizeof(err)) == FT_OK, "%s",
		      err);
	ft_user_clear(&u);
	ldap_src_free(fresh);
	ldap_src_free(src);
	cfg_free(c);
	h_slapd_stop(s);
}

END_TEST

/* ---- TLS: a slapd with a generated certificate ------------------------- */

/* A self-signed certificate for 127.0.0.1: DIR/NAME.crt and DIR/NAME.key. */
static void
make_cert(const char *dir, const char *name)
{
	char key[512], crt[512], log[512];
	const char *argv[] = {"openssl",
			      "req",
			      "-x509",
			      "-newkey",
			      "ec",
			      "-pkeyopt",
			      "ec_paramgen_curve:prime256v1",
			      "-nodes",
			      "-keyout",
			      key,
			      "-out",
			      crt,
			      "-days",
			      "2",
			      "-subj",
			      "/CN=127.0.0.1",
			      "-addext",
			      "subjectAltName=IP:127.0.0.1",
			      NULL};
	int st = -1;

	snprintf(key, sizeof(key), "%s/%s.key", dir, name);
	snprintf(crt, sizeof(crt), "%s/%s.crt", dir, name);
	snprintf(log, sizeof(log), "%s/openssl-%s.log", dir, name);
	ck_assert_int_eq(h_run(argv, log, 30000, &st), FT_OK);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		      "openssl failed, see %s", log);
}

/* Give slapd the certificate DIR/server.{crt,key} and restart it. */
static void
enable_tls(struct h_slapd *s)
{
	const char *dir = h_slapd_dir(s);
	char path[512], *conf, *text;
	size_t len = 0;

	make_cert(dir, "server");
	snprintf(path, sizeof(path), "%s/slapd.conf", dir);
	conf = h_read_file(path, &len);
	ck_assert_ptr_nonnull(conf);
	/* global directives: before the first line of the generated file */
	ck_assert_int_ge(asprintf(&text,
				  "TLSCertificateFile %s/server.crt\n"
				  "TLSCertificateKeyFile %s/server.key\n%s",
				  dir, dir, conf),
			 0);
	ck_assert_int_eq(h_write_file(path, text, 0600), FT_OK);
	free(text);
	free(conf);
	ck_assert_int_eq(h_slapd_restart(s), FT_OK);
}

static int
tls_lookup(struct config *c, const char *ca, enum tls_require req, char *err,
	   size_t errlen)
{
	struct ldap_src *src;
	struct ft_user u;
	int r;

	set(&c->ldap.tls_ca_file, ca);
	c->ldap.tls_require_cert = req;
	src = src_new(c);
	r = lookup(src, "alice", &u, err, errlen);
	if (r == FT_OK)
		ck_assert_str_eq(u.username, "alice");
	ft_user_clear(&u);
	ldap_src_free(src);
	return r;
}

START_TEST(test_starttls_ca)
{
	struct h_slapd *s = own_slapd(0);
	struct config *c = cfg_new(h_slapd_uri(s));
	char right[512], wrong[512], err[LDAP_SRC_REASON_MAX];

	enable_tls(s);
	make_cert(h_slapd_dir(s), "other");
	snprintf(right, sizeof(right), "%s/server.crt", h_slapd_dir(s));
	snprintf(wrong, sizeof(wrong), "%s/other.crt", h_slapd_dir(s));
	c->ldap.start_tls = true;
	/* the right CA: TLS works, so the failures below are the CA's */
	ck_assert_msg(tls_lookup(c, right, TLS_DEMAND, err, sizeof(err)) ==
			      FT_OK,
		      "%s", err);
	/* a wrong CA is refused, with no plaintext fallback */
	ck_assert_int_eq(tls_lookup(c, wrong, TLS_DEMAND, err, sizeof(err)),
			 FT_E_LDAP);
	ck_assert_msg(strstr(err, "StartTLS") != NULL, "%s", err);
	/* so is the system's CA list, which does not know this one */
	ck_assert_int_eq(tls_lookup(c, NULL, TLS_DEMAND, err, sizeof(err)),
			 FT_E_LDAP);
	/* each handle has its own context: right again after wrong */
	ck_assert_msg(tls_lookup(c, right, TLS_DEMAND, err, sizeof(err)) ==
			      FT_OK,
		      "%s", err);
	/* tls_require_cert reaches the handle: never accepts anything */
	ck_assert_msg(tls_lookup(c, wrong, TLS_NEVER, err, sizeof(err)) ==
			      FT_OK,
		      "%s", err);
	/* a CA file that does not exist is an error, not a fallback */
	ck_assert_int_eq(tls_lookup(c, "/nonexistent/ca.pem", TLS_DEMAND, err,
				    sizeof(err)),
			 FT_E_LDAP);
	/* plain LDAP still works on the same server without StartTLS */
	c->ldap.start_tls = false;
	ck_assert_int_eq(tls_lookup(c, NULL, TLS_DEMAND, err, sizeof(err)),
			 FT_OK);
	cfg_free(c);
	h_slapd_stop(s);
}

END_TEST

Suite *
ldap_src_suite(void)
{
	Suite *s = suite_create("ldap_src");
	TCase *tc = tcase_create("shared");
	TCase *tf = tcase_create("faults");

	tcase_add_unchecked_fixture(tc, shared_setup, shared_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_lookup_alice);
	tcase_add_loop_test(tc, test_lookup_people, 0,
			    (int)(sizeof(people) / sizeof(people[0])));
	tcase_add_loop_test(tc, test_lookup_no_match, 0,
			    (int)(sizeof(no_match) / sizeof(no_match[0])));
	tcase_add_test(tc, test_lookup_disabled);
	tcase_add_test(tc, test_lookup_errors);
	tcase_add_test(tc, test_bind);
	tcase_add_test(tc, test_failover);
	tcase_add_test(tc, test_starttls_unavailable);
	tcase_add_test(tc, test_search_all_paged);
	tcase_add_test(tc, test_search_all_unpaged);
	tcase_add_test(tc, test_search_all_skip_and_stop);
	suite_add_tcase(s, tc);
	tcase_set_timeout(tf, 60);
	tcase_add_test(tf, test_sizelimit_partial);
	tcase_add_test(tf, test_referral_partial);
	tcase_add_test(tf, test_server_down_and_back);
	tcase_add_test(tf, test_killed_mid_read);
	tcase_add_test(tf, test_paused);
	tcase_add_test(tf, test_starttls_ca);
	suite_add_tcase(s, tf);
	return s;
}
