/* SPDX-License-Identifier: Apache-2.0 */
/* ldap_src.c: the LDAP source: set-up, connection, entries seen by mapping. */
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
#include <unistd.h>

#include "array.h"
#include "ft_err.h"
#include "ldap_int.h"
#include "ldap_map.h"
#include "timing.h"
#include "transform.h"

/*
 * Format into buf, text as it is: a server's diagnostic or a DN is shown
 * by the log or a command's output, which pass it through the one cleaner
 * (ft_clean.h); turning its controls into '?' here hid what they were.
 */
void
lsrc_vmsg(char *buf, size_t len, const char *fmt, va_list ap)
{
	if (buf == NULL || len == 0)
		return;
	/* A message cut short is still a message. */
	(void)vsnprintf(buf, len, fmt, ap);
}

void
lsrc_msg(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	lsrc_vmsg(buf, len, fmt, ap);
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

/* Append name to the NULL-terminated attrs (room made by the caller)
 * unless it is there (case ignored). */
static int
add_attr(char **attrs, const char *name)
{
	size_t i;

	for (i = 0; attrs[i] != NULL; i++)
		if (strcasecmp(attrs[i], name) == 0)
			return FT_OK;
	attrs[i] = strdup(name);
	return attrs[i] != NULL ? FT_OK : FT_E_NOMEM;
}

/* The mapped attributes, expires_attribute when set and not one, and
 * with a transform its transform_attributes. */
static int
copy_attrs(struct ldap_src *src)
{
	const char *const *a = ldap_map_attrs(src->map);
	const char *exp = src->cfg->ldap.expires_attribute;
	const struct strlist *xa = &src->cfg->mapping.transform_attributes;
	size_t i, n = 0;

	while (a[n] != NULL)
		n++;
	src->attrs = calloc(n + 2 + xa->n, sizeof(*src->attrs));
	if (src->attrs == NULL)
		return FT_E_NOMEM;
	for (i = 0; i < n; i++) {
		src->attrs[i] = strdup(a[i]);
		if (src->attrs[i] == NULL)
			return FT_E_NOMEM;
		if (exp != NULL && strcasecmp(a[i], exp) == 0)
			exp = NULL;
	}
	if (exp != NULL && *exp != '\0') {
		src->attrs[n] = strdup(exp);
		if (src->attrs[n] == NULL)
			return FT_E_NOMEM;
	}
	for (i = 0; transform_configured(src->cfg) && i < xa->n; i++)
		if (add_attr(src->attrs, xa->v[i]) < 0)
			return FT_E_NOMEM;
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

void
lsrc_drop(struct ldap_src *src)
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
	lsrc_drop(src);
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
void
lsrc_describe(LDAP *ld, int rc, const char *what, char *err, size_t errlen)
{
	char *diag = NULL;

	if (ld == NULL || ldap_get_option(ld, LDAP_OPT_DIAGNOSTIC_MESSAGE,
					  &diag) != LDAP_OPT_SUCCESS)
		diag = NULL;
	if (diag != NULL && *diag != '\0')
		lsrc_msg(err, errlen, "%s: %s (%s)", what, ldap_err2string(rc),
			 diag);
	else
		lsrc_msg(err, errlen, "%s: %s", what, ldap_err2string(rc));
	ldap_memfree(diag);
}

/* Describe a failed operation; a connection-level failure drops it. */
int
lsrc_fail(struct ldap_src *src, int rc, const char *what, char *err,
	  size_t errlen)
{
	int r = classify(rc);

	lsrc_describe(src->ld, rc, what, err, errlen);
	if (r == FT_E_LDAP_DOWN)
		lsrc_drop(src);
	return r;
}

static int
set_opt(LDAP *ld, int opt, const void *val, const char *name, char *err,
	size_t errlen)
{
	int rc = ldap_set_option(ld, opt, val);

	if (rc == LDAP_OPT_SUCCESS)
		return FT_OK;
	lsrc_describe(ld, rc, name, err, errlen);
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

/*
 * The CA file of a handle: tls_ca_file, else the system's bundle when it
 * is there.  A handle's new TLS context starts from scratch (libldap
 * copies no TLS file names into a handle, and main() sets LDAPNOINIT
 * anyway), so nothing else names one; NULL: none, every certificate fails.
 */
static const char *
ca_file(const struct config_ldap *c)
{
	if (c->tls_ca_file != NULL && *c->tls_ca_file != '\0')
		return c->tls_ca_file;
	if (access(LDAP_SRC_SYSTEM_CA, R_OK) == 0)
		return LDAP_SRC_SYSTEM_CA;
	return NULL;
}

/* TLS options apply to a handle only once it has its own new context. */
static int
set_tls(LDAP *ld, const struct config_ldap *c, char *err, size_t errlen)
{
	int reqcert = tls_reqcert(c->tls_require_cert), is_server = 0, r;
	const char *ca = ca_file(c);

	r = set_opt(ld, LDAP_OPT_X_TLS_REQUIRE_CERT, &reqcert,
		    "unable to set tls_require_cert", err, errlen);
	if (r == FT_OK && ca != NULL)
		r = set_opt(ld, LDAP_OPT_X_TLS_CACERTFILE, ca,
			    "unable to set tls_ca_file", err, errlen);
	if (r == FT_OK)
		r = set_opt(ld, LDAP_OPT_X_TLS_NEWCTX, &is_server,
			    "unable to make a TLS context", err, errlen);
	return r;
}

/* The handle may use TLS: start_tls, or an ldaps:// URI in the list. */
static bool
uses_tls(const struct config_ldap *c)
{
	return c->start_tls ||
	       (c->uri != NULL && strcasestr(c->uri, "ldaps://") != NULL);
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
		lsrc_msg(err, errlen, "unable to limit the LDAP message size");
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
	/* a TLS context (the CA bundle parsed anew) only for a handle that
	 * may use TLS: each reconnect of a plain one would pay for it */
	if (r == FT_OK && uses_tls(c))
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
	lsrc_describe(ld, rc,
		      rc == LDAP_CONNECT_ERROR ? tls_hint : "StartTLS failed",
		      err, errlen);
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
		lsrc_msg(what, sizeof(what), "unable to bind as '%s'", dn);
	else
		lsrc_msg(what, sizeof(what), "unable to bind anonymously");
	lsrc_describe(ld, rc, what, err, errlen);
	return classify(rc);
}

int
ldap_src_connect(struct ldap_src *src, char *err, size_t errlen)
{
	const struct config_ldap *c = &src->cfg->ldap;
	char why[LDAP_SRC_REASON_MAX];
	LDAP *ld = NULL;
	int rc, r = FT_E_LDAP;

	if (src->ld != NULL)
		return FT_OK;
	/* config_load refused it already; never send the password anyway */
	r = config_ldap_bind_check(c, why, sizeof(why));
	if (r < 0) {
		lsrc_msg(err, errlen, "refusing to bind as '%s': %s",
			 c->bind_dn, why);
		return r;
	}
	r = FT_E_LDAP;
	rc = ldap_initialize(&ld, c->uri);
	if (rc != LDAP_SUCCESS) {
		lsrc_msg(err, errlen, "unable to use LDAP uri '%s': %s", c->uri,
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

struct timeval
lsrc_op_timeout(const struct ldap_src *src)
{
	struct timeval tv = {(time_t)src->cfg->ldap.timeout, 0};

	if (tv.tv_sec <= 0)
		tv.tv_sec = 1;
	return tv;
}

/* ---- entries --------------------------------------------------------- */

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

void
lsrc_view_fill(LDAP *ld, LDAPMessage *e, struct view *v, struct map_entry *me)
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

void
lsrc_view_clear(struct view *v)
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

int
lsrc_map(const struct ldap_src *src, const struct map_entry *me, time_t now,
	 struct ft_user *ret_user, char *reason, size_t reasonlen)
{
	struct ft_user u = {0};
	bool expired = false;
	int r;

	r = ldap_map_apply(src->map, me, &u, reason, reasonlen);
	if (r == FT_OK)
		r = ldap_map_expired(src->cfg->ldap.expires_attribute, me, now,
				     &expired, reason, reasonlen);
	if (r == FT_OK && transform_configured(src->cfg))
		r = transform_attrs_json(me, &u.attrs_json);
	if (r < 0) {
		ft_user_clear(&u);
		return r;
	}
	u.disabled = expired;
	*ret_user = u;
	return FT_OK;
}
