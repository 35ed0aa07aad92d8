/* SPDX-License-Identifier: Apache-2.0 */
/* ldap_src.c: libldap connection, lookup by login and paged full read. */
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
#include "ldap_map.h"
#include "timing.h"

#define VIEW_ATTRS_MAX  32  /* attributes of an entry looked at */
#define EMPTY_PAGES_MAX 16  /* empty pages in a row with a cookie */
#define LOGIN_MAX       256 /* bytes (FT_PROTO_VALUE_MAX) */

struct ldap_src {
	const struct config *cfg;
	struct ldap_map *map;
	char **attrs;       /* ldap_map_attrs(), as libldap wants them */
	char *filter;       /* search_filter, parenthesized */
	char *disabled;     /* disabled_filter, parenthesized; NULL: none */
	char *disabled_all; /* (&<filter><disabled>); NULL: none */
	char no_attrs[4];   /* "1.1": ask for no attributes */
	LDAP *ld;           /* NULL: not connected */
};

static void vmsg(char *buf, size_t len, const char *fmt, va_list ap)
	FT_PRINTF(3, 0);
static void msg(char *buf, size_t len, const char *fmt, ...) FT_PRINTF(3, 4);

/*
 * Format into buf; control characters (from a server's diagnostic text
 * or a DN) become '?' so that the caller's log stays one line each.
 */
static void
vmsg(char *buf, size_t len, const char *fmt, va_list ap)
{
	char *p;

	if (buf == NULL || len == 0)
		return;
	/* A message cut short is still a message. */
	(void)vsnprintf(buf, len, fmt, ap);
	for (p = buf; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
}

static void
msg(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(buf, len, fmt, ap);
	va_end(ap);
}

/* "(x)" stays, "x" becomes "(x)", NULL or "" gives dflt (may be NULL). */
static int
paren_filter(const char *f, const char *dflt, char **ret)
{
	*ret = NULL;
	if (f == NULL || *f == '\0') {
		if (dflt == NULL)
			return FT_OK;
		f = dflt;
	}
	if (asprintf(ret, f[0] == '(' ? "%s" : "(%s)", f) < 0) {
		*ret = NULL;
		return FT_E_NOMEM;
	}
	return FT_OK;
}

static int
make_filters(struct ldap_src *src)
{
	const struct config_ldap *c = &src->cfg->ldap;
	int r;

	r = paren_filter(c->search_filter, "(objectClass=*)", &src->filter);
	if (r == FT_OK)
		r = paren_filter(c->disabled_filter, NULL, &src->disabled);
	if (r == FT_OK && src->disabled != NULL &&
	    asprintf(&src->disabled_all, "(&%s%s)", src->filter,
		     src->disabled) < 0) {
		src->disabled_all = NULL;
		r = FT_E_NOMEM;
	}
	return r;
}

static int
copy_attrs(struct ldap_src *src)
{
	const char *const *a = ldap_map_attrs(src->map);
	size_t i, n = 0;

	while (a[n] != NULL)
		n++;
	src->attrs = calloc(n + 1, sizeof(*src->attrs));
	if (src->attrs == NULL)
		return FT_E_NOMEM;
	for (i = 0; i < n; i++) {
		src->attrs[i] = strdup(a[i]);
		if (src->attrs[i] == NULL)
			return FT_E_NOMEM;
	}
	return FT_OK;
}

static bool
has_bind_dn(const struct config_ldap *c)
{
	return c->bind_dn != NULL && *c->bind_dn != '\0';
}

int
ldap_src_new(const struct config *cfg, struct ldap_src **ret)
{
	const struct config_ldap *c = &cfg->ldap;
	struct ldap_src *src = NULL;
	int r = FT_E_CONFIG;

	if (c->uri == NULL || *c->uri == '\0' || c->search_base == NULL)
		goto out;
	/* An empty password makes a simple bind anonymous (RFC 4513 5.1.2). */
	if (has_bind_dn(c) &&
	    (c->bind_password == NULL || *c->bind_password == '\0'))
		goto out;
	r = FT_E_NOMEM;
	src = calloc(1, sizeof(*src));
	if (src == NULL)
		goto out;
	src->cfg = cfg;
	memcpy(src->no_attrs, LDAP_NO_ATTRS, sizeof(src->no_attrs));
	r = ldap_map_compile(&cfg->mapping, c->login_attribute,
			    c->uuid_attribute, &src->map, NULL, 0);
	if (r < 0) {
		r = r == FT_E_NOMEM ? r : FT_E_CONFIG;
		goto out;
	}
	r = copy_attrs(src);
	if (r == FT_OK)
		r = make_filters(src);
	if (r < 0)
		goto out;
	*ret = src;
	src = NULL;
out:
	ldap_src_free(src);
	return r;
}

static void
drop(struct ldap_src *src)
{
	if (src->ld != NULL)
		(void)ldap_unbind_ext_s(src->ld, NULL, NULL);
	src->ld = NULL;
}

void
ldap_src_free(struct ldap_src *src)
{
	size_t i;

	if (src == NULL)
		return;
	drop(src);
	for (i = 0; src->attrs != NULL && src->attrs[i] != NULL; i++)
		free(src->attrs[i]);
	free(src->attrs);
	free(src->filter);
	free(src->disabled);
	free(src->disabled_all);
	ldap_map_free(src->map);
	free(src);
}

/* ---- connection ------------------------------------------------------ */

/* Result codes that mean "not now" rather than "no". */
static int
classify(int rc)
{
	switch (rc) {
	case LDAP_SERVER_DOWN:
	case LDAP_TIMEOUT:
	case LDAP_CONNECT_ERROR:
	case LDAP_BUSY:
	case LDAP_UNAVAILABLE:
	case LDAP_TIMELIMIT_EXCEEDED:
		return FT_E_LDAP_DOWN;
	case LDAP_NO_MEMORY:
		return FT_E_NOMEM;
	default:
		return FT_E_LDAP;
	}
}

/* "what: <result text> (<diagnostic message>)" into err. */
static void
describe(LDAP *ld, int rc, const char *what, char *err, size_t errlen)
{
	char *diag = NULL;

	if (ld == NULL || ldap_get_option(ld, LDAP_OPT_DIAGNOSTIC_MESSAGE,
					  &diag) != LDAP_OPT_SUCCESS)
		diag = NULL;
	if (diag != NULL && *diag != '\0')
		msg(err, errlen, "%s: %s (%s)", what, ldap_err2string(rc),
		    diag);
	else
		msg(err, errlen, "%s: %s", what, ldap_err2string(rc));
	ldap_memfree(diag);
}

/* Describe a failed operation; a connection-level failure drops it. */
static int
fail(struct ldap_src *src, int rc, const char *what, char *err, size_t errlen)
{
	int r = classify(rc);

	describe(src->ld, rc, what, err, errlen);
	if (r == FT_E_LDAP_DOWN)
		drop(src);
	return r;
}

static int
set_opt(LDAP *ld, int opt, const void *val, const char *name, char *err,
	size_t errlen)
{
	int rc = ldap_set_option(ld, opt, val);

	if (rc == LDAP_OPT_SUCCESS)
		return FT_OK;
	describe(ld, rc, name, err, errlen);
	return FT_E_LDAP;
}

static int
tls_reqcert(enum tls_require t)
{
	switch (t) {
	case TLS_NEVER:
		return LDAP_OPT_X_TLS_NEVER;
	case TLS_ALLOW:
		return LDAP_OPT_X_TLS_ALLOW;
	case TLS_TRY:
		return LDAP_OPT_X_TLS_TRY;
	case TLS_DEMAND:
		return LDAP_OPT_X_TLS_DEMAND;
	}
	return LDAP_OPT_X_TLS_DEMAND;
}

/* TLS options apply to a handle only once it has its own new context. */
static int
set_tls(LDAP *ld, const struct config_ldap *c, char *err, size_t errlen)
{
	int reqcert = tls_reqcert(c->tls_require_cert), is_server = 0, r;

	r = set_opt(ld, LDAP_OPT_X_TLS_REQUIRE_CERT, &reqcert,
		    "unable to set tls_require_cert", err, errlen);
	if (r == FT_OK && c->tls_ca_file != NULL && *c->tls_ca_file != '\0')
		r = set_opt(ld, LDAP_OPT_X_TLS_CACERTFILE, c->tls_ca_file,
			    "unable to set tls_ca_file", err, errlen);
	if (r == FT_OK)
		r = set_opt(ld, LDAP_OPT_X_TLS_NEWCTX, &is_server,
			    "unable to make a TLS context", err, errlen);
	return r;
}

/* Cap every PDU the handle reads (its default connection's Sockbuf). */
static int
set_pdu_max(LDAP *ld, char *err, size_t errlen)
{
	Sockbuf *sb = NULL;
	ber_len_t max = LDAP_SRC_PDU_MAX;

	if (ldap_get_option(ld, LDAP_OPT_SOCKBUF, &sb) != LDAP_OPT_SUCCESS ||
	    sb == NULL ||
	    ber_sockbuf_ctrl(sb, LBER_SB_OPT_SET_MAX_INCOMING, &max) != 1) {
		msg(err, errlen, "unable to limit the LDAP message size");
		return FT_E_LDAP;
	}
	return FT_OK;
}

static int
set_options(LDAP *ld, const struct config_ldap *c, char *err, size_t errlen)
{
	int version = LDAP_VERSION3, r;
	struct timeval tv = {c->timeout > 0 ? (time_t)c->timeout : 1, 0};

	r = set_opt(ld, LDAP_OPT_PROTOCOL_VERSION, &version,
		    "unable to set LDAPv3", err, errlen);
	if (r == FT_OK)
		r = set_opt(ld, LDAP_OPT_NETWORK_TIMEOUT, &tv,
			    "unable to set the network timeout", err, errlen);
	if (r == FT_OK)
		r = set_opt(ld, LDAP_OPT_TIMEOUT, &tv,
			    "unable to set the timeout", err, errlen);
	if (r == FT_OK)
		r = set_opt(ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF,
			    "unable to turn referrals off", err, errlen);
	if (r == FT_OK)
		r = set_opt(ld, LDAP_OPT_RESTART, LDAP_OPT_ON,
			    "unable to set restart on EINTR", err, errlen);
	if (r == FT_OK)
		r = set_tls(ld, c, err, errlen);
	if (r == FT_OK)
		r = set_pdu_max(ld, err, errlen);
	return r;
}

static const char tls_hint[] =
	"StartTLS failed (TLS handshake: check tls_ca_file, tls_require_cert and the server's certificate)";

/* StartTLS: any failure but a dead server is a refusal, never plaintext. */
static int
start_tls(LDAP *ld, char *err, size_t errlen)
{
	int rc = ldap_start_tls_s(ld, NULL, NULL);

	if (rc == LDAP_SUCCESS)
		return FT_OK;
	/* libldap says only "Connect error" when the handshake fails. */
	describe(ld, rc,
		 rc == LDAP_CONNECT_ERROR ? tls_hint : "StartTLS failed", err,
		 errlen);
	return rc == LDAP_SERVER_DOWN || rc == LDAP_TIMEOUT ? FT_E_LDAP_DOWN
							    : FT_E_LDAP;
}

static int
bind_simple(LDAP *ld, const struct config_ldap *c, char *err, size_t errlen)
{
	struct berval cred = {0, NULL};
	const char *dn = "";
	char what[300];
	int rc;

	if (has_bind_dn(c)) {
		dn = c->bind_dn;
		cred.bv_val = c->bind_password;
		cred.bv_len = strlen(c->bind_password);
	}
	rc = ldap_sasl_bind_s(ld, dn, LDAP_SASL_SIMPLE, &cred, NULL, NULL,
			      NULL);
	if (rc == LDAP_SUCCESS)
		return FT_OK;
	if (*dn != '\0')
		msg(what, sizeof(what), "unable to bind as '%s'", dn);
	else
		msg(what, sizeof(what), "unable to bind anonymously");
	describe(ld, rc, what, err, errlen);
	return classify(rc);
}

int
ldap_src_connect(struct ldap_src *src, char *err, size_t errlen)
{
	const struct config_ldap *c = &src->cfg->ldap;
	LDAP *ld = NULL;
	int rc, r = FT_E_LDAP;

	if (src->ld != NULL)
		return FT_OK;
	rc = ldap_initialize(&ld, c->uri);
	if (rc != LDAP_SUCCESS) {
		msg(err, errlen, "unable to use LDAP uri '%s': %s", c->uri,
		    ldap_err2string(rc));
		goto out;
	}
	r = set_options(ld, c, err, errlen);
	if (r == FT_OK && c->start_tls)
		r = start_tls(ld, err, errlen);
	if (r == FT_OK)
		r = bind_simple(ld, c, err, errlen);
	if (r < 0)
		goto out;
	src->ld = ld;
	ld = NULL;
out:
	if (ld != NULL)
		(void)ldap_unbind_ext_s(ld, NULL, NULL);
	return r;
}

static struct timeval
op_timeout(const struct ldap_src *src)
{
	struct timeval tv = {(time_t)src->cfg->ldap.timeout, 0};

	if (tv.tv_sec <= 0)
		tv.tv_sec = 1;
	return tv;
}

/* ---- entries --------------------------------------------------------- */

/* An entry seen through mapping's types; only first values are kept. */
struct view {
	struct map_attr attrs[VIEW_ATTRS_MAX];
	struct map_val vals[VIEW_ATTRS_MAX];
	struct berval **bvs[VIEW_ATTRS_MAX];
	char *names[VIEW_ATTRS_MAX];
	char *dn;
	size_t n;
};

static void
view_add(LDAP *ld, LDAPMessage *e, struct view *v, char *name)
{
	struct berval **bv = ldap_get_values_len(ld, e, name);
	size_t i = v->n++;

	v->names[i] = name;
	v->bvs[i] = bv;
	v->attrs[i].name = name;
	v->attrs[i].nvals = 0;
	v->attrs[i].vals = &v->vals[i];
	if (bv != NULL && bv[0] != NULL) {
		v->vals[i].p = bv[0]->bv_val;
		v->vals[i].len = bv[0]->bv_len;
		v->attrs[i].nvals = 1;
	}
}

static void
view_fill(LDAP *ld, LDAPMessage *e, struct view *v, struct map_entry *me)
{
	BerElement *ber = NULL;
	char *a;

	memset(v, 0, sizeof(*v));
	v->dn = ldap_get_dn(ld, e);
	for (a = ldap_first_attribute(ld, e, &ber); a != NULL;
	     a = ldap_next_attribute(ld, e, ber)) {
		if (v->n < VIEW_ATTRS_MAX)
			view_add(ld, e, v, a);
		else
			ldap_memfree(a);
	}
	ber_free(ber, 0);
	me->dn = v->dn;
	me->nattrs = v->n;
	me->attrs = v->attrs;
}

static void
view_clear(struct view *v)
{
	size_t i;

	for (i = 0; i < v->n; i++) {
		ldap_memfree(v->names[i]);
		ldap_value_free_len(v->bvs[i]);
	}
	ldap_memfree(v->dn);
	v->n = 0;
	v->dn = NULL;
}

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
		msg(err, errlen, "a login is 1 to %d bytes", LOGIN_MAX);
		return FT_E_INVAL;
	}
	memcpy(buf, login, len + 1);
	in.bv_val = buf;
	in.bv_len = len;
	if (ldap_bv2escaped_filter_value(&in, &out) != 0) {
		msg(err, errlen, "out of memory");
		return FT_E_NOMEM;
	}
	n = asprintf(ret, "(&%s(%s=%s))", src->filter,
		     src->cfg->ldap.login_attribute, out.bv_val);
	ber_memfree(out.bv_val);
	if (n < 0) {
		*ret = NULL;
		msg(err, errlen, "out of memory");
		return FT_E_NOMEM;
	}
	return FT_OK;
}

static int
check_disabled(struct ldap_src *src, const char *dn, bool *ret, char *err,
	       size_t errlen)
{
	char *attrs[] = {src->no_attrs, NULL};
	struct timeval tv = op_timeout(src);
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
		r = fail(src, rc, "unable to apply disabled_filter", err,
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

	view_fill(src->ld, e, &v, &me);
	r = ldap_map_apply(src->map, &me, &u, reason, sizeof(reason));
	if (r < 0)
		msg(err, errlen, "entry '%s': %s", v.dn != NULL ? v.dn : "",
		    reason);
	view_clear(&v);
	if (r == FT_OK)
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

	msg(err, errlen, "more than one entry has that login: '%s' and '%s'",
	    dn1 != NULL ? dn1 : "", dn2 != NULL ? dn2 : "");
	ldap_memfree(dn1);
	ldap_memfree(dn2);
	return FT_E_CONFLICT;
}

static int
lookup_result(struct ldap_src *src, int rc, LDAPMessage *res,
	      struct ft_user *ret_user, char *err, size_t errlen)
{
	int n;

	if (rc != LDAP_SUCCESS && rc != LDAP_SIZELIMIT_EXCEEDED &&
	    rc != LDAP_REFERRAL)
		return fail(src, rc, "unable to search", err, errlen);
	n = ldap_count_entries(src->ld, res);
	if (n >= 2)
		return conflict(src, res, err, errlen);
	/* Continuation references (AD's DNS zones) are not followed; a
	 * referral of the whole base, or a server limit of 1, is partial. */
	if (rc != LDAP_SUCCESS) {
		describe(src->ld, rc, "incomplete answer", err, errlen);
		return FT_E_PARTIAL;
	}
	if (n <= 0) {
		msg(err, errlen, "no entry has that login");
		return FT_E_NOTFOUND;
	}
	return map_found(src, ldap_first_entry(src->ld, res), ret_user, err,
			 errlen);
}

/* FT_E_AGAIN: a connection kept from before turned out dead. */
static int
lookup_once(struct ldap_src *src, const char *filter, struct ft_user *ret_user,
	    char *err, size_t errlen)
{
	struct timeval tv = op_timeout(src);
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
		drop(src);
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
};

static int partial(struct run *run, const char *fmt, ...) FT_PRINTF(2, 3);

static int
partial(struct run *run, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(run->st->reason, sizeof(run->st->reason), fmt, ap);
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

	view_fill(run->src->ld, e, &v, &me);
	r = ldap_map_apply(run->src->map, &me, &u, reason, sizeof(reason));
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
		u.disabled = dnset_has(&run->disabled, u.dn);
		run->st->disabled += u.disabled ? 1 : 0;
		r = run->on_user(run->ctx, &u);
		if (r < 0)
			msg(run->st->reason, sizeof(run->st->reason),
			    "stopped by the caller (%d)", r);
		r = r < 0 ? r : FT_OK;
	}
	ft_user_clear(&u);
	view_clear(&v);
	return r;
}

static int
on_entry(struct run *run, LDAPMessage *e)
{
	unsigned long n = run->collecting ? run->disabled.n : run->st->entries;

	if (n >= LDAP_SRC_ENTRIES_MAX) {
		msg(run->st->reason, sizeof(run->st->reason),
		    "more than %lu entries", LDAP_SRC_ENTRIES_MAX);
		return FT_E_TOOBIG;
	}
	if (run->collecting)
		return collect(run, e);
	run->st->entries++;
	return deliver(run, e);
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
		msg(run->st->reason, sizeof(run->st->reason),
		    "no answer from LDAP within %u s",
		    run->src->cfg->ldap.timeout);
		return FT_E_LDAP_DOWN;
	}
	(void)ldap_get_option(run->src->ld, LDAP_OPT_RESULT_CODE, &code);
	describe(run->src->ld, code, "connection lost mid-read",
		 run->st->reason, sizeof(run->st->reason));
	return code == LDAP_NO_MEMORY ? FT_E_NOMEM : FT_E_LDAP_DOWN;
}

static int
read_page(struct run *run, int msgid, struct berval *cookie)
{
	struct timeval tv = op_timeout(run->src);
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
			r = partial(
				run,
				"the server sent a continuation reference (referrals are not followed)");
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
	struct timeval tv = op_timeout(run->src);
	ber_int_t size = c->page_size > 0x7fffffff ? 0x7fffffff
						   : (ber_int_t)c->page_size;
	int msgid = -1, rc;

	if (size > 0) {
		rc = ldap_create_page_control(run->src->ld, size, cookie, 1,
					      &ctrls[0]);
		if (rc != LDAP_SUCCESS)
			return fail(run->src, rc,
				    "unable to make a page request",
				    run->st->reason, sizeof(run->st->reason));
	}
	rc = ldap_search_ext(run->src->ld, c->search_base, LDAP_SCOPE_SUBTREE,
			     filter, attrs, 0, size > 0 ? ctrls : NULL, NULL,
			     &tv, LDAP_NO_LIMIT, &msgid);
	ldap_control_free(ctrls[0]);
	if (rc != LDAP_SUCCESS)
		return fail(run->src, rc, "unable to search", run->st->reason,
			    sizeof(run->st->reason));
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
	if (r < 0)
		drop(src);
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
	struct run run = {src,          on_user, on_skip, ctx, NULL,
			  {NULL, 0, 0}, false,   0,       0};
	double t0;
	bool reused = src->ld != NULL;
	int r;

	run.st = stats != NULL ? stats : &local;
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
