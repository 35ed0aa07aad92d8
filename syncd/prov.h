/* SPDX-License-Identifier: Apache-2.0 */
/*
 * prov.h: the provisioner's HTTPS intake (mode = provisioner): relays
 * POST their hosts' logins, each journaled in queue/ with the host its
 * client certificate names; the daemon's worker provisions them as any
 * queued login (the inotify watch of queue/ sees each new file).
 *
 * libmicrohttpd with GnuTLS, one internal thread using epoll per
 * [provisioner] listen address, with max_connections,
 * per_ip_connections, a connection timeout, a memory limit per
 * connection and PROV_WIRE_BODY_MAX as the body limit.  Answers:
 *   POST /v1/logins  202 {"results": [...]} once every accepted event is
 *                    journaled (fsync); 400 not that JSON; 403 a client
 *                    certificate refused (prov_tls.h) or none; 413 over
 *                    64 KiB or 100 events; 429 over host_rate (with
 *                    Retry-After); 503 the journal failed (Retry-After);
 *   GET /v1/health   200, with or without a certificate;
 *   anything else    404 (another path) or 405 (another method).
 * metrics_listen (plain HTTP): GET /metrics, state_dir/metrics.prom
 * followed by the provisioner's own metrics (see prov.c).
 *
 * Threading: prov_start, prov_reload and prov_free are called from the
 * daemon's main thread; requests run on libmicrohttpd's threads and see
 * the configuration and the trust under a lock.  This is a driver: it
 * logs each refusal and each accepted login with its host.
 */
#ifndef PROV_H
#define PROV_H

#include <netdb.h>
#include <stddef.h>

#include "config.h"
#include "ft_attrs.h"
#include "queue.h"

#define PROV_LISTEN_MAX     8      /* listen addresses */
#define PROV_TIMEOUT_S      30     /* idle connection timeout */
#define PROV_CONN_MEMORY    131072 /* bytes per connection (buffers) */
#define PROV_HOSTS_MAX      4096   /* hosts with a rate bucket */
#define PROV_RETRY_AFTER_IO 30     /* seconds, a 503 */
#define PROV_CLASSES_MAX    32  /* host classes (allow_hosts globs) counted */
#define PROV_CLASS_LEN      255 /* bytes of a glob counted as a class */

struct prov;

/*
 * Start serving for cfg (borrowed until prov_reload or prov_free) into
 * q (borrowed).  Returns FT_OK and *ret; FT_E_CONFIG (a file or address
 * that does not work) or FT_E_IO (cannot listen) with the reason in err;
 * FT_E_NOMEM.
 */
FT_MUST_USE int prov_start(const struct config *cfg, struct queue *q,
			   struct prov **ret, char *err, size_t errlen);

/*
 * SIGHUP: read client_ca_file, crl_file and deny_file again and use cfg
 * (allow_hosts, host_rate, login_format, ...) from now on.  The listen
 * addresses, the server's certificate and the connection limits keep
 * their values until the next start.  On an error the old trust stays
 * (the new cfg is taken all the same) and FT_E_CONFIG comes back with
 * the reason in err.  Once it returns no request uses the old cfg.
 */
FT_MUST_USE int prov_reload(struct prov *p, const struct config *cfg, char *err,
			    size_t errlen);

/*
 * The numeric host:port or [v6]:port s (a listen address) as a passive
 * TCP address in *ret (freeaddrinfo).  FT_OK, or FT_E_CONFIG.
 */
FT_MUST_USE int prov_parse_addr(const char *s, struct addrinfo **ret);

/* Stop serving (waiting for the requests in hand) and free p; NULL: no-op. */
void prov_free(struct prov *p);

#endif
