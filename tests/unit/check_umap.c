/* SPDX-License-Identifier: Apache-2.0 */
/* check_umap.c: the user-name hash map. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "ft_err.h"
#include "umap.h"

Suite *umap_suite(void);

static int
count(void *ctx, const char *key, void *val)
{
	size_t *n = ctx;

	(void)key;
	(void)val;
	(*n)++;
	return 0;
}

START_TEST(test_put_get_del)
{
	struct umap *m = umap_new();
	char key[32];
	size_t i, n = 0;
	int dummy[3];

	ck_assert_ptr_nonnull(m);
	ck_assert_ptr_null(umap_get(m, "alice"));
	ck_assert_int_eq(umap_put(m, "alice", &dummy[0]), FT_OK);
	ck_assert_int_eq(umap_put(m, "bob", &dummy[1]), FT_OK);
	ck_assert_ptr_eq(umap_get(m, "alice"), &dummy[0]);
	ck_assert_int_eq(umap_put(m, "alice", &dummy[2]), FT_OK);
	ck_assert_ptr_eq(umap_get(m, "alice"), &dummy[2]);
	ck_assert_uint_eq(umap_size(m), 2);
	ck_assert_ptr_eq(umap_del(m, "alice"), &dummy[2]);
	ck_assert_ptr_null(umap_del(m, "alice"));
	ck_assert_uint_eq(umap_size(m), 1);
	/* growth keeps every key */
	for (i = 0; i < 20000; i++) {
		(void)snprintf(key, sizeof(key), "user%zu", i);
		ck_assert_int_eq(umap_put(m, key, (void *)(uintptr_t)(i + 1)),
				 FT_OK);
	}
	for (i = 0; i < 20000; i++) {
		(void)snprintf(key, sizeof(key), "user%zu", i);
		ck_assert_ptr_eq(umap_get(m, key), (void *)(uintptr_t)(i + 1));
	}
	ck_assert_int_eq(umap_each(m, count, &n), 0);
	ck_assert_uint_eq(n, 20001);
	umap_free(m, NULL);
	umap_free(NULL, NULL);
}

END_TEST

START_TEST(test_free_values)
{
	struct umap *m = umap_new();

	ck_assert_ptr_nonnull(m);
	ck_assert_int_eq(umap_put(m, "a", malloc(10)), FT_OK);
	ck_assert_int_eq(umap_put(m, "b", malloc(10)), FT_OK);
	umap_free(m, free); /* LeakSanitizer proves both are freed */
}

END_TEST

Suite *
umap_suite(void)
{
	Suite *s = suite_create("umap");
	TCase *tc = tcase_create("map");

	tcase_add_test(tc, test_put_get_del);
	tcase_add_test(tc, test_free_values);
	suite_add_tcase(s, tc);
	return s;
}
