/* SPDX-License-Identifier: Apache-2.0 */
/*
 * timing.h: the daemon's one clock and its one back-off rule.
 *
 * Every duration, deadline and wait in ftrack-syncd is measured on
 * CLOCK_MONOTONIC through timing_now_ms()/timing_now_s(); wall-clock time
 * is used only for what a person reads (timing_now_iso(): markers and
 * reports).  Every retry, of a login (1 s doubling to 15 min) or of one
 * ftrack request, waits timing_backoff_ms(): exponential, capped, with
 * +/-20% jitter from a caller-owned xorshift64* state.  No globals; the
 * functions are thread-safe on distinct states.  Non-logging.
 */
#ifndef TIMING_H
#define TIMING_H

#include <stddef.h>
#include <stdint.h>

/* Milliseconds on CLOCK_MONOTONIC (an arbitrary, fixed origin). */
uint64_t timing_now_ms(void);

/* Seconds on CLOCK_MONOTONIC, with nanosecond resolution. */
double timing_now_s(void);

/* The current UTC time as ISO 8601 ("2026-11-27T14:00:00Z"); "" if len is too small. */
void timing_now_iso(char *buf, size_t len);

/* Unix time t as ISO 8601 UTC ("2026-01-31T12:00:00Z") into buf ("" when
 * it does not fit). */
void timing_iso(long long t, char *buf, size_t len);

/* The unix time of an ISO 8601 UTC text of that form into *ret: FT_OK or
 * FT_E_INVAL (anything else). */
int timing_iso_parse(const char *iso, long long *ret);

/* A non-zero seed for timing_rand(), from getrandom(2) when it can. */
uint64_t timing_seed(void);

/* The next number of the xorshift64* generator whose state is *state. */
uint64_t timing_rand(uint64_t *state);

/*
 * The wait before retry number `attempt` (0: the first retry): base_ms
 * doubled attempt times, at most max_ms, then spread over +/-20% by rnd
 * (any random number), never above max_ms.  Pure.
 */
uint64_t timing_backoff_ms(unsigned attempt, uint64_t base_ms, uint64_t max_ms,
			   uint64_t rnd);

#endif
