/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pft_trust.h: which accounts pam_ftrack trusts with its events.
 *
 * A socket or spool folder may be owned by root or by the daemon's
 * account (the daemon_user= argument).  That account is looked up with
 * getpwnam_r at most once per pam_sm_* call, and only when an owner is
 * not root.  struct pft_trust lives on the caller's stack for one call;
 * its fields are private to pft_trust.c.  No allocation, no state;
 * thread-safe.
 */
#ifndef PFT_TRUST_H
#define PFT_TRUST_H

#include <stdbool.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "ft_attrs.h"

struct pft_trust {
	const char *daemon_user; /* borrowed */
	int looked_up;           /* 0: not yet; 1: uid valid; -1: unknown */
	uid_t uid;
};

/* Start a trust check for daemon_user (borrowed; may not resolve). */
void pft_trust_init(struct pft_trust *t, const char *daemon_user);

/* True when owner is root or the daemon user. */
bool pft_trust_owner(struct pft_trust *t, uid_t owner);

/*
 * True when st is a directory owned by root or the daemon user that
 * neither group nor others may write.
 */
bool pft_trust_dir(struct pft_trust *t, const struct stat *st);

/*
 * Look name up with getpwnam_r (a fixed buffer, no allocation).
 * Returns FT_OK and the uid in *ret_uid; FT_E_NOTFOUND; FT_E_IO when
 * the lookup itself failed (errno set).
 */
FT_MUST_USE int pft_uid_of(const char *name, uid_t *ret_uid);

#endif
