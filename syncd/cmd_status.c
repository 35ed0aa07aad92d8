/* SPDX-License-Identifier: Apache-2.0 */
/* cmd_status.c: `ftrack-syncd status`: socket, queue, held logins,
 * on_change hook changes, reconciles, the reconcile lease and last good
 * run (from ftrack), a relay's upstreams, metrics. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "config.h"
#include "ft_clean.h"
#include "ft_err.h"
#include "hooks.h"
#include "lease.h"
#include "metrics.h"
#include "queue.h"
#include "relay.h"
#include "report.h"
#include "state.h"
#include "sync_groups.h"
#include "transform.h"

/* The queue's line: its depth and failed/ as the queue unit counts them. */
static void
print_queue(const char *dir)
{
	struct queue *q = NULL;
	size_t waiting = 0, failed = 0;
	int r;

	r = queue_open(dir, &q);
	if (r == FT_OK)
		r = queue_depth(q, &waiting);
	if (r == FT_OK)
		r = queue_failed_count(q, &failed);
	queue_free(q);
	if (r < 0)
		ft_clean_print(stdout,
			       "queue:           unreadable: %s (%s/queue)",
			       ft_strerror(r), dir);
	else
		ft_clean_print(
			stdout,
			"queue:           %zu waiting, %zu failed (%s/queue)",
			waiting, failed, dir);
}

/* The on_change hook's line: changes waiting, in flight, failed. */
static void
print_hooks(const struct config *cfg)
{
	const char *dir = cfg->daemon.state_dir;
	struct hooks_counts c;
	int fd, r;

	if (cfg->hooks.on_change == NULL || cfg->hooks.on_change[0] == '\0')
		return;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	r = fd < 0 ? FT_E_IO : hooks_count(fd, &c);
	if (fd >= 0)
		(void)close(fd);
	if (r < 0)
		ft_clean_print(stdout,
			       "hooks:           unreadable: %s (%s/hooks)",
			       strerror(errno), dir);
	else
		ft_clean_print(stdout,
			       "hooks:           %llu pending (%llu bytes), "
			       "%llu being written, %llu failed (%s/hooks)",
			       c.pending, c.pending_bytes, c.in_flight,
			       c.failed, dir);
}

/* Held logins listed by status (at most this many lines). */
#define HELD_LINES_MAX 100

struct held_list {
	size_t n;
};

static int
print_held_one(void *ctx, const struct ft_event *ev, const char *reason,
	       long long since)
{
	struct held_list *h = ctx;
	char when[32] = "?";
	time_t t = (time_t)since;
	struct tm tm;

	if (++h->n > HELD_LINES_MAX)
		return 0;
	if (gmtime_r(&t, &tm) != NULL)
		(void)strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	ft_clean_print(stdout, "  %s  host %s  since %s  %s", ev->user,
		       ev->host[0] ? ev->host : "-", when, reason);
	return 0;
}

#define METRICS_READ_MAX ((size_t)256 * 1024)

/* What the daemon's last metrics say of the transform program. */
static void
print_transform(const char *path)
{
	unsigned long long failing = 0, outages = 0, bad = 0;
	char *text = malloc(METRICS_READ_MAX);
	FILE *f = fopen(path, "re");
	size_t len = 0;

	if (text != NULL && f != NULL)
		len = fread(text, 1, METRICS_READ_MAX, f);
	if (f != NULL)
		(void)fclose(f);
	if (text == NULL || len == 0 ||
	    metrics_sample(text, len, "transform_failing", &failing) < 0) {
		ft_clean_print(stdout, "transform:       no calls yet");
	} else {
		if (metrics_sample(text, len, "transform_outages_total",
				   &outages) < 0)
			outages = 0;
		if (metrics_sample(text, len, "transform_bad_answers_total",
				   &bad) < 0)
			bad = 0;
		if (failing > 0)
			ft_clean_print(
				stdout,
				"transform:       FAILING: the last %llu "
				"calls failed (it cannot start, exits or "
				"does not answer in time): logins wait in "
				"the queue; see the log",
				failing);
		else
			ft_clean_print(
				stdout,
				"transform:       ok (%llu outages, %llu "
				"entries refused since the daemon started)",
				outages, bad);
	}
	free(text);
}

/* The mapping lines, and what the daemon's last read made of them. */
static void
print_groups(const struct config *cfg, const char *path)
{
	unsigned long long resolved = 0, missing = 0;
	size_t lines = cfg->groups.group_map.n + cfg->groups.role_map.n;
	char *text = malloc(METRICS_READ_MAX);
	FILE *f = fopen(path, "re");
	size_t len = 0;

	if (text != NULL && f != NULL)
		len = fread(text, 1, METRICS_READ_MAX, f);
	if (f != NULL)
		(void)fclose(f);
	if (text == NULL || len == 0 ||
	    metrics_sample(text, len, "group_names_resolved", &resolved) < 0 ||
	    metrics_sample(text, len, "group_names_missing", &missing) < 0)
		ft_clean_print(stdout,
			       "groups:          %zu mapping line(s) "
			       "([group_map] %zu, [role_map] %zu); the ftrack "
			       "names not read yet (at the first login)",
			       lines, cfg->groups.group_map.n,
			       cfg->groups.role_map.n);
	else
		ft_clean_print(stdout,
			       "groups:          %zu mapping line(s) "
			       "([group_map] %zu, [role_map] %zu); ftrack "
			       "names %llu resolved, %llu missing%s",
			       lines, cfg->groups.group_map.n,
			       cfg->groups.role_map.n, resolved, missing,
			       missing > 0 ? " (left out: see the log or "
					     "`check`)"
					   : "");
	free(text);
}

/* The logins held beyond a seat cap: one line each, oldest first. */
static void
print_held(const char *dir)
{
	struct queue *q = NULL;
	struct held_list h = {0};
	size_t n = 0;
	int r;

	r = queue_open(dir, &q);
	if (r == FT_OK)
		r = queue_held_count(q, &n);
	if (r == FT_OK && n > 0) {
		ft_clean_print(stdout,
			       "held:            %zu beyond a seat cap, oldest "
			       "first (%s/queue/held; `sync --held` releases "
			       "them):",
			       n, dir);
		r = queue_held_scan(q, print_held_one, NULL, &h);
		if (h.n > HELD_LINES_MAX)
			ft_clean_print(stdout, "  ... and %zu more",
				       h.n - HELD_LINES_MAX);
	} else if (r == FT_OK) {
		ft_clean_print(stdout, "held:            none");
	}
	queue_free(q);
	if (r < 0)
		ft_clean_print(stdout, "held:            unreadable: %s",
			       ft_strerror(r));
}

/*
 * A relay's upstreams and its last forward, as the relay last wrote them
 * (state_dir/relay.status; read on the state folder's terms, cleaned).
 */
static void
print_relay(const struct config *cfg)
{
	char *buf = NULL, *line, *end;
	const char *why = NULL;
	size_t len = 0;
	int dirfd, r;
	struct stat st;

	dirfd = open(cfg->daemon.state_dir,
		     O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	r = dirfd < 0 ? FT_E_IO
		      : state_read_file(dirfd, RELAY_STATUS_FILE,
					RELAY_STATUS_MAX, &buf, &len, &why);
	if (r == FT_OK &&
	    fstatat(dirfd, RELAY_STATUS_FILE, &st, AT_SYMLINK_NOFOLLOW) == 0)
		ft_clean_print(stdout, "relay:           written %lld s ago",
			       (long long)(time(NULL) - st.st_mtime));
	if (dirfd >= 0)
		(void)close(dirfd);
	if (r < 0) {
		ft_clean_print(stdout,
			       "relay:           no state yet (%s/%s): %s",
			       cfg->daemon.state_dir, RELAY_STATUS_FILE,
			       why != NULL ? why : ft_strerror(r));
		for (size_t i = 0; i < cfg->relay.upstream.n; i++)
			ft_clean_print(stdout, "upstream %s: unknown",
				       cfg->relay.upstream.v[i]);
		return;
	}
	for (line = buf; *line != '\0'; line = end + (*end != '\0')) {
		end = line + strcspn(line, "\n");
		ft_clean_print(stdout, "%.*s", (int)(end - line), line);
	}
	free(buf);
}

int
cmd_status(int argc, char **argv, const char *config_path)
{
	struct config *cfg = NULL;
	char path[4096];
	struct stat st;
	int code;

	code = cmd_open_noargs(argc, argv, config_path, true, &cfg);
	if (code != EXIT_OK)
		return code;
	ft_clean_print(stdout, "daemon:          %s %s",
		       cmd_daemon_listening(cfg->daemon.socket)
			       ? "listening on"
			       : "NOT listening on",
		       cfg->daemon.socket);
	print_queue(cfg->daemon.state_dir);
	if (cfg->daemon.mode == MODE_RELAY) {
		print_relay(cfg);
	} else {
		print_held(cfg->daemon.state_dir);
		print_hooks(cfg);
		report_print_status(cfg->daemon.state_dir, stdout);
		lease_print_status(cfg, stdout);
	}
	(void)snprintf(path, sizeof(path), "%s/metrics.prom",
		       cfg->daemon.state_dir);
	if (transform_configured(cfg))
		print_transform(path);
	if (cfg->daemon.mode != MODE_RELAY && sync_groups_enabled(cfg))
		print_groups(cfg, path);
	if (stat(path, &st) == 0)
		ft_clean_print(stdout,
			       "metrics:         %s (written %lld s ago)", path,
			       (long long)(time(NULL) - st.st_mtime));
	else
		ft_clean_print(stdout, "metrics:         none yet (%s)", path);
	config_free(cfg);
	return EXIT_OK;
}
