/* test_probe_bpf.c: the bpf backend against procfs over the same real
 * processes, which the test starts with known threads, memory, I/O, CPU
 * and fds. Every field that never changes must be equal; every counter of
 * an idle process must lie between two procfs reads made before and after
 * the bpf read, give or take what the two sources are known to differ by:
 * a clock tick of CPU (procfs counts in ticks) and the per-CPU batches of
 * the mm counters that /proc sums since Linux 6.16 and the iterator does
 * not (docs/PROBES.md). Skipped where BPF cannot be loaded. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/pc_err.h"
#include "platform/pc_platform.h"
#include "probe/pc_probe.h"
#include "pc_probe_test.h"
#include "pc_spawn.h"
#include "pc_testdir.h"

#define MIB      (1024u * 1024u)
#define CHILDREN 3

static const char *child_path;

typedef struct fx {
	pc_probe   *procfs, *bpf;
	pc_snapshot before, mid, after; /* procfs, bpf, procfs */
	pc_child   *child[CHILDREN];
	uint32_t    pid[CHILDREN];
} fx;

static int
setup(void **state)
{
	fx  *f = calloc(1, sizeof(*f));
	char why[512], io[400], line[64];

	assert_non_null(f);
	if (pc_probe_open_why("bpf", &f->bpf, why, sizeof(why)) != PC_OK) {
		print_message("bpf backend not available here: %s\n", why);
		free(f);
		return -1;
	}
	assert_int_equal(pc_probe_open("procfs", &f->procfs), PC_OK);
	for (int i = 0; i < CHILDREN; i++) {
		assert_int_equal(pc_test_path(io, sizeof(io), NULL), 0);
		const char *argv[] = { child_path, io, "--token", "s3cret", NULL };
		assert_non_null(f->child[i] = pc_child_start(argv));
		assert_int_equal(pc_child_read_line(f->child[i], line, sizeof(line)), 0);
		f->pid[i] = pc_child_pid(f->child[i]);
	}
	/* Known, and different for each: threads, memory, I/O, CPU. */
	pc_test_command(f->child[0], "threads 4");
	pc_test_command(f->child[0], "alloc 48");
	pc_test_command(f->child[1], "write 2048");
	pc_test_command(f->child[1], "spin 300");
	pc_test_command(f->child[2], "threads 1");
	pc_test_command(f->child[2], "spin 120");
	pc_test_command(f->child[2], "alloc 8");
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	fx *f = *state;

	for (int i = 0; i < CHILDREN; i++) {
		pc_child_kill(f->child[i]);
	}
	pc_snapshot_fini(&f->before);
	pc_snapshot_fini(&f->mid);
	pc_snapshot_fini(&f->after);
	pc_probe_close(f->bpf);
	pc_probe_close(f->procfs);
	free(f);
	return 0;
}

/* procfs, bpf, procfs, as close together as they can be. */
static void
three_reads(fx *f)
{
	assert_int_equal(pc_probe_processes_by_pid(f->procfs, 0, true, &f->before), PC_OK);
	assert_int_equal(pc_probe_processes_by_pid(f->bpf, 0, true, &f->mid), PC_OK);
	assert_int_equal(pc_probe_processes_by_pid(f->procfs, 0, true, &f->after), PC_OK);
}

static void
same_string(const char *what, const char *a, const char *b)
{
	if ((a == NULL) != (b == NULL) || (a != NULL && strcmp(a, b) != 0)) {
		fail_msg("%s: procfs '%s', bpf '%s'", what, a ? a : "(null)", b ? b : "(null)");
	}
}

/* v lies in [lo - slack, hi + slack]. */
static void
within(const char *what, uint64_t v, uint64_t lo, uint64_t hi, uint64_t slack)
{
	if (lo > hi) {
		uint64_t t = lo;
		lo         = hi;
		hi         = t;
	}
	if (v + slack < lo || v > hi + slack) {
		fail_msg("%s: bpf %llu, procfs %llu then %llu (slack %llu)", what,
		         (unsigned long long)v, (unsigned long long)lo, (unsigned long long)hi,
		         (unsigned long long)slack);
	}
}

/* The state letter of pid in /proc/PID/stat, '?' when unreadable. */
static char
proc_state(uint32_t pid)
{
	char  path[64], buf[512], *rp;
	FILE *fp;
	char  st = '?';

	snprintf(path, sizeof(path), "/proc/%u/stat", pid);
	if ((fp = fopen(path, "r")) != NULL) {
		if (fgets(buf, sizeof(buf), fp) != NULL && (rp = strrchr(buf, ')')) != NULL &&
		    rp[1] == ' ') {
			st = rp[2];
		}
		fclose(fp);
	}
	return st;
}

static void
test_static_fields_equal(void **state)
{
	fx *f = *state;

	/* A child that has just answered its last command may not be back in
	 * its read yet: wait (2 s at most) until each sleeps, then read. */
	for (int i = 0; i < CHILDREN; i++) {
		for (int t = 0; t < 200 && proc_state(f->pid[i]) != 'S'; t++) {
			pc_sleep_ms(10);
		}
	}
	three_reads(f);
	for (int i = 0; i < CHILDREN; i++) {
		const pc_proc *a = pc_test_find(&f->before, f->pid[i]),
		              *b = pc_test_find(&f->mid, f->pid[i]);
		assert_non_null(a);
		assert_non_null(b);
		assert_int_equal(b->create_time_ms, a->create_time_ms);
		assert_int_equal(b->ppid, a->ppid);
		assert_int_equal(b->ppid, pc_self_pid());
		same_string("name", a->name, b->name);
		same_string("exe", a->exe, b->exe);
		same_string("cmdline", a->cmdline, b->cmdline);
		same_string("user", a->user, b->user);
		assert_non_null(strstr(b->cmdline, "--token ********"));
		assert_int_equal(b->kernel, a->kernel);
		assert_int_equal(b->partial, a->partial);
		/* Idle children, blocked reading their stdin. */
		same_string("state", a->state, b->state);
		assert_string_equal(b->state, "S");
		same_string("cgroup", a->cgroup, b->cgroup);
		assert_non_null(b->cgroup);
		same_string("container_id", a->container_id, b->container_id);
		same_string("pod_uid", a->pod_uid, b->pod_uid);
		same_string("service", a->service, b->service);
	}
	/* The machine's processes too: every one in both reads (not started or
	 * ended between them) has the same identity; kernel threads are
	 * flagged by both. */
	size_t both = 0, kernel = 0, idle = 0, idle_same = 0;
	for (size_t i = 0; i < f->mid.n; i++) {
		const pc_proc *b = &f->mid.procs[i], *a = pc_test_find(&f->before, b->pid);
		const pc_proc *c = pc_test_find(&f->after, b->pid);
		if (a == NULL || c == NULL || a->create_time_ms != c->create_time_ms) {
			continue;
		}
		both++;
		kernel += b->kernel;
		assert_int_equal(b->create_time_ms, a->create_time_ms);
		assert_int_equal(b->ppid, a->ppid);
		assert_int_equal(b->kernel, a->kernel);
		if (!b->kernel) { /* a kworker's name follows its work */
			same_string("name", a->name, b->name);
		}
		/* Not the cgroup: another test may move its children, which
		 * procfs sees up to 8 ticks late (test_context_linux checks
		 * both backends' context). */
		/* A kernel thread idle in both procfs reads is idle in the bpf
		 * read between them, 'I' as /proc has it, but for one that ran
		 * in between (a kworker woken by the load of the machine):
		 * counted, and most must agree. */
		if (b->kernel && a->state != NULL && c->state != NULL &&
		    strcmp(a->state, "I") == 0 && strcmp(c->state, "I") == 0) {
			idle++;
			idle_same += b->state != NULL && strcmp(b->state, "I") == 0;
		}
	}
	print_message("%zu processes in both backends' reads, %zu of them kernel threads; "
	              "%zu of %zu idle kernel threads idle in bpf too\n",
	              both, kernel, idle_same, idle);
	assert_true(both > 10);
	assert_true(kernel > 0);
	assert_true(idle_same * 10 >= idle * 9);
}

static void
test_counters_agree(void **state)
{
	fx      *f     = *state;
	uint64_t tick  = 1000000u / (uint64_t)sysconf(_SC_CLK_TCK); /* us */
	uint64_t page  = (uint64_t)sysconf(_SC_PAGESIZE);
	long     ncpu  = sysconf(_SC_NPROCESSORS_CONF);
	uint64_t batch = (uint64_t)(ncpu * 2 > 32 ? ncpu * 2 : 32); /* percpu_counter_batch */

	three_reads(f);
	for (int i = 0; i < CHILDREN; i++) {
		const pc_proc *a = pc_test_find(&f->before, f->pid[i]),
		              *b = pc_test_find(&f->mid, f->pid[i]);
		const pc_proc *c = pc_test_find(&f->after, f->pid[i]);
		assert_non_null(a);
		assert_non_null(b);
		assert_non_null(c);
		print_message("child %d: threads %u fds %u cpu %llu+%llu us rss %llu KiB private "
		              "%llu KiB wrote %llu KiB (bpf)\n",
		              i, b->threads, b->handles, (unsigned long long)b->cpu_user_us,
		              (unsigned long long)b->cpu_system_us,
		              (unsigned long long)b->rss_bytes / 1024,
		              (unsigned long long)b->private_bytes / 1024,
		              (unsigned long long)b->io_write_bytes / 1024);
		/* Idle since its last command: these do not move. */
		within("threads", b->threads, a->threads, c->threads, 0);
		within("handles", b->handles, a->handles, c->handles, 0);
		within("page_faults", b->page_faults, a->page_faults, c->page_faults, 0);
		within("io_read_bytes", b->io_read_bytes, a->io_read_bytes, c->io_read_bytes, 0);
		within("io_write_bytes", b->io_write_bytes, a->io_write_bytes, c->io_write_bytes,
		       0);
		within("io_read_ops", b->io_read_ops, a->io_read_ops, c->io_read_ops, 0);
		within("io_write_ops", b->io_write_ops, a->io_write_ops, c->io_write_ops, 0);
		within("rss_bytes", b->rss_bytes, a->rss_bytes, c->rss_bytes, 0);
		/* /proc counts CPU in whole ticks; the iterator in ns. */
		within("cpu_user_us", b->cpu_user_us, a->cpu_user_us, c->cpu_user_us, tick);
		within("cpu_system_us", b->cpu_system_us, a->cpu_system_us, c->cpu_system_us, tick);
		/* statm and status sum the anon and swap counters' per-CPU
		 * batches (Linux 6.16 and later); the iterator reads the shared
		 * counts, as stat does. */
		within("private_bytes", b->private_bytes, a->private_bytes, c->private_bytes,
		       2 * (uint64_t)ncpu * batch * page);
		within("peak_rss_bytes", b->peak_rss_bytes, a->peak_rss_bytes, c->peak_rss_bytes,
		       3 * (uint64_t)ncpu * batch * page);
	}
	/* What the children did, seen by the iterator. */
	const pc_proc *t0 = pc_test_find(&f->mid, f->pid[0]),
	              *t1 = pc_test_find(&f->mid, f->pid[1]);
	const pc_proc *t2 = pc_test_find(&f->mid, f->pid[2]);
	assert_int_equal(t0->threads, 5);
	assert_int_equal(t2->threads, 2);
	assert_true(t0->rss_bytes >= 48u * MIB);
	assert_true(t0->private_bytes >= 40u * MIB);
	assert_true(t1->io_write_bytes >= 2048u * 1024u);
	assert_true(t1->io_write_ops >= 2048u);
	assert_true(t1->cpu_user_us + t1->cpu_system_us + tick >= 300000u);
	assert_true(t2->cpu_user_us + t2->cpu_system_us + tick >= 120000u);
	assert_true(t0->handles >= 3); /* stdin, stdout, stderr at least */
}

/* A thread that exits leaves its CPU time, faults and I/O in the signal
 * struct: summed over live threads only, the process's totals would drop
 * when it ends. */
static void
test_dead_threads_count(void **state)
{
	fx            *f    = *state;
	uint64_t       tick = 1000000u / (uint64_t)sysconf(_SC_CLK_TCK);
	const pc_proc *b;
	uint64_t       cpu0;

	assert_int_equal(pc_probe_processes_by_pid(f->bpf, 0, true, &f->mid), PC_OK);
	b    = pc_test_find(&f->mid, f->pid[2]);
	cpu0 = b->cpu_user_us + b->cpu_system_us;
	pc_test_command(f->child[2], "tspin 200"); /* a thread spins 200 ms, and ends */
	three_reads(f);
	const pc_proc *a = pc_test_find(&f->before, f->pid[2]),
	              *c = pc_test_find(&f->after, f->pid[2]);
	b                = pc_test_find(&f->mid, f->pid[2]);
	print_message("after a thread spun 200 ms and ended: cpu %llu -> %llu us (bpf), "
	              "threads %u\n",
	              (unsigned long long)cpu0,
	              (unsigned long long)(b->cpu_user_us + b->cpu_system_us), b->threads);
	assert_int_equal(b->threads, 2);
	assert_true(b->cpu_user_us + b->cpu_system_us + tick >= cpu0 + 200000u);
	within("cpu_user_us", b->cpu_user_us, a->cpu_user_us, c->cpu_user_us, tick);
	within("cpu_system_us", b->cpu_system_us, a->cpu_system_us, c->cpu_system_us, tick);
	within("page_faults", b->page_faults, a->page_faults, c->page_faults, 0);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_static_fields_equal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_counters_agree, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dead_threads_count, setup, teardown),
	};

	if (argc < 2) {
		fprintf(stderr, "usage: test_probe_bpf PC_CHILD\n");
		return 2;
	}
	child_path = argv[1];
	return cmocka_run_group_tests(tests, NULL, NULL);
}
