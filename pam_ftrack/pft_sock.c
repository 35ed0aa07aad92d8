/* SPDX-License-Identifier: Apache-2.0 */
/* pft_sock.c: check the daemon's socket, then send it one datagram. */
#include "pft_sock.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "ft_err.h"

/* lstat the folder holding path (sun_path sized) into *ret_st. */
static int
stat_parent(const char *path, struct stat *ret_st)
{
	char dir[sizeof(((struct sockaddr_un *)NULL)->sun_path)];
	const char *slash = strrchr(path, '/');
	size_t n;

	if (slash == NULL)
		return lstat(".", ret_st) < 0 ? FT_E_IO : FT_OK;
	n = slash == path ? 1 : (size_t)(slash - path);
	if (n >= sizeof(dir)) {
		errno = ENAMETOOLONG;
		return FT_E_IO;
	}
	memcpy(dir, path, n);
	dir[n] = '\0';
	return lstat(dir, ret_st) < 0 ? FT_E_IO : FT_OK;
}

static int
check_path(const char *path, struct pft_trust *t, const char **why)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return FT_E_IO;
	if (S_ISLNK(st.st_mode)) {
		*why = "the socket path is a symbolic link";
		return FT_E_PERM;
	}
	if (!S_ISSOCK(st.st_mode)) {
		*why = "the socket path is not a socket";
		return FT_E_PERM;
	}
	if (!pft_trust_owner(t, st.st_uid)) {
		*why = "the socket is not owned by root or the daemon user";
		return FT_E_PERM;
	}
	if (stat_parent(path, &st) < 0)
		return FT_E_IO;
	if (!pft_trust_dir(t, &st)) {
		*why = "the socket's folder is not a directory owned by root or the daemon user and closed to others";
		return FT_E_PERM;
	}
	return FT_OK;
}

/* One sendmsg, with explicit credentials when creds is true. */
static ssize_t
send_once(int fd, struct sockaddr_un *sa, const char *msg, size_t len,
	  bool creds)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(struct ucred))];
	} ctl;
	struct ucred uc = {.pid = getpid(), .uid = geteuid(), .gid = getegid()};

	/* sendmsg only reads the buffer; struct iovec has no const. */
	union {
		/* cppcheck-suppress unusedStructMember */
		const char *in;
		void *out;
	} base = {.in = msg};
	struct iovec iov = {.iov_base = base.out, .iov_len = len};
	struct msghdr mh;

	memset(&mh, 0, sizeof(mh));
	mh.msg_name = sa;
	mh.msg_namelen = (socklen_t)sizeof(*sa);
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (creds) {
		struct cmsghdr *cm;

		memset(&ctl, 0, sizeof(ctl));
		mh.msg_control = ctl.buf;
		mh.msg_controllen = sizeof(ctl.buf);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_CREDENTIALS;
		cm->cmsg_len = CMSG_LEN(sizeof(uc));
		memcpy(CMSG_DATA(cm), &uc, sizeof(uc));
	}
	return sendmsg(fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
}

static int
send_dgram(int fd, struct sockaddr_un *sa, const char *msg, size_t len)
{
	ssize_t n = -1;
	int tries;

	/* Bounded: EINTR cannot repeat forever on a non-blocking socket. */
	for (tries = 0; tries < 3; tries++) {
		n = send_once(fd, sa, msg, len, true);
		if (n < 0 && errno == EPERM)
			n = send_once(fd, sa, msg, len, false);
		if (n >= 0 || errno != EINTR)
			break;
	}
	if (n >= 0 && (size_t)n != len)
		errno = EMSGSIZE;
	if (n >= 0 && (size_t)n == len)
		return FT_OK;
	/* EWOULDBLOCK is EAGAIN on Linux. */
	if (errno == EAGAIN || errno == ENOBUFS)
		return FT_E_AGAIN;
	return FT_E_IO;
}

int
pft_sock_send(const char *path, struct pft_trust *t, const char *msg,
	      size_t len, const char **why)
{
	struct sockaddr_un sa;
	size_t plen = strlen(path);
	int fd = -1, r, saved;

	if (plen == 0 || plen >= sizeof(sa.sun_path))
		return FT_E_INVAL;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, plen + 1);
	r = check_path(path, t, why);
	if (r < 0)
		return r;
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return FT_E_IO;
	r = send_dgram(fd, &sa, msg, len);
	saved = errno;
	(void)close(fd);
	errno = saved;
	return r;
}
