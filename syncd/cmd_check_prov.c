/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmd_check_prov.c: `ftrack-syncd check` on a provisioner, before the LDAP
 * and ftrack checks every standalone daemon gets: the server's certificate
 * and key, client_ca_file, crl_file (read as the daemon reads it, and its
 * next update), allow_hosts, deny_file (each line a host name or a
 * fingerprint), and whether each listen address and metrics_listen can be
 * bound (or are bound already, with the daemon running).  Connects
 * nowhere; binds and closes at once.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "config.h"
#include "ft_clean.h"
#include "ft_err.h"
#include "prov.h"
#include "prov_tls.h"
#include "state.h"
#include "tls_cert.h"

static void
utc(time_t t, char *buf, size_t cap)
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		(void)snprintf(buf, cap, "?");
}

static bool
check_crl(const struct config_provisioner *p)
{
	struct tls_crl_info ci;
	char err[1024] = "", when[32] = "none";

	if (p->crl_file == NULL) {
		ft_clean_print(
			stdout,
			"crl:     none (no crl_file): a host is shut out "
			"by deny_file only");
		return true;
	}
	if (tls_cert_check_crl(p->crl_file, time(NULL), &ci, err, sizeof(err)) <
	    0) {
		ft_clean_print(stdout, "crl:     FAILED: %s", err);
		return false;
	}
	if (ci.next_update != 0)
		utc(ci.next_update, when, sizeof(when));
	if (ci.stale) {
		ft_clean_print(stdout,
			       "crl:     FAILED: '%s' is out of date (its next "
			       "update was due on %s): the provisioner does "
			       "not load it (it does not start; a reload "
			       "keeps the list it has); fetch the CA's "
			       "current list",
			       p->crl_file, when);
		return false;
	}
	ft_clean_print(stdout,
		       "crl:     ok: '%s' from %s, %zu revoked, next update %s",
		       p->crl_file, ci.issuer, ci.revoked, when);
	return true;
}

/*
 * The client CA and the CRL as the daemon loads them (at start and on
 * SIGHUP): the CRL signed by that CA.  deny_file has its own line.
 */
static bool
check_trust(const struct config_provisioner *p)
{
	struct config_provisioner no_deny = *p;
	struct prov_trust *t = NULL;
	char err[1024] = "out of memory";

	no_deny.deny_file = NULL;
	if (prov_trust_load(&no_deny, &t, err, sizeof(err)) < 0) {
		ft_clean_print(stdout, "trust:   FAILED: %s", err);
		return false;
	}
	prov_trust_free(t);
	return true;
}

/* True when glob g can match a host name ([a-z0-9.-] and glob marks). */
static bool
glob_can_match(const char *g)
{
	return g[strspn(g,
			"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			"0123456789.-*?[]!")] == '\0';
}

static void
check_allow(const struct config_provisioner *p)
{
	size_t i;

	ft_clean_print(stdout, "allow:   %zu %s in allow_hosts",
		       p->allow_hosts.n,
		       p->allow_hosts.n == 1 ? "glob" : "globs");
	for (i = 0; i < p->allow_hosts.n; i++) {
		const char *g = p->allow_hosts.v[i];

		if (strspn(g, "*") == strlen(g))
			ft_clean_print(stdout,
				       "warning: [provisioner] allow_hosts: "
				       "'%s' lets in every host the client CA "
				       "signed",
				       g);
		else if (!glob_can_match(g))
			ft_clean_print(stdout,
				       "warning: [provisioner] allow_hosts: "
				       "'%s' matches no host name (letters, "
				       "digits, '.' and '-' only)",
				       g);
	}
}

static bool
check_deny(const struct config_provisioner *p)
{
	struct prov_deny_count n;
	const char *why = NULL;
	char *text = NULL;
	size_t len;
	int r;

	if (p->deny_file == NULL) {
		ft_clean_print(stdout, "deny:    none (no deny_file)");
		return true;
	}
	r = state_read_file(AT_FDCWD, p->deny_file, PROV_DENY_MAX, &text, &len,
			    &why);
	if (r < 0) {
		ft_clean_print(stdout, "deny:    FAILED: %s: %s", p->deny_file,
			       why != NULL ? why : ft_strerror(r));
		return false;
	}
	prov_deny_count(text, &n);
	free(text);
	ft_clean_print(stdout, "deny:    ok: '%s': %zu host %s, %zu %s",
		       p->deny_file, n.hosts, n.hosts == 1 ? "name" : "names",
		       n.prints,
		       n.prints == 1 ? "fingerprint" : "fingerprints");
	if (n.bad > 0)
		ft_clean_print(stdout,
			       "warning: %s:%u: neither a host name nor a "
			       "SHA-256 fingerprint: it shuts out no host "
			       "(%zu such %s)",
			       p->deny_file, n.first_bad, n.bad,
			       n.bad == 1 ? "line" : "lines");
	return true;
}

/*
 * Bind addr (TCP) and close it.  In use while the daemon runs (its
 * socket answers): taken to be the daemon's own.
 */
static bool
check_bind(const struct config *cfg, const char *key, const char *addr)
{
	struct addrinfo *ai = NULL;
	int fd, e = 0, one = 1;

	if (prov_parse_addr(addr, &ai) < 0) {
		ft_clean_print(stdout,
			       "listen:  FAILED: [provisioner] %s: '%s' is not "
			       "a numeric host:port or [v6]:port",
			       key, addr);
		return false;
	}
	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
		    ai->ai_protocol);
	if (fd < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, ai->ai_addr, ai->ai_addrlen) < 0)
		e = errno;
	if (fd >= 0)
		(void)close(fd);
	freeaddrinfo(ai);
	if (e == 0) {
		ft_clean_print(stdout, "listen:  ok: %s = %s can be bound", key,
			       addr);
		return true;
	}
	if (e == EADDRINUSE && cmd_daemon_listening(cfg->daemon.socket)) {
		ft_clean_print(stdout,
			       "listen:  ok: %s = %s is bound already, and the "
			       "daemon is running (its socket '%s' answers)",
			       key, addr, cfg->daemon.socket);
		return true;
	}
	ft_clean_print(stdout, "listen:  FAILED: %s = %s cannot be bound: %s%s",
		       key, addr, strerror(e),
		       e == EADDRINUSE ? " (by another program: the daemon "
					 "is not running)"
				       : "");
	return false;
}

bool
cmd_check_prov(const struct config *cfg)
{
	const struct config_provisioner *p = &cfg->provisioner;
	bool ok, files;
	size_t i;

	ok = cmd_check_pair("provisioner", p->tls_cert_file, p->tls_key_file,
			    "the relays refuse this provisioner");
	files = cmd_check_ca(p->client_ca_file);
	files = check_crl(p) && files;
	/* the CRL signed by the client CA: said only when nothing above did */
	ok = (files && check_trust(p)) && ok;
	check_allow(p);
	ok = check_deny(p) && ok;
	for (i = 0; i < p->listen.n; i++)
		ok = check_bind(cfg, "listen", p->listen.v[i]) && ok;
	if (p->metrics_listen != NULL)
		ok = check_bind(cfg, "metrics_listen", p->metrics_listen) && ok;
	return ok;
}
