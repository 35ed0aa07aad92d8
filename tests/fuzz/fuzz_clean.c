/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_clean.c: the one cleaner (include/ft_clean.h), for any bytes.
 *
 * Input: two bytes that choose the output capacity, then the text.  For
 * that capacity and for FT_CLEAN_CAP(len): the output is within its bound,
 * NUL-terminated with no NUL inside, valid UTF-8 holding no C0 control,
 * DEL, C1 control, bidi override or isolate, nor U+2028/U+2029.  With
 * FT_CLEAN_CAP(len) it is whole (no mark) and decodes back to exactly the
 * input (so the escaping is unambiguous); a smaller capacity gives either
 * the same output or one that ends in the mark and decodes to a prefix of
 * the input.  ft_clean_vfmt("%s") of the text up to its first NUL gives
 * what ft_clean_str() gives.
 */
#include <stdbool.h>
#include <string.h>

#include "ft_clean.h"
#include "ft_util.h"
#include "fuzz.h"

/* True when cp may appear in the output. */
static bool
shown(unsigned cp)
{
	return !(cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f) ||
		 (cp >= 0x202a && cp <= 0x202e) ||
		 (cp >= 0x2066 && cp <= 0x2069) || cp == 0x2028 ||
		 cp == 0x2029);
}

static void
check_clean_text(const char *out, size_t n)
{
	size_t i = 0;

	fuzz_check(strlen(out) == n);
	while (i < n) {
		unsigned cp = 0;
		size_t k = ft_utf8_next(out + i, n - i, &cp);

		fuzz_check(k > 0);
		fuzz_check(shown(cp));
		i += k;
	}
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* The value of count hex digits at s, or -1. */
static long
hex_at(const char *s, size_t count)
{
	long v = 0;
	size_t i;

	for (i = 0; i < count; i++) {
		int d = hexval(s[i]);

		if (d < 0)
			return -1;
		v = v * 16 + d;
	}
	return v;
}

/* UTF-8 of cp (below 0x10000) into p; returns its length. */
static size_t
put_utf8(unsigned char *p, unsigned cp)
{
	if (cp < 0x800) {
		p[0] = (unsigned char)(0xc0 | (cp >> 6));
		p[1] = (unsigned char)(0x80 | (cp & 0x3f));
		return 2;
	}
	p[0] = (unsigned char)(0xe0 | (cp >> 12));
	p[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
	p[2] = (unsigned char)(0x80 | (cp & 0x3f));
	return 3;
}

/* One escape at s (after its backslash) into p; returns the bytes of s it
 * took and the bytes written in *ret_w, or 0 when it is not one. */
static size_t
decode_escape(const char *s, unsigned char *p, size_t *ret_w)
{
	long v;

	*ret_w = 1;
	switch (s[0]) {
	case '\\':
		p[0] = '\\';
		return 1;
	case 't':
		p[0] = '\t';
		return 1;
	case 'n':
		p[0] = '\n';
		return 1;
	case 'r':
		p[0] = '\r';
		return 1;
	case 'x':
		v = hex_at(s + 1, 2);
		if (v < 0)
			return 0;
		p[0] = (unsigned char)v;
		return 3;
	case 'u':
		v = hex_at(s + 1, 4);
		if (v < 0x80 || shown((unsigned)v))
			return 0; /* only hidden code points are escaped */
		*ret_w = put_utf8(p, (unsigned)v);
		return 5;
	default:
		return 0;
	}
}

/*
 * Decode the output out (n bytes) into back (room for n bytes); *ret_cut
 * says whether it ended in the mark.  Returns the decoded length.
 */
static size_t
decode(const char *out, size_t n, unsigned char *back, bool *ret_cut)
{
	size_t i = 0, o = 0, w;

	*ret_cut = false;
	while (i < n) {
		size_t k;

		if (out[i] != '\\') {
			back[o++] = (unsigned char)out[i++];
			continue;
		}
		if (n - i == FT_CLEAN_MARK_LEN &&
		    memcmp(out + i, FT_CLEAN_MARK, FT_CLEAN_MARK_LEN) == 0) {
			*ret_cut = true;
			break;
		}
		fuzz_check(i + 1 < n);
		k = decode_escape(out + i + 1, back + o, &w);
		fuzz_check(k > 0);
		i += 1 + k;
		o += w;
	}
	return o;
}

static void
check_cap(const char *in, size_t len, size_t cap, const char *whole)
{
	char *out = malloc(cap > 0 ? cap : 1);
	unsigned char *back = malloc(cap + 1);
	size_t n, blen;
	bool cut;

	if (out == NULL || back == NULL)
		fuzz_fail("out of memory");
	n = ft_clean(out, cap, in, len);
	if (cap == 0) {
		fuzz_check(n == 0);
		goto out;
	}
	fuzz_check(n < cap);
	check_clean_text(out, n);
	blen = decode(out, n, back, &cut);
	if (whole != NULL && strcmp(out, whole) == 0) {
		fuzz_check(!cut);
	} else {
		/* cut: the mark, or nothing when even that did not fit */
		fuzz_check(cut || (n == 0 && cap < FT_CLEAN_MARK_LEN + 1));
		fuzz_check(blen <= len && memcmp(back, in, blen) == 0);
	}
out:
	free(out);
	free(back);
}

static size_t FT_PRINTF(3, 4)
	clean_fmt(char *out, size_t cap, const char *fmt, ...)
{
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	n = ft_clean_vfmt(out, cap, fmt, ap);
	va_end(ap);
	return n;
}

/* The whole output: unmarked, and decodes to exactly the input. */
static char *
check_whole(const char *in, size_t len)
{
	size_t cap = FT_CLEAN_CAP(len), n, blen;
	char *out = malloc(cap);
	unsigned char *back = malloc(cap);
	bool cut;

	if (out == NULL || back == NULL)
		fuzz_fail("out of memory");
	n = ft_clean(out, cap, in, len);
	fuzz_check(n < cap);
	check_clean_text(out, n);
	blen = decode(out, n, back, &cut);
	fuzz_check(!cut);
	fuzz_check(blen == len && memcmp(back, in, len) == 0);
	free(back);
	return out;
}

static void
check_fmt(const char *in, size_t len)
{
	char a[FT_CLEAN_LINE_OUT], b[FT_CLEAN_LINE_OUT];
	char *s = malloc(len + 1);

	if (s == NULL)
		fuzz_fail("out of memory");
	memcpy(s, in, len);
	s[len] = '\0';
	if (strlen(s) < FT_CLEAN_LINE_MAX) {
		(void)clean_fmt(a, sizeof(a), "%s", s);
		(void)ft_clean_str(b, sizeof(b), s);
		fuzz_check(strcmp(a, b) == 0);
	} else {
		size_t n = clean_fmt(a, sizeof(a), "%s", s);

		check_clean_text(a, n);
		fuzz_check(n >= FT_CLEAN_MARK_LEN &&
			   strcmp(a + n - FT_CLEAN_MARK_LEN, FT_CLEAN_MARK) ==
				   0);
	}
	free(s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data + 2;
	size_t len, cap;
	char *whole;

	if (size < 2)
		return 0;
	len = size - 2;
	cap = ((size_t)data[0] << 8 | data[1]) % (FT_CLEAN_CAP(len) + 2);
	whole = check_whole(in, len);
	check_cap(in, len, cap, whole);
	check_fmt(in, len);
	free(whole);
	return 0;
}
