/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_proto.c: the login-event decoder (include/ft_proto.h).
 *
 * Two round trips over the same input:
 * - decode: the input as a datagram; whatever decodes must re-encode
 *   (within FT_PROTO_MAX) and decode again to the same event;
 * - encode: the input cut at NUL bytes into user, service, rhost, tty;
 *   whatever encodes must decode to the same event, and the encoding
 *   must never be longer than FT_PROTO_MAX.
 */
#include <string.h>

#include "ft_err.h"
#include "ft_proto.h"
#include "fuzz.h"

static void
check_same(const struct ft_event *a, const struct ft_event *b)
{
	fuzz_check(strcmp(a->user, b->user) == 0);
	fuzz_check(strcmp(a->service, b->service) == 0);
	fuzz_check(strcmp(a->rhost, b->rhost) == 0);
	fuzz_check(strcmp(a->tty, b->tty) == 0);
}

/* Every field of a decoded event obeys the value rules. */
static void
check_fields(const struct ft_event *ev)
{
	const char *const v[] = {ev->user, ev->service, ev->rhost, ev->tty};
	size_t i;

	fuzz_check(ev->user[0] != '\0');
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		fuzz_check(ft_proto_value_ok(v[i], strlen(v[i])) == FT_OK);
}

static void
decode_trip(const uint8_t *data, size_t size)
{
	struct ft_event ev, again;
	char buf[FT_PROTO_MAX + 1];
	size_t len = 0;
	int r;

	r = ft_event_decode((const char *)data, size, &ev);
	if (r != FT_OK) {
		fuzz_check(r == FT_E_PROTO || r == FT_E_TOOBIG);
		return;
	}
	fuzz_check(size <= FT_PROTO_MAX);
	check_fields(&ev);
	r = ft_event_encode(&ev, buf, sizeof(buf), &len);
	if (r != FT_OK)
		fuzz_fail("a decoded event does not encode");
	fuzz_check(len <= FT_PROTO_MAX && buf[len] == '\0');
	r = ft_event_decode(buf, len, &again);
	if (r != FT_OK)
		fuzz_fail("a re-encoded event does not decode");
	check_same(&ev, &again);
}

/* Copy the next NUL-terminated piece of data into dst (capacity cap). */
static void
take(const uint8_t **p, const uint8_t *end, char *dst, size_t cap)
{
	const uint8_t *nul = memchr(*p, '\0', (size_t)(end - *p));
	size_t n = nul != NULL ? (size_t)(nul - *p) : (size_t)(end - *p);

	if (n >= cap)
		n = cap - 1;
	memcpy(dst, *p, n);
	dst[n] = '\0';
	*p = nul != NULL ? nul + 1 : end;
}

static void
encode_trip(const uint8_t *data, size_t size)
{
	const uint8_t *p = data, *end = data + size;
	struct ft_event ev, back;
	char buf[FT_PROTO_MAX + 64];
	size_t len = 0;
	int r;

	memset(&ev, 0, sizeof(ev));
	take(&p, end, ev.user, sizeof(ev.user));
	take(&p, end, ev.service, sizeof(ev.service));
	take(&p, end, ev.rhost, sizeof(ev.rhost));
	take(&p, end, ev.tty, sizeof(ev.tty));
	/* A roomy buffer: the encoder itself must keep to FT_PROTO_MAX. */
	r = ft_event_encode(&ev, buf, sizeof(buf), &len);
	if (r != FT_OK) {
		fuzz_check(r == FT_E_INVAL || r == FT_E_TOOBIG);
		return;
	}
	fuzz_check(len <= FT_PROTO_MAX && strlen(buf) == len);
	r = ft_event_decode(buf, len, &back);
	if (r != FT_OK)
		fuzz_fail("an encoded event does not decode");
	check_same(&ev, &back);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	decode_trip(data, size);
	encode_trip(data, size);
	return 0;
}
