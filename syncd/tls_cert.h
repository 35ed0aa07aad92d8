/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tls_cert.h: what `check` says about the certificate files of a relay
 * and of a provisioner.
 *
 * The only unit that sees OpenSSL's libcrypto types (X509, EVP_PKEY).  It
 * reads PEM files and reports; it never connects (libcurl does, in the
 * http unit).  Non-logging; thread-safe.
 */
#ifndef TLS_CERT_H
#define TLS_CERT_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "ft_attrs.h"

#define TLS_CERT_NAME_MAX  256
#define TLS_CERT_WARN_DAYS 30 /* `check` warns this close to the expiry */

struct tls_cert_info {
	char name[TLS_CERT_NAME_MAX]; /* first DNS subjectAltName, else CN */
	time_t not_after;             /* expiry (UTC) */
	long days_left;               /* whole days until then; < 0: expired */
};

/*
 * Load the PEM certificate cert and the PEM private key key and check
 * that they belong together.  Returns FT_OK with *ret filled; FT_E_CONFIG
 * with why in err (capacity errlen): unreadable, not PEM, or not a pair.
 */
FT_MUST_USE int tls_cert_check_pair(const char *cert, const char *key,
				    time_t now, struct tls_cert_info *ret,
				    char *err, size_t errlen);

/*
 * Count the certificates of the PEM file ca (a CA bundle) into *ret_n.
 * Returns FT_OK (at least one), or FT_E_CONFIG with why in err.
 */
FT_MUST_USE int tls_cert_check_ca(const char *ca, size_t *ret_n, char *err,
				  size_t errlen);

/* A certificate revocation list, as `check` reports it. */
struct tls_crl_info {
	char issuer[TLS_CERT_NAME_MAX]; /* the issuer's CN, else its DN */
	size_t revoked;                 /* certificates it revokes */
	time_t next_update;             /* 0: the CRL gives none */
	bool stale;                     /* next_update is before now */
};

/*
 * Read the CRL file crl (PEM, else DER).  Returns FT_OK with *ret filled;
 * FT_E_CONFIG with why in err: unreadable or not a CRL.  Its signature is
 * the provisioner's business (prov_tls.c checks it against the CA).
 */
FT_MUST_USE int tls_cert_check_crl(const char *crl, time_t now,
				   struct tls_crl_info *ret, char *err,
				   size_t errlen);

#endif
