/* SPDX-License-Identifier: Apache-2.0 */
/* pft_args.c: parse the pam.d arguments of pam_ftrack (see pft_args.h). */
#include "pft_args.h"

#include <limits.h>
#include <security/pam_ext.h>
#include <stdint.h>
#include <string.h>
#include <sys/un.h>
#include <syslog.h>

#include "ft_clean.h"
#include "ft_err.h"
#include "ft_proto.h"
#include "ft_util.h"

#define PFT_DEFAULT_SKIP        "root"
#define PFT_DEFAULT_DAEMON_USER "ftrack-syncd"

/* Say that arg is refused (cleaned, as every line the module logs). */
static void
log_bad_arg(const pam_handle_t *pamh, const char *arg)
{
	char shown[FT_CLEAN_CAP(64)];

	pam_syslog(pamh, LOG_ERR,
		   "unable to use argument '%s': unknown or bad value, ignored",
		   ft_clean_str(shown, sizeof(shown), arg));
}

/* An absolute path shorter than max bytes. */
static bool
path_ok(const char *v, size_t max)
{
	return v[0] == '/' && strnlen(v, max) < max;
}

/* Apply one key=value argument; false when the key or value is bad. */
static bool
apply_value(struct pft_args *a, const char *arg)
{
	const char *v = strchr(arg, '=') + 1;
	size_t klen = (size_t)(v - arg);
	unsigned long long n;

	if (klen == sizeof("socket=") - 1 && !memcmp(arg, "socket=", klen)) {
		if (!path_ok(v, sizeof(((struct sockaddr_un *)0)->sun_path)))
			return false;
		a->socket = v;
	} else if (klen == sizeof("spool=") - 1 &&
		   !memcmp(arg, "spool=", klen)) {
		if (!path_ok(v, PATH_MAX))
			return false;
		a->spool = v;
	} else if (klen == sizeof("skip_users=") - 1 &&
		   !memcmp(arg, "skip_users=", klen)) {
		a->skip_users = v;
	} else if (klen == sizeof("daemon_user=") - 1 &&
		   !memcmp(arg, "daemon_user=", klen)) {
		if (v[0] == '\0')
			return false;
		a->daemon_user = v;
	} else if (klen == sizeof("min_uid=") - 1 &&
		   !memcmp(arg, "min_uid=", klen)) {
		if (ft_parse_uint(v, UINT32_MAX, &n) < 0)
			return false;
		a->min_uid = n;
	} else {
		return false;
	}
	return true;
}

void
pft_args_parse(const pam_handle_t *pamh, int argc, const char **argv,
	       struct pft_args *ret_args)
{
	struct pft_args a;
	int i;

	memset(&a, 0, sizeof(a));
	a.socket = FT_DEFAULT_SOCKET;
	a.spool = FT_DEFAULT_SPOOL;
	a.skip_users = PFT_DEFAULT_SKIP;
	a.daemon_user = PFT_DEFAULT_DAEMON_USER;
	for (i = 0; i < argc && argv != NULL; i++) {
		const char *arg = argv[i];

		if (arg == NULL)
			continue;
		if (strcmp(arg, "debug") == 0)
			a.debug = true;
		else if (strcmp(arg, "quiet") == 0)
			a.quiet = true;
		else if (strchr(arg, '=') == NULL || !apply_value(&a, arg))
			log_bad_arg(pamh, arg);
	}
	*ret_args = a;
}

bool
pft_args_skip_user(const struct pft_args *a, const char *user)
{
	size_t ulen = strlen(user);
	const char *p = a->skip_users;

	while (*p != '\0') {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);

		if (n == ulen && memcmp(p, user, n) == 0)
			return true;
		if (comma == NULL)
			break;
		p = comma + 1;
	}
	return false;
}
