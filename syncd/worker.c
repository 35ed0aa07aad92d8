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
#include "umap.h"

#define WORKER_BATCH   200   /* logins per sync_users() call */
#define SWEEP_EVERY_MS 60000 /* forget cooled users this often */

struct pending {
	uint64_t due_ms;
	unsigned attempts;
	bool in_flight;
	bool ready;
	bool seat_waiting; /* the last try: no free seat in the licence */
};

struct worker {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t thread;
	bool started;
	bool stop;
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
	struct sync *sync;            /* the thread's own */
	struct sync_result *results;  /* WORKER_BATCH of them */
	uint64_t not_ldap_every_ms;   /* WORKER_NOT_LDAP_EVERY_MS */
	uint64_t not_ldap_next_ms;    /* the thread's: no info line before */
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
	w->not_ldap_every_ms = WORKER_NOT_LDAP_EVERY_MS;
	w->st.ldap_up = w->st.ftrack_up = true;
	w->pending = umap_new();
	w->recent = umap_new();
	w->results = calloc(WORKER_BATCH, sizeof(*w->results));
	if (w->pending == NULL || w->recent == NULL || w->results == NULL) {
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
		if (w->ready_n > 0)
			break;
		wake = now + 1000;
		if (w->next_retry_ms < wake)
			wake = w->next_retry_ms;
		wait_until(w, wake);
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

/* File work for one result, outside the lock. */
static void
settle_file(struct worker *w, const char *user, const struct sync_result *r)
{
	int e;

	if (r->outcome == SYNC_RETRY || r->outcome == SYNC_SEAT_WAITING)
		return;
	e = r->outcome == SYNC_FAILED ? queue_fail(w->q, user, r->detail)
				      : queue_remove(w->q, user);
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
	if (r->outcome != SYNC_FAILED && umap_put_num(w->recent, user, now) < 0)
		log_warn("out of memory: '%s' may be looked up again", user);
	if (r->outcome != SYNC_FAILED) {
		w->st.ldap_up = true;
		if (r->outcome != SYNC_NOT_LDAP)
			w->st.ftrack_up = true;
	}
}

static void
run_batch(struct worker *w, char **batch, size_t n)
{
	char err[256];
	int r = FT_OK;

	if (w->sync == NULL)
		r = sync_new(w->cfg, &w->sync, err, sizeof(err));
	if (r < 0) {
		for (size_t i = 0; i < n; i++) {
			w->results[i].outcome = SYNC_RETRY;
			w->results[i].err = r;
			(void)snprintf(w->results[i].detail,
				       sizeof(w->results[i].detail), "%s", err);
		}
		return;
	}
	sync_users(w->sync, (const char *const *)batch, n, w->results);
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

/* Outside the lock: one log line and the queue file of each result. */
static void
settle_files(struct worker *w, char **batch, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		const struct sync_result *r = &w->results[i];

		if (r->outcome == SYNC_NOT_LDAP)
			log_not_ldap(w, batch[i], r);
		else
			log_msg(log_prio(r->outcome), "%s '%s': %s",
				sync_outcome_name(r->outcome), batch[i],
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

	if (w->sync != NULL)
		sync_counts(w->sync, &searches, &requests);
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
	pthread_mutex_unlock(&w->mu);
	sync_free(w->sync); /* reconnect with the new settings */
	w->sync = NULL;
	pthread_mutex_lock(&w->mu);
	pthread_cond_broadcast(&w->cv);
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
		n = take_batch(w, batch, WORKER_BATCH);
		if (n == 0)
			continue;
		pthread_mutex_unlock(&w->mu);
		run_batch(w, batch, n);
		settle_files(w, batch, n);
		pthread_mutex_lock(&w->mu);
		settle_states(w, batch, n);
	}
	pthread_mutex_unlock(&w->mu);
	sync_free(w->sync);
	w->sync = NULL;
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
	free(w->results);
	free(w);
}

/* Under the lock: user due now (new, or a seat waiter when now_seat). */
static int
submit_locked(struct worker *w, const char *user, bool now_seat)
{
	struct pending *p = umap_get(w->pending, user);
	int r;

	if (p != NULL) {
		/* a seat may have been freed: try now, not at the back-off's
		 * end (a retry for any other reason keeps its back-off) */
		if (!now_seat || !p->seat_waiting || p->in_flight || p->ready)
			return FT_OK;
		r = ready_push(w, user);
		if (r == FT_OK)
			p->ready = true;
		return r;
	}
	p = calloc(1, sizeof(*p));
	if (p == NULL)
		return FT_E_NOMEM;
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
submit(struct worker *w, const char *user, bool now_seat)
{
	int r;

	pthread_mutex_lock(&w->mu);
	r = submit_locked(w, user, now_seat);
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
