/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ldap_int.h: what the files of the LDAP source share, and no
 * caller sees: ldap_src.c (set-up, connection, entries), ldap_lookup.c
 * (one person by login), ldap_search.c (the paged full read),
 * ldap_count.c (the first page counted, for `check`), ldap_referral.c
 * (continuation references and ignore_referrals).  The only
 * header besides ldap_src.h that names libldap's types.
 */
#ifndef LDAP_INT_H
#define LDAP_INT_H

#include <lber.h>
#include <ldap.h>
#include <stdarg.h>
#include <stdbool.h>
#include <sys/time.h>
#include <time.h>

#include "ft_attrs.h"
#include "ldap_map.h"
#include "ldap_src.h"

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

/* An entry seen through mapping's types; only first values are kept. */
struct view {
	struct map_attr attrs[VIEW_ATTRS_MAX];
	struct map_val vals[VIEW_ATTRS_MAX];
	struct berval **bvs[VIEW_ATTRS_MAX];
	char *names[VIEW_ATTRS_MAX];
	char *dn;
	size_t n;
};

/*
 * Format into buf (capacity len), cut to fit.  The text is kept as it is
 * (a server's diagnostic, a DN): what shows it, the log or a command's
 * output, cleans it (ft_clean.h).
 */
void lsrc_vmsg(char *buf, size_t len, const char *fmt, va_list ap)
	FT_PRINTF(3, 0);
void lsrc_msg(char *buf, size_t len, const char *fmt, ...) FT_PRINTF(3, 4);

/* Drop the connection (the next operation reconnects). */
void lsrc_drop(struct ldap_src *src);

/* "what: <result text> (<diagnostic message>)" into err. */
void lsrc_describe(LDAP *ld, int rc, const char *what, char *err,
		   size_t errlen);

/* Describe rc, drop the connection when it is lost; returns the FT_E_*. */
int lsrc_fail(struct ldap_src *src, int rc, const char *what, char *err,
	      size_t errlen);

/* The per-operation time limit of [ldap] timeout. */
struct timeval lsrc_op_timeout(const struct ldap_src *src);

/* See entry e through mapping's types (first values); lsrc_view_clear. */
void lsrc_view_fill(LDAP *ld, LDAPMessage *e, struct view *v,
		    struct map_entry *me);
void lsrc_view_clear(struct view *v);

/*
 * Map the entry me at time now: ldap_map_apply(), then ldap_map_expired()
 * with expires_attribute; an expired entry comes back with disabled set.
 * Returns FT_OK with *ret_user (ft_user_clear), FT_E_INVAL with the
 * reason (a bad entry) or FT_E_NOMEM; *ret_user is untouched on failure.
 */
FT_MUST_USE int lsrc_map(const struct ldap_src *src, const struct map_entry *me,
			 time_t now, struct ft_user *ret_user, char *reason,
			 size_t reasonlen);

/*
 * The URLs of continuation reference m into *ret_urls (NULL-terminated,
 * ldap_memvfree; may be NULL when the message holds none) and whether
 * ignore_referrals covers every one (none: not covered).  Returns FT_OK
 * or FT_E_PARTIAL with the reason when the message cannot be read.
 */
FT_MUST_USE int lsrc_reference(struct ldap_src *src, LDAPMessage *m,
			       char ***ret_urls, bool *ret_ignored, char *err,
			       size_t errlen);

/* Append each URL of urls, quoted, to the list in buf (capacity len),
 * ", "-separated, once; a URL that does not fit is left out. */
void lsrc_note_urls(char *buf, size_t len, char *const *urls);

/* "... continuation reference(s) to <urls> ...: how to ignore them". */
void lsrc_held_msg(char *err, size_t errlen, const char *urls);

#endif
