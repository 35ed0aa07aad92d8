/* SPDX-License-Identifier: Apache-2.0 */
/* ft_err.c: text for the FT_E_* codes. */
#include "ft_err.h"

const char *
ft_strerror(int err)
{
	switch ((enum ft_err)err) {
	case FT_OK:
		return "success";
	case FT_E_INTERNAL:
		return "internal error";
	case FT_E_NOMEM:
		return "out of memory";
	case FT_E_INVAL:
		return "invalid value";
	case FT_E_PROTO:
		return "malformed message";
	case FT_E_TOOBIG:
		return "too large";
	case FT_E_IO:
		return "system error";
	case FT_E_CONFIG:
		return "configuration error";
	case FT_E_PERM:
		return "unsafe owner or permissions";
	case FT_E_AGAIN:
		return "resource temporarily unavailable";
	case FT_E_NOTFOUND:
		return "not found";
	case FT_E_LDAP_DOWN:
		return "LDAP server unreachable";
	case FT_E_LDAP:
		return "LDAP error";
	case FT_E_PARTIAL:
		return "LDAP result incomplete";
	case FT_E_HTTP:
		return "ftrack unreachable or busy";
	case FT_E_AUTH:
		return "ftrack refused the credentials";
	case FT_E_DATA:
		return "ftrack rejected the data";
	case FT_E_MALFORMED:
		return "malformed ftrack response";
	case FT_E_CONFLICT:
		return "identity conflict";
	case FT_E_SEAT:
		return "no free seat in the ftrack licence";
	}
	return "unknown error";
}

int
ft_err_transient(int err)
{
	return err < 0 && err != FT_E_DATA && err != FT_E_INVAL &&
	       err != FT_E_CONFLICT && err != FT_E_PROTO;
}
