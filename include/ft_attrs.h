/* SPDX-License-Identifier: Apache-2.0 */
/* ft_attrs.h: compiler attributes used on prototypes across the project. */
#ifndef FT_ATTRS_H
#define FT_ATTRS_H

#define FT_MUST_USE     __attribute__((warn_unused_result))
#define FT_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define FT_NORETURN     __attribute__((noreturn))
#define FT_UNUSED       __attribute__((unused))

#endif
