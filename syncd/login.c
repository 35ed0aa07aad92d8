/* SPDX-License-Identifier: Apache-2.0 */
/* login.c: [ldap] login_format: a PAM name made the daemon's login. */
#include "login.h"

#include <string.h>

#include "ft_err.h"
#include "ft_proto.h"

bool
login_valid(const char *s)
{
	size_t len;

	if (s == NULL)
		return false;
	len = strnlen(s, FT_PROTO_VALUE_MAX + 1);
	return len > 0 && ft_proto_value_ok(s, len) == FT_OK;
}

int
login_name(unsigned fmt, const char *raw, char *ret, size_t cap)
{
	const char *start, *end, *p;
	size_t len, i;

	if (!login_valid(raw))
		return FT_E_INVAL;
	start = raw;
	end = raw + strlen(raw);
	/* '\' and '@' are ASCII: a cut there keeps the UTF-8 whole */
	p = (fmt & LOGIN_STRIP_DOMAIN) ? strchr(start, '\\') : NULL;
	if (p != NULL)
		start = p + 1;
	p = (fmt & LOGIN_STRIP_REALM)
		    ? memrchr(start, '@', (size_t)(end - start))
		    : NULL;
	if (p != NULL)
		end = p;
	len = (size_t)(end - start);
	if (len == 0)
		return FT_E_INVAL;
	if (len >= cap)
		return FT_E_TOOBIG;
	memmove(ret, start, len); /* ret may be raw itself */
	ret[len] = '\0';
	for (i = 0; (fmt & LOGIN_LOWER) && i < len; i++)
		if (ret[i] >= 'A' && ret[i] <= 'Z')
			ret[i] = (char)(ret[i] - 'A' + 'a');
	return FT_OK;
}

bool
login_qualified(const char *s)
{
	return s != NULL && strpbrk(s, "@\\") != NULL;
}
