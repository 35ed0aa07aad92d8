/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_prov_wire.c: the relay's request body (syncd/prov_wire.h).
 *
 * Input: any body.  prov_wire_decode() must give a clean FT_E_PROTO or
 * FT_E_TOOBIG (nothing written), or FT_OK with at most
 * PROV_WIRE_EVENTS_MAX events where every valid one passes the
 * datagram's rules: a valid login, each field a valid value, the host
 * from the caller, and the event encodes and decodes back to itself as a
 * queue file; every invalid one has a reason.  The answer always fits
 * PROV_WIRE_ANSWER_MAX.
 */
#include <stdlib.h>
#include <string.h>

#include "ft_err.h"
#include "ft_proto.h"
#include "fuzz.h"
#include "login.h"
#include "prov_wire.h"

#define HOST "host1.ws.example.com"

static void
check_event(const struct ft_event *ev)
{
	char buf[FT_PROTO_MAX + 1];
	struct ft_event back;
	size_t len;

	fuzz_check(login_valid(ev->user));
	fuzz_check(ft_proto_value_ok(ev->service, strlen(ev->service)) ==
		   FT_OK);
	fuzz_check(ft_proto_value_ok(ev->rhost, strlen(ev->rhost)) == FT_OK);
	fuzz_check(ft_proto_value_ok(ev->tty, strlen(ev->tty)) == FT_OK);
	fuzz_check(strcmp(ev->host, HOST) == 0);
	fuzz_check(ft_event_encode(ev, buf, sizeof(buf), &len) == FT_OK);
	fuzz_check(ft_event_decode(buf, len, &back) == FT_OK);
	fuzz_check(memcmp(&back, ev, sizeof(back)) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct prov_batch b;
	static char out[PROV_WIRE_ANSWER_MAX];
	size_t i, len;
	int r;

	b.n = (size_t)-1;
	r = prov_wire_decode((const char *)data, size, HOST, &b);
	if (r != FT_OK) {
		fuzz_check(r == FT_E_PROTO || r == FT_E_TOOBIG);
		fuzz_check(b.n == (size_t)-1);
		return 0;
	}
	fuzz_check(b.n <= PROV_WIRE_EVENTS_MAX);
	for (i = 0; i < b.n; i++) {
		if (b.item[i].why == NULL)
			check_event(&b.item[i].ev);
		else
			fuzz_check(b.item[i].why[0] != '\0');
	}
	fuzz_check(prov_wire_answer(&b, out, sizeof(out), &len) == FT_OK);
	return 0;
}
