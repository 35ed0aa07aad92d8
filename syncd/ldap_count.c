/* SPDX-License-Identifier: Apache-2.0 */
/* ldap_count.c: how many people the first page under search_base holds. */
#include "ldap_src.h"

#include <lber.h>
#include <ldap.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "ft_err.h"
#include "ldap_int.h"

/* Entries asked for without paging (page_size = 0): a size limit. */
#define COUNT_UNPAGED_MAX 1000

/* Count continuation reference m, ignored or not by ignore_referrals (the
 * rule of the full read), and note the URLs of those that are not; one
 * that cannot be read counts as not ignored. */
static void
note_referral(struct ldap_src *src, LDAPMessage *m, struct ldap_src_count *ret)
{
	char **urls = NULL;
	char err[LDAP_SRC_REASON_MAX];
	bool ignored = false;

	if (lsrc_reference(src, m, &urls, &ignored, err, sizeof(err)) !=
	    FT_OK) {
		ret->references++;
		return;
	}
	if (ignored)
		ret->ignored++;
	else {
		ret->references++;
		lsrc_note_urls(ret->referrals, sizeof(ret->referrals), urls);
	}
	ber_memvfree((void **)urls);
}

/* More pages: the paged-results response control has a cookie. */
static bool
has_cookie(LDAP *ld, LDAPControl **sctrls)
{
	LDAPControl *pc;
	struct berval cookie = {0, NULL};
	ber_int_t estimate = 0;
	bool more;

	pc = ldap_control_find(LDAP_CONTROL_PAGEDRESULTS, sctrls, NULL);
	if (pc == NULL || ldap_parse_pageresponse_control(
				  ld, pc, &estimate, &cookie) != LDAP_SUCCESS)
		return false;
	more = cookie.bv_len > 0;
	ber_memfree(cookie.bv_val);
	return more;
}

/* Count what res holds and read its result. */
static int
count_result(struct ldap_src *src, LDAPMessage *res, struct ldap_src_count *ret,
	     char *err, size_t errlen)
{
	LDAPControl **sctrls = NULL;
	LDAPMessage *m;
	char *diag = NULL;
	int code = LDAP_OTHER, r = FT_OK;

	for (m = ldap_first_message(src->ld, res); m != NULL;
	     m = ldap_next_message(src->ld, m)) {
		int t = ldap_msgtype(m);

		if (t == LDAP_RES_SEARCH_ENTRY)
			ret->entries++;
		else if (t == LDAP_RES_SEARCH_REFERENCE)
			note_referral(src, m, ret);
		else if (t == LDAP_RES_SEARCH_RESULT)
			(void)ldap_parse_result(src->ld, m, &code, NULL, &diag,
						NULL, &sctrls, 0);
	}
	if (code == LDAP_SIZELIMIT_EXCEEDED)
		ret->more = true;
	else if (code == LDAP_SUCCESS)
		ret->more = has_cookie(src->ld, sctrls);
	else
		r = lsrc_fail(src, code, "unable to search search_base", err,
			      errlen);
	ldap_memfree(diag);
	ldap_controls_free(sctrls);
	return r;
}

int
ldap_src_count(struct ldap_src *src, struct ldap_src_count *ret, char *err,
	       size_t errlen)
{
	const struct config_ldap *c = &src->cfg->ldap;
	struct timeval tv = lsrc_op_timeout(src);
	LDAPControl *ctrls[2] = {NULL, NULL};
	LDAPMessage *res = NULL;
	char *attrs[] = {src->no_attrs, NULL};
	ber_int_t size = c->page_size > 0x7fffffff ? 0x7fffffff
						   : (ber_int_t)c->page_size;
	int rc, r;

	memset(ret, 0, sizeof(*ret));
	r = ldap_src_connect(src, err, errlen);
	if (r < 0)
		return r;
	if (size > 0) {
		rc = ldap_create_page_control(src->ld, size, NULL, 1,
					      &ctrls[0]);
		if (rc != LDAP_SUCCESS)
			return lsrc_fail(src, rc,
					 "unable to make a page request", err,
					 errlen);
	}
	rc = ldap_search_ext_s(src->ld, c->search_base, LDAP_SCOPE_SUBTREE,
			       src->filter, attrs, 0, size > 0 ? ctrls : NULL,
			       NULL, &tv, size > 0 ? 0 : COUNT_UNPAGED_MAX,
			       &res);
	ldap_control_free(ctrls[0]);
	if (res != NULL)
		r = count_result(src, res, ret, err, errlen);
	else
		r = lsrc_fail(src, rc, "unable to search search_base", err,
			      errlen);
	ldap_msgfree(res);
	return r;
}
