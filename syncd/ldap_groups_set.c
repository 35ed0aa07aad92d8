/* SPDX-License-Identifier: Apache-2.0 */
/* ldap_groups_set.c: each mapping line's members, from the groups read. */
#include "ldap_groups.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "array.h"
#include "ft_err.h"

/* The groups of a read, by DN, for following member groups. */
struct byd {
	const struct ldap_group **v;
	size_t n;
};

static int
cmp_group(const void *a, const void *b)
{
	const struct ldap_group *x = *(const struct ldap_group *const *)a;
	const struct ldap_group *y = *(const struct ldap_group *const *)b;

	return strcmp(x->dn, y->dn);
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The index in all of the group with DN dn; all->n when none. */
static size_t
by_dn(const struct byd *idx, const struct ldap_groups *all, const char *dn)
{
	struct ldap_group key;
	const struct ldap_group *kp = &key, *const * hit;

	memcpy(&key.dn, &dn, sizeof(key.dn));
	hit = idx->n > 0 ? bsearch(&kp, idx->v, idx->n,
				   sizeof(const struct ldap_group *), cmp_group)
			 : NULL;
	return hit != NULL ? (size_t)(*hit - all->v) : all->n;
}

/* One line's walk: the seen groups, the members gathered. */
struct walk {
	const struct config *cfg;
	const struct ldap_groups *all;
	const struct byd *idx;
	char *people;  /* [ldap] search_base, normal form; NULL: unusable */
	bool *seen;    /* per group of all */
	size_t *stack; /* groups still to expand */
	size_t depth;
	char **m;
	size_t n, cap;
};

static int
take(struct walk *w, const char *v)
{
	int r = array_grow(&w->m, &w->cap, w->n + 1, sizeof(*w->m), 64, 0);

	if (r < 0)
		return r;
	w->m[w->n] = strdup(v);
	if (w->m[w->n] == NULL)
		return FT_E_NOMEM;
	w->n++;
	return FT_OK;
}

static void
push_group(struct walk *w, struct group_members *gm, size_t i)
{
	if (w->seen[i]) {
		gm->loops++;
		return;
	}
	w->seen[i] = true;
	w->stack[w->depth++] = i;
}

/* The members of group i: people taken, groups pushed, the rest ignored. */
static int
expand(struct walk *w, struct group_members *gm, size_t i)
{
	const struct ldap_group *g = &w->all->v[i];
	bool uid = w->cfg->groups.member_attribute == MEMBER_ATTR_MEMBER_UID;
	size_t k, j;
	int r = FT_OK;

	gm->complete = gm->complete && g->complete;
	for (k = 0; k < g->n && r == FT_OK; k++) {
		if (uid) {
			r = take(w, g->members[k]);
			continue;
		}
		j = by_dn(w->idx, w->all, g->members[k]);
		if (j < w->all->n && w->cfg->groups.nested)
			push_group(w, gm, j);
		else if (j == w->all->n &&
			 ldap_groups_dn_under(g->members[k], w->people))
			r = take(w, g->members[k]);
		else
			gm->ignored++;
	}
	return r;
}

/* Sort, drop repeats, hand the array to gm. */
static void
settle(struct walk *w, struct group_members *gm)
{
	size_t i, k = 0;

	if (w->n > 0)
		qsort(w->m, w->n, sizeof(*w->m), cmp_str);
	for (i = 0; i < w->n; i++) {
		if (k > 0 && strcmp(w->m[k - 1], w->m[i]) == 0) {
			free(w->m[i]);
			continue;
		}
		w->m[k++] = w->m[i];
	}
	gm->members = w->m;
	gm->n = k;
	w->m = NULL;
	w->n = w->cap = 0;
}

/* The group a line names: its index in all, all->n when none. */
static size_t
find_line(const struct byd *idx, const struct ldap_groups *all,
	  const struct groupmap_entry *line, bool *ret_ambiguous)
{
	size_t i, hit = all->n;
	char *dn = NULL;

	*ret_ambiguous = false;
	if (strchr(line->ldap, '=') != NULL) {
		if (ldap_groups_dn_norm(line->ldap, &dn) < 0)
			return all->n;
		hit = by_dn(idx, all, dn);
		free(dn);
		return hit;
	}
	for (i = 0; i < all->n; i++) {
		if (all->v[i].name == NULL ||
		    strcasecmp(all->v[i].name, line->ldap) != 0)
			continue;
		if (hit < all->n)
			*ret_ambiguous = true;
		hit = i;
	}
	return *ret_ambiguous ? all->n : hit;
}

static int
resolve_line(struct walk *w, const struct groupmap_entry *line,
	     struct group_members *gm)
{
	size_t i = find_line(w->idx, w->all, line, &gm->ambiguous);
	int r = FT_OK;

	gm->line = line;
	gm->complete = i < w->all->n;
	if (i == w->all->n)
		return FT_OK;
	gm->dn = w->all->v[i].dn;
	memset(w->seen, 0, w->all->n * sizeof(*w->seen));
	w->depth = 0;
	push_group(w, gm, i);
	while (w->depth > 0 && r == FT_OK)
		r = expand(w, gm, w->stack[--w->depth]);
	if (r == FT_OK)
		settle(w, gm);
	return r;
}

static int
make_index(const struct ldap_groups *all, struct byd *idx)
{
	size_t i;

	idx->n = 0;
	idx->v = calloc(all->n + 1, sizeof(const struct ldap_group *));
	if (idx->v == NULL)
		return FT_E_NOMEM;
	for (i = 0; i < all->n; i++)
		idx->v[idx->n++] = &all->v[i];
	if (idx->n > 0)
		qsort(idx->v, idx->n, sizeof(const struct ldap_group *),
		      cmp_group);
	return FT_OK;
}

static void
walk_free(struct walk *w)
{
	size_t i;

	for (i = 0; i < w->n; i++)
		free(w->m[i]);
	free(w->m);
	free(w->seen);
	free(w->stack);
	free(w->people);
}

int
ldap_groups_resolve(const struct config *cfg, const struct ldap_groups *all,
		    const struct groupmap *map, struct group_members **ret)
{
	struct byd idx = {NULL, 0};
	struct walk w = {cfg, all, &idx, NULL, NULL, NULL, 0, NULL, 0, 0};
	struct group_members *v = calloc(map->n + 1, sizeof(*v));
	size_t i;
	int r = v != NULL ? make_index(all, &idx) : FT_E_NOMEM;

	w.seen = calloc(all->n + 1, sizeof(*w.seen));
	w.stack = calloc(all->n + 1, sizeof(*w.stack));
	if (r == FT_OK && (w.seen == NULL || w.stack == NULL))
		r = FT_E_NOMEM;
	/* an unusable people base takes no member: the safe side */
	if (r == FT_OK && cfg->ldap.search_base != NULL &&
	    ldap_groups_dn_norm(cfg->ldap.search_base, &w.people) == FT_E_NOMEM)
		r = FT_E_NOMEM;
	for (i = 0; i < map->n && r == FT_OK; i++)
		r = resolve_line(&w, &map->v[i], &v[i]);
	walk_free(&w);
	free(idx.v);
	if (r < 0) {
		ldap_groups_members_free(v, map->n);
		return r;
	}
	*ret = v;
	return FT_OK;
}

void
ldap_groups_members_free(struct group_members *v, size_t n)
{
	size_t i, k;

	for (i = 0; v != NULL && i < n; i++) {
		for (k = 0; k < v[i].n; k++)
			free(v[i].members[k]);
		free(v[i].members);
	}
	free(v);
}

bool
ldap_groups_line_in(const struct groupmap_entry *line,
		    const struct ldap_groups *g)
{
	char *dn = NULL;
	bool hit = false;
	size_t i;

	if (strchr(line->ldap, '=') != NULL &&
	    ldap_groups_dn_norm(line->ldap, &dn) < 0)
		return false;
	for (i = 0; i < g->n && !hit; i++)
		hit = dn != NULL ? strcmp(g->v[i].dn, dn) == 0
				 : g->v[i].name != NULL &&
					   strcasecmp(g->v[i].name,
						      line->ldap) == 0;
	free(dn);
	return hit;
}

bool
ldap_groups_has_member(const struct group_members *gm, const char *member)
{
	return gm->n > 0 && member != NULL &&
	       bsearch(&member, gm->members, gm->n, sizeof(*gm->members),
		       cmp_str) != NULL;
}
