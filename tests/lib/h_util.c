/* SPDX-License-Identifier: Apache-2.0 */
/* h_util.c: test library: messages, time, paths, files, ports, waiting. */
#include "harness.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ft_err.h"
#include "ft_util.h"

#define H_READ_MAX ((size_t)256 * 1024 * 1024)

/* ---- messages, time, paths ------------------------------------------- */

void
h_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)fputs("harness: ", stderr);
	(void)vfprintf(stderr, fmt, ap);
	(void)fputc('\n', stderr);
	va_end(ap);
}

long long
h_now_ms(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
h_sleep_ms(unsigned ms)
{
	struct timespec ts;

	ts.tv_sec = (time_t)(ms / 1000);
	ts.tv_nsec = (long)(ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

int
h_fmt(char *buf, size_t cap, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, cap, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= cap) {
		h_err("unable to format '%s': too long", fmt);
		return FT_E_TOOBIG;
	}
	return FT_OK;
}

void
h_show_log(const char *what, const char *path)
{
	char *text = h_read_file(path, NULL);

	h_err("%s (%s):\n%s", what, path, text != NULL ? text : "(no log)");
	free(text);
}

/* ---- files, ports, waiting ------------------------------------------- */

char *
h_tmpdir(void)
{
	const char *base = getenv("TMPDIR");
	char path[PATH_MAX];
	char *dir;

	if (base == NULL || base[0] == '\0')
		base = "/tmp";
	if (h_fmt(path, sizeof(path), "%s/ftsync-XXXXXX", base) < 0)
		return NULL;
	if (mkdtemp(path) == NULL) {
		h_err("unable to create a folder in '%s': %s", base,
		      strerror(errno));
		return NULL;
	}
	dir = strdup(path);
	if (dir == NULL)
		(void)rmdir(path);
	return dir;
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	if (remove(path) < 0 && errno != ENOENT)
		h_err("unable to remove '%s': %s", path, strerror(errno));
	return 0;
}

void
h_rmtree(const char *path)
{
	if (path == NULL)
		return;
	if (strstr(path, "/ftsync-") == NULL) {
		h_err("refusing to remove '%s': not made by h_tmpdir", path);
		return;
	}
	(void)nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

int
h_free_port(void)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	int fd, port = -1;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto out;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		goto out;
	if (getsockname(fd, (struct sockaddr *)&sa, &len) < 0)
		goto out;
	port = ntohs(sa.sin_port);
out:
	if (port < 0)
		h_err("unable to find a free port: %s", strerror(errno));
	if (fd >= 0)
		(void)close(fd);
	return port;
}

static int
read_all(int fd, char **ret_buf, size_t *ret_len)
{
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap), *bigger;

	while (buf != NULL) {
		ssize_t n;

		if (cap - len < 2) {
			bigger =
				cap < H_READ_MAX ? realloc(buf, cap * 2) : NULL;
			if (bigger == NULL)
				break;
			buf = bigger;
			cap *= 2;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		if (n == 0) {
			buf[len] = '\0';
			*ret_buf = buf;
			*ret_len = len;
			return FT_OK;
		}
		len += (size_t)n;
	}
	free(buf);
	return FT_E_IO;
}

char *
h_read_file(const char *path, size_t *ret_len)
{
	char *buf = NULL;
	size_t len = 0;
	int fd, saved;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	if (read_all(fd, &buf, &len) < 0)
		buf = NULL;
	saved = errno;
	(void)close(fd);
	errno = saved;
	if (buf != NULL && ret_len != NULL)
		*ret_len = len;
	return buf;
}

int
h_write_file(const char *path, const char *text, mode_t mode)
{
	size_t len = strlen(text), done = 0;
	ssize_t n;
	int fd, r = FT_E_IO;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
		  mode);
	if (fd < 0)
		goto out;
	while (done < len) {
		n = write(fd, text + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto out;
		done += (size_t)n;
	}
	if (fchmod(fd, mode) < 0)
		goto out;
	r = FT_OK;
out:
	if (r < 0)
		h_err("unable to write '%s': %s", path, strerror(errno));
	if (fd >= 0)
		(void)close(fd);
	return r;
}

bool
h_wait_until(bool (*cond)(void *), void *arg, unsigned timeout_ms)
{
	long long deadline = h_now_ms() + timeout_ms;

	while (!cond(arg)) {
		if (h_now_ms() >= deadline)
			return cond(arg);
		h_sleep_ms(10);
	}
	return true;
}

long
h_read_into(const char *path, char *buf, size_t cap)
{
	size_t len = 0;
	char *text = h_read_file(path, &len);

	if (text == NULL)
		return -1;
	if (len > cap)
		len = cap;
	memcpy(buf, text, len);
	free(text);
	return (long)len;
}

long
h_file_count(const char *path, const char *text)
{
	char *buf = h_read_file(path, NULL);
	long n;

	if (buf == NULL)
		return -1;
	n = h_text_count(buf, text);
	free(buf);
	return n;
}

long
h_text_count(const char *hay, const char *text)
{
	const char *p;
	long n = 0;

	for (p = strstr(hay, text); p != NULL; p = strstr(p + 1, text))
		n++;
	return n;
}

void
h_show_tail(const char *path)
{
	size_t len = 0;
	char *text = h_read_file(path, &len);
	const char *from = text;

	if (text != NULL && len > 6000)
		from = text + len - 6000;
	(void)fprintf(stderr, "---- %s (end) ----\n%s\n----\n", path,
		      from != NULL ? from : "(none)");
	free(text);
}

/* ---- text a person sees ----------------------------------------------- */

const char *
h_text_hidden(const char *text, size_t len)
{
	size_t i = 0;

	while (i < len) {
		unsigned cp = 0;
		size_t n = ft_utf8_next(text + i, len - i, &cp);

		if (n == 0 || (cp < 0x20 && cp != '\n') || cp == 0x7f ||
		    (cp >= 0x80 && cp <= 0x9f) ||
		    (cp >= 0x202a && cp <= 0x202e) ||
		    (cp >= 0x2066 && cp <= 0x2069) || cp == 0x2028 ||
		    cp == 0x2029)
			return text + i;
		i += n;
	}
	return NULL;
}

/* ---- /proc ------------------------------------------------------------ */

long
h_fd_count(pid_t pid)
{
	char path[64];
	struct dirent *e;
	long n = 0;
	DIR *d;

	(void)snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	d = opendir(path);
	if (d == NULL)
		return -1;
	/* readdir is thread-safe on a DIR of one's own (glibc) */
	/* cppcheck-suppress readdirCalled */
	while ((e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	(void)closedir(d);
	return pid == getpid() ? n - 1 : n; /* not the fd of d itself */
}

long
h_status_kib(pid_t pid, const char *field)
{
	char path[64], key[64], *text, *p;
	unsigned long long v = 0;
	size_t len;

	(void)snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	len = (size_t)snprintf(key, sizeof(key), "\n%s:", field);
	if (len >= sizeof(key))
		return -1;
	text = h_read_file(path, NULL);
	p = text != NULL ? strstr(text, key) : NULL;
	if (p != NULL) {
		p += len;
		p += strspn(p, " \t");
		p[strspn(p, "0123456789")] = '\0';
	}
	if (p == NULL || ft_parse_uint(p, LONG_MAX, &v) < 0) {
		free(text);
		return -1;
	}
	free(text);
	return (long)v;
}

/* path: a /proc/.../stat file.  Its task is stopped (state T). */
static bool
stat_stopped(const char *path)
{
	char *text, *p;
	bool yes;

	text = h_read_file(path, NULL);
	/* "PID (comm) S ...": comm may hold spaces, the state follows the
	 * last ')' */
	p = text != NULL ? strrchr(text, ')') : NULL;
	yes = p != NULL && p[1] == ' ' && p[2] == 'T';
	free(text);
	return yes;
}

bool
h_pid_stopped(pid_t pid)
{
	char path[PATH_MAX];
	struct dirent *de;
	bool yes = true;
	DIR *d;

	/* every thread: a group stop reaches them one by one, and a thread
	 * still running can answer a request sent after kill() returned */
	(void)snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	d = opendir(path);
	if (d == NULL)
		return false;
	while (yes && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		(void)snprintf(path, sizeof(path), "/proc/%d/task/%s/stat",
			       (int)pid, de->d_name);
		yes = stat_stopped(path);
	}
	(void)closedir(d);
	return yes;
}

/* ---- one folder per suite ------------------------------------------- */

static char *suite_dir;    /* h_suite_setup's folder */
static char *saved_tmpdir; /* TMPDIR before it */

void
h_suite_setup(void)
{
	const char *t = getenv("TMPDIR");

	saved_tmpdir = t != NULL ? strdup(t) : NULL;
	suite_dir = h_tmpdir();
	if (suite_dir != NULL)
		(void)setenv("TMPDIR", suite_dir, 1);
}

void
h_suite_teardown(void)
{
	if (saved_tmpdir != NULL)
		(void)setenv("TMPDIR", saved_tmpdir, 1);
	else
		(void)unsetenv("TMPDIR");
	h_rmtree(suite_dir);
	free(suite_dir);
	free(saved_tmpdir);
	suite_dir = saved_tmpdir = NULL;
}

const char *
h_suite_dir(void)
{
	return suite_dir;
}

/* ---- what a call writes to a descriptor ----------------------------- */

int
h_capture(int fd, int (*fn)(void *), void *arg, char *out, size_t cap, int *ret)
{
	FILE *tmp = tmpfile();
	int saved = -1, r = FT_E_IO;
	size_t n;

	if (tmp == NULL || cap == 0)
		goto out;
	(void)fflush(NULL);
	saved = dup(fd);
	if (saved < 0 || dup2(fileno(tmp), fd) < 0)
		goto out;
	*ret = fn(arg);
	(void)fflush(NULL);
	if (dup2(saved, fd) < 0)
		goto out;
	rewind(tmp);
	n = fread(out, 1, cap - 1, tmp);
	out[n] = '\0';
	r = FT_OK;
out:
	if (saved >= 0)
		(void)close(saved);
	if (tmp != NULL)
		(void)fclose(tmp);
	return r;
}
