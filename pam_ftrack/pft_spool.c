/* pft_spool.c: the root fallback into the queue folder (see pft_spool.h). */
#include "pft_spool.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ft_err.h"
#include "ft_util.h"

/*
 * Give the fresh queue file to the folder's owner.  The folder's owner
 * could swap the name for another file between the rename and here, so
 * only a regular file with one link that root owns and that holds our
 * bytes is changed, through an fd opened without following symlinks.
 */
static int
hand_over(int dfd, const char *name, const struct stat *dst, size_t len)
{
	struct stat st;
	int fd, r = FT_E_PERM, saved;

	fd = openat(dfd, name,
		    O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return FT_E_IO;
	if (fstat(fd, &st) < 0) {
		r = FT_E_IO;
		goto out;
	}
	if (!S_ISREG(st.st_mode) || st.st_nlink != 1 || st.st_uid != 0 ||
	    st.st_size != (off_t)len)
		goto out;
	r = fchown(fd, dst->st_uid, dst->st_gid) < 0 ? FT_E_IO : FT_OK;
out:
	saved = errno;
	(void)close(fd);
	errno = saved;
	return r;
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
	r = ft_write_atomic(dfd, name, msg, len);
	if (r == FT_OK && st.st_uid != 0) {
		r = hand_over(dfd, name, &st, len);
		if (r == FT_E_PERM)
			*why = "the queue file was replaced before it was handed to the daemon user";
	}
out:
	saved = errno;
	(void)close(dfd);
	errno = saved;
	return r;
}
