/* test_hist_row.c: the history's rows and their bounded ring (pc_hist_row):
 * order kept through a failed batch put back, bytes counted exactly as
 * rows come, go and are dropped, and a row's text read back whole. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "pc_fixture.h"
#include "pc_hist_row.h"

static void
push_sample(pc_hqueue *q, uint32_t pid)
{
	pc_hrow row = { .kind = PC_HROW_SAMPLE, .pid = pid };

	assert_int_equal(pc_hqueue_push(q, &row), 0);
}

static void
test_ring_order(void **state)
{
	pc_hqueue q = { 0 };
	pc_hrow   batch[5000];
	size_t    n;

	(void)state;
	for (uint32_t i = 0; i < 3000; i++) {
		push_sample(&q, i);
	}
	assert_int_equal(q.bytes, 3000 * sizeof(pc_hrow));
	n = pc_hqueue_take(&q, batch, 1000);
	assert_int_equal(n, 1000);
	assert_int_equal(batch[0].pid, 0);
	assert_int_equal(batch[999].pid, 999);
	/* More come while the batch is out (the ring wraps and grows). */
	for (uint32_t i = 3000; i < 6000; i++) {
		push_sample(&q, i);
	}
	/* The batch failed: back in front, in its order. */
	assert_int_equal(pc_hqueue_unshift(&q, batch, n), 0);
	assert_int_equal(q.n, 6000);
	assert_int_equal(q.bytes, 6000 * sizeof(pc_hrow));
	for (uint32_t want = 0; q.n > 0;) {
		n = pc_hqueue_take(&q, batch, 777);
		for (size_t i = 0; i < n; i++) {
			assert_int_equal(batch[i].pid, want++);
		}
	}
	assert_int_equal(q.bytes, 0);
	pc_hqueue_fini(&q);
}

static void
test_text_and_drop(void **state)
{
	pc_hqueue q = { 0 };
	pc_proc   p = { 0 };
	pc_hrow   row, out;
	size_t    bytes;

	(void)state;
	pc_fixture_proc(&p, 7);
	p.exit.known  = true;
	p.exit.code   = 3;
	p.exit.signal = 0;
	assert_int_equal(pc_hrow_of_proc(&row, PC_HROW_EXIT, 2, &p, 1234), 0);
	assert_string_equal(pc_hrow_str(&row, PC_HT_NAME), p.name);
	assert_string_equal(pc_hrow_str(&row, PC_HT_CMDLINE), p.cmdline);
	assert_string_equal(pc_hrow_str(&row, PC_HT_CGROUP), p.cgroup != NULL ? p.cgroup : "");
	assert_true(row.exit_known);
	assert_int_equal(row.exit_code, 3);
	assert_int_equal(row.host, 2);
	assert_int_equal(row.time_ms, 1234);
	assert_int_equal(row.cpu_user_us, p.cpu_user_us);
	bytes = pc_hrow_bytes(&row);
	assert_true(bytes > sizeof(row) + strlen(p.cmdline));
	assert_int_equal(pc_hqueue_push(&q, &row), 0);
	push_sample(&q, 9);
	assert_int_equal(q.bytes, bytes + sizeof(pc_hrow));
	/* The oldest goes first, with its text. */
	assert_int_equal(pc_hqueue_drop(&q), bytes);
	assert_int_equal(q.bytes, sizeof(pc_hrow));
	assert_int_equal(pc_hqueue_take(&q, &out, 1), 1);
	assert_int_equal(out.pid, 9);
	assert_int_equal(pc_hqueue_drop(&q), 0); /* empty */
	/* A sample carries no text; a start does, as a start. */
	assert_int_equal(pc_hrow_of_proc(&row, PC_HROW_SAMPLE, 0, &p, 1), 0);
	assert_null(row.text);
	assert_string_equal(pc_hrow_str(&row, PC_HT_NAME), "");
	assert_int_equal(pc_hrow_of_proc(&row, PC_HROW_START, 0, &p, p.create_time_ms), 0);
	assert_false(row.exit_known);
	assert_string_equal(pc_hrow_str(&row, PC_HT_USER), p.user);
	pc_hrow_free(&row);
	pc_hqueue_fini(&q);
	pc_proc_clear(&p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ring_order),
		cmocka_unit_test(test_text_and_drop),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
