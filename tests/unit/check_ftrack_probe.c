/* SPDX-License-Identifier: Apache-2.0 */
/* check_ftrack_probe.c: ftrack_probe.c: the two reads of `check` (emulator). */
#include <check.h>
#include <jansson.h>
#include <stddef.h>
#include <string.h>

#include "ft_err.h"
#include "ftrack_api.h"
#include "h_ftrack.h"
#include "harness.h"

Suite *ftrack_probe_suite(void);

/* The operations other than server information written since seq. */
static size_t
writes_since(long long seq)
{
	json_t *w = h_emu_writes(h_ft_emu, seq), *op;
	size_t i, n = 0;

	ck_assert_ptr_nonnull(w);
	json_array_foreach(w, i, op)
	{
		const char *a =
			json_string_value(json_object_get(op, "action"));

		n += a == NULL || strcmp(a, "query_server_information") != 0;
	}
	json_decref(w);
	return n;
}

/* A working emulator: both reads ok, one request each, nothing written. */
START_TEST(test_probe_ok)
{
	struct ftrack_probe p;
	unsigned long before;
	long long seq;

	h_ft_start(NULL);
	seq = h_emu_last_seq(h_ft_emu);
	ck_assert_int_ge(seq, 0);
	before = h_ft_requests();
	memset(&p, 0x5a, sizeof(p)); /* filled whatever it held */
	ftrack_probe(h_ft_cl, &p);
	ck_assert_int_eq(p.users, FT_OK);
	ck_assert_int_eq(p.markers, FT_OK);
	ck_assert_str_eq(p.users_err, "");
	ck_assert_str_eq(p.markers_err, "");
	ck_assert_uint_eq(h_ft_requests() - before, 2);
	ck_assert_uint_eq(writes_since(seq), 0);
	ck_assert_int_eq(h_emu_named(h_ft_emu, "probe"), 0);
	h_ft_stop();
}

END_TEST

/* The server fails every attempt of the users read: reported, not ok;
 * the markers read after it still runs and succeeds. */
START_TEST(test_probe_server_fails)
{
	struct ftrack_probe p;
	unsigned long before;
	long long seq;

	h_ft_start(NULL);
	ftrack_probe(h_ft_cl, &p); /* warm: whatever the client asks first */
	ck_assert_int_eq(p.users, FT_OK);
	seq = h_emu_last_seq(h_ft_emu);
	before = h_ft_requests();
	/* the client's 4 attempts, all 503 */
	h_ft_fault("{\"count\":4,\"status\":503}");
	ftrack_probe(h_ft_cl, &p);
	ck_assert_int_ne(p.users, FT_OK);
	ck_assert_str_ne(p.users_err, "");
	ck_assert_int_eq(p.markers, FT_OK);
	ck_assert_str_eq(p.markers_err, "");
	ck_assert_uint_eq(h_ft_requests() - before, 5);
	ck_assert_int_eq(h_ft_stat("faults_pending"), 0);
	ck_assert_uint_eq(writes_since(seq), 0);
	h_ft_stop();
}

END_TEST

/* The markers refused (a permission error): that read alone not ok, with
 * the server's exception in its reason. */
START_TEST(test_probe_markers_denied)
{
	struct ftrack_probe p;
	long long seq;

	h_ft_start(NULL);
	ftrack_probe(h_ft_cl, &p);
	ck_assert_int_eq(p.markers, FT_OK);
	seq = h_emu_last_seq(h_ft_emu);
	h_ft_fault("{\"skip\":1,\"exception\":\"PermissionError\","
		   "\"content\":\"Permission denied: cannot read Metadata.\"}");
	ftrack_probe(h_ft_cl, &p);
	ck_assert_int_eq(p.users, FT_OK);
	ck_assert_str_eq(p.users_err, "");
	ck_assert_int_ne(p.markers, FT_OK);
	ck_assert_msg(strstr(p.markers_err, "PermissionError") != NULL &&
			      strstr(p.markers_err, "cannot read Metadata") !=
				      NULL,
		      "%s", p.markers_err);
	ck_assert_uint_eq(writes_since(seq), 0);
	h_ft_stop();
}

END_TEST

Suite *
ftrack_probe_suite(void)
{
	Suite *s = suite_create("ftrack_probe");
	TCase *a = tcase_create("api");

	tcase_set_timeout(a, 60);
	tcase_add_test(a, test_probe_ok);
	tcase_add_test(a, test_probe_server_fails);
	tcase_add_test(a, test_probe_markers_denied);
	suite_add_tcase(s, a);
	return s;
}
