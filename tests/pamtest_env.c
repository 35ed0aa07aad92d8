/* SPDX-License-Identifier: Apache-2.0 */
/* pamtest_env.c: a private PAM world for the pam suite (see .h). */
#include "pamtest_env.h"

#include <dirent.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <ftw.h>
#include <security/pam_appl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ft_util.h"

#define PAMTEST_MAX_ARGS 32

/* A conversation that answers nothing: the module never talks. */
static int
null_conv(int n, const struct pam_message **msg, struct pam_response **resp,
	  void *data)
{
	(void)n;
	(void)msg;
	(void)resp;
	(void)data;
	return PAM_CONV_ERR;
}

static const struct pam_conv conv = {null_conv, NULL};

#define FMT(buf, ...)                                                          \
	(snprintf((buf), sizeof(buf), __VA_ARGS__) >= (int)sizeof(buf) ? -1 : 0)

int
pamtest_env_init(struct pamtest_env *e, const char *module)
{
	char buf[512];

	memset(e, 0, sizeof(*e));
	if (FMT(e->dir, "/tmp/pamtest.XXXXXX") < 0 || mkdtemp(e->dir) == NULL)
		return -1;
	if (FMT(e->run, "%s/run", e->dir) < 0 ||
	    FMT(e->sock, "%s/notify.sock", e->run) < 0 ||
	    FMT(e->spool, "%s/queue", e->dir) < 0 ||
	    FMT(e->confdir, "%s/pam.d", e->dir) < 0)
		return -1;
	if (module == NULL)
		module = FT_TEST_BUILDDIR "/pam_ftrack/pam_ftrack.so";
	if (FMT(e->module, "%s", module) < 0)
		return -1;
	if (mkdir(e->run, 0755) < 0 || mkdir(e->spool, 0700) < 0 ||
	    mkdir(e->confdir, 0700) < 0)
		return -1;
	e->dl = dlopen(e->module, RTLD_NOW | RTLD_NODELETE);
	if (e->dl == NULL)
		return -1;
	/* libpam wants an "other" (it logs its absence at each start) */
	if (FMT(buf, "%s/other", e->confdir) < 0 ||
	    pamtest_write_file(buf, "auth required pam_deny.so\n"
				    "account required pam_deny.so\n"
				    "session required pam_deny.so\n"
				    "password required pam_deny.so\n") < 0)
		return -1;
	/* pamtest_call() runs as service "ftest". */
	return pamtest_service(e, "ftest",
			       pamtest_args(e, NULL, buf, sizeof(buf)));
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP)
		(void)rmdir(path);
	else
		(void)unlink(path);
	return 0;
}

void
pamtest_env_fini(struct pamtest_env *e)
{
	if (e->dir[0] != '\0')
		(void)nftw(e->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	e->dir[0] = '\0';
}

const char *
pamtest_args(const struct pamtest_env *e, const char *extra, char *buf,
	     size_t cap)
{
	int n = snprintf(buf, cap, "socket=%s spool=%s daemon_user=root%s%s",
			 e->sock, e->spool, extra ? " " : "",
			 extra ? extra : "");

	if (n < 0 || (size_t)n >= cap)
		buf[0] = '\0';
	return buf;
}

int
pamtest_service(const struct pamtest_env *e, const char *service,
		const char *args)
{
	char path[256];
	FILE *f;
	int r;

	if (FMT(path, "%s/%s", e->confdir, service) < 0)
		return -1;
	f = fopen(path, "we");
	if (f == NULL)
		return -1;
	r = fprintf(f,
		    "auth required pam_permit.so\n"
		    "account required pam_permit.so\n"
		    "session optional %s %s\n"
		    "session required pam_permit.so\n",
		    e->module, args);
	if (fclose(f) != 0 || r < 0)
		return -1;
	return 0;
}

int
pamtest_start(const struct pamtest_env *e, const char *service,
	      const struct pamtest_login *l, pam_handle_t **ret_pamh)
{
	pam_handle_t *pamh = NULL;
	int r;

	r = pam_start_confdir(service, l->user, &conv, e->confdir, &pamh);
	if (r != PAM_SUCCESS)
		return r;
	if (l->rhost != NULL)
		r = pam_set_item(pamh, PAM_RHOST, l->rhost);
	if (r == PAM_SUCCESS && l->tty != NULL)
		r = pam_set_item(pamh, PAM_TTY, l->tty);
	if (r == PAM_SUCCESS && l->service != NULL)
		r = pam_set_item(pamh, PAM_SERVICE, l->service);
	if (r != PAM_SUCCESS) {
		(void)pam_end(pamh, r);
		return r;
	}
	*ret_pamh = pamh;
	return PAM_SUCCESS;
}

int
pamtest_session(const struct pamtest_env *e, const char *service,
		const struct pamtest_login *l, int *ret_close)
{
	pam_handle_t *pamh = NULL;
	int r, rc;

	r = pamtest_start(e, service, l, &pamh);
	if (r != PAM_SUCCESS)
		return r;
	r = pam_open_session(pamh, 0);
	rc = pam_close_session(pamh, 0);
	if (ret_close != NULL)
		*ret_close = rc;
	(void)pam_end(pamh, r);
	return r;
}

int
pamtest_split(char *buf, const char **argv, int max)
{
	char *p, *save = NULL;
	int argc = 0;

	for (p = strtok_r(buf, " ", &save); p != NULL && argc < max;
	     p = strtok_r(NULL, " ", &save))
		argv[argc++] = p;
	return argc;
}

pamtest_sm_fn
pamtest_entry(const struct pamtest_env *e, const char *entry)
{
	pamtest_sm_fn fn = NULL;
	void *sym = dlsym(e->dl, entry);

	if (sym != NULL)
		memcpy(&fn, &sym, sizeof(fn));
	return fn;
}

int
pamtest_call(const struct pamtest_env *e, const char *entry,
	     const struct pamtest_login *l, const char *args)
{
	char copy[1024];
	const char *argv[PAMTEST_MAX_ARGS];
	pam_handle_t *pamh = NULL;
	pamtest_sm_fn fn = pamtest_entry(e, entry);
	int argc, r;

	if (fn == NULL || FMT(copy, "%s", args) < 0)
		return -1;
	argc = pamtest_split(copy, argv, PAMTEST_MAX_ARGS);
	if (pamtest_start(e, "ftest", l, &pamh) != PAM_SUCCESS)
		return -1;
	r = fn(pamh, 0, argc, argv);
	(void)pam_end(pamh, PAM_SUCCESS);
	return r;
}

const char *
pamtest_spool_path(const struct pamtest_env *e, const char *user, char *buf,
		   size_t cap)
{
	char hex[600];
	int n;

	if (ft_hex_encode(user, strlen(user), hex, sizeof(hex)) < 0)
		hex[0] = '\0';
	n = snprintf(buf, cap, "%s/%s", e->spool, hex);
	if (n < 0 || (size_t)n >= cap)
		buf[0] = '\0';
	return buf;
}

long
pamtest_read_file(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, cap);
	(void)close(fd);
	return (long)n;
}

int
pamtest_write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	size_t len = strlen(text);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, text, len);
	if (close(fd) < 0 || n < 0 || (size_t)n != len)
		return -1;
	return 0;
}

int
pamtest_count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int n = 0;

	if (d == NULL)
		return -1;
	/* readdir is thread-safe on a DIR of one's own (glibc) */
	/* cppcheck-suppress readdirCalled */
	while ((de = readdir(d)) != NULL)
		n += de->d_name[0] != '.';
	(void)closedir(d);
	return n - 1; /* the fd of d itself */
}
