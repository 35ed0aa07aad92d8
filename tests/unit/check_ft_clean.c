/* SPDX-License-Identifier: Apache-2.0 */
/* check_ft_clean.c: the one cleaner (include/ft_clean.c): every class, the
 * boundaries of each, invalid UTF-8, truncation and the bounds. */
#include <check.h>
#include <stdarg.h>
#include <stdbool.h>
#include <string.h>

#include "ft_clean.h"
#include "ft_util.h"

Suite *ft_clean_suite(void);

/* ---- the table: input (with its length: NULs count) -> output --------- */

struct clean_case {
	const char *in;
	const char *want;
};

static const struct clean_case cases[] = {
	/* printable text, UTF-8 of 1 to 4 bytes: itself */
	{"", ""},
	{"alice", "alice"},
	{" ~", " ~"}, /* 0x20 and 0x7e: the printable ASCII bounds */
	{"J\xc3\xb6rg \xe5\xb1\xb1\xe7\x94\xb0 \xf0\x9f\x98\x80",
	 "J\xc3\xb6rg \xe5\xb1\xb1\xe7\x94\xb0 \xf0\x9f\x98\x80"},
	{"100% 'quoted' \"x\"", "100% 'quoted' \"x\""},
	/* a backslash is escaped: the output is unambiguous */
	{"\\", "\\\\"},
	{"a\\x1b", "a\\\\x1b"},
	{"\\...", "\\\\..."},
	/* C0 controls, short forms and \xHH, and DEL */
	{"\t\n\r", "\\t\\n\\r"},
	{"\x01", "\\x01"},
	{"\x07", "\\x07"},
	{"\x08\x0b\x0c", "\\x08\\x0b\\x0c"},
	{"\x1b", "\\x1b"},
	{"\x1f", "\\x1f"},
	{"\x7f", "\\x7f"},
	/* the terminal title and a cleared screen (issue 12) */
	{"\x1b]0;pwned\x07\x1b[2J", "\\x1b]0;pwned\\x07\\x1b[2J"},
	/* C1 controls: U+0080..U+009F; U+00A0 (no-break space) is text */
	{"\xc2\x80", "\\u0080"},
	{"\xc2\x85", "\\u0085"},
	{"\xc2\x9b"
	 "31m",
	 "\\u009b31m"},
	{"\xc2\x9f", "\\u009f"},
	{"\xc2\xa0", "\xc2\xa0"},
	{"\xc2\x7f", "\\xc2\\x7f"},
	/* bidi embeddings and overrides U+202A..U+202E and their bounds */
	{"\xe2\x80\xa9", "\\u2029"},
	{"\xe2\x80\xa7", "\xe2\x80\xa7"}, /* U+2027 */
	{"\xe2\x80\xaa", "\\u202a"},
	{"\xe2\x80\xab\xe2\x80\xac\xe2\x80\xad", "\\u202b\\u202c\\u202d"},
	{"evil\xe2\x80\xaetxt.exe", "evil\\u202etxt.exe"},
	{"\xe2\x80\xaf", "\xe2\x80\xaf"}, /* U+202F */
	/* bidi isolates U+2066..U+2069 and their bounds */
	{"\xe2\x81\xa5", "\xe2\x81\xa5"}, /* U+2065 */
	{"\xe2\x81\xa6", "\\u2066"},
	{"\xe2\x81\xa7\xe2\x81\xa8", "\\u2067\\u2068"},
	{"\xe2\x81\xa9", "\\u2069"},
	{"\xe2\x81\xaa", "\xe2\x81\xaa"}, /* U+206A */
	/* line and paragraph separators */
	{"a\xe2\x80\xa8"
	 "b",
	 "a\\u2028b"},
	{"\xe2\x80\xa8\xe2\x80\xa9", "\\u2028\\u2029"},
	/* invalid UTF-8: every such byte as \xHH, the rest kept */
	{"\x80", "\\x80"},
	{"\x9b"
	 "2J",
	 "\\x9b2J"}, /* an 8-bit CSI */
	{"\xff\xfe", "\\xff\\xfe"},
	{"\xc0\xaf", "\\xc0\\xaf"},                   /* overlong '/' */
	{"\xe0\x80\xaf", "\\xe0\\x80\\xaf"},          /* overlong */
	{"\xed\xa0\x80", "\\xed\\xa0\\x80"},          /* a surrogate */
	{"\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80"}, /* over U+10FFFF */
	{"\xf5", "\\xf5"},
	{"ab\xe2\x80", "ab\\xe2\\x80"}, /* cut short at the end */
	{"\xe2\x80"
	 "a",
	 "\\xe2\\x80a"},
	{"\xc3\xa9\xc3", "\xc3\xa9\\xc3"},
};

#define NCASES (sizeof(cases) / sizeof(cases[0]))

START_TEST(test_table)
{
	const struct clean_case *c = &cases[_i];
	size_t len = strlen(c->in), n;
	char out[256];

	memset(out, 'Z', sizeof(out));
	n = ft_clean(out, sizeof(out), c->in, len);
	ck_assert_msg(strcmp(out, c->want) == 0, "case %d: got '%s', want '%s'",
		      _i, out, c->want);
	ck_assert_uint_eq(n, strlen(c->want));
	/* the bound FT_CLEAN_CAP(len) is enough: exactly, no mark */
	n = ft_clean(out, FT_CLEAN_CAP(len), c->in, len);
	ck_assert_str_eq(out, c->want);
	/* and exactly the output's size is enough too */
	n = ft_clean(out, strlen(c->want) + 1, c->in, len);
	ck_assert_str_eq(out, c->want);
}

END_TEST

/* NUL bytes inside the input (the length counts them) */
START_TEST(test_nul_bytes)
{
	char out[32];

	ck_assert_uint_eq(ft_clean(out, sizeof(out), "\0", 1), 4);
	ck_assert_str_eq(out, "\\x00");
	ck_assert_uint_eq(ft_clean(out, sizeof(out), "a\0b\0", 4), 10);
	ck_assert_str_eq(out, "a\\x00b\\x00");
}

END_TEST

/* ---- nothing of the classes ever comes out ----------------------------- */

/* True when s holds a byte or code point the cleaner must hide. */
static bool
holds_hidden(const char *s)
{
	size_t len = strlen(s), i = 0;

	while (i < len) {
		unsigned cp = 0;
		size_t n = ft_utf8_next(s + i, len - i, &cp);

		if (n == 0 || cp < 0x20 || cp == 0x7f ||
		    (cp >= 0x80 && cp <= 0x9f) ||
		    (cp >= 0x202a && cp <= 0x202e) ||
		    (cp >= 0x2066 && cp <= 0x2069) || cp == 0x2028 ||
		    cp == 0x2029)
			return true;
		i += n;
	}
	return false;
}

/* Every one- and two-byte input, and every three-byte one starting with
 * 0xe2 (the bidi and separator block): clean, within FT_CLEAN_CAP. */
START_TEST(test_exhaustive_short)
{
	char in[3], out[FT_CLEAN_CAP(3)];
	unsigned a, b, c;

	for (a = 0; a < 256; a++) {
		in[0] = (char)a;
		ck_assert_uint_lt(ft_clean(out, sizeof(out), in, 1),
				  FT_CLEAN_CAP(1));
		ck_assert_msg(!holds_hidden(out), "byte 0x%02x: '%s'", a, out);
		for (b = 0; b < 256; b++) {
			in[1] = (char)b;
			(void)ft_clean(out, sizeof(out), in, 2);
			ck_assert_msg(!holds_hidden(out), "0x%02x%02x", a, b);
			ck_assert(strstr(out, FT_CLEAN_MARK) == NULL);
		}
	}
	in[0] = (char)0xe2;
	for (b = 0; b < 256; b++) {
		for (c = 0; c < 256; c++) {
			in[1] = (char)b;
			in[2] = (char)c;
			(void)ft_clean(out, sizeof(out), in, 3);
			ck_assert_msg(!holds_hidden(out), "0xe2%02x%02x", b, c);
		}
	}
}

END_TEST

/* ---- bounds and truncation ---------------------------------------------- */

struct cut_case {
	const char *in;
	size_t cap;
	const char *want;
};

static const struct cut_case cuts[] = {
	{"abc", 4, "abc"},     /* exactly fits */
	{"abcd", 4, ""},       /* does not, and no room for the mark */
	{"abcd", 5, "abcd"},   /* exactly fits */
	{"abcde", 5, "\\..."}, /* only the mark */
	{"abcdefghij", 11, "abcdefghij"},
	{"abcdefghijk", 11, "abcdef\\..."},
	{"ab\x1b"
	 "cd",
	 9, "ab\\x1bcd"}, /* 8 bytes: fits */
	{"ab\x1b"
	 "cd",
	 8, "ab\\..."}, /* never half an escape */
	{"ab\x1b"
	 "cdefg",
	 11, "ab\\x1b\\..."},
	{"a\xe2\x80\xae"
	 "b",
	 8, "a\\..."}, /* \u202e is 6 bytes */
	{"a\xe2\x80\xae"
	 "bcdef",
	 12, "a\\u202e\\..."},
	{"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 8, "\xc3\xa9\\..."}, /* whole */
	{"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 9,
	 "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"},
	{"\\\\\\\\", 7, "\\\\\\..."}, /* one escaped backslash, mark */
	{"x", 1, ""},
	{"", 1, ""},
};

#define NCUTS (sizeof(cuts) / sizeof(cuts[0]))

START_TEST(test_cut)
{
	const struct cut_case *c = &cuts[_i];
	char out[64];
	size_t n;

	memset(out, 'Z', sizeof(out));
	n = ft_clean(out, c->cap, c->in, strlen(c->in));
	ck_assert_msg(strcmp(out, c->want) == 0, "case %d: got '%s', want '%s'",
		      _i, out, c->want);
	ck_assert_uint_eq(n, strlen(c->want));
	ck_assert_uint_lt(n, c->cap);
	ck_assert_int_eq(out[c->cap], 'Z'); /* nothing past cap */
}

END_TEST

START_TEST(test_cap_zero_and_null)
{
	char out[16] = "untouched";

	ck_assert_uint_eq(ft_clean(out, 0, "abc", 3), 0);
	ck_assert_str_eq(out, "untouched");
	ck_assert_str_eq(ft_clean_str(out, sizeof(out), NULL), "(null)");
	ck_assert_ptr_eq(ft_clean_str(out, sizeof(out), "a\tb"), out);
	ck_assert_str_eq(out, "a\\tb");
}

END_TEST

/* A long hostile input into a small buffer: bounded, clean, marked. */
START_TEST(test_long_hostile)
{
	char in[5000], out[100];
	size_t i, n;

	for (i = 0; i < sizeof(in); i++)
		in[i] = "\x1b\xc2\x9b\xe2\x80\xae\\a\xff"[i % 10];
	n = ft_clean(out, sizeof(out), in, sizeof(in));
	ck_assert_uint_lt(n, sizeof(out));
	ck_assert(!holds_hidden(out));
	ck_assert_str_eq(out + n - FT_CLEAN_MARK_LEN, FT_CLEAN_MARK);
}

END_TEST

/* ---- formatting ----------------------------------------------------------- */

static size_t FT_PRINTF(3, 4) fmt(char *out, size_t cap, const char *f, ...)
{
	va_list ap;
	size_t n;

	va_start(ap, f);
	n = ft_clean_vfmt(out, cap, f, ap);
	va_end(ap);
	return n;
}

START_TEST(test_vfmt)
{
	char big[FT_CLEAN_LINE_MAX + 10], out[FT_CLEAN_LINE_OUT];
	size_t n;

	ck_assert_uint_eq(fmt(out, sizeof(out), "user '%s': %d", "a\x1b", 3),
			  15);
	ck_assert_str_eq(out, "user 'a\\x1b': 3");
	/* a formatted text over the line is cut, and says so */
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	n = fmt(out, sizeof(out), "%s", big);
	ck_assert_uint_eq(n, FT_CLEAN_LINE_MAX - 1 + FT_CLEAN_MARK_LEN);
	ck_assert_str_eq(out + n - FT_CLEAN_MARK_LEN, FT_CLEAN_MARK);
	/* exactly the line: whole */
	big[FT_CLEAN_LINE_MAX - 1] = '\0';
	ck_assert_uint_eq(fmt(out, sizeof(out), "%s", big),
			  FT_CLEAN_LINE_MAX - 1);
	/* the cut never leaves half a character: "é" across the bound */
	memset(big, 'a', sizeof(big) - 1);
	big[FT_CLEAN_LINE_MAX - 2] = '\xc3';
	big[FT_CLEAN_LINE_MAX - 1] = '\xa9';
	n = fmt(out, sizeof(out), "%s", big);
	ck_assert_uint_eq(n, FT_CLEAN_LINE_MAX - 2 + FT_CLEAN_MARK_LEN);
	ck_assert(!holds_hidden(out));
}

END_TEST

START_TEST(test_print_one_line)
{
	char buf[256] = "";
	FILE *f = fmemopen(buf, sizeof(buf), "w");

	ck_assert_ptr_nonnull(f);
	ft_clean_print(f, "%s: %s", "bob\n", "line1\nline2\xc2\x9b");
	ft_clean_print(f, "done");
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_str_eq(buf, "bob\\n: line1\\nline2\\u009b\ndone\n");
}

END_TEST

Suite *
ft_clean_suite(void)
{
	Suite *s = suite_create("ft_clean");
	TCase *tc = tcase_create("ft_clean");

	tcase_add_loop_test(tc, test_table, 0, (int)NCASES);
	tcase_add_test(tc, test_nul_bytes);
	tcase_add_test(tc, test_exhaustive_short);
	tcase_add_loop_test(tc, test_cut, 0, (int)NCUTS);
	tcase_add_test(tc, test_cap_zero_and_null);
	tcase_add_test(tc, test_long_hostile);
	tcase_add_test(tc, test_vfmt);
	tcase_add_test(tc, test_print_one_line);
	suite_add_tcase(s, tc);
	return s;
}
