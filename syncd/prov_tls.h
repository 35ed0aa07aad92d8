/* SPDX-License-Identifier: Apache-2.0 */
/*
 * prov_tls.h: who a relay is: its client certificate checked against
 * [provisioner] client_ca_file, crl_file, allow_hosts and deny_file.
 *
 * The rules, in order (the first that fails is the reason):
 *   no_certificate  the client sent none (the server only requests one);
 *   untrusted       not signed by client_ca_file (another CA, a bad chain);
 *   expired, not_yet_valid, revoked (in crl_file), invalid (anything
 *                   else GnuTLS refuses);
 *   wildcard        a DNS subjectAltName (or the CN) holds '*';
 *   no_name         no host name: the first DNS subjectAltName, else the
 *                   CN, must be 1..253 bytes of [A-Za-z0-9.-] (folded to
 *                   lower case);
 *   not_allowed     the name matches no allow_hosts glob (fnmatch, case
 *                   ignored; '*' matches dots too);
 *   denied          the name, or the SHA-256 fingerprint of the DER
 *                   certificate, is a line of deny_file.
 * deny_file: one host name or fingerprint (64 hex digits, colons allowed)
 * a line, '#' starts a comment (to the end of the line), blank lines
 * skipped; at most
 * PROV_DENY_MAX bytes.
 *
 * A struct prov_trust is read-only once loaded (any threads may check
 * against it); SIGHUP loads a new one (the CA, the CRL, the deny file).
 * Non-logging unit: errors come back in the caller's buffer.
 */
#ifndef PROV_TLS_H
#define PROV_TLS_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "ft_attrs.h"

#define PROV_DENY_MAX 1048576 /* bytes of deny_file */
#define PROV_HOST_MAX 253     /* a DNS name */

/* Why a certificate was refused (metric label reason=...). */
enum prov_refusal {
	PROV_REF_NO_CERT,
	PROV_REF_UNTRUSTED,
	PROV_REF_EXPIRED,
	PROV_REF_NOT_YET_VALID,
	PROV_REF_REVOKED,
	PROV_REF_INVALID,
	PROV_REF_WILDCARD,
	PROV_REF_NO_NAME,
	PROV_REF_NOT_ALLOWED,
	PROV_REF_DENIED,
	PROV_REF_COUNT
};

struct prov_trust;

/* The label of a refusal ("no_certificate", "untrusted", ...). */
const char *prov_refusal_name(enum prov_refusal r);

/*
 * Load p's client_ca_file, crl_file (PEM or DER) and deny_file.  Returns
 * FT_OK and a new trust in *ret (free with prov_trust_free); FT_E_CONFIG
 * (a file missing or unreadable, no CA in it, a bad CRL) with "file:
 * reason" in err; FT_E_NOMEM.
 */
FT_MUST_USE int prov_trust_load(const struct config_provisioner *p,
				struct prov_trust **ret, char *err,
				size_t errlen);

/* Free t; NULL is a no-op. */
void prov_trust_free(struct prov_trust *t);

/*
 * Check the client of the GnuTLS session (a gnutls_session_t, from
 * libmicrohttpd's MHD_CONNECTION_INFO_GNUTLS_SESSION; NULL: no TLS)
 * against t and allow (the allow_hosts globs).  Returns FT_OK and the
 * host name in ret_host (capacity PROV_HOST_MAX + 1); FT_E_PERM and the
 * reason in *ret_why, with the name in ret_host when one was read (else
 * ""); FT_E_NOMEM.
 */
FT_MUST_USE int prov_trust_check(const struct prov_trust *t,
				 const struct strlist *allow, void *session,
				 char *ret_host, enum prov_refusal *ret_why);

/*
 * The pure rules, for the tests: fold name to lower case in place and
 * say whether it is a host name (above); whether it matches a glob of
 * allow; whether the deny text (deny_file's content) names host or the
 * fingerprint fp (64 lowercase hex digits).
 */
bool prov_host_name(char *name);
bool prov_host_allowed(const struct strlist *allow, const char *host);

/*
 * The host's class: the index in allow of the first glob that matches
 * host (the one that let it in), or -1 when none does.
 */
long prov_host_class(const struct strlist *allow, const char *host);
bool prov_deny_match(const char *deny, const char *host, const char *fp);

/* What the lines of a deny_file text are (for `check`). */
struct prov_deny_count {
	size_t hosts, prints; /* host names, fingerprints */
	size_t bad;           /* lines that are neither: they match nothing */
	unsigned first_bad;   /* the 1-based number of the first such line */
};

void prov_deny_count(const char *deny, struct prov_deny_count *ret);

#endif
