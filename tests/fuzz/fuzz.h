/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz.h: what every fuzz target in tests/fuzz/ shares.
 *
 * Each tests/fuzz/fuzz_<name>.c defines LLVMFuzzerTestOneInput().  It is
 * linked either with libFuzzer (`make fuzz`: clang, ASan+UBSan) or with
 * tests/fuzz/replay.c (`make check-fuzz`: gcc, runs a corpus folder).
 * A target returns 0 for every input; a broken invariant calls
 * fuzz_fail(), which prints the reason and aborts, so that both drivers
 * report it as a crash.  Targets are single-threaded and keep at most
 * read-only state across calls.
 */
#ifndef FT_FUZZ_H
#define FT_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Abort with "fuzz: <what>" on stderr: an invariant did not hold. */
#define fuzz_fail(what)                                                        \
	do {                                                                   \
		(void)fprintf(stderr, "fuzz: %s:%d: %s\n", __FILE__, __LINE__, \
			      (what));                                         \
		abort();                                                       \
	} while (0)

/* Abort unless cond holds. */
#define fuzz_check(cond)                                                       \
	do {                                                                   \
		if (!(cond))                                                   \
			fuzz_fail("check failed: " #cond);                     \
	} while (0)

#endif
