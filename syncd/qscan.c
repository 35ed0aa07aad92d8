/* SPDX-License-Identifier: Apache-2.0 */
/* qscan.c: queue scans and counts on a thread of their own (qscan.h). */
#include "qscan.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "array.h"
#include "ft_err.h"

/* on_event's answer when qscan_free() stops a scan under way. */
#define STOP_SCAN 1

struct qscan {
	struct queue *q;
	queue_damaged_fn on_damaged;
	void *ctx;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t thread;
	bool started;
	int efd;
	/* under mu */
	bool stop, want_scan, want_count, scanning;
	char **names; /* FIFO: [head, n) wait to be taken */
	size_t head, n, cap;
	bool ended; /* a scan ended: told once its names are taken */
	int result, err;
	struct qscan_counts counts;
};

/* Wake the owner (its poll on the eventfd). */
static void
kick(const struct qscan *s)
{
	uint64_t one = 1;

	(void)!write(s->efd, &one, sizeof(one));
}

/* Under mu: no name waits. */
static bool
drained(const struct qscan *s)
{
	return s->head == s->n;
}

static int
on_event(void *ctx, const struct ft_event *ev)
{
	struct qscan *s = ctx;
	char *name = strdup(ev->user);
	bool was_empty;
	int r = 0;

	if (name == NULL)
		return FT_E_NOMEM;
	pthread_mutex_lock(&s->mu);
	if (s->stop) {
		r = STOP_SCAN;
	} else if (array_grow(&s->names, &s->cap, s->n + 1, sizeof(*s->names),
			      1024, 0) < 0) {
		r = FT_E_NOMEM;
	} else {
		was_empty = drained(s);
		s->names[s->n++] = name;
		name = NULL;
		if (was_empty)
			kick(s);
	}
	pthread_mutex_unlock(&s->mu);
	free(name);
	return r;
}

static void
on_damaged(void *ctx, const char *name, const char *reason)
{
	const struct qscan *s = ctx;

	if (s->on_damaged != NULL)
		s->on_damaged(s->ctx, name, reason);
}

/* Outside mu: the counts of the queue's three folders. */
static void
count(struct qscan *s)
{
	struct qscan_counts c = {0, 0, 0, false};

	c.valid = queue_depth(s->q, &c.depth) == FT_OK &&
		  queue_failed_count(s->q, &c.failed) == FT_OK &&
		  queue_held_count(s->q, &c.held) == FT_OK;
	pthread_mutex_lock(&s->mu);
	if (c.valid)
		s->counts = c;
	pthread_mutex_unlock(&s->mu);
}

/* Outside mu: one scan, its names into the FIFO as they come. */
static void
scan(struct qscan *s)
{
	int r, e;

	r = queue_scan(s->q, on_event, on_damaged, s);
	e = errno;
	pthread_mutex_lock(&s->mu);
	s->scanning = false;
	if (r != STOP_SCAN) {
		s->ended = true;
		s->result = r;
		s->err = r == FT_E_IO ? e : 0;
		kick(s);
	}
	pthread_mutex_unlock(&s->mu);
}

static void *
qscan_main(void *arg)
{
	struct qscan *s = arg;

	pthread_mutex_lock(&s->mu);
	while (!s->stop) {
		/* the next scan once the last one's names are all taken */
		bool go_scan = s->want_scan && drained(s) && !s->ended;

		if (!go_scan && !s->want_count) {
			pthread_cond_wait(&s->cv, &s->mu);
			continue;
		}
		if (s->want_count) {
			s->want_count = false;
			pthread_mutex_unlock(&s->mu);
			count(s);
			pthread_mutex_lock(&s->mu);
			continue;
		}
		s->want_scan = false;
		s->scanning = true;
		pthread_mutex_unlock(&s->mu);
		scan(s);
		pthread_mutex_lock(&s->mu);
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

int
qscan_new(struct queue *q, queue_damaged_fn damaged, void *ctx,
	  struct qscan **ret)
{
	struct qscan *s = calloc(1, sizeof(*s));
	int e;

	if (s == NULL)
		return FT_E_NOMEM;
	s->q = q;
	s->on_damaged = damaged;
	s->ctx = ctx;
	s->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (s->efd < 0) {
		free(s);
		return FT_E_IO;
	}
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	e = pthread_create(&s->thread, NULL, qscan_main, s);
	if (e != 0) {
		qscan_free(s);
		errno = e;
		return FT_E_IO;
	}
	s->started = true;
	*ret = s;
	return FT_OK;
}

void
qscan_free(struct qscan *s)
{
	size_t i;

	if (s == NULL)
		return;
	if (s->started) {
		pthread_mutex_lock(&s->mu);
		s->stop = true;
		pthread_cond_broadcast(&s->cv);
		pthread_mutex_unlock(&s->mu);
		(void)pthread_join(s->thread, NULL);
	}
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cv);
	for (i = s->head; i < s->n; i++)
		free(s->names[i]);
	free(s->names);
	(void)close(s->efd);
	free(s);
}

int
qscan_fd(const struct qscan *s)
{
	return s->efd;
}

void
qscan_start(struct qscan *s)
{
	pthread_mutex_lock(&s->mu);
	s->want_scan = true;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

void
qscan_count(struct qscan *s)
{
	pthread_mutex_lock(&s->mu);
	s->want_count = true;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

bool
qscan_next(struct qscan *s, char *ret_user, size_t cap)
{
	uint64_t v;
	bool got = false;

	pthread_mutex_lock(&s->mu);
	if (drained(s)) {
		/* reset the eventfd, then look again: a name pushed meanwhile
		 * is seen now or kicks it again */
		pthread_mutex_unlock(&s->mu);
		(void)!read(s->efd, &v, sizeof(v));
		pthread_mutex_lock(&s->mu);
	}
	while (!drained(s) && !got) {
		char *name = s->names[s->head++];
		size_t len = strlen(name);

		if (len < cap) { /* always: names are queue_scan()'s users */
			memcpy(ret_user, name, len + 1);
			got = true;
		}
		free(name);
	}
	if (drained(s)) {
		s->head = s->n = 0;
		pthread_cond_signal(&s->cv); /* a scan asked for may start */
	}
	pthread_mutex_unlock(&s->mu);
	return got;
}

bool
qscan_done(struct qscan *s, int *ret_result, int *ret_errno)
{
	bool yes;

	pthread_mutex_lock(&s->mu);
	yes = s->ended && drained(s);
	if (yes) {
		s->ended = false;
		*ret_result = s->result;
		*ret_errno = s->err;
		pthread_cond_signal(&s->cv);
	}
	pthread_mutex_unlock(&s->mu);
	return yes;
}

void
qscan_counts(struct qscan *s, struct qscan_counts *ret)
{
	pthread_mutex_lock(&s->mu);
	*ret = s->counts;
	pthread_mutex_unlock(&s->mu);
}

bool
qscan_busy(struct qscan *s)
{
	bool yes;

	pthread_mutex_lock(&s->mu);
	yes = s->scanning || s->want_scan || s->ended || !drained(s);
	pthread_mutex_unlock(&s->mu);
	return yes;
}
