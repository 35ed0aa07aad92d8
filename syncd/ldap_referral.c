/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ldap_referral.c: continuation references: what [ldap] ignore_referrals
 * covers, reading a reference's URLs, the message of one that holds a
 * run.  Shared by the full read (ldap_search.c) and the lookup
 * (ldap_lookup.c), so that both follow the one rule.
 */
#include "ldap_src.h"

#include <fnmatch.h>
#include <lber.h>
#include <ldap.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "ft_err.h"
#include "ldap_int.h"

/* The first RDN of dn is one AVA whose string value is one of the names. */
static bool
first_rdn_named(const struct strlist *ignore, const char *dn)
{
	LDAPDN parsed = NULL;
	const struct berval *v;
	bool hit = false;
	size_t i;

	if (dn == NULL || *dn == '\0' ||
	    ldap_str2dn(dn, &parsed, LDAP_DN_FORMAT_LDAPV3) != LDAP_SUCCESS)
		return false;
	if (parsed == NULL || parsed[0] == NULL || parsed[0][0] == NULL ||
	    parsed[0][1] != NULL || (parsed[0][0]->la_flags & LDAP_AVA_BINARY))
		goto out;
	v = &parsed[0][0]->la_value;
	for (i = 0; i < ignore->n && !hit; i++)
		hit = strstr(ignore->v[i], "://") == NULL &&
		      strlen(ignore->v[i]) == v->bv_len &&
		      strncasecmp(ignore->v[i], v->bv_val, v->bv_len) == 0;
out:
	ldap_dnfree(parsed);
	return hit;
}

bool
ldap_src_referral_ignored(const struct strlist *ignore, const char *url)
{
	LDAPURLDesc *lud = NULL;
	bool hit = false;
	size_t i;

	if (ignore == NULL || ignore->n == 0 || url == NULL ||
	    ldap_url_parse(url, &lud) != LDAP_URL_SUCCESS)
		return false;
	for (i = 0; i < ignore->n && !hit; i++)
		hit = strstr(ignore->v[i], "://") != NULL &&
		      fnmatch(ignore->v[i], url, FNM_CASEFOLD) == 0;
	if (!hit)
		hit = first_rdn_named(ignore, lud->lud_dn);
	ldap_free_urldesc(lud);
	return hit;
}

int
lsrc_reference(struct ldap_src *src, LDAPMessage *m, char ***ret_urls,
	       bool *ret_ignored, char *err, size_t errlen)
{
	char **urls = NULL;
	bool all = true;
	size_t i;

	if (ldap_parse_reference(src->ld, m, &urls, NULL, 0) != LDAP_SUCCESS) {
		lsrc_msg(err, errlen,
			 "unable to read a continuation reference");
		return FT_E_PARTIAL;
	}
	for (i = 0; urls != NULL && urls[i] != NULL; i++)
		all = all && ldap_src_referral_ignored(
				     &src->cfg->ldap.ignore_referrals, urls[i]);
	*ret_ignored = i > 0 && all;
	*ret_urls = urls;
	return FT_OK;
}

void
lsrc_note_urls(char *buf, size_t len, char *const *urls)
{
	char quoted[LDAP_SRC_REASON_MAX];
	size_t i, used;

	for (i = 0; urls != NULL && urls[i] != NULL; i++) {
		int n = snprintf(quoted, sizeof(quoted), "'%s'", urls[i]);

		if (n < 0 || (size_t)n >= sizeof(quoted) ||
		    strstr(buf, quoted) != NULL)
			continue;
		used = strlen(buf);
		if (used + (size_t)n + 3 > len)
			continue;
		(void)snprintf(buf + used, len - used, "%s%s",
			       used > 0 ? ", " : "", quoted);
	}
}

void
lsrc_held_msg(char *err, size_t errlen, const char *urls)
{
	lsrc_msg(err, errlen,
		 "the server referred part of the search to %s (continuation "
		 "references are not followed, and these may hold people); "
		 "if they hold none, add their naming context (e.g. "
		 "DomainDnsZones) or a URL pattern to [ldap] "
		 "ignore_referrals, or search the Global Catalog (port "
		 "3268/3269)",
		 *urls != '\0' ? urls : "(no URL)");
}
