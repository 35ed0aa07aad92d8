/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmd.h: the commands of ftrack-syncd and their exit codes (DESIGN.md 4).
 *
 * Each command takes its own arguments (argv[0] is the command name) and
 * the config path (NULL: FTRACK_SYNCD_CONFIG, else the default), prints
 * for a person on stdout, logs on stderr or syslog, and returns an exit
 * code.  Drivers: these log; the units they call do not.
 */
#ifndef CMD_H
#define CMD_H

#include <stdbool.h>

struct config;

enum exit_code {
	EXIT_OK = 0,      /* success; dry run: nothing to change */
	EXIT_ERRORS = 1,  /* errors during the run */
	EXIT_USAGE = 2,   /* usage or configuration error */
	EXIT_HELD = 3,    /* a safety guard held the run back */
	EXIT_CHANGES = 4, /* dry run found changes to make */
};

/*
 * Run as root with a state_dir owned by another account (the daemon's,
 * as packaged): become that account, so that the files a command writes
 * (reports, last-good.json, the queue) stay the daemon's.  Done after the
 * config (and its secrets) are read, before anything is written.
 * Returns 0, or -1 after printing why.
 */
int cmd_become_daemon_user(const struct config *cfg);

/*
 * No core dump of this process: the secrets are in its memory once the
 * config is read, and libcurl and libldap keep copies in buffers we cannot
 * wipe.  Both knobs, as each covers what the other does not:
 * PR_SET_DUMPABLE 0 stops a dump whatever RLIMIT_CORE or a core_pattern
 * pipe says (unless fs.suid_dumpable is 2), and closes /proc/PID/mem,
 * environ and ptrace(2) to other processes of the same uid (only
 * CAP_SYS_PTRACE passes); the kernel resets it on a uid change and on
 * execve.  RLIMIT_CORE 0, soft and hard, is kept across execve (the
 * reconcile child) and tells a pipe such as systemd-coredump to store
 * nothing; when it is 0 already (LimitCORE=0 in the units, whose system
 * call filter refuses setrlimit) it is left alone.  Returns 0, or -1 with
 * the call that failed in *ret_what (errno set).
 */
int cmd_no_core_dumps(const char **ret_what);

/*
 * The prologue of every command: core dumps off (cmd_no_core_dumps, before
 * the config and its secrets are read, and again after the account
 * change; a failure is logged as a warning), load the config at path
 * (printing a file:line error), start the log (on stderr when log_stderr,
 * else where [daemon] log_target says), then cmd_become_daemon_user().  On EXIT_OK
 * *ret is the config, freed by the caller with config_free(); otherwise
 * EXIT_USAGE (bad config) or EXIT_ERRORS (could not change account).
 */
int cmd_open(const char *path, bool log_stderr, struct config **ret);

/*
 * cmd_open() for a command that takes no argument: with any, prints
 * "usage: ftrack-syncd [-c FILE] <argv[0]>" and returns EXIT_USAGE.
 */
int cmd_open_noargs(int argc, char **argv, const char *path, bool log_stderr,
		    struct config **ret);

/*
 * Log each transport warning of cfg (config_warnings: insecure_http,
 * insecure_ldap, a tls_require_cert other than demand) at LOG_WARNING as
 * "<config path>: <text>".  `run` does, at start and after each
 * reload.
 */
void cmd_log_warnings(const struct config *cfg);

int cmd_run(int argc, char **argv, const char *config_path);
int cmd_sync(int argc, char **argv, const char *config_path);
int cmd_reconcile(int argc, char **argv, const char *config_path);
int cmd_check(int argc, char **argv, const char *config_path);
int cmd_status(int argc, char **argv, const char *config_path);

/* `check` on a relay (cmd_check_relay.c): certificate, CA, upstreams. */
int cmd_check_relay(const struct config *cfg);

/* `check` of [mapping] transform (cmd_check_transform.c): the file rule,
 * who runs it, and what it makes of a few real entries read with src
 * (borrowed).  true when it works. */
struct ldap_src;
bool cmd_check_transform(const struct config *cfg, struct ldap_src *src);

/*
 * `check`'s "cert:" lines (cmd_check_relay.c): the certificate file cert
 * and its key file key are a pair and not expired (a warning within
 * TLS_CERT_WARN_DAYS of the expiry); who says what an expired one costs
 * ("the provisioners refuse this host"), section names the [section] of
 * the warning.  False when it failed.
 */
bool cmd_check_pair(const char *section, const char *cert, const char *key,
		    const char *who);

/* `check`'s "ca:" line: the PEM bundle ca (NULL: the system's store). */
bool cmd_check_ca(const char *ca);

/*
 * `check` on a provisioner, before the LDAP and ftrack checks a
 * standalone daemon gets (cmd_check_prov.c): the server's certificate
 * and key, client_ca_file, crl_file, allow_hosts, deny_file, and whether
 * listen and metrics_listen can be bound.  False when one failed.
 */
bool cmd_check_prov(const struct config *cfg);

/*
 * Whether a daemon is bound to the socket at path (a datagram connect
 * tells).
 */
bool cmd_daemon_listening(const char *path);

/*
 * A relay has no LDAP and no ftrack: print that `what` (sync, reconcile)
 * runs on a provisioner.  Returns EXIT_USAGE for a relay, else EXIT_OK.
 */
int cmd_refuse_relay(const struct config *cfg, const char *what);

#endif
