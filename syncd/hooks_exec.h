/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hooks_exec.h: one run of the on_change program over a batch of changes.
 *
 * The small interface the delivery (hooks_deliver.c) runs the hook
 * through, over extprog.h: the program is checked (the file rule:
 * owned by root or ftrack-syncd-ext, nothing above it writable by group
 * or others), started with a minimal environment (or, packaged, reached
 * through the socket-activated service listening on HOOKS_SOCKET), given
 * buf on its stdin (then end of file), and waited for until timeout_s
 * seconds have passed (then stopped).  Its stderr goes to the log,
 * rate-limited.  No state of its own; thread-safe.
 */
#ifndef HOOKS_EXEC_H
#define HOOKS_EXEC_H

#include <stddef.h>

#include "ft_attrs.h"

/* The socket of the packaged hook service (systemd, Accept=yes). */
#define HOOKS_SOCKET "/run/ftrack-syncd-ext/on-change.sock"

/*
 * Run path on buf[0..len).  FT_OK when it exited 0; otherwise why
 * (capacity cap) says what happened ("exit status 3", "killed by signal
 * 9", "still running after 30 s: stopped", "'/x' is writable by group or
 * others") and the code is FT_E_DATA (it ran and refused), FT_E_AGAIN
 * (timeout), FT_E_PERM (refused by the file rule) or FT_E_IO (could not
 * be started).
 */
FT_MUST_USE int hooks_exec_run(const char *path, const char *buf, size_t len,
			       unsigned timeout_s, char *why, size_t cap);

#endif
