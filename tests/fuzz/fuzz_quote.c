/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_quote.c: ftrack query quoting round trip (syncd/ftrack_json.h).
 *
 * Input: values separated by NUL bytes (at most VALUES_MAX).  Each value
 * is quoted with ftrack_quote() and parsed back by the reference parser
 * below (a double-quoted literal in which `\`, `"` and `'` appear only
 * escaped by a backslash, and a backslash escapes only those): the result
 * must be exactly the value.  A refusal must be justified (not UTF-8, or
 * a C0/DEL control); 2 * len + 3 bytes must always suffice; a smaller,
 * exact-size buffer gives the same literal or FT_E_TOOBIG.  Then
 * ftrack_expr_in() over all values must split back into exactly
 * `head (` literal (`, ` literal)* `)tail` with those values in order.
 */
#include <stdbool.h>
#include <string.h>

#include "ft_err.h"
#include "ft_util.h"
#include "ftrack_json.h"
#include "fuzz.h"

#define VALUES_MAX 32
#define HEAD       "select id from User where username in"
#define TAIL       " and is_active is true"

/*
 * Parse the literal at s into out (capacity cap, room for the value and
 * NUL).  Returns the first byte after it, or NULL when s is not one.
 */
static const char *
parse_literal(const char *s, char *out, size_t cap)
{
	size_t o = 0;

	if (*s++ != '"')
		return NULL;
	for (;;) {
		char c = *s++;

		if (c == '\0' || c == '\'' || o + 1 >= cap)
			return NULL;
		if (c == '"')
			break;
		if (c == '\\') {
			c = *s++;
			if (c != '\\' && c != '"' && c != '\'')
				return NULL;
		}
		out[o++] = c;
	}
	out[o] = '\0';
	return s;
}

/* Why ftrack_quote() may refuse a value. */
static bool
unquotable(const char *v)
{
	size_t i, len = strlen(v);

	if (!ft_utf8_valid(v, len))
		return true;
	for (i = 0; i < len; i++)
		if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f)
			return true;
	return false;
}

static void
check_small(const char *v, int big_r, const char *big, size_t cap)
{
	char *out = malloc(cap > 0 ? cap : 1);
	int r;

	if (out == NULL)
		fuzz_fail("out of memory");
	r = ftrack_quote(v, out, cap);
	if (r == FT_OK) {
		fuzz_check(big_r == FT_OK && strcmp(out, big) == 0);
	} else if (r == FT_E_TOOBIG) {
		fuzz_check(big_r != FT_OK || strlen(big) + 1 > cap);
	} else {
		fuzz_check(r == FT_E_INVAL && big_r == FT_E_INVAL);
	}
	free(out);
}

static void
check_quote(const char *v, size_t salt)
{
	size_t len = strlen(v), cap = 2 * len + 3;
	char *out = malloc(cap), *back = malloc(cap);
	int r;

	if (out == NULL || back == NULL)
		fuzz_fail("out of memory");
	r = ftrack_quote(v, out, cap);
	if (r == FT_OK) {
		const char *end = parse_literal(out, back, cap);

		fuzz_check(!unquotable(v));
		fuzz_check(end != NULL && *end == '\0');
		fuzz_check(strcmp(back, v) == 0);
	} else {
		fuzz_check(r == FT_E_INVAL && unquotable(v));
	}
	check_small(v, r, out, salt % (cap + 1));
	free(out);
	free(back);
}

static void
check_expr(const char *const values[], size_t n, bool quotable)
{
	char *expr = NULL, *back = NULL;
	const char *p;
	size_t i;
	int r;

	r = ftrack_expr_in(HEAD, values, n, TAIL, &expr);
	if (r != FT_OK) {
		fuzz_check(r == FT_E_INVAL && !quotable);
		return;
	}
	fuzz_check(quotable);
	back = malloc(strlen(expr) + 1);
	if (back == NULL)
		fuzz_fail("out of memory");
	fuzz_check(strncmp(expr, HEAD " (", strlen(HEAD " (")) == 0);
	p = expr + strlen(HEAD " (");
	for (i = 0; i < n; i++) {
		if (i > 0) {
			fuzz_check(strncmp(p, ", ", 2) == 0);
			p += 2;
		}
		p = parse_literal(p, back, strlen(expr) + 1);
		fuzz_check(p != NULL && strcmp(back, values[i]) == 0);
	}
	fuzz_check(strcmp(p, ")" TAIL) == 0);
	free(back);
	free(expr);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *values[VALUES_MAX];
	char *copy = malloc(size + 1);
	bool quotable = true;
	size_t n = 0, i = 0;

	if (copy == NULL)
		fuzz_fail("out of memory");
	memcpy(copy, data, size);
	copy[size] = '\0';
	/* Cut at every NUL: the pieces, the last one ending at copy[size]. */
	while (n < VALUES_MAX) {
		values[n++] = copy + i;
		i += strlen(copy + i);
		if (i >= size)
			break;
		i++;
	}
	for (i = 0; i < n; i++) {
		check_quote(values[i], size + i * 7);
		quotable = quotable && !unquotable(values[i]);
	}
	check_expr(values, n, quotable);
	free(copy);
	return 0;
}
