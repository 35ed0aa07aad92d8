/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pft_args.h: the arguments of pam_ftrack.so (its line in /etc/pam.d).
 *
 * pft_args_parse() sets the defaults, then applies argv in order.  An
 * unknown argument or a bad value is logged at LOG_ERR through pam_syslog
 * and ignored (the previous value stays).  The struct borrows the argv
 * strings: it is valid as long as argv is, i.e. for one pam_sm_* call.
 * No allocation, no state; thread-safe.
 */
#ifndef PFT_ARGS_H
#define PFT_ARGS_H

#include <security/pam_modules.h>
#include <stdbool.h>

struct pft_args {
	const char *socket;         /* the daemon's datagram socket */
	const char *spool;          /* queue folder for the root fallback */
	const char *skip_users;     /* comma-separated names never reported */
	const char *daemon_user;    /* may own socket and spool besides root */
	unsigned long long min_uid; /* skip users that resolve below it */
	bool debug;                 /* log LOG_DEBUG lines */
	bool quiet;                 /* log nothing but errors (wins) */
};

/* Fill *ret_args from argc/argv (see above); never fails. */
void pft_args_parse(const pam_handle_t *pamh, int argc, const char **argv,
		    struct pft_args *ret_args);

/* True when user is one of the comma-separated a->skip_users. */
bool pft_args_skip_user(const struct pft_args *a, const char *user);

#endif
