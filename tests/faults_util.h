/* SPDX-License-Identifier: Apache-2.0 */
/*
 * faults_util.h: support for the fault matrix suite (tests/check_faults.c):
 * a TCP relay that cuts every connection after each complete answer (LDAP
 * or HTTP) or a server that answers junk, what a process holds (open fds,
 * peak memory), whether a request waits unread in a server's socket, a
 * queue folder filled with many login events at once, and the lines of
 * the matrix written to the file named by $FAULT_MATRIX_OUT.
 *
 * Test code only, single-threaded.  Like harness.h, nothing here calls
 * ck_assert or aborts: failures come back as NULL, -1 or an FT_E_* code
 * (with a line on stderr where the reason is not obvious), so that the
 * caller asserts.
 */
#ifndef FT_FAULTS_UTIL_H
#define FT_FAULTS_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "ft_attrs.h"

/* ---- a relay that cuts, or a server that answers junk ----------------- */

enum fu_relay_kind {
	FU_RELAY_LDAP, /* cut after each LDAP SearchResultDone */
	FU_RELAY_HTTP, /* cut after each complete HTTP response */
	FU_RELAY_JUNK, /* no server: answer every client with junk, close */
};

struct fu_relay;

/*
 * A child process listening on a free port of 127.0.0.1.  LDAP and HTTP:
 * each client is relayed to 127.0.0.1:port (one client at a time, in
 * order), and both connections are closed as soon as one complete answer
 * of that kind went back to the client, so that the client finds its
 * kept connection dead at its next request.  JUNK: port is unused; each
 * client gets a few bytes that are neither LDAP nor HTTP, then the
 * connection is closed.  The child dies with the caller.  Returns the
 * relay (fu_relay_stop) or NULL.
 */
FT_MUST_USE struct fu_relay *fu_relay_start(enum fu_relay_kind kind, int port);

/* The port clients connect to. */
int fu_relay_port(const struct fu_relay *r);

/* Connections accepted so far. */
long fu_relay_accepted(const struct fu_relay *r);

/* Connections cut after a complete answer so far. */
long fu_relay_cuts(const struct fu_relay *r);

/* Kill the child, reap it, free.  NULL is a no-op. */
void fu_relay_stop(struct fu_relay *r);

/* ---- processes and sockets -------------------------------------------- */

/* Open file descriptors of pid (entries of /proc/PID/fd), or -1. */
long fu_fd_count(pid_t pid);

/* A "kB" field of /proc/PID/status ("VmHWM", "VmRSS") in KiB, or -1. */
long fu_status_kib(pid_t pid, const char *field);

/*
 * 1 when an established IPv4 TCP connection whose local port is port
 * holds bytes its owner has not read yet (a request waiting in a
 * stopped server's socket), 0 when none does, -1 on error.
 */
int fu_tcp_unread(int port);

/* True when pid is stopped (state T in /proc/PID/stat, after SIGSTOP). */
bool fu_proc_stopped(pid_t pid);

/* The port of a "scheme://host:PORT" URI, or -1. */
int fu_uri_port(const char *uri);

/* ---- the state folder ---------------------------------------------------- */

/*
 * Write n login events of the users <prefix>000000 .. into state/queue/
 * as the PAM module's spool would (one file per user, named by the hex
 * of the name), without fsync.  Returns FT_OK or an FT_E_* code.
 */
FT_MUST_USE int fu_queue_fill(const char *state, const char *prefix,
			      unsigned n);

/* ---- the matrix ------------------------------------------------------------ */

/*
 * Append one line "kind|field|field|...\n" to the file named by
 * $FAULT_MATRIX_OUT (nothing when it is unset or empty), in one write.
 * A field must not hold '|' or a line break.  Returns FT_OK, FT_E_INVAL
 * (a bad field) or FT_E_IO.
 */
FT_MUST_USE int fu_matrix_line(const char *kind, const char *const fields[],
			       size_t n);

#endif
