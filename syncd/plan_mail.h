/* SPDX-License-Identifier: Apache-2.0 */
/*
 * plan_mail.h: the reconcile's index of ftrack users by e-mail address.
 *
 * With link_by = email the reconcile matches an LDAP person found neither
 * by uuid marker nor by username against the ftrack users with the same
 * address (ft_email_cmp: ASCII letters folded).  plan_mail_build() sorts
 * the candidates once (by address, then username, so that a conflict
 * names them in one order) and marks the LDAP entries that share an
 * address with another entry; plan_mail_matches() is a binary search.
 *
 * Pure, no I/O.  The index borrows the users of both lists (keep them
 * alive until plan_mail_free()).  Not thread-safe on one index.
 */
#ifndef PLAN_MAIL_H
#define PLAN_MAIL_H

#include <stdbool.h>
#include <stddef.h>

#include "ft_attrs.h"
#include "ft_user.h"

struct plan_mail {
	const struct ft_user **by_mail; /* [n]: the candidates, sorted */
	size_t n;
	bool *twin; /* [ldap n]: another LDAP entry has this address */
	const struct ft_user **cand; /* the last plan_mail_matches() */
};

/*
 * Index the users of ftrack that have an id and an address and are not
 * claimed[i] (claimed may be NULL: none is), and mark the twins among the
 * entries of ldap.  Returns FT_OK, or FT_E_NOMEM (m is left empty).
 */
FT_MUST_USE int plan_mail_build(struct plan_mail *m,
				const struct ft_user_list *ftrack,
				const bool *claimed,
				const struct ft_user_list *ldap);

/*
 * The candidates whose address equals email (ASCII case folded) into
 * m->cand[0..ret), in the index's order; 0 for a NULL or empty email.
 */
size_t plan_mail_matches(struct plan_mail *m, const char *email);

/* Free the arrays of m; m is left empty.  An empty m is a no-op. */
void plan_mail_free(struct plan_mail *m);

#endif
