/* SPDX-License-Identifier: Apache-2.0 */
/* hooks.c: the journal of changes for the on_change hook (jansson). */
#include "hooks.h"
#include "hooks_int.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ft_err.h"
#include "ft_proto.h"
#include "ft_util.h"
#include "ftrack_api.h"
#include "lease.h"
#include "log.h"
#include "state.h"
#include "timing.h"

struct hooks {
	bool enabled;
	int dirfd; /* state_dir/hooks, -1 when disabled */
	pthread_mutex_t mu;
	unsigned long counter; /* intents of this process */
	unsigned long long dropped;
	char host[FT_HOST_MAX + 1]; /* this host's name */
};

struct hooks_intent {
	char name[HOOKS_NAME_MAX]; /* "I<seq>.json" */
	int fd;                    /* the intent, locked */
	size_t n;
	size_t *idx;  /* [n]: index into acts */
	json_t **obj; /* [n]: the change */
};

#define HOOKS_NAME_(e, w) w,
static const char *const action_names[] = {HOOKS_ACTIONS(HOOKS_NAME_)};
#undef HOOKS_NAME_

const char *
hooks_action_name(enum hooks_action a)
{
	if ((unsigned)a >= HOOKS_NACTIONS)
		return "?";
	return action_names[a];
}

enum hooks_action
hooks_action_of(enum plan_kind k, int code)
{
	static const enum hooks_action by_kind[] = {
		[PLAN_CREATE] = HOOKS_CREATED,
		[PLAN_UPDATE] = HOOKS_UPDATED,
		[PLAN_LINK] = HOOKS_LINKED,
		[PLAN_RENAME] = HOOKS_RENAMED,
		[PLAN_REACTIVATE] = HOOKS_REACTIVATED,
		[PLAN_DEACTIVATE] = HOOKS_DEACTIVATED,
		[PLAN_DELETE] = HOOKS_DELETED,
	};

	if (k == PLAN_NONE || k == PLAN_CONFLICT || k == PLAN_SKIP ||
	    (unsigned)k >= sizeof(by_kind) / sizeof(by_kind[0]))
		return HOOKS_NACTIONS;
	if (code == FT_E_SEAT && (k == PLAN_CREATE || k == PLAN_REACTIVATE))
		return HOOKS_SEAT_WAITING;
	return by_kind[k];
}

/* ---- names -------------------------------------------------------------- */

bool
hooks_is_intent(const char *name)
{
	size_t len = strlen(name);

	return name[0] == 'I' && len == 1 + HOOKS_SEQ_LEN + 5 &&
	       strcmp(name + len - 5, ".json") == 0;
}

unsigned long long
hooks_ready_count(const char *name)
{
	unsigned long long n;
	char num[24];
	size_t len = strlen(name), k;

	if (name[0] != 'R' || len < 1 + HOOKS_SEQ_LEN + 7 ||
	    name[1 + HOOKS_SEQ_LEN] != '.' ||
	    strcmp(name + len - 5, ".json") != 0)
		return 0;
	k = len - 5 - (2 + HOOKS_SEQ_LEN);
	if (k >= sizeof(num))
		return 0;
	memcpy(num, name + 2 + HOOKS_SEQ_LEN, k);
	num[k] = '\0';
	if (ft_parse_uint(num, 1000000000ull, &n) < 0)
		return 0;
	return n;
}

bool
hooks_is_ready(const char *name)
{
	return hooks_ready_count(name) > 0;
}

int
hooks_name_cmp(const void *a, const void *b)
{
	const char *x = *(const char *const *)a, *y = *(const char *const *)b;
	int c = strncmp(x + 1, y + 1, HOOKS_SEQ_LEN);

	if (c != 0)
		return c;
	return (x[0] == 'I') - (y[0] == 'I');
}

/* ---- the cursor --------------------------------------------------------- */

void
hooks_cursor_read(int dirfd, struct hooks_cursor *ret)
{
	char *text = NULL, *f[4] = {NULL, NULL, NULL, NULL}, *save = NULL;
	size_t len, i;

	memset(ret, 0, sizeof(*ret));
	if (state_read_file(dirfd, HOOKS_CURSOR, 256, &text, &len, NULL) < 0)
		return;
	f[0] = strtok_r(text, " \n", &save);
	for (i = 1; i < 4 && f[i - 1] != NULL; i++)
		f[i] = strtok_r(NULL, " \n", &save);
	if (f[0] != NULL && f[3] != NULL && hooks_is_ready(f[0]) &&
	    ft_parse_uint(f[1], 1ull << 40, &ret->offset) == FT_OK &&
	    ft_parse_uint(f[2], 1ull << 40, &ret->index) == FT_OK &&
	    ft_parse_uint(f[3], 1ull << 20, &ret->attempts) == FT_OK)
		(void)snprintf(ret->name, sizeof(ret->name), "%s", f[0]);
	else
		memset(ret, 0, sizeof(*ret));
	free(text);
}

int
hooks_cursor_write(int dirfd, const struct hooks_cursor *c)
{
	char line[HOOKS_NAME_MAX + 80];
	int len = snprintf(line, sizeof(line), "%s %llu %llu %llu\n", c->name,
			   c->offset, c->index, c->attempts);

	if (len < 0 || (size_t)len >= sizeof(line))
		return FT_E_INTERNAL;
	return ft_write_atomic(dirfd, HOOKS_CURSOR, line, (size_t)len);
}

int
hooks_settle(int dirfd, const char *intent, const char *buf, size_t len,
	     size_t n)
{
	if (n > 0) {
		char ready[HOOKS_NAME_MAX + 24];
		int r = snprintf(ready, sizeof(ready), "R%.*s.%zu.json",
				 HOOKS_SEQ_LEN, intent + 1, n);
		if (r < 0 || (size_t)r >= sizeof(ready))
			return FT_E_INTERNAL;
		r = ft_write_atomic(dirfd, ready, buf, len);
		if (r < 0)
			return r;
	}
	if (unlinkat(dirfd, intent, 0) < 0 && errno != ENOENT)
		return FT_E_IO;
	return FT_OK;
}

/* ---- counting ----------------------------------------------------------- */

struct count_ctx {
	struct hooks_counts c;
	struct hooks_cursor cur;
};

static int
count_one(void *ctx, int dirfd, const char *name)
{
	struct count_ctx *cc = ctx;
	struct stat st;
	unsigned long long n = hooks_ready_count(name), size;

	if ((n == 0 && !hooks_is_intent(name)) ||
	    fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
	    !S_ISREG(st.st_mode))
		return FT_OK;
	size = (unsigned long long)st.st_size;
	if (n == 0) {
		cc->c.in_flight++;
		cc->c.pending_bytes += size;
		return FT_OK;
	}
	if (strcmp(name, cc->cur.name) == 0) {
		n -= cc->cur.index < n ? cc->cur.index : n;
		size -= cc->cur.offset < size ? cc->cur.offset : size;
	}
	cc->c.pending += n;
	cc->c.pending_bytes += size;
	return FT_OK;
}

static int
count_failed(void *ctx, int dirfd, const char *name)
{
	(void)dirfd;
	if (name[0] != '.')
		((struct count_ctx *)ctx)->c.failed++;
	return FT_OK;
}

/* hooks_count() of the hooks folder open as fd. */
static int
count_in(int fd, struct hooks_counts *ret)
{
	struct count_ctx cc;
	int ffd, r;

	memset(&cc, 0, sizeof(cc));
	hooks_cursor_read(fd, &cc.cur);
	r = state_for_each_name(fd, count_one, &cc);
	ffd = openat(fd, HOOKS_FAILED_DIR,
		     O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (r == FT_OK && ffd >= 0)
		r = state_for_each_name(ffd, count_failed, &cc);
	if (ffd >= 0)
		(void)close(ffd);
	if (r == FT_OK)
		*ret = cc.c;
	return r;
}

int
hooks_count(int state_dirfd, struct hooks_counts *ret)
{
	int fd, r;

	fd = openat(state_dirfd, HOOKS_DIR,
		    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		memset(ret, 0, sizeof(*ret));
		return errno == ENOENT ? FT_OK : FT_E_IO;
	}
	r = count_in(fd, ret);
	(void)close(fd);
	return r;
}

/* ---- the journal -------------------------------------------------------- */

int
hooks_open(const struct config *cfg, int state_dirfd, struct hooks **ret)
{
	struct hooks *h = calloc(1, sizeof(*h));
	int ffd = -1;

	if (h == NULL)
		return FT_E_NOMEM;
	h->dirfd = -1;
	(void)pthread_mutex_init(&h->mu, NULL);
	lease_host(h->host, sizeof(h->host));
	if (cfg->hooks.on_change != NULL && cfg->hooks.on_change[0] != '\0') {
		int r = state_open_dir(state_dirfd, HOOKS_DIR, &h->dirfd);

		if (r == FT_OK)
			r = state_open_dir(h->dirfd, HOOKS_FAILED_DIR, &ffd);
		if (ffd >= 0)
			(void)close(ffd);
		if (r < 0) {
			hooks_free(h);
			return r;
		}
		h->enabled = true;
	}
	*ret = h;
	return FT_OK;
}

void
hooks_free(struct hooks *h)
{
	if (h == NULL)
		return;
	if (h->dirfd >= 0)
		(void)close(h->dirfd);
	(void)pthread_mutex_destroy(&h->mu);
	free(h);
}

bool
hooks_enabled(const struct hooks *h)
{
	return h != NULL && h->enabled;
}

unsigned long long
hooks_dropped(struct hooks *h)
{
	unsigned long long n;

	if (h == NULL)
		return 0;
	(void)pthread_mutex_lock(&h->mu);
	n = h->dropped;
	(void)pthread_mutex_unlock(&h->mu);
	return n;
}

static void
drop(struct hooks *h, size_t n, const char *why)
{
	(void)pthread_mutex_lock(&h->mu);
	h->dropped += n;
	(void)pthread_mutex_unlock(&h->mu);
	log_warn("unable to journal %zu change(s) for the on_change hook: %s; "
		 "they are written to ftrack but the hook will not hear of "
		 "them",
		 n, why);
}

static json_t *
str_or_null(const char *s)
{
	json_t *j = s != NULL ? json_string(s) : NULL;

	return j != NULL ? j : json_null();
}

static json_t *
fields_of(unsigned fields)
{
	json_t *arr = json_array();
	size_t i;

	for (i = 0; arr != NULL && i < PLAN_NFIELDS; i++)
		if (fields & PLAN_FIELDS[i])
			(void)json_array_append_new(
				arr,
				json_string(plan_field_name(PLAN_FIELDS[i])));
	return arr;
}

static json_t *
user_json(const struct hooks_change *c)
{
	const struct ft_user *u = c->user;

	return json_pack(
		"{s:o, s:o, s:o, s:o, s:o, s:o}", "username",
		str_or_null(u->username), "email", str_or_null(u->email),
		"first_name", str_or_null(u->first_name), "last_name",
		str_or_null(u->last_name), "uuid", str_or_null(u->uuid),
		"ftrack_id", str_or_null(c->ftrack_id));
}

static json_t *
change_json(const struct hooks_change *c, const char *id, const char *now,
	    const char *host, const struct hooks_origin *o)
{
	json_t *j = json_pack(
		"{s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:s, s:s, s:o}", "id", id,
		"time", now, "action", hooks_action_name(c->action), "cause",
		o->cause, "username",
		c->user->username != NULL ? c->user->username : "", "fields",
		fields_of(c->fields), "reason", str_or_null(c->reason),
		"source", o->source, "host", host, "user", user_json(c));

	if (j != NULL && c->what_key != NULL &&
	    json_object_set_new(j, c->what_key, str_or_null(c->what)) < 0) {
		json_decref(j);
		return NULL;
	}
	return j;
}

static void
intent_free(struct hooks_intent *in)
{
	size_t i;

	if (in == NULL)
		return;
	if (in->fd >= 0)
		(void)close(in->fd);
	for (i = 0; in->obj != NULL && i < in->n; i++)
		json_decref(in->obj[i]);
	free(in->obj);
	free(in->idx);
	free(in);
}

/* The changes c[0..n) into a new intent (no file yet); NULL: OOM. */
static struct hooks_intent *
intent_build(struct hooks *h, const struct hooks_change *c, size_t n,
	     const struct hooks_origin *o)
{
	struct hooks_intent *in = calloc(1, sizeof(*in));
	char now[40], id[HOOKS_SEQ_LEN + 24];
	struct timespec ts;
	unsigned long seq;
	size_t i;

	if (in == NULL)
		return NULL;
	in->fd = -1;
	in->idx = calloc(n + 1, sizeof(*in->idx));
	in->obj = calloc(n + 1, sizeof(json_t *));
	if (in->idx == NULL || in->obj == NULL)
		goto fail;
	(void)pthread_mutex_lock(&h->mu);
	seq = ++h->counter;
	(void)pthread_mutex_unlock(&h->mu);
	(void)clock_gettime(CLOCK_REALTIME, &ts);
	(void)snprintf(in->name, sizeof(in->name), "I%016llx-%08x-%06lx.json",
		       (unsigned long long)ts.tv_sec * 1000000000ull +
			       (unsigned long long)ts.tv_nsec,
		       (unsigned)getpid(), seq & 0xffffffUL);
	timing_now_iso(now, sizeof(now));
	for (i = 0; i < n; i++) {
		const size_t at = c[i].index;
		const char *host = o->host != NULL ? o->host(o->ctx, at) : NULL;

		(void)snprintf(id, sizeof(id), "%.*s-%zu", HOOKS_SEQ_LEN,
			       in->name + 1, in->n);
		in->obj[in->n] = change_json(
			&c[i], id, now,
			host != NULL && host[0] ? host : h->host, o);
		if (in->obj[in->n] == NULL)
			goto fail;
		in->idx[in->n++] = at;
	}
	return in;
fail:
	intent_free(in);
	return NULL;
}

/* The change plan a is (c->index set by the caller). */
static void
change_of(const struct plan_action *a, char made[37], struct hooks_change *c)
{
	const struct ft_user *u = a->ldap != NULL ? a->ldap : a->ftrack;

	c->action = hooks_action_of(a->kind, FT_OK);
	c->user = u;
	c->ftrack_id = a->ftrack != NULL ? a->ftrack->id : NULL;
	/* a create's id is made from the uuid (ftrack_batch_create_user) */
	if (c->ftrack_id == NULL && a->kind == PLAN_CREATE && u != NULL &&
	    u->uuid != NULL && ftrack_user_id_for(u->uuid, made) == FT_OK)
		c->ftrack_id = made;
	c->fields = a->fields;
	c->reason = a->reason;
	c->what_key = c->what = NULL;
}

/* The lines of in's changes (action as code says when codes); malloc'd. */
static char *
intent_text(const struct hooks_intent *in, const int *codes, size_t *ret_len,
	    size_t *ret_n)
{
	char *buf = NULL, *line;
	size_t len = 0, cap = 0, i, k = 0, l;

	for (i = 0; i < in->n; i++) {
		const int code = codes != NULL ? codes[in->idx[i]] : FT_OK;

		if (code != FT_OK && code != FT_E_SEAT)
			continue;
		if (code == FT_E_SEAT &&
		    json_object_set_new(in->obj[i], "action",
					json_string("seat_waiting")) < 0)
			goto fail;
		line = json_dumps(in->obj[i], JSON_COMPACT | JSON_ENSURE_ASCII);
		if (line == NULL)
			goto fail;
		l = strlen(line);
		if (len + l + 2 > cap) {
			char *nb = realloc(buf, 2 * cap + l + 2);

			if (nb == NULL) {
				free(line);
				goto fail;
			}
			buf = nb;
			cap = 2 * cap + l + 2;
		}
		memcpy(buf + len, line, l);
		buf[len + l] = '\n';
		len += l + 1;
		k++;
		free(line);
	}
	*ret_len = len;
	*ret_n = k;
	return buf != NULL ? buf : calloc(1, 1);
fail:
	free(buf);
	return NULL;
}

/* Write all of buf to fd; FT_OK or FT_E_IO. */
static int
write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t w = write(fd, buf, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return FT_E_IO;
		buf += w;
		len -= (size_t)w;
	}
	return FT_OK;
}

/* The intent file: a locked temp file, written, fsynced, renamed. */
static int
intent_write(struct hooks *h, struct hooks_intent *in, const char *buf,
	     size_t len)
{
	char tmp[HOOKS_NAME_MAX + 2];
	int r = FT_E_IO;

	(void)snprintf(tmp, sizeof(tmp), ".%s", in->name);
	in->fd = openat(h->dirfd, tmp,
			O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			0600);
	if (in->fd < 0)
		return FT_E_IO;
	if (flock(in->fd, LOCK_EX) < 0 || write_all(in->fd, buf, len) < 0 ||
	    fsync(in->fd) < 0 ||
	    renameat(h->dirfd, tmp, h->dirfd, in->name) < 0)
		goto out;
	r = fsync(h->dirfd) < 0 ? FT_E_IO : FT_OK;
out:
	if (r < 0)
		(void)unlinkat(h->dirfd, tmp, 0);
	return r;
}

struct hooks_intent *
hooks_intend_changes(struct hooks *h, const struct hooks_change *c, size_t n,
		     const struct hooks_origin *o)
{
	struct hooks_intent *in;
	struct hooks_counts cnt = {0, 0, 0, 0};
	char *buf;
	size_t len = 0, k = 0;

	if (!hooks_enabled(h) || n == 0)
		return NULL;
	in = intent_build(h, c, n, o);
	buf = in != NULL ? intent_text(in, NULL, &len, &k) : NULL;
	if (buf == NULL) {
		drop(h, n, "out of memory");
	} else if (count_in(h->dirfd, &cnt) < 0 ||
		   cnt.pending_bytes + len > HOOKS_PENDING_MAX) {
		drop(h, n, "more than the bound of pending changes");
	} else if (intent_write(h, in, buf, len) < 0) {
		drop(h, n, strerror(errno));
	} else {
		free(buf);
		return in;
	}
	free(buf);
	intent_free(in);
	return NULL;
}

struct hooks_intent *
hooks_intend(struct hooks *h, const struct plan_action *acts, const bool *want,
	     size_t n, const struct hooks_origin *o)
{
	struct hooks_change *c;
	struct hooks_intent *in;
	char(*made)[37];
	size_t i, k = 0;

	if (!hooks_enabled(h) || n == 0)
		return NULL;
	c = calloc(n, sizeof(*c));
	made = calloc(n, sizeof(*made));
	if (c == NULL || made == NULL) {
		free(c);
		free(made);
		drop(h, n, "out of memory");
		return NULL;
	}
	for (i = 0; i < n; i++) {
		if ((want != NULL && !want[i]) ||
		    hooks_action_of(acts[i].kind, FT_OK) == HOOKS_NACTIONS ||
		    (acts[i].ldap == NULL && acts[i].ftrack == NULL))
			continue;
		change_of(&acts[i], made[k], &c[k]);
		c[k++].index = i;
	}
	in = hooks_intend_changes(h, c, k, o);
	free(c);
	free(made);
	return in;
}

void
hooks_applied(struct hooks *h, struct hooks_intent *in, const int *codes)
{
	char *buf;
	size_t len = 0, k = 0;

	if (in == NULL)
		return;
	buf = intent_text(in, codes, &len, &k);
	if (buf == NULL || hooks_settle(h->dirfd, in->name, buf, len, k) < 0)
		/* the intent stays: the delivery re-checks it with ftrack */
		log_warn("unable to mark %zu hook change(s) applied (%s): "
			 "they are checked against ftrack before delivery",
			 in->n,
			 buf == NULL ? "out of memory" : strerror(errno));
	free(buf);
	intent_free(in);
}
