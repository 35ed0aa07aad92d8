/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ft_err.h: the project's one error vocabulary.
 *
 * Every function that can fail for more than one reason returns an int:
 * FT_OK (0) or a negative FT_E_* code.  Functions that fail with FT_E_IO
 * leave errno set.  ft_strerror() returns a static string; never NULL.
 * Thread-safe; no state.
 */
#ifndef FT_ERR_H
#define FT_ERR_H

enum ft_err {
	FT_OK = 0,
	FT_E_INTERNAL = -1,   /* a bug: an invariant did not hold */
	FT_E_NOMEM = -2,      /* out of memory */
	FT_E_INVAL = -3,      /* invalid argument or input value */
	FT_E_PROTO = -4,      /* malformed login event or queue file */
	FT_E_TOOBIG = -5,     /* input or output over its size limit */
	FT_E_IO = -6,         /* a system call failed; errno is set */
	FT_E_CONFIG = -7,     /* configuration error */
	FT_E_PERM = -8,       /* ownership or mode check failed */
	FT_E_AGAIN = -9,      /* would block; try again later */
	FT_E_NOTFOUND = -10,  /* no such user or entry */
	FT_E_LDAP_DOWN = -11, /* LDAP unreachable or timed out (transient) */
	FT_E_LDAP = -12,      /* LDAP refused the operation */
	FT_E_PARTIAL = -13,   /* LDAP answered only in part (limits, cookie) */
	FT_E_HTTP = -14,      /* ftrack unreachable, 5xx, 429, timeout */
	FT_E_AUTH = -15,      /* ftrack refused our credentials */
	FT_E_DATA = -16,      /* ftrack rejected the data (permanent) */
	FT_E_MALFORMED = -17, /* ftrack answered in an unexpected shape */
	FT_E_CONFLICT = -18,  /* two records claim one identity */
	FT_E_SEAT = -19,      /* ftrack kept or refused a seat: licence full */
};

/* Text for an FT_E_* code (or FT_OK); a static string, never NULL. */
const char *ft_strerror(int err);

/*
 * The one transient/permanent rule: true for a failure worth retrying
 * later, false for FT_OK and for the permanent failures, which retrying
 * cannot mend: the data (FT_E_DATA: ftrack rejected it; FT_E_INVAL: an
 * entry that cannot be mapped), a conflict of identities (FT_E_CONFLICT)
 * and a malformed message (FT_E_PROTO).  Everything else is transient,
 * including a revoked key (FT_E_AUTH), a failed bind (FT_E_LDAP) and an
 * I/O error: a login waits and is retried, at the longest back-off, and
 * never goes to failed/ for a fault of ours or of a server.  A seat the
 * licence does not give (FT_E_SEAT) is transient too: it is asked for
 * again until one is free.
 */
int ft_err_transient(int err);

#endif
