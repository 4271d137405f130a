/* test_term.c: text printed to a terminal or a log is valid UTF-8 with its
 * control characters escaped, so it can neither drive the terminal nor
 * start a new log line (pc_term). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base/pc_term.h"
#include "base/pc_utf8.h"

#define R PC_UTF8_REPLACEMENT

static void
test_terminal_text(void **state)
{
	pc_buf b = { 0 };

	(void)state;
	assert_int_equal(pc_term_str(&b, "a\n\x1b[2J\t\r\x7f\x01", SIZE_MAX), 22);
	assert_string_equal(b.data, "a\\n\\x1b[2J\\t\\r\\x7f\\x01");
	pc_buf_reset(&b);
	/* C1 controls (CSI), bidi overrides; invalid bytes; the rest kept */
	pc_term_str(&b,
	            "\xc2\x9b"
	            "31m \xe2\x80\xae \xe2\x81\xa6 \xff\xc3 \xc3\xa9\xe8\xbf\x9b\\",
	            SIZE_MAX);
	assert_string_equal(b.data, "\\u009b31m \\u202e \\u2066 " R R " \xc3\xa9\xe8\xbf\x9b\\");
	pc_buf_reset(&b);
	pc_term_str(&b,
	            "a\xe2\x80\xa8"
	            "b\xe2\x80\xa9"
	            "c\xe2\x80\xa7",
	            SIZE_MAX);
	assert_string_equal(b.data, "a\\u2028b\\u2029c\xe2\x80\xa7"); /* U+2027 is text */
	pc_buf_reset(&b);
	/* at most max characters, and never half an escape */
	assert_int_equal(pc_term_str(&b, "h\xc3\xa9llo", 3), 3);
	assert_string_equal(b.data, "h\xc3\xa9l");
	pc_buf_reset(&b);
	assert_int_equal(pc_term_str(&b, "ab\n", 3), 2);
	assert_string_equal(b.data, "ab");
	pc_buf_reset(&b);
	assert_int_equal(pc_term_str(&b, NULL, 5), 0);
	assert_int_equal(b.len, 0);
	pc_buf_fini(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_terminal_text),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
