/* SPDX-License-Identifier: Apache-2.0 */
/* hooks_exec.c: one run of the on_change program, through extprog. */
#include "hooks_exec.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "extprog.h"
#include "ft_err.h"
#include "timing.h"

int
hooks_exec_run(const char *path, const char *buf, size_t len,
	       unsigned timeout_s, char *why, size_t cap)
{
	uint64_t deadline = timing_now_ms() + (uint64_t)timeout_s * 1000u;
	struct extprog *p = NULL;
	int r, st = -1;

	r = extprog_start(path, HOOKS_SOCKET, "on_change", &p, why, cap);
	if (r < 0)
		return r;
	r = extprog_write(p, buf, len, deadline);
	/* a hook that stops reading (EPIPE, or its output not read) is
	 * judged by its exit status all the same */
	if (r == FT_E_AGAIN)
		deadline = 0;
	r = extprog_wait(p, deadline, &st);
	extprog_free(p);
	if (r == FT_OK && st == 0)
		return FT_OK;
	if (r == FT_E_AGAIN) {
		(void)snprintf(why, cap, "still running after %u s: stopped",
			       timeout_s);
		return FT_E_AGAIN;
	}
	if (r == FT_E_PROTO || st < 0)
		(void)snprintf(why, cap,
			       "no exit status (the connection "
			       "closed without one)");
	else if (st > 128)
		(void)snprintf(why, cap, "killed by signal %d", st - 128);
	else
		(void)snprintf(why, cap, "exit status %d", st);
	return FT_E_DATA;
}
