/* SPDX-License-Identifier: Apache-2.0 */
/* hooks_recheck.c: an intent its writer left, settled by asking ftrack. */
#include "hooks.h"
#include "hooks_int.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ft_err.h"
#include "ftrack_api.h"
#include "log.h"
#include "state.h"

#define INTENT_READ (HOOKS_PENDING_MAX + HOOKS_LINE_MAX)

static const char *
jstr(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static bool
same(const char *a, const char *b)
{
	return (a == NULL || a[0] == '\0') ? (b == NULL || b[0] == '\0')
					   : (b != NULL && strcmp(a, b) == 0);
}

/* The ftrack user change c is about, in list, or NULL. */
static const struct ft_user *
subject(const struct ft_user_list *list, json_t *u)
{
	const char *uuid = jstr(u, "uuid"), *name = jstr(u, "username");
	const char *id = jstr(u, "ftrack_id");
	size_t i;

	for (i = 0; uuid != NULL && i < list->n; i++)
		if (same(list->v[i].uuid, uuid))
			return &list->v[i];
	for (i = 0; id != NULL && i < list->n; i++)
		if (same(list->v[i].id, id))
			return &list->v[i];
	for (i = 0; name != NULL && i < list->n; i++)
		if (same(list->v[i].username, name))
			return &list->v[i];
	return NULL;
}

/* Whether every field change c names has its value in f. */
static bool
fields_hold(json_t *c, json_t *u, const struct ft_user *f)
{
	json_t *fields = json_object_get(c, "fields"), *v;
	size_t i;

	json_array_foreach(fields, i, v)
	{
		const char *name = json_string_value(v), *have = NULL;

		if (name == NULL)
			return false;
		if (strcmp(name, "username") == 0)
			have = f->username;
		else if (strcmp(name, "email") == 0)
			have = f->email;
		else if (strcmp(name, "first_name") == 0)
			have = f->first_name;
		else if (strcmp(name, "last_name") == 0)
			have = f->last_name;
		if (!same(jstr(u, name), have))
			return false;
	}
	return true;
}

/*
 * Whether ftrack (list) shows change c applied; it may turn a creation
 * or a reactivation into seat_waiting (ftrack kept the user inactive).
 */
static bool
shows_applied(json_t *c, const struct ft_user_list *list)
{
	const char *act = jstr(c, "action");
	json_t *u = json_object_get(c, "user");
	const struct ft_user *f = subject(list, u);

	if (act == NULL || u == NULL)
		return false;
	if (strcmp(act, "deleted") == 0)
		return f == NULL;
	if (f == NULL)
		return false;
	if (strcmp(act, "deactivated") == 0)
		return !f->is_active;
	if (strcmp(act, "created") == 0 || strcmp(act, "reactivated") == 0) {
		if (!f->is_active && f->seat_waiting != NULL)
			return json_object_set_new(
				       c, "action",
				       json_string("seat_waiting")) == 0;
		return f->is_active && fields_hold(c, u, f);
	}
	if (strcmp(act, "linked") == 0 && !same(f->uuid, jstr(u, "uuid")))
		return false;
	return fields_hold(c, u, f);
}

/* The changes of an intent's text, parsed; names and uuids to look up. */
struct recheck {
	json_t **c;
	const char **names, **uuids;
	size_t n, nn, nu;
};

static void
recheck_clear(struct recheck *rc)
{
	size_t i;

	for (i = 0; i < rc->n; i++)
		json_decref(rc->c[i]);
	free(rc->c);
	free(rc->names);
	free(rc->uuids);
}

static int
recheck_parse(char *text, size_t len, struct recheck *rc)
{
	size_t lines = 1, i;
	char *p, *save = NULL;

	for (i = 0; i < len; i++)
		lines += text[i] == '\n';
	rc->c = calloc(lines, sizeof(json_t *));
	rc->names = calloc(lines, sizeof(*rc->names));
	rc->uuids = calloc(lines, sizeof(*rc->uuids));
	if (rc->c == NULL || rc->names == NULL || rc->uuids == NULL)
		return FT_E_NOMEM;
	for (p = strtok_r(text, "\n", &save); p != NULL;
	     p = strtok_r(NULL, "\n", &save)) {
		json_t *c = json_loads(p, JSON_REJECT_DUPLICATES, NULL);
		json_t *u = json_object_get(c, "user");

		if (!json_is_object(u)) {
			json_decref(c);
			continue; /* half a line: a crash while writing */
		}
		rc->c[rc->n++] = c;
		if (jstr(u, "username") != NULL)
			rc->names[rc->nn++] = jstr(u, "username");
		if (jstr(u, "uuid") != NULL)
			rc->uuids[rc->nu++] = jstr(u, "uuid");
	}
	return FT_OK;
}

/* The lines of the changes rc shows applied (malloc'd), their count. */
static char *
recheck_text(struct recheck *rc, const struct ft_user_list *list,
	     size_t *ret_len, size_t *ret_n)
{
	char *buf = calloc(1, 1), *line;
	size_t len = 0, i;

	*ret_n = 0;
	for (i = 0; buf != NULL && i < rc->n; i++) {
		char *nb;
		size_t l;

		if (!shows_applied(rc->c[i], list))
			continue;
		line = json_dumps(rc->c[i], JSON_COMPACT | JSON_ENSURE_ASCII);
		l = line != NULL ? strlen(line) : 0;
		nb = line != NULL ? realloc(buf, len + l + 2) : NULL;
		if (nb == NULL) {
			free(line);
			free(buf);
			return NULL;
		}
		buf = nb;
		memcpy(buf + len, line, l);
		buf[len + l] = '\n';
		len += l + 1;
		(*ret_n)++;
		free(line);
	}
	*ret_len = len;
	return buf;
}

int
hooks_recheck(int dirfd, struct ftrack_client *ft, const char *name)
{
	struct ft_user_list list = {0};
	struct recheck rc = {0};
	char *text = NULL, *out = NULL, err[512];
	size_t len = 0, olen = 0, kept = 0;
	int r;

	r = state_read_file(dirfd, name, INTENT_READ, &text, &len, NULL);
	if (r == FT_OK)
		r = recheck_parse(text, len, &rc);
	if (r == FT_OK && (rc.nn > 0 || rc.nu > 0))
		r = ftrack_users_lookup(ft, rc.names, rc.nn, rc.uuids, rc.nu,
					&list, err, sizeof(err));
	else if (r != FT_OK)
		(void)snprintf(err, sizeof(err), "%s", ft_strerror(r));
	if (r == FT_OK) {
		out = recheck_text(&rc, &list, &olen, &kept);
		r = out == NULL ? FT_E_NOMEM
				: hooks_settle(dirfd, name, out, olen, kept);
		(void)snprintf(err, sizeof(err), "%s", ft_strerror(r));
	}
	if (r == FT_OK)
		log_info("hooks: %s, left by a writer that stopped before it "
			 "settled: %zu change(s) found in ftrack (to deliver), "
			 "%zu not (dropped: the write did not land)",
			 name, kept, rc.n - kept);
	else
		log_warn("unable to re-check the hook changes of %s with "
			 "ftrack: %s",
			 name, err);
	ft_user_list_clear(&list);
	recheck_clear(&rc);
	free(text);
	free(out);
	return r;
}
