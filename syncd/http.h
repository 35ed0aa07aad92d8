/* SPDX-License-Identifier: Apache-2.0 */
/*
 * http.h: POST JSON to the ftrack endpoint over one keep-alive connection.
 *
 * The only unit that sees CURL* (libcurl).  A struct http owns one easy
 * handle, reused for every request so that one TCP (and TLS) connection
 * carries them all, its header list (which holds the API key: wiped on
 * free, never logged; CURLOPT_VERBOSE stays off) and request and
 * connection counters.  It only moves bytes: the body is not interpreted.
 *
 * Requests: POST <url> with Content-Type and Accept application/json,
 * ftrack-user, ftrack-api-key and ftrack-strict-api: true (a relay's
 * handle sends no ftrack header: it has no key), or GET (http_get); only
 * http and https (https only when asked); redirects are not followed; TLS
 * peer and host verification on (CURLOPT_CAINFO when a CA file is given,
 * CURLOPT_SSLCERT and CURLOPT_SSLKEY for a client certificate);
 * CURLOPT_TIMEOUT and
 * CURLOPT_CONNECTTIMEOUT bounded; the response body capped after
 * decompression (HTTP_MAX_BODY).
 *
 * libcurl global state: http_global_init() calls curl_global_init()
 * exactly once per process (pthread_once).  ftrack-syncd's main() calls
 * it at start-up, before any thread exists; http_new() calls it too, so
 * single-threaded users (tests, admin commands) need not.
 * curl_global_cleanup() is never called: the process exit cleans up.
 *
 * Not thread-safe: one struct http per thread.  Non-logging.
 */
#ifndef HTTP_H
#define HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "ft_attrs.h"

/*
 * The response cap: the most bytes one answer may have once decompressed
 * (libcurl asks for gzip, deflate, br and zstd; the cap counts what they
 * inflate to, and the transfer is abandoned the moment it is passed, so
 * a small compressed answer cannot make a large body).  Nothing is parsed
 * before the whole body is in, so the cap bounds what the parser is given.
 *
 * 8 MiB, from the largest answers the ftrack client can legitimately get
 * (limits in ftrack_json.h, ftrack_api.h, ldap_map.h), measured on JSON
 * made as a server would make it (check_ftrack_reply holds the first):
 *   - a listing step, one answer with a page of FTRACK_PAGE_MAX (10,000)
 *     Users of the fields we select and as many Metadata markers: 4.4 MiB
 *     compact, 4.6 MiB spaced as Python's json.dumps does (realistic
 *     names: about 260 bytes a User, 180 a marker);
 *   - the pages we ask for (FTRACK_DEFAULT_PAGE, 500) with every string
 *     of every User at FTRACK_STR_MAX (1,024 bytes, escaped to 3 times
 *     that as \uXXXX pairs) and their markers: 6.0 MiB;
 *   - a write batch of FTRACK_MAX_BATCH_SIZE (1,000) creates, each result
 *     echoing the User: 0.4 MiB, 3.3 MiB with every value we write at
 *     MAP_VALUE_MAX (256 bytes) escaped the same way.
 * That is 1.7 times the largest typical answer; the parser's cost of an
 * abusive answer under the cap is bounded too (ftrack_reply_parse).
 */
#define HTTP_MAX_BODY ((size_t)8 * 1024 * 1024)

struct http;

struct http_opts {
	const char *url;          /* the endpoint, http:// or https:// */
	const char *user;         /* ftrack-user; NULL with api_key: none */
	const char *api_key;      /* ftrack-api-key (a secret); NULL: none */
	const char *ca_file;      /* NULL or "": the system CA store */
	unsigned timeout;         /* seconds for a whole request, > 0 */
	unsigned connect_timeout; /* seconds; 0: min(timeout, 10) */
	size_t max_body;          /* response cap in bytes; 0: HTTP_MAX_BODY */
	const char *cert_file;    /* a client certificate (PEM); NULL: none */
	const char *key_file;     /* its private key (PEM), with cert_file */
	bool https_only;          /* refuse http:// (a relay's upstreams) */
};

/* A response (or the failure to get one). */
struct http_resp {
	long status;      /* HTTP status; 0 when no response arrived */
	char *body;       /* NUL-terminated body (owned; http_resp_clear) */
	size_t len;       /* body length */
	long retry_after; /* seconds asked by Retry-After; 0: none */
	bool transient;   /* on FT_E_HTTP: another attempt may succeed */
};

/*
 * Initialise libcurl once per process (see above).  Returns FT_OK or
 * FT_E_INTERNAL (curl_global_init failed).
 */
FT_MUST_USE int http_global_init(void);

/*
 * A new handle for o (copied; the key is held only in the header list).
 * Returns FT_OK with *ret (free with http_free), FT_E_INVAL (missing url,
 * user without key or the reverse, a CR, LF or NUL in a header value, a
 * key_file without cert_file or the reverse, timeout 0), FT_E_NOMEM or
 * FT_E_INTERNAL (libcurl refused an option).
 */
FT_MUST_USE int http_new(const struct http_opts *o, struct http **ret);

/* Close the connection, wipe the key, free; NULL is a no-op. */
void http_free(struct http *h);

/*
 * POST len bytes of body (borrowed for the call).  resp is always filled
 * (clear it with http_resp_clear whatever the result).  Returns:
 *   FT_OK          a whole response arrived, of any HTTP status;
 *   FT_E_HTTP      no response: connection refused or dropped, timeout,
 *                  TLS failure...; resp->transient is false for failures
 *                  that repeating cannot fix (certificate checks);
 *   FT_E_TOOBIG    the body went over the cap, counted after
 *                  decompression (transfer abandoned; not transient);
 *   FT_E_CONFIG    the URL is malformed or its scheme not allowed;
 *   FT_E_NOMEM.
 * On failure a one-line reason (libcurl's) goes into err (capacity
 * errlen).
 */
FT_MUST_USE int http_post(struct http *h, const char *body, size_t len,
			  struct http_resp *resp, char *err, size_t errlen);

/*
 * GET url (not the handle's own; the handle's options, certificate and
 * connection cache are used) with the same results as http_post().  The
 * next http_post() goes to the handle's URL again.
 */
FT_MUST_USE int http_get(struct http *h, const char *url,
			 struct http_resp *resp, char *err, size_t errlen);

/* Free the body of r and zero it; NULL is a no-op. */
void http_resp_clear(struct http_resp *r);

/* Requests attempted and TCP connections opened since http_new. */
unsigned long http_requests(const struct http *h);
unsigned long http_connections(const struct http *h);

#endif
