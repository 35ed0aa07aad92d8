/* SPDX-License-Identifier: Apache-2.0 */
/*
 * queue.c: the spool of login events, one file per user (see queue.h).
 * A little past STYLE.md's ~600 lines: one job (put, remove, fail, the
 * bounded oldest-first scan) on one folder; the folder rules are state.c.
 */
#include "queue.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "array.h"
#include "ft_clean.h"
#include "ft_err.h"
#include "ft_util.h"
#include "login.h"
#include "state.h"
#include "timing.h"

#define DIR_FLAGS      (O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
#define FAILED_DIR     "failed"
#define HELD_DIR       "held"
#define HELD_KEY       "held="
#define DAMAGED_SUFFIX ".damaged"
#define ERROR_KEY      "error="
#define WHY_MAX        160
#define NAME_CAP       (2 * QUEUE_USER_MAX + 1)

struct queue {
	int state_fd;
	int queue_fd;
	int failed_fd;
	int held_fd;
	int reports_fd;
	size_t scan_limit;
};

/* An entry of queue/ met by a scan (lstat data). */
struct entry {
	char *name;
	struct timespec mtime;
	mode_t mode;
};

/*
 * What a scan keeps: at most `limit` entries, the oldest ones; the array
 * is a max-heap (newest at v[0]) so that a newer entry is dropped in
 * O(1) and an older one replaces v[0] in O(log n).
 */
struct entries {
	struct entry *v;
	size_t n;
	size_t cap;
	size_t limit;
	bool more;
};

struct scan_ctx {
	struct queue *q;
	int dirfd; /* queue/ or queue/held/ */
	queue_event_fn on_event;
	queue_held_fn on_held;
	queue_damaged_fn on_damaged;
	void *ctx;
};

/* Best effort: a temp file that cannot be removed only costs space. */
static void
sweep_temps(const struct queue *q)
{
	time_t now = time(NULL);

	(void)state_for_each_name(q->state_fd, state_sweep_one, &now);
	(void)state_for_each_name(q->queue_fd, state_sweep_one, &now);
	(void)state_for_each_name(q->failed_fd, state_sweep_one, &now);
	(void)state_for_each_name(q->held_fd, state_sweep_one, &now);
	(void)state_for_each_name(q->reports_fd, state_sweep_one, &now);
}

int
queue_open(const char *state_dir, struct queue **ret)
{
	struct queue *q;
	int r, saved;

	if (state_dir == NULL || state_dir[0] == '\0')
		return FT_E_INVAL;
	q = calloc(1, sizeof(*q));
	if (q == NULL)
		return FT_E_NOMEM;
	q->state_fd = q->queue_fd = q->failed_fd = q->reports_fd = -1;
	q->held_fd = -1;
	q->scan_limit = QUEUE_SCAN_MAX;
	r = state_open_dir(AT_FDCWD, state_dir, &q->state_fd);
	if (r == FT_OK)
		r = state_open_dir(q->state_fd, "queue", &q->queue_fd);
	if (r == FT_OK)
		r = state_open_dir(q->queue_fd, FAILED_DIR, &q->failed_fd);
	if (r == FT_OK)
		r = state_open_dir(q->queue_fd, HELD_DIR, &q->held_fd);
	if (r == FT_OK)
		r = state_open_dir(q->state_fd, "reports", &q->reports_fd);
	if (r < 0)
		goto out;
	sweep_temps(q);
	*ret = q;
	return FT_OK;
out:
	saved = errno;
	queue_free(q);
	errno = saved;
	return r;
}

void
queue_free(struct queue *q)
{
	int fds[5], i;

	if (q == NULL)
		return;
	fds[0] = q->state_fd;
	fds[1] = q->queue_fd;
	fds[2] = q->failed_fd;
	fds[3] = q->reports_fd;
	fds[4] = q->held_fd;
	for (i = 0; i < 5; i++) {
		if (fds[i] >= 0)
			(void)close(fds[i]);
	}
	free(q);
}

int
queue_state_dirfd(const struct queue *q)
{
	return q->state_fd;
}

int
queue_reports_dirfd(const struct queue *q)
{
	return q->reports_fd;
}

void
queue_set_scan_limit(struct queue *q, size_t limit)
{
	q->scan_limit = limit == 0 ? QUEUE_SCAN_MAX : limit;
}

/* ---- names and file contents ------------------------------------------ */

/* The file name of user: lowercase hex of a valid, short enough name. */
static int
user_file_name(const char *user, char *out, size_t cap)
{
	size_t len;

	if (user == NULL)
		return FT_E_INVAL;
	len = strnlen(user, FT_PROTO_VALUE_MAX + 1);
	if (len > QUEUE_USER_MAX)
		return FT_E_TOOBIG;
	if (!login_valid(user))
		return FT_E_INVAL;
	return ft_hex_encode(user, len, out, cap);
}

static void
why_errno(char *why, const char *what, int err)
{
	char tmp[96];

	(void)snprintf(why, WHY_MAX, "%s: %s", what,
		       strerror_r(err, tmp, sizeof(tmp)));
}

/*
 * Read a spool file (at most FT_PROTO_MAX + 1 bytes into buf) on the state
 * folder's terms (state_open_file: no symlink, no waiting on a FIFO, a
 * regular file, size-capped).  Returns FT_OK, FT_E_NOTFOUND (gone), or
 * FT_E_PROTO with the reason in why (WHY_MAX bytes).
 */
static int
read_spool_file(int dirfd, const char *name, char *buf, size_t *ret_len,
		char *why)
{
	const char *words = NULL;
	size_t size = 0;
	int fd = -1, r;

	r = state_open_file(dirfd, name, FT_PROTO_MAX, &fd, &size, &words);
	if (r == FT_E_NOTFOUND)
		return r;
	if (r == FT_E_TOOBIG) {
		(void)snprintf(why, WHY_MAX, "larger than %d bytes",
			       FT_PROTO_MAX);
		return FT_E_PROTO;
	}
	if (r == FT_E_IO)
		why_errno(why, words, errno);
	else if (r < 0)
		(void)snprintf(why, WHY_MAX, "%s", words);
	if (r < 0)
		return FT_E_PROTO;
	r = state_read_fd(fd, buf, FT_PROTO_MAX + 1, ret_len);
	if (r < 0)
		why_errno(why, "unreadable", errno);
	(void)close(fd);
	return r < 0 ? FT_E_PROTO : FT_OK;
}

/* Why len bytes of buf are not a good event of user; NULL when they are. */
static const char *
event_problem(const char *buf, size_t len, const char *user,
	      struct ft_event *ret_ev)
{
	if (len == 0)
		return "empty file";
	if (len > FT_PROTO_MAX)
		return "larger than the event size limit";
	/* ft_event_encode() always ends with a newline: no newline = cut. */
	if (buf[len - 1] != '\n')
		return "cut short (no final newline)";
	if (memchr(buf, '\0', len) != NULL || !ft_utf8_valid(buf, len))
		return "bad bytes (NUL or not UTF-8)";
	if (ft_event_decode(buf, len, ret_ev) < 0)
		return "not a valid event";
	if (strcmp(ret_ev->user, user) != 0)
		return "the user in the file does not match the file name";
	if (ret_ev->host[0] != '\0' &&
	    !ft_host_name_ok(ret_ev->host, strlen(ret_ev->host)))
		return "host= is not a DNS name (letters, digits, '-', '.', "
		       "at most 253 bytes)";
	return NULL;
}

/*
 * Load and check the spool file name of dirfd.  Returns FT_OK and the
 * event, FT_E_NOTFOUND (gone), or FT_E_PROTO with the reason in why.
 */
static int load_event_held(int dirfd, const char *name, struct ft_event *ret_ev,
			   char *held, char *why);

static int
load_event(int dirfd, const char *name, struct ft_event *ret_ev, char *why)
{
	char held[FT_PROTO_VALUE_MAX + 1];

	return load_event_held(dirfd, name, ret_ev, held, why);
}

/*
 * The value of the first `key` line (key with its '=') of len bytes of
 * buf into out (FT_PROTO_VALUE_MAX + 1 bytes; "" when there is none).
 * The file already decoded, so the value is a valid codec value.
 */
static void
line_value(const char *buf, size_t len, const char *key, char *out)
{
	size_t klen = strlen(key), pos = 0;

	out[0] = '\0';
	while (pos < len) {
		const char *nl = memchr(buf + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - buf) : len;

		if (end - pos > klen && memcmp(buf + pos, key, klen) == 0 &&
		    end - pos - klen <= FT_PROTO_VALUE_MAX) {
			memcpy(out, buf + pos + klen, end - pos - klen);
			out[end - pos - klen] = '\0';
			return;
		}
		pos = end + 1;
	}
}

/*
 * load_event() that also gives the held= reason (held/ files) in held
 * (FT_PROTO_VALUE_MAX + 1 bytes; "" when there is none).
 */
static int
load_event_held(int dirfd, const char *name, struct ft_event *ret_ev,
		char *held, char *why)
{
	char user[FT_PROTO_VALUE_MAX + 1];
	char buf[FT_PROTO_MAX + 1];
	const char *problem;
	size_t len = 0;
	int r;

	if (ft_hex_decode(name, user, sizeof(user)) < 0 || !login_valid(user)) {
		(void)snprintf(why, WHY_MAX,
			       "file name is not the hex of a valid user name");
		return FT_E_PROTO;
	}
	r = read_spool_file(dirfd, name, buf, &len, why);
	if (r < 0)
		return r;
	problem = event_problem(buf, len, user, ret_ev);
	if (problem != NULL) {
		(void)snprintf(why, WHY_MAX, "%s", problem);
		return FT_E_PROTO;
	}
	line_value(buf, len, HELD_KEY, held);
	return FT_OK;
}

/* ---- put, remove, fail ------------------------------------------------ */

static int
put(struct queue *q, const struct ft_event *ev, bool durable)
{
	char name[NAME_CAP];
	char buf[FT_PROTO_MAX + 1];
	size_t len;
	int r;

	r = user_file_name(ev->user, name, sizeof(name));
	if (r < 0)
		return r;
	r = ft_event_encode(ev, buf, sizeof(buf), &len);
	if (r < 0)
		return r;
	return durable ? ft_write_atomic(q->queue_fd, name, buf, len)
		       : ft_write_atomic_nosync(q->queue_fd, name, buf, len);
}

int
queue_put(struct queue *q, const struct ft_event *ev)
{
	return put(q, ev, true);
}

int
queue_put_nosync(struct queue *q, const struct ft_event *ev)
{
	return put(q, ev, false);
}

int
queue_sync(struct queue *q)
{
	return syncfs(q->queue_fd) < 0 ? FT_E_IO : FT_OK;
}

/* Remove user's file from the folder dirfd (none there: FT_OK). */
static int
remove_in(int dirfd, const char *user)
{
	char name[NAME_CAP];
	int r;

	r = user_file_name(user, name, sizeof(name));
	if (r < 0)
		return r;
	if (unlinkat(dirfd, name, 0) < 0 && errno != ENOENT)
		return FT_E_IO;
	return FT_OK;
}

int
queue_remove(struct queue *q, const char *user)
{
	return remove_in(q->queue_fd, user);
}

int
queue_mtime(const struct queue *q, const char *user, time_t *ret)
{
	char name[NAME_CAP];
	struct stat st;
	int r;

	r = user_file_name(user, name, sizeof(name));
	if (r < 0)
		return r;
	if (fstatat(q->queue_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? FT_E_NOTFOUND : FT_E_IO;
	*ret = st.st_mtime;
	return FT_OK;
}

int
queue_move(struct queue *q, const char *from, const char *to)
{
	char name[NAME_CAP];
	char why[WHY_MAX];
	struct ft_event ev;
	size_t len;
	int r;

	r = user_file_name(from, name, sizeof(name));
	if (r < 0)
		return r;
	len = strnlen(to, sizeof(ev.user));
	if (len == sizeof(ev.user))
		return FT_E_TOOBIG;
	r = load_event(q->queue_fd, name, &ev, why);
	if (r < 0)
		return r;
	memcpy(ev.user, to, len + 1);
	/* durable under its new name first: a crash leaves both, never none */
	r = put(q, &ev, true);
	if (r < 0)
		return r;
	if (unlinkat(q->queue_fd, name, 0) < 0 && errno != ENOENT)
		return FT_E_IO;
	return FT_OK;
}

/*
 * Append "<key><reason>\n" (key: klen bytes) within room bytes; returns
 * the bytes added.
 */
static size_t
append_line(char *dst, size_t room, const char *key, size_t klen,
	    const char *reason)
{
	size_t max, vlen;

	if (room < klen + 2)
		return 0;
	max = room - klen - 1;
	if (max > FT_PROTO_VALUE_MAX)
		max = FT_PROTO_VALUE_MAX;
	/*
	 * The one cleaner makes a codec value (UTF-8, no control character)
	 * of at most max bytes, as the file needs, and it escapes the bidi
	 * overrides the codec would take, for whoever reads the file.
	 */
	vlen = ft_clean(dst + klen, max + 1, reason ? reason : "",
			reason ? strlen(reason) : 0);
	if (vlen == 0)
		vlen = ft_clean(dst + klen, max + 1, "unknown", 7);
	memcpy(dst, key, klen);
	dst[klen + vlen] = '\n';
	return klen + vlen + 1;
}

/*
 * Move user's file from queue/ to the folder to (rename first: a newer
 * event is then a fresh file in queue/) and rewrite it there with a
 * "<key><reason>" line in place of an earlier error= or held= line.
 */
static int
move_with_line(struct queue *q, const char *user, int to, const char *key,
	       const char *reason)
{
	char name[NAME_CAP];
	char why[WHY_MAX];
	char buf[FT_PROTO_MAX + 1];
	struct ft_event ev;
	size_t len;
	int r;

	r = user_file_name(user, name, sizeof(name));
	if (r < 0)
		return r;
	if (renameat(q->queue_fd, name, to, name) < 0)
		return errno == ENOENT ? FT_E_NOTFOUND : FT_E_IO;
	r = load_event(to, name, &ev, why);
	if (r < 0)
		return r == FT_E_NOTFOUND ? r : FT_E_PROTO;
	/* Re-encoding drops the error= or held= line of an earlier move. */
	r = ft_event_encode(&ev, buf, sizeof(buf), &len);
	if (r < 0)
		return r;
	len += append_line(buf + len, FT_PROTO_MAX - len, key, strlen(key),
			   reason);
	return ft_write_atomic(to, name, buf, len);
}

int
queue_fail(struct queue *q, const char *user, const char *reason)
{
	return move_with_line(q, user, q->failed_fd, ERROR_KEY, reason);
}

int
queue_hold(struct queue *q, const char *user, const char *reason)
{
	char name[NAME_CAP];
	struct stat st;
	bool was_held;
	int r;

	r = user_file_name(user, name, sizeof(name));
	if (r < 0)
		return r;
	/* held again (a newer login): it keeps its place, oldest first */
	was_held = fstatat(q->held_fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		   S_ISREG(st.st_mode);
	r = move_with_line(q, user, q->held_fd, HELD_KEY, reason);
	if (r == FT_OK && was_held) {
		struct timespec ts[2] = {st.st_mtim, st.st_mtim};

		(void)utimensat(q->held_fd, name, ts, AT_SYMLINK_NOFOLLOW);
	}
	return r;
}

/* Write ev as queue/<name> unless a newer event of the user is there. */
static int
put_back(struct queue *q, const char *name, const struct ft_event *ev)
{
	char buf[FT_PROTO_MAX + 1];
	size_t len;
	int r;

	if (faccessat(q->queue_fd, name, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
		return FT_OK; /* a newer event wins over the held one */
	if (errno != ENOENT)
		return FT_E_IO;
	r = ft_event_encode(ev, buf, sizeof(buf), &len);
	if (r < 0)
		return r;
	return ft_write_atomic(q->queue_fd, name, buf, len);
}

int
queue_unhold(struct queue *q, const char *user)
{
	char name[NAME_CAP];
	char why[WHY_MAX];
	struct ft_event ev;
	int r;

	r = user_file_name(user, name, sizeof(name));
	if (r < 0)
		return r;
	r = load_event(q->held_fd, name, &ev, why);
	if (r == FT_OK)
		r = put_back(q, name, &ev);
	if (r < 0)
		return r;
	return queue_held_remove(q, user);
}

int
queue_held_remove(struct queue *q, const char *user)
{
	return remove_in(q->held_fd, user);
}

int
queue_load(struct queue *q, const char *user, struct ft_event *ret_ev)
{
	char name[NAME_CAP];
	char why[WHY_MAX];
	int r;

	r = user_file_name(user, name, sizeof(name));
	if (r < 0)
		return r;
	return load_event(q->queue_fd, name, ret_ev, why);
}

/* ---- scan ------------------------------------------------------------- */

static int
key_cmp(const struct timespec *ta, const char *na, const struct timespec *tb,
	const char *nb)
{
	if (ta->tv_sec != tb->tv_sec)
		return ta->tv_sec < tb->tv_sec ? -1 : 1;
	if (ta->tv_nsec != tb->tv_nsec)
		return ta->tv_nsec < tb->tv_nsec ? -1 : 1;
	return strcmp(na, nb);
}

static int
entry_cmp(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;

	return key_cmp(&x->mtime, x->name, &y->mtime, y->name);
}

static void
entry_swap(struct entry *a, struct entry *b)
{
	struct entry t = *a;

	*a = *b;
	*b = t;
}

static void
heap_up(struct entry *v, size_t i)
{
	while (i > 0 && entry_cmp(&v[(i - 1) / 2], &v[i]) < 0) {
		entry_swap(&v[(i - 1) / 2], &v[i]);
		i = (i - 1) / 2;
	}
}

static void
heap_down(struct entry *v, size_t n, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;

		if (l < n && entry_cmp(&v[l], &v[m]) > 0)
			m = l;
		if (r < n && entry_cmp(&v[r], &v[m]) > 0)
			m = r;
		if (m == i)
			return;
		entry_swap(&v[i], &v[m]);
		i = m;
	}
}

/* Keep (name, mtime, mode) if it is among the `limit` oldest so far. */
static int
entries_add(struct entries *es, const char *name, const struct stat *st)
{
	struct entry e;
	bool full = es->n == es->limit;

	if (full) {
		es->more = true;
		if (key_cmp(&st->st_mtim, name, &es->v[0].mtime,
			    es->v[0].name) >= 0)
			return FT_OK;
	} else if (array_grow(&es->v, &es->cap, es->n + 1, sizeof(*es->v), 64,
			      es->limit) < 0) {
		return FT_E_NOMEM;
	}
	e.name = strdup(name);
	if (e.name == NULL)
		return FT_E_NOMEM;
	e.mtime = st->st_mtim;
	e.mode = st->st_mode;
	if (full) {
		free(es->v[0].name);
		es->v[0] = e;
		heap_down(es->v, es->n, 0);
	} else {
		es->v[es->n++] = e;
		heap_up(es->v, es->n - 1);
	}
	return FT_OK;
}

static void
entries_free(struct entries *es)
{
	size_t i;

	for (i = 0; i < es->n; i++)
		free(es->v[i].name);
	free(es->v);
}

static int
collect(void *ctx, int dirfd, const char *name)
{
	struct stat st;

	/* '.' names are temp files still being written. */
	if (name[0] == '.' || strcmp(name, FAILED_DIR) == 0 ||
	    strcmp(name, HELD_DIR) == 0)
		return FT_OK;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? FT_OK : FT_E_IO;
	return entries_add(ctx, name, &st);
}

/* Rename name to failed/<name>.damaged; on failure say so in why. */
static void
move_damaged(const struct queue *q, int dirfd, const char *name, char *why)
{
	const int keep = (int)(NAME_MAX - (sizeof(DAMAGED_SUFFIX) - 1));
	char target[NAME_MAX + 1];
	char tmp[96];
	size_t used;

	(void)snprintf(target, sizeof(target), "%.*s%s", keep, name,
		       DAMAGED_SUFFIX);
	if (renameat(dirfd, name, q->failed_fd, target) == 0)
		return;
	used = strlen(why);
	(void)snprintf(why + used, WHY_MAX - used, " (not moved aside: %s)",
		       strerror_r(errno, tmp, sizeof(tmp)));
}

static int
scan_one(const struct scan_ctx *sc, const struct entry *e)
{
	char why[WHY_MAX] = "not a regular file";
	char held[FT_PROTO_VALUE_MAX + 1];
	struct ft_event ev;
	int r;

	if (S_ISLNK(e->mode)) {
		(void)snprintf(why, sizeof(why), "symbolic link");
	} else if (S_ISREG(e->mode)) {
		r = load_event_held(sc->dirfd, e->name, &ev, held, why);
		if (r == FT_E_NOTFOUND)
			return FT_OK; /* handled meanwhile */
		if (r == FT_OK && sc->on_held != NULL)
			return sc->on_held(sc->ctx, &ev, held,
					   (long long)e->mtime.tv_sec);
		if (r == FT_OK && sc->on_event != NULL)
			return sc->on_event(sc->ctx, &ev);
		if (r == FT_OK)
			return FT_OK;
	}
	move_damaged(sc->q, sc->dirfd, e->name, why);
	if (sc->on_damaged != NULL)
		sc->on_damaged(sc->ctx, e->name, why);
	return FT_OK;
}

static int
scan_dir(const struct scan_ctx *sc)
{
	struct entries es = {NULL, 0, 0, sc->q->scan_limit, false};
	size_t i;
	int r;

	r = state_for_each_name(sc->dirfd, collect, &es);
	if (r < 0)
		goto out;
	if (es.n > 1)
		qsort(es.v, es.n, sizeof(*es.v), entry_cmp);
	for (i = 0; i < es.n; i++) {
		r = scan_one(sc, &es.v[i]);
		if (r != 0)
			goto out;
	}
	r = es.more ? FT_E_AGAIN : FT_OK;
out:
	entries_free(&es);
	return r;
}

int
queue_scan(struct queue *q, queue_event_fn on_event,
	   queue_damaged_fn on_damaged, void *ctx)
{
	struct scan_ctx sc = {q, q->queue_fd, on_event, NULL, on_damaged, ctx};

	return scan_dir(&sc);
}

int
queue_held_scan(struct queue *q, queue_held_fn on_held,
		queue_damaged_fn on_damaged, void *ctx)
{
	struct scan_ctx sc = {q, q->held_fd, NULL, on_held, on_damaged, ctx};

	return scan_dir(&sc);
}

/* ---- counts and back-off ---------------------------------------------- */

struct count_ctx {
	size_t n;
	bool subdirs; /* skip failed/ and held/ */
};

static int
count_one(void *ctx, int dirfd, const char *name)
{
	struct count_ctx *c = ctx;

	(void)dirfd;
	if (name[0] == '.')
		return FT_OK;
	if (c->subdirs &&
	    (strcmp(name, FAILED_DIR) == 0 || strcmp(name, HELD_DIR) == 0))
		return FT_OK;
	c->n++;
	return FT_OK;
}

static int
count_names(int dirfd, bool subdirs, size_t *ret_n)
{
	struct count_ctx c = {0, subdirs};
	int r;

	r = state_for_each_name(dirfd, count_one, &c);
	if (r < 0)
		return r;
	*ret_n = c.n;
	return FT_OK;
}

int
queue_depth(const struct queue *q, size_t *ret_n)
{
	return count_names(q->queue_fd, true, ret_n);
}

int
queue_failed_count(const struct queue *q, size_t *ret_n)
{
	return count_names(q->failed_fd, false, ret_n);
}

int
queue_held_count(const struct queue *q, size_t *ret_n)
{
	return count_names(q->held_fd, false, ret_n);
}

unsigned long
queue_backoff_ms(unsigned attempt, unsigned long rnd)
{
	return (unsigned long)timing_backoff_ms(attempt, QUEUE_BACKOFF_BASE_MS,
						QUEUE_BACKOFF_MAX_MS, rnd);
}
