/* SPDX-License-Identifier: Apache-2.0 */
/* pft_trust.c: trusted owners of the socket and the spool folder. */
#include "pft_trust.h"

#include <errno.h>
#include <pwd.h>
#include <stddef.h>

#include "ft_err.h"

/* Room for one passwd entry; a longer entry (ERANGE) counts as a failure. */
#define PFT_PWBUF 4096

int
pft_uid_of(const char *name, uid_t *ret_uid)
{
	char buf[PFT_PWBUF];
	struct passwd pw, *res = NULL;
	int e;

	e = getpwnam_r(name, &pw, buf, sizeof(buf), &res);
	if (e != 0) {
		errno = e;
		return FT_E_IO;
	}
	if (res == NULL)
		return FT_E_NOTFOUND;
	*ret_uid = pw.pw_uid;
	return FT_OK;
}

void
pft_trust_init(struct pft_trust *t, const char *daemon_user)
{
	t->daemon_user = daemon_user;
	t->looked_up = 0;
	t->uid = 0;
}

bool
pft_trust_owner(struct pft_trust *t, uid_t owner)
{
	if (owner == 0)
		return true;
	if (t->looked_up == 0) {
		int r = pft_uid_of(t->daemon_user, &t->uid);

		t->looked_up = r == FT_OK ? 1 : -1;
	}
	return t->looked_up == 1 && t->uid == owner;
}

bool
pft_trust_dir(struct pft_trust *t, const struct stat *st)
{
	return S_ISDIR(st->st_mode) &&
	       (st->st_mode & (S_IWGRP | S_IWOTH)) == 0 &&
	       pft_trust_owner(t, st->st_uid);
}
