/* SPDX-License-Identifier: Apache-2.0 */
/* ft_clean.c: the one cleaner: controls, bidi, bad bytes escaped, bounded. */
#include "ft_clean.h"

#include <stdbool.h>
#include <string.h>

#include "ft_util.h"

/* What one input character becomes: itself or an escape (at most 6). */
struct piece {
	char s[8];
	size_t len;
};

static const char hex_digits[] = "0123456789abcdef";

/* A valid code point that is shown as \uHHHH: C1, bidi, separators. */
static bool
hidden_code_point(unsigned cp)
{
	return (cp >= 0x80 && cp <= 0x9f) || (cp >= 0x202a && cp <= 0x202e) ||
	       (cp >= 0x2066 && cp <= 0x2069) || cp == 0x2028 || cp == 0x2029;
}

static void
piece_short(struct piece *pc, char c)
{
	pc->s[0] = '\\';
	pc->s[1] = c;
	pc->len = 2;
}

static void
piece_byte(struct piece *pc, unsigned char c)
{
	pc->s[0] = '\\';
	pc->s[1] = 'x';
	pc->s[2] = hex_digits[c >> 4];
	pc->s[3] = hex_digits[c & 0xf];
	pc->len = 4;
}

static void
piece_code_point(struct piece *pc, unsigned cp)
{
	pc->s[0] = '\\';
	pc->s[1] = 'u';
	pc->s[2] = hex_digits[(cp >> 12) & 0xf];
	pc->s[3] = hex_digits[(cp >> 8) & 0xf];
	pc->s[4] = hex_digits[(cp >> 4) & 0xf];
	pc->s[5] = hex_digits[cp & 0xf];
	pc->len = 6;
}

/* The letter of the short escapes \\ \t \n \r; '\0' for any other byte. */
static char
short_escape(unsigned char c)
{
	switch (c) {
	case '\\':
		return '\\';
	case '\t':
		return 't';
	case '\n':
		return 'n';
	case '\r':
		return 'r';
	default:
		return '\0';
	}
}

/* The piece for the character at in (left > 0 bytes); returns the input
 * bytes it stands for. */
static size_t
next_piece(const char *in, size_t left, struct piece *pc)
{
	unsigned char c = (unsigned char)in[0];
	char letter = short_escape(c);
	unsigned cp = 0;
	size_t n;

	if (letter != '\0') {
		piece_short(pc, letter);
		return 1;
	}
	n = ft_utf8_next(in, left, &cp);
	if (n == 0 || c < 0x20 || c == 0x7f) {
		piece_byte(pc, c);
		return 1;
	}
	if (hidden_code_point(cp)) {
		piece_code_point(pc, cp);
		return n;
	}
	memcpy(pc->s, in, n);
	pc->len = n;
	return n;
}

/* True when the whole of in comes out in at most room bytes. */
static bool
fits(const char *in, size_t len, size_t room)
{
	struct piece pc;
	size_t i = 0, o = 0;

	while (i < len) {
		i += next_piece(in + i, len - i, &pc);
		o += pc.len;
		if (o > room)
			return false;
	}
	return true;
}

/* ft_clean(), and the mark in any case when cut (the input was cut). */
static size_t
clean_into(char *out, size_t cap, const char *in, size_t len, bool cut)
{
	struct piece pc;
	size_t i = 0, o = 0, room;
	bool whole;

	if (cap == 0)
		return 0;
	room = cap - 1;
	whole = !cut && fits(in, len, room);
	if (!whole && room < FT_CLEAN_MARK_LEN) {
		out[0] = '\0';
		return 0;
	}
	if (!whole)
		room -= FT_CLEAN_MARK_LEN;
	while (i < len) {
		size_t n = next_piece(in + i, len - i, &pc);

		if (o + pc.len > room)
			break;
		memcpy(out + o, pc.s, pc.len);
		o += pc.len;
		i += n;
	}
	if (!whole) {
		memcpy(out + o, FT_CLEAN_MARK, FT_CLEAN_MARK_LEN);
		o += FT_CLEAN_MARK_LEN;
	}
	out[o] = '\0';
	return o;
}

size_t
ft_clean(char *out, size_t cap, const char *in, size_t len)
{
	return clean_into(out, cap, in, len, false);
}

const char *
ft_clean_str(char *out, size_t cap, const char *s)
{
	if (s == NULL)
		s = "(null)";
	(void)clean_into(out, cap, s, strlen(s), false);
	return out;
}

/* len, less the bytes of a character that the cut at len left partial. */
static size_t
whole_chars(const char *s, size_t len)
{
	size_t start = len;

	while (start > 0 && len - start < 4 &&
	       ((unsigned char)s[start - 1] & 0xc0) == 0x80)
		start--;
	if (start == 0 || (unsigned char)s[start - 1] < 0xc0)
		return len;
	start--; /* a lead byte: is its character complete? */
	return ft_utf8_next(s + start, len - start, NULL) == 0 ? start : len;
}

size_t
ft_clean_vfmt(char *out, size_t cap, const char *fmt, va_list ap)
{
	char line[FT_CLEAN_LINE_MAX];
	size_t len = 0;
	bool cut = false;
	int n;

	n = vsnprintf(line, sizeof(line), fmt, ap);
	if (n < 0) {
		cut = true; /* nothing came out: say so */
	} else if ((size_t)n >= sizeof(line)) {
		len = whole_chars(line, sizeof(line) - 1);
		cut = true;
	} else {
		len = (size_t)n;
	}
	return clean_into(out, cap, line, len, cut);
}

void
ft_clean_print(FILE *f, const char *fmt, ...)
{
	char out[FT_CLEAN_LINE_OUT];
	va_list ap;
	size_t len;

	va_start(ap, fmt);
	len = ft_clean_vfmt(out, sizeof(out) - 1, fmt, ap);
	va_end(ap);
	out[len] = '\n';
	(void)fwrite(out, 1, len + 1, f);
}
