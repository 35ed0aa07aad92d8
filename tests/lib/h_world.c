/* SPDX-License-Identifier: Apache-2.0 */
/* h_world.c: test library: slapd + emulator + config, commands, reports. */
#include "harness.h"

#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ft_err.h"

#define H_ARGS_MAX 16
#define H_CMD_MS   60000u

static const char daemon_bin[] = H_DAEMON_BIN;

/* ---- the world ---------------------------------------------------------- */

int
h_world_config(struct h_world *w, const char *extra)
{
	size_t len = strlen(H_WORLD_BASE) + (extra ? strlen(extra) : 0) + 2;
	char *all = malloc(len);
	char *conf;

	if (all == NULL)
		return FT_E_NOMEM;
	(void)snprintf(all, len, "%s%s\n", H_WORLD_BASE, extra ? extra : "");
	conf = h_write_config(w->dir, w->slapd, w->emu, all);
	free(all);
	if (conf == NULL)
		return FT_E_IO;
	free(w->conf);
	w->conf = conf;
	return FT_OK;
}

struct h_world *
h_world_start(const char *ldif, unsigned sizelimit, const char *extra)
{
	struct h_world *w = calloc(1, sizeof(*w));
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
	if (w->slapd == NULL || w->emu == NULL || h_world_config(w, extra) < 0)
		goto fail;
	return w;
fail:
	h_world_stop(w);
	return NULL;
}

void
h_world_stop(struct h_world *w)
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

struct h_cmd_bg {
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
spawn_split(const struct h_world *w, const char *args, const char *out,
	    const char *err)
{
	const char *argv[H_ARGS_MAX + 8] = {
		"/bin/sh", "-c",   "exec \"$@\" 2>\"$0\"", err, daemon_bin,
		"-c",      w->conf};
	size_t n = 0;
	char *buf = strdup(args);
	struct h_proc *p = NULL;

	if (buf != NULL && split_words(buf, argv + 7, H_ARGS_MAX, &n) == 0) {
		argv[7 + n] = NULL;
		p = h_proc_start(argv, out);
	}
	free(buf);
	return p;
}

struct h_cmd_bg *
h_cmd_start(struct h_world *w, const char *args)
{
	struct h_cmd_bg *bg = calloc(1, sizeof(*bg));
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
h_cmd_pid(const struct h_cmd_bg *bg)
{
	return h_proc_pid(bg->proc);
}

int
h_cmd_finish(struct h_cmd_bg *bg, unsigned timeout_ms, struct h_cmd_out *ret)
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
			      "harness: a command still runs "
			      "after %u ms: killing it\n",
			      timeout_ms);
		if (h_proc_signal(bg->proc, SIGKILL) < 0)
			(void)fprintf(stderr, "harness: cannot kill it\n");
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
h_cmd(struct h_world *w, const char *args, struct h_cmd_out *ret)
{
	struct h_cmd_bg *bg = h_cmd_start(w, args);

	if (bg == NULL) {
		memset(ret, 0, sizeof(*ret));
		return FT_E_IO;
	}
	return h_cmd_finish(bg, H_CMD_MS, ret);
}

void
h_cmd_clear(struct h_cmd_out *r)
{
	free(r->out);
	free(r->err);
	r->out = r->err = NULL;
}

/* ---- reports ------------------------------------------------------------ */

/* name, or for H_REPORT_LAST the newer of the two last-* reports. */
static const char *
report_name(const struct h_world *w, const char *name)
{
	char a[PATH_MAX], d[PATH_MAX];
	struct stat sa, sd;
	bool ha, hd;

	if (strcmp(name, H_REPORT_LAST) != 0)
		return name;
	int na = snprintf(a, sizeof(a), "%s/reports/last-apply.json", w->state);
	int nd = snprintf(d, sizeof(d), "%s/reports/last-dry-run.json",
			  w->state);

	if (na < 0 || (size_t)na >= sizeof(a) || nd < 0 ||
	    (size_t)nd >= sizeof(d))
		return name;
	ha = stat(a, &sa) == 0;
	hd = stat(d, &sd) == 0;
	if (ha && hd)
		return sa.st_mtim.tv_sec > sd.st_mtim.tv_sec ||
				       (sa.st_mtim.tv_sec ==
						sd.st_mtim.tv_sec &&
					sa.st_mtim.tv_nsec >=
						sd.st_mtim.tv_nsec)
			       ? "last-apply.json"
			       : "last-dry-run.json";
	return hd ? "last-dry-run.json" : "last-apply.json";
}

json_t *
h_report(const struct h_world *w, const char *name)
{
	char path[PATH_MAX];
	json_error_t e;
	int n = snprintf(path, sizeof(path), "%s/reports/%s", w->state,
			 report_name(w, name));

	if (n < 0 || (size_t)n >= sizeof(path))
		return NULL;
	return json_load_file(path, 0, &e);
}

bool
h_report_exists(const struct h_world *w, const char *name)
{
	char path[PATH_MAX];
	struct stat st;
	int n = snprintf(path, sizeof(path), "%s/reports/%s", w->state,
			 report_name(w, name));

	return n > 0 && (size_t)n < sizeof(path) && stat(path, &st) == 0;
}

long
h_report_count(const json_t *rep, const char *kind)
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
h_report_action(const json_t *rep, const char *user)
{
	return find_in(json_object_get(rep, "actions"), "user", user);
}

json_t *
h_report_guard(const json_t *rep, const char *name)
{
	return find_in(json_object_get(rep, "guards"), "name", name);
}
