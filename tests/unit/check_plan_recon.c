/* SPDX-License-Identifier: Apache-2.0 */
/* check_plan_recon.c: the reconcile plan and its guards, table-driven. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ft_err.h"
#include "plan_recon.h"

Suite *plan_recon_suite(void);

static char api0[] = "ftrack-sync";
static char prot0[] = "admin";
static char *prot_v[] = {prot0};

static struct config_policy pol;
static struct ft_user_list ldap, ft, unmapped;

static char *
dup(const char *s)
{
	return s ? strdup(s) : NULL;
}

/* An LDAP person: name, uuid, mail; disabled when dis. */
static void
add_ldap(const char *name, const char *uuid, const char *mail, bool dis)
{
	struct ft_user u;

	memset(&u, 0, sizeof(u));
	u.username = dup(name);
	u.login = dup(name);
	u.uuid = dup(uuid);
	u.email = dup(mail);
	u.first_name = dup("First");
	u.last_name = dup("Last");
	u.dn = dup("uid=x,ou=people,dc=example,dc=com");
	u.disabled = dis;
	ck_assert_int_eq(ft_user_list_push(&ldap, &u), FT_OK);
}

/* An ftrack user: name, uuid marker, mail, active, deactivated marker. */
static void
add_ft(const char *name, const char *uuid, const char *mail, bool active,
       const char *gone)
{
	struct ft_user u;
	char id[40];

	memset(&u, 0, sizeof(u));
	(void)snprintf(id, sizeof(id), "00000000-0000-4000-8000-%012zu",
		       ft.n + 1);
	u.id = dup(id);
	u.username = dup(name);
	u.uuid = dup(uuid);
	u.email = dup(mail);
	u.first_name = dup("First");
	u.last_name = dup("Last");
	u.is_active = active;
	u.deactivated = dup(gone);
	ck_assert_int_eq(ft_user_list_push(&ft, &u), FT_OK);
}

static void
setup(void)
{
	memset(&pol, 0, sizeof(pol));
	pol.missing = MISSING_DEACTIVATE;
	pol.scope = SCOPE_MANAGED;
	pol.reactivate = REACTIVATE_SYNC_DEACTIVATED;
	pol.protected_users.v = prot_v;
	pol.protected_users.n = 1;
	pol.min_ldap_users = 1;
	pol.max_shrink.value = 20;
	pol.max_shrink.percent = true;
	pol.max_deactivate.value = 50;
	pol.max_deactivate.percent = true;
	memset(&ldap, 0, sizeof(ldap));
	memset(&ft, 0, sizeof(ft));
	memset(&unmapped, 0, sizeof(unmapped));
}

static void
teardown(void)
{
	ft_user_list_clear(&ldap);
	ft_user_list_clear(&ft);
	ft_user_list_clear(&unmapped);
}

/* The plan, with link_by = email when by_email. */
static void
build_linked(struct plan_recon *p, int status, unsigned long last_good,
	     bool by_email)
{
	struct plan_recon_input in = {
		.policy = &pol,
		.api_user = api0,
		.ldap = &ldap,
		.ldap_status = status,
		.ldap_reason = "",
		.ftrack = &ft,
		.unmapped = &unmapped,
		.last_good = last_good,
		.link_by_email = by_email,
	};

	ck_assert_int_eq(plan_recon_build(&in, p), FT_OK);
}

static void
build(struct plan_recon *p, int status, unsigned long last_good)
{
	build_linked(p, status, last_good, false);
}

/* The action for user name, or NULL. */
static const struct plan_action *
find(const struct plan_recon *p, const char *name)
{
	size_t i;

	for (i = 0; i < p->n; i++) {
		const struct ft_user *u =
			p->v[i].ldap ? p->v[i].ldap : p->v[i].ftrack;

		if (u && u->username && strcmp(u->username, name) == 0)
			return &p->v[i];
	}
	return NULL;
}

START_TEST(test_every_action)
{
	struct plan_recon p;

	add_ldap("alice", "u1", "a@x", false); /* in sync */
	add_ldap("bob", "u2", "new@x", false); /* update */
	add_ldap("carol", "u3", "c@x", false); /* link */
	add_ldap("dave2", "u4", "d@x", false); /* rename */
	add_ldap("erin", "u5", "e@x", false);  /* reactivate */
	add_ldap("frank", "u6", "f@x", false); /* not in ftrack: skip */
	add_ldap("gone", "u7", "g@x", true);   /* disabled: deactivate */
	add_ft("alice", "u1", "a@x", true, NULL);
	add_ft("bob", "u2", "old@x", true, NULL);
	add_ft("carol", NULL, "c@x", true, NULL);
	add_ft("dave", "u4", "d@x", true, NULL);
	add_ft("erin", "u5", "e@x", false, "2026-01-01T00:00:00Z");
	add_ft("gone", "u7", "g@x", true, NULL);
	add_ft("left", "u8", "l@x", true, NULL);   /* leaver */
	add_ft("manual", NULL, "m@x", true, NULL); /* unmanaged: skip */
	add_ft("admin", "u9", "ad@x", true, NULL); /* protected */
	add_ft("ftrack-sync", NULL, NULL, true, NULL);
	build(&p, FT_OK, 0);
	ck_assert_int_eq(find(&p, "bob")->kind, PLAN_UPDATE);
	ck_assert_int_eq(find(&p, "carol")->kind, PLAN_LINK);
	ck_assert_int_eq(find(&p, "dave2")->kind, PLAN_RENAME);
	ck_assert_int_eq(find(&p, "erin")->kind, PLAN_REACTIVATE);
	ck_assert_int_eq(find(&p, "gone")->kind, PLAN_DEACTIVATE);
	ck_assert_str_eq(
		find(&p, "gone")->reason,
		"disabled in LDAP (uid=x,ou=people,dc=example,dc=com)");
	ck_assert_int_eq(find(&p, "left")->kind, PLAN_DEACTIVATE);
	ck_assert_ptr_null(find(&p, "alice"));
	ck_assert_ptr_null(find(&p, "frank"));
	ck_assert_ptr_null(find(&p, "manual"));
	ck_assert_ptr_null(find(&p, "admin"));
	ck_assert_uint_eq(p.count[PLAN_NONE], 1);
	/* frank (no create), manual, admin, ftrack-sync */
	ck_assert_uint_eq(p.count[PLAN_SKIP], 4);
	ck_assert_uint_eq(plan_recon_changes(&p), 6);
	/* ordered: renames first, leavers last */
	ck_assert_int_eq(p.v[0].kind, PLAN_RENAME);
	ck_assert_int_eq(p.v[p.n - 1].kind, PLAN_DEACTIVATE);
	ck_assert(!plan_recon_held(&p, false));
	plan_recon_free(&p);
}

END_TEST

/* The ftrack users nobody accounts for, "|"-joined, into buf. */
static const char *
unaccounted(const struct plan_recon *p, char *buf, size_t cap)
{
	size_t i;

	buf[0] = '\0';
	for (i = 0; i < p->n_unaccounted; i++)
		(void)snprintf(buf + strlen(buf), cap - strlen(buf), "%s%s",
			       i ? "|" : "", p->unaccounted[i]->username);
	return buf;
}

/* The ftrack users of the hosted-ftrack cases (link_by tests). */
static void
hosted_world(void)
{
	add_ldap("alice", "u1", "Alice.Smith@Studio.example", false);
	add_ldap("bob", "u2", "bob@x", false);
	add_ldap("carol", "u3", "carol@x", false);
	add_ldap("dave", "u4", "dave@x", false);
	add_ldap("erin", "u5", "DAVE@x", false); /* dave's address too */
	add_ldap("hal", "u7", "hal@x", false);
	add_ldap("ivy", "u8", "ivy@x", false);
	add_ldap("jo", "u9", "jo@x", false);
	add_ft("alice.smith@studio.example", NULL, "alice.smith@studio.example",
	       true, NULL);
	add_ft("bob", NULL, "bob@x", true, NULL);
	add_ft("bobby", NULL, "BOB@x", true, NULL); /* bob is linked by name */
	add_ft("Carol@x", NULL, "carol@x", true, NULL);
	add_ft("cnew", NULL, "CAROL@X", true, NULL);
	add_ft("dave.x", NULL, "dave@x", true, NULL);
	add_ft("hal", NULL, "ivy@x", true, NULL); /* hal's by username */
	add_ft("Jo@X", "u9", "jo@x", true, NULL);
	ft.v[ft.n - 1].linked_by = dup(FT_LINKED_BY_EMAIL);
	add_ft("stray", NULL, "stray@x", true, NULL);
	add_ft("left", "u99", "left@x", true, NULL);
	add_ft("admin", NULL, "admin@x", true, NULL);
	add_ft("ftrack-sync", NULL, "sync@x", true, NULL);
}

START_TEST(test_link_by_email)
{
	struct plan_recon p;
	const struct plan_action *a;
	char buf[512];

	hosted_world();
	build_linked(&p, FT_OK, 0, true);
	a = find(&p, "alice");
	ck_assert_int_eq(a->kind, PLAN_LINK);
	ck_assert_str_eq(plan_link_by(a), "email");
	ck_assert_str_eq(a->ftrack->username, "alice.smith@studio.example");
	ck_assert_uint_eq(a->fields & PLAN_F_USERNAME, 0);
	a = find(&p, "bob");
	ck_assert_int_eq(a->kind, PLAN_LINK);
	ck_assert_str_eq(plan_link_by(a), "username");
	ck_assert_str_eq(a->ftrack->username, "bob");
	a = find(&p, "carol");
	ck_assert_int_eq(a->kind, PLAN_CONFLICT);
	ck_assert_str_eq(a->reason, "2 ftrack users have the e-mail 'carol@x' "
				    "(not linked, not created): 'Carol@x', "
				    "'cnew'");
	ck_assert_int_eq(find(&p, "dave")->kind, PLAN_CONFLICT);
	ck_assert_int_eq(find(&p, "erin")->kind, PLAN_CONFLICT);
	ck_assert_ptr_nonnull(
		strstr(find(&p, "erin")->reason, "another LDAP entry"));
	ck_assert_int_eq(find(&p, "hal")->kind, PLAN_LINK);
	ck_assert_ptr_null(find(&p, "ivy")); /* hal's user is not ivy's */
	ck_assert_ptr_null(find(&p, "jo"));  /* linked by e-mail: in sync */
	ck_assert_uint_eq(p.count[PLAN_NONE], 1);
	ck_assert_str_eq(unaccounted(&p, buf, sizeof(buf)), "bobby|stray");
	plan_recon_free(&p);
	/* link_by = username: today's plan; the e-mail accounts are
	 * unaccounted, and jo keeps its username all the same */
	build_linked(&p, FT_OK, 0, false);
	ck_assert_ptr_null(find(&p, "alice"));
	ck_assert_ptr_null(find(&p, "carol"));
	ck_assert_ptr_null(find(&p, "jo"));
	ck_assert_str_eq(unaccounted(&p, buf, sizeof(buf)),
			 "Carol@x|alice.smith@studio.example|bobby|cnew|"
			 "dave.x|stray");
	plan_recon_free(&p);
}

END_TEST

/* scope = all: the users an e-mail conflict names are kept, not leavers. */
START_TEST(test_link_by_email_conflict_kept)
{
	struct plan_recon p;
	size_t i;

	hosted_world();
	pol.scope = SCOPE_ALL;
	build_linked(&p, FT_OK, 0, true);
	for (i = 0; i < p.n; i++) {
		const struct ft_user *f = p.v[i].ftrack;

		if (p.v[i].kind != PLAN_DEACTIVATE)
			continue;
		ck_assert_msg(strcmp(f->username, "left") == 0 ||
				      strcmp(f->username, "stray") == 0 ||
				      strcmp(f->username, "bobby") == 0,
			      "'%s' deactivated", f->username);
	}
	ck_assert_uint_eq(p.count[PLAN_DEACTIVATE], 3);
	plan_recon_free(&p);
}

END_TEST

START_TEST(test_create_policy)
{
	struct plan_recon p;

	add_ldap("alice", "u1", "a@x", false);
	add_ldap("gone", "u7", "g@x", true);
	build(&p, FT_OK, 0);
	ck_assert_uint_eq(p.n, 0);
	plan_recon_free(&p);
	pol.reconcile_create = true;
	build(&p, FT_OK, 0);
	ck_assert_uint_eq(p.n, 1);
	ck_assert_int_eq(find(&p, "alice")->kind, PLAN_CREATE);
	plan_recon_free(&p);
}

END_TEST

START_TEST(test_conflicts)
{
	struct plan_recon p;

	/* two LDAP entries with one login */
	add_ldap("twin", "u1", "a@x", false);
	add_ldap("twin", "u2", "b@x", false);
	/* a uuid marker on a user whose name another user holds */
	add_ldap("newname", "u3", "c@x", false);
	add_ft("twin", "u1", "a@x", true, NULL);
	add_ft("oldname", "u3", "c@x", true, NULL);
	add_ft("newname", "u4", "c@x", true, NULL);
	build(&p, FT_OK, 0);
	ck_assert_uint_eq(p.count[PLAN_CONFLICT], 3);
	ck_assert_uint_eq(plan_recon_changes(&p), 0);
	/* neither side of a conflict is deactivated */
	ck_assert_uint_eq(p.count[PLAN_DEACTIVATE], 0);
	plan_recon_free(&p);
}

END_TEST

/* The groups of the old account, told by the caller: "bob" has some. */
static const char *
hand_made_of(void *ctx, const struct ft_user *f)
{
	*(unsigned *)ctx += 1;
	return strcmp(f->username, "bob") == 0 ? "group 'Compositing'" : NULL;
}

/* Logins reused by new entries: relinked only without hand-made grants. */
START_TEST(test_reused_login_hand_made)
{
	struct plan_recon p;
	unsigned asked = 0;
	const struct plan_action *a;
	struct plan_recon_input in = {
		.policy = &pol,
		.api_user = api0,
		.ldap = &ldap,
		.ldap_status = FT_OK,
		.ldap_reason = "",
		.ftrack = &ft,
		.unmapped = &unmapped,
		.hand_made = hand_made_of,
		.hand_made_ctx = &asked,
	};

	add_ldap("bob", "u-new", "b@x", false);
	add_ldap("carol", "c-new", "c@x", false);
	add_ft("bob", "u-old", "b@x", false, "2026-11-01");
	add_ft("carol", "c-old", "c@x", false, "2026-11-01");
	ck_assert_int_eq(plan_recon_build(&in, &p), FT_OK);
	ck_assert_uint_eq(asked, 2);
	a = find(&p, "bob");
	ck_assert_ptr_nonnull(a);
	ck_assert_int_eq(a->kind, PLAN_CONFLICT);
	ck_assert_ptr_nonnull(strstr(a->reason, "group 'Compositing'"));
	a = find(&p, "carol");
	ck_assert_ptr_nonnull(a);
	ck_assert_int_eq(a->kind, PLAN_REACTIVATE);
	ck_assert_ptr_nonnull(strstr(a->reason, "relinked"));
	/* the conflict's old account is kept, not a leaver */
	ck_assert_uint_eq(p.count[PLAN_DEACTIVATE], 0);
	plan_recon_free(&p);
	/* no function (no [group_map]/[role_map]): both relinked */
	build(&p, FT_OK, 0);
	ck_assert_int_eq(find(&p, "bob")->kind, PLAN_REACTIVATE);
	plan_recon_free(&p);
}

END_TEST

static const struct {
	enum missing_policy missing;
	enum scope_policy scope;
	size_t deactivate, del;
} missing_tab[] = {
	{MISSING_DEACTIVATE, SCOPE_MANAGED, 1, 0},
	{MISSING_DEACTIVATE, SCOPE_ALL, 2, 0},
	{MISSING_DELETE, SCOPE_MANAGED, 0, 1},
	{MISSING_DELETE, SCOPE_ALL, 0, 2},
	{MISSING_IGNORE, SCOPE_ALL, 0, 0},
};

START_TEST(test_missing_policy)
{
	struct plan_recon p;

	pol.missing = missing_tab[_i].missing;
	pol.scope = missing_tab[_i].scope;
	add_ldap("alice", "u1", "a@x", false);
	add_ft("alice", "u1", "a@x", true, NULL);
	add_ft("left", "u8", "l@x", true, NULL);
	add_ft("manual", NULL, "m@x", true, NULL);
	build(&p, FT_OK, 0);
	ck_assert_uint_eq(p.count[PLAN_DEACTIVATE], missing_tab[_i].deactivate);
	ck_assert_uint_eq(p.count[PLAN_DELETE], missing_tab[_i].del);
	plan_recon_free(&p);
}

END_TEST

/* Population of n LDAP people and n ftrack users (all managed). */
static void
population(size_t n, size_t ftrack_extra)
{
	char name[32], uuid[32];
	size_t i;

	for (i = 0; i < n + ftrack_extra; i++) {
		(void)snprintf(name, sizeof(name), "user%zu", i);
		(void)snprintf(uuid, sizeof(uuid), "uuid%zu", i);
		if (i < n)
			add_ldap(name, uuid, "x@x", false);
		add_ft(name, uuid, "x@x", true, NULL);
	}
}

/* The last ftrack user added waits for a seat since when. */
static void
mark_waiting(const char *when)
{
	ft.v[ft.n - 1].seat_waiting = dup(when);
}

/*
 * People waiting for a seat: in LDAP, asked again under every reactivate
 * policy (never a seat taken back by hand); gone from LDAP or disabled
 * there, the request withdrawn with the deactivated marker; a seat given
 * meanwhile, the marker removed.
 */
START_TEST(test_waiting_for_seat)
{
	static const enum reactivate_policy pols[] = {
		REACTIVATE_NEVER, REACTIVATE_SYNC_DEACTIVATED,
		REACTIVATE_ALWAYS};
	const struct plan_action *a;
	struct plan_recon p;
	size_t k;

	add_ldap("wait", "u1", "w@x", false);
	add_ldap("off", "u2", "o@x", true);
	add_ldap("seated", "u4", "s@x", false);
	add_ldap("byhand", "u5", "b@x", false);
	add_ft("wait", "u1", "w@x", false, NULL);
	mark_waiting("2026-11-02T00:00:00Z");
	add_ft("off", "u2", "o@x", false, NULL);
	mark_waiting("2026-11-02T00:00:00Z");
	add_ft("left", "u3", "l@x", false, NULL);
	mark_waiting("2026-11-02T00:00:00Z");
	add_ft("seated", "u4", "s@x", true, NULL);
	mark_waiting("2026-11-02T00:00:00Z");
	add_ft("byhand", "u5", "b@x", false, NULL); /* no marker at all */
	/* enough active people that the two withdrawn requests, which
	 * count as deactivations, pass max_deactivate (50%) */
	add_ldap("p1", "u6", "p@x", false);
	add_ft("p1", "u6", "p@x", true, NULL);
	add_ldap("p2", "u7", "p@x", false);
	add_ft("p2", "u7", "p@x", true, NULL);
	add_ldap("p3", "u8", "p@x", false);
	add_ft("p3", "u8", "p@x", true, NULL);
	for (k = 0; k < sizeof(pols) / sizeof(pols[0]); k++) {
		pol.reactivate = pols[k];
		build(&p, FT_OK, 0);
		a = find(&p, "wait");
		ck_assert_ptr_nonnull(a);
		ck_assert_int_eq(a->kind, PLAN_REACTIVATE);
		ck_assert_uint_eq(a->fields, PLAN_F_ACTIVATE);
		a = find(&p, "off");
		ck_assert_ptr_nonnull(a);
		ck_assert_int_eq(a->kind, PLAN_DEACTIVATE);
		ck_assert_uint_eq(a->fields, PLAN_F_DEACTIVATE |
						     PLAN_F_MARK_GONE |
						     PLAN_F_UNMARK_WAIT);
		ck_assert_ptr_nonnull(strstr(a->reason, "disabled in LDAP"));
		a = find(&p, "left");
		ck_assert_ptr_nonnull(a);
		ck_assert_int_eq(a->kind, PLAN_DEACTIVATE);
		ck_assert_uint_eq(a->fields, PLAN_F_DEACTIVATE |
						     PLAN_F_MARK_GONE |
						     PLAN_F_UNMARK_WAIT);
		a = find(&p, "seated");
		ck_assert_ptr_nonnull(a);
		ck_assert_int_eq(a->kind, PLAN_UPDATE);
		ck_assert_uint_eq(a->fields, PLAN_F_UNMARK_WAIT);
		a = find(&p, "byhand");
		ck_assert_int_eq(a != NULL, pols[k] == REACTIVATE_ALWAYS);
		ck_assert_uint_eq(p.count[PLAN_REACTIVATE],
				  pols[k] == REACTIVATE_ALWAYS ? 2 : 1);
		ck_assert_uint_eq(p.count[PLAN_DEACTIVATE], 2);
		ck_assert(!plan_recon_held(&p, false));
		plan_recon_free(&p);
	}
}

END_TEST

START_TEST(test_guard_ldap_incomplete)
{
	struct plan_recon p;

	population(10, 0);
	build(&p, FT_E_PARTIAL, 0);
	ck_assert(!p.guard[GUARD_LDAP_COMPLETE].ok);
	ck_assert(!p.guard[GUARD_LDAP_COMPLETE].forceable);
	ck_assert(plan_recon_held(&p, false));
	ck_assert(plan_recon_held(&p, true)); /* never forced */
	plan_recon_free(&p);
}

END_TEST

START_TEST(test_guard_empty)
{
	struct plan_recon p;

	add_ft("alice", "u1", "a@x", true, NULL);
	pol.min_ldap_users = 0;
	build(&p, FT_OK, 0);
	ck_assert(!p.guard[GUARD_NONEMPTY].ok);
	ck_assert(plan_recon_held(&p, true));
	plan_recon_free(&p);
}

END_TEST

START_TEST(test_guard_min_users)
{
	struct plan_recon p;

	population(5, 0);
	pol.min_ldap_users = 6;
	build(&p, FT_OK, 0);
	ck_assert(!p.guard[GUARD_MIN_USERS].ok);
	ck_assert(plan_recon_held(&p, false));
	ck_assert(!plan_recon_held(&p, true));
	plan_recon_free(&p);
	pol.min_ldap_users = 5;
	build(&p, FT_OK, 0);
	ck_assert(p.guard[GUARD_MIN_USERS].ok);
	plan_recon_free(&p);
}

END_TEST

static const struct {
	unsigned long value;
	bool percent;
	unsigned long last_good;
	bool ok;
} shrink_tab[] = {
	{20, true, 0, true},    /* no earlier run */
	{20, true, 100, true},  /* 80 of 100: exactly 20% */
	{20, true, 101, false}, /* 80 of 101: 20.8% */
	{19, true, 100, false},  {20, false, 100, true},
	{19, false, 100, false}, {0, true, 80, true}, /* no shrink at all */
	{0, true, 81, false},
};

START_TEST(test_guard_shrink)
{
	struct plan_recon p;

	population(80, 0);
	pol.max_shrink.value = shrink_tab[_i].value;
	pol.max_shrink.percent = shrink_tab[_i].percent;
	build(&p, FT_OK, shrink_tab[_i].last_good);
	ck_assert_int_eq(p.guard[GUARD_MAX_SHRINK].ok, shrink_tab[_i].ok);
	ck_assert_int_eq(plan_recon_held(&p, false), !shrink_tab[_i].ok);
	plan_recon_free(&p);
}

END_TEST

START_TEST(test_guard_sentinels)
{
	static char s0[] = "user1", s1[] = "ghost", s2[] = "off";
	char *sv[] = {s0, s1, s2};
	struct plan_recon p;

	population(3, 0);
	add_ldap("off", "uoff", "o@x", true);
	pol.sentinel_users.v = sv;
	pol.sentinel_users.n = 1;
	build(&p, FT_OK, 0);
	ck_assert(p.guard[GUARD_SENTINELS].ok);
	plan_recon_free(&p);
	pol.sentinel_users.n = 3;
	build(&p, FT_OK, 0);
	ck_assert(!p.guard[GUARD_SENTINELS].ok);
	/* a disabled sentinel is as missing as an absent one */
	ck_assert_str_eq(p.guard[GUARD_SENTINELS].detail,
			 "missing or disabled in LDAP: 'ghost', 'off'");
	ck_assert(plan_recon_held(&p, false));
	plan_recon_free(&p);
}

END_TEST

static const struct {
	unsigned long value;
	bool percent;
	size_t leavers; /* of 20 active ftrack users */
	bool ok;
	unsigned long limit;
} deact_tab[] = {
	{5, true, 1, true, 1}, /* 5% of 20 = 1 */
	{5, true, 2, false, 1},
	{6, true, 2, true, 2}, /* 6% of 20 = 1.2, rounded up: 2 */
	{0, true, 1, false, 0},
	{0, true, 0, true, 0},
	{3, false, 3, true, 3},
	{3, false, 4, false, 3},
	{100, true, 20, true, 20},
};

START_TEST(test_guard_deactivate)
{
	struct plan_recon p;
	char want[256];
	size_t n = 20 - deact_tab[_i].leavers;

	population(n, deact_tab[_i].leavers);
	pol.max_deactivate.value = deact_tab[_i].value;
	pol.max_deactivate.percent = deact_tab[_i].percent;
	if (n == 0)
		add_ldap("someone", "uS", "s@x", false);
	build(&p, FT_OK, 0);
	ck_assert_uint_eq(p.count[PLAN_DEACTIVATE], deact_tab[_i].leavers);
	ck_assert_int_eq(p.guard[GUARD_MAX_DEACTIVATE].ok, deact_tab[_i].ok);
	/* the setting spelt out, never "limit 3 (3 of 20 active)" */
	if (deact_tab[_i].percent)
		(void)snprintf(
			want, sizeof(want),
			"%zu to deactivate or delete, limit %lu (max_deactivate "
			"%lu%% of 20 active users, rounded up)",
			deact_tab[_i].leavers, deact_tab[_i].limit,
			deact_tab[_i].value);
	else
		(void)snprintf(
			want, sizeof(want),
			"%zu to deactivate or delete, limit %lu (max_deactivate "
			"%lu users; 20 active users)",
			deact_tab[_i].leavers, deact_tab[_i].limit,
			deact_tab[_i].value);
	ck_assert_str_eq(p.guard[GUARD_MAX_DEACTIVATE].detail, want);
	ck_assert_int_eq(plan_recon_held(&p, false), !deact_tab[_i].ok);
	ck_assert(!plan_recon_held(&p, true)); /* a person may force it */
	plan_recon_free(&p);
}

END_TEST

/* An entry that cannot be mapped: what could be told of it. */
static void
add_unmapped(const char *login, const char *uuid)
{
	struct ft_user u;

	memset(&u, 0, sizeof(u));
	u.dn = dup("uid=broken,ou=people,dc=example,dc=com");
	u.login = dup(login);
	u.uuid = dup(uuid);
	ck_assert_int_eq(ft_user_list_push(&unmapped, &u), FT_OK);
}

START_TEST(test_unmapped_entry_kept)
{
	struct plan_recon p;

	population(3, 0);
	add_ft("broken", "ub", "b@x", true, NULL);
	add_ft("renamed", "ur", "r@x", true, NULL);
	add_unmapped("broken", NULL); /* found by login */
	add_unmapped(NULL, "ur");     /* found by uuid */
	build(&p, FT_OK, 0);
	ck_assert_uint_eq(p.count[PLAN_DEACTIVATE], 0);
	ck_assert_uint_eq(p.count[PLAN_SKIP], 2);
	ck_assert_str_eq(find(&p, "broken")->reason,
			 "kept: its LDAP entry cannot be mapped "
			 "(uid=broken,ou=people,dc=example,dc=com)");
	ck_assert(!plan_recon_held(&p, false));
	plan_recon_free(&p);
	/* one that cannot even be identified: nobody can be sure who left */
	add_unmapped(NULL, NULL);
	build(&p, FT_OK, 0);
	ck_assert(!p.guard[GUARD_LDAP_COMPLETE].ok);
	ck_assert(plan_recon_held(&p, true));
	plan_recon_free(&p);
}

END_TEST

START_TEST(test_large_population)
{
	struct plan_recon p;

	population(20000, 100);
	pol.max_deactivate.value = 1;
	build(&p, FT_OK, 20000);
	ck_assert_uint_eq(p.count[PLAN_NONE], 20000);
	ck_assert_uint_eq(p.count[PLAN_DEACTIVATE], 100);
	ck_assert(!plan_recon_held(&p, false)); /* 100 <= 1% of 20100 */
	plan_recon_free(&p);
}

END_TEST

Suite *
plan_recon_suite(void)
{
	Suite *s = suite_create("plan_recon");
	TCase *tc = tcase_create("plan");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_every_action);
	tcase_add_test(tc, test_link_by_email);
	tcase_add_test(tc, test_link_by_email_conflict_kept);
	tcase_add_test(tc, test_create_policy);
	tcase_add_test(tc, test_conflicts);
	tcase_add_loop_test(
		tc, test_missing_policy, 0,
		(int)(sizeof(missing_tab) / sizeof(missing_tab[0])));
	tcase_add_test(tc, test_waiting_for_seat);
	tcase_add_test(tc, test_guard_ldap_incomplete);
	tcase_add_test(tc, test_guard_empty);
	tcase_add_test(tc, test_guard_min_users);
	tcase_add_loop_test(tc, test_guard_shrink, 0,
			    (int)(sizeof(shrink_tab) / sizeof(shrink_tab[0])));
	tcase_add_test(tc, test_guard_sentinels);
	tcase_add_loop_test(tc, test_guard_deactivate, 0,
			    (int)(sizeof(deact_tab) / sizeof(deact_tab[0])));
	tcase_add_test(tc, test_unmapped_entry_kept);
	tcase_add_test(tc, test_large_population);
	tcase_add_test(tc, test_reused_login_hand_made);
	suite_add_tcase(s, tc);
	return s;
}
