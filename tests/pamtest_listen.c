/* SPDX-License-Identifier: Apache-2.0 */
/* pamtest_listen.c: the test's stand-in for the daemon's socket. */
#include "pamtest_listen.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

int
pamtest_listen(const char *path, unsigned int mode)
{
	struct sockaddr_un sa;
	int fd, on = 1;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa.sun_path))
		return -1;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &on, sizeof(on)) < 0 ||
	    chmod(path, (mode_t)mode) < 0) {
		(void)close(fd);
		return -1;
	}
	return fd;
}

static void
take_cred(struct msghdr *mh, struct pamtest_dgram *d)
{
	struct cmsghdr *cm;

	for (cm = CMSG_FIRSTHDR(mh); cm != NULL; cm = CMSG_NXTHDR(mh, cm)) {
		if (cm->cmsg_level == SOL_SOCKET &&
		    cm->cmsg_type == SCM_CREDENTIALS &&
		    cm->cmsg_len == CMSG_LEN(sizeof(struct ucred))) {
			memcpy(&d->cred, CMSG_DATA(cm), sizeof(d->cred));
			d->has_cred = 1;
		}
	}
}

static int
recv_one(int fd, int flags, struct pamtest_dgram *d)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(struct ucred))];
	} ctl;
	struct iovec iov;
	struct msghdr mh;
	ssize_t n;

	memset(d, 0, sizeof(*d));
	iov.iov_base = d->data;
	iov.iov_len = sizeof(d->data);
	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = ctl.buf;
	mh.msg_controllen = sizeof(ctl.buf);
	n = recvmsg(fd, &mh, flags | MSG_CMSG_CLOEXEC);
	if (n < 0)
		return errno == EAGAIN ? 0 : -1;
	d->len = (size_t)n;
	take_cred(&mh, d);
	d->decoded = ft_event_decode(d->data, d->len, &d->ev) == 0;
	return 1;
}

int
pamtest_recv(int fd, int timeout_ms, struct pamtest_dgram *ret)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	int r;

	do
		r = poll(&p, 1, timeout_ms);
	while (r < 0 && errno == EINTR);
	if (r <= 0)
		return r;
	return recv_one(fd, MSG_DONTWAIT, ret);
}

int
pamtest_drain(int fd)
{
	struct pamtest_dgram d;
	int n = 0;

	while (recv_one(fd, MSG_DONTWAIT, &d) == 1)
		n++;
	return n;
}
