/* SPDX-License-Identifier: Apache-2.0 */
/* cmd.c: the `sync`, `check` and `status` commands. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "config.h"
#include "ft_err.h"
#include "ft_proto.h"
#include "ft_util.h"
#include "ftrack_api.h"
#include "ldap_src.h"
#include "log.h"
#include "report.h"
#include "sync.h"

int
cmd_become_daemon_user(const struct config *cfg)
{
	struct stat st;

	if (geteuid() != 0 || stat(cfg->daemon.state_dir, &st) < 0 ||
	    !S_ISDIR(st.st_mode) || st.st_uid == 0)
		return 0;
	if (setgroups(0, NULL) < 0 || setgid(st.st_gid) < 0 ||
	    setuid(st.st_uid) < 0) {
		fprintf(stderr,
			"ftrack-syncd: unable to become uid %u, the owner of "
			"'%s': %s\n",
			(unsigned)st.st_uid, cfg->daemon.state_dir,
			strerror(errno));
		return -1;
	}
	return 0;
}

/* Load the config for a command; print the error and say so when bad. */
static struct config *
load(const char *path)
{
	struct config *cfg = NULL;
	char err[1024];

	if (config_load(path, &cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "ftrack-syncd: %s\n", err);
		return NULL;
	}
	log_init("ftrack-syncd", true, cfg->daemon.log_level);
	if (cmd_become_daemon_user(cfg) < 0) {
		config_free(cfg);
		return NULL;
	}
	return cfg;
}

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
		printf("%s: %s: %s\n", users[i],
		       sync_outcome_name(res[i].outcome), res[i].detail);
		if (res[i].outcome == SYNC_RETRY ||
		    res[i].outcome == SYNC_FAILED)
			code = EXIT_ERRORS;
	}
	free(res);
	return code;
}

int
cmd_sync(int argc, char **argv, const char *config_path)
{
	struct config *cfg;
	struct sync *s = NULL;
	char err[512];
	int code = EXIT_OK, i, n;

	if (argc < 2) {
		fprintf(stderr, "usage: ftrack-syncd [-c FILE] sync USER...\n");
		return EXIT_USAGE;
	}
	for (i = 1; i < argc; i++) {
		if (argv[i][0] == '\0' ||
		    ft_proto_value_ok(argv[i], strlen(argv[i])) < 0) {
			fprintf(stderr, "ftrack-syncd: invalid user name\n");
			return EXIT_USAGE;
		}
	}
	cfg = load(config_path);
	if (cfg == NULL)
		return EXIT_USAGE;
	if (sync_new(cfg, &s, err, sizeof(err)) < 0) {
		fprintf(stderr, "ftrack-syncd: %s\n", err);
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
		printf("ldap:    FAILED: %s\n", err);
		return false;
	}
	printf("ldap:    ok: %s, bound %s%s\n", cfg->ldap.uri,
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
		printf("ftrack:  FAILED: %s (%s)\n", err, ft_strerror(r));
		return false;
	}
	printf("ftrack:  ok: %s, version %s, as '%s'\n", cfg->ftrack.server,
	       version, cfg->ftrack.api_user);
	return true;
}

int
cmd_check(int argc, char **argv, const char *config_path)
{
	struct config *cfg;
	bool ok;

	(void)argv;
	if (argc > 1) {
		fprintf(stderr, "usage: ftrack-syncd [-c FILE] check\n");
		return EXIT_USAGE;
	}
	cfg = load(config_path);
	if (cfg == NULL)
		return EXIT_USAGE;
	printf("config:  ok: %s\n", cfg->path);
	ok = check_ldap(cfg);
	ok = check_ftrack(cfg) && ok;
	config_free(cfg);
	return ok ? EXIT_OK : EXIT_ERRORS;
}

/* Whether a daemon is bound to the socket (a datagram connect tells). */
static bool
daemon_listening(const char *path)
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

/* Count the entries of dir (not '.' names); -1 when it cannot be read. */
static long
count_dir(const char *dir, const char *sub)
{
	char path[4096];
	struct dirent *e;
	DIR *d;
	long n = 0;

	(void)snprintf(path, sizeof(path), "%s/%s", dir, sub);
	d = opendir(path);
	if (d == NULL)
		return -1;
	/* readdir_r is deprecated; this DIR is private to the call. */
	/* cppcheck-suppress readdirCalled */
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] != '.' && e->d_type != DT_DIR)
			n++;
	}
	(void)closedir(d);
	return n;
}

int
cmd_status(int argc, char **argv, const char *config_path)
{
	const char *dir;
	struct config *cfg;
	char path[4096];
	struct stat st;

	(void)argv;
	if (argc > 1) {
		fprintf(stderr, "usage: ftrack-syncd [-c FILE] status\n");
		return EXIT_USAGE;
	}
	cfg = load(config_path);
	if (cfg == NULL)
		return EXIT_USAGE;
	dir = cfg->daemon.state_dir;
	printf("daemon:          %s %s\n",
	       daemon_listening(cfg->daemon.socket) ? "listening on"
						    : "NOT listening on",
	       cfg->daemon.socket);
	printf("queue:           %ld waiting, %ld failed (%s/queue)\n",
	       count_dir(dir, "queue"), count_dir(dir, "queue/failed"), dir);
	report_print_status(dir, stdout);
	(void)snprintf(path, sizeof(path), "%s/metrics.prom", dir);
	if (stat(path, &st) == 0)
		printf("metrics:         %s (written %lld s ago)\n", path,
		       (long long)(time(NULL) - st.st_mtime));
	else
		printf("metrics:         none yet (%s)\n", path);
	config_free(cfg);
	return EXIT_OK;
}
