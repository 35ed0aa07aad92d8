/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ldap_src.h: the LDAP directory as a source of people.
 *
 * The only unit that sees libldap (LDAP *, LDAPMessage *, BerElement *):
 * everything it hands out is a struct ft_user (through mapping) or an
 * FT_E_* code with a readable reason.  It owns one connection, made
 * lazily on first use and made again after the server went away:
 * ldap_initialize over the space-separated URI list of [ldap] uri (libldap
 * tries them in order), LDAPv3, network and operation timeouts of [ldap]
 * timeout, referrals not followed (a referral counts as a partial
 * answer), the TLS settings on a fresh TLS context of its own (the CA
 * file is tls_ca_file, else LDAP_SRC_SYSTEM_CA; ldap.conf and ldaprc are
 * not read, as main() sets LDAPNOINIT), StartTLS when start_tls is set (a
 * failure is an error, never a plaintext fallback), then a simple bind as
 * bind_dn or an anonymous bind.  A password bind that
 * config_ldap_bind_check() refuses (plain ldap:// to a host other than a
 * loopback address on a port below 1024, without insecure_ldap) is never
 * attempted: no connection is made.
 *
 * Continuation references (RFC 4511 4.5.3, what Active Directory sends
 * for DomainDnsZones, ForestDnsZones and Configuration under a domain
 * root) are never followed.  One whose every URL ldap_src_referral_ignored()
 * accepts is skipped (search_all counts and names it in its stats); any
 * other makes the answer incomplete (FT_E_PARTIAL, the reason naming its
 * URLs and how to ignore them).
 *
 * [ldap] expires_attribute (ldap_map_expired(): accountExpires or
 * shadowExpire) is requested with the mapped attributes; an entry expired
 * at the time of the search is delivered with disabled set, exactly like
 * one matching disabled_filter, and an entry whose value cannot be judged
 * is a bad entry (not mapped, with the DN and the reason).
 *
 * Errors: FT_E_LDAP_DOWN when the server cannot be reached, timed out, or
 * said it is busy or unavailable (worth retrying; the connection is
 * dropped and made again next time); FT_E_LDAP when it refused (bad
 * credentials, StartTLS or certificate failure, bad filter or base, ...).
 *
 * Bounds: every PDU read is at most LDAP_SRC_PDU_MAX bytes; only the first
 * value of an attribute is used and values are at most MAP_VALUE_MAX
 * bytes (mapping.h); a run reads at most LDAP_SRC_ENTRIES_MAX entries; every
 * wait is bounded by [ldap] timeout.
 *
 * Threads: a struct ldap_src is used by one thread at a time; give each
 * thread its own (they are cheap until connected).  Non-logging unit.
 * The config is borrowed and must outlive the source.
 */
#ifndef LDAP_SRC_H
#define LDAP_SRC_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "ft_attrs.h"
#include "ft_user.h"

#define LDAP_SRC_ENTRIES_MAX 10000000UL           /* entries per search_all */
#define LDAP_SRC_PDU_MAX     (16UL * 1024 * 1024) /* bytes per LDAP message */
#define LDAP_SRC_REASON_MAX  1024

/* The CA bundle used when [ldap] tls_ca_file is unset (Debian's). */
#ifndef LDAP_SRC_SYSTEM_CA
#define LDAP_SRC_SYSTEM_CA "/etc/ssl/certs/ca-certificates.crt"
#endif

struct ldap_src;

/* What a search_all run saw; filled in whatever the outcome. */
struct ldap_src_stats {
	unsigned long entries;  /* entries received (mapped or skipped) */
	unsigned long skipped;  /* entries given to on_skip */
	unsigned long disabled; /* users delivered with disabled set */
	unsigned long pages;    /* search requests (both searches) */
	unsigned long
		referrals_ignored; /* references ignore_referrals skipped */
	char ignored[LDAP_SRC_REASON_MAX]; /* their URLs, quoted, cut to fit */
	double seconds;                    /* wall time of the run */
	char reason[LDAP_SRC_REASON_MAX];  /* why it failed; "" on success */
};

/*
 * A new source for cfg (borrowed; must outlive it): compiles the
 * [mapping] section, makes no connection.  Returns FT_OK with *ret (free
 * with ldap_src_free), FT_E_CONFIG (mapping does not compile, no uri, or
 * bind_dn without a password) or FT_E_NOMEM.
 */
FT_MUST_USE int ldap_src_new(const struct config *cfg, struct ldap_src **ret);

/* Close the connection and free src; NULL is a no-op. */
void ldap_src_free(struct ldap_src *src);

/*
 * Connect and bind now, unless connected already (for `check`).
 * Returns FT_OK, FT_E_LDAP_DOWN or FT_E_LDAP with the reason in err, or
 * FT_E_CONFIG (before any connection) when the transport rule refuses the
 * password bind (config_ldap_bind_check).
 */
FT_MUST_USE int ldap_src_connect(struct ldap_src *src, char *err,
				 size_t errlen);

/*
 * Look up one person by login: the filter
 * (&<search_filter>(<login_attribute>=<login escaped per RFC 4515>)) over
 * the subtree of search_base, at most 2 entries; then, when
 * disabled_filter is set, a base search of the entry's DN with
 * disabled_filter sets ret_user->disabled (as does an expiry passed).  A connection found dead
 * (closed while idle) is made again once within the call.
 * Returns FT_OK with *ret_user filled (caller frees with ft_user_clear;
 * untouched otherwise), FT_E_NOTFOUND (no entry), FT_E_CONFLICT (two
 * entries), FT_E_INVAL (empty login, or the entry cannot be mapped: the
 * reason names the DN), FT_E_PARTIAL (the whole base was referred, or no entry came back
 * but a continuation reference that ignore_referrals does not cover did:
 * the person may be there; an entry that did come back is used),
 * FT_E_LDAP_DOWN, FT_E_LDAP or FT_E_NOMEM; the reason is in err.
 */
FT_MUST_USE int ldap_src_lookup(struct ldap_src *src, const char *login,
				struct ft_user *ret_user, char *err,
				size_t errlen);

/* What ldap_src_count saw on the first page. */
struct ldap_src_count {
	unsigned long entries;    /* entries of search_filter on it */
	unsigned long references; /* continuation references on it that
				   * ignore_referrals does not cover */
	unsigned long ignored;    /* those it covers */
	bool more;                /* more pages follow, or a size limit hit */
	char referrals[LDAP_SRC_REASON_MAX]; /* URLs not covered, quoted */
};

/*
 * Count the entries of search_filter under search_base on the first page
 * only (for `check`): one search asking for no attribute, with the paged
 * results control of page_size entries (page_size 0: no control and a
 * size limit of 1,000 entries), so that more sets ret->more.  Continuation
 * references are counted (and their URLs noted, cut to fit), not
 * followed.  Returns FT_OK with *ret filled, FT_E_LDAP_DOWN or FT_E_LDAP
 * (bind, bad base or filter, another result code) with the reason in err.
 */
FT_MUST_USE int ldap_src_count(struct ldap_src *src, struct ldap_src_count *ret,
			       char *err, size_t errlen);

/*
 * Read every entry of search_filter under search_base, with the paged
 * results control of page_size entries per request (0: no control, one
 * request).  When disabled_filter is set, a first paged search of
 * (&<search_filter><disabled_filter>) returns only DNs, kept in a sorted
 * array (memory and one extra search proportional to the disabled
 * people), so that each user is delivered with disabled already set.
 *
 * Each mapped entry goes to on_user, which may take the user's strings
 * (as ft_user_list_push does; what it leaves is freed after it returns)
 * and returns >= 0 to go on or < 0 to stop the run with that value.  An
 * entry that cannot be mapped goes to on_skip (may be NULL) with what can
 * be told of it (ldap_map_identity(): DN, and login, uuid and username
 * where each maps on its own; borrowed for the call) and the reason, and
 * the run goes on.
 *
 * Returns FT_OK only when the directory answered in full.  FT_E_PARTIAL
 * for any sign of an incomplete answer: a size, time or admin limit, a
 * referral, a continuation reference ignore_referrals does not cover (the
 * search is read to its end first, so that the reason names every such
 * URL), a result code other than success,
 * a page response without the paged-results control, too many empty
 * pages.  FT_E_LDAP_DOWN when the connection failed or timed out, FT_E_LDAP
 * when the server refused (bind, unsupported critical control, bad
 * filter), FT_E_TOOBIG past LDAP_SRC_ENTRIES_MAX entries, FT_E_NOMEM, or
 * on_user's own code.  stats (may be NULL) is filled in every case, with
 * the reason of a failure.  After a failure the connection is dropped.
 */
FT_MUST_USE int
ldap_src_search_all(struct ldap_src *src,
		    int (*on_user)(void *ctx, struct ft_user *u),
		    void (*on_skip)(void *ctx, const struct ft_user *id,
				    const char *reason),
		    void *ctx, struct ldap_src_stats *stats);

/*
 * Whether [ldap] ignore_referrals (the list; NULL or empty: nothing is
 * ignored) covers referral URL url.  The URL must parse with
 * ldap_url_parse(); then an item containing "://" is an fnmatch(3)
 * pattern (*, ?, [...]; case ignored) matched against the whole URL as
 * the server sent it, and any other item is a name matched,
 * case-insensitively, against the value of the first RDN of the URL's DN
 * as ldap_str2dn() reads it (escapes decoded; a multi-valued or
 * hex-encoded first RDN matches no name): "DomainDnsZones" covers
 * ldap://corp.example.com/DC=DomainDnsZones,DC=corp,DC=example,DC=com.
 * A URL that does not parse is never covered; one without a DN is
 * covered by a pattern only.
 * Pure.
 */
bool ldap_src_referral_ignored(const struct strlist *ignore, const char *url);

#endif
