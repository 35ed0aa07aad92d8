/* SPDX-License-Identifier: Apache-2.0 */
/* check_config_groups.c: config_groups.c: [groups], [group_map], [role_map]. */
#include <check.h>
#include <string.h>

#include "config.h"
#include "ft_err.h"
#include "h_config.h"
#include "harness.h"

Suite *config_groups_suite(void);

#define GROUPS "search_base = ou=groups,dc=example,dc=com\n"

/* Repeated keys are the union, each line kept with its line number. */
START_TEST(test_maps_union)
{
	static struct h_cfg_dump d;
	struct config *c;
	int line = h_cfg_build(NULL, NULL, "groups",
			       GROUPS "nested = yes\n"
				      "[group_map]\n"
				      "Compositing = comp\n"
				      "Compositing = comp-juniors\n"
				      "London/Lighting = CN=Lighting, "
				      "OU=Groups,DC=example,DC=com\n"
				      "[role_map]\n"
				      "Project Manager = producers\n");

	c = h_cfg_load_ok();
	ck_assert_str_eq(c->groups.search_base, "ou=groups,dc=example,dc=com");
	ck_assert(c->groups.nested);
	ck_assert_uint_eq(c->groups.group_map.n, 3);
	ck_assert_str_eq(c->groups.group_map.v[0].ftrack, "Compositing");
	ck_assert_str_eq(c->groups.group_map.v[0].ldap, "comp");
	ck_assert_int_eq(c->groups.group_map.v[0].line, line + 3);
	ck_assert_str_eq(c->groups.group_map.v[1].ldap, "comp-juniors");
	ck_assert_str_eq(c->groups.group_map.v[2].ftrack, "London/Lighting");
	ck_assert_str_eq(c->groups.group_map.v[2].ldap,
			 "CN=Lighting, OU=Groups,DC=example,DC=com");
	ck_assert_uint_eq(c->groups.role_map.n, 1);
	ck_assert_str_eq(c->groups.role_map.v[0].ftrack, "Project Manager");
	ck_assert_int_eq(c->groups.role_map.v[0].line, line + 7);
	config_dump(c, h_cfg_collect, &d);
	ck_assert_ptr_nonnull(
		strstr(d.text, "\ngroup_map.Compositing = comp-juniors\n"));
	ck_assert_ptr_nonnull(
		strstr(d.text, "\nrole_map.Project Manager = producers\n"));
	config_free(c);
}

END_TEST

/* Each bad line names the file and line. */
START_TEST(test_maps_bad_lines)
{
	int line;

	line = h_cfg_build(NULL, NULL, "groups",
			   GROUPS "[group_map]\nA = comp\nA = comp\n");
	h_cfg_load_fails(
		FT_E_CONFIG,
		h_cfg_at(line + 3, "[group_map] A: the same line as line "),
		NULL);
	line = h_cfg_build(NULL, NULL, "groups",
			   GROUPS "[role_map]\nSupervisor =\n");
	h_cfg_load_fails(FT_E_CONFIG,
			 h_cfg_at(line + 2, "[role_map] Supervisor: '' must "
					    "name an LDAP group"),
			 NULL);
	line = h_cfg_build(NULL, NULL, "groups",
			   GROUPS "[group_map]\nA = cn=x,,=y\n");
	h_cfg_load_fails(FT_E_CONFIG,
			 h_cfg_at(line + 2, "[group_map] A: 'cn=x,,=y' is not "
					    "a valid DN"),
			 NULL);
	/* a mapping without [groups] search_base */
	line = h_cfg_build(NULL, NULL, "role_map", "Supervisor = sup\n");
	h_cfg_load_fails(FT_E_CONFIG,
			 h_cfg_at(line, "[role_map] Supervisor: a mapping "
					"needs [groups] search_base"),
			 NULL);
	/* memberUid holds logins: nothing to nest */
	line = h_cfg_build(NULL, NULL, "groups",
			   GROUPS "member_attribute = memberUid\n"
				  "nested = yes\n");
	h_cfg_load_fails(FT_E_CONFIG,
			 h_cfg_at(line + 2, "[groups] nested: memberUid holds "
					    "login names"),
			 NULL);
	line = h_cfg_build(NULL, NULL, "groups",
			   GROUPS "member_attribute = members\n");
	h_cfg_load_fails(FT_E_CONFIG,
			 h_cfg_at(line + 1, "[groups] member_attribute: "),
			 "member, uniqueMember");
	/* the fixed keys of [groups] keep the table's rule: once each */
	line = h_cfg_build(NULL, NULL, "groups",
			   GROUPS "nested = no\n"
				  "nested = yes\n");
	h_cfg_load_fails(FT_E_CONFIG,
			 h_cfg_at(line + 2, "[groups] nested: duplicate key"),
			 NULL);
	line = h_cfg_build(NULL, NULL, "groups", GROUPS "nestd = no\n");
	h_cfg_load_fails(FT_E_CONFIG,
			 h_cfg_at(line + 1, "[groups] nestd: unknown key"),
			 NULL);
}

END_TEST

START_TEST(test_maps_limits)
{
	static char text[H_CFG_TEXT_MAX];
	char name[300];
	size_t n = 0;
	int line;

	memset(name, 'x', 256);
	name[256] = '\0';
	h_cfg_cat(text, &n, GROUPS "[group_map]\n");
	h_cfg_cat(text, &n, name);
	h_cfg_cat(text, &n, " = comp\n");
	/* inih cuts lines at 200 bytes: the name is too long for a line */
	line = h_cfg_build(NULL, NULL, "groups", text);
	h_cfg_load_fails(FT_E_CONFIG, h_cfg_at(line + 2, "line too long"),
			 NULL);
}

END_TEST

Suite *
config_groups_suite(void)
{
	Suite *s = suite_create("config_groups");
	TCase *tc = tcase_create("config_groups");

	h_cfg_fixtures(tc);
	tcase_add_test(tc, test_maps_union);
	tcase_add_test(tc, test_maps_bad_lines);
	tcase_add_test(tc, test_maps_limits);
	suite_add_tcase(s, tc);
	return s;
}
