/* SPDX-License-Identifier: Apache-2.0 */
/* cmd_check.c: `ftrack-syncd check`: the config, a bind to LDAP, ftrack. */
#include <stdio.h>

#include "cmd.h"
#include "config.h"
#include "ft_clean.h"
#include "ft_err.h"
#include "ftrack_api.h"
#include "ldap_src.h"

static bool
check_ldap(const struct config *cfg)
{
	struct ldap_src *src = NULL;
	char err[LDAP_SRC_REASON_MAX] = "out of memory";
	int r;

	r = ldap_src_new(cfg, &src);
	if (r == FT_OK)
		r = ldap_src_connect(src, err, sizeof(err));
	ldap_src_free(src);
	if (r < 0) {
		ft_clean_print(stdout, "ldap:    FAILED: %s", err);
		return false;
	}
	ft_clean_print(stdout, "ldap:    ok: %s, bound %s%s", cfg->ldap.uri,
		       cfg->ldap.bind_dn ? "as " : "anonymously",
		       cfg->ldap.bind_dn ? cfg->ldap.bind_dn : "");
	return true;
}

static bool
check_ftrack(const struct config *cfg)
{
	struct ftrack_client *c = NULL;
	struct ftrack_retry once = {.attempts = 1};
	char version[64], err[512] = "out of memory";
	int r;

	r = ftrack_client_new(cfg, &c);
	if (r == FT_OK) {
		ftrack_client_set_retry(c, &once);
		r = ftrack_server_info(c, version, sizeof(version), err,
				       sizeof(err));
	}
	ftrack_client_free(c);
	if (r < 0) {
		ft_clean_print(stdout, "ftrack:  FAILED: %s (%s)", err,
			       ft_strerror(r));
		return false;
	}
	ft_clean_print(stdout, "ftrack:  ok: %s, version %s, as '%s'",
		       cfg->ftrack.server, version, cfg->ftrack.api_user);
	return true;
}

static void
print_warning(void *ctx, const char *line)
{
	(void)ctx;
	ft_clean_print(stdout, "warning: %s", line);
}

int
cmd_check(int argc, char **argv, const char *config_path)
{
	struct config *cfg = NULL;
	bool ok;
	int code;

	code = cmd_open_noargs(argc, argv, config_path, true, &cfg);
	if (code != EXIT_OK)
		return code;
	ft_clean_print(stdout, "config:  ok: %s", cfg->path);
	config_warnings(cfg, print_warning, NULL);
	ok = check_ldap(cfg);
	ok = check_ftrack(cfg) && ok;
	config_free(cfg);
	return ok ? EXIT_OK : EXIT_ERRORS;
}
