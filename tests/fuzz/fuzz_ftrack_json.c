/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_ftrack_json.c: decoding ftrack replies (syncd/ftrack_json.h).
 *
 * Input: byte 0 picks the HTTP status (statuses[b0 % 16]), byte 1 the
 * number of operations (b1 % 8), the rest is the body.  The reply is
 * parsed; on success every result index (and one past the end) goes
 * through ftrack_reply_users, _markers, _next, _data_len,
 * _server_version and _entity_id.  Checked: codes in the documented set,
 * an error and exception name within their buffers that, as shown (the
 * log and the commands pass them through the one cleaner, ft_clean.h),
 * are one line free of C0 and C1 controls, DEL and bidi overrides, counts
 * that match what was appended, lists unchanged on failure, and every
 * decoded string within its limit, UTF-8, without NUL.
 */
#include <string.h>

#include "ft_clean.h"
#include "ft_err.h"
#include "ft_user.h"
#include "ft_util.h"
#include "ftrack_json.h"
#include "fuzz.h"

static const long statuses[16] = {200, 201, 400, 401, 403, 404, 409, 422,
				  429, 500, 502, 503, 504, 0,   302, 599};

/*
 * NUL-terminated within cap; the text is kept as the server sent it and
 * shown through the one cleaner: as shown, valid UTF-8 with no C0 or C1
 * control, DEL, bidi override or isolate, nor U+2028/U+2029.
 */
static void
check_clean(const char *s, size_t cap)
{
	size_t len = strnlen(s, cap), n, i = 0;
	char *shown;

	fuzz_check(len < cap);
	shown = malloc(FT_CLEAN_CAP(len));
	if (shown == NULL)
		fuzz_fail("out of memory");
	n = ft_clean(shown, FT_CLEAN_CAP(len), s, len);
	while (i < n) {
		unsigned cp = 0;
		size_t k = ft_utf8_next(shown + i, n - i, &cp);

		fuzz_check(k > 0);
		fuzz_check(cp >= 0x20 && cp != 0x7f &&
			   !(cp >= 0x80 && cp <= 0x9f) &&
			   !(cp >= 0x202a && cp <= 0x202e) &&
			   !(cp >= 0x2066 && cp <= 0x2069) && cp != 0x2028 &&
			   cp != 0x2029);
		i += k;
	}
	free(shown);
}

/* A decoded string: NULL, or UTF-8 of at most max bytes. */
static void
check_str(const char *s, size_t max, bool required)
{
	if (s == NULL) {
		fuzz_check(!required);
		return;
	}
	fuzz_check(strlen(s) <= max);
	fuzz_check(ft_utf8_valid(s, strlen(s)));
}

static void
check_users(const struct ftrack_reply *rep, size_t i)
{
	struct ft_user_list list = {NULL, 0, 0};
	size_t count = 0, k;
	int r;

	r = ftrack_reply_users(rep, i, &list, &count);
	if (r != FT_OK) {
		fuzz_check(r == FT_E_MALFORMED || r == FT_E_NOMEM);
		fuzz_check(list.n == 0);
		ft_user_list_clear(&list);
		return;
	}
	fuzz_check(count == list.n);
	fuzz_check(list.n <= ftrack_reply_data_len(rep, i));
	for (k = 0; k < list.n; k++) {
		const struct ft_user *u = &list.v[k];

		check_str(u->id, FTRACK_ID_MAX, true);
		check_str(u->username, FTRACK_STR_MAX, true);
		check_str(u->email, FTRACK_STR_MAX, false);
		check_str(u->first_name, FTRACK_STR_MAX, false);
		check_str(u->last_name, FTRACK_STR_MAX, false);
	}
	/* A second call appends the same number after what is there. */
	r = ftrack_reply_users(rep, i, &list, &count);
	fuzz_check(r == FT_OK || r == FT_E_NOMEM);
	fuzz_check(r != FT_OK || list.n == 2 * count);
	ft_user_list_clear(&list);
}

static void
check_markers(const struct ftrack_reply *rep, size_t i)
{
	struct ftrack_marker_list list = {NULL, 0, 0};
	size_t count = 0, k;
	int r;

	r = ftrack_reply_markers(rep, i, &list, &count);
	if (r != FT_OK) {
		fuzz_check(r == FT_E_MALFORMED || r == FT_E_NOMEM);
		fuzz_check(list.n == 0);
		ftrack_marker_list_clear(&list);
		return;
	}
	fuzz_check(count == list.n);
	fuzz_check(list.n <= ftrack_reply_data_len(rep, i));
	for (k = 0; k < list.n; k++) {
		check_str(list.v[k].parent_id, FTRACK_ID_MAX, true);
		check_str(list.v[k].key, FTRACK_STR_MAX, true);
		check_str(list.v[k].value, FTRACK_STR_MAX, true);
	}
	ftrack_marker_list_clear(&list);
}

static void
check_result(const struct ftrack_reply *rep, size_t i)
{
	char out[FTRACK_ID_MAX + 1];
	long long next = -2;
	int r;

	check_users(rep, i);
	check_markers(rep, i);
	r = ftrack_reply_next(rep, i, &next);
	fuzz_check(r == FT_OK || r == FT_E_MALFORMED);
	fuzz_check(r != FT_OK || next >= -1);
	(void)ftrack_reply_data_len(rep, i);
	r = ftrack_reply_server_version(rep, i, out, sizeof(out));
	fuzz_check(r == FT_OK || r == FT_E_MALFORMED || r == FT_E_TOOBIG);
	fuzz_check(r != FT_OK || strlen(out) < sizeof(out));
	r = ftrack_reply_entity_id(rep, i, out, sizeof(out));
	fuzz_check(r == FT_OK || r == FT_E_MALFORMED || r == FT_E_TOOBIG);
	fuzz_check(r != FT_OK || strlen(out) < sizeof(out));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ftrack_reply *rep = NULL;
	char exc[FTRACK_EXC_MAX], err[256];
	size_t nops, i;
	long status;
	int r;

	if (size < 2)
		return 0;
	status = statuses[data[0] % 16];
	nops = data[1] % 8u;
	memset(exc, 'x', sizeof(exc));
	memset(err, 'x', sizeof(err));
	r = ftrack_reply_parse((const char *)data + 2, size - 2, status, nops,
			       &rep, exc, sizeof(exc), err, sizeof(err));
	if (r != FT_OK) {
		fuzz_check(rep == NULL);
		/* FT_E_SEAT: an exception naming the licence (issue 12) */
		fuzz_check(r == FT_E_HTTP || r == FT_E_AUTH || r == FT_E_DATA ||
			   r == FT_E_MALFORMED || r == FT_E_NOMEM ||
			   r == FT_E_SEAT);
		check_clean(exc, sizeof(exc));
		check_clean(err, sizeof(err));
		fuzz_check(err[0] != '\0');
		return 0;
	}
	fuzz_check(rep != NULL);
	/* One past the end too: a missing result is malformed, not a crash. */
	for (i = 0; i <= nops; i++)
		check_result(rep, i);
	ftrack_reply_free(rep);
	return 0;
}
