/* SPDX-License-Identifier: Apache-2.0 */
/* lease.c: the reconcile lease, the last good run and the schema in ftrack. */
#include "lease.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "ft_clean.h"
#include "ft_err.h"
#include "ft_util.h"
#include "timing.h"

#define WORDS_MAX  4
#define TAKE_TRIES 3

/* ---- values ------------------------------------------------------------- */

/*
 * Split a copy of text (buf, capacity cap) at single spaces into exactly
 * n non-empty words.  FT_OK or FT_E_PROTO.
 */
static int
split_words(const char *text, char *buf, size_t cap, char *w[], size_t n)
{
	size_t len = strlen(text), k = 0;
	char *p;

	if (len == 0 || len >= cap)
		return FT_E_PROTO;
	memcpy(buf, text, len + 1);
	for (p = buf; k < n; k++) {
		char *sp = strchr(p, ' ');

		w[k] = p;
		if (sp == NULL)
			break;
		*sp = '\0';
		p = sp + 1;
	}
	if (k != n - 1 || strchr(w[n - 1], ' ') != NULL)
		return FT_E_PROTO;
	for (k = 0; k < n; k++)
		if (w[k][0] == '\0')
			return FT_E_PROTO;
	return FT_OK;
}

static bool
is_hex(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		      (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return s[n] == '\0';
}

int
lease_value_parse(const char *text, struct lease_value *ret)
{
	char buf[512], *w[WORDS_MAX];
	struct lease_value v;

	memset(&v, 0, sizeof(v));
	if (split_words(text, buf, sizeof(buf), w, 4) != FT_OK ||
	    strlen(w[0]) > LEASE_HOST_MAX ||
	    ft_parse_uint(w[1], 0xffffffffULL, &v.pid) != FT_OK ||
	    timing_iso_parse(w[2], &v.expiry) != FT_OK ||
	    !is_hex(w[3], LEASE_NONCE_LEN))
		return FT_E_PROTO;
	memcpy(v.host, w[0], strlen(w[0]) + 1);
	memcpy(v.nonce, w[3], LEASE_NONCE_LEN + 1);
	*ret = v;
	return FT_OK;
}

int
lease_value_format(const struct lease_value *v, char *out, size_t cap)
{
	char when[32];
	int n;

	timing_iso(v->expiry, when, sizeof(when));
	n = snprintf(out, cap, "%s %llu %s %s", v->host, v->pid, when,
		     v->nonce);
	return n > 0 && (size_t)n < cap ? FT_OK : FT_E_TOOBIG;
}

int
lease_last_good_parse(const char *text, struct report_last_good *ret)
{
	char buf[512], *w[WORDS_MAX];
	struct report_last_good g;
	unsigned long long n;
	long long t;

	memset(&g, 0, sizeof(g));
	if (split_words(text, buf, sizeof(buf), w, 3) != FT_OK ||
	    ft_parse_uint(w[0], (unsigned long)-1, &n) != FT_OK ||
	    timing_iso_parse(w[1], &t) != FT_OK ||
	    strlen(w[2]) >= sizeof(g.host))
		return FT_E_PROTO;
	g.population = (unsigned long)n;
	memcpy(g.time, w[1], strlen(w[1]) + 1);
	memcpy(g.host, w[2], strlen(w[2]) + 1);
	*ret = g;
	return FT_OK;
}

int
lease_last_good_format(const struct report_last_good *g, char *out, size_t cap)
{
	int n;

	if (g->time[0] == '\0' || g->host[0] == '\0' ||
	    strchr(g->time, ' ') != NULL || strchr(g->host, ' ') != NULL)
		return FT_E_INVAL;
	n = snprintf(out, cap, "%lu %s %s", g->population, g->time, g->host);
	return n > 0 && (size_t)n < cap ? FT_OK : FT_E_TOOBIG;
}

void
lease_host(char *buf, size_t cap)
{
	char name[LEASE_HOST_MAX + 1];
	size_t i;
	bool ok = gethostname(name, sizeof(name)) == 0 && name[0] != '\0';

	name[sizeof(name) - 1] = '\0';
	for (i = 0; ok && name[i] != '\0'; i++)
		ok = (unsigned char)name[i] > ' ' && name[i] != 0x7f;
	(void)snprintf(buf, cap, "%s", ok ? name : "unknown");
}

/* ---- reading ------------------------------------------------------------ */

static void
view_fill(struct lease_view *v, const struct ftrack_own *o)
{
	const char *s;

	s = ftrack_own_get(o, FTRACK_MARKER_LEASE);
	v->lease = s != NULL;
	if (s != NULL) {
		(void)snprintf(v->lease_text, sizeof(v->lease_text), "%s", s);
		v->lease_ok = lease_value_parse(s, &v->held) == FT_OK;
	}
	if (v->lease_ok) {
		char key[sizeof(FTRACK_MARKER_LEASE_TOKEN) + LEASE_NONCE_LEN];

		(void)snprintf(key, sizeof(key), "%s%s",
			       FTRACK_MARKER_LEASE_TOKEN, v->held.nonce);
		v->token = ftrack_own_get(o, key) != NULL;
	}
	s = ftrack_own_get(o, FTRACK_MARKER_SCHEMA);
	v->schema = s != NULL;
	v->schema_ok = s != NULL && ft_parse_uint(s, 0xffffffffULL,
						  &v->schema_version) == FT_OK;
	s = ftrack_own_get(o, FTRACK_MARKER_LAST_GOOD);
	v->last_good = s != NULL;
	v->last_good_ok =
		s != NULL && lease_last_good_parse(s, &v->good) == FT_OK;
}

int
lease_view_read(struct ftrack_client *c, const char *api_user,
		struct lease_view *ret, char *err, size_t errlen)
{
	struct ftrack_own o = {NULL, NULL, 0};
	struct lease_view v;
	int r;

	memset(&v, 0, sizeof(v));
	r = ftrack_own_read(c, api_user, &o, err, errlen);
	if (r != FT_OK)
		return r;
	view_fill(&v, &o);
	v.user_id = o.user_id;
	o.user_id = NULL;
	ftrack_own_clear(&o);
	lease_view_clear(ret);
	*ret = v;
	return FT_OK;
}

void
lease_view_clear(struct lease_view *v)
{
	free(v->user_id);
	memset(v, 0, sizeof(*v));
}

enum lease_state
lease_state_of(const struct lease_view *v, const char *note, long long now)
{
	if (!v->lease)
		return LEASE_FREE;
	if (!v->lease_ok || !v->token)
		return LEASE_STUCK;
	if (note != NULL && strcmp(note, v->held.nonce) == 0)
		return LEASE_LEFT;
	if (now > v->held.expiry + LEASE_SKEW_SECONDS)
		return LEASE_EXPIRED;
	return LEASE_HELD;
}

int
lease_schema_check(const struct lease_view *v)
{
	if (!v->schema)
		return FT_OK;
	if (!v->schema_ok ||
	    v->schema_version >
		    (unsigned long long)FTRACK_MARKER_SCHEMA_VERSION)
		return FT_E_CONFIG;
	return FT_OK;
}

/* ---- writing ------------------------------------------------------------ */

static int
make_nonce(char out[LEASE_NONCE_LEN + 1])
{
	unsigned char x[LEASE_NONCE_LEN / 2];
	ssize_t n;
	size_t i;

	do
		n = getrandom(x, sizeof(x), 0);
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof(x))
		return FT_E_IO;
	for (i = 0; i < sizeof(x); i++)
		(void)snprintf(out + 2 * i, 3, "%02x", x[i]);
	return FT_OK;
}

static void
token_key(const char *nonce, char *key, size_t cap)
{
	(void)snprintf(key, cap, "%s%s", FTRACK_MARKER_LEASE_TOKEN, nonce);
}

/* [delete old token, update lease, create token] or [create lease,
 * create token]: see lease.h for why either is atomic. */
static int
take_once(struct lease *l, const struct lease_view *v, bool over, char *err,
	  size_t errlen)
{
	struct ftrack_batch *b = NULL;
	char value[512], key[128];
	int r;

	r = lease_value_format(&l->mine, value, sizeof(value));
	if (r == FT_OK)
		r = ftrack_batch_new(&b);
	if (r == FT_OK && over) {
		token_key(v->held.nonce, key, sizeof(key));
		r = ftrack_batch_delete_marker(b, l->user_id, key, NULL);
	}
	if (r == FT_OK)
		r = ftrack_batch_set_marker(b, l->user_id, FTRACK_MARKER_LEASE,
					    value, over, NULL);
	token_key(l->mine.nonce, key, sizeof(key));
	if (r == FT_OK)
		r = ftrack_batch_set_marker(b, l->user_id, key, value, false,
					    NULL);
	if (r == FT_OK)
		r = ftrack_batch_commit(l->c, b, err, errlen);
	ftrack_batch_free(b);
	return r;
}

/* Does v show the lease as ours (a POST that landed, its answer lost)? */
static bool
is_mine(const struct lease *l, const struct lease_view *v)
{
	return v->lease_ok && v->token &&
	       strcmp(v->held.nonce, l->mine.nonce) == 0;
}

int
lease_take(struct lease *l, struct ftrack_client *c, const char *api_user,
	   const char *note, long long now, struct lease_view *view, char *err,
	   size_t errlen)
{
	int tries, r = FT_E_INTERNAL;

	memset(l, 0, sizeof(*l));
	l->c = c;
	l->user_id = view->user_id ? strdup(view->user_id) : NULL;
	if (l->user_id == NULL)
		return FT_E_NOMEM;
	lease_host(l->mine.host, sizeof(l->mine.host));
	l->mine.pid = (unsigned long long)getpid();
	l->mine.expiry = now + LEASE_SECONDS;
	r = make_nonce(l->mine.nonce);
	for (tries = 0; r == FT_OK && tries < TAKE_TRIES; tries++) {
		enum lease_state st = lease_state_of(view, note, now);

		if (st == LEASE_HELD)
			return FT_E_AGAIN;
		if (st == LEASE_STUCK) {
			snprintf(err, errlen, "the reconcile lease '%s' is %s",
				 view->lease_text,
				 view->lease_ok ? "without its token"
						: "unreadable");
			return FT_E_PROTO;
		}
		r = take_once(l, view, st != LEASE_FREE, err, errlen);
		if (r == FT_OK) {
			l->held = true;
			return FT_OK;
		}
		if (r != FT_E_DATA)
			return r;
		/* another host was quicker, or our POST landed and its
		 * answer was lost: see what ftrack holds now */
		r = lease_view_read(c, api_user, view, err, errlen);
		if (r == FT_OK && is_mine(l, view)) {
			l->held = true;
			return FT_OK;
		}
		/* still no lease: ftrack refused the records themselves
		 * (err keeps its reason), not a quicker host */
		if (r == FT_OK && !view->lease)
			return FT_E_DATA;
	}
	return r == FT_OK ? FT_E_AGAIN : r;
}

int
lease_renew(struct lease *l, const char *api_user, long long now,
	    struct lease_view *view, char *err, size_t errlen)
{
	struct ftrack_batch *b = NULL;
	struct lease_value next = l->mine;
	char value[512], key[128], num[32];
	int r;

	next.expiry = now + LEASE_SECONDS;
	token_key(l->mine.nonce, key, sizeof(key));
	(void)snprintf(num, sizeof(num), "%d", FTRACK_MARKER_SCHEMA_VERSION);
	r = lease_value_format(&next, value, sizeof(value));
	if (r == FT_OK)
		r = ftrack_batch_new(&b);
	/* the token first: its update fails once the lease is not ours */
	if (r == FT_OK)
		r = ftrack_batch_set_marker(b, l->user_id, key, value, true,
					    NULL);
	if (r == FT_OK)
		r = ftrack_batch_set_marker(b, l->user_id, FTRACK_MARKER_LEASE,
					    value, true, NULL);
	if (r == FT_OK &&
	    (!view->schema ||
	     (view->schema_ok &&
	      view->schema_version < FTRACK_MARKER_SCHEMA_VERSION)))
		r = ftrack_batch_set_marker(b, l->user_id, FTRACK_MARKER_SCHEMA,
					    num, view->schema, NULL);
	if (r == FT_OK)
		r = ftrack_batch_commit(l->c, b, err, errlen);
	ftrack_batch_free(b);
	if (r == FT_OK) {
		l->mine = next;
		return FT_OK;
	}
	if (r != FT_E_DATA ||
	    lease_view_read(l->c, api_user, view, err, errlen) != FT_OK)
		return r;
	if (!is_mine(l, view)) {
		l->held = false;
		return FT_E_CONFLICT;
	}
	return lease_schema_check(view) != FT_OK ? FT_E_CONFIG : FT_E_DATA;
}

int
lease_release(struct lease *l, const char *api_user,
	      const struct report_last_good *g, bool good_exists, char *err,
	      size_t errlen)
{
	struct ftrack_batch *b = NULL;
	struct lease_view v;
	char value[512], key[128];
	int r;

	if (!l->held)
		return FT_OK;
	token_key(l->mine.nonce, key, sizeof(key));
	r = ftrack_batch_new(&b);
	if (r == FT_OK)
		r = ftrack_batch_delete_marker(b, l->user_id, key, NULL);
	if (r == FT_OK)
		r = ftrack_batch_delete_marker(b, l->user_id,
					       FTRACK_MARKER_LEASE, NULL);
	if (r == FT_OK && g != NULL) {
		r = lease_last_good_format(g, value, sizeof(value));
		if (r == FT_OK)
			r = ftrack_batch_set_marker(b, l->user_id,
						    FTRACK_MARKER_LAST_GOOD,
						    value, good_exists, NULL);
	}
	if (r == FT_OK)
		r = ftrack_batch_commit(l->c, b, err, errlen);
	ftrack_batch_free(b);
	if (r != FT_E_DATA)
		goto out;
	/* our token gone: taken over (or our POST landed, its answer lost:
	 * then there is no lease at all) */
	memset(&v, 0, sizeof(v));
	if (lease_view_read(l->c, api_user, &v, err, errlen) == FT_OK &&
	    !is_mine(l, &v))
		r = v.lease ? FT_E_CONFLICT : FT_OK;
	lease_view_clear(&v);
out:
	if (r == FT_OK || r == FT_E_CONFLICT)
		l->held = false;
	return r;
}

void
lease_clear(struct lease *l)
{
	free(l->user_id);
	memset(l, 0, sizeof(*l));
}

/* ---- status ------------------------------------------------------------- */

static void
print_lease(FILE *out, const struct lease_view *v, long long now)
{
	char until[32];

	if (!v->lease) {
		ft_clean_print(out, "reconcile lease: free (no reconcile "
				    "running on any host)");
		return;
	}
	if (!v->lease_ok) {
		ft_clean_print(out, "reconcile lease: unreadable: '%s'",
			       v->lease_text);
		return;
	}
	timing_iso(v->held.expiry, until, sizeof(until));
	ft_clean_print(out, "reconcile lease: %s by %s (pid %llu) until %s%s",
		       now > v->held.expiry ? "EXPIRED, was held" : "held",
		       v->held.host, v->held.pid, until,
		       v->token ? "" : " (its token is missing)");
}

static void
print_good(FILE *out, const struct report_last_good *g, const char *where)
{
	if (g->population == 0 && g->time[0] == '\0')
		ft_clean_print(out, "last good run:   none (%s)", where);
	else
		ft_clean_print(out,
			       "last good run:   %lu LDAP entries, %s, on %s "
			       "(%s)",
			       g->population, g->time[0] ? g->time : "?",
			       g->host[0] ? g->host : "this host", where);
}

/* The host's cache: state_dir/last-good.json. */
static void
print_cache(FILE *out, const char *state_dir)
{
	struct report_last_good g;
	int fd = open(state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int r = fd >= 0 ? report_last_good_read(fd, &g) : FT_E_IO;

	if (fd >= 0)
		(void)close(fd);
	if (r == FT_OK)
		print_good(out, &g, "this host's cache, last-good.json");
	else
		ft_clean_print(out,
			       "last good run:   unknown (%s/last-good.json "
			       "unreadable)",
			       state_dir);
}

void
lease_print_status(const struct config *cfg, FILE *out)
{
	/* status must answer soon: one try, ten seconds */
	static const struct ftrack_retry once = {1, 0, 0, 0, 10000};
	struct ftrack_client *c = NULL;
	struct lease_view v;
	char err[512] = "";
	int r;

	memset(&v, 0, sizeof(v));
	r = ftrack_client_new(cfg, &c);
	if (r == FT_OK) {
		ftrack_client_set_retry(c, &once);
		r = lease_view_read(c, cfg->ftrack.api_user, &v, err,
				    sizeof(err));
	}
	ftrack_client_free(c);
	if (r != FT_OK) {
		ft_clean_print(out,
			       "reconcile lease: unknown: unable to read "
			       "ftrack: %s (%s)",
			       err[0] ? err : "no client", ft_strerror(r));
		print_cache(out, cfg->daemon.state_dir);
		return;
	}
	print_lease(out, &v, (long long)time(NULL));
	if (v.last_good_ok)
		print_good(out, &v.good, "in ftrack");
	else if (v.last_good)
		ft_clean_print(out, "last good run:   unreadable in ftrack");
	else
		print_cache(out, cfg->daemon.state_dir);
	if (lease_schema_check(&v) != FT_OK)
		ft_clean_print(out,
			       "marker schema:   NEWER than this version's "
			       "%d: upgrade this host",
			       FTRACK_MARKER_SCHEMA_VERSION);
	lease_view_clear(&v);
}
