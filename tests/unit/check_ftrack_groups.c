/* SPDX-License-Identifier: Apache-2.0 */
/*
 * check_ftrack_groups.c: ftrack_groups.c and the membership and role
 * adders of ftrack_batch.c, against the emulator: names to ids (paths,
 * repeated names, ids, roles of type API), memberships and grants
 * written and read back.
 */
#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ft_err.h"
#include "ftrack_api.h"
#include "ftrack_groups.h"
#include "h_ftrack.h"
#include "harness.h"

Suite *ftrack_groups_suite(void);

#define G_LONDON "6b1f7f5e-0000-4000-8000-000000000001"
#define G_LIGHT  "6b1f7f5e-0000-4000-8000-000000000002"
#define G_LIGHT2 "6b1f7f5e-0000-4000-8000-000000000003"
#define G_COMP   "6b1f7f5e-0000-4000-8000-000000000004"
#define G_LOCAL  "6b1f7f5e-0000-4000-8000-000000000005"

static void
group(const char *id, const char *name, const char *parent, bool local)
{
	char ops[1024];
	json_t *res;

	(void)snprintf(ops, sizeof(ops),
		       "[{\"action\": \"create\", \"entity_type\": \"Group\", "
		       "\"entity_key\": [\"%s\"], \"entity_data\": "
		       "{\"__entity_type__\": \"Group\", \"id\": \"%s\", "
		       "\"name\": \"%s\", \"local\": %s%s%s%s}}]",
		       id, id, name, local ? "true" : "false",
		       parent != NULL ? ", \"parent_id\": \"" : "",
		       parent != NULL ? parent : "",
		       parent != NULL ? "\"" : "");
	res = h_emu_api(h_ft_emu, ops);
	ck_assert_msg(json_is_array(res), "group %s not made", name);
	json_decref(res);
}

static void
groups(void)
{
	group(G_LONDON, "London", NULL, false);
	group(G_LIGHT, "Lighting", G_LONDON, false);
	group(G_LIGHT2, "Lighting", NULL, false);
	group(G_COMP, "Compositing", NULL, false);
	group(G_LOCAL, "Project team", NULL, true);
}

static void
resolves(const struct ftrack_names *n, const char *key, const char *want,
	 int why)
{
	int got = FT_E_INTERNAL;
	const char *id = ftrack_group_resolve(n, key, &got);

	ck_assert_msg(got == why, "%s: %d, not %d", key, got, why);
	if (want == NULL)
		ck_assert_ptr_null(id);
	else
		ck_assert_str_eq(id, want);
}

START_TEST(test_names_resolve)
{
	struct ftrack_names n;
	char err[256] = "";
	int why = FT_E_INTERNAL;

	h_ft_start(NULL);
	groups();
	ftrack_names_init(&n);
	ck_assert_msg(ftrack_names_read(h_ft_cl, &n, err, sizeof(err)) == FT_OK,
		      "%s", err);
	ck_assert_uint_eq(n.groups.n, 4); /* not the project's local group */
	ck_assert_uint_eq(n.roles.n, 6);
	resolves(&n, "Compositing", G_COMP, FT_OK);
	resolves(&n, "Lighting", NULL, FT_E_CONFLICT);
	resolves(&n, "London/Lighting", G_LIGHT, FT_OK);
	resolves(&n, G_LIGHT2, G_LIGHT2, FT_OK);
	resolves(&n, "Paris/Lighting", NULL, FT_E_NOTFOUND);
	resolves(&n, "Project team", NULL, FT_E_NOTFOUND);
	resolves(&n, "London/", NULL, FT_E_NOTFOUND);
	ck_assert_ptr_nonnull(ftrack_role_resolve(&n, "Supervisor", &why));
	ck_assert_int_eq(why, FT_OK);
	ck_assert_ptr_null(ftrack_role_resolve(&n, "API", &why));
	ck_assert_int_eq(why, FT_E_PERM);
	ck_assert_ptr_null(ftrack_role_resolve(&n, "supervisor", &why));
	ck_assert_int_eq(why, FT_E_NOTFOUND);
	ftrack_names_clear(&n);
	h_ft_stop();
}

END_TEST

static void
commit(struct ftrack_batch *b, int want)
{
	char err[256] = "";

	ck_assert_msg(ftrack_batch_commit(h_ft_cl, b, err, sizeof(err)) == want,
		      "%s", err);
	ftrack_batch_free(b);
}

START_TEST(test_memberships_and_roles)
{
	const char *gids[] = {G_COMP, G_LIGHT};
	struct ftrack_rows m = {0}, usr = {0}, usrp = {0};
	struct ftrack_names n;
	struct ftrack_batch *b = NULL;
	char err[256] = "", mid[37], want[37];
	const char *sup;
	char *uid;
	int why;

	h_ft_start(NULL);
	groups();
	uid = h_ft_create("ann", "uuid-ann");
	ftrack_names_init(&n);
	ck_assert_int_eq(ftrack_names_read(h_ft_cl, &n, err, sizeof(err)),
			 FT_OK);
	sup = ftrack_role_resolve(&n, "Supervisor", &why);
	ck_assert_ptr_nonnull(sup);
	/* one person's group of operations: membership, role, grant */
	ck_assert_int_eq(ftrack_batch_new(&b), FT_OK);
	ck_assert_int_eq(ftrack_batch_add_membership(b, uid, G_COMP, mid, NULL),
			 FT_OK);
	ck_assert_int_eq(ftrack_batch_role(b, FTRACK_ROLE_ADD, uid, sup, NULL),
			 FT_OK);
	ck_assert_int_eq(ftrack_batch_role(b, FTRACK_ROLE_GRANT_ALL_OPEN, uid,
					   sup, NULL),
			 FT_OK);
	commit(b, FT_OK);
	ck_assert_int_eq(ftrack_membership_id(uid, G_COMP, want), FT_OK);
	ck_assert_str_eq(mid, want);
	ck_assert_int_eq(
		ftrack_memberships_read(h_ft_cl, gids, 2, &m, err, sizeof(err)),
		FT_OK);
	ck_assert_uint_eq(m.n, 1);
	ck_assert_str_eq(ftrack_rows_get(&m, 0, FM_ID), mid);
	ck_assert_str_eq(ftrack_rows_get(&m, 0, FM_USER), uid);
	ck_assert_str_eq(ftrack_rows_get(&m, 0, FM_GROUP), G_COMP);
	ck_assert_int_eq(ftrack_user_roles_read(h_ft_cl,
						(const char *const *)&uid, 1,
						&usr, &usrp, err, sizeof(err)),
			 FT_OK);
	ck_assert_uint_eq(usr.n, 1);
	ck_assert_str_eq(ftrack_rows_get(&usr, 0, FU_ROLE), sup);
	ck_assert_str_eq(ftrack_rows_get(&usr, 0, FU_ALL_OPEN), "true");
	ck_assert_uint_eq(usrp.n, 0);
	/* the same membership again: its id is taken, never a second one */
	ck_assert_int_eq(ftrack_batch_new(&b), FT_OK);
	ck_assert_int_eq(
		ftrack_batch_add_membership(b, uid, G_COMP, NULL, NULL), FT_OK);
	commit(b, FT_E_DATA);
	/* taken back: the membership by id, the grant, the role */
	ck_assert_int_eq(ftrack_batch_new(&b), FT_OK);
	ck_assert_int_eq(ftrack_batch_delete_membership(b, uid, mid, NULL),
			 FT_OK);
	ck_assert_int_eq(ftrack_batch_role(b, FTRACK_ROLE_REVOKE_ALL_OPEN, uid,
					   sup, NULL),
			 FT_OK);
	ck_assert_int_eq(
		ftrack_batch_role(b, FTRACK_ROLE_REMOVE, uid, sup, NULL),
		FT_OK);
	commit(b, FT_OK);
	ck_assert_int_eq(
		ftrack_memberships_read(h_ft_cl, gids, 2, &m, err, sizeof(err)),
		FT_OK);
	ck_assert_uint_eq(m.n, 0);
	ck_assert_int_eq(ftrack_user_roles_read(h_ft_cl,
						(const char *const *)&uid, 1,
						&usr, &usrp, err, sizeof(err)),
			 FT_OK);
	ck_assert_uint_eq(usr.n, 0);
	ck_assert_int_eq(ftrack_batch_new(&b), FT_OK);
	ck_assert_int_eq(ftrack_batch_role(b, 99, uid, sup, NULL), FT_E_INVAL);
	ftrack_batch_free(b);
	ftrack_rows_clear(&m);
	ftrack_rows_clear(&usr);
	ftrack_rows_clear(&usrp);
	ftrack_names_clear(&n);
	free(uid);
	h_ft_stop();
}

END_TEST

Suite *
ftrack_groups_suite(void)
{
	Suite *s = suite_create("ftrack_groups");
	TCase *tc = tcase_create("emulator");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_names_resolve);
	tcase_add_test(tc, test_memberships_and_roles);
	suite_add_tcase(s, tc);
	return s;
}
