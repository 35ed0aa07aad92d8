/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pamtest_syslog.h: capture what the module logs through pam_syslog.
 *
 * pamtest_syslog_run() runs fn(arg) in a child process that has its own
 * mount namespace, where /dev is a fresh tmpfs and /dev/log a datagram
 * socket read by a thread of that child; glibc's syslog() talks to it as
 * to the real one.  Nothing on the host changes.  Needs root (or
 * CAP_SYS_ADMIN); reports "unsupported" otherwise.  Test support code.
 */
#ifndef PAMTEST_SYSLOG_H
#define PAMTEST_SYSLOG_H

#include <stddef.h>

typedef int (*pamtest_syslog_fn)(void *arg);

#define PAMTEST_SYSLOG_UNSUPPORTED 1

/*
 * Run fn(arg) as above.  Returns 0, with fn's return value in *ret_rc
 * and the messages in buf, one per line, each as sent ("<PRI>... text");
 * PAMTEST_SYSLOG_UNSUPPORTED when namespaces cannot be used; -1 on error.
 */
int pamtest_syslog_run(pamtest_syslog_fn fn, void *arg, int *ret_rc, char *buf,
		       size_t cap);

/*
 * Count lines of buf at syslog priority prio (LOG_ERR...; -1: any) that
 * contain needle (NULL: any).
 */
int pamtest_syslog_count(const char *buf, int prio, const char *needle);

#endif
