/* SPDX-License-Identifier: Apache-2.0 */
/* sync.c: provision a batch of logins: LDAP, plan, batched ftrack writes. */
#include "sync.h"
#include "timing.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ft_err.h"
#include "ftrack_api.h"
#include "ldap_src.h"
#include "plan_ops.h"
#include "sync_groups.h"
#include "transform.h"

struct sync {
	const struct config *cfg;
	struct ldap_src *ldap;
	struct ftrack_client *ft;
	struct transform *xf; /* [mapping] transform; NULL: none */
	unsigned long searches;
	sync_gate_fn gate;
	void *gate_ctx;
	struct hooks *hooks;
	struct hooks_origin origin;
	struct sync_groups_cache *groups; /* [group_map] names, read once */
	struct sync_groups_stats gstats;  /* the login path's counters */
};

/* The per-call state of sync_users(). */
struct round {
	size_t n;
	const char *const *logins;
	struct sync_result *res;
	struct ft_user *ldap;        /* [n] */
	bool *wanted;                /* [n]: found in LDAP, to plan */
	struct ft_user_list found;   /* ftrack users by username or uuid */
	struct ft_user_list mailed;  /* link_by = email: by e-mail address */
	const struct ft_user **cand; /* [mailed.n]: one person's matches */
	struct plan_action *act;     /* [n] */
	int *codes;                  /* [n]: how its writes went */
	char **msgs;                 /* [n]: ftrack's words for a failure */
	size_t *same;                /* [n]: index of the first equal login */
};

const char *
sync_outcome_name(enum sync_outcome o)
{
	static const char *const names[] = {
		"created",          "updated",   "linked",   "renamed",
		"reactivated",      "unchanged", "not-ldap", "skipped",
		"waiting-for-seat", "held",      "retry",    "failed",
	};

	if ((unsigned)o >= sizeof(names) / sizeof(names[0]))
		return "?";
	return names[o];
}

int
sync_new(const struct config *cfg, struct sync **ret, char *err, size_t errlen)
{
	struct sync *s = calloc(1, sizeof(*s));
	int r;

	if (s == NULL)
		return FT_E_NOMEM;
	s->cfg = cfg;
	r = ldap_src_new(cfg, &s->ldap);
	if (r == FT_OK)
		r = ftrack_client_new(cfg, &s->ft);
	if (r == FT_OK && transform_configured(cfg))
		r = transform_new(cfg, NULL, &s->xf);
	if (r < 0) {
		(void)snprintf(err, errlen, "unable to set up: %s",
			       ft_strerror(r));
		sync_free(s);
		return r;
	}
	*ret = s;
	return FT_OK;
}

void
sync_set_hooks(struct sync *s, struct hooks *h, const struct hooks_origin *o)
{
	s->hooks = h;
	if (o != NULL)
		s->origin = *o;
}

void
sync_set_gate(struct sync *s, sync_gate_fn fn, void *ctx)
{
	s->gate = fn;
	s->gate_ctx = ctx;
}

void
sync_free(struct sync *s)
{
	if (s == NULL)
		return;
	ldap_src_free(s->ldap);
	ftrack_client_free(s->ft);
	sync_groups_cache_free(s->groups);
	transform_free(s->xf);
	free(s);
}

void
sync_counts(const struct sync *s, unsigned long *ret_ldap_searches,
	    unsigned long *ret_http_requests)
{
	struct ftrack_stats st;

	ftrack_client_stats(s->ft, &st);
	*ret_ldap_searches = s->searches;
	*ret_http_requests = st.requests;
}

bool
sync_transform_stats(const struct sync *s, struct transform_stats *ret)
{
	if (s->xf == NULL)
		return false;
	transform_stats(s->xf, ret);
	return true;
}

bool
sync_groups_stats(const struct sync *s, struct sync_groups_stats *ret)
{
	if (!sync_groups_enabled(s->cfg))
		return false;
	*ret = s->gstats;
	return true;
}

void
sync_groups_refresh(struct sync *s)
{
	sync_groups_cache_free(s->groups);
	s->groups = NULL;
}

/* Set one outcome; text is cut to fit. */
static void
result(struct sync_result *r, enum sync_outcome o, int err, const char *text)
{
	size_t len = strnlen(text, sizeof(r->detail) - 1);

	r->outcome = o;
	r->err = err;
	memcpy(r->detail, text, len);
	r->detail[len] = '\0';
}

/* Step 1: look every login up in LDAP. */
static void
round_lookup(struct sync *s, struct round *rd)
{
	char err[LDAP_SRC_REASON_MAX];
	bool down = false;
	size_t i;
	int r;

	for (i = 0; i < rd->n; i++) {
		struct sync_result *res = &rd->res[i];

		if (rd->same[i] != i)
			continue; /* a repeat: gets the first one's outcome */
		if (down) {
			result(res, SYNC_RETRY, FT_E_LDAP_DOWN,
			       "LDAP unreachable");
			continue;
		}
		s->searches++;
		r = ldap_src_lookup(s->ldap, rd->logins[i], &rd->ldap[i], err,
				    sizeof(err));
		if (r == FT_OK && rd->ldap[i].disabled)
			result(res, SYNC_NOT_LDAP, FT_OK, "disabled in LDAP");
		else if (r == FT_OK)
			rd->wanted[i] = true;
		else if (r == FT_E_NOTFOUND)
			result(res, SYNC_NOT_LDAP, FT_E_NOTFOUND,
			       "not in LDAP");
		else if (!ft_err_transient(r))
			result(res, SYNC_FAILED, r, err);
		else {
			result(res, SYNC_RETRY, r, err);
			down = r == FT_E_LDAP_DOWN;
		}
	}
}

/* One transform verdict into login i's outcome (USE: still wanted). */
static void
transform_outcome(struct round *rd, size_t i, const struct transform_item *it)
{
	char text[TRANSFORM_REASON_MAX + 32]; /* result() cuts it to fit */

	if (it->verdict == TRANSFORM_USE)
		return;
	rd->wanted[i] = false;
	(void)snprintf(text, sizeof(text), "%s: %s",
		       it->verdict == TRANSFORM_SKIP
			       ? "skipped by the transform"
			       : "the transform failed",
		       it->reason);
	if (it->verdict == TRANSFORM_SKIP)
		result(&rd->res[i], SYNC_NOT_LDAP, FT_E_NOTFOUND, text);
	else
		result(&rd->res[i], SYNC_FAILED, FT_E_INVAL, text);
}

/*
 * Step 1b: the transform over the users found.  An outage leaves every
 * one of them to retry (FT_E_AGAIN), as LDAP down does.
 */
static void
round_transform(struct sync *s, struct round *rd)
{
	struct transform_item *it;
	char err[TRANSFORM_REASON_MAX] = "out of memory";
	size_t i, k = 0;
	int r = FT_E_NOMEM;

	if (s->xf == NULL)
		return;
	it = calloc(rd->n + 1, sizeof(*it));
	if (it != NULL) {
		for (i = 0; i < rd->n; i++)
			if (rd->wanted[i])
				it[k++].user = &rd->ldap[i];
		r = k == 0 ? FT_OK
			   : transform_run(s->xf, it, k, err, sizeof(err));
	}
	for (i = 0, k = 0; i < rd->n; i++) {
		if (!rd->wanted[i])
			continue;
		if (r == FT_OK) {
			transform_outcome(rd, i, &it[k++]);
			continue;
		}
		rd->wanted[i] = false;
		result(&rd->res[i], SYNC_RETRY,
		       r == FT_E_NOMEM ? FT_E_NOMEM : FT_E_AGAIN, err);
	}
	free(it);
}

/* Every wanted user's username (or uuid), for the ftrack look-ups. */
static size_t
round_keys(const struct round *rd, bool uuid, const char **keys)
{
	size_t i, k = 0;

	for (i = 0; i < rd->n; i++) {
		const struct ft_user *u = &rd->ldap[i];

		if (rd->wanted[i] && (uuid ? u->uuid : u->username) != NULL)
			keys[k++] = uuid ? u->uuid : u->username;
	}
	return k;
}

static void
round_fail_wanted(struct round *rd, int r, const char *err)
{
	size_t i;

	for (i = 0; i < rd->n; i++) {
		if (!rd->wanted[i])
			continue;
		rd->wanted[i] = false;
		result(&rd->res[i],
		       ft_err_transient(r) ? SYNC_RETRY : SYNC_FAILED, r, err);
	}
}

/* Step 2: the ftrack users by username and by uuid marker. */
static void
round_fetch(struct sync *s, struct round *rd)
{
	const char **names = calloc(rd->n + 1, sizeof(*names));
	const char **uuids = calloc(rd->n + 1, sizeof(*uuids));
	char err[512] = "out of memory";
	int r = FT_E_NOMEM;

	if (names != NULL && uuids != NULL) {
		size_t nn = round_keys(rd, false, names);
		size_t nu = round_keys(rd, true, uuids);

		r = nn + nu == 0
			    ? FT_OK
			    : ftrack_users_lookup(s->ft, names, nn, uuids, nu,
						  &rd->found, err, sizeof(err));
	}
	if (r < 0)
		round_fail_wanted(rd, r, err);
	free(names);
	free(uuids);
}

static const struct ft_user *
find_user(const struct ft_user_list *l, const char *name, const char *uuid)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		const struct ft_user *u = &l->v[i];

		if (name != NULL && u->username && !strcmp(u->username, name))
			return u;
		if (uuid != NULL && u->uuid && !strcmp(u->uuid, uuid))
			return u;
	}
	return NULL;
}

/*
 * link_by = email: does login i need its e-mail candidates (no ftrack user
 * by uuid marker or by username, and an address to look for)?
 */
static bool
wants_email(const struct sync *s, const struct round *rd, size_t i)
{
	const struct ft_user *l = &rd->ldap[i];

	return s->cfg->ftrack.link_by == LINK_BY_EMAIL && rd->wanted[i] &&
	       l->email != NULL && l->email[0] != '\0' &&
	       find_user(&rd->found, l->username, NULL) == NULL &&
	       find_user(&rd->found, NULL, l->uuid) == NULL;
}

/* The addresses of the logins that need their e-mail candidates. */
static size_t
round_emails(const struct sync *s, const struct round *rd, const char **mails)
{
	size_t i, k = 0;

	for (i = 0; i < rd->n; i++)
		if (wants_email(s, rd, i))
			mails[k++] = rd->ldap[i].email;
	return k;
}

/* Step 2b: the ftrack users with the e-mail of those not found. */
static void
round_fetch_email(struct sync *s, struct round *rd)
{
	const char **mails = calloc(rd->n + 1, sizeof(*mails));
	char err[512] = "out of memory";
	int r = FT_E_NOMEM;

	if (mails != NULL) {
		size_t k = round_emails(s, rd, mails);

		r = k == 0 ? FT_OK
			   : ftrack_users_by_email(s->ft, mails, k, &rd->mailed,
						   err, sizeof(err));
	}
	/* room for every user found: any number may share one address */
	if (r == FT_OK) {
		rd->cand = calloc(rd->mailed.n + 1,
				  sizeof(const struct ft_user *));
		r = rd->cand != NULL ? FT_OK : FT_E_NOMEM;
	}
	if (r < 0)
		round_fail_wanted(rd, r, err);
	free(mails);
}

/* Does another login of the round have the e-mail address of login i? */
static bool
email_twin(const struct round *rd, size_t i)
{
	size_t j;

	for (j = 0; j < rd->n; j++)
		if (j != i && rd->wanted[j] && rd->ldap[j].email != NULL &&
		    ft_email_cmp(rd->ldap[j].email, rd->ldap[i].email) == 0)
			return true;
	return false;
}

/* The candidates of l by e-mail into rd->cand; their number. */
static size_t
email_candidates(const struct round *rd, const struct ft_user *l)
{
	size_t i, k = 0;

	for (i = 0; l->email != NULL && i < rd->mailed.n; i++)
		if (rd->mailed.v[i].email != NULL &&
		    ft_email_cmp(rd->mailed.v[i].email, l->email) == 0)
			rd->cand[k++] = &rd->mailed.v[i];
	return k;
}

/* Whether action a takes a seat: a create, or an inactive user activated. */
static bool
costs_seat(const struct plan_action *a)
{
	return a->kind == PLAN_CREATE || (a->fields & PLAN_F_ACTIVATE) != 0;
}

/* Step 3b: the seat gate, before any write, for the plans that cost one. */
static void
round_gate(struct sync *s, struct round *rd)
{
	char why[PLAN_REASON_MAX];
	size_t i;

	for (i = 0; s->gate != NULL && i < rd->n; i++) {
		if (!rd->wanted[i] || !costs_seat(&rd->act[i]))
			continue;
		why[0] = '\0';
		if (s->gate(s->gate_ctx, i, rd->act[i].kind, why, sizeof(why)))
			continue;
		rd->wanted[i] = false;
		result(&rd->res[i], SYNC_HELD, FT_OK,
		       why[0] != '\0' ? why : "a seat cap");
	}
}

/* Step 3: decide, and write the decisions. */
static void
round_plan(struct sync *s, struct round *rd)
{
	const struct config *cfg = s->cfg;
	struct hooks_intent *in;
	char err[512];
	size_t i;

	for (i = 0; i < rd->n; i++) {
		const struct ft_user *l = &rd->ldap[i];
		struct plan_match m = {NULL, NULL, NULL, 0, false, NULL};

		if (!rd->wanted[i])
			continue;
		m.by_name = find_user(&rd->found, l->username, NULL);
		m.by_uuid = find_user(&rd->found, NULL, l->uuid);
		if (m.by_name == NULL && m.by_uuid == NULL)
			m.n_email = email_candidates(rd, l);
		m.by_email = m.n_email ? rd->cand : NULL;
		m.email_twin = m.n_email > 0 && email_twin(rd, i);
		plan_user_match(&cfg->policy, cfg->ftrack.api_user, l, &m,
				cfg->policy.on_login == ON_LOGIN_CREATE,
				&rd->act[i]);
	}
	round_gate(s, rd);
	in = hooks_intend(s->hooks, rd->act, rd->wanted, rd->n, &s->origin);
	/* the per-person codes say it all: the commit's failure is one */
	(void)plan_ops_write(s->ft, rd->act, rd->wanted, rd->n, rd->codes,
			     rd->msgs, err, sizeof(err));
	hooks_applied(s->hooks, in, rd->codes);
}

static enum sync_outcome
outcome_of(enum plan_kind kind)
{
	switch (kind) {
	case PLAN_CREATE:
		return SYNC_CREATED;
	case PLAN_LINK:
		return SYNC_LINKED;
	case PLAN_RENAME:
		return SYNC_RENAMED;
	case PLAN_REACTIVATE:
		return SYNC_REACTIVATED;
	case PLAN_UPDATE:
	case PLAN_DEACTIVATE:
	case PLAN_DELETE:
		return SYNC_UPDATED;
	case PLAN_NONE:
		return SYNC_UNCHANGED;
	case PLAN_CONFLICT:
		return SYNC_FAILED;
	case PLAN_SKIP:
		break;
	}
	return SYNC_SKIPPED;
}

/* Step 4: each user's outcome from how their writes went. */
static void
round_settle(struct round *rd)
{
	size_t i;

	for (i = 0; i < rd->n; i++) {
		const struct plan_action *a = &rd->act[i];
		int code = rd->codes[i];

		if (!rd->wanted[i])
			continue;
		if (code == FT_OK)
			result(&rd->res[i], outcome_of(a->kind),
			       a->kind == PLAN_CONFLICT ? FT_E_CONFLICT : FT_OK,
			       a->reason);
		else if (code == FT_E_SEAT)
			result(&rd->res[i], SYNC_SEAT_WAITING, code,
			       rd->msgs[i] ? rd->msgs[i] : ft_strerror(code));
		else
			result(&rd->res[i],
			       ft_err_transient(code) ? SYNC_RETRY
						      : SYNC_FAILED,
			       code,
			       rd->msgs[i] ? rd->msgs[i] : ft_strerror(code));
	}
}

/* The ftrack id of login i's user after its writes, or NULL. */
static const char *
written_id(const struct round *rd, size_t i, char id[37])
{
	const struct plan_action *a = &rd->act[i];

	if (!rd->wanted[i] || rd->codes[i] != FT_OK)
		return NULL;
	switch (a->kind) {
	case PLAN_CREATE:
		return a->ldap->uuid != NULL &&
				       ftrack_user_id_for(a->ldap->uuid, id) ==
					       FT_OK
			       ? id
			       : NULL;
	case PLAN_LINK:
	case PLAN_RENAME:
	case PLAN_REACTIVATE:
	case PLAN_UPDATE:
	case PLAN_NONE:
		/* managed users only (a link adds the marker) */
		return a->ftrack != NULL && (a->kind == PLAN_LINK ||
					     a->ftrack->uuid != NULL)
			       ? a->ftrack->id
			       : NULL;
	case PLAN_DEACTIVATE:
	case PLAN_DELETE:
	case PLAN_CONFLICT:
	case PLAN_SKIP:
		break;
	}
	return NULL;
}

/*
 * Step 5 ([group_map], [role_map]): the memberships and roles of each
 * person written, added in the same call; a failure is noted in the
 * detail (the user itself is provisioned; the next login or reconcile
 * adds what is missing).
 */
static void
round_groups(struct sync *s, struct round *rd)
{
	const struct ft_user **people =
		calloc(rd->n + 1, sizeof(const struct ft_user *));
	const char **ids = calloc(rd->n + 1, sizeof(*ids));
	char(*idbuf)[37] = calloc(rd->n + 1, sizeof(*idbuf));
	size_t *changes = calloc(rd->n + 1, sizeof(*changes));
	bool *created = calloc(rd->n + 1, sizeof(*created));
	char err[256] = "";
	size_t i;
	int r = people && ids && idbuf && changes && created ? FT_OK
							     : FT_E_NOMEM;

	for (i = 0; r == FT_OK && i < rd->n; i++) {
		ids[i] = written_id(rd, i, idbuf[i]);
		people[i] = &rd->ldap[i];
		created[i] = ids[i] != NULL && rd->act[i].kind == PLAN_CREATE;
	}
	if (r == FT_OK)
		r = sync_groups_login(s->cfg, s->ldap, s->ft, &s->groups,
				      people, ids, created, rd->n, s->hooks,
				      &s->origin, &s->gstats, changes,
				      &s->searches, err, sizeof(err));
	for (i = 0; ids != NULL && changes != NULL && i < rd->n; i++) {
		size_t len = strlen(rd->res[i].detail);

		if (ids[i] == NULL || (r == FT_OK && changes[i] == 0))
			continue;
		if (r < 0)
			(void)snprintf(rd->res[i].detail + len,
				       sizeof(rd->res[i].detail) - len,
				       " (groups and roles not added: %s)",
				       err[0] ? err : ft_strerror(r));
		else
			(void)snprintf(rd->res[i].detail + len,
				       sizeof(rd->res[i].detail) - len,
				       " (%zu group and role addition(s))",
				       changes[i]);
	}
	free(changes);
	free(created);
	free(people);
	free(ids);
	free(idbuf);
}

static void
round_free(struct round *rd)
{
	size_t i;

	for (i = 0; rd->ldap != NULL && i < rd->n; i++)
		ft_user_clear(&rd->ldap[i]);
	ft_user_list_clear(&rd->found);
	ft_user_list_clear(&rd->mailed);
	free(rd->cand);
	free(rd->ldap);
	free(rd->wanted);
	free(rd->act);
	for (i = 0; rd->msgs != NULL && i < rd->n; i++)
		free(rd->msgs[i]);
	free(rd->codes);
	free(rd->msgs);
	free(rd->same);
}

/* Mark repeated logins, so that each person is provisioned once. */
static void
round_dedup(struct round *rd)
{
	size_t i, j;

	for (i = 0; i < rd->n; i++) {
		rd->same[i] = i;
		for (j = 0; j < i; j++) {
			if (strcmp(rd->logins[i], rd->logins[j]) == 0) {
				rd->same[i] = j;
				break;
			}
		}
	}
}

void
sync_users(struct sync *s, const char *const logins[], size_t n,
	   struct sync_result *results)
{
	struct round rd = {.n = n, .logins = logins, .res = results};
	size_t i;

	rd.ldap = calloc(n + 1, sizeof(*rd.ldap));
	rd.wanted = calloc(n + 1, sizeof(*rd.wanted));
	rd.act = calloc(n + 1, sizeof(*rd.act));
	rd.codes = calloc(n + 1, sizeof(*rd.codes));
	rd.msgs = calloc(n + 1, sizeof(*rd.msgs));
	rd.same = calloc(n + 1, sizeof(*rd.same));
	if (!rd.ldap || !rd.wanted || !rd.act || !rd.codes || !rd.msgs ||
	    !rd.same) {
		for (i = 0; i < n; i++)
			result(&results[i], SYNC_RETRY, FT_E_NOMEM,
			       "out of memory");
		goto out;
	}
	round_dedup(&rd);
	round_lookup(s, &rd);
	round_transform(s, &rd);
	round_fetch(s, &rd);
	round_fetch_email(s, &rd);
	round_plan(s, &rd);
	round_settle(&rd);
	if (sync_groups_enabled(s->cfg))
		round_groups(s, &rd);
	for (i = 0; i < n; i++)
		results[i] = results[rd.same[i]];
out:
	round_free(&rd);
}
