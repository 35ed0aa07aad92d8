/* SPDX-License-Identifier: Apache-2.0 */
/* listener.c: the login-event socket, credentials and the sender rule. */
#include "listener.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "ft_err.h"

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

bool
listener_sender_ok(uid_t uid, const char *user)
{
	struct passwd pw, *res = NULL;
	char buf[4096];

	if (uid == 0)
		return true;
	if (getpwnam_r(user, &pw, buf, sizeof(buf), &res) != 0 || res == NULL)
		return false;
	return pw.pw_uid == uid;
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
