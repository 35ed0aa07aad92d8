/* SPDX-License-Identifier: Apache-2.0 */
/*
 * prov_wire.h: the body of POST /v1/logins (a relay to a provisioner) and
 * the provisioner's 202 answer.
 *
 *	{"events": [{"user": "alice", "service": "sshd", "rhost": "10.1.2.3",
 *	             "tty": "ssh", "time": "2026-12-03T09:00:00Z"}, ...]}
 *
 * At most PROV_WIRE_BODY_MAX bytes (checked before parsing) and
 * PROV_WIRE_EVENTS_MAX events.  Each event is an object; `user` is a
 * string, the others strings (or null, or absent); every value obeys the
 * datagram's rules (ft_proto_value_ok, login_valid for the user) and the
 * event with the authenticated host must encode as a queue file
 * (ft_event_encode).  Unknown keys (`time` among them: informational,
 * never trusted) are ignored, so that a newer relay's fields never send
 * a login to failed/; `host` in the body is one of them: only the
 * certificate names the host.  An event that breaks a rule is "invalid:
 * <why>"; the others go on.
 *
 * Pure functions: no I/O, no state; thread-safe.  jansson stays inside.
 */
#ifndef PROV_WIRE_H
#define PROV_WIRE_H

#include <stddef.h>

#include "ft_attrs.h"
#include "ft_proto.h"

#define PROV_WIRE_BODY_MAX   65536
#define PROV_WIRE_EVENTS_MAX 100
/* The 202 answer of a full batch always fits this. */
#define PROV_WIRE_ANSWER_MAX 8192

struct prov_item {
	const char *why; /* NULL: valid; else a static reason */
	struct ft_event ev;
};

struct prov_batch {
	size_t n;
	struct prov_item item[PROV_WIRE_EVENTS_MAX];
};

/*
 * Decode len bytes of body (not NUL-terminated) sent by host (the name
 * the certificate gave, copied into each event's host) into *ret (the
 * caller's; about 130 KiB, so not on a thread's stack).  Returns FT_OK
 * (every item valid or with its why); FT_E_TOOBIG (over
 * PROV_WIRE_BODY_MAX bytes or PROV_WIRE_EVENTS_MAX events: 413);
 * FT_E_PROTO (not JSON, not that object: 400); FT_E_INVAL (host not a
 * valid value); FT_E_NOMEM.  *ret is written only on FT_OK.
 */
FT_MUST_USE int prov_wire_decode(const char *body, size_t len, const char *host,
				 struct prov_batch *ret);

/*
 * The 202 body for b: {"results": ["accepted" | "invalid: <why>", ...]}
 * in order, into buf (capacity cap, NUL-terminated).  Returns FT_OK and
 * the length in *ret_len, FT_E_TOOBIG or FT_E_NOMEM.
 */
FT_MUST_USE int prov_wire_answer(const struct prov_batch *b, char *buf,
				 size_t cap, size_t *ret_len);

#endif
