/* test_idmap.c: the id map agrees with a plain array through random churn. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "base/pc_err.h"
#include "base/pc_idmap.h"

enum { KEYS = 5000 };

static void
test_random_churn_matches_reference(void **state)
{
	static char  tag[KEYS]; /* values are pointers into this */
	static void *ref[KEYS];
	pc_idmap     m = PC_IDMAP_INIT;
	size_t       n = 0;

	(void)state;
	srand(7);
	for (int i = 0; i < 200000; i++) {
		uint32_t k = (uint32_t)rand() % KEYS; /* key 0 included */
		if (rand() % 3 != 0) {
			assert_int_equal(pc_idmap_set(&m, k, &tag[k]), PC_OK);
			n += ref[k] == NULL;
			ref[k] = &tag[k];
		} else {
			assert_ptr_equal(pc_idmap_remove(&m, k), ref[k]);
			n -= ref[k] != NULL;
			ref[k] = NULL;
		}
		assert_int_equal(pc_idmap_count(&m), n);
		if (i % 1000 == 0) {
			for (uint32_t j = 0; j < KEYS; j++) {
				assert_ptr_equal(pc_idmap_get(&m, j), ref[j]);
			}
		}
	}
	/* Iteration visits each entry once. */
	size_t   cur = 0, seen = 0;
	uint32_t id;
	void    *v;
	while ((v = pc_idmap_next(&m, &cur, &id)) != NULL) {
		assert_ptr_equal(v, ref[id]);
		seen++;
	}
	assert_int_equal(seen, n);
	/* Emptied, it shrinks and still works. */
	for (uint32_t j = 0; j < KEYS; j++) {
		pc_idmap_remove(&m, j);
	}
	assert_int_equal(pc_idmap_count(&m), 0);
	assert_true(m.cap <= 32);
	assert_null(pc_idmap_get(&m, 3));
	assert_int_equal(pc_idmap_set(&m, 3, &tag[3]), PC_OK);
	assert_ptr_equal(pc_idmap_get(&m, 3), &tag[3]);
	assert_int_equal(pc_idmap_set(&m, 4, NULL), PC_EINVAL);
	pc_idmap_fini(&m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_random_churn_matches_reference),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
