/* SPDX-License-Identifier: Apache-2.0 */
/* ldap_search.c: the paged full read of every person under search_base. */
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

/* ---- paged full read ------------------------------------------------- */

/* DNs of disabled entries, sorted for bsearch. */
struct dnset {
	char **v;
	size_t n, cap;
};

static int
dn_cmp(const void *a, const void *b)
{
	return strcasecmp(*(char *const *)a, *(char *const *)b);
}

static int
dnset_add(struct dnset *s, const char *dn)
{
	int r = array_grow(&s->v, &s->cap, s->n + 1, sizeof(*s->v), 64, 0);

	if (r < 0)
		return r;
	s->v[s->n] = strdup(dn);
	if (s->v[s->n] == NULL)
		return FT_E_NOMEM;
	s->n++;
	return FT_OK;
}

static bool
dnset_has(const struct dnset *s, const char *dn)
{
	return s->n > 0 &&
	       bsearch(&dn, s->v, s->n, sizeof(*s->v), dn_cmp) != NULL;
}

static void
dnset_clear(struct dnset *s)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	memset(s, 0, sizeof(*s));
}

struct run {
	struct ldap_src *src;
	int (*on_user)(void *ctx, struct ft_user *u);
	void (*on_skip)(void *ctx, const struct ft_user *id,
			const char *reason);
	void *ctx;
	struct ldap_src_stats *st;
	struct dnset disabled;
	bool collecting;           /* first pass: DNs of disabled entries */
	unsigned long page_msgs;   /* entries and references this page */
	unsigned long empty_pages; /* in a row */
	time_t now;                /* what expires_attribute is judged at */
	unsigned long nheld;       /* references not ignored */
	char held[LDAP_SRC_REASON_MAX / 2]; /* their URLs (lsrc_note_urls) */
};

static int partial(struct run *run, const char *fmt, ...) FT_PRINTF(2, 3);

static int
partial(struct run *run, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	lsrc_vmsg(run->st->reason, sizeof(run->st->reason), fmt, ap);
	va_end(ap);
	return FT_E_PARTIAL;
}

static int
collect(struct run *run, LDAPMessage *e)
{
	char *dn = ldap_get_dn(run->src->ld, e);
	int r;

	if (dn == NULL)
		return partial(run, "an entry without a DN");
	r = dnset_add(&run->disabled, dn);
	ldap_memfree(dn);
	return r;
}

static int
deliver(struct run *run, LDAPMessage *e)
{
	struct ft_user u = {0};
	char reason[LDAP_SRC_REASON_MAX];
	struct map_entry me;
	struct view v;
	int r;

	lsrc_view_fill(run->src->ld, e, &v, &me);
	r = lsrc_map(run->src, &me, run->now, &u, reason, sizeof(reason));
	if (r == FT_E_INVAL) {
		run->st->skipped++;
		r = run->on_skip != NULL
			    ? ldap_map_identity(run->src->map, &me, &u)
			    : FT_OK;
		if (r == FT_OK && run->on_skip != NULL) {
			if (u.dn == NULL)
				u.dn = strdup(v.dn != NULL ? v.dn : "");
			run->on_skip(run->ctx, &u, reason);
		}
	} else if (r == FT_OK) {
		u.disabled = u.disabled || dnset_has(&run->disabled, u.dn);
		run->st->disabled += u.disabled ? 1 : 0;
		r = run->on_user(run->ctx, &u);
		if (r < 0)
			lsrc_msg(run->st->reason, sizeof(run->st->reason),
				 "stopped by the caller (%d)", r);
		r = r < 0 ? r : FT_OK;
	}
	ft_user_clear(&u);
	lsrc_view_clear(&v);
	return r;
}

static int
on_entry(struct run *run, LDAPMessage *e)
{
	unsigned long n = run->collecting ? run->disabled.n : run->st->entries;

	if (n >= LDAP_SRC_ENTRIES_MAX) {
		lsrc_msg(run->st->reason, sizeof(run->st->reason),
			 "more than %lu entries", LDAP_SRC_ENTRIES_MAX);
		return FT_E_TOOBIG;
	}
	if (run->collecting)
		return collect(run, e);
	run->st->entries++;
	return deliver(run, e);
}

/*
 * A continuation reference: skipped when ignore_referrals covers it,
 * else noted; the search is read on so that the reason names them all.
 */
static int
on_reference(struct run *run, LDAPMessage *m)
{
	char **urls = NULL;
	bool ignored = false;
	int r;

	r = lsrc_reference(run->src, m, &urls, &ignored, run->st->reason,
			   sizeof(run->st->reason));
	if (r < 0)
		return r;
	if (ignored) {
		run->st->referrals_ignored += run->collecting ? 0 : 1;
		lsrc_note_urls(run->st->ignored, sizeof(run->st->ignored),
			       urls);
	} else {
		run->nheld++;
		lsrc_note_urls(run->held, sizeof(run->held), urls);
	}
	ldap_memvfree((void **)urls);
	return FT_OK;
}

/* The page's cookie from the paged-results response control. */
static int
take_cookie(struct run *run, LDAPControl **sctrls, struct berval *cookie)
{
	LDAPControl *pc;
	struct berval next = {0, NULL};
	ber_int_t estimate = 0;

	pc = ldap_control_find(LDAP_CONTROL_PAGEDRESULTS, sctrls, NULL);
	if (pc == NULL)
		return partial(
			run,
			"a page came back without the paged-results control");
	if (ldap_parse_pageresponse_control(run->src->ld, pc, &estimate,
					    &next) != LDAP_SUCCESS)
		return partial(run, "unable to read the paged-results control");
	ber_memfree(cookie->bv_val);
	*cookie = next;
	return FT_OK;
}

static int
on_done(struct run *run, LDAPMessage *res, struct berval *cookie)
{
	LDAPControl **sctrls = NULL;
	char *diag = NULL;
	int code = LDAP_OTHER, rc, r = FT_OK;

	rc = ldap_parse_result(run->src->ld, res, &code, NULL, &diag, NULL,
			       &sctrls, 0);
	if (rc != LDAP_SUCCESS)
		r = partial(run, "unable to read the search result: %s",
			    ldap_err2string(rc));
	else if (code != LDAP_SUCCESS)
		r = partial(run, "the search ended with '%s'%s%s%s",
			    ldap_err2string(code), diag != NULL ? " (" : "",
			    diag != NULL ? diag : "", diag != NULL ? ")" : "");
	else if (run->src->cfg->ldap.page_size > 0)
		r = take_cookie(run, sctrls, cookie);
	ldap_memfree(diag);
	ldap_controls_free(sctrls);
	return r;
}

/* ldap_result gave nothing: timeout (0) or a dead connection (-1). */
static int
read_fail(struct run *run, int rc)
{
	int code = LDAP_SERVER_DOWN;

	if (rc == 0) {
		lsrc_msg(run->st->reason, sizeof(run->st->reason),
			 "no answer from LDAP within %u s",
			 run->src->cfg->ldap.timeout);
		return FT_E_LDAP_DOWN;
	}
	(void)ldap_get_option(run->src->ld, LDAP_OPT_RESULT_CODE, &code);
	lsrc_describe(run->src->ld, code, "connection lost mid-read",
		      run->st->reason, sizeof(run->st->reason));
	return code == LDAP_NO_MEMORY ? FT_E_NOMEM : FT_E_LDAP_DOWN;
}

static int
read_page(struct run *run, int msgid, struct berval *cookie)
{
	struct timeval tv = lsrc_op_timeout(run->src);
	LDAPMessage *m = NULL;
	int r = FT_OK;

	while (r == FT_OK) {
		int rc =
			ldap_result(run->src->ld, msgid, LDAP_MSG_ONE, &tv, &m);
		if (rc <= 0)
			return read_fail(run, rc);
		if (rc == LDAP_RES_SEARCH_ENTRY) {
			run->page_msgs++;
			r = on_entry(run, m);
		} else if (rc == LDAP_RES_SEARCH_REFERENCE) {
			run->page_msgs++;
			r = on_reference(run, m);
		} else if (rc == LDAP_RES_SEARCH_RESULT) {
			r = on_done(run, m, cookie);
			ldap_msgfree(m);
			return r;
		}
		ldap_msgfree(m);
		m = NULL;
	}
	return r;
}

static int
one_page(struct run *run, const char *filter, char **attrs,
	 struct berval *cookie)
{
	const struct config_ldap *c = &run->src->cfg->ldap;
	LDAPControl *ctrls[2] = {NULL, NULL};
	struct timeval tv = lsrc_op_timeout(run->src);
	ber_int_t size = c->page_size > 0x7fffffff ? 0x7fffffff
						   : (ber_int_t)c->page_size;
	int msgid = -1, rc;

	if (size > 0) {
		rc = ldap_create_page_control(run->src->ld, size, cookie, 1,
					      &ctrls[0]);
		if (rc != LDAP_SUCCESS)
			return lsrc_fail(
				run->src, rc, "unable to make a page request",
				run->st->reason, sizeof(run->st->reason));
	}
	rc = ldap_search_ext(run->src->ld, c->search_base, LDAP_SCOPE_SUBTREE,
			     filter, attrs, 0, size > 0 ? ctrls : NULL, NULL,
			     &tv, LDAP_NO_LIMIT, &msgid);
	ldap_control_free(ctrls[0]);
	if (rc != LDAP_SUCCESS)
		return lsrc_fail(run->src, rc, "unable to search",
				 run->st->reason, sizeof(run->st->reason));
	run->st->pages++;
	run->page_msgs = 0;
	return read_page(run, msgid, cookie);
}

static int
paged_search(struct run *run, const char *filter, char **attrs)
{
	struct berval cookie = {0, NULL};
	int r;

	run->empty_pages = 0;
	do {
		r = one_page(run, filter, attrs, &cookie);
		run->empty_pages =
			run->page_msgs > 0 ? 0 : run->empty_pages + 1;
		if (r == FT_OK && cookie.bv_len > 0 &&
		    run->empty_pages > EMPTY_PAGES_MAX)
			r = partial(run, "%d empty pages in a row",
				    EMPTY_PAGES_MAX + 1);
	} while (r == FT_OK && cookie.bv_len > 0);
	ber_memfree(cookie.bv_val);
	return r;
}

static int
run_once(struct run *run)
{
	struct ldap_src *src = run->src;
	int r;

	run->nheld = 0;
	run->held[0] = '\0';
	r = ldap_src_connect(src, run->st->reason, sizeof(run->st->reason));
	if (r == FT_OK && src->disabled_all != NULL) {
		char *attrs[] = {src->no_attrs, NULL};

		run->collecting = true;
		r = paged_search(run, src->disabled_all, attrs);
		run->collecting = false;
		if (run->disabled.n > 0)
			qsort(run->disabled.v, run->disabled.n,
			      sizeof(*run->disabled.v), dn_cmp);
	}
	if (r == FT_OK)
		r = paged_search(run, src->filter, src->attrs);
	if (r == FT_OK && run->nheld > 0) {
		lsrc_held_msg(run->st->reason, sizeof(run->st->reason),
			      run->held);
		r = FT_E_PARTIAL;
	}
	if (r < 0)
		lsrc_drop(src);
	return r;
}

int
ldap_src_search_all(struct ldap_src *src,
		    int (*on_user)(void *ctx, struct ft_user *u),
		    void (*on_skip)(void *ctx, const struct ft_user *id,
				    const char *reason),
		    void *ctx, struct ldap_src_stats *stats)
{
	struct ldap_src_stats local = {0};
	struct run run = {src,   on_user, on_skip, ctx, NULL, {NULL, 0, 0},
			  false, 0,       0,       0,   0,    ""};
	double t0;
	bool reused = src->ld != NULL;
	int r;

	run.st = stats != NULL ? stats : &local;
	/* the wall clock: expiry dates are dates, not durations */
	run.now = time(NULL);
	t0 = timing_now_s();
	memset(run.st, 0, sizeof(*run.st));
	r = run_once(&run);
	/* A kept connection that died while idle: once more, if nothing
	 * reached on_user yet. */
	if (r == FT_E_LDAP_DOWN && reused && run.st->entries == 0 &&
	    run.page_msgs == 0 && run.st->pages <= 1) {
		dnset_clear(&run.disabled);
		memset(run.st, 0, sizeof(*run.st));
		r = run_once(&run);
	}
	run.st->seconds = timing_now_s() - t0;
	if (r == FT_OK)
		run.st->reason[0] = '\0';
	dnset_clear(&run.disabled);
	return r;
}
