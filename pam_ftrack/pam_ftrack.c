/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pam_ftrack.c: the PAM entry points.  Note a login for ftrack-syncd in
 * microseconds; never block, fail or change the outcome of a login.
 *
 * Each pam_sm_* call parses its arguments, builds the event from PAM
 * items, sends it to the daemon's socket and, as root, falls back to the
 * spool folder.  It logs at most one line per call about the event (plus
 * one LOG_ERR per bad argument), only through pam_syslog, every line
 * through the one cleaner (ft_clean.h: a user name with a bidi override
 * or an escape is logged escaped).  No static
 * mutable state, no allocation, no fd left open; thread-safe.
 *
 * The answer does not depend on what happened to the event: the session
 * entry points always answer PAM_SUCCESS, the auth ones always
 * PAM_IGNORE (see the comments at each).
 */
#include <errno.h>
#include <security/pam_ext.h>
#include <security/pam_modules.h>
#include <stdarg.h>
#include <stdbool.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "ft_attrs.h"
#include "ft_clean.h"
#include "ft_err.h"
#include "ft_proto.h"
#include "pft_args.h"
#include "pft_sock.h"
#include "pft_spool.h"
#include "pft_trust.h"

/* LOG_DEBUG only with `debug`; with `quiet` nothing below LOG_ERR. */
static void FT_PRINTF(4, 5)
	pft_log(pam_handle_t *pamh, const struct pft_args *a, int prio,
		const char *fmt, ...)
{
	char line[FT_CLEAN_LINE_OUT];
	va_list ap;

	if (prio == LOG_DEBUG && !a->debug)
		return;
	if (a->quiet && prio > LOG_ERR)
		return;
	va_start(ap, fmt);
	(void)ft_clean_vfmt(line, sizeof(line), fmt, ap);
	va_end(ap);
	pam_syslog(pamh, prio, "%s", line);
}

/* Copy an optional PAM item into dst when it may travel in an event. */
static void
copy_item(pam_handle_t *pamh, const struct pft_args *a, int item, char *dst,
	  const char *what)
{
	const void *v = NULL;
	size_t len;

	dst[0] = '\0';
	if (pam_get_item(pamh, item, &v) != PAM_SUCCESS || v == NULL)
		return;
	len = strnlen(v, FT_PROTO_VALUE_MAX + 1);
	if (ft_proto_value_ok(v, len) < 0) {
		pft_log(pamh, a, LOG_DEBUG,
			"%s left out of the event: not valid UTF-8 text of at most %d bytes",
			what, FT_PROTO_VALUE_MAX);
		return;
	}
	memcpy(dst, v, len);
	dst[len] = '\0';
}

/* True when the user resolves to a uid below min_uid. */
static bool
below_min_uid(const struct pft_args *a, const char *user)
{
	uid_t uid;

	if (a->min_uid == 0)
		return false;
	if (pft_uid_of(user, &uid) < 0)
		return false; /* unknown here: the daemon decides */
	return (unsigned long long)uid < a->min_uid;
}

/*
 * Build the event from PAM items.  Returns FT_OK, or FT_E_NOTFOUND when
 * this login is not to be reported (already logged).
 */
static int
collect(pam_handle_t *pamh, const struct pft_args *a, struct ft_event *ev)
{
	const void *v = NULL;
	size_t len;

	if (pam_get_item(pamh, PAM_USER, &v) != PAM_SUCCESS || v == NULL ||
	    ((const char *)v)[0] == '\0') {
		pft_log(pamh, a, LOG_DEBUG, "no user name: nothing to report");
		return FT_E_NOTFOUND;
	}
	len = strnlen(v, FT_PROTO_VALUE_MAX + 1);
	if (ft_proto_value_ok(v, len) < 0) {
		pft_log(pamh, a, LOG_NOTICE,
			"unable to report this login: the user name is not valid UTF-8 text of at most %d bytes",
			FT_PROTO_VALUE_MAX);
		return FT_E_NOTFOUND;
	}
	if (pft_args_skip_user(a, v) || below_min_uid(a, v)) {
		pft_log(pamh, a, LOG_DEBUG,
			"'%s' skipped (skip_users, min_uid)", (const char *)v);
		return FT_E_NOTFOUND;
	}
	memcpy(ev->user, v, len);
	ev->user[len] = '\0';
	copy_item(pamh, a, PAM_SERVICE, ev->service, "service");
	copy_item(pamh, a, PAM_RHOST, ev->rhost, "rhost");
	copy_item(pamh, a, PAM_TTY, ev->tty, "tty");
	return FT_OK;
}

/* Encode ev, leaving out tty, rhost, then service until it fits. */
static int
encode(struct ft_event *ev, char *buf, size_t cap, size_t *ret_len)
{
	char *optional[] = {ev->tty, ev->rhost, ev->service};
	size_t i;
	int r;

	r = ft_event_encode(ev, buf, cap, ret_len);
	for (i = 0; r == FT_E_TOOBIG && i < 3; i++) {
		optional[i][0] = '\0';
		r = ft_event_encode(ev, buf, cap, ret_len);
	}
	return r;
}

/* One call's event on its way out. */
struct pft_call {
	pam_handle_t *pamh;
	const struct pft_args *a;
	struct pft_trust trust;
	const char *user;
	const char *msg;
	size_t len;
};

/* Text for a failure of pft_sock_send or pft_spool_write. */
static const char *
reason(int r, int err, const char *why, char *buf, size_t cap)
{
	if (r == FT_E_PERM)
		return why;
	if (r == FT_E_INVAL)
		return "the path does not fit a unix socket address";
	if (r == FT_E_TOOBIG)
		return "the user name is too long for a queue file name";
	return strerror_r(err, buf, cap);
}

/* Root fallback: spool the event; sock_prio rates the socket failure. */
static void
spool(struct pft_call *c, int sock_prio, const char *sock_why)
{
	const struct pft_args *a = c->a;
	const char *why = "";
	int r;

	r = pft_spool_write(a->spool, &c->trust, c->user, c->msg, c->len, &why);
	if (r < 0) {
		char ebuf[128];

		pft_log(c->pamh, a, LOG_ERR,
			"unable to spool the event for '%s' in '%s': %s (socket '%s': %s); event dropped",
			c->user, a->spool,
			reason(r, errno, why, ebuf, sizeof(ebuf)), a->socket,
			sock_why);
		return;
	}
	pft_log(c->pamh, a, sock_prio,
		"unable to hand the event for '%s' to '%s': %s; spooled in '%s'",
		c->user, a->socket, sock_why, a->spool);
}

/* The daemon did not take the event (r, why): spool it or drop it. */
static void
fallback(struct pft_call *c, int r, const char *why)
{
	const struct pft_args *a = c->a;
	const char *sock_why;
	char ebuf[128];
	int prio;

	sock_why = reason(r, errno, why, ebuf, sizeof(ebuf));
	/* A full queue is normal in a login storm; a bad socket is not. */
	if (r == FT_E_PERM || r == FT_E_INVAL)
		prio = LOG_ERR;
	else
		prio = r == FT_E_AGAIN ? LOG_INFO : LOG_NOTICE;
	if (geteuid() == 0) {
		spool(c, prio, sock_why);
		return;
	}
	pft_log(c->pamh, a, prio == LOG_ERR ? LOG_ERR : LOG_NOTICE,
		"unable to hand the event for '%s' to '%s': %s; event dropped (only root may spool)",
		c->user, a->socket, sock_why);
}

/* Send, else fall back (spool or drop, logged). */
static void
deliver(struct pft_call *c)
{
	const char *why = "";
	int r;

	r = pft_sock_send(c->a->socket, &c->trust, c->msg, c->len, &why);
	if (r < 0) {
		fallback(c, r, why);
		return;
	}
	pft_log(c->pamh, c->a, LOG_DEBUG, "event for '%s' sent to '%s'",
		c->user, c->a->socket);
}

/*
 * The one operation of every reporting entry point: report the login
 * (sent, spooled, dropped or skipped, and logged as such).  The outcome
 * is not the caller's answer: see the entry points.
 */
static void
notify(pam_handle_t *pamh, int argc, const char **argv)
{
	struct pft_args a;
	struct ft_event ev;
	struct pft_call c;
	char msg[FT_PROTO_MAX + 1];
	size_t len = 0;

	pft_args_parse(pamh, argc, argv, &a);
	memset(&ev, 0, sizeof(ev));
	if (collect(pamh, &a, &ev) < 0)
		return;
	if (encode(&ev, msg, sizeof(msg), &len) < 0) {
		pft_log(pamh, &a, LOG_ERR,
			"unable to encode the event for '%s'", ev.user);
		return;
	}
	memset(&c, 0, sizeof(c));
	c.pamh = pamh;
	c.a = &a;
	pft_trust_init(&c.trust, a.daemon_user);
	c.user = ev.user;
	c.msg = msg;
	c.len = len;
	deliver(&c);
}

/*
 * In the session stack the module answers PAM_SUCCESS whatever became
 * of the event, as pam_mkhomedir and pam_lastlog do.  libpam turns a
 * stack whose every module answered PAM_IGNORE into PAM_PERM_DENIED, so
 * a PAM_IGNORE here would fail the login (and every close) of a stack
 * that holds only pam_ftrack.  The session stack runs after the login
 * was decided: a success here vouches for nothing.
 */
int
pam_sm_open_session(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	(void)flags;
	notify(pamh, argc, argv);
	return PAM_SUCCESS;
}

/*
 * In the auth and account stacks the module reports the login but always
 * answers PAM_IGNORE: it checks no credential, so a PAM_SUCCESS there
 * could let a login through if a stack ever marked it `sufficient`, and
 * a stack of only pam_ftrack must keep refusing.
 */
int
pam_sm_authenticate(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	(void)flags;
	notify(pamh, argc, argv);
	return PAM_IGNORE;
}

int
pam_sm_acct_mgmt(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	(void)flags;
	notify(pamh, argc, argv);
	return PAM_IGNORE;
}

/*
 * Nothing to do at close, but a session entry point: PAM_SUCCESS (see
 * pam_sm_open_session; libpam replays open_session's chain at close, and
 * a PAM_IGNORE here fails the close even after a successful open).
 */
int
pam_sm_close_session(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	(void)pamh;
	(void)flags;
	(void)argc;
	(void)argv;
	return PAM_SUCCESS;
}

/*
 * Part of the auth stack: PAM_IGNORE like pam_sm_authenticate.  Without
 * a frozen chain (pam_setcred called with no pam_authenticate before,
 * as sshd does after a public key) a success could, under `sufficient`,
 * skip the later modules' setcred.  There is no pam_sm_chauthtok: a
 * password line naming pam_ftrack gets PAM_MODULE_UNKNOWN from libpam.
 */
int
pam_sm_setcred(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	(void)pamh;
	(void)flags;
	(void)argc;
	(void)argv;
	return PAM_IGNORE;
}
