/* SPDX-License-Identifier: Apache-2.0 */
/* pft_spool.c: the root fallback into the queue folder (see pft_spool.h). */
#include "pft_spool.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ft_err.h"
#include "ft_util.h"

int
pft_spool_write(const char *dir, struct pft_trust *t, const char *user,
		const char *msg, size_t len, const char **why)
{
	char name[PFT_SPOOL_NAME_MAX + 1];
	struct stat st;
	int dfd = -1, r, saved;

	r = ft_hex_encode(user, strlen(user), name, sizeof(name));
	if (r < 0)
		return FT_E_TOOBIG;
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0)
		return FT_E_IO;
	r = FT_E_IO;
	if (fstat(dfd, &st) < 0)
		goto out;
	r = FT_E_PERM;
	if (!pft_trust_dir(t, &st)) {
		*why = "the spool folder is not owned by root or the daemon user, or is open to others";
		goto out;
	}
	/*
	 * Complete when it appears (temp + rename) and already owned by the
	 * folder's owner, so a daemon running as daemon_user can read it.
	 * Not fsynced: a login must not wait for the disk, and a file lost
	 * to a power cut only costs the next login's report.
	 */
	r = ft_write_replace(dfd, name, msg, len, 0,
			     st.st_uid != 0 ? st.st_uid : (uid_t)-1,
			     st.st_uid != 0 ? st.st_gid : (gid_t)-1);
out:
	saved = errno;
	(void)close(dfd);
	errno = saved;
	return r;
}
