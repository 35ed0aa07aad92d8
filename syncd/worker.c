/* SPDX-License-Identifier: Apache-2.0 */
/* worker.c: the provisioning thread: batches, retries, queue upkeep. */
#include "worker.h"
#include "timing.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "array.h"
#include "ft_err.h"
#include "log.h"
#include "login.h"
#include "seats.h"
#include "umap.h"

#define WORKER_BATCH   200   /* logins per sync_users() call */
#define SWEEP_EVERY_MS 60000 /* forget cooled users this often */

struct pending {
	uint64_t due_ms;
	unsigned attempts;
	bool in_flight;
	bool ready;
	bool seat_waiting; /* the last try: no free seat in the licence */
	bool local;        /* worker_login(): a datagram, held in memory */
	uint64_t early_ms; /* no earlier retry for a login before */
};

struct worker {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t thread;
	bool started;
	bool stop;
	bool groups_stale;             /* forget the cached group names */
	const struct config *cfg;      /* in use by the thread */
	const struct config *next_cfg; /* adopted at the next batch */
	struct queue *q;
	struct umap *pending; /* user -> struct pending */
	struct umap *recent;  /* user -> provisioned at (ms, as a pointer) */
	char **ready;         /* FIFO of users due now (owned strings) */
	size_t ready_head, ready_n, ready_cap;
	uint64_t next_retry_ms;
	uint64_t next_sweep_ms;
	uint64_t rnd;
	struct worker_stats st;
	struct sync *sync;                /* the thread's own */
	struct hooks *hooks;              /* the thread's, made with sync */
	unsigned long long hooks_dropped; /* by the journals freed */
	struct sync_result *results;      /* WORKER_BATCH of them */
	struct seats *seats;              /* the seat caps (provisioner) */
	char (*hosts)[FT_HOST_MAX + 1];   /* WORKER_BATCH: host= of each */
	bool *took;                 /* WORKER_BATCH: the gate counted a seat */
	bool *local;                /* WORKER_BATCH: pending.local of each */
	bool *gone;                 /* WORKER_BATCH: not local, no queue file */
	time_t next_release;        /* held/ is looked at again then */
	uint64_t held_next_ms;      /* no held warning before */
	unsigned long held_quiet;   /* held lines at debug since then */
	uint64_t linger_ms;         /* WORKER_LINGER_MS (provisioner) */
	uint64_t not_ldap_every_ms; /* WORKER_NOT_LDAP_EVERY_MS */
	uint64_t not_ldap_next_ms;  /* the thread's: no info line before */
	unsigned long not_ldap_quiet; /* not-ldap lines at debug since then */
};

static int
ready_push(struct worker *w, const char *user)
{
	char *copy;

	if (w->ready_head > 0 && w->ready_head + w->ready_n == w->ready_cap) {
		/* compact before growing */
		memmove(w->ready, w->ready + w->ready_head,
			w->ready_n * sizeof(*w->ready));
		w->ready_head = 0;
	}
	if (array_grow(&w->ready, &w->ready_cap, w->ready_n + 1,
		       sizeof(*w->ready), 256, 0) < 0)
		return FT_E_NOMEM;
	copy = strdup(user);
	if (copy == NULL)
		return FT_E_NOMEM;
	w->ready[w->ready_head + w->ready_n++] = copy;
	return FT_OK;
}

static char *
ready_pop(struct worker *w)
{
	char *user = w->ready[w->ready_head++];

	if (--w->ready_n == 0)
		w->ready_head = 0;
	return user;
}

/* The seat budget of state_dir (a damaged seats file starts from zero). */
static int
open_seats(struct worker *w, const struct config *cfg, struct queue *q)
{
	const char *why = NULL;
	int r;

	r = seats_open(queue_state_dirfd(q),
		       cfg->provisioner.new_seats_per_host,
		       cfg->provisioner.new_seats_total, 0, time(NULL),
		       &w->seats, &why);
	if (r == FT_E_PROTO)
		log_warn("seat counts (%s) unreadable, starting from zero: %s",
			 SEATS_FILE, why != NULL ? why : "damaged");
	return r == FT_E_NOMEM ? r : FT_OK;
}

void
worker_set_seat_period(struct worker *w, long seconds)
{
	const char *why = NULL;
	struct seats *s = NULL;

	if (seats_open(queue_state_dirfd(w->q),
		       w->cfg->provisioner.new_seats_per_host,
		       w->cfg->provisioner.new_seats_total, seconds, time(NULL),
		       &s, &why) == FT_E_NOMEM)
		return;
	seats_free(w->seats);
	w->seats = s;
}

int
worker_new(const struct config *cfg, struct queue *q, struct worker **ret)
{
	struct worker *w = calloc(1, sizeof(*w));
	pthread_condattr_t ca;

	if (w == NULL)
		return FT_E_NOMEM;
	w->cfg = cfg;
	w->q = q;
	w->rnd = timing_seed();
	w->next_retry_ms = UINT64_MAX;
	w->linger_ms = WORKER_LINGER_MS;
	w->not_ldap_every_ms = WORKER_NOT_LDAP_EVERY_MS;
	w->st.ldap_up = w->st.ftrack_up = true;
	w->pending = umap_new();
	w->recent = umap_new();
	w->results = calloc(WORKER_BATCH, sizeof(*w->results));
	w->hosts = calloc(WORKER_BATCH, sizeof(*w->hosts));
	w->took = calloc(WORKER_BATCH, sizeof(*w->took));
	w->local = calloc(WORKER_BATCH, sizeof(*w->local));
	w->gone = calloc(WORKER_BATCH, sizeof(*w->gone));
	if (w->pending == NULL || w->recent == NULL || w->results == NULL ||
	    w->hosts == NULL || w->took == NULL || w->local == NULL ||
	    w->gone == NULL || open_seats(w, cfg, q) < 0) {
		worker_free(w);
		return FT_E_NOMEM;
	}
	(void)pthread_mutex_init(&w->mu, NULL);
	(void)pthread_condattr_init(&ca);
	(void)pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	(void)pthread_cond_init(&w->cv, &ca);
	(void)pthread_condattr_destroy(&ca);
	*ret = w;
	return FT_OK;
}

static void
wait_until(struct worker *w, uint64_t when_ms)
{
	struct timespec ts;

	ts.tv_sec = (time_t)(when_ms / 1000u);
	ts.tv_nsec = (long)(when_ms % 1000u) * 1000000L;
	(void)pthread_cond_timedwait(&w->cv, &w->mu, &ts);
}

struct retry_scan {
	struct worker *w;
	uint64_t now;
	uint64_t next;
	int err;
};

static int
collect_one(void *ctx, const char *user, void *val)
{
	struct retry_scan *rs = ctx;
	struct pending *p = val;

	if (p->in_flight || p->ready)
		return 0;
	if (p->due_ms > rs->now) {
		if (p->due_ms < rs->next)
			rs->next = p->due_ms;
		return 0;
	}
	rs->err = ready_push(rs->w, user);
	if (rs->err == FT_OK)
		p->ready = true;
	return rs->err;
}

/* Move the retries that are due to the ready FIFO. */
static void
collect_retries(struct worker *w, uint64_t now)
{
	struct retry_scan rs = {w, now, UINT64_MAX, FT_OK};

	(void)umap_each(w->pending, collect_one, &rs);
	/* on OOM try again in a second rather than spin */
	w->next_retry_ms = rs.err == FT_OK ? rs.next : now + 1000;
}

struct sweep_ctx {
	const struct umap *m;
	uint64_t limit;
	char **names;
	size_t n, cap;
};

static int
sweep_collect(void *ctx, const char *user, void *val)
{
	struct sweep_ctx *sc = ctx;

	(void)val;
	if (umap_get_num(sc->m, user) >= sc->limit || sc->n == sc->cap)
		return 0;
	sc->names[sc->n] = strdup(user);
	if (sc->names[sc->n] != NULL)
		sc->n++;
	return 0;
}

/* Forget users whose cooldown is over, so the map stays bounded. */
static void
sweep_recent(struct worker *w, uint64_t now)
{
	uint64_t cool = w->cfg->policy.login_cooldown * 1000u;
	struct sweep_ctx sc = {w->recent, now > cool ? now - cool : 0, NULL, 0,
			       0};
	size_t i;

	w->next_sweep_ms = now + SWEEP_EVERY_MS;
	sc.cap = umap_size(w->recent);
	if (sc.cap == 0)
		return;
	sc.names = calloc(sc.cap, sizeof(*sc.names));
	if (sc.names == NULL)
		return;
	(void)umap_each(w->recent, sweep_collect, &sc);
	for (i = 0; i < sc.n; i++) {
		(void)umap_del(w->recent, sc.names[i]);
		free(sc.names[i]);
	}
	free(sc.names);
}

/* Under the lock: wait for due users and take up to max of them. */
static size_t
take_batch(struct worker *w, char **batch, size_t max)
{
	size_t n = 0;

	while (!w->stop && w->next_cfg == NULL) {
		uint64_t now = timing_now_ms(), wake;

		if (now >= w->next_sweep_ms)
			sweep_recent(w, now);
		if (now >= w->next_retry_ms)
			collect_retries(w, now);
		if (w->ready_n > 0 || time(NULL) >= w->next_release)
			break;
		wake = now + 1000;
		if (w->next_retry_ms < wake)
			wake = w->next_retry_ms;
		wait_until(w, wake);
	}
	/* a provisioner gathers a batch for up to linger_ms (worker.h) */
	if (w->cfg->daemon.mode == MODE_PROVISIONER && w->ready_n > 0 &&
	    w->ready_n < max) {
		uint64_t until = timing_now_ms() + w->linger_ms;

		while (!w->stop && w->next_cfg == NULL && w->ready_n < max &&
		       timing_now_ms() < until)
			wait_until(w, until);
	}
	while (!w->stop && w->next_cfg == NULL && n < max && w->ready_n > 0) {
		struct pending *p;

		batch[n] = ready_pop(w);
		p = umap_get(w->pending, batch[n]);
		if (p == NULL) { /* cannot happen; be safe */
			free(batch[n]);
			continue;
		}
		p->ready = false;
		p->in_flight = true;
		w->local[n] = p->local;
		n++;
	}
	return n;
}

static int
log_prio(enum sync_outcome o)
{
	switch (o) {
	case SYNC_UNCHANGED:
	case SYNC_NOT_LDAP: /* log_not_ldap(): at info, rate-limited */
		return LOG_DEBUG;
	case SYNC_SEAT_WAITING:
	case SYNC_HELD: /* log_held(): at warning, rate-limited */
	case SYNC_RETRY:
		return LOG_WARNING;
	case SYNC_FAILED:
		return LOG_ERR;
	case SYNC_CREATED:
	case SYNC_UPDATED:
	case SYNC_LINKED:
	case SYNC_RENAMED:
	case SYNC_REACTIVATED:
	case SYNC_SKIPPED:
		break;
	}
	return LOG_INFO;
}

/* File work for one result, under the lock (see worker_main). */
static void
settle_file(struct worker *w, const char *user, const struct sync_result *r)
{
	int e;

	if (r->outcome == SYNC_RETRY || r->outcome == SYNC_SEAT_WAITING)
		return;
	if (r->outcome == SYNC_HELD)
		e = queue_hold(w->q, user, r->detail);
	else if (r->outcome == SYNC_FAILED)
		e = queue_fail(w->q, user, r->detail);
	else
		e = queue_remove(w->q, user);
	if (e < 0 && e != FT_E_NOTFOUND)
		log_error("unable to update the queue file of '%s': %s", user,
			  e == FT_E_IO ? strerror(errno) : ft_strerror(e));
}

/* Under the lock: whether p waits for a seat, kept in the count. */
static void
set_seat_waiting(struct worker *w, struct pending *p, bool yes)
{
	if (p->seat_waiting == yes)
		return;
	p->seat_waiting = yes;
	if (yes)
		w->st.seat_waiting++;
	else
		w->st.seat_waiting--;
}

/* Under the lock: p is tried again after the back-off. */
static void
schedule_retry(struct worker *w, struct pending *p, uint64_t now)
{
	p->due_ms = now + queue_backoff_ms(p->attempts, timing_rand(&w->rnd));
	p->attempts++;
	p->in_flight = false;
	if (p->due_ms < w->next_retry_ms)
		w->next_retry_ms = p->due_ms;
}

/* Under the lock: record one result in the maps and counters. */
static void
settle_state(struct worker *w, char *user, const struct sync_result *r,
	     uint64_t now)
{
	struct pending *p = umap_get(w->pending, user);
	bool again =
		r->outcome == SYNC_RETRY || r->outcome == SYNC_SEAT_WAITING;

	w->st.outcomes[r->outcome]++;
	if (r->outcome == SYNC_RETRY || r->outcome == SYNC_FAILED)
		w->st.errors[metrics_error_kind(r->err)]++;
	if (again && p != NULL) {
		set_seat_waiting(w, p, r->outcome == SYNC_SEAT_WAITING);
		schedule_retry(w, p, now);
		if (r->err == FT_E_LDAP_DOWN)
			w->st.ldap_up = false;
		else if (r->err == FT_E_HTTP || r->err == FT_E_MALFORMED)
			w->st.ftrack_up = false;
		else if (r->outcome == SYNC_SEAT_WAITING)
			w->st.ldap_up = w->st.ftrack_up = true;
		return;
	}
	if (p != NULL)
		set_seat_waiting(w, p, false);
	free(umap_del(w->pending, user));
	if (r->outcome != SYNC_FAILED && r->outcome != SYNC_HELD &&
	    umap_put_num(w->recent, user, now) < 0)
		log_warn("out of memory: '%s' may be looked up again", user);
	if (r->outcome != SYNC_FAILED) {
		w->st.ldap_up = true;
		if (r->outcome != SYNC_NOT_LDAP)
			w->st.ftrack_up = true;
	}
}

/* The host= of each user's queue file ("" for a local login or none). */
static void
load_hosts(struct worker *w, char **batch, size_t n)
{
	struct ft_event ev;
	size_t i;

	for (i = 0; i < n; i++) {
		w->hosts[i][0] = '\0';
		w->took[i] = false;
		w->gone[i] = false;
		if (queue_load(w->q, batch[i], &ev) == FT_OK)
			(void)snprintf(w->hosts[i], sizeof(w->hosts[i]), "%.*s",
				       FT_HOST_MAX, ev.host);
		else
			w->gone[i] = !w->local[i];
	}
}

/* sync's seat gate: a login a host reported takes a seat of its caps. */
static bool
seat_gate(void *ctx, size_t i, enum plan_kind kind, char *why, size_t whylen)
{
	struct worker *w = ctx;

	(void)kind;
	if (w->gone[i] && w->cfg->daemon.mode == MODE_PROVISIONER) {
		/* its file was settled meanwhile (moved to held/ by an
		 * earlier batch): its host is unknown, never taken as local */
		(void)snprintf(why, whylen,
			       "its queue file is gone (held or settled by an "
			       "earlier batch)");
		(void)snprintf(w->hosts[i], sizeof(w->hosts[i]), "unknown");
		return false;
	}
	if (w->hosts[i][0] == '\0')
		return true; /* a local login: an administrator's machine */
	w->took[i] = seats_take(w->seats, w->hosts[i], time(NULL), why, whylen);
	return w->took[i];
}

/* The seats counted for writes that did not happen go back. */
static void
refund_seats(struct worker *w, size_t n)
{
	time_t now = time(NULL);
	size_t i;

	for (i = 0; i < n; i++) {
		enum sync_outcome o = w->results[i].outcome;

		if (w->took[i] && (o == SYNC_RETRY || o == SYNC_FAILED ||
				   o == SYNC_SEAT_WAITING))
			seats_refund(w->seats, w->hosts[i], now);
	}
}

/* The host of login i for the on_change hook: its queue file's host=. */
static const char *
hook_host(void *ctx, size_t i)
{
	return ((struct worker *)ctx)->hosts[i];
}

/* A new sync for the thread, with the on_change journal of its config. */
static int
sync_open(struct worker *w, char *err, size_t errlen)
{
	const struct hooks_origin o = {"login", "login", hook_host, w};
	int r;

	w->hooks_dropped += hooks_dropped(w->hooks);
	hooks_free(w->hooks);
	w->hooks = NULL;
	r = hooks_open(w->cfg, queue_state_dirfd(w->q), &w->hooks);
	if (r < 0)
		log_warn("unable to open %s/hooks: %s; changes are not "
			 "journaled for the on_change hook",
			 w->cfg->daemon.state_dir, ft_strerror(r));
	r = sync_new(w->cfg, &w->sync, err, errlen);
	if (r == FT_OK)
		sync_set_hooks(w->sync, w->hooks, &o);
	return r;
}

static void
run_batch(struct worker *w, char **batch, size_t n)
{
	unsigned long long dropped;
	char err[256];
	int r = FT_OK;

	if (w->sync == NULL)
		r = sync_open(w, err, sizeof(err));
	if (r < 0) {
		for (size_t i = 0; i < n; i++) {
			w->results[i].outcome = SYNC_RETRY;
			w->results[i].err = r;
			(void)snprintf(w->results[i].detail,
				       sizeof(w->results[i].detail), "%s", err);
		}
		return;
	}
	load_hosts(w, batch, n);
	sync_set_gate(w->sync, seat_gate, w);
	sync_users(w->sync, (const char *const *)batch, n, w->results);
	dropped = w->hooks_dropped + hooks_dropped(w->hooks);
	pthread_mutex_lock(&w->mu);
	w->st.hooks_dropped = dropped;
	pthread_mutex_unlock(&w->mu);
	refund_seats(w, n);
	r = seats_save(w->seats);
	if (r < 0)
		log_warn("unable to save the seat counts (%s): %s", SEATS_FILE,
			 r == FT_E_IO ? strerror(errno) : ft_strerror(r));
}

/*
 * A not-ldap outcome: at info at most once a minute, saying how many went
 * to debug since the last such line; the rest at debug.  A name LDAP does
 * not know that holds '@' or '\' (SSSD's qualified names) gets a hint.
 */
static void
log_not_ldap(struct worker *w, const char *user, const struct sync_result *r)
{
	uint64_t now = timing_now_ms();
	bool hint = r->err == FT_E_NOTFOUND && login_qualified(user);
	char quiet[160] = "";

	if (now < w->not_ldap_next_ms) {
		w->not_ldap_quiet++;
		log_debug("not-ldap '%s': %s", user, r->detail);
		return;
	}
	if (w->not_ldap_quiet > 0)
		(void)snprintf(quiet, sizeof(quiet),
			       " (and %lu more not-ldap logins since the last "
			       "such line, logged at debug only)",
			       w->not_ldap_quiet);
	log_info("not-ldap '%s': %s%s%s", user, r->detail,
		 hint ? "; the name holds '@' or '\\': is [ldap] "
			"login_format (strip-realm, strip-domain) wrong?"
		      : "",
		 quiet);
	w->not_ldap_next_ms = now + w->not_ldap_every_ms;
	w->not_ldap_quiet = 0;
}

/*
 * A held login: at warning at most once every not_ldap_every_ms (the same
 * pace), saying how many went to debug since; the rest at debug.
 */
static void
log_held(struct worker *w, const char *user, const char *host,
	 const struct sync_result *r)
{
	uint64_t now = timing_now_ms();

	if (now < w->held_next_ms) {
		w->held_quiet++;
		log_debug("held '%s' (host %s) in queue/held/: %s", user, host,
			  r->detail);
		return;
	}
	log_warn("held '%s' (host %s) in queue/held/: %s; released from the "
		 "next hour's budget, or now by `ftrack-syncd sync %s` or "
		 "`sync --held` (and %lu more held since the last such line)",
		 user, host, r->detail, user, w->held_quiet);
	w->held_next_ms = now + w->not_ldap_every_ms;
	w->held_quiet = 0;
}

/* Under the lock: one log line and the queue file of each result. */
static void
settle_files(struct worker *w, char **batch, size_t n)
{
	char via[FT_HOST_MAX + 16];
	size_t i;

	for (i = 0; i < n; i++) {
		const struct sync_result *r = &w->results[i];

		via[0] = '\0';
		if (w->hosts[i][0] != '\0')
			(void)snprintf(via, sizeof(via), " (host %s)",
				       w->hosts[i]);
		if (r->outcome == SYNC_NOT_LDAP)
			log_not_ldap(w, batch[i], r);
		else if (r->outcome == SYNC_HELD)
			log_held(w, batch[i], w->hosts[i], r);
		else
			log_msg(log_prio(r->outcome), "%s '%s'%s: %s",
				sync_outcome_name(r->outcome), batch[i], via,
				r->detail);
		settle_file(w, batch[i], r);
	}
}

/* Under the lock: the maps and counters of the batch; frees batch[]. */
static void
settle_states(struct worker *w, char **batch, size_t n)
{
	uint64_t now = timing_now_ms();
	unsigned long searches = 0, requests = 0;
	size_t i;

	if (w->sync != NULL) {
		sync_counts(w->sync, &searches, &requests);
		w->st.transform = sync_transform_stats(w->sync, &w->st.xf);
		w->st.groups = sync_groups_stats(w->sync, &w->st.gs);
	}
	for (i = 0; i < n; i++) {
		settle_state(w, batch[i], &w->results[i], now);
		free(batch[i]);
	}
	w->st.batches++;
	w->st.ldap_searches = searches;
	w->st.http_requests = requests;
}

static void
adopt_config(struct worker *w)
{
	if (w->next_cfg == NULL)
		return;
	w->cfg = w->next_cfg;
	w->next_cfg = NULL;
	seats_set_caps(w->seats, w->cfg->provisioner.new_seats_per_host,
		       w->cfg->provisioner.new_seats_total);
	w->next_release = 0; /* raised caps may release some now */
	pthread_mutex_unlock(&w->mu);
	sync_free(w->sync); /* reconnect with the new settings */
	w->sync = NULL;
	pthread_mutex_lock(&w->mu);
	pthread_cond_broadcast(&w->cv);
}

static int submit_locked(struct worker *w, const char *user, bool login);

struct release_ctx {
	struct worker *w;
	time_t now;
	struct umap *promised; /* host -> seats released to it this pass */
	unsigned long total;   /* released this pass */
	char **names;          /* released users (owned) */
	size_t n, cap;
};

static int
release_one(void *ctx, const struct ft_event *ev, const char *reason,
	    long long since)
{
	struct release_ctx *rc = ctx;
	uint64_t mine = umap_get_num(rc->promised, ev->host);
	char why[PLAN_REASON_MAX];
	int r;

	(void)reason;
	(void)since;
	if (ev->host[0] != '\0' &&
	    !seats_room(rc->w->seats, ev->host, rc->now, (unsigned long)mine,
			rc->total, why, sizeof(why)))
		return 0; /* this host's (or every host's) budget is spent */
	if (array_grow(&rc->names, &rc->cap, rc->n + 1, sizeof(*rc->names), 64,
		       0) < 0)
		return FT_E_NOMEM;
	r = queue_unhold(rc->w->q, ev->user);
	if (r < 0) {
		log_warn("unable to release the held event of '%s': %s",
			 ev->user,
			 r == FT_E_IO ? strerror(errno) : ft_strerror(r));
		return 0;
	}
	rc->names[rc->n] = strdup(ev->user);
	if (rc->names[rc->n] == NULL)
		return FT_E_NOMEM;
	rc->n++;
	rc->total++;
	if (ev->host[0] != '\0' &&
	    umap_put_num(rc->promised, ev->host, mine + 1) < 0)
		return FT_E_NOMEM;
	log_info("released held '%s'%s%s%s from this hour's seat budget",
		 ev->user, ev->host[0] ? " (host " : "",
		 ev->host[0] ? ev->host : "", ev->host[0] ? ")" : "");
	return 0;
}

/*
 * Outside the lock: move back to queue/ the held events this period's
 * budget has room for, oldest first, and submit them; next look at the
 * start of the next period.
 */
static void
release_held(struct worker *w)
{
	struct release_ctx rc = {w, time(NULL), umap_new(), 0, NULL, 0, 0};
	size_t i, held = 0;

	w->next_release =
		seats_period_start(w->seats, rc.now) + seats_period(w->seats);
	if (rc.promised == NULL || queue_held_count(w->q, &held) < 0 ||
	    held == 0) {
		umap_free(rc.promised, NULL);
		return;
	}
	if (queue_held_scan(w->q, release_one, NULL, &rc) < 0)
		log_warn("unable to look through queue/held/ completely");
	pthread_mutex_lock(&w->mu);
	for (i = 0; i < rc.n; i++) {
		if (submit_locked(w, rc.names[i], false) < 0)
			log_warn("out of memory: '%s' waits for the next scan",
				 rc.names[i]);
		free(rc.names[i]);
	}
	pthread_mutex_unlock(&w->mu);
	free(rc.names);
	umap_free(rc.promised, NULL);
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	char *batch[WORKER_BATCH];

	pthread_mutex_lock(&w->mu);
	while (!w->stop) {
		size_t n;

		adopt_config(w);
		if (time(NULL) >= w->next_release) {
			pthread_mutex_unlock(&w->mu);
			release_held(w);
			pthread_mutex_lock(&w->mu);
		}
		n = take_batch(w, batch, WORKER_BATCH);
		if (n == 0)
			continue;
		/* asked while this thread waited for the batch, too */
		if (w->groups_stale && w->sync != NULL)
			sync_groups_refresh(w->sync);
		w->groups_stale = false;
		pthread_mutex_unlock(&w->mu);
		run_batch(w, batch, n);
		/*
		 * Files and maps under one hold of the lock: a login of a
		 * user in this batch that is queued between the two (its
		 * submit ignored while in flight) would otherwise wait in
		 * queue/ for the next full scan.
		 */
		pthread_mutex_lock(&w->mu);
		settle_files(w, batch, n);
		settle_states(w, batch, n);
	}
	pthread_mutex_unlock(&w->mu);
	sync_free(w->sync);
	w->sync = NULL;
	hooks_free(w->hooks);
	w->hooks = NULL;
	return NULL;
}

int
worker_start(struct worker *w)
{
	int e = pthread_create(&w->thread, NULL, worker_main, w);

	if (e != 0) {
		errno = e;
		return FT_E_IO;
	}
	w->started = true;
	return FT_OK;
}

void
worker_free(struct worker *w)
{
	if (w == NULL)
		return;
	if (w->started) {
		pthread_mutex_lock(&w->mu);
		w->stop = true;
		pthread_cond_broadcast(&w->cv);
		pthread_mutex_unlock(&w->mu);
		(void)pthread_join(w->thread, NULL);
		pthread_mutex_destroy(&w->mu);
		pthread_cond_destroy(&w->cv);
	}
	while (w->ready_n > 0)
		free(ready_pop(w));
	free(w->ready);
	umap_free(w->pending, free);
	umap_free(w->recent, NULL);
	sync_free(w->sync);
	hooks_free(w->hooks);
	seats_free(w->seats);
	free(w->hosts);
	free(w->took);
	free(w->local);
	free(w->gone);
	free(w->results);
	free(w);
}

/*
 * Under the lock: whether a login of p's user, waiting on its back-off,
 * is tried now.  A seat waiter: yes (a seat may have been freed).  After
 * a transient failure: at most once per login_cooldown (and at most once
 * a QUEUE_BACKOFF_BASE_MS), so that the person who logs in again is not
 * kept waiting by a back-off that may have grown to 15 minutes, and a
 * storm of logins does not become a storm of retries.  The back-off
 * itself goes on (an early retry that fails doubles it as any other).
 */
static bool
retry_early(struct worker *w, struct pending *p)
{
	uint64_t now = timing_now_ms(),
		 gap = w->cfg->policy.login_cooldown * 1000u;

	if (p->seat_waiting)
		return true;
	if (p->attempts == 0 || now < p->early_ms)
		return false;
	p->early_ms =
		now +
		(gap > QUEUE_BACKOFF_BASE_MS ? gap : QUEUE_BACKOFF_BASE_MS);
	return true;
}

/* Under the lock: user due now (new, or on back-off and retry_early()
 * for a login). */
static int
submit_locked(struct worker *w, const char *user, bool login)
{
	struct pending *p = umap_get(w->pending, user);
	int r;

	if (p != NULL) {
		if (login)
			p->local = true;
		if (!login || p->in_flight || p->ready || !retry_early(w, p))
			return FT_OK;
		r = ready_push(w, user);
		if (r == FT_OK)
			p->ready = true;
		return r;
	}
	p = calloc(1, sizeof(*p));
	if (p == NULL)
		return FT_E_NOMEM;
	p->local = login;
	if (umap_put(w->pending, user, p) < 0) {
		free(p);
		return FT_E_NOMEM;
	}
	r = ready_push(w, user);
	if (r < 0) {
		free(umap_del(w->pending, user));
		return r;
	}
	p->ready = true;
	return FT_OK;
}

static int
submit(struct worker *w, const char *user, bool login)
{
	int r;

	pthread_mutex_lock(&w->mu);
	r = submit_locked(w, user, login);
	if (r == FT_OK)
		pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	return r;
}

int
worker_submit(struct worker *w, const char *user)
{
	return submit(w, user, false);
}

int
worker_login(struct worker *w, const char *user)
{
	return submit(w, user, true);
}

void
worker_set_not_ldap_every(struct worker *w, uint64_t ms)
{
	w->not_ldap_every_ms = ms;
}

void
worker_set_linger(struct worker *w, uint64_t ms)
{
	w->linger_ms = ms;
}

bool
worker_cooled(struct worker *w, const char *user)
{
	uint64_t at, cool;
	bool yes;

	pthread_mutex_lock(&w->mu);
	at = umap_get_num(w->recent, user);
	cool = w->cfg->policy.login_cooldown * 1000u;
	yes = at != 0 && timing_now_ms() < at + cool;
	pthread_mutex_unlock(&w->mu);
	return yes;
}

void
worker_set_config(struct worker *w, const struct config *cfg)
{
	pthread_mutex_lock(&w->mu);
	if (w->started)
		w->next_cfg = cfg;
	else
		w->cfg = cfg;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

void
worker_refresh_groups(struct worker *w)
{
	pthread_mutex_lock(&w->mu);
	w->groups_stale = true;
	pthread_mutex_unlock(&w->mu);
}

bool
worker_config_retired(struct worker *w, const struct config *old)
{
	bool yes;

	pthread_mutex_lock(&w->mu);
	yes = w->cfg != old && w->next_cfg != old;
	pthread_mutex_unlock(&w->mu);
	return yes;
}

void
worker_stats(struct worker *w, struct worker_stats *ret)
{
	pthread_mutex_lock(&w->mu);
	*ret = w->st;
	ret->pending = umap_size(w->pending);
	pthread_mutex_unlock(&w->mu);
}
