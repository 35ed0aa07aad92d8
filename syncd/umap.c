/* SPDX-License-Identifier: Apache-2.0 */
/* umap.c: chained hash map keyed by user name (FNV-1a). */
#include "umap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ft_err.h"

struct node {
	struct node *next;
	void *val;
	uint64_t num;
	char key[]; /* NUL-terminated */
};

struct umap {
	struct node **slots;
	size_t nslots; /* a power of two */
	size_t n;
};

static uint64_t
hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

struct umap *
umap_new(void)
{
	struct umap *m = calloc(1, sizeof(*m));

	if (m == NULL)
		return NULL;
	m->nslots = 64;
	m->slots = calloc(m->nslots, sizeof(struct node *));
	if (m->slots == NULL) {
		free(m);
		return NULL;
	}
	return m;
}

void
umap_free(struct umap *m, void (*free_val)(void *val))
{
	size_t i;

	if (m == NULL)
		return;
	for (i = 0; i < m->nslots; i++) {
		struct node *n = m->slots[i], *next;

		for (; n != NULL; n = next) {
			next = n->next;
			if (free_val != NULL)
				free_val(n->val);
			free(n);
		}
	}
	free(m->slots);
	free(m);
}

static struct node **
find(const struct umap *m, const char *key)
{
	struct node **p = &m->slots[hash(key) & (m->nslots - 1)];

	while (*p != NULL && strcmp((*p)->key, key) != 0)
		p = &(*p)->next;
	return p;
}

void *
umap_get(const struct umap *m, const char *key)
{
	struct node *n = *find(m, key);

	return n ? n->val : NULL;
}

static int
grow(struct umap *m)
{
	size_t nslots = m->nslots * 2, i;
	struct node **slots = calloc(nslots, sizeof(struct node *));

	if (slots == NULL)
		return FT_E_NOMEM;
	for (i = 0; i < m->nslots; i++) {
		struct node *n = m->slots[i], *next;

		for (; n != NULL; n = next) {
			size_t s = hash(n->key) & (nslots - 1);

			next = n->next;
			n->next = slots[s];
			slots[s] = n;
		}
	}
	free(m->slots);
	m->slots = slots;
	m->nslots = nslots;
	return FT_OK;
}

static struct node *
insert(struct umap *m, const char *key)
{
	struct node **p = find(m, key), *n;
	size_t len;

	if (*p != NULL)
		return *p;
	if (m->n + 1 > m->nslots - m->nslots / 4 && grow(m) < 0)
		return NULL;
	len = strlen(key);
	n = calloc(1, sizeof(*n) + len + 1);
	if (n == NULL)
		return NULL;
	memcpy(n->key, key, len + 1);
	p = &m->slots[hash(key) & (m->nslots - 1)];
	n->next = *p;
	*p = n;
	m->n++;
	return n;
}

int
umap_put(struct umap *m, const char *key, void *val)
{
	struct node *n = insert(m, key);

	if (n == NULL)
		return FT_E_NOMEM;
	n->val = val;
	return FT_OK;
}

int
umap_put_num(struct umap *m, const char *key, uint64_t num)
{
	struct node *n = insert(m, key);

	if (n == NULL)
		return FT_E_NOMEM;
	n->num = num;
	return FT_OK;
}

uint64_t
umap_get_num(const struct umap *m, const char *key)
{
	struct node *n = *find(m, key);

	return n ? n->num : 0;
}

void *
umap_del(struct umap *m, const char *key)
{
	struct node **p = find(m, key), *n = *p;
	void *val;

	if (n == NULL)
		return NULL;
	*p = n->next;
	val = n->val;
	free(n);
	m->n--;
	return val;
}

size_t
umap_size(const struct umap *m)
{
	return m->n;
}

int
umap_each(const struct umap *m,
	  int (*fn)(void *ctx, const char *key, void *val), void *ctx)
{
	size_t i;
	int r;

	for (i = 0; i < m->nslots; i++) {
		const struct node *n;

		for (n = m->slots[i]; n != NULL; n = n->next) {
			r = fn(ctx, n->key, n->val);
			if (r != 0)
				return r;
		}
	}
	return 0;
}
