/* SPDX-License-Identifier: Apache-2.0 */
/* reconcile_util.c: support for the full-reconcile suite. */
#include "reconcile_util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ft_err.h"
#include "ft_util.h"

#define RU_ARGS_MAX 16
#define RU_CMD_MS   60000u

static const char daemon_bin[] = H_DAEMON_BIN;

/* ---- the world ---------------------------------------------------------- */

int
ru_config(struct ru_world *w, const char *extra)
{
	size_t len = strlen(RU_BASE_CONFIG) + (extra ? strlen(extra) : 0) + 2;
	char *all = malloc(len);
	char *conf;

	if (all == NULL)
		return FT_E_NOMEM;
	(void)snprintf(all, len, "%s%s\n", RU_BASE_CONFIG, extra ? extra : "");
	conf = h_write_config(w->dir, w->slapd, w->emu, all);
	free(all);
	if (conf == NULL)
		return FT_E_IO;
	free(w->conf);
	w->conf = conf;
	return FT_OK;
}

struct ru_world *
ru_start(const char *ldif, unsigned sizelimit, const char *extra)
{
	struct ru_world *w = calloc(1, sizeof(*w));
	int n;

	if (w == NULL)
		return NULL;
	w->dir = h_tmpdir();
	if (w->dir == NULL)
		goto fail;
	n = snprintf(w->state, sizeof(w->state), "%s/state", w->dir);
	if (n < 0 || (size_t)n >= sizeof(w->state))
		goto fail;
	w->slapd = h_slapd_start(ldif, sizelimit);
	w->emu = h_emu_start(NULL);
	if (w->slapd == NULL || w->emu == NULL || ru_config(w, extra) < 0)
		goto fail;
	return w;
fail:
	ru_stop(w);
	return NULL;
}

void
ru_stop(struct ru_world *w)
{
	if (w == NULL)
		return;
	h_slapd_stop(w->slapd);
	h_emu_stop(w->emu);
	h_rmtree(w->dir);
	free(w->dir);
	free(w->conf);
	free(w);
}

/* ---- commands ----------------------------------------------------------- */

struct ru_bg {
	struct h_proc *proc;
	char out[PATH_MAX], err[PATH_MAX];
};

/* Split args at spaces into v (words point into buf). */
static int
split_words(char *buf, const char **v, size_t cap, size_t *ret_n)
{
	size_t n = 0;
	char *p = buf;

	while (*p != '\0') {
		while (*p == ' ')
			*p++ = '\0';
		if (*p == '\0')
			break;
		if (n + 1 >= cap)
			return FT_E_TOOBIG;
		v[n++] = p;
		while (*p != '\0' && *p != ' ')
			p++;
	}
	*ret_n = n;
	return FT_OK;
}

/*
 * `sh -c 'exec "$@" 2>"$0"' ERRFILE BIN -c CONF words...`: the shell
 * only sends stderr to its own file, then becomes the daemon binary.
 */
static struct h_proc *
spawn_split(const struct ru_world *w, const char *args, const char *out,
	    const char *err)
{
	const char *argv[RU_ARGS_MAX + 8] = {
		"/bin/sh", "-c",   "exec \"$@\" 2>\"$0\"", err, daemon_bin,
		"-c",      w->conf};
	size_t n = 0;
	char *buf = strdup(args);
	struct h_proc *p = NULL;

	if (buf != NULL && split_words(buf, argv + 7, RU_ARGS_MAX, &n) == 0) {
		argv[7 + n] = NULL;
		p = h_proc_start(argv, out);
	}
	free(buf);
	return p;
}

struct ru_bg *
ru_cmd_start(struct ru_world *w, const char *args)
{
	struct ru_bg *bg = calloc(1, sizeof(*bg));
	unsigned k = ++w->nrun;
	int a, b;

	if (bg == NULL)
		return NULL;
	a = snprintf(bg->out, sizeof(bg->out), "%s/run-%u.out", w->dir, k);
	b = snprintf(bg->err, sizeof(bg->err), "%s/run-%u.err", w->dir, k);
	if (a < 0 || b < 0 || (size_t)a >= sizeof(bg->out) ||
	    (size_t)b >= sizeof(bg->err)) {
		free(bg);
		return NULL;
	}
	bg->proc = spawn_split(w, args, bg->out, bg->err);
	if (bg->proc == NULL) {
		free(bg);
		return NULL;
	}
	return bg;
}

pid_t
ru_cmd_pid(const struct ru_bg *bg)
{
	return h_proc_pid(bg->proc);
}

int
ru_cmd_finish(struct ru_bg *bg, unsigned timeout_ms, struct ru_run *ret)
{
	int st = 0, r;

	memset(ret, 0, sizeof(*ret));
	r = h_proc_wait(bg->proc, timeout_ms, &st);
	if (r != FT_OK && r != FT_E_AGAIN) {
		h_proc_stop(bg->proc);
		free(bg);
		return r;
	}
	if (r == FT_E_AGAIN) {
		(void)fprintf(stderr,
			      "reconcile_util: a command still runs "
			      "after %u ms: killing it\n",
			      timeout_ms);
		if (h_proc_signal(bg->proc, SIGKILL) < 0)
			(void)fprintf(stderr,
				      "reconcile_util: cannot kill it\n");
		if (h_proc_wait(bg->proc, 10000, &st) < 0)
			st = 0;
	}
	h_proc_stop(bg->proc);
	ret->code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	ret->signal = WIFSIGNALED(st) ? WTERMSIG(st) : 0;
	ret->out = h_read_file(bg->out, NULL);
	ret->err = h_read_file(bg->err, NULL);
	if (ret->out == NULL)
		ret->out = strdup("");
	if (ret->err == NULL)
		ret->err = strdup("");
	free(bg);
	if (ret->out == NULL || ret->err == NULL)
		return FT_E_NOMEM;
	return r == FT_E_AGAIN ? FT_E_AGAIN : r;
}

int
ru_cmd(struct ru_world *w, const char *args, struct ru_run *ret)
{
	struct ru_bg *bg = ru_cmd_start(w, args);

	if (bg == NULL) {
		memset(ret, 0, sizeof(*ret));
		return FT_E_IO;
	}
	return ru_cmd_finish(bg, RU_CMD_MS, ret);
}

void
ru_run_clear(struct ru_run *r)
{
	free(r->out);
	free(r->err);
	r->out = r->err = NULL;
}

bool
ru_sanitizer_report(const char *text)
{
	return text != NULL && (strstr(text, "ERROR: AddressSanitizer") ||
				strstr(text, "ERROR: LeakSanitizer") ||
				strstr(text, "runtime error:"));
}

/* ---- reports ------------------------------------------------------------ */

json_t *
ru_report(const struct ru_world *w, const char *name)
{
	char path[PATH_MAX];
	json_error_t e;
	int n = snprintf(path, sizeof(path), "%s/reports/%s", w->state, name);

	if (n < 0 || (size_t)n >= sizeof(path))
		return NULL;
	return json_load_file(path, 0, &e);
}

bool
ru_report_exists(const struct ru_world *w, const char *name)
{
	char path[PATH_MAX];
	struct stat st;
	int n = snprintf(path, sizeof(path), "%s/reports/%s", w->state, name);

	return n > 0 && (size_t)n < sizeof(path) && stat(path, &st) == 0;
}

long
ru_report_count(const json_t *rep, const char *kind)
{
	json_t *v = json_object_get(json_object_get(rep, "counts"), kind);

	return json_is_integer(v) ? (long)json_integer_value(v) : -1;
}

/* The element of array whose member key is the string value. */
static json_t *
find_in(const json_t *array, const char *key, const char *value)
{
	size_t i;
	json_t *el;

	json_array_foreach(array, i, el)
	{
		const char *s = json_string_value(json_object_get(el, key));

		if (s != NULL && strcmp(s, value) == 0)
			return el;
	}
	return NULL;
}

json_t *
ru_report_action(const json_t *rep, const char *user)
{
	return find_in(json_object_get(rep, "actions"), "user", user);
}

json_t *
ru_report_guard(const json_t *rep, const char *name)
{
	return find_in(json_object_get(rep, "guards"), "name", name);
}

/* ---- the emulator ------------------------------------------------------- */

int
ru_emu_post(const struct h_emu *e, const char *path, const char *body)
{
	json_t *j = h_emu_post(e, path, body);
	int r = j != NULL ? FT_OK : FT_E_HTTP;

	json_decref(j);
	return r;
}

json_t *
ru_emu_user(const struct h_emu *e, const char *username)
{
	json_t *all = h_emu_get(e, "/_emulator/users");
	json_t *u = json_incref(find_in(all, "username", username));

	json_decref(all);
	return u;
}

char *
ru_emu_user_id(const struct h_emu *e, const char *username)
{
	json_t *u = ru_emu_user(e, username);
	const char *id = json_string_value(json_object_get(u, "id"));
	char *ret = id != NULL ? strdup(id) : NULL;

	json_decref(u);
	return ret;
}

long
ru_emu_named(const struct h_emu *e, const char *username)
{
	json_t *all = h_emu_get(e, "/_emulator/users"), *el;
	long n = 0;
	size_t i;

	if (!json_is_array(all)) {
		json_decref(all);
		return -1;
	}
	json_array_foreach(all, i, el)
	{
		const char *s =
			json_string_value(json_object_get(el, "username"));

		n += s != NULL && strcmp(s, username) == 0;
	}
	json_decref(all);
	return n;
}

long
ru_emu_users(const struct h_emu *e)
{
	json_t *all = h_emu_get(e, "/_emulator/users");
	long n = json_is_array(all) ? (long)json_array_size(all) : -1;

	json_decref(all);
	return n;
}

static bool
str_is(const json_t *obj, const char *key, const char *value)
{
	const char *s = json_string_value(json_object_get(obj, key));

	return s != NULL && strcmp(s, value) == 0;
}

long
ru_emu_markers(const struct h_emu *e, const char *user_id, const char *key,
	       char **ret_value)
{
	json_t *all = h_emu_get(e, "/_emulator/metadata"), *el;
	const char *value = NULL;
	long n = 0;
	size_t i;

	if (ret_value != NULL)
		*ret_value = NULL;
	if (!json_is_array(all)) {
		json_decref(all);
		return -1;
	}
	json_array_foreach(all, i, el)
	{
		if (!str_is(el, "parent_id", user_id) ||
		    !str_is(el, "key", key))
			continue;
		n++;
		value = json_string_value(json_object_get(el, "value"));
	}
	if (ret_value != NULL && value != NULL)
		*ret_value = strdup(value);
	json_decref(all);
	return n;
}

json_t *
ru_emu_snapshot(const struct h_emu *e)
{
	json_t *users = h_emu_get(e, "/_emulator/users");
	json_t *meta = h_emu_get(e, "/_emulator/metadata");

	if (users == NULL || meta == NULL) {
		json_decref(users);
		json_decref(meta);
		return NULL;
	}
	return json_pack("{s:o, s:o}", "users", users, "metadata", meta);
}

long long
ru_emu_last_seq(const struct h_emu *e)
{
	json_t *log = h_emu_get(e, "/_emulator/log"), *el;
	long long last = 0;
	size_t i;

	if (!json_is_array(log)) {
		json_decref(log);
		return -1;
	}
	json_array_foreach(log, i, el)
	{
		json_int_t s = json_integer_value(json_object_get(el, "seq"));

		if (s > last)
			last = s;
	}
	json_decref(log);
	return last;
}

json_t *
ru_emu_writes(const struct h_emu *e, long long seq)
{
	char path[64];
	json_t *log, *el, *op, *out = json_array();
	size_t i, j;

	(void)snprintf(path, sizeof(path), "/_emulator/log?since=%lld", seq);
	log = h_emu_get(e, path);
	if (!json_is_array(log) || out == NULL) {
		json_decref(log);
		json_decref(out);
		return NULL;
	}
	json_array_foreach(log, i, el)
	{
		json_array_foreach(json_object_get(el, "ops"), j, op)
		{
			if (!str_is(op, "action", "query"))
				(void)json_array_append(out, op);
		}
	}
	json_decref(log);
	return out;
}

long long
ru_emu_stat(const struct h_emu *e, const char *name)
{
	json_t *st = h_emu_get(e, "/_emulator/stats");
	json_t *v = json_object_get(st, name);
	long long n = json_is_integer(v) ? json_integer_value(v) : -1;

	json_decref(st);
	return n;
}

long long
ru_emu_stat2(const struct h_emu *e, const char *group, const char *name)
{
	json_t *st = h_emu_get(e, "/_emulator/stats");
	json_t *g = json_object_get(st, group);
	json_t *v = json_object_get(g, name);
	long long n = -1;

	if (json_is_integer(v))
		n = json_integer_value(v);
	else if (json_is_object(g))
		n = 0;
	json_decref(st);
	return n;
}

/* ---- LDAP --------------------------------------------------------------- */

/* (uid=<uid escaped as RFC 4515 says>) into buf. */
static int
uid_filter(const char *uid, char *buf, size_t cap)
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
ru_entry_uuid(const struct ru_world *w, const char *uid)
{
	char filter[512];
	char *v, *nl;

	if (uid_filter(uid, filter, sizeof(filter)) < 0)
		return NULL;
	v = h_ldap_values(h_slapd_uri(w->slapd), filter, "entryUUID");
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

/* ldapmodify -f path as the rootdn (with the Relax Rules control). */
static int
ldapmodify(const char *uri, const char *path, const char *log, bool relax)
{
	const char *argv[] = {"ldapmodify",
			      "-x",
			      "-H",
			      uri,
			      "-D",
			      H_LDAP_ROOT_DN,
			      "-w",
			      H_LDAP_ROOT_PW,
			      "-f",
			      path,
			      relax ? "-e" : NULL,
			      "!relax",
			      NULL};
	int st = 0, r;

	r = h_run(argv, log, 30000, &st);
	if (r == FT_OK && (!WIFEXITED(st) || WEXITSTATUS(st) != 0)) {
		char *text = h_read_file(log, NULL);

		(void)fprintf(stderr,
			      "reconcile_util: ldapmodify failed:\n%s\n",
			      text ? text : "");
		free(text);
		r = FT_E_LDAP;
	}
	return r;
}

int
ru_ldap_change(struct ru_world *w, const char *ldif, bool relax)
{
	char path[PATH_MAX], log[PATH_MAX];
	unsigned k = ++w->nrun;
	int a, b, r;

	a = snprintf(path, sizeof(path), "%s/change-%u.ldif", w->dir, k);
	b = snprintf(log, sizeof(log), "%s/change-%u.log", w->dir, k);
	if (a < 0 || b < 0 || (size_t)a >= sizeof(path) ||
	    (size_t)b >= sizeof(log))
		return FT_E_TOOBIG;
	r = h_write_file(path, ldif, 0600);
	if (r == FT_OK)
		r = ldapmodify(h_slapd_uri(w->slapd), path, log, relax);
	return r;
}

static int
write_person(FILE *f, const char *prefix, unsigned i)
{
	return fprintf(f,
		       "\ndn: uid=%s%04u,ou=people,dc=example,dc=com\n"
		       "objectClass: inetOrgPerson\n"
		       "uid: %s%04u\ncn: Person %u\nsn: Number%u\n"
		       "givenName: Person\nmail: %s%04u@example.com\n",
		       prefix, i, prefix, i, i, i, prefix, i);
}

int
ru_write_ldif(const char *path, const char *prefix, unsigned n)
{
	char *seed = h_read_file(H_LDIF_PEOPLE, NULL);
	FILE *f = NULL;
	unsigned i;
	int r = FT_E_IO;

	if (seed == NULL)
		return FT_E_IO;
	f = fopen(path, "we");
	if (f == NULL || fputs(seed, f) < 0)
		goto out;
	for (i = 0; i < n; i++) {
		if (write_person(f, prefix, i) < 0)
			goto out;
	}
	r = FT_OK;
out:
	if (f != NULL && fclose(f) != 0)
		r = FT_E_IO;
	free(seed);
	return r;
}

/* ---- the cutting relay -------------------------------------------------- */

struct ru_cutter {
	pid_t pid;
	int port;
};

/*
 * Relay between client c and server s until either side closes or
 * budget bytes went from s to c.  Returns false when the budget ran out.
 */
static bool
relay(int c, int s, size_t *budget)
{
	struct pollfd pfd[2] = {{.fd = c, .events = POLLIN},
				{.fd = s, .events = POLLIN}};
	char buf[4096];

	for (;;) {
		ssize_t k;

		if (poll(pfd, 2, -1) < 0 && errno != EINTR)
			return true;
		if (pfd[0].revents) {
			k = read(c, buf, sizeof(buf));
			if (k <= 0 || !h_write_all(s, buf, (size_t)k))
				return true;
		}
		if (pfd[1].revents) {
			k = read(s, buf, sizeof(buf));
			if (k <= 0)
				return true;
			if ((size_t)k >= *budget) {
				(void)h_write_all(c, buf, *budget);
				return false;
			}
			*budget -= (size_t)k;
			if (!h_write_all(c, buf, (size_t)k))
				return true;
		}
	}
}

static void
cutter_main(int lfd, int port, size_t cut_after, pid_t kill_pid)
{
	size_t budget = cut_after;

	for (;;) {
		int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC), s;
		bool more;

		if (c < 0 && errno == EINTR)
			continue;
		if (c < 0)
			_exit(1);
		s = h_tcp_connect(port);
		more = s >= 0 && relay(c, s, &budget);
		if (!more && s >= 0) {
			if (kill_pid > 0)
				(void)kill(kill_pid, SIGKILL);
			_exit(0); /* closes the client, the server, the port */
		}
		(void)close(c);
		if (s >= 0)
			(void)close(s);
	}
}

struct ru_cutter *
ru_cutter_start(int port, size_t cut_after, pid_t kill_pid)
{
	struct ru_cutter *c = calloc(1, sizeof(*c));
	pid_t parent = getpid();
	int lfd;

	if (c == NULL)
		return NULL;
	lfd = h_tcp_listen(&c->port);
	if (lfd < 0) {
		free(c);
		return NULL;
	}
	c->pid = fork();
	if (c->pid == 0) {
		(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(1);
		(void)signal(SIGPIPE, SIG_IGN);
		cutter_main(lfd, port, cut_after, kill_pid);
	}
	(void)close(lfd);
	if (c->pid < 0) {
		free(c);
		return NULL;
	}
	return c;
}

int
ru_cutter_port(const struct ru_cutter *c)
{
	return c->port;
}

void
ru_cutter_stop(struct ru_cutter *c)
{
	if (c == NULL)
		return;
	(void)kill(c->pid, SIGKILL);
	(void)waitpid(c->pid, NULL, 0);
	free(c);
}
