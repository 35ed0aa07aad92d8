/* SPDX-License-Identifier: Apache-2.0 */
/* tls_cert.c: certificate, key, CA and CRL files read with libcrypto. */
#include "tls_cert.h"

#include <errno.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>

#include "ft_err.h"

static FILE *
open_pem(const char *path, const char *what, char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");

	if (f == NULL)
		(void)snprintf(err, errlen, "cannot open the %s '%s': %s", what,
			       path, strerror(errno));
	return f;
}

/* The first DNS subjectAltName of x, else its CN, into out. */
static void
cert_name(X509 *x, char *out, size_t cap)
{
	GENERAL_NAMES *san =
		X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	int i, n = san != NULL ? sk_GENERAL_NAME_num(san) : 0;

	out[0] = '\0';
	for (i = 0; i < n && out[0] == '\0'; i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(san, i);

		if (g->type == GEN_DNS)
			(void)snprintf(out, cap, "%.*s",
				       ASN1_STRING_length(g->d.dNSName),
				       (const char *)ASN1_STRING_get0_data(
					       g->d.dNSName));
	}
	GENERAL_NAMES_free(san);
	if (out[0] == '\0' &&
	    X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName,
				      out, (int)cap) < 0)
		out[0] = '\0';
}

static void
fill_info(X509 *x, time_t now, struct tls_cert_info *ret)
{
	const ASN1_TIME *na = X509_get0_notAfter(x);
	struct tm tm;
	int days = 0, secs = 0;
	ASN1_TIME *t = ASN1_TIME_set(NULL, now);

	cert_name(x, ret->name, sizeof(ret->name));
	ret->not_after = 0;
	if (ASN1_TIME_to_tm(na, &tm) == 1)
		ret->not_after = timegm(&tm);
	if (t != NULL && ASN1_TIME_diff(&days, &secs, t, na) == 1)
		ret->days_left = secs < 0 && days <= 0 ? days - 1 : days;
	else
		ret->days_left = (long)((ret->not_after - now) / 86400);
	ASN1_TIME_free(t);
}

int
tls_cert_check_pair(const char *cert, const char *key, time_t now,
		    struct tls_cert_info *ret, char *err, size_t errlen)
{
	FILE *f = NULL;
	X509 *x = NULL;
	EVP_PKEY *k = NULL;
	int r = FT_E_CONFIG;

	f = open_pem(cert, "certificate", err, errlen);
	if (f == NULL)
		goto out;
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (x == NULL) {
		(void)snprintf(err, errlen, "'%s' holds no PEM certificate",
			       cert);
		goto out;
	}
	f = open_pem(key, "key", err, errlen);
	if (f == NULL)
		goto out;
	k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (k == NULL) {
		(void)snprintf(err, errlen,
			       "'%s' holds no PEM private key (or it is "
			       "encrypted)",
			       key);
		goto out;
	}
	if (X509_check_private_key(x, k) != 1) {
		(void)snprintf(err, errlen,
			       "the key '%s' does not belong to the "
			       "certificate '%s'",
			       key, cert);
		goto out;
	}
	fill_info(x, now, ret);
	r = FT_OK;
out:
	ERR_clear_error();
	EVP_PKEY_free(k);
	X509_free(x);
	return r;
}

int
tls_cert_check_ca(const char *ca, size_t *ret_n, char *err, size_t errlen)
{
	FILE *f = open_pem(ca, "CA file", err, errlen);
	size_t n = 0;

	if (f == NULL)
		return FT_E_CONFIG;
	for (;;) {
		X509 *x = n < 10000 ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
		if (x == NULL)
			break;
		X509_free(x);
		n++;
	}
	fclose(f);
	ERR_clear_error();
	if (n == 0) {
		(void)snprintf(err, errlen, "'%s' holds no PEM certificate",
			       ca);
		return FT_E_CONFIG;
	}
	*ret_n = n;
	return FT_OK;
}

/* The CN of name, else the whole name in one line, into out. */
static void
name_text(X509_NAME *name, char *out, size_t cap)
{
	out[0] = '\0';
	if (X509_NAME_get_text_by_NID(name, NID_commonName, out, (int)cap) >= 0)
		return;
	if (X509_NAME_oneline(name, out, (int)cap) == NULL)
		out[0] = '\0';
}

int
tls_cert_check_crl(const char *crl, time_t now, struct tls_crl_info *ret,
		   char *err, size_t errlen)
{
	FILE *f = open_pem(crl, "revocation list", err, errlen);
	X509_CRL *c;
	const ASN1_TIME *nu;
	const STACK_OF(X509_REVOKED) * rev;
	struct tm tm;

	if (f == NULL)
		return FT_E_CONFIG;
	c = PEM_read_X509_CRL(f, NULL, NULL, NULL);
	if (c == NULL) {
		rewind(f);
		c = d2i_X509_CRL_fp(f, NULL);
	}
	fclose(f);
	ERR_clear_error();
	if (c == NULL) {
		(void)snprintf(err, errlen,
			       "'%s' holds no certificate revocation list "
			       "(PEM or DER)",
			       crl);
		return FT_E_CONFIG;
	}
	memset(ret, 0, sizeof(*ret));
	name_text(X509_CRL_get_issuer(c), ret->issuer, sizeof(ret->issuer));
	rev = X509_CRL_get_REVOKED(c);
	ret->revoked = rev != NULL ? (size_t)sk_X509_REVOKED_num(rev) : 0;
	nu = X509_CRL_get0_nextUpdate(c);
	if (nu != NULL && ASN1_TIME_to_tm(nu, &tm) == 1) {
		ret->next_update = timegm(&tm);
		ret->stale = ret->next_update < now;
	}
	X509_CRL_free(c);
	ERR_clear_error();
	return FT_OK;
}
