/* SPDX-License-Identifier: Apache-2.0 */
/*
 * config.h: /etc/ftrack-syncd.conf, parsed in one place with libinih.
 *
 * config_load() fills a struct config with the defaults of DESIGN.md
 * section 5, then the file, then the FTRACK_SERVER, FTRACK_API_USER and
 * FTRACK_API_KEY environment variables, then reads the secret files
 * (owner must be root or the daemon's user, no group/other access).
 * Errors are reported as "file:line: message" (or "file: message").
 *
 * Ownership: the struct and every string and list in it belong to the
 * struct; config_free() releases them and wipes the secrets.  Not
 * thread-safe; a loaded config is read-only and may be shared.
 * Non-logging unit: errors come back in the caller's buffer.
 */
#ifndef CONFIG_H
#define CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "ft_attrs.h"

#define FT_DEFAULT_CONFIG "/etc/ftrack-syncd.conf"

enum tls_require { TLS_NEVER, TLS_ALLOW, TLS_TRY, TLS_DEMAND };

enum on_login { ON_LOGIN_CREATE, ON_LOGIN_UPDATE_ONLY, ON_LOGIN_IGNORE };

enum missing_policy { MISSING_DEACTIVATE, MISSING_DELETE, MISSING_IGNORE };

enum scope_policy { SCOPE_MANAGED, SCOPE_ALL };

enum reactivate_policy {
	REACTIVATE_NEVER,
	REACTIVATE_SYNC_DEACTIVATED,
	REACTIVATE_ALWAYS
};

enum log_target { LOG_TARGET_SYSLOG, LOG_TARGET_STDERR };

/* [daemon] mode: what this daemon does with a login. */
enum daemon_mode { MODE_STANDALONE, MODE_RELAY, MODE_PROVISIONER };

/* How an existing ftrack user is found for an LDAP person not linked yet. */
enum link_by { LINK_BY_USERNAME, LINK_BY_EMAIL };

/* A count, or a percentage when percent is set (max_shrink, ...). */
struct limit {
	unsigned long value;
	bool percent;
};

/* A comma- or space-separated list of names. */
struct strlist {
	char **v;
	size_t n;
};

struct config_ldap {
	char *uri;                /* space-separated, tried in order */
	char *bind_dn;            /* NULL: anonymous */
	char *bind_password_file; /* NULL: anonymous */
	char *bind_password;      /* the secret, read from the file */
	char *search_base;
	char *search_filter;   /* default (objectClass=inetOrgPerson) */
	char *disabled_filter; /* NULL: none */
	char *login_attribute; /* default uid */
	char *uuid_attribute;  /* default entryUUID */
	unsigned login_format; /* LOGIN_* flags (login.h); 0: names as is */
	bool start_tls;
	char *tls_ca_file;
	enum tls_require tls_require_cert; /* default demand */
	unsigned timeout;                  /* seconds, default 10 */
	unsigned page_size;                /* default 500; 0: no paging */
	bool insecure_ldap; /* a password over plain ldap:// (tests only) */
	struct strlist ignore_referrals; /* referrals skipped (ldap_src.h) */
	char *expires_attribute; /* accountExpires | shadowExpire; NULL: none */
};

struct config_ftrack {
	char *server; /* https://..., or http:// to loopback (insecure_http) */
	char *api_user;
	char *api_key_file;
	char *api_key;       /* the secret, from the file or FTRACK_API_KEY */
	unsigned timeout;    /* seconds, default 30 */
	unsigned batch_size; /* default 100 */
	char *tls_ca_file;
	bool insecure_http;   /* http:// to loopback (tests, the demo) */
	enum link_by link_by; /* default username */
};

/* ftrack field = LDAP attribute or template ({attr}, {attr|lower}). */
struct config_mapping {
	char *username;   /* default uid */
	char *email;      /* default mail */
	char *first_name; /* default givenName */
	char *last_name;  /* default sn */
	char *full_name;  /* default NULL (e.g. cn) */
	char *transform;  /* the transform program (transform.h); NULL: none */
	struct strlist transform_attributes; /* extra attributes it is given */
	unsigned transform_timeout;          /* seconds for each answer */
};

struct config_policy {
	enum on_login on_login;
	unsigned long reconcile_interval; /* seconds; 0: never */
	bool reconcile_create;
	enum missing_policy missing;
	enum scope_policy scope;
	enum reactivate_policy reactivate;
	struct strlist protected_users;
	struct strlist skip_users;
	unsigned long login_cooldown; /* seconds */
	unsigned long min_ldap_users;
	struct limit max_shrink;     /* default 20% */
	struct limit max_deactivate; /* default 5% */
	struct strlist sentinel_users;
};

struct config_daemon {
	char *socket;
	char *state_dir;
	int log_level; /* LOG_ERR, LOG_WARNING, LOG_INFO or LOG_DEBUG */
	enum log_target log_target;
	unsigned nonroot_rate; /* login events a minute, non-root senders */
	enum daemon_mode mode; /* default standalone */
};

/* A relay forwards its logins to provisioners (mode = relay only). */
struct config_relay {
	struct strlist upstream; /* https:// URLs, tried in order */
	char *tls_cert_file;     /* this host's client certificate (PEM) */
	char *tls_key_file; /* its key; a bare name: $CREDENTIALS_DIRECTORY */
	char *tls_ca_file;  /* the provisioners' CA; NULL: the system's */
	unsigned timeout;   /* seconds a request, default 10 */
	unsigned long retry_primary; /* seconds, default 300 */
};

/* [provisioner]: the HTTPS intake of relayed logins (mode provisioner). */
struct config_provisioner {
	struct strlist listen; /* host:port, [v6]:port; default 0.0.0.0:8443 */
	char *tls_cert_file;   /* PEM, the server's certificate (chain) */
	char *tls_key_file;    /* PEM, its key: mode 0600, root or us */
	char *client_ca_file;  /* PEM, the CA that signs host certificates */
	char *crl_file;        /* PEM or DER CRL; NULL: none */
	struct strlist allow_hosts; /* fnmatch globs on the host name */
	char *deny_file;          /* host names or SHA-256 prints; NULL: none */
	unsigned host_rate;       /* events a second per host, default 10 */
	unsigned max_connections; /* default 1024 */
	unsigned per_ip_connections; /* default 64 */
	char *metrics_listen;        /* host:port of GET /metrics; NULL: off */
	/* seats (creates and reactivations) that events reported by relay
	 * hosts (host=) may cause per clock hour, one host and all */
	unsigned long new_seats_per_host; /* default 20 */
	unsigned long new_seats_total;    /* default 500 */
};

/* [hooks]: the program told every change that was applied. */
struct config_hooks {
	char *on_change;       /* the program; NULL: no hooks */
	unsigned hook_timeout; /* seconds for one delivery, default 30 */
};

/* [groups] member_attribute: what a group's member values are. */
enum member_attr {
	MEMBER_ATTR_MEMBER,        /* member: DNs of people or groups */
	MEMBER_ATTR_UNIQUE_MEMBER, /* uniqueMember: DNs (optional #uid) */
	MEMBER_ATTR_MEMBER_UID     /* memberUid: login names (posixGroup) */
};

/*
 * One line of [group_map] or [role_map]: the ftrack group (a name, a
 * parent/child path or an id) or security role (a name) = an LDAP group
 * (a name under [groups] search_base, or a DN).  A key may repeat: the
 * union of its lines.
 */
struct groupmap_entry {
	char *ftrack; /* the key */
	char *ldap;   /* the value */
	int line;     /* where it was set */
};

struct groupmap {
	struct groupmap_entry *v;
	size_t n;
};

/* [groups]: LDAP groups become ftrack groups and security roles. */
struct config_groups {
	char *search_base;    /* NULL: no groups are read */
	char *search_filter;  /* default (objectClass=groupOfNames) */
	char *name_attribute; /* default cn */
	enum member_attr member_attribute; /* default member */
	bool nested;                       /* default no */
	bool remove;                       /* default yes */
	struct limit max_removals;         /* default 5% */
	struct groupmap group_map;         /* [group_map] */
	struct groupmap role_map;          /* [role_map] */
};

struct config {
	char *path; /* the file it came from */
	struct config_ldap ldap;
	struct config_ftrack ftrack;
	struct config_mapping mapping;
	struct config_policy policy;
	struct config_daemon daemon;
	struct config_relay relay;
	struct config_provisioner provisioner;
	struct config_hooks hooks;
	struct config_groups groups;
};

/*
 * Load path (NULL: FTRACK_SYNCD_CONFIG, else FT_DEFAULT_CONFIG).
 * On success *ret is a new config (free with config_free).  On failure
 * returns FT_E_CONFIG (or FT_E_PERM for an unsafe secret file, FT_E_NOMEM)
 * and writes "file:line: message" into err (capacity errlen).
 */
FT_MUST_USE int config_load(const char *path, struct config **ret, char *err,
			    size_t errlen);

/* Free cfg and wipe its secrets; NULL is a no-op. */
void config_free(struct config *cfg);

/* True when name is in list (exact, case-sensitive). */
bool strlist_has(const struct strlist *list, const char *name);

/*
 * Write the effective configuration, secrets masked, one "section.key =
 * value" per line, through emit (for `check` and debug logging).
 */
void config_dump(const struct config *cfg,
		 void (*emit)(void *ctx, const char *line), void *ctx);

/*
 * The transport rule for the LDAP bind (DESIGN.md 13): FT_OK when there
 * is no bind_dn (anonymous: no password), insecure_ldap is set, or every
 * URI of uri (split at blanks and commas, as libldap does) is ldaps://,
 * ldapi://, ldap:// with start_tls, or ldap:// to a loopback address on a
 * port below 1024 (389 when none is given).  Otherwise FT_E_CONFIG with
 * why (the first URI refused, and what to do) in why (capacity whylen).
 * config_load() refuses such a file; ldap_src checks again before a bind.
 */
FT_MUST_USE int config_ldap_bind_check(const struct config_ldap *c, char *why,
				       size_t whylen);

/*
 * The transport warnings for cfg, one line each without a prefix, through
 * emit: an http:// server that insecure_http lets through, each ldap://
 * URI that insecure_ldap lets the bind password go to in clear text, and
 * a tls_require_cert other than demand.  None: emit is not called.
 */
void config_warnings(const struct config *cfg,
		     void (*emit)(void *ctx, const char *line), void *ctx);

#endif
