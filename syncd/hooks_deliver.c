/* SPDX-License-Identifier: Apache-2.0 */
/* hooks_deliver.c: journaled changes to the on_change program, in order. */
#include "hooks_deliver.h"
#include "hooks.h"
#include "hooks_exec.h"
#include "hooks_int.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "ft_err.h"
#include "ft_util.h"
#include "ftrack_api.h"
#include "log.h"
#include "state.h"
#include "timing.h"

#define NAMES_MAX   100000 /* names of the folder looked at, at most */
#define IDLE_MS     1000   /* look again after this when nothing moved */
#define INTENT_READ (HOOKS_PENDING_MAX + HOOKS_LINE_MAX)

struct hooks_deliver {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t thread;
	bool started, stop;
	char *path;       /* on_change (mu) */
	unsigned timeout; /* hook_timeout seconds (mu) */
	int dirfd, ffd;   /* hooks/ and hooks/failed/ */
	struct ftrack_client *ft;
	uint64_t base_ms, max_ms, rng;
	unsigned long long nostart;    /* tries in a row it did not start */
	struct hooks_deliver_stats st; /* (mu) */
};

/* The folder's names (intents and ready files), sorted. */
struct names {
	char **v;
	size_t n, cap;
};

static int
names_add(void *ctx, int dirfd, const char *name)
{
	struct names *ns = ctx;
	char **nv;

	(void)dirfd;
	if (!hooks_is_intent(name) && !hooks_is_ready(name))
		return FT_OK;
	if (ns->n == NAMES_MAX)
		return FT_OK; /* the rest waits for the next look */
	if (ns->n == ns->cap) {
		nv = realloc(ns->v, (2 * ns->cap + 16) * sizeof(*nv));
		if (nv == NULL)
			return FT_E_NOMEM;
		ns->v = nv;
		ns->cap = 2 * ns->cap + 16;
	}
	ns->v[ns->n] = strdup(name);
	if (ns->v[ns->n] == NULL)
		return FT_E_NOMEM;
	ns->n++;
	return FT_OK;
}

static void
names_clear(struct names *ns)
{
	size_t i;

	for (i = 0; i < ns->n; i++)
		free(ns->v[i]);
	free(ns->v);
	memset(ns, 0, sizeof(*ns));
}

static uint64_t
backoff(struct hooks_deliver *d, unsigned long long attempt)
{
	return timing_backoff_ms(attempt > 30 ? 30 : (unsigned)attempt,
				 d->base_ms, d->max_ms, timing_rand(&d->rng));
}

/*
 * An intent in the way: FT_OK when it was settled here (look again),
 * FT_E_AGAIN while its writer holds it, else the re-check's failure.
 */
static int
settle_intent(struct hooks_deliver *d, const char *name)
{
	int fd = openat(d->dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC), r;

	if (fd < 0)
		return errno == ENOENT ? FT_OK : FT_E_IO;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		(void)close(fd);
		return FT_E_AGAIN;
	}
	r = hooks_recheck(d->dirfd, d->ft, name);
	(void)close(fd);
	return r;
}

/* ---- delivering a ready file -------------------------------------------- */

static void
cursor_save(struct hooks_deliver *d, const struct hooks_cursor *c)
{
	if (hooks_cursor_write(d->dirfd, c) < 0)
		log_warn("unable to write hooks/cursor: %s (changes may be "
			 "delivered again)",
			 strerror(errno));
}

/* The id of the change on line (len bytes) into id; "" when none. */
static void
line_id(const char *line, size_t len, char *id, size_t cap)
{
	json_t *c = json_loadb(line, len, 0, NULL);
	const char *v = json_string_value(json_object_get(c, "id"));

	id[0] = '\0';
	if (v != NULL && strlen(v) < cap &&
	    strspn(v, "0123456789abcdef-") == strlen(v))
		(void)snprintf(id, cap, "%s", v);
	if (id[0] == '\0')
		(void)snprintf(id, cap, "unknown-%llx",
			       (unsigned long long)timing_now_ms());
	json_decref(c);
}

/* The change refused HOOKS_REFUSALS_MAX times goes to hooks/failed/. */
static void
fail_one(struct hooks_deliver *d, const char *line, size_t len, const char *why)
{
	char id[HOOKS_NAME_MAX], name[HOOKS_NAME_MAX + 8];

	line_id(line, len, id, sizeof(id));
	(void)snprintf(name, sizeof(name), "%s.json", id);
	if (ft_write_atomic(d->ffd, name, line, len) < 0)
		log_error("unable to keep hook change %s in hooks/failed/: %s; "
			  "it is dropped",
			  id, strerror(errno));
	else
		log_warn("hook change %s refused %u times (%s): moved to "
			 "hooks/failed/%s, the others go on",
			 id, HOOKS_REFUSALS_MAX, why, name);
	(void)pthread_mutex_lock(&d->mu);
	d->st.failed++;
	(void)pthread_mutex_unlock(&d->mu);
}

/* Up to max whole lines of buf[0..len): their bytes, their count. */
static size_t
whole_lines(const char *buf, size_t len, size_t max, size_t *ret_n)
{
	size_t end = 0, i, n = 0;

	for (i = 0; i < len && n < max; i++)
		if (buf[i] == '\n') {
			end = i + 1;
			n++;
		}
	*ret_n = n;
	return end;
}

/* Run the hook on buf; FT_OK when it took them, with why on failure. */
static int
offer(struct hooks_deliver *d, const char *buf, size_t len, char *why,
      size_t cap)
{
	char *path;
	unsigned timeout;
	int r;

	(void)pthread_mutex_lock(&d->mu);
	path = d->path != NULL ? strdup(d->path) : NULL;
	timeout = d->timeout;
	(void)pthread_mutex_unlock(&d->mu);
	if (path == NULL) {
		(void)snprintf(why, cap, "no on_change");
		return FT_E_AGAIN;
	}
	r = hooks_exec_run(path, buf, len, timeout, why, cap);
	free(path);
	return r;
}

/* After a run that took n changes (len bytes) of the file (size bytes). */
static void
advance(struct hooks_deliver *d, struct hooks_cursor *c, size_t len, size_t n,
	unsigned long long size)
{
	c->offset += len;
	c->index += n;
	c->attempts = 0;
	if (c->offset >= size) {
		(void)unlinkat(d->dirfd, c->name, 0);
		(void)unlinkat(d->dirfd, HOOKS_CURSOR, 0);
		return;
	}
	cursor_save(d, c);
}

/*
 * A refusal of `offered` changes, the first n of them buf[0..len) of the
 * head file (size bytes); the wait before the next.
 */
static uint64_t
refused(struct hooks_deliver *d, struct hooks_cursor *c, const char *buf,
	size_t len, size_t n, size_t offered, unsigned long long size,
	const char *why)
{
	uint64_t wait;

	c->attempts++;
	(void)pthread_mutex_lock(&d->mu);
	d->st.refused++;
	(void)pthread_mutex_unlock(&d->mu);
	if (c->attempts >= HOOKS_REFUSALS_MAX && offered == 1) {
		fail_one(d, buf, len, why);
		advance(d, c, len, n, size);
		return 0;
	}
	wait = backoff(d, c->attempts - 1);
	log_warn("unable to deliver %zu hook change(s) to on_change: %s; "
		 "offered again in %llu s (refusal %llu of %u)",
		 offered, why, (unsigned long long)(wait + 999) / 1000,
		 c->attempts, HOOKS_REFUSALS_MAX);
	cursor_save(d, c);
	return wait;
}

/*
 * Whole ready files after the head one (ns->v[at + 1...], up to the first
 * name that is not one) appended to buf[*len...] while the batch keeps
 * within HOOKS_BATCH_MAX changes and HOOKS_BATCH_BYTES: *n and *len grow;
 * the number of files taken.
 */
static size_t
gather(struct hooks_deliver *d, const struct names *ns, size_t at, char *buf,
       size_t *len, size_t *n)
{
	size_t files = 0, j;

	for (j = at + 1; j < ns->n && hooks_is_ready(ns->v[j]); j++) {
		unsigned long long k = hooks_ready_count(ns->v[j]);
		size_t size = 0, got = 0, lines = 0;
		int fd = -1;

		if (*n + k > HOOKS_BATCH_MAX ||
		    state_open_file(d->dirfd, ns->v[j], HOOKS_BATCH_BYTES, &fd,
				    &size, NULL) < 0)
			break;
		if (*len + size > HOOKS_BATCH_BYTES ||
		    state_read_fd(fd, buf + *len, size, &got) < 0)
			got = 0;
		(void)close(fd);
		if (got == 0 || got != size ||
		    whole_lines(buf + *len, got, HOOKS_BATCH_MAX, &lines) !=
			    got ||
		    lines != k)
			break;
		*len += got;
		*n += lines;
		files++;
	}
	return files;
}

/* Remove the files ns->v[at + 1 .. at + files] a run took whole. */
static void
taken(struct hooks_deliver *d, const struct names *ns, size_t at, size_t files)
{
	size_t j;

	for (j = at + 1; j <= at + files; j++)
		if (unlinkat(d->dirfd, ns->v[j], 0) < 0)
			log_warn("unable to remove hooks/%s: %s (its changes "
				 "are delivered again)",
				 ns->v[j], strerror(errno));
}

/*
 * The program could not be started (the file rule, a missing file, its
 * socket): no refusal of any change; the wait before the next try.
 */
static uint64_t
not_started(struct hooks_deliver *d, size_t n, const char *why)
{
	uint64_t wait = backoff(d, d->nostart++);

	(void)pthread_mutex_lock(&d->mu);
	d->st.not_started++;
	(void)pthread_mutex_unlock(&d->mu);
	log_warn("unable to run on_change: %s; %zu hook change(s) wait, tried "
		 "again in %llu s",
		 why, n, (unsigned long long)(wait + 999) / 1000);
	return wait;
}

/* The cursor of ready file name (a fresh one when it was another's). */
static void
cursor_for(struct hooks_deliver *d, const char *name, struct hooks_cursor *c)
{
	hooks_cursor_read(d->dirfd, c);
	if (strcmp(c->name, name) != 0) {
		memset(c, 0, sizeof(*c));
		(void)snprintf(c->name, sizeof(c->name), "%s", name);
	}
}

/* The head file's bytes from the cursor on into buf; its size. */
static int
read_head(struct hooks_deliver *d, const struct hooks_cursor *c, char *buf,
	  size_t *ret_size, size_t *ret_len)
{
	ssize_t got;
	int fd = -1;

	if (state_open_file(d->dirfd, c->name, INTENT_READ, &fd, ret_size,
			    NULL) < 0)
		return FT_E_IO;
	got = pread(fd, buf, HOOKS_BATCH_BYTES, (off_t)c->offset);
	(void)close(fd);
	*ret_len = got > 0 ? (size_t)got : 0;
	return FT_OK;
}

/*
 * Offer the next changes of ready file ns->v[at] (and, when they are its
 * last and it was not refused, of the whole files after it); the wait
 * before the next look.
 */
static uint64_t
deliver(struct hooks_deliver *d, const struct names *ns, size_t at)
{
	struct hooks_cursor c;
	char *buf = malloc(HOOKS_BATCH_BYTES), why[512];
	size_t size = 0, len = 0, take, n = 0, head, all, more = 0;
	uint64_t wait = IDLE_MS;
	int r;

	cursor_for(d, ns->v[at], &c);
	if (buf == NULL || read_head(d, &c, buf, &size, &len) < 0)
		goto out;
	take = whole_lines(buf, len, c.attempts > 0 ? 1 : HOOKS_BATCH_MAX, &n);
	if (n == 0) {
		/* nothing whole left (a damaged tail): the file is done */
		if (c.offset < size)
			log_warn("hooks/%s: %llu bytes after the last whole "
				 "line dropped",
				 c.name, (unsigned long long)(size - c.offset));
		advance(d, &c, (size_t)(size - c.offset), 0, size);
		wait = 0;
		goto out;
	}
	head = n;
	all = take;
	if (c.attempts == 0 && c.offset + take == size)
		more = gather(d, ns, at, buf, &all, &n);
	r = offer(d, buf, all, why, sizeof(why));
	if (r == FT_OK) {
		(void)pthread_mutex_lock(&d->mu);
		d->st.delivered += n;
		(void)pthread_mutex_unlock(&d->mu);
		advance(d, &c, take, head, size);
		taken(d, ns, at, more);
		wait = 0;
	} else if (r == FT_E_PERM || r == FT_E_IO || r == FT_E_NOMEM) {
		wait = not_started(d, n, why);
	} else {
		d->nostart = 0;
		wait = refused(d, &c, buf, take, head, n, size, why);
	}
out:
	free(buf);
	return wait;
}

/* ---- the thread --------------------------------------------------------- */

/* One look at the folder; the wait before the next (ms). */
static uint64_t
step(struct hooks_deliver *d)
{
	struct names ns = {0};
	uint64_t wait = IDLE_MS;
	size_t i;
	bool on;
	int r;

	(void)pthread_mutex_lock(&d->mu);
	on = d->path != NULL; /* no on_change after a reload: all waits */
	(void)pthread_mutex_unlock(&d->mu);
	if (!on || state_for_each_name(d->dirfd, names_add, &ns) < 0 ||
	    ns.n == 0)
		goto out;
	qsort(ns.v, ns.n, sizeof(*ns.v), hooks_name_cmp);
	for (i = 0; i < ns.n; i++) {
		const char *name = ns.v[i];

		if (hooks_is_ready(name)) {
			wait = deliver(d, &ns, i);
			break;
		}
		/* an intent: settled already when its ready file is there */
		if (i > 0 && hooks_is_ready(ns.v[i - 1]) &&
		    strncmp(ns.v[i - 1] + 1, name + 1, HOOKS_SEQ_LEN) == 0) {
			(void)unlinkat(d->dirfd, name, 0);
			continue;
		}
		r = settle_intent(d, name);
		wait = r == FT_OK        ? 0
		       : r == FT_E_AGAIN ? IDLE_MS / 4
					 : backoff(d, 3);
		break;
	}
out:
	names_clear(&ns);
	return wait;
}

static void *
deliver_main(void *arg)
{
	struct hooks_deliver *d = arg;
	sigset_t all;

	(void)sigfillset(&all);
	(void)pthread_sigmask(SIG_BLOCK, &all, NULL);
	(void)pthread_mutex_lock(&d->mu);
	while (!d->stop) {
		uint64_t wait;
		struct timespec ts;

		(void)pthread_mutex_unlock(&d->mu);
		wait = step(d);
		(void)pthread_mutex_lock(&d->mu);
		if (wait == 0 || d->stop)
			continue;
		(void)clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_sec += (time_t)(wait / 1000);
		ts.tv_nsec += (long)(wait % 1000) * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		(void)pthread_cond_timedwait(&d->cv, &d->mu, &ts);
	}
	(void)pthread_mutex_unlock(&d->mu);
	return NULL;
}

int
hooks_deliver_new(const struct config *cfg, int state_dirfd,
		  struct hooks_deliver **ret)
{
	struct hooks_deliver *d;
	pthread_condattr_t ca;
	int r;

	*ret = NULL;
	if (cfg->hooks.on_change == NULL || cfg->hooks.on_change[0] == '\0')
		return FT_OK;
	d = calloc(1, sizeof(*d));
	if (d == NULL)
		return FT_E_NOMEM;
	d->dirfd = d->ffd = -1;
	(void)pthread_mutex_init(&d->mu, NULL);
	(void)pthread_condattr_init(&ca);
	(void)pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	(void)pthread_cond_init(&d->cv, &ca);
	(void)pthread_condattr_destroy(&ca);
	d->base_ms = HOOKS_BACKOFF_BASE_MS;
	d->max_ms = HOOKS_BACKOFF_MAX_MS;
	d->rng = timing_seed();
	d->timeout = cfg->hooks.hook_timeout;
	d->path = strdup(cfg->hooks.on_change);
	r = d->path == NULL ? FT_E_NOMEM
			    : state_open_dir(state_dirfd, "hooks", &d->dirfd);
	if (r == FT_OK)
		r = state_open_dir(d->dirfd, "failed", &d->ffd);
	if (r == FT_OK)
		r = ftrack_client_new(cfg, &d->ft);
	if (r < 0) {
		hooks_deliver_free(d);
		return r;
	}
	*ret = d;
	return FT_OK;
}

int
hooks_deliver_start(struct hooks_deliver *d)
{
	if (pthread_create(&d->thread, NULL, deliver_main, d) != 0)
		return FT_E_IO;
	d->started = true;
	return FT_OK;
}

void
hooks_deliver_free(struct hooks_deliver *d)
{
	if (d == NULL)
		return;
	if (d->started) {
		(void)pthread_mutex_lock(&d->mu);
		d->stop = true;
		(void)pthread_cond_signal(&d->cv);
		(void)pthread_mutex_unlock(&d->mu);
		(void)pthread_join(d->thread, NULL);
	}
	ftrack_client_free(d->ft);
	if (d->dirfd >= 0)
		(void)close(d->dirfd);
	if (d->ffd >= 0)
		(void)close(d->ffd);
	free(d->path);
	(void)pthread_cond_destroy(&d->cv);
	(void)pthread_mutex_destroy(&d->mu);
	free(d);
}

void
hooks_deliver_set_config(struct hooks_deliver *d, const struct config *cfg)
{
	const char *p = cfg->hooks.on_change;
	char *copy = p != NULL && p[0] != '\0' ? strdup(p) : NULL;

	if (d == NULL) {
		free(copy);
		return;
	}
	(void)pthread_mutex_lock(&d->mu);
	free(d->path);
	d->path = copy;
	d->timeout = cfg->hooks.hook_timeout;
	(void)pthread_mutex_unlock(&d->mu);
}

void
hooks_deliver_set_backoff(struct hooks_deliver *d, uint64_t base_ms,
			  uint64_t max_ms)
{
	d->base_ms = base_ms;
	d->max_ms = max_ms;
}

void
hooks_deliver_stats(struct hooks_deliver *d, struct hooks_deliver_stats *ret)
{
	memset(ret, 0, sizeof(*ret));
	if (d == NULL)
		return;
	(void)pthread_mutex_lock(&d->mu);
	*ret = d->st;
	(void)pthread_mutex_unlock(&d->mu);
}
