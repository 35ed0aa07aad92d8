/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmd_run.c: `ftrack-syncd run`: the daemon's main loop.
 *
 * Past STYLE.md's ~600 lines on purpose: it is one job, the poll loop and
 * the state it owns (struct server: socket, signalfd, inotify, the
 * reconcile child, the metrics clock), in short functions; cut in two,
 * both halves would need that whole struct.
 *
 * One thread reads the login socket, the signals (signalfd) and the queue
 * folder (inotify), journals each accepted login and hands it to the
 * worker thread; it writes the metrics file and starts the periodic
 * reconcile as a child process (`ftrack-syncd reconcile --apply`), so
 * that a reconcile never blocks logins and never runs twice at once.
 * The scans of queue/ (at start, every SCAN_EVERY_MS, after an inotify
 * overflow) and the queue's counts for the metrics run on the qscan's
 * thread; the reader takes the users a scan found in slices of at most
 * SCAN_SLICE_MS between reads of the socket, so that a queue of 100,000
 * files never keeps it from the socket for long.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "config.h"
#include "ft_err.h"
#include "ft_util.h"
#include "hooks.h"
#include "hooks_deliver.h"
#include "listener.h"
#include "log.h"
#include "login.h"
#include "metrics.h"
#include "prov.h"
#include "qscan.h"
#include "queue.h"
#include "ratelimit.h"
#include "relay.h"
#include "report.h"
#include "seats.h"
#include "timing.h"
#include "worker.h"

#define READ_BURST       1024  /* datagrams per wake, then other fds */
#define SCAN_EVERY_MS    60000 /* full queue scan (inotify backstop) */
#define SCAN_SLICE_MS    5     /* scanned users taken at once, at most */
#define METRICS_EVERY_MS 10000
#define RATE_BURST       20    /* non-root sender: events at once */
#define RATE_PER_MINUTE  60    /* non-root sender: events a minute */
#define QUIET_EVERY_MS   60000 /* at most one line a minute on unlogged drops */
#define NO_LOGIN         "[ldap] login_format leaves no valid login name"

struct server {
	const char *config_path;
	struct config *cfg;
	struct config *retired; /* the config before a reload */
	struct queue *q;
	struct qscan *scan; /* scans and counts of queue/, off this thread */
	bool scan_more;     /* users of a scan wait: take more soon */
	struct worker *w;
	struct relay *relay;         /* instead of w in relay mode */
	struct prov *prov;           /* mode = provisioner: the HTTPS intake */
	struct hooks_deliver *hooks; /* the on_change delivery; NULL: none */
	int sock, sigfd, inofd;
	struct ratelimit rl;      /* events per non-root uid, and all of them */
	struct ratelimit warn_rl; /* log lines about dropped events */
	struct listener_senders *senders; /* the sender rule's memory */
	unsigned long long unlogged[LISTENER_RATE_NONROOT + 1]; /* by verdict */
	uint64_t next_unlogged_ms; /* no summary of them before */
	struct metrics m;          /* the reader's own counters */
	struct ft_event *burst;    /* READ_BURST events being journaled */
	uint64_t next_scan_ms, next_metrics_ms, next_reconcile_ms;
	pid_t reconcile_pid;
	uint64_t reconcile_started_ms;
	/* finished time of the last report taken, by run (apply, dry run) */
	long long report_seen[METRICS_RUN_COUNT];
	bool report_primed;
	unsigned long long recon_done[METRICS_USER_COUNT]; /* by reconciles */
	bool stop;
};

/* ---- the worker, or in relay mode the relay -------------------------- */

static bool
is_cooled(struct server *s, const char *user)
{
	return s->relay == NULL && worker_cooled(s->w, user);
}

/* user is queued: provision it (a login: now) or forward it. */
static int
hand_over(struct server *s, const char *user, bool login)
{
	if (s->relay != NULL) {
		relay_kick(s->relay);
		return FT_OK;
	}
	return login ? worker_login(s->w, user) : worker_submit(s->w, user);
}

static const char *
errtext(int r)
{
	return r == FT_E_IO ? strerror(errno) : ft_strerror(r);
}

static int
block_signals(int *ret_fd)
{
	sigset_t set;
	int fd;

	(void)signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGCHLD);
	/* before any thread starts, so that every thread inherits it */
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return FT_E_IO;
	fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (fd < 0)
		return FT_E_IO;
	*ret_fd = fd;
	return FT_OK;
}

static int
watch_queue(const struct config *cfg, int *ret_fd)
{
	char path[PATH_MAX];
	int fd, n;

	n = snprintf(path, sizeof(path), "%s/queue", cfg->daemon.state_dir);
	if (n < 0 || (size_t)n >= sizeof(path))
		return FT_E_TOOBIG;
	fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (fd < 0)
		return FT_E_IO;
	if (inotify_add_watch(fd, path, IN_MOVED_TO | IN_CLOSE_WRITE) < 0) {
		int saved = errno;

		(void)close(fd);
		errno = saved;
		return FT_E_IO;
	}
	*ret_fd = fd;
	return FT_OK;
}

/*
 * The one place where a name PAM had (a datagram's, a spool file's)
 * becomes the login the daemon works with: [ldap] login_format applied
 * into ret (FT_PROTO_VALUE_MAX + 1 bytes), so that ALICE@CORP and alice
 * are one queue file, one cooldown, one look-up.  False when no valid
 * login is left (e.g. "@CORP" under strip-realm).
 */
static bool
login_of(const struct server *s, const char *name, char *ret)
{
	return login_name(s->cfg->ldap.login_format, name, ret,
			  FT_PROTO_VALUE_MAX + 1) == FT_OK;
}

/*
 * A queue file of name (scan or inotify): journaled again under its
 * login when login_format changes the name (the PAM module spools what
 * PAM had), then provisioned unless cooled.
 */
static void
take_queued(struct server *s, const char *name)
{
	char user[FT_PROTO_VALUE_MAX + 1];
	int r;

	if (!login_of(s, name, user)) {
		/* like a damaged file: kept in failed/, not provisioned */
		r = queue_fail(s->q, name, NO_LOGIN);
		if (r == FT_OK)
			log_warn("queue file of '%s' moved to failed/: %s",
				 name, NO_LOGIN);
		else if (r != FT_E_NOTFOUND)
			log_error("unable to move the queue file of '%s' to "
				  "failed/: %s",
				  name, errtext(r));
		return;
	}
	if (strcmp(user, name) != 0) {
		r = queue_move(s->q, name, user);
		if (r == FT_E_NOTFOUND)
			return; /* gone: taken already */
		if (r == FT_E_PROTO) {
			s->next_scan_ms = 0; /* damaged: the scan moves it */
			return;
		}
		if (r < 0)
			log_error("unable to journal the login of '%s' as "
				  "'%s': %s",
				  name, user, errtext(r));
	}
	if (is_cooled(s, user)) {
		/* coalesced: provisioned moments ago */
		if (queue_remove(s->q, user) < 0)
			log_debug("unable to remove the queue file of '%s'",
				  user);
		return;
	}
	if (hand_over(s, user, false) < 0)
		log_error("unable to queue '%s': out of memory", user);
}

static void
on_damaged(void *ctx, const char *name, const char *reason)
{
	(void)ctx;
	log_warn("queue file '%s' moved to failed/: %s", name, reason);
}

/* A scan on the qscan's thread (after the one running, if any). */
static void
scan_queue(struct server *s)
{
	s->next_scan_ms = timing_now_ms() + SCAN_EVERY_MS;
	qscan_start(s->scan);
}

/*
 * The users a scan found, as many as SCAN_SLICE_MS allows (then the
 * socket again, and the rest at once after it), then the scan's end.
 */
static void
take_scanned(struct server *s)
{
	char user[QUEUE_USER_MAX + 1];
	uint64_t end = timing_now_ms() + SCAN_SLICE_MS;
	int r = FT_OK, e = 0;

	s->scan_more = false;
	while (qscan_next(s->scan, user, sizeof(user))) {
		take_queued(s, user);
		if (timing_now_ms() >= end) {
			s->scan_more = true;
			return;
		}
	}
	if (!qscan_done(s->scan, &r, &e))
		return;
	if (r == FT_E_AGAIN) {
		s->next_scan_ms = timing_now_ms() + 1000; /* the rest soon */
	} else if (r < 0) {
		errno = e;
		log_error("unable to scan the queue: %s", errtext(r));
	}
}

/* The limits of the sender rule, from the configuration. */
static void
init_limits(struct server *s)
{
	ratelimit_init(&s->rl, RATE_BURST, RATE_PER_MINUTE,
		       s->cfg->daemon.nonroot_rate);
	/* lines about drops: 5 at once and 5 a minute for one uid, 20 at
	 * once and 60 a minute for all of them (a share of 1/4 each) */
	ratelimit_init(&s->warn_rl, 5, 5, 60);
}

/*
 * One line about the drops that were not logged one by one, if any, at
 * most once a minute (force: now, at the stop).
 */
static void
log_unlogged(struct server *s, bool force)
{
	unsigned long long forged = s->unlogged[LISTENER_FORGED],
			   uid = s->unlogged[LISTENER_RATE_UID],
			   nonroot = s->unlogged[LISTENER_RATE_NONROOT];
	uint64_t now = timing_now_ms();

	if (forged + uid + nonroot == 0 ||
	    (!force && now < s->next_unlogged_ms))
		return;
	log_warn("%llu more login events dropped (%llu forged, %llu over a "
		 "uid's rate limit, %llu over nonroot_rate); not logged one "
		 "by one, at most one such line a minute",
		 forged + uid + nonroot, forged, uid, nonroot);
	memset(s->unlogged, 0, sizeof(s->unlogged));
	s->next_unlogged_ms = now + QUIET_EVERY_MS;
}

/*
 * Count an event the sender rule refused, and log it within warn_rl (a
 * few lines for one uid, a few more for all: never a line per datagram;
 * the rest goes into log_unlogged()).
 */
static void
refused(struct server *s, enum listener_verdict v, const struct ft_event *ev,
	uid_t uid, uint64_t now)
{
	if (v == LISTENER_FORGED)
		s->m.events_forged++;
	else
		s->m.events_dropped[v == LISTENER_RATE_UID
					    ? METRICS_DROP_RATE_LIMITED
					    : METRICS_DROP_NONROOT_RATE]++;
	if (!ratelimit_allow(&s->warn_rl, uid, now)) {
		s->unlogged[v]++;
		return;
	}
	if (v == LISTENER_FORGED)
		log_warn("forged login event dropped: uid %u may not report "
			 "'%s'",
			 (unsigned)uid, ev->user);
	else
		log_warn("login event of '%s' from uid %u dropped: over %s",
			 ev->user, (unsigned)uid,
			 v == LISTENER_RATE_UID ? "its rate limit"
						: "nonroot_rate");
}

/*
 * Whether a well-formed login from uid is to be provisioned.  The sender
 * rule (listener_judge) puts the checks that need no NSS look-up first:
 * uid 0, a remembered answer, the rate limits; a flood from many uids
 * costs neither look-ups nor a log line per datagram.  Then ev->user
 * becomes its login (login_of), which skip_users, the cooldown and the
 * journal see.
 */
static bool
admit(struct server *s, struct ft_event *ev, uid_t uid)
{
	const struct config_policy *pol = &s->cfg->policy;
	char login[sizeof(ev->user)];
	uint64_t now = timing_now_ms();
	enum listener_verdict v;

	/* the sender rule judges the name PAM had: the one NSS knows */
	v = listener_judge(s->senders, &s->rl, uid, ev->user, now);
	if (v != LISTENER_OK) {
		refused(s, v, ev, uid, now);
		return false;
	}
	if (!login_of(s, ev->user, login)) {
		s->m.events_dropped[METRICS_DROP_MALFORMED]++;
		log_debug("login event of '%s' dropped: %s", ev->user,
			  NO_LOGIN);
		return false;
	}
	memcpy(ev->user, login, sizeof(login));
	if (pol->on_login == ON_LOGIN_IGNORE ||
	    strlist_has(&pol->skip_users, ev->user)) {
		s->m.events_dropped[METRICS_DROP_SKIPPED]++;
		return false;
	}
	if (is_cooled(s, ev->user)) {
		log_debug("login of '%s' within login_cooldown", ev->user);
		return false;
	}
	return true;
}

/*
 * Journal a burst of admitted logins (one syncfs for all of them, so a
 * login storm costs one flush per burst, not two per login), then hand
 * them to the worker.  A journal failure (a full disk) is loud, and the
 * login is still provisioned from memory.
 */
static void
journal_burst(struct server *s, const struct ft_event *ev, size_t n)
{
	size_t i, written = 0;

	for (i = 0; i < n; i++) {
		int r = queue_put_nosync(s->q, &ev[i]);

		if (r == FT_OK) {
			written++;
			continue;
		}
		s->m.errors[METRICS_ERR_IO]++;
		log_error("unable to journal the login of '%s': %s", ev[i].user,
			  errtext(r));
	}
	if (written > 0 && queue_sync(s->q) < 0) {
		s->m.errors[METRICS_ERR_IO]++;
		log_error("unable to flush the queue: %s", strerror(errno));
	}
	for (i = 0; i < n; i++) {
		/* a login: one waiting for a seat is tried again now */
		if (hand_over(s, ev[i].user, true) < 0)
			log_error("unable to queue '%s': out of memory",
				  ev[i].user);
	}
}

static void
read_events(struct server *s)
{
	uid_t uid = 0;
	size_t n = 0;
	int i;

	for (i = 0; i < READ_BURST; i++) {
		int r = listener_recv_raw(s->sock, &s->burst[n], &uid);

		if (r == FT_E_AGAIN)
			break;
		if (r == FT_E_IO) {
			log_error("unable to read the socket: %s",
				  strerror(errno));
			break;
		}
		if (r == FT_E_PROTO) {
			s->m.events_dropped[METRICS_DROP_MALFORMED]++;
			log_debug("malformed datagram dropped");
			continue;
		}
		s->m.events_received++;
		if (admit(s, &s->burst[n], uid))
			n++;
	}
	journal_burst(s, s->burst, n);
}

static void
read_inotify(struct server *s)
{
	char buf[16384]
		__attribute__((aligned(__alignof__(struct inotify_event))));
	char user[QUEUE_USER_MAX + 1];
	size_t off;

	for (;;) {
		ssize_t n = read(s->inofd, buf, sizeof(buf));

		if (n <= 0)
			return;
		for (off = 0; off < (size_t)n;) {
			const struct inotify_event *e =
				(const struct inotify_event *)(void *)(buf +
								       off);

			off += sizeof(*e) + e->len;
			if (e->mask & IN_Q_OVERFLOW)
				s->next_scan_ms = 0;
			if (e->len == 0 || e->name[0] == '.')
				continue;
			if (ft_hex_decode(e->name, user, sizeof(user)) < 0)
				s->next_scan_ms = 0; /* the scan moves it */
			else
				take_queued(s, user);
		}
	}
}

/* The plan's kinds that are changes, in the metrics' order. */
static const enum plan_kind change_kinds[METRICS_CHANGE_COUNT] = {
	PLAN_CREATE,     PLAN_UPDATE,     PLAN_LINK,  PLAN_RENAME,
	PLAN_REACTIVATE, PLAN_DEACTIVATE, PLAN_DELETE};

/*
 * Take the last apply and the last dry run (run by this daemon, or by the
 * timer) from their reports; the changes an apply made are counted once.
 * A report is new when its finished time differs from the last one seen,
 * not only when it is later: after the wall clock was set back (or a run
 * when it was ahead), later runs must still reach the metrics.
 */
static void
note_reconcile(struct server *s)
{
	static const enum report_which which[METRICS_RUN_COUNT] = {
		REPORT_APPLY, REPORT_DRY_RUN};
	struct report_summary sum;
	bool count = s->report_primed;
	size_t k, i;

	s->report_primed = true; /* reports older than the daemon: not ours */
	for (k = 0; k < METRICS_RUN_COUNT; k++) {
		struct metrics_reconcile *mr = &s->m.last_reconcile[k];

		if (report_read_summary(queue_reports_dirfd(s->q), which[k],
					&sum) < 0 ||
		    sum.finished == s->report_seen[k])
			continue;
		if (count && sum.applied) {
			s->m.user_changes[METRICS_USER_DEACTIVATED] +=
				sum.done[PLAN_DEACTIVATE];
			s->m.user_changes[METRICS_USER_DELETED] +=
				sum.done[PLAN_DELETE];
			s->recon_done[METRICS_USER_CREATED] +=
				sum.done[PLAN_CREATE];
			s->recon_done[METRICS_USER_UPDATED] +=
				sum.done[PLAN_UPDATE] + sum.done[PLAN_RENAME];
			s->recon_done[METRICS_USER_LINKED] +=
				sum.done[PLAN_LINK];
			s->recon_done[METRICS_USER_REACTIVATED] +=
				sum.done[PLAN_REACTIVATE];
		}
		s->report_seen[k] = sum.finished;
		mr->time = sum.finished;
		mr->duration = sum.seconds;
		mr->result = sum.held     ? METRICS_RESULT_HELD
			     : sum.failed ? METRICS_RESULT_FAILED
					  : METRICS_RESULT_OK;
		for (i = 0; i < METRICS_CHANGE_COUNT; i++)
			mr->changes[i] = sum.applied
						 ? sum.done[change_kinds[i]]
						 : sum.planned[change_kinds[i]];
	}
}

/* A relay's counters and upstreams into m. */
static void
relay_metrics(struct server *s, struct metrics *m)
{
	struct relay_stats rs;
	size_t i;

	_Static_assert(METRICS_RELAY_MAX == RELAY_UP_MAX, "upstream count");
	relay_stats(s->relay, &rs);
	m->relay = true;
	m->relay_forwarded = rs.forwarded;
	m->relay_invalid = rs.invalid;
	m->relay_requests = rs.requests;
	m->relay_n = rs.n < s->cfg->relay.upstream.n ? rs.n
						     : s->cfg->relay.upstream.n;
	for (i = 0; i < m->relay_n; i++) {
		m->relay_url[i] = s->cfg->relay.upstream.v[i];
		m->relay_up[i] = rs.up[i];
	}
}

/*
 * The queue's counts: the qscan's last ones (at most one metrics period
 * old; a new count is asked for), or, final (at the stop), counted here.
 * False when there are none yet.
 */
static bool
queue_counts(struct server *s, bool final, struct qscan_counts *ret)
{
	if (final) {
		memset(ret, 0, sizeof(*ret));
		ret->valid = queue_depth(s->q, &ret->depth) == FT_OK &&
			     queue_failed_count(s->q, &ret->failed) == FT_OK &&
			     queue_held_count(s->q, &ret->held) == FT_OK;
		return true;
	}
	qscan_counts(s->scan, ret);
	qscan_count(s->scan);
	return ret->valid;
}

/* metrics.prom; final: at the stop (the queue counted here). */
static void
hook_metrics(struct server *s, struct metrics *m, const struct worker_stats *ws)
{
	struct hooks_deliver_stats hs;
	struct hooks_counts c;

	hooks_deliver_stats(s->hooks, &hs);
	m->hooks = s->hooks != NULL;
	m->hook_delivered = hs.delivered;
	m->hook_refused = hs.refused;
	m->hook_failed = hs.failed;
	m->hook_dropped = ws->hooks_dropped;
	if (hooks_count(queue_state_dirfd(s->q), &c) == FT_OK) {
		m->hook_pending = c.pending;
		m->hook_pending_bytes = c.pending_bytes;
		m->hook_failed_depth = c.failed;
	}
}

static void
write_metrics(struct server *s, bool final)
{
	struct worker_stats ws;
	struct qscan_counts qc;
	struct metrics m;
	size_t i;
	int r;

	if (!queue_counts(s, final, &qc)) {
		/* the first count is not in yet: soon */
		s->next_metrics_ms = timing_now_ms() + 100;
		return;
	}
	s->next_metrics_ms = timing_now_ms() + METRICS_EVERY_MS;
	note_reconcile(s);
	m = s->m;
	m.sender_lookups = listener_senders_lookups(s->senders);
	memset(&ws, 0, sizeof(ws));
	if (s->relay != NULL)
		relay_metrics(s, &m);
	else
		worker_stats(s->w, &ws);
	m.user_changes[METRICS_USER_CREATED] = ws.outcomes[SYNC_CREATED];
	m.user_changes[METRICS_USER_UPDATED] =
		ws.outcomes[SYNC_UPDATED] + ws.outcomes[SYNC_RENAMED];
	m.user_changes[METRICS_USER_LINKED] = ws.outcomes[SYNC_LINKED];
	m.user_changes[METRICS_USER_REACTIVATED] =
		ws.outcomes[SYNC_REACTIVATED];
	for (i = 0; i < METRICS_USER_COUNT; i++)
		m.user_changes[i] += s->recon_done[i];
	for (i = 0; i < METRICS_ERR_COUNT; i++)
		m.errors[i] += ws.errors[i];
	m.http_requests = ws.http_requests;
	m.ldap_up = ws.ldap_up;
	m.ftrack_up = ws.ftrack_up;
	m.seat_waiting = ws.seat_waiting;
	m.seat_refused = ws.outcomes[SYNC_SEAT_WAITING];
	m.logins_not_ldap = ws.outcomes[SYNC_NOT_LDAP];
	if (qc.valid) {
		m.queue_depth = qc.depth;
		m.failed_depth = qc.failed;
		m.held_seats = qc.held;
	}
	m.held = ws.outcomes[SYNC_HELD];
	hook_metrics(s, &m, &ws);
	m.groups = ws.groups;
	m.group_added = ws.gs.memberships_added;
	m.role_granted = ws.gs.roles_granted;
	m.group_failures = ws.gs.failures;
	m.group_names_read = ws.gs.read;
	m.group_names_resolved = ws.gs.resolved;
	m.group_names_missing = ws.gs.missing;
	m.transform = ws.transform;
	m.transform_outages = ws.xf.outages;
	m.transform_bad = ws.xf.bad;
	m.transform_failing = ws.xf.consecutive;
	r = metrics_write(&m, queue_state_dirfd(s->q), "metrics.prom");
	if (r < 0)
		log_warn("unable to write metrics.prom: %s", errtext(r));
}

/* Start `ftrack-syncd -c FILE reconcile --apply` unless one runs. */
static void
start_reconcile(struct server *s, const char *why)
{
	static char a0[] = "ftrack-syncd", a1[] = "-c", a3[] = "reconcile",
		    a4[] = "--apply";
	char *argv[] = {a0, a1, s->cfg->path, a3, a4, NULL};
	sigset_t none;
	posix_spawnattr_t attr;
	int e;

	if (s->cfg->policy.reconcile_interval > 0)
		s->next_reconcile_ms =
			timing_now_ms() +
			s->cfg->policy.reconcile_interval * 1000u;
	if (s->reconcile_pid > 0) {
		log_info("reconcile (%s) not started: one is running", why);
		return;
	}
	if (s->relay != NULL) {
		log_info("reconcile (%s) not started: a relay does not "
			 "reconcile (its provisioners do)",
			 why);
		return;
	}
	sigemptyset(&none);
	(void)posix_spawnattr_init(&attr);
	(void)posix_spawnattr_setsigmask(&attr, &none);
	(void)posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
	e = posix_spawn(&s->reconcile_pid, "/proc/self/exe", NULL, &attr, argv,
			environ);
	(void)posix_spawnattr_destroy(&attr);
	if (e != 0) {
		s->reconcile_pid = 0;
		log_error("unable to start the reconcile: %s", strerror(e));
		return;
	}
	s->reconcile_started_ms = timing_now_ms();
	log_info("reconcile started (%s), pid %ld", why,
		 (long)s->reconcile_pid);
}

static void
reap_reconcile(struct server *s)
{
	int status;
	pid_t pid;

	if (s->reconcile_pid <= 0)
		return;
	pid = waitpid(s->reconcile_pid, &status, WNOHANG);
	if (pid != s->reconcile_pid)
		return;
	s->reconcile_pid = 0;
	if (s->w != NULL) /* groups or roles it renamed or made */
		worker_refresh_groups(s->w);
	if (WIFEXITED(status) && WEXITSTATUS(status) <= EXIT_CHANGES &&
	    WEXITSTATUS(status) != EXIT_USAGE) {
		log_info("reconcile finished (exit %d)", WEXITSTATUS(status));
	} else {
		/* it wrote no report: say so in the metrics (the daemon
		 * starts only --apply runs) */
		struct metrics_reconcile *mr =
			&s->m.last_reconcile[METRICS_RUN_APPLY];

		mr->time = (long long)time(NULL);
		mr->duration =
			(double)(timing_now_ms() - s->reconcile_started_ms) /
			1000.0;
		mr->result = METRICS_RESULT_FAILED;
		memset(mr->changes, 0, sizeof(mr->changes));
		log_error("reconcile failed (%s %d)",
			  WIFEXITED(status) ? "exit" : "signal",
			  WIFEXITED(status) ? WEXITSTATUS(status)
					    : WTERMSIG(status));
	}
	write_metrics(s, false);
}

/* The provisioner's CA, CRL and deny_file again, and cfg from now on. */
static void
reload_prov(struct server *s, const struct config *cfg)
{
	char err[1024];

	if (s->prov == NULL)
		return;
	if (prov_reload(s->prov, cfg, err, sizeof(err)) < 0)
		log_error("unable to reread the client CA, CRL or deny_file, "
			  "keeping the old ones: %s",
			  err);
	else
		log_info("client CA, CRL and deny_file reread");
}

static int start_hooks(struct server *s, const struct config *cfg);

static void
reload(struct server *s)
{
	struct config *cfg = NULL;
	char err[1024];
	int r;

	if (s->retired != NULL) {
		log_warn("reload ignored: the previous one is still settling");
		return;
	}
	r = config_load(s->config_path, &cfg, err, sizeof(err));
	if (r < 0) {
		log_error("unable to reload the configuration, keeping the "
			  "old one: %s",
			  err);
		reload_prov(s, s->cfg); /* the CRL and deny_file all the same */
		return;
	}
	if (cfg->daemon.mode != s->cfg->daemon.mode) {
		/* the worker or the relay is chosen at the start */
		log_error("unable to reload the configuration, keeping the "
			  "old one: [daemon] mode changed; restart the daemon "
			  "to change it");
		config_free(cfg);
		return;
	}
	reload_prov(s, cfg);
	if (strcmp(cfg->daemon.socket, s->cfg->daemon.socket) != 0 ||
	    strcmp(cfg->daemon.state_dir, s->cfg->daemon.state_dir) != 0)
		log_warn("daemon.socket and daemon.state_dir take effect at "
			 "the next restart");
	log_set(cfg->daemon.log_target == LOG_TARGET_STDERR,
		cfg->daemon.log_level);
	if (s->relay != NULL)
		relay_set_config(s->relay, cfg);
	else
		worker_set_config(s->w, cfg);
	if (s->hooks != NULL)
		hooks_deliver_set_config(s->hooks, cfg);
	else if (s->relay == NULL)
		(void)start_hooks(s, cfg);
	s->retired = s->cfg;
	s->cfg = cfg;
	if (cfg->daemon.nonroot_rate != s->retired->daemon.nonroot_rate)
		init_limits(s); /* every bucket full again */
	log_info("configuration reloaded from %s", cfg->path);
	cmd_log_warnings(cfg);
}

static void
read_signals(struct server *s)
{
	struct signalfd_siginfo si;

	while (read(s->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGTERM:
		case SIGINT:
			s->stop = true;
			break;
		case SIGHUP:
			reload(s);
			break;
		case SIGUSR1:
			start_reconcile(s, "SIGUSR1");
			break;
		case SIGCHLD:
			reap_reconcile(s);
			break;
		default:
			break;
		}
	}
}

static int
poll_timeout(const struct server *s)
{
	uint64_t now = timing_now_ms(), next = now + 1000;

	if (s->next_metrics_ms < next)
		next = s->next_metrics_ms;
	if (s->next_scan_ms < next)
		next = s->next_scan_ms;
	if (s->scan_more)
		next = now;
	if (s->next_reconcile_ms && s->next_reconcile_ms < next)
		next = s->next_reconcile_ms;
	return next > now ? (int)(next - now) : 0;
}

static void
tick(struct server *s)
{
	uint64_t now = timing_now_ms();

	if (now >= s->next_scan_ms)
		scan_queue(s);
	if (now >= s->next_metrics_ms)
		write_metrics(s, false);
	log_unlogged(s, false);
	if (s->next_reconcile_ms && now >= s->next_reconcile_ms)
		start_reconcile(s, "reconcile_interval");
	if (s->retired != NULL &&
	    (s->relay != NULL ? relay_config_retired(s->relay, s->retired)
			      : worker_config_retired(s->w, s->retired))) {
		config_free(s->retired);
		s->retired = NULL;
	}
}

static void
serve(struct server *s)
{
	struct pollfd pfd[4] = {{.fd = s->sock, .events = POLLIN},
				{.fd = s->sigfd, .events = POLLIN},
				{.fd = s->inofd, .events = POLLIN},
				{.fd = qscan_fd(s->scan), .events = POLLIN}};

	while (!s->stop) {
		if (poll(pfd, 4, poll_timeout(s)) < 0 && errno != EINTR) {
			log_error("unable to poll: %s", strerror(errno));
			break;
		}
		if (pfd[1].revents & POLLIN)
			read_signals(s);
		if (pfd[0].revents & POLLIN)
			read_events(s);
		if (pfd[2].revents & POLLIN)
			read_inotify(s);
		if ((pfd[3].revents & POLLIN) || s->scan_more)
			take_scanned(s);
		tick(s);
	}
}

/* mode = provisioner: serve the relays (after the worker and inotify). */
static int
start_prov(struct server *s)
{
	const struct config_provisioner *p = &s->cfg->provisioner;
	char err[1024];
	size_t i;
	int r;

	if (s->cfg->daemon.mode != MODE_PROVISIONER)
		return FT_OK;
	r = prov_start(s->cfg, s->q, &s->prov, err, sizeof(err));
	if (r < 0) {
		log_error("unable to start the provisioner: %s", err);
		return r;
	}
	for (i = 0; i < p->listen.n; i++)
		log_info("provisioner listening on %s (HTTPS)", p->listen.v[i]);
	if (p->metrics_listen != NULL)
		log_info("metrics on http://%s/metrics", p->metrics_listen);
	return FT_OK;
}

/*
 * Tests only: FTRACK_SYNCD_TEST_SEAT_PERIOD (seconds) shortens the seat
 * caps' hour, so that a test sees a new period begin; never set it in
 * production (the caps then count per that period, not per hour).
 */
static void
set_test_seat_period(struct worker *w)
{
	const char *v = getenv("FTRACK_SYNCD_TEST_SEAT_PERIOD");
	char *end = NULL;
	long secs;

	if (v == NULL || *v == '\0')
		return;
	secs = strtol(v, &end, 10);
	if (end == v || *end != '\0' || secs <= 0 || secs > SEATS_PERIOD)
		return;
	log_warn("FTRACK_SYNCD_TEST_SEAT_PERIOD: seat caps count per %ld s "
		 "(a test setting)",
		 secs);
	worker_set_seat_period(w, secs);
}

/*
 * Tests only: FTRACK_SYNCD_TEST_HOOK_BACKOFF_MS shortens the on_change
 * back-off (base and cap, ms), so that a test sees ten refusals; never
 * set it in production.
 */
static void
set_test_hook_backoff(struct hooks_deliver *d)
{
	const char *v = getenv("FTRACK_SYNCD_TEST_HOOK_BACKOFF_MS");
	unsigned long long ms;

	if (v == NULL || *v == '\0' || ft_parse_uint(v, 3600000, &ms) < 0 ||
	    ms == 0)
		return;
	log_warn("FTRACK_SYNCD_TEST_HOOK_BACKOFF_MS: on_change retried "
		 "after %llu ms (a test setting)",
		 ms);
	hooks_deliver_set_backoff(d, ms, ms);
}

/* The on_change delivery, when cfg has one (standalone, provisioner). */
static int
start_hooks(struct server *s, const struct config *cfg)
{
	int r = hooks_deliver_new(cfg, queue_state_dirfd(s->q), &s->hooks);

	if (r == FT_OK && s->hooks != NULL) {
		set_test_hook_backoff(s->hooks);
		r = hooks_deliver_start(s->hooks);
		if (r == FT_OK)
			log_info("on_change hook: %s", cfg->hooks.on_change);
	}
	if (r < 0) {
		log_error("unable to start the on_change delivery: %s",
			  errtext(r));
		hooks_deliver_free(s->hooks);
		s->hooks = NULL;
	}
	return r;
}

static int
server_open(struct server *s)
{
	int r;

	r = queue_open(s->cfg->daemon.state_dir, &s->q);
	if (r < 0) {
		log_error("unable to open the state folder '%s': %s",
			  s->cfg->daemon.state_dir, errtext(r));
		return r;
	}
	r = block_signals(&s->sigfd);
	if (r == FT_OK)
		r = watch_queue(s->cfg, &s->inofd);
	if (r < 0) {
		log_error("unable to set up signals or inotify: %s",
			  errtext(r));
		return r;
	}
	r = qscan_new(s->q, on_damaged, s, &s->scan); /* signals blocked */
	if (r < 0) {
		log_error("unable to start the queue scans: %s", errtext(r));
		return r;
	}
	r = listener_open(s->cfg->daemon.socket, &s->sock);
	if (r < 0) {
		log_error("unable to listen on '%s': %s", s->cfg->daemon.socket,
			  errtext(r));
		return r;
	}
	s->burst = calloc(READ_BURST, sizeof(*s->burst));
	s->senders = listener_senders_new();
	if (s->burst == NULL || s->senders == NULL) {
		log_error("unable to start: out of memory");
		return FT_E_NOMEM;
	}
	if (s->cfg->daemon.mode == MODE_RELAY) {
		r = relay_new(s->cfg, s->q, &s->relay);
		if (r == FT_OK)
			r = relay_start(s->relay);
		if (r < 0)
			log_error("unable to start the relay: %s", errtext(r));
		return r;
	}
	r = worker_new(s->cfg, s->q, &s->w);
	if (r == FT_OK) {
		set_test_seat_period(s->w);
		r = worker_start(s->w);
	}
	if (r < 0) {
		log_error("unable to start the worker: %s", errtext(r));
		return r;
	}
	/* without its delivery, changes wait in hooks/: provisioning goes on */
	(void)start_hooks(s, s->cfg);
	return start_prov(s);
}

static void
server_close(struct server *s)
{
	prov_free(s->prov); /* no request journals past this */
	s->prov = NULL;
	qscan_free(s->scan); /* ends a scan under way */
	s->scan = NULL;
	if (s->sock >= 0) {
		(void)unlink(s->cfg->daemon.socket);
		(void)close(s->sock);
	}
	if (s->w != NULL) {
		worker_free(s->w); /* finishes the batch in hand */
		s->w = NULL;
	}
	relay_free(s->relay); /* finishes the request in hand */
	s->relay = NULL;
	hooks_deliver_free(s->hooks); /* a hook running is stopped */
	s->hooks = NULL;
	if (s->reconcile_pid > 0)
		log_info("reconcile pid %ld left to finish on its own",
			 (long)s->reconcile_pid);
	if (s->sigfd >= 0)
		(void)close(s->sigfd);
	if (s->inofd >= 0)
		(void)close(s->inofd);
	queue_free(s->q);
	free(s->burst);
	listener_senders_free(s->senders);
	config_free(s->retired);
	config_free(s->cfg);
}

int
cmd_run(int argc, char **argv, const char *config_path)
{
	struct server s = {.config_path = config_path,
			   .sock = -1,
			   .sigfd = -1,
			   .inofd = -1};
	int r, code;

	code = cmd_open_noargs(argc, argv, config_path, false, &s.cfg);
	if (code != EXIT_OK)
		return code;
	cmd_log_warnings(s.cfg);
	init_limits(&s);
	r = server_open(&s);
	if (r == FT_OK) {
		if (s.cfg->policy.reconcile_interval > 0)
			s.next_reconcile_ms =
				timing_now_ms() +
				s.cfg->policy.reconcile_interval * 1000u;
		log_info("listening on %s", s.cfg->daemon.socket);
		note_reconcile(&s);
		scan_queue(&s);
		serve(&s);
		log_unlogged(&s, true);
		write_metrics(&s, true);
		log_info("stopped");
	}
	server_close(&s);
	return r == FT_OK ? EXIT_OK : EXIT_ERRORS;
}
