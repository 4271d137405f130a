/* test_probe.c: the OS probe against a real child process that the test
 * starts and drives: pid, ppid, name, create time, threads, memory, I/O,
 * CPU, and its exit. The same test runs natively on Linux and as a Windows
 * .exe under Wine. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/pc_err.h"
#include "platform/pc_platform.h"
#include "probe/pc_probe.h"
#include "pc_probe_test.h"
#include "pc_spawn.h"

#define MIB (1024u * 1024u)

static const char *child_path;
static const char *backend; /* the probe under test */

typedef struct fx {
	pc_probe   *probe;
	pc_snapshot snap;
	pc_child   *child;
	uint32_t    pid;
	uint64_t    spawn_ms[2]; /* just before and just after the start */
} fx;

static const pc_proc *
tick(fx *f)
{
	assert_int_equal(
	        pc_probe_processes_by_pid(f->probe, pc_clock_realtime_ms(), true, &f->snap), PC_OK);
	return pc_test_find(&f->snap, f->pid);
}

static int
setup(void **state)
{
	char        io[64];
	const char *argv[] = { child_path, io, "--password=hunter2", NULL };
	char        line[64];
	fx         *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(pc_probe_open(backend, &f->probe), PC_OK);
	snprintf(io, sizeof(io), "pc_child_io.%u.tmp", pc_self_pid()); /* its scratch file */
	f->spawn_ms[0] = pc_clock_realtime_ms();
	f->child       = pc_child_start(argv);
	assert_non_null(f->child);
	assert_int_equal(pc_child_read_line(f->child, line, sizeof(line)), 0);
	assert_string_equal(line, "ready");
	f->spawn_ms[1] = pc_clock_realtime_ms();
	f->pid         = pc_child_pid(f->child);
	*state         = f;
	return 0;
}

static int
teardown(void **state)
{
	fx *f = *state;

	if (f->child != NULL) {
		pc_child_kill(f->child);
	}
	pc_snapshot_fini(&f->snap);
	pc_probe_close(f->probe);
	free(f);
	return 0;
}

static void
test_identity(void **state)
{
	fx            *f = *state;
	const pc_proc *r = tick(f);

	assert_non_null(r);
	assert_int_equal(r->pid, f->pid);
	assert_int_equal(r->ppid, pc_self_pid());
	assert_non_null(r->name);
	assert_non_null(strstr(r->name, "pc_child"));
	assert_non_null(r->exe);
	assert_non_null(strstr(r->exe, "pc_child"));
	assert_non_null(r->cmdline);
	assert_non_null(strstr(r->cmdline, "pc_child"));
	/* Scrubbed at the source, on by default. */
	assert_non_null(strstr(r->cmdline, "--password=********"));
	assert_null(strstr(r->cmdline, "hunter2"));
	assert_non_null(r->user);
	assert_false(r->partial);
	assert_false(r->kernel);
	/* Within a second of the spawn. */
	assert_true(r->create_time_ms + 1000 >= f->spawn_ms[0]);
	assert_true(r->create_time_ms <= f->spawn_ms[1] + 1000);
	/* Our own process is listed too. */
	assert_non_null(pc_test_find(&f->snap, pc_self_pid()));
}

static void
test_threads(void **state)
{
	fx      *f = *state;
	uint32_t before;

	assert_non_null(tick(f));
	before = tick(f)->threads;
	assert_true(before >= 1);
	pc_test_command(f->child, "threads 5");
	assert_int_equal(tick(f)->threads, before + 5);
}

static void
test_memory(void **state)
{
	fx            *f = *state;
	const pc_proc *r = tick(f);
	uint64_t       rss0, priv0;

	rss0  = r->rss_bytes;
	priv0 = r->private_bytes;
	assert_true(rss0 > 0);
	pc_test_command(f->child, "alloc 64");
	r = tick(f);
	/* Linux counts a process's pages per CPU and folds them into the
	 * count it reports in batches: up to pc_test_counter_slack() behind. */
	assert_true(r->rss_bytes + pc_test_counter_slack() >= rss0 + 64 * MIB);
	assert_true(r->peak_rss_bytes >= r->rss_bytes);
	if (!pc_test_under_wine()) { /* Wine 8 reports no private bytes */
		assert_true(r->private_bytes + pc_test_counter_slack() >= priv0 + 64 * MIB);
	}
}

static void
test_io(void **state)
{
	fx            *f      = *state;
	const pc_proc *r      = tick(f);
	uint64_t       bytes0 = r->io_write_bytes, ops0 = r->io_write_ops;

	pc_test_command(f->child, "write 1024");
	r = tick(f);
	if (pc_test_under_wine()) {
		/* Wine 8's GetProcessIoCounters succeeds but counts nothing. */
		assert_true(r->io_write_bytes >= bytes0);
		return;
	}
	assert_true(r->io_write_bytes >= bytes0 + 1024 * 1024);
	assert_true(r->io_write_ops >= ops0 + 1024);
}

static void
test_cpu(void **state)
{
	fx            *f    = *state;
	const pc_proc *r    = tick(f);
	uint64_t       cpu0 = r->cpu_user_us + r->cpu_system_us;

	pc_test_command(f->child, "spin 400");
	r = tick(f);
	if (pc_test_under_wine()) {
		/* Wine 8's GetProcessTimes returns fixed CPU times. */
		assert_true(r->cpu_user_us + r->cpu_system_us >= cpu0);
		return;
	}
	/* Clock-tick granularity is 10 ms on Linux, 15.6 ms on Windows. */
	assert_true(r->cpu_user_us + r->cpu_system_us >= cpu0 + 300000);
}

/* The exit shows on the next tick, and the probe lets go of the process.
 * Every backend holds an OS resource of a live process (a handle, held
 * /proc files) but bpf, which reads the kernel's table and holds none. */
static void
test_exit(void **state)
{
	fx *f = *state;

	assert_non_null(tick(f));
	/* procfs holds files up to its fd budget, which a machine with very
	 * many processes uses up before it comes to the child. */
	if (strcmp(backend, "procfs") != 0 || !pc_test_fds_short(f->snap.n)) {
		assert_int_equal(pc_test_holds_resource_of(f->pid), strcmp(backend, "bpf") != 0);
	}
	assert_int_equal(pc_child_wait(f->child), 0);
	f->child = NULL;
	assert_null(tick(f));
	assert_int_equal(pc_test_holds_resource_of(f->pid), 0);
}

static void
test_stats_for_pids(void **state)
{
	fx            *f      = *state;
	uint32_t       pids[] = { f->pid, 0x7ffffff0u };
	const pc_proc *r;

	assert_non_null(tick(f));
	pc_test_command(f->child, "alloc 16");
	assert_int_equal(
	        pc_probe_stats_for_pids(f->probe, pids, 2, pc_clock_realtime_ms(), &f->snap),
	        PC_OK);
	assert_int_equal(f->snap.n, 1); /* the PID that does not exist is left out */
	r = pc_test_find(&f->snap, f->pid);
	assert_non_null(r);
	assert_true(r->rss_bytes >= 16 * MIB);
	assert_true(r->threads >= 1);
}

/* A command line past the default limit, a secret where it cuts: the
 * record holds at most the limit, is marked partial, and has no secret. */
static void
test_long_cmdline(void **state)
{
	fx            *f = *state;
	static char    filler[8][1200], big[16000];
	char           io[64];
	const char    *argv[13];
	size_t         prefix, len;
	pc_child      *c;
	const pc_proc *r;
	int            n = 0;

	snprintf(io, sizeof(io), "pc_child_io.%u.long.tmp", pc_self_pid());
	argv[n++] = child_path;
	argv[n++] = io;
	/* The secret's value near byte 8,192, quotes (Windows) or not. */
	prefix = strlen(child_path) + strlen(io) + 2;
	len    = (8170 - prefix) / 8 - 1;
	for (int i = 0; i < 8; i++) {
		memset(filler[i], 'a' + i, len);
		argv[n++] = filler[i];
	}
	argv[n++] = "--password=SECRETSECRETSECRETSECRETSECRETSECRET";
	memset(big, 'y', sizeof(big) - 1);
	argv[n++] = big;
	argv[n]   = NULL;
	assert_non_null(c = pc_child_start(argv));
	assert_int_equal(pc_child_read_line(c, io, sizeof(io)), 0);
	assert_string_equal(io, "ready");
	assert_int_equal(
	        pc_probe_processes_by_pid(f->probe, pc_clock_realtime_ms(), true, &f->snap), PC_OK);
	r = pc_test_find(&f->snap, pc_child_pid(c));
	assert_non_null(r);
	assert_non_null(r->cmdline);
	printf("# %s: a command line of %zu bytes reported with %zu, partial %d\n", backend,
	       prefix + 8 * (len + 1) + 48 + sizeof(big), strlen(r->cmdline), (int)r->partial);
	assert_true(strlen(r->cmdline) <= PC_CMDLINE_MAX);
	assert_true(strlen(r->cmdline) > PC_CMDLINE_MAX - 200);
	assert_true(r->partial);
	assert_null(strstr(r->cmdline, "SECRET"));
	pc_child_kill(c);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_identity, setup, teardown),
		cmocka_unit_test_setup_teardown(test_threads, setup, teardown),
		cmocka_unit_test_setup_teardown(test_memory, setup, teardown),
		cmocka_unit_test_setup_teardown(test_io, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cpu, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stats_for_pids, setup, teardown),
		cmocka_unit_test_setup_teardown(test_long_cmdline, setup, teardown),
	};

	if (argc < 2) {
		fprintf(stderr, "usage: test_probe PATH-OF-pc_child\n");
		return 2;
	}
	child_path = argv[1];
	/* Every backend built for this OS passes the same tests. */
	int failed = 0;
	for (int i = 0; pc_probe_backends[i] != NULL; i++) {
		backend = pc_probe_backends[i]->name;
		failed += _cmocka_run_group_tests(backend, tests, sizeof(tests) / sizeof(tests[0]),
		                                  NULL, NULL);
	}
	return failed;
}
