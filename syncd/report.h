/* SPDX-License-Identifier: Apache-2.0 */
/*
 * report.h: the reconcile's reports (JSON) and the last good population.
 *
 * Every reconcile run writes its report in state_dir/reports/: an
 * `--apply` run (applied, partly failed, held or failed) last-apply.json,
 * a dry run last-dry-run.json, so that a dry run never hides the last
 * apply; a run held by a guard writes held.json too.  An applied run that
 * wrote (or tried to write) changes also keeps its report under its RUN id
 * as reports/runs/RUN.json (the last REPORT_RUNS_KEPT), which `reconcile
 * --undo RUN` reads back (report_read_run).  A report records each
 * change's old and new values.  state_dir/last-good.json keeps the LDAP
 * population of the last applied run whose guards passed, for the
 * max_shrink guard: a cache of ftrack's own record (lease.h).  `status`
 * and the daemon's metrics read the reports back.  Writes are atomic
 * (temp file, fsync, rename).  jansson stays inside report.c; non-logging.
 */
#ifndef REPORT_H
#define REPORT_H

#include <stdbool.h>
#include <stdio.h>

#include "ft_attrs.h"
#include "ft_user.h"
#include "plan_recon.h"

#define REPORT_LAST_APPLY   "last-apply.json"
#define REPORT_LAST_DRY_RUN "last-dry-run.json"
/* What versions before 0.2 wrote for every run; read as the last apply
 * when it records one and there is no last-apply.json (upgrades). */
#define REPORT_LAST_OLD   "last-reconcile.json"
#define REPORT_RUNS_KEPT  50 /* reports/runs/RUN.json kept */
#define REPORT_RUN_ID_MAX 32 /* "20240506T070809Z-99" and a NUL fit */

/* An LDAP entry the run skipped, with why. */
struct report_skip {
	char *dn;
	char *reason;
};

/* One membership or role change of the groups phase (sync_groups.h). */
struct report_group_change {
	const char *action; /* group_add, group_remove, role_grant, ... */
	const char *user;   /* the username */
	const char *target; /* the ftrack group or role, as mapped */
	const char *reason;
	int code; /* FT_OK; an FT_E_* when it failed; FT_E_AGAIN: not sent */
};

/* The groups phase of a reconcile, for its report. */
struct report_groups {
	const struct report_group_change *v;
	size_t n;
	bool complete;        /* the LDAP groups were read in full */
	const char *held_by;  /* the guard holding the removals, or NULL */
	unsigned long held;   /* removals held */
	unsigned long frozen; /* recorded pairs no longer mapped */
	unsigned long gone;   /* recorded memberships taken away by hand */
};

struct report {
	const char *mode;    /* "dry-run" or "apply" */
	const char *run;     /* apply: the RUN id; NULL for a dry run */
	const char *undo_of; /* `--undo RUN`: that RUN; else NULL */
	const char *result;  /* "in-sync", "changes", "applied", "errors",
			       "held" or "failed" */
	bool forced;
	char started[32], finished[32]; /* ISO 8601 UTC */
	double seconds, ldap_seconds, ftrack_seconds, apply_seconds;
	unsigned long ldap_entries, ldap_disabled, ldap_skipped, ldap_pages;
	const char *ldap_error; /* "" when the read was complete */
	unsigned long ftrack_users, http_requests, connections;
	const struct plan_recon *plan;
	const int *codes;            /* per plan action; NULL: not applied;
				      * FT_E_SEAT: waiting for a seat */
	const char *const *messages; /* per plan action; NULL entries ok */
	const struct report_skip *skipped;
	size_t nskipped;                    /* listed (at most a cap) */
	const struct report_groups *groups; /* NULL: no [group_map] phase */
};

/*
 * Write r as JSON, atomically, as `name` in the folder dirfd.
 * Returns FT_OK, FT_E_NOMEM or FT_E_IO (errno set).
 */
FT_MUST_USE int report_write(const struct report *r, int dirfd,
			     const char *name);

/* The last-* file of r: REPORT_LAST_APPLY or REPORT_LAST_DRY_RUN. */
const char *report_last_name(const struct report *r);

/*
 * A new RUN id for a run started at started (ISO 8601 UTC): the time as
 * "YYYYMMDDTHHMMSSZ", with "-02" ... "-99" when reports/runs/ holds that
 * id already.  buf: at least REPORT_RUN_ID_MAX bytes.  Returns FT_OK or
 * FT_E_INVAL (started is not such a time, or 99 runs in one second).
 */
FT_MUST_USE int report_run_id(int reports_dirfd, const char *started, char *buf,
			      size_t cap);

/* True when s can be a RUN id (letters, digits, '-'; no path). */
bool report_run_id_valid(const char *s);

/*
 * Write r as reports/runs/<r->run>.json (the folder made 0700 when
 * missing, never followed through a symlink), then remove the oldest run
 * reports beyond REPORT_RUNS_KEPT.  Returns FT_OK, FT_E_INVAL (r->run is
 * not a RUN id), FT_E_PERM (runs/ is a symlink, another owner's or open to
 * others), FT_E_NOMEM or FT_E_IO (errno set).
 */
FT_MUST_USE int report_write_run(const struct report *r, int reports_dirfd);

/* One change an applied run made (or tried), as read back from its report. */
struct report_change {
	enum plan_kind kind;
	bool ok;         /* it landed (not failed, not waiting for a seat) */
	char *user;      /* the username the report shows; NULL: none */
	char *id;        /* the ftrack user id; NULL for a create */
	unsigned fields; /* PLAN_F_* written: USERNAME, EMAIL, FIRST_NAME,
			  * LAST_NAME, ACTIVATE or DEACTIVATE (is_active),
			  * MARK_UUID or UNMARK_UUID, MARK_GONE or
			  * UNMARK_GONE */
	/* the values before and after, for the fields written: username,
	 * email, first_name, last_name, is_active, uuid (the uuid marker),
	 * deactivated (the marker: after, "set" when it was written) */
	struct ft_user before, after;
};

struct report_run {
	char run[REPORT_RUN_ID_MAX];
	char finished[32];
	char result[16];
	bool undo; /* it was itself an undo */
	struct report_change *v;
	size_t n;
};

/*
 * Read reports/runs/<run>.json into *ret (free with report_run_free).
 * Returns FT_OK, FT_E_INVAL (run is not a RUN id), FT_E_NOTFOUND (no such
 * run), FT_E_PROTO (not what report_write_run wrote: *ret_why says what),
 * FT_E_NOMEM, or the state reader's code with *ret_why (FT_E_IO: errno).
 */
FT_MUST_USE int report_read_run(int reports_dirfd, const char *run,
				struct report_run *ret, const char **ret_why);

/* Free what report_read_run() filled; the run is left empty. */
void report_run_free(struct report_run *r);

/* Print r as JSON to out (`reconcile --json`). */
FT_MUST_USE int report_print_json(const struct report *r, FILE *out);

/* The last good run: an applied run whose guards passed. */
struct report_last_good {
	unsigned long population; /* LDAP entries; 0: none known */
	char time[32];            /* when it finished, ISO 8601 UTC */
	char host[256];           /* the host that ran it ("" unknown) */
};

/*
 * The last good run from dirfd/last-good.json into *ret (all zero when
 * there is none; a file of an older version has no host: "").  This is
 * the host's cache of ftrack's ftrack_syncd.last_good (lease.h).
 * Returns FT_OK, or FT_E_PROTO when the file exists but is not what we
 * wrote (then *ret is zero: the guard is off, which the caller must say).
 */
FT_MUST_USE int report_last_good_read(int dirfd, struct report_last_good *ret);

/* Record g as the last good run.  FT_OK or FT_E_IO/FT_E_NOMEM. */
FT_MUST_USE int report_last_good_write(int dirfd,
				       const struct report_last_good *g);

/* What the daemon's metrics need from a last-* report. */
struct report_summary {
	long long finished; /* unix seconds; 0: no report */
	double seconds;
	bool held, failed; /* result "held"; "failed" or "errors" */
	bool applied;      /* mode "apply" */
	unsigned long done[PLAN_SKIP + 1];    /* actions applied, by kind */
	unsigned long planned[PLAN_SKIP + 1]; /* the plan's counts */
};

enum report_which {
	REPORT_APPLY,  /* last-apply.json (else an older last-reconcile.json
			* that records an apply) */
	REPORT_DRY_RUN /* last-dry-run.json */
};

/*
 * Read the last apply's or the last dry run's report from the folder
 * reports_dirfd.  Returns FT_OK, FT_E_NOTFOUND (no report yet) or
 * FT_E_PROTO.
 */
FT_MUST_USE int report_read_summary(int reports_dirfd, enum report_which which,
				    struct report_summary *ret);

/*
 * Print the "last apply:" and "last dry run:" lines of `status` for
 * state_dir to out: when each ran, its result, RUN id and counts (and,
 * for the apply, the changes that failed), or "never".
 */
void report_print_status(const char *state_dir, FILE *out);

#endif
