/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmd_check.c: `ftrack-syncd check [--user LOGIN] [--dump]`: the config,
 * then the path a sync takes, without changing anything: a bind to LDAP,
 * the people under search_base (first page), one login looked up and
 * mapped, ftrack's answer and what the API user may read; on a
 * provisioner its HTTPS side first (cmd_check_prov.c), on a relay only
 * what a relay has (cmd_check_relay.c).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cmd.h"
#include "config.h"
#include "extprog.h"
#include "ft_clean.h"
#include "ft_err.h"
#include "ftrack_api.h"
#include "hooks_exec.h"
#include "ldap_src.h"
#include "login.h"
#include "sync_groups.h"
#include "transform.h"

/* What the run found and carries from one step to the next. */
struct check {
	const struct config *cfg;
	const char *login;   /* --user; NULL: none */
	struct ft_user user; /* its LDAP entry, mapped; username NULL: none */
	bool ok;
};

static void
print_count(const struct config *cfg, const struct ldap_src_count *n)
{
	ft_clean_print(stdout, "ldap:    %s%lu %s under '%s' match %s%s",
		       n->more ? "at least " : "", n->entries,
		       n->entries == 1 && !n->more ? "entry" : "entries",
		       cfg->ldap.search_base, cfg->ldap.search_filter,
		       n->more ? " (first page only; more pages follow)" : "");
	if (n->ignored > 0)
		ft_clean_print(stdout,
			       "ldap:    %lu continuation %s skipped "
			       "(ignore_referrals)",
			       n->ignored,
			       n->ignored == 1 ? "reference" : "references");
	if (n->references > 0)
		ft_clean_print(
			stdout,
			"warning: [ldap] %lu continuation %s (not "
			"followed, not in ignore_referrals): %s; a reconcile "
			"is held on them (ldap_complete)",
			n->references,
			n->references == 1 ? "reference" : "references",
			n->referrals);
	if (!n->more && n->entries > 0 &&
	    n->entries < cfg->policy.min_ldap_users)
		ft_clean_print(stdout,
			       "warning: [policy] min_ldap_users = %lu: a "
			       "reconcile of %lu %s would be held",
			       cfg->policy.min_ldap_users, n->entries,
			       n->entries == 1 ? "entry" : "entries");
}

/* Count the first page; no entry at all is a failure (ldap_nonempty). */
static bool
check_count(struct ldap_src *src, const struct config *cfg)
{
	struct ldap_src_count n;
	char err[LDAP_SRC_REASON_MAX] = "out of memory";

	if (ldap_src_count(src, &n, err, sizeof(err)) < 0) {
		ft_clean_print(stdout, "ldap:    FAILED: %s", err);
		return false;
	}
	print_count(cfg, &n);
	if (n.entries == 0 && !n.more) {
		ft_clean_print(
			stdout,
			"ldap:    FAILED: no entry under '%s' matches %s "
			"(a reconcile would be held: ldap_nonempty)",
			cfg->ldap.search_base, cfg->ldap.search_filter);
		return false;
	}
	return true;
}

static const char *
or_none(const char *s)
{
	return s != NULL ? s : "(none)";
}

/* The login's entry and what [mapping] makes of it. */
static bool
check_login(struct check *k, struct ldap_src *src)
{
	char err[LDAP_SRC_REASON_MAX] = "out of memory";
	const struct ft_user *u = &k->user;
	int r;

	r = ldap_src_lookup(src, k->login, &k->user, err, sizeof(err));
	if (r == FT_E_NOTFOUND) {
		ft_clean_print(stdout,
			       "user:    FAILED: '%s': not found (no entry "
			       "under '%s' matches %s with %s = '%s'): a login "
			       "of it does nothing",
			       k->login, k->cfg->ldap.search_base,
			       k->cfg->ldap.search_filter,
			       k->cfg->ldap.login_attribute, k->login);
		return false;
	}
	if (r < 0) {
		ft_clean_print(stdout, "user:    FAILED: '%s': %s (%s)",
			       k->login, err, ft_strerror(r));
		return false;
	}
	ft_clean_print(stdout, "user:    '%s': %s", k->login, or_none(u->dn));
	ft_clean_print(stdout,
		       "user:    maps to username '%s', email '%s', first "
		       "name '%s', last name '%s', uuid '%s'",
		       or_none(u->username), or_none(u->email),
		       or_none(u->first_name), or_none(u->last_name),
		       or_none(u->uuid));
	if (u->disabled)
		ft_clean_print(stdout,
			       "user:    '%s' is disabled (disabled_filter): a "
			       "login does nothing, a reconcile deactivates it",
			       k->login);
	if (strlist_has(&k->cfg->policy.skip_users, k->login) ||
	    strlist_has(&k->cfg->policy.skip_users, or_none(u->username)))
		ft_clean_print(
			stdout,
			"user:    '%s' is in skip_users: never provisioned "
			"or touched",
			k->login);
	return true;
}

static bool
check_ldap(struct check *k)
{
	const struct config *cfg = k->cfg;
	struct ldap_src *src = NULL;
	char err[LDAP_SRC_REASON_MAX] = "out of memory";
	bool ok = false;
	int r;

	r = ldap_src_new(cfg, &src);
	if (r == FT_OK)
		r = ldap_src_connect(src, err, sizeof(err));
	if (r < 0) {
		ft_clean_print(stdout, "ldap:    FAILED: %s", err);
		goto out;
	}
	ft_clean_print(stdout, "ldap:    ok: %s, bound %s%s", cfg->ldap.uri,
		       cfg->ldap.bind_dn ? "as " : "anonymously",
		       cfg->ldap.bind_dn ? cfg->ldap.bind_dn : "");
	ok = check_count(src, cfg);
	if (transform_configured(cfg))
		ok = cmd_check_transform(cfg, src) && ok;
	if (k->login != NULL)
		ok = check_login(k, src) && ok;
out:
	ldap_src_free(src);
	return ok;
}

/* What a login of the looked-up person would do in ftrack. */
static const char *
first_login(const struct config *cfg)
{
	switch (cfg->policy.on_login) {
	case ON_LOGIN_CREATE:
		return "its first login creates it (on_login = create)";
	case ON_LOGIN_UPDATE_ONLY:
		return "a login does not create it (on_login = update-only)";
	case ON_LOGIN_IGNORE:
		return "a login does nothing (on_login = ignore)";
	}
	return "?";
}

/* How ftrack user f stands to u, the entry looked up. */
static const char *
link_of(const struct ft_user *f, const struct ft_user *u)
{
	if (f->uuid == NULL)
		return "not managed (no ftrack_syncd.uuid marker)";
	if (u->uuid != NULL && strcmp(f->uuid, u->uuid) == 0)
		return "linked to this entry by its ftrack_syncd.uuid marker";
	return "linked to another entry by its ftrack_syncd.uuid marker";
}

static void
print_ftrack_user(const struct ft_user *f, const struct ft_user *u)
{
	ft_clean_print(stdout, "user:    in ftrack: '%s' (id %s), %s, %s%s",
		       or_none(f->username), or_none(f->id),
		       f->is_active ? "active" : "inactive", link_of(f, u),
		       f->deactivated != NULL ? ", deactivated by the sync"
					      : "");
}

/* The ftrack users the login's username and uuid marker lead to. */
static bool
check_ftrack_user(const struct check *k, struct ftrack_client *c)
{
	const struct ft_user *u = &k->user;
	struct ft_user_list found = {NULL, 0, 0};
	const char *names[1] = {u->username}, *uuids[1] = {u->uuid};
	char err[512] = "out of memory";
	size_t i;
	int r;

	r = ftrack_users_lookup(c, names, 1, uuids, u->uuid != NULL ? 1 : 0,
				&found, err, sizeof(err));
	if (r < 0) {
		ft_clean_print(stdout,
			       "user:    FAILED: ftrack look-up: %s (%s)", err,
			       ft_strerror(r));
		return false;
	}
	if (found.n == 0)
		ft_clean_print(stdout, "user:    not in ftrack: %s",
			       first_login(k->cfg));
	for (i = 0; i < found.n; i++)
		print_ftrack_user(&found.v[i], u);
	ft_user_list_clear(&found);
	return true;
}

/* One read probe's line; false when it failed. */
static bool
print_probe(const char *what, int r, const char *err)
{
	if (r == FT_OK) {
		ft_clean_print(stdout, "ftrack:  %s: ok", what);
		return true;
	}
	ft_clean_print(stdout, "ftrack:  %s: FAILED: %s (%s)", what, err,
		       ft_strerror(r));
	return false;
}

static bool
check_rights(struct ftrack_client *c)
{
	struct ftrack_probe p;
	bool ok;

	ftrack_probe(c, &p);
	ok = print_probe("read users", p.users, p.users_err);
	ok = print_probe("read the sync's markers (Metadata)", p.markers,
			 p.markers_err) &&
	     ok;
	ft_clean_print(stdout,
		       "ftrack:  create and update a user: not checked: "
		       "ftrack cannot be asked without writing one (the API "
		       "key's role must be allowed to add and remove users)");
	return ok;
}

static bool
check_ftrack(const struct check *k)
{
	const struct config *cfg = k->cfg;
	struct ftrack_client *c = NULL;
	struct ftrack_retry once = {.attempts = 1};
	char version[64], err[512] = "out of memory";
	bool ok = false;
	int r;

	r = ftrack_client_new(cfg, &c);
	if (r == FT_OK) {
		ftrack_client_set_retry(c, &once);
		r = ftrack_server_info(c, version, sizeof(version), err,
				       sizeof(err));
	}
	if (r < 0) {
		ft_clean_print(stdout, "ftrack:  FAILED: %s (%s)", err,
			       ft_strerror(r));
		goto out;
	}
	ft_clean_print(stdout, "ftrack:  ok: %s, version %s, as '%s'",
		       cfg->ftrack.server, version, cfg->ftrack.api_user);
	ok = check_rights(c);
	if (k->user.username != NULL)
		ok = check_ftrack_user(k, c) && ok;
	if (sync_groups_enabled(cfg))
		ok = sync_groups_check(cfg, c, stdout) == 0 && ok;
out:
	ftrack_client_free(c);
	return ok;
}

/* [hooks] on_change: the file rule, and who will run it; false: refused. */
static bool
check_hook(const struct config *cfg)
{
	const char *path = cfg->hooks.on_change;
	char why[EXTPROG_WHY_MAX];
	struct stat st;

	if (path == NULL || path[0] == '\0')
		return true;
	if (extprog_check(path, why, sizeof(why)) < 0) {
		ft_clean_print(stdout, "hook:    FAILED: on_change: %s", why);
		return false;
	}
	if (stat(HOOKS_SOCKET, &st) == 0 && S_ISSOCK(st.st_mode))
		ft_clean_print(stdout,
			       "hook:    ok: %s, run as %s through %s "
			       "(socket-activated)",
			       path, EXTPROG_ACCOUNT, HOOKS_SOCKET);
	else
		ft_clean_print(stdout,
			       "hook:    ok: %s; warning: no %s: the daemon "
			       "runs the hook itself, with its own rights",
			       path, HOOKS_SOCKET);
	return true;
}

static void
print_warning(void *ctx, const char *line)
{
	(void)ctx;
	ft_clean_print(stdout, "warning: %s", line);
}

static void
print_line(void *ctx, const char *line)
{
	(void)ctx;
	ft_clean_print(stdout, "%s", line);
}

/*
 * The login the daemon would make of --user's name (login_format), in a
 * copy *ret_copy that *name then points to; EXIT_OK, or EXIT_USAGE when
 * it leaves none.
 */
static int
login_of(const struct config *cfg, const char **name, char **ret_copy)
{
	char *copy = strdup(*name);

	if (copy == NULL || login_name(cfg->ldap.login_format, *name, copy,
				       strlen(*name) + 1) < 0) {
		ft_clean_print(stderr, "ftrack-syncd: '%s': %s", *name,
			       copy == NULL ? "out of memory"
					    : "[ldap] login_format leaves no "
					      "valid login name");
		free(copy);
		return EXIT_USAGE;
	}
	if (strcmp(copy, *name) != 0)
		ft_clean_print(stdout,
			       "user:    '%s' is the login '%s' (login_format)",
			       *name, copy);
	*name = copy;
	*ret_copy = copy;
	return EXIT_OK;
}

/* --user LOGIN and --dump; EXIT_OK, or EXIT_USAGE after saying why. */
static int
parse_args(int argc, char **argv, const char **ret_login, bool *ret_dump)
{
	static const struct option opts[] = {
		{"user", required_argument, NULL, 'u'},
		{"dump", no_argument, NULL, 'd'},
		{NULL, 0, NULL, 0},
	};
	int c;

	while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		if (c == 'u' && optarg[0] != '\0')
			*ret_login = optarg;
		else if (c == 'd')
			*ret_dump = true;
		else
			goto usage;
	}
	if (optind == argc)
		return EXIT_OK;
usage:
	fputs("usage: ftrack-syncd [-c FILE] check [--user LOGIN] [--dump]\n",
	      stderr);
	return EXIT_USAGE;
}

int
cmd_check(int argc, char **argv, const char *config_path)
{
	struct check k = {NULL, NULL, {0}, false};
	struct config *cfg = NULL;
	char *login = NULL;
	bool dump = false;
	int code;

	code = parse_args(argc, argv, &k.login, &dump);
	if (code == EXIT_OK)
		code = cmd_open(config_path, true, &cfg);
	if (code != EXIT_OK)
		return code;
	k.cfg = cfg;
	if (dump) {
		config_dump(cfg, print_line, NULL);
		goto out;
	}
	ft_clean_print(stdout, "config:  ok: %s", cfg->path);
	config_warnings(cfg, print_warning, NULL);
	if (cfg->daemon.mode == MODE_RELAY) {
		code = cmd_check_relay(cfg);
		goto out;
	}
	k.ok = cfg->daemon.mode != MODE_PROVISIONER || cmd_check_prov(cfg);
	if (k.login != NULL) {
		code = login_of(cfg, &k.login, &login);
		if (code != EXIT_OK)
			goto out;
	}
	k.ok = check_ldap(&k) && k.ok;
	k.ok = check_ftrack(&k) && k.ok;
	k.ok = check_hook(cfg) && k.ok;
	code = k.ok ? EXIT_OK : EXIT_ERRORS;
out:
	ft_user_clear(&k.user);
	free(login);
	config_free(cfg);
	return code;
}
