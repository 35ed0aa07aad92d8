/* SPDX-License-Identifier: Apache-2.0 */
/* h_emu.c: test library: the ftrack emulator, its controls and counters. */
#include "harness.h"

#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ft_err.h"
#include "ft_util.h"

static const char emulator_py[] = FT_TEST_SRCDIR "/tests/ftrack_emulator.py";

/* The request, then its body parsed; NULL (and a message) if there is no
 * JSON answer, or with need_2xx a status outside 200..299. */
static json_t *
emu_json(const struct h_emu *e, const char *method, const char *path,
	 const char *body, int flags, bool need_2xx)
{
	json_error_t jerr;
	json_t *j = NULL;
	char *text = NULL;
	long status = 0;

	if (h_emu_http(e, method, path, body, flags, &status, &text) < 0)
		return NULL;
	if (need_2xx && (status < 200 || status > 299)) {
		h_err("%s %s: HTTP %ld: %s", method, path, status, text);
		goto out;
	}
	j = json_loads(text, 0, &jerr);
	if (j == NULL)
		h_err("%s %s: not JSON (%s): %s", method, path, jerr.text,
		      text);
out:
	free(text);
	return j;
}

/* ---- the ftrack emulator --------------------------------------------- */

struct h_emu {
	char *dir;
	struct h_proc *proc;
	char url[64];
};

/* argv for the emulator: python3 -u SCRIPT --port 0 ... extra... NULL. */
static const char **
emu_argv(const char *const extra[])
{
	static const char *const base[] = {
		"python3",    "-u",       emulator_py, "--port", "0",
		"--api-user", H_EMU_USER, "--api-key", H_EMU_KEY};
	size_t nbase = sizeof(base) / sizeof(base[0]), n = 0, i;
	const char **v;

	while (extra != NULL && extra[n] != NULL)
		n++;
	v = calloc(nbase + n + 1, sizeof(*v));
	if (v == NULL)
		return NULL;
	for (i = 0; i < nbase; i++)
		v[i] = base[i];
	for (i = 0; i < n; i++)
		v[nbase + i] = extra[i];
	return v;
}

/* Parse "listening on http://127.0.0.1:PORT\n" at the start of text. */
static int
emu_parse_url(struct h_emu *e, const char *text)
{
	static const char prefix[] = "listening on http://127.0.0.1:";
	unsigned long long port;
	char digits[8];
	const char *nl;
	size_t n;

	nl = strchr(text, '\n');
	if (nl == NULL)
		return FT_E_AGAIN;
	if (strncmp(text, prefix, sizeof(prefix) - 1) != 0)
		return FT_E_PROTO;
	text += sizeof(prefix) - 1;
	n = (size_t)(nl - text);
	if (n > 0 && text[n - 1] == '\r')
		n--;
	if (n == 0 || n >= sizeof(digits))
		return FT_E_PROTO;
	memcpy(digits, text, n);
	digits[n] = '\0';
	if (ft_parse_uint(digits, 65535, &port) < 0 || port == 0)
		return FT_E_PROTO;
	return h_fmt(e->url, sizeof(e->url), "http://127.0.0.1:%llu", port);
}

/* Poll DIR/stdout for the first line until deadline or the process exits. */
static int
emu_wait_url(struct h_emu *e, const char *out_path, unsigned timeout_ms)
{
	long long deadline = h_now_ms() + timeout_ms;

	for (;;) {
		char *text = h_read_file(out_path, NULL);
		int r = text != NULL ? emu_parse_url(e, text) : FT_E_AGAIN;

		free(text);
		if (r != FT_E_AGAIN)
			return r;
		if (h_proc_wait(e->proc, 0, NULL) != FT_E_AGAIN)
			return FT_E_IO;
		if (h_now_ms() >= deadline)
			return FT_E_AGAIN;
		h_sleep_ms(10);
	}
}

static int
emu_spawn(struct h_emu *e, const char *const extra[], const char *out_path,
	  const char *err_path)
{
	const char **argv = emu_argv(extra);
	int out = -1, err = -1, r = FT_E_IO;

	out = h_open_log(out_path);
	err = h_open_log(err_path);
	if (argv != NULL && out >= 0 && err >= 0) {
		e->proc = h_proc_spawn(argv, out, err);
		if (e->proc != NULL)
			r = FT_OK;
	}
	if (out >= 0)
		(void)close(out);
	if (err >= 0)
		(void)close(err);
	free(argv);
	return r;
}

struct h_emu *
h_emu_start(const char *const extra_args[])
{
	struct h_emu *e = calloc(1, sizeof(*e));
	char out[PATH_MAX], err[PATH_MAX];
	int r;

	if (e == NULL)
		return NULL;
	e->dir = h_tmpdir();
	if (e->dir == NULL ||
	    h_fmt(out, sizeof(out), "%s/stdout", e->dir) < 0 ||
	    h_fmt(err, sizeof(err), "%s/emulator.log", e->dir) < 0 ||
	    emu_spawn(e, extra_args, out, err) < 0)
		goto fail;
	r = emu_wait_url(e, out, 10000);
	if (r == FT_OK)
		return e;
	h_err("unable to start the emulator: %s",
	      r == FT_E_IO      ? "it exited"
	      : r == FT_E_AGAIN ? "no 'listening on' line within 10 s"
				: "unexpected first line");
	h_show_log("emulator stdout", out);
	h_show_log("emulator stderr", err);
fail:
	h_emu_stop(e);
	return NULL;
}

const char *
h_emu_url(const struct h_emu *e)
{
	return e->url;
}

const char *
h_emu_dir(const struct h_emu *e)
{
	return e->dir;
}

struct h_proc *
h_emu_proc(const struct h_emu *e)
{
	return e->proc;
}

json_t *
h_emu_get(const struct h_emu *e, const char *path)
{
	return emu_json(e, "GET", path, NULL, 0, true);
}

json_t *
h_emu_post(const struct h_emu *e, const char *path, const char *json_body)
{
	return emu_json(e, "POST", path, json_body, 0, true);
}

json_t *
h_emu_api(const struct h_emu *e, const char *ops_json)
{
	return emu_json(e, "POST", "/api", ops_json, H_HTTP_AUTH, false);
}

/* Quote s for the query language: "..." with \ " ' backslash-escaped. */
static char *
query_quote(const char *s)
{
	char *q = malloc(strlen(s) * 2 + 3), *p;

	if (q == NULL)
		return NULL;
	p = q;
	*p++ = '"';
	for (; *s != '\0'; s++) {
		if (*s == '\\' || *s == '"' || *s == '\'')
			*p++ = '\\';
		*p++ = *s;
	}
	*p++ = '"';
	*p = '\0';
	return q;
}

/* [{"action": "query", "expression": "select ... where username is Q"}] */
static char *
user_query(const char *username)
{
	char *quoted = query_quote(username), *expr = NULL, *ops = NULL;
	json_t *j = NULL;
	size_t len;

	if (quoted == NULL)
		return NULL;
	len = strlen(quoted) + 128;
	expr = malloc(len);
	if (expr == NULL ||
	    h_fmt(expr, len,
		  "select id, username, first_name, last_name, email, "
		  "is_active from User where username is %s",
		  quoted) < 0)
		goto out;
	j = json_pack("[{s:s, s:s}]", "action", "query", "expression", expr);
	if (j != NULL)
		ops = json_dumps(j, JSON_COMPACT);
out:
	json_decref(j);
	free(expr);
	free(quoted);
	return ops;
}

json_t *
h_emu_user(const struct h_emu *e, const char *username)
{
	char *ops = user_query(username);
	json_t *res = NULL, *data, *user = NULL;

	if (ops == NULL)
		return NULL;
	res = h_emu_api(e, ops);
	data = json_object_get(json_array_get(res, 0), "data");
	if (res != NULL && !json_is_array(data))
		h_err("unexpected answer to a User query: %s", ops);
	if (json_array_size(data) == 1)
		user = json_incref(json_array_get(data, 0));
	json_decref(res);
	free(ops);
	return user;
}

void
h_emu_stop(struct h_emu *e)
{
	if (e == NULL)
		return;
	h_proc_stop(e->proc);
	h_rmtree(e->dir);
	free(e->dir);
	free(e);
}

/* ---- the emulator's store, counters and log --------------------------- */

int
h_emu_control(const struct h_emu *e, const char *path, const char *body)
{
	json_t *j = h_emu_post(e, path, body);
	int r = j != NULL ? FT_OK : FT_E_HTTP;

	json_decref(j);
	return r;
}

int
h_emu_reset(const struct h_emu *e)
{
	int a = h_emu_control(e, "/_emulator/reset", "{\"store\": true}");
	int b = h_emu_control(e, "/_emulator/config",
			      "{\"latency_ms\": 0, \"seat_cap\": null, "
			      "\"seat_cap_exception\": null, "
			      "\"write_answers\": \"full\"}");

	return a == FT_OK && b == FT_OK ? FT_OK : FT_E_HTTP;
}

long long
h_emu_stat(const struct h_emu *e, const char *name)
{
	json_t *st = h_emu_get(e, "/_emulator/stats");
	const json_t *v = json_object_get(st, name);
	long long n = json_is_integer(v) ? json_integer_value(v) : -1;

	json_decref(st);
	return n;
}

long long
h_emu_stat2(const struct h_emu *e, const char *group, const char *name)
{
	json_t *st = h_emu_get(e, "/_emulator/stats");
	const json_t *g = json_object_get(st, group);
	const json_t *v = json_object_get(g, name);
	long long n = -1;

	if (json_is_integer(v))
		n = json_integer_value(v);
	else if (json_is_object(g))
		n = 0;
	json_decref(st);
	return n;
}

/* True when the string member key of obj is value. */
static bool
str_is(const json_t *obj, const char *key, const char *value)
{
	const char *s = json_string_value(json_object_get(obj, key));

	return s != NULL && strcmp(s, value) == 0;
}

/* The first element of array whose member key is the string value. */
static json_t *
find_in(const json_t *array, const char *key, const char *value)
{
	size_t i;
	json_t *el;

	json_array_foreach(array, i, el)
	{
		if (str_is(el, key, value))
			return el;
	}
	return NULL;
}

json_t *
h_emu_user_row(const struct h_emu *e, const char *username)
{
	json_t *all = h_emu_get(e, "/_emulator/users");
	json_t *u = json_incref(find_in(all, "username", username));

	json_decref(all);
	return u;
}

char *
h_emu_user_id(const struct h_emu *e, const char *username)
{
	json_t *u = h_emu_user_row(e, username);
	const char *id = json_string_value(json_object_get(u, "id"));
	char *ret = id != NULL ? strdup(id) : NULL;

	json_decref(u);
	return ret;
}

long
h_emu_named(const struct h_emu *e, const char *username)
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
		n += str_is(el, "username", username);
	}
	json_decref(all);
	return n;
}

long
h_emu_users(const struct h_emu *e)
{
	json_t *all = h_emu_get(e, "/_emulator/users");
	long n = json_is_array(all) ? (long)json_array_size(all) : -1;

	json_decref(all);
	return n;
}

long
h_emu_people(const struct h_emu *e)
{
	json_t *all = h_emu_get(e, "/_emulator/users"), *el;
	long n = -1;
	size_t i;

	if (json_is_array(all)) {
		n = 0;
		json_array_foreach(all, i, el)
		{
			n += !str_is(el, "username", H_EMU_USER);
		}
	}
	json_decref(all);
	return n;
}

long
h_emu_markers(const struct h_emu *e, const char *user_id, const char *key,
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
		if (n++ == 0)
			value = json_string_value(json_object_get(el, "value"));
	}
	if (ret_value != NULL && value != NULL)
		*ret_value = strdup(value);
	json_decref(all);
	return n;
}

long
h_emu_user_markers(const struct h_emu *e, const char *username, const char *key,
		   char **ret_value)
{
	char *id = h_emu_user_id(e, username);
	long n;

	if (id == NULL) {
		if (ret_value != NULL)
			*ret_value = NULL;
		return -1;
	}
	n = h_emu_markers(e, id, key, ret_value);
	free(id);
	return n;
}

json_t *
h_emu_snapshot(const struct h_emu *e)
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

char *
h_emu_log(const struct h_emu *e, long long seq, long long *ret_last)
{
	char path[64];
	json_t *rows, *row;
	long long last = seq;
	char *text;
	size_t i;

	(void)snprintf(path, sizeof(path), "/_emulator/log?since=%lld", seq);
	rows = h_emu_get(e, path);
	if (!json_is_array(rows)) {
		json_decref(rows);
		return NULL;
	}
	json_array_foreach(rows, i, row)
	{
		json_int_t s = json_integer_value(json_object_get(row, "seq"));

		if (s > last)
			last = s;
	}
	text = json_dumps(rows, JSON_COMPACT);
	json_decref(rows);
	if (text != NULL && ret_last != NULL)
		*ret_last = last;
	return text;
}

long long
h_emu_last_seq(const struct h_emu *e)
{
	long long last = -1;
	char *text = h_emu_log(e, 0, &last);

	if (text == NULL)
		return -1;
	free(text);
	return last;
}

json_t *
h_emu_writes(const struct h_emu *e, long long seq)
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
