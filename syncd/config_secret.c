/* SPDX-License-Identifier: Apache-2.0 */
/* config_secret.c: the secret files: owner, mode, size, contents. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <syslog.h>
#include <unistd.h>

#include "config_int.h"
#include "ft_err.h"
#include "ft_util.h"
#include "ldap_map.h"

/*
 * The daemon's account: the owner of state_dir (the package makes it
 * ftrack-syncd), so that root running `check` or `reconcile` by hand
 * accepts the secrets the daemon itself reads.  (uid_t)-1 when unknown.
 */
static uid_t
daemon_uid(const struct config *cfg)
{
	struct stat st;

	if (cfg->daemon.state_dir == NULL ||
	    stat(cfg->daemon.state_dir, &st) < 0 || !S_ISDIR(st.st_mode))
		return (uid_t)-1;
	return st.st_uid;
}

/*
 * The secret in the file named by key k: owned by root, by us or by the
 * daemon's account; mode 0600 or stricter.
 */
static int
check_secret_fd(struct load *l, const struct key *k, const char *path, int fd)
{
	struct stat st;
	int line = l->seen[k - conf_keys];

	if (fstat(fd, &st) < 0)
		return conf_fail(l, line, FT_E_CONFIG,
				 "[%s] %s: cannot stat '%s': %s", k->section,
				 k->name, path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return conf_fail(l, line, FT_E_PERM,
				 "[%s] %s: '%s' is not a regular file",
				 k->section, k->name, path);
	if (st.st_uid != 0 && st.st_uid != geteuid() &&
	    st.st_uid != daemon_uid(l->cfg))
		return conf_fail(
			l, line, FT_E_PERM,
			"[%s] %s: '%s' is owned by uid %u, not by root, "
			"uid %u or the owner of state_dir; run chown root %s",
			k->section, k->name, path, (unsigned)st.st_uid,
			(unsigned)geteuid(), path);
	if ((st.st_mode & 077) != 0)
		return conf_fail(
			l, line, FT_E_PERM,
			"[%s] %s: '%s' is open to group or others (mode "
			"%04o); run chmod 600 %s",
			k->section, k->name, path,
			(unsigned)(st.st_mode & 07777), path);
	return FT_OK;
}

/* Read at most SECRET_MAX bytes; one trailing newline is dropped. */
static int
read_secret_fd(int fd, char *buf, size_t *ret_len)
{
	size_t n = 0;

	while (n <= SECRET_MAX) {
		ssize_t got = read(fd, buf + n, SECRET_MAX + 1 - n);

		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return FT_E_IO;
		if (got == 0)
			break;
		n += (size_t)got;
	}
	if (n > SECRET_MAX)
		return FT_E_TOOBIG;
	if (n > 0 && buf[n - 1] == '\n')
		n--;
	buf[n] = '\0';
	*ret_len = n;
	return FT_OK;
}

static int
read_secret(struct load *l, const struct key *k, char **ret)
{
	char buf[SECRET_MAX + 2];
	const char *path = *(char *const *)conf_cfield(l->cfg, k);
	int fd, r, line = l->seen[k - conf_keys];
	size_t len = 0;

	fd = open(path,
		  O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0 && errno == ELOOP)
		return conf_fail(
			l, line, FT_E_PERM,
			"[%s] %s: '%s' is a symbolic link; name the file "
			"itself",
			k->section, k->name, path);
	if (fd < 0)
		return conf_fail(l, line, FT_E_CONFIG,
				 "[%s] %s: cannot open '%s': %s", k->section,
				 k->name, path, strerror(errno));
	r = check_secret_fd(l, k, path, fd);
	if (r == FT_OK)
		r = read_secret_fd(fd, buf, &len);
	if (r == FT_E_IO || r == FT_E_TOOBIG)
		conf_fail(l, line, FT_E_CONFIG, "[%s] %s: cannot read '%s': %s",
			  k->section, k->name, path,
			  r == FT_E_IO ? strerror(errno)
				       : "larger than 4096 bytes");
	else if (r == FT_OK && (len == 0 || memchr(buf, '\0', len) != NULL ||
				conf_check_text(buf) != NULL))
		conf_fail(l, line, FT_E_CONFIG,
			  "[%s] %s: '%s' must hold the secret on one line%s",
			  k->section, k->name, path,
			  len == 0 ? " (it is empty)" : "");
	if (r == FT_OK && !l->failed) {
		*ret = strdup(buf);
		if (*ret == NULL)
			conf_fail(l, 0, FT_E_NOMEM, "out of memory");
	}
	explicit_bzero(buf, sizeof(buf));
	close(fd);
	return l->failed ? l->r : FT_OK;
}

/*
 * A bare name in key k (F_CRED) is a credential the unit passed with
 * LoadCredential=: the path becomes $CREDENTIALS_DIRECTORY/name.
 */
static int
resolve_credential(struct load *l, const struct key *k, char **path)
{
	const char *dir = getenv("CREDENTIALS_DIRECTORY");
	int line = l->seen[k - conf_keys];
	char *full = NULL;

	if (!(k->flags & F_CRED) || strchr(*path, '/') != NULL)
		return FT_OK;
	if (dir == NULL || dir[0] != '/')
		return conf_fail(
			l, line, FT_E_CONFIG,
			"[%s] %s: '%s' names a credential of the unit, but "
			"CREDENTIALS_DIRECTORY is not set: add "
			"LoadCredential=%s:/path/of/the/key to the unit, or "
			"give an absolute path",
			k->section, k->name, *path, *path);
	if (asprintf(&full, "%s/%s", dir, *path) < 0)
		return conf_fail(l, 0, FT_E_NOMEM, "out of memory");
	free(*path);
	*path = full;
	return FT_OK;
}

/* A private key (F_KEYFILE): owner and mode as a secret; libcurl reads it. */
static int
check_privkey(struct load *l, const struct key *k)
{
	char **path = conf_field(l->cfg, k);
	int fd, r, line = l->seen[k - conf_keys];

	if (*path == NULL)
		return FT_OK;
	r = resolve_credential(l, k, path);
	if (r < 0)
		return r;
	fd = open(*path,
		  O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0 && errno == ELOOP)
		return conf_fail(
			l, line, FT_E_PERM,
			"[%s] %s: '%s' is a symbolic link; name the file "
			"itself",
			k->section, k->name, *path);
	if (fd < 0)
		return conf_fail(l, line, FT_E_CONFIG,
				 "[%s] %s: cannot open '%s': %s", k->section,
				 k->name, *path, strerror(errno));
	r = check_secret_fd(l, k, *path, fd);
	close(fd);
	return r;
}

int
conf_read_secrets(struct load *l)
{
	size_t i;
	char **secret;
	char *const *file;
	int r;

	for (i = 0; i < CONF_NKEYS; i++) {
		if (conf_keys[i].flags & F_KEYFILE) {
			r = check_privkey(l, &conf_keys[i]);
			if (r < 0)
				return r;
		}
		if (!(conf_keys[i].flags & F_SECRET))
			continue;
		file = conf_cfield(l->cfg, &conf_keys[i]);
		secret = (void *)((char *)l->cfg + conf_keys[i].secret);
		/* FTRACK_API_KEY wins over api_key_file. */
		if (*file == NULL || *secret != NULL)
			continue;
		r = read_secret(l, &conf_keys[i], secret);
		if (r < 0)
			return r;
	}
	return FT_OK;
}
