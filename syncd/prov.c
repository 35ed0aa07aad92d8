/* SPDX-License-Identifier: Apache-2.0 */
/*
 * prov.c: the provisioner's HTTPS intake (see prov.h).
 *
 * Provisioner metrics after metrics.prom's text (prefix ftrack_syncd_):
 *   prov_events_received_total{class}   counter  events in decoded bodies,
 *                                                by the host's class: the
 *                                                allow_hosts glob that let
 *                                                it in (its first match);
 *                                                at most PROV_CLASSES_MAX
 *                                                globs, later ones (after
 *                                                reloads) and longer ones
 *                                                counted as class="(other)"
 *   prov_events_total{result}           counter  accepted, invalid
 *   prov_refused_total{reason}          counter  requests refused: the
 *                                                certificate reasons of
 *                                                prov_tls.h, bad_request,
 *                                                too_large, rate_limited,
 *                                                journal, not_found,
 *                                                method
 *   prov_connections_total              counter  connections accepted
 *   prov_connections                    gauge    connections open
 */
#include "prov.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netdb.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "ft_err.h"
#include "ft_util.h"
#include "log.h"
#include "login.h"
#include "metrics.h"
#include "prov_tls.h"
#include "prov_wire.h"
#include "state.h"
#include "timing.h"

#define PEM_MAX      ((size_t)1024 * 1024) /* a certificate, a chain, a key */
#define PROM_EXTRA   32768                 /* the provisioner's metrics text */
#define REFUSED_LOGS 60 /* refusal lines a minute, then counted */
#define JSON_TYPE    "application/json"
#define DISCARD_MAX  ((size_t)4 * PROV_WIRE_BODY_MAX) /* then 413 at once */

/* Refusals that are not about the certificate (after PROV_REF_*). */
enum refusal_more {
	REF_BAD_REQUEST = PROV_REF_COUNT,
	REF_TOO_LARGE,
	REF_RATE_LIMITED,
	REF_JOURNAL,
	REF_NOT_FOUND,
	REF_METHOD,
	REF_ALL
};

static const char *const more_names[REF_ALL - PROV_REF_COUNT] = {
	"bad_request", "too_large", "rate_limited",
	"journal",     "not_found", "method"};

/* A host class's counter: the allow_hosts glob, its events. */
struct host_class {
	char glob[PROV_CLASS_LEN + 1];
	unsigned long long events;
};

struct bucket {
	char host[PROV_HOST_MAX + 1];
	double tokens;
	uint64_t last_ms;
};

struct prov {
	pthread_rwlock_t lock; /* cfg and trust */
	const struct config *cfg;
	struct prov_trust *trust;
	struct queue *q;
	struct MHD_Daemon *d[PROV_LISTEN_MAX];
	size_t nd;
	struct MHD_Daemon *metrics;
	char *cert, *key, *ca; /* PEM text given to libmicrohttpd */

	pthread_mutex_t mu; /* everything below */
	struct bucket *buckets;
	unsigned long long accepted, invalid, refused[REF_ALL];
	struct host_class classes[PROV_CLASSES_MAX];
	size_t nclasses;
	unsigned long long other_class; /* beyond the table, or too long */
	unsigned long long conns_total, conns_open;
	uint64_t log_window_ms;
	unsigned logs_in_window;
	unsigned long long unlogged;
};

/* One request's body and state. */
struct request {
	char *body;
	size_t len, seen; /* bytes kept, bytes received */
	bool too_large;
	bool answered; /* a 413 queued before the body's end */
};

static const char *
refusal_label(int reason)
{
	if (reason < PROV_REF_COUNT)
		return prov_refusal_name((enum prov_refusal)reason);
	return more_names[reason - PROV_REF_COUNT];
}

/* ---- answers ------------------------------------------------------------ */

static enum MHD_Result
answer(struct MHD_Connection *c, unsigned status, const char *body,
       unsigned retry_after)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	char *copy = strdup(body);

	if (copy == NULL)
		return MHD_NO;
	resp = MHD_create_response_from_buffer(strlen(copy), copy,
					       MHD_RESPMEM_MUST_FREE);
	if (resp == NULL) {
		free(copy);
		return MHD_NO;
	}
	(void)MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
				      JSON_TYPE);
	if (retry_after > 0) {
		char ra[16];

		(void)snprintf(ra, sizeof(ra), "%u", retry_after);
		(void)MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER,
					      ra);
	}
	ret = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static void
client_ip(struct MHD_Connection *c, char *buf, size_t cap)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci != NULL ? ci->client_addr : NULL;

	(void)snprintf(buf, cap, "?");
	if (sa == NULL ||
	    getnameinfo(sa,
			sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
						  : sizeof(struct sockaddr_in),
			buf, (socklen_t)cap, NULL, 0, NI_NUMERICHOST) != 0)
		(void)snprintf(buf, cap, "?");
}

/*
 * Count a refusal and log it (at most REFUSED_LOGS lines a minute; the
 * rest are counted and summed up in the next line that is logged).
 */
static void
refuse_note(struct prov *p, struct MHD_Connection *c, int reason,
	    const char *host)
{
	uint64_t now = timing_now_ms();
	unsigned long long skipped = 0;
	bool log = false;
	char ip[64];

	pthread_mutex_lock(&p->mu);
	p->refused[reason]++;
	if (now - p->log_window_ms >= 60000) {
		p->log_window_ms = now;
		p->logs_in_window = 0;
	}
	if (p->logs_in_window < REFUSED_LOGS) {
		p->logs_in_window++;
		log = true;
		skipped = p->unlogged;
		p->unlogged = 0;
	} else {
		p->unlogged++;
	}
	pthread_mutex_unlock(&p->mu);
	if (!log)
		return;
	client_ip(c, ip, sizeof(ip));
	log_warn("request from %s refused: %s%s%s%s%s", ip,
		 refusal_label(reason), host[0] != '\0' ? " (host '" : "", host,
		 host[0] != '\0' ? "')" : "",
		 skipped > 0 ? "; more refusals were not logged" : "");
}

static enum MHD_Result
refuse(struct prov *p, struct MHD_Connection *c, int reason, const char *host,
       unsigned retry_after)
{
	static const unsigned status[REF_ALL - PROV_REF_COUNT] = {
		MHD_HTTP_BAD_REQUEST,       MHD_HTTP_CONTENT_TOO_LARGE,
		MHD_HTTP_TOO_MANY_REQUESTS, MHD_HTTP_SERVICE_UNAVAILABLE,
		MHD_HTTP_NOT_FOUND,         MHD_HTTP_METHOD_NOT_ALLOWED};
	char body[128];

	refuse_note(p, c, reason, host);
	(void)snprintf(body, sizeof(body), "{\"error\":\"%s\"}",
		       refusal_label(reason));
	return answer(c,
		      reason < PROV_REF_COUNT ? MHD_HTTP_FORBIDDEN
					      : status[reason - PROV_REF_COUNT],
		      body, retry_after);
}

/* ---- the host's rate ------------------------------------------------------ */

static struct bucket *
bucket_of(struct prov *p, const char *host, unsigned cap, uint64_t now)
{
	struct bucket *oldest = &p->buckets[0];
	size_t i;

	for (i = 0; i < PROV_HOSTS_MAX; i++) {
		struct bucket *b = &p->buckets[i];

		if (strcmp(b->host, host) == 0)
			return b;
		if (b->host[0] == '\0' ||
		    (oldest->host[0] != '\0' && b->last_ms < oldest->last_ms))
			oldest = b;
	}
	memcpy(oldest->host, host, strlen(host) + 1);
	oldest->tokens = cap;
	oldest->last_ms = now;
	return oldest;
}

/*
 * May host send n more events?  Its bucket holds 10 s of host_rate and
 * gains host_rate a second; a batch takes n tokens (or the whole bucket
 * when n is more than it holds) or none.  0: yes; else the seconds to
 * wait (Retry-After).
 */
static unsigned
rate_take(struct prov *p, const char *host, size_t n, unsigned rate)
{
	uint64_t now = timing_now_ms();
	double cap = 10.0 * rate, need = (double)n < cap ? (double)n : cap;
	struct bucket *b;
	unsigned wait = 0;

	pthread_mutex_lock(&p->mu);
	b = bucket_of(p, host, (unsigned)cap, now);
	if (now > b->last_ms)
		b->tokens += (double)(now - b->last_ms) * rate / 1000.0;
	if (b->tokens > cap)
		b->tokens = cap;
	b->last_ms = now;
	if (b->tokens >= need)
		b->tokens -= need;
	else
		wait = (unsigned)((need - b->tokens) / rate) + 1;
	pthread_mutex_unlock(&p->mu);
	return wait;
}

/* ---- POST /v1/logins -------------------------------------------------- */

/*
 * The login of each valid event ([ldap] login_format), skipped
 * (skip_users, on_login = ignore: accepted, not journaled) or journaled.
 * Returns FT_OK once every journaled one is durable, else FT_E_IO.
 */
static int
journal(struct prov *p, struct prov_batch *b)
{
	const struct config *cfg = p->cfg;
	size_t i, written = 0;
	int r;

	for (i = 0; i < b->n; i++) {
		struct ft_event *ev = &b->item[i].ev;

		if (b->item[i].why != NULL)
			continue;
		if (login_name(cfg->ldap.login_format, ev->user, ev->user,
			       sizeof(ev->user)) < 0) {
			b->item[i].why = "no valid login under login_format";
			continue;
		}
		if (cfg->policy.on_login == ON_LOGIN_IGNORE ||
		    strlist_has(&cfg->policy.skip_users, ev->user))
			continue;
		r = queue_put_nosync(p->q, ev);
		if (r == FT_E_IO || r == FT_E_NOMEM)
			return FT_E_IO;
		if (r < 0)
			b->item[i].why = "too long to journal";
		else
			written++;
	}
	return written == 0 ? FT_OK : queue_sync(p->q);
}

/* Count n events of host's class (under p->mu). */
static void
count_class(struct prov *p, const char *host, size_t n)
{
	const struct strlist *allow = &p->cfg->provisioner.allow_hosts;
	long k = prov_host_class(allow, host);
	const char *glob = k >= 0 ? allow->v[k] : NULL;
	size_t i;

	if (glob == NULL || strlen(glob) > PROV_CLASS_LEN) {
		p->other_class += n;
		return;
	}
	for (i = 0; i < p->nclasses; i++)
		if (strcmp(p->classes[i].glob, glob) == 0)
			break;
	if (i == p->nclasses) {
		if (i == PROV_CLASSES_MAX) {
			p->other_class += n;
			return;
		}
		memcpy(p->classes[i].glob, glob, strlen(glob) + 1);
		p->nclasses++;
	}
	p->classes[i].events += n;
}

static void
count_and_log(struct prov *p, const struct prov_batch *b, const char *host)
{
	size_t i, ok = 0;

	for (i = 0; i < b->n; i++) {
		const struct ft_event *ev = &b->item[i].ev;

		if (b->item[i].why != NULL) {
			log_info("login event from host '%s' invalid: %s", host,
				 b->item[i].why);
			continue;
		}
		ok++;
		log_info("login of '%s' (service '%s') accepted from host "
			 "'%s'",
			 ev->user, ev->service, host);
	}
	pthread_mutex_lock(&p->mu);
	count_class(p, host, b->n);
	p->accepted += ok;
	p->invalid += b->n - ok;
	pthread_mutex_unlock(&p->mu);
}

static enum MHD_Result
logins(struct prov *p, struct MHD_Connection *c, const struct request *rq,
       const char *host)
{
	struct prov_batch *b = malloc(sizeof(*b));
	char out[PROV_WIRE_ANSWER_MAX];
	enum MHD_Result ret;
	unsigned wait;
	size_t len;
	int r;

	if (b == NULL)
		return MHD_NO;
	r = rq->too_large ? FT_E_TOOBIG
			  : prov_wire_decode(rq->body != NULL ? rq->body : "",
					     rq->len, host, b);
	if (r < 0) {
		ret = refuse(p, c,
			     r == FT_E_TOOBIG ? REF_TOO_LARGE : REF_BAD_REQUEST,
			     host, 0);
		goto out;
	}
	wait = rate_take(p, host, b->n, p->cfg->provisioner.host_rate);
	if (wait > 0) {
		ret = refuse(p, c, REF_RATE_LIMITED, host, wait);
		goto out;
	}
	if (journal(p, b) < 0) {
		log_error("unable to journal the logins from host '%s': %s",
			  host, strerror(errno));
		ret = refuse(p, c, REF_JOURNAL, host, PROV_RETRY_AFTER_IO);
		goto out;
	}
	count_and_log(p, b, host);
	r = prov_wire_answer(b, out, sizeof(out), &len);
	ret = r == FT_OK ? answer(c, MHD_HTTP_ACCEPTED, out, 0) : MHD_NO;
out:
	free(b);
	return ret;
}

/* ---- the request handler ------------------------------------------------ */

/* The client certificate's host, or a 403 queued (returns false). */
static bool
client_host(struct prov *p, struct MHD_Connection *c, char *host,
	    enum MHD_Result *ret)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	enum prov_refusal why = PROV_REF_NO_CERT;
	int r;

	r = prov_trust_check(p->trust, &p->cfg->provisioner.allow_hosts,
			     ci != NULL ? ci->tls_session : NULL, host, &why);
	if (r == FT_OK)
		return true;
	*ret = refuse(p, c, (int)why, host, 0);
	return false;
}

/* Collect the body, at most PROV_WIRE_BODY_MAX bytes (the rest dropped). */
static void
take_body(struct request *rq, const char *data, size_t size)
{
	rq->seen += size;
	if (rq->too_large || size > PROV_WIRE_BODY_MAX - rq->len) {
		rq->too_large = true;
		return;
	}
	if (rq->body == NULL) {
		rq->body = malloc(PROV_WIRE_BODY_MAX);
		if (rq->body == NULL) {
			rq->too_large = true; /* XXX: out of memory as a 413 */
			return;
		}
	}
	memcpy(rq->body + rq->len, data, size);
	rq->len += size;
}

/* The first call of a request: everything decided before its body. */
static enum MHD_Result
first_call(struct prov *p, struct MHD_Connection *c, const char *url,
	   const char *method, void **con_cls)
{
	const char *type, *length;
	struct request *rq;
	unsigned long long n = 0;
	char host[PROV_HOST_MAX + 1] = "";
	enum MHD_Result ret = MHD_NO;

	if (strcmp(url, "/v1/health") == 0)
		return strcmp(method, MHD_HTTP_METHOD_GET) == 0
			       ? answer(c, MHD_HTTP_OK, "{}", 0)
			       : refuse(p, c, REF_METHOD, host, 0);
	if (strcmp(url, "/v1/logins") != 0)
		return refuse(p, c, REF_NOT_FOUND, host, 0);
	if (!client_host(p, c, host, &ret))
		return ret;
	if (strcmp(method, MHD_HTTP_METHOD_POST) != 0)
		return refuse(p, c, REF_METHOD, host, 0);
	type = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
					   MHD_HTTP_HEADER_CONTENT_TYPE);
	if (type == NULL ||
	    strncasecmp(type, JSON_TYPE, strlen(JSON_TYPE)) != 0 ||
	    (type[strlen(JSON_TYPE)] != '\0' && type[strlen(JSON_TYPE)] != ';'))
		return refuse(p, c, REF_BAD_REQUEST, host, 0);
	length = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
					     MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (length != NULL &&
	    (ft_parse_uint(length, ~0ULL, &n) < 0 || n > PROV_WIRE_BODY_MAX))
		return refuse(p, c, REF_TOO_LARGE, host, 0);
	rq = calloc(1, sizeof(*rq));
	if (rq == NULL)
		return MHD_NO;
	*con_cls = rq;
	return MHD_YES;
}

/* 413 once, while the body still arrives (libmicrohttpd then closes). */
static enum MHD_Result
early_413(struct prov *p, struct MHD_Connection *c, struct request *rq)
{
	char host[PROV_HOST_MAX + 1] = "";
	enum MHD_Result ret = MHD_YES;

	if (rq->answered)
		return MHD_YES;
	rq->answered = true;
	if (client_host(p, c, host, &ret))
		ret = refuse(p, c, REF_TOO_LARGE, host, 0);
	return ret;
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *c, const char *url,
	   const char *method, const char *version, const char *data,
	   size_t *size, void **con_cls)
{
	struct prov *p = cls;
	struct request *rq = *con_cls;
	char host[PROV_HOST_MAX + 1] = "";
	enum MHD_Result ret = MHD_NO;

	(void)version;
	pthread_rwlock_rdlock(&p->lock);
	if (rq == NULL) {
		ret = first_call(p, c, url, method, con_cls);
	} else if (*size > 0) {
		take_body(rq, data, *size);
		*size = 0;
		/* a chunked body far over the limit: answer now, read no
		 * more (the client may then see no status); up to
		 * DISCARD_MAX it is read to its end for a clean 413 */
		ret = rq->seen > DISCARD_MAX ? early_413(p, c, rq) : MHD_YES;
	} else if (rq->answered) {
		ret = MHD_YES;
	} else if (client_host(p, c, host, &ret)) {
		/* the whole body is in: checked again, the trust may be new */
		ret = logins(p, c, rq, host);
	}
	pthread_rwlock_unlock(&p->lock);
	return ret;
}

static void
on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
	     enum MHD_RequestTerminationCode toe)
{
	struct request *rq = *con_cls;

	(void)cls;
	(void)c;
	(void)toe;
	if (rq == NULL)
		return;
	free(rq->body);
	free(rq);
	*con_cls = NULL;
}

static void
on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
	      enum MHD_ConnectionNotificationCode toe)
{
	struct prov *p = cls;

	(void)c;
	(void)socket_context;
	pthread_mutex_lock(&p->mu);
	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		p->conns_total++;
		p->conns_open++;
	} else if (p->conns_open > 0) {
		p->conns_open--;
	}
	pthread_mutex_unlock(&p->mu);
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap) FT_PRINTF(2, 0);

static void
on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];

	(void)cls;
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	msg[strcspn(msg, "\n")] = '\0';
	log_debug("libmicrohttpd: %s", msg);
}

/* ---- GET /metrics ----------------------------------------------------- */

static size_t
format_extra(struct prov *p, char *buf, size_t cap)
{
	char label[2 * PROV_CLASS_LEN + 1];
	size_t n = 0, j;
	int i, k;

#define PUT(...)                                                               \
	do {                                                                   \
		k = snprintf(buf + n, cap - n, __VA_ARGS__);                   \
		if (k < 0 || (size_t)k >= cap - n)                             \
			return n;                                              \
		n += (size_t)k;                                                \
	} while (0)
	pthread_mutex_lock(&p->mu);
	PUT("# HELP ftrack_syncd_prov_events_received_total Login events in "
	    "decoded request bodies, by the allow_hosts glob that let the "
	    "host in.\n# TYPE "
	    "ftrack_syncd_prov_events_received_total counter\n");
	for (j = 0; j < p->nclasses; j++) {
		metrics_label_value(label, sizeof(label), p->classes[j].glob);
		PUT("ftrack_syncd_prov_events_received_total{class=\"%s\"} "
		    "%llu\n",
		    label, p->classes[j].events);
	}
	PUT("ftrack_syncd_prov_events_received_total{class=\"(other)\"} "
	    "%llu\n",
	    p->other_class);
	PUT("# HELP ftrack_syncd_prov_events_total Login events by result.\n"
	    "# TYPE ftrack_syncd_prov_events_total counter\n"
	    "ftrack_syncd_prov_events_total{result=\"accepted\"} %llu\n"
	    "ftrack_syncd_prov_events_total{result=\"invalid\"} %llu\n",
	    p->accepted, p->invalid);
	PUT("# HELP ftrack_syncd_prov_refused_total Requests refused, by "
	    "reason.\n# TYPE ftrack_syncd_prov_refused_total counter\n");
	for (i = 0; i < REF_ALL; i++)
		PUT("ftrack_syncd_prov_refused_total{reason=\"%s\"} %llu\n",
		    refusal_label(i), p->refused[i]);
	PUT("# HELP ftrack_syncd_prov_connections_total Connections "
	    "accepted.\n# TYPE ftrack_syncd_prov_connections_total counter\n"
	    "ftrack_syncd_prov_connections_total %llu\n"
	    "# HELP ftrack_syncd_prov_connections Connections open.\n"
	    "# TYPE ftrack_syncd_prov_connections gauge\n"
	    "ftrack_syncd_prov_connections %llu\n",
	    p->conns_total, p->conns_open);
#undef PUT
	pthread_mutex_unlock(&p->mu);
	return n;
}

static enum MHD_Result
on_metrics(void *cls, struct MHD_Connection *c, const char *url,
	   const char *method, const char *version, const char *data,
	   size_t *size, void **con_cls)
{
	struct prov *p = cls;
	char *file = NULL, *text;
	size_t len = 0, n;
	struct MHD_Response *resp;
	enum MHD_Result ret;

	(void)version;
	(void)data;
	(void)con_cls;
	*size = 0; /* a GET: any body is dropped */
	if (strcmp(url, "/metrics") != 0)
		return answer(c, MHD_HTTP_NOT_FOUND, "{}", 0);
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0)
		return answer(c, MHD_HTTP_METHOD_NOT_ALLOWED, "{}", 0);
	/* metrics.prom is at most METRICS_TEXT_MAX; missing before the first */
	if (state_read_file(queue_state_dirfd(p->q), "metrics.prom",
			    METRICS_TEXT_MAX, &file, &len, NULL) < 0)
		len = 0;
	text = malloc(len + PROM_EXTRA);
	if (text == NULL) {
		free(file);
		return MHD_NO;
	}
	if (len > 0)
		memcpy(text, file, len);
	free(file);
	n = len + format_extra(p, text + len, PROM_EXTRA);
	resp = MHD_create_response_from_buffer(n, text, MHD_RESPMEM_MUST_FREE);
	if (resp == NULL) {
		free(text);
		return MHD_NO;
	}
	(void)MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
				      "text/plain; version=0.0.4");
	ret = MHD_queue_response(c, MHD_HTTP_OK, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* ---- start, reload, stop ------------------------------------------------ */

/* "host:port" or "[v6]:port" (numeric) into *ret (the caller frees it). */
int
prov_parse_addr(const char *s, struct addrinfo **ret)
{
	struct addrinfo hints = {.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV |
					     AI_PASSIVE,
				 .ai_socktype = SOCK_STREAM};
	char host[256];
	const char *colon = strrchr(s, ':');
	size_t hl;

	if (colon == NULL || colon == s || colon[1] == '\0')
		return FT_E_CONFIG;
	hl = (size_t)(colon - s);
	if (s[0] == '[' && colon[-1] == ']') {
		s++;
		hl -= 2;
	}
	if (hl >= sizeof(host))
		return FT_E_CONFIG;
	memcpy(host, s, hl);
	host[hl] = '\0';
	return getaddrinfo(host, colon + 1, &hints, ret) == 0 ? FT_OK
							      : FT_E_CONFIG;
}

static int
read_pem(const char *path, char **ret, char *err, size_t errlen)
{
	const char *why = NULL;
	size_t len;
	int r;

	r = state_read_file(AT_FDCWD, path, PEM_MAX, ret, &len, &why);
	if (r == FT_E_NOMEM)
		return r;
	if (r < 0) {
		(void)snprintf(err, errlen, "cannot read '%s': %s", path,
			       why != NULL ? why : ft_strerror(r));
		return FT_E_CONFIG;
	}
	return FT_OK;
}

static struct MHD_Daemon *
start_tls(struct prov *p, const struct config_provisioner *c,
	  const struct sockaddr *sa)
{
	return MHD_start_daemon(
		MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_TLS | MHD_USE_ERROR_LOG,
		0, NULL, NULL, on_request, p, MHD_OPTION_EXTERNAL_LOGGER,
		on_mhd_log, p, MHD_OPTION_SOCK_ADDR, sa,
		MHD_OPTION_HTTPS_MEM_KEY, p->key, MHD_OPTION_HTTPS_MEM_CERT,
		p->cert, MHD_OPTION_HTTPS_MEM_TRUST, p->ca,
		MHD_OPTION_HTTPS_PRIORITIES,
		"NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2",
		MHD_OPTION_CONNECTION_LIMIT, (unsigned)c->max_connections,
		MHD_OPTION_PER_IP_CONNECTION_LIMIT,
		(unsigned)c->per_ip_connections, MHD_OPTION_CONNECTION_TIMEOUT,
		(unsigned)PROV_TIMEOUT_S, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
		(size_t)PROV_CONN_MEMORY, MHD_OPTION_NOTIFY_COMPLETED,
		on_completed, p, MHD_OPTION_NOTIFY_CONNECTION, on_connection, p,
		MHD_OPTION_END);
}

static struct MHD_Daemon *
start_plain(struct prov *p, const struct sockaddr *sa)
{
	return MHD_start_daemon(
		MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG, 0, NULL,
		NULL, on_metrics, p, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, p,
		MHD_OPTION_SOCK_ADDR, sa, MHD_OPTION_CONNECTION_LIMIT, 16U,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)PROV_TIMEOUT_S,
		MHD_OPTION_END);
}

/* Listen on addr (TLS, or plain for /metrics). */
static int
listen_one(struct prov *p, const char *addr, bool tls, char *err, size_t errlen)
{
	struct addrinfo *ai = NULL;
	struct MHD_Daemon *d;

	if (prov_parse_addr(addr, &ai) < 0) {
		(void)snprintf(err, errlen,
			       "'%s' is not a numeric host:port or [v6]:port",
			       addr);
		return FT_E_CONFIG;
	}
	d = tls ? start_tls(p, &p->cfg->provisioner, ai->ai_addr)
		: start_plain(p, ai->ai_addr);
	freeaddrinfo(ai);
	if (d == NULL) {
		(void)snprintf(err, errlen, "cannot listen on %s: %s", addr,
			       errno != 0 ? strerror(errno)
					  : "libmicrohttpd refused it");
		return FT_E_IO;
	}
	if (tls)
		p->d[p->nd++] = d;
	else
		p->metrics = d;
	return FT_OK;
}

static int
start_all(struct prov *p, char *err, size_t errlen)
{
	const struct config_provisioner *c = &p->cfg->provisioner;
	size_t i;
	int r;

	r = read_pem(c->tls_cert_file, &p->cert, err, errlen);
	if (r == FT_OK)
		r = read_pem(c->tls_key_file, &p->key, err, errlen);
	if (r == FT_OK)
		r = read_pem(c->client_ca_file, &p->ca, err, errlen);
	if (r == FT_OK)
		r = prov_trust_load(c, &p->trust, err, errlen);
	for (i = 0; r == FT_OK && i < c->listen.n; i++) {
		if (i == PROV_LISTEN_MAX) {
			(void)snprintf(err, errlen,
				       "more than %d listen addresses",
				       PROV_LISTEN_MAX);
			return FT_E_CONFIG;
		}
		errno = 0;
		r = listen_one(p, c->listen.v[i], true, err, errlen);
	}
	if (r == FT_OK && c->metrics_listen != NULL)
		r = listen_one(p, c->metrics_listen, false, err, errlen);
	return r;
}

int
prov_start(const struct config *cfg, struct queue *q, struct prov **ret,
	   char *err, size_t errlen)
{
	struct prov *p = calloc(1, sizeof(*p));
	int r;

	if (p == NULL)
		return FT_E_NOMEM;
	pthread_rwlock_init(&p->lock, NULL);
	pthread_mutex_init(&p->mu, NULL);
	p->cfg = cfg;
	p->q = q;
	p->buckets = calloc(PROV_HOSTS_MAX, sizeof(*p->buckets));
	r = p->buckets != NULL ? start_all(p, err, errlen) : FT_E_NOMEM;
	if (r < 0) {
		prov_free(p);
		return r;
	}
	*ret = p;
	return FT_OK;
}

int
prov_reload(struct prov *p, const struct config *cfg, char *err, size_t errlen)
{
	struct prov_trust *t = NULL, *old;
	int r;

	r = prov_trust_load(&cfg->provisioner, &t, err, errlen);
	pthread_rwlock_wrlock(&p->lock);
	old = r == FT_OK ? p->trust : NULL;
	if (r == FT_OK)
		p->trust = t;
	p->cfg = cfg;
	pthread_rwlock_unlock(&p->lock);
	prov_trust_free(old);
	return r;
}

static void
free_pem(char *s)
{
	if (s == NULL)
		return;
	explicit_bzero(s, strlen(s));
	free(s);
}

void
prov_free(struct prov *p)
{
	size_t i;

	if (p == NULL)
		return;
	for (i = 0; i < p->nd; i++)
		MHD_stop_daemon(p->d[i]);
	if (p->metrics != NULL)
		MHD_stop_daemon(p->metrics);
	prov_trust_free(p->trust);
	free_pem(p->cert);
	free_pem(p->key);
	free_pem(p->ca);
	free(p->buckets);
	pthread_mutex_destroy(&p->mu);
	pthread_rwlock_destroy(&p->lock);
	free(p);
}
