/* SPDX-License-Identifier: Apache-2.0 */
/* check_config_secret.c: config_secret.c: mode, owner, size, contents. */
#include <check.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "ft_err.h"
#include "h_config.h"

Suite *config_secret_suite(void);

/* ---- secret files --------------------------------------------------------- */

START_TEST(test_secret_good)
{
	struct config *c;

	h_cfg_write_text(h_cfg.key, "k3y", 0600); /* no newline */
	h_cfg_build(NULL, NULL, NULL, NULL);
	c = h_cfg_load_ok();
	ck_assert_str_eq(c->ftrack.api_key, "k3y");
	config_free(c);
	h_cfg_write_text(h_cfg.key, "k3y\n", 0400);
	h_cfg_build(NULL, NULL, NULL, NULL);
	c = h_cfg_load_ok();
	ck_assert_str_eq(c->ftrack.api_key, "k3y");
	config_free(c);
}

END_TEST

struct secret_case {
	const char *data;
	mode_t mode;
	int r;
	const char *msg;
};

static const struct secret_case secret_cases[] = {
	{"k3y\n", 0644, FT_E_PERM,
	 "is open to group or others (mode 0644); "
	 "run chmod 600 @DIR@/ftrack.secret"},
	{"k3y\n", 0640, FT_E_PERM, "(mode 0640); run chmod 600"},
	{"k3y\n", 0604, FT_E_PERM, "(mode 0604); run chmod 600"},
	{"k3y\n", 0610, FT_E_PERM, "(mode 0610); run chmod 600"},
	{"", 0600, FT_E_CONFIG,
	 "must hold the secret on one line (it is "
	 "empty)"},
	{"\n", 0600, FT_E_CONFIG, "(it is empty)"},
	{"k3y\n\n", 0600, FT_E_CONFIG, "must hold the secret on one line"},
	{"k3y\r\n", 0600, FT_E_CONFIG, "must hold the secret on one line"},
	{"a\nb\n", 0600, FT_E_CONFIG, "must hold the secret on one line"},
};

START_TEST(test_secret_bad)
{
	const struct secret_case *s = &secret_cases[_i];
	char msg[256];
	int line;

	h_cfg_write_text(h_cfg.key, s->data, s->mode);
	line = h_cfg_build("ftrack", "api_key_file", "ftrack",
			   "api_key_file = @DIR@/ftrack.secret");
	h_cfg_subst(s->msg, msg, sizeof(msg));
	h_cfg_load_fails(s->r, h_cfg_at(line, "[ftrack] api_key_file: "), msg);
	ck_assert_ptr_nonnull(strstr(h_cfg.err, h_cfg.key));
}

END_TEST

START_TEST(test_secret_missing_symlink_dir_big)
{
	static char big[H_CFG_SECRET_MAX];
	char link[sizeof(h_cfg.dir) + 16];
	int line;

	line = h_cfg_build("ftrack", "api_key_file", "ftrack",
			   "api_key_file = @DIR@/nope.secret");
	h_cfg_load_fails(FT_E_CONFIG,
			 h_cfg_at(line, "[ftrack] api_key_file: cannot open "),
			 "nope.secret': No such file or directory");

	(void)snprintf(link, sizeof(link), "%s/link.secret", h_cfg.dir);
	ck_assert_int_eq(symlink(h_cfg.key, link), 0);
	line = h_cfg_build("ftrack", "api_key_file", "ftrack",
			   "api_key_file = @DIR@/link.secret");
	h_cfg_load_fails(FT_E_PERM, h_cfg_at(line, "[ftrack] api_key_file: "),
			 "link.secret' is a symbolic link");

	line = h_cfg_build("ftrack", "api_key_file", "ftrack",
			   "api_key_file = @DIR@");
	h_cfg_load_fails(FT_E_PERM, h_cfg_at(line, "[ftrack] api_key_file: "),
			 "is not a regular file");

	memset(big, 'k', sizeof(big));
	h_cfg_write_file(h_cfg.key, big, 4097, 0600);
	line = h_cfg_build("ftrack", "api_key_file", "ftrack",
			   "api_key_file = @DIR@/ftrack.secret");
	h_cfg_load_fails(FT_E_CONFIG, h_cfg_at(line, "[ftrack] api_key_file: "),
			 "larger than 4096 bytes");
	h_cfg_write_file(h_cfg.key, "k3\0y\n", 5, 0600);
	h_cfg_load_fails(FT_E_CONFIG, h_cfg_at(line, "[ftrack] api_key_file: "),
			 "must hold the secret on one line");
	h_cfg_write_file(h_cfg.key, big, 4096,
			 0600); /* exactly the limit is fine */
	config_free(h_cfg_load_ok());
}

END_TEST

START_TEST(test_secret_owner)
{
	struct config *c;
	int line;

	if (geteuid() != 0)
		return; /* chown needs root; `make check` runs as root */
	ck_assert_int_eq(chown(h_cfg.key, 65534, 65534), 0);
	line = h_cfg_build("ftrack", "api_key_file", "ftrack",
			   "api_key_file = @DIR@/ftrack.secret");
	h_cfg_load_fails(
		FT_E_PERM, h_cfg_at(line, "[ftrack] api_key_file: "),
		"is owned by uid 65534, not by root, uid 0 or the owner of "
		"state_dir; run chown root");
	/* the daemon's account (the owner of state_dir) may own it: root
	 * running `check` by hand reads what the daemon reads */
	{
		char state[sizeof(h_cfg.dir) + 8];

		(void)snprintf(state, sizeof(state), "%s/state", h_cfg.dir);
		ck_assert_int_eq(mkdir(state, 0700), 0);
		ck_assert_int_eq(chown(state, 65534, 65534), 0);
		(void)h_cfg_build(NULL, NULL, "daemon",
				  "state_dir = @DIR@/state");
		c = h_cfg_load_ok();
		ck_assert_str_eq(c->ftrack.api_key, "sekrit-api-key");
		config_free(c);
		ck_assert_int_eq(rmdir(state), 0);
	}
	/* the LDAP password file is checked the same way */
	ck_assert_int_eq(chown(h_cfg.key, 0, 0), 0);
	ck_assert_int_eq(chmod(h_cfg.pw, 0644), 0);
	line = h_cfg_build(
		NULL, NULL, "ldap",
		"bind_dn = cn=x\nbind_password_file = @DIR@/ldap.secret\n"
		"insecure_ldap = yes");
	h_cfg_load_fails(FT_E_PERM,
			 h_cfg_at(line + 1, "[ldap] bind_password_file: "),
			 "run chmod 600");
	ck_assert_int_eq(chmod(h_cfg.pw, 0600), 0);
	c = h_cfg_load_ok();
	ck_assert_str_eq(c->ldap.bind_password, "ldap-pw");
	config_free(c);
}

END_TEST

Suite *
config_secret_suite(void)
{
	Suite *s = suite_create("config_secret");
	TCase *tc = tcase_create("config_secret");

	h_cfg_fixtures(tc);
	tcase_add_test(tc, test_secret_good);
	tcase_add_loop_test(
		tc, test_secret_bad, 0,
		(int)(sizeof(secret_cases) / sizeof(secret_cases[0])));
	tcase_add_test(tc, test_secret_missing_symlink_dir_big);
	tcase_add_test(tc, test_secret_owner);
	suite_add_tcase(s, tc);
	return s;
}
