/* SPDX-License-Identifier: Apache-2.0 */
/* ft_user.c: struct ft_user and its list. */
#include "ft_user.h"

#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "ft_err.h"

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
	free(u->dn);
	free(u->login);
	free(u->id);
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
