/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pft_spool.h: the root fallback: leave a login event in the daemon's
 * queue folder when the daemon cannot take it now.
 *
 * One file per user, named by the hex of the user name, holding exactly
 * the encoded event; written by ft_write_replace (temp file, O_EXCL,
 * O_NOFOLLOW, O_CLOEXEC, mode 0600, owner set, rename; no fsync: a
 * login does not wait for the disk), so a reader never sees half a file
 * and a planted symlink is replaced, never followed.  When the folder
 * already holds exactly this event as a regular file of one link, owned
 * as the write would own it, only its time is set to now: the event is
 * spooled already, and replacing a file costs far more than checking it.
 * Non-logging.  Every fd it opens is closed before it returns.  No
 * allocation, no state; thread-safe.
 */
#ifndef PFT_SPOOL_H
#define PFT_SPOOL_H

#include <stddef.h>

#include "ft_attrs.h"
#include "pft_trust.h"

/*
 * The longest hex name: ft_write_atomic's temp name ".<name>.<pid>.<tid>"
 * must still fit NAME_MAX (255), so user names up to 119 bytes spool.
 */
#define PFT_SPOOL_NAME_MAX 238

/*
 * Write msg (len bytes) as the queue file of user in folder dir.  dir
 * must be a directory (not a symlink) owned by a trusted account (t)
 * and closed to group and others.  When the folder belongs to the daemon
 * user, the file is created with the folder's owner (before it appears
 * under its name) so the daemon can read it.
 * Returns FT_OK; FT_E_PERM (*why set to a static string) when a check
 * failed; FT_E_TOOBIG when the user name is too long for a file name;
 * FT_E_IO (errno set) when a system call failed.
 */
FT_MUST_USE int pft_spool_write(const char *dir, struct pft_trust *t,
				const char *user, const char *msg, size_t len,
				const char **why);

#endif
