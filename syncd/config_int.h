/* SPDX-License-Identifier: Apache-2.0 */
/*
 * config_int.h: what the four files of the config unit share, and no
 * caller sees: the key table, one load's state, the value rules.
 * config.c (the table, the file, the environment, loading), config_value.c
 * (value checks and setters), config_secret.c (the secret files),
 * config_dump.c (the effective config), config_transport.c (DESIGN.md
 * 13: where the secrets may go).  Non-logging; not thread-safe.
 */
#ifndef CONFIG_INT_H
#define CONFIG_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "config.h"
#include "ft_attrs.h"

#define CONFIG_MAX_BYTES   1048576L /* the config file */
#define CONFIG_MAX_LINES   10000
#define SECRET_MAX         4096 /* bytes in a secret file */
#define ENV_MAX            1024 /* bytes in FTRACK_SERVER, FTRACK_API_USER */
#define COUNT_MAX          100000000UL /* counts: users, limits */
#define SECONDS_MAX        31536000UL  /* one year */
#define SUN_PATH_MAX       107         /* sockaddr_un.sun_path - 1 */
#define PATH_MAX_LEN       4095
#define RELAY_UPSTREAM_MAX 8   /* [relay] upstream URLs (RELAY_UP_MAX) */
#define NAME_MAX_LEN       255 /* a credential's file name */
#define MSG_MAX            512
#define NONROOT_RATE_MAX   600000UL /* [daemon] nonroot_rate: 10,000 a second */
#define PROV_CONN_MAX      16384    /* the unit's LimitNOFILE= is above it */

/* Enum fields are stored through an int. */
_Static_assert(sizeof(enum tls_require) == sizeof(int), "enum size");
_Static_assert(sizeof(enum on_login) == sizeof(int), "enum size");
_Static_assert(sizeof(enum missing_policy) == sizeof(int), "enum size");
_Static_assert(sizeof(enum scope_policy) == sizeof(int), "enum size");
_Static_assert(sizeof(enum reactivate_policy) == sizeof(int), "enum size");
_Static_assert(sizeof(enum log_target) == sizeof(int), "enum size");
_Static_assert(sizeof(enum daemon_mode) == sizeof(int), "enum size");
_Static_assert(sizeof(enum member_attr) == sizeof(int), "enum size");

enum kind {
	K_STR,    /* any text */
	K_PATH,   /* an absolute path, at most max bytes (0: PATH_MAX_LEN) */
	K_URI,    /* space-separated ldap://, ldaps://, ldapi:// URIs */
	K_URL,    /* the ftrack server */
	K_FILTER, /* a parenthesised LDAP filter */
	K_ATTR,   /* an attribute name or OID */
	K_MAP,    /* an attribute name or a template */
	K_BOOL,   /* bool */
	K_UINT,   /* unsigned, min..max */
	K_ULONG,  /* unsigned long, min..max */
	K_ENUM,   /* an int-sized enum, one of words */
	K_LIST,   /* struct strlist */
	K_LIMIT,  /* struct limit: count 0..max or percentage 0..100 */
	K_FLAGS,  /* unsigned: a set of words (comma-separated), OR-ed */
};

#define F_EMPTY   0x1u /* an empty value unsets the key (NULL) */
#define F_REQ     0x2u /* the key must end up set */
#define F_SECRET  0x4u /* *_file key: secret is the offset of the secret */
#define F_KEYFILE 0x8u /* a private key file: checked as a secret, read later */
/* with F_KEYFILE: a bare file name is a credential of the systemd unit,
 * $CREDENTIALS_DIRECTORY/name (LoadCredential=) */
#define F_CRED 0x10u
#define F_URLS 0x20u /* K_LIST: every item a URL (check_url) */
/* K_LIST: every item an attribute name, at most CONF_ATTRS_MAX items */
#define F_ATTRS        0x40u
#define CONF_ATTRS_MAX 16

struct word {
	const char *name;
	int value;
};

struct key {
	const char *section;
	const char *name;
	enum kind kind;
	unsigned flags;
	size_t off;
	unsigned long min, max;
	const struct word *words;
	const char *def; /* default, in config syntax; NULL: unset */
	const char *env; /* environment variable overriding it */
	size_t secret;   /* F_SECRET: offset of the secret it names */
};

#define CONF_NKEYS 80 /* entries of conf_keys (checked in config.c) */

/* Every key of DESIGN.md section 5, in the order of the dump. */
extern const struct key conf_keys[CONF_NKEYS];

/* One config_load(): where errors go and on which line each key was set. */
struct load {
	struct config *cfg;
	const char *path;
	char *err;
	size_t errlen;
	FILE *f;
	char *buf; /* getline buffer */
	size_t cap;
	int lineno;
	bool failed;
	int err_line; /* line of the recorded error; 0: none or no line */
	int r;        /* FT_E_* of the recorded error */
	int seen[CONF_NKEYS];
	int ldap_line, ftrack_line, relay_line; /* their [section] lines */
};

/* The field of cfg that key k sets. */
void *conf_field(struct config *cfg, const struct key *k);
const void *conf_cfield(const struct config *cfg, const struct key *k);

/* Record an error as "path:line: msg" (line 0: "path: msg"); returns r. */
int conf_fail(struct load *l, int line, int r, const char *fmt, ...)
	FT_PRINTF(4, 5);

/* NULL when v is clean text (UTF-8, no control character), else why. */
const char *conf_check_text(const char *v);

/* Whether key k holds a char * string owned by the config. */
bool conf_is_string(const struct key *k);

/* Check v and set key k of cfg; FT_E_CONFIG with why in msg. */
int conf_set_value(struct config *cfg, const struct key *k, const char *v,
		   char *msg, size_t msglen);

/* Free a list's strings and empty it. */
void conf_strlist_clear(struct strlist *l);

/* Read every *_file secret named by the config (modes checked). */
int conf_read_secrets(struct load *l);

/* The index in conf_keys of [section] name; CONF_NKEYS when unknown. */
size_t conf_key_find(const char *section, const char *name);

/*
 * True when hostport (len bytes: host[:port] or [v6][:port]) names a
 * loopback address (127.0.0.0/8, [::1], localhost); the port (0: none) in
 * *ret_port when not NULL.
 */
bool conf_host_is_loopback(const char *hostport, size_t len,
			   unsigned long *ret_port);

/*
 * DESIGN.md 13 for the loaded file: an http:// server without
 * insecure_http, a password bind config_ldap_bind_check() refuses.
 * Records the error at the server or uri line; returns FT_E_CONFIG.
 */
int conf_check_transport(struct load *l);

/* ---- [group_map] and [role_map] (config_groups.c) ------------------- */

#define GROUPMAP_MAX      1000 /* lines in each of [group_map], [role_map] */
#define GROUPMAP_NAME_MAX 255  /* bytes of an ftrack group path or role */

/* Whether section is one whose keys are ftrack names (repeatable). */
bool conf_groupmap_section(const char *section);

/*
 * Add one "ftrack name = LDAP group" line of section (group_map or
 * role_map) to l->cfg; on a bad line records the error (file:line) and
 * returns it.
 */
int conf_groupmap_add(struct load *l, const char *section, const char *name,
		      const char *value);

/* The [groups] rules across keys, after the file: FT_OK or the error. */
int conf_check_groups(struct load *l);

/* Free both maps of cfg (config_free). */
void conf_groupmap_free(struct config *cfg);

/* One "group_map.NAME = VALUE" line per map line, through emit. */
void conf_groupmap_dump(const struct config *cfg,
			void (*emit)(void *ctx, const char *line), void *ctx);

#endif
