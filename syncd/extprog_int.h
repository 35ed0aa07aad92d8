/* SPDX-License-Identifier: Apache-2.0 */
/*
 * extprog_int.h: what the two files of extprog share: the file rule
 * (extprog_check.c), which extprog.c applies before it starts a program.
 */
#ifndef EXTPROG_INT_H
#define EXTPROG_INT_H

#include <stddef.h>

#include "ft_attrs.h"

/*
 * extprog_check() of path, its resolved form (no symbolic link) into
 * real (PATH_MAX bytes), the one that is run.  Returns as extprog_check().
 */
FT_MUST_USE int extprog_resolve(const char *path, char *real, char *why,
				size_t cap);

#endif
