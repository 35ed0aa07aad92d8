/* SPDX-License-Identifier: Apache-2.0 */
/*
 * report.h: the reconcile's reports (JSON) and the last good population.
 *
 * Every reconcile run writes state_dir/reports/last-reconcile.json; a run
 * held by a guard writes reports/held.json too.  state_dir/last-good.json
 * keeps the LDAP population of the last applied run whose guards passed,
 * for the max_shrink guard: a cache of ftrack's own record (lease.h).  `status` reads them back.  Writes are atomic (temp
 * file, fsync, rename).  jansson stays inside report.c; non-logging.
 */
#ifndef REPORT_H
#define REPORT_H

#include <stdbool.h>
#include <stdio.h>

#include "ft_attrs.h"
#include "plan_recon.h"

/* An LDAP entry the run skipped, with why. */
struct report_skip {
	char *dn;
	char *reason;
};

struct report {
	const char *mode;   /* "dry-run" or "apply" */
	const char *result; /* "in-sync", "changes", "applied", "errors",
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
	size_t nskipped; /* listed (at most a cap) */
};

/*
 * Write r as JSON, atomically, as `name` in the folder dirfd.
 * Returns FT_OK, FT_E_NOMEM or FT_E_IO (errno set).
 */
FT_MUST_USE int report_write(const struct report *r, int dirfd,
			     const char *name);

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

/* What the daemon's metrics need from last-reconcile.json. */
struct report_summary {
	long long finished; /* unix seconds; 0: no report */
	double seconds;
	bool held, failed; /* result "held"; "failed" or "errors" */
	bool applied;      /* mode "apply" */
	unsigned long done[PLAN_SKIP + 1]; /* actions applied, by kind */
};

/*
 * Read reports/last-reconcile.json from the folder reports_dirfd.
 * Returns FT_OK, FT_E_NOTFOUND (no report yet) or FT_E_PROTO.
 */
FT_MUST_USE int report_read_summary(int reports_dirfd,
				    struct report_summary *ret);

/*
 * Print the "last reconcile:" line of `status` for state_dir to out:
 * when it ran, its result and counts, or "never".
 */
void report_print_status(const char *state_dir, FILE *out);

#endif
