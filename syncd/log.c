/* SPDX-License-Identifier: Apache-2.0 */
/* log.c: syslog or stderr logging for the daemon and its commands. */
#include "log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>

#include "ft_clean.h"

static atomic_bool log_stderr = true;
static atomic_int log_level = LOG_INFO;

void
log_init(const char *ident, bool to_stderr, int max_level)
{
	if (!to_stderr)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	log_set(to_stderr, max_level);
}

void
log_set(bool to_stderr, int max_level)
{
	atomic_store(&log_stderr, to_stderr);
	atomic_store(&log_level, max_level);
}

bool
log_enabled(int prio)
{
	return prio <= atomic_load(&log_level);
}

static const char *
prio_word(int prio)
{
	switch (prio) {
	case LOG_EMERG:
	case LOG_ALERT:
	case LOG_CRIT:
	case LOG_ERR:
		return "error";
	case LOG_WARNING:
		return "warning";
	case LOG_NOTICE:
		return "notice";
	case LOG_INFO:
		return "info";
	default:
		return "debug";
	}
}

void
log_msg(int prio, const char *fmt, ...)
{
	char line[FT_CLEAN_LINE_OUT];
	va_list ap;

	if (!log_enabled(prio))
		return;
	/* Every line, whatever the caller passed: one line, no escapes. */
	va_start(ap, fmt);
	(void)ft_clean_vfmt(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (atomic_load(&log_stderr))
		fprintf(stderr, "ftrack-syncd: %s: %s\n", prio_word(prio),
			line);
	else
		syslog(prio, "%s", line);
}
