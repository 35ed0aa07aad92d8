/* SPDX-License-Identifier: Apache-2.0 */
/* config_groups.c: [group_map] and [role_map], whose keys are ftrack names. */
#include "config.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "config_int.h"
#include "ft_err.h"
#include "ldap_groups.h"

bool
conf_groupmap_section(const char *section)
{
	return strcmp(section, "group_map") == 0 ||
	       strcmp(section, "role_map") == 0;
}

static struct groupmap *
section_map(struct config *cfg, const char *section)
{
	return strcmp(section, "group_map") == 0 ? &cfg->groups.group_map
						 : &cfg->groups.role_map;
}

/* NULL when the LDAP side of a line is good, else why not. */
static const char *
check_ldap_side(const char *v)
{
	char *norm = NULL;
	int r;

	if (*v == '\0')
		return "must name an LDAP group (a name under [groups] "
		       "search_base, or a DN)";
	if (strchr(v, '=') == NULL)
		return NULL; /* a group name: escaped when searched for */
	r = ldap_groups_dn_norm(v, &norm);
	free(norm);
	if (r == FT_E_NOMEM)
		return "out of memory";
	return r == FT_OK ? NULL : "is not a valid DN";
}

/* The line of map that already says name = value; 0: none. */
static int
same_line(const struct groupmap *map, const char *name, const char *value)
{
	size_t i;

	for (i = 0; i < map->n; i++)
		if (strcmp(map->v[i].ftrack, name) == 0 &&
		    strcmp(map->v[i].ldap, value) == 0)
			return map->v[i].line;
	return 0;
}

static int
push(struct groupmap *map, const char *name, const char *value, int line)
{
	size_t cap = map->n; /* grown one line at a time: at most 1,000 */
	struct groupmap_entry *e;
	int r = array_grow(&map->v, &cap, map->n + 1, sizeof(*map->v), 1, 0);

	if (r < 0)
		return r;
	e = &map->v[map->n];
	e->ftrack = strdup(name);
	e->ldap = strdup(value);
	e->line = line;
	if (e->ftrack == NULL || e->ldap == NULL) {
		free(e->ftrack);
		free(e->ldap);
		return FT_E_NOMEM;
	}
	map->n++;
	return FT_OK;
}

int
conf_groupmap_add(struct load *l, const char *section, const char *name,
		  const char *value)
{
	struct groupmap *map = section_map(l->cfg, section);
	const char *why = conf_check_text(name);
	int first;

	if (why == NULL && strlen(name) > GROUPMAP_NAME_MAX)
		why = "is too long (at most 255 bytes)";
	if (why != NULL)
		return conf_fail(l, l->lineno, FT_E_CONFIG,
				 "[%s] '%.64s': the ftrack name %s", section,
				 name, why);
	why = conf_check_text(value);
	if (why == NULL)
		why = check_ldap_side(value);
	if (why != NULL)
		return conf_fail(l, l->lineno, FT_E_CONFIG,
				 "[%s] %.64s: '%.64s' %s", section, name, value,
				 why);
	first = same_line(map, name, value);
	if (first > 0)
		return conf_fail(l, l->lineno, FT_E_CONFIG,
				 "[%s] %.64s: the same line as line %d",
				 section, name, first);
	if (map->n >= GROUPMAP_MAX)
		return conf_fail(l, l->lineno, FT_E_CONFIG,
				 "[%s]: at most %d lines", section,
				 GROUPMAP_MAX);
	if (push(map, name, value, l->lineno) < 0)
		return conf_fail(l, l->lineno, FT_E_NOMEM, "out of memory");
	return FT_OK;
}

int
conf_check_groups(struct load *l)
{
	const struct config_groups *g = &l->cfg->groups;
	const struct groupmap *first =
		g->group_map.n > 0 ? &g->group_map : &g->role_map;

	if (first->n > 0 && g->search_base == NULL)
		return conf_fail(l, first->v[0].line, FT_E_CONFIG,
				 "[%s] %.64s: a mapping needs [groups] "
				 "search_base (where the groups are)",
				 first == &g->group_map ? "group_map"
							: "role_map",
				 first->v[0].ftrack);
	if (g->nested && g->member_attribute == MEMBER_ATTR_MEMBER_UID)
		return conf_fail(
			l, l->seen[conf_key_find("groups", "nested")],
			FT_E_CONFIG,
			"[groups] nested: memberUid holds login names, not "
			"groups; set nested = no or member_attribute = "
			"member");
	return FT_OK;
}

static void
map_free(struct groupmap *map)
{
	size_t i;

	for (i = 0; i < map->n; i++) {
		free(map->v[i].ftrack);
		free(map->v[i].ldap);
	}
	free(map->v);
	memset(map, 0, sizeof(*map));
}

void
conf_groupmap_free(struct config *cfg)
{
	map_free(&cfg->groups.group_map);
	map_free(&cfg->groups.role_map);
}

static void
map_dump(const struct groupmap *map, const char *section,
	 void (*emit)(void *ctx, const char *line), void *ctx)
{
	char line[GROUPMAP_NAME_MAX + 1200];
	size_t i;

	for (i = 0; i < map->n; i++) {
		(void)snprintf(line, sizeof(line), "%s.%s = %s", section,
			       map->v[i].ftrack, map->v[i].ldap);
		emit(ctx, line);
	}
}

void
conf_groupmap_dump(const struct config *cfg,
		   void (*emit)(void *ctx, const char *line), void *ctx)
{
	map_dump(&cfg->groups.group_map, "group_map", emit, ctx);
	map_dump(&cfg->groups.role_map, "role_map", emit, ctx);
}
