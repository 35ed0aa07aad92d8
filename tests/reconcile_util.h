/* SPDX-License-Identifier: Apache-2.0 */
/*
 * reconcile_util.h: support for the full-reconcile suite
 * (tests/check_reconcile.c): a "world" of one slapd, one ftrack emulator
 * and one daemon config; ftrack-syncd commands run as processes with
 * their stdout and stderr kept apart; what the emulator holds (users,
 * markers, the write operations of its request log); the reconcile's
 * reports; LDAP changes with the Relax Rules control (to restore an entry
 * with its old entryUUID); a seed LDIF with generated people; and a TCP
 * relay that kills slapd halfway through an answer.
 *
 * Test code only, single-threaded.  Like harness.h, nothing here calls
 * ck_assert or aborts: failures come back as FT_E_* codes, -1 or NULL
 * (with a line on stderr where the reason is not obvious), so that the
 * caller asserts.  Returned char * are the caller's to free(); json_t *
 * are new references unless said to be borrowed.
 */
#ifndef FT_RECONCILE_UTIL_H
#define FT_RECONCILE_UTIL_H

#include <jansson.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "ft_attrs.h"
#include "harness.h"

/* ---- the world: slapd + emulator + config ----------------------------- */

/*
 * The config lines every ru_config() starts from: no periodic reconcile,
 * no login cooldown, and guards that stay out of the way (the tests of a
 * guard set it again).
 */
#define RU_BASE_CONFIG                                                         \
	"policy.reconcile_interval = 0\n"                                      \
	"policy.login_cooldown = 0\n"                                          \
	"policy.max_deactivate = 100%\n"                                       \
	"policy.max_shrink = 100%\n"

struct ru_world {
	char *dir;             /* h_tmpdir: config, secrets, state/, outputs */
	struct h_slapd *slapd; /* owned */
	struct h_emu *emu;     /* owned */
	char *conf;            /* DIR/ftrack-syncd.conf */
	char state[PATH_MAX];  /* DIR/state */
	unsigned nrun;         /* commands run so far (names output files) */
};

/*
 * Start slapd (ldif, sizelimit: as h_slapd_start) and the emulator, and
 * write the config (RU_BASE_CONFIG, then extra as for h_write_config).
 * Returns the world (ru_stop) or NULL.
 */
FT_MUST_USE struct ru_world *ru_start(const char *ldif, unsigned sizelimit,
				      const char *extra);

/* Rewrite the config: RU_BASE_CONFIG, then extra.  FT_OK or FT_E_*. */
FT_MUST_USE int ru_config(struct ru_world *w, const char *extra);

/* Stop both servers, remove the folder, free.  NULL is a no-op. */
void ru_stop(struct ru_world *w);

/* ---- ftrack-syncd commands -------------------------------------------- */

/* What a command did. */
struct ru_run {
	int code;   /* exit status, or -1 when a signal ended it */
	int signal; /* that signal, else 0 */
	char *out;  /* its stdout (never NULL after success) */
	char *err;  /* its stderr (never NULL after success) */
};

/* A command running in the background (ru_cmd_start). */
struct ru_bg;

/*
 * Start `ftrack-syncd -c CONF words...` where words is args split at
 * spaces (e.g. "reconcile --apply --json", "sync bob"), stdout and
 * stderr into their own files in the world's folder.  Returns the
 * command (finish with ru_cmd_finish) or NULL.
 */
FT_MUST_USE struct ru_bg *ru_cmd_start(struct ru_world *w, const char *args);

/* Its process id. */
pid_t ru_cmd_pid(const struct ru_bg *bg);

/*
 * Wait up to timeout_ms for the command (SIGKILL after that), fill *ret
 * (ru_run_clear) and free bg.  Returns FT_OK, FT_E_AGAIN (it had to be
 * killed; *ret still filled) or another FT_E_* code.
 */
FT_MUST_USE int ru_cmd_finish(struct ru_bg *bg, unsigned timeout_ms,
			      struct ru_run *ret);

/* ru_cmd_start then ru_cmd_finish within 60 s. */
FT_MUST_USE int ru_cmd(struct ru_world *w, const char *args,
		       struct ru_run *ret);

/* Free the outputs of r. */
void ru_run_clear(struct ru_run *r);

/*
 * True when text (NULL: false) holds a report of AddressSanitizer,
 * LeakSanitizer or UndefinedBehaviorSanitizer.
 */
bool ru_sanitizer_report(const char *text);

/* ---- the reports -------------------------------------------------------- */

/* state/reports/<name> parsed, or NULL (missing or not JSON). */
FT_MUST_USE json_t *ru_report(const struct ru_world *w, const char *name);

/* True when state/reports/<name> exists. */
bool ru_report_exists(const struct ru_world *w, const char *name);

/* counts.<kind> of a report, or -1. */
long ru_report_count(const json_t *rep, const char *kind);

/* The action of rep about user (borrowed), or NULL. */
json_t *ru_report_action(const json_t *rep, const char *user);

/* The guard named name of rep (borrowed), or NULL. */
json_t *ru_report_guard(const json_t *rep, const char *name);

/* ---- the emulator ------------------------------------------------------- */

/* POST body to path (a control); FT_OK when it answered 2xx JSON. */
FT_MUST_USE int ru_emu_post(const struct h_emu *e, const char *path,
			    const char *body);

/* The User row named username from /_emulator/users, or NULL. */
FT_MUST_USE json_t *ru_emu_user(const struct h_emu *e, const char *username);

/* The id of the User named username (caller frees), or NULL. */
FT_MUST_USE char *ru_emu_user_id(const struct h_emu *e, const char *username);

/* User rows named username, or -1. */
long ru_emu_named(const struct h_emu *e, const char *username);

/* Every User row (the API user included), or -1. */
long ru_emu_users(const struct h_emu *e);

/*
 * Metadata rows key on User user_id; *ret_value (if not NULL) gets the
 * value of one of them (caller frees; NULL when none).  Returns the count
 * or -1.
 */
long ru_emu_markers(const struct h_emu *e, const char *user_id, const char *key,
		    char **ret_value);

/*
 * The whole store as {"users": [...], "metadata": [...]}, to compare
 * before and after a run that must write nothing.
 */
FT_MUST_USE json_t *ru_emu_snapshot(const struct h_emu *e);

/* The highest seq of the request log (0 when empty), or -1. */
long long ru_emu_last_seq(const struct h_emu *e);

/*
 * The operations that are not queries in the requests logged after seq,
 * as an array of {"action", "entity_type", "entity_key"}, or NULL.
 */
FT_MUST_USE json_t *ru_emu_writes(const struct h_emu *e, long long seq);

/* An integer member of /_emulator/stats, or -1. */
long long ru_emu_stat(const struct h_emu *e, const char *name);

/* /_emulator/stats <group>.<name> (0 when absent), or -1. */
long long ru_emu_stat2(const struct h_emu *e, const char *group,
		       const char *name);

/* ---- LDAP --------------------------------------------------------------- */

/* The entryUUID of the person uid (caller frees), or NULL. */
FT_MUST_USE char *ru_entry_uuid(const struct ru_world *w, const char *uid);

/*
 * Apply LDIF change records as the rootdn with ldapmodify, with the
 * critical Relax Rules control when relax (so that an add may carry the
 * entry's old entryUUID).  Returns FT_OK, FT_E_LDAP (refused; the output
 * is printed) or another FT_E_* code.
 */
FT_MUST_USE int ru_ldap_change(struct ru_world *w, const char *ldif,
			       bool relax);

/*
 * Write to path the seed people.ldif followed by n generated people
 * uid=<prefix>NNNN (four digits from 0), with cn, sn, givenName, mail.
 * Returns FT_OK or an FT_E_* code.
 */
FT_MUST_USE int ru_write_ldif(const char *path, const char *prefix, unsigned n);

/* ---- a relay that kills slapd mid-answer -------------------------------- */

struct ru_cutter;

/*
 * A TCP relay on a free port of 127.0.0.1 towards 127.0.0.1:port, in a
 * child process.  Once it has relayed cut_after bytes from the server to
 * a client, it sends SIGKILL to kill_pid (when > 0), closes everything
 * and stops listening, so the client sees the server die in the middle
 * of an answer, and cannot reconnect.  Returns the relay (ru_cutter_stop)
 * or NULL.
 */
FT_MUST_USE struct ru_cutter *ru_cutter_start(int port, size_t cut_after,
					      pid_t kill_pid);

/* The relay's port. */
int ru_cutter_port(const struct ru_cutter *c);

/* Stop the relay, free.  NULL is a no-op. */
void ru_cutter_stop(struct ru_cutter *c);

#endif
