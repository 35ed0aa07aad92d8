/* SPDX-License-Identifier: Apache-2.0 */
/* cmd.c: what every command does first: config, log, the daemon's account. */
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "cmd.h"
#include "config.h"
#include "extprog.h"
#include "ft_clean.h"
#include "log.h"
#include "transform.h"

int
cmd_no_core_dumps(const char **ret_what)
{
	struct rlimit rl;

	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) {
		*ret_what = "prctl(PR_SET_DUMPABLE)";
		return -1;
	}
	if (getrlimit(RLIMIT_CORE, &rl) == 0 && rl.rlim_cur == 0 &&
	    rl.rlim_max == 0)
		return 0; /* LimitCORE=0 in the unit, whose filter has no
			     setrlimit */
	rl.rlim_cur = rl.rlim_max = 0;
	if (setrlimit(RLIMIT_CORE, &rl) < 0) {
		*ret_what = "setrlimit(RLIMIT_CORE)";
		return -1;
	}
	return 0;
}

int
cmd_become_daemon_user(const struct config *cfg)
{
	struct stat st;

	if (geteuid() != 0 || stat(cfg->daemon.state_dir, &st) < 0 ||
	    !S_ISDIR(st.st_mode) || st.st_uid == 0)
		return 0;
	if (setgroups(0, NULL) < 0 || setgid(st.st_gid) < 0 ||
	    setuid(st.st_uid) < 0) {
		ft_clean_print(
			stderr,
			"ftrack-syncd: unable to become uid %u, the owner "
			"of '%s': %s",
			(unsigned)st.st_uid, cfg->daemon.state_dir,
			strerror(errno));
		return -1;
	}
	return 0;
}

int
cmd_open(const char *path, bool log_stderr, struct config **ret)
{
	struct config *cfg = NULL;
	const char *what = NULL;
	char err[1024];
	int dumps, dumps_errno;

	/* before the secrets are read, and again once the uid changed */
	dumps = cmd_no_core_dumps(&what);
	dumps_errno = errno;
	if (config_load(path, &cfg, err, sizeof(err)) < 0) {
		ft_clean_print(stderr, "ftrack-syncd: %s", err);
		return EXIT_USAGE;
	}
	log_init("ftrack-syncd",
		 log_stderr || cfg->daemon.log_target == LOG_TARGET_STDERR,
		 cfg->daemon.log_level);
	if (cmd_become_daemon_user(cfg) < 0) {
		config_free(cfg);
		return EXIT_ERRORS;
	}
	if (dumps == 0 && cmd_no_core_dumps(&what) < 0) {
		dumps = -1;
		dumps_errno = errno;
	}
	if (dumps < 0)
		log_warn("unable to turn core dumps off (%s): %s", what,
			 strerror(dumps_errno));
	*ret = cfg;
	return EXIT_OK;
}

int
cmd_open_noargs(int argc, char **argv, const char *path, bool log_stderr,
		struct config **ret)
{
	if (argc > 1) {
		ft_clean_print(stderr, "usage: ftrack-syncd [-c FILE] %s",
			       argv[0]);
		return EXIT_USAGE;
	}
	return cmd_open(path, log_stderr, ret);
}

/* config_warnings' emit for cmd_log_warnings; ctx: the config's path. */
struct warn_ctx {
	const char *path;
};

static void
log_warning_line(void *ctx, const char *line)
{
	const struct warn_ctx *w = ctx;

	log_warn("%s: %s", w->path, line);
}

/* What the daemon will make of [mapping] transform, said once at start. */
static void
log_transform(const struct config *cfg)
{
	char why[EXTPROG_WHY_MAX];
	struct stat st;

	if (extprog_check(cfg->mapping.transform, why, sizeof(why)) < 0)
		log_warn("[mapping] transform refused: %s: logins wait in the "
			 "queue until it is mended",
			 why);
	else if (stat(TRANSFORM_SOCKET, &st) < 0 || !S_ISSOCK(st.st_mode))
		log_info("[mapping] transform: no %s: the daemon starts '%s' "
			 "itself, with its own rights",
			 TRANSFORM_SOCKET, cfg->mapping.transform);
}

void
cmd_log_warnings(const struct config *cfg)
{
	struct warn_ctx w = {cfg->path};

	config_warnings(cfg, log_warning_line, &w);
	if (transform_configured(cfg))
		log_transform(cfg);
}

int
cmd_refuse_relay(const struct config *cfg, const char *what)
{
	if (cfg->daemon.mode != MODE_RELAY)
		return EXIT_OK;
	ft_clean_print(stderr,
		       "ftrack-syncd: %s: this host is a relay ([daemon] mode "
		       "= relay in %s): it has no LDAP and no ftrack; run %s "
		       "on a provisioner",
		       what, cfg->path, what);
	return EXIT_USAGE;
}

bool
cmd_daemon_listening(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd, n;
	bool yes;

	n = snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (n < 0 || (size_t)n >= sizeof(sa.sun_path))
		return false;
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	yes = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	(void)close(fd);
	return yes;
}
