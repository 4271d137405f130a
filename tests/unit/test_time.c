/* test_time.c: the moments the history queries take (pc_time): ISO 8601
 * in UTC and with offsets, ages, and every malformed one refused with a
 * reason. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base/pc_time.h"

#define NOW 1796194200000ull /* 2026-12-02T06:50:00Z */

static uint64_t
ok(const char *s)
{
	uint64_t t        = 0;
	char     err[160] = "";

	if (pc_time_parse(s, NOW, &t, err, sizeof(err)) != 0) {
		fail_msg("'%s' refused: %s", s, err);
	}
	return t;
}

static void
refused(const char *s, const char *why)
{
	uint64_t t = 42;
	char     err[160];

	assert_int_equal(pc_time_parse(s, NOW, &t, err, sizeof(err)), -1);
	assert_int_equal(t, 42); /* unchanged */
	if (strstr(err, why) == NULL) {
		fail_msg("'%s': '%s' does not say '%s'", s, err, why);
	}
}

static void
test_iso(void **state)
{
	(void)state;
	assert_int_equal(ok("1970-01-01T00:00:00Z"), 0);
	assert_int_equal(ok("2026-12-02T06:50:00Z"), NOW);
	assert_int_equal(ok("2026-12-02T06:50Z"), NOW);
	assert_int_equal(ok("2026-12-02 06:50:00z"), NOW);
	assert_int_equal(ok("2026-12-02T06:50:00.25Z"), NOW + 250);
	assert_int_equal(ok("2026-12-02T06:50:00.123456Z"), NOW + 123);
	assert_int_equal(ok("2026-12-02T08:50:00+02:00"), NOW);
	assert_int_equal(ok("2026-12-02T01:20:00-0530"), NOW);
	assert_int_equal(ok("2026-12-02"), NOW - (6 * 60 + 50) * 60000ull);
	assert_int_equal(ok("2024-02-29T00:00:00Z"), 1709164800000ull);
	assert_int_equal(ok("2000-02-29T00:00:00Z"), 951782400000ull);
}

static void
test_ages(void **state)
{
	(void)state;
	assert_int_equal(ok("now"), NOW);
	assert_int_equal(ok("90s"), NOW - 90000);
	assert_int_equal(ok("15m"), NOW - 900000);
	assert_int_equal(ok("2h"), NOW - 7200000);
	assert_int_equal(ok("3d"), NOW - 3 * 86400000ull);
	assert_int_equal(ok("1w"), NOW - 7 * 86400000ull);
	assert_int_equal(ok("250ms"), NOW - 250);
	assert_int_equal(ok("0s"), NOW);
}

static void
test_refused(void **state)
{
	(void)state;
	refused("", "empty");
	refused("yesterday", "not a time");
	refused("15", "a number and a unit");
	refused("15 m", "a number and a unit");
	refused("-5m", "not a time");
	refused("5M", "a number and a unit");
	refused("30000d", "before 1970");
	refused("2026-02-29T00:00:00Z", "no such date");
	refused("2026-13-01T00:00:00Z", "no such date");
	refused("2026-00-10T00:00:00Z", "no such date");
	refused("1969-12-31T23:59:59Z", "no such date");
	refused("2026-12-02T24:00:00Z", "no such time of day");
	refused("2026-12-02T06:60Z", "no such time of day");
	refused("2026-12-02T06:50:00", "say the zone");
	refused("2026-12-02T6:50Z", "HH:MM");
	refused("2026-12-02T06:50:00.Z", "needs digits");
	refused("2026-12-02T06:50:00+2", "offset");
	refused("2026-12-02T06:50:00Zjunk", "unexpected text");
	refused("2026-1-2", "not a time");
	refused("1970-01-01T00:00:00+01:00", "before 1970");
}

static void
test_format_and_durations(void **state)
{
	char     buf[PC_TIME_STR];
	uint64_t d;

	(void)state;
	pc_time_format(NOW, buf);
	assert_string_equal(buf, "2026-12-02T06:50:00Z");
	pc_time_format(NOW + 5, buf);
	assert_string_equal(buf, "2026-12-02T06:50:00.005Z");
	assert_int_equal(ok(buf), NOW + 5);
	pc_time_format(0, buf);
	assert_string_equal(buf, "1970-01-01T00:00:00Z");
	/* Every day of four centuries goes there and back. */
	for (int64_t z = 0; z < 146097 * 4; z += 1) {
		int64_t  y;
		unsigned m, dd;
		pc_civil_from_days(z, &y, &m, &dd);
		assert_int_equal(pc_days_from_civil(y, m, dd), z);
	}
	assert_int_equal(pc_duration_parse("7d", &d), 0);
	assert_int_equal(d, 7 * 86400000ull);
	assert_int_equal(pc_duration_parse("10s", &d), 0);
	assert_int_equal(d, 10000);
	assert_int_equal(pc_duration_parse("10", &d), -1);
	assert_int_equal(pc_duration_parse("s", &d), -1);
	assert_int_equal(pc_duration_parse("1y", &d), -1);
	assert_int_equal(pc_duration_parse("99999999999999999999d", &d), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_iso),
		cmocka_unit_test(test_ages),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_format_and_durations),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
