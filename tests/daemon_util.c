/* SPDX-License-Identifier: Apache-2.0 */
/* daemon_util.c: support for the daemon suite (see daemon_util.h). */
#include "daemon_util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <jansson.h>
#include <limits.h>
#include <security/pam_appl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ft_err.h"
#include "ft_proto.h"
#include "ft_util.h"

#define METRIC_PREFIX "ftrack_syncd_"

/* ---- login datagrams ------------------------------------------------- */

int
du_sender_open(const char *path)
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
du_sender_send(int fd, const void *msg, size_t len, int flags)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(struct ucred))];
	} ctl;
	struct ucred cred = {getpid(), geteuid(), getegid()};

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
du_event(const char *user, char *buf, size_t cap)
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
du_login(const char *path, const char *user)
{
	char msg[FT_PROTO_MAX + 1];
	size_t len = du_event(user, msg, sizeof(msg));
	int fd, r;

	if (len == 0)
		return FT_E_INVAL;
	fd = du_sender_open(path);
	if (fd < 0)
		return FT_E_IO;
	r = du_sender_send(fd, msg, len, 0);
	(void)close(fd);
	return r;
}

/* The memory a flood child shares with the test. */
struct du_flood_shm {
	long sent;
	int stop;
};

struct du_flood {
	pid_t pid;
	struct du_flood_shm *shm;
};

/* In the child: connect, drop to uid/gid, send until told (see .h). */
static FT_NORETURN void
flood_child(const char *path, uid_t uid, gid_t gid, const char *msg, size_t len,
	    long min, long max, struct du_flood_shm *shm)
{
	int fd;
	long n = 0;

	(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
	fd = du_sender_open(path);
	if (fd < 0)
		_exit(2);
	if (uid != 0 && (setgroups(0, NULL) < 0 || setgid(gid) < 0 ||
			 setuid(uid) < 0 || geteuid() != uid))
		_exit(3);
	while (n < max &&
	       (n < min || !__atomic_load_n(&shm->stop, __ATOMIC_ACQUIRE))) {
		if (du_sender_send(fd, msg, len, 0) < 0)
			_exit(4);
		n++;
		__atomic_store_n(&shm->sent, n, __ATOMIC_RELEASE);
	}
	_exit(0);
}

struct du_flood *
du_flood_start(const char *path, uid_t uid, gid_t gid, const char *msg,
	       size_t len, long min, long max)
{
	struct du_flood *f = calloc(1, sizeof(*f));

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
du_flood_sent(const struct du_flood *f)
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
	(void)fprintf(stderr, "daemon_util: sender %d failed or hung\n",
		      (int)pid);
	return 0;
}

long
du_flood_finish(struct du_flood *f, unsigned timeout_ms)
{
	long sent;
	int ok;

	if (f == NULL)
		return -1;
	__atomic_store_n(&f->shm->stop, 1, __ATOMIC_RELEASE);
	ok = reap(f->pid, timeout_ms);
	sent = du_flood_sent(f);
	(void)munmap(f->shm, sizeof(*f->shm));
	free(f);
	return ok ? sent : -1;
}

long
du_send_as(const char *path, uid_t uid, gid_t gid, const char *msg, size_t len,
	   long n)
{
	return du_flood_finish(du_flood_start(path, uid, gid, msg, len, n, n),
			       30000);
}

/* ---- the state folder ------------------------------------------------ */

int
du_queue_path(const char *state, const char *user, char *buf, size_t cap)
{
	char hex[2 * FT_PROTO_VALUE_MAX + 1];
	int n;

	if (ft_hex_encode(user, strlen(user), hex, sizeof(hex)) < 0)
		return FT_E_TOOBIG;
	n = snprintf(buf, cap, "%s/queue/%s", state, hex);
	if (n < 0 || (size_t)n >= cap)
		return FT_E_TOOBIG;
	return FT_OK;
}

bool
du_queued(const char *state, const char *user)
{
	char path[PATH_MAX];

	return du_queue_path(state, user, path, sizeof(path)) == FT_OK &&
	       access(path, F_OK) == 0;
}

long
du_queue_count(const char *state, const char *sub)
{
	char path[PATH_MAX];
	struct dirent *e;
	DIR *d;
	long n = 0;
	int len;

	len = snprintf(path, sizeof(path), "%s/%s", state, sub);
	if (len < 0 || (size_t)len >= sizeof(path))
		return -1;
	d = opendir(path);
	if (d == NULL)
		return -1;
	/* cppcheck-suppress readdirCalled */
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] != '.' && e->d_type != DT_DIR)
			n++;
	}
	(void)closedir(d);
	return n;
}

int
du_spool(const char *state, const char *user)
{
	char path[PATH_MAX], msg[FT_PROTO_MAX + 1];
	char hex[2 * FT_PROTO_VALUE_MAX + 1];
	size_t len = du_event(user, msg, sizeof(msg));
	int dfd, n, r;

	n = snprintf(path, sizeof(path), "%s/queue", state);
	if (len == 0 || n < 0 || (size_t)n >= sizeof(path) ||
	    ft_hex_encode(user, strlen(user), hex, sizeof(hex)) < 0)
		return FT_E_INVAL;
	dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return FT_E_IO;
	r = ft_write_atomic(dfd, hex, msg, len);
	(void)close(dfd);
	return r;
}

/* The unsigned number at the start of s (up to a blank or newline). */
static long long
leading_number(const char *s)
{
	char num[32];
	size_t n = strcspn(s, " \t\n");
	unsigned long long v = 0;

	if (n == 0 || n >= sizeof(num))
		return -1;
	memcpy(num, s, n);
	num[n] = '\0';
	if (ft_parse_uint(num, (unsigned long long)LLONG_MAX, &v) < 0)
		return -1;
	return (long long)v;
}

long long
du_metric(const char *state, const char *sample)
{
	char path[PATH_MAX], want[256];
	char *text, *p;
	long long v = -1;
	int n, m;

	n = snprintf(path, sizeof(path), "%s/metrics.prom", state);
	m = snprintf(want, sizeof(want), "\n" METRIC_PREFIX "%s ", sample);
	if (n < 0 || (size_t)n >= sizeof(path) || m < 0 ||
	    (size_t)m >= sizeof(want))
		return -1;
	text = h_read_file(path, NULL);
	if (text == NULL)
		return -1;
	p = strstr(text, want);
	if (p != NULL)
		v = leading_number(p + m);
	free(text);
	return v;
}

/* ---- files and processes --------------------------------------------- */

long
du_file_count(const char *path, const char *text)
{
	char *buf = h_read_file(path, NULL);
	const char *p;
	long n = 0;

	if (buf == NULL)
		return -1;
	for (p = strstr(buf, text); p != NULL; p = strstr(p + 1, text))
		n++;
	free(buf);
	return n;
}

bool
du_sanitizer_report(const char *path)
{
	static const char *const marks[] = {
		"ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
		"runtime error:", "WARNING: ThreadSanitizer"};
	size_t i;

	for (i = 0; i < sizeof(marks) / sizeof(marks[0]); i++) {
		if (du_file_count(path, marks[i]) > 0)
			return true;
	}
	return false;
}

long
du_rss_kib(pid_t pid)
{
	char path[64], *text, *p;
	long long v;

	(void)snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	text = h_read_file(path, NULL);
	if (text == NULL)
		return -1;
	p = strstr(text, "\nVmRSS:");
	if (p != NULL) {
		p += strlen("\nVmRSS:");
		p += strspn(p, " \t");
	}
	v = p != NULL ? leading_number(p) : -1;
	free(text);
	return (long)v;
}

/* ---- the emulator ---------------------------------------------------- */

long long
du_emu_stat(const struct h_emu *e, const char *name)
{
	json_t *st = h_emu_get(e, "/_emulator/stats");
	const json_t *v = json_object_get(st, name);
	long long n = json_is_integer(v) ? json_integer_value(v) : -1;

	json_decref(st);
	return n;
}

long long
du_emu_ops(const struct h_emu *e, const char *action)
{
	json_t *st = h_emu_get(e, "/_emulator/stats");
	const json_t *ops = json_object_get(st, "operations");
	const json_t *v = json_object_get(ops, action);
	long long n = -1;

	if (json_is_object(ops))
		n = json_is_integer(v) ? json_integer_value(v) : 0;
	json_decref(st);
	return n;
}

/* The string member key of o, or "" (never NULL). */
static const char *
str_of(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s != NULL ? s : "";
}

/* Rows of the array rows whose username is username. */
static long
count_named(const json_t *rows, const char *username)
{
	size_t i;
	long n = 0;

	for (i = 0; i < json_array_size(rows); i++) {
		const json_t *row = json_array_get(rows, i);

		if (strcmp(str_of(row, "username"), username) == 0)
			n++;
	}
	return n;
}

long
du_emu_users_named(const struct h_emu *e, const char *username)
{
	json_t *rows = h_emu_get(e, "/_emulator/users");
	long n = json_is_array(rows) ? count_named(rows, username) : -1;

	json_decref(rows);
	return n;
}

long
du_emu_user_count(const struct h_emu *e)
{
	json_t *rows = h_emu_get(e, "/_emulator/users");
	long n = -1;

	if (json_is_array(rows))
		n = (long)json_array_size(rows) - count_named(rows, H_EMU_USER);
	json_decref(rows);
	return n;
}

/* The id of the first user named username (caller frees), or NULL. */
static char *
user_id(const struct h_emu *e, const char *username)
{
	json_t *rows = h_emu_get(e, "/_emulator/users");
	char *id = NULL;
	size_t i, n = json_array_size(rows);

	for (i = 0; i < n; i++) {
		const json_t *row = json_array_get(rows, i);

		if (strcmp(str_of(row, "username"), username) == 0) {
			id = strdup(str_of(row, "id"));
			break;
		}
	}
	json_decref(rows);
	return id;
}

long
du_emu_markers(const struct h_emu *e, const char *username, const char *key,
	       char **ret_value)
{
	char *id = user_id(e, username);
	json_t *rows = NULL;
	char *value = NULL;
	size_t i;
	long n = -1;

	if (id == NULL)
		goto out;
	rows = h_emu_get(e, "/_emulator/metadata");
	if (!json_is_array(rows))
		goto out;
	n = 0;
	for (i = 0; i < json_array_size(rows); i++) {
		const json_t *row = json_array_get(rows, i);

		if (strcmp(str_of(row, "parent_id"), id) != 0 ||
		    strcmp(str_of(row, "key"), key) != 0)
			continue;
		if (value == NULL)
			value = strdup(str_of(row, "value"));
		n++;
	}
out:
	if (ret_value != NULL)
		*ret_value = value;
	else
		free(value);
	json_decref(rows);
	free(id);
	return n;
}

char *
du_emu_log(const struct h_emu *e, long long seq, long long *ret_last)
{
	char path[64];
	json_t *rows;
	long long last = seq;
	char *text;
	size_t i;

	(void)snprintf(path, sizeof(path), "/_emulator/log?since=%lld", seq);
	rows = h_emu_get(e, path);
	if (!json_is_array(rows)) {
		json_decref(rows);
		return NULL;
	}
	for (i = 0; i < json_array_size(rows); i++) {
		const json_t *row = json_array_get(rows, i);
		json_int_t s = json_integer_value(json_object_get(row, "seq"));

		if (s > last)
			last = s;
	}
	text = json_dumps(rows, JSON_COMPACT);
	json_decref(rows);
	if (text != NULL && ret_last != NULL)
		*ret_last = last;
	return text;
}

int
du_emu_reset(const struct h_emu *e)
{
	json_t *a = h_emu_post(e, "/_emulator/reset", "{\"store\": true}");
	json_t *b = h_emu_post(e, "/_emulator/config", "{\"latency_ms\": 0}");
	int r = a != NULL && b != NULL ? FT_OK : FT_E_HTTP;

	json_decref(a);
	json_decref(b);
	return r;
}

/* ---- PAM ------------------------------------------------------------- */

int
du_pam_service(const char *confdir, const char *service, const char *module,
	       const char *args)
{
	char path[PATH_MAX];
	FILE *f;
	int n;

	n = snprintf(path, sizeof(path), "%s/%s", confdir, service);
	if (n < 0 || (size_t)n >= sizeof(path))
		return FT_E_TOOBIG;
	f = fopen(path, "we");
	if (f == NULL)
		return FT_E_IO;
	n = fprintf(f,
		    "session optional %s %s\n"
		    "session required pam_permit.so\n",
		    module, args);
	if (fclose(f) != 0 || n < 0)
		return FT_E_IO;
	return FT_OK;
}

/* A conversation that answers nothing: the module never talks. */
static int
du_null_conv(int n, const struct pam_message **msg, struct pam_response **resp,
	     void *data)
{
	(void)n;
	(void)msg;
	(void)resp;
	(void)data;
	return PAM_CONV_ERR;
}

int
du_pam_session(const char *confdir, const char *service, const char *user)
{
	static const struct pam_conv conv = {du_null_conv, NULL};
	pam_handle_t *pamh = NULL;
	int r;

	r = pam_start_confdir(service, user, &conv, confdir, &pamh);
	if (r != PAM_SUCCESS)
		return r;
	r = pam_set_item(pamh, PAM_RHOST, "10.1.2.3");
	if (r == PAM_SUCCESS)
		r = pam_set_item(pamh, PAM_TTY, "ssh");
	if (r == PAM_SUCCESS)
		r = pam_open_session(pamh, 0);
	if (r == PAM_SUCCESS)
		(void)pam_close_session(pamh, 0);
	(void)pam_end(pamh, r);
	return r;
}

/* ---- LDAP ------------------------------------------------------------ */

static int
put_person(FILE *f, const char *prefix, unsigned i)
{
	return fprintf(f,
		       "\ndn: uid=%s%04u,ou=people,dc=example,dc=com\n"
		       "objectClass: inetOrgPerson\n"
		       "uid: %s%04u\n"
		       "cn: Person %04u\n"
		       "givenName: Person\n"
		       "sn: Number %04u\n"
		       "mail: %s%04u@example.com\n",
		       prefix, i, prefix, i, i, i, prefix, i);
}

int
du_write_ldif(const char *path, const char *prefix, unsigned n,
	      const char *extra)
{
	char *seed = h_read_file(H_LDIF_PEOPLE, NULL);
	FILE *f = NULL;
	unsigned i;
	int r = FT_E_IO;

	if (seed == NULL)
		goto out;
	f = fopen(path, "we");
	if (f == NULL || fputs(seed, f) < 0)
		goto out;
	for (i = 0; i < n; i++) {
		if (put_person(f, prefix, i) < 0)
			goto out;
	}
	if (extra != NULL && fprintf(f, "\n%s", extra) < 0)
		goto out;
	r = FT_OK;
out:
	if (f != NULL && fclose(f) != 0)
		r = FT_E_IO;
	free(seed);
	return r;
}
