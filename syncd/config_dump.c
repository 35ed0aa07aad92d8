/* SPDX-License-Identifier: Apache-2.0 */
/* config_dump.c: the effective config, one "section.key = value" line each. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <syslog.h>
#include <unistd.h>

#include "config_int.h"
#include "ft_err.h"
#include "ft_util.h"
#include "ldap_map.h"

/* ---- dump ------------------------------------------------------------- */

static const char *
word_name(const struct word *w, int value)
{
	for (; w->name != NULL; w++)
		if (w->value == value)
			return w->name;
	return "?";
}

static void
format_list(const struct strlist *l, char *buf, size_t len)
{
	size_t i, n = 0;

	buf[0] = '\0';
	for (i = 0; i < l->n && n < len; i++)
		n += (size_t)snprintf(buf + n, len - n, "%s%s",
				      i > 0 ? ", " : "", l->v[i]);
}

/* The words of the flags set in v, comma-separated, in table order. */
static void
format_flags(const struct word *w, unsigned v, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	for (; w->name != NULL && n < len; w++)
		if (v & (unsigned)w->value)
			n += (size_t)snprintf(buf + n, len - n, "%s%s",
					      n > 0 ? ", " : "", w->name);
}

/* The value of k in config syntax; dumping may truncate a long value. */
static void
format_value(const struct config *cfg, const struct key *k, char *buf,
	     size_t len)
{
	const void *p = conf_cfield(cfg, k);
	const struct limit *lim = p;
	const char *s = NULL;
	int e;

	switch (k->kind) {
	case K_BOOL:
		s = *(const bool *)p ? "yes" : "no";
		break;
	case K_UINT:
		(void)snprintf(buf, len, "%u", *(const unsigned *)p);
		return;
	case K_ULONG:
		(void)snprintf(buf, len, "%lu", *(const unsigned long *)p);
		return;
	case K_ENUM:
		memcpy(&e, p, sizeof(e));
		s = word_name(k->words, e);
		break;
	case K_LIST:
		format_list(p, buf, len);
		return;
	case K_LIMIT:
		(void)snprintf(buf, len, "%lu%s", lim->value,
			       lim->percent ? "%" : "");
		return;
	case K_FLAGS:
		format_flags(k->words, *(const unsigned *)p, buf, len);
		return;
	case K_STR:
	case K_PATH:
	case K_URI:
	case K_URL:
	case K_FILTER:
	case K_ATTR:
	case K_MAP:
		s = *(char *const *)p;
		break;
	}
	(void)snprintf(buf, len, "%s", s != NULL ? s : "");
}

void
config_dump(const struct config *cfg, void (*emit)(void *ctx, const char *line),
	    void *ctx)
{
	char value[1024], line[1200];
	const char *secret;
	size_t i;

	for (i = 0; i < CONF_NKEYS; i++) {
		format_value(cfg, &conf_keys[i], value, sizeof(value));
		(void)snprintf(line, sizeof(line), "%s.%s =%s%s",
			       conf_keys[i].section, conf_keys[i].name,
			       value[0] != '\0' ? " " : "", value);
		emit(ctx, line);
		if (!(conf_keys[i].flags & F_SECRET))
			continue;
		secret = *(char *const *)(const void *)((const char *)cfg +
							conf_keys[i].secret);
		/* "bind_password_file" -> "bind_password" */
		(void)snprintf(
			line, sizeof(line), "%s.%.*s = %s",
			conf_keys[i].section,
			(int)(strlen(conf_keys[i].name) - strlen("_file")),
			conf_keys[i].name,
			secret != NULL ? "(set)" : "(unset)");
		emit(ctx, line);
	}
	conf_groupmap_dump(cfg, emit, ctx);
}
