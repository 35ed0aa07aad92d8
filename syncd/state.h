/* SPDX-License-Identifier: Apache-2.0 */
/*
 * state.h: the rules of the state folder (DESIGN.md section 4), for the
 * queue, the reports and the reconcile's lock alike.
 *
 * Every folder under state_dir is mode 0700, never a symlink, never
 * writable by group or others, and owned by us or root: state_open_dir()
 * makes and opens one only on those terms.  Temp files (".<name>...")
 * older than STATE_STALE_TEMP_SECONDS are swept.  A lock is an flock(2) on
 * a file of the folder, held while its fd is open.  Non-logging;
 * thread-safe (no state of its own).
 */
#ifndef STATE_H
#define STATE_H

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

#endif
