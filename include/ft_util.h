/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ft_util.h: small checked helpers shared by pam_ftrack and ftrack-syncd:
 * number and boolean parsing, UTF-8 checks, hex names, atomic spool files.
 * No allocation, no global state; thread-safe.
 */
#ifndef FT_UTIL_H
#define FT_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "ft_attrs.h"

/*
 * Parse a whole decimal string (no sign, no blanks) into *ret, at most
 * max.  Returns FT_OK or FT_E_INVAL (empty, junk, overflow, over max).
 */
FT_MUST_USE int ft_parse_uint(const char *s, unsigned long long max,
			      unsigned long long *ret);

/*
 * Parse yes/no, true/false, on/off, 1/0 (any case) into *ret.
 * Returns FT_OK or FT_E_INVAL.
 */
FT_MUST_USE int ft_parse_bool(const char *s, bool *ret);

/* True when s[0..len) is valid UTF-8 (no overlongs, no surrogates). */
bool ft_utf8_valid(const char *s, size_t len);

/*
 * The length (1 to 4) of the valid UTF-8 character that starts s (left
 * bytes readable), its code point in *ret_cp when not NULL; 0 when s does
 * not start a valid one (or left is 0), *ret_cp then untouched.
 */
size_t ft_utf8_next(const char *s, size_t left, unsigned *ret_cp);

/*
 * Hex-encode len bytes of in (lowercase) into out of capacity cap,
 * NUL-terminated.  Returns FT_OK or FT_E_TOOBIG.
 */
FT_MUST_USE int ft_hex_encode(const char *in, size_t len, char *out,
			      size_t cap);

/*
 * Decode a lowercase hex name into out (capacity cap, NUL-terminated).
 * Returns FT_OK, FT_E_INVAL (odd length, not hex, contains NUL) or
 * FT_E_TOOBIG.
 */
FT_MUST_USE int ft_hex_decode(const char *hex, char *out, size_t cap);

/*
 * Write data atomically as file `name` in the folder open as dirfd:
 * a temp file ".<name>.<pid>.<tid>" is created with O_EXCL|O_NOFOLLOW|O_CLOEXEC
 * and mode 0600, written in full, fsynced and renamed over `name`; the
 * folder is then fsynced.  A reader never sees half a file.
 * Returns FT_OK or FT_E_IO (errno set; the temp file is removed).
 */
FT_MUST_USE int ft_write_atomic(int dirfd, const char *name, const void *data,
				size_t len);

/* Flags of ft_write_replace(). */
#define FT_WRITE_SYNC 1u /* fsync the file, and the folder after rename */

/*
 * The general form of the two below: the temp file is written, fchowned
 * to owner:group when owner is not (uid_t)-1 (through its own fd, before
 * the rename, so the file never appears with another owner), fsynced
 * with FT_WRITE_SYNC, and renamed over `name`.
 */
FT_MUST_USE int ft_write_replace(int dirfd, const char *name, const void *data,
				 size_t len, unsigned flags, uid_t owner,
				 gid_t group);

/*
 * ft_write_atomic() without the two fsyncs: a reader still never sees
 * half a file, but the file is durable only after a later syncfs(2) or
 * fsync of the folder.  For writing many small files and making them
 * durable with one syncfs (the daemon's journal under a login storm).
 */
FT_MUST_USE int ft_write_atomic_nosync(int dirfd, const char *name,
				       const void *data, size_t len);

#endif
