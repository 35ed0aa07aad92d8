/* SPDX-License-Identifier: Apache-2.0 */
/* ft_user.c: struct ft_user and its list. */
#include "ft_user.h"

#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "ft_err.h"

static int
fold(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

int
ft_email_cmp(const char *a, const char *b)
{
	const unsigned char *x = (const unsigned char *)a;
	const unsigned char *y = (const unsigned char *)b;

	while (*x != '\0' && fold(*x) == fold(*y)) {
		x++;
		y++;
	}
	return fold(*x) - fold(*y);
}

bool
ft_user_linked_by_email(const struct ft_user *u)
{
	return u->linked_by != NULL &&
	       strcmp(u->linked_by, FT_LINKED_BY_EMAIL) == 0;
}

void
ft_user_clear(struct ft_user *u)
{
	if (u == NULL)
		return;
	free(u->username);
	free(u->email);
	free(u->first_name);
	free(u->last_name);
	free(u->uuid);
	free(u->deactivated);
	free(u->seat_waiting);
	free(u->linked_by);
	free(u->dn);
	free(u->login);
	free(u->id);
	free(u->attrs_json);
	free(u->note);
	memset(u, 0, sizeof(*u));
}

int
ft_user_list_push(struct ft_user_list *list, struct ft_user *u)
{
	int r = array_grow(&list->v, &list->cap, list->n + 1, sizeof(*list->v),
			   64, 0);

	if (r < 0)
		return r;
	list->v[list->n++] = *u;
	memset(u, 0, sizeof(*u));
	return FT_OK;
}

void
ft_user_list_clear(struct ft_user_list *list)
{
	size_t i;

	for (i = 0; i < list->n; i++)
		ft_user_clear(&list->v[i]);
	free(list->v);
	memset(list, 0, sizeof(*list));
}
