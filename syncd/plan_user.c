/* SPDX-License-Identifier: Apache-2.0 */
/* plan_user.c: the per-person decision of the on-demand path and reconcile. */
#include "plan_user.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static void reason(struct plan_action *a, const char *fmt, ...) FT_PRINTF(2, 3);

static void
reason(struct plan_action *a, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(a->reason, sizeof(a->reason), fmt, ap);
	va_end(ap);
}

static void
set(struct plan_action *a, enum plan_kind kind, const char *why)
{
	a->kind = kind;
	reason(a, "%s", why);
}

const char *
plan_kind_name(enum plan_kind kind)
{
	static const char *const names[] = {
		"none",       "create",     "update", "link",     "rename",
		"reactivate", "deactivate", "delete", "conflict", "skip",
	};

	if ((unsigned)kind >= sizeof(names) / sizeof(names[0]))
		return "?";
	return names[kind];
}

static bool
differs(const char *want, const char *have)
{
	/* LDAP without a value has no opinion: ftrack's value is kept. */
	if (want == NULL || want[0] == '\0')
		return false;
	return have == NULL || strcmp(want, have) != 0;
}

static bool
eq(const char *a, const char *b)
{
	return a != NULL && b != NULL && strcmp(a, b) == 0;
}

/* Field changes of ldap against ftrack user f, as bits. */
static unsigned
field_changes(const struct ft_user *l, const struct ft_user *f)
{
	unsigned bits = 0;

	if (differs(l->email, f->email))
		bits |= PLAN_F_EMAIL;
	if (differs(l->first_name, f->first_name))
		bits |= PLAN_F_FIRST_NAME;
	if (differs(l->last_name, f->last_name))
		bits |= PLAN_F_LAST_NAME;
	return bits;
}

/* Append the changed field names to the reason. */
static void
describe_fields(struct plan_action *a, const char *prefix)
{
	static const struct {
		unsigned bit;
		const char *name;
	} names[] = {
		{PLAN_F_USERNAME, "username"},
		{PLAN_F_EMAIL, "email"},
		{PLAN_F_FIRST_NAME, "first_name"},
		{PLAN_F_LAST_NAME, "last_name"},
	};

	size_t i, len;
	const char *sep = "";

	reason(a, "%s", prefix);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!(a->fields & names[i].bit))
			continue;
		len = strlen(a->reason);
		(void)snprintf(a->reason + len, sizeof(a->reason) - len, "%s%s",
			       sep, names[i].name);
		sep = ", ";
	}
}

/*
 * The inactive/active state of an existing user under the policy.  A user
 * waiting for a seat (ftrack kept inactive a user the sync asked to be
 * active) is asked again whatever `reactivate` says: that write was
 * decided already, and nobody deactivated the user.
 */
static void
plan_activity(const struct config_policy *pol, const struct ft_user *f,
	      struct plan_action *a)
{
	if (f->is_active) {
		/* reactivated by hand, or a seat given: stale markers go */
		if (f->deactivated != NULL)
			a->fields |= PLAN_F_UNMARK_GONE;
		if (f->seat_waiting != NULL)
			a->fields |= PLAN_F_UNMARK_WAIT;
		return;
	}
	if (f->seat_waiting != NULL || pol->reactivate == REACTIVATE_ALWAYS ||
	    (pol->reactivate == REACTIVATE_SYNC_DEACTIVATED &&
	     f->deactivated != NULL)) {
		a->fields |= PLAN_F_ACTIVATE;
		if (f->deactivated != NULL)
			a->fields |= PLAN_F_UNMARK_GONE;
	}
}

/* Pick the kind and reason once the fields are known. */
static void
plan_summarise(const struct config_policy *pol, const struct ft_user *f,
	       struct plan_action *a, enum plan_kind base)
{
	if ((a->fields & PLAN_F_ACTIVATE) && f->seat_waiting != NULL) {
		a->kind = PLAN_REACTIVATE;
		reason(a, "%swaiting for a seat since %s; asked again",
		       (a->fields & PLAN_F_MARK_UUID) && f->uuid != NULL
			       ? "back in LDAP with a new entry (relinked); "
			       : "",
		       f->seat_waiting);
		return;
	}
	if (a->fields & PLAN_F_ACTIVATE) {
		a->kind = PLAN_REACTIVATE;
		if (f->deactivated != NULL && (a->fields & PLAN_F_MARK_UUID) &&
		    f->uuid != NULL)
			reason(a,
			       "back in LDAP with a new entry (relinked); "
			       "deactivated by the sync %s",
			       f->deactivated);
		else if (f->deactivated != NULL)
			reason(a, "back in LDAP; deactivated by the sync %s",
			       f->deactivated);
		else
			reason(a, "inactive in ftrack; reactivate = always");
		return;
	}
	if (base == PLAN_RENAME) {
		a->kind = PLAN_RENAME;
		reason(a, "renamed in LDAP: '%s' -> '%s'", f->username,
		       a->ldap->username);
		return;
	}
	if (base == PLAN_LINK && (a->fields & PLAN_F_MARK_EMAIL)) {
		a->kind = PLAN_LINK;
		reason(a,
		       "existing ftrack user '%s' linked by e-mail to %s; its "
		       "username is kept",
		       f->username,
		       a->ldap->dn ? a->ldap->dn : "its LDAP entry");
		return;
	}
	if (base == PLAN_LINK) {
		a->kind = PLAN_LINK;
		reason(a, "existing ftrack user linked to %s",
		       a->ldap->dn ? a->ldap->dn : "its LDAP entry");
		return;
	}
	if (a->fields & ~(unsigned)(PLAN_F_UNMARK_GONE | PLAN_F_UNMARK_WAIT)) {
		a->kind = PLAN_UPDATE;
		describe_fields(a, "changed: ");
		return;
	}
	if (a->fields & PLAN_F_UNMARK_WAIT) {
		set(a, PLAN_UPDATE, "has a seat: waiting marker removed");
		return;
	}
	if (!f->is_active && a->fields == 0) {
		a->kind = PLAN_SKIP;
		reason(a, "inactive in ftrack and %s",
		       pol->reactivate == REACTIVATE_NEVER
			       ? "reactivate = never"
			       : "deactivated by hand, not by the sync");
		return;
	}
	a->kind = a->fields ? PLAN_UPDATE : PLAN_NONE;
	set(a, a->kind,
	    a->fields ? "stale deactivation marker removed" : "in sync");
}

/*
 * A login that left (the sync deactivated its user) and came back with a
 * new LDAP entry: the seat is given back, relinked to the new entry, when
 * the policy would reactivate it anyway.  With reactivate = never it
 * stays a conflict for a person to decide.  A user waiting for a seat is
 * the sync's own pending write for that login: relinked and asked again.
 */
static bool
returning(const struct config_policy *pol, const struct ft_user *f)
{
	return !f->is_active && (f->seat_waiting != NULL ||
				 (f->deactivated != NULL &&
				  pol->reactivate != REACTIVATE_NEVER));
}

/* Append ", 'name'" for each candidate to the reason (cut when full). */
static void
name_candidates(struct plan_action *a, const struct plan_match *m)
{
	size_t i;

	for (i = 0; i < m->n_email; i++) {
		size_t len = strlen(a->reason);

		(void)snprintf(a->reason + len, sizeof(a->reason) - len,
			       "%s'%s'", i ? ", " : "",
			       m->by_email[i]->username
				       ? m->by_email[i]->username
				       : "?");
	}
}

/* A returning login's old account that holds hand-made groups or roles. */
static void
not_relinked(struct plan_action *a, const struct ft_user *f,
	     const char *hand_made)
{
	a->kind = PLAN_CONFLICT;
	reason(a,
	       "'%s' is back in LDAP with a new entry but its old account "
	       "holds what an administrator gave by hand (%s): not relinked",
	       f->username, hand_made);
}

/* The one ftrack user with the person's e-mail address, or a conflict. */
static const struct ft_user *
plan_email(const struct config_policy *pol, const char *api_user,
	   const struct ft_user *l, const struct plan_match *m,
	   struct plan_action *a, enum plan_kind *ret_base)
{
	const struct ft_user *f = m->by_email[0];

	a->kind = PLAN_CONFLICT;
	if (m->n_email > 1) {
		reason(a,
		       "%zu ftrack users have the e-mail '%s' (not linked, "
		       "not created): ",
		       m->n_email, l->email);
		name_candidates(a, m);
	} else if (m->email_twin)
		reason(a,
		       "another LDAP entry has the e-mail '%s' of '%s' "
		       "(not linked, not created)",
		       l->email, f->username);
	else if (eq(api_user, f->username))
		reason(a,
		       "the e-mail '%s' is the API user's (not linked, not "
		       "created)",
		       l->email);
	else if (f->uuid != NULL && !returning(pol, f))
		reason(a,
		       "'%s' (e-mail '%s') is linked to another LDAP entry "
		       "(uuid %s)",
		       f->username, l->email, f->uuid);
	else if (f->uuid != NULL && m->hand_made != NULL)
		not_relinked(a, f, m->hand_made);
	else
		a->kind = PLAN_NONE;
	if (a->kind == PLAN_CONFLICT)
		return NULL;
	*ret_base = f->uuid != NULL ? PLAN_UPDATE : PLAN_LINK;
	a->fields |= PLAN_F_MARK_UUID; /* a returning user: relinked */
	if (!ft_user_linked_by_email(f))
		a->fields |= PLAN_F_MARK_EMAIL;
	return f;
}

/* Find the ftrack user this LDAP person is, or a conflict. */
static const struct ft_user *
plan_target(const struct config_policy *pol, const char *api_user,
	    const struct ft_user *l, const struct plan_match *m,
	    struct plan_action *a, enum plan_kind *ret_base)
{
	const struct ft_user *by_name = m->by_name, *by_uuid = m->by_uuid;

	*ret_base = PLAN_UPDATE;
	if (by_uuid != NULL && ft_user_linked_by_email(by_uuid))
		return by_uuid; /* its username is kept: the marker decides */
	if (by_uuid != NULL && by_name != NULL && by_uuid != by_name) {
		a->kind = PLAN_CONFLICT;
		reason(a, "uuid marker is on '%s' but '%s' is another user",
		       by_uuid->username, by_name->username);
		return NULL;
	}
	if (by_uuid != NULL) {
		if (!eq(by_uuid->username, l->username)) {
			*ret_base = PLAN_RENAME;
			a->fields |= PLAN_F_USERNAME;
		}
		return by_uuid;
	}
	if (by_name != NULL && by_name->uuid != NULL &&
	    returning(pol, by_name) && m->hand_made != NULL) {
		not_relinked(a, by_name, m->hand_made);
		return NULL;
	}
	if (by_name != NULL && by_name->uuid != NULL &&
	    returning(pol, by_name)) {
		a->fields |= PLAN_F_MARK_UUID; /* the marker follows */
		return by_name;
	}
	if (by_name != NULL && by_name->uuid != NULL) {
		a->kind = PLAN_CONFLICT;
		reason(a, "'%s' is linked to another LDAP entry (uuid %s)",
		       by_name->username, by_name->uuid);
		return NULL;
	}
	if (by_name != NULL) {
		*ret_base = PLAN_LINK;
		a->fields |= PLAN_F_MARK_UUID;
	}
	if (by_name == NULL && m->n_email > 0 && l->email != NULL)
		return plan_email(pol, api_user, l, m, a, ret_base);
	return by_name;
}

static const char *
plan_skip_reason(const struct config_policy *pol, const char *api_user,
		 const struct ft_user *ldap)
{
	if (strlist_has(&pol->skip_users, ldap->username) ||
	    (ldap->login && strlist_has(&pol->skip_users, ldap->login)))
		return "in skip_users";
	if (ldap->disabled)
		return "disabled in LDAP";
	if (eq(api_user, ldap->username))
		return "the API user itself";
	return NULL;
}

void
plan_user_match(const struct config_policy *pol, const char *api_user,
		const struct ft_user *ldap, const struct plan_match *m,
		bool create_ok, struct plan_action *ret)
{
	const char *skip = plan_skip_reason(pol, api_user, ldap);
	const struct ft_user *f;
	enum plan_kind base;

	memset(ret, 0, sizeof(*ret));
	ret->ldap = ldap;
	if (skip != NULL) {
		set(ret, PLAN_SKIP, skip);
		return;
	}
	f = plan_target(pol, api_user, ldap, m, ret, &base);
	if (ret->kind == PLAN_CONFLICT)
		return;
	ret->ftrack = f;
	if (f != NULL) {
		ret->fields |= field_changes(ldap, f);
		plan_activity(pol, f, ret);
		plan_summarise(pol, f, ret, base);
	} else if (!create_ok) {
		set(ret, PLAN_SKIP, "not in ftrack; policy allows no create");
	} else {
		ret->fields = PLAN_F_USERNAME | PLAN_F_EMAIL |
			      PLAN_F_FIRST_NAME | PLAN_F_LAST_NAME |
			      PLAN_F_ACTIVATE | PLAN_F_MARK_UUID;
		set(ret, PLAN_CREATE, "new in ftrack");
	}
}

void
plan_user(const struct config_policy *pol, const char *api_user,
	  const struct ft_user *ldap, const struct ft_user *by_name,
	  const struct ft_user *by_uuid, bool create_ok,
	  struct plan_action *ret)
{
	const struct plan_match m = {by_name, by_uuid, NULL, 0, false, NULL};

	plan_user_match(pol, api_user, ldap, &m, create_ok, ret);
}

const char *
plan_link_by(const struct plan_action *a)
{
	if (a->kind == PLAN_CREATE || a->ftrack == NULL ||
	    !(a->fields & PLAN_F_MARK_UUID))
		return NULL;
	if ((a->fields & PLAN_F_MARK_EMAIL) ||
	    ft_user_linked_by_email(a->ftrack))
		return "email";
	return "username";
}

const char *
plan_protected_reason(const struct config_policy *pol, const char *api_user,
		      const struct ft_user *f)
{
	if (eq(api_user, f->username))
		return "the API user itself";
	if (strlist_has(&pol->protected_users, f->username))
		return "in protected_users";
	if (strlist_has(&pol->skip_users, f->username))
		return "in skip_users";
	return NULL;
}

static const char *
plan_keep_reason(const struct config_policy *pol, const char *api_user,
		 const struct ft_user *f)
{
	const char *why = plan_protected_reason(pol, api_user, f);

	if (why != NULL)
		return why;
	if (pol->scope == SCOPE_MANAGED && f->uuid == NULL)
		return "not managed (no uuid marker)";
	if (pol->missing == MISSING_IGNORE)
		return "missing = ignore";
	return NULL;
}

void
plan_missing(const struct config_policy *pol, const char *api_user,
	     const struct ft_user *ftrack, struct plan_action *ret)
{
	const char *keep = plan_keep_reason(pol, api_user, ftrack);

	memset(ret, 0, sizeof(*ret));
	ret->ftrack = ftrack;
	if (keep != NULL)
		set(ret, PLAN_SKIP, keep);
	else if (pol->missing == MISSING_DELETE)
		set(ret, PLAN_DELETE, "not in LDAP; missing = delete");
	else if (ftrack->seat_waiting != NULL) {
		/* the seat request is withdrawn; a return reactivates */
		ret->kind = PLAN_DEACTIVATE;
		ret->fields = PLAN_F_DEACTIVATE | PLAN_F_MARK_GONE |
			      PLAN_F_UNMARK_WAIT;
		reason(ret, "not in LDAP (was waiting for a seat since %s)",
		       ftrack->seat_waiting);
	} else if (!ftrack->is_active)
		set(ret, PLAN_NONE, "not in LDAP and already inactive");
	else {
		ret->fields = PLAN_F_DEACTIVATE | PLAN_F_MARK_GONE;
		set(ret, PLAN_DEACTIVATE, "not in LDAP");
	}
}

const unsigned PLAN_FIELDS[PLAN_NFIELDS] = {
	PLAN_F_USERNAME, PLAN_F_EMAIL, PLAN_F_FIRST_NAME, PLAN_F_LAST_NAME};

const char *
plan_field_name(unsigned bit)
{
	switch (bit) {
	case PLAN_F_USERNAME:
		return "username";
	case PLAN_F_EMAIL:
		return "email";
	case PLAN_F_FIRST_NAME:
		return "first_name";
	case PLAN_F_LAST_NAME:
		return "last_name";
	default:
		return NULL;
	}
}

char **
plan_field_slot(struct ft_user *u, unsigned bit)
{
	switch (bit) {
	case PLAN_F_USERNAME:
		return &u->username;
	case PLAN_F_EMAIL:
		return &u->email;
	case PLAN_F_FIRST_NAME:
		return &u->first_name;
	case PLAN_F_LAST_NAME:
		return &u->last_name;
	default:
		return NULL;
	}
}

const char *
plan_field_get(const struct ft_user *u, unsigned bit)
{
	switch (bit) {
	case PLAN_F_USERNAME:
		return u->username;
	case PLAN_F_EMAIL:
		return u->email;
	case PLAN_F_FIRST_NAME:
		return u->first_name;
	case PLAN_F_LAST_NAME:
		return u->last_name;
	default:
		return NULL;
	}
}
