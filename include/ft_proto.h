/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ft_proto.h: the login event sent by pam_ftrack to ftrack-syncd.
 *
 * One AF_UNIX SOCK_DGRAM datagram per login, at most FT_PROTO_MAX bytes:
 *
 *	FTSYNC1\n
 *	user=alice\n
 *	service=sshd\n
 *	rhost=10.1.2.3\n
 *	tty=ssh\n
 *
 * The first line is the version word.  Every other line is key=value,
 * each line ends in '\n' (the last '\n' may be missing).  Keys are
 * [a-z_][a-z0-9_]*, at most FT_PROTO_KEY_MAX bytes, each at most once;
 * unknown keys are skipped so that later senders may add fields.
 * `user` is required and not empty.  A value is valid UTF-8, holds no
 * control character (C0, DEL, C1) and is at most FT_PROTO_VALUE_MAX
 * bytes.  The whole message is at most FT_PROTO_MAX bytes counting the
 * final '\n' even when it is missing (so that what decodes re-encodes).
 * Anything else is rejected whole.
 *
 * The same text is the content of a queue (spool) file, one per user.
 * The daemon may add an `error=` line to files it moves to queue/failed/.
 * A provisioner adds `host=NAME`, the relay host named by the client
 * certificate the event came with; only the provisioner writes it: the
 * daemon clears it from every datagram (listener.c) and the PAM module
 * never sets it.
 *
 * Pure functions: no allocation, no I/O, no state; thread-safe.
 */
#ifndef FT_PROTO_H
#define FT_PROTO_H

#include <stddef.h>

#include "ft_attrs.h"

#define FT_PROTO_VERSION   "FTSYNC1"
#define FT_PROTO_MAX       1024
#define FT_PROTO_VALUE_MAX 256
#define FT_PROTO_KEY_MAX   32

/* Default paths shared by the module and the daemon. */
#define FT_DEFAULT_SOCKET    "/run/ftrack-syncd/notify.sock"
#define FT_DEFAULT_STATE_DIR "/var/lib/ftrack-syncd"
#define FT_DEFAULT_SPOOL     FT_DEFAULT_STATE_DIR "/queue"

/* A decoded event.  Absent optional fields are empty strings. */
struct ft_event {
	char user[FT_PROTO_VALUE_MAX + 1];
	char service[FT_PROTO_VALUE_MAX + 1];
	char rhost[FT_PROTO_VALUE_MAX + 1];
	char tty[FT_PROTO_VALUE_MAX + 1];
	char host[FT_PROTO_VALUE_MAX + 1]; /* provisioner only: see above */
};

/*
 * Encode ev into buf (capacity cap).  Empty optional fields are left out.
 * Returns FT_OK and the length (no NUL counted; buf is NUL-terminated) in
 * *ret_len; FT_E_INVAL when a field breaks a rule; FT_E_TOOBIG when the
 * result would not fit cap or FT_PROTO_MAX.
 */
FT_MUST_USE int ft_event_encode(const struct ft_event *ev, char *buf,
				size_t cap, size_t *ret_len);

/*
 * Decode len bytes of buf (not NUL-terminated) into *ret_ev.
 * Returns FT_OK, or FT_E_PROTO (bad framing, version, key or value),
 * FT_E_TOOBIG (over FT_PROTO_MAX).  *ret_ev is written only on success.
 */
FT_MUST_USE int ft_event_decode(const char *buf, size_t len,
				struct ft_event *ret_ev);

/*
 * Check that a value may travel in an event: at most FT_PROTO_VALUE_MAX
 * bytes, valid UTF-8, no control characters.  Returns FT_OK or
 * FT_E_INVAL (FT_E_TOOBIG when too long).
 */
FT_MUST_USE int ft_proto_value_ok(const char *s, size_t len);

#endif
