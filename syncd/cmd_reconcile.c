/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmd_reconcile.c: `ftrack-syncd reconcile [--apply [--force]] [--json]`
 * and `reconcile --undo RUN [--apply] [--json]`.
 *
 * Reads every LDAP entry and every ftrack user, builds the plan with its
 * guards (plan_recon.c), prints it, and with --apply writes it in batches.
 * A held run writes nothing.  Every run leaves its report (an apply
 * reports/last-apply.json, a dry run reports/last-dry-run.json, held.json
 * when held); an applied run that wrote changes keeps it as
 * reports/runs/RUN.json too.  --undo RUN reads that report and every
 * ftrack user, and plans (plan_undo.c) what puts back what that run
 * changed; it is applied, and reported, like any other plan.  One
 * reconciler at a time: a lock file keeps two runs of one state folder
 * apart, and an applied run (an undo too) holds the reconcile lease in
 * ftrack (lease.h) from before it reads to after it writes, so that two
 * hosts never reconcile at once; a dry run writes nothing to ftrack and
 * takes no lease.  The max_shrink mark is ftrack's ftrack_syncd.last_good
 * (last-good.json is this host's cache), and a marker schema newer than
 * this binary's refuses the run.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "config.h"
#include "ft_clean.h"
#include "ft_err.h"
#include "ftrack_api.h"
#include "hooks.h"
#include "ldap_src.h"
#include "lease.h"
#include "log.h"
#include "plan_ops.h"
#include "plan_recon.h"
#include "plan_undo.h"
#include "queue.h"
#include "report.h"
#include "state.h"
#include "sync_groups.h"
#include "timing.h"
#include "transform.h"

#define SKIPS_KEPT 1000 /* skipped LDAP entries listed in the report */

struct run {
	struct config *cfg;
	const char *undo;             /* --undo RUN; NULL otherwise */
	struct ft_user *undo_targets; /* the undo plan's values to put back */
	struct queue *q;
	struct ftrack_client *ft;
	int *codes;
	char **messages;
	double t0;
	struct ft_user_list ldap, ftrack;
	struct ft_user_list unmapped;     /* identities of skipped entries */
	struct report_run undone;         /* that run's report */
	struct sync_groups_result groups; /* [group_map], [role_map] */
	struct report rep;
	struct report_last_good good; /* the mark max_shrink compares with */
	struct report_last_good good_now;
	struct lease lease;     /* held by an applied run */
	struct lease_view view; /* ftrack's records on the API user */
	struct plan_recon plan;
	struct ldap_src_stats lst;
	struct report_skip skips[SKIPS_KEPT];
	int ldap_status;
	int lock; /* reconcile.lock, its note our nonce */
	bool apply, force, json;
	bool kept_run;        /* its report is in reports/runs/ */
	bool skip_oom;        /* one of them could not be kept */
	bool good_from_cache; /* ftrack had none: ours, to copy */
	bool applied;         /* the plan was sent to ftrack */
	bool good_run;        /* applied, guards passed: good_now */
	char run_id[REPORT_RUN_ID_MAX];
	char note[STATE_NOTE_MAX]; /* the note found: a dead run's lease */
};

static int
on_ldap_user(void *ctx, struct ft_user *u)
{
	struct run *run = ctx;

	return ft_user_list_push(&run->ldap, u);
}

static char *
dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

/* The report's list of skipped entries, and the log. */
static void
note_skip(struct run *run, const char *dn, const char *reason)
{
	size_t n = run->rep.nskipped;

	log_warn("LDAP entry '%s' skipped: %s", dn, reason);
	if (n < SKIPS_KEPT) {
		run->skips[n].dn = strdup(dn);
		run->skips[n].reason = strdup(reason);
		if (run->skips[n].dn && run->skips[n].reason)
			run->rep.nskipped++;
	}
}

/* What can be told of an entry not used, kept for the plan (its ftrack
 * user is kept); note: why the transform refused it, or NULL. */
static void
keep_identity(struct run *run, const struct ft_user *id, const char *note)
{
	struct ft_user copy = {0};

	copy.dn = dup_or_null(id->dn);
	copy.login = dup_or_null(id->login);
	copy.uuid = dup_or_null(id->uuid);
	copy.username = dup_or_null(id->username);
	copy.note = dup_or_null(note);
	/* on OOM the entry counts as unidentified: the run is held */
	if (copy.dn == NULL || (note != NULL && copy.note == NULL) ||
	    ft_user_list_push(&run->unmapped, &copy) < 0) {
		ft_user_clear(&copy);
		run->skip_oom = true;
	}
}

static void
on_ldap_skip(void *ctx, const struct ft_user *id, const char *reason)
{
	struct run *run = ctx;

	note_skip(run, id->dn, reason);
	keep_identity(run, id, NULL);
}

static void
read_ldap(struct run *run)
{
	struct ldap_src *src = NULL;
	double t0;

	t0 = timing_now_s();
	run->ldap_status = ldap_src_new(run->cfg, &src);
	if (run->ldap_status == FT_OK)
		run->ldap_status = ldap_src_search_all(
			src, on_ldap_user, on_ldap_skip, run, &run->lst);
	if (run->ldap_status == FT_OK && run->skip_oom)
		run->ldap_status = FT_E_NOMEM;
	ldap_src_free(src);
	run->rep.ldap_seconds = timing_now_s() - t0;
	run->rep.ldap_entries = run->lst.entries;
	run->rep.ldap_disabled = run->lst.disabled;
	run->rep.ldap_skipped = run->lst.skipped;
	run->rep.ldap_pages = run->lst.pages;
	run->rep.ldap_error = run->ldap_status == FT_OK ? "" : run->lst.reason;
	if (run->lst.referrals_ignored > 0)
		log_info("LDAP continuation references skipped by "
			 "ignore_referrals: %lu, to %s",
			 run->lst.referrals_ignored, run->lst.ignored);
	if (run->ldap_status < 0)
		log_error("unable to read LDAP completely: %s",
			  run->lst.reason[0] ? run->lst.reason
					     : ft_strerror(run->ldap_status));
}

/* A user the transform refused: kept like an entry that cannot be mapped,
 * its ftrack user never a leaver. */
static void
transform_refused(struct run *run, const struct ft_user *u, const char *reason)
{
	char why[TRANSFORM_REASON_MAX + 32];

	(void)snprintf(why, sizeof(why), "the transform failed: %s", reason);
	note_skip(run, u->dn ? u->dn : "?", why);
	run->rep.ldap_skipped++;
	keep_identity(run, u, reason);
}

/* A user the transform does not keep: out of scope, or refused. */
static void
on_transform_drop(void *ctx, const struct ft_user *u,
		  const struct transform_item *it)
{
	struct run *run = ctx;

	if (it->verdict == TRANSFORM_SKIP)
		log_info("LDAP entry '%s' skipped by the transform: %s",
			 u->dn ? u->dn : "?", it->reason);
	else
		transform_refused(run, u, it->reason);
}

/*
 * [mapping] transform over every LDAP user read.  An outage (it cannot
 * start, exits, times out) fails the run: FT_E_AGAIN, nothing planned.
 */
static int
transform_ldap(struct run *run)
{
	struct transform *t = NULL;
	char err[TRANSFORM_REASON_MAX] = "out of memory";
	int r;

	if (!transform_configured(run->cfg) || run->ldap_status != FT_OK)
		return FT_OK;
	r = transform_new(run->cfg, NULL, &t);
	if (r == FT_OK)
		r = transform_list(t, &run->ldap, on_transform_drop, run, err,
				   sizeof(err));
	if (r == FT_OK && run->skip_oom)
		r = FT_E_NOMEM;
	if (r < 0)
		log_error("unable to transform the LDAP entries: %s", err);
	transform_free(t);
	return r;
}

/* The transform beside the ftrack read: its own thread when it can. */
struct xf_job {
	struct run *run;
	pthread_t th;
	bool threaded;
	int r;
};

static void *
xf_main(void *arg)
{
	struct xf_job *j = arg;

	j->r = transform_ldap(j->run);
	return NULL;
}

/* Start transform_ldap (the LDAP users only: nothing read_ftrack uses). */
static void
xf_start(struct xf_job *j, struct run *run)
{
	j->run = run;
	j->r = FT_OK;
	j->threaded = transform_configured(run->cfg) &&
		      run->ldap_status == FT_OK &&
		      pthread_create(&j->th, NULL, xf_main, j) == 0;
	if (!j->threaded)
		j->r = transform_ldap(run);
}

/*
 * Join it; then drop the requests' attributes, needed no more.  Here, in
 * the thread that allocated them: freed from the other, 100,000 small
 * blocks made glibc's malloc coalesce and consolidate its main arena
 * while libcurl allocated in it (twice the CPU of the transform itself).
 */
static int
xf_finish(struct xf_job *j)
{
	size_t i;

	if (j->threaded)
		(void)pthread_join(j->th, NULL);
	for (i = 0; i < j->run->ldap.n; i++) {
		free(j->run->ldap.v[i].attrs_json);
		j->run->ldap.v[i].attrs_json = NULL;
	}
	return j->r;
}

static int
on_ftrack_user(void *ctx, struct ft_user *u)
{
	struct run *run = ctx;

	return ft_user_list_push(&run->ftrack, u);
}

static int
read_ftrack(struct run *run)
{
	double t0;
	char err[512] = "";
	int r;

	t0 = timing_now_s();
	r = ftrack_users_all(run->ft, 0, on_ftrack_user, run, err, sizeof(err));
	run->rep.ftrack_seconds = timing_now_s() - t0;
	run->rep.ftrack_users = run->ftrack.n;
	if (r < 0)
		log_error("unable to list the ftrack users: %s (%s)", err,
			  ft_strerror(r));
	return r;
}

/* The groups and roles could not be read: no reused login is relinked. */
static const char *
hand_made_unknown(void *ctx, const struct ft_user *f)
{
	(void)ctx;
	(void)f;
	return "its groups and roles could not be read";
}

static int
build_plan(struct run *run)
{
	struct plan_recon_input in = {
		.policy = &run->cfg->policy,
		.api_user = run->cfg->ftrack.api_user,
		.ldap = &run->ldap,
		.ldap_status = run->ldap_status,
		.ldap_reason = run->lst.reason,
		.ftrack = &run->ftrack,
		.unmapped = &run->unmapped,
		.link_by_email = run->cfg->ftrack.link_by == LINK_BY_EMAIL,
	};
	struct sync_groups_owned *owned = NULL;
	int r;

	in.last_good = run->good.population;
	/* a reused login relinks no account holding hand-made groups; if
	 * they cannot be read, none is relinked */
	if (sync_groups_enabled(run->cfg) && run->undo == NULL) {
		in.hand_made = sync_groups_hand_made;
		in.hand_made_ctx = &owned;
		if (sync_groups_owned_read(run->cfg, run->ft, &run->ftrack,
					   &owned) == FT_OK)
			in.hand_made_ctx = owned;
		else
			in.hand_made = hand_made_unknown;
	}
	r = plan_recon_build(&in, &run->plan);
	sync_groups_owned_free(owned);
	run->rep.plan = r == FT_OK ? &run->plan : NULL;
	return r;
}

/*
 * Read the report of the run to undo, reports/runs/RUN.json.  EXIT_OK, or
 * EXIT_USAGE with the reason on stderr: no such run, not a RUN id, or a
 * report that cannot be read (nothing is read from ftrack then).
 */
static int
read_undone(struct run *run)
{
	const char *why = "";
	char path[4096];
	int r;

	r = report_read_run(queue_reports_dirfd(run->q), run->undo,
			    &run->undone, &why);
	(void)snprintf(path, sizeof(path), "%s/reports/runs/%s.json",
		       run->cfg->daemon.state_dir, run->undo);
	if (r == FT_OK)
		return EXIT_OK;
	if (r == FT_E_INVAL)
		ft_clean_print(stderr,
			       "ftrack-syncd: '%s' is not a RUN id (what an "
			       "applied run prints, e.g. 20240506T070809Z)",
			       run->undo);
	else if (r == FT_E_NOTFOUND)
		ft_clean_print(stderr,
			       "ftrack-syncd: no report of run %s (%s): only "
			       "applied runs that changed something are kept, "
			       "the last %d",
			       run->undo, path, REPORT_RUNS_KEPT);
	else
		ft_clean_print(stderr,
			       "ftrack-syncd: the report of run %s cannot be "
			       "read (%s): %s",
			       run->undo, path,
			       r == FT_E_IO ? strerror(errno)
			       : why[0]     ? why
					    : ft_strerror(r));
	return EXIT_USAGE;
}

static int
build_undo(struct run *run)
{
	struct plan_undo_input in = {
		.policy = &run->cfg->policy,
		.api_user = run->cfg->ftrack.api_user,
		.run = &run->undone,
		.ftrack = &run->ftrack,
	};
	struct plan_undo u;
	int r;

	r = plan_undo_build(&in, &u);
	if (r < 0)
		return r;
	run->plan = u.plan;
	run->undo_targets = u.target;
	run->rep.plan = &run->plan;
	return FT_OK;
}

static const char *
user_of(const struct plan_action *a)
{
	const struct ft_user *u = a->ldap ? a->ldap : a->ftrack;

	return u && u->username ? u->username : "?";
}

/* The plan, one line per action; every line through the one cleaner
 * (ftrack usernames, DNs and reasons are data from outside). */
static void
print_table(const struct run *run)
{
	const struct plan_recon *p = &run->plan;
	size_t i;

	if (run->undo != NULL)
		ft_clean_print(stdout,
			       "ftrack-syncd reconcile --undo %s (%s%s%s): %zu "
			       "changes of that run (%s, %s), %lu ftrack users",
			       run->undo, run->rep.mode,
			       run->rep.run ? ", run " : "",
			       run->rep.run ? run->rep.run : "", p->n,
			       run->undone.result, run->undone.finished,
			       run->rep.ftrack_users);
	else
		ft_clean_print(
			stdout,
			"ftrack-syncd reconcile (%s%s%s%s): %lu LDAP "
			"entries (%lu disabled, %lu skipped), %lu ftrack "
			"users",
			run->rep.mode, run->force ? ", forced" : "",
			run->rep.run ? ", run " : "",
			run->rep.run ? run->rep.run : "", run->rep.ldap_entries,
			run->rep.ldap_disabled, run->rep.ldap_skipped,
			run->rep.ftrack_users);
	if (p->n > 0) {
		putchar('\n');
		ft_clean_print(stdout, "  %-11s %-24s %s", "ACTION", "USER",
			       "REASON");
	}
	for (i = 0; i < p->n; i++) {
		const struct plan_action *a = &p->v[i];
		bool failed = run->codes != NULL && run->codes[i] != FT_OK;

		ft_clean_print(stdout, "  %-11s %-24s %s%s%s%s",
			       plan_kind_name(a->kind), user_of(a), a->reason,
			       !failed ? ""
			       : run->codes[i] == FT_E_SEAT
				       ? "  [WAITING FOR A SEAT: "
				       : "  [FAILED: ",
			       !failed            ? ""
			       : run->messages[i] ? run->messages[i]
						  : ft_strerror(run->codes[i]),
			       failed ? "]" : "");
	}
}

/* Every link the plan makes, with both names (a pilot looks at them). */
static void
print_links(const struct plan_recon *p)
{
	size_t i, n = 0;

	for (i = 0; i < p->n; i++)
		n += plan_link_by(&p->v[i]) != NULL;
	if (n == 0)
		return;
	putchar('\n');
	ft_clean_print(stdout,
		       "Links (%zu): existing ftrack users the plan "
		       "links to an LDAP login",
		       n);
	ft_clean_print(stdout, "  %-11s %-24s %s", "BY", "LDAP USER",
		       "FTRACK USER");
	for (i = 0; i < p->n; i++) {
		const struct plan_action *a = &p->v[i];
		const char *by = plan_link_by(a);

		if (by != NULL)
			ft_clean_print(stdout, "  %-11s %-24s %s", by,
				       user_of(a),
				       a->ftrack->username ? a->ftrack->username
							   : "?");
	}
}

/* The ftrack users that no LDAP login accounts for. */
static void
print_unaccounted(const struct plan_recon *p)
{
	size_t i;

	if (p->n_unaccounted == 0)
		return;
	putchar('\n');
	ft_clean_print(stdout,
		       "Unaccounted (%zu): ftrack users no LDAP login "
		       "accounts for (not linked, not matched, not "
		       "protected)",
		       p->n_unaccounted);
	ft_clean_print(stdout, "  %-24s %-32s %s", "USERNAME", "EMAIL",
		       "STATE");
	for (i = 0; i < p->n_unaccounted; i++) {
		const struct ft_user *u = p->unaccounted[i];

		ft_clean_print(stdout, "  %-24s %-32s %s",
			       u->username ? u->username : "?",
			       u->email ? u->email : "-",
			       u->is_active ? "active" : "inactive");
	}
}

static void
print_summary(const struct run *run)
{
	const struct plan_recon *p = &run->plan;
	char totals[512];
	size_t used = 0;
	int k, n;

	for (k = PLAN_CREATE; k <= PLAN_SKIP; k++) {
		if (p->count[k] == 0)
			continue;
		n = snprintf(totals + used, sizeof(totals) - used, " %zu %s,",
			     p->count[k], plan_kind_name((enum plan_kind)k));
		if (n > 0 && (size_t)n < sizeof(totals) - used)
			used += (size_t)n;
	}
	totals[used] = '\0';
	putchar('\n');
	ft_clean_print(stdout, "Totals:%s %zu in sync", totals,
		       p->count[PLAN_NONE]);
	if (run->undo == NULL) {
		ft_clean_print(stdout, "Guards:");
		for (k = 0; k < GUARD_COUNT; k++)
			ft_clean_print(stdout, "  %-15s %-5s %s",
				       p->guard[k].name,
				       p->guard[k].ok ? "ok" : "HELD",
				       p->guard[k].detail);
	}
	ft_clean_print(stdout, "Result: %s", run->rep.result);
	if (run->kept_run)
		ft_clean_print(
			stdout,
			"Run: %s (reports/runs/%s.json; to put back what "
			"it changed: ftrack-syncd reconcile --undo %s)",
			run->rep.run, run->rep.run, run->rep.run);
}

static void
print_plan(struct run *run)
{
	if (run->json) {
		if (report_print_json(&run->rep, stdout) < 0)
			log_error("unable to print the report");
		return;
	}
	if (run->rep.plan == NULL) {
		ft_clean_print(stdout, "ftrack-syncd reconcile: %s",
			       run->rep.result);
		return;
	}
	print_table(run);
	print_links(&run->plan);
	print_unaccounted(&run->plan);
	print_summary(run);
}

/* Log one line per change, as DESIGN.md asks. */
static void
log_changes(const struct run *run)
{
	size_t i;

	for (i = 0; i < run->plan.n; i++) {
		const struct plan_action *a = &run->plan.v[i];

		if (a->kind == PLAN_CONFLICT)
			log_warn("conflict '%s': %s", user_of(a), a->reason);
		else if (run->codes[i] == FT_E_SEAT)
			log_warn("waiting for a seat '%s' (%s): %s", user_of(a),
				 plan_kind_name(a->kind),
				 run->messages[i] ? run->messages[i]
						  : ft_strerror(FT_E_SEAT));
		else if (run->codes[i] == FT_OK)
			log_info("%s '%s': %s", plan_kind_name(a->kind),
				 user_of(a), a->reason);
		else
			log_error("unable to %s '%s': %s",
				  plan_kind_name(a->kind), user_of(a),
				  run->messages[i]
					  ? run->messages[i]
					  : ft_strerror(run->codes[i]));
	}
}

static int
apply_plan(struct run *run)
{
	size_t n = run->plan.n;
	char err[512];
	double t0 = timing_now_s();
	int r = FT_E_NOMEM, failed = 0;
	const struct hooks_origin o = {"reconcile",
				       run->undo != NULL ? "undo" : "reconcile",
				       NULL, NULL};
	struct hooks *hooks = NULL;
	struct hooks_intent *in;

	run->codes = calloc(n + 1, sizeof(*run->codes));
	run->messages = calloc(n + 1, sizeof(*run->messages));
	if (run->codes == NULL || run->messages == NULL)
		goto out;
	if (hooks_open(run->cfg, queue_state_dirfd(run->q), &hooks) < 0)
		log_warn("unable to open the hooks folder: changes are not "
			 "journaled for the on_change hook");
	in = hooks_intend(hooks, run->plan.v, NULL, n, &o);
	if (plan_ops_write(run->ft, run->plan.v, NULL, n, run->codes,
			   run->messages, err, sizeof(err)) < 0)
		log_warn("some changes were not applied: %s", err);
	hooks_applied(hooks, in, run->codes);
	/* a person waiting for a seat is asked again at the next run (or
	 * login): not a failure of this one */
	for (size_t i = 0; i < n; i++)
		failed += run->codes[i] != FT_OK && run->codes[i] != FT_E_SEAT;
	r = failed ? FT_E_DATA : FT_OK;
out:
	hooks_free(hooks);
	run->rep.apply_seconds = timing_now_s() - t0;
	return r;
}

static void
write_reports(struct run *run, bool held)
{
	struct ftrack_stats st = {0, 0, 0};
	int r;

	if (run->ft != NULL)
		ftrack_client_stats(run->ft, &st);
	run->rep.http_requests = st.requests;
	run->rep.connections = st.connections;
	timing_now_iso(run->rep.finished, sizeof(run->rep.finished));
	run->rep.seconds = timing_now_s() - run->t0;
	r = report_write(&run->rep, queue_reports_dirfd(run->q),
			 report_last_name(&run->rep));
	if (r == FT_OK && held)
		r = report_write(&run->rep, queue_reports_dirfd(run->q),
				 "held.json");
	/* the record `--undo RUN` reads: every applied run that wrote, or
	 * tried to write, a change */
	if (r == FT_OK && run->rep.run != NULL && run->codes != NULL &&
	    plan_recon_changes(&run->plan) > 0) {
		r = report_write_run(&run->rep, queue_reports_dirfd(run->q));
		run->kept_run = r == FT_OK;
	}
	if (r < 0)
		log_error("unable to write the reconcile report: %s",
			  r == FT_E_IO ? strerror(errno) : ft_strerror(r));
	/* only an applied run whose guards passed is a good run (a dry run
	 * is not: it would move the mark without anything written; nor is an
	 * undo, which reads no LDAP) */
	if (!run->applied || held || run->undo != NULL ||
	    run->ldap_status != FT_OK)
		return;
	run->good_run = true;
	run->good_now.population = run->plan.population;
	(void)snprintf(run->good_now.time, sizeof(run->good_now.time), "%s",
		       run->rep.finished);
	lease_host(run->good_now.host, sizeof(run->good_now.host));
	if (report_last_good_write(queue_state_dirfd(run->q), &run->good_now) <
	    0)
		log_error("unable to write last-good.json");
}

/* Renew the lease before writing (and write our schema number): the
 * apply then has the whole lease, and a lease lost is found out before
 * anything is written.  EXIT_OK, or the code to exit with. */
static int
renew_lease(struct run *run)
{
	char err[512] = "";
	int r;

	r = lease_renew(&run->lease, run->cfg->ftrack.api_user,
			(long long)time(NULL), &run->view, err, sizeof(err));
	if (r == FT_OK)
		return EXIT_OK;
	if (r == FT_E_CONFLICT)
		log_error("unable to apply: the reconcile lease was taken over "
			  "by '%s' (pid %llu) while this run read; nothing "
			  "written",
			  run->view.held.host, run->view.held.pid);
	else if (r == FT_E_CONFIG)
		log_error("unable to apply: a newer ftrack-syncd wrote marker "
			  "schema %llu meanwhile; nothing written",
			  run->view.schema_version);
	else
		log_error("unable to renew the reconcile lease: %s (%s); "
			  "nothing written",
			  err, ft_strerror(r));
	return r == FT_E_CONFIG ? EXIT_USAGE : EXIT_ERRORS;
}

/*
 * The groups phase ([group_map], [role_map]) after the users: its
 * changes make a dry run's EXIT_CHANGES, its failures EXIT_ERRORS, a
 * guard holding its removals EXIT_HELD.  code is the users' exit code.
 */
static int
groups_phase(struct run *run, int code)
{
	struct sync_groups_result *g = &run->groups;
	const struct hooks_origin o = {"reconcile", "reconcile", NULL, NULL};
	struct hooks *hooks = NULL;
	int r;

	if (!sync_groups_enabled(run->cfg) || run->undo != NULL)
		return code;
	if (run->apply &&
	    hooks_open(run->cfg, queue_state_dirfd(run->q), &hooks) < 0)
		log_warn("unable to open the hooks folder: group and role "
			 "changes are not journaled for the on_change hook");
	r = sync_groups_reconcile(run->cfg, run->ft, &run->ftrack, &run->ldap,
				  run->apply, run->force, hooks, &o, g);
	hooks_free(hooks);
	run->rep.groups = r == FT_OK ? &g->report : NULL;
	if (r < 0 || g->read_failed || g->failed > 0)
		return code == EXIT_OK || code == EXIT_CHANGES ? EXIT_ERRORS
							       : code;
	if (code == EXIT_OK && g->held > 0 && g->held_by != NULL &&
	    strcmp(g->held_by, "remove") != 0)
		return EXIT_HELD;
	return code == EXIT_OK && !run->apply && g->changes > 0 ? EXIT_CHANGES
								: code;
}

/* Decide, apply, report; returns the exit code. */
static int
conclude(struct run *run)
{
	size_t changes = plan_recon_changes(&run->plan);
	bool held = plan_recon_held(&run->plan, run->force);
	int code;

	if (held) {
		run->rep.result = "held";
		code = EXIT_HELD;
		log_warn("reconcile held by a safety guard: nothing written "
			 "(see reports/held.json)");
	} else if (!run->apply) {
		run->rep.result = changes ? "changes" : "in-sync";
		code = changes ? EXIT_CHANGES : EXIT_OK;
	} else if ((code = renew_lease(run)) != EXIT_OK) {
		run->rep.result = "failed";
	} else {
		code = apply_plan(run) == FT_OK ? EXIT_OK : EXIT_ERRORS;
		run->applied = true;
		run->rep.result = code == EXIT_OK ? "applied" : "errors";
		run->rep.codes = run->codes;
		run->rep.messages = (const char *const *)run->messages;
		log_changes(run);
	}
	/* not after a lease lost: nothing may be written then */
	if (!held && (!run->apply || run->applied))
		code = groups_phase(run, code);
	write_reports(run, held);
	print_plan(run);
	if (!run->json && run->rep.groups != NULL)
		sync_groups_print(&run->groups, stdout);
	return code;
}

static int
parse_args(struct run *run, int argc, char **argv)
{
	static const struct option opts[] = {
		{"apply", no_argument, NULL, 'a'},
		{"force", no_argument, NULL, 'f'},
		{"json", no_argument, NULL, 'j'},
		{"undo", required_argument, NULL, 'u'},
		{NULL, 0, NULL, 0},
	};
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'a')
			run->apply = true;
		else if (c == 'f')
			run->force = true;
		else if (c == 'j')
			run->json = true;
		else if (c == 'u')
			run->undo = optarg;
		else
			return FT_E_INVAL;
	}
	if (optind != argc || (run->force && !run->apply))
		return FT_E_INVAL;
	/* an undo passes no guard that --force could override */
	if (run->undo != NULL && run->force) {
		fputs("ftrack-syncd: reconcile --undo takes no --force (an undo "
		      "reads no LDAP and puts back only what is still as that "
		      "run left it: there is no guard to override)\n",
		      stderr);
		return FT_E_INVAL;
	}
	return FT_OK;
}

static void
run_free(struct run *run)
{
	size_t i;

	for (i = 0; i < run->rep.nskipped; i++) {
		free(run->skips[i].dn);
		free(run->skips[i].reason);
	}
	for (i = 0; run->messages != NULL && i < run->plan.n; i++)
		free(run->messages[i]);
	free(run->messages);
	free(run->codes);
	plan_recon_free(&run->plan);
	sync_groups_result_clear(&run->groups);
	free(run->undo_targets);
	report_run_free(&run->undone);
	lease_clear(&run->lease);
	lease_view_clear(&run->view);
	ft_user_list_clear(&run->ldap);
	ft_user_list_clear(&run->ftrack);
	ft_user_list_clear(&run->unmapped);
	ftrack_client_free(run->ft);
	queue_free(run->q);
	config_free(run->cfg);
}

/* Say it on stdout too (unless --json): the log may be the journal. */
static void
say(const struct run *run, const char *what)
{
	if (!run->json)
		ft_clean_print(stdout, "ftrack-syncd reconcile: %s", what);
}

/* The mark max_shrink compares with: ftrack's, else this host's cache
 * (copied to ftrack when the lease is released). */
static void
choose_last_good(struct run *run)
{
	struct report_last_good local;

	if (run->view.last_good_ok) {
		run->good = run->view.good;
		return;
	}
	if (run->view.last_good)
		log_warn("ftrack's %s is unreadable; using this host's "
			 "last-good.json",
			 FTRACK_MARKER_LAST_GOOD);
	if (report_last_good_read(queue_state_dirfd(run->q), &local) < 0) {
		log_warn("last-good.json is unreadable; max_shrink is off for "
			 "this run");
		return;
	}
	run->good = local;
	run->good_from_cache = local.population > 0 && !run->view.last_good;
	if (run->good.host[0] == '\0')
		lease_host(run->good.host, sizeof(run->good.host));
}

/* The refusal of a lease another host holds (exit 3: a guard-like hold). */
static int
lease_refused(struct run *run)
{
	char until[32], line[1024];

	timing_iso(run->view.held.expiry, until, sizeof(until));
	(void)snprintf(line, sizeof(line),
		       "not started: host '%s' (pid %llu) holds the reconcile "
		       "lease until %s (one reconciler at a time)",
		       run->view.held.host, run->view.held.pid, until);
	log_warn("reconcile %s", line);
	say(run, line);
	return EXIT_HELD;
}

/*
 * Before reading: ftrack's records on the API user (schema, last good,
 * lease); refuse a newer schema; an applied run takes the lease.
 * EXIT_OK to go on, else the code to exit with.
 */
static int
open_ftrack(struct run *run)
{
	const char *api_user = run->cfg->ftrack.api_user;
	char err[512] = "";
	int r;

	r = ftrack_client_new(run->cfg, &run->ft);
	if (r == FT_OK)
		r = lease_view_read(run->ft, api_user, &run->view, err,
				    sizeof(err));
	if (r < 0) {
		log_error("unable to read ftrack's records on the API user "
			  "'%s': %s (%s)",
			  api_user, err, ft_strerror(r));
		return EXIT_ERRORS;
	}
	if (lease_schema_check(&run->view) != FT_OK) {
		char ver[32] = "not a number", line[768];

		if (run->view.schema_ok)
			(void)snprintf(ver, sizeof(ver), "%llu",
				       run->view.schema_version);
		(void)snprintf(line, sizeof(line),
			       "refused: ftrack holds marker schema %s, newer "
			       "than this version's %d: upgrade this host (in "
			       "a rollout, upgrade the reconciling host last)",
			       ver, FTRACK_MARKER_SCHEMA_VERSION);
		log_error("reconcile %s", line);
		say(run, line);
		return EXIT_USAGE;
	}
	choose_last_good(run);
	if (!run->apply)
		return EXIT_OK;
	r = lease_take(&run->lease, run->ft, api_user, run->note,
		       (long long)time(NULL), &run->view, err, sizeof(err));
	if (r == FT_E_AGAIN)
		return lease_refused(run);
	if (r == FT_E_PROTO) {
		char line[768];

		(void)snprintf(line, sizeof(line),
			       "not started: %s; once no reconcile runs on any "
			       "host, delete the Metadata %s* of the API user",
			       err, FTRACK_MARKER_LEASE);
		log_error("reconcile %s", line);
		say(run, line);
		return EXIT_HELD;
	}
	if (r < 0) {
		log_error("unable to take the reconcile lease: %s (%s)", err,
			  ft_strerror(r));
		return EXIT_ERRORS;
	}
	if (run->note[0] != '\0' &&
	    strcmp(run->note, run->view.held.nonce) == 0)
		log_info("took over the reconcile lease an earlier run on this "
			 "host left (pid %llu)",
			 run->view.held.pid);
	if (state_lock_note_write(run->lock, run->lease.mine.nonce) < 0)
		log_warn("unable to note the lease in reconcile.lock");
	return EXIT_OK;
}

/* Release the lease, with the new mark (a good run) or the cached one. */
static void
close_ftrack(struct run *run)
{
	const struct report_last_good *g = run->good_run ? &run->good_now
					   : run->good_from_cache ? &run->good
								  : NULL;
	char err[512] = "";
	int r;

	if (!run->lease.held)
		return;
	r = lease_release(&run->lease, run->cfg->ftrack.api_user, g,
			  run->view.last_good, err, sizeof(err));
	if (r == FT_E_CONFLICT)
		log_error("the reconcile lease was taken over by another host "
			  "while this run lasted (over %d s): two reconciles "
			  "overlapped; %s not written",
			  LEASE_SECONDS, FTRACK_MARKER_LAST_GOOD);
	else if (r < 0)
		log_error("unable to release the reconcile lease: %s (%s); "
			  "the next run on this host takes it over",
			  err, ft_strerror(r));
	if (!run->lease.held && state_lock_note_write(run->lock, "") < 0)
		log_warn("unable to clear the note of reconcile.lock");
}

/* Everything after the config: read both sides, plan, conclude. */
static int
reconcile(struct run *run)
{
	struct xf_job xf;
	int r, code = EXIT_ERRORS;

	run->lock = -1;
	r = queue_open(run->cfg->daemon.state_dir, &run->q);
	if (r == FT_OK)
		r = state_lock(queue_state_dirfd(run->q), "reconcile.lock",
			       &run->lock);
	if (r < 0) {
		log_error("unable to start the reconcile: %s",
			  r == FT_E_AGAIN ? "another one is running"
			  : r == FT_E_IO  ? strerror(errno)
					  : ft_strerror(r));
		return EXIT_ERRORS;
	}
	if (state_lock_note_read(run->lock, run->note, sizeof(run->note)) < 0)
		run->note[0] = '\0';
	timing_now_iso(run->rep.started, sizeof(run->rep.started));
	code = open_ftrack(run);
	if (code != EXIT_OK) {
		/* refused (lease, schema): another host's run, not ours */
		if (code == EXIT_ERRORS)
			goto out;
		goto out_close;
	}
	code = EXIT_ERRORS;
	if (run->apply) {
		if (report_run_id(queue_reports_dirfd(run->q), run->rep.started,
				  run->run_id, sizeof(run->run_id)) == FT_OK)
			run->rep.run = run->run_id;
		else
			log_warn("no RUN id for this run: its report is not "
				 "kept in reports/runs/");
	}
	if (run->undo != NULL) {
		code = read_undone(run);
		if (code != EXIT_OK)
			goto out;
		code = EXIT_ERRORS;
		if (read_ftrack(run) < 0)
			goto out;
		if (build_undo(run) < 0) {
			log_error("unable to plan: out of memory");
			goto out;
		}
		code = conclude(run);
		goto out;
	}
	/* Read ftrack even when LDAP failed: the held plan then shows what
	 * the incomplete answer would have done, and nothing is written. */
	read_ldap(run);
	xf_start(&xf, run);
	r = read_ftrack(run);
	if (xf_finish(&xf) < 0 || r < 0)
		goto out;
	if (build_plan(run) < 0) {
		log_error("unable to plan: out of memory");
		goto out;
	}
	code = conclude(run);
out:
	if (code == EXIT_ERRORS && run->rep.plan == NULL) {
		run->rep.result = "failed";
		write_reports(run, false);
	}
	close_ftrack(run);
out_close:
	(void)close(run->lock);
	return code;
}

int
cmd_reconcile(int argc, char **argv, const char *config_path)
{
	struct run *run = calloc(1, sizeof(*run));
	int code;

	if (run == NULL)
		return EXIT_ERRORS;
	run->t0 = timing_now_s();
	if (parse_args(run, argc, argv) < 0) {
		fprintf(stderr,
			"usage: ftrack-syncd [-c FILE] reconcile "
			"[--apply [--force]] [--json]\n"
			"       ftrack-syncd [-c FILE] reconcile --undo "
			"RUN [--apply] [--json]\n");
		free(run);
		return EXIT_USAGE;
	}
	code = cmd_open(config_path, false, &run->cfg);
	if (code == EXIT_OK)
		code = cmd_refuse_relay(run->cfg, "reconcile");
	if (code != EXIT_OK) {
		config_free(run->cfg);
		free(run);
		return code;
	}
	run->rep.mode = run->apply ? "apply" : "dry-run";
	run->rep.undo_of = run->undo;
	run->rep.forced = run->force;
	run->rep.skipped = run->skips;
	run->rep.ldap_error = "";
	code = reconcile(run);
	run_free(run);
	free(run);
	return code;
}
