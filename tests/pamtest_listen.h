/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pamtest_listen.h: a stand-in for ftrack-syncd's socket in the pam
 * suite: an AF_UNIX datagram socket with SO_PASSCRED that receives login
 * events with the sender's kernel-checked credentials.  Test support
 * code; no state.
 */
#ifndef PAMTEST_LISTEN_H
#define PAMTEST_LISTEN_H

#include <stddef.h>
#include <sys/socket.h>

#include "ft_proto.h"

struct pamtest_dgram {
	char data[FT_PROTO_MAX + 64]; /* the datagram as received */
	size_t len;
	int has_cred; /* an SCM_CREDENTIALS message came with it */
	struct ucred cred;
	int decoded; /* ft_event_decode accepted it */
	struct ft_event ev;
};

/* Bind a close-on-exec datagram socket at path, SO_PASSCRED on, with
 * mode `mode`.  Returns the fd or -1. */
int pamtest_listen(const char *path, unsigned int mode);

/*
 * Wait up to timeout_ms for one datagram.  Returns 1 and fills *ret,
 * 0 on timeout, -1 on error.
 */
int pamtest_recv(int fd, int timeout_ms, struct pamtest_dgram *ret);

/* Read every datagram already queued.  Returns how many. */
int pamtest_drain(int fd);

#endif
