/* SPDX-License-Identifier: Apache-2.0 */
/*
 * login.h: how a PAM user name becomes the login the daemon works with.
 *
 * [ldap] login_format is a set of LOGIN_* flags.  With SSSD's
 * use_fully_qualified_names the PAM user is `alice@corp.example.com` or
 * `CORP\alice`; the daemon looks up, journals, cools down and skips the
 * login login_name() makes of it, so that every spelling of one person
 * is one queue file and one look-up.  The same function serves the
 * login socket, the PAM module's spool files and `sync USER`.
 *
 * Pure functions: no allocation, no I/O, no state; thread-safe.
 */
#ifndef LOGIN_H
#define LOGIN_H

#include <stdbool.h>
#include <stddef.h>

#include "ft_attrs.h"

/* The words of [ldap] login_format (any of them, in any order). */
#define LOGIN_STRIP_DOMAIN 0x1u /* strip-domain: drop a leading DOMAIN\ */
#define LOGIN_STRIP_REALM  0x2u /* strip-realm: drop a trailing @REALM */
#define LOGIN_LOWER        0x4u /* lower: fold A-Z to a-z (ASCII only) */

/*
 * The one rule for a login name: not empty, and a value an event may
 * carry (ft_proto_value_ok: at most FT_PROTO_VALUE_MAX bytes, valid
 * UTF-8, no control characters).
 */
bool login_valid(const char *s);

/*
 * The login of the PAM name raw under the flags fmt, into ret (capacity
 * cap; the result is never longer than raw; ret may be raw itself).  In
 * this order, whatever the order of the words: strip-domain drops all up
 * to and including the first '\'; strip-realm drops the last '@' and
 * what follows it; lower folds ASCII A-Z (a non-ASCII letter keeps its
 * case: LDAP's matching ignores case anyway, and the mapping, not the
 * login, names the ftrack user).  fmt 0: raw as is.  Returns FT_OK;
 * FT_E_INVAL when raw or the result is not login_valid() (e.g. "@CORP"
 * under strip-realm); FT_E_TOOBIG when cap is too small.  *ret is
 * written only on success.
 */
FT_MUST_USE int login_name(unsigned fmt, const char *raw, char *ret,
			   size_t cap);

/*
 * True when s looks qualified (holds '@' or '\'): a login LDAP does not
 * know may then need login_format (the hint in the not-ldap log line).
 */
bool login_qualified(const char *s);

#endif
