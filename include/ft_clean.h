/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ft_clean.h: the one cleaner for text shown to a person (DESIGN.md 13).
 *
 * Everything the daemon and its commands print to a terminal or log, and
 * every line pam_ftrack logs, passes through ft_clean(): whatever the text
 * holds (a server's error message, an LDAP value, an ftrack username, a
 * report field), what comes out is printable and says what it hid:
 *
 *	input                                  output
 *	a backslash                            \\
 *	TAB, LF, CR                            \t  \n  \r
 *	other C0 controls (0x00-0x1f), DEL     \x00 ... \x1f, \x7f
 *	C1 controls (U+0080-U+009F)            \u0080 ... \u009f
 *	bidi embeddings, overrides, isolates   \u202a ... \u202e,
 *	(U+202A-U+202E, U+2066-U+2069)         \u2066 ... \u2069
 *	line and paragraph separators          \u2028  \u2029
 *	a byte that is not valid UTF-8         \xHH (each such byte)
 *	anything else                          itself
 *
 * Hex digits are lowercase.  A backslash is escaped too, so the output
 * is unambiguous: it decodes back to exactly the input.  The output never
 * holds a byte below 0x20, DEL, invalid UTF-8 or a code point above.
 *
 * Bounded: at most cap - 1 bytes and a NUL.  Input that does not fit is
 * cut after a whole character or escape and the output then ends in the
 * mark \... (FT_CLEAN_MARK), which no input produces (a backslash of the
 * input comes out doubled).  Each input byte needs at most
 * FT_CLEAN_GROWTH output bytes, so FT_CLEAN_CAP(len) always suffices.
 *
 * No allocation, no global state; thread-safe, and fit for the login
 * path of the PAM module and for the log of every thread.
 */
#ifndef FT_CLEAN_H
#define FT_CLEAN_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include "ft_attrs.h"

#define FT_CLEAN_MARK     "\\..."
#define FT_CLEAN_MARK_LEN 4
#define FT_CLEAN_GROWTH   4 /* "\\xHH" for one byte */
#define FT_CLEAN_CAP(len) ((len)*FT_CLEAN_GROWTH + 1)
/* A formatted line (ft_clean_vfmt) is cut at this many bytes before it is
 * cleaned; ft_clean_print writes at most FT_CLEAN_LINE_OUT bytes a line. */
#define FT_CLEAN_LINE_MAX 2048
#define FT_CLEAN_LINE_OUT 4096

/*
 * Escape len bytes of in (NUL bytes included) into out, capacity cap,
 * NUL-terminated, as the table above says.  Returns the output length
 * (strlen(out)).  cap 0 writes nothing; a cap below FT_CLEAN_MARK_LEN + 1
 * gives "" for an input that does not fit.
 */
size_t ft_clean(char *out, size_t cap, const char *in, size_t len);

/* ft_clean() of the NUL-terminated s (NULL reads as "(null)"); returns out
 * (cap must be at least 1). */
const char *ft_clean_str(char *out, size_t cap, const char *s);

/*
 * vsnprintf(fmt, ap) into a FT_CLEAN_LINE_MAX buffer, then ft_clean()
 * into out.  A formatted text longer than that buffer is cut at a whole
 * character and marked as cut.  Returns the output length.
 */
size_t ft_clean_vfmt(char *out, size_t cap, const char *fmt, va_list ap)
	FT_PRINTF(3, 0);

/*
 * Print one line to f: the format cleaned (ft_clean_vfmt, so a newline in
 * an argument shows as \n), then a newline.  For everything the commands
 * print to a person.
 */
void ft_clean_print(FILE *f, const char *fmt, ...) FT_PRINTF(2, 3);

#endif
