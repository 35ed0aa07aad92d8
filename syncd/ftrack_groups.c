/* SPDX-License-Identifier: Apache-2.0 */
/* ftrack_groups.c: groups, roles, memberships and role grants, read. */
#include "ftrack_groups.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ft_err.h"
#include "ftrack_int.h"

static const char *const group_fields[] = {"id", "name", "parent_id"};
static const char *const role_fields[] = {"id", "name", "type"};
static const char *const member_fields[] = {"id", "user_id", "group_id"};
static const char *const usr_fields[] = {"id", "user_id", "security_role_id",
					 "is_all_open_projects"};
static const char *const usrp_fields[] = {"id", "user_security_role_id"};
static const char *const marker_fields[] = {"parent_id", "key", "value"};

#define NF(a) (sizeof(a) / sizeof((a)[0]))

static void
rows_setup(struct ftrack_rows *rows, const char *type,
	   const char *const *fields, size_t nf)
{
	ftrack_rows_clear(rows);
	rows->type = type;
	rows->fields = fields;
	rows->nf = nf;
}

void
ftrack_names_init(struct ftrack_names *n)
{
	memset(n, 0, sizeof(*n));
	rows_setup(&n->groups, "Group", group_fields, NF(group_fields));
	rows_setup(&n->roles, "SecurityRole", role_fields, NF(role_fields));
}

void
ftrack_names_clear(struct ftrack_names *n)
{
	ftrack_rows_clear(&n->groups);
	ftrack_rows_clear(&n->roles);
}

/* One page of expr at offset into rows; *ret_next the next offset. */
static int
one_page(struct ftrack_client *c, const char *expr, long long offset,
	 struct ftrack_rows *rows, long long *ret_next, char *err,
	 size_t errlen)
{
	struct ftrack_ops *ops = ftrack_ops_new();
	struct ftrack_reply *rep = NULL;
	struct call k;
	int r = ops != NULL ? FT_OK : FT_E_NOMEM;

	if (r == FT_OK)
		r = ftrack_ops_query_page(ops, expr, (unsigned long long)offset,
					  FTRACK_DEFAULT_PAGE);
	if (r == FT_OK)
		r = ftrack_call_ops(c, ops, 0, 1, &k, &rep, err, errlen);
	if (r == FT_OK)
		r = ftrack_reply_rows(rep, 0, rows, NULL);
	if (r == FT_OK)
		r = ftrack_reply_next(rep, 0, ret_next);
	if (r == FT_OK && ftrack_reply_data_len(rep, 0) == 0)
		*ret_next = -1;
	if (r == FT_E_MALFORMED)
		(void)snprintf(err, errlen, "unexpected %s records",
			       rows->type);
	ftrack_reply_free(rep);
	ftrack_ops_free(ops);
	return r;
}

/* Every page of expr (ordered by id) into rows. */
static int
all_pages(struct ftrack_client *c, const char *expr, struct ftrack_rows *rows,
	  char *err, size_t errlen)
{
	long long offset = 0, next = -1;
	unsigned long pages = 0;
	int r = FT_OK;

	while (r == FT_OK && offset >= 0) {
		r = one_page(c, expr, offset, rows, &next, err, errlen);
		if (r == FT_OK && next >= 0 && next <= offset)
			r = FT_E_MALFORMED; /* it must move on */
		if (r == FT_OK && ++pages >= FTRACK_MAX_PAGES && next >= 0)
			r = FT_E_TOOBIG;
		offset = next;
	}
	return r;
}

int
ftrack_names_read(struct ftrack_client *c, struct ftrack_names *n, char *err,
		  size_t errlen)
{
	int r = all_pages(c,
			  "select id, name, parent_id from Group where local "
			  "is false order by id",
			  &n->groups, err, errlen);

	if (r == FT_OK)
		r = all_pages(c,
			      "select id, name, type from SecurityRole "
			      "order by id",
			      &n->roles, err, errlen);
	return r;
}

/* ---- names to ids (pure) ----------------------------------------------- */

static size_t
find_id(const struct ftrack_rows *rows, const char *id)
{
	size_t k;

	for (k = 0; k < rows->n; k++)
		if (strcmp(ftrack_rows_get(rows, k, 0), id) == 0)
			break;
	return k;
}

/* Whether group k's parents, upwards, are names[0..depth) backwards. */
static bool
parents_match(const struct ftrack_rows *g, size_t k, char names[][256],
	      size_t depth)
{
	while (depth > 0) {
		const char *pid = ftrack_rows_get(g, k, FG_PARENT);
		const char *pn;

		if (pid == NULL)
			return false;
		k = find_id(g, pid);
		pn = ftrack_rows_get(g, k, FG_NAME);
		if (pn == NULL || strcmp(pn, names[--depth]) != 0)
			return false;
	}
	return true;
}

/* Split key at '/' into names (each < 256 bytes); the count, 0: bad. */
static size_t
split_path(const char *key, char names[][256], size_t max)
{
	size_t n = 0;
	const char *p = key;

	while (n < max) {
		const char *slash = strchr(p, '/');
		size_t len = slash != NULL ? (size_t)(slash - p) : strlen(p);

		if (len == 0 || len >= 256)
			return 0;
		memcpy(names[n], p, len);
		names[n++][len] = '\0';
		if (slash == NULL)
			return n;
		p = slash + 1;
	}
	return 0;
}

const char *
ftrack_group_resolve(const struct ftrack_names *n, const char *key,
		     int *ret_why)
{
	char names[FTRACK_GROUP_PATH_MAX][256];
	const struct ftrack_rows *g = &n->groups;
	size_t k, depth, hit = g->n;

	*ret_why = FT_E_NOTFOUND;
	k = find_id(g, key);
	if (k < g->n) {
		*ret_why = FT_OK;
		return ftrack_rows_get(g, k, FG_ID);
	}
	/* a name holding '/' is only ever reached by its id */
	depth = split_path(key, names, FTRACK_GROUP_PATH_MAX);
	for (k = 0; depth > 0 && k < g->n; k++) {
		const char *name = ftrack_rows_get(g, k, FG_NAME);

		if (name == NULL || strcmp(name, names[depth - 1]) != 0 ||
		    !parents_match(g, k, names, depth - 1))
			continue;
		if (hit < g->n) {
			*ret_why = FT_E_CONFLICT;
			return NULL;
		}
		hit = k;
	}
	if (hit == g->n)
		return NULL;
	*ret_why = FT_OK;
	return ftrack_rows_get(g, hit, FG_ID);
}

const char *
ftrack_role_resolve(const struct ftrack_names *n, const char *name,
		    int *ret_why)
{
	const struct ftrack_rows *r = &n->roles;
	size_t k, hit = r->n;
	const char *type;

	for (k = 0; k < r->n; k++) {
		const char *rn = ftrack_rows_get(r, k, FR_NAME);

		if (rn == NULL || strcmp(rn, name) != 0)
			continue;
		if (hit < r->n) {
			*ret_why = FT_E_CONFLICT;
			return NULL;
		}
		hit = k;
	}
	*ret_why = FT_E_NOTFOUND;
	if (hit == r->n)
		return NULL;
	type = ftrack_rows_get(r, hit, FR_TYPE);
	if (type != NULL && strcmp(type, "API") == 0) {
		*ret_why = FT_E_PERM;
		return NULL;
	}
	*ret_why = FT_OK;
	return ftrack_rows_get(r, hit, FR_ID);
}

/* ---- memberships and grants ------------------------------------------ */

/* "<head> (ids chunk...) order by id", every chunk, every page. */
static int
read_in(struct ftrack_client *c, const char *head, const char *const ids[],
	size_t n, struct ftrack_rows *rows, char *err, size_t errlen)
{
	size_t i;
	int r = FT_OK;

	for (i = 0; i < n && r == FT_OK; i += FTRACK_LOOKUP_CHUNK) {
		size_t m = n - i < FTRACK_LOOKUP_CHUNK ? n - i
						       : FTRACK_LOOKUP_CHUNK;
		char *expr = NULL;

		r = ftrack_expr_in(head, ids + i, m, " order by id", &expr);
		if (r == FT_OK)
			r = all_pages(c, expr, rows, err, errlen);
		free(expr);
	}
	return r;
}

int
ftrack_memberships_read(struct ftrack_client *c, const char *const group_ids[],
			size_t n, struct ftrack_rows *rows, char *err,
			size_t errlen)
{
	rows_setup(rows, "Membership", member_fields, NF(member_fields));
	return read_in(c,
		       "select id, user_id, group_id from Membership where "
		       "group_id in",
		       group_ids, n, rows, err, errlen);
}

/* The grants of usr_by (user_id or security_role_id) in ids, then their
 * per-project grants. */
static int
grants_read(struct ftrack_client *c, const char *head, const char *const ids[],
	    size_t n, struct ftrack_rows *roles, struct ftrack_rows *projects,
	    char *err, size_t errlen)
{
	const char **usr = NULL;
	size_t k;
	int r;

	rows_setup(roles, "UserSecurityRole", usr_fields, NF(usr_fields));
	rows_setup(projects, "UserSecurityRoleProject", usrp_fields,
		   NF(usrp_fields));
	r = read_in(c, head, ids, n, roles, err, errlen);
	if (r != FT_OK || roles->n == 0)
		return r;
	usr = calloc(roles->n, sizeof(*usr));
	if (usr == NULL)
		return FT_E_NOMEM;
	for (k = 0; k < roles->n; k++)
		usr[k] = ftrack_rows_get(roles, k, FU_ID);
	r = read_in(c,
		    "select id, user_security_role_id from "
		    "UserSecurityRoleProject where user_security_role_id in",
		    usr, roles->n, projects, err, errlen);
	free(usr);
	return r;
}

#define USR_SELECT                                                             \
	"select id, user_id, security_role_id, is_all_open_projects from "     \
	"UserSecurityRole where "

int
ftrack_user_roles_read(struct ftrack_client *c, const char *const user_ids[],
		       size_t n, struct ftrack_rows *roles,
		       struct ftrack_rows *projects, char *err, size_t errlen)
{
	return grants_read(c, USR_SELECT "user_id in", user_ids, n, roles,
			   projects, err, errlen);
}

int
ftrack_role_grants_read(struct ftrack_client *c, const char *const role_ids[],
			size_t n, struct ftrack_rows *roles,
			struct ftrack_rows *projects, char *err, size_t errlen)
{
	return grants_read(c, USR_SELECT "security_role_id in", role_ids, n,
			   roles, projects, err, errlen);
}

int
ftrack_group_markers_read(struct ftrack_client *c, struct ftrack_rows *rows,
			  char *err, size_t errlen)
{
	rows_setup(rows, "Metadata", marker_fields, NF(marker_fields));
	/* XXX: the Metadata primary key (parent_id, key) orders the pages */
	return all_pages(c,
			 "select parent_id, key, value from Metadata where key "
			 "in (\"ftrack_syncd.groups\", \"ftrack_syncd.roles\") "
			 "order by parent_id, key",
			 rows, err, errlen);
}

/* ---- one person's state at login --------------------------------------- */

/* Query i of rep into rows; FT_E_TOOBIG when more pages follow. */
static int
take_query(const struct ftrack_reply *rep, size_t i, struct ftrack_rows *rows)
{
	long long next = -1;
	int r = ftrack_reply_rows(rep, i, rows, NULL);

	if (r == FT_OK)
		r = ftrack_reply_next(rep, i, &next);
	if (r == FT_OK && next >= 0 && ftrack_reply_data_len(rep, i) > 0)
		r = FT_E_TOOBIG;
	return r;
}

static int
person_ops(struct ftrack_ops *ops, const char *const user_ids[], size_t n)
{
	static const char *const heads[] = {
		"select id, user_id, group_id from Membership where user_id in",
		USR_SELECT "user_id in",
		"select parent_id, key, value from Metadata where key in "
		"(\"ftrack_syncd.groups\", \"ftrack_syncd.roles\") and "
		"parent_id in"};
	size_t i;
	int r = FT_OK;

	for (i = 0; i < 3 && r == FT_OK; i++) {
		char *expr = NULL;

		r = ftrack_expr_in(heads[i], user_ids, n, "", &expr);
		if (r == FT_OK)
			r = ftrack_ops_query_page(ops, expr, 0,
						  FTRACK_DEFAULT_PAGE);
		free(expr);
	}
	return r;
}

int
ftrack_person_state_read(struct ftrack_client *c, const char *const user_ids[],
			 size_t n, struct ftrack_rows *mem,
			 struct ftrack_rows *usr, struct ftrack_rows *markers,
			 char *err, size_t errlen)
{
	struct ftrack_ops *ops = ftrack_ops_new();
	struct ftrack_reply *rep = NULL;
	struct call k;
	int r = ops != NULL ? FT_OK : FT_E_NOMEM;

	rows_setup(mem, "Membership", member_fields, NF(member_fields));
	rows_setup(usr, "UserSecurityRole", usr_fields, NF(usr_fields));
	rows_setup(markers, "Metadata", marker_fields, NF(marker_fields));
	if (r == FT_OK && (n == 0 || n > FTRACK_LOOKUP_CHUNK))
		r = FT_E_INVAL;
	if (r == FT_OK)
		r = person_ops(ops, user_ids, n);
	if (r == FT_OK)
		r = ftrack_call_ops(c, ops, 0, 3, &k, &rep, err, errlen);
	if (r == FT_OK)
		r = take_query(rep, 0, mem);
	if (r == FT_OK)
		r = take_query(rep, 1, usr);
	if (r == FT_OK)
		r = take_query(rep, 2, markers);
	ftrack_reply_free(rep);
	ftrack_ops_free(ops);
	return r;
}
