/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tls_cert.h: what `check` says about a relay's certificate files.
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

#endif
