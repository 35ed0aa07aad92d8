/* SPDX-License-Identifier: Apache-2.0 */
/* faults_util.c: support for the fault matrix suite (see faults_util.h). */
#include "faults_util.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon_util.h"
#include "ft_err.h"
#include "ft_proto.h"
#include "ft_util.h"
#include "harness.h"

#define ANSWER_MAX   ((size_t)8 << 20) /* one answer kept to parse it */
#define LDAP_OP_DONE 0x65              /* [APPLICATION 5] SearchResultDone */

/* Neither LDAP (no SEQUENCE tag) nor a complete HTTP answer. */
static const char junk[] = "HTTP/1.0 400 Bad Request\r\n\r\n"
			   "\x01\x02this is not the server you are looking for";

/* ---- the relay ----------------------------------------------------------- */

struct fu_relay {
	pid_t pid;
	int port;
	long *shared; /* [0] accepted, [1] cuts: a page shared with the child */
};

/* The server-to-client bytes of one connection, to find the answer's end. */
struct stream {
	unsigned char *buf;
	size_t len, cap;
};

static bool
stream_add(struct stream *s, const char *p, size_t n)
{
	if (s->len + n > ANSWER_MAX)
		return false;
	if (s->len + n > s->cap) {
		size_t cap = s->cap ? s->cap : 4096;
		unsigned char *b;

		while (cap < s->len + n)
			cap *= 2;
		b = realloc(s->buf, cap);
		if (b == NULL)
			return false;
		s->buf = b;
		s->cap = cap;
	}
	memcpy(s->buf + s->len, p, n);
	s->len += n;
	return true;
}

/*
 * The length of the complete LDAPMessage at p (n bytes available), 0
 * when it is not complete yet, -1 when it is not one; *ret_op gets the
 * tag of its protocolOp.
 */
static long
ldap_message(const unsigned char *p, size_t n, int *ret_op)
{
	size_t hl = 2, len, idlen;

	if (n < 2)
		return 0;
	if (p[0] != 0x30)
		return -1;
	len = p[1];
	if (p[1] >= 0x80) {
		size_t nb = p[1] & 0x7fu;

		if (nb == 0 || nb > 4)
			return -1;
		if (n < 2 + nb)
			return 0;
		len = 0;
		for (size_t i = 0; i < nb; i++)
			len = len << 8 | p[2 + i];
		hl += nb;
	}
	if (n < hl + len)
		return 0;
	/* messageID: INTEGER with a short length, then the protocolOp */
	if (len < 3 || p[hl] != 0x02 || p[hl + 1] > 4)
		return -1;
	idlen = p[hl + 1];
	if (2 + idlen >= len)
		return -1;
	*ret_op = p[hl + 2 + idlen];
	return (long)(hl + len);
}

/* True once s holds an LDAP SearchResultDone. */
static bool
ldap_answered(const struct stream *s)
{
	size_t off = 0;

	while (off < s->len) {
		int op = 0;
		long m = ldap_message(s->buf + off, s->len - off, &op);

		if (m <= 0)
			return false;
		if (op == LDAP_OP_DONE)
			return true;
		off += (size_t)m;
	}
	return false;
}

/* The Content-Length of the header block hdr (hlen bytes), or -1. */
static long
content_length(const char *hdr, size_t hlen)
{
	static const char name[] = "\r\ncontent-length:";
	size_t i, nl = sizeof(name) - 1;

	for (i = 0; i + nl < hlen; i++) {
		if (strncasecmp(hdr + i, name, nl) == 0) {
			char *end = NULL;
			long v = strtol(hdr + i + nl, &end, 10);

			return end != hdr + i + nl && v >= 0 ? v : -1;
		}
	}
	return -1;
}

/* True once s holds a complete HTTP response with a Content-Length. */
static bool
http_answered(const struct stream *s)
{
	const char *p = (const char *)s->buf;
	const char *end = p != NULL ? memmem(p, s->len, "\r\n\r\n", 4) : NULL;
	long cl;

	if (end == NULL)
		return false;
	cl = content_length(p, (size_t)(end - p) + 2);
	return cl >= 0 && s->len >= (size_t)(end - p) + 4 + (size_t)cl;
}

/* One client until either side closes or one answer went back: true then. */
static bool
relay_one(int c, int srv, enum fu_relay_kind kind)
{
	struct pollfd pfd[2] = {{.fd = c, .events = POLLIN},
				{.fd = srv, .events = POLLIN}};
	struct stream s = {NULL, 0, 0};
	char buf[16384];
	bool done = false;

	while (!done) {
		ssize_t k;

		if (poll(pfd, 2, -1) < 0 && errno != EINTR)
			break;
		if (pfd[0].revents) {
			k = read(c, buf, sizeof(buf));
			if (k <= 0 || !h_write_all(srv, buf, (size_t)k))
				break;
		}
		if (pfd[1].revents) {
			k = read(srv, buf, sizeof(buf));
			if (k <= 0 || !h_write_all(c, buf, (size_t)k) ||
			    !stream_add(&s, buf, (size_t)k))
				break;
			done = kind == FU_RELAY_LDAP ? ldap_answered(&s)
						     : http_answered(&s);
		}
	}
	free(s.buf);
	return done;
}

/* Read what the client sends for up to ms milliseconds, until EOF. */
static void
drain(int c, int ms)
{
	struct pollfd pfd = {.fd = c, .events = POLLIN};
	char buf[4096];

	while (poll(&pfd, 1, ms) > 0 && read(c, buf, sizeof(buf)) > 0)
		;
}

static void
junk_one(int c)
{
	drain(c, 100);
	(void)h_write_all(c, junk, sizeof(junk) - 1);
	(void)shutdown(c, SHUT_WR);
	drain(c, 1000);
}

/* shared: [0] accepted, [1] cuts, written with __atomic builtins */
static void
relay_main(int lfd, enum fu_relay_kind kind, int port,
	   long *shared) /* NOLINT(readability-non-const-parameter) */
{
	for (;;) {
		int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC), srv;

		if (c < 0 && errno == EINTR)
			continue;
		if (c < 0)
			_exit(1);
		__atomic_add_fetch(&shared[0], 1, __ATOMIC_SEQ_CST);
		if (kind == FU_RELAY_JUNK) {
			junk_one(c);
			(void)close(c);
			continue;
		}
		srv = h_tcp_connect(port);
		if (srv >= 0 && relay_one(c, srv, kind))
			__atomic_add_fetch(&shared[1], 1, __ATOMIC_SEQ_CST);
		(void)close(c);
		if (srv >= 0)
			(void)close(srv);
	}
}

struct fu_relay *
fu_relay_start(enum fu_relay_kind kind, int port)
{
	struct fu_relay *r = calloc(1, sizeof(*r));
	pid_t parent = getpid();
	int lfd = -1;

	if (r == NULL)
		return NULL;
	r->shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
			 /* cppcheck-suppress invalidFunctionArg */
			 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (r->shared == MAP_FAILED)
		goto fail;
	lfd = h_tcp_listen(&r->port);
	if (lfd < 0)
		goto fail;
	r->pid = fork();
	if (r->pid == 0) {
		(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(1);
		(void)signal(SIGPIPE, SIG_IGN);
		relay_main(lfd, kind, port, r->shared);
	}
	(void)close(lfd);
	if (r->pid > 0)
		return r;
fail:
	(void)fprintf(stderr, "faults: unable to start a relay: %s\n",
		      strerror(errno));
	if (lfd >= 0)
		(void)close(lfd);
	if (r->shared != MAP_FAILED && r->shared != NULL)
		(void)munmap(r->shared, 4096);
	free(r);
	return NULL;
}

int
fu_relay_port(const struct fu_relay *r)
{
	return r->port;
}

long
fu_relay_accepted(const struct fu_relay *r)
{
	return __atomic_load_n(&r->shared[0], __ATOMIC_SEQ_CST);
}

long
fu_relay_cuts(const struct fu_relay *r)
{
	return __atomic_load_n(&r->shared[1], __ATOMIC_SEQ_CST);
}

void
fu_relay_stop(struct fu_relay *r)
{
	if (r == NULL)
		return;
	(void)kill(r->pid, SIGKILL);
	(void)waitpid(r->pid, NULL, 0);
	(void)munmap(r->shared, 4096);
	free(r);
}

/* ---- processes and sockets ------------------------------------------------ */

long
fu_fd_count(pid_t pid)
{
	char path[64];
	struct dirent *e;
	long n = 0;
	DIR *d;

	(void)snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	d = opendir(path);
	if (d == NULL)
		return -1;
	/* cppcheck-suppress readdirCalled */
	while ((e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	(void)closedir(d);
	return n;
}

long
fu_status_kib(pid_t pid, const char *field)
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

/* One line of /proc/net/tcp: its local port, state and unread bytes. */
static bool
tcp_line(const char *line, unsigned long *ret_port, unsigned long *ret_st,
	 unsigned long *ret_rx)
{
	const char *p = strchr(line, ':'), *q;
	char *end = NULL;

	/* "  sl: 0100007F:PORT 0100007F:PORT ST TX:RX ..." */
	if (p == NULL || (p = strchr(p + 1, ':')) == NULL)
		return false;
	*ret_port = strtoul(p + 1, &end, 16);
	if (end == p + 1 || (q = strchr(end + 1, ' ')) == NULL)
		return false;
	*ret_st = strtoul(q + 1, &end, 16);
	if (end == q + 1 || (q = strchr(end + 1, ':')) == NULL)
		return false;
	*ret_rx = strtoul(q + 1, &end, 16);
	return end != q + 1;
}

int
fu_tcp_unread(int port)
{
	char *text = h_read_file("/proc/net/tcp", NULL), *line, *next;
	int found = 0;

	if (text == NULL)
		return -1;
	line = strchr(text, '\n'); /* the header */
	for (; line != NULL && !found; line = next) {
		unsigned long lport, st, rx;

		line++;
		next = strchr(line, '\n');
		if (next != NULL)
			*next = '\0';
		if (tcp_line(line, &lport, &st, &rx) &&
		    lport == (unsigned long)port && st == 1 /* ESTABLISHED */ &&
		    rx > 0)
			found = 1;
	}
	free(text);
	return found;
}

bool
fu_proc_stopped(pid_t pid)
{
	char path[64], *text, *p;
	bool yes;

	(void)snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	text = h_read_file(path, NULL);
	/* "PID (comm) S ...": comm may hold spaces, the state follows the
	 * last ')' */
	p = text != NULL ? strrchr(text, ')') : NULL;
	yes = p != NULL && p[1] == ' ' && p[2] == 'T';
	free(text);
	return yes;
}

int
fu_uri_port(const char *uri)
{
	const char *colon = strrchr(uri, ':');
	unsigned long long v = 0;
	char digits[8];
	size_t n;

	if (colon == NULL)
		return -1;
	n = strspn(colon + 1, "0123456789");
	if (n == 0 || n >= sizeof(digits))
		return -1;
	memcpy(digits, colon + 1, n);
	digits[n] = '\0';
	if (ft_parse_uint(digits, 65535, &v) < 0)
		return -1;
	return (int)v;
}

/* ---- the state folder ------------------------------------------------------ */

static int
put_event(int dfd, const char *user)
{
	char hex[2 * FT_PROTO_VALUE_MAX + 1], msg[FT_PROTO_MAX + 1];
	size_t len = du_event(user, msg, sizeof(msg));
	int fd, r;

	if (len == 0)
		return FT_E_INVAL;
	r = ft_hex_encode(user, strlen(user), hex, sizeof(hex));
	if (r < 0)
		return r;
	fd = openat(dfd, hex, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return FT_E_IO;
	r = h_write_all(fd, msg, len) ? FT_OK : FT_E_IO;
	if (close(fd) < 0)
		r = FT_E_IO;
	return r;
}

int
fu_queue_fill(const char *state, const char *prefix, unsigned n)
{
	char path[PATH_MAX], user[64];
	unsigned i;
	int dfd, r = FT_OK;

	if (snprintf(path, sizeof(path), "%s/queue", state) >=
	    (int)sizeof(path))
		return FT_E_TOOBIG;
	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		return FT_E_IO;
	dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return FT_E_IO;
	for (i = 0; i < n && r == FT_OK; i++) {
		if (snprintf(user, sizeof(user), "%s%06u", prefix, i) >=
		    (int)sizeof(user))
			r = FT_E_TOOBIG;
		else
			r = put_event(dfd, user);
	}
	if (r < 0)
		(void)fprintf(stderr, "faults: unable to fill %s: %s\n", path,
			      r == FT_E_IO ? strerror(errno) : ft_strerror(r));
	(void)close(dfd);
	return r;
}

/* ---- the matrix ------------------------------------------------------------- */

int
fu_matrix_line(const char *kind, const char *const fields[], size_t n)
{
	const char *out = getenv("FAULT_MATRIX_OUT");
	char line[4096];
	size_t len, i;
	int fd, r = FT_OK;

	if (out == NULL || out[0] == '\0')
		return FT_OK;
	len = (size_t)snprintf(line, sizeof(line), "%s", kind);
	for (i = 0; i < n && len < sizeof(line); i++) {
		if (strpbrk(fields[i], "|\r\n") != NULL)
			return FT_E_INVAL;
		len += (size_t)snprintf(line + len, sizeof(line) - len, "|%s",
					fields[i]);
	}
	if (len + 1 >= sizeof(line))
		return FT_E_INVAL;
	line[len++] = '\n';
	fd = open(out, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return FT_E_IO;
	if (!h_write_all(fd, line, len))
		r = FT_E_IO;
	if (close(fd) < 0)
		r = FT_E_IO;
	return r;
}
