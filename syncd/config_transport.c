/* SPDX-License-Identifier: Apache-2.0 */
/* config_transport.c: DESIGN.md 13: where the API key and LDAP password go. */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config_int.h"
#include "ft_err.h"
#include "ft_util.h"

#define HOST_MAX      256  /* bytes of host[:port] looked at */
#define PRIV_PORT_MAX 1023 /* only root may bind a port up to this */
#define LDAP_PORT_DEF 389  /* ldap:// without a port */

/*
 * host[:port] or [v6][:port] (len bytes): the name without brackets into
 * name (HOST_MAX) and the port (0: none given, or 0) into *ret_port.  False when
 * it is malformed or too long; nothing is decoded, so a '%' escape is
 * never taken for a loopback name.
 */
static bool
split_host(const char *hp, size_t len, char *name, bool *ret_v6,
	   unsigned long *ret_port)
{
	char *port;
	unsigned long long n = 0;

	if (len >= HOST_MAX)
		return false;
	memcpy(name, hp, len);
	name[len] = '\0';
	*ret_v6 = name[0] == '[';
	if (*ret_v6) {
		port = strchr(name, ']');
		if (port == NULL || (port[1] != '\0' && port[1] != ':'))
			return false;
		memmove(name, name + 1, (size_t)(port - name - 1));
		port[-1] = '\0';
		port++;
	} else {
		port = strchr(name, ':');
	}
	if (port != NULL && *port == ':') {
		*port = '\0';
		if (ft_parse_uint(port + 1, 65535, &n) != FT_OK)
			return false;
	}
	*ret_port = (unsigned long)n;
	return true;
}

/* 127.0.0.0/8, ::1 (in brackets) or localhost (root's /etc/hosts). */
static bool
name_is_loopback(const char *name, bool v6)
{
	struct in_addr a4;
	struct in6_addr a6;

	if (v6)
		return inet_pton(AF_INET6, name, &a6) == 1 &&
		       IN6_IS_ADDR_LOOPBACK(&a6);
	if (strcasecmp(name, "localhost") == 0)
		return true;
	return inet_pton(AF_INET, name, &a4) == 1 &&
	       (ntohl(a4.s_addr) >> 24) == 127;
}

bool
conf_host_is_loopback(const char *hostport, size_t len, unsigned long *ret_port)
{
	char name[HOST_MAX];
	unsigned long port;
	bool v6;

	if (!split_host(hostport, len, name, &v6, &port) ||
	    !name_is_loopback(name, v6))
		return false;
	if (ret_port != NULL)
		*ret_port = port;
	return true;
}

/* ---- LDAP: the bind password ------------------------------------------ */

/*
 * How one URI (len bytes) of [ldap] uri carries a password: URI_SAFE
 * (ldaps://, ldapi://, ldap:// with StartTLS, ldap:// to a loopback
 * address on a port only root may bind) or URI_PLAIN.
 */
enum uri_kind { URI_SAFE, URI_PLAIN };

static enum uri_kind
uri_kind(const char *uri, size_t len, bool start_tls)
{
	unsigned long port = 0;
	size_t hlen;

	if (len >= 8 && strncasecmp(uri, "ldaps://", 8) == 0)
		return URI_SAFE;
	if (len >= 8 && strncasecmp(uri, "ldapi://", 8) == 0)
		return URI_SAFE;
	if (len < 7 || strncasecmp(uri, "ldap://", 7) != 0)
		return URI_PLAIN; /* not a scheme we know: never trusted */
	if (start_tls)
		return URI_SAFE;
	uri += 7;
	len -= 7;
	hlen = strcspn(uri, "/?");
	if (hlen > len)
		hlen = len;
	if (!conf_host_is_loopback(uri, hlen, &port))
		return URI_PLAIN;
	if (port == 0)
		port = LDAP_PORT_DEF;
	return port <= PRIV_PORT_MAX ? URI_SAFE : URI_PLAIN;
}

/* libldap splits [ldap] uri at blanks and commas; so does this. */
#define URI_SEP ", \t"

/*
 * The first URI (at *p, advanced past it) that would carry the password
 * in clear text; its length in *ret_len.  NULL when there is none.
 */
static const char *
next_plain(const char **p, bool start_tls, size_t *ret_len)
{
	const char *s = *p;

	for (s += strspn(s, URI_SEP); *s != '\0'; s += strspn(s, URI_SEP)) {
		size_t n = strcspn(s, URI_SEP);

		*p = s + n;
		if (uri_kind(s, n, start_tls) == URI_PLAIN) {
			*ret_len = n;
			return s;
		}
		s += n;
	}
	*p = s;
	return NULL;
}

static bool
binds_with_password(const struct config_ldap *c)
{
	return c->bind_dn != NULL && *c->bind_dn != '\0';
}

int
config_ldap_bind_check(const struct config_ldap *c, char *why, size_t whylen)
{
	const char *p = c->uri != NULL ? c->uri : "";
	const char *bad;
	size_t n = 0;

	if (!binds_with_password(c) || c->insecure_ldap)
		return FT_OK;
	bad = next_plain(&p, c->start_tls, &n);
	if (bad == NULL)
		return FT_OK;
	(void)snprintf(
		why, whylen,
		"'%.*s' would get the bind password in clear text: use "
		"ldaps://, or ldap:// with start_tls = yes (ldapi:// and "
		"a loopback address on a port below 1024 are allowed); "
		"insecure_ldap = yes in [ldap] allows it (tests only)",
		(int)(n > 128 ? 128 : n), bad);
	return FT_E_CONFIG;
}

/* ---- ftrack: the API key ---------------------------------------------- */

static bool
server_is_http(const struct config_ftrack *f)
{
	return f->server != NULL && strncasecmp(f->server, "http://", 7) == 0;
}

/* An http:// server without insecure_http: refused at its line. */
static int
check_server(struct load *l)
{
	const struct config *cfg = l->cfg;
	const char *env = getenv("FTRACK_SERVER");

	if (!server_is_http(&cfg->ftrack) || cfg->ftrack.insecure_http)
		return FT_OK;
	if (env != NULL && *env != '\0')
		return conf_fail(
			l, 0, FT_E_CONFIG,
			"environment FTRACK_SERVER: '%.128s' would get "
			"the API key in clear text: use https://, or "
			"set insecure_http = yes in [ftrack] (tests "
			"only)",
			cfg->ftrack.server);
	return conf_fail(l, l->seen[conf_key_find("ftrack", "server")],
			 FT_E_CONFIG,
			 "[ftrack] server: '%.128s' would get the API key in "
			 "clear text: use https://, or set insecure_http = "
			 "yes in [ftrack] (tests only)",
			 cfg->ftrack.server);
}

/* ---- relay: the upstreams -------------------------------------------- */

/* A relay's logins go over https:// only (no insecure_http knob). */
static int
check_upstream(struct load *l)
{
	const struct strlist *u = &l->cfg->relay.upstream;
	size_t i;

	for (i = 0; i < u->n; i++)
		if (strncasecmp(u->v[i], "https://", 8) != 0)
			return conf_fail(
				l, l->seen[conf_key_find("relay", "upstream")],
				FT_E_CONFIG,
				"[relay] upstream: '%.128s': a relay talks to "
				"its provisioners over https:// only",
				u->v[i]);
	return FT_OK;
}

/* The file's rules for both transports (after the environment). */
int
conf_check_transport(struct load *l)
{
	char why[MSG_MAX];
	int r;

	r = check_upstream(l);
	if (r < 0 || l->cfg->daemon.mode == MODE_RELAY)
		return r;
	r = check_server(l);
	if (r < 0)
		return r;
	r = config_ldap_bind_check(&l->cfg->ldap, why, sizeof(why));
	if (r < 0)
		return conf_fail(l, l->seen[conf_key_find("ldap", "uri")],
				 FT_E_CONFIG, "[ldap] uri: %s", why);
	return FT_OK;
}

/* ---- warnings --------------------------------------------------------- */

static void
warn_ldap(const struct config_ldap *c,
	  void (*emit)(void *ctx, const char *line), void *ctx)
{
	char line[MSG_MAX];
	const char *p = c->uri != NULL ? c->uri : "";
	size_t n = 0;

	while (binds_with_password(c) && c->insecure_ldap) {
		const char *bad = next_plain(&p, c->start_tls, &n);

		if (bad == NULL)
			break;
		(void)snprintf(line, sizeof(line),
			       "[ldap] insecure_ldap = yes: the bind password "
			       "goes in clear text to '%.*s' (tests only)",
			       (int)(n > 128 ? 128 : n), bad);
		emit(ctx, line);
	}
	if (c->tls_require_cert == TLS_DEMAND)
		return;
	(void)snprintf(line, sizeof(line),
		       "[ldap] tls_require_cert = %s: a server whose "
		       "certificate cannot be verified is accepted, so an "
		       "impostor can get the bind password; use demand",
		       c->tls_require_cert == TLS_NEVER   ? "never"
		       : c->tls_require_cert == TLS_ALLOW ? "allow"
							  : "try");
	emit(ctx, line);
}

void
config_warnings(const struct config *cfg,
		void (*emit)(void *ctx, const char *line), void *ctx)
{
	if (server_is_http(&cfg->ftrack) && cfg->ftrack.insecure_http) {
		char line[MSG_MAX];

		(void)snprintf(line, sizeof(line),
			       "[ftrack] insecure_http = yes: the API key goes "
			       "in clear text to '%.128s'; any local user who "
			       "binds that port first gets it (tests only)",
			       cfg->ftrack.server);
		emit(ctx, line);
	}
	warn_ldap(&cfg->ldap, emit, ctx);
}
