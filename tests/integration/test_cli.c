/* test_cli.c: pidcast-query and pidcast-sub against a real agent: output,
 * exit statuses (0 found, 1 not found, 2 other errors), no hang. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "platform/pc_platform.h"
#include "pc_spawn.h"
#include "pc_testdir.h"

static const char *agent_path, *query_path, *sub_path;
static pc_child   *agent;
static char        pub[300], rpc[300], agent_pid[16];

/* Runs a client to its end; returns its exit status, and its output. */
static int
run(const char *const *argv, char *out, size_t cap)
{
	pc_child *c = pc_child_start(argv);
	size_t    n = 0;
	char      line[65536];

	assert_non_null(c);
	out[0] = '\0';
	while (pc_child_read_line(c, line, sizeof(line)) == 0) {
		int w = snprintf(out + n, cap - n, "%s\n", line);
		n += w > 0 && (size_t)w < cap - n ? (size_t)w : 0;
	}
	return pc_child_wait(c);
}

static int
setup(void **state)
{
	char        bound[512];
	const char *argv[] = { agent_path,
		               "--publish",
		               "tcp://127.0.0.1:0",
		               "--rpc",
		               "tcp://127.0.0.1:0",
		               "--interval",
		               "200ms",
		               "--host",
		               "clihost",
		               "--bound-file",
		               bound,
		               NULL };

	(void)state;
	if (pc_test_path(bound, sizeof(bound), "agent.bound") != 0) {
		return 1;
	}
	agent = pc_child_start(argv);
	snprintf(agent_pid, sizeof(agent_pid), "%u", agent ? pc_child_pid(agent) : 0);
	/* The ports the OS gave it, once it listens. */
	return agent == NULL || pc_test_bound(bound, "publish", pub, sizeof(pub), 10000) != 0 ||
	       pc_test_bound(bound, "rpc", rpc, sizeof(rpc), 10000) != 0;
}

static int
teardown(void **state)
{
	(void)state;
	pc_child_kill(agent);
	return 0;
}

static void
test_query_get(void **state)
{
	static char out[1 << 16];
	const char *found[]   = { query_path, "--rpc", rpc, "--json", "get", agent_pid, NULL };
	const char *missing[] = { query_path, "--rpc", rpc, "get", "2147483632", NULL };
	char        want[64];

	(void)state;
	assert_int_equal(run(found, out, sizeof(out)), 0);
	snprintf(want, sizeof(want), "{\"pid\":%s,", agent_pid);
	assert_non_null(strstr(out, want));
	assert_non_null(strstr(out, "\"name\":\"pidcast-agent"));
	assert_non_null(strstr(out, "\"host\":\"clihost\""));
	assert_int_equal(run(missing, out, sizeof(out)), 1);
}

static void
test_query_list_top_snapshot(void **state)
{
	static char out[1 << 20];
	const char *list[] = { query_path, "--rpc",  rpc,          "--json",
		               "list",     "--name", "pidcast-a*", NULL };
	const char *top[]  = { query_path, "--rpc", rpc, "top", "3", "--by", "rss", NULL };
	const char *snap[] = { query_path, "--rpc", rpc, "--json", "snapshot", NULL };
	char        want[64];

	(void)state;
	assert_int_equal(run(list, out, sizeof(out)), 0);
	snprintf(want, sizeof(want), "{\"pid\":%s,", agent_pid);
	assert_non_null(strstr(out, want));
	assert_null(strstr(out, "\"name\":\"systemd"));
	assert_int_equal(run(top, out, sizeof(out)), 0);
	assert_non_null(strstr(out, "PID"));
	assert_int_equal(run(snap, out, sizeof(out)), 0);
	assert_non_null(strstr(out, want));
}

/* An agent that is not there: a clear error within the timeout, exit 2. */
static void
test_query_unreachable_times_out(void **state)
{
	static char out[4096];
	const char *argv[] = { query_path,  "--rpc", "tcp://127.0.0.1:9",
		               "--timeout", "500ms", "get",
		               "1",         NULL };
	const char *bad[]  = { query_path, "frobnicate", NULL };
	uint64_t    t0     = pc_clock_mono_us();

	(void)state;
	assert_int_equal(run(argv, out, sizeof(out)), 2);
	assert_true(pc_clock_mono_us() - t0 < 5000000u);
	assert_int_equal(run(bad, out, sizeof(out)), 2);
}

static void
test_sub_json_events(void **state)
{
	static char out[1 << 20];
	const char *argv[] = { sub_path, pub, "--rpc", rpc, "--json", "--updates", "3", NULL };
	char        want[64];

	(void)state;
	assert_int_equal(run(argv, out, sizeof(out)), 0);
	snprintf(want, sizeof(want), "{\"event\":\"new\",\"host\":\"clihost\",\"pid\":%s,",
	         agent_pid);
	assert_non_null(strstr(out, want));
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_query_get),
		cmocka_unit_test(test_query_list_top_snapshot),
		cmocka_unit_test(test_query_unreachable_times_out),
		cmocka_unit_test(test_sub_json_events),
	};

	if (argc < 4) {
		fprintf(stderr, "usage: test_cli AGENT QUERY SUB\n");
		return 2;
	}
	agent_path = argv[1];
	query_path = argv[2];
	sub_path   = argv[3];
	return cmocka_run_group_tests(tests, setup, teardown);
}
