/* SPDX-License-Identifier: Apache-2.0 */
/* state.c: the state folder's rules: safe folders, listings, temps, locks. */
#include "state.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ft_err.h"

#define DIR_FLAGS  (O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
#define FILE_FLAGS (O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC)

static int
state_check_dir(int fd)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return FT_E_IO;
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0)
		return FT_E_PERM;
	if (st.st_uid != geteuid() && st.st_uid != 0)
		return FT_E_PERM;
	return FT_OK;
}

/*
 * After a failed open: was it refused because name is a symlink?  Linux
 * says ELOOP or, with O_DIRECTORY, ENOTDIR.  errno is kept.
 */
static bool
state_is_symlink(int parent, const char *name)
{
	int saved = errno;
	struct stat st;
	bool link;

	if (saved == ELOOP)
		return true;
	link = saved == ENOTDIR &&
	       fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	       S_ISLNK(st.st_mode);
	errno = saved;
	return link;
}

/* Create parent/name (0700) if missing and open it; never a symlink. */
int
state_open_dir(int parent, const char *name, int *ret_fd)
{
	int fd, r;

	if (mkdirat(parent, name, 0700) < 0 && errno != EEXIST)
		return FT_E_IO;
	fd = openat(parent, name, DIR_FLAGS);
	if (fd < 0)
		return state_is_symlink(parent, name) ? FT_E_PERM : FT_E_IO;
	r = state_check_dir(fd);
	if (r < 0) {
		int saved = errno;

		(void)close(fd);
		errno = saved;
		return r;
	}
	*ret_fd = fd;
	return FT_OK;
}

/* Call fn for every name in dirfd but "." and ".."; stops at non-FT_OK. */
int
state_for_each_name(int dirfd, state_name_fn fn, void *ctx)
{
	DIR *d;
	int fd, r = FT_OK, saved;

	fd = openat(dirfd, ".", DIR_FLAGS);
	if (fd < 0)
		return FT_E_IO;
	d = fdopendir(fd);
	if (d == NULL) {
		saved = errno;
		(void)close(fd);
		errno = saved;
		return FT_E_IO;
	}
	for (;;) {
		const struct dirent *de;

		errno = 0;
		/* readdir_r is deprecated; this DIR is private to the call. */
		/* cppcheck-suppress readdirCalled */
		de = readdir(d);
		if (de == NULL) {
			r = errno != 0 ? FT_E_IO : FT_OK;
			break;
		}
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		r = fn(ctx, dirfd, de->d_name);
		if (r != FT_OK)
			break;
	}
	saved = errno;
	(void)closedir(d);
	errno = saved;
	return r;
}

int
state_sweep_one(void *ctx, int dirfd, const char *name)
{
	const time_t *now = ctx;
	struct stat st;

	if (name[0] != '.')
		return FT_OK;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
	    !S_ISREG(st.st_mode))
		return FT_OK;
	if (st.st_mtim.tv_sec < *now - STATE_STALE_TEMP_SECONDS)
		(void)unlinkat(dirfd, name, 0);
	return FT_OK;
}

int
state_lock(int dirfd, const char *name, int *ret_fd)
{
	int fd = openat(dirfd, name, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
			0600);

	if (fd < 0)
		return FT_E_IO;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int saved = errno;

		(void)close(fd);
		errno = saved;
		return errno == EWOULDBLOCK ? FT_E_AGAIN : FT_E_IO;
	}
	*ret_fd = fd;
	return FT_OK;
}

int
state_lock_note_write(int fd, const char *note)
{
	size_t n = strlen(note);
	ssize_t w;

	if (n >= STATE_NOTE_MAX || strchr(note, '\n') != NULL)
		return FT_E_TOOBIG;
	if (ftruncate(fd, 0) < 0)
		return FT_E_IO;
	do
		w = pwrite(fd, note, n, 0);
	while (w < 0 && errno == EINTR);
	if (w < 0 || (size_t)w != n)
		return FT_E_IO;
	return fsync(fd) < 0 ? FT_E_IO : FT_OK;
}

int
state_lock_note_read(int fd, char *buf, size_t cap)
{
	char tmp[STATE_NOTE_MAX + 1];
	ssize_t n;

	if (cap == 0)
		return FT_E_TOOBIG;
	do
		n = pread(fd, tmp, sizeof(tmp) - 1, 0);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return FT_E_IO;
	tmp[n] = '\0';
	tmp[strcspn(tmp, "\n")] = '\0';
	if (strlen(tmp) >= cap || (size_t)n >= STATE_NOTE_MAX)
		return FT_E_TOOBIG;
	memcpy(buf, tmp, strlen(tmp) + 1);
	return FT_OK;
}

static int
refuse(int fd, int r, const char *why, const char **ret_why)
{
	int saved = errno;

	if (fd >= 0)
		(void)close(fd);
	if (ret_why != NULL)
		*ret_why = why;
	errno = saved;
	return r;
}

int
state_open_file(int dirfd, const char *name, size_t max, int *ret_fd,
		size_t *ret_size, const char **ret_why)
{
	struct stat st;
	int fd;

	/*
	 * O_NOATIME: reading a file written since it was last read updates
	 * its atime even under relatime, and a scan of 100,000 new queue
	 * files would leave as many inodes for the next syncfs to write
	 * (the journal's, on the reader's thread).  Only the owner (or
	 * CAP_FOWNER) may ask for it: EPERM, then as before.
	 */
	fd = openat(dirfd, name, FILE_FLAGS | O_NOATIME);
	if (fd < 0 && errno == EPERM)
		fd = openat(dirfd, name, FILE_FLAGS);
	if (fd < 0 && errno == ENOENT)
		return refuse(-1, FT_E_NOTFOUND, "no such file", ret_why);
	if (fd < 0 && errno == ELOOP)
		return refuse(-1, FT_E_PERM, "a symbolic link", ret_why);
	if (fd < 0)
		return refuse(-1, FT_E_IO, "unreadable", ret_why);
	if (fstat(fd, &st) < 0)
		return refuse(fd, FT_E_IO, "unreadable", ret_why);
	if (!S_ISREG(st.st_mode))
		return refuse(fd, FT_E_PERM, "not a regular file", ret_why);
	if (st.st_size < 0 || (unsigned long long)st.st_size > max)
		return refuse(fd, FT_E_TOOBIG, "too large", ret_why);
	*ret_fd = fd;
	*ret_size = (size_t)st.st_size;
	return FT_OK;
}

int
state_read_fd(int fd, char *buf, size_t cap, size_t *ret_len)
{
	size_t len = 0;

	while (len < cap) {
		ssize_t n = read(fd, buf + len, cap - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return FT_E_IO;
		if (n == 0)
			break;
		len += (size_t)n;
	}
	*ret_len = len;
	return FT_OK;
}

int
state_read_file(int dirfd, const char *name, size_t max, char **ret_buf,
		size_t *ret_len, const char **ret_why)
{
	size_t size = 0, len = 0;
	char *buf;
	int fd = -1, r;

	r = state_open_file(dirfd, name, max, &fd, &size, ret_why);
	if (r < 0)
		return r;
	/* one byte more than fstat said: a file that fills it grew */
	buf = malloc(size + 2);
	if (buf == NULL)
		return refuse(fd, FT_E_NOMEM, "out of memory", ret_why);
	r = state_read_fd(fd, buf, size + 1, &len);
	if (r == FT_OK && len > size)
		r = FT_E_TOOBIG;
	if (r < 0) {
		free(buf);
		return refuse(fd, r,
			      r == FT_E_IO ? "unreadable" : "grew while read",
			      ret_why);
	}
	(void)close(fd);
	buf[len] = '\0';
	*ret_buf = buf;
	*ret_len = len;
	return FT_OK;
}
