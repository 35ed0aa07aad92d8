/* SPDX-License-Identifier: Apache-2.0 */
/* h_https.c: test library: the throwaway PKI (ca.sh) and HTTPS requests. */
#include <curl/curl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>

#include "ft_err.h"
#include "harness.h"

#define CA_SCRIPT FT_TEST_SRCDIR "/tests/lib/ca.sh"

int
h_ca_make(const char *dir)
{
	const char *argv[] = {"/bin/bash", CA_SCRIPT, dir, NULL};
	char log[PATH_MAX];
	int status = 0;

	if (h_fmt(log, sizeof(log), "%s/../ca.log", dir) < 0)
		return FT_E_TOOBIG;
	if (h_run(argv, log, 60000, &status) < 0 || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0) {
		h_err("tests/lib/ca.sh %s failed, see %s", dir, log);
		return FT_E_IO;
	}
	return FT_OK;
}

int
h_prov_lines(char *buf, size_t cap, const char *pki, int port, int mport,
	     bool revocation)
{
	char listen[64] = "", metrics[64] = "", rev[2 * PATH_MAX + 64] = "";

	if ((port > 0 &&
	     h_fmt(listen, sizeof(listen),
		   "provisioner.listen = 127.0.0.1:%d\n", port) < 0) ||
	    (mport > 0 &&
	     h_fmt(metrics, sizeof(metrics),
		   "provisioner.metrics_listen = 127.0.0.1:%d\n", mport) < 0) ||
	    (revocation && h_fmt(rev, sizeof(rev),
				 "provisioner.crl_file = %s/crl.pem\n"
				 "provisioner.deny_file = %s/denied\n",
				 pki, pki) < 0))
		return FT_E_TOOBIG;
	return h_fmt(buf, cap,
		     "daemon.mode = provisioner\n"
		     "%s%s"
		     "provisioner.tls_cert_file = %s/server.crt\n"
		     "provisioner.tls_key_file = %s/server.key\n"
		     "provisioner.client_ca_file = %s/ca.crt\n"
		     "%s"
		     "provisioner.allow_hosts = *.ws.example.com\n",
		     listen, metrics, pki, pki, pki, rev);
}

struct sink {
	char *buf;
	size_t len, cap;
};

static size_t
on_body(char *data, size_t size, size_t n, void *ctx)
{
	struct sink *s = ctx;
	size_t len = size * n, room = s->cap - 1 - s->len;

	if (len > room)
		len = room;
	memcpy(s->buf + s->len, data, len);
	s->len += len;
	s->buf[s->len] = '\0';
	return size * n;
}

static size_t
on_header(char *data, size_t size, size_t n, void *ctx)
{
	struct h_https_resp *r = ctx;
	size_t len = size * n;
	static const char name[] = "Retry-After:";

	if (len > sizeof(name) &&
	    strncasecmp(data, name, sizeof(name) - 1) == 0) {
		size_t v = sizeof(name) - 1, k = 0;

		while (v < len && data[v] == ' ')
			v++;
		while (v < len && data[v] >= '0' && data[v] <= '9' &&
		       k < sizeof(r->retry_after) - 1)
			r->retry_after[k++] = data[v++];
		r->retry_after[k] = '\0';
	}
	return len;
}

int
h_https(const struct h_https_req *rq, struct h_https_resp *ret)
{
	CURL *c = curl_easy_init();
	struct curl_slist *hdr = NULL;
	struct sink s = {ret->body, 0, sizeof(ret->body)};
	char type[256];

	if (c == NULL)
		return FT_E_NOMEM;
	memset(ret, 0, sizeof(*ret));
	curl_easy_setopt(c, CURLOPT_URL, rq->url);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	if (rq->ca != NULL)
		curl_easy_setopt(c, CURLOPT_CAINFO, rq->ca);
	if (rq->cert != NULL) {
		curl_easy_setopt(c, CURLOPT_SSLCERT, rq->cert);
		curl_easy_setopt(c, CURLOPT_SSLKEY, rq->key);
	}
	if (rq->content_type != NULL &&
	    h_fmt(type, sizeof(type), "Content-Type: %s", rq->content_type) ==
		    FT_OK)
		hdr = curl_slist_append(hdr, type);
	if (rq->chunked)
		hdr = curl_slist_append(hdr, "Transfer-Encoding: chunked");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
	if (rq->body != NULL) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, rq->body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)rq->len);
	}
	if (rq->method != NULL)
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, rq->method);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, ret);
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &ret->status);
	curl_slist_free_all(hdr);
	curl_easy_cleanup(c);
	return FT_OK;
}
