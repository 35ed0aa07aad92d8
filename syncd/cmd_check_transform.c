/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmd_check_transform.c: `ftrack-syncd check` of [mapping] transform: the
 * program file and its folders (the file rule), whether systemd runs it
 * as ftrack-syncd-ext or the daemon starts it with its own rights, and
 * what it makes of the first few entries of the directory.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "cmd.h"
#include "config.h"
#include "extprog.h"
#include "ft_clean.h"
#include "ft_err.h"
#include "ldap_src.h"
#include "transform.h"

#define SAMPLE  5       /* entries given to the program */
#define STOP_IT (-1000) /* our callback's "enough": not an FT_E_* */

static const char *
or_none(const char *s)
{
	return s != NULL ? s : "(none)";
}

static int
take_user(void *ctx, struct ft_user *u)
{
	struct ft_user_list *l = ctx;
	int r;

	if (l->n >= SAMPLE)
		return STOP_IT;
	r = ft_user_list_push(l, u);
	return r < 0 ? r : FT_OK;
}

static bool
check_file(const struct config *cfg)
{
	char why[EXTPROG_WHY_MAX];
	struct stat st;

	if (extprog_check(cfg->mapping.transform, why, sizeof(why)) < 0) {
		ft_clean_print(stdout, "transform: FAILED: refused: %s", why);
		return false;
	}
	if (stat(TRANSFORM_SOCKET, &st) == 0 && S_ISSOCK(st.st_mode))
		ft_clean_print(stdout,
			       "transform: '%s' runs as %s through %s "
			       "(systemd socket activation)",
			       cfg->mapping.transform, EXTPROG_ACCOUNT,
			       TRANSFORM_SOCKET);
	else
		ft_clean_print(stdout,
			       "transform: WARNING: no %s: the daemon starts "
			       "'%s' itself, with its own rights (the packaged "
			       "ftrack-syncd-transform.socket runs it as %s)",
			       TRANSFORM_SOCKET, cfg->mapping.transform,
			       EXTPROG_ACCOUNT);
	return true;
}

static void
print_item(const struct transform_item *it)
{
	const struct ft_user *u = it->user;

	if (it->verdict == TRANSFORM_SKIP)
		ft_clean_print(stdout, "transform: '%s': skipped: %s",
			       or_none(u->login), it->reason);
	else if (it->verdict == TRANSFORM_BAD)
		ft_clean_print(stdout, "transform: '%s': FAILED: %s",
			       or_none(u->login), it->reason);
	else
		ft_clean_print(stdout,
			       "transform: '%s': username '%s', email '%s', "
			       "first name '%s', last name '%s'",
			       or_none(u->login), or_none(u->username),
			       or_none(u->email), or_none(u->first_name),
			       or_none(u->last_name));
}

/* The first SAMPLE entries through the program, each printed. */
static bool
check_sample(const struct config *cfg, struct ldap_src *src)
{
	struct ft_user_list l = {0};
	struct transform_item it[SAMPLE];
	struct transform *t = NULL;
	char err[TRANSFORM_REASON_MAX] = "out of memory";
	size_t i;
	int r;

	r = ldap_src_search_all(src, take_user, NULL, &l, NULL);
	if (r < 0 && r != STOP_IT) {
		ft_clean_print(stdout,
			       "transform: FAILED: no entries to try it on: %s",
			       ft_strerror(r));
		ft_user_list_clear(&l);
		return false;
	}
	for (i = 0; i < l.n; i++)
		it[i] = (struct transform_item){.user = &l.v[i]};
	r = transform_new(cfg, NULL, &t);
	if (r == FT_OK && l.n > 0)
		r = transform_run(t, it, l.n, err, sizeof(err));
	if (r < 0)
		ft_clean_print(stdout, "transform: FAILED: %s", err);
	for (i = 0; r == FT_OK && i < l.n; i++)
		print_item(&it[i]);
	transform_free(t);
	ft_user_list_clear(&l);
	return r == FT_OK;
}

bool
cmd_check_transform(const struct config *cfg, struct ldap_src *src)
{
	if (!check_file(cfg))
		return false;
	return check_sample(cfg, src);
}
