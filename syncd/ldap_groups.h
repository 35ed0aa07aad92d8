/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ldap_groups.h: the LDAP groups of [groups], read for [group_map] and
 * [role_map].
 *
 * Part of the LDAP source (ldap_src.h: its connection, timeouts, TLS and
 * bind): ldap_groups.c reads groups, ldap_groups_set.c (pure) turns them
 * into the members of each mapping line.  DNs are compared in one form
 * only, ldap_groups_dn_norm()'s, so that "CN=Comp,OU=Groups" and
 * "cn=comp, ou=groups" are the same group.
 *
 * Bounds: at most LDAP_GROUPS_MAX groups a read, LDAP_GROUP_MEMBERS_MAX
 * values a group (ranged values included), LDAP_GROUP_RANGES_MAX ranged
 * requests a group, LDAP_GROUPS_NESTED_MAX searches for nested groups at
 * login.  Ownership: a struct ldap_groups owns everything in it
 * (ldap_groups_clear).  Non-logging; one thread per source.
 */
#ifndef LDAP_GROUPS_H
#define LDAP_GROUPS_H

#include <stdbool.h>
#include <stddef.h>

#include "ft_attrs.h"
#include "ldap_src.h"

#define LDAP_GROUPS_MAX        100000UL
#define LDAP_GROUP_MEMBERS_MAX 1000000UL
#define LDAP_GROUP_RANGES_MAX  10000UL
#define LDAP_GROUPS_NESTED_MAX 64UL
#define LDAP_GROUP_DN_MAX      4096 /* bytes of a DN or a login value */

/* One LDAP group as read. */
struct ldap_group {
	char *dn;       /* ldap_groups_dn_norm() form */
	char *name;     /* first value of name_attribute; NULL: none */
	char **members; /* member, uniqueMember: DNs in normal form (the
			 * "#uid" of uniqueMember dropped); memberUid: the
			 * login names as they are; not sorted */
	size_t n, cap;
	bool complete; /* false: its members could not all be read */
};

struct ldap_groups {
	struct ldap_group *v;
	size_t n, cap;
	bool complete;          /* every group of the search, in full */
	unsigned long searches; /* LDAP requests made */
	char reason[LDAP_SRC_REASON_MAX]; /* why not complete; "" when it is */
};

/*
 * The one normal form of a DN: libldap's LDAPv3 string of it
 * (ldap_dn_normalize: blanks dropped, escapes made canonical), then ASCII
 * letters folded to lower case (attribute types and the values of naming
 * attributes compare without case).  Returns FT_OK with *ret (free),
 * FT_E_INVAL when dn is empty, too long or not a DN, FT_E_NOMEM.  Pure.
 */
FT_MUST_USE int ldap_groups_dn_norm(const char *dn, char **ret);

/*
 * Whether dn is base or under it; both in ldap_groups_dn_norm() form (a
 * NULL base holds nothing).  Pure.
 */
bool ldap_groups_dn_under(const char *dn, const char *base);

/*
 * Read every group of [groups] search_filter under [groups] search_base
 * (subtree, paged by [ldap] page_size), with name_attribute and
 * member_attribute; Active Directory's ranged values
 * (member;range=0-1499) are read on, one base request per range, to the
 * range that ends in '*'.  Appends to *ret (zeroed by the caller, or
 * holding a previous read) and sets ret->complete.
 *
 * Returns FT_OK when the directory answered in full.  Otherwise what was
 * read stays in ret, ret->complete is false with the reason, a group
 * whose members could not all be read (a ranged read failed midway, too
 * many values) has complete false, and the code is FT_E_PARTIAL (a size,
 * time or admin limit, a referral or continuation reference
 * ignore_referrals does not cover, another result code, a page without
 * the paged-results control, an entry that cannot be read),
 * FT_E_LDAP_DOWN, FT_E_LDAP, FT_E_TOOBIG or FT_E_NOMEM.
 */
FT_MUST_USE int ldap_src_groups_read(struct ldap_src *src,
				     struct ldap_groups *ret);

/*
 * The groups that hold one person as a member: (&<search_filter>
 * (<member_attribute>=<dn, or login for memberUid>)) under [groups]
 * search_base (one search), then with nested the groups that hold those
 * groups, level by level (one search a level, each group once, at most
 * LDAP_GROUPS_NESTED_MAX searches).  Appends groups with dn and name and
 * no members to *ret.  Returns FT_OK, or an error as
 * ldap_src_groups_read() does (what was found stays in ret, which is then
 * not complete); the reason is in ret->reason.
 */
FT_MUST_USE int ldap_src_groups_of(struct ldap_src *src, const char *dn,
				   const char *login, struct ldap_groups *ret);

/* Free what g holds and zero it. */
void ldap_groups_clear(struct ldap_groups *g);

/*
 * Parse an attribute description "member;range=LO-HI" (HI a number or
 * '*') of attribute attr (case ignored).  Returns 1 with *ret_next the
 * first value of the next range (HI + 1), 0 when HI is '*' (the last
 * range) or the description is attr itself, -1 when it is neither.
 * Pure.
 */
int ldap_groups_range(const char *desc, const char *attr,
		      unsigned long *ret_next);

/* ---- ldap_groups_set.c: mapping lines to members (pure) ---------------- */

/* What one [group_map] or [role_map] line resolves to. */
struct group_members {
	const struct groupmap_entry *line; /* borrowed from the config */
	const char *dn; /* the LDAP group found (borrowed); NULL: none */
	bool ambiguous; /* a name that two or more groups have */
	bool complete;  /* found, and every group it counts read in full */
	char **members; /* person DNs (normal form) or logins (memberUid),
			  * sorted (strcmp), each once */
	size_t n;
	unsigned long ignored; /* members neither a person under [ldap]
				* search_base nor a group followed */
	unsigned long loops;   /* member groups met again (nested) */
};

/*
 * The members of each line of map (n lines) from all (a read of every
 * group, ldap_src_groups_read): the line's group is the one whose DN is
 * the line's DN (normal form), or the one whose name is the line's name
 * (case ignored; two: ambiguous, none: not found).  A member DN that is
 * a group read is followed with [groups] nested (each group once: a loop
 * ends), else ignored; a member DN not under [ldap] search_base is
 * ignored; memberUid values are logins.  Returns FT_OK with *ret (n
 * entries; ldap_groups_members_free), FT_E_NOMEM.
 */
FT_MUST_USE int ldap_groups_resolve(const struct config *cfg,
				    const struct ldap_groups *all,
				    const struct groupmap *map,
				    struct group_members **ret);

/* Free the n entries of v and v. */
void ldap_groups_members_free(struct group_members *v, size_t n);

/*
 * Whether line names one of the groups of g (a person's groups,
 * ldap_src_groups_of): by DN (normal form) or by name (case ignored).
 */
bool ldap_groups_line_in(const struct groupmap_entry *line,
			 const struct ldap_groups *g);

/* Whether member (normal form DN, or login) is in gm's members. */
bool ldap_groups_has_member(const struct group_members *gm, const char *member);

#endif
