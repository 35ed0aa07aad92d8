/* SPDX-License-Identifier: Apache-2.0 */
/* h_ldapmap.c: test library: a [mapping] table row, compiled. */
#include "h_ldapmap.h"

#include <stdlib.h>
#include <string.h>

static char *
dup_or_null(const char *s)
{
	return s != NULL ? strdup(s) : NULL;
}

void
h_lm_mapping_clear(struct config_mapping *cm)
{
	free(cm->username);
	free(cm->email);
	free(cm->first_name);
	free(cm->last_name);
	free(cm->full_name);
}

int
h_lm_compile(const struct h_lm_map *t, struct ldap_map **ret, char *err,
	     size_t len)
{
	struct config_mapping cm;
	const char *login = t->login != NULL ? t->login : "uid";
	const char *uuid = t->uuid != NULL ? t->uuid : "entryUUID";
	int r;

	cm.username = dup_or_null(t->username || t->none ? t->username : "uid");
	cm.email = dup_or_null(t->email || t->none ? t->email : "mail");
	cm.first_name = dup_or_null(t->first_name || t->none ? t->first_name
							     : "givenName");
	cm.last_name =
		dup_or_null(t->last_name || t->none ? t->last_name : "sn");
	cm.full_name = dup_or_null(t->full_name);
	if (t->none && t->login == NULL)
		login = NULL;
	r = ldap_map_compile(&cm, login, uuid, ret, err, len);
	h_lm_mapping_clear(&cm);
	return r;
}
