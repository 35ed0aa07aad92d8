/* SPDX-License-Identifier: Apache-2.0 */
/*
 * h_ldapsrc.h: test library: what the ldap_src, ldap_lookup and
 * ldap_search suites share (h_ldapsrc.c, prefix h_ls_): the slapd of the
 * read-only tests (people.ldif, started in the runner), a slapd of one's
 * own, a struct config made by hand (independent of the parser), a source,
 * one lookup, and a full read collected into a list.
 *
 * Unlike harness.h, the functions here assert (ck_assert), but for the
 * unchecked fixture h_ls_shared_setup/h_ls_shared_teardown.  Test code,
 * single-threaded.
 */
#ifndef FT_H_LDAPSRC_H
#define FT_H_LDAPSRC_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "ft_user.h"
#include "harness.h"
#include "ldap_src.h"

/* The uid of people.ldif made of filter metacharacters. */
#define H_LS_META_UID "st*r(x)\\5c"

/* Unchecked fixture: start (h_ls_shared_setup) and stop the shared slapd. */
void h_ls_shared_setup(void);
void h_ls_shared_teardown(void);

/* The shared slapd's URI (asserted to have started); borrowed. */
const char *h_ls_shared_uri(void);

/* A slapd of this test's own from people.ldif (sizelimit 0: none). */
struct h_slapd *h_ls_own_slapd(unsigned sizelimit);

/* Replace *field by a copy of value (NULL: unset). */
void h_ls_set(char **field, const char *value);

/*
 * A config for uri: the sync account's bind, people, the disabled filter
 * of people.ldif, uid and entryUUID, TLS demand, insecure_ldap (the
 * password goes to slapd's high port), timeout 5 s, pages of 500, the
 * default mapping.  Free with h_ls_cfg_free.
 */
struct config *h_ls_cfg_new(const char *uri);
void h_ls_cfg_free(struct config *c);

/* ldap_src_new(c), asserted; free with ldap_src_free. */
struct ldap_src *h_ls_src_new(const struct config *c);

/* Look login up; returns the code, the user in *u, the reason in err. */
int h_ls_lookup(struct ldap_src *src, const char *login, struct ft_user *u,
		char *err, size_t errlen);

/* What a full read delivered (start zeroed; clear list after each run). */
struct h_ls_coll {
	struct ft_user_list list;
	unsigned long skips;
	char skip_dn[256], skip_reason[256], skip_login[64], skip_uuid[64];
	size_t stop_after;    /* > 0: return -42 when that many were taken */
	struct h_slapd *kill; /* not NULL: SIGKILL it after 3 users */
};

/* ldap_src_search_all's on_user and on_skip for a struct h_ls_coll. */
int h_ls_coll_user(void *ctx, struct ft_user *u);
void h_ls_coll_skip(void *ctx, const struct ft_user *id, const char *reason);

/* ldap_src_search_all into c, the stats in *st. */
int h_ls_search_all(struct ldap_src *src, struct h_ls_coll *c,
		    struct ldap_src_stats *st);

/*
 * A self-signed certificate for 127.0.0.1 (CN and IP subjectAltName):
 * DIR/NAME.crt and DIR/NAME.key, made by openssl; it is its own CA.
 */
void h_ls_make_cert(const char *dir, const char *name);

/*
 * Give slapd s the certificate h_ls_make_cert(its folder, "server") and
 * restart it: StartTLS then works on its ldap:// URI, with
 * DIR/server.crt as the CA.
 */
void h_ls_enable_tls(struct h_slapd *s);

#endif
