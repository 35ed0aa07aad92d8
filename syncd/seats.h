/* SPDX-License-Identifier: Apache-2.0 */
/*
 * seats.h: the provisioner's seat budget (new_seats_per_host and
 * new_seats_total of [provisioner]).
 *
 * Seats (a create, or the reactivation of an inactive user) that logins
 * reported by relay hosts (events with host=) cause are counted per fixed
 * clock period: SEATS_PERIOD seconds aligned on the epoch, i.e. the UTC
 * clock hour from :00 to :59.  A new period starts from zero.  Logins
 * without a host (local ones) and `ftrack-syncd sync` are never counted.
 *
 * The counts live in state_dir/seats, rewritten with ft_write_atomic()
 * (temp, fsync, rename) by seats_save() and read back by seats_open()
 * through state_read_file(), so a restart does not reset the hour:
 *
 *	FTSEATS1
 *	period=<start of the period, seconds since the epoch>
 *	total=<seats this period, all hosts>
 *	host=<name> <seats this period>      (one line a host)
 *
 * Threading: one thread at a time (the worker's).  Non-logging.
 */
#ifndef SEATS_H
#define SEATS_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "ft_attrs.h"

#define SEATS_FILE   "seats"
#define SEATS_PERIOD 3600L
/* Largest seats file read back (more: the file is ignored). */
#define SEATS_FILE_MAX (1024L * 1024L)

struct seats;

/*
 * A budget of per_host and total seats a period for the state folder
 * dirfd (borrowed), with the counts of the seats file when it is of the
 * current period.  period: seconds (0: SEATS_PERIOD).  Returns FT_OK and
 * *ret; FT_E_PROTO (a damaged seats file: *ret is still set, empty, and
 * why says what was wrong); FT_E_NOMEM.
 */
FT_MUST_USE int seats_open(int dirfd, unsigned long per_host,
			   unsigned long total, long period, time_t now,
			   struct seats **ret, const char **why);

/* Free s; NULL is a no-op. */
void seats_free(struct seats *s);

/* New caps (a reload); the counts stay. */
void seats_set_caps(struct seats *s, unsigned long per_host,
		    unsigned long total);

/*
 * Whether host may have one more seat at now, besides extra_host (for the
 * host) and extra_total (all) already promised by the caller.  When not,
 * why (whylen bytes) says which cap and which host.
 */
bool seats_room(struct seats *s, const char *host, time_t now,
		unsigned long extra_host, unsigned long extra_total, char *why,
		size_t whylen);

/*
 * seats_room() with no extra, and when there is room, count the seat.
 * Returns true (counted) or false (why says which cap).
 */
bool seats_take(struct seats *s, const char *host, time_t now, char *why,
		size_t whylen);

/*
 * Give back a seat seats_take() counted for host at now whose write did
 * not happen (a transient failure, a refusal): a login retried through an
 * outage is counted once.  Nothing when the period has changed since.
 */
void seats_refund(struct seats *s, const char *host, time_t now);

/* The start of the period holding now (what the next period follows). */
time_t seats_period_start(const struct seats *s, time_t now);
long seats_period(const struct seats *s);

/*
 * Write the seats file if anything was counted since the last save.
 * Returns FT_OK, FT_E_NOMEM or FT_E_IO (errno set).
 */
FT_MUST_USE int seats_save(struct seats *s);

#endif
