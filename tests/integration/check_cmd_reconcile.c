/* SPDX-License-Identifier: Apache-2.0 */
/*
 * check_cmd_reconcile.c: suite 'cmd_reconcile': `ftrack-syncd reconcile` (syncd/cmd_reconcile.c), the full reconcile of DESIGN.md
 * section 4 and the markers of section 6, end to end: a real slapd, the
 * ftrack emulator and `ftrack-syncd reconcile` / `sync` / `run` as
 * processes.  What is checked is what an administrator sees: the users
 * and markers in ftrack, the exit codes, reports/last-apply.json,
 * last-dry-run.json, runs/RUN.json and held.json, `reconcile --undo`, the
 * daemon's log and metrics.  (The plan's table-driven tests live in
 * check_plan_recon.c and check_plan_undo.c.)
 *
 * Every test builds its own world (slapd + emulator + config) in a folder
 * under a suite folder that the unchecked fixture removes, so a failed
 * test leaves nothing behind.  Every command's stderr is checked for a
 * sanitizer report (the binary is instrumented in the sanitizer build).
 */
#include <check.h>
#include <jansson.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ft_err.h"
#include "ft_util.h"
#include "harness.h"

Suite *cmd_reconcile_suite(void);

#define MARK_UUID "ftrack_syncd.uuid"
#define MARK_GONE "ftrack_syncd.deactivated"
#define LAST      H_REPORT_LAST
#define HELD      "held.json"
#define APPLY_TS  "ftrack_syncd_last_reconcile_timestamp_seconds{run=\"apply\"}"
#define N_ENABLED 14 /* enabled people of people.ldif */

/* The enabled people of people.ldif ("gone" is the disabled one). */
static const char *const people[N_ENABLED] = {
	"alice", "bob",    "carol",  "dave",  "erin",        "frank", "joerg",
	"zoe",   "yamada", "nomail", "multi", "st*r(x)\\5c", "star",  "starx",
};

/* ---- fixture: one suite folder, removed whatever happens ---------------- */

/* ---- helpers that assert ------------------------------------------------- */

/* snprintf that must not truncate. */
static struct h_world *
world(const char *extra)
{
	struct h_world *w;

	ck_assert_ptr_nonnull(h_suite_dir());
	w = h_world_start(H_LDIF_PEOPLE, 0, extra);
	ck_assert_ptr_nonnull(w);
	return w;
}

static void
config(struct h_world *w, const char *extra)
{
	ck_assert_int_eq(h_world_config(w, extra), FT_OK);
}

/* Run args (see h_cmd), expect exit code `code`; the outputs stay in r. */
/* Fail when text holds a sanitizer report (shown on stderr). */
static void
no_sanitizer(const char *what, const char *text)
{
	if (!h_san_text(text))
		return;
	(void)fprintf(stderr, "%s:\n%s\n", what, text);
	ck_abort_msg("a sanitizer report in %s (see stderr)", what);
}

static void
expect_run(struct h_world *w, const char *args, int code, struct h_cmd_out *r)
{
	ck_assert_int_eq(h_cmd(w, args, r), FT_OK);
	no_sanitizer(args, r->err);
	/* libcheck caps its messages: the outputs go to stderr */
	if (r->code != code)
		(void)fprintf(stderr, "'%s':\nstdout:\n%s\nstderr:\n%s\n", args,
			      r->out, r->err);
	ck_assert_msg(r->code == code,
		      "'%s' exited %d (signal %d), expected %d (output on "
		      "stderr)",
		      args, r->code, r->signal, code);
}

static void
expect(struct h_world *w, const char *args, int code)
{
	struct h_cmd_out r;

	expect_run(w, args, code, &r);
	h_cmd_clear(&r);
}

static json_t *
report(const struct h_world *w, const char *name)
{
	json_t *rep = h_report(w, name);

	ck_assert_msg(rep != NULL, "no readable reports/%s", name);
	return rep;
}

static void
assert_result(const json_t *rep, const char *result)
{
	const char *got = json_string_value(json_object_get(rep, "result"));

	ck_assert_ptr_nonnull(got);
	ck_assert_str_eq(got, result);
}

/* counts.kind of the last report. */
static long
last_count(const struct h_world *w, const char *kind)
{
	json_t *rep = report(w, LAST);
	long n = h_report_count(rep, kind);

	json_decref(rep);
	return n;
}

/* The User row named name, which must exist. */
static json_t *
user(const struct h_world *w, const char *name)
{
	json_t *u = h_emu_user_row(w->emu, name);

	ck_assert_msg(u != NULL, "no ftrack user '%s'", name);
	return u;
}

static char *
user_id(const struct h_world *w, const char *name)
{
	char *id = h_emu_user_id(w->emu, name);

	ck_assert_msg(id != NULL, "no ftrack user '%s'", name);
	return id;
}

static bool
is_active(const struct h_world *w, const char *name)
{
	json_t *u = user(w, name);
	bool yes = json_is_true(json_object_get(u, "is_active"));

	json_decref(u);
	return yes;
}

static const char *
str_of(const json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

/* Markers key on the user named name. */
static long
markers(const struct h_world *w, const char *name, const char *key)
{
	char *id = user_id(w, name);
	long n = h_emu_markers(w->emu, id, key, NULL);

	free(id);
	ck_assert_int_ge(n, 0);
	return n;
}

/* The ftrack user name carries exactly one uuid marker: the entryUUID of
 * the LDAP login uid. */
static void
assert_linked_to(const struct h_world *w, const char *name, const char *uid)
{
	char *id = user_id(w, name), *value = NULL;
	char *uuid = h_ldap_entry_uuid(h_slapd_uri(w->slapd), uid);

	ck_assert_msg(uuid != NULL, "no entryUUID for '%s'", name);
	ck_assert_int_eq(h_emu_markers(w->emu, id, MARK_UUID, &value), 1);
	ck_assert_ptr_nonnull(value);
	ck_assert_str_eq(value, uuid);
	free(value);
	free(uuid);
	free(id);
}

/* The user named name carries exactly one uuid marker: its entryUUID. */
static void
assert_linked(const struct h_world *w, const char *name)
{
	assert_linked_to(w, name, name);
}

static void
load_users(const struct h_world *w, const char *json_rows)
{
	ck_assert_int_eq(h_emu_control(w->emu, "/_emulator/users", json_rows),
			 FT_OK);
}

static void
emu_config(const struct h_world *w, const char *json_cfg)
{
	ck_assert_int_eq(h_emu_control(w->emu, "/_emulator/config", json_cfg),
			 FT_OK);
}

static void
fault(const struct h_world *w, const char *json_spec)
{
	ck_assert_int_eq(h_emu_control(w->emu, "/_emulator/fault", json_spec),
			 FT_OK);
}

static void
ldap_change(struct h_world *w, const char *ldif)
{
	ck_assert_int_eq(h_slapd_change(w->slapd, ldif, false), FT_OK);
}

static void
ldap_delete(struct h_world *w, const char *uid)
{
	char ldif[256];

	h_fx_fmt(ldif, sizeof(ldif),
		 "dn: uid=%s,ou=people,dc=example,dc=com\nchangetype: delete\n",
		 uid);
	ldap_change(w, ldif);
}

/*
 * Every enabled person created in ftrack by a first `reconcile --apply`
 * with reconcile_create = yes; then the config becomes extra.
 */
static void
create_all(struct h_world *w, const char *extra)
{
	config(w, "policy.reconcile_create = yes");
	expect(w, "reconcile --apply", 0);
	ck_assert_int_eq(last_count(w, "create"), N_ENABLED);
	config(w, extra);
}

static json_t *
snapshot(const struct h_world *w)
{
	json_t *s = h_emu_snapshot(w->emu);

	ck_assert_ptr_nonnull(s);
	return s;
}

/* ftrack holds exactly what it held at `before` (consumed). */
static void
assert_unchanged(const struct h_world *w, json_t *before)
{
	json_t *now = snapshot(w);
	bool same = json_equal(before, now);

	if (!same) {
		char *a = json_dumps(before, JSON_INDENT(1));
		char *b = json_dumps(now, JSON_INDENT(1));

		(void)fprintf(stderr, "before:\n%s\nafter:\n%s\n", a, b);
		free(a);
		free(b);
	}
	json_decref(before);
	json_decref(now);
	ck_assert_msg(same, "ftrack changed during a run that must write "
			    "nothing");
}

/* The run was held: exit 3 seen by the caller, and here held.json and
 * the last report say so, with guard `name` failed. */
static void
assert_held_by(const struct h_world *w, const char *name, bool forceable)
{
	json_t *rep = report(w, LAST), *held = report(w, HELD);
	json_t *g = h_report_guard(rep, name);

	assert_result(rep, "held");
	assert_result(held, "held");
	ck_assert_msg(g != NULL, "no guard '%s' in the report", name);
	ck_assert_msg(json_is_false(json_object_get(g, "ok")),
		      "guard '%s' did not fail", name);
	ck_assert(json_is_boolean(json_object_get(g, "forceable")));
	ck_assert_int_eq(json_is_true(json_object_get(g, "forceable")),
			 forceable);
	json_decref(rep);
	json_decref(held);
}

static void
remove_held(const struct h_world *w)
{
	char path[4096];

	h_fx_fmt(path, sizeof(path), "%s/reports/%s", w->state, HELD);
	(void)unlink(path);
}

/* ---- waiting ------------------------------------------------------------- */

struct file_has {
	const char *path;
	const char *text;
	long min; /* occurrences */
};

static long
count_in(const char *hay, const char *needle)
{
	long n = 0;
	const char *p = hay;

	while (p != NULL && (p = strstr(p, needle)) != NULL) {
		n++;
		p += strlen(needle);
	}
	return n;
}

static bool
file_has_cond(void *arg)
{
	const struct file_has *f = arg;
	char *text = h_read_file(f->path, NULL);
	bool yes = text != NULL && count_in(text, f->text) >= f->min;

	free(text);
	return yes;
}

static long
file_count(const char *path, const char *text)
{
	char *all = h_read_file(path, NULL);
	long n = all != NULL ? count_in(all, text) : -1;

	free(all);
	return n;
}

struct stat_min {
	const struct h_emu *e;
	const char *group, *name;
	long long min;
};

static bool
stat_min_cond(void *arg)
{
	const struct stat_min *s = arg;
	long long v = s->group ? h_emu_stat2(s->e, s->group, s->name)
			       : h_emu_stat(s->e, s->name);

	return v >= s->min;
}

/* ---- 1. first contact: link, create ------------------------------------- */

START_TEST(test_first_run_links)
{
	struct h_world *w = world(NULL);
	json_t *rep, *a, *u;

	load_users(w, "[{\"username\": \"alice\", \"email\": "
		      "\"old@example.com\", \"first_name\": \"Alice\", "
		      "\"last_name\": \"Old\", \"is_active\": true},"
		      "{\"username\": \"bob\", \"is_active\": true},"
		      "{\"username\": \"admin\", \"is_active\": true},"
		      "{\"username\": \"outsider\", \"is_active\": true}]");
	expect(w, "reconcile --apply", 0);
	rep = report(w, LAST);
	assert_result(rep, "applied");
	ck_assert_str_eq(str_of(rep, "mode"), "apply");
	ck_assert_int_eq(h_report_count(rep, "link"), 2);
	ck_assert_int_eq(h_report_count(rep, "create"), 0);
	ck_assert_int_eq(h_report_count(rep, "deactivate"), 0);
	a = h_report_action(rep, "alice");
	ck_assert_ptr_nonnull(a);
	ck_assert_str_eq(str_of(a, "action"), "link");
	ck_assert(json_is_true(json_object_get(a, "ok")));
	json_decref(rep);
	/* nobody created by default, the disabled one least of all */
	ck_assert_int_eq(h_emu_users(w->emu), 5);
	ck_assert_int_eq(h_emu_named(w->emu, "gone"), 0);
	assert_linked(w, "alice");
	assert_linked(w, "bob");
	/* linking brings the fields in line with LDAP */
	u = user(w, "alice");
	ck_assert_str_eq(str_of(u, "email"), "alice@example.com");
	json_decref(u);
	/* users LDAP does not know are not managed: left alone */
	ck_assert(is_active(w, "outsider"));
	ck_assert(is_active(w, "admin"));
	ck_assert_int_eq(markers(w, "outsider", MARK_UUID), 0);
	ck_assert_int_eq(markers(w, "outsider", MARK_GONE), 0);
	ck_assert_int_eq(markers(w, "admin", MARK_UUID), 0);
	/* converged: the next dry run has nothing to do */
	expect(w, "reconcile", 0);
	rep = report(w, LAST);
	assert_result(rep, "in-sync");
	json_decref(rep);
	h_world_stop(w);
}

END_TEST

START_TEST(test_create_all)
{
	struct h_world *w = world("policy.reconcile_create = yes");
	json_t *u;
	size_t i;

	expect(w, "reconcile --apply", 0);
	ck_assert_int_eq(last_count(w, "create"), N_ENABLED);
	ck_assert_int_eq(h_emu_users(w->emu), N_ENABLED + 1);
	for (i = 0; i < N_ENABLED; i++) {
		ck_assert_msg(h_emu_named(w->emu, people[i]) == 1, "'%s'",
			      people[i]);
		ck_assert_msg(is_active(w, people[i]), "'%s'", people[i]);
		ck_assert_int_eq(markers(w, people[i], MARK_GONE), 0);
		assert_linked(w, people[i]);
	}
	ck_assert_int_eq(h_emu_named(w->emu, "gone"), 0);
	u = user(w, "joerg");
	ck_assert_str_eq(str_of(u, "first_name"), "J\xc3\xb6rg");
	ck_assert_str_eq(str_of(u, "last_name"), "M\xc3\xbcller");
	json_decref(u);
	u = user(w, "yamada");
	ck_assert_str_eq(str_of(u, "last_name"), "\xe5\xb1\xb1\xe7\x94\xb0");
	json_decref(u);
	/* a second run finds everything in sync (nothing churns, not even
	 * the person with two mail values) */
	expect(w, "reconcile", 0);
	ck_assert_int_eq(last_count(w, "none"), N_ENABLED);
	expect(w, "reconcile --apply", 0);
	ck_assert_int_eq(h_emu_users(w->emu), N_ENABLED + 1);
	h_world_stop(w);
}

END_TEST

/* ---- 2. a changed mail --------------------------------------------------- */

/* The key a write of h_emu_writes is about ("" none): a Metadata's. */
static const char *
write_key(const json_t *op)
{
	const char *k = json_string_value(json_object_get(op, "key"));

	if (k == NULL)
		k = json_string_value(
			json_array_get(json_object_get(op, "entity_key"), 1));
	return k != NULL ? k : "";
}

/* The writes after seq but those of the reconcile's own records on the
 * API user (lease, token, schema, last_good). */
static json_t *
people_writes(const struct h_world *w, long long seq)
{
	json_t *all = h_emu_writes(w->emu, seq), *out = json_array(), *op;
	size_t i;

	ck_assert_ptr_nonnull(all);
	json_array_foreach(all, i, op)
	{
		const char *k = write_key(op);

		if (strncmp(k, "ftrack_syncd.reconcile_lease", 28) != 0 &&
		    strcmp(k, "ftrack_syncd.schema") != 0 &&
		    strcmp(k, "ftrack_syncd.last_good") != 0)
			(void)json_array_append(out, op);
	}
	json_decref(all);
	return out;
}

START_TEST(test_mail_update)
{
	struct h_world *w = world(NULL);
	json_t *before, *after, *rep, *a, *writes, *op;
	long long seq;
	char *id;

	create_all(w, NULL);
	before = user(w, "alice");
	id = user_id(w, "alice");
	seq = h_emu_last_seq(w->emu);
	ck_assert_int_ge(seq, 0);
	ldap_change(w, "dn: uid=alice,ou=people,dc=example,dc=com\n"
		       "changetype: modify\nreplace: mail\n"
		       "mail: alice.liddell@example.com\n");
	expect(w, "reconcile --apply", 0);
	rep = report(w, LAST);
	ck_assert_int_eq(h_report_count(rep, "update"), 1);
	ck_assert_int_eq(h_report_count(rep, "none"), N_ENABLED - 1);
	ck_assert_uint_eq(json_array_size(json_object_get(rep, "actions")), 1);
	a = h_report_action(rep, "alice");
	ck_assert_ptr_nonnull(a);
	ck_assert_str_eq(str_of(a, "action"), "update");
	ck_assert_ptr_nonnull(strstr(str_of(a, "reason"), "email"));
	ck_assert_ptr_null(strstr(str_of(a, "reason"), "name"));
	json_decref(rep);
	/* exactly one write: an update of alice's User, no marker touched
	 * (the lease and last_good on the API user aside) */
	writes = people_writes(w, seq);
	ck_assert_ptr_nonnull(writes);
	ck_assert_uint_eq(json_array_size(writes), 1);
	op = json_array_get(writes, 0);
	ck_assert_str_eq(str_of(op, "action"), "update");
	ck_assert_str_eq(str_of(op, "entity_type"), "User");
	ck_assert_str_eq(json_string_value(json_array_get(
				 json_object_get(op, "entity_key"), 0)),
			 id);
	json_decref(writes);
	/* only the mail changed */
	after = user(w, "alice");
	ck_assert_int_eq(json_object_set_new(before, "email",
					     json_string("alice.liddell@"
							 "example.com")),
			 0);
	ck_assert(json_equal(before, after));
	json_decref(before);
	json_decref(after);
	free(id);
	h_world_stop(w);
}

END_TEST

/* ---- 3. leavers, returns, hand-made deactivations ------------------------ */

/* Add bob's entry again with the entryUUID uuid (Relax Rules control). */
static void
restore_bob(struct h_world *w, const char *uuid)
{
	char ldif[1024], *now;

	h_fx_fmt(ldif, sizeof(ldif),
		 "dn: uid=bob,ou=people,dc=example,dc=com\n"
		 "changetype: add\nobjectClass: inetOrgPerson\n"
		 "uid: bob\ncn: Bob Baker\ngivenName: Bob\nsn: Baker\n"
		 "mail: bob@example.com\nentryUUID: %s\n",
		 uuid);
	ck_assert_int_eq(h_slapd_change(w->slapd, ldif, true), FT_OK);
	now = h_ldap_entry_uuid(h_slapd_uri(w->slapd), "bob");
	ck_assert_ptr_nonnull(now);
	ck_assert_str_eq(now, uuid);
	free(now);
}

START_TEST(test_leaver_returns)
{
	struct h_world *w = world(NULL);
	char *uuid, *id, *id2, *when = NULL;
	json_t *rep, *a;

	create_all(w, NULL);
	uuid = h_ldap_entry_uuid(h_slapd_uri(w->slapd), "bob");
	ck_assert_ptr_nonnull(uuid);
	id = user_id(w, "bob");
	ldap_delete(w, "bob");
	expect(w, "reconcile --apply", 0);
	rep = report(w, LAST);
	ck_assert_int_eq(h_report_count(rep, "deactivate"), 1);
	a = h_report_action(rep, "bob");
	ck_assert_ptr_nonnull(a);
	ck_assert_str_eq(str_of(a, "action"), "deactivate");
	ck_assert(json_is_true(json_object_get(a, "ok")));
	json_decref(rep);
	ck_assert(!is_active(w, "bob"));
	ck_assert_int_eq(h_emu_markers(w->emu, id, MARK_GONE, &when), 1);
	ck_assert_msg(when != NULL && strlen(when) == 20 && when[10] == 'T' &&
			      when[19] == 'Z',
		      "not ISO 8601 UTC: '%s'", when ? when : "(null)");
	free(when);
	ck_assert_int_eq(markers(w, "bob", MARK_UUID), 1);
	/* already done: nothing more to do */
	expect(w, "reconcile", 0);
	/* bob's entry is restored (with its entryUUID, as a restore from a
	 * backup or a recycle bin keeps it) and bob logs in */
	restore_bob(w, uuid);
	expect(w, "sync bob", 0);
	ck_assert_int_eq(h_emu_named(w->emu, "bob"), 1);
	id2 = user_id(w, "bob");
	ck_assert_str_eq(id2, id);
	ck_assert(is_active(w, "bob"));
	ck_assert_int_eq(markers(w, "bob", MARK_GONE), 0);
	assert_linked(w, "bob");
	expect(w, "reconcile", 0);
	free(uuid);
	free(id);
	free(id2);
	h_world_stop(w);
}

END_TEST

/*
 * A leaver whose LDAP entry is created anew (new entryUUID: what ldapadd,
 * or a new AD account, gives) gets the seat back at login: the user the
 * sync deactivated is relinked to the new entry and reactivated
 * (reactivate = sync-deactivated).
 */
START_TEST(test_leaver_recreated)
{
	struct h_world *w = world(NULL);
	char *id, *id2;

	create_all(w, NULL);
	id = user_id(w, "bob");
	ldap_delete(w, "bob");
	expect(w, "reconcile --apply", 0);
	ck_assert(!is_active(w, "bob"));
	ck_assert_int_eq(markers(w, "bob", MARK_GONE), 1);
	/* bob is hired again: a new entry, so a new entryUUID */
	ldap_change(w, "dn: uid=bob,ou=people,dc=example,dc=com\n"
		       "changetype: add\nobjectClass: inetOrgPerson\n"
		       "uid: bob\ncn: Bob Baker\ngivenName: Bob\nsn: Baker\n"
		       "mail: bob@example.com\n");
	expect(w, "sync bob", 0);
	ck_assert_int_eq(h_emu_named(w->emu, "bob"), 1);
	id2 = user_id(w, "bob");
	ck_assert_str_eq(id2, id);
	ck_assert(is_active(w, "bob"));
	ck_assert_int_eq(markers(w, "bob", MARK_GONE), 0);
	/* linked to the entry that is there now; nothing left to do */
	assert_linked(w, "bob");
	expect(w, "reconcile", 0);
	ck_assert_int_eq(last_count(w, "conflict"), 0);
	free(id);
	free(id2);
	h_world_stop(w);
}

END_TEST

START_TEST(test_disabled_and_back)
{
	struct h_world *w = world(NULL);
	json_t *rep, *a;

	create_all(w, NULL);
	ldap_change(w, "dn: uid=erin,ou=people,dc=example,dc=com\n"
		       "changetype: modify\nadd: employeeType\n"
		       "employeeType: disabled\n");
	expect(w, "reconcile --apply", 0);
	rep = report(w, LAST);
	ck_assert_int_eq(h_report_count(rep, "deactivate"), 1);
	a = h_report_action(rep, "erin");
	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(strstr(str_of(a, "reason"), "disabled"));
	ck_assert_int_eq(json_integer_value(json_object_get(
				 json_object_get(rep, "ldap"), "disabled")),
			 2);
	json_decref(rep);
	ck_assert(!is_active(w, "erin"));
	ck_assert_int_eq(markers(w, "erin", MARK_GONE), 1);
	/* enabled again: the reconcile gives the seat back */
	ldap_change(w, "dn: uid=erin,ou=people,dc=example,dc=com\n"
		       "changetype: modify\ndelete: employeeType\n");
	expect(w, "reconcile --apply", 0);
	ck_assert_int_eq(last_count(w, "reactivate"), 1);
	ck_assert(is_active(w, "erin"));
	ck_assert_int_eq(markers(w, "erin", MARK_GONE), 0);
	ck_assert_int_eq(markers(w, "erin", MARK_UUID), 1);
	expect(w, "reconcile", 0);
	h_world_stop(w);
}

END_TEST

START_TEST(test_admin_deactivated_stays)
{
	struct h_world *w = world(NULL);
	char *id, ops[512];
	json_t *res;

	create_all(w, NULL);
	id = user_id(w, "carol");
	h_fx_fmt(ops, sizeof(ops),
		 "[{\"action\": \"update\", \"entity_type\": \"User\", "
		 "\"entity_key\": [\"%s\"], \"entity_data\": "
		 "{\"__entity_type__\": \"User\", \"is_active\": false}}]",
		 id);
	res = h_emu_api(w->emu, ops);
	ck_assert(json_is_array(res));
	json_decref(res);
	ck_assert(!is_active(w, "carol"));
	/* carol logs in: her seat stays taken back */
	expect(w, "sync carol", 0);
	ck_assert(!is_active(w, "carol"));
	ck_assert_int_eq(markers(w, "carol", MARK_GONE), 0);
	/* and the reconcile leaves her alone too */
	expect(w, "reconcile --apply", 0);
	ck_assert(!is_active(w, "carol"));
	ck_assert_int_eq(markers(w, "carol", MARK_GONE), 0);
	ck_assert_int_eq(last_count(w, "reactivate"), 0);
	/* reactivate = always would give it back */
	config(w, "policy.reactivate = always");
	expect(w, "reconcile --apply", 0);
	ck_assert_int_eq(last_count(w, "reactivate"), 1);
	ck_assert(is_active(w, "carol"));
	free(id);
	h_world_stop(w);
}

END_TEST

#define MARK_SEAT "ftrack_syncd.seat_waiting"

/* The action of the last report about user, which must be there: its
 * kind, whether it landed, whether it waits for a seat. */
static void
assert_last_action(const struct h_world *w, const char *user, const char *kind,
		   bool ok, bool waiting)
{
	json_t *rep = report(w, LAST), *a = h_report_action(rep, user);

	ck_assert_msg(a != NULL, "'%s' is not in the report", user);
	ck_assert_str_eq(str_of(a, "action"), kind);
	ck_assert_msg(json_is_true(json_object_get(a, "ok")) == ok,
		      "'%s': ok is not %d", user, ok);
	ck_assert_msg(json_is_true(json_object_get(a, "waiting_for_seat")) ==
			      waiting,
		      "'%s': waiting_for_seat is not %d", user, waiting);
	json_decref(rep);
}

/*
 * People waiting for a seat (ftrack kept the new users inactive) are not
 * taken for seats an administrator took back: the reconcile asks again
 * (exit 0, "waiting for a seat" in its report, nobody deactivated), and
 * once a seat is free it activates them and removes the marker.  One who
 * leaves LDAP while waiting loses the marker and stays inactive, with the
 * sync's deactivated marker (so that a return is a reactivation).
 */
START_TEST(test_seat_waiting)
{
	struct h_world *w = world(NULL);
	struct h_cmd_out r;

	emu_config(w, "{\"seat_cap\": 1}"); /* the API user's seat only */
	expect_run(w, "sync alice bob", 1, &r);
	ck_assert_ptr_nonnull(strstr(r.out, "alice: waiting-for-seat: "));
	ck_assert_ptr_nonnull(strstr(r.out, "bob: waiting-for-seat: "));
	h_cmd_clear(&r);
	ck_assert(!is_active(w, "alice"));
	ck_assert_int_eq(markers(w, "alice", MARK_SEAT), 1);
	/* still full: asked again, exit 0, nobody deactivated */
	expect_run(w, "reconcile --apply", 0, &r);
	ck_assert_ptr_nonnull(strstr(r.err, "waiting for a seat"));
	h_cmd_clear(&r);
	assert_last_action(w, "alice", "reactivate", false, true);
	assert_last_action(w, "bob", "reactivate", false, true);
	ck_assert_int_eq(last_count(w, "deactivate"), 0);
	ck_assert_int_eq(markers(w, "alice", MARK_SEAT), 1);
	ck_assert_int_eq(markers(w, "alice", MARK_GONE), 0);
	/* bob leaves LDAP while waiting: the request is withdrawn */
	ldap_delete(w, "bob");
	expect(w, "reconcile --apply", 0);
	assert_last_action(w, "bob", "deactivate", true, false);
	ck_assert(!is_active(w, "bob"));
	ck_assert_int_eq(markers(w, "bob", MARK_SEAT), 0);
	ck_assert_int_eq(markers(w, "bob", MARK_GONE), 1);
	/* a seat free: alice gets it, her marker goes */
	emu_config(w, "{\"seat_cap\": null}");
	expect(w, "reconcile --apply", 0);
	assert_last_action(w, "alice", "reactivate", true, false);
	ck_assert(is_active(w, "alice"));
	ck_assert_int_eq(markers(w, "alice", MARK_SEAT), 0);
	ck_assert(!is_active(w, "bob"));
	expect(w, "reconcile", 0);
	h_world_stop(w);
}

END_TEST

/*
 * An entry that is still in LDAP but cannot be mapped (one attribute with
 * a control character: "hostile LDAP data" of DESIGN.md 9) is skipped with
 * its DN and reason; its person is kept, never taken for a leaver.
 */
START_TEST(test_skipped_entry_kept)
{
	struct h_world *w = world(NULL);
	json_t *rep, *skipped, *a;

	create_all(w, NULL);
	/* "Ali\001ce" */
	ldap_change(w, "dn: uid=alice,ou=people,dc=example,dc=com\n"
		       "changetype: modify\nreplace: givenName\n"
		       "givenName:: QWxpAWNl\n");
	expect(w, "reconcile --apply", 0);
	rep = report(w, LAST);
	ck_assert_int_eq(json_integer_value(json_object_get(
				 json_object_get(rep, "ldap"), "skipped")),
			 1);
	skipped = json_array_get(json_object_get(rep, "skipped_entries"), 0);
	ck_assert_ptr_nonnull(skipped);
	ck_assert_str_eq(str_of(skipped, "dn"),
			 "uid=alice,ou=people,dc=example,dc=com");
	ck_assert_ptr_nonnull(strstr(str_of(skipped, "reason"), "givenName"));
	a = h_report_action(rep, "alice");
	ck_assert_ptr_nonnull(a);
	ck_assert_str_eq(str_of(a, "action"), "skip");
	ck_assert_str_eq(str_of(a, "reason"),
			 "kept: its LDAP entry cannot be mapped "
			 "(uid=alice,ou=people,dc=example,dc=com)");
	ck_assert_int_eq(h_report_count(rep, "deactivate"), 0);
	json_decref(rep);
	ck_assert(is_active(w, "alice"));
	ck_assert_int_eq(markers(w, "alice", MARK_GONE), 0);
	h_world_stop(w);
}

END_TEST

/* ---- 4. a renamed account ------------------------------------------------ */

START_TEST(test_rename)
{
	struct h_world *w = world(NULL);
	char *id, *id2, *uuid, *value = NULL;
	json_t *rep, *a;

	create_all(w, NULL);
	id = user_id(w, "carol");
	uuid = h_ldap_entry_uuid(h_slapd_uri(w->slapd), "carol");
	ck_assert_ptr_nonnull(uuid);
	ldap_change(w, "dn: uid=carol,ou=people,dc=example,dc=com\n"
		       "changetype: modrdn\nnewrdn: uid=caroline\n"
		       "deleteoldrdn: 1\n");
	expect(w, "reconcile --apply", 0);
	rep = report(w, LAST);
	ck_assert_int_eq(h_report_count(rep, "rename"), 1);
	ck_assert_int_eq(h_report_count(rep, "create"), 0);
	ck_assert_int_eq(h_report_count(rep, "deactivate"), 0);
	a = h_report_action(rep, "caroline");
	ck_assert_ptr_nonnull(a);
	ck_assert_str_eq(str_of(a, "action"), "rename");
	json_decref(rep);
	ck_assert_int_eq(h_emu_named(w->emu, "carol"), 0);
	ck_assert_int_eq(h_emu_named(w->emu, "caroline"), 1);
	ck_assert_int_eq(h_emu_users(w->emu), N_ENABLED + 1);
	id2 = user_id(w, "caroline");
	ck_assert_str_eq(id2, id);
	ck_assert(is_active(w, "caroline"));
	ck_assert_int_eq(h_emu_markers(w->emu, id, MARK_UUID, &value), 1);
	ck_assert_str_eq(value, uuid);
	expect(w, "reconcile", 0);
	free(value);
	free(uuid);
	free(id);
	free(id2);
	h_world_stop(w);
}

END_TEST

/* ---- 5. guards ------------------------------------------------------------ */

START_TEST(test_guard_ldap_down)
{
	struct h_world *w = world(NULL);
	json_t *before, *rep, *g;

	create_all(w, NULL);
	before = snapshot(w);
	h_slapd_down(w->slapd);
	expect(w, "reconcile --apply", 3);
	assert_held_by(w, "ldap_complete", false);
	rep = report(w, LAST);
	ck_assert_str_ne(str_of(json_object_get(rep, "ldap"), "error"), "");
	g = h_report_guard(rep, "max_deactivate");
	ck_assert_ptr_nonnull(g);
	json_decref(rep);
	/* a person cannot force past a directory that did not answer */
	remove_held(w);
	expect(w, "reconcile --apply --force", 3);
	assert_held_by(w, "ldap_complete", false);
	expect(w, "reconcile", 3);
	assert_unchanged(w, before);
	ck_assert_int_eq(h_slapd_restart(w->slapd), FT_OK);
	expect(w, "reconcile --apply", 0);
	ck_assert_int_eq(last_count(w, "deactivate"), 0);
	h_world_stop(w);
}

END_TEST

static int
port_of(const char *uri)
{
	const char *colon = strrchr(uri, ':');
	unsigned long long v = 0;

	ck_assert_ptr_nonnull(colon);
	ck_assert_int_eq(ft_parse_uint(colon + 1, 65535, &v), FT_OK);
	return (int)v;
}

START_TEST(test_guard_ldap_dies_mid_read)
{
	struct h_world *w = world(NULL);
	struct h_relay *cut;
	json_t *before, *rep, *ldap;
	json_int_t entries;
	char extra[256];

	create_all(w, NULL);
	before = snapshot(w);
	/* slapd is killed after it sent about 3 KiB of the answer: a few
	 * pages of 2 entries, nowhere near all of them */
	cut = h_relay_cutter(port_of(h_slapd_uri(w->slapd)), 3000,
			     h_slapd_pid(w->slapd));
	ck_assert_ptr_nonnull(cut);
	h_fx_fmt(extra, sizeof(extra),
		 "ldap.uri = ldap://127.0.0.1:%d\nldap.page_size = 2\n",
		 h_relay_port(cut));
	config(w, extra);
	expect(w, "reconcile --apply", 3);
	assert_held_by(w, "ldap_complete", false);
	rep = report(w, LAST);
	ldap = json_object_get(rep, "ldap");
	entries = json_integer_value(json_object_get(ldap, "entries"));
	ck_assert_msg(entries > 0 && entries < H_LDAP_NPEOPLE,
		      "%lld entries read before slapd died",
		      (long long)entries);
	ck_assert_str_ne(str_of(ldap, "error"), "");
	json_decref(rep);
	/* slapd is really gone */
	ck_assert_int_ne(h_ldap_bind(h_slapd_uri(w->slapd), NULL, NULL),
			 0 /* LDAP_SUCCESS */);
	assert_unchanged(w, before);
	h_relay_stop(cut);
	h_world_stop(w);
}

END_TEST

START_TEST(test_guard_size_limit)
{
	struct h_world *w;
	json_t *before;
	char extra[1024], secret[4096];

	ck_assert_ptr_nonnull(h_suite_dir());
	w = h_world_start(H_LDIF_PEOPLE, 3, NULL);
	ck_assert_ptr_nonnull(w);
	/* the rootdn is above the size limit: a first good run as root */
	h_fx_fmt(secret, sizeof(secret), "%s/root.secret", w->dir);
	ck_assert_int_eq(h_write_file(secret, H_LDAP_ROOT_PW, 0600), FT_OK);
	h_fx_fmt(extra, sizeof(extra),
		 "ldap.bind_dn = " H_LDAP_ROOT_DN "\n"
		 "ldap.bind_password_file = %s\n"
		 "policy.reconcile_create = yes\n",
		 secret);
	config(w, extra);
	expect(w, "reconcile --apply", 0);
	ck_assert_int_eq(last_count(w, "create"), N_ENABLED);
	before = snapshot(w);
	/* the sync account gets 3 entries and sizeLimitExceeded */
	config(w, "ldap.page_size = 0");
	expect(w, "reconcile --apply", 3);
	assert_held_by(w, "ldap_complete", false);
	remove_held(w);
	config(w, "ldap.page_size = 2");
	expect(w, "reconcile --apply", 3);
	assert_held_by(w, "ldap_complete", false);
	assert_unchanged(w, before);
	h_world_stop(w);
}

END_TEST

START_TEST(test_guard_empty)
{
	struct h_world *w = world(NULL);
	json_t *before;

	create_all(w, NULL);
	before = snapshot(w);
	/* an OU without people */
	config(w, "ldap.search_base = ou=groups,dc=example,dc=com");
	expect(w, "reconcile --apply", 3);
	assert_held_by(w, "ldap_nonempty", false);
	remove_held(w);
	expect(w, "reconcile --apply --force", 3);
	assert_held_by(w, "ldap_nonempty", false);
	remove_held(w);
	/* a filter that matches nobody */
	config(w, "ldap.search_filter = (&(objectClass=inetOrgPerson)"
		  "(uid=nobody-at-all))");
	expect(w, "reconcile --apply", 3);
	assert_held_by(w, "ldap_nonempty", false);
	assert_unchanged(w, before);
	h_world_stop(w);
}

END_TEST

START_TEST(test_guard_min_users)
{
	struct h_world *w = world(NULL);
	json_t *before;

	create_all(w, NULL);
	ldap_delete(w, "dave");
	before = snapshot(w);
	config(w, "policy.min_ldap_users = 100");
	expect(w, "reconcile --apply", 3);
	assert_held_by(w, "min_ldap_users", true);
	assert_unchanged(w, before);
	/* at the population itself it passes */
	config(w, "policy.min_ldap_users = 14");
	expect(w, "reconcile --apply", 0);
	ck_assert_int_eq(last_count(w, "deactivate"), 1);
	h_world_stop(w);
}

END_TEST

START_TEST(test_guard_max_shrink)
{
	static const char *const leavers[] = {"alice", "bob",   "carol", "dave",
					      "erin",  "frank", "joerg", "zoe"};
	struct h_world *w = world(NULL);
	json_t *before, *held;
	size_t i;

	/* the good run records 15 entries */
	create_all(w, "policy.max_shrink = 20%");
	for (i = 0; i < sizeof(leavers) / sizeof(leavers[0]); i++)
		ldap_delete(w, leavers[i]);
	before = snapshot(w);
	expect(w, "reconcile --apply", 3);
	assert_held_by(w, "max_shrink", true);
	/* the held plan is there for a person to read */
	held = report(w, HELD);
	ck_assert_int_eq(h_report_count(held, "deactivate"), 8);
	json_decref(held);
	/* a held run is not a good run: it does not lower the mark */
	expect(w, "reconcile --apply", 3);
	assert_unchanged(w, before);
	h_world_stop(w);
}

END_TEST

START_TEST(test_guard_sentinel)
{
	struct h_world *w = world(NULL);
	json_t *before, *rep, *g;

	create_all(w, "policy.sentinel_users = alice, frank");
	expect(w, "reconcile", 0);
	ldap_delete(w, "frank");
	before = snapshot(w);
	expect(w, "reconcile --apply", 3);
	assert_held_by(w, "sentinel_users", true);
	rep = report(w, LAST);
	g = h_report_guard(rep, "sentinel_users");
	ck_assert_ptr_nonnull(strstr(str_of(g, "detail"), "frank"));
	ck_assert_ptr_null(strstr(str_of(g, "detail"), "alice"));
	json_decref(rep);
	assert_unchanged(w, before);
	h_world_stop(w);
}

END_TEST

START_TEST(test_guard_max_deactivate_force)
{
	struct h_world *w = world(NULL);
	json_t *before, *rep;

	create_all(w, "policy.max_deactivate = 2");
	ldap_delete(w, "dave");
	ldap_delete(w, "erin");
	ldap_delete(w, "frank");
	before = snapshot(w);
	expect(w, "reconcile --apply", 3);
	assert_held_by(w, "max_deactivate", true);
	/* as a percentage of the 15 active users, rounded up: 13% is 1.95,
	 * so 2, and 14% is 2.1, so 3, which lets the 3 leavers through */
	remove_held(w);
	config(w, "policy.max_deactivate = 13%");
	expect(w, "reconcile --apply", 3);
	assert_held_by(w, "max_deactivate", true);
	config(w, "policy.max_deactivate = 14%");
	expect(w, "reconcile", 4);
	assert_unchanged(w, before);
	/* a person looked at held.json and forces it */
	config(w, "policy.max_deactivate = 2");
	expect(w, "reconcile --apply --force", 0);
	rep = report(w, LAST);
	assert_result(rep, "applied");
	ck_assert(json_is_true(json_object_get(rep, "forced")));
	ck_assert_int_eq(h_report_count(rep, "deactivate"), 3);
	json_decref(rep);
	ck_assert(!is_active(w, "dave"));
	ck_assert(!is_active(w, "erin"));
	ck_assert(!is_active(w, "frank"));
	ck_assert_int_eq(markers(w, "frank", MARK_GONE), 1);
	ck_assert(is_active(w, "alice"));
	expect(w, "reconcile", 0);
	h_world_stop(w);
}

END_TEST

/* ---- policy: scope, protected users, missing = delete -------------------- */

START_TEST(test_scope_all_protects)
{
	struct h_world *w = world("policy.scope = all");
	json_t *rep;

	load_users(w, "[{\"username\": \"outsider\", \"is_active\": true},"
		      "{\"username\": \"admin\", \"is_active\": true},"
		      "{\"username\": \"root\", \"is_active\": true}]");
	expect(w, "reconcile --apply", 0);
	rep = report(w, LAST);
	ck_assert_int_eq(h_report_count(rep, "deactivate"), 1);
	ck_assert_ptr_nonnull(h_report_action(rep, "outsider"));
	json_decref(rep);
	ck_assert(!is_active(w, "outsider"));
	ck_assert_int_eq(markers(w, "outsider", MARK_GONE), 1);
	/* protected_users, skip_users and the API user are never touched */
	ck_assert(is_active(w, "admin"));
	ck_assert(is_active(w, "root"));
	ck_assert(is_active(w, H_EMU_USER));
	ck_assert_int_eq(markers(w, "admin", MARK_GONE), 0);
	ck_assert_int_eq(markers(w, "root", MARK_GONE), 0);
	ck_assert_int_eq(markers(w, H_EMU_USER, MARK_GONE), 0);
	h_world_stop(w);
}

END_TEST

START_TEST(test_missing_delete)
{
	struct h_world *w = world(NULL);
	char *id;

	create_all(w, "policy.missing = delete");
	id = user_id(w, "dave");
	ldap_delete(w, "dave");
	expect(w, "reconcile --apply", 0);
	ck_assert_int_eq(last_count(w, "delete"), 1);
	ck_assert_int_eq(h_emu_named(w->emu, "dave"), 0);
	ck_assert_int_eq(h_emu_markers(w->emu, id, MARK_UUID, NULL), 0);
	ck_assert_int_eq(h_emu_users(w->emu), N_ENABLED);
	free(id);
	h_world_stop(w);
}

END_TEST

/* ---- 6. a record the server rejects -------------------------------------- */

/* The actions of the last report that failed; the first one's user. */
static long
failed_actions(const struct h_world *w, char **ret_user)
{
	json_t *rep = report(w, LAST), *a;
	long n = 0;
	size_t i;

	*ret_user = NULL;
	json_array_foreach(json_object_get(rep, "actions"), i, a)
	{
		ck_assert(json_is_boolean(json_object_get(a, "ok")));
		if (json_is_true(json_object_get(a, "ok")))
			continue;
		ck_assert_msg(str_of(a, "error") != NULL &&
				      *str_of(a, "error") != '\0',
			      "a failed action without its error");
		if (*ret_user == NULL)
			*ret_user = strdup(str_of(a, "user"));
		n++;
	}
	json_decref(rep);
	return n;
}

START_TEST(test_rejected_record)
{
	struct h_world *w = world("policy.reconcile_create = yes");
	json_t *rep, *a;
	char *bad = NULL;
	size_t i;

	/* ftrack compares user names without case here: "ALICE" holds the
	 * name, so creating alice is refused (DuplicateEntryError) */
	emu_config(w, "{\"case_insensitive\": true}");
	load_users(w, "[{\"username\": \"ALICE\", \"is_active\": true}]");
	expect(w, "reconcile --apply", 1);
	rep = report(w, LAST);
	assert_result(rep, "errors");
	a = h_report_action(rep, "alice");
	ck_assert_ptr_nonnull(a);
	ck_assert_str_eq(str_of(a, "action"), "create");
	ck_assert(json_is_false(json_object_get(a, "ok")));
	ck_assert_ptr_nonnull(strstr(str_of(a, "error"), "Duplicate"));
	json_decref(rep);
	ck_assert_int_eq(failed_actions(w, &bad), 1);
	ck_assert_str_eq(bad, "alice");
	free(bad);
	/* the others were applied */
	for (i = 1; i < N_ENABLED; i++)
		ck_assert_msg(h_emu_named(w->emu, people[i]) == 1, "'%s'",
			      people[i]);
	ck_assert_int_eq(h_emu_users(w->emu), N_ENABLED + 1);
	ck_assert_int_eq(markers(w, "ALICE", MARK_UUID), 0);
	h_world_stop(w);
}

END_TEST

START_TEST(test_rejected_batch_isolated)
{
	struct h_world *w = world("policy.reconcile_create = yes");
	json_t *rep;
	long reads;
	char spec[512], *bad = NULL;
	size_t i, missing = 0;

	/* how many requests the reading takes */
	expect(w, "reconcile", 4);
	rep = report(w, LAST);
	reads = (long)json_integer_value(
		json_object_get(json_object_get(rep, "ftrack"), "requests"));
	json_decref(rep);
	ck_assert_int_gt(reads, 0);
	/* an apply sends two more before its writes: the lease taken, then
	 * renewed */
	reads += 2;
	/* the batch POST is refused, then, of the groups sent one by one,
	 * the third is refused too */
	h_fx_fmt(spec, sizeof(spec),
		 "[{\"skip\": %ld, \"exception\": \"ValidationError\", "
		 "\"content\": \"refused by the test\"},"
		 "{\"skip\": 2, \"exception\": \"ValidationError\", "
		 "\"content\": \"refused by the test\"}]",
		 reads);
	fault(w, spec);
	expect(w, "reconcile --apply", 1);
	rep = report(w, LAST);
	assert_result(rep, "errors");
	json_decref(rep);
	ck_assert_int_eq(failed_actions(w, &bad), 1);
	ck_assert_ptr_nonnull(bad);
	ck_assert_int_eq(h_emu_named(w->emu, bad), 0);
	for (i = 0; i < N_ENABLED; i++)
		missing += h_emu_named(w->emu, people[i]) != 1;
	ck_assert_uint_eq(missing, 1);
	ck_assert_int_eq(h_emu_stat(w->emu, "faults_pending"), 0);
	/* the next run makes up for it */
	expect(w, "reconcile --apply", 0);
	ck_assert_int_eq(last_count(w, "create"), 1);
	ck_assert_int_eq(h_emu_named(w->emu, bad), 1);
	assert_linked(w, bad);
	free(bad);
	h_world_stop(w);
}

END_TEST

START_TEST(test_ftrack_refuses)
{
	struct h_world *w = world(NULL);
	json_t *before, *rep;

	create_all(w, NULL);
	ldap_delete(w, "dave");
	before = snapshot(w);
	/* ftrack refuses the listing: nothing can be planned */
	fault(w, "{\"exception\": \"InvalidCredentialsError\", "
		 "\"content\": \"refused by the test\"}");
	expect(w, "reconcile --apply", 1);
	rep = report(w, LAST);
	assert_result(rep, "failed");
	json_decref(rep);
	ck_assert(!h_report_exists(w, HELD));
	assert_unchanged(w, before);
	ck_assert(is_active(w, "dave"));
	h_world_stop(w);
}

END_TEST

/*
 * ftrack answers the listing with 250 MiB of [0,0,...] gzipped to about
 * 250 KiB (the issue's answer; the reconcile child reads with the same
 * client as `check`): the run fails on the 8 MiB cap, says so, writes
 * nothing, and the next run applies.
 */
START_TEST(test_ftrack_answer_too_big)
{
	struct h_world *w = world(NULL);
	struct h_cmd_out r;
	json_t *before, *rep;

	create_all(w, NULL);
	ldap_delete(w, "dave");
	before = snapshot(w);
	fault(w, "{\"zeros\": 262144000, \"gzip\": true}");
	expect_run(w, "reconcile --apply", 1, &r);
	ck_assert_msg(strstr(r.err, "answer over the 8 MiB limit, counted "
				    "after decompression") != NULL,
		      "%s", r.err);
	h_cmd_clear(&r);
	rep = report(w, LAST);
	assert_result(rep, "failed");
	json_decref(rep);
	assert_unchanged(w, before);
	ck_assert(is_active(w, "dave"));
	expect(w, "reconcile --apply", 0);
	ck_assert(!is_active(w, "dave"));
	h_world_stop(w);
}

END_TEST

/* ---- 7. killed during the apply, run again ------------------------------- */

#define N_EXTRA 30

static struct h_world *
big_world(const char *extra)
{
	struct h_world *w;
	char *dir, path[4096];

	ck_assert_ptr_nonnull(h_suite_dir());
	dir = h_tmpdir();
	ck_assert_ptr_nonnull(dir);
	h_fx_fmt(path, sizeof(path), "%s/people.ldif", dir);
	ck_assert_int_eq(h_write_ldif(path, "p", N_EXTRA, NULL), FT_OK);
	w = h_world_start(path, 0, extra);
	ck_assert_ptr_nonnull(w);
	h_rmtree(dir);
	free(dir);
	return w;
}

/* Every enabled person is in ftrack once, with one uuid marker. */
static void
assert_converged(const struct h_world *w, unsigned extra)
{
	char name[32];
	unsigned i;

	for (i = 0; i < N_ENABLED; i++) {
		ck_assert_msg(h_emu_named(w->emu, people[i]) == 1, "'%s'",
			      people[i]);
		assert_linked(w, people[i]);
	}
	for (i = 0; i < extra; i++) {
		h_fx_fmt(name, sizeof(name), "p%04u", i);
		ck_assert_msg(h_emu_named(w->emu, name) == 1, "'%s'", name);
		ck_assert_int_eq(markers(w, name, MARK_UUID), 1);
	}
	ck_assert_int_eq(h_emu_users(w->emu), N_ENABLED + extra + 1);
	/* and on the API user: the schema and last_good, no lease left */
	ck_assert_int_eq(h_emu_stat2(w->emu, "entities", "Metadata"),
			 N_ENABLED + extra + 2);
}

START_TEST(test_killed_mid_apply)
{
	struct h_world *w = big_world("policy.reconcile_create = yes\n"
				      "ftrack.batch_size = 1");
	/* 3 creates: the lease, its token, the schema */
	struct stat_min two = {w->emu, "operations", "create", 4 + 3};
	struct h_cmd_bg *bg;
	struct h_cmd_out r;
	long users;

	emu_config(w, "{\"latency_ms\": 300}");
	bg = h_cmd_start(w, "reconcile --apply");
	ck_assert_ptr_nonnull(bg);
	/* two users (and their markers) are in, the next is on its way */
	ck_assert(h_wait_until(stat_min_cond, &two, 30000));
	ck_assert_int_eq(kill(h_cmd_pid(bg), SIGKILL), 0);
	ck_assert_int_eq(h_cmd_finish(bg, 10000, &r), FT_OK);
	ck_assert_int_eq(r.signal, SIGKILL);
	no_sanitizer("a background reconcile", r.err);
	h_cmd_clear(&r);
	users = h_emu_users(w->emu);
	ck_assert_msg(users > 2 && users < N_ENABLED + N_EXTRA + 1,
		      "%ld users after the kill", users);
	/* run again: converged, nobody twice, no marker twice */
	emu_config(w, "{\"latency_ms\": 0}");
	expect(w, "reconcile --apply", 0);
	ck_assert_int_eq(last_count(w, "create"),
			 N_ENABLED + N_EXTRA + 1 - users);
	assert_converged(w, N_EXTRA);
	expect(w, "reconcile", 0);
	h_world_stop(w);
}

END_TEST

/* ---- 8. some requests answered 429 --------------------------------------- */

START_TEST(test_rate_limited)
{
	struct h_world *w = big_world("policy.reconcile_create = yes\n"
				      "ftrack.batch_size = 1");
	json_t *rep;
	long long requests;

	/* one request in 15 (with Retry-After 0 or 1) of the 45 or so: 1
	 * listing, 44 creates */
	fault(w, "[{\"skip\": 14, \"status\": 429, \"retry_after\": 0},"
		 "{\"skip\": 14, \"status\": 429, \"retry_after\": 1},"
		 "{\"skip\": 14, \"status\": 429, \"retry_after\": 0}]");
	expect(w, "reconcile --apply", 0);
	rep = report(w, LAST);
	assert_result(rep, "applied");
	ck_assert_int_eq(h_report_count(rep, "create"), N_ENABLED + N_EXTRA);
	requests = json_integer_value(
		json_object_get(json_object_get(rep, "ftrack"), "requests"));
	json_decref(rep);
	ck_assert_int_eq(h_emu_stat(w->emu, "faults_pending"), 0);
	ck_assert_int_eq(h_emu_stat2(w->emu, "by_status", "429"), 3);
	/* each refused request was sent again (and the lease released
	 * after the report was written) */
	ck_assert_int_eq(requests + 1, h_emu_stat(w->emu, "requests"));
	assert_converged(w, N_EXTRA);
	h_world_stop(w);
}

END_TEST

/* ---- 9. dry run, --json, the lock ---------------------------------------- */

static void
assert_report_shape(const json_t *rep)
{
	static const char *const strings[] = {"mode", "result", "started",
					      "finished"};
	static const char *const objects[] = {"timings", "ldap", "ftrack",
					      "counts"};
	static const char *const kinds[] = {
		"none",       "create",     "update", "link",     "rename",
		"reactivate", "deactivate", "delete", "conflict", "skip"};
	json_t *g;
	size_t i;

	for (i = 0; i < 4; i++) {
		ck_assert_msg(json_is_string(json_object_get(rep, strings[i])),
			      "%s", strings[i]);
		ck_assert_msg(json_is_object(json_object_get(rep, objects[i])),
			      "%s", objects[i]);
	}
	ck_assert(json_is_boolean(json_object_get(rep, "forced")));
	ck_assert(json_is_number(json_object_get(rep, "seconds")));
	ck_assert(json_is_array(json_object_get(rep, "actions")));
	ck_assert(json_is_array(json_object_get(rep, "skipped_entries")));
	ck_assert(json_is_array(json_object_get(rep, "links")));
	ck_assert(json_is_array(json_object_get(rep, "unaccounted")));
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		ck_assert_msg(h_report_count(rep, kinds[i]) >= 0, "%s",
			      kinds[i]);
	ck_assert(json_is_integer(
		json_object_get(json_object_get(rep, "ldap"), "entries")));
	ck_assert(json_is_integer(
		json_object_get(json_object_get(rep, "ftrack"), "users")));
	ck_assert_uint_eq(json_array_size(json_object_get(rep, "guards")), 6);
	json_array_foreach(json_object_get(rep, "guards"), i, g)
	{
		ck_assert(json_is_string(json_object_get(g, "name")));
		ck_assert(json_is_boolean(json_object_get(g, "ok")));
		ck_assert(json_is_boolean(json_object_get(g, "forceable")));
		ck_assert(json_is_string(json_object_get(g, "detail")));
	}
}

START_TEST(test_dry_run_and_json)
{
	struct h_world *w = world(NULL);
	struct h_cmd_out r;
	json_t *before, *printed, *rep, *a;
	json_error_t je;

	create_all(w, NULL);
	expect_run(w, "reconcile", 0, &r);
	ck_assert_ptr_nonnull(strstr(r.out, "in-sync"));
	h_cmd_clear(&r);
	ldap_change(w, "dn: uid=bob,ou=people,dc=example,dc=com\n"
		       "changetype: modify\nreplace: mail\n"
		       "mail: robert@example.com\n");
	before = snapshot(w);
	/* the table */
	expect_run(w, "reconcile", 4, &r);
	ck_assert_ptr_nonnull(strstr(r.out, "update"));
	ck_assert_ptr_nonnull(strstr(r.out, "bob"));
	h_cmd_clear(&r);
	/* the JSON */
	expect_run(w, "reconcile --json", 4, &r);
	printed = json_loads(r.out, 0, &je);
	ck_assert_msg(printed != NULL, "not JSON (%s):\n%s", je.text, r.out);
	h_cmd_clear(&r);
	assert_report_shape(printed);
	ck_assert_str_eq(str_of(printed, "mode"), "dry-run");
	assert_result(printed, "changes");
	ck_assert_int_eq(h_report_count(printed, "update"), 1);
	a = h_report_action(printed, "bob");
	ck_assert_ptr_nonnull(a);
	ck_assert_str_eq(str_of(a, "action"), "update");
	ck_assert(json_is_string(json_object_get(a, "id")));
	ck_assert(json_is_string(json_object_get(a, "dn")));
	ck_assert(json_is_string(json_object_get(a, "reason")));
	rep = report(w, LAST);
	assert_report_shape(rep);
	ck_assert(json_equal(printed, rep));
	json_decref(rep);
	json_decref(printed);
	/* a dry run writes nothing */
	assert_unchanged(w, before);
	/* `status` shows the last run */
	expect_run(w, "status", 0, &r);
	ck_assert_ptr_nonnull(strstr(r.out, "last dry run:"));
	ck_assert_ptr_nonnull(strstr(r.out, "changes"));
	h_cmd_clear(&r);
	/* --force only with --apply */
	expect(w, "reconcile --force", 2);
	h_world_stop(w);
}

END_TEST

/* ---- link_by = email: hosted ftrack's existing accounts ----------------- */

#define MARK_LINKED "ftrack_syncd.linked_by"

/* The entry of the array key of rep whose field is value (borrowed). */
static json_t *
entry_with(const json_t *rep, const char *key, const char *field,
	   const char *value)
{
	json_t *e;
	size_t i;

	json_array_foreach(json_object_get(rep, key), i, e)
	{
		const char *v = str_of(e, field);

		if (v != NULL && strcmp(v, value) == 0)
			return e;
	}
	return NULL;
}

/*
 * The on-demand path: a first login links the mixed-case, e-mail-named
 * account (no second user, no second seat), its username is never
 * changed afterwards (not by a login, not by a reconcile, not once
 * link_by is back to username), and two ftrack users with one address
 * are a conflict: no link, no create, their usernames in the reason.
 * The emulator folds case here, as a server whose `in` ignores case.
 */
START_TEST(test_link_by_email_login)
{
	struct h_world *w = world("ftrack.link_by = email");
	struct h_cmd_out r;
	json_t *u;
	long users;

	emu_config(w, "{\"case_insensitive\": true}");
	load_users(w, "[{\"username\": \"Carol.Archer@Example.com\", "
		      "\"email\": \"Carol.Archer@Example.COM\", "
		      "\"first_name\": \"C\", \"is_active\": true},"
		      "{\"username\": \"dave1\", \"email\": "
		      "\"dave@example.com\", \"is_active\": true},"
		      "{\"username\": \"Dave2\", \"email\": "
		      "\"DAVE@Example.com\", \"is_active\": true}]");
	ldap_change(w, "dn: uid=carol,ou=people,dc=example,dc=com\n"
		       "changetype: modify\nreplace: mail\n"
		       "mail: carol.archer@example.com\n");
	users = h_emu_users(w->emu);
	expect_run(w, "sync carol", 0, &r);
	ck_assert_msg(strstr(r.out, "carol: linked: existing ftrack user "
				    "'Carol.Archer@Example.com' linked by "
				    "e-mail") != NULL,
		      "%s", r.out);
	h_cmd_clear(&r);
	ck_assert_int_eq(h_emu_users(w->emu), users); /* nobody created */
	ck_assert_int_eq(h_emu_named(w->emu, "carol"), 0);
	assert_linked_to(w, "Carol.Archer@Example.com", "carol");
	ck_assert_int_eq(markers(w, "Carol.Archer@Example.com", MARK_LINKED),
			 1);
	u = user(w, "Carol.Archer@Example.com");
	ck_assert_str_eq(str_of(u, "email"), "carol.archer@example.com");
	ck_assert_str_eq(str_of(u, "first_name"), "Carol");
	json_decref(u);
	/* later: the uuid marker finds it, the username stays */
	expect_run(w, "sync carol", 0, &r);
	ck_assert_ptr_nonnull(strstr(r.out, "carol: unchanged: "));
	h_cmd_clear(&r);
	expect(w, "reconcile --apply", 0);
	config(w, "ftrack.link_by = username");
	expect(w, "reconcile --apply", 0);
	expect_run(w, "sync carol", 0, &r);
	ck_assert_ptr_nonnull(strstr(r.out, "carol: unchanged: "));
	h_cmd_clear(&r);
	ck_assert_int_eq(h_emu_named(w->emu, "Carol.Archer@Example.com"), 1);
	ck_assert_int_eq(h_emu_named(w->emu, "carol"), 0);
	/* two ftrack users with dave's address: a conflict */
	config(w, "ftrack.link_by = email");
	expect_run(w, "sync dave", 1, &r);
	ck_assert_msg(strstr(r.out, "dave: failed: 2 ftrack users have the "
				    "e-mail 'dave@example.com' (not linked, "
				    "not created): ") != NULL,
		      "%s", r.out);
	ck_assert_ptr_nonnull(strstr(r.out, "'dave1'"));
	ck_assert_ptr_nonnull(strstr(r.out, "'Dave2'"));
	h_cmd_clear(&r);
	ck_assert_int_eq(h_emu_named(w->emu, "dave"), 0);
	ck_assert_int_eq(markers(w, "dave1", MARK_UUID), 0);
	ck_assert_int_eq(markers(w, "Dave2", MARK_UUID), 0);
	/* link_by = username (the default) is today's rule: a second user */
	config(w, NULL);
	expect(w, "sync dave", 0);
	ck_assert_int_eq(h_emu_named(w->emu, "dave"), 1);
	h_world_stop(w);
}

END_TEST

/*
 * The reconcile, on a server that compares case (the emulator's default):
 * the dry run shows, before anything is written, every link it would make
 * (by username or by e-mail, both names) and every ftrack user no LDAP
 * login accounts for; the apply makes the links and creates nobody twice.
 */
START_TEST(test_link_by_email_dry_run)
{
	struct h_world *w = world("ftrack.link_by = email\n"
				  "policy.reconcile_create = yes");
	struct h_cmd_out r;
	json_t *before, *printed, *e;
	json_error_t je;

	load_users(w,
		   "[{\"username\": \"Alice@Example.com\", \"email\": "
		   "\"ALICE@example.com\", \"is_active\": true},"
		   "{\"username\": \"bob\", \"email\": \"bob@example.com\", "
		   "\"is_active\": true},"
		   "{\"username\": \"e1\", \"email\": \"erin@example.com\", "
		   "\"is_active\": true},"
		   "{\"username\": \"e2\", \"email\": \"Erin@example.com\", "
		   "\"is_active\": false},"
		   "{\"username\": \"stray\", \"email\": \"stray@x.example\", "
		   "\"is_active\": true},"
		   "{\"username\": \"admin\", \"is_active\": true}]");
	before = snapshot(w);
	expect_run(w, "reconcile", 4, &r);
	ck_assert_msg(strstr(r.out, "Links (2): ") != NULL, "%s", r.out);
	ck_assert_ptr_nonnull(strstr(r.out, "  email       alice"));
	ck_assert_ptr_nonnull(strstr(r.out, "Alice@Example.com\n"));
	ck_assert_ptr_nonnull(strstr(r.out, "  username    bob"));
	ck_assert_ptr_nonnull(strstr(r.out, "Unaccounted (1): "));
	ck_assert_ptr_nonnull(strstr(r.out, "  stray "));
	ck_assert_ptr_nonnull(strstr(r.out, "stray@x.example"));
	ck_assert_ptr_null(strstr(r.out, "  admin "));
	ck_assert_ptr_nonnull(strstr(r.out, "2 ftrack users have the e-mail "
					    "'erin@example.com'"));
	h_cmd_clear(&r);
	expect_run(w, "reconcile --json", 4, &r);
	printed = json_loads(r.out, 0, &je);
	ck_assert_msg(printed != NULL, "not JSON (%s):\n%s", je.text, r.out);
	h_cmd_clear(&r);
	assert_report_shape(printed);
	ck_assert_uint_eq(json_array_size(json_object_get(printed, "links")),
			  2);
	e = entry_with(printed, "links", "ldap_user", "alice");
	ck_assert_ptr_nonnull(e);
	ck_assert_str_eq(str_of(e, "by"), "email");
	ck_assert_str_eq(str_of(e, "ftrack_user"), "Alice@Example.com");
	e = entry_with(printed, "links", "ldap_user", "bob");
	ck_assert_ptr_nonnull(e);
	ck_assert_str_eq(str_of(e, "by"), "username");
	ck_assert_uint_eq(
		json_array_size(json_object_get(printed, "unaccounted")), 1);
	e = entry_with(printed, "unaccounted", "username", "stray");
	ck_assert_ptr_nonnull(e);
	ck_assert_str_eq(str_of(e, "email"), "stray@x.example");
	ck_assert(json_is_true(json_object_get(e, "active")));
	ck_assert_str_eq(str_of(h_report_action(printed, "erin"), "action"),
			 "conflict");
	json_decref(printed);
	assert_unchanged(w, before); /* the dry runs wrote nothing */
	expect(w, "reconcile --apply", 0);
	assert_linked_to(w, "Alice@Example.com", "alice");
	ck_assert_int_eq(markers(w, "Alice@Example.com", MARK_LINKED), 1);
	ck_assert_int_eq(markers(w, "bob", MARK_LINKED), 0);
	ck_assert_int_eq(h_emu_named(w->emu, "alice"), 0);
	ck_assert_int_eq(h_emu_named(w->emu, "erin"), 0);
	ck_assert_int_eq(h_emu_named(w->emu, "carol"), 1); /* created */
	ck_assert_int_eq(markers(w, "e1", MARK_UUID), 0);
	ck_assert(is_active(w, "e1"));
	/* converged but for the conflict; the username is the studio's */
	expect_run(w, "reconcile", 0, &r);
	ck_assert_msg(strstr(r.out, "Links (") == NULL, "%s", r.out);
	h_cmd_clear(&r);
	ck_assert_int_eq(h_emu_named(w->emu, "Alice@Example.com"), 1);
	h_world_stop(w);
}

END_TEST

/* out (len bytes) holds nothing the one cleaner hides; else show it. */
static void
assert_shown_clean(const char *what, const char *out)
{
	const char *bad = h_text_hidden(out, strlen(out));

	if (bad != NULL)
		(void)fprintf(stderr, "%s:\n%s\n", what, out);
	ck_assert_msg(bad == NULL, "%s: byte 0x%02x at %ld shown raw", what,
		      bad != NULL ? (unsigned char)*bad : 0,
		      bad != NULL ? (long)(bad - out) : -1L);
}

/* An ftrack username made to retitle the terminal and clear the screen,
 * with a C1 CSI, a bidi override and DEL. */
#define EVIL_JSON "ev\\u001b]0;pwned\\u0007il\\u001b[2J\\u009b31m\\u202e\\u007f"
#define EVIL_RAW                                                               \
	"ev\x1b]0;pwned\x07il\x1b[2J\xc2\x9b"                                  \
	"31m\xe2\x80\xae\x7f"
#define EVIL_SHOWN "ev\\x1b]0;pwned\\x07il\\x1b[2J\\u009b31m\\u202e\\x7f"

/*
 * Issue 12: `reconcile` printed ftrack usernames as they came.  The table,
 * the summary and the log show them escaped; --json and the report files
 * are JSON with every control and non-ASCII character as \uXXXX, and still
 * decode to the same name.
 */
START_TEST(test_username_escaped)
{
	struct h_world *w = world("policy.scope = all");
	struct h_cmd_out r;
	json_t *printed, *rep;
	json_error_t je;
	char path[4096], *text;

	load_users(w,
		   "[{\"username\": \"" EVIL_JSON "\", \"is_active\": true}]");
	expect_run(w, "reconcile", 4, &r);
	assert_shown_clean("reconcile", r.out);
	assert_shown_clean("reconcile (stderr)", r.err);
	ck_assert_msg(strstr(r.out, "deactivate  " EVIL_SHOWN) != NULL,
		      "no escaped name in:\n%s", r.out);
	h_cmd_clear(&r);
	expect_run(w, "reconcile --json", 4, &r);
	assert_shown_clean("reconcile --json", r.out);
	printed = json_loads(r.out, 0, &je);
	ck_assert_msg(printed != NULL, "not JSON (%s):\n%s", je.text, r.out);
	ck_assert_ptr_nonnull(h_report_action(printed, EVIL_RAW));
	json_decref(printed);
	h_cmd_clear(&r);
	h_fx_fmt(path, sizeof(path), "%s/reports/last-dry-run.json", w->state);
	text = h_read_file(path, NULL);
	ck_assert_ptr_nonnull(text);
	assert_shown_clean("last-dry-run.json", text);
	free(text);
	rep = report(w, LAST);
	ck_assert_ptr_nonnull(h_report_action(rep, EVIL_RAW));
	json_decref(rep);
	/* applied: the log line says who, escaped */
	expect_run(w, "reconcile --apply", 0, &r);
	assert_shown_clean("reconcile --apply", r.out);
	assert_shown_clean("reconcile --apply (stderr)", r.err);
	ck_assert_msg(strstr(r.err, "deactivate '" EVIL_SHOWN "'") != NULL,
		      "no escaped name in the log:\n%s", r.err);
	h_cmd_clear(&r);
	ck_assert(!is_active(w, EVIL_RAW));
	h_world_stop(w);
}

END_TEST

START_TEST(test_one_at_a_time)
{
	struct h_world *w = world(NULL);
	struct stat_min connected = {w->emu, NULL, "api_connections", 1};
	struct h_cmd_bg *bg;
	struct h_cmd_out r;
	json_t *rep;

	emu_config(w, "{\"latency_ms\": 1500}");
	bg = h_cmd_start(w, "reconcile");
	ck_assert_ptr_nonnull(bg);
	/* it holds the lock once it talks to ftrack (after LDAP) */
	ck_assert(h_wait_until(stat_min_cond, &connected, 20000));
	expect_run(w, "reconcile --apply", 1, &r);
	ck_assert_ptr_nonnull(strstr(r.err, "another one is running"));
	h_cmd_clear(&r);
	ck_assert_int_eq(h_cmd_finish(bg, 30000, &r), FT_OK);
	no_sanitizer("a background reconcile", r.err);
	ck_assert_int_eq(r.code, 0);
	h_cmd_clear(&r);
	/* the report is the first run's */
	rep = report(w, LAST);
	ck_assert_str_eq(str_of(rep, "mode"), "dry-run");
	json_decref(rep);
	h_world_stop(w);
}

END_TEST

/* ---- 11. one reconciler across hosts, and mixed versions ------------------ */

#define API_USER    "ftrack-sync"
#define MARK_LEASE  "ftrack_syncd.reconcile_lease"
#define MARK_TOKEN  "ftrack_syncd.reconcile_lease."
#define MARK_GOOD   "ftrack_syncd.last_good"
#define MARK_SCHEMA "ftrack_syncd.schema"
#define OLD_NONCE   "0123456789abcdef0123456789abcdef"

/*
 * A second host of w: its own folder (w's DIR/host2, removed with w),
 * config and state folder, the same slapd and emulator.  Free with
 * host2_free.
 */
static void
host2(struct h_world *w, struct h_world *w2, const char *extra)
{
	char dir[PATH_MAX], all[4096];

	h_fx_fmt(dir, sizeof(dir), "%s/host2", w->dir);
	ck_assert_int_eq(mkdir(dir, 0700), 0);
	*w2 = *w;
	w2->dir = strdup(dir);
	ck_assert_ptr_nonnull(w2->dir);
	h_fx_fmt(all, sizeof(all), "%s%s\n", H_WORLD_BASE, extra ? extra : "");
	w2->conf = h_write_config(w2->dir, w->slapd, w->emu, all);
	ck_assert_ptr_nonnull(w2->conf);
	h_fx_fmt(w2->state, sizeof(w2->state), "%s/state", dir);
	w2->nrun = 0;
}

static void
host2_free(struct h_world *w2)
{
	free(w2->dir);
	free(w2->conf);
}

/* The value of the API user's record key (caller frees), or NULL. */
static char *
own(const struct h_world *w, const char *key)
{
	char *v = NULL;

	ck_assert_int_ge(h_emu_user_markers(w->emu, API_USER, key, &v), 0);
	return v;
}

/* POST ops (a JSON array, each "@ID@" the API user's id) to the
 * emulator as a person would by hand; it must succeed. */
static void
api_ops(const struct h_world *w, const char *ops)
{
	char *id = h_emu_user_id(w->emu, API_USER), body[4096];
	size_t used = 0;
	const char *p;
	json_t *res;

	ck_assert_ptr_nonnull(id);
	for (p = ops; *p != '\0';) {
		const char *add = strncmp(p, "@ID@", 4) == 0 ? id : NULL;
		size_t n = add ? strlen(id) : 1;

		ck_assert_uint_lt(used + n, sizeof(body));
		memcpy(body + used, add ? add : p, n);
		used += n;
		p += add ? 4 : 1;
	}
	body[used] = '\0';
	res = h_emu_api(w->emu, body);
	ck_assert_msg(json_is_array(res), "%s", body);
	json_decref(res);
	free(id);
}

#define META_CREATE(key, value)                                                \
	"{\"action\": \"create\", \"entity_type\": \"Metadata\", "             \
	"\"entity_data\": {\"__entity_type__\": \"Metadata\", "                \
	"\"parent_type\": \"User\", \"parent_id\": \"@ID@\", \"key\": \"" key  \
	"\", \"value\": \"" value "\"}}"
#define META_UPDATE(key, value)                                                \
	"{\"action\": \"update\", \"entity_type\": \"Metadata\", "             \
	"\"entity_key\": [\"@ID@\", \"" key "\"], \"entity_data\": "           \
	"{\"__entity_type__\": \"Metadata\", \"value\": \"" value "\"}}"

/* A lease of deadhost, pid 99, until `until`, with its token. */
#define LEASE_OF(until) "deadhost 99 " until " " OLD_NONCE

static void
this_host(char *buf, size_t cap)
{
	ck_assert_int_eq(gethostname(buf, cap), 0);
	buf[cap - 1] = '\0';
}

/* Two hosts start a reconcile at once: exactly one runs, the other says
 * who holds the lease. */
START_TEST(test_two_hosts_at_once)
{
	struct h_world *w = world("policy.reconcile_create = yes");
	struct h_world w2;
	struct h_cmd_bg *a, *b;
	struct h_cmd_out ra, rb;
	const struct h_cmd_out *lost;
	char host[256], pid[64];
	pid_t winner;
	char *v;

	host2(w, &w2, "policy.reconcile_create = yes");
	/* each request takes long enough that the runs overlap */
	emu_config(w, "{\"latency_ms\": 400}");
	a = h_cmd_start(w, "reconcile --apply");
	b = h_cmd_start(&w2, "reconcile --apply");
	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	winner = h_cmd_pid(a);
	ck_assert_int_eq(h_cmd_finish(a, 60000, &ra), FT_OK);
	if (ra.code != 0)
		winner = h_cmd_pid(b);
	ck_assert_int_eq(h_cmd_finish(b, 60000, &rb), FT_OK);
	no_sanitizer("host 1", ra.err);
	no_sanitizer("host 2", rb.err);
	ck_assert_msg((ra.code == 0 && rb.code == 3) ||
			      (ra.code == 3 && rb.code == 0),
		      "exit codes %d and %d\n%s\n%s", ra.code, rb.code, ra.err,
		      rb.err);
	lost = ra.code == 3 ? &ra : &rb;
	this_host(host, sizeof(host));
	h_fx_fmt(pid, sizeof(pid), "(pid %ld)", (long)winner);
	ck_assert_msg(strstr(lost->err, "holds the reconcile lease until") &&
			      strstr(lost->err, host) && strstr(lost->err, pid),
		      "%s", lost->err);
	ck_assert_ptr_nonnull(strstr(lost->out, "holds the reconcile lease"));
	h_cmd_clear(&ra);
	h_cmd_clear(&rb);
	/* one made everybody, once; the lease is released */
	emu_config(w, "{\"latency_ms\": 0}");
	assert_converged(w, 0);
	v = own(w, MARK_LEASE);
	ck_assert_ptr_null(v);
	/* and the other host now runs: nothing to do */
	expect(&w2, "reconcile --apply", 0);
	ck_assert_int_eq(last_count(&w2, "create"), 0);
	host2_free(&w2);
	h_world_stop(w);
}

END_TEST

/* A lease left behind by a host that died: held until it expires (status
 * says by whom), then taken over; the old token goes with it. */
START_TEST(test_lease_left_behind)
{
	struct h_world *w = world(NULL);
	struct h_cmd_out r;
	char *v;

	create_all(w, NULL);
	ldap_delete(w, "dave");
	api_ops(w,
		"[" META_CREATE(MARK_LEASE, LEASE_OF("2099-01-01T00:00:00Z")) ", " META_CREATE(
			MARK_TOKEN OLD_NONCE,
			LEASE_OF("2099-01-01T00:00:00Z")) "]");
	expect_run(w, "reconcile --apply", 3, &r);
	ck_assert_msg(strstr(r.err, "host 'deadhost' (pid 99) holds the "
				    "reconcile lease until "
				    "2099-01-01T00:00:00Z"),
		      "%s", r.err);
	h_cmd_clear(&r);
	ck_assert(is_active(w, "dave"));
	/* a dry run needs no lease */
	expect(w, "reconcile", 4);
	expect_run(w, "status", 0, &r);
	ck_assert_msg(strstr(r.out,
			     "reconcile lease: held by deadhost (pid 99) "
			     "until 2099-01-01T00:00:00Z"),
		      "%s", r.out);
	ck_assert_ptr_nonnull(strstr(r.out, "(in ftrack)"));
	h_cmd_clear(&r);
	/* time passes: the lease expires */
	api_ops(w,
		"[" META_UPDATE(MARK_LEASE, LEASE_OF("2000-01-01T00:00:00Z")) ", " META_UPDATE(
			MARK_TOKEN OLD_NONCE,
			LEASE_OF("2000-01-01T00:00:00Z")) "]");
	expect(w, "reconcile --apply", 0);
	ck_assert(!is_active(w, "dave"));
	v = own(w, MARK_LEASE);
	ck_assert_ptr_null(v);
	v = own(w, MARK_TOKEN OLD_NONCE);
	ck_assert_ptr_null(v);
	expect_run(w, "status", 0, &r);
	ck_assert_ptr_nonnull(strstr(r.out, "reconcile lease: free"));
	h_cmd_clear(&r);
	h_world_stop(w);
}

END_TEST

/* A lease without its token (edited by hand) is never taken over. */
START_TEST(test_lease_stuck)
{
	struct h_world *w = world(NULL);
	struct h_cmd_out r;
	json_t *before;

	api_ops(w, "[" META_CREATE(MARK_LEASE,
				   LEASE_OF("2000-01-01T00:00:00Z")) "]");
	before = snapshot(w);
	expect_run(w, "reconcile --apply", 3, &r);
	ck_assert_msg(strstr(r.err, "without its token") &&
			      strstr(r.err, "delete the Metadata "
					    "ftrack_syncd.reconcile_lease*"),
		      "%s", r.err);
	ck_assert_ptr_nonnull(strstr(r.out, "without its token"));
	h_cmd_clear(&r);
	assert_unchanged(w, before);
	h_world_stop(w);
}

END_TEST

/* max_shrink's mark is ftrack's: moving the job to another host keeps it. */
START_TEST(test_max_shrink_moves)
{
	static const char *const leavers[] = {"alice", "bob",   "carol", "dave",
					      "erin",  "frank", "joerg", "zoe"};
	struct h_world *w = world(NULL);
	struct h_world w2;
	struct h_cmd_out r;
	char host[256], *good;
	size_t i;

	create_all(w, "policy.max_shrink = 20%");
	good = own(w, MARK_GOOD);
	ck_assert_ptr_nonnull(good);
	this_host(host, sizeof(host));
	ck_assert_msg(strstr(good, host) != NULL, "%s", good);
	free(good);
	/* the job moves to host 2, which has never run */
	host2(w, &w2, "policy.max_shrink = 20%");
	for (i = 0; i < sizeof(leavers) / sizeof(leavers[0]); i++)
		ldap_delete(w, leavers[i]);
	expect(&w2, "reconcile --apply", 3);
	assert_held_by(&w2, "max_shrink", true);
	expect_run(&w2, "status", 0, &r);
	ck_assert_msg(strstr(r.out, "last good run:   ") &&
			      strstr(r.out, "(in ftrack)"),
		      "%s", r.out);
	h_cmd_clear(&r);
	host2_free(&w2);
	h_world_stop(w);
}

END_TEST

/* Only an applied run is a good run: a dry run moves no mark. */
START_TEST(test_dry_run_not_good)
{
	struct h_world *w = world(NULL);
	char *before, *after, path[4096], *local0, *local1;

	create_all(w, NULL);
	before = own(w, MARK_GOOD);
	ck_assert_ptr_nonnull(before);
	h_fx_fmt(path, sizeof(path), "%s/last-good.json", w->state);
	local0 = h_read_file(path, NULL);
	ck_assert_ptr_nonnull(local0);
	ldap_delete(w, "dave");
	sleep(1); /* a mark written now would differ in its time */
	expect(w, "reconcile", 4);
	after = own(w, MARK_GOOD);
	local1 = h_read_file(path, NULL);
	ck_assert_str_eq(before, after);
	ck_assert_str_eq(local0, local1);
	free(after);
	free(local1);
	/* the applied run moves it */
	expect(w, "reconcile --apply", 0);
	after = own(w, MARK_GOOD);
	ck_assert_str_ne(before, after);
	free(after);
	free(before);
	free(local0);
	h_world_stop(w);
}

END_TEST

/* A marker schema newer than this binary's: no reconcile, exit 2. */
START_TEST(test_newer_schema_refused)
{
	struct h_world *w = world(NULL);
	struct h_cmd_out r;
	json_t *before;
	char *v;

	create_all(w, NULL);
	v = own(w, MARK_SCHEMA);
	ck_assert_ptr_nonnull(v);
	ck_assert_str_eq(v, "1");
	free(v);
	ldap_delete(w, "dave");
	api_ops(w, "[" META_UPDATE(MARK_SCHEMA, "2") "]");
	before = snapshot(w);
	expect_run(w, "reconcile --apply", 2, &r);
	ck_assert_msg(
		strstr(r.err, "marker schema 2, newer than this "
			      "version's 1") &&
			strstr(r.err, "upgrade the reconciling host last"),
		"%s", r.err);
	h_cmd_clear(&r);
	expect(w, "reconcile", 2);
	assert_unchanged(w, before);
	ck_assert(is_active(w, "dave"));
	h_world_stop(w);
}

END_TEST

/*
 * A run killed on host 1 (kill -9 mid-apply) leaves its lease: host 2 is
 * refused until it expires, then takes it over and converges.
 */
START_TEST(test_killed_other_host)
{
	struct h_world *w = big_world("policy.reconcile_create = yes\n"
				      "ftrack.batch_size = 1");
	struct stat_min some = {w->emu, "operations", "create", 4 + 3};
	struct h_world w2;
	struct h_cmd_bg *bg;
	struct h_cmd_out r;
	char pid[64], *v, *sp, expired[512], body[2048];
	size_t k;

	host2(w, &w2, "policy.reconcile_create = yes\nftrack.batch_size = 1");
	emu_config(w, "{\"latency_ms\": 300}");
	bg = h_cmd_start(w, "reconcile --apply");
	ck_assert_ptr_nonnull(bg);
	ck_assert(h_wait_until(stat_min_cond, &some, 30000));
	h_fx_fmt(pid, sizeof(pid), "(pid %ld)", (long)h_cmd_pid(bg));
	ck_assert_int_eq(kill(h_cmd_pid(bg), SIGKILL), 0);
	ck_assert_int_eq(h_cmd_finish(bg, 10000, &r), FT_OK);
	ck_assert_int_eq(r.signal, SIGKILL);
	h_cmd_clear(&r);
	emu_config(w, "{\"latency_ms\": 0}");
	expect_run(&w2, "reconcile --apply", 3, &r);
	ck_assert_msg(strstr(r.err, pid) != NULL, "%s", r.err);
	h_cmd_clear(&r);
	/* an hour passes: the lease (and its token, same value) expire */
	v = own(w, MARK_LEASE);
	ck_assert_ptr_nonnull(v);
	sp = strchr(v, ' ');
	ck_assert_ptr_nonnull(sp);
	sp = strchr(sp + 1, ' ');
	ck_assert_ptr_nonnull(sp);
	k = (size_t)(sp - v);
	h_fx_fmt(expired, sizeof(expired), "%.*s 2000-01-01T00:00:00Z %s",
		 (int)k, v, strrchr(v, ' ') + 1);
	h_fx_fmt(body, sizeof(body),
		 "[" META_UPDATE(MARK_LEASE, "%s") ", " META_UPDATE(
			 MARK_TOKEN "%s", "%s") "]",
		 expired, strrchr(v, ' ') + 1, expired);
	api_ops(w, body);
	free(v);
	expect(&w2, "reconcile --apply", 0);
	assert_converged(w, N_EXTRA);
	v = own(w, MARK_LEASE);
	ck_assert_ptr_null(v);
	host2_free(&w2);
	h_world_stop(w);
}

END_TEST

/* status when ftrack cannot be reached: it says so, shows the cache. */
START_TEST(test_status_ftrack_down)
{
	struct h_world *w = world(NULL);
	struct h_cmd_out r;
	char host[256];

	create_all(w, "ftrack.server = http://127.0.0.1:1");
	this_host(host, sizeof(host));
	expect_run(w, "status", 0, &r);
	ck_assert_msg(strstr(r.out, "reconcile lease: unknown: unable to read "
				    "ftrack") &&
			      strstr(r.out, "last good run:   ") &&
			      strstr(r.out, host) &&
			      strstr(r.out, "(this host's cache, "
					    "last-good.json)"),
		      "%s", r.out);
	h_cmd_clear(&r);
	h_world_stop(w);
}

END_TEST

/* ---- 10. the daemon --------------------------------------------------------- */

static long long
metric(const struct h_world *w, const char *name)
{
	char path[4096], *text, *p;
	unsigned long long v = 0;
	long long ret = -1;

	h_fx_fmt(path, sizeof(path), "%s/metrics.prom", w->state);
	text = h_read_file(path, NULL);
	for (p = text; p != NULL && *p != '\0'; p = strchr(p, '\n')) {
		size_t n = strlen(name);

		p += *p == '\n';
		if (strncmp(p, name, n) == 0 && p[n] == ' ') {
			char num[32];
			size_t k = strcspn(p + n + 1, " \n");

			if (k > 0 && k < sizeof(num)) {
				memcpy(num, p + n + 1, k);
				num[k] = '\0';
				if (ft_parse_uint(num, (unsigned long long)-1,
						  &v) == FT_OK)
					ret = (long long)v;
			}
			break;
		}
	}
	free(text);
	return ret;
}

/* Wait for cond; on a timeout show the daemon's log and fail. */
static void
wait_or_show(bool (*cond)(void *), void *arg, unsigned ms, const char *log)
{
	char *text;

	if (h_wait_until(cond, arg, ms))
		return;
	text = h_read_file(log, NULL);
	(void)fprintf(stderr, "daemon log:\n%s\n", text ? text : "(none)");
	free(text);
	ck_abort_msg("timed out after %u ms", ms);
}

static bool
reconciled_cond(void *arg)
{
	return metric(arg, APPLY_TS) > 0;
}

static struct h_proc *
daemon_start(const struct h_world *w, char *log, size_t cap)
{
	struct file_has ready = {log, "listening on", 1};
	struct h_proc *d;

	h_fx_fmt(log, cap, "%s/daemon.log", w->dir);
	d = h_daemon_start(w->conf, log);
	ck_assert_ptr_nonnull(d);
	wait_or_show(file_has_cond, &ready, 15000, log);
	return d;
}

static void
daemon_stop(struct h_proc *d, const char *log)
{
	char *text;
	int st = -1;

	ck_assert_int_eq(h_proc_signal(d, SIGTERM), FT_OK);
	ck_assert_int_eq(h_proc_wait(d, 15000, &st), FT_OK);
	/* a reconcile child left to finish on its own goes too */
	(void)kill(-h_proc_pid(d), SIGKILL);
	h_proc_stop(d);
	text = h_read_file(log, NULL);
	no_sanitizer("the daemon's log", text);
	free(text);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %d", st);
}

START_TEST(test_daemon_sigusr1)
{
	struct h_world *w = world("policy.reconcile_create = yes");
	char log[4096];
	struct file_has started = {log, "reconcile started (SIGUSR1)", 1};
	struct file_has refused = {log, "not started: one is running", 1};
	long long t0 = (long long)time(NULL), ts;
	struct h_proc *d;
	json_t *rep;

	emu_config(w, "{\"latency_ms\": 300}");
	d = daemon_start(w, log, sizeof(log));
	ck_assert(!h_report_exists(w, LAST));
	ck_assert_int_eq(h_proc_signal(d, SIGUSR1), FT_OK);
	wait_or_show(file_has_cond, &started, 15000, log);
	/* a second request while it runs is refused, not queued */
	ck_assert_int_eq(h_proc_signal(d, SIGUSR1), FT_OK);
	wait_or_show(file_has_cond, &refused, 15000, log);
	/* the metrics file is written when the reconcile has ended */
	wait_or_show(reconciled_cond, w, 60000, log);
	ck_assert_int_eq(file_count(log, "reconcile started"), 1);
	rep = report(w, LAST);
	assert_result(rep, "applied");
	ck_assert_int_eq(h_report_count(rep, "create"), N_ENABLED);
	json_decref(rep);
	ck_assert_int_eq(h_emu_users(w->emu), N_ENABLED + 1);
	ts = metric(w, APPLY_TS);
	ck_assert_msg(ts >= t0 && ts <= (long long)time(NULL) + 1,
		      "last reconcile at %lld (test started at %lld)", ts, t0);
	daemon_stop(d, log);
	h_world_stop(w);
}

END_TEST

START_TEST(test_daemon_interval)
{
	struct h_world *w = world(NULL);
	char log[4096];
	struct file_has started = {log,
				   "reconcile started "
				   "(reconcile_interval)",
				   2};
	long long t0 = (long long)time(NULL), ts;
	struct h_proc *d;
	json_t *rep;

	config(w, "policy.reconcile_create = yes\n"
		  "policy.reconcile_interval = 1");
	d = daemon_start(w, log, sizeof(log));
	/* no signal: the schedule starts it, and again a second later */
	wait_or_show(file_has_cond, &started, 20000, log);
	daemon_stop(d, log);
	rep = report(w, LAST);
	assert_result(rep, "applied");
	json_decref(rep);
	ck_assert_int_eq(h_emu_users(w->emu), N_ENABLED + 1);
	ts = metric(w, APPLY_TS);
	ck_assert_msg(ts >= t0, "last reconcile at %lld (test started %lld)",
		      ts, t0);
	h_world_stop(w);
}

END_TEST

/* ---- 11. the last apply and the last dry run apart; --undo ---------------- */

static bool
apply_held_cond(void *arg)
{
	return metric(arg, "ftrack_syncd_last_reconcile_result"
			   "{run=\"apply\",result=\"held\"}") == 1 &&
	       metric(arg, "ftrack_syncd_last_reconcile_result"
			   "{run=\"dry_run\",result=\"ok\"}") == 1;
}

/*
 * A held apply, then the hourly dry run that finds the run would pass:
 * the dry run writes its own report, and `status` and the metrics still
 * show the held apply beside it.
 */
START_TEST(test_dry_run_keeps_held_apply)
{
	struct h_world *w = world(NULL);
	struct h_cmd_out r;
	char log[4096];
	struct h_proc *d;
	json_t *rep;

	create_all(w, "policy.max_deactivate = 1");
	ldap_delete(w, "dave");
	ldap_delete(w, "erin");
	expect(w, "reconcile --apply", 3);
	assert_held_by(w, "max_deactivate", true);
	config(w, "policy.max_deactivate = 5");
	expect(w, "reconcile", 4);
	rep = report(w, "last-apply.json");
	assert_result(rep, "held");
	ck_assert_str_eq(str_of(rep, "mode"), "apply");
	ck_assert_ptr_nonnull(str_of(rep, "run"));
	json_decref(rep);
	rep = report(w, "last-dry-run.json");
	assert_result(rep, "changes");
	ck_assert_int_eq(h_report_count(rep, "deactivate"), 2);
	json_decref(rep);
	ck_assert(!h_report_exists(w, "last-reconcile.json"));
	expect_run(w, "status", 0, &r);
	ck_assert_msg(strstr(r.out, "last apply:") &&
			      strstr(r.out, ", held: ") &&
			      strstr(r.out, "last-apply.json)"),
		      "status:\n%s", r.out);
	ck_assert_msg(strstr(r.out, "last dry run:") &&
			      strstr(r.out, ", changes: ") &&
			      strstr(r.out, "last-dry-run.json)"),
		      "status:\n%s", r.out);
	h_cmd_clear(&r);
	/* the daemon's metrics: the apply held, the dry run fine */
	d = daemon_start(w, log, sizeof(log));
	wait_or_show(apply_held_cond, w, 30000, log);
	ck_assert_int_eq(metric(w, "ftrack_syncd_last_reconcile_changes"
				   "{run=\"dry_run\",action=\"deactivate\"}"),
			 2);
	ck_assert_int_eq(metric(w, "ftrack_syncd_last_reconcile_changes"
				   "{run=\"apply\",action=\"deactivate\"}"),
			 0);
	ck_assert_int_gt(metric(w, APPLY_TS), 0);
	daemon_stop(d, log);
	ck_assert(is_active(w, "dave"));
	h_world_stop(w);
}

END_TEST

/* The RUN id the last apply's report names (the caller frees). */
static char *
last_run_id(const struct h_world *w)
{
	json_t *rep = report(w, "last-apply.json");
	const char *id = str_of(rep, "run");
	char *copy;

	ck_assert_ptr_nonnull(id);
	copy = strdup(id);
	json_decref(rep);
	ck_assert_ptr_nonnull(copy);
	return copy;
}

static char *
email_of(const struct h_world *w, const char *name)
{
	json_t *u = user(w, name);
	char *e = strdup(str_of(u, "email") ? str_of(u, "email") : "");

	json_decref(u);
	ck_assert_ptr_nonnull(e);
	return e;
}

static void
set_email(const struct h_world *w, const char *name, const char *email)
{
	char *id = user_id(w, name), ops[512];
	json_t *res;

	h_fx_fmt(ops, sizeof(ops),
		 "[{\"action\": \"update\", \"entity_type\": \"User\", "
		 "\"entity_key\": [\"%s\"], \"entity_data\": "
		 "{\"__entity_type__\": \"User\", \"email\": \"%s\"}}]",
		 id, email);
	res = h_emu_api(w->emu, ops);
	ck_assert(json_is_array(res));
	json_decref(res);
	free(id);
}

/* The line of out that names both a and b, or NULL. */
static bool
line_has(const char *out, const char *a, const char *b)
{
	const char *p = out;

	while (p != NULL && *p != '\0') {
		const char *end = strchr(p, '\n');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		char line[1024];

		if (len < sizeof(line)) {
			memcpy(line, p, len);
			line[len] = '\0';
			if (strstr(line, a) && strstr(line, b))
				return true;
		}
		p = end ? end + 1 : NULL;
	}
	return false;
}

/*
 * An applied run deactivates dave, renames carol to caroline and changes
 * bob's and erin's mail; an administrator then sets erin's mail by hand.
 * `--undo RUN` plans putting all of it back but erin's mail (exit 4,
 * nothing written), `--undo RUN --apply` does it, as an applied run with
 * a RUN of its own; unknown runs and --force are usage errors.
 */
START_TEST(test_undo)
{
	struct h_world *w = world(NULL);
	char *bob_mail, *erin_mail, *carol_id, *run, *run2, args[256];
	json_t *before, *printed, *rep;
	json_error_t je;
	struct h_cmd_out r;

	create_all(w, NULL);
	bob_mail = email_of(w, "bob");
	erin_mail = email_of(w, "erin");
	carol_id = user_id(w, "carol");
	ldap_delete(w, "dave");
	ldap_change(w, "dn: uid=bob,ou=people,dc=example,dc=com\n"
		       "changetype: modify\nreplace: mail\n"
		       "mail: robert@example.com\n");
	ldap_change(w, "dn: uid=erin,ou=people,dc=example,dc=com\n"
		       "changetype: modify\nreplace: mail\n"
		       "mail: erin.new@example.com\n");
	ldap_change(w, "dn: uid=carol,ou=people,dc=example,dc=com\n"
		       "changetype: modrdn\nnewrdn: uid=caroline\n"
		       "deleteoldrdn: 1\n");
	expect_run(w, "reconcile --apply", 0, &r);
	run = last_run_id(w);
	ck_assert_msg(strstr(r.out, run) && strstr(r.out, "--undo"),
		      "the run's id is not shown:\n%s", r.out);
	h_cmd_clear(&r);
	h_fx_fmt(args, sizeof(args), "runs/%s.json", run);
	ck_assert(h_report_exists(w, args));
	ck_assert(!is_active(w, "dave"));
	ck_assert_int_eq(h_emu_named(w->emu, "caroline"), 1);
	/* by hand, after that run */
	set_email(w, "erin", "erin.by.hand@example.com");

	/* the undo's dry run: the plan, nothing written */
	before = snapshot(w);
	h_fx_fmt(args, sizeof(args), "reconcile --undo %s", run);
	expect_run(w, args, 4, &r);
	ck_assert_msg(line_has(r.out, "reactivate", "dave") &&
			      line_has(r.out, "rename", "carol") &&
			      line_has(r.out, "update", "bob") &&
			      line_has(r.out, "erin", "changed since that run"),
		      "the undo plan:\n%s", r.out);
	h_cmd_clear(&r);
	h_fx_fmt(args, sizeof(args), "reconcile --undo %s --json", run);
	expect_run(w, args, 4, &r);
	printed = json_loads(r.out, 0, &je);
	ck_assert_msg(printed != NULL, "not JSON (%s):\n%s", je.text, r.out);
	h_cmd_clear(&r);
	ck_assert_str_eq(str_of(printed, "undo_of"), run);
	ck_assert_str_eq(str_of(printed, "mode"), "dry-run");
	ck_assert_int_eq(h_report_count(printed, "reactivate"), 1);
	ck_assert_int_eq(h_report_count(printed, "rename"), 1);
	ck_assert_int_eq(h_report_count(printed, "update"), 1);
	json_decref(printed);
	assert_unchanged(w, before);

	/* applied: everyone back as they were, erin's mail as set by hand */
	h_fx_fmt(args, sizeof(args), "reconcile --undo %s --apply", run);
	expect_run(w, args, 0, &r);
	h_cmd_clear(&r);
	ck_assert(is_active(w, "dave"));
	ck_assert_int_eq(markers(w, "dave", MARK_GONE), 0);
	ck_assert_int_eq(h_emu_named(w->emu, "caroline"), 0);
	{
		char *id = user_id(w, "carol");

		ck_assert_str_eq(id, carol_id);
		free(id);
	}
	{
		char *m = email_of(w, "bob");

		ck_assert_str_eq(m, bob_mail);
		free(m);
		m = email_of(w, "erin");
		ck_assert_str_eq(m, "erin.by.hand@example.com");
		ck_assert_str_ne(m, erin_mail);
		free(m);
	}
	/* the undo is an applied run with its own RUN, itself undoable */
	rep = report(w, "last-apply.json");
	assert_result(rep, "applied");
	ck_assert_str_eq(str_of(rep, "undo_of"), run);
	json_decref(rep);
	run2 = last_run_id(w);
	ck_assert_str_ne(run2, run);
	h_fx_fmt(args, sizeof(args), "runs/%s.json", run2);
	ck_assert(h_report_exists(w, args));
	/* done once: a second undo finds nothing left to put back */
	h_fx_fmt(args, sizeof(args), "reconcile --undo %s", run);
	expect(w, args, 0);
	/* and the undo undone: the first run's changes are back */
	h_fx_fmt(args, sizeof(args), "reconcile --undo %s --apply", run2);
	expect(w, args, 0);
	ck_assert(!is_active(w, "dave"));
	ck_assert_int_eq(markers(w, "dave", MARK_GONE), 1);
	ck_assert_int_eq(h_emu_named(w->emu, "caroline"), 1);
	{
		char *m = email_of(w, "bob");

		ck_assert_str_eq(m, "robert@example.com");
		free(m);
	}
	/* unknown runs, ids that are not ids, --force */
	expect_run(w, "reconcile --undo 20990101T000000Z", 2, &r);
	ck_assert_msg(strstr(r.err, "no report of run 20990101T000000Z"),
		      "stderr:\n%s", r.err);
	h_cmd_clear(&r);
	expect(w, "reconcile --undo ../last-apply", 2);
	{
		char path[4096];

		h_fx_fmt(path, sizeof(path),
			 "%s/reports/runs/20200101T000000Z.json", w->state);
		ck_assert_int_eq(h_write_file(path, "{\"mode\": ", 0600),
				 FT_OK);
	}
	expect_run(w, "reconcile --undo 20200101T000000Z", 2, &r);
	ck_assert_msg(strstr(r.err, "the report of run 20200101T000000Z "
				    "cannot be read") &&
			      strstr(r.err, "not JSON"),
		      "stderr:\n%s", r.err);
	h_cmd_clear(&r);
	/* the option is in --help */
	expect_run(w, "--help", 0, &r);
	ck_assert_ptr_nonnull(strstr(r.out, "reconcile --undo RUN"));
	h_cmd_clear(&r);
	h_fx_fmt(args, sizeof(args), "reconcile --undo %s --apply --force",
		 run);
	expect(w, args, 2);
	free(run);
	free(run2);
	free(bob_mail);
	free(erin_mail);
	free(carol_id);
	h_world_stop(w);
}

END_TEST

Suite *
cmd_reconcile_suite(void)
{
	Suite *s = suite_create("cmd_reconcile");
	TCase *tc = tcase_create("cmd_reconcile");

	tcase_add_unchecked_fixture(tc, h_suite_setup, h_suite_teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_first_run_links);
	tcase_add_test(tc, test_link_by_email_login);
	tcase_add_test(tc, test_link_by_email_dry_run);
	tcase_add_test(tc, test_create_all);
	tcase_add_test(tc, test_mail_update);
	tcase_add_test(tc, test_leaver_returns);
	tcase_add_test(tc, test_leaver_recreated);
	tcase_add_test(tc, test_disabled_and_back);
	tcase_add_test(tc, test_admin_deactivated_stays);
	tcase_add_test(tc, test_seat_waiting);
	tcase_add_test(tc, test_skipped_entry_kept);
	tcase_add_test(tc, test_rename);
	tcase_add_test(tc, test_guard_ldap_down);
	tcase_add_test(tc, test_guard_ldap_dies_mid_read);
	tcase_add_test(tc, test_guard_size_limit);
	tcase_add_test(tc, test_guard_empty);
	tcase_add_test(tc, test_guard_min_users);
	tcase_add_test(tc, test_guard_max_shrink);
	tcase_add_test(tc, test_guard_sentinel);
	tcase_add_test(tc, test_guard_max_deactivate_force);
	tcase_add_test(tc, test_scope_all_protects);
	tcase_add_test(tc, test_missing_delete);
	tcase_add_test(tc, test_rejected_record);
	tcase_add_test(tc, test_rejected_batch_isolated);
	tcase_add_test(tc, test_ftrack_refuses);
	tcase_add_test(tc, test_ftrack_answer_too_big);
	tcase_add_test(tc, test_killed_mid_apply);
	tcase_add_test(tc, test_rate_limited);
	tcase_add_test(tc, test_dry_run_and_json);
	tcase_add_test(tc, test_username_escaped);
	tcase_add_test(tc, test_one_at_a_time);
	tcase_add_test(tc, test_two_hosts_at_once);
	tcase_add_test(tc, test_lease_left_behind);
	tcase_add_test(tc, test_lease_stuck);
	tcase_add_test(tc, test_max_shrink_moves);
	tcase_add_test(tc, test_dry_run_not_good);
	tcase_add_test(tc, test_newer_schema_refused);
	tcase_add_test(tc, test_killed_other_host);
	tcase_add_test(tc, test_status_ftrack_down);
	tcase_add_test(tc, test_daemon_sigusr1);
	tcase_add_test(tc, test_daemon_interval);
	tcase_add_test(tc, test_dry_run_keeps_held_apply);
	tcase_add_test(tc, test_undo);
	suite_add_tcase(s, tc);
	return s;
}
