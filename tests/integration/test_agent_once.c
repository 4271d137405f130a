/* test_agent_once.c: pidcast-agent --once --json prints one valid JSON
 * object a process, every key of DESIGN.md, and lists itself correctly. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "record/pc_proc.h"
#include "pc_spawn.h"

static const char *agent_path;

/* The number after "key": in a JSON line, or -1 when absent. */
static long long
num(const char *line, const char *key)
{
	char        pat[64];
	const char *at;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	at = strstr(line, pat);
	return at != NULL ? strtoll(at + strlen(pat), NULL, 10) : -1;
}

static void
test_once_json_lists_itself(void **state)
{
	const char *argv[] = { agent_path, "--once", "--json", NULL };
	pc_child   *c      = pc_child_start(argv);
	char        line[65536];
	int         lines = 0, self = 0;
	uint32_t    pid;

	(void)state;
	assert_non_null(c);
	pid = pc_child_pid(c);
	while (pc_child_read_line(c, line, sizeof(line)) == 0) {
		lines++;
		assert_int_equal(line[0], '{');
		assert_int_equal(line[strlen(line) - 1], '}');
		assert_true(num(line, "pid") >= 0);
		assert_true(num(line, "create_time_ms") >= 0);
		for (int f = 0; f < PC_F_COUNT; f++) {
			char key[64];
			snprintf(key, sizeof(key), "\"%s\":", pc_fields[f].name);
			assert_non_null(strstr(line, key));
		}
		if (num(line, "pid") != (long long)pid) {
			continue;
		}
		self++;
		assert_true(strstr(line, "\"name\":\"pidcast-agent") != NULL);
		assert_int_equal(num(line, "ppid"), pc_self_pid());
		assert_true(num(line, "threads") >= 1);
		assert_true(num(line, "rss_bytes") > 0);
		assert_true(num(line, "io_read_bytes") >= 0);
		assert_true(num(line, "io_write_bytes") >= 0);
		assert_non_null(strstr(line, "\"partial\":false"));
		assert_non_null(strstr(line, "--once"));
		assert_non_null(strstr(line, "--json"));
	}
	assert_int_equal(pc_child_wait(c), 0);
	assert_true(lines > 1);
	assert_int_equal(self, 1);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_once_json_lists_itself),
	};

	if (argc < 2) {
		fprintf(stderr, "usage: test_agent_once PATH-OF-pidcast-agent\n");
		return 2;
	}
	agent_path = argv[1];
	return cmocka_run_group_tests(tests, NULL, NULL);
}
