/* SPDX-License-Identifier: Apache-2.0 */
/* ldap_groups.c: the groups of [groups]: all of them, or one person's. */
#include "ldap_groups.h"

#include <lber.h>
#include <ldap.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "array.h"
#include "ft_err.h"
#include "ft_util.h"
#include "ldap_int.h"

/* ---- DNs --------------------------------------------------------------- */

int
ldap_groups_dn_norm(const char *dn, char **ret)
{
	char *out = NULL, *copy;
	size_t i, len = dn != NULL ? strlen(dn) : 0;

	if (len == 0 || len > LDAP_GROUP_DN_MAX)
		return FT_E_INVAL;
	if (ldap_dn_normalize(dn, LDAP_DN_FORMAT_LDAP, &out,
			      LDAP_DN_FORMAT_LDAPV3) != LDAP_SUCCESS ||
	    out == NULL || *out == '\0') {
		ldap_memfree(out);
		return FT_E_INVAL;
	}
	copy = strdup(out);
	ldap_memfree(out);
	if (copy == NULL)
		return FT_E_NOMEM;
	for (i = 0; copy[i] != '\0'; i++)
		if (copy[i] >= 'A' && copy[i] <= 'Z')
			copy[i] = (char)(copy[i] - 'A' + 'a');
	*ret = copy;
	return FT_OK;
}

bool
ldap_groups_dn_under(const char *dn, const char *base)
{
	size_t n, b;

	if (dn == NULL || base == NULL)
		return false;
	n = strlen(dn);
	b = strlen(base);
	if (n < b || strcmp(dn + n - b, base) != 0)
		return false;
	/* the normal form has no blank after a separating comma; an
	 * escaped comma is "\,", so the one before the suffix must not be
	 * escaped (XXX: "\\," ends an escaped backslash, seen as escaped:
	 * such a DN is then outside, the safe side) */
	return n == b ||
	       (n > b + 1 && dn[n - b - 1] == ',' && dn[n - b - 2] != '\\');
}

int
ldap_groups_range(const char *desc, const char *attr, unsigned long *ret_next)
{
	size_t a = strlen(attr);
	unsigned long long hi;
	const char *dash;

	if (strncasecmp(desc, attr, a) != 0)
		return -1;
	if (desc[a] == '\0')
		return 0;
	if (strncasecmp(desc + a, ";range=", 7) != 0)
		return -1;
	dash = strchr(desc + a + 7, '-');
	if (dash == NULL || dash == desc + a + 7)
		return -1;
	if (strcmp(dash + 1, "*") == 0)
		return 0;
	if (ft_parse_uint(dash + 1, LDAP_GROUP_MEMBERS_MAX, &hi) < 0)
		return -1;
	*ret_next = (unsigned long)hi + 1;
	return 1;
}

/* ---- the list ------------------------------------------------------------ */

static int fail(struct ldap_groups *g, int r, const char *fmt, ...)
	FT_PRINTF(3, 4);

static int
fail(struct ldap_groups *g, int r, const char *fmt, ...)
{
	va_list ap;

	g->complete = false;
	if (g->reason[0] != '\0')
		return r; /* the first reason is the one told */
	va_start(ap, fmt);
	lsrc_vmsg(g->reason, sizeof(g->reason), fmt, ap);
	va_end(ap);
	return r;
}

static void
group_free(struct ldap_group *gr)
{
	size_t i;

	for (i = 0; i < gr->n; i++)
		free(gr->members[i]);
	free(gr->members);
	free(gr->dn);
	free(gr->name);
}

void
ldap_groups_clear(struct ldap_groups *g)
{
	size_t i;

	for (i = 0; i < g->n; i++)
		group_free(&g->v[i]);
	free(g->v);
	memset(g, 0, sizeof(*g));
}

static const char *
member_attr(const struct config_groups *c)
{
	switch (c->member_attribute) {
	case MEMBER_ATTR_UNIQUE_MEMBER:
		return "uniqueMember";
	case MEMBER_ATTR_MEMBER_UID:
		return "memberUid";
	case MEMBER_ATTR_MEMBER:
		break;
	}
	return "member";
}

/* One member value in the form kept: a DN normalised, a login as is. */
static int
member_value(const struct config_groups *c, const struct berval *bv, char **ret)
{
	char buf[LDAP_GROUP_DN_MAX + 1];
	char *hash;

	if (bv->bv_len == 0 || bv->bv_len > LDAP_GROUP_DN_MAX ||
	    memchr(bv->bv_val, '\0', bv->bv_len) != NULL)
		return FT_E_INVAL;
	memcpy(buf, bv->bv_val, bv->bv_len);
	buf[bv->bv_len] = '\0';
	if (c->member_attribute == MEMBER_ATTR_MEMBER_UID) {
		*ret = strdup(buf);
		return *ret != NULL ? FT_OK : FT_E_NOMEM;
	}
	/* uniqueMember: DN, or DN#'0101'B (RFC 4517 Name and Optional UID) */
	hash = strrchr(buf, '#');
	if (c->member_attribute == MEMBER_ATTR_UNIQUE_MEMBER && hash != NULL &&
	    hash[1] == '\'' && hash > buf && hash[-1] != '\\')
		*hash = '\0';
	return ldap_groups_dn_norm(buf, ret);
}

/* One read of groups: the source, its [groups], the list filled. */
struct gread {
	struct ldap_src *src;
	const struct config_groups *c;
	struct ldap_groups *g;
	const char *attr; /* member_attr() */
};

static int
add_values(struct gread *rd, struct ldap_group *gr, struct berval **bvs)
{
	size_t i;

	for (i = 0; bvs != NULL && bvs[i] != NULL; i++) {
		char *v = NULL;
		int r;

		if (gr->n >= LDAP_GROUP_MEMBERS_MAX) {
			gr->complete = false;
			return fail(rd->g, FT_E_TOOBIG,
				    "group '%s': more than %lu members", gr->dn,
				    LDAP_GROUP_MEMBERS_MAX);
		}
		r = member_value(rd->c, bvs[i], &v);
		if (r == FT_E_NOMEM)
			return r;
		if (r < 0) {
			gr->complete = false;
			return fail(rd->g, FT_E_PARTIAL,
				    "group '%s': a %s value that is not a "
				    "DN",
				    gr->dn, rd->attr);
		}
		r = array_grow(&gr->members, &gr->cap, gr->n + 1,
			       sizeof(*gr->members), 16, 0);
		if (r < 0) {
			free(v);
			return r;
		}
		gr->members[gr->n++] = v;
	}
	return FT_OK;
}

/*
 * The attributes of entry e into gr: the name, the member values, and in
 * *ret_next the first value of the next range (0: none to read).
 */
static int
read_attrs(struct gread *rd, LDAPMessage *e, struct ldap_group *gr,
	   unsigned long *ret_next)
{
	BerElement *ber = NULL;
	char *a;
	int r = FT_OK;

	*ret_next = 0;
	for (a = ldap_first_attribute(rd->src->ld, e, &ber);
	     a != NULL && r == FT_OK;
	     a = ldap_next_attribute(rd->src->ld, e, ber)) {
		struct berval **bvs = ldap_get_values_len(rd->src->ld, e, a);
		unsigned long next = 0;
		int kind = ldap_groups_range(a, rd->attr, &next);

		if (kind >= 0) {
			r = add_values(rd, gr, bvs);
			*ret_next = kind > 0 ? next : *ret_next;
		} else if (gr->name == NULL && bvs != NULL && bvs[0] != NULL &&
			   strcasecmp(a, rd->c->name_attribute) == 0) {
			gr->name = strndup(bvs[0]->bv_val, bvs[0]->bv_len);
			r = gr->name != NULL ? FT_OK : FT_E_NOMEM;
		}
		ldap_value_free_len(bvs);
		ldap_memfree(a);
	}
	ldap_memfree(a);
	ber_free(ber, 0);
	return r;
}

/* Active Directory: member;range=NEXT-* of gr, to the last range. */
static int
read_ranges(struct gread *rd, struct ldap_group *gr, unsigned long next)
{
	struct timeval tv = lsrc_op_timeout(rd->src);
	char desc[128], *attrs[2] = {desc, NULL};
	unsigned long rounds;
	int r = FT_OK;

	for (rounds = 0; next > 0 && r == FT_OK; rounds++) {
		LDAPMessage *res = NULL, *e;
		int rc;

		if (rounds >= LDAP_GROUP_RANGES_MAX)
			return fail(rd->g, FT_E_TOOBIG,
				    "group '%s': more than %lu ranges", gr->dn,
				    LDAP_GROUP_RANGES_MAX);
		(void)snprintf(desc, sizeof(desc), "%s;range=%lu-*", rd->attr,
			       next);
		rd->g->searches++;
		rc = ldap_search_ext_s(rd->src->ld, gr->dn, LDAP_SCOPE_BASE,
				       "(objectClass=*)", attrs, 0, NULL, NULL,
				       &tv, 1, &res);
		e = rc == LDAP_SUCCESS ? ldap_first_entry(rd->src->ld, res)
				       : NULL;
		if (e == NULL) {
			char why[LDAP_SRC_REASON_MAX];

			r = rc == LDAP_SUCCESS
				    ? FT_E_PARTIAL
				    : lsrc_fail(rd->src, rc, "ranged read", why,
						sizeof(why));
			ldap_msgfree(res);
			return fail(rd->g, r == FT_OK ? FT_E_PARTIAL : r,
				    "group '%s': the %s values from %lu on "
				    "could not be read",
				    gr->dn, rd->attr, next);
		}
		r = read_attrs(rd, e, gr, &next);
		ldap_msgfree(res);
	}
	return r;
}

static int
on_group(struct gread *rd, LDAPMessage *e)
{
	struct ldap_groups *g = rd->g;
	struct ldap_group *gr;
	unsigned long next = 0;
	char *dn;
	int r;

	if (g->n >= LDAP_GROUPS_MAX)
		return fail(g, FT_E_TOOBIG, "more than %lu groups",
			    LDAP_GROUPS_MAX);
	r = array_grow(&g->v, &g->cap, g->n + 1, sizeof(*g->v), 16, 0);
	if (r < 0)
		return r;
	gr = &g->v[g->n];
	memset(gr, 0, sizeof(*gr));
	dn = ldap_get_dn(rd->src->ld, e);
	r = dn != NULL ? ldap_groups_dn_norm(dn, &gr->dn) : FT_E_INVAL;
	ldap_memfree(dn);
	if (r < 0)
		return r == FT_E_NOMEM
			       ? r
			       : fail(g, FT_E_PARTIAL,
				      "a group entry whose DN cannot be read");
	g->n++;
	gr->complete = true;
	r = read_attrs(rd, e, gr, &next);
	if (r == FT_OK)
		r = read_ranges(rd, gr, next);
	if (r < 0)
		gr->complete = false;
	/* a group that could not be read in full is kept, marked; the
	 * read goes on unless memory or the connection ran out */
	return r == FT_E_NOMEM || r == FT_E_LDAP_DOWN ? r : FT_OK;
}

/* ---- the searches ------------------------------------------------------ */

static int
on_result(struct gread *rd, LDAPMessage *res, struct berval *cookie, bool paged)
{
	LDAPControl **sctrls = NULL, *pc;
	struct berval next = {0, NULL};
	ber_int_t estimate = 0;
	char *diag = NULL;
	int code = LDAP_OTHER, r = FT_OK;

	if (ldap_parse_result(rd->src->ld, res, &code, NULL, &diag, NULL,
			      &sctrls, 0) != LDAP_SUCCESS)
		r = fail(rd->g, FT_E_PARTIAL,
			 "unable to read the group search result");
	else if (code != LDAP_SUCCESS)
		r = fail(rd->g, FT_E_PARTIAL,
			 "the group search ended with '%s'%s%s%s",
			 ldap_err2string(code), diag != NULL ? " (" : "",
			 diag != NULL ? diag : "", diag != NULL ? ")" : "");
	ldap_memfree(diag);
	pc = paged && r == FT_OK ? ldap_control_find(LDAP_CONTROL_PAGEDRESULTS,
						     sctrls, NULL)
				 : NULL;
	if (paged && r == FT_OK &&
	    (pc == NULL ||
	     ldap_parse_pageresponse_control(rd->src->ld, pc, &estimate,
					     &next) != LDAP_SUCCESS))
		r = fail(rd->g, FT_E_PARTIAL,
			 "a group page came back without the paged-results "
			 "control");
	ldap_controls_free(sctrls);
	ber_memfree(cookie->bv_val);
	*cookie = next;
	return r;
}

static int
on_messages(struct gread *rd, LDAPMessage *res, struct berval *cookie,
	    bool paged, int (*each)(struct gread *rd, LDAPMessage *e))
{
	LDAPMessage *m;
	char **urls = NULL;
	bool ignored = false;
	int r = FT_OK;

	for (m = ldap_first_message(rd->src->ld, res); m != NULL && r == FT_OK;
	     m = ldap_next_message(rd->src->ld, m)) {
		switch (ldap_msgtype(m)) {
		case LDAP_RES_SEARCH_ENTRY:
			r = each(rd, m);
			break;
		case LDAP_RES_SEARCH_REFERENCE:
			r = lsrc_reference(rd->src, m, &urls, &ignored,
					   rd->g->reason,
					   sizeof(rd->g->reason));
			if (r == FT_OK && !ignored)
				r = fail(rd->g, FT_E_PARTIAL,
					 "a continuation reference in the "
					 "groups (not in ignore_referrals)");
			ldap_memvfree((void **)urls);
			urls = NULL;
			break;
		case LDAP_RES_SEARCH_RESULT:
			return on_result(rd, m, cookie, paged);
		default:
			break;
		}
	}
	return r != FT_OK ? r
			  : fail(rd->g, FT_E_PARTIAL,
				 "the group search ended without a result");
}

/* One search of filter under [groups] search_base, every page of it. */
static int
search(struct gread *rd, const char *filter, char **attrs,
       int (*each)(struct gread *rd, LDAPMessage *e))
{
	unsigned ps = rd->src->cfg->ldap.page_size;
	ber_int_t size = ps > 0x7fffffff ? 0x7fffffff : (ber_int_t)ps;
	struct timeval tv = lsrc_op_timeout(rd->src);
	struct berval cookie = {0, NULL};
	unsigned long pages = 0;
	int r = FT_OK;

	do {
		LDAPControl *ctrls[2] = {NULL, NULL};
		LDAPMessage *res = NULL;
		int rc;

		if (size > 0 &&
		    ldap_create_page_control(rd->src->ld, size, &cookie, 1,
					     &ctrls[0]) != 0) {
			r = FT_E_NOMEM;
			break;
		}
		rd->g->searches++;
		rc = ldap_search_ext_s(rd->src->ld, rd->c->search_base,
				       LDAP_SCOPE_SUBTREE, filter, attrs, 0,
				       size > 0 ? ctrls : NULL, NULL, &tv,
				       LDAP_NO_LIMIT, &res);
		ldap_control_free(ctrls[0]);
		if (rc == LDAP_SUCCESS || res != NULL)
			r = on_messages(rd, res, &cookie, size > 0, each);
		if (rc != LDAP_SUCCESS && r == FT_OK)
			r = FT_E_PARTIAL;
		if (rc != LDAP_SUCCESS && res == NULL)
			r = lsrc_fail(rd->src, rc,
				      "unable to search the groups",
				      rd->g->reason, sizeof(rd->g->reason));
		ldap_msgfree(res);
		if (++pages > LDAP_GROUPS_MAX && r == FT_OK)
			r = fail(rd->g, FT_E_TOOBIG, "too many group pages");
	} while (r == FT_OK && cookie.bv_len > 0);
	ber_memfree(cookie.bv_val);
	if (r < 0)
		rd->g->complete = false;
	return r;
}

int
ldap_src_groups_read(struct ldap_src *src, struct ldap_groups *ret)
{
	const struct config_groups *c = &src->cfg->groups;
	struct gread rd = {src, c, ret, member_attr(c)};
	char *attrs[3] = {NULL, NULL, NULL};
	int r;

	memcpy(&attrs[0], &c->name_attribute, sizeof(attrs[0]));
	memcpy(&attrs[1], &rd.attr, sizeof(attrs[1]));
	ret->complete = true;
	ret->reason[0] = '\0';
	if (c->search_base == NULL)
		return fail(ret, FT_E_CONFIG, "[groups] search_base is unset");
	r = ldap_src_connect(src, ret->reason, sizeof(ret->reason));
	if (r < 0)
		return fail(ret, r, "%s", "unable to connect");
	r = search(&rd, c->search_filter, attrs, on_group);
	if (r == FT_OK && !ret->complete)
		r = FT_E_PARTIAL;
	return r;
}

/* ---- one person's groups ---------------------------------------------- */

#define GROUPS_FILTER_MAX 65536 /* bytes of one nested-level filter */

/* on_group, keeping each DN once (a loop of nested groups ends here). */
static int
on_group_once(struct gread *rd, LDAPMessage *e)
{
	struct ldap_groups *g = rd->g;
	size_t n = g->n, i;
	int r = on_group(rd, e);

	/* cppcheck-suppress knownConditionTrueFalse ; on_group appends */
	if (r < 0 || g->n == n)
		return r;
	for (i = 0; i < n; i++)
		if (strcmp(g->v[i].dn, g->v[n].dn) == 0) {
			group_free(&g->v[n]);
			g->n = n;
			break;
		}
	return FT_OK;
}

/* Append "(attr=<value escaped>)" to *buf (length *len, capacity cap). */
static int
add_term(char *buf, size_t *len, size_t cap, const char *attr,
	 const char *value)
{
	struct berval in, out = {0, NULL};
	int n;

	memcpy(&in.bv_val, &value, sizeof(in.bv_val));
	in.bv_len = strlen(value);
	if (ldap_bv2escaped_filter_value(&in, &out) != 0)
		return FT_E_NOMEM;
	n = snprintf(buf + *len, cap - *len, "(%s=%s)", attr, out.bv_val);
	ber_memfree(out.bv_val);
	if (n < 0 || (size_t)n >= cap - *len)
		return FT_E_TOOBIG;
	*len += (size_t)n;
	return FT_OK;
}

/* (&<filter>(|(attr=v)...)) of the values of g's groups from..to. */
static int
level_filter(const struct gread *rd, size_t from, size_t to, const char *value,
	     char *buf, size_t cap)
{
	size_t len;
	int n, r = FT_OK;

	n = snprintf(buf, cap, "(&%s(|", rd->c->search_filter);
	if (n < 0 || (size_t)n >= cap)
		return FT_E_TOOBIG;
	len = (size_t)n;
	if (value != NULL)
		r = add_term(buf, &len, cap, rd->attr, value);
	for (; r == FT_OK && from < to; from++)
		r = add_term(buf, &len, cap, rd->attr, rd->g->v[from].dn);
	if (r == FT_OK && len + 3 > cap)
		r = FT_E_TOOBIG;
	if (r == FT_OK)
		memcpy(buf + len, "))", 3);
	return r;
}

int
ldap_src_groups_of(struct ldap_src *src, const char *dn, const char *login,
		   struct ldap_groups *ret)
{
	const struct config_groups *c = &src->cfg->groups;
	struct gread rd = {src, c, ret, member_attr(c)};
	char *attrs[2] = {NULL, NULL}, *filter;
	unsigned long level;
	int r;

	memcpy(&attrs[0], &c->name_attribute, sizeof(attrs[0]));
	ret->complete = true;
	ret->reason[0] = '\0';
	if (c->search_base == NULL)
		return fail(ret, FT_E_CONFIG, "[groups] search_base is unset");
	filter = malloc(GROUPS_FILTER_MAX);
	if (filter == NULL)
		return fail(ret, FT_E_NOMEM, "out of memory");
	r = level_filter(&rd, 0, 0,
			 c->member_attribute == MEMBER_ATTR_MEMBER_UID ? login
								       : dn,
			 filter, GROUPS_FILTER_MAX);
	if (r == FT_OK)
		r = ldap_src_connect(src, ret->reason, sizeof(ret->reason));
	for (level = 0; r == FT_OK; level++) {
		size_t to = ret->n;

		r = search(&rd, filter, attrs, on_group_once);
		/* cppcheck-suppress knownConditionTrueFalse ; search appends */
		if (r < 0 || !c->nested || ret->n == to)
			break;
		if (level + 1 >= LDAP_GROUPS_NESTED_MAX)
			r = fail(ret, FT_E_TOOBIG,
				 "more than %lu levels of nested groups",
				 LDAP_GROUPS_NESTED_MAX);
		else
			r = level_filter(&rd, to, ret->n, NULL, filter,
					 GROUPS_FILTER_MAX);
	}
	free(filter);
	if (r < 0)
		return fail(ret, r, "unable to read the groups: %s",
			    ft_strerror(r));
	return ret->complete ? FT_OK : FT_E_PARTIAL;
}
