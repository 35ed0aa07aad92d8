/* SPDX-License-Identifier: Apache-2.0 */
/* relay.c: a relay's thread: queued logins, in batches, to the provisioners. */
#include "relay.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ft_err.h"
#include "ft_util.h"
#include "http.h"
#include "log.h"
#include "relay_wire.h"
#include "timing.h"

#define IDLE_WAIT_MS 60000u /* wake at least this often */
#define LOGINS_PATH  "/v1/logins"
#define HEALTH_PATH  "/v1/health"
#define URL_MAX      1100
#define STOP_SCAN    1 /* queue_scan callback: the batch is full */

struct relay {
	const struct config *cfg;  /* in use by the thread */
	const struct config *next; /* given by relay_set_config */
	struct queue *q;
	pthread_t th;
	bool started, stop, kicked, backlog;
	pthread_mutex_t mu; /* guards the fields above, stats and up */
	pthread_cond_t cv;
	struct http *h[RELAY_UP_MAX];
	struct relay_up up;
	struct relay_stats st;
	time_t last_forward;
	uint64_t rnd;
	size_t max_events; /* RELAY_MAX_EVENTS, halved by a 413 */
	/* the batch being built (thread only) */
	struct ft_event ev[RELAY_MAX_EVENTS];
	time_t when[RELAY_MAX_EVENTS];
	size_t n, bytes;
	struct relay_answer ans;
};

static int
url_join(char *out, size_t cap, const char *base, const char *path)
{
	int n = snprintf(out, cap, "%s%s", base, path);

	return n < 0 || (size_t)n >= cap ? FT_E_TOOBIG : FT_OK;
}

static int
open_http(const struct config *cfg, const char *base, struct http **ret)
{
	char url[URL_MAX];
	struct http_opts o = {0};
	int r;

	r = url_join(url, sizeof(url), base, LOGINS_PATH);
	if (r < 0)
		return FT_E_CONFIG;
	o.url = url;
	o.ca_file = cfg->relay.tls_ca_file;
	o.cert_file = cfg->relay.tls_cert_file;
	o.key_file = cfg->relay.tls_key_file;
	o.timeout = cfg->relay.timeout;
	o.max_body = RELAY_MAX_ANSWER;
	o.https_only = true;
	return http_new(&o, ret);
}

static void
close_https(struct relay *r)
{
	size_t i;

	for (i = 0; i < RELAY_UP_MAX; i++) {
		http_free(r->h[i]);
		r->h[i] = NULL;
	}
}

/* One handle per upstream of cfg, and a fresh upstream state. */
static int
open_https(struct relay *r, const struct config *cfg)
{
	const struct strlist *u = &cfg->relay.upstream;
	size_t i;

	if (u->n == 0)
		return FT_E_CONFIG;
	close_https(r);
	for (i = 0; i < u->n && i < RELAY_UP_MAX; i++) {
		int e = open_http(cfg, u->v[i], &r->h[i]);

		if (e < 0) {
			close_https(r);
			return e;
		}
	}
	relay_up_init(&r->up, u->n, cfg->relay.retry_primary);
	r->st.n = r->up.n;
	return FT_OK;
}

int
relay_new(const struct config *cfg, struct queue *q, struct relay **ret)
{
	struct relay *r = calloc(1, sizeof(*r));
	pthread_condattr_t ca;
	int e;

	if (r == NULL)
		return FT_E_NOMEM;
	e = open_https(r, cfg);
	if (e < 0) {
		free(r);
		return e;
	}
	r->cfg = cfg;
	r->q = q;
	r->rnd = timing_seed();
	r->max_events = RELAY_MAX_EVENTS;
	r->backlog = true; /* what the queue holds from before */
	(void)pthread_mutex_init(&r->mu, NULL);
	(void)pthread_condattr_init(&ca);
	(void)pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	(void)pthread_cond_init(&r->cv, &ca);
	(void)pthread_condattr_destroy(&ca);
	*ret = r;
	return FT_OK;
}

/* ---- the batch -------------------------------------------------------- */

static int
on_event(void *ctx, const struct ft_event *ev)
{
	struct relay *r = ctx;
	time_t when = 0;
	size_t sz;

	if (queue_mtime(r->q, ev->user, &when) < 0)
		when = 0;
	sz = relay_wire_event_size(ev, when);
	if (sz == 0)
		return 0; /* cannot happen for a decoded event: skipped */
	if (r->n > 0 && RELAY_WIRE_FRAME + r->bytes + sz > RELAY_MAX_BODY)
		return STOP_SCAN;
	r->ev[r->n] = *ev;
	r->when[r->n] = when;
	r->n++;
	r->bytes += sz;
	return r->n >= r->max_events ? STOP_SCAN : 0;
}

static void
on_damaged(void *ctx, const char *name, const char *reason)
{
	(void)ctx;
	log_warn("queue file '%s' moved to failed/: %s", name, reason);
}

/* The oldest queued events into r->ev; returns how many. */
static size_t
collect(struct relay *r)
{
	int e;

	r->n = 0;
	r->bytes = 0;
	e = queue_scan(r->q, on_event, on_damaged, r);
	if (e < 0 && e != FT_E_AGAIN)
		log_error("unable to scan the queue: %s", ft_strerror(e));
	return r->n;
}

/* ---- the answer ------------------------------------------------------- */

/* Count one settled event (accepted or invalid) for relay_stats. */
static void
count(struct relay *r, bool accepted)
{
	pthread_mutex_lock(&r->mu);
	if (accepted)
		r->st.forwarded++;
	else
		r->st.invalid++;
	pthread_mutex_unlock(&r->mu);
}

/* Event i by its result; false when its file is still to be sent. */
static bool
settle_one(struct relay *r, size_t i, const char *url)
{
	const char *user = r->ev[i].user;
	char why[RELAY_WHY_MAX + 64];
	int e;

	switch (r->ans.result[i]) {
	case RELAY_ACCEPTED:
		count(r, true);
		log_info("login of '%s' forwarded to %s", user, url);
		e = queue_remove(r->q, user);
		if (e < 0)
			log_error("unable to remove the queue file of '%s': %s",
				  user, ft_strerror(e));
		return e == FT_OK; /* else sent again, after a back-off */
	case RELAY_INVALID:
		count(r, false);
		(void)snprintf(why, sizeof(why), "refused by %s: %s", url,
			       r->ans.why[i]);
		log_warn("login of '%s' moved to failed/: %s", user, why);
		e = queue_fail(r->q, user, why);
		if (e < 0 && e != FT_E_NOTFOUND)
			log_error("unable to move the queue file of '%s' to "
				  "failed/: %s",
				  user, ft_strerror(e));
		return e == FT_OK || e == FT_E_NOTFOUND;
	case RELAY_OTHER:
		break;
	}
	return false;
}

/* Settle a 202; false when some event is still to be sent. */
static bool
settle(struct relay *r, const char *url)
{
	bool all = true;
	size_t i;

	for (i = 0; i < r->n; i++)
		all = settle_one(r, i, url) && all;
	return all;
}

/* ---- one request ------------------------------------------------------ */

static void
note_failure(struct relay *r, size_t i, const char *url, long status,
	     const char *err, enum relay_outcome o)
{
	bool was_up = r->up.u[i].state != RELAY_UP_DOWN;

	if (o == RELAY_OUT_REFUSED)
		log_error("upstream %s REFUSED this host's logins (HTTP %ld): "
			  "%s; the logins stay queued; check this host's "
			  "certificate and the provisioner's allow_hosts and "
			  "deny_file",
			  url, status, err);
	else if (was_up)
		log_warn("upstream %s is down: %s; the logins stay queued", url,
			 err);
	else
		log_debug("upstream %s still down: %s", url, err);
}

/* What went wrong with answer resp (r_http its result) in err. */
static void
describe(int r_http, const struct http_resp *resp, const char *herr, char *err,
	 size_t errlen)
{
	if (r_http != FT_OK)
		(void)snprintf(err, errlen, "%s", herr);
	else
		(void)snprintf(err, errlen, "HTTP %ld", resp->status);
}

/* POST the batch to upstream i; the outcome, and the answer decoded. */
static enum relay_outcome
post_batch(struct relay *r, size_t i, const char *body, size_t len,
	   struct http_resp *resp, char *err, size_t errlen)
{
	char herr[256] = "";
	enum relay_outcome o;
	int e;

	e = http_post(r->h[i], body, len, resp, herr, sizeof(herr));
	o = relay_up_classify(e, resp->status);
	describe(e, resp, herr, err, errlen);
	if (o != RELAY_OUT_OK || resp->status != 202)
		return o;
	e = relay_wire_decode(resp->body, resp->len, r->n, &r->ans);
	if (e < 0) {
		(void)snprintf(err, errlen, "unreadable answer: %s",
			       ft_strerror(e));
		return RELAY_OUT_DOWN;
	}
	return RELAY_OUT_OK;
}

/* A 413: fewer events a request; one event refused so is held back. */
static enum relay_outcome
too_large(struct relay *r, const char *url, char *err, size_t errlen)
{
	if (r->n > 1) {
		r->max_events = r->n / 2;
		log_info("upstream %s finds %zu events too large: sending "
			 "%zu at a time",
			 url, r->n, r->max_events);
		return RELAY_OUT_OK;
	}
	(void)snprintf(err, errlen, "HTTP 413 for a single event");
	return RELAY_OUT_REFUSED;
}

/* Send what collect() gathered; false when the relay must wait. */
static bool
forward(struct relay *r, size_t i)
{
	const char *url = r->cfg->relay.upstream.v[i];
	struct http_resp resp = {0};
	char *body = NULL, err[512] = "";
	enum relay_outcome o;
	size_t len = 0;
	bool done = false;
	int e;

	e = relay_wire_encode(r->ev, r->when, r->n, &body, &len);
	if (e < 0) {
		log_error("unable to encode %zu events: %s", r->n,
			  ft_strerror(e));
		return false;
	}
	o = post_batch(r, i, body, len, &resp, err, sizeof(err));
	if (o == RELAY_OUT_OK && resp.status == 413)
		o = too_large(r, url, err, sizeof(err));
	else if (o == RELAY_OUT_OK)
		done = true;
	pthread_mutex_lock(&r->mu);
	r->st.requests++;
	if (o != RELAY_OUT_OK)
		note_failure(r, i, url, resp.status, err, o);
	else if (r->up.u[i].state == RELAY_UP_DOWN)
		log_info("upstream %s is up again", url);
	relay_up_done(&r->up, i, o, timing_now_ms(), time(NULL),
		      (unsigned long)resp.retry_after,
		      (unsigned long)timing_rand(&r->rnd), err);
	pthread_mutex_unlock(&r->mu);
	if (done) {
		r->last_forward = time(NULL);
		if (!settle(r, url)) {
			pthread_mutex_lock(&r->mu);
			relay_up_defer(&r->up, timing_now_ms(),
				       (unsigned long)timing_rand(&r->rnd));
			pthread_mutex_unlock(&r->mu);
		}
	}
	http_resp_clear(&resp);
	free(body);
	return o == RELAY_OUT_OK;
}

/* ---- relay.status ----------------------------------------------------- */

static void
iso(time_t t, char *buf, size_t cap)
{
	struct tm tm;

	if (t == 0 || gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		(void)snprintf(buf, cap, "never");
}

static size_t put_line(char *buf, size_t cap, size_t len, const char *fmt, ...)
	FT_PRINTF(4, 5);

static size_t
put_line(char *buf, size_t cap, size_t len, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (len >= cap)
		return len;
	va_start(ap, fmt);
	n = vsnprintf(buf + len, cap - len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= cap - len)
		return cap; /* cut: the rest is dropped */
	return len + (size_t)n;
}

/* Each upstream and the last forward, as `status` prints them. */
static void
write_status(struct relay *r)
{
	static const char *const st[] = {"unknown", "up", "down"};
	char buf[RELAY_STATUS_MAX], ok[32], fail[32];
	size_t i, len = 0;

	pthread_mutex_lock(&r->mu);
	for (i = 0; i < r->up.n; i++) {
		const struct relay_upstream *u = &r->up.u[i];

		iso(u->last_ok, ok, sizeof(ok));
		iso(u->last_fail, fail, sizeof(fail));
		len = put_line(buf, sizeof(buf), len,
			       "upstream %s: %s%s, last success %s, last "
			       "failure %s%s%s\n",
			       r->cfg->relay.upstream.v[i], st[u->state],
			       i == r->up.cur ? " (in use)" : "", ok, fail,
			       u->err[0] != '\0' ? ": " : "", u->err);
	}
	iso(r->last_forward, ok, sizeof(ok));
	len = put_line(buf, sizeof(buf), len,
		       "last forward: %s, %llu events forwarded and %llu "
		       "refused as invalid since start\n",
		       ok, r->st.forwarded, r->st.invalid);
	pthread_mutex_unlock(&r->mu);
	if (len > sizeof(buf) - 1)
		len = sizeof(buf) - 1;
	if (ft_write_atomic_nosync(queue_state_dirfd(r->q), RELAY_STATUS_FILE,
				   buf, len) < 0)
		log_debug("unable to write %s: %s", RELAY_STATUS_FILE,
			  strerror(errno));
}

/* ---- the thread ------------------------------------------------------- */

static void
wait_ms(struct relay *r, uint64_t ms)
{
	uint64_t when = timing_now_ms() + ms;
	struct timespec ts;

	ts.tv_sec = (time_t)(when / 1000u);
	ts.tv_nsec = (long)(when % 1000u) * 1000000L;
	(void)pthread_cond_timedwait(&r->cv, &r->mu, &ts);
}

/* A new config from relay_set_config (called with mu held). */
static void
adopt_config(struct relay *r)
{
	if (r->next == NULL || r->next == r->cfg)
		return;
	if (open_https(r, r->next) < 0)
		log_error("unable to use the new [relay] settings; keeping "
			  "the old ones");
	else
		r->cfg = r->next;
	r->next = NULL;
	r->backlog = true;
}

/* One batch; false when the queue is empty or the upstream must wait. */
static bool
drain_one(struct relay *r)
{
	uint64_t wait = 0;
	size_t i;
	bool ok;

	pthread_mutex_lock(&r->mu);
	i = relay_up_pick(&r->up, timing_now_ms(), &wait);
	pthread_mutex_unlock(&r->mu);
	if (wait > 0)
		return false;
	if (collect(r) == 0) {
		pthread_mutex_lock(&r->mu);
		r->backlog = false;
		pthread_mutex_unlock(&r->mu);
		r->max_events = RELAY_MAX_EVENTS;
		return false;
	}
	ok = forward(r, i);
	write_status(r);
	pthread_mutex_lock(&r->mu);
	ok = ok && !r->stop;
	pthread_mutex_unlock(&r->mu);
	return ok;
}

/* Batches until the queue is empty or the upstream must be waited for. */
static void
drain(struct relay *r)
{
	bool more;

	do
		more = drain_one(r);
	while (more);
}

static void *
relay_main(void *arg)
{
	struct relay *r = arg;
	uint64_t wait;

	pthread_mutex_lock(&r->mu);
	while (!r->stop) {
		adopt_config(r);
		(void)relay_up_pick(&r->up, timing_now_ms(), &wait);
		if (wait == 0 && (r->kicked || r->backlog)) {
			r->kicked = false;
			r->backlog = true; /* until a scan finds nothing */
			pthread_mutex_unlock(&r->mu);
			drain(r);
			pthread_mutex_lock(&r->mu);
			continue;
		}
		wait_ms(r,
			wait > 0 && wait < IDLE_WAIT_MS ? wait : IDLE_WAIT_MS);
	}
	pthread_mutex_unlock(&r->mu);
	return NULL;
}

int
relay_start(struct relay *r)
{
	if (pthread_create(&r->th, NULL, relay_main, r) != 0)
		return FT_E_IO;
	r->started = true;
	write_status(r);
	return FT_OK;
}

void
relay_free(struct relay *r)
{
	if (r == NULL)
		return;
	if (r->started) {
		pthread_mutex_lock(&r->mu);
		r->stop = true;
		pthread_cond_signal(&r->cv);
		pthread_mutex_unlock(&r->mu);
		(void)pthread_join(r->th, NULL);
	}
	close_https(r);
	(void)pthread_cond_destroy(&r->cv);
	(void)pthread_mutex_destroy(&r->mu);
	free(r);
}

void
relay_kick(struct relay *r)
{
	pthread_mutex_lock(&r->mu);
	r->kicked = true;
	pthread_cond_signal(&r->cv);
	pthread_mutex_unlock(&r->mu);
}

void
relay_set_config(struct relay *r, const struct config *cfg)
{
	pthread_mutex_lock(&r->mu);
	r->next = cfg;
	pthread_cond_signal(&r->cv);
	pthread_mutex_unlock(&r->mu);
}

bool
relay_config_retired(struct relay *r, const struct config *old)
{
	bool yes;

	pthread_mutex_lock(&r->mu);
	yes = r->cfg != old && r->next == NULL;
	pthread_mutex_unlock(&r->mu);
	return yes;
}

void
relay_stats(struct relay *r, struct relay_stats *ret)
{
	size_t i;

	pthread_mutex_lock(&r->mu);
	*ret = r->st;
	ret->n = r->up.n;
	for (i = 0; i < r->up.n; i++)
		ret->up[i] = r->up.u[i].state == RELAY_UP_UP;
	pthread_mutex_unlock(&r->mu);
}

int
relay_health(const struct config *cfg, const char *url, long *ret_status,
	     char *err, size_t errlen)
{
	char hurl[URL_MAX];
	struct http *h = NULL;
	struct http_resp resp = {0};
	int e;

	e = url_join(hurl, sizeof(hurl), url, HEALTH_PATH);
	if (e == FT_OK)
		e = open_http(cfg, url, &h);
	if (e == FT_OK)
		e = http_get(h, hurl, &resp, err, errlen);
	if (e == FT_OK)
		*ret_status = resp.status;
	http_resp_clear(&resp);
	http_free(h);
	return e;
}
