/* SPDX-License-Identifier: Apache-2.0 */
/*
 * listener.h: the daemon's end of the login-event socket.
 *
 * An AF_UNIX SOCK_DGRAM socket with SO_PASSCRED, so that every datagram
 * carries kernel-checked credentials.  listener_recv() applies the sender
 * rule of DESIGN.md section 2: uid 0 may report any user; any other uid
 * only the account whose passwd uid is its own.  listener_judge() applies
 * it in the daemon's order, with the rate limit and a small memory of
 * passwd answers, so that a flood costs no NSS look-ups.
 * Non-logging; the fd belongs to the caller (close it).  A struct
 * listener_senders is used by one thread at a time.
 */
#ifndef LISTENER_H
#define LISTENER_H

#include <stdbool.h>
#include <stdint.h>
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

/*
 * The sender rule's memory: the passwd answer for each of the last
 * LISTENER_CACHE_SIZE user names reported by non-root senders (its uid,
 * or "no such user"), kept LISTENER_CACHE_OWN_MS when the user exists
 * and LISTENER_CACHE_NONE_MS when not (nscd's defaults for passwd), so
 * that the same answer is never asked of NSS twice in that time.  A name
 * whose own uid has reported it ("owned": a screen locker seen before)
 * is forgotten last, so a flood of other names cannot push it out.
 */
#define LISTENER_CACHE_SIZE    512
#define LISTENER_CACHE_OWN_MS  600000u /* user found: 10 minutes */
#define LISTENER_CACHE_NONE_MS 20000u  /* no such user: 20 seconds */

struct listener_senders;
struct ratelimit;

/* What listener_judge() decided about one event. */
enum listener_verdict {
	LISTENER_OK,           /* uid 0, or the sender's own account */
	LISTENER_FORGED,       /* the sender may not report this user */
	LISTENER_RATE_UID,     /* not judged: over the uid's own rate */
	LISTENER_RATE_NONROOT, /* not judged: over nonroot_rate */
};

/*
 * A passwd look-up by name: 1 with the uid in *ret_uid, 0 when there is
 * no such user, -1 on an error (not remembered).
 */
typedef int (*listener_getpw_fn)(const char *user, uid_t *ret_uid, void *arg);

/* A new, empty memory (free with listener_senders_free), or NULL (OOM). */
FT_MUST_USE struct listener_senders *listener_senders_new(void);

/* Free ls; NULL is a no-op. */
void listener_senders_free(struct listener_senders *ls);

/*
 * Use fn(user, ret_uid, arg) instead of getpwnam_r (tests: a passwd of
 * their own, and a count of the look-ups); fn NULL: getpwnam_r again.
 * Forgets every answer.
 */
void listener_senders_set_getpw(struct listener_senders *ls,
				listener_getpw_fn fn, void *arg);

/*
 * May uid report a login of user at now_ms?  In this order, so that no
 * event costs an NSS look-up that a cheaper check could answer: uid 0:
 * LISTENER_OK (never limited, nothing looked up); a remembered answer
 * that user is not uid's: LISTENER_FORGED (no token taken); the rate
 * limit rl (ratelimit_take: a remembered owner, fresh or stale, is
 * "known" and may use the reserve); a remembered answer that user is
 * uid's: LISTENER_OK; else one look-up, remembered: LISTENER_OK or
 * LISTENER_FORGED (an error: LISTENER_FORGED, not remembered).
 */
enum listener_verdict listener_judge(struct listener_senders *ls,
				     struct ratelimit *rl, uid_t uid,
				     const char *user, uint64_t now_ms);

/* The passwd look-ups listener_judge() has made (for the metrics). */
unsigned long long listener_senders_lookups(const struct listener_senders *ls);

#endif
