/* SPDX-License-Identifier: Apache-2.0 */
/* http.c: one keep-alive libcurl easy handle that POSTs JSON. */
#include "http.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "ft_err.h"

struct http {
	CURL *curl;
	struct curl_slist *headers; /* holds the API key */
	char *url;
	char curl_err[CURL_ERROR_SIZE];
	char *buf; /* the body being received */
	size_t len;
	size_t cap;
	size_t max_body;
	bool toobig;
	bool nomem;
	unsigned long requests;
	unsigned long connections;
};

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc = CURLE_FAILED_INIT;

static void
global_init_once(void)
{
	global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

int
http_global_init(void)
{
	if (pthread_once(&global_once, global_init_once) != 0)
		return FT_E_INTERNAL;
	return global_rc == CURLE_OK ? FT_OK : FT_E_INTERNAL;
}

/* libcurl write callback: append to h->buf, up to h->max_body. */
static size_t
on_body(char *p, size_t size, size_t nmemb, void *ud)
{
	struct http *h = ud;
	size_t n = size * nmemb;

	if (n > h->max_body - h->len) {
		h->toobig = true;
		return 0; /* CURLE_WRITE_ERROR */
	}
	/* capacity at most the cap and its NUL, not the next doubling */
	if (array_grow(&h->buf, &h->cap, h->len + n + 1, 1, 16384,
		       h->max_body + 1) < 0) {
		h->nomem = true;
		return 0;
	}
	memcpy(h->buf + h->len, p, n);
	h->len += n;
	h->buf[h->len] = '\0';
	return n;
}

/* A header value may not carry CR, LF (header injection) or be empty. */
static bool
header_value_ok(const char *v)
{
	return v != NULL && *v != '\0' && strpbrk(v, "\r\n") == NULL;
}

/* Append "name: value" to *list; the temporary copy is wiped. */
static int
add_header(struct curl_slist **list, const char *name, const char *value)
{
	char line[1024];
	struct curl_slist *l;
	int n = snprintf(line, sizeof(line), "%s: %s", name, value);

	if (n < 0 || (size_t)n >= sizeof(line))
		return FT_E_INVAL;
	l = curl_slist_append(*list, line);
	explicit_bzero(line, sizeof(line));
	if (l == NULL)
		return FT_E_NOMEM;
	*list = l;
	return FT_OK;
}

static int
build_headers(struct http *h, const struct http_opts *o)
{
	int r;

	r = add_header(&h->headers, "Content-Type", "application/json");
	if (r == FT_OK)
		r = add_header(&h->headers, "Accept", "application/json");
	if (r == FT_OK && o->api_key != NULL)
		r = add_header(&h->headers, "ftrack-user", o->user);
	if (r == FT_OK && o->api_key != NULL)
		r = add_header(&h->headers, "ftrack-api-key", o->api_key);
	if (r == FT_OK && o->api_key != NULL)
		r = add_header(&h->headers, "ftrack-strict-api", "true");
	/* no "Expect: 100-continue" round trip for large batches */
	if (r == FT_OK)
		r = add_header(&h->headers, "Expect", "");
	return r;
}

#define SETOPT(h, opt, val)                                                    \
	do {                                                                   \
		if (curl_easy_setopt((h)->curl, (opt), (val)) != CURLE_OK)     \
			return FT_E_INTERNAL;                                  \
	} while (0)

/* The options that never change between requests. */
static int
set_options(struct http *h, const struct http_opts *o)
{
	long timeout = (long)o->timeout;
	long cto = o->connect_timeout ? (long)o->connect_timeout
				      : (timeout < 10 ? timeout : 10);

	SETOPT(h, CURLOPT_URL, h->url);
	SETOPT(h, CURLOPT_HTTPHEADER, h->headers);
	SETOPT(h, CURLOPT_POST, 1L);
	SETOPT(h, CURLOPT_PROTOCOLS_STR,
	       o->https_only ? "https" : "http,https");
	SETOPT(h, CURLOPT_FOLLOWLOCATION, 0L);
	SETOPT(h, CURLOPT_TIMEOUT, timeout);
	SETOPT(h, CURLOPT_CONNECTTIMEOUT, cto);
	SETOPT(h, CURLOPT_NOSIGNAL, 1L);
	SETOPT(h, CURLOPT_TCP_KEEPALIVE, 1L);
	SETOPT(h, CURLOPT_SSL_VERIFYPEER, 1L);
	SETOPT(h, CURLOPT_SSL_VERIFYHOST, 2L);
	if (o->ca_file != NULL && *o->ca_file != '\0')
		SETOPT(h, CURLOPT_CAINFO, o->ca_file);
	if (o->cert_file != NULL) {
		SETOPT(h, CURLOPT_SSLCERT, o->cert_file);
		SETOPT(h, CURLOPT_SSLCERTTYPE, "PEM");
		SETOPT(h, CURLOPT_SSLKEY, o->key_file);
		SETOPT(h, CURLOPT_SSLKEYTYPE, "PEM");
	}
	SETOPT(h, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	/* every encoding libcurl has: on_body counts the decoded bytes, and
	 * an announced length over the cap is refused before any body */
	SETOPT(h, CURLOPT_ACCEPT_ENCODING, "");
	SETOPT(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)h->max_body);
	SETOPT(h, CURLOPT_USERAGENT, "ftrack-syncd");
	SETOPT(h, CURLOPT_WRITEFUNCTION, on_body);
	SETOPT(h, CURLOPT_WRITEDATA, h);
	SETOPT(h, CURLOPT_ERRORBUFFER, h->curl_err);
	SETOPT(h, CURLOPT_VERBOSE, 0L);
	return FT_OK;
}

int
http_new(const struct http_opts *o, struct http **ret)
{
	struct http *h = NULL;
	int r = FT_E_INVAL;

	if (o->url == NULL || o->timeout == 0 ||
	    (o->cert_file == NULL) != (o->key_file == NULL) ||
	    (o->user == NULL) != (o->api_key == NULL))
		return FT_E_INVAL;
	if (o->api_key != NULL &&
	    (!header_value_ok(o->user) || !header_value_ok(o->api_key)))
		return FT_E_INVAL;
	r = http_global_init();
	if (r != FT_OK)
		return r;
	r = FT_E_NOMEM;
	h = calloc(1, sizeof(*h));
	if (h == NULL)
		goto out;
	h->max_body = o->max_body ? o->max_body : HTTP_MAX_BODY;
	h->url = strdup(o->url);
	h->curl = curl_easy_init();
	if (h->url == NULL || h->curl == NULL)
		goto out;
	r = build_headers(h, o);
	if (r == FT_OK)
		r = set_options(h, o);
	if (r != FT_OK)
		goto out;
	*ret = h;
	h = NULL;
out:
	http_free(h);
	return r;
}

void
http_free(struct http *h)
{
	struct curl_slist *l;

	if (h == NULL)
		return;
	if (h->curl != NULL)
		curl_easy_cleanup(h->curl);
	for (l = h->headers; l != NULL; l = l->next)
		explicit_bzero(l->data, strlen(l->data));
	curl_slist_free_all(h->headers);
	free(h->url);
	free(h->buf);
	free(h);
}

/* The FT_E_* code for a failed transfer; sets resp->transient. */
static int
transfer_error(const struct http *h, CURLcode rc, struct http_resp *resp)
{
	resp->transient = true;
	/* the same answer would come again */
	if (h->toobig || rc == CURLE_FILESIZE_EXCEEDED) {
		resp->transient = false;
		return FT_E_TOOBIG;
	}
	if (rc == CURLE_OUT_OF_MEMORY || h->nomem)
		return FT_E_NOMEM;
	if (rc == CURLE_URL_MALFORMAT || rc == CURLE_UNSUPPORTED_PROTOCOL) {
		resp->transient = false;
		return FT_E_CONFIG;
	}
	/* certificate checks fail the same way on every attempt */
	if (rc == CURLE_PEER_FAILED_VERIFICATION ||
	    rc == CURLE_SSL_CACERT_BADFILE || rc == CURLE_SSL_CERTPROBLEM ||
	    rc == CURLE_SSL_ISSUER_ERROR)
		resp->transient = false;
	return FT_E_HTTP;
}

/* Record what the finished transfer tells: status, retry, connections. */
static void
collect_info(struct http *h, struct http_resp *resp)
{
	long status = 0, conns = 0;
	curl_off_t ra = 0;

	if (curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &status) ==
	    CURLE_OK)
		resp->status = status;
	if (curl_easy_getinfo(h->curl, CURLINFO_RETRY_AFTER, &ra) == CURLE_OK &&
	    ra > 0)
		resp->retry_after = ra > 86400 ? 86400 : (long)ra;
	if (curl_easy_getinfo(h->curl, CURLINFO_NUM_CONNECTS, &conns) ==
		    CURLE_OK &&
	    conns > 0)
		h->connections += (unsigned long)conns;
}

/* Forget the receive buffer (freed), ready for the next request. */
static void
drop_body(struct http *h)
{
	free(h->buf);
	h->buf = NULL;
	h->cap = 0;
	h->len = 0;
}

/* "answer over the <cap> limit, counted after decompression" */
static void
toobig_msg(size_t cap, char *err, size_t errlen)
{
	const size_t mib = (size_t)1024 * 1024;

	if (cap % mib == 0)
		snprintf(
			err, errlen,
			"answer over the %zu MiB limit, counted after decompression",
			cap / mib);
	else
		snprintf(
			err, errlen,
			"answer over the %zu-byte limit, counted after decompression",
			cap);
}

/* Set up a POST of body (len bytes), or a GET of url when body is NULL. */
static int
prepare(struct http *h, const char *url, const char *body, size_t len)
{
	h->len = 0;
	h->toobig = false;
	h->nomem = false;
	h->curl_err[0] = '\0';
	SETOPT(h, CURLOPT_URL, url != NULL ? url : h->url);
	if (body == NULL) {
		SETOPT(h, CURLOPT_HTTPGET, 1L);
		return FT_OK;
	}
	SETOPT(h, CURLOPT_POST, 1L);
	SETOPT(h, CURLOPT_POSTFIELDS, body);
	SETOPT(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	return FT_OK;
}

static int
perform(struct http *h, const char *url, const char *body, size_t len,
	struct http_resp *resp, char *err, size_t errlen)
{
	CURLcode rc;

	memset(resp, 0, sizeof(*resp));
	if (prepare(h, url, body, len) != FT_OK)
		return FT_E_INTERNAL;
	h->requests++;
	rc = curl_easy_perform(h->curl);
	collect_info(h, resp);
	if (rc != CURLE_OK) {
		int r = transfer_error(h, rc, resp);

		drop_body(h); /* a large partial body is not kept around */
		if (r == FT_E_TOOBIG)
			toobig_msg(h->max_body, err, errlen);
		else
			snprintf(err, errlen, "%s",
				 h->curl_err[0] ? h->curl_err
						: curl_easy_strerror(rc));
		return r;
	}
	resp->body = h->buf != NULL ? h->buf : strdup("");
	resp->len = h->len;
	h->buf = NULL; /* now the caller's */
	drop_body(h);
	return resp->body != NULL ? FT_OK : FT_E_NOMEM;
}

int
http_post(struct http *h, const char *body, size_t len, struct http_resp *resp,
	  char *err, size_t errlen)
{
	return perform(h, NULL, body, len, resp, err, errlen);
}

int
http_get(struct http *h, const char *url, struct http_resp *resp, char *err,
	 size_t errlen)
{
	if (url == NULL) {
		memset(resp, 0, sizeof(*resp));
		return FT_E_INVAL;
	}
	return perform(h, url, NULL, 0, resp, err, errlen);
}

void
http_resp_clear(struct http_resp *r)
{
	if (r == NULL)
		return;
	free(r->body);
	memset(r, 0, sizeof(*r));
}

unsigned long
http_requests(const struct http *h)
{
	return h->requests;
}

unsigned long
http_connections(const struct http *h)
{
	return h->connections;
}
