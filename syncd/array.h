/* SPDX-License-Identifier: Apache-2.0 */
/*
 * array.h: the one way a growable array grows in ftrack-syncd.
 *
 * Every list the daemon builds from remote data (users, markers, plan
 * actions, queue entries, LDAP DNs, response bytes) keeps a pointer, a
 * count and a capacity, and calls array_grow() before it appends.  The
 * capacity doubles from `first` and is checked for overflow; the caller
 * bounds the count.  Non-logging; not thread-safe on one array.
 */
#ifndef ARRAY_H
#define ARRAY_H

#include <stddef.h>

#include "ft_attrs.h"

/*
 * Make room for `want` elements of `size` bytes in the array *pv (pv is
 * the address of the caller's element pointer, e.g. &list->v) whose
 * capacity is *cap: when want > *cap the array is reallocated to the
 * first of first, 2 first, 4 first, ... that holds want (but never more
 * than max elements, when max is not 0), and *pv and *cap are updated.  Returns FT_OK, or FT_E_NOMEM with *pv and *cap
 * untouched (the old array stays valid and owned by the caller), or
 * FT_E_TOOBIG when want is over max.
 */
FT_MUST_USE int array_grow(void *pv, size_t *cap, size_t want, size_t size,
			   size_t first, size_t max);

#endif
