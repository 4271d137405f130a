/* test_json.c: JSON lines are valid whatever bytes a command line holds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "pc_fixture.h"
#include "wire/pc_json.h"

static void
test_string_escapes(void **state)
{
	pc_buf b = { 0 };

	(void)state;
	pc_json_str(&b, "a\"b\\c\nd\te\x01 é进 \xff\xc3(\xed\xa0\x80z");
	assert_int_equal(b.err, 0);
	assert_string_equal(
	        b.data, "\"a\\\"b\\\\c\\nd\\te\\u0001 é进 \\ufffd\\ufffd(\\ufffd\\ufffd\\ufffdz\"");
	pc_buf_reset(&b);
	pc_json_str(&b, NULL);
	assert_string_equal(b.data, "null");
	pc_buf_fini(&b);
}

static void
test_record_has_key_and_masked_fields(void **state)
{
	pc_proc p = { 0 };
	pc_buf  b = { 0 };

	(void)state;
	pc_fixture_proc(&p, 5);
	pc_json_proc(&b, &p, PC_BIT(PC_F_THREADS) | PC_BIT(PC_F_PARTIAL) | PC_BIT(PC_F_RSS_BYTES));
	assert_int_equal(b.err, 0);
	assert_string_equal(b.data, "{\"pid\":1005,\"create_time_ms\":1700000000005,\"threads\":47,"
	                            "\"rss_bytes\":42949672975,\"partial\":true}");
	pc_proc_clear(&p);
	pc_buf_fini(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_string_escapes),
		cmocka_unit_test(test_record_has_key_and_masked_fields),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
