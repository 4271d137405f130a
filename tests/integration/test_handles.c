/* test_handles.c: the agent's open files (Linux) or handles (Windows,
 * also under Wine) come back to their baseline after a churn of pc_child
 * processes, with each probe backend given on the command line. A probe
 * that kept a handle of an exited process would leak one a process. */
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

#define LIVE  4  /* children alive at once */
#define CHURN 24 /* children started and ended in all */

static const char  *agent_path, *child_path;
static const char **probes;
static int          n_probes;

/* The fewest handles over a few samples: a tick opens some for a moment. */
static int
settled_count(uint32_t pid)
{
	int least = -1;

	for (int i = 0; i < 5; i++) {
		int n = pc_test_open_handles(pid);
		least = least < 0 || (n >= 0 && n < least) ? n : least;
		pc_sleep_ms(37);
	}
	return least;
}

/* Nobody connects to the agent here: its sockets take any free port. */
static void
churn_under(const char *probe)
{
	const char *argv[] = {
		agent_path,  "--probe",           probe,   "--interval",        "100ms",
		"--publish", "tcp://127.0.0.1:0", "--rpc", "tcp://127.0.0.1:0", NULL
	};
	const char *child[]     = { child_path, NULL };
	pc_child   *alive[LIVE] = { NULL };
	char        line[256];
	int         base, peak, after = 0, started = 0;

	pc_child *agent = pc_child_start(argv);
	assert_non_null(agent);
	pc_sleep_ms(1500); /* its first ticks: every process read once */
	peak = base = settled_count(pc_child_pid(agent));
	assert_true(base > 0);

	/* Start and end CHURN children, LIVE at a time, each living a tick or
	 * more so that the agent reads it: counted, not timed, since Wine on
	 * a loaded machine starts a process in a second or more. */
	uint64_t t0 = pc_clock_mono_us();
	for (int k = 0; started < CHURN && pc_clock_mono_us() - t0 < 90000000u;
	     k     = (k + 1) % LIVE) {
		if (alive[k] != NULL) {
			assert_int_equal(pc_child_wait(alive[k]), 0);
		}
		assert_non_null(alive[k] = pc_child_start(child));
		assert_int_equal(pc_child_read_line(alive[k], line, sizeof(line)), 0);
		started++;
		pc_sleep_ms(100);
		int n = pc_test_open_handles(pc_child_pid(agent));
		peak  = n > peak ? n : peak;
	}
	for (int k = 0; k < LIVE; k++) {
		assert_int_equal(pc_child_wait(alive[k]), 0);
	}
	for (int i = 0; i < 30 && (after = settled_count(pc_child_pid(agent))) > base; i++) {
		pc_sleep_ms(100);
	}
	print_message("probe %s: %d processes started and ended; the agent's %s: %d before, %d "
	              "at most during, %d after\n",
	              probe, started, pc_test_under_wine() ? "handles (Wine)" : "open files", base,
	              peak, after);
	pc_child_kill(agent);
	assert_int_equal(started, CHURN);
	assert_true(after <= base);
}

static void
test_handles_back_to_baseline(void **state)
{
	(void)state;
	for (int i = 0; i < n_probes; i++) {
		churn_under(probes[i]);
	}
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_handles_back_to_baseline),
	};

	if (argc < 4) {
		fprintf(stderr, "usage: test_handles AGENT PC_CHILD PROBE...\n");
		return 2;
	}
	agent_path = argv[1];
	child_path = argv[2];
	probes     = (const char **)argv + 3;
	n_probes   = argc - 3;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
