/* SPDX-License-Identifier: Apache-2.0 */
/* plan_recon.c: the reconcile plan over both populations, and its guards. */
#include "plan_recon.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "ft_err.h"
#include "plan_mail.h"

static const char *const guard_names[GUARD_COUNT] = {
	"ldap_complete", "ldap_nonempty",  "min_ldap_users",
	"max_shrink",    "sentinel_users", "max_deactivate",
};

/* The order actions are applied in: renames first free their old names,
 * creates after them, leavers last. */
static int
kind_rank(enum plan_kind k)
{
	static const int rank[] = {
		[PLAN_RENAME] = 0, [PLAN_LINK] = 1,
		[PLAN_UPDATE] = 2, [PLAN_REACTIVATE] = 3,
		[PLAN_CREATE] = 4, [PLAN_DEACTIVATE] = 5,
		[PLAN_DELETE] = 6, [PLAN_CONFLICT] = 7,
		[PLAN_NONE] = 8,   [PLAN_SKIP] = 9,
	};

	return rank[k];
}

static const char *
action_name(const struct plan_action *a)
{
	const struct ft_user *u = a->ldap ? a->ldap : a->ftrack;

	return u && u->username ? u->username : "";
}

static int
cmp_action(const void *pa, const void *pb)
{
	const struct plan_action *a = pa, *b = pb;
	int d = kind_rank(a->kind) - kind_rank(b->kind);

	return d ? d : strcmp(action_name(a), action_name(b));
}

struct build {
	const struct plan_recon_input *in;
	size_t unidentified; /* unmapped entries with no identity at all */
	struct plan_recon *p;
	size_t cap, ucap;
	/* indexes by position, not copies of the keys: 100,000 users cost
	 * a few MiB here, not tens */
	const struct ft_user **by_name; /* ftrack users sorted by username */
	size_t n_name;
	const struct ft_user **by_uuid; /* ftrack users sorted by marker */
	size_t n_uuid;
	bool *twin; /* [ldap n]: another LDAP entry has this username */
	bool *seen; /* [ftrack n]: accounted for by an LDAP entry */
	/* link_by = email only (else empty) */
	struct plan_mail mail; /* the unclaimed users by e-mail address */
	bool *claimed; /* [ftrack n]: an LDAP entry's by username/uuid */
};

/* Count a; list it too when it changes something or is worth a look. */
static int
keep_listed(struct build *b, const struct plan_action *a, bool listed)
{
	int r;

	b->p->count[a->kind]++;
	if (!listed)
		return FT_OK;
	r = array_grow(&b->p->v, &b->cap, b->p->n + 1, sizeof(*b->p->v), 64, 0);
	if (r < 0)
		return r;
	b->p->v[b->p->n++] = *a;
	return FT_OK;
}

static int
keep(struct build *b, const struct plan_action *a)
{
	return keep_listed(b, a, a->kind != PLAN_NONE && a->kind != PLAN_SKIP);
}

static int
account(struct build *b, const struct ft_user *f)
{
	if (f != NULL)
		b->seen[f - b->in->ftrack->v] = true;
	return FT_OK;
}

static int
cmp_name(const void *a, const void *b)
{
	const struct ft_user *const *x = a, *const *y = b;

	return strcmp((*x)->username, (*y)->username);
}

static int
cmp_uuid(const void *a, const void *b)
{
	const struct ft_user *const *x = a, *const *y = b;

	return strcmp((*x)->uuid, (*y)->uuid);
}

static int
key_name(const void *key, const void *elem)
{
	const struct ft_user *const *u = elem;

	return strcmp(key, (*u)->username);
}

static int
key_uuid(const void *key, const void *elem)
{
	const struct ft_user *const *u = elem;

	return strcmp(key, (*u)->uuid);
}

/* The ftrack user whose username (or uuid marker) is key, or NULL. */
static const struct ft_user *
lookup(const struct build *b, bool uuid, const char *key)
{
	const struct ft_user *const *hit;

	if (key == NULL)
		return NULL;
	hit = uuid ? bsearch(key, b->by_uuid, b->n_uuid,
			     sizeof(const struct ft_user *), key_uuid)
		   : bsearch(key, b->by_name, b->n_name,
			     sizeof(const struct ft_user *), key_name);
	return hit ? *hit : NULL;
}

static void
claim(struct build *b, const struct ft_user *f)
{
	if (f != NULL)
		b->claimed[f - b->in->ftrack->v] = true;
}

/*
 * The users some LDAP entry (or unmapped identity) has by username or uuid
 * marker are its own: never another's by e-mail (the order of the rules).
 */
static void
claim_all(struct build *b)
{
	const struct ft_user_list *l = b->in->ldap, *u = b->in->unmapped;
	size_t i;

	for (i = 0; i < l->n; i++) {
		claim(b, lookup(b, false, l->v[i].username));
		claim(b, lookup(b, true, l->v[i].uuid));
	}
	for (i = 0; u != NULL && i < u->n; i++) {
		claim(b, lookup(b, false, u->v[i].username));
		claim(b, lookup(b, false, u->v[i].login));
		claim(b, lookup(b, true, u->v[i].uuid));
	}
}

/* link_by = email: the index of unclaimed users by e-mail address. */
static int
index_mail(struct build *b)
{
	struct plan_mail m;
	int r;

	b->claimed = calloc(b->in->ftrack->n + 1, sizeof(*b->claimed));
	if (b->claimed == NULL)
		return FT_E_NOMEM;
	claim_all(b);
	r = plan_mail_build(&m, b->in->ftrack, b->claimed, b->in->ldap);
	if (r == FT_OK)
		b->mail = m;
	return r;
}

/* Mark LDAP entries that share a username with another entry. */
static int
find_twins(struct build *b)
{
	const struct ft_user_list *l = b->in->ldap;
	const struct ft_user **v =
		calloc(l->n + 1, sizeof(const struct ft_user *));
	size_t i;

	if (v == NULL)
		return FT_E_NOMEM;
	for (i = 0; i < l->n; i++)
		v[i] = &l->v[i];
	if (l->n > 1)
		qsort(v, l->n, sizeof(const struct ft_user *), cmp_name);
	for (i = 1; i < l->n; i++) {
		if (strcmp(v[i - 1]->username, v[i]->username) != 0)
			continue;
		b->twin[v[i - 1] - l->v] = true;
		b->twin[v[i] - l->v] = true;
	}
	free(v);
	return FT_OK;
}

static int
index_users(struct build *b)
{
	const struct ft_user_list *l = b->in->ftrack;
	size_t i;
	int r;

	b->by_name = calloc(l->n + 1, sizeof(const struct ft_user *));
	b->by_uuid = calloc(l->n + 1, sizeof(const struct ft_user *));
	b->seen = calloc(l->n + 1, sizeof(*b->seen));
	b->twin = calloc(b->in->ldap->n + 1, sizeof(*b->twin));
	if (!b->by_name || !b->by_uuid || !b->seen || !b->twin)
		return FT_E_NOMEM;
	for (i = 0; i < l->n; i++) {
		if (l->v[i].username != NULL)
			b->by_name[b->n_name++] = &l->v[i];
		if (l->v[i].uuid != NULL)
			b->by_uuid[b->n_uuid++] = &l->v[i];
	}
	if (b->n_name > 1)
		qsort(b->by_name, b->n_name, sizeof(const struct ft_user *),
		      cmp_name);
	if (b->n_uuid > 1)
		qsort(b->by_uuid, b->n_uuid, sizeof(const struct ft_user *),
		      cmp_uuid);
	r = find_twins(b);
	if (r == FT_OK && b->in->link_by_email)
		r = index_mail(b);
	return r;
}

/* An LDAP entry that is disabled: its ftrack user is a leaver. */
static int
plan_disabled(struct build *b, const struct ft_user *l, const struct ft_user *f)
{
	struct plan_action a;
	int r = account(b, f);

	if (r < 0 || f == NULL)
		return r;
	plan_missing(b->in->policy, b->in->api_user, f, &a);
	if (a.kind == PLAN_DEACTIVATE || a.kind == PLAN_DELETE)
		(void)snprintf(a.reason, sizeof(a.reason),
			       "disabled in LDAP (%s)", l->dn ? l->dn : "");
	return keep(b, &a);
}

/*
 * link_by = email, for an entry with no ftrack user by uuid marker or
 * username: its matches by e-mail into m, each kept (accounted for)
 * whatever the plan does with them: a conflict is left for a person.
 */
static void
match_email(struct build *b, const struct ft_user *l, struct plan_match *m)
{
	size_t i;

	if (!b->in->link_by_email || m->by_name != NULL || m->by_uuid != NULL ||
	    l->email == NULL || l->email[0] == '\0')
		return;
	m->n_email = plan_mail_matches(&b->mail, l->email);
	m->by_email = m->n_email ? b->mail.cand : NULL;
	m->email_twin = b->mail.twin[l - b->in->ldap->v];
	for (i = 0; i < m->n_email; i++)
		(void)account(b, b->mail.cand[i]);
}

/* The old account a reused login may relink (linked to another entry),
 * or NULL. */
static const struct ft_user *
relink_candidate(const struct build *b, const struct ft_user *l,
		 const struct plan_match *m)
{
	const struct ft_user *f = m->by_name;

	if (f == NULL && m->n_email > 0 && m->by_email != NULL)
		f = m->by_email[0];
	if (b->in->hand_made == NULL || f == NULL || m->by_uuid != NULL ||
	    f->uuid == NULL ||
	    (l->uuid != NULL && strcmp(f->uuid, l->uuid) == 0))
		return NULL;
	return f;
}

static int
plan_entry(struct build *b, const struct ft_user *l)
{
	struct plan_match m = {lookup(b, false, l->username),
			       lookup(b, true, l->uuid),
			       NULL,
			       0,
			       false,
			       NULL};
	const struct ft_user *old;
	struct plan_action a;
	int r;

	if (l->disabled)
		return plan_disabled(b, l, m.by_uuid ? m.by_uuid : m.by_name);
	r = account(b, m.by_name);
	if (r == FT_OK)
		r = account(b, m.by_uuid);
	if (r < 0)
		return r;
	if (b->twin[l - b->in->ldap->v]) {
		memset(&a, 0, sizeof(a));
		a.kind = PLAN_CONFLICT;
		a.ldap = l;
		(void)snprintf(a.reason, sizeof(a.reason),
			       "two LDAP entries map to '%s' (%s is one)",
			       l->username, l->dn ? l->dn : "?");
		return keep(b, &a);
	}
	match_email(b, l, &m);
	old = relink_candidate(b, l, &m);
	if (old != NULL)
		m.hand_made = b->in->hand_made(b->in->hand_made_ctx, old);
	plan_user_match(b->in->policy, b->in->api_user, l, &m,
			b->in->policy->reconcile_create, &a);
	return keep(b, &a);
}

/* A broken entry is still a person: their ftrack user is kept. */
static int
plan_unmapped(struct build *b, const struct ft_user *id)
{
	const struct ft_user *f = lookup(b, true, id->uuid);
	struct plan_action a;
	int r;

	if (f == NULL)
		f = lookup(b, false, id->username);
	if (f == NULL)
		f = lookup(b, false, id->login);
	if (id->uuid == NULL && id->username == NULL && id->login == NULL)
		b->unidentified++;
	if (f == NULL)
		return FT_OK;
	r = account(b, f);
	if (r < 0)
		return r;
	memset(&a, 0, sizeof(a));
	a.kind = PLAN_SKIP;
	a.ftrack = f;
	if (id->note != NULL)
		(void)snprintf(a.reason, sizeof(a.reason),
			       "kept: the transform failed: %s (%s)", id->note,
			       id->dn ? id->dn : "?");
	else
		(void)snprintf(a.reason, sizeof(a.reason),
			       "kept: its LDAP entry cannot be mapped (%s)",
			       id->dn ? id->dn : "?");
	return keep_listed(b, &a, true); /* listed: someone should fix it */
}

static int
add_unaccounted(struct build *b, const struct ft_user *f)
{
	struct plan_recon *p = b->p;
	int r = array_grow(&p->unaccounted, &b->ucap, p->n_unaccounted + 1,
			   sizeof(const struct ft_user *), 64, 0);

	if (r < 0)
		return r;
	p->unaccounted[p->n_unaccounted++] = f;
	return FT_OK;
}

static int
cmp_username(const void *a, const void *b)
{
	const struct ft_user *const *x = a, *const *y = b;

	return strcmp((*x)->username ? (*x)->username : "",
		      (*y)->username ? (*y)->username : "");
}

static int
plan_leavers(struct build *b)
{
	const struct ft_user_list *l = b->in->ftrack;
	struct plan_action a;
	size_t i;
	int r = FT_OK;

	for (i = 0; r == FT_OK && i < l->n; i++) {
		const struct ft_user *f = &l->v[i];

		if (f->id == NULL || b->seen[i])
			continue;
		plan_missing(b->in->policy, b->in->api_user, f, &a);
		r = keep(b, &a);
		if (r == FT_OK && f->uuid == NULL &&
		    plan_protected_reason(b->in->policy, b->in->api_user, f) ==
			    NULL)
			r = add_unaccounted(b, f);
	}
	return r;
}

static void guard(struct plan_recon *p, enum plan_guard_id id, bool ok,
		  bool forceable, const char *fmt, ...) FT_PRINTF(5, 6);

static void
guard(struct plan_recon *p, enum plan_guard_id id, bool ok, bool forceable,
      const char *fmt, ...)
{
	struct plan_guard *g = &p->guard[id];
	va_list ap;

	g->name = guard_names[id];
	g->ok = ok;
	g->forceable = forceable;
	va_start(ap, fmt);
	(void)vsnprintf(g->detail, sizeof(g->detail), fmt, ap);
	va_end(ap);
}

/* limit (count or percentage, rounded up) of base */
static unsigned long
limit_of(const struct limit *l, unsigned long base)
{
	if (!l->percent)
		return l->value;
	return (base * l->value + 99) / 100;
}

static void
guard_shrink(const struct plan_recon_input *in, struct plan_recon *p)
{
	unsigned long last = in->last_good, n = p->population;
	const struct limit *l = &in->policy->max_shrink;
	unsigned long shrink = last > n ? last - n : 0;
	/* rounded down: "shrank by more than 20%" must not pass at 20.5% */
	unsigned long limit = l->percent ? last * l->value / 100 : l->value;

	if (last == 0)
		guard(p, GUARD_MAX_SHRINK, true, true, "no earlier good run");
	else
		guard(p, GUARD_MAX_SHRINK, shrink <= limit, true,
		      "%lu entries, %lu at the last good run (limit: %lu%s "
		      "fewer)",
		      n, last, l->value, l->percent ? "%" : "");
}

static bool
ldap_has_enabled(const struct ft_user_list *l, const char *name)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		const struct ft_user *u = &l->v[i];

		if (!u->disabled &&
		    ((u->username && !strcmp(u->username, name)) ||
		     (u->login && !strcmp(u->login, name))))
			return true;
	}
	return false;
}

static void
guard_sentinels(const struct plan_recon_input *in, struct plan_recon *p)
{
	const struct strlist *s = &in->policy->sentinel_users;
	char missing[160] = "";
	size_t i, len;
	bool ok = true;

	for (i = 0; i < s->n; i++) {
		if (ldap_has_enabled(in->ldap, s->v[i]))
			continue;
		ok = false;
		len = strlen(missing);
		(void)snprintf(missing + len, sizeof(missing) - len, "%s'%s'",
			       len ? ", " : "", s->v[i]);
	}
	if (s->n == 0)
		guard(p, GUARD_SENTINELS, true, true, "none configured");
	else if (ok)
		guard(p, GUARD_SENTINELS, true, true, "all %zu present", s->n);
	else
		guard(p, GUARD_SENTINELS, false, true,
		      "missing or disabled in LDAP: %s", missing);
}

static void
guard_deactivate(const struct plan_recon_input *in, struct plan_recon *p)
{
	const struct limit *l = &in->policy->max_deactivate;
	unsigned long active = 0, leavers, limit;
	size_t i;

	for (i = 0; i < in->ftrack->n; i++)
		active += in->ftrack->v[i].is_active;
	leavers = p->count[PLAN_DEACTIVATE] + p->count[PLAN_DELETE];
	limit = limit_of(l, active);
	/* the setting spelt out: "limit 2 (2 of 8 active)" read as a share */
	if (l->percent)
		guard(p, GUARD_MAX_DEACTIVATE, leavers <= limit, true,
		      "%lu to deactivate or delete, limit %lu (max_deactivate "
		      "%lu%% of %lu active users, rounded up)",
		      leavers, limit, l->value, active);
	else
		guard(p, GUARD_MAX_DEACTIVATE, leavers <= limit, true,
		      "%lu to deactivate or delete, limit %lu (max_deactivate "
		      "%lu users; %lu active users)",
		      leavers, limit, l->value, active);
}

static void
check_guards(const struct plan_recon_input *in, struct plan_recon *p,
	     size_t unidentified)
{
	unsigned long n = p->population, min = in->policy->min_ldap_users;

	if (in->ldap_status == FT_OK && unidentified > 0)
		guard(p, GUARD_LDAP_COMPLETE, false, false,
		      "%zu entries can be neither mapped nor identified",
		      unidentified);
	else
		guard(p, GUARD_LDAP_COMPLETE, in->ldap_status == FT_OK, false,
		      "%s",
		      in->ldap_status == FT_OK ? "complete answer"
		      : in->ldap_reason && *in->ldap_reason
			      ? in->ldap_reason
			      : ft_strerror(in->ldap_status));
	guard(p, GUARD_NONEMPTY, n > 0, false, "%lu entries", n);
	guard(p, GUARD_MIN_USERS, n >= min, true, "%lu entries, minimum %lu", n,
	      min);
	guard_shrink(in, p);
	guard_sentinels(in, p);
	guard_deactivate(in, p);
}

int
plan_recon_build(const struct plan_recon_input *in, struct plan_recon *ret)
{
	struct build b = {.in = in, .p = ret};
	size_t i;
	int r;

	memset(ret, 0, sizeof(*ret));
	ret->population = in->ldap->n; /* entries mapped, disabled included */
	r = index_users(&b);
	for (i = 0; r == FT_OK && i < in->ldap->n; i++)
		r = plan_entry(&b, &in->ldap->v[i]);
	for (i = 0; r == FT_OK && in->unmapped && i < in->unmapped->n; i++)
		r = plan_unmapped(&b, &in->unmapped->v[i]);
	if (r == FT_OK)
		r = plan_leavers(&b);
	free(b.by_name);
	free(b.by_uuid);
	free(b.twin);
	free(b.seen);
	plan_mail_free(&b.mail);
	free(b.claimed);
	if (r < 0) {
		plan_recon_free(ret);
		return r;
	}
	if (ret->n > 1)
		qsort(ret->v, ret->n, sizeof(*ret->v), cmp_action);
	if (ret->n_unaccounted > 1)
		qsort(ret->unaccounted, ret->n_unaccounted,
		      sizeof(const struct ft_user *), cmp_username);
	check_guards(in, ret, b.unidentified);
	return FT_OK;
}

void
plan_recon_free(struct plan_recon *p)
{
	free(p->v);
	free(p->unaccounted);
	memset(p, 0, sizeof(*p));
}

bool
plan_recon_held(const struct plan_recon *p, bool force)
{
	size_t i;

	for (i = 0; i < GUARD_COUNT; i++) {
		if (!p->guard[i].ok && (!force || !p->guard[i].forceable))
			return true;
	}
	return false;
}

size_t
plan_recon_changes(const struct plan_recon *p)
{
	return p->count[PLAN_CREATE] + p->count[PLAN_UPDATE] +
	       p->count[PLAN_LINK] + p->count[PLAN_RENAME] +
	       p->count[PLAN_REACTIVATE] + p->count[PLAN_DEACTIVATE] +
	       p->count[PLAN_DELETE];
}
