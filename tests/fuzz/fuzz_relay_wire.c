/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_relay_wire.c: a relay decoding a provisioner's answer
 * (syncd/relay_wire.h), the only bytes a relay takes from the network.
 *
 * Input: byte 0 picks the number of events sent (1 + b0 % 100), the rest
 * is the body.  Checked: the result is FT_OK, FT_E_PROTO or FT_E_TOOBIG
 * (a body over the cap); on FT_OK, exactly that many results, each one of
 * the three kinds, an invalid's reason non-empty, within RELAY_WHY_MAX,
 * NUL-free UTF-8 (it goes through the cleaner into queue/failed/), and
 * every other slot's reason empty.
 */
#include <string.h>

#include "ft_err.h"
#include "ft_util.h"
#include "fuzz.h"
#include "relay_wire.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct relay_answer a;
	size_t n, i;
	int r;

	if (size < 1)
		return 0;
	n = 1 + (size_t)data[0] % RELAY_MAX_EVENTS;
	memset(&a, 0x55, sizeof(a));
	r = relay_wire_decode((const char *)data + 1, size - 1, n, &a);
	fuzz_check(r == FT_OK || r == FT_E_PROTO || r == FT_E_TOOBIG ||
		   r == FT_E_NOMEM);
	fuzz_check(r != FT_E_TOOBIG || size - 1 > RELAY_MAX_ANSWER);
	if (r != FT_OK)
		return 0;
	fuzz_check(a.n == n);
	for (i = 0; i < n; i++) {
		size_t len = strnlen(a.why[i], sizeof(a.why[i]));

		fuzz_check(a.result[i] == RELAY_ACCEPTED ||
			   a.result[i] == RELAY_INVALID ||
			   a.result[i] == RELAY_OTHER);
		fuzz_check(len <= RELAY_WHY_MAX);
		if (a.result[i] != RELAY_INVALID) {
			fuzz_check(len == 0);
			continue;
		}
		fuzz_check(len > 0);
		fuzz_check(ft_utf8_valid(a.why[i], len));
	}
	return 0;
}
