/* SPDX-License-Identifier: Apache-2.0 */
/* extprog.c: one external program: checked, started, fed, read, stopped. */
#include "extprog.h"
#include "extprog_int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ft_err.h"
#include "ft_util.h"
#include "log.h"
#include "timing.h"

#define OUT_FIRST  (64u << 10) /* the output buffer's first size */
#define WAIT_SLICE 20          /* ms between looks at a child's exit */
#define TAG_MAX    32

struct extprog {
	char tag[TAG_MAX];
	pid_t pid;   /* started here, or 0 (socket) */
	int in;      /* its stdin, or -1 once closed */
	int out;     /* its stdout (the socket: the same as in) */
	int err;     /* its stderr, or -1 (socket, or at its end) */
	bool sock;   /* reached through a socket */
	bool reaped; /* waitpid has taken its status */
	int status;  /* exit code, 128 + signal, or -1 (not known) */
	char *obuf;  /* unread output: obuf[opos..olen) */
	size_t opos, olen, ocap;
	bool oeof;  /* no more output */
	bool oskip; /* dropping the rest of a line that was too long */
	char ebuf[EXTPROG_ERR_LINE];
	size_t elen;
	bool eskip; /* the rest of a cut stderr line */
	uint64_t ewin_ms;
	unsigned elogged, edropped;
};

/* ---- stderr into the log ---------------------------------------------- */

static void
err_line(struct extprog *p, const char *line, size_t len, bool cut)
{
	uint64_t now = timing_now_ms();

	if (now - p->ewin_ms >= 60000) {
		if (p->edropped > 0)
			log_warn(
				"%s: %u lines of its stderr not logged (over %u a minute)",
				p->tag, p->edropped, EXTPROG_ERR_PER_MIN);
		p->ewin_ms = now;
		p->elogged = 0;
		p->edropped = 0;
	}
	if (p->elogged >= EXTPROG_ERR_PER_MIN) {
		p->edropped++;
		return;
	}
	p->elogged++;
	log_warn("%s: stderr: %.*s%s", p->tag, (int)len, line,
		 cut ? " (cut)" : "");
}

static void
err_take(struct extprog *p, const char *data, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (data[i] == '\n') {
			if (!p->eskip)
				err_line(p, p->ebuf, p->elen, false);
			p->elen = 0;
			p->eskip = false;
		} else if (!p->eskip && p->elen == sizeof(p->ebuf)) {
			err_line(p, p->ebuf, p->elen, true);
			p->elen = 0;
			p->eskip = true;
		} else if (!p->eskip) {
			p->ebuf[p->elen++] = data[i];
		}
	}
}

static void
err_read(struct extprog *p)
{
	char buf[4096];

	for (;;) {
		ssize_t n = read(p->err, buf, sizeof(buf));

		if (n > 0) {
			err_take(p, buf, (size_t)n);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (p->elen > 0 && !p->eskip)
			err_line(p, p->ebuf, p->elen, false);
		p->elen = 0;
		(void)close(p->err);
		p->err = -1;
		return;
	}
}

/* ---- its output --------------------------------------------------- */

/* Room for more output: compact, then grow up to EXTPROG_OUT_MAX. */
static int
out_room(struct extprog *p)
{
	size_t ncap;
	char *n;

	if (p->opos > 0 && p->opos == p->olen) {
		p->opos = 0;
		p->olen = 0;
	}
	if (p->olen < p->ocap)
		return FT_OK;
	if (p->opos > 0) {
		memmove(p->obuf, p->obuf + p->opos, p->olen - p->opos);
		p->olen -= p->opos;
		p->opos = 0;
		return FT_OK;
	}
	if (p->ocap >= EXTPROG_OUT_MAX)
		return FT_E_TOOBIG;
	ncap = p->ocap ? p->ocap * 2 : OUT_FIRST;
	if (ncap > EXTPROG_OUT_MAX)
		ncap = EXTPROG_OUT_MAX;
	n = realloc(p->obuf, ncap);
	if (n == NULL)
		return FT_E_NOMEM;
	p->obuf = n;
	p->ocap = ncap;
	return FT_OK;
}

static int
out_read(struct extprog *p)
{
	for (;;) {
		int r = out_room(p);
		ssize_t n;

		if (r < 0)
			return r;
		n = read(p->out, p->obuf + p->olen, p->ocap - p->olen);
		if (n > 0) {
			p->olen += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return FT_OK;
		p->oeof = true; /* end of file, or a read error: no more */
		return FT_OK;
	}
}

/*
 * One poll of up to timeout_ms over its output, stderr and (want_write)
 * its input; reads what is there.  FT_OK (also when only time passed),
 * FT_E_TOOBIG (unread output at its bound), FT_E_IO, FT_E_NOMEM.
 */
static int
pump(struct extprog *p, int timeout_ms, bool want_write)
{
	struct pollfd fds[3];
	nfds_t n = 0;
	int r;

	fds[n++] =
		(struct pollfd){.fd = p->oeof ? -1 : p->out, .events = POLLIN};
	fds[n++] = (struct pollfd){.fd = p->err, .events = POLLIN};
	if (want_write && p->in >= 0 && !p->sock)
		fds[n++] = (struct pollfd){.fd = p->in, .events = POLLOUT};
	else if (want_write && p->in >= 0)
		fds[0].events |= POLLOUT;
	r = poll(fds, n, timeout_ms < 0 ? 0 : timeout_ms);
	if (r < 0)
		return errno == EINTR ? FT_OK : FT_E_IO;
	if (fds[1].fd >= 0 && fds[1].revents != 0)
		err_read(p);
	if (fds[0].fd >= 0 && (fds[0].revents & (POLLIN | POLLHUP | POLLERR)))
		return out_read(p);
	return FT_OK;
}

static int
left_ms(uint64_t deadline_ms)
{
	uint64_t now = timing_now_ms();

	if (now >= deadline_ms)
		return 0;
	return deadline_ms - now > INT_MAX ? INT_MAX : (int)(deadline_ms - now);
}

/* ---- starting ------------------------------------------------------- */

static struct extprog *
prog_new(const char *tag)
{
	struct extprog *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return NULL;
	(void)snprintf(p->tag, sizeof(p->tag), "%s", tag ? tag : "program");
	p->in = -1;
	p->out = -1;
	p->err = -1;
	p->status = -1;
	p->ewin_ms = timing_now_ms();
	return p;
}

static int
set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return FT_E_IO;
	return FT_OK;
}

static void
close_pair(int fd[2])
{
	if (fd[0] >= 0)
		(void)close(fd[0]);
	if (fd[1] >= 0)
		(void)close(fd[1]);
	fd[0] = fd[1] = -1;
}

static int
spawn_attrs(posix_spawnattr_t *a, posix_spawn_file_actions_t *fa,
	    const int pin[2], const int pout[2], const int perr[2])
{
	sigset_t none, all;
	int e;

	sigemptyset(&none);
	sigfillset(&all);
	e = posix_spawnattr_setflags(a, POSIX_SPAWN_SETSIGMASK |
						POSIX_SPAWN_SETSIGDEF |
						POSIX_SPAWN_SETPGROUP);
	if (e == 0)
		e = posix_spawnattr_setsigmask(a, &none);
	if (e == 0)
		e = posix_spawnattr_setsigdefault(a, &all);
	if (e == 0)
		e = posix_spawnattr_setpgroup(a, 0);
	if (e == 0)
		e = posix_spawn_file_actions_adddup2(fa, pin[0], 0);
	if (e == 0)
		e = posix_spawn_file_actions_adddup2(fa, pout[1], 1);
	if (e == 0)
		e = posix_spawn_file_actions_adddup2(fa, perr[1], 2);
	if (e == 0)
		e = posix_spawn_file_actions_addclosefrom_np(fa, 3);
	if (e == 0)
		e = posix_spawn_file_actions_addchdir_np(fa, "/");
	errno = e;
	return e == 0 ? FT_OK : FT_E_IO;
}

static int
spawn_run(struct extprog *p, char *real, const int pin[2], const int pout[2],
	  const int perr[2])
{
	posix_spawnattr_t a;
	posix_spawn_file_actions_t fa;
	int r, e;

	if (posix_spawnattr_init(&a) != 0)
		return FT_E_NOMEM;
	if (posix_spawn_file_actions_init(&fa) != 0) {
		posix_spawnattr_destroy(&a);
		return FT_E_NOMEM;
	}
	r = spawn_attrs(&a, &fa, pin, pout, perr);
	if (r == FT_OK) {
		static char env_path[] = EXTPROG_ENV_PATH,
			    env_lang[] = EXTPROG_ENV_LANG;
		char *argv[] = {real, NULL};
		char *envp[] = {env_path, env_lang, NULL};

		e = posix_spawn(&p->pid, real, &fa, &a, argv, envp);
		errno = e;
		r = e == 0 ? FT_OK : FT_E_IO;
	}
	e = errno;
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&a);
	errno = e;
	return r;
}

static int
spawn_prog(struct extprog *p, char *real)
{
	int pin[2] = {-1, -1}, pout[2] = {-1, -1}, perr[2] = {-1, -1};
	int r = FT_E_IO, e;

	/* the program's ends stay blocking: O_NONBLOCK is shared */
	if (pipe2(pin, O_CLOEXEC) < 0 || pipe2(pout, O_CLOEXEC) < 0 ||
	    pipe2(perr, O_CLOEXEC) < 0)
		goto out;
	if (set_nonblock(pin[1]) < 0 || set_nonblock(pout[0]) < 0 ||
	    set_nonblock(perr[0]) < 0)
		goto out;
	r = spawn_run(p, real, pin, pout, perr);
	if (r < 0)
		goto out;
	p->in = pin[1];
	p->out = pout[0];
	p->err = perr[0];
	pin[1] = pout[0] = perr[0] = -1;
out:
	e = errno;
	close_pair(pin);
	close_pair(pout);
	close_pair(perr);
	errno = e;
	return r;
}

static int
connect_sock(struct extprog *p, const char *socket_path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd;

	if (strlen(socket_path) >= sizeof(sa.sun_path)) {
		errno = ENAMETOOLONG;
		return FT_E_IO;
	}
	memcpy(sa.sun_path, socket_path, strlen(socket_path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return FT_E_IO;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    set_nonblock(fd) < 0) {
		int e = errno;

		(void)close(fd);
		errno = e;
		return FT_E_IO;
	}
	p->sock = true;
	p->in = fd;
	p->out = fd;
	return FT_OK;
}

static bool
is_socket(const char *path)
{
	struct stat st;

	return path != NULL && stat(path, &st) == 0 && S_ISSOCK(st.st_mode);
}

static void
sigpipe_ignore(void)
{
	struct sigaction sa;

	if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL)
		(void)signal(SIGPIPE, SIG_IGN);
}

int
extprog_start(const char *path, const char *socket_path, const char *tag,
	      struct extprog **ret, char *why, size_t cap)
{
	char real[PATH_MAX];
	struct extprog *p = NULL;
	bool sock = is_socket(socket_path);
	int r;

	r = extprog_resolve(path, real, why, cap);
	if (r < 0)
		return r;
	p = prog_new(tag);
	if (p == NULL)
		return FT_E_NOMEM;
	sigpipe_ignore();
	r = sock ? connect_sock(p, socket_path) : spawn_prog(p, real);
	if (r < 0) {
		(void)snprintf(why, cap, "unable to %s '%s': %s",
			       sock ? "connect to" : "start",
			       sock ? socket_path : real,
			       r == FT_E_IO ? strerror(errno) : ft_strerror(r));
		free(p);
		return r;
	}
	*ret = p;
	return FT_OK;
}

/* ---- the API -------------------------------------------------------- */

bool
extprog_spawned(const struct extprog *p)
{
	return !p->sock;
}

int
extprog_pid(const struct extprog *p)
{
	return p->pid;
}

int
extprog_fd_in(const struct extprog *p)
{
	return p->in;
}

int
extprog_fd_out(const struct extprog *p)
{
	return p->out;
}

int
extprog_fd_err(const struct extprog *p)
{
	return p->err;
}

static ssize_t
write_some(const struct extprog *p, const char *buf, size_t len)
{
	if (p->sock)
		return send(p->in, buf, len, MSG_NOSIGNAL);
	return write(p->in, buf, len);
}

int
extprog_write(struct extprog *p, const char *buf, size_t len,
	      uint64_t deadline_ms)
{
	while (len > 0) {
		ssize_t n;
		int r;

		if (p->in < 0) {
			errno = EPIPE;
			return FT_E_IO;
		}
		n = write_some(p, buf, len);
		if (n > 0) {
			buf += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno != EAGAIN)
			return FT_E_IO;
		if (left_ms(deadline_ms) == 0)
			return FT_E_AGAIN;
		r = pump(p, left_ms(deadline_ms), true);
		if (r < 0)
			return r;
	}
	return FT_OK;
}

/* The socket's last line: the exit status the adapter wrote. */
static bool
exit_line(struct extprog *p, const char *line, size_t len)
{
	size_t plen = strlen(EXTPROG_EXIT_PREFIX);
	char num[16];
	unsigned long long v;

	if (!p->sock || len <= plen || len - plen >= sizeof(num) ||
	    memcmp(line, EXTPROG_EXIT_PREFIX, plen) != 0)
		return false;
	memcpy(num, line + plen, len - plen);
	num[len - plen] = '\0';
	if (ft_parse_uint(num, 255, &v) != FT_OK)
		return false;
	p->status = (int)v;
	p->oeof = true;
	p->opos = p->olen = 0;
	return true;
}

/* A whole line at obuf[opos..]: FT_OK (copied), FT_E_TOOBIG, or
 * FT_E_AGAIN (none yet). */
static int
take_line(struct extprog *p, char *buf, size_t cap, size_t *ret_len)
{
	char *start = p->obuf + p->opos;
	char *nl = memchr(start, '\n', p->olen - p->opos);
	size_t len;

	if (nl == NULL) {
		if (p->olen - p->opos < cap &&
		    p->olen - p->opos < EXTPROG_OUT_MAX)
			return FT_E_AGAIN;
		p->opos = p->olen = 0;
		p->oskip = true;
		return FT_E_TOOBIG;
	}
	len = (size_t)(nl - start);
	p->opos += len + 1;
	if (p->oskip) {
		p->oskip = false; /* the end of the line reported too long */
		return take_line(p, buf, cap, ret_len);
	}
	if (len >= cap)
		return FT_E_TOOBIG;
	if (exit_line(p, start, len))
		return FT_E_AGAIN;
	memcpy(buf, start, len);
	buf[len] = '\0';
	*ret_len = len;
	return FT_OK;
}

int
extprog_read_line(struct extprog *p, char *buf, size_t cap, size_t *ret_len,
		  uint64_t deadline_ms)
{
	int r;

	if (cap == 0)
		return FT_E_TOOBIG;
	for (;;) {
		if (p->olen > p->opos) {
			r = take_line(p, buf, cap, ret_len);
			if (r != FT_E_AGAIN)
				return r;
		}
		if (p->oeof) {
			p->opos = p->olen = 0;
			errno = 0;
			return FT_E_IO;
		}
		r = pump(p, left_ms(deadline_ms), false);
		if (r < 0)
			return r;
		if (left_ms(deadline_ms) == 0 && !p->oeof &&
		    (p->olen == p->opos || memchr(p->obuf + p->opos, '\n',
						  p->olen - p->opos) == NULL))
			return FT_E_AGAIN;
	}
}

void
extprog_close_input(struct extprog *p)
{
	if (p->in < 0)
		return;
	if (p->sock)
		(void)shutdown(p->in, SHUT_WR);
	else
		(void)close(p->in);
	p->in = -1;
}

static int
status_of(int ws)
{
	if (WIFEXITED(ws))
		return WEXITSTATUS(ws);
	if (WIFSIGNALED(ws))
		return 128 + WTERMSIG(ws);
	return -1;
}

/* Has the child exited?  Takes its status. */
static bool
reap(struct extprog *p)
{
	int ws = 0;
	pid_t r;

	if (p->reaped || p->pid <= 0)
		return true;
	do
		r = waitpid(p->pid, &ws, WNOHANG);
	while (r < 0 && errno == EINTR);
	if (r == 0)
		return false;
	p->reaped = true;
	p->status = r == p->pid ? status_of(ws) : -1;
	return true;
}

/* Drain and discard its output for up to ms (stderr is logged). */
static void
drain(struct extprog *p, int ms)
{
	(void)pump(p, ms, false);
	p->opos = p->olen = 0;
}

static void
reap_until(struct extprog *p, uint64_t deadline_ms)
{
	while (!reap(p) && left_ms(deadline_ms) > 0)
		drain(p, left_ms(deadline_ms) < WAIT_SLICE
				 ? left_ms(deadline_ms)
				 : WAIT_SLICE);
}

/* SIGTERM, the grace, SIGKILL; the socket: close it. */
static void
stop(struct extprog *p)
{
	int ws;

	extprog_close_input(p);
	if (p->sock || p->reaped || p->pid <= 0)
		return;
	(void)kill(-p->pid, SIGTERM);
	reap_until(p, timing_now_ms() + EXTPROG_GRACE_MS);
	if (p->reaped)
		return;
	(void)kill(-p->pid, SIGKILL);
	while (waitpid(p->pid, &ws, 0) < 0 && errno == EINTR)
		;
	p->reaped = true;
	p->status = status_of(ws);
}

/* The socket: read to its end (or the deadline) for the exit line. */
static int
wait_sock(struct extprog *p, uint64_t deadline_ms, int *ret_status)
{
	char line[256];
	size_t n;
	int r;

	do
		r = extprog_read_line(p, line, sizeof(line), &n, deadline_ms);
	while (r == FT_OK || r == FT_E_TOOBIG);
	*ret_status = p->status;
	if (r == FT_E_IO && errno == 0)
		return p->status < 0 ? FT_E_PROTO : FT_OK;
	(void)shutdown(p->out, SHUT_RDWR);
	p->oeof = true;
	return FT_E_AGAIN;
}

int
extprog_wait(struct extprog *p, uint64_t deadline_ms, int *ret_status)
{
	extprog_close_input(p);
	if (p->sock)
		return wait_sock(p, deadline_ms, ret_status);
	reap_until(p, deadline_ms);
	if (!p->reaped) {
		stop(p);
		*ret_status = p->status;
		return FT_E_AGAIN;
	}
	if (p->err >= 0)
		err_read(p); /* what it wrote last, if still there */
	*ret_status = p->status;
	return FT_OK;
}

void
extprog_free(struct extprog *p)
{
	if (p == NULL)
		return;
	stop(p);
	if (p->err >= 0) {
		err_read(p);
		if (p->err >= 0)
			(void)close(p->err);
	}
	if (p->out >= 0)
		(void)close(p->out); /* stop() closed its input */
	free(p->obuf);
	free(p);
}
