/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmd_check_relay.c: `ftrack-syncd check` on a relay: its certificate and
 * key (a pair, not expired, warned 30 days ahead), the CA file, and each
 * upstream's GET /v1/health.  A relay has no LDAP or ftrack to check.
 */
#include <stdio.h>
#include <time.h>

#include "cmd.h"
#include "config.h"
#include "ft_clean.h"
#include "ft_err.h"
#include "relay.h"
#include "tls_cert.h"

bool
cmd_check_pair(const char *section, const char *cert, const char *key,
	       const char *who)
{
	struct tls_cert_info ci;
	char err[1024] = "";
	char when[32] = "?";
	struct tm tm;

	if (tls_cert_check_pair(cert, key, time(NULL), &ci, err, sizeof(err)) <
	    0) {
		ft_clean_print(stdout, "cert:    FAILED: %s", err);
		return false;
	}
	if (gmtime_r(&ci.not_after, &tm) != NULL)
		(void)strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (ci.days_left < 0) {
		ft_clean_print(stdout,
			       "cert:    FAILED: '%s' (%s) expired on %s: %s; "
			       "renew it",
			       cert, ci.name, when, who);
		return false;
	}
	ft_clean_print(stdout,
		       "cert:    ok: '%s' for %s, key '%s' matches, valid "
		       "until %s (%ld days)",
		       cert, ci.name, key, when, ci.days_left);
	if (ci.days_left < TLS_CERT_WARN_DAYS)
		ft_clean_print(stdout,
			       "warning: [%s] tls_cert_file expires in %ld "
			       "days; renew it before %s",
			       section, ci.days_left, who);
	return true;
}

bool
cmd_check_ca(const char *ca)
{
	char err[1024] = "";
	size_t n = 0;

	if (ca == NULL) {
		ft_clean_print(
			stdout,
			"ca:      the system's CA store (no tls_ca_file)");
		return true;
	}
	if (tls_cert_check_ca(ca, &n, err, sizeof(err)) < 0) {
		ft_clean_print(stdout, "ca:      FAILED: %s", err);
		return false;
	}
	ft_clean_print(stdout, "ca:      ok: '%s' (%zu %s)", ca, n,
		       n == 1 ? "certificate" : "certificates");
	return true;
}

static bool
check_upstream(const struct config *cfg, const char *url)
{
	char err[512] = "";
	long status = 0;
	int r;

	r = relay_health(cfg, url, &status, err, sizeof(err));
	if (r < 0) {
		ft_clean_print(stdout, "upstream: FAILED: %s: %s", url,
			       err[0] != '\0' ? err : ft_strerror(r));
		return false;
	}
	if (status != 200) {
		ft_clean_print(stdout,
			       "upstream: FAILED: %s: /v1/health answered "
			       "HTTP %ld (200 expected)",
			       url, status);
		return false;
	}
	ft_clean_print(stdout, "upstream: ok: %s", url);
	return true;
}

int
cmd_check_relay(const struct config *cfg)
{
	bool ok;
	size_t i;

	ok = cmd_check_pair("relay", cfg->relay.tls_cert_file,
			    cfg->relay.tls_key_file,
			    "the provisioners refuse this host");
	ok = cmd_check_ca(cfg->relay.tls_ca_file) && ok;
	for (i = 0; i < cfg->relay.upstream.n; i++)
		ok = check_upstream(cfg, cfg->relay.upstream.v[i]) && ok;
	return ok ? EXIT_OK : EXIT_ERRORS;
}
