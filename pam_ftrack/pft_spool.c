/* SPDX-License-Identifier: Apache-2.0 */
/* pft_spool.c: the root fallback into the queue folder (see pft_spool.h). */
#include "pft_spool.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ft_err.h"
#include "ft_proto.h"
#include "ft_util.h"

/*
 * True when dir already holds name as a regular file of exactly msg
 * (len bytes) owned by owner, and its time was set to now: the event is
 * spooled already, with nothing to write.  Replacing a file costs far
 * more than writing one (rename over it makes ext4 allocate and start
 * writing the new file's blocks, and freeing the old one's may wait for
 * a discard), and a login storm spools the same event again and again.
 * Any doubt (no file, another size or owner, a read or time error)
 * answers false, and the caller replaces the file as before.
 */
static bool
same_event(int dfd, const char *name, const char *msg, size_t len, uid_t owner)
{
	struct stat st;
	bool same = false;
	int fd;

	fd = openat(dfd, name,
		    O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return false;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == owner &&
	    st.st_nlink == 1 && (size_t)st.st_size == len &&
	    len <= FT_PROTO_MAX) {
		char buf[FT_PROTO_MAX + 1];
		ssize_t n = read(fd, buf, sizeof(buf));

		same = n == (ssize_t)len && memcmp(buf, msg, len) == 0 &&
		       futimens(fd, NULL) == 0;
	}
	(void)close(fd);
	return same;
}

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
	if (same_event(dfd, name, msg, len, st.st_uid)) {
		r = FT_OK;
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
