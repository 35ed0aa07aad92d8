/* SPDX-License-Identifier: Apache-2.0 */
/* cmd_status.c: `ftrack-syncd status`: socket, queue, reconciles, the
 * reconcile lease and last good run (from ftrack), metrics. */
#include <stdbool.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "config.h"
#include "ft_clean.h"
#include "ft_err.h"
#include "lease.h"
#include "queue.h"
#include "report.h"

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
		       daemon_listening(cfg->daemon.socket)
			       ? "listening on"
			       : "NOT listening on",
		       cfg->daemon.socket);
	print_queue(cfg->daemon.state_dir);
	print_held(cfg->daemon.state_dir);
	report_print_status(cfg->daemon.state_dir, stdout);
	lease_print_status(cfg, stdout);
	(void)snprintf(path, sizeof(path), "%s/metrics.prom",
		       cfg->daemon.state_dir);
	if (stat(path, &st) == 0)
		ft_clean_print(stdout,
			       "metrics:         %s (written %lld s ago)", path,
			       (long long)(time(NULL) - st.st_mtime));
	else
		ft_clean_print(stdout, "metrics:         none yet (%s)", path);
	config_free(cfg);
	return EXIT_OK;
}
