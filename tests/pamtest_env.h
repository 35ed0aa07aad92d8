/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pamtest_env.h: a private PAM world for the pam suite.
 *
 * A temp folder (0700) holding a pam.d folder for pam_start_confdir, a
 * run/ folder for the daemon's socket and a queue/ spool folder, plus the
 * built pam_ftrack.so dlopen'ed with RTLD_NOW | RTLD_NODELETE (so that
 * RTLD_NOW is proven and sanitizer stacks name its functions).  Helpers
 * drive the real libpam or call one entry point of the module directly.
 * Test support code: single-threaded setup, then thread-safe calls.
 */
#ifndef PAMTEST_ENV_H
#define PAMTEST_ENV_H

#include <limits.h>
#include <security/pam_appl.h>
#include <stddef.h>

struct pamtest_env {
	char dir[64];          /* the temp folder */
	char run[96];          /* dir/run (0755): the socket's folder */
	char sock[128];        /* dir/run/notify.sock */
	char spool[96];        /* dir/queue (0700) */
	char confdir[96];      /* dir/pam.d */
	char module[PATH_MAX]; /* the pam_ftrack.so under test */
	void *dl;              /* its dlopen handle */
};

/* One login as an application would describe it (NULL: item unset). */
struct pamtest_login {
	const char *user;
	const char *rhost;
	const char *tty;
	const char *service; /* set PAM_SERVICE after pam_start (NULL: no) */
};

/* Build the world for the module at path (NULL: the build's module). */
int pamtest_env_init(struct pamtest_env *e, const char *module);

/* Remove the temp folder; keep the module loaded (RTLD_NODELETE). */
void pamtest_env_fini(struct pamtest_env *e);

/*
 * The module arguments pointing at this world, followed by extra
 * (may be NULL), into buf.  Returns buf.
 */
const char *pamtest_args(const struct pamtest_env *e, const char *extra,
			 char *buf, size_t cap);

/*
 * Write the service file `service`: auth/account pam_permit, then
 * `session optional <module> args`, then `session required pam_permit`.
 * Returns 0 or -1.
 */
int pamtest_service(const struct pamtest_env *e, const char *service,
		    const char *args);

/*
 * pam_start_confdir(service) and set the items of l.  Returns a PAM code;
 * on PAM_SUCCESS *ret_pamh is the handle (pam_end is the caller's).
 */
int pamtest_start(const struct pamtest_env *e, const char *service,
		  const struct pamtest_login *l, pam_handle_t **ret_pamh);

/*
 * pam_start_confdir(service), set PAM_RHOST/PAM_TTY, pam_open_session,
 * pam_close_session, pam_end.  Returns the pam_open_session code;
 * *ret_close gets the pam_close_session code (may be NULL).
 */
int pamtest_session(const struct pamtest_env *e, const char *service,
		    const struct pamtest_login *l, int *ret_close);

/* Split buf in place on spaces into at most max argv.  Returns argc. */
int pamtest_split(char *buf, const char **argv, int max);

/* A pam_sm_* entry point of the module. */
typedef int (*pamtest_sm_fn)(pam_handle_t *, int, int, const char **);

/* The module's entry point `entry`, or NULL when it does not export it. */
pamtest_sm_fn pamtest_entry(const struct pamtest_env *e, const char *entry);

/*
 * Call the module's entry point `entry` (e.g. "pam_sm_open_session")
 * directly, with a real handle of service "ftest" and args split on
 * spaces.  Returns its PAM code, or -1 when the call could not be set up.
 */
int pamtest_call(const struct pamtest_env *e, const char *entry,
		 const struct pamtest_login *l, const char *args);

/* The spool file path of user into buf.  Returns buf. */
const char *pamtest_spool_path(const struct pamtest_env *e, const char *user,
			       char *buf, size_t cap);

/* Read a whole small file.  Returns its length, or -1. */
long pamtest_read_file(const char *path, char *buf, size_t cap);

/* Create path (O_EXCL, 0644) holding text.  Returns 0 or -1. */
int pamtest_write_file(const char *path, const char *text);

/* Number of open fds of this process (/proc/self/fd), or -1. */
int pamtest_count_fds(void);

#endif
