/* SPDX-License-Identifier: Apache-2.0 */
/*
 * h_ftrack.h: test library: an emulator and an ftrack client for the
 * suites of the ftrack client units (ftrack_client, ftrack_query,
 * ftrack_batch), users, and a failing allocator for jansson (also for the
 * ftrack_json and ftrack_reply suites), prefix h_ft_, in
 * tests/lib/h_ftrack.c.
 *
 * Unlike harness.h, these helpers assert (ck_assert): use them in checked
 * tests only, never in unchecked fixtures.  One emulator and one client
 * per test (each test runs in its own fork), kept in h_ft_emu and
 * h_ft_cl; h_ft_stop releases both.  Users returned by h_ft_mkuser are
 * the caller's (ft_user_clear); ids from h_ft_create are the caller's to
 * free().
 */
#ifndef FT_H_FTRACK_H
#define FT_H_FTRACK_H

#include "ft_user.h"
#include "ftrack_api.h"
#include "harness.h"

extern struct h_emu *h_ft_emu;        /* this test's emulator, or NULL */
extern struct ftrack_client *h_ft_cl; /* this test's client, or NULL */

/*
 * An empty list of names or uuids for ftrack_users_lookup, which indexes
 * its lists even when their count is 0 (NULL + 0 is undefined in C).
 */
extern const char *const h_ft_none[1];

/*
 * Replace h_ft_cl by a new client of h_ft_emu's server as H_EMU_USER with
 * key, the timeout (seconds) and batch_size given, and a quick retry
 * policy: 4 attempts, back-off 20 ms to 200 ms, 30 s per request.
 */
void h_ft_client(const char *key, unsigned timeout, unsigned batch_size);

/*
 * Start the emulator (extra_args as for h_emu_start) into h_ft_emu, and
 * h_ft_client(H_EMU_KEY, 10, 100).
 */
void h_ft_start(const char *const extra_args[]);

/* Free h_ft_cl, stop h_ft_emu; both become NULL. */
void h_ft_stop(void);

/* The integer member name of h_ft_emu's /_emulator/stats (asserted). */
long long h_ft_stat(const char *name);

/* POST spec (a JSON fault) to h_ft_emu's /_emulator/fault (asserted). */
void h_ft_fault(const char *spec);

/* The HTTP requests h_ft_cl sent so far, retries included. */
unsigned long h_ft_requests(void);

/* A user with copies of the given strings (NULL stays NULL). */
struct ft_user h_ft_mkuser(const char *username, const char *first,
			   const char *last, const char *email);

/*
 * Create the user username ("First" "Last", no e-mail), with its uuid
 * marker when uuid is not NULL, in one committed batch of h_ft_cl.
 * Returns its new id (caller frees).
 */
char *h_ft_create(const char *username, const char *uuid);

/*
 * Look up username with ftrack_users_lookup into list, asserting it is
 * found exactly once.
 */
void h_ft_get_one(const char *username, struct ft_user_list *list);

/*
 * From now on jansson's allocations fail once n more have succeeded
 * (json_set_alloc_funcs); h_ft_oom_off gives it malloc back.
 */
void h_ft_oom_after(int n);
void h_ft_oom_off(void);

#endif
