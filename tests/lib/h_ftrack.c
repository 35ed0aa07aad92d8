/* SPDX-License-Identifier: Apache-2.0 */
/* h_ftrack.c: test library: emulator, ftrack client, users, failing jansson. */
#include "h_ftrack.h"

#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "ft_err.h"

struct h_emu *h_ft_emu;
struct ftrack_client *h_ft_cl;
const char *const h_ft_none[1] = {NULL};

void
h_ft_client(const char *key, unsigned timeout, unsigned batch_size)
{
	struct ftrack_retry retry = {.attempts = 4,
				     .base_ms = 20,
				     .max_ms = 200,
				     .deadline_ms = 30000};
	/* the client keeps nothing of its config (ftrack_client_new) */
	char cfg_server[256], cfg_user[64], cfg_key[64];
	struct config cfg;

	ftrack_client_free(h_ft_cl);
	h_ft_cl = NULL;
	memset(&cfg, 0, sizeof(cfg));
	snprintf(cfg_server, sizeof(cfg_server), "%s/", h_emu_url(h_ft_emu));
	snprintf(cfg_user, sizeof(cfg_user), "%s", H_EMU_USER);
	snprintf(cfg_key, sizeof(cfg_key), "%s", key);
	cfg.ftrack.server = cfg_server;
	cfg.ftrack.api_user = cfg_user;
	cfg.ftrack.api_key = cfg_key;
	cfg.ftrack.timeout = timeout;
	cfg.ftrack.batch_size = batch_size;
	ck_assert_int_eq(ftrack_client_new(&cfg, &h_ft_cl), FT_OK);
	ftrack_client_set_retry(h_ft_cl, &retry);
}

void
h_ft_start(const char *const extra_args[])
{
	h_ft_emu = h_emu_start(extra_args);
	ck_assert_ptr_nonnull(h_ft_emu);
	h_ft_client(H_EMU_KEY, 10, 100);
}

void
h_ft_stop(void)
{
	ftrack_client_free(h_ft_cl);
	h_ft_cl = NULL;
	h_emu_stop(h_ft_emu);
	h_ft_emu = NULL;
}

long long
h_ft_stat(const char *name)
{
	long long v = h_emu_stat(h_ft_emu, name);

	/* -1: no stats, or name is not an integer member */
	ck_assert_msg(v >= 0, "emulator stat '%s' missing", name);
	return v;
}

void
h_ft_fault(const char *spec)
{
	ck_assert_int_eq(h_emu_control(h_ft_emu, "/_emulator/fault", spec),
			 FT_OK);
}

unsigned long
h_ft_requests(void)
{
	struct ftrack_stats st;

	ftrack_client_stats(h_ft_cl, &st);
	return st.requests;
}

struct ft_user
h_ft_mkuser(const char *username, const char *first, const char *last,
	    const char *email)
{
	struct ft_user u;

	memset(&u, 0, sizeof(u));
	u.username = username ? strdup(username) : NULL;
	u.first_name = first ? strdup(first) : NULL;
	u.last_name = last ? strdup(last) : NULL;
	u.email = email ? strdup(email) : NULL;
	return u;
}

char *
h_ft_create(const char *username, const char *uuid)
{
	struct ft_user u = h_ft_mkuser(username, "First", "Last", NULL);
	struct ftrack_batch *b = NULL;
	struct ftrack_result res;
	char err[256] = "";
	size_t op = 99;
	char *id;

	ck_assert_int_eq(ftrack_batch_new(&b), FT_OK);
	ck_assert_int_eq(ftrack_batch_create_user(b, &u, uuid, &op), FT_OK);
	ck_assert_uint_eq(op, 0);
	ck_assert_int_eq(ftrack_batch_commit(h_ft_cl, b, err, sizeof(err)),
			 FT_OK);
	ck_assert_int_eq(ftrack_batch_result(b, 0, &res), FT_OK);
	ck_assert_int_eq(res.code, FT_OK);
	ck_assert_uint_eq(strlen(res.id), 36);
	id = strdup(res.id);
	ftrack_batch_free(b);
	ft_user_clear(&u);
	return id;
}

void
h_ft_get_one(const char *username, struct ft_user_list *list)
{
	const char *const names[] = {username};
	char err[256] = "";

	ck_assert_int_eq(ftrack_users_lookup(h_ft_cl, names, 1, h_ft_none, 0,
					     list, err, sizeof(err)),
			 FT_OK);
	ck_assert_uint_eq(list->n, 1);
	ck_assert_str_eq(list->v[0].username, username);
}

/* Allocations jansson may still make (h_ft_oom_after). */
static int fail_after;

static void *
failing_malloc(size_t n)
{
	if (fail_after-- <= 0)
		return NULL;
	return malloc(n);
}

void
h_ft_oom_after(int n)
{
	fail_after = n;
	json_set_alloc_funcs(failing_malloc, free);
}

void
h_ft_oom_off(void)
{
	json_set_alloc_funcs(malloc, free);
}
