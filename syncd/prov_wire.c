/* SPDX-License-Identifier: Apache-2.0 */
/* prov_wire.c: the relay's request body and the answer (see prov_wire.h). */
#include "prov_wire.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "ft_err.h"
#include "login.h"

struct wire_field {
	const char *key;
	size_t off;
};

static const struct wire_field optional[] = {
	{"service", offsetof(struct ft_event, service)},
	{"rhost", offsetof(struct ft_event, rhost)},
	{"tty", offsetof(struct ft_event, tty)},
};

/* Copy the string v (NULL or null: empty) into dst; NULL or a reason. */
static const char *
take_value(const json_t *v, char *dst)
{
	size_t len;

	dst[0] = '\0';
	if (v == NULL || json_is_null(v))
		return NULL;
	if (!json_is_string(v))
		return "not a string";
	len = json_string_length(v);
	if (ft_proto_value_ok(json_string_value(v), len) < 0)
		return len > FT_PROTO_VALUE_MAX
			       ? "a value over 256 bytes"
			       : "a value that is not text (UTF-8, no controls)";
	memcpy(dst, json_string_value(v), len);
	dst[len] = '\0';
	return NULL;
}

/* One event: NULL when valid, else why not. */
static const char *
take_event(const json_t *o, const char *host, struct ft_event *ev)
{
	char buf[FT_PROTO_MAX + 1];
	const json_t *user;
	const char *why;
	size_t i, len;

	memset(ev, 0, sizeof(*ev));
	if (!json_is_object(o))
		return "not an object";
	user = json_object_get(o, "user");
	if (user == NULL || json_is_null(user))
		return "no user";
	why = take_value(user, ev->user);
	if (why != NULL)
		return why;
	if (!login_valid(ev->user))
		return "an empty user";
	for (i = 0; i < sizeof(optional) / sizeof(optional[0]); i++) {
		why = take_value(json_object_get(o, optional[i].key),
				 (char *)ev + optional[i].off);
		if (why != NULL)
			return why;
	}
	memcpy(ev->host, host, strlen(host) + 1);
	if (ft_event_encode(ev, buf, sizeof(buf), &len) < 0)
		return "too long to journal";
	return NULL;
}

int
prov_wire_decode(const char *body, size_t len, const char *host,
		 struct prov_batch *ret)
{
	json_t *root = NULL, *events;
	json_error_t jerr;
	size_t i, n;
	int r = FT_E_PROTO;

	if (len > PROV_WIRE_BODY_MAX)
		return FT_E_TOOBIG;
	if (host == NULL || host[0] == '\0' ||
	    ft_proto_value_ok(host, strlen(host)) < 0)
		return FT_E_INVAL;
	root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL)
		return FT_E_PROTO;
	events = json_object_get(root, "events");
	if (!json_is_object(root) || !json_is_array(events))
		goto out;
	n = json_array_size(events);
	if (n > PROV_WIRE_EVENTS_MAX) {
		r = FT_E_TOOBIG;
		goto out;
	}
	for (i = 0; i < n; i++)
		ret->item[i].why = take_event(json_array_get(events, i), host,
					      &ret->item[i].ev);
	ret->n = n;
	r = FT_OK;
out:
	json_decref(root);
	return r;
}

int
prov_wire_answer(const struct prov_batch *b, char *buf, size_t cap,
		 size_t *ret_len)
{
	json_t *root = NULL, *results = json_array();
	char why[128];
	size_t i, len;
	int r = FT_E_NOMEM;

	root = json_pack("{s:o}", "results", results);
	if (root == NULL)
		return FT_E_NOMEM;
	for (i = 0; i < b->n; i++) {
		const char *w = b->item[i].why;

		(void)snprintf(why, sizeof(why), "invalid: %s", w ? w : "");
		if (json_array_append_new(results,
					  json_string(w ? why : "accepted")))
			goto out;
	}
	len = json_dumpb(root, buf, cap, JSON_COMPACT);
	if (len == 0 || len >= cap) {
		r = len == 0 ? FT_E_NOMEM : FT_E_TOOBIG;
		goto out;
	}
	buf[len] = '\0';
	*ret_len = len;
	r = FT_OK;
out:
	json_decref(root);
	return r;
}
