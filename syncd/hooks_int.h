/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hooks_int.h: the hooks folder's names, shared by hooks.c (the journal)
 * and hooks_deliver.c (the delivery); not for other units.
 */
#ifndef HOOKS_INT_H
#define HOOKS_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "ft_attrs.h"

#define HOOKS_DIR        "hooks"
#define HOOKS_FAILED_DIR "failed"
#define HOOKS_CURSOR     "cursor"
#define HOOKS_SEQ_LEN    32 /* hex ns "-" pid "-" counter */
#define HOOKS_NAME_MAX   64

/* Whether name is an intent ('I') or a ready file ('R') of the folder. */
bool hooks_is_intent(const char *name);
bool hooks_is_ready(const char *name);

/* The changes a ready file name says it holds (0: not a ready name). */
unsigned long long hooks_ready_count(const char *name);

/* qsort order of names: by <seq>, a ready file before its intent. */
int hooks_name_cmp(const void *a, const void *b);

/* The delivery's place in the first ready file. */
struct hooks_cursor {
	char name[HOOKS_NAME_MAX];
	unsigned long long offset;   /* bytes delivered */
	unsigned long long index;    /* changes delivered */
	unsigned long long attempts; /* refusals of the next change */
};

/* Read the cursor of dirfd (none or unreadable: all zero). */
void hooks_cursor_read(int dirfd, struct hooks_cursor *ret);

/* Write it (fsynced); FT_OK or FT_E_IO. */
FT_MUST_USE int hooks_cursor_write(int dirfd, const struct hooks_cursor *c);

/*
 * Write the ready file for <seq> (the intent's name is "I<seq>.json")
 * from the n JSON lines in buf, then remove the intent.  n == 0: the
 * intent is only removed.  FT_OK or FT_E_IO.
 */
FT_MUST_USE int hooks_settle(int dirfd, const char *intent, const char *buf,
			     size_t len, size_t n);

struct ftrack_client;

/*
 * The intent `name` of the hooks folder dirfd, whose writer is gone (its
 * lock taken by the caller), settled by asking ft (hooks_recheck.c): the
 * changes ftrack shows applied become a ready file (a creation or
 * reactivation ftrack kept inactive with the seat_waiting marker as
 * seat_waiting), the others are dropped; the intent is removed.  Logs
 * what it did.  FT_OK, or the look-up's failure (the intent stays; try
 * again later).
 */
FT_MUST_USE int hooks_recheck(int dirfd, struct ftrack_client *ft,
			      const char *name);

#endif
