/* SPDX-License-Identifier: Apache-2.0 */
/* harness.c: integration-test helpers: files, processes, slapd, emulator. */
#include "harness.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <ldap.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ft_err.h"
#include "ft_util.h"

#define H_READ_MAX ((size_t)256 * 1024 * 1024)

static const char slapd_sh[] = FT_TEST_SRCDIR "/tests/slapd.sh";
static const char emulator_py[] = FT_TEST_SRCDIR "/tests/ftrack_emulator.py";
static const char daemon_bin[] = H_DAEMON_BIN;
#define H_STOP_MS 5000u

static void h_err(const char *fmt, ...) FT_PRINTF(1, 2);
static int h_fmt(char *buf, size_t cap, const char *fmt, ...) FT_PRINTF(3, 4);

/* ---- messages, time, paths ------------------------------------------- */

static void
h_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)fputs("harness: ", stderr);
	(void)vfprintf(stderr, fmt, ap);
	(void)fputc('\n', stderr);
	va_end(ap);
}

static long long
h_now_ms(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
h_sleep_ms(unsigned ms)
{
	struct timespec ts;

	ts.tv_sec = (time_t)(ms / 1000);
	ts.tv_nsec = (long)(ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

int
h_tcp_listen(int *ret_port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(fd, 64) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) < 0) {
		(void)close(fd);
		return -1;
	}
	*ret_port = ntohs(sa.sin_port);
	return fd;
}

int
h_tcp_connect(int port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = htons((uint16_t)port);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		(void)close(fd);
		fd = -1;
	}
	return fd;
}

bool
h_write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t k = write(fd, p, n);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return false;
		p += k;
		n -= (size_t)k;
	}
	return true;
}

static int
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

static void
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

/* ---- child processes ------------------------------------------------- */

struct h_proc {
	pid_t pid;
	bool reaped;
	int status;
};

static void
argv_free(char **v)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

/* A deep copy made before fork: the child only calls execvp on it. */
static char **
argv_dup(const char *const argv[])
{
	size_t n = 0, i;
	char **v;

	while (argv[n] != NULL)
		n++;
	v = calloc(n + 1, sizeof(*v));
	if (v == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		v[i] = strdup(argv[i]);
		if (v[i] == NULL) {
			argv_free(v);
			return NULL;
		}
	}
	return v;
}

static void
child_fail(const char *what, const char *arg)
{
	/* stderr is the log by now; write(2) is all that is safe here */
	(void)!write(STDERR_FILENO, "harness: child: ", 16);
	(void)!write(STDERR_FILENO, what, strlen(what));
	(void)!write(STDERR_FILENO, arg, strlen(arg));
	(void)!write(STDERR_FILENO, "\n", 1);
	_exit(127);
}

/* In the child, between fork and exec. */
static FT_NORETURN void
child_exec(char **argv, pid_t parent, const int fds[3])
{
	static const int dfl[] = {SIGPIPE, SIGHUP,  SIGINT,  SIGQUIT, SIGTERM,
				  SIGCHLD, SIGUSR1, SIGUSR2, SIGALRM};
	sigset_t none;
	size_t i;
	int fd;

	(void)setpgid(0, 0);
	/* the parent may have died before prctl: then nobody would stop us */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
		_exit(127);
	for (fd = 0; fd < 3; fd++) {
		if (fds[fd] == fd)
			(void)fcntl(fd, F_SETFD, 0);
		else if (dup2(fds[fd], fd) < 0)
			_exit(127);
	}
	(void)close_range(3, ~0U, 0);
	for (i = 0; i < sizeof(dfl) / sizeof(dfl[0]); i++)
		(void)signal(dfl[i], SIG_DFL);
	(void)sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
	execvp(argv[0], argv);
	child_fail("cannot execute ", argv[0]);
	_exit(127);
}

/* Start argv with stdout on out and stderr on err (both kept open here). */
static struct h_proc *
proc_spawn(const char *const argv[], int out, int err)
{
	struct h_proc *p = calloc(1, sizeof(*p));
	char **v = argv_dup(argv);
	int fds[3] = {-1, out, err};
	pid_t parent = getpid(), pid = -1;

	fds[0] = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (p == NULL || v == NULL || fds[0] < 0)
		goto out;
	pid = fork();
	if (pid == 0)
		child_exec(v, parent, fds);
	if (pid > 0) {
		/* also here, so that kill(-pid) works as soon as we return */
		(void)setpgid(pid, pid);
		p->pid = pid;
	}
out:
	if (pid < 0)
		h_err("unable to start '%s': %s", argv[0], strerror(errno));
	if (fds[0] >= 0)
		(void)close(fds[0]);
	argv_free(v);
	if (pid < 0) {
		free(p);
		p = NULL;
	}
	return p;
}

static int
open_log(const char *path)
{
	int fd;

	if (path == NULL)
		path = "/dev/null";
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0)
		h_err("unable to open '%s': %s", path, strerror(errno));
	return fd;
}

struct h_proc *
h_proc_start(const char *const argv[], const char *log_path)
{
	struct h_proc *p;
	int fd;

	fd = open_log(log_path);
	if (fd < 0)
		return NULL;
	p = proc_spawn(argv, fd, fd);
	(void)close(fd);
	return p;
}

pid_t
h_proc_pid(const struct h_proc *p)
{
	return p != NULL ? p->pid : 0;
}

int
h_proc_signal(struct h_proc *p, int sig)
{
	if (p == NULL || p->reaped)
		return FT_E_INVAL;
	if (kill(p->pid, sig) < 0)
		return FT_E_IO;
	return FT_OK;
}

int
h_proc_wait(struct h_proc *p, unsigned timeout_ms, int *ret_status)
{
	long long deadline = h_now_ms() + timeout_ms;
	int st;

	if (p == NULL)
		return FT_E_INVAL;
	while (!p->reaped) {
		pid_t r = waitpid(p->pid, &st, WNOHANG);

		if (r < 0 && errno != EINTR)
			return FT_E_IO;
		if (r == p->pid) {
			p->reaped = true;
			p->status = st;
		} else if (h_now_ms() >= deadline) {
			return FT_E_AGAIN;
		} else {
			h_sleep_ms(5);
		}
	}
	if (ret_status != NULL)
		*ret_status = p->status;
	return FT_OK;
}

/* Signal the whole group (the leader is not reaped yet, so the group id
 * cannot have been reused); fall back to the leader alone. */
static void
proc_kill(const struct h_proc *p, int sig)
{
	if (kill(-p->pid, sig) < 0)
		(void)kill(p->pid, sig);
}

void
h_proc_stop(struct h_proc *p)
{
	int st;

	if (p == NULL)
		return;
	if (!p->reaped) {
		proc_kill(p, SIGTERM);
		proc_kill(p, SIGCONT);
		if (h_proc_wait(p, H_STOP_MS, NULL) == FT_E_AGAIN) {
			h_err("pid %d ignored SIGTERM for %u ms: SIGKILL",
			      (int)p->pid, H_STOP_MS);
			proc_kill(p, SIGKILL);
			while (waitpid(p->pid, &st, 0) < 0 && errno == EINTR)
				;
		}
	}
	free(p);
}

int
h_run(const char *const argv[], const char *log_path, unsigned timeout_ms,
      int *ret_status)
{
	struct h_proc *p;
	int r, st = 0;

	p = h_proc_start(argv, log_path);
	if (p == NULL)
		return FT_E_IO;
	r = h_proc_wait(p, timeout_ms, &st);
	if (r == FT_E_AGAIN)
		h_err("'%s' still runs after %u ms: stopping it", argv[0],
		      timeout_ms);
	h_proc_stop(p);
	if (r == FT_OK && ret_status != NULL)
		*ret_status = st;
	return r;
}

/* ---- small LDAP client ----------------------------------------------- */

/* libldap takes char * for strings it only reads. */
static char *
unconst(const char *s)
{
	char *m;

	memcpy(&m, &s, sizeof(m));
	return m;
}

static int
ldap_open(const char *uri, const char *dn, const char *pw, LDAP **ret_ld)
{
	struct berval cred = {0, NULL};
	struct timeval tv = {5, 0};
	int v3 = LDAP_VERSION3, rc;
	LDAP *ld = NULL;

	rc = ldap_initialize(&ld, uri);
	if (rc != LDAP_SUCCESS)
		return rc;
	(void)ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &v3);
	(void)ldap_set_option(ld, LDAP_OPT_NETWORK_TIMEOUT, &tv);
	(void)ldap_set_option(ld, LDAP_OPT_TIMEOUT, &tv);
	(void)ldap_set_option(ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF);
	if (pw != NULL) {
		cred.bv_val = unconst(pw);
		cred.bv_len = strlen(pw);
	}
	rc = ldap_sasl_bind_s(ld, dn, LDAP_SASL_SIMPLE, &cred, NULL, NULL,
			      NULL);
	if (rc != LDAP_SUCCESS) {
		(void)ldap_unbind_ext_s(ld, NULL, NULL);
		return rc;
	}
	*ret_ld = ld;
	return LDAP_SUCCESS;
}

int
h_ldap_bind(const char *uri, const char *dn, const char *pw)
{
	LDAP *ld = NULL;
	int rc;

	rc = ldap_open(uri, dn, pw, &ld);
	if (rc == LDAP_SUCCESS)
		(void)ldap_unbind_ext_s(ld, NULL, NULL);
	return rc;
}

/* Search base's subtree; *ret_res holds whatever came, even on error. */
static int
ldap_search_all(LDAP *ld, const char *base, const char *filter,
		const char *attr, LDAPMessage **ret_res)
{
	char *attrs[2] = {NULL, NULL};
	struct timeval tv = {10, 0};
	int rc, err = LDAP_OTHER;

	if (attr != NULL)
		attrs[0] = unconst(attr);
	else
		attrs[0] = unconst(LDAP_NO_ATTRS);
	rc = ldap_search_ext_s(ld, base, LDAP_SCOPE_SUBTREE, filter, attrs, 0,
			       NULL, NULL, &tv, 0, ret_res);
	if (rc != LDAP_SUCCESS && *ret_res != NULL &&
	    ldap_parse_result(ld, *ret_res, &err, NULL, NULL, NULL, NULL, 0) ==
		    LDAP_SUCCESS)
		rc = err;
	return rc;
}

int
h_ldap_count(const char *uri, const char *dn, const char *pw, const char *base,
	     const char *filter, int *ret_count)
{
	LDAPMessage *res = NULL;
	LDAP *ld = NULL;
	int rc;

	rc = ldap_open(uri, dn, pw, &ld);
	if (rc != LDAP_SUCCESS)
		return rc;
	rc = ldap_search_all(ld, base, filter, NULL, &res);
	if (ret_count != NULL)
		*ret_count = res != NULL ? ldap_count_entries(ld, res) : 0;
	ldap_msgfree(res);
	(void)ldap_unbind_ext_s(ld, NULL, NULL);
	return rc;
}

/* Append every value of attr in res to the NUL-terminated text in *buf. */
static int
ldap_collect(LDAP *ld, LDAPMessage *res, const char *attr, char **buf)
{
	LDAPMessage *e;
	size_t len = strlen(*buf), i;
	char *bigger;

	for (e = ldap_first_entry(ld, res); e != NULL;
	     e = ldap_next_entry(ld, e)) {
		struct berval **vals = ldap_get_values_len(ld, e, attr);

		for (i = 0; vals != NULL && vals[i] != NULL; i++) {
			bigger = realloc(*buf, len + vals[i]->bv_len + 2);
			if (bigger == NULL) {
				ldap_value_free_len(vals);
				return FT_E_NOMEM;
			}
			*buf = bigger;
			memcpy(*buf + len, vals[i]->bv_val, vals[i]->bv_len);
			len += vals[i]->bv_len;
			(*buf)[len++] = '\n';
			(*buf)[len] = '\0';
		}
		ldap_value_free_len(vals);
	}
	return FT_OK;
}

char *
h_ldap_values(const char *uri, const char *filter, const char *attr)
{
	LDAPMessage *res = NULL;
	LDAP *ld = NULL;
	char *buf = NULL;
	int rc;

	rc = ldap_open(uri, NULL, NULL, &ld);
	if (rc != LDAP_SUCCESS)
		goto out;
	rc = ldap_search_all(ld, H_LDAP_PEOPLE, filter, attr, &res);
	if (rc != LDAP_SUCCESS)
		goto out;
	buf = calloc(1, 1);
	if (buf == NULL || ldap_collect(ld, res, attr, &buf) < 0) {
		free(buf);
		buf = NULL;
	}
out:
	if (rc != LDAP_SUCCESS)
		h_err("unable to search '%s' at %s: %s", filter, uri,
		      ldap_err2string(rc));
	ldap_msgfree(res);
	if (ld != NULL)
		(void)ldap_unbind_ext_s(ld, NULL, NULL);
	return buf;
}

/* ---- slapd ----------------------------------------------------------- */

struct h_slapd {
	char *dir;
	struct h_proc *proc;
	unsigned sizelimit;
	unsigned nmodify;
	char uri[64];
	char port[16];
};

/* `slapd.sh start DIR PORT LDIF [SIZELIMIT]`, or `run DIR PORT` (no ldif). */
static struct h_proc *
slapd_spawn(const struct h_slapd *s, const char *ldif)
{
	const char *argv[8] = {"/bin/bash", slapd_sh, "run", s->dir,
			       s->port,     NULL,     NULL,  NULL};
	char limit[16], log[PATH_MAX];

	if (h_fmt(log, sizeof(log), "%s/slapd.log", s->dir) < 0 ||
	    h_fmt(limit, sizeof(limit), "%u", s->sizelimit) < 0)
		return NULL;
	if (ldif != NULL) {
		argv[2] = "start";
		argv[5] = ldif;
		argv[6] = s->sizelimit > 0 ? limit : NULL;
	}
	return h_proc_start(argv, log);
}

/* Wait until slapd answers an anonymous bind; FT_E_IO if it exited. */
static int
slapd_ready(struct h_slapd *s, unsigned timeout_ms)
{
	long long deadline = h_now_ms() + timeout_ms;

	for (;;) {
		if (h_proc_wait(s->proc, 0, NULL) != FT_E_AGAIN)
			return FT_E_IO;
		if (h_ldap_bind(s->uri, NULL, NULL) == LDAP_SUCCESS)
			return FT_OK;
		if (h_now_ms() >= deadline)
			return FT_E_AGAIN;
		h_sleep_ms(20);
	}
}

/* True when slapd's log says its port was taken. */
static bool
slapd_port_taken(const struct h_slapd *s)
{
	char log[PATH_MAX], *text;
	bool taken;

	if (h_fmt(log, sizeof(log), "%s/slapd.log", s->dir) < 0)
		return false;
	text = h_read_file(log, NULL);
	taken = text != NULL && strstr(text, "Address already in use") != NULL;
	free(text);
	return taken;
}

/* Start on a fresh port, (re)loading ldif; tried again if another process
 * took the port between h_free_port and slapd's bind. */
static int
slapd_launch(struct h_slapd *s, const char *ldif)
{
	int attempt, r = FT_E_IO;

	for (attempt = 0; attempt < 3; attempt++) {
		int port = h_free_port();

		if (port < 0)
			return FT_E_IO;
		if (h_fmt(s->port, sizeof(s->port), "%d", port) < 0 ||
		    h_fmt(s->uri, sizeof(s->uri), "ldap://127.0.0.1:%d", port) <
			    0)
			return FT_E_TOOBIG;
		s->proc = slapd_spawn(s, ldif);
		if (s->proc == NULL)
			return FT_E_IO;
		r = slapd_ready(s, 10000);
		if (r == FT_OK)
			return FT_OK;
		h_proc_stop(s->proc);
		s->proc = NULL;
		if (!slapd_port_taken(s))
			break;
	}
	return r;
}

struct h_slapd *
h_slapd_start(const char *ldif, unsigned sizelimit)
{
	struct h_slapd *s = calloc(1, sizeof(*s));
	char log[PATH_MAX];

	if (s == NULL)
		return NULL;
	s->sizelimit = sizelimit;
	s->dir = h_tmpdir();
	if (s->dir == NULL)
		goto fail;
	if (slapd_launch(s, ldif) == FT_OK)
		return s;
	if (h_fmt(log, sizeof(log), "%s/slapd.log", s->dir) == FT_OK)
		h_show_log("unable to start slapd", log);
fail:
	h_slapd_stop(s);
	return NULL;
}

const char *
h_slapd_uri(const struct h_slapd *s)
{
	return s->uri;
}

const char *
h_slapd_dir(const struct h_slapd *s)
{
	return s->dir;
}

pid_t
h_slapd_pid(const struct h_slapd *s)
{
	return s->proc != NULL ? h_proc_pid(s->proc) : 0;
}

int
h_slapd_modify(struct h_slapd *s, const char *ldif_text)
{
	char path[PATH_MAX], log[PATH_MAX];
	const char *argv[] = {
		"ldapmodify",   "-x", "-H", s->uri, "-D", H_LDAP_ROOT_DN, "-w",
		H_LDAP_ROOT_PW, "-f", path, NULL};
	int r, st = 0;

	s->nmodify++;
	if (h_fmt(path, sizeof(path), "%s/modify-%u.ldif", s->dir, s->nmodify) <
		    0 ||
	    h_fmt(log, sizeof(log), "%s/modify-%u.log", s->dir, s->nmodify) < 0)
		return FT_E_TOOBIG;
	r = h_write_file(path, ldif_text, 0600);
	if (r < 0)
		return r;
	r = h_run(argv, log, 10000, &st);
	if (r == FT_OK && (!WIFEXITED(st) || WEXITSTATUS(st) != 0)) {
		h_show_log("ldapmodify failed", log);
		r = FT_E_LDAP;
	}
	return r;
}

int
h_slapd_pause(struct h_slapd *s)
{
	return h_proc_signal(s->proc, SIGSTOP);
}

int
h_slapd_resume(struct h_slapd *s)
{
	return h_proc_signal(s->proc, SIGCONT);
}

void
h_slapd_down(struct h_slapd *s)
{
	h_proc_stop(s->proc);
	s->proc = NULL;
}

int
h_slapd_restart(struct h_slapd *s)
{
	char log[PATH_MAX];
	int r;

	h_proc_stop(s->proc);
	s->proc = slapd_spawn(s, NULL);
	if (s->proc == NULL)
		return FT_E_IO;
	r = slapd_ready(s, 10000);
	if (r < 0 && h_fmt(log, sizeof(log), "%s/slapd.log", s->dir) == FT_OK)
		h_show_log("unable to restart slapd", log);
	return r;
}

void
h_slapd_stop(struct h_slapd *s)
{
	if (s == NULL)
		return;
	h_proc_stop(s->proc);
	h_rmtree(s->dir);
	free(s->dir);
	free(s);
}

/* ---- HTTP (libcurl) -------------------------------------------------- */

struct http_buf {
	char *p;
	size_t len;
};

static size_t
http_sink(char *data, size_t size, size_t nmemb, void *arg)
{
	struct http_buf *b = arg;
	size_t n = size * nmemb;
	char *bigger;

	if (n > H_READ_MAX - b->len)
		return 0; /* curl fails the transfer: CURLE_WRITE_ERROR */
	bigger = realloc(b->p, b->len + n + 1);
	if (bigger == NULL)
		return 0;
	b->p = bigger;
	memcpy(b->p + b->len, data, n);
	b->len += n;
	b->p[b->len] = '\0';
	return n;
}

static struct curl_slist *
http_headers(const char *body, int flags)
{
	static const char *const hdrs[] = {
		"Accept: application/json", "Content-Type: application/json",
		"ftrack-user: " H_EMU_USER, "ftrack-api-key: " H_EMU_KEY,
		"ftrack-strict-api: true",
	};
	struct curl_slist *list = NULL, *l;
	const bool want[5] = {true, body != NULL, (flags & H_HTTP_AUTH) != 0,
			      (flags & H_HTTP_AUTH) != 0,
			      (flags & H_HTTP_STRICT) != 0};
	size_t i;

	for (i = 0; i < 5; i++) {
		if (!want[i])
			continue;
		l = curl_slist_append(list, hdrs[i]);
		if (l == NULL) {
			curl_slist_free_all(list);
			return NULL;
		}
		list = l;
	}
	return list;
}

static int
http_setup(CURL *c, const char *url, const char *method, const char *body,
	   struct http_buf *b)
{
	CURLcode cc = CURLE_OK;

	cc |= curl_easy_setopt(c, CURLOPT_URL, url);
	cc |= curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	cc |= curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	cc |= curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 30000L);
	cc |= curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	cc |= curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, http_sink);
	cc |= curl_easy_setopt(c, CURLOPT_WRITEDATA, b);
	/* a bodiless POST still says Content-Length: 0 */
	if (body == NULL && strcmp(method, "GET") != 0)
		body = "";
	if (body != NULL) {
		cc |= curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		cc |= curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
				       (curl_off_t)strlen(body));
	}
	return cc == CURLE_OK ? FT_OK : FT_E_INTERNAL;
}

int
h_emu_http(const struct h_emu *e, const char *method, const char *path,
	   const char *body, int flags, long *ret_status, char **ret_body)
{
	struct http_buf b = {NULL, 0};
	struct curl_slist *hdrs = NULL;
	char url[PATH_MAX];
	CURL *c = NULL;
	CURLcode cc = CURLE_FAILED_INIT;
	int r = FT_E_HTTP;

	if (h_fmt(url, sizeof(url), "%s%s", h_emu_url(e), path) < 0)
		return FT_E_TOOBIG;
	c = curl_easy_init();
	hdrs = http_headers(body, flags);
	b.p = calloc(1, 1);
	if (c == NULL || hdrs == NULL || b.p == NULL ||
	    http_setup(c, url, method, body, &b) < 0 ||
	    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs) != CURLE_OK)
		goto out;
	cc = curl_easy_perform(c);
	if (cc != CURLE_OK)
		goto out;
	(void)curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, ret_status);
	*ret_body = b.p;
	b.p = NULL;
	r = FT_OK;
out:
	if (r < 0)
		h_err("unable to %s %s: %s", method, url,
		      curl_easy_strerror(cc));
	free(b.p);
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(c);
	return r;
}

/* The request, then its body parsed; NULL (and a message) if there is no
 * JSON answer, or with need_2xx a status outside 200..299. */
static json_t *
emu_json(const struct h_emu *e, const char *method, const char *path,
	 const char *body, int flags, bool need_2xx)
{
	json_error_t jerr;
	json_t *j = NULL;
	char *text = NULL;
	long status = 0;

	if (h_emu_http(e, method, path, body, flags, &status, &text) < 0)
		return NULL;
	if (need_2xx && (status < 200 || status > 299)) {
		h_err("%s %s: HTTP %ld: %s", method, path, status, text);
		goto out;
	}
	j = json_loads(text, 0, &jerr);
	if (j == NULL)
		h_err("%s %s: not JSON (%s): %s", method, path, jerr.text,
		      text);
out:
	free(text);
	return j;
}

/* ---- the ftrack emulator --------------------------------------------- */

struct h_emu {
	char *dir;
	struct h_proc *proc;
	char url[64];
};

/* argv for the emulator: python3 -u SCRIPT --port 0 ... extra... NULL. */
static const char **
emu_argv(const char *const extra[])
{
	static const char *const base[] = {
		"python3",    "-u",       emulator_py, "--port", "0",
		"--api-user", H_EMU_USER, "--api-key", H_EMU_KEY};
	size_t nbase = sizeof(base) / sizeof(base[0]), n = 0, i;
	const char **v;

	while (extra != NULL && extra[n] != NULL)
		n++;
	v = calloc(nbase + n + 1, sizeof(*v));
	if (v == NULL)
		return NULL;
	for (i = 0; i < nbase; i++)
		v[i] = base[i];
	for (i = 0; i < n; i++)
		v[nbase + i] = extra[i];
	return v;
}

/* Parse "listening on http://127.0.0.1:PORT\n" at the start of text. */
static int
emu_parse_url(struct h_emu *e, const char *text)
{
	static const char prefix[] = "listening on http://127.0.0.1:";
	unsigned long long port;
	char digits[8];
	const char *nl;
	size_t n;

	nl = strchr(text, '\n');
	if (nl == NULL)
		return FT_E_AGAIN;
	if (strncmp(text, prefix, sizeof(prefix) - 1) != 0)
		return FT_E_PROTO;
	text += sizeof(prefix) - 1;
	n = (size_t)(nl - text);
	if (n > 0 && text[n - 1] == '\r')
		n--;
	if (n == 0 || n >= sizeof(digits))
		return FT_E_PROTO;
	memcpy(digits, text, n);
	digits[n] = '\0';
	if (ft_parse_uint(digits, 65535, &port) < 0 || port == 0)
		return FT_E_PROTO;
	return h_fmt(e->url, sizeof(e->url), "http://127.0.0.1:%llu", port);
}

/* Poll DIR/stdout for the first line until deadline or the process exits. */
static int
emu_wait_url(struct h_emu *e, const char *out_path, unsigned timeout_ms)
{
	long long deadline = h_now_ms() + timeout_ms;

	for (;;) {
		char *text = h_read_file(out_path, NULL);
		int r = text != NULL ? emu_parse_url(e, text) : FT_E_AGAIN;

		free(text);
		if (r != FT_E_AGAIN)
			return r;
		if (h_proc_wait(e->proc, 0, NULL) != FT_E_AGAIN)
			return FT_E_IO;
		if (h_now_ms() >= deadline)
			return FT_E_AGAIN;
		h_sleep_ms(10);
	}
}

static int
emu_spawn(struct h_emu *e, const char *const extra[], const char *out_path,
	  const char *err_path)
{
	const char **argv = emu_argv(extra);
	int out = -1, err = -1, r = FT_E_IO;

	out = open_log(out_path);
	err = open_log(err_path);
	if (argv != NULL && out >= 0 && err >= 0) {
		e->proc = proc_spawn(argv, out, err);
		if (e->proc != NULL)
			r = FT_OK;
	}
	if (out >= 0)
		(void)close(out);
	if (err >= 0)
		(void)close(err);
	free(argv);
	return r;
}

struct h_emu *
h_emu_start(const char *const extra_args[])
{
	struct h_emu *e = calloc(1, sizeof(*e));
	char out[PATH_MAX], err[PATH_MAX];
	int r;

	if (e == NULL)
		return NULL;
	e->dir = h_tmpdir();
	if (e->dir == NULL ||
	    h_fmt(out, sizeof(out), "%s/stdout", e->dir) < 0 ||
	    h_fmt(err, sizeof(err), "%s/emulator.log", e->dir) < 0 ||
	    emu_spawn(e, extra_args, out, err) < 0)
		goto fail;
	r = emu_wait_url(e, out, 10000);
	if (r == FT_OK)
		return e;
	h_err("unable to start the emulator: %s",
	      r == FT_E_IO      ? "it exited"
	      : r == FT_E_AGAIN ? "no 'listening on' line within 10 s"
				: "unexpected first line");
	h_show_log("emulator stdout", out);
	h_show_log("emulator stderr", err);
fail:
	h_emu_stop(e);
	return NULL;
}

const char *
h_emu_url(const struct h_emu *e)
{
	return e->url;
}

const char *
h_emu_dir(const struct h_emu *e)
{
	return e->dir;
}

struct h_proc *
h_emu_proc(const struct h_emu *e)
{
	return e->proc;
}

json_t *
h_emu_get(const struct h_emu *e, const char *path)
{
	return emu_json(e, "GET", path, NULL, 0, true);
}

json_t *
h_emu_post(const struct h_emu *e, const char *path, const char *json_body)
{
	return emu_json(e, "POST", path, json_body, 0, true);
}

json_t *
h_emu_api(const struct h_emu *e, const char *ops_json)
{
	return emu_json(e, "POST", "/api", ops_json, H_HTTP_AUTH, false);
}

/* Quote s for the query language: "..." with \ " ' backslash-escaped. */
static char *
query_quote(const char *s)
{
	char *q = malloc(strlen(s) * 2 + 3), *p;

	if (q == NULL)
		return NULL;
	p = q;
	*p++ = '"';
	for (; *s != '\0'; s++) {
		if (*s == '\\' || *s == '"' || *s == '\'')
			*p++ = '\\';
		*p++ = *s;
	}
	*p++ = '"';
	*p = '\0';
	return q;
}

/* [{"action": "query", "expression": "select ... where username is Q"}] */
static char *
user_query(const char *username)
{
	char *quoted = query_quote(username), *expr = NULL, *ops = NULL;
	json_t *j = NULL;
	size_t len;

	if (quoted == NULL)
		return NULL;
	len = strlen(quoted) + 128;
	expr = malloc(len);
	if (expr == NULL ||
	    h_fmt(expr, len,
		  "select id, username, first_name, last_name, email, "
		  "is_active from User where username is %s",
		  quoted) < 0)
		goto out;
	j = json_pack("[{s:s, s:s}]", "action", "query", "expression", expr);
	if (j != NULL)
		ops = json_dumps(j, JSON_COMPACT);
out:
	json_decref(j);
	free(expr);
	free(quoted);
	return ops;
}

json_t *
h_emu_user(const struct h_emu *e, const char *username)
{
	char *ops = user_query(username);
	json_t *res = NULL, *data, *user = NULL;

	if (ops == NULL)
		return NULL;
	res = h_emu_api(e, ops);
	data = json_object_get(json_array_get(res, 0), "data");
	if (res != NULL && !json_is_array(data))
		h_err("unexpected answer to a User query: %s", ops);
	if (json_array_size(data) == 1)
		user = json_incref(json_array_get(data, 0));
	json_decref(res);
	free(ops);
	return user;
}

void
h_emu_stop(struct h_emu *e)
{
	if (e == NULL)
		return;
	h_proc_stop(e->proc);
	h_rmtree(e->dir);
	free(e->dir);
	free(e);
}

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
	r |= conf_set(c, "ftrack", "server", server);
	r |= conf_set(c, "ftrack", "api_user", H_EMU_USER);
	r |= conf_set(c, "ftrack", "api_key_file", path[1]);
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

	(void)fputs("; written by tests/harness.c (h_write_config)\n", f);
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
	if (conf_defaults(c, dir, s != NULL ? s->uri : "ldap://127.0.0.1:1",
			  e != NULL ? e->url : "http://127.0.0.1:1") < 0 ||
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
