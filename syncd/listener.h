/* SPDX-License-Identifier: Apache-2.0 */
/*
 * listener.h: the daemon's end of the login-event socket.
 *
 * An AF_UNIX SOCK_DGRAM socket with SO_PASSCRED, so that every datagram
 * carries kernel-checked credentials.  listener_recv() applies the sender
 * rule of DESIGN.md section 2: uid 0 may report any user; any other uid
 * only the account whose passwd uid is its own.
 * Non-logging; the fd belongs to the caller (close it).
 */
#ifndef LISTENER_H
#define LISTENER_H

#include <stdbool.h>
#include <sys/types.h>

#include "ft_attrs.h"
#include "ft_proto.h"

/*
 * Bind a datagram socket at path (mode 0666: any local session may
 * report its own login; the sender rule does the rest).  A stale socket
 * at path is replaced; anything else there (a file, a symlink, a folder)
 * is refused with FT_E_PERM.  A missing parent folder is created 0755.
 * Returns FT_OK and the non-blocking, close-on-exec fd in *ret_fd, or
 * FT_E_IO (errno set) / FT_E_PERM / FT_E_TOOBIG (path too long).
 */
FT_MUST_USE int listener_open(const char *path, int *ret_fd);

/*
 * Receive one datagram.  Returns FT_OK with the event and the sender's
 * uid; FT_E_AGAIN when nothing is waiting; FT_E_PROTO for a malformed or
 * oversized datagram or one without credentials (dropped); FT_E_PERM for
 * a forged one (sender may not report this user; *ret_uid and the user in
 * *ret_ev are still set, for the log); FT_E_IO on a socket error.
 */
FT_MUST_USE int listener_recv(int fd, struct ft_event *ret_ev, uid_t *ret_uid);

/*
 * listener_recv() without the sender rule: FT_OK for any well-formed
 * event, with the sender's uid; the caller applies listener_sender_ok()
 * (after its rate limit, so a flood costs no NSS look-ups).
 */
FT_MUST_USE int listener_recv_raw(int fd, struct ft_event *ret_ev,
				  uid_t *ret_uid);

/*
 * The sender rule alone: may uid report a login of user?  Looks the user
 * up with getpwnam_r (NSS).
 */
bool listener_sender_ok(uid_t uid, const char *user);

#endif
