/* SPDX-License-Identifier: Apache-2.0 */
/*
 * relay_wire.h: the relay's request body and the provisioner's answer.
 *
 * A relay POSTs {"events": [{"user": ..., "service": ..., "rhost": ...,
 * "tty": ..., "time": "2026-12-03T09:00:00Z"}, ...]} to /v1/logins (empty
 * optional fields left out; time is when the relay journaled the event:
 * informational); the provisioner answers 202 {"results": ["accepted",
 * "invalid: <why>", ...]}, one per event in order.  Pure: no I/O, no
 * clock; jansson stays inside.  Non-logging; thread-safe.
 */
#ifndef RELAY_WIRE_H
#define RELAY_WIRE_H

#include <stddef.h>
#include <time.h>

#include "ft_attrs.h"
#include "ft_proto.h"

#define RELAY_MAX_EVENTS 100                 /* events a request */
#define RELAY_MAX_BODY   ((size_t)64 * 1024) /* bytes of a request body */
/*
 * Bytes of an answer: 100 results of "invalid: " and a reason of at most
 * RELAY_WHY_MAX bytes, each escaped to 6 bytes a byte at worst, is 160
 * KiB: 256 KiB leaves room; nothing larger is parsed.
 */
#define RELAY_MAX_ANSWER ((size_t)256 * 1024)
#define RELAY_WHY_MAX    256 /* bytes of an invalid's reason kept */

enum relay_result {
	RELAY_ACCEPTED, /* journaled by the provisioner: remove ours */
	RELAY_INVALID,  /* refused for good: to failed/ with the reason */
	RELAY_OTHER,    /* anything else: keep it, try again later */
};

struct relay_answer {
	size_t n; /* results, = the events sent */
	enum relay_result result[RELAY_MAX_EVENTS];
	char why[RELAY_MAX_EVENTS][RELAY_WHY_MAX + 1]; /* RELAY_INVALID */
};

/*
 * Bytes event ev (journaled at when; 0: no time) takes in a body, its
 * separating comma counted: a batch of events fits RELAY_MAX_BODY when
 * RELAY_WIRE_FRAME plus the sum of theirs does.  0 when ev cannot be
 * encoded (a field breaks the datagram's rules).
 */
#define RELAY_WIRE_FRAME 14 /* {"events":[]} and its NUL */
size_t relay_wire_event_size(const struct ft_event *ev, time_t when);

/*
 * Encode n events (1..RELAY_MAX_EVENTS; when[i] their journal times, or
 * when NULL: none) as a compact request body.  Returns FT_OK with a new
 * NUL-terminated string in *ret (free()) and its length in *ret_len;
 * FT_E_INVAL (n out of range, a field breaking the datagram's rules);
 * FT_E_TOOBIG (over RELAY_MAX_BODY: send fewer); FT_E_NOMEM.
 */
FT_MUST_USE int relay_wire_encode(const struct ft_event *ev, const time_t *when,
				  size_t n, char **ret, size_t *ret_len);

/*
 * Decode the answer to a request of n events: len bytes of body (not
 * NUL-terminated).  An object with "results", an array of exactly n
 * strings (other keys ignored); "accepted" and "invalid: <why>" (why cut
 * to RELAY_WHY_MAX bytes, "unknown" when empty) are known, any other
 * string is RELAY_OTHER.  Returns FT_OK with *ret filled; FT_E_TOOBIG
 * (over RELAY_MAX_ANSWER); FT_E_PROTO (not JSON, not that shape, another
 * count); FT_E_NOMEM.
 */
FT_MUST_USE int relay_wire_decode(const char *body, size_t len, size_t n,
				  struct relay_answer *ret);

#endif
