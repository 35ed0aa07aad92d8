/* SPDX-License-Identifier: Apache-2.0 */
/* h_samba.c: test library: a Samba AD DC provisioned into a temp folder. */
#include "harness.h"

#include <ldap.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ft_err.h"

#define H_SAMBA_TOOL_MS  60000u
#define H_SAMBA_START_MS 60000u
#define H_SAMBA_SCHEMA   "/usr/share/samba/setup/ad-schema"

struct h_samba {
	char *dir;           /* h_tmpdir(): dc/ (the DC), logs */
	char conf[PATH_MAX]; /* dc/etc/smb.conf */
	char sam[PATH_MAX];  /* dc/private/sam.ldb */
	char log[PATH_MAX];  /* samba.log: the server's output */
	char tool[PATH_MAX]; /* samba-tool.log */
	struct h_proc *proc; /* NULL: not running */
};

/* An executable file named name in one of the folders of $PATH. */
static bool
in_path(const char *name)
{
	const char *path = getenv("PATH");
	char dir[PATH_MAX], file[PATH_MAX];
	const char *p = path != NULL && *path != '\0' ? path : "/usr/bin:/bin";

	while (*p != '\0') {
		size_t n = strcspn(p, ":");

		if (n < sizeof(dir)) {
			memcpy(dir, p, n);
			dir[n] = '\0';
			if (h_fmt(file, sizeof(file), "%s/%s", dir, name) ==
				    0 &&
			    access(file, X_OK) == 0)
				return true;
		}
		p += n + (p[n] == ':' ? 1 : 0);
	}
	return false;
}

bool
h_samba_available(char *why, size_t len)
{
	const char *missing = NULL;
	struct stat st;

	if (!in_path("samba-tool"))
		missing = "samba-tool is not in PATH";
	else if (!in_path("samba") && access("/usr/sbin/samba", X_OK) != 0)
		missing = "samba is not in PATH";
	else if (stat(H_SAMBA_SCHEMA, &st) != 0 || !S_ISDIR(st.st_mode))
		missing = H_SAMBA_SCHEMA " is missing";
	if (missing == NULL)
		return true;
	(void)snprintf(why, len,
		       "%s (Debian: apt-get install samba samba-ad-provision "
		       "samba-dsdb-modules samba-vfs-modules)",
		       missing);
	return false;
}

static int
samba_paths(struct h_samba *s)
{
	if (h_fmt(s->conf, sizeof(s->conf), "%s/dc/etc/smb.conf", s->dir) < 0 ||
	    h_fmt(s->sam, sizeof(s->sam), "%s/dc/private/sam.ldb", s->dir) <
		    0 ||
	    h_fmt(s->log, sizeof(s->log), "%s/samba.log", s->dir) < 0 ||
	    h_fmt(s->tool, sizeof(s->tool), "%s/samba-tool.log", s->dir) < 0)
		return FT_E_TOOBIG;
	return FT_OK;
}

/* Run argv to completion, output to s->tool; FT_OK when it exited 0. */
static int
samba_exec(const struct h_samba *s, const char *const argv[])
{
	int st = 0, r;

	r = h_run(argv, s->tool, H_SAMBA_TOOL_MS, &st);
	if (r == FT_OK && WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return FT_OK;
	h_err("'%s %s %s' failed (status %d)", argv[0], argv[1],
	      argv[2] != NULL ? argv[2] : "", st);
	h_show_tail(s->tool);
	return FT_E_IO;
}

static int
samba_provision(const struct h_samba *s)
{
	char target[PATH_MAX], logopt[PATH_MAX + 16], pidopt[PATH_MAX + 24];
	const char *argv[] = {"samba-tool",
			      "domain",
			      "provision",
			      "--realm=" H_SAMBA_REALM,
			      "--domain=CORP",
			      "--server-role=dc",
			      "--dns-backend=SAMBA_INTERNAL",
			      "--use-rfc2307",
			      "--host-name=dc1",
			      "--host-ip=127.0.0.1",
			      "--adminpass=" H_SAMBA_PW,
			      target,
			      "--option=interfaces = 127.0.0.1",
			      "--option=bind interfaces only = yes",
			      "--option=dns forwarder = 127.0.0.1",
			      logopt,
			      pidopt,
			      NULL};

	if (h_fmt(target, sizeof(target), "--targetdir=%s/dc", s->dir) < 0 ||
	    h_fmt(logopt, sizeof(logopt), "--option=log file = %s/dc/log.%%m",
		  s->dir) < 0 ||
	    h_fmt(pidopt, sizeof(pidopt), "--option=pid directory = %s/dc",
		  s->dir) < 0)
		return FT_E_TOOBIG;
	return samba_exec(s, argv);
}

struct h_samba *
h_samba_provision(void)
{
	struct h_samba *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->dir = h_tmpdir();
	if (s->dir == NULL || samba_paths(s) < 0 || samba_provision(s) < 0) {
		h_samba_stop(s);
		return NULL;
	}
	return s;
}

#define H_SAMBA_ARGS_MAX 24

int
h_samba_tool(const struct h_samba *s, const char *const args[])
{
	const char *argv[H_SAMBA_ARGS_MAX + 6] = {"samba-tool"};
	size_t n = 1, i;

	for (i = 0; args[i] != NULL; i++) {
		if (i >= H_SAMBA_ARGS_MAX)
			return FT_E_TOOBIG;
		argv[n++] = args[i];
	}
	argv[n++] = "-H";
	argv[n++] = s->sam;
	argv[n++] = "-s";
	argv[n++] = s->conf;
	argv[n] = NULL;
	return samba_exec(s, argv);
}

/* An anonymous bind works, or the process is gone, or time is up. */
static int
samba_ready(struct h_samba *s)
{
	long long deadline = h_now_ms() + H_SAMBA_START_MS;

	for (;;) {
		if (h_proc_wait(s->proc, 0, NULL) != FT_E_AGAIN)
			return FT_E_IO;
		if (h_ldap_bind(H_SAMBA_URI, NULL, NULL) == LDAP_SUCCESS)
			return FT_OK;
		if (h_now_ms() >= deadline)
			return FT_E_AGAIN;
		h_sleep_ms(100);
	}
}

int
h_samba_run(struct h_samba *s)
{
	const char *argv[] = {"samba",
			      "-i",
			      "-M",
			      "single",
			      "-s",
			      s->conf,
			      "--option=server services = ldap",
			      "--option=ldap server require strong auth = no",
			      NULL};
	int r;

	s->proc = h_proc_start(argv, s->log);
	if (s->proc == NULL)
		return FT_E_IO;
	r = samba_ready(s);
	if (r == FT_OK)
		return FT_OK;
	h_err("samba did not answer on %s within %u ms", H_SAMBA_URI,
	      H_SAMBA_START_MS);
	h_show_tail(s->log);
	h_proc_stop(s->proc);
	s->proc = NULL;
	return FT_E_IO;
}

const char *
h_samba_dir(const struct h_samba *s)
{
	return s->dir;
}

void
h_samba_stop(struct h_samba *s)
{
	if (s == NULL)
		return;
	h_proc_stop(s->proc);
	h_rmtree(s->dir);
	free(s->dir);
	free(s);
}

/* ---- a world for the DC ------------------------------------------------ */

int
h_samba_world_config(struct h_world *w, const char *extra)
{
	char secret[PATH_MAX], *all = NULL;
	int n, r;

	if (h_fmt(secret, sizeof(secret), "%s/ad.secret", w->dir) < 0)
		return FT_E_TOOBIG;
	r = h_write_file(secret, H_SAMBA_PW "\n", 0600);
	if (r < 0)
		return r;
	n = asprintf(&all,
		     "ldap.uri = " H_SAMBA_URI "\n"
		     "ldap.bind_dn = " H_SAMBA_ADMIN "\n"
		     "ldap.bind_password_file = %s\n"
		     "ldap.search_base = " H_SAMBA_BASE "\n"
		     "ldap.search_filter = (&(objectCategory=person)"
		     "(objectClass=user)(!(isCriticalSystemObject=TRUE)))\n"
		     "ldap.disabled_filter = "
		     "(userAccountControl:1.2.840.113556.1.4.803:=2)\n"
		     "ldap.login_attribute = sAMAccountName\n"
		     "ldap.uuid_attribute = objectGUID\n"
		     "ldap.page_size = 1000\n"
		     "mapping.username = sAMAccountName\n"
		     "%s",
		     secret, extra != NULL ? extra : "");
	if (n < 0)
		return FT_E_NOMEM;
	r = h_world_config(w, all);
	free(all);
	return r;
}

struct h_world *
h_samba_world(const char *extra)
{
	struct h_world *w = calloc(1, sizeof(*w));

	if (w == NULL)
		return NULL;
	w->dir = h_tmpdir();
	if (w->dir == NULL ||
	    h_fmt(w->state, sizeof(w->state), "%s/state", w->dir) < 0)
		goto fail;
	w->emu = h_emu_start(NULL);
	if (w->emu == NULL || h_samba_world_config(w, extra) < 0)
		goto fail;
	return w;
fail:
	h_world_stop(w);
	return NULL;
}
