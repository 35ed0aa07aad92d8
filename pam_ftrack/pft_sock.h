/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pft_sock.h: hand one login event to ftrack-syncd's datagram socket.
 *
 * Non-logging.  One close-on-exec, non-blocking AF_UNIX SOCK_DGRAM socket
 * per call, closed before returning whatever happens.  No allocation, no
 * state, no signals (MSG_NOSIGNAL); thread-safe.
 */
#ifndef PFT_SOCK_H
#define PFT_SOCK_H

#include <stddef.h>

#include "ft_attrs.h"
#include "pft_trust.h"

/*
 * Send msg (len bytes) as one datagram to the socket at path, with
 * SCM_CREDENTIALS {pid, euid, egid} (retried once without explicit
 * credentials if the kernel refuses them).  Before sending, path must be
 * a socket (not a symlink) owned by a trusted account (t), in a folder
 * that is a trusted directory (see pft_trust_dir).
 * Returns FT_OK when the datagram was queued;
 *   FT_E_PERM when a check failed: *why is set to a static string;
 *   FT_E_AGAIN when the daemon's queue is full (EAGAIN, ENOBUFS; errno);
 *   FT_E_IO for any other failure, e.g. ENOENT or ECONNREFUSED (errno);
 *   FT_E_INVAL when path does not fit a sockaddr_un.
 */
FT_MUST_USE int pft_sock_send(const char *path, struct pft_trust *t,
			      const char *msg, size_t len, const char **why);

#endif
