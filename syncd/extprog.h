/* SPDX-License-Identifier: Apache-2.0 */
/*
 * extprog.h: one external program of the daemon (the transform, the
 * on_change hook): checked, started (or reached through its socket), fed,
 * read, stopped.
 *
 * The file rule (sshd's StrictModes): the program file, after symbolic
 * links are resolved, and every folder above it up to / must be owned by
 * root or by the EXTPROG_ACCOUNT account and not writable by group or
 * others.  The one exception is a folder owned by root with the sticky
 * bit (/tmp): others can add names there but cannot rename or remove
 * ours, so the entry below it still decides.  Anything else is refused
 * with the path and the reason, before the program is run.
 *
 * Two ways to run it:
 *  - started here (no socket, or the socket absent): posix_spawn with
 *    the environment PATH=/usr/bin:/bin and LANG=C.UTF-8 and nothing
 *    else, the working folder /, a process group of its own, default
 *    signal dispositions and an empty signal mask, and no descriptor but
 *    0, 1 and 2: stdin and stdout are pipes to us, stderr a pipe whose
 *    lines we log (rate-limited, cleaned).  It runs with the daemon's
 *    own rights (extprog_spawned() says so, for `check`).
 *  - through systemd socket activation (packaged): we connect to the
 *    AF_UNIX stream socket `socket_path`; systemd (Accept=yes) starts one
 *    instance of the template service per connection, as EXTPROG_ACCOUNT,
 *    with the connection as the program's stdin and stdout.  Its stderr
 *    goes to the journal.  The service runs the program through the
 *    adapter etc/systemd/ftrack-syncd-ext-adapter, which, after the
 *    program exits, writes one last line "ftrack-syncd-exit N" (N: the
 *    exit code, 128+signal when killed) on the connection and closes it.
 *    That line is the exit status: extprog_read_line() hides it (it reads
 *    as the end of the output) and extprog_wait() returns N.  A program
 *    whose output does not end in a newline, or a connection closed
 *    without that line, has no status (FT_E_PROTO).  Killing is closing
 *    the connection (the program then reads end of file, and a write
 *    gets EPIPE); we cannot signal a process of another account.
 *
 * The descriptors are non-blocking and close-on-exec.  Writes never
 * raise SIGPIPE: the socket uses MSG_NOSIGNAL and extprog_start() sets
 * SIGPIPE to ignored when it is at its default (as `run` does), so a
 * program that is gone reads as FT_E_IO with errno EPIPE.
 *
 * Every wait is bounded by a deadline on timing_now_ms(); while waiting
 * to write, the program's output is read into a bounded buffer
 * (EXTPROG_OUT_MAX) so that a program that answers while we feed it never
 * deadlocks with us.  Not thread-safe: one thread owns one struct
 * extprog.  Logs the program's stderr (at warning, tagged with `tag`, at
 * most EXTPROG_ERR_PER_MIN lines a minute and a count of those dropped);
 * nothing else.
 */
#ifndef EXTPROG_H
#define EXTPROG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ft_attrs.h"

#define EXTPROG_ACCOUNT     "ftrack-syncd-ext"
#define EXTPROG_ENV_PATH    "PATH=/usr/bin:/bin"
#define EXTPROG_ENV_LANG    "LANG=C.UTF-8"
#define EXTPROG_EXIT_PREFIX "ftrack-syncd-exit "
#define EXTPROG_OUT_MAX     (4u << 20) /* output buffered, unread, bytes */
#define EXTPROG_ERR_LINE    1024       /* one stderr line logged, bytes */
#define EXTPROG_ERR_PER_MIN 30         /* stderr lines logged a minute */
#define EXTPROG_GRACE_MS    2000       /* SIGTERM to SIGKILL */
#define EXTPROG_WHY_MAX     512        /* a reason, with a path in it */

struct extprog;

/*
 * Check path by the file rule above.  FT_OK; FT_E_PERM with the reason
 * in why ("'/etc/x' is writable by group or others", "'/opt' is owned
 * by uid 1000, not root or ftrack-syncd-ext", "'/x/p' is not a regular
 * file"); FT_E_INVAL for a path that is not absolute; FT_E_IO when a
 * part cannot be resolved or read, with the path and errno's text in why.  why (capacity cap) is written on failure only.
 */
FT_MUST_USE int extprog_check(const char *path, char *why, size_t cap);

/*
 * Start the program at path, tagged `tag` in the log ("transform"),
 * into *ret (the caller's, extprog_free()).  socket_path: when not NULL
 * and a socket is there, connect to it instead (path is still checked,
 * as the file the service runs).  Returns FT_OK; FT_E_PERM or FT_E_IO
 * from extprog_check(), or FT_E_IO when it cannot be started or
 * reached, with the reason in why (capacity cap); FT_E_NOMEM.
 */
FT_MUST_USE int extprog_start(const char *path, const char *socket_path,
			      const char *tag, struct extprog **ret, char *why,
			      size_t cap);

/* True when the program was started here (it has the daemon's rights),
 * false when it was reached through its socket. */
bool extprog_spawned(const struct extprog *p);

/* The pid started here, or 0 (socket). */
int extprog_pid(const struct extprog *p);

/* The descriptors to poll: the program's stdin (to write; -1 after
 * extprog_close_input), its stdout (to read), its stderr (-1 with a
 * socket).  For the socket they are one descriptor.  Borrowed. */
int extprog_fd_in(const struct extprog *p);
int extprog_fd_out(const struct extprog *p);
int extprog_fd_err(const struct extprog *p);

/*
 * Write all len bytes of buf to the program's stdin before deadline_ms
 * (timing_now_ms() clock), reading its output and stderr meanwhile.
 * FT_OK; FT_E_AGAIN (the deadline passed: part may have been written);
 * FT_E_IO (errno: EPIPE when the program closed its input or is gone);
 * FT_E_TOOBIG (its unread output passed EXTPROG_OUT_MAX).
 */
FT_MUST_USE int extprog_write(struct extprog *p, const char *buf, size_t len,
			      uint64_t deadline_ms);

/*
 * Read one line of the program's stdout into buf (capacity cap), the
 * newline dropped, NUL-terminated, its length in *ret_len; waits until
 * deadline_ms (a deadline already past: only what has arrived).  FT_OK;
 * FT_E_AGAIN (no whole line by the deadline); FT_E_TOOBIG (the line
 * holds more than cap - 1 bytes: the stream is out of step, restart the
 * program); FT_E_IO with errno 0 at the end of the output (the program
 * closed it or exited; a partial last line is dropped), errno set on a
 * read error.  A line holding a NUL byte reads as it is (the length
 * tells); the caller judges it.
 */
FT_MUST_USE int extprog_read_line(struct extprog *p, char *buf, size_t cap,
				  size_t *ret_len, uint64_t deadline_ms);

/* Close the program's stdin (end of file for it; shutdown(SHUT_WR) for
 * the socket).  Idempotent. */
void extprog_close_input(struct extprog *p);

/*
 * Close its input and wait for it to exit until deadline_ms, reading and
 * discarding its output and logging its stderr meanwhile.  Past the
 * deadline: SIGTERM to its process group, EXTPROG_GRACE_MS, SIGKILL (the
 * socket: the connection is closed).  *ret_status: the exit code (0 to
 * 255), or 128 + the signal that ended it.  FT_OK when it exited by
 * itself, FT_E_AGAIN when it had to be stopped (then *ret_status is what
 * the stop gave, or -1 for the socket), FT_E_PROTO for a socket that
 * closed without an exit line (*ret_status -1).
 */
FT_MUST_USE int extprog_wait(struct extprog *p, uint64_t deadline_ms,
			     int *ret_status);

/* Stop it now (SIGTERM, EXTPROG_GRACE_MS, SIGKILL; the socket: close),
 * reap it and free p.  NULL is a no-op. */
void extprog_free(struct extprog *p);

#endif
