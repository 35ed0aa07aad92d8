/* SPDX-License-Identifier: Apache-2.0 */
/* h_ldap.c: test library: a small LDAP client, a throwaway slapd, LDIF. */
#include "harness.h"

#include <ldap.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ft_err.h"
#include "ft_util.h"

static const char slapd_sh[] = FT_TEST_SRCDIR "/tests/slapd.sh";

/* ---- small LDAP client ----------------------------------------------- */

/* libldap takes char * for strings it only reads. */
static char *
unconst(const char *s)
{
	char *m;

	memcpy(&m, &s, sizeof(m));
	return m;
}

static int
ldap_open(const char *uri, const char *dn, const char *pw, LDAP **ret_ld)
{
	struct berval cred = {0, NULL};
	struct timeval tv = {5, 0};
	int v3 = LDAP_VERSION3, rc;
	LDAP *ld = NULL;

	rc = ldap_initialize(&ld, uri);
	if (rc != LDAP_SUCCESS)
		return rc;
	(void)ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &v3);
	(void)ldap_set_option(ld, LDAP_OPT_NETWORK_TIMEOUT, &tv);
	(void)ldap_set_option(ld, LDAP_OPT_TIMEOUT, &tv);
	(void)ldap_set_option(ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF);
	if (pw != NULL) {
		cred.bv_val = unconst(pw);
		cred.bv_len = strlen(pw);
	}
	rc = ldap_sasl_bind_s(ld, dn, LDAP_SASL_SIMPLE, &cred, NULL, NULL,
			      NULL);
	if (rc != LDAP_SUCCESS) {
		(void)ldap_unbind_ext_s(ld, NULL, NULL);
		return rc;
	}
	*ret_ld = ld;
	return LDAP_SUCCESS;
}

int
h_ldap_bind(const char *uri, const char *dn, const char *pw)
{
	LDAP *ld = NULL;
	int rc;

	rc = ldap_open(uri, dn, pw, &ld);
	if (rc == LDAP_SUCCESS)
		(void)ldap_unbind_ext_s(ld, NULL, NULL);
	return rc;
}

/* Search base's subtree; *ret_res holds whatever came, even on error. */
static int
ldap_search_all(LDAP *ld, const char *base, const char *filter,
		const char *attr, LDAPMessage **ret_res)
{
	char *attrs[2] = {NULL, NULL};
	struct timeval tv = {10, 0};
	int rc, err = LDAP_OTHER;

	if (attr != NULL)
		attrs[0] = unconst(attr);
	else
		attrs[0] = unconst(LDAP_NO_ATTRS);
	rc = ldap_search_ext_s(ld, base, LDAP_SCOPE_SUBTREE, filter, attrs, 0,
			       NULL, NULL, &tv, 0, ret_res);
	if (rc != LDAP_SUCCESS && *ret_res != NULL &&
	    ldap_parse_result(ld, *ret_res, &err, NULL, NULL, NULL, NULL, 0) ==
		    LDAP_SUCCESS)
		rc = err;
	return rc;
}

int
h_ldap_count(const char *uri, const char *dn, const char *pw, const char *base,
	     const char *filter, int *ret_count)
{
	LDAPMessage *res = NULL;
	LDAP *ld = NULL;
	int rc;

	rc = ldap_open(uri, dn, pw, &ld);
	if (rc != LDAP_SUCCESS)
		return rc;
	rc = ldap_search_all(ld, base, filter, NULL, &res);
	if (ret_count != NULL)
		*ret_count = res != NULL ? ldap_count_entries(ld, res) : 0;
	ldap_msgfree(res);
	(void)ldap_unbind_ext_s(ld, NULL, NULL);
	return rc;
}

/* Append every value of attr in res to the NUL-terminated text in *buf. */
static int
ldap_collect(LDAP *ld, LDAPMessage *res, const char *attr, char **buf)
{
	LDAPMessage *e;
	size_t len = strlen(*buf), i;
	char *bigger;

	for (e = ldap_first_entry(ld, res); e != NULL;
	     e = ldap_next_entry(ld, e)) {
		struct berval **vals = ldap_get_values_len(ld, e, attr);

		for (i = 0; vals != NULL && vals[i] != NULL; i++) {
			bigger = realloc(*buf, len + vals[i]->bv_len + 2);
			if (bigger == NULL) {
				ldap_value_free_len(vals);
				return FT_E_NOMEM;
			}
			*buf = bigger;
			memcpy(*buf + len, vals[i]->bv_val, vals[i]->bv_len);
			len += vals[i]->bv_len;
			(*buf)[len++] = '\n';
			(*buf)[len] = '\0';
		}
		ldap_value_free_len(vals);
	}
	return FT_OK;
}

char *
h_ldap_values(const char *uri, const char *filter, const char *attr)
{
	LDAPMessage *res = NULL;
	LDAP *ld = NULL;
	char *buf = NULL;
	int rc;

	rc = ldap_open(uri, NULL, NULL, &ld);
	if (rc != LDAP_SUCCESS)
		goto out;
	rc = ldap_search_all(ld, H_LDAP_PEOPLE, filter, attr, &res);
	if (rc != LDAP_SUCCESS)
		goto out;
	buf = calloc(1, 1);
	if (buf == NULL || ldap_collect(ld, res, attr, &buf) < 0) {
		free(buf);
		buf = NULL;
	}
out:
	if (rc != LDAP_SUCCESS)
		h_err("unable to search '%s' at %s: %s", filter, uri,
		      ldap_err2string(rc));
	ldap_msgfree(res);
	if (ld != NULL)
		(void)ldap_unbind_ext_s(ld, NULL, NULL);
	return buf;
}

/* ---- slapd ----------------------------------------------------------- */

struct h_slapd {
	char *dir;
	struct h_proc *proc;
	unsigned sizelimit;
	unsigned nmodify;
	char uri[64];
	char port[16];
};

/* `slapd.sh start DIR PORT LDIF [SIZELIMIT]`, or `run DIR PORT` (no ldif). */
static struct h_proc *
slapd_spawn(const struct h_slapd *s, const char *ldif)
{
	const char *argv[8] = {"/bin/bash", slapd_sh, "run", s->dir,
			       s->port,     NULL,     NULL,  NULL};
	char limit[16], log[PATH_MAX];

	if (h_fmt(log, sizeof(log), "%s/slapd.log", s->dir) < 0 ||
	    h_fmt(limit, sizeof(limit), "%u", s->sizelimit) < 0)
		return NULL;
	if (ldif != NULL) {
		argv[2] = "start";
		argv[5] = ldif;
		argv[6] = s->sizelimit > 0 ? limit : NULL;
	}
	return h_proc_start(argv, log);
}

/* Wait until slapd answers an anonymous bind; FT_E_IO if it exited. */
static int
slapd_ready(struct h_slapd *s, unsigned timeout_ms)
{
	long long deadline = h_now_ms() + timeout_ms;

	for (;;) {
		if (h_proc_wait(s->proc, 0, NULL) != FT_E_AGAIN)
			return FT_E_IO;
		if (h_ldap_bind(s->uri, NULL, NULL) == LDAP_SUCCESS)
			return FT_OK;
		if (h_now_ms() >= deadline)
			return FT_E_AGAIN;
		h_sleep_ms(20);
	}
}

/* True when slapd's log says its port was taken. */
static bool
slapd_port_taken(const struct h_slapd *s)
{
	char log[PATH_MAX], *text;
	bool taken;

	if (h_fmt(log, sizeof(log), "%s/slapd.log", s->dir) < 0)
		return false;
	text = h_read_file(log, NULL);
	taken = text != NULL && strstr(text, "Address already in use") != NULL;
	free(text);
	return taken;
}

/* Start on a fresh port, (re)loading ldif; tried again if another process
 * took the port between h_free_port and slapd's bind. */
static int
slapd_launch(struct h_slapd *s, const char *ldif)
{
	int attempt, r = FT_E_IO;

	for (attempt = 0; attempt < 3; attempt++) {
		int port = h_free_port();

		if (port < 0)
			return FT_E_IO;
		if (h_fmt(s->port, sizeof(s->port), "%d", port) < 0 ||
		    h_fmt(s->uri, sizeof(s->uri), "ldap://127.0.0.1:%d", port) <
			    0)
			return FT_E_TOOBIG;
		s->proc = slapd_spawn(s, ldif);
		if (s->proc == NULL)
			return FT_E_IO;
		r = slapd_ready(s, 10000);
		if (r == FT_OK)
			return FT_OK;
		h_proc_stop(s->proc);
		s->proc = NULL;
		if (!slapd_port_taken(s))
			break;
	}
	return r;
}

struct h_slapd *
h_slapd_start(const char *ldif, unsigned sizelimit)
{
	struct h_slapd *s = calloc(1, sizeof(*s));
	char log[PATH_MAX];

	if (s == NULL)
		return NULL;
	s->sizelimit = sizelimit;
	s->dir = h_tmpdir();
	if (s->dir == NULL)
		goto fail;
	if (slapd_launch(s, ldif) == FT_OK)
		return s;
	if (h_fmt(log, sizeof(log), "%s/slapd.log", s->dir) == FT_OK)
		h_show_log("unable to start slapd", log);
fail:
	h_slapd_stop(s);
	return NULL;
}

const char *
h_slapd_uri(const struct h_slapd *s)
{
	return s->uri;
}

const char *
h_slapd_dir(const struct h_slapd *s)
{
	return s->dir;
}

pid_t
h_slapd_pid(const struct h_slapd *s)
{
	return s->proc != NULL ? h_proc_pid(s->proc) : 0;
}

int
h_slapd_change(struct h_slapd *s, const char *ldif_text, bool relax)
{
	char path[PATH_MAX], log[PATH_MAX];
	const char *argv[] = {"ldapmodify",
			      "-x",
			      "-H",
			      s->uri,
			      "-D",
			      H_LDAP_ROOT_DN,
			      "-w",
			      H_LDAP_ROOT_PW,
			      "-f",
			      path,
			      relax ? "-e" : NULL,
			      "!relax",
			      NULL};
	int r, st = 0;

	s->nmodify++;
	if (h_fmt(path, sizeof(path), "%s/modify-%u.ldif", s->dir, s->nmodify) <
		    0 ||
	    h_fmt(log, sizeof(log), "%s/modify-%u.log", s->dir, s->nmodify) < 0)
		return FT_E_TOOBIG;
	r = h_write_file(path, ldif_text, 0600);
	if (r < 0)
		return r;
	r = h_run(argv, log, 30000, &st);
	if (r == FT_OK && (!WIFEXITED(st) || WEXITSTATUS(st) != 0)) {
		h_show_log("ldapmodify failed", log);
		r = FT_E_LDAP;
	}
	return r;
}

int
h_slapd_modify(struct h_slapd *s, const char *ldif_text)
{
	return h_slapd_change(s, ldif_text, false);
}

/* arg: the pid_t of slapd.  Every thread of it is stopped. */
static bool
pid_stopped(void *arg)
{
	return h_pid_stopped(*(pid_t *)arg);
}

int
h_slapd_pause(struct h_slapd *s)
{
	pid_t pid = h_proc_pid(s->proc);

	if (h_proc_signal(s->proc, SIGSTOP) != FT_OK)
		return FT_E_IO;
	/* kill() returns before every thread has stopped */
	return h_wait_until(pid_stopped, &pid, 10000) ? FT_OK : FT_E_IO;
}

int
h_slapd_resume(struct h_slapd *s)
{
	return h_proc_signal(s->proc, SIGCONT);
}

void
h_slapd_down(struct h_slapd *s)
{
	h_proc_stop(s->proc);
	s->proc = NULL;
}

int
h_slapd_restart(struct h_slapd *s)
{
	char log[PATH_MAX];
	int r;

	h_proc_stop(s->proc);
	s->proc = slapd_spawn(s, NULL);
	if (s->proc == NULL)
		return FT_E_IO;
	r = slapd_ready(s, 10000);
	if (r < 0 && h_fmt(log, sizeof(log), "%s/slapd.log", s->dir) == FT_OK)
		h_show_log("unable to restart slapd", log);
	return r;
}

void
h_slapd_stop(struct h_slapd *s)
{
	if (s == NULL)
		return;
	h_proc_stop(s->proc);
	h_rmtree(s->dir);
	free(s->dir);
	free(s);
}

/* ---- LDAP data -------------------------------------------------------- */

int
h_uid_filter(const char *uid, char *buf, size_t cap)
{
	size_t n = 0;
	const char *p;

	if (cap < 8)
		return FT_E_TOOBIG;
	memcpy(buf, "(uid=", 5);
	n = 5;
	for (p = uid; *p != '\0'; p++) {
		if (n + 5 >= cap)
			return FT_E_TOOBIG;
		if (strchr("*()\\", *p) != NULL) {
			(void)snprintf(buf + n, cap - n, "\\%02x",
				       (unsigned)(unsigned char)*p);
			n += 3;
		} else {
			buf[n++] = *p;
		}
	}
	buf[n++] = ')';
	buf[n] = '\0';
	return FT_OK;
}

char *
h_ldap_entry_uuid(const char *uri, const char *uid)
{
	char filter[512];
	char *v, *nl;

	if (h_uid_filter(uid, filter, sizeof(filter)) < 0)
		return NULL;
	v = h_ldap_values(uri, filter, "entryUUID");
	if (v == NULL)
		return NULL;
	nl = strchr(v, '\n');
	if (nl == NULL || nl[1] != '\0') { /* none, or more than one */
		free(v);
		return NULL;
	}
	*nl = '\0';
	return v;
}

static int
put_person(FILE *f, const char *prefix, unsigned i)
{
	return fprintf(f,
		       "\ndn: uid=%s%04u,ou=people,dc=example,dc=com\n"
		       "objectClass: inetOrgPerson\n"
		       "uid: %s%04u\n"
		       "cn: Person %04u\n"
		       "givenName: Person\n"
		       "sn: Number %04u\n"
		       "mail: %s%04u@example.com\n",
		       prefix, i, prefix, i, i, i, prefix, i);
}

int
h_write_ldif(const char *path, const char *prefix, unsigned n,
	     const char *extra)
{
	char *seed = h_read_file(H_LDIF_PEOPLE, NULL);
	FILE *f = NULL;
	unsigned i;
	int r = FT_E_IO;

	if (seed == NULL)
		goto out;
	f = fopen(path, "we");
	if (f == NULL || fputs(seed, f) < 0)
		goto out;
	for (i = 0; i < n; i++) {
		if (put_person(f, prefix, i) < 0)
			goto out;
	}
	if (extra != NULL && fprintf(f, "\n%s", extra) < 0)
		goto out;
	r = FT_OK;
out:
	if (f != NULL && fclose(f) != 0)
		r = FT_E_IO;
	free(seed);
	return r;
}
