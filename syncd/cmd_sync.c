/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmd_sync.c: `ftrack-syncd sync USER...`: provision these users now;
 * `sync --held`: every login held beyond a seat cap.  Both bypass the seat
 * caps (an administrator's decision, logged) and remove the held events
 * of the logins they settle.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cmd.h"
#include "config.h"
#include "ft_clean.h"
#include "ft_err.h"
#include "log.h"
#include "login.h"
#include "queue.h"
#include "sync.h"

/* Whether an outcome settles the login (its held event may go). */
static bool
settled(enum sync_outcome o)
{
	return o != SYNC_RETRY && o != SYNC_SEAT_WAITING && o != SYNC_FAILED &&
	       o != SYNC_HELD;
}

/*
 * A held user provisioned by hand: its held event goes, logged (an
 * administrator's decision to bypass the seat caps).  q may be NULL.
 */
static void
release_by_hand(struct queue *q, const char *user)
{
	int r;

	if (q == NULL)
		return;
	r = queue_unhold(q, user);
	if (r == FT_E_NOTFOUND)
		return;
	if (r == FT_OK)
		r = queue_remove(q, user);
	if (r < 0) {
		log_warn("'%s': unable to remove its held event: %s", user,
			 ft_strerror(r));
		return;
	}
	log_info("released held '%s' by `ftrack-syncd sync` (the seat caps "
		 "bypassed: an administrator's decision)",
		 user);
}

static int
sync_chunk(struct sync *s, struct queue *q, char **users, size_t n)
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
		if (settled(res[i].outcome))
			release_by_hand(q, users[i]);
		else
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

/* The names in queue/held/, collected by held_name(). */
struct held_names {
	char **v;
	size_t n, cap;
	bool nomem;
};

static int
held_name(void *ctx, const struct ft_event *ev, const char *reason,
	  long long since)
{
	struct held_names *h = ctx;
	char **v;

	(void)reason;
	(void)since;
	if (h->n == h->cap) {
		h->cap = h->cap ? 2 * h->cap : 64;
		v = realloc(h->v, h->cap * sizeof(*v));
		if (v == NULL) {
			h->nomem = true;
			return FT_E_NOMEM;
		}
		h->v = v;
	}
	h->v[h->n] = strdup(ev->user);
	if (h->v[h->n] == NULL) {
		h->nomem = true;
		return FT_E_NOMEM;
	}
	h->n++;
	return 0;
}

/* The queue of cfg's state_dir when it exists (NULL otherwise). */
static struct queue *
open_queue(const struct config *cfg)
{
	struct queue *q = NULL;
	struct stat st;

	if (stat(cfg->daemon.state_dir, &st) < 0 || !S_ISDIR(st.st_mode))
		return NULL;
	if (queue_open(cfg->daemon.state_dir, &q) < 0)
		return NULL;
	return q;
}

static int
run_chunks(const struct config *cfg, struct queue *q, char **users, int n_all)
{
	const struct hooks_origin o = {"login", "sync", NULL, NULL};
	struct hooks *hooks = NULL;
	struct sync *s = NULL;
	char err[512];
	int code = EXIT_OK, i, n;

	if (sync_new(cfg, &s, err, sizeof(err)) < 0) {
		ft_clean_print(stderr, "ftrack-syncd: %s", err);
		return EXIT_ERRORS;
	}
	/* the on_change journal lives in the state folder: none, no hook */
	if (q != NULL && hooks_open(cfg, queue_state_dirfd(q), &hooks) == FT_OK)
		sync_set_hooks(s, hooks, &o);
	for (i = 0; i < n_all; i += n) {
		int c;

		n = n_all - i < SYNC_BATCH_MAX ? n_all - i : SYNC_BATCH_MAX;
		c = sync_chunk(s, q, users + i, (size_t)n);
		if (c != EXIT_OK)
			code = c;
	}
	sync_free(s);
	hooks_free(hooks);
	return code;
}

/* `sync --held`: every login in queue/held/, the seat caps bypassed. */
static int
sync_held(const struct config *cfg)
{
	struct held_names h = {NULL, 0, 0, false};
	struct queue *q = open_queue(cfg);
	int code = EXIT_OK;
	size_t i;

	if (q == NULL) {
		ft_clean_print(stderr, "ftrack-syncd: %s: no queue to read",
			       cfg->daemon.state_dir);
		return EXIT_ERRORS;
	}
	if (queue_held_scan(q, held_name, NULL, &h) < 0 || h.nomem) {
		ft_clean_print(stderr,
			       "ftrack-syncd: unable to read %s/queue/"
			       "held",
			       cfg->daemon.state_dir);
		code = EXIT_ERRORS;
	} else if (h.n == 0) {
		printf("no held logins\n");
	} else {
		log_info("sync --held: provisioning %zu held logins (the seat "
			 "caps bypassed: an administrator's decision)",
			 h.n);
		code = run_chunks(cfg, q, h.v, (int)h.n);
	}
	for (i = 0; i < h.n; i++)
		free(h.v[i]);
	free(h.v);
	queue_free(q);
	return code;
}

int
cmd_sync(int argc, char **argv, const char *config_path)
{
	struct config *cfg = NULL;
	struct queue *q = NULL;
	int code = EXIT_OK, i;

	if (argc < 2) {
		fprintf(stderr, "usage: ftrack-syncd [-c FILE] sync USER... | "
				"sync --held\n");
		return EXIT_USAGE;
	}
	if (argc == 2 && strcmp(argv[1], "--held") == 0) {
		code = cmd_open(config_path, true, &cfg);
		if (code != EXIT_OK)
			return code;
		code = sync_held(cfg);
		config_free(cfg);
		return code;
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
	q = open_queue(cfg);
	code = run_chunks(cfg, q, argv + 1, argc - 1);
	queue_free(q);
	config_free(cfg);
	return code;
}
