/* test_sub_table.c: what pidcast-sub's table keeps and in which order
 * (clients/sub/pc_sub_table.c): kernel threads hidden unless asked for, a
 * filter over name, command line, user and the optional columns in any
 * case, each sort key with ties by PID, totals, the context columns only
 * when a row has a value, and the HOST column only for rows of more than
 * one host (a stream this build's follower cannot
 * yet carry end to end; tests/integration/sub_screen.sh covers the rest on
 * a real screen). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base/pc_err.h"
#include "pc_sub_table.h"

#define N_PROCS 5

/* Five processes: a kernel thread, a busy one, a big one, two idle. */
static pc_proc procs[N_PROCS] = {
	{ .pid = 2, .name = "kthreadd", .kernel = true },
	{ .pid       = 40,
	  .name      = "spin",
	  .cmdline   = "/bin/spin --hard",
	  .user      = "alice",
	  .threads   = 2,
	  .rss_bytes = 1 << 20 },
	{ .pid       = 30,
	  .name      = "hog",
	  .cmdline   = "/bin/hog",
	  .user      = "bob",
	  .threads   = 1,
	  .rss_bytes = 300u << 20 },
	{ .pid       = 10,
	  .name      = "idle",
	  .cmdline   = "/usr/bin/idle QuietMark",
	  .user      = "carol",
	  .threads   = 1,
	  .rss_bytes = 2 << 20 },
	{ .pid = 20, .user = "dave", .threads = 4, .rss_bytes = 2 << 20 }, /* no name */
};
static const double cpu[N_PROCS] = { 0, 99.5, 0.5, 0, 0 };
static const double io[N_PROCS]  = { 0, 10, 0, 5000, 0 };

static void
fill(pc_table *t, const pc_view *v, const char *const *hosts)
{
	pc_table_begin(t);
	for (size_t i = 0; i < N_PROCS; i++) {
		pc_row r = { .p    = &procs[i],
			     .host = hosts != NULL ? hosts[i] : "h1",
			     .cpu  = cpu[i],
			     .io   = io[i] };
		assert_int_equal(pc_table_add(t, v, &r), PC_OK);
	}
	pc_table_end(t, v);
}

static void
assert_pids(const pc_table *t, const uint32_t *want, size_t n)
{
	assert_int_equal(t->n, n);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(t->rows[i].p->pid, want[i]);
	}
}

static void
test_kernel_threads_hidden_unless_asked(void **state)
{
	pc_table t = { 0 };
	pc_view  v = { .sort = PC_SORT_PID };

	(void)state;
	fill(&t, &v, NULL);
	assert_pids(&t, (const uint32_t[]){ 10, 20, 30, 40 }, 4);
	assert_int_equal(t.offered, 5);
	assert_int_equal(t.kernel_hidden, 1);
	v.kernel = true;
	fill(&t, &v, NULL); /* the same table again: begin forgets the last round */
	assert_pids(&t, (const uint32_t[]){ 2, 10, 20, 30, 40 }, 5);
	assert_int_equal(t.kernel_hidden, 0);
	pc_table_fini(&t);
}

static void
test_each_sort_key(void **state)
{
	pc_table t = { 0 };
	pc_view  v = { .kernel = true };

	(void)state;
	v.sort = PC_SORT_CPU; /* then the idle by PID, the kernel thread first */
	fill(&t, &v, NULL);
	assert_pids(&t, (const uint32_t[]){ 40, 30, 2, 10, 20 }, 5);
	v.sort = PC_SORT_MEM; /* 10 and 20 hold the same: by PID */
	fill(&t, &v, NULL);
	assert_pids(&t, (const uint32_t[]){ 30, 10, 20, 40, 2 }, 5);
	v.sort = PC_SORT_IO;
	fill(&t, &v, NULL);
	assert_pids(&t, (const uint32_t[]){ 10, 40, 2, 20, 30 }, 5);
	v.sort = PC_SORT_NAME; /* the nameless last */
	fill(&t, &v, NULL);
	assert_pids(&t, (const uint32_t[]){ 30, 10, 2, 40, 20 }, 5);
	assert_string_equal(pc_sort_name(PC_SORT_MEM), "memory");
	assert_string_equal(pc_sort_name(PC_SORT_IO), "I/O");
	pc_table_fini(&t);
}

static void
test_filter_any_case_over_every_text(void **state)
{
	pc_table t = { 0 };
	pc_view  v = { .sort = PC_SORT_PID };

	(void)state;
	strcpy(v.filter, "SPIN"); /* the name, in another case */
	fill(&t, &v, NULL);
	assert_pids(&t, (const uint32_t[]){ 40 }, 1);
	strcpy(v.filter, "quietmark"); /* only in a command line */
	fill(&t, &v, NULL);
	assert_pids(&t, (const uint32_t[]){ 10 }, 1);
	strcpy(v.filter, "Dav"); /* the user of a process without a name */
	fill(&t, &v, NULL);
	assert_pids(&t, (const uint32_t[]){ 20 }, 1);
	strcpy(v.filter, "/bin/"); /* several */
	fill(&t, &v, NULL);
	assert_pids(&t, (const uint32_t[]){ 10, 30, 40 }, 3);
	strcpy(v.filter, "kthreadd"); /* hidden stays hidden */
	fill(&t, &v, NULL);
	assert_int_equal(t.n, 0);
	strcpy(v.filter, "no such text");
	fill(&t, &v, NULL);
	assert_int_equal(t.n, 0);
	strcpy(v.filter, "web2"); /* the host is one of the texts */
	fill(&t, &v, (const char *const[]){ "web1", "web1", "web2", "web1", "web1" });
	assert_pids(&t, (const uint32_t[]){ 30 }, 1);
	assert_true(pc_has_text("abc", ""));
	assert_false(pc_has_text(NULL, "a"));
	assert_false(pc_has_text("ab", "abc"));
	assert_true(pc_has_text("xxABc", "abC"));
	pc_table_fini(&t);
}

static void
test_totals_of_the_kept_rows(void **state)
{
	pc_table t = { 0 };
	pc_view  v = { .sort = PC_SORT_CPU };

	(void)state;
	fill(&t, &v, NULL);
	assert_int_equal(t.threads, 2 + 1 + 1 + 4);
	assert_int_equal(t.rss_bytes, (1u << 20) + (300u << 20) + (2u << 20) + (2u << 20));
	assert_true(t.cpu > 99.99 && t.cpu < 100.01);
	pc_table_fini(&t);
}

static size_t
host_col(void)
{
	for (size_t i = 0; i < pc_ncols; i++) {
		if (pc_cols[i].source == PC_COL_HOST) {
			return i;
		}
	}
	fail_msg("no HOST column");
	return 0;
}

static void
test_host_column_only_for_many_hosts(void **state)
{
	pc_table t = { 0 };
	pc_view  v = { .sort = PC_SORT_PID, .kernel = true };
	size_t   h = host_col();

	(void)state;
	assert_string_equal(pc_cols[h].header, "HOST");
	fill(&t, &v, NULL);
	assert_false(t.cols & (1u << h));
	fill(&t, &v, (const char *const[]){ "web1", "web1", "web2", "web1", "web1" });
	assert_true(t.cols & (1u << h));
	assert_int_equal(t.rows[3].p->pid, 30);
	assert_string_equal(pc_col_value(&pc_cols[h], &t.rows[3]), "web2");
	/* The second host filtered out: one host shown, no column. */
	strcpy(v.filter, "web1");
	fill(&t, &v, (const char *const[]){ "web1", "web1", "web2", "web1", "web1" });
	assert_int_equal(t.n, 4);
	assert_false(t.cols & (1u << h));
	pc_table_fini(&t);
}

static size_t
col(const char *header)
{
	for (size_t i = 0; i < pc_ncols; i++) {
		if (strcmp(pc_cols[i].header, header) == 0) {
			return i;
		}
	}
	fail_msg("no column %s", header);
	return 0;
}

static void
set(size_t i, pc_field f, const char *v)
{
	*(const char **)((char *)&procs[i] + pc_fields[f].offset) = v;
}

/* The context columns: each shown when a row has a value (the cgroup
 * when two rows differ), each but the state searched by the filter. */
static void
test_context_columns(void **state)
{
	static const char id[] = "0123456789abcdef0123456789abcdef"
	                         "0123456789abcdef0123456789abcdef";
	pc_table          t    = { 0 };
	pc_view           v    = { .sort = PC_SORT_PID, .kernel = true };
	size_t st = col("S"), svc = col("SERVICE"), ctr = col("CONTAINER"), pod = col("POD"),
	       cg = col("CGROUP");

	(void)state;
	fill(&t, &v, NULL); /* none yet */
	assert_int_equal(t.cols, 0);
	for (size_t i = 0; i < N_PROCS; i++) {
		set(i, PC_F_STATE, "S");
		set(i, PC_F_CGROUP, "/");
	}
	set(4, PC_F_STATE, "Z");
	fill(&t, &v, NULL);
	assert_int_equal(t.cols, 1u << st); /* "/" everywhere is no column */
	set(2, PC_F_SERVICE, "hog.service");
	set(2, PC_F_CGROUP, "/system.slice/hog.service");
	set(3, PC_F_CONTAINER_ID, id);
	set(3, PC_F_POD_UID, "1234abcd-5678-90ab-cdef-0123456789ab");
	fill(&t, &v, NULL);
	assert_int_equal(t.cols, (1u << st) | (1u << svc) | (1u << ctr) | (1u << pod) | (1u << cg));
	assert_string_equal(pc_col_value(&pc_cols[svc], &t.rows[3]), "hog.service"); /* pid 30 */
	strcpy(v.filter, "z"); /* a state letter is not searched */
	fill(&t, &v, NULL);
	assert_int_equal(t.n, 0);
	strcpy(v.filter, "HOG.SERVICE");
	fill(&t, &v, NULL);
	assert_pids(&t, (const uint32_t[]){ 30 }, 1);
	assert_true(t.cols & (1u << svc));
	assert_false(t.cols & (1u << cg)); /* one cgroup among the kept rows */
	strcpy(v.filter, id + 40);         /* the whole id, past what the column shows */
	fill(&t, &v, NULL);
	assert_pids(&t, (const uint32_t[]){ 10 }, 1);
	strcpy(v.filter, "90ab-cdef");
	fill(&t, &v, NULL);
	assert_pids(&t, (const uint32_t[]){ 10 }, 1);
	for (size_t i = 0; i < N_PROCS; i++) {
		for (pc_field f = PC_F_STATE; f <= PC_F_SERVICE; f++) {
			set(i, f, NULL);
		}
	}
	pc_table_fini(&t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kernel_threads_hidden_unless_asked),
		cmocka_unit_test(test_each_sort_key),
		cmocka_unit_test(test_filter_any_case_over_every_text),
		cmocka_unit_test(test_totals_of_the_kept_rows),
		cmocka_unit_test(test_host_column_only_for_many_hosts),
		cmocka_unit_test(test_context_columns),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
