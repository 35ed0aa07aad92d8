/* SPDX-License-Identifier: Apache-2.0 */
/* ftrack_client.c: the ftrack client: its connection, one call and its retries. */
#include "ftrack_api.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "array.h"
#include "ft_err.h"
#include "ftrack_int.h"
#include "http.h"
#include "timing.h"

static const struct ftrack_retry retry_defaults = {
	.attempts = 5,
	.base_ms = 500,
	.max_ms = 30000,
	.retry_after_max = 60,
	.deadline_ms = 180000,
};

/* ---- client ------------------------------------------------------------- */

/* "<server>/api", the server's trailing slashes dropped. */
static int
make_url(const char *server, char **ret)
{
	size_t len = strlen(server);
	char *url;

	while (len > 0 && server[len - 1] == '/')
		len--;
	if (len == 0)
		return FT_E_INVAL;
	url = malloc(len + sizeof("/api"));
	if (url == NULL)
		return FT_E_NOMEM;
	memcpy(url, server, len);
	memcpy(url + len, "/api", sizeof("/api"));
	*ret = url;
	return FT_OK;
}

int
ftrack_client_new(const struct config *cfg, struct ftrack_client **ret)
{
	const struct config_ftrack *f = &cfg->ftrack;
	struct ftrack_client *c = NULL;
	struct http_opts o;
	char *url = NULL;
	int r;

	if (f->server == NULL)
		return FT_E_INVAL;
	r = make_url(f->server, &url);
	if (r != FT_OK)
		return r;
	memset(&o, 0, sizeof(o));
	o.url = url;
	o.user = f->api_user;
	o.api_key = f->api_key;
	o.ca_file = f->tls_ca_file;
	o.timeout = f->timeout ? f->timeout : 30;
	r = FT_E_NOMEM;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		goto out;
	r = http_new(&o, &c->http);
	if (r != FT_OK)
		goto out;
	c->batch_size = f->batch_size ? f->batch_size : 100;
	if (c->batch_size > FTRACK_MAX_BATCH_SIZE)
		c->batch_size = FTRACK_MAX_BATCH_SIZE;
	c->retry = retry_defaults;
	c->rng = timing_seed();
	*ret = c;
	c = NULL;
out:
	free(url);
	ftrack_client_free(c);
	return r;
}

void
ftrack_client_free(struct ftrack_client *c)
{
	if (c == NULL)
		return;
	http_free(c->http);
	free(c);
}

void
ftrack_client_set_retry(struct ftrack_client *c, const struct ftrack_retry *r)
{
	const struct ftrack_retry *d = &retry_defaults;

	c->retry.attempts = r->attempts ? r->attempts : d->attempts;
	c->retry.base_ms = r->base_ms ? r->base_ms : d->base_ms;
	c->retry.max_ms = r->max_ms ? r->max_ms : d->max_ms;
	c->retry.retry_after_max =
		r->retry_after_max ? r->retry_after_max : d->retry_after_max;
	c->retry.deadline_ms = r->deadline_ms ? r->deadline_ms : d->deadline_ms;
}

void
ftrack_client_set_stop(struct ftrack_client *c,
		       const volatile sig_atomic_t *stop)
{
	c->stop = stop;
}

void
ftrack_client_stats(const struct ftrack_client *c, struct ftrack_stats *ret)
{
	ret->requests = http_requests(c->http);
	ret->connections = http_connections(c->http);
	ret->retries = c->retries;
}

/* ---- one call, with retries --------------------------------------------- */

static bool
stopped(const struct ftrack_client *c)
{
	return c->stop != NULL && *c->stop != 0;
}

/* Back-off before attempt n + 1: exponential, jittered, >= Retry-After. */
static uint64_t
backoff_ms(struct ftrack_client *c, unsigned n, long retry_after)
{
	uint64_t d = timing_backoff_ms(n > 0 ? n - 1 : 0, c->retry.base_ms,
				       c->retry.max_ms, timing_rand(&c->rng));

	if (retry_after > 0) {
		uint64_t ra = (uint64_t)retry_after;

		if (ra > c->retry.retry_after_max)
			ra = c->retry.retry_after_max;
		if (ra * 1000 > d)
			d = ra * 1000;
	}
	return d;
}

/* Sleep ms, in short naps; false when the deadline or a stop forbids. */
static bool
pause_ms(const struct ftrack_client *c, uint64_t ms, uint64_t deadline)
{
	uint64_t end = timing_now_ms() + ms;

	if (end > deadline)
		return false;
	while (!stopped(c)) {
		uint64_t now = timing_now_ms(), left;
		struct timespec ts;

		if (now >= end)
			return true;
		left = end - now < 100 ? end - now : 100;
		ts.tv_sec = 0;
		ts.tv_nsec = (long)(left * 1000000);
		nanosleep(&ts, NULL); /* EINTR: the loop looks again */
	}
	return false;
}

/* One HTTP exchange, classified. */
static int
call_once(struct ftrack_client *c, const char *body, size_t len, struct call *k,
	  struct ftrack_reply **ret, char *err, size_t errlen)
{
	struct http_resp resp;
	int r;

	r = http_post(c->http, body, len, &resp, err, errlen);
	k->retry_after = resp.retry_after;
	k->exc[0] = '\0';
	if (r != FT_OK) {
		k->transient = r == FT_E_HTTP && resp.transient;
		goto out;
	}
	r = ftrack_reply_parse(resp.body, resp.len, resp.status, k->nops, ret,
			       k->exc, sizeof(k->exc), err, errlen);
	k->transient =
		r == FT_E_HTTP || (r == FT_E_MALFORMED && resp.status >= 500);
out:
	http_resp_clear(&resp);
	return r;
}

int
ftrack_call_ops(struct ftrack_client *c, const struct ftrack_ops *ops,
		size_t first, size_t n, struct call *k,
		struct ftrack_reply **ret, char *err, size_t errlen)
{
	uint64_t deadline = timing_now_ms() + c->retry.deadline_ms;
	char *body = NULL;
	size_t len = 0;
	int r;

	memset(k, 0, sizeof(*k));
	k->nops = n;
	r = ftrack_ops_dump(ops, first, n, &body, &len);
	if (r != FT_OK)
		return r;
	for (;;) {
		k->attempts++;
		r = call_once(c, body, len, k, ret, err, errlen);
		if (r == FT_OK || !k->transient ||
		    k->attempts >= c->retry.attempts)
			break;
		if (!pause_ms(c, backoff_ms(c, k->attempts, k->retry_after),
			      deadline))
			break;
		c->retries++;
	}
	free(body);
	return r;
}

int
ftrack_server_info(struct ftrack_client *c, char *version, size_t vlen,
		   char *err, size_t errlen)
{
	struct ftrack_ops *ops = ftrack_ops_new();
	struct ftrack_reply *rep = NULL;
	struct call k;
	int r = FT_E_NOMEM;

	if (ops == NULL)
		return FT_E_NOMEM;
	r = ftrack_ops_server_info(ops);
	if (r == FT_OK)
		r = ftrack_call_ops(c, ops, 0, 1, &k, &rep, err, errlen);
	if (r == FT_OK) {
		r = ftrack_reply_server_version(rep, 0, version, vlen);
		if (r != FT_OK)
			snprintf(err, errlen,
				 "no version in the server "
				 "information");
	}
	ftrack_reply_free(rep);
	ftrack_ops_free(ops);
	return r;
}
