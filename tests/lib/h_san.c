/* SPDX-License-Identifier: Apache-2.0 */
/* h_san.c: test library: sanitizer reports in outputs, ASan's options. */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ft_err.h"

/* What ASan, LSan, UBSan and TSan print at the head of a report. */
static const char *const marks[] = {
	"ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
	"runtime error:", "WARNING: ThreadSanitizer"};

bool
h_san_text(const char *text)
{
	size_t i;

	if (text == NULL)
		return false;
	for (i = 0; i < sizeof(marks) / sizeof(marks[0]); i++) {
		if (strstr(text, marks[i]) != NULL)
			return true;
	}
	return false;
}

bool
h_san_file(const char *path)
{
	char *text = h_read_file(path, NULL);
	bool yes = h_san_text(text);

	free(text);
	return yes;
}

int
h_san_small_quarantine(void)
{
#ifdef H_ASAN
	const char *old = getenv("ASAN_OPTIONS");
	char opts[1024];
	int n;

	n = snprintf(opts, sizeof(opts), "%s%squarantine_size_mb=16",
		     old != NULL ? old : "",
		     old != NULL && old[0] != '\0' ? ":" : "");
	if (n < 0 || (size_t)n >= sizeof(opts))
		return FT_E_TOOBIG;
	if (setenv("ASAN_OPTIONS", opts, 1) < 0)
		return FT_E_IO;
#endif
	return FT_OK;
}
