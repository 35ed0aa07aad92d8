/* SPDX-License-Identifier: Apache-2.0 */
/*
 * log.h: the daemon's log, to syslog or stderr.
 *
 * Only drivers (main.c, cmd_run.c, the command implementations) log; units
 * return FT_E_* codes and reasons.  Messages read "unable to <verb>
 * <object>: <reason>", with user-controlled strings in single quotes.
 * Every line passes through the one cleaner (ft_clean.h) after it is
 * formatted: whatever an argument holds (a newline, a terminal escape, a
 * bidi override), the line is one line of printable text, at most
 * FT_CLEAN_LINE_MAX bytes before escaping, cut with a visible mark.
 * Thread-safe after log_init (syslog(3) and a single fprintf are).
 */
#ifndef LOG_H
#define LOG_H

#include <stdbool.h>
#include <syslog.h>

#include "ft_attrs.h"

/* Log to syslog (ident, LOG_DAEMON) or stderr, up to max_level. */
void log_init(const char *ident, bool to_stderr, int max_level);

/* Change the level and target (after a reload). */
void log_set(bool to_stderr, int max_level);

/* True when prio would be written (to skip building costly messages). */
bool log_enabled(int prio);

/* Log one line at prio (LOG_ERR ... LOG_DEBUG), cleaned. */
void log_msg(int prio, const char *fmt, ...) FT_PRINTF(2, 3);

#define log_error(...) log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARNING, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
