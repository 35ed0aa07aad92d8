/* SPDX-License-Identifier: Apache-2.0 */
/* cmd_sync.c: `ftrack-syncd sync USER...`: provision these users now. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "config.h"
#include "ft_clean.h"
#include "login.h"
#include "sync.h"

static int
sync_chunk(struct sync *s, char **users, size_t n)
{
	struct sync_result *res = calloc(n, sizeof(*res));
	int code = EXIT_OK;
	size_t i;

	if (res == NULL) {
		fprintf(stderr, "ftrack-syncd: out of memory\n");
		return EXIT_ERRORS;
	}
	sync_users(s, (const char *const *)users, n, res);
	for (i = 0; i < n; i++) {
		ft_clean_print(stdout, "%s: %s: %s", users[i],
			       sync_outcome_name(res[i].outcome),
			       res[i].detail);
		if (res[i].outcome == SYNC_RETRY ||
		    res[i].outcome == SYNC_SEAT_WAITING ||
		    res[i].outcome == SYNC_FAILED)
			code = EXIT_ERRORS;
	}
	free(res);
	return code;
}

/*
 * Each name becomes its login ([ldap] login_format), in place (a login is
 * never longer than its name), as the daemon makes it of a login event;
 * the outcomes name the logins.
 */
static int
logins_of(const struct config *cfg, char **names, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		size_t len = strlen(names[i]);

		if (login_name(cfg->ldap.login_format, names[i], names[i],
			       len + 1) < 0) {
			ft_clean_print(
				stderr,
				"ftrack-syncd: '%s': [ldap] login_format "
				"leaves no valid login name",
				names[i]);
			return EXIT_USAGE;
		}
	}
	return EXIT_OK;
}

int
cmd_sync(int argc, char **argv, const char *config_path)
{
	struct config *cfg = NULL;
	struct sync *s = NULL;
	char err[512];
	int code = EXIT_OK, i, n;

	if (argc < 2) {
		fprintf(stderr, "usage: ftrack-syncd [-c FILE] sync USER...\n");
		return EXIT_USAGE;
	}
	for (i = 1; i < argc; i++) {
		if (!login_valid(argv[i])) {
			fprintf(stderr, "ftrack-syncd: invalid user name\n");
			return EXIT_USAGE;
		}
	}
	code = cmd_open(config_path, true, &cfg);
	if (code != EXIT_OK)
		return code;
	code = cmd_refuse_relay(cfg, "sync");
	if (code == EXIT_OK)
		code = logins_of(cfg, argv + 1, (size_t)(argc - 1));
	if (code != EXIT_OK) {
		config_free(cfg);
		return code;
	}
	if (sync_new(cfg, &s, err, sizeof(err)) < 0) {
		ft_clean_print(stderr, "ftrack-syncd: %s", err);
		config_free(cfg);
		return EXIT_ERRORS;
	}
	for (i = 1; i < argc; i += n) {
		int c;

		n = argc - i < SYNC_BATCH_MAX ? argc - i : SYNC_BATCH_MAX;
		c = sync_chunk(s, argv + i, (size_t)n);
		if (c != EXIT_OK)
			code = c;
	}
	sync_free(s);
	config_free(cfg);
	return code;
}
