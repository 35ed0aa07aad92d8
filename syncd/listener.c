/* SPDX-License-Identifier: Apache-2.0 */
/* listener.c: the login-event socket, credentials and the sender rule. */
#include "listener.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "ft_err.h"
#include "ratelimit.h"

static int
ensure_parent(const char *path)
{
	char copy[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int n = snprintf(copy, sizeof(copy), "%s", path);

	if (n < 0 || (size_t)n >= sizeof(copy))
		return FT_E_TOOBIG;
	if (mkdir(dirname(copy), 0755) < 0 && errno != EEXIST)
		return FT_E_IO;
	return FT_OK;
}

/* Remove a stale socket at path; refuse to remove anything else. */
static int
clear_path(const char *path)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? FT_OK : FT_E_IO;
	if (!S_ISSOCK(st.st_mode))
		return FT_E_PERM;
	if (unlink(path) < 0 && errno != ENOENT)
		return FT_E_IO;
	return FT_OK;
}

int
listener_open(const char *path, int *ret_fd)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = -1, one = 1, rcvbuf = 4 << 20, r, n;

	n = snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (n < 0 || (size_t)n >= sizeof(sa.sun_path))
		return FT_E_TOOBIG;
	r = ensure_parent(path);
	if (r == FT_OK)
		r = clear_path(path);
	if (r < 0)
		return r;
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return FT_E_IO;
	/* a larger buffer absorbs login storms before the PAM fallback */
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    chmod(path, 0666) < 0) {
		int saved = errno;

		(void)close(fd);
		errno = saved;
		return FT_E_IO;
	}
	*ret_fd = fd;
	return FT_OK;
}

/* The default listener_getpw_fn: getpwnam_r (NSS). */
static int
getpw_nss(const char *user, uid_t *ret_uid, void *arg)
{
	struct passwd pw, *res = NULL;
	char buf[4096];
	int e;

	(void)arg;
	e = getpwnam_r(user, &pw, buf, sizeof(buf), &res);
	/* getpwnam_r(3): these mean "no such user" for some backends */
	if (e == ENOENT || e == ESRCH || e == EBADF || e == EPERM)
		return 0;
	if (e != 0)
		return -1;
	if (res == NULL)
		return 0;
	*ret_uid = pw.pw_uid;
	return 1;
}

bool
listener_sender_ok(uid_t uid, const char *user)
{
	uid_t pw_uid = 0;

	if (uid == 0)
		return true;
	return getpw_nss(user, &pw_uid, NULL) == 1 && pw_uid == uid;
}

/* ---- the sender rule's memory ------------------------------------------ */

#define CACHE_WAYS 4 /* entries per set */
#define CACHE_SETS (LISTENER_CACHE_SIZE / CACHE_WAYS)

_Static_assert(CACHE_SETS *CACHE_WAYS == LISTENER_CACHE_SIZE &&
		       (CACHE_SETS & (CACHE_SETS - 1)) == 0,
	       "LISTENER_CACHE_SIZE: a power of two sets of CACHE_WAYS");

struct sender_entry {
	char user[FT_PROTO_VALUE_MAX + 1];
	uid_t uid; /* the passwd uid of user, when found */
	bool used;
	bool found; /* user exists */
	bool owned; /* uid itself reported user: forgotten last */
	uint64_t fresh_until_ms;
	uint64_t seen_ms; /* the last use, to forget the oldest */
};

struct listener_senders {
	listener_getpw_fn getpw;
	void *arg;
	unsigned long long lookups;
	struct sender_entry set[CACHE_SETS][CACHE_WAYS];
};

struct listener_senders *
listener_senders_new(void)
{
	struct listener_senders *ls = calloc(1, sizeof(*ls));

	if (ls != NULL)
		ls->getpw = getpw_nss;
	return ls;
}

void
listener_senders_free(struct listener_senders *ls)
{
	free(ls);
}

void
listener_senders_set_getpw(struct listener_senders *ls, listener_getpw_fn fn,
			   void *arg)
{
	memset(ls->set, 0, sizeof(ls->set));
	ls->getpw = fn != NULL ? fn : getpw_nss;
	ls->arg = fn != NULL ? arg : NULL;
}

unsigned long long
listener_senders_lookups(const struct listener_senders *ls)
{
	return ls->lookups;
}

/* The set of user (FNV-1a). */
static struct sender_entry *
set_of(struct listener_senders *ls, const char *user)
{
	uint32_t h = 2166136261u;
	const unsigned char *p;

	for (p = (const unsigned char *)user; *p != '\0'; p++)
		h = (h ^ *p) * 16777619u;
	return ls->set[h & (CACHE_SETS - 1)];
}

/* The entry of user, fresh or stale, or NULL. */
static struct sender_entry *
cache_find(struct listener_senders *ls, const char *user)
{
	struct sender_entry *set = set_of(ls, user);
	size_t i;

	for (i = 0; i < CACHE_WAYS; i++)
		if (set[i].used && strcmp(set[i].user, user) == 0)
			return &set[i];
	return NULL;
}

/* Where a new answer goes: a free way, else the oldest not owned, else
 * the oldest. */
static struct sender_entry *
cache_victim(struct listener_senders *ls, const char *user)
{
	struct sender_entry *set = set_of(ls, user), *v = &set[0];
	size_t i;

	for (i = 0; i < CACHE_WAYS; i++) {
		struct sender_entry *e = &set[i];

		if (!e->used)
			return e;
		if (e->owned != v->owned ? !e->owned : e->seen_ms < v->seen_ms)
			v = e;
	}
	return v;
}

/*
 * Ask NSS about user and remember the answer in e (user's entry, stale)
 * or, e NULL, in a new one.  Returns the entry, or NULL on an error.  An
 * unchanged answer keeps its owner mark; a changed one drops it.
 */
static struct sender_entry *
cache_lookup(struct listener_senders *ls, struct sender_entry *e,
	     const char *user, uint64_t now_ms)
{
	uid_t pw_uid = 0;
	bool same;
	int r;

	ls->lookups++;
	r = ls->getpw(user, &pw_uid, ls->arg);
	if (r < 0)
		return NULL;
	same = e != NULL && e->found && r == 1 && e->uid == pw_uid;
	if (e == NULL)
		e = cache_victim(ls, user);
	if (!same) {
		memset(e, 0, sizeof(*e));
		(void)snprintf(e->user, sizeof(e->user), "%s", user);
		e->used = true;
	}
	e->found = r == 1;
	e->uid = pw_uid;
	e->fresh_until_ms = now_ms + (r == 1 ? LISTENER_CACHE_OWN_MS
					     : LISTENER_CACHE_NONE_MS);
	e->seen_ms = now_ms;
	return e;
}

static enum listener_verdict
rate_verdict(enum ratelimit_verdict v)
{
	return v == RATELIMIT_UID ? LISTENER_RATE_UID : LISTENER_RATE_NONROOT;
}

enum listener_verdict
listener_judge(struct listener_senders *ls, struct ratelimit *rl, uid_t uid,
	       const char *user, uint64_t now_ms)
{
	struct sender_entry *e;
	enum ratelimit_verdict v;
	bool fresh, mine;

	if (uid == 0)
		return LISTENER_OK;
	e = cache_find(ls, user);
	fresh = e != NULL && now_ms < e->fresh_until_ms;
	mine = e != NULL && e->found && e->uid == uid;
	if (fresh && !mine)
		return LISTENER_FORGED;
	v = ratelimit_take(rl, uid, mine && (fresh || e->owned), now_ms);
	if (v != RATELIMIT_OK)
		return rate_verdict(v);
	if (!fresh) {
		e = cache_lookup(ls, e, user, now_ms);
		if (e == NULL || !e->found || e->uid != uid)
			return LISTENER_FORGED;
	}
	e->owned = true;
	e->seen_ms = now_ms;
	return LISTENER_OK;
}

/* Close any descriptors a sender passed us (SCM_RIGHTS). */
static void
close_passed_fds(const struct cmsghdr *c)
{
	size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int), i;
	int fd;

	for (i = 0; i < n; i++) {
		memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(fd));
		(void)close(fd);
	}
}

/* The credentials attached to msg, or NULL. */
static const struct ucred *
msg_creds(struct msghdr *msg)
{
	struct cmsghdr *c;

	for (c = CMSG_FIRSTHDR(msg); c != NULL; c = CMSG_NXTHDR(msg, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
			close_passed_fds(c);
	}
	for (c = CMSG_FIRSTHDR(msg); c != NULL; c = CMSG_NXTHDR(msg, c)) {
		if (c->cmsg_level == SOL_SOCKET &&
		    c->cmsg_type == SCM_CREDENTIALS &&
		    c->cmsg_len == CMSG_LEN(sizeof(struct ucred)))
			return (const struct ucred *)(void *)CMSG_DATA(c);
	}
	return NULL;
}

int
listener_recv_raw(int fd, struct ft_event *ret_ev, uid_t *ret_uid)
{
	char buf[FT_PROTO_MAX + 1];

	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(struct ucred))];
	} ctl;
	struct iovec iov = {.iov_base = buf, .iov_len = sizeof(buf)};
	struct msghdr msg = {.msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = ctl.buf,
			     .msg_controllen = sizeof(ctl.buf)};
	const struct ucred *cred;
	ssize_t n;

	n = recvmsg(fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	if (n < 0)
		return (errno == EAGAIN || errno == EINTR) ? FT_E_AGAIN
							   : FT_E_IO;
	cred = msg_creds(&msg);
	if (cred == NULL || (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) ||
	    (size_t)n > FT_PROTO_MAX)
		return FT_E_PROTO;
	if (ft_event_decode(buf, (size_t)n, ret_ev) < 0)
		return FT_E_PROTO;
	/* host= is the provisioner's, from a certificate: never a sender's */
	ret_ev->host[0] = '\0';
	*ret_uid = cred->uid;
	return FT_OK;
}

int
listener_recv(int fd, struct ft_event *ret_ev, uid_t *ret_uid)
{
	int r = listener_recv_raw(fd, ret_ev, ret_uid);

	if (r == FT_OK && !listener_sender_ok(*ret_uid, ret_ev->user))
		return FT_E_PERM;
	return r;
}
