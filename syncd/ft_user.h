/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ft_user.h: a person as both sides see them, and a growable list.
 *
 * struct ft_user is the one type that crosses units: ldap_src fills it
 * from an LDAP entry (through mapping), ftrack_json from a User record.
 * Every string is owned by the struct (NULL when absent) and freed by
 * ft_user_clear().  Not thread-safe.
 */
#ifndef FT_USER_H
#define FT_USER_H

#include <stdbool.h>
#include <stddef.h>

#include "ft_attrs.h"

struct ft_user {
	char *username;     /* ftrack username (mapped from LDAP) */
	char *email;        /* NULL: none */
	char *first_name;   /* NULL: none */
	char *last_name;    /* NULL: none */
	char *uuid;         /* LDAP: uuid_attribute in text form (objectGUID and
			    * other binary ids as lowercase hex); ftrack: the
			    * ftrack_syncd.uuid marker, NULL when unmanaged */
	char *deactivated;  /* ftrack only: ftrack_syncd.deactivated marker
			     * (ISO 8601 UTC), NULL when absent */
	char *seat_waiting; /* ftrack only: ftrack_syncd.seat_waiting marker
			     * (ISO 8601 UTC: since when ftrack keeps the
			     * user inactive), NULL when absent */
	char *linked_by;    /* ftrack only: ftrack_syncd.linked_by marker
			     * (FT_LINKED_BY_EMAIL: linked by its e-mail
			     * address, its username is never synced), NULL
			     * when absent */
	char *dn;           /* LDAP only: the entry's DN */
	char *login;        /* LDAP only: login_attribute value (PAM name) */
	char *id;           /* ftrack only: the User id */
	char *attrs_json;   /* LDAP only, with [mapping] transform: the
			     * entry's attributes as a JSON object, for the
			     * transform's request (transform.h) */
	char *note;         /* LDAP only: why the transform could not use
			     * the entry (then it is kept, see plan_recon) */
	bool is_active;     /* ftrack only */
	bool disabled;      /* LDAP only: matched disabled_filter */
};

/* The linked_by marker's value for a user linked by e-mail address. */
#define FT_LINKED_BY_EMAIL "email"

struct ft_user_list {
	struct ft_user *v;
	size_t n;
	size_t cap;
};

/*
 * Compare two e-mail addresses as strcmp() does, with the ASCII letters
 * folded to lower case (whatever the locale; other bytes as they are).
 * The one rule for "the same e-mail address" of link_by = email.
 */
int ft_email_cmp(const char *a, const char *b);

/* True when u is linked by e-mail (its linked_by marker says so). */
bool ft_user_linked_by_email(const struct ft_user *u);

/* Free the strings of u and zero it; NULL is a no-op. */
void ft_user_clear(struct ft_user *u);

/*
 * Append a user to list, taking ownership of its strings (u is zeroed).
 * Returns FT_OK or FT_E_NOMEM (u is left untouched).
 */
FT_MUST_USE int ft_user_list_push(struct ft_user_list *list, struct ft_user *u);

/* Clear every user and free the array; the list is left empty. */
void ft_user_list_clear(struct ft_user_list *list);

#endif
