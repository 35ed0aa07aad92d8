/* SPDX-License-Identifier: Apache-2.0 */
/* extprog_check.c: the file rule of external programs (see extprog.h). */
#include "extprog.h"
#include "extprog_int.h"

#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ft_err.h"

#define PWBUF_BYTES 4096

/* ---- the file rule -------------------------------------------------- */

/* why = pre 'path' post; returns r. */
static int
why_set(char *why, size_t cap, int r, const char *pre, const char *path,
	const char *post)
{
	int n = snprintf(why, cap, "%s'%s'%s", pre, path, post);

	if (n < 0 || (size_t)n >= cap)
		(void)snprintf(why, cap, "a path is over its length limit");
	return r;
}

static bool
owner_ok(uid_t uid)
{
	struct passwd pw, *res = NULL;
	char buf[PWBUF_BYTES];

	if (uid == 0)
		return true;
	if (getpwnam_r(EXTPROG_ACCOUNT, &pw, buf, sizeof(buf), &res) != 0 ||
	    res == NULL)
		return false;
	return pw.pw_uid == uid;
}

/* One part of the resolved path: its owner and its mode. */
static int
check_part(const char *p, bool is_file, char *why, size_t cap)
{
	struct stat st;
	char msg[128];

	if (stat(p, &st) < 0) {
		(void)snprintf(msg, sizeof(msg), ": %s", strerror(errno));
		return why_set(why, cap, FT_E_IO, "unable to read ", p, msg);
	}
	if (is_file && !S_ISREG(st.st_mode))
		return why_set(why, cap, FT_E_PERM, "", p,
			       " is not a regular file");
	if (is_file && (st.st_mode & S_IXUSR) == 0)
		return why_set(why, cap, FT_E_PERM, "", p,
			       " is not executable");
	if (!owner_ok(st.st_uid)) {
		(void)snprintf(msg, sizeof(msg),
			       " is owned by uid %lu, not root or %s",
			       (unsigned long)st.st_uid, EXTPROG_ACCOUNT);
		return why_set(why, cap, FT_E_PERM, "", p, msg);
	}
	/* root's sticky folder (/tmp): others cannot replace our entry */
	if (!is_file && S_ISDIR(st.st_mode) && st.st_uid == 0 &&
	    (st.st_mode & S_ISVTX) != 0)
		return FT_OK;
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0)
		return why_set(why, cap, FT_E_PERM, "", p,
			       " is writable by group or others");
	return FT_OK;
}

int
extprog_resolve(const char *path, char *real, char *why, size_t cap)
{
	char dir[PATH_MAX];
	int r;

	if (path == NULL || path[0] != '/')
		return why_set(why, cap, FT_E_INVAL, "", path ? path : "",
			       " is not an absolute path");
	if (realpath(path, real) == NULL) {
		char msg[128];

		(void)snprintf(msg, sizeof(msg), ": %s", strerror(errno));
		return why_set(why, cap, FT_E_IO, "unable to resolve ", path,
			       msg);
	}
	r = check_part(real, true, why, cap);
	if (r < 0)
		return r;
	memcpy(dir, real, strlen(real) + 1);
	for (;;) {
		char *slash = strrchr(dir, '/');

		if (slash == NULL)
			break;
		if (slash == dir)
			slash[1] = '\0';
		else
			slash[0] = '\0';
		r = check_part(dir, false, why, cap);
		if (r < 0 || strcmp(dir, "/") == 0)
			return r;
	}
	return FT_OK;
}

int
extprog_check(const char *path, char *why, size_t cap)
{
	char real[PATH_MAX];

	return extprog_resolve(path, real, why, cap);
}
