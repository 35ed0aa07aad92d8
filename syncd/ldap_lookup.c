/* SPDX-License-Identifier: Apache-2.0 */
/* ldap_lookup.c: one person by login: filter, disabled check, mapping. */
#include "ldap_src.h"

#include <lber.h>
#include <ldap.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "array.h"
#include "ft_err.h"
#include "ldap_int.h"
#include "timing.h"

/* ---- lookup by login ------------------------------------------------- */

static int
login_filter(const struct ldap_src *src, const char *login, char **ret,
	     char *err, size_t errlen)
{
	char buf[LOGIN_MAX + 1];
	struct berval in, out = {0, NULL};
	size_t len = login != NULL ? strlen(login) : 0;
	int n;

	if (len == 0 || len > LOGIN_MAX) {
		lsrc_msg(err, errlen, "a login is 1 to %d bytes", LOGIN_MAX);
		return FT_E_INVAL;
	}
	memcpy(buf, login, len + 1);
	in.bv_val = buf;
	in.bv_len = len;
	if (ldap_bv2escaped_filter_value(&in, &out) != 0) {
		lsrc_msg(err, errlen, "out of memory");
		return FT_E_NOMEM;
	}
	n = asprintf(ret, "(&%s(%s=%s))", src->filter,
		     src->cfg->ldap.login_attribute, out.bv_val);
	ber_memfree(out.bv_val);
	if (n < 0) {
		*ret = NULL;
		lsrc_msg(err, errlen, "out of memory");
		return FT_E_NOMEM;
	}
	return FT_OK;
}

static int
check_disabled(struct ldap_src *src, const char *dn, bool *ret, char *err,
	       size_t errlen)
{
	char *attrs[] = {src->no_attrs, NULL};
	struct timeval tv = lsrc_op_timeout(src);
	LDAPMessage *res = NULL;
	int rc, r = FT_OK;

	*ret = false;
	if (src->disabled == NULL)
		return FT_OK;
	rc = ldap_search_ext_s(src->ld, dn, LDAP_SCOPE_BASE, src->disabled,
			       attrs, 0, NULL, NULL, &tv, 1, &res);
	if (rc == LDAP_SUCCESS)
		*ret = ldap_count_entries(src->ld, res) > 0;
	else
		r = lsrc_fail(src, rc, "unable to apply disabled_filter", err,
			      errlen);
	ldap_msgfree(res);
	return r;
}

static int
map_found(struct ldap_src *src, LDAPMessage *e, struct ft_user *ret_user,
	  char *err, size_t errlen)
{
	struct ft_user u = {0};
	char reason[LDAP_SRC_REASON_MAX];
	struct map_entry me;
	struct view v;
	int r;

	lsrc_view_fill(src->ld, e, &v, &me);
	/* the wall clock: expiry dates are dates, not durations */
	r = lsrc_map(src, &me, time(NULL), &u, reason, sizeof(reason));
	if (r < 0)
		lsrc_msg(err, errlen, "entry '%s': %s",
			 v.dn != NULL ? v.dn : "", reason);
	lsrc_view_clear(&v);
	if (r == FT_OK && !u.disabled)
		r = check_disabled(src, u.dn, &u.disabled, err, errlen);
	if (r == FT_OK) {
		*ret_user = u;
		memset(&u, 0, sizeof(u));
	}
	ft_user_clear(&u);
	return r;
}

/* Two entries for one login: name both. */
static int
conflict(struct ldap_src *src, LDAPMessage *res, char *err, size_t errlen)
{
	LDAPMessage *e1 = ldap_first_entry(src->ld, res);
	LDAPMessage *e2 = ldap_next_entry(src->ld, e1);
	char *dn1 = ldap_get_dn(src->ld, e1), *dn2 = ldap_get_dn(src->ld, e2);

	lsrc_msg(err, errlen,
		 "more than one entry has that login: '%s' and '%s'",
		 dn1 != NULL ? dn1 : "", dn2 != NULL ? dn2 : "");
	ldap_memfree(dn1);
	ldap_memfree(dn2);
	return FT_E_CONFLICT;
}

/*
 * No entry came back: FT_E_NOTFOUND, unless a continuation reference
 * ignore_referrals does not cover came instead (the person may be there).
 */
static int
not_found(struct ldap_src *src, LDAPMessage *res, char *err, size_t errlen)
{
	char held[LDAP_SRC_REASON_MAX / 2] = "";
	LDAPMessage *m;
	bool any = false;
	int r = FT_OK;

	for (m = ldap_first_reference(src->ld, res); m != NULL && r == FT_OK;
	     m = ldap_next_reference(src->ld, m)) {
		char **urls = NULL;
		bool ignored = false;

		r = lsrc_reference(src, m, &urls, &ignored, err, errlen);
		if (r == FT_OK && !ignored) {
			any = true;
			lsrc_note_urls(held, sizeof(held), urls);
		}
		ldap_memvfree((void **)urls);
	}
	if (r < 0)
		return r;
	if (any) {
		lsrc_held_msg(err, errlen, held);
		return FT_E_PARTIAL;
	}
	lsrc_msg(err, errlen, "no entry has that login");
	return FT_E_NOTFOUND;
}

static int
lookup_result(struct ldap_src *src, int rc, LDAPMessage *res,
	      struct ft_user *ret_user, char *err, size_t errlen)
{
	int n;

	if (rc != LDAP_SUCCESS && rc != LDAP_SIZELIMIT_EXCEEDED &&
	    rc != LDAP_REFERRAL)
		return lsrc_fail(src, rc, "unable to search", err, errlen);
	n = ldap_count_entries(src->ld, res);
	if (n >= 2)
		return conflict(src, res, err, errlen);
	/* A referral of the whole base, or a server limit of 1, is partial;
	 * continuation references (never followed) matter when nothing came
	 * back: the entry found is the person, whatever else was referred. */
	if (rc != LDAP_SUCCESS) {
		lsrc_describe(src->ld, rc, "incomplete answer", err, errlen);
		return FT_E_PARTIAL;
	}
	if (n <= 0)
		return not_found(src, res, err, errlen);
	return map_found(src, ldap_first_entry(src->ld, res), ret_user, err,
			 errlen);
}

/* FT_E_AGAIN: a connection kept from before turned out dead. */
static int
lookup_once(struct ldap_src *src, const char *filter, struct ft_user *ret_user,
	    char *err, size_t errlen)
{
	struct timeval tv = lsrc_op_timeout(src);
	LDAPMessage *res = NULL;
	bool reused = src->ld != NULL;
	int rc, r;

	r = ldap_src_connect(src, err, errlen);
	if (r < 0)
		return r;
	rc = ldap_search_ext_s(src->ld, src->cfg->ldap.search_base,
			       LDAP_SCOPE_SUBTREE, filter, src->attrs, 0, NULL,
			       NULL, &tv, 2, &res);
	if (rc == LDAP_SERVER_DOWN && reused) {
		lsrc_drop(src);
		r = FT_E_AGAIN;
	} else {
		r = lookup_result(src, rc, res, ret_user, err, errlen);
	}
	ldap_msgfree(res);
	return r;
}

int
ldap_src_lookup(struct ldap_src *src, const char *login,
		struct ft_user *ret_user, char *err, size_t errlen)
{
	char *filter = NULL;
	int r;

	r = login_filter(src, login, &filter, err, errlen);
	if (r < 0)
		return r;
	r = lookup_once(src, filter, ret_user, err, errlen);
	if (r == FT_E_AGAIN)
		r = lookup_once(src, filter, ret_user, err, errlen);
	free(filter);
	return r;
}
