/* SPDX-License-Identifier: Apache-2.0 */
/* relay_wire.c: the relay's batch body and the provisioner's answer (jansson). */
#include "relay_wire.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ft_err.h"
#include "ft_util.h"

#define INVALID_PREFIX "invalid: " /* then the reason */

/* A field of ev: required (user) or left out when empty. */
static int
add_field(json_t *o, const char *key, const char *v, int required)
{
	size_t len = strlen(v);

	if (len == 0)
		return required ? FT_E_INVAL : FT_OK;
	if (ft_proto_value_ok(v, len) != FT_OK)
		return FT_E_INVAL;
	return json_object_set_new(o, key, json_stringn(v, len)) == 0
		       ? FT_OK
		       : FT_E_NOMEM;
}

/* "2026-12-03T09:00:00Z" */
static int
add_time(json_t *o, time_t when)
{
	char buf[32];
	struct tm tm;

	if (when == 0)
		return FT_OK;
	if (gmtime_r(&when, &tm) == NULL ||
	    strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		return FT_E_INVAL;
	return json_object_set_new(o, "time", json_string(buf)) == 0
		       ? FT_OK
		       : FT_E_NOMEM;
}

/* A new object for ev (NULL with *ret_r set on failure). */
static json_t *
event_object(const struct ft_event *ev, time_t when, int *ret_r)
{
	json_t *o = json_object();
	int r = o != NULL ? FT_OK : FT_E_NOMEM;

	if (r == FT_OK)
		r = add_field(o, "user", ev->user, 1);
	if (r == FT_OK)
		r = add_field(o, "service", ev->service, 0);
	if (r == FT_OK)
		r = add_field(o, "rhost", ev->rhost, 0);
	if (r == FT_OK)
		r = add_field(o, "tty", ev->tty, 0);
	if (r == FT_OK)
		r = add_time(o, when);
	if (r == FT_OK)
		return o;
	json_decref(o);
	*ret_r = r;
	return NULL;
}

size_t
relay_wire_event_size(const struct ft_event *ev, time_t when)
{
	int r = FT_OK;
	json_t *o = event_object(ev, when, &r);
	size_t n;

	if (o == NULL)
		return 0;
	n = json_dumpb(o, NULL, 0, JSON_COMPACT);
	json_decref(o);
	return n > 0 ? n + 1 : 0;
}

int
relay_wire_encode(const struct ft_event *ev, const time_t *when, size_t n,
		  char **ret, size_t *ret_len)
{
	json_t *root = NULL, *arr = NULL, *o;
	char *s = NULL;
	size_t i;
	int r = FT_E_NOMEM;

	if (n == 0 || n > RELAY_MAX_EVENTS)
		return FT_E_INVAL;
	arr = json_array();
	root = json_object();
	if (arr == NULL || root == NULL)
		goto out;
	for (i = 0; i < n; i++) {
		o = event_object(&ev[i], when != NULL ? when[i] : 0, &r);
		if (o == NULL || json_array_append_new(arr, o) < 0)
			goto out;
	}
	r = FT_E_NOMEM;
	if (json_object_set(root, "events", arr) < 0)
		goto out;
	s = json_dumps(root, JSON_COMPACT);
	if (s == NULL)
		goto out;
	r = strlen(s) > RELAY_MAX_BODY ? FT_E_TOOBIG : FT_OK;
	if (r == FT_OK) {
		*ret_len = strlen(s);
		*ret = s;
		s = NULL;
	}
out:
	free(s);
	json_decref(arr);
	json_decref(root);
	return r;
}

/* One result string (len bytes) into slot i of a. */
static void
take_result(struct relay_answer *a, size_t i, const char *s, size_t len)
{
	size_t plen = strlen(INVALID_PREFIX), wlen;

	a->why[i][0] = '\0';
	if (len == 8 && memcmp(s, "accepted", 8) == 0) {
		a->result[i] = RELAY_ACCEPTED;
		return;
	}
	if (len < plen || memcmp(s, INVALID_PREFIX, plen) != 0) {
		a->result[i] = RELAY_OTHER;
		return;
	}
	a->result[i] = RELAY_INVALID;
	s += plen;
	len -= plen;
	wlen = len > RELAY_WHY_MAX ? RELAY_WHY_MAX : len;
	/* never cut inside a UTF-8 sequence */
	while (wlen > 0 && wlen < len &&
	       ((unsigned char)s[wlen] & 0xc0) == 0x80)
		wlen--;
	memcpy(a->why[i], s, wlen);
	a->why[i][wlen] = '\0';
	if (wlen == 0 || memchr(s, '\0', wlen) != NULL)
		(void)snprintf(a->why[i], sizeof(a->why[i]), "unknown");
}

int
relay_wire_decode(const char *body, size_t len, size_t n,
		  struct relay_answer *ret)
{
	json_t *root, *res, *v;
	json_error_t e;
	size_t i;
	int r = FT_E_PROTO;

	if (len > RELAY_MAX_ANSWER)
		return FT_E_TOOBIG;
	if (n == 0 || n > RELAY_MAX_EVENTS)
		return FT_E_INVAL;
	root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &e);
	if (root == NULL)
		return FT_E_PROTO;
	res = json_object_get(root, "results");
	if (!json_is_array(res) || json_array_size(res) != n)
		goto out;
	json_array_foreach(res, i, v)
	{
		if (!json_is_string(v))
			goto out;
		take_result(ret, i, json_string_value(v),
			    json_string_length(v));
	}
	ret->n = n;
	r = FT_OK;
out:
	json_decref(root);
	return r;
}
