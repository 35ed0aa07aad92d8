/* SPDX-License-Identifier: Apache-2.0 */
/* h_daemon.c: test library: the daemon's config, process, socket and state. */
#include "harness.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ft_err.h"
#include "ft_proto.h"
#include "ft_util.h"

static const char daemon_bin[] = H_DAEMON_BIN;

/* ---- the daemon's config --------------------------------------------- */

#define CONF_MAX 96

struct conf_item {
	char section[32];
	char key[64];
	char value[PATH_MAX];
};

struct conf {
	struct conf_item item[CONF_MAX];
	size_t n;
};

static struct conf_item *
conf_find(struct conf *c, const char *section, const char *key)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		if (strcmp(c->item[i].section, section) == 0 &&
		    strcmp(c->item[i].key, key) == 0)
			return &c->item[i];
	return NULL;
}

static int
conf_set(struct conf *c, const char *section, const char *key,
	 const char *value)
{
	struct conf_item *it = conf_find(c, section, key);

	if (it == NULL) {
		if (c->n == CONF_MAX)
			return FT_E_TOOBIG;
		it = &c->item[c->n++];
		if (h_fmt(it->section, sizeof(it->section), "%s", section) <
			    0 ||
		    h_fmt(it->key, sizeof(it->key), "%s", key) < 0)
			return FT_E_TOOBIG;
	}
	return h_fmt(it->value, sizeof(it->value), "%s", value);
}

static void
conf_del(struct conf *c, const char *section, const char *key)
{
	struct conf_item *it = conf_find(c, section, key);
	size_t i;

	if (it == NULL)
		return;
	i = (size_t)(it - c->item);
	memmove(&c->item[i], &c->item[i + 1], (c->n - i - 1) * sizeof(*it));
	c->n--;
}

/* The span s[0..n) without leading and trailing blanks, copied into out. */
static int
trim_copy(char *out, size_t cap, const char *s, size_t n)
{
	while (n > 0 && (*s == ' ' || *s == '\t')) {
		s++;
		n--;
	}
	while (n > 0 &&
	       (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
		n--;
	if (n >= cap)
		return FT_E_TOOBIG;
	memcpy(out, s, n);
	out[n] = '\0';
	return FT_OK;
}

/* One line of h_write_config's `extra` (already trimmed, not blank). */
static int
conf_line(struct conf *c, const char *line)
{
	char sect[32], key[64], value[PATH_MAX];
	const char *dot, *eq;
	bool del = line[0] == '-';

	if (line[0] == '#' || line[0] == ';')
		return FT_OK;
	line += del;
	dot = strchr(line, '.');
	eq = strchr(line, '=');
	if (dot == NULL || (eq != NULL && eq < dot) || (del && eq != NULL) ||
	    (!del && eq == NULL))
		return FT_E_INVAL;
	if (trim_copy(sect, sizeof(sect), line, (size_t)(dot - line)) < 0 ||
	    trim_copy(key, sizeof(key), dot + 1,
		      del ? strlen(dot + 1) : (size_t)(eq - dot - 1)) < 0 ||
	    sect[0] == '\0' || key[0] == '\0')
		return FT_E_INVAL;
	if (del) {
		conf_del(c, sect, key);
		return FT_OK;
	}
	if (trim_copy(value, sizeof(value), eq + 1, strlen(eq + 1)) < 0)
		return FT_E_TOOBIG;
	return conf_set(c, sect, key, value);
}

static int
conf_apply(struct conf *c, const char *extra)
{
	char line[PATH_MAX + 128];
	const char *p = extra;

	while (p != NULL && *p != '\0') {
		const char *nl = strchr(p, '\n');
		size_t n = nl != NULL ? (size_t)(nl - p) : strlen(p);

		if (trim_copy(line, sizeof(line), p, n) < 0 ||
		    (line[0] != '\0' && conf_line(c, line) < 0)) {
			h_err("unable to use config override '%.*s'", (int)n,
			      p);
			return FT_E_INVAL;
		}
		p = nl != NULL ? nl + 1 : NULL;
	}
	return FT_OK;
}

static int
conf_defaults(struct conf *c, const char *dir, const char *uri,
	      const char *server)
{
	char path[4][PATH_MAX];
	int r = FT_OK;

	if (h_fmt(path[0], PATH_MAX, "%s/ldap.secret", dir) < 0 ||
	    h_fmt(path[1], PATH_MAX, "%s/ftrack.secret", dir) < 0 ||
	    h_fmt(path[2], PATH_MAX, "%s/notify.sock", dir) < 0 ||
	    h_fmt(path[3], PATH_MAX, "%s/state", dir) < 0)
		return FT_E_TOOBIG;
	r |= conf_set(c, "ldap", "uri", uri);
	r |= conf_set(c, "ldap", "bind_dn", H_LDAP_SYNC_DN);
	r |= conf_set(c, "ldap", "bind_password_file", path[0]);
	r |= conf_set(c, "ldap", "search_base", H_LDAP_PEOPLE);
	r |= conf_set(c, "ldap", "search_filter",
		      "(objectClass=inetOrgPerson)");
	r |= conf_set(c, "ldap", "disabled_filter", H_LDAP_DISABLED);
	/* a password to slapd on a high port, plain: allowed for tests */
	r |= conf_set(c, "ldap", "insecure_ldap", "yes");
	r |= conf_set(c, "ftrack", "server", server);
	r |= conf_set(c, "ftrack", "api_user", H_EMU_USER);
	r |= conf_set(c, "ftrack", "api_key_file", path[1]);
	/* the emulator speaks http:// on 127.0.0.1 */
	r |= conf_set(c, "ftrack", "insecure_http", "yes");
	r |= conf_set(c, "daemon", "socket", path[2]);
	r |= conf_set(c, "daemon", "state_dir", path[3]);
	r |= conf_set(c, "daemon", "log_target", "stderr");
	r |= conf_set(c, "daemon", "log_level", "debug");
	return r == FT_OK ? FT_OK : FT_E_TOOBIG;
}

/* Sections in order of first appearance, each with its keys. */
static int
conf_write(const struct conf *c, FILE *f)
{
	size_t i, j, k;

	(void)fputs("; written by tests/lib/h_daemon.c (h_write_config)\n", f);
	for (i = 0; i < c->n; i++) {
		for (k = 0; k < i; k++)
			if (strcmp(c->item[k].section, c->item[i].section) == 0)
				break;
		if (k < i)
			continue; /* section already written */
		(void)fprintf(f, "\n[%s]\n", c->item[i].section);
		for (j = i; j < c->n; j++)
			if (strcmp(c->item[j].section, c->item[i].section) == 0)
				(void)fprintf(f, "%s = %s\n", c->item[j].key,
					      c->item[j].value);
	}
	return ferror(f) ? FT_E_IO : FT_OK;
}

static int
conf_save(const struct conf *c, const char *path)
{
	FILE *f = NULL;
	int fd, r = FT_E_IO;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
		  0600);
	if (fd >= 0)
		f = fdopen(fd, "w");
	if (f == NULL) {
		if (fd >= 0)
			(void)close(fd);
		goto out;
	}
	r = conf_write(c, f);
	if (fclose(f) != 0)
		r = FT_E_IO;
out:
	if (r < 0)
		h_err("unable to write '%s': %s", path, strerror(errno));
	return r;
}

/* The secrets and the state folder the config names. */
static int
conf_files(const char *dir)
{
	char path[PATH_MAX];

	if (h_fmt(path, sizeof(path), "%s/ldap.secret", dir) < 0 ||
	    h_write_file(path, H_LDAP_SYNC_PW, 0600) < 0 ||
	    h_fmt(path, sizeof(path), "%s/ftrack.secret", dir) < 0 ||
	    h_write_file(path, H_EMU_KEY, 0600) < 0 ||
	    h_fmt(path, sizeof(path), "%s/state", dir) < 0)
		return FT_E_IO;
	if (mkdir(path, 0700) < 0 && errno != EEXIST) {
		h_err("unable to create '%s': %s", path, strerror(errno));
		return FT_E_IO;
	}
	return FT_OK;
}

char *
h_write_config(const char *dir, const struct h_slapd *s, const struct h_emu *e,
	       const char *extra)
{
	struct conf *c = calloc(1, sizeof(*c));
	char path[PATH_MAX];
	char *ret = NULL;

	if (c == NULL)
		return NULL;
	if (conf_defaults(
		    c, dir, s != NULL ? h_slapd_uri(s) : "ldap://127.0.0.1:1",
		    e != NULL ? h_emu_url(e) : "http://127.0.0.1:1") < 0 ||
	    conf_apply(c, extra) < 0 || conf_files(dir) < 0 ||
	    h_fmt(path, sizeof(path), "%s/ftrack-syncd.conf", dir) < 0 ||
	    conf_save(c, path) < 0)
		goto out;
	ret = strdup(path);
out:
	free(c);
	return ret;
}

/* ---- the daemon ------------------------------------------------------ */

struct h_proc *
h_daemon_start(const char *conf_path, const char *log_path)
{
	const char *argv[] = {daemon_bin, "-c", conf_path, "run", NULL};

	return h_proc_start(argv, log_path);
}

int
h_daemon_run(const char *conf_path, const char *const args[],
	     const char *log_path, unsigned timeout_ms, int *ret_status)
{
	const char *argv[32] = {daemon_bin, "-c", conf_path};
	size_t n = 3;

	while (args != NULL && *args != NULL) {
		if (n == sizeof(argv) / sizeof(argv[0]) - 1) {
			h_err("too many arguments for ftrack-syncd");
			return FT_E_TOOBIG;
		}
		argv[n++] = *args++;
	}
	argv[n] = NULL;
	return h_run(argv, log_path, timeout_ms, ret_status);
}

/* ---- login datagrams ------------------------------------------------- */

int
h_sender_open(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd, n;

	n = snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (n < 0 || (size_t)n >= sizeof(sa.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int saved = errno;

		(void)close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

int
h_sender_send(int fd, const void *msg, size_t len, int flags)
{
	return h_sender_send_as(fd, msg, len, flags, geteuid(), getegid());
}

int
h_sender_send_as(int fd, const void *msg, size_t len, int flags, uid_t uid,
		 gid_t gid)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(struct ucred))];
	} ctl;
	struct ucred cred = {getpid(), uid, gid};

	union {
		/* cppcheck-suppress unusedStructMember */
		const void *in;
		void *out;
	} base = {.in = msg}; /* sendmsg does not write it */
	struct iovec iov = {.iov_base = base.out, .iov_len = len};
	struct msghdr mh = {.msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = ctl.buf,
			    .msg_controllen = sizeof(ctl.buf)};
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);

	memset(&ctl, 0, sizeof(ctl));
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_CREDENTIALS;
	c->cmsg_len = CMSG_LEN(sizeof(cred));
	memcpy(CMSG_DATA(c), &cred, sizeof(cred));
	while (sendmsg(fd, &mh, flags | MSG_NOSIGNAL) < 0) {
		if (errno == EAGAIN)
			return FT_E_AGAIN;
		if (errno != EINTR)
			return FT_E_IO;
	}
	return FT_OK;
}

size_t
h_event(const char *user, char *buf, size_t cap)
{
	struct ft_event ev;
	size_t len = 0;
	int n;

	memset(&ev, 0, sizeof(ev));
	n = snprintf(ev.user, sizeof(ev.user), "%s", user);
	if (n < 0 || (size_t)n >= sizeof(ev.user))
		return 0;
	memcpy(ev.service, "ftest", sizeof("ftest"));
	if (ft_event_encode(&ev, buf, cap, &len) < 0)
		return 0;
	return len;
}

int
h_login(const char *path, const char *user)
{
	char msg[FT_PROTO_MAX + 1];
	size_t len = h_event(user, msg, sizeof(msg));
	int fd, r;

	if (len == 0)
		return FT_E_INVAL;
	fd = h_sender_open(path);
	if (fd < 0)
		return FT_E_IO;
	r = h_sender_send(fd, msg, len, 0);
	(void)close(fd);
	return r;
}

/* The memory a flood child shares with the test. */
struct h_flood_shm {
	long sent;
	int stop;
};

struct h_flood {
	pid_t pid;
	struct h_flood_shm *shm;
};

/* In the child: connect, drop to uid/gid, send until told (see .h). */
static FT_NORETURN void
flood_child(const char *path, uid_t uid, gid_t gid, const char *msg, size_t len,
	    long min, long max, struct h_flood_shm *shm)
{
	int fd;
	long n = 0;

	(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
	fd = h_sender_open(path);
	if (fd < 0)
		_exit(2);
	if (uid != 0 && (setgroups(0, NULL) < 0 || setgid(gid) < 0 ||
			 setuid(uid) < 0 || geteuid() != uid))
		_exit(3);
	while (n < max &&
	       (n < min || !__atomic_load_n(&shm->stop, __ATOMIC_ACQUIRE))) {
		if (h_sender_send(fd, msg, len, 0) < 0)
			_exit(4);
		n++;
		__atomic_store_n(&shm->sent, n, __ATOMIC_RELEASE);
	}
	_exit(0);
}

struct h_flood *
h_flood_start(const char *path, uid_t uid, gid_t gid, const char *msg,
	      size_t len, long min, long max)
{
	struct h_flood *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return NULL;
	/* fd -1 with MAP_ANONYMOUS, as mmap(2) asks */
	f->shm = mmap(NULL, sizeof(*f->shm), PROT_READ | PROT_WRITE,
		      /* cppcheck-suppress invalidFunctionArg */
		      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (f->shm == MAP_FAILED) {
		free(f);
		return NULL;
	}
	memset(f->shm, 0, sizeof(*f->shm));
	(void)fflush(NULL);
	f->pid = fork();
	if (f->pid == 0)
		flood_child(path, uid, gid, msg, len, min, max, f->shm);
	if (f->pid < 0) {
		(void)munmap(f->shm, sizeof(*f->shm));
		free(f);
		return NULL;
	}
	return f;
}

long
h_flood_sent(const struct h_flood *f)
{
	return __atomic_load_n(&f->shm->sent, __ATOMIC_ACQUIRE);
}

/* Wait up to timeout_ms for pid; 1 exited 0, 0 failed or still running. */
static int
reap(pid_t pid, unsigned timeout_ms)
{
	int st = 0;
	unsigned waited = 0;
	const struct timespec tick = {0, 5000000L};

	for (;;) {
		pid_t r = waitpid(pid, &st, WNOHANG);

		if (r == pid)
			return WIFEXITED(st) && WEXITSTATUS(st) == 0;
		if ((r < 0 && errno != EINTR) || waited >= timeout_ms)
			break;
		(void)nanosleep(&tick, NULL);
		waited += 5;
	}
	(void)kill(pid, SIGKILL);
	(void)waitpid(pid, &st, 0);
	(void)fprintf(stderr, "harness: sender %d failed or hung\n", (int)pid);
	return 0;
}

long
h_flood_finish(struct h_flood *f, unsigned timeout_ms)
{
	long sent;
	int ok;

	if (f == NULL)
		return -1;
	__atomic_store_n(&f->shm->stop, 1, __ATOMIC_RELEASE);
	ok = reap(f->pid, timeout_ms);
	sent = h_flood_sent(f);
	(void)munmap(f->shm, sizeof(*f->shm));
	free(f);
	return ok ? sent : -1;
}

long
h_send_as(const char *path, uid_t uid, gid_t gid, const char *msg, size_t len,
	  long n)
{
	return h_flood_finish(h_flood_start(path, uid, gid, msg, len, n, n),
			      30000);
}
