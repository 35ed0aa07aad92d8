/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_login.c: [ldap] login_format on any name (syncd/login.h).
 *
 * Input: the first byte's low three bits are the flags (strip-domain,
 * strip-realm, lower), the rest is the name (cut at a NUL).  The result
 * must equal a reference computed here another way (scan for the first
 * '\' and the last '@', then fold A-Z); FT_E_INVAL exactly when the name
 * is not a valid login or leaves nothing; the result is a valid login,
 * never longer than the name, the same in place; an exact-size buffer
 * suffices and one byte less gives FT_E_TOOBIG.
 */
#include <stdbool.h>
#include <string.h>

#include "ft_err.h"
#include "ft_proto.h"
#include "fuzz.h"
#include "login.h"

#define NAME_MAX_BYTES (FT_PROTO_VALUE_MAX + 16)

/* The reference: [from, to) of raw that the flags keep. */
static void
reference(unsigned fmt, const char *raw, size_t len, size_t *from, size_t *to)
{
	size_t i;

	*from = 0;
	*to = len;
	for (i = 0; (fmt & LOGIN_STRIP_DOMAIN) && i < len; i++)
		if (raw[i] == '\\') {
			*from = i + 1;
			break;
		}
	for (i = len; (fmt & LOGIN_STRIP_REALM) && i > *from; i--)
		if (raw[i - 1] == '@') {
			*to = i - 1;
			break;
		}
}

static char
fold(unsigned fmt, char c)
{
	return (fmt & LOGIN_LOWER) && c >= 'A' && c <= 'Z'
		       ? (char)(c - 'A' + 'a')
		       : c;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char raw[NAME_MAX_BYTES + 1], out[NAME_MAX_BYTES + 1];
	char inplace[NAME_MAX_BYTES + 1];
	size_t len, from, to, i, n;
	unsigned fmt;
	int r;

	if (size == 0)
		return 0;
	fmt = data[0] & 7u;
	len = size - 1 > NAME_MAX_BYTES ? NAME_MAX_BYTES : size - 1;
	memcpy(raw, data + 1, len);
	raw[len] = '\0';
	len = strlen(raw);
	reference(fmt, raw, len, &from, &to);
	r = login_name(fmt, raw, out, sizeof(out));
	if (!login_valid(raw) || to == from) {
		fuzz_check(r == FT_E_INVAL);
		return 0;
	}
	fuzz_check(r == FT_OK);
	n = strlen(out);
	fuzz_check(n == to - from && n <= len);
	for (i = 0; i < n; i++)
		fuzz_check(out[i] == fold(fmt, raw[from + i]));
	fuzz_check(login_valid(out));
	memcpy(inplace, raw, len + 1);
	fuzz_check(login_name(fmt, inplace, inplace, len + 1) == FT_OK);
	fuzz_check(strcmp(inplace, out) == 0);
	fuzz_check(login_name(fmt, raw, inplace, n + 1) == FT_OK);
	fuzz_check(strcmp(inplace, out) == 0);
	fuzz_check(login_name(fmt, raw, inplace, n) == FT_E_TOOBIG);
	return 0;
}
