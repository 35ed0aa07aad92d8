/* SPDX-License-Identifier: Apache-2.0 */
/*
 * state.h: the rules of the state folder (DESIGN.md section 4), for the
 * queue, the reports and the reconcile's lock alike.
 *
 * Every folder under state_dir is mode 0700, never a symlink, never
 * writable by group or others, and owned by us or root: state_open_dir()
 * makes and opens one only on those terms.  Temp files (".<name>...")
 * older than STATE_STALE_TEMP_SECONDS are swept.  A lock is an flock(2) on
 * a file of the folder, held while its fd is open.  A state file is read
 * only by state_open_file()/state_read_file(): never through a symlink,
 * never waiting (a FIFO in its place), a regular file, size-capped
 * (DESIGN.md 13).  Non-logging; thread-safe (no state of its own).
 */
#ifndef STATE_H
#define STATE_H

#include <stddef.h>

#include "ft_attrs.h"

#define STATE_STALE_TEMP_SECONDS 60 /* a temp file older than this is swept */

/* Called for each name of a folder; a non-FT_OK return stops the walk. */
typedef int (*state_name_fn)(void *ctx, int dirfd, const char *name);

/*
 * Create parent/name (0700) if missing and open it (O_DIRECTORY,
 * O_NOFOLLOW, O_CLOEXEC) into *ret_fd.  Returns FT_OK, FT_E_PERM (a
 * symlink, or unsafe owner or mode) or FT_E_IO (errno set).
 */
FT_MUST_USE int state_open_dir(int parent, const char *name, int *ret_fd);

/* Call fn for every name in dirfd but "." and ".."; FT_E_IO or fn's. */
int state_for_each_name(int dirfd, state_name_fn fn, void *ctx);

/*
 * A state_name_fn: remove name when it is a temp file (a leading '.', a
 * regular file) older than STATE_STALE_TEMP_SECONDS before *(time_t *)ctx.
 */
int state_sweep_one(void *ctx, int dirfd, const char *name);

/*
 * Take the exclusive lock `name` (created 0600 if missing) in dirfd
 * without waiting: FT_OK with *ret_fd holding it (close it to release),
 * FT_E_AGAIN when another process holds it, FT_E_IO otherwise.
 */
FT_MUST_USE int state_lock(int dirfd, const char *name, int *ret_fd);

#define STATE_NOTE_MAX 256 /* bytes of a lock's note */

/*
 * A lock's note: a line the holder leaves in its lock file for the next
 * holder (the reconcile: the nonce of the ftrack lease it took, so that
 * the next run on this host knows a lease left by a run that died).
 * state_lock_note_write replaces the file's content with note ("":
 * empty) and fsyncs it; state_lock_note_read reads it into buf (capacity
 * cap, at most STATE_NOTE_MAX, NUL-terminated; "" when empty; one line,
 * the newline dropped).  fd is the lock's.  FT_OK, FT_E_TOOBIG (note too
 * long) or FT_E_IO (errno set).
 */
FT_MUST_USE int state_lock_note_write(int fd, const char *note);
FT_MUST_USE int state_lock_note_read(int fd, char *buf, size_t cap);

/*
 * Open the state file `name` of dirfd for reading, with O_NOFOLLOW (a
 * symlink is refused), O_NONBLOCK (a FIFO in its place does not wait for
 * a writer), O_NOCTTY and O_CLOEXEC, then fstat it: a regular file of at
 * most max bytes.  Returns FT_OK with *ret_fd (the caller closes it) and
 * *ret_size; else closes it and returns FT_E_NOTFOUND (no such file),
 * FT_E_PERM (a symlink, or not a regular file), FT_E_TOOBIG (over max) or
 * FT_E_IO (errno set), with the words for a person in *ret_why (a static
 * string, when ret_why is not NULL): "a symbolic link", "not a regular
 * file", "too large", "unreadable".
 */
FT_MUST_USE int state_open_file(int dirfd, const char *name, size_t max,
				int *ret_fd, size_t *ret_size,
				const char **ret_why);

/*
 * Read fd until end of file or cap bytes into buf (EINTR and short reads
 * handled); *ret_len gets the bytes read.  FT_OK or FT_E_IO (errno set).
 */
FT_MUST_USE int state_read_fd(int fd, char *buf, size_t cap, size_t *ret_len);

/*
 * The whole state file `name` of dirfd, on state_open_file()'s terms, into
 * a new NUL-terminated buffer *ret_buf (the caller frees it) of *ret_len
 * bytes.  Returns what state_open_file() returns, FT_E_NOMEM, or FT_E_TOOBIG
 * ("grew while read") when the file held more than fstat said.
 */
FT_MUST_USE int state_read_file(int dirfd, const char *name, size_t max,
				char **ret_buf, size_t *ret_len,
				const char **ret_why);

#endif
