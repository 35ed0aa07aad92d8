/* SPDX-License-Identifier: Apache-2.0 */
/* ft_util.c: checked parsing, UTF-8, hex names and atomic files. */
#include "ft_util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "ft_err.h"

int
ft_parse_uint(const char *s, unsigned long long max, unsigned long long *ret)
{
	unsigned long long v = 0;
	const char *p;

	if (s == NULL || *s == '\0')
		return FT_E_INVAL;
	for (p = s; *p != '\0'; p++) {
		unsigned d;

		if (*p < '0' || *p > '9')
			return FT_E_INVAL;
		d = (unsigned)(*p - '0');
		if (v > (max - d) / 10)
			return FT_E_INVAL;
		v = v * 10 + d;
	}
	*ret = v;
	return FT_OK;
}

int
ft_parse_bool(const char *s, bool *ret)
{
	static const char *const yes[] = {"yes", "true", "on", "1"};
	static const char *const no[] = {"no", "false", "off", "0"};
	size_t i;

	for (i = 0; s != NULL && i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*ret = true;
			return FT_OK;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*ret = false;
			return FT_OK;
		}
	}
	return FT_E_INVAL;
}

size_t
ft_utf8_next(const char *s, size_t left, unsigned *ret_cp)
{
	const unsigned char *p = (const unsigned char *)s;
	unsigned int cp;
	size_t n, i;

	if (left == 0)
		return 0;
	if (p[0] < 0x80) {
		n = 1;
		cp = p[0];
		goto out;
	}
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		n = 3;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		n = 4;
	else
		return 0;
	cp = p[0] & (0x7fu >> n);
	if (left < n)
		return 0;
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3fu);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
out:
	if (ret_cp != NULL)
		*ret_cp = cp;
	return n;
}

bool
ft_utf8_valid(const char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		size_t n = ft_utf8_next(s + i, len - i, NULL);

		if (n == 0)
			return false;
		i += n;
	}
	return true;
}

int
ft_hex_encode(const char *in, size_t len, char *out, size_t cap)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	if (len > (cap - 1) / 2 || cap == 0)
		return FT_E_TOOBIG;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];

		out[2 * i] = digits[c >> 4];
		out[2 * i + 1] = digits[c & 0xf];
	}
	out[2 * len] = '\0';
	return FT_OK;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int
ft_hex_decode(const char *hex, char *out, size_t cap)
{
	size_t len = strlen(hex), i;

	if (len == 0 || len % 2 != 0)
		return FT_E_INVAL;
	if (len / 2 >= cap)
		return FT_E_TOOBIG;
	for (i = 0; i < len / 2; i++) {
		int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);

		if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
			return FT_E_INVAL;
		out[i] = (char)(hi << 4 | lo);
	}
	out[len / 2] = '\0';
	return FT_OK;
}

static int
write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return FT_E_IO;
		p += n;
		len -= (size_t)n;
	}
	return FT_OK;
}

int
ft_write_replace(int dirfd, const char *name, const void *data, size_t len,
		 unsigned flags, uid_t owner, gid_t group)
{
	bool durable = (flags & FT_WRITE_SYNC) != 0;
	char tmp[300];
	int fd = -1, r = FT_E_IO, n, saved;

	/* pid and thread id: several threads of one process may spool. */
	n = snprintf(tmp, sizeof(tmp), ".%s.%ld.%ld", name, (long)getpid(),
		     (long)gettid());
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return FT_E_IO;
	}
	/* A temp file left by a dead process of the same pid is stale. */
	(void)unlinkat(dirfd, tmp, 0);
	fd = openat(dirfd, tmp,
		    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return FT_E_IO;
	if (write_all(fd, data, len) < 0 || (durable && fsync(fd) < 0) ||
	    (owner != (uid_t)-1 && fchown(fd, owner, group) < 0))
		goto out;
	if (close(fd) < 0) {
		fd = -1;
		goto out;
	}
	fd = -1;
	if (renameat(dirfd, tmp, dirfd, name) < 0)
		goto out;
	if (durable)
		(void)fsync(dirfd);
	return FT_OK;
out:
	saved = errno;
	if (fd >= 0)
		(void)close(fd);
	(void)unlinkat(dirfd, tmp, 0);
	errno = saved;
	return r;
}

int
ft_write_atomic(int dirfd, const char *name, const void *data, size_t len)
{
	return ft_write_replace(dirfd, name, data, len, FT_WRITE_SYNC,
				(uid_t)-1, (gid_t)-1);
}

int
ft_write_atomic_nosync(int dirfd, const char *name, const void *data,
		       size_t len)
{
	return ft_write_replace(dirfd, name, data, len, 0, (uid_t)-1,
				(gid_t)-1);
}
