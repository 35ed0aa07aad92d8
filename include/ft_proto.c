/* SPDX-License-Identifier: Apache-2.0 */
/* ft_proto.c: encoder and decoder of the login event (see ft_proto.h). */
#include "ft_proto.h"

#include <stdbool.h>
#include <string.h>

#include "ft_err.h"
#include "ft_util.h"

struct field {
	const char *key;
	size_t off;
};

static const struct field fields[] = {
	{"user", offsetof(struct ft_event, user)},
	{"service", offsetof(struct ft_event, service)},
	{"rhost", offsetof(struct ft_event, rhost)},
	{"tty", offsetof(struct ft_event, tty)},
	{"host", offsetof(struct ft_event, host)},
};

#define NFIELDS (sizeof(fields) / sizeof(fields[0]))

static bool
is_control(const unsigned char *p, size_t left)
{
	if (p[0] < 0x20 || p[0] == 0x7f)
		return true;
	/* C1 controls U+0080..U+009F are encoded as C2 80..C2 9F. */
	return left >= 2 && p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f;
}

int
ft_proto_value_ok(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i;

	if (len > FT_PROTO_VALUE_MAX)
		return FT_E_TOOBIG;
	if (!ft_utf8_valid(s, len))
		return FT_E_INVAL;
	for (i = 0; i < len; i++) {
		if (is_control(p + i, len - i))
			return FT_E_INVAL;
	}
	return FT_OK;
}

static bool
key_ok(const char *k, size_t len)
{
	size_t i;

	if (len == 0 || len > FT_PROTO_KEY_MAX)
		return false;
	if (!(k[0] == '_' || (k[0] >= 'a' && k[0] <= 'z')))
		return false;
	for (i = 1; i < len; i++) {
		char c = k[i];

		if (!(c == '_' || (c >= 'a' && c <= 'z') ||
		      (c >= '0' && c <= '9')))
			return false;
	}
	return true;
}

static int
put(char *buf, size_t cap, size_t *pos, const char *s, size_t len)
{
	if (len >= cap - *pos)
		return FT_E_TOOBIG;
	memcpy(buf + *pos, s, len);
	*pos += len;
	buf[*pos] = '\0';
	return FT_OK;
}

static int
put_field(char *buf, size_t cap, size_t *pos, const char *key, const char *v)
{
	size_t vlen = strnlen(v, FT_PROTO_VALUE_MAX + 1);
	int r;

	r = ft_proto_value_ok(v, vlen);
	if (r < 0)
		return FT_E_INVAL;
	r = put(buf, cap, pos, key, strlen(key));
	if (r == FT_OK)
		r = put(buf, cap, pos, "=", 1);
	if (r == FT_OK)
		r = put(buf, cap, pos, v, vlen);
	if (r == FT_OK)
		r = put(buf, cap, pos, "\n", 1);
	return r;
}

int
ft_event_encode(const struct ft_event *ev, char *buf, size_t cap,
		size_t *ret_len)
{
	size_t pos = 0, i;
	int r;

	if (cap == 0)
		return FT_E_TOOBIG;
	if (ev->user[0] == '\0')
		return FT_E_INVAL;
	if (cap > FT_PROTO_MAX + 1)
		cap = FT_PROTO_MAX + 1;
	r = put(buf, cap, &pos, FT_PROTO_VERSION "\n",
		sizeof(FT_PROTO_VERSION));
	for (i = 0; r == FT_OK && i < NFIELDS; i++) {
		const char *v = (const char *)ev + fields[i].off;

		if (v[0] != '\0')
			r = put_field(buf, cap, &pos, fields[i].key, v);
	}
	if (r < 0)
		return r;
	*ret_len = pos;
	return FT_OK;
}

/* Store one key=value line into ev; seen tracks duplicates. */
static int
decode_line(const char *line, size_t len, struct ft_event *ev,
	    unsigned int *seen)
{
	const char *eq = memchr(line, '=', len);
	size_t klen, vlen, i;

	if (eq == NULL)
		return FT_E_PROTO;
	klen = (size_t)(eq - line);
	vlen = len - klen - 1;
	if (!key_ok(line, klen) || ft_proto_value_ok(eq + 1, vlen) < 0)
		return FT_E_PROTO;
	for (i = 0; i < NFIELDS; i++) {
		char *dst = (char *)ev + fields[i].off;

		if (strlen(fields[i].key) != klen ||
		    memcmp(fields[i].key, line, klen) != 0)
			continue;
		if (*seen & (1u << i))
			return FT_E_PROTO;
		*seen |= 1u << i;
		memcpy(dst, eq + 1, vlen);
		dst[vlen] = '\0';
		return FT_OK;
	}
	return FT_OK; /* an unknown but well-formed key: skipped */
}

int
ft_event_decode(const char *buf, size_t len, struct ft_event *ret_ev)
{
	static const size_t vlen = sizeof(FT_PROTO_VERSION) - 1;
	struct ft_event ev;
	unsigned int seen = 0;
	size_t pos;

	if (len > FT_PROTO_MAX)
		return FT_E_TOOBIG;
	if (len < vlen + 1 || memcmp(buf, FT_PROTO_VERSION "\n", vlen + 1) != 0)
		return FT_E_PROTO;
	memset(&ev, 0, sizeof(ev));
	for (pos = vlen + 1; pos < len;) {
		const char *nl = memchr(buf + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - buf) : len;
		int r = decode_line(buf + pos, end - pos, &ev, &seen);

		if (r < 0)
			return r;
		pos = end + 1;
	}
	if (ev.user[0] == '\0')
		return FT_E_PROTO;
	/* Re-encoded, a missing last '\n' is one byte more: keep it in. */
	if (len == FT_PROTO_MAX && buf[len - 1] != '\n')
		return FT_E_TOOBIG;
	*ret_ev = ev;
	return FT_OK;
}
