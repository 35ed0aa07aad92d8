/* SPDX-License-Identifier: Apache-2.0 */
/* h_pam.c: test library: a private PAM world, libpam driven, a fake socket. */
#include "harness.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <security/pam_appl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "ft_err.h"
#include "ft_util.h"

#define H_PAM_MAX_ARGS 32

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
h_pam_env_init(struct h_pam_env *e, const char *module)
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
	    h_write_file(buf,
			 "auth required pam_deny.so\n"
			 "account required pam_deny.so\n"
			 "session required pam_deny.so\n"
			 "password required pam_deny.so\n",
			 0644) < 0)
		return -1;
	/* h_pam_call() runs as service "ftest". */
	return h_pam_service(e->confdir, "ftest", e->module,
			     h_pam_args(e, NULL, buf, sizeof(buf)));
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
h_pam_env_fini(struct h_pam_env *e)
{
	if (e->dir[0] != '\0')
		(void)nftw(e->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	e->dir[0] = '\0';
}

const char *
h_pam_args(const struct h_pam_env *e, const char *extra, char *buf, size_t cap)
{
	int n = snprintf(buf, cap, "socket=%s spool=%s daemon_user=root%s%s",
			 e->sock, e->spool, extra ? " " : "",
			 extra ? extra : "");

	if (n < 0 || (size_t)n >= cap)
		buf[0] = '\0';
	return buf;
}

int
h_pam_service(const char *confdir, const char *service, const char *module,
	      const char *args)
{
	char path[PATH_MAX];
	FILE *f;
	int r;

	if (FMT(path, "%s/%s", confdir, service) < 0)
		return FT_E_TOOBIG;
	f = fopen(path, "we");
	if (f == NULL)
		return FT_E_IO;
	r = fprintf(f,
		    "auth required pam_permit.so\n"
		    "account required pam_permit.so\n"
		    "session optional %s %s\n"
		    "session required pam_permit.so\n",
		    module, args);
	if (fclose(f) != 0 || r < 0)
		return FT_E_IO;
	return FT_OK;
}

int
h_pam_service_alone(const char *confdir, const char *service, const char *type,
		    const char *control, const char *module, const char *args)
{
	char path[PATH_MAX];
	FILE *f;
	int r;

	if (FMT(path, "%s/%s", confdir, service) < 0)
		return FT_E_TOOBIG;
	f = fopen(path, "we");
	if (f == NULL)
		return FT_E_IO;
	r = fprintf(f, "%s %s %s %s\n", type, control, module, args);
	if (fclose(f) != 0 || r < 0)
		return FT_E_IO;
	return FT_OK;
}

int
h_pam_start(const char *confdir, const char *service,
	    const struct h_pam_login *l, pam_handle_t **ret_pamh)
{
	pam_handle_t *pamh = NULL;
	int r;

	r = pam_start_confdir(service, l->user, &conv, confdir, &pamh);
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
h_pam_session(const char *confdir, const char *service,
	      const struct h_pam_login *l, int *ret_close)
{
	pam_handle_t *pamh = NULL;
	int r, rc;

	r = h_pam_start(confdir, service, l, &pamh);
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
h_pam_split(char *buf, const char **argv, int max)
{
	char *p, *save = NULL;
	int argc = 0;

	for (p = strtok_r(buf, " ", &save); p != NULL && argc < max;
	     p = strtok_r(NULL, " ", &save))
		argv[argc++] = p;
	return argc;
}

h_pam_sm_fn
h_pam_entry(const struct h_pam_env *e, const char *entry)
{
	h_pam_sm_fn fn = NULL;
	void *sym = dlsym(e->dl, entry);

	if (sym != NULL)
		memcpy(&fn, &sym, sizeof(fn));
	return fn;
}

int
h_pam_call(const struct h_pam_env *e, const char *entry,
	   const struct h_pam_login *l, const char *args)
{
	char copy[1024];
	const char *argv[H_PAM_MAX_ARGS];
	pam_handle_t *pamh = NULL;
	h_pam_sm_fn fn = h_pam_entry(e, entry);
	int argc, r;

	if (fn == NULL || FMT(copy, "%s", args) < 0)
		return -1;
	argc = h_pam_split(copy, argv, H_PAM_MAX_ARGS);
	if (h_pam_start(e->confdir, "ftest", l, &pamh) != PAM_SUCCESS)
		return -1;
	r = fn(pamh, 0, argc, argv);
	(void)pam_end(pamh, PAM_SUCCESS);
	return r;
}

const char *
h_pam_spool_path(const struct h_pam_env *e, const char *user, char *buf,
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

/* ---- a stand-in for the daemon's socket ------------------------------ */

int
h_pam_listen(const char *path, unsigned int mode)
{
	struct sockaddr_un sa;
	int fd, on = 1;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa.sun_path))
		return -1;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &on, sizeof(on)) < 0 ||
	    chmod(path, (mode_t)mode) < 0) {
		(void)close(fd);
		return -1;
	}
	return fd;
}

static void
take_cred(struct msghdr *mh, struct h_pam_dgram *d)
{
	struct cmsghdr *cm;

	for (cm = CMSG_FIRSTHDR(mh); cm != NULL; cm = CMSG_NXTHDR(mh, cm)) {
		if (cm->cmsg_level == SOL_SOCKET &&
		    cm->cmsg_type == SCM_CREDENTIALS &&
		    cm->cmsg_len == CMSG_LEN(sizeof(struct ucred))) {
			memcpy(&d->cred, CMSG_DATA(cm), sizeof(d->cred));
			d->has_cred = 1;
		}
	}
}

static int
recv_one(int fd, int flags, struct h_pam_dgram *d)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(struct ucred))];
	} ctl;
	struct iovec iov;
	struct msghdr mh;
	ssize_t n;

	memset(d, 0, sizeof(*d));
	iov.iov_base = d->data;
	iov.iov_len = sizeof(d->data);
	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = ctl.buf;
	mh.msg_controllen = sizeof(ctl.buf);
	n = recvmsg(fd, &mh, flags | MSG_CMSG_CLOEXEC);
	if (n < 0)
		return errno == EAGAIN ? 0 : -1;
	d->len = (size_t)n;
	take_cred(&mh, d);
	d->decoded = ft_event_decode(d->data, d->len, &d->ev) == 0;
	return 1;
}

int
h_pam_recv(int fd, int timeout_ms, struct h_pam_dgram *ret)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	int r;

	do
		r = poll(&p, 1, timeout_ms);
	while (r < 0 && errno == EINTR);
	if (r <= 0)
		return r;
	return recv_one(fd, MSG_DONTWAIT, ret);
}

int
h_pam_drain(int fd)
{
	struct h_pam_dgram d;
	int n = 0;

	while (recv_one(fd, MSG_DONTWAIT, &d) == 1)
		n++;
	return n;
}
