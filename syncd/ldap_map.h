/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mapping.h: an LDAP entry, seen as plain strings, to a struct ft_user.
 *
 * The unit owns the [mapping] section of DESIGN.md section 5.  Each ftrack
 * field (username, email, first_name, last_name, full_name) is either a
 * bare attribute name ("mail") or a template of literal text and
 * references "{attr}" or "{attr|lower}" ("{uid|lower}@example.com").
 * There is no escape for a literal brace; an unbalanced one is an error.
 * `lower` lowercases ASCII and the Latin-1, Latin Extended-A, Greek and
 * Cyrillic capitals (every such change keeps the byte length).
 *
 * Applying a mapping (rules, in this order):
 * - Attribute names match case-insensitively; the first value of a
 *   multi-valued attribute is used, the others are ignored.
 * - Every value used must be valid UTF-8, hold no control character (C0,
 *   DEL, C1) and be at most MAP_VALUE_MAX bytes; so must every template
 *   result.  Otherwise the entry cannot be mapped.
 * - Every mapped field is evaluated even when full_name is not needed, so
 *   an entry maps or not whatever other attributes it has.
 * - username and the login attribute are required and must not be empty.
 *   email, first_name, last_name are NULL when an attribute they use is
 *   absent or the result is empty (not an error).
 * - full_name fills first_name and/or last_name where those are unmapped
 *   or empty: runs of spaces separate words, the last word is the last
 *   name and the others (joined by one space) the first name; a single
 *   word is the first name only.
 * - uuid (when a uuid attribute is given) is required.  A text value is
 *   used as is.  objectGUID or GUID (AD, eDirectory), or any value that is
 *   not clean UTF-8 text, is treated as binary and written as lowercase
 *   hex of the bytes in the order the server sends them (for AD's
 *   objectGUID that is NOT the byte order of the usual {xxxxxxxx-...}
 *   string, whose first three groups are little-endian), at most
 *   MAP_VALUE_MAX / 2 bytes.
 * - dn is copied (valid UTF-8, at most MAP_DN_MAX bytes) and login is the
 *   login attribute's value.
 *
 * Pure: no I/O, no LDAP types, no global state.  A compiled mapping is
 * read-only and may be shared between threads.
 */
#ifndef LDAP_MAP_H
#define LDAP_MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "config.h"
#include "ft_attrs.h"
#include "ft_user.h"

#define MAP_VALUE_MAX    256 /* bytes: a value or a template result */
#define FT_STR_(x)       #x
#define FT_STR(x)        FT_STR_(x)
#define MAP_DN_MAX       4096 /* bytes: an entry's DN */
#define MAP_TEMPLATE_MAX 1024 /* bytes: a [mapping] value in the config */
#define MAP_ERR_MAX      1400 /* bytes: room for a grammar message */

/* One attribute value: len bytes at p, not NUL-terminated, may hold NUL. */
struct map_val {
	const char *p;
	size_t len;
};

/* An attribute of an entry and its values (borrowed). */
struct map_attr {
	const char *name;
	size_t nvals;
	const struct map_val *vals;
};

/* An entry: its DN and its attributes (all borrowed). */
struct map_entry {
	const char *dn;
	size_t nattrs;
	const struct map_attr *attrs;
};

struct ldap_map;

/*
 * The one rule for a value the mapping uses (and for each field a
 * transform program gives back): valid UTF-8, no control character (C0,
 * DEL, C1), at most MAP_VALUE_MAX bytes.  NULL when s[0..len) passes,
 * else what is wrong ("is longer than 256 bytes", "is not valid UTF-8",
 * "holds a control character").  Pure.
 */
const char *ldap_map_value_check(const char *s, size_t len);

/*
 * The attribute-description rule of RFC 4512 as LDAP servers take it: a
 * name (a letter, then letters, digits, '-') or a numeric OID (1.2.3),
 * then ";option"s (cn;lang-en), at most 128 bytes.  Pure.
 */
bool ldap_map_attr_valid(const char *s, size_t len);

/*
 * The one template grammar of [mapping] values, as ldap_map_compile()
 * parses them: a bare attribute description ("mail") or literal text with
 * "{attr}" and "{attr|lower}" references.  Returns FT_OK, FT_E_INVAL with
 * what is wrong in err (e.g. "unknown filter 'upper' in '{uid|upper}'
 * (the one filter is |lower)"), or FT_E_NOMEM.  The config checks each
 * [mapping] value with it, so that a file that loads always compiles.
 */
FT_MUST_USE int ldap_map_check(const char *src, char *err, size_t errlen);

/*
 * Compile the [mapping] fields m (NULL or "" = unmapped; username is
 * required) with the login attribute (required) and the uuid attribute
 * (NULL or "": none).  On success *ret is a new mapping (free with
 * ldap_map_free).  Returns FT_OK, FT_E_INVAL with a message in err
 * (capacity errlen) such as "email: unknown filter 'upper' in
 * '{uid|upper}'", or FT_E_NOMEM.
 */
FT_MUST_USE int ldap_map_compile(const struct config_mapping *m,
				 const char *login_attr, const char *uuid_attr,
				 struct ldap_map **ret, char *err,
				 size_t errlen);

/* Free a mapping; NULL is a no-op. */
void ldap_map_free(struct ldap_map *map);

/*
 * Map entry to a user.  On success *ret_user is overwritten with newly
 * allocated strings (the caller frees them with ft_user_clear; disabled,
 * is_active and the ftrack-only fields are false/NULL).  Returns FT_OK,
 * FT_E_INVAL with the reason in reason (capacity reasonlen), e.g.
 * "no 'uid' value", "'mail' is not valid UTF-8", "'cn' is longer than 256
 * bytes", or FT_E_NOMEM.  *ret_user is untouched on failure.
 */
FT_MUST_USE int ldap_map_apply(const struct ldap_map *map,
			       const struct map_entry *entry,
			       struct ft_user *ret_user, char *reason,
			       size_t reasonlen);

/*
 * The LDAP attributes to request: every attribute the fields use, the
 * login attribute and the uuid attribute, each once, NULL-terminated.
 * Borrowed from map; valid until ldap_map_free.
 */
/*
 * What can still be told of an entry ldap_map_apply() refused: its DN,
 * login, uuid and username, each filled only when it maps on its own
 * (NULL otherwise), so that a reconcile can keep the ftrack user of a
 * person whose entry is merely broken.  Returns FT_OK (*ret_id owns the
 * strings; ft_user_clear frees them) or FT_E_NOMEM.
 */
FT_MUST_USE int ldap_map_identity(const struct ldap_map *map,
				  const struct map_entry *entry,
				  struct ft_user *ret_id);

const char *const *ldap_map_attrs(const struct ldap_map *map);

/*
 * [ldap] expires_attribute: the format is told by the attribute's name,
 * matched case-insensitively, and nothing else:
 * - accountExpires (Active Directory): a FILETIME, the decimal count of
 *   100-ns intervals since 1601-01-01 00:00 UTC.  0 and
 *   9223372036854775807 mean never; the account is expired from that
 *   instant on (now >= the time).
 * - shadowExpire (RFC 2307, shadow(5)): the decimal count of days since
 *   1970-01-01 00:00 UTC.  -1 means never; the account is expired from
 *   the start (00:00 UTC) of that day on (days since the epoch of now >=
 *   the value), as shadow's own login check reads it.  0 is refused:
 *   shadow(5) says it must not be used, being read either as never or as
 *   expired on 1970-01-01.
 * An entry without the attribute never expires.  Any other value
 * (not a decimal integer, out of range, other negative numbers) cannot be
 * judged: the entry is a bad one, like an entry that cannot be mapped.
 */
enum ldap_expiry {
	LDAP_EXPIRY_NONE,     /* not an attribute whose format is known */
	LDAP_EXPIRY_FILETIME, /* accountExpires */
	LDAP_EXPIRY_DAYS,     /* shadowExpire */
};

/* The format of attribute attr (NULL: LDAP_EXPIRY_NONE).  Pure. */
enum ldap_expiry ldap_map_expiry_format(const char *attr);

/*
 * Judge one value v of attribute attr (its format by the name) at time now
 * (seconds since 1970-01-01 UTC).  Returns FT_OK with *ret_expired set,
 * or FT_E_INVAL with the reason in reason (e.g. "'shadowExpire' value
 * 'soon' is not a number of days since 1970-01-01"); *ret_expired is
 * untouched on failure.  Pure.
 */
FT_MUST_USE int ldap_map_expiry_judge(const char *attr, const struct map_val *v,
				      time_t now, bool *ret_expired,
				      char *reason, size_t reasonlen);

/*
 * Whether entry has expired at now by its attribute attr (NULL or "": no
 * expires_attribute, never expired; the first value is judged, an absent
 * attribute never expires).  Returns FT_OK with *ret_expired set, or
 * FT_E_INVAL (ldap_map_expiry_judge) with the reason.  Pure.
 */
FT_MUST_USE int ldap_map_expired(const char *attr,
				 const struct map_entry *entry, time_t now,
				 bool *ret_expired, char *reason,
				 size_t reasonlen);

#endif
