/* SPDX-License-Identifier: Apache-2.0 */
/* check_array.c: array_grow(), the one way an array grows. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>

#include "array.h"
#include "ft_err.h"

Suite *array_suite(void);

/* want, first, max, cap before -> result, cap after. */
static const struct {
	size_t cap, want, first, max;
	int r;
	size_t cap_after;
} rows[] = {
	{0, 1, 64, 0, FT_OK, 64},
	{0, 65, 64, 0, FT_OK, 128},
	{0, 1000, 64, 0, FT_OK, 1024},
	{64, 64, 64, 0, FT_OK, 64},  /* enough room: nothing to do */
	{64, 65, 64, 0, FT_OK, 128}, /* doubles from the capacity */
	{0, 1, 0, 0, FT_OK, 1},      /* first 0 means 1 */
	{0, 10, 64, 40, FT_OK, 40},  /* never past max */
	{40, 41, 64, 40, FT_E_TOOBIG, 40},
	{0, 3, 1, 0, FT_OK, 4},
};

START_TEST(test_grow_table)
{
	const __typeof__(rows[0]) *row = &rows[_i];
	int *v = NULL;
	size_t cap = 0, i;

	if (row->cap > 0) {
		ck_assert_int_eq(
			array_grow(&v, &cap, row->cap, sizeof(*v), row->cap, 0),
			FT_OK);
		ck_assert_uint_eq(cap, row->cap);
		for (i = 0; i < cap; i++)
			v[i] = (int)i;
	}
	ck_assert_int_eq(array_grow(&v, &cap, row->want, sizeof(*v), row->first,
				    row->max),
			 row->r);
	ck_assert_uint_eq(cap, row->cap_after);
	for (i = 0; i < row->cap; i++) /* the old elements are kept */
		ck_assert_int_eq(v[i], (int)i);
	for (i = 0; row->r == FT_OK && i < row->want; i++)
		v[i] = -1; /* the room is really there (ASan would say) */
	free(v);
}

END_TEST

START_TEST(test_grow_refusals)
{
	char *v = NULL;
	size_t cap = 0;

	/* a size of 0 is a caller's bug */
	ck_assert_int_eq(array_grow(&v, &cap, 1, 0, 1, 0), FT_E_INVAL);
	ck_assert_ptr_null(v);
	/* a count whose bytes overflow: no memory, nothing changed */
	ck_assert_int_eq(array_grow(&v, &cap, SIZE_MAX / 2 + 2, 1, 1, 0),
			 FT_E_NOMEM);
	ck_assert_int_eq(array_grow(&v, &cap, SIZE_MAX / 8, 16, 1, 0),
			 FT_E_NOMEM);
	ck_assert_ptr_null(v);
	ck_assert_uint_eq(cap, 0);
}

END_TEST

Suite *
array_suite(void)
{
	Suite *s = suite_create("array");
	TCase *tc = tcase_create("array");

	tcase_add_loop_test(tc, test_grow_table, 0,
			    sizeof(rows) / sizeof(rows[0]));
	tcase_add_test(tc, test_grow_refusals);
	suite_add_tcase(s, tc);
	return s;
}
