/* SPDX-License-Identifier: Apache-2.0 */
/*
 * umap.h: a hash map from user name to a caller-owned value.
 *
 * Keys are copied and owned by the map; values are borrowed pointers that
 * the caller frees (umap_free takes a destructor for what is left).
 * Not thread-safe: the caller locks.
 */
#ifndef UMAP_H
#define UMAP_H

#include <stddef.h>
#include <stdint.h>

#include "ft_attrs.h"

struct umap;

/* A new empty map, or NULL on OOM.  Free with umap_free. */
FT_MUST_USE struct umap *umap_new(void);

/* Free the map and call free_val (if not NULL) on every value. */
void umap_free(struct umap *m, void (*free_val)(void *val));

/* The value for key, or NULL. */
void *umap_get(const struct umap *m, const char *key);

/* Insert or replace key -> val.  FT_OK or FT_E_NOMEM. */
FT_MUST_USE int umap_put(struct umap *m, const char *key, void *val);

/*
 * A number instead of a pointer: umap_put_num() stores n for key (and a
 * NULL pointer value); umap_get_num() returns it, or 0 when key is absent.
 */
FT_MUST_USE int umap_put_num(struct umap *m, const char *key, uint64_t n);
uint64_t umap_get_num(const struct umap *m, const char *key);

/* Remove key; returns its value (for the caller to free) or NULL. */
void *umap_del(struct umap *m, const char *key);

/* Number of keys. */
size_t umap_size(const struct umap *m);

/*
 * Call fn for every entry (in no order) until it returns non-zero, which
 * umap_each returns.  fn must not change the map.
 */
int umap_each(const struct umap *m,
	      int (*fn)(void *ctx, const char *key, void *val), void *ctx);

#endif
