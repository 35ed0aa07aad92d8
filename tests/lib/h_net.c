/* SPDX-License-Identifier: Apache-2.0 */
/* h_net.c: test library: TCP helpers, HTTP (libcurl), relays that cut. */
#include "harness.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
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
#include <sys/wait.h>
#include <unistd.h>

#include "ft_err.h"
#include "ft_util.h"

#define H_READ_MAX ((size_t)256 * 1024 * 1024)

/* ---- TCP ------------------------------------------------------------- */

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

bool
h_tcp_port_open(void *arg)
{
	int fd = h_tcp_connect(*(int *)arg);

	if (fd < 0)
		return false;
	(void)close(fd);
	return true;
}

/* Read what fd holds until it is quiet for 200 ms, closed, or buf full. */
static long
read_quiet(int fd, char *buf, size_t cap)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	size_t n = 0;
	ssize_t k;

	while (n + 1 < cap && poll(&pfd, 1, 200) > 0) {
		k = read(fd, buf + n, cap - 1 - n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		n += (size_t)k;
	}
	buf[n] = '\0';
	return (long)n;
}

long
h_tcp_take(int lfd, char *buf, size_t cap, unsigned wait_ms)
{
	struct pollfd pfd = {.fd = lfd, .events = POLLIN};
	long n;
	int fd;

	if (cap == 0 || poll(&pfd, 1, (int)wait_ms) <= 0)
		return -1;
	fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read_quiet(fd, buf, cap);
	(void)close(fd);
	return n;
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

/* ---- relays that cut, a server that answers junk ---------------------- */

#define ANSWER_MAX   ((size_t)8 << 20) /* one answer kept to parse it */
#define LDAP_OP_DONE 0x65              /* [APPLICATION 5] SearchResultDone */

/* Neither LDAP (no SEQUENCE tag) nor a complete HTTP answer. */
static const char junk[] = "HTTP/1.0 400 Bad Request\r\n\r\n"
			   "\x01\x02this is not the server you are looking for";

/* ---- the relay ----------------------------------------------------------- */

struct h_relay {
	enum h_relay_kind kind;
	pid_t pid;
	int port;         /* where clients connect */
	int port_to;      /* the server's port */
	size_t cut_after; /* BYTES: server-to-client bytes before the cut */
	pid_t kill_pid;   /* BYTES: killed at the cut (when > 0) */
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

/*
 * One client until either side closes (false) or the relay's cut came:
 * one complete answer went back (LDAP, HTTP) or the byte budget ran out
 * (BYTES: only what was left of it was sent).  True then.
 */
static bool
relay_one(int c, int srv, enum h_relay_kind kind, size_t *budget)
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
			if (k <= 0)
				break;
			if (kind == H_RELAY_BYTES && (size_t)k >= *budget) {
				(void)h_write_all(c, buf, *budget);
				done = true;
				break;
			}
			if (kind == H_RELAY_BYTES) {
				*budget -= (size_t)k;
				if (!h_write_all(c, buf, (size_t)k))
					break;
				continue;
			}
			if (!h_write_all(c, buf, (size_t)k) ||
			    !stream_add(&s, buf, (size_t)k))
				break;
			done = kind == H_RELAY_LDAP ? ldap_answered(&s)
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

/*
 * shared: [0] accepted, [1] cuts, written with __atomic builtins.  A
 * BYTES relay kills kill_pid at its cut and exits, which closes the
 * client, the server and the listening port at once.
 */
static void
relay_main(int lfd, const struct h_relay *r,
	   long *shared) /* NOLINT(readability-non-const-parameter) */
{
	size_t budget = r->cut_after;

	for (;;) {
		int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC), srv;
		bool cut;

		if (c < 0 && errno == EINTR)
			continue;
		if (c < 0)
			_exit(1);
		__atomic_add_fetch(&shared[0], 1, __ATOMIC_SEQ_CST);
		if (r->kind == H_RELAY_JUNK) {
			junk_one(c);
			(void)close(c);
			continue;
		}
		srv = h_tcp_connect(r->port_to);
		cut = srv >= 0 && relay_one(c, srv, r->kind, &budget);
		if (cut && r->kind == H_RELAY_BYTES) {
			if (r->kill_pid > 0)
				(void)kill(r->kill_pid, SIGKILL);
			_exit(0);
		}
		if (cut)
			__atomic_add_fetch(&shared[1], 1, __ATOMIC_SEQ_CST);
		(void)close(c);
		if (srv >= 0)
			(void)close(srv);
	}
}

/* Fork the relay r (kind, port_to, cut_after, kill_pid set). */
static struct h_relay *
relay_fork(struct h_relay *r)
{
	pid_t parent = getpid();
	int lfd = -1;

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
		relay_main(lfd, r, r->shared);
	}
	(void)close(lfd);
	if (r->pid > 0)
		return r;
fail:
	h_err("unable to start a relay: %s", strerror(errno));
	if (lfd >= 0)
		(void)close(lfd);
	if (r->shared != MAP_FAILED && r->shared != NULL)
		(void)munmap(r->shared, 4096);
	free(r);
	return NULL;
}

struct h_relay *
h_relay_start(enum h_relay_kind kind, int port)
{
	struct h_relay *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return NULL;
	r->kind = kind;
	r->port_to = port;
	return relay_fork(r);
}

struct h_relay *
h_relay_cutter(int port, size_t cut_after, pid_t kill_pid)
{
	struct h_relay *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return NULL;
	r->kind = H_RELAY_BYTES;
	r->port_to = port;
	r->cut_after = cut_after;
	r->kill_pid = kill_pid;
	return relay_fork(r);
}

int
h_relay_port(const struct h_relay *r)
{
	return r->port;
}

long
h_relay_accepted(const struct h_relay *r)
{
	return __atomic_load_n(&r->shared[0], __ATOMIC_SEQ_CST);
}

long
h_relay_cuts(const struct h_relay *r)
{
	return __atomic_load_n(&r->shared[1], __ATOMIC_SEQ_CST);
}

void
h_relay_stop(struct h_relay *r)
{
	if (r == NULL)
		return;
	(void)kill(r->pid, SIGKILL);
	(void)waitpid(r->pid, NULL, 0);
	(void)munmap(r->shared, 4096);
	free(r);
}

/* ---- /proc/net/tcp, URIs ----------------------------------------------- */

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
h_tcp_unread(int port)
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

int
h_uri_port(const char *uri)
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
