/* SPDX-License-Identifier: Apache-2.0 */
/* prov_tls.c: a relay's client certificate and its host (see prov_tls.h). */
#include "prov_tls.h"

#include <ctype.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ft_err.h"
#include "state.h"

#define CHAIN_MAX 8 /* certificates a client may present */

struct prov_trust {
	gnutls_x509_trust_list_t list;
	char *deny; /* deny_file's text; "" when none */
};

static const char *const refusal_names[PROV_REF_COUNT] = {
	"no_certificate", "untrusted", "expired", "not_yet_valid", "revoked",
	"invalid",        "wildcard",  "no_name", "not_allowed",   "denied"};

const char *
prov_refusal_name(enum prov_refusal r)
{
	return (unsigned)r < PROV_REF_COUNT ? refusal_names[r] : "invalid";
}

void
prov_trust_free(struct prov_trust *t)
{
	if (t == NULL)
		return;
	if (t->list != NULL)
		gnutls_x509_trust_list_deinit(t->list, 1);
	free(t->deny);
	free(t);
}

static int
load_deny(struct prov_trust *t, const char *path, char *err, size_t errlen)
{
	const char *why = NULL;
	size_t len;
	int r;

	if (path == NULL) {
		t->deny = strdup("");
		return t->deny != NULL ? FT_OK : FT_E_NOMEM;
	}
	r = state_read_file(AT_FDCWD, path, PROV_DENY_MAX, &t->deny, &len,
			    &why);
	if (r == FT_E_NOMEM)
		return r;
	if (r < 0) {
		(void)snprintf(err, errlen, "%s: %s", path,
			       why != NULL ? why : ft_strerror(r));
		return FT_E_CONFIG;
	}
	return FT_OK;
}

static int
load_lists(struct prov_trust *t, const struct config_provisioner *p, char *err,
	   size_t errlen)
{
	int n;

	n = gnutls_x509_trust_list_add_trust_file(
		t->list, p->client_ca_file, NULL, GNUTLS_X509_FMT_PEM, 0, 0);
	if (n <= 0) {
		(void)snprintf(err, errlen, "%s: %s", p->client_ca_file,
			       n < 0 ? gnutls_strerror(n)
				     : "no CA certificate in it");
		return FT_E_CONFIG;
	}
	if (p->crl_file == NULL)
		return FT_OK;
	n = gnutls_x509_trust_list_add_trust_file(t->list, NULL, p->crl_file,
						  GNUTLS_X509_FMT_PEM,
						  GNUTLS_TL_VERIFY_CRL, 0);
	if (n <= 0)
		n = gnutls_x509_trust_list_add_trust_file(
			t->list, NULL, p->crl_file, GNUTLS_X509_FMT_DER,
			GNUTLS_TL_VERIFY_CRL, 0);
	if (n <= 0) {
		(void)snprintf(err, errlen, "%s: %s", p->crl_file,
			       n < 0 ? gnutls_strerror(n)
				     : "no revocation list signed by the "
				       "client CA and not out of date (its "
				       "next update in the future) in it");
		return FT_E_CONFIG;
	}
	return FT_OK;
}

int
prov_trust_load(const struct config_provisioner *p, struct prov_trust **ret,
		char *err, size_t errlen)
{
	struct prov_trust *t = calloc(1, sizeof(*t));
	int r = FT_E_NOMEM;

	if (t == NULL)
		return FT_E_NOMEM;
	if (p->client_ca_file == NULL) {
		(void)snprintf(err, errlen,
			       "[provisioner] client_ca_file: "
			       "not set");
		r = FT_E_CONFIG;
		goto out;
	}
	if (gnutls_x509_trust_list_init(&t->list, 0) < 0)
		goto out;
	r = load_lists(t, p, err, errlen);
	if (r == FT_OK)
		r = load_deny(t, p->deny_file, err, errlen);
	if (r == FT_OK) {
		*ret = t;
		t = NULL;
	}
out:
	prov_trust_free(t);
	return r;
}

bool
prov_host_name(char *name)
{
	size_t i, len = strlen(name);

	if (len == 0 || len > PROV_HOST_MAX || name[0] == '.' || name[0] == '-')
		return false;
	for (i = 0; i < len; i++) {
		char c = name[i];

		if (c >= 'A' && c <= 'Z')
			name[i] = (char)tolower((unsigned char)c);
		else if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
			   c == '.' || c == '-'))
			return false;
	}
	return true;
}

long
prov_host_class(const struct strlist *allow, const char *host)
{
	size_t i;

	for (i = 0; i < allow->n; i++)
		if (fnmatch(allow->v[i], host, FNM_CASEFOLD) == 0)
			return (long)i;
	return -1;
}

bool
prov_host_allowed(const struct strlist *allow, const char *host)
{
	return prov_host_class(allow, host) >= 0;
}

enum deny_kind { DENY_BLANK, DENY_PRINT, DENY_HOST, DENY_BAD };

/*
 * Line [s, e) of deny_file without blanks and its comment: a fingerprint
 * (colons dropped, lower case, into hex), a host name (folded, into
 * word), blank, or neither.
 */
static enum deny_kind
deny_line(const char *s, const char *e, char word[PROV_HOST_MAX + 2],
	  char hex[65])
{
	size_t n = 0, h = 0;
	const char *hash = memchr(s, '#', (size_t)(e - s));

	word[0] = hex[0] = '\0';
	if (hash != NULL)
		e = hash; /* a comment, to the end of the line */
	while (s < e && (*s == ' ' || *s == '\t'))
		s++;
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		e--;
	if (s == e)
		return DENY_BLANK;
	if ((size_t)(e - s) > (size_t)3 * 64)
		return DENY_BAD;
	for (; s < e && n < PROV_HOST_MAX + 1; s++) {
		word[n++] = *s;
		if (*s != ':' && h++ < 64)
			hex[h - 1] = (char)tolower((unsigned char)*s);
	}
	word[n] = '\0';
	hex[h < 64 ? h : 64] = '\0';
	if (s < e)
		return DENY_BAD;
	if (h == 64 && strspn(hex, "0123456789abcdef") == 64)
		return DENY_PRINT;
	return prov_host_name(word) ? DENY_HOST : DENY_BAD;
}

static bool
deny_line_is(const char *s, const char *e, const char *host, const char *fp)
{
	char word[PROV_HOST_MAX + 2], hex[65];

	switch (deny_line(s, e, word, hex)) {
	case DENY_PRINT: /* 64 hex digits are a host name too */
		return strcmp(hex, fp) == 0 ||
		       (prov_host_name(word) && strcmp(word, host) == 0);
	case DENY_HOST:
		return strcmp(word, host) == 0;
	case DENY_BLANK:
	case DENY_BAD:
		break;
	}
	return false;
}

void
prov_deny_count(const char *deny, struct prov_deny_count *ret)
{
	char word[PROV_HOST_MAX + 2], hex[65];
	const char *s = deny;
	unsigned line = 0;

	memset(ret, 0, sizeof(*ret));
	while (*s != '\0') {
		const char *e = strchr(s, '\n');

		if (e == NULL)
			e = s + strlen(s);
		line++;
		switch (deny_line(s, e, word, hex)) {
		case DENY_PRINT:
			ret->prints++;
			break;
		case DENY_HOST:
			ret->hosts++;
			break;
		case DENY_BAD:
			if (ret->bad++ == 0)
				ret->first_bad = line;
			break;
		case DENY_BLANK:
			break;
		}
		s = *e == '\n' ? e + 1 : e;
	}
}

bool
prov_deny_match(const char *deny, const char *host, const char *fp)
{
	const char *s = deny;

	while (*s != '\0') {
		const char *e = strchr(s, '\n');

		if (e == NULL)
			e = s + strlen(s);
		if (deny_line_is(s, e, host, fp))
			return true;
		s = *e == '\n' ? e + 1 : e;
	}
	return false;
}

static enum prov_refusal
status_reason(unsigned status)
{
	if (status & GNUTLS_CERT_REVOKED)
		return PROV_REF_REVOKED;
	if (status & GNUTLS_CERT_EXPIRED)
		return PROV_REF_EXPIRED;
	if (status & GNUTLS_CERT_NOT_ACTIVATED)
		return PROV_REF_NOT_YET_VALID;
	if (status & (GNUTLS_CERT_SIGNER_NOT_FOUND | GNUTLS_CERT_SIGNER_NOT_CA |
		      GNUTLS_CERT_SIGNATURE_FAILURE))
		return PROV_REF_UNTRUSTED;
	return PROV_REF_INVALID;
}

/*
 * The host of crt: the first DNS subjectAltName, else the CN, into host.
 * A '*' in any of them is a wildcard certificate.
 */
static enum prov_refusal
host_of(gnutls_x509_crt_t crt, char *host)
{
	char buf[PROV_HOST_MAX + 2];
	bool have = false;
	unsigned i;

	host[0] = '\0';
	for (i = 0; i < 64; i++) {
		size_t size = sizeof(buf);
		int t = gnutls_x509_crt_get_subject_alt_name(crt, i, buf, &size,
							     NULL);

		if (t == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
			break;
		if (t == GNUTLS_E_SHORT_MEMORY_BUFFER)
			return PROV_REF_NO_NAME;
		if (t != GNUTLS_SAN_DNSNAME)
			continue;
		if (memchr(buf, '*', size) != NULL)
			return PROV_REF_WILDCARD;
		if (!have)
			memcpy(host, buf, size + 1);
		have = true;
	}
	if (!have) {
		size_t size = sizeof(buf);

		if (gnutls_x509_crt_get_dn_by_oid(crt,
						  GNUTLS_OID_X520_COMMON_NAME,
						  0, 0, buf, &size) < 0)
			return PROV_REF_NO_NAME;
		if (strchr(buf, '*') != NULL)
			return PROV_REF_WILDCARD;
		memcpy(host, buf, strlen(buf) + 1);
	}
	return prov_host_name(host) ? PROV_REF_COUNT : PROV_REF_NO_NAME;
}

/* Verify the chain against t; PROV_REF_COUNT when good. */
static enum prov_refusal
verify_chain(const struct prov_trust *t, const gnutls_datum_t *der, unsigned n,
	     gnutls_x509_crt_t *crt)
{
	unsigned i, status = 0;
	enum prov_refusal why = PROV_REF_COUNT;

	if (n > CHAIN_MAX)
		n = CHAIN_MAX;
	for (i = 0; i < n; i++) {
		if (gnutls_x509_crt_init(&crt[i]) < 0 ||
		    gnutls_x509_crt_import(crt[i], &der[i],
					   GNUTLS_X509_FMT_DER) < 0) {
			why = PROV_REF_INVALID;
			break;
		}
	}
	if (why == PROV_REF_COUNT &&
	    (gnutls_x509_trust_list_verify_crt2(t->list, crt, n, NULL, 0, 0,
						&status, NULL) < 0 ||
	     status != 0))
		why = status_reason(status);
	return why;
}

static void
fingerprint(const gnutls_datum_t *der, char *hex)
{
	unsigned char md[32];
	size_t size = sizeof(md), i;

	hex[0] = '\0';
	if (gnutls_fingerprint(GNUTLS_DIG_SHA256, der, md, &size) < 0 ||
	    size != sizeof(md))
		return;
	for (i = 0; i < size; i++)
		(void)snprintf(hex + 2 * i, 3, "%02x", md[i]);
}

int
prov_trust_check(const struct prov_trust *t, const struct strlist *allow,
		 void *session, char *ret_host, enum prov_refusal *ret_why)
{
	gnutls_x509_crt_t crt[CHAIN_MAX] = {NULL};
	const gnutls_datum_t *der;
	unsigned n = 0, i;
	enum prov_refusal why = PROV_REF_NO_CERT;

	ret_host[0] = '\0';
	der = session != NULL ? gnutls_certificate_get_peers(session, &n)
			      : NULL;
	if (der != NULL && n > 0) {
		enum prov_refusal named;
		char fp[65];

		why = verify_chain(t, der, n, crt);
		/* the name is read for the log line even when refused */
		named = crt[0] != NULL ? host_of(crt[0], ret_host)
				       : PROV_REF_INVALID;
		if (why == PROV_REF_COUNT)
			why = named;
		if (why == PROV_REF_COUNT &&
		    !prov_host_allowed(allow, ret_host))
			why = PROV_REF_NOT_ALLOWED;
		fingerprint(&der[0], fp);
		if (why == PROV_REF_COUNT &&
		    prov_deny_match(t->deny, ret_host, fp))
			why = PROV_REF_DENIED;
	}
	for (i = 0; i < CHAIN_MAX; i++)
		if (crt[i] != NULL)
			gnutls_x509_crt_deinit(crt[i]);
	if (why == PROV_REF_COUNT)
		return FT_OK;
	*ret_why = why;
	return FT_E_PERM;
}
