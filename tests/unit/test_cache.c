/* test_cache.c: the PID cache and its delta, driven by a scripted probe. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "table/pc_cache.h"
#include "base/pc_err.h"
#include "pc_fake_probe.h"
#include "base/pc_idmap.h"

typedef struct fx {
	pc_fake    *fake;
	pc_cache   *cache;
	pc_snapshot snap;
	pc_delta    delta;
} fx;

static int
open_fx(void **state, const pc_deadband *db)
{
	fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_non_null(f->fake = pc_fake_open());
	assert_int_equal(pc_cache_open(&f->cache, db), PC_OK);
	*state = f;
	return 0;
}

static int
setup(void **state)
{
	return open_fx(state, NULL);
}

static int
setup_deadbands(void **state)
{
	pc_deadband db = { .mem_bytes = 4096, .cpu_us = 1000 };
	return open_fx(state, &db);
}

static int
teardown(void **state)
{
	fx *f = *state;

	pc_cache_close(f->cache);
	pc_fake_close(f->fake);
	pc_snapshot_fini(&f->snap);
	pc_delta_fini(&f->delta);
	free(f);
	return 0;
}

/* One agent tick: snapshot through the probe interface, then the delta. */
static void
tick(fx *f)
{
	assert_int_equal(pc_probe_processes_by_pid(&f->fake->base, 0, true, &f->snap), PC_OK);
	assert_int_equal(pc_cache_update(f->cache, &f->snap, &f->delta), PC_OK);
}

static const pc_upsert *
upsert_of(const fx *f, uint32_t pid)
{
	for (size_t i = 0; i < f->delta.n_upserts; i++) {
		if (f->delta.upserts[i].rec->pid == pid) {
			return &f->delta.upserts[i];
		}
	}
	return NULL;
}

static void
test_new_processes_carry_every_field(void **state)
{
	fx *f = *state;

	pc_fake_add(f->fake, 10, 1000);
	pc_fake_add(f->fake, 11, 1001);
	pc_fake_add(f->fake, 12, 1002);
	tick(f);
	assert_int_equal(f->delta.n_upserts, 3);
	assert_int_equal(f->delta.n_exits, 0);
	for (uint32_t pid = 10; pid <= 12; pid++) {
		const pc_upsert *u = upsert_of(f, pid);
		assert_non_null(u);
		assert_true(u->is_new);
		assert_int_equal(u->mask, PC_MASK_ALL);
		assert_int_equal(pc_proc_diff(u->rec, pc_fake_find(f->fake, pid)), 0);
		assert_int_equal(u->rec->create_time_ms, 1000 + pid - 10);
	}
	assert_int_equal(pc_cache_count(f->cache), 3);
}

static void
test_unchanged_tick_is_empty(void **state)
{
	fx *f = *state;

	pc_fake_add(f->fake, 10, 1000);
	tick(f);
	tick(f);
	assert_int_equal(f->delta.n_upserts, 0);
	assert_int_equal(f->delta.n_exits, 0);
	assert_int_equal(pc_cache_count(f->cache), 1);
}

static void
test_changed_fields_only(void **state)
{
	fx      *f = *state;
	pc_proc *p;

	pc_fake_add(f->fake, 10, 1000);
	pc_fake_add(f->fake, 11, 1001);
	tick(f);
	p = pc_fake_find(f->fake, 11);
	p->rss_bytes += 1;
	p->threads = 77;
	pc_proc_set_str(p, PC_F_CMDLINE, "new --args");
	tick(f);
	assert_int_equal(f->delta.n_upserts, 1);
	assert_int_equal(f->delta.n_exits, 0);
	const pc_upsert *u = upsert_of(f, 11);
	assert_non_null(u);
	assert_false(u->is_new);
	assert_int_equal(u->mask,
	                 PC_BIT(PC_F_RSS_BYTES) | PC_BIT(PC_F_THREADS) | PC_BIT(PC_F_CMDLINE));
	assert_int_equal(u->rec->threads, 77);
	assert_string_equal(u->rec->cmdline, "new --args");
	assert_int_equal(pc_proc_diff(pc_cache_get(f->cache, 11), p), 0);
}

/* A probe's text_id stands for its text: the same id, and the strings are
 * not compared (the cache's copy is taken as current); a new id, or none,
 * and they are. */
static void
test_text_id(void **state)
{
	fx      *f = *state;
	pc_proc *p;

	pc_fake_add(f->fake, 10, 1000);
	p          = pc_fake_find(f->fake, 10);
	p->text_id = 7;
	tick(f);
	/* Changed text under the same id: a probe promises this never
	 * happens, and the cache trusts it (no string compared). */
	pc_proc_set_str(p, PC_F_CMDLINE, "changed --without-a-new-id");
	pc_proc_set_str(p, PC_F_CGROUP, "/moved");
	pc_proc_set_str(p, PC_F_NAME, "renamed"); /* not text: compared */
	tick(f);
	assert_int_equal(f->delta.n_upserts, 1);
	assert_int_equal(upsert_of(f, 10)->mask, PC_BIT(PC_F_NAME));
	/* A new id: the text is compared, and its change sent. */
	p->text_id = 8;
	tick(f);
	assert_int_equal(upsert_of(f, 10)->mask, PC_BIT(PC_F_CMDLINE) | PC_BIT(PC_F_CGROUP));
	assert_string_equal(upsert_of(f, 10)->rec->cgroup, "/moved");
	/* No id: compared every tick. */
	p->text_id = 0;
	pc_proc_set_str(p, PC_F_USER, "nobody");
	tick(f);
	assert_int_equal(upsert_of(f, 10)->mask, PC_BIT(PC_F_USER));
	tick(f);
	assert_int_equal(f->delta.n_upserts, 0);
}

static void
test_exit_carries_the_key(void **state)
{
	fx *f = *state;

	pc_fake_add(f->fake, 10, 1000);
	pc_fake_add(f->fake, 11, 1001);
	tick(f);
	pc_fake_remove(f->fake, 10);
	tick(f);
	assert_int_equal(f->delta.n_upserts, 0);
	assert_int_equal(f->delta.n_exits, 1);
	assert_int_equal(f->delta.exits[0].pid, 10);
	assert_int_equal(f->delta.exits[0].create_time_ms, 1000);
	assert_null(pc_cache_get(f->cache, 10));
	assert_non_null(pc_cache_get(f->cache, 11));
	assert_int_equal(pc_cache_count(f->cache), 1);
}

/* The same PID with another create time: the old process exited, a new one
 * started, in the same tick. */
static void
test_pid_reuse_is_exit_plus_new(void **state)
{
	fx *f = *state;

	pc_fake_add(f->fake, 10, 1000);
	tick(f);
	pc_fake_remove(f->fake, 10);
	pc_fake_add(f->fake, 10, 5000);
	tick(f);
	assert_int_equal(f->delta.n_exits, 1);
	assert_int_equal(f->delta.exits[0].pid, 10);
	assert_int_equal(f->delta.exits[0].create_time_ms, 1000);
	assert_int_equal(f->delta.n_upserts, 1);
	assert_true(f->delta.upserts[0].is_new);
	assert_int_equal(f->delta.upserts[0].mask, PC_MASK_ALL);
	assert_int_equal(f->delta.upserts[0].rec->create_time_ms, 5000);
	assert_int_equal(pc_cache_count(f->cache), 1);
}

/* A process the probe could not open: what the listing gave, flagged. It is
 * published like any other, and the flag clears when it can be read. */
static void
test_partial_record(void **state)
{
	fx      *f = *state;
	pc_proc *p = pc_fake_add(f->fake, 4, 0);

	pc_proc_clear(p);
	p->pid     = 4;
	p->ppid    = 0;
	p->threads = 120;
	p->partial = true;
	pc_proc_set_str(p, PC_F_NAME, "System");
	tick(f);
	assert_int_equal(f->delta.n_upserts, 1);
	const pc_proc *r = f->delta.upserts[0].rec;
	assert_true(r->partial);
	assert_string_equal(r->name, "System");
	assert_int_equal(r->threads, 120);
	assert_null(r->exe);
	assert_null(r->user);

	p->partial = false;
	pc_proc_set_str(p, PC_F_USER, "NT AUTHORITY\\SYSTEM");
	tick(f);
	assert_int_equal(f->delta.n_upserts, 1);
	assert_int_equal(f->delta.upserts[0].mask, PC_BIT(PC_F_PARTIAL) | PC_BIT(PC_F_USER));
}

static void
test_no_deadband_reports_every_change(void **state)
{
	fx      *f = *state;
	pc_proc *p = pc_fake_add(f->fake, 10, 1000);

	tick(f);
	p->rss_bytes += 1;
	p->cpu_user_us += 1;
	tick(f);
	assert_int_equal(f->delta.n_upserts, 1);
	assert_int_equal(f->delta.upserts[0].mask,
	                 PC_BIT(PC_F_RSS_BYTES) | PC_BIT(PC_F_CPU_USER_US));
}

/* Changes inside a deadband are neither reported nor stored, so a slow
 * drift is reported once it adds up past the band. */
static void
test_deadbands(void **state)
{
	fx      *f = *state;
	pc_proc *p = pc_fake_add(f->fake, 10, 1000);
	uint64_t rss0;

	tick(f);
	rss0 = p->rss_bytes;
	p->rss_bytes += 2000;
	p->cpu_system_us += 999;
	tick(f);
	assert_int_equal(f->delta.n_upserts, 0);
	p->rss_bytes += 2000; /* 4000 from the published value: still inside */
	tick(f);
	assert_int_equal(f->delta.n_upserts, 0);
	assert_int_equal(pc_cache_get(f->cache, 10)->rss_bytes, rss0);
	p->rss_bytes += 2000; /* 6000: past the band */
	p->cpu_system_us += 1;
	tick(f);
	assert_int_equal(f->delta.n_upserts, 1);
	assert_int_equal(f->delta.upserts[0].mask,
	                 PC_BIT(PC_F_RSS_BYTES) | PC_BIT(PC_F_CPU_SYSTEM_US));
	assert_int_equal(f->delta.upserts[0].rec->rss_bytes, rss0 + 6000);
	/* Fields without a band are reported at once. */
	p->threads += 1;
	p->rss_bytes -= 10;
	tick(f);
	assert_int_equal(f->delta.n_upserts, 1);
	assert_int_equal(f->delta.upserts[0].mask, PC_BIT(PC_F_THREADS));
}

static void
test_hundred_thousand_processes(void **state)
{
	fx *f = *state;
	enum { N = 100000 };

	for (uint32_t pid = 1; pid <= N; pid++) {
		assert_non_null(pc_fake_add(f->fake, pid * 4, 7000 + pid));
	}
	tick(f);
	assert_int_equal(f->delta.n_upserts, N);
	assert_int_equal(pc_cache_count(f->cache), N);
	/* Change every 100th, remove every 200th (from the end: O(1)). */
	for (size_t i = 0; i < f->fake->n; i += 100) {
		f->fake->procs[i].io_read_bytes += 4096;
	}
	size_t removed = 0;
	while (removed < N / 200) {
		pc_fake_remove(f->fake, f->fake->procs[f->fake->n - 1].pid);
		removed++;
	}
	tick(f);
	assert_int_equal(f->delta.n_exits, N / 200);
	assert_true(f->delta.n_upserts >= N / 100 - N / 200 && f->delta.n_upserts <= N / 100);
	for (size_t i = 0; i < f->delta.n_upserts; i++) {
		assert_int_equal(f->delta.upserts[i].mask, PC_BIT(PC_F_IO_READ_BYTES));
	}
	assert_int_equal(pc_cache_count(f->cache), N - N / 200);
	for (size_t i = 0; i < f->fake->n; i++) {
		const pc_proc *c = pc_cache_get(f->cache, f->fake->procs[i].pid);
		assert_non_null(c);
		assert_int_equal(pc_proc_diff(c, &f->fake->procs[i]), 0);
	}
}

/* A subscriber's mirror: applying every delta in order must rebuild the
 * probe's table exactly, through thousands of ticks of churn. */
static void
mirror_apply(pc_idmap *m, const pc_delta *d)
{
	for (size_t i = 0; i < d->n_exits; i++) {
		pc_proc *p = pc_idmap_remove(m, d->exits[i].pid);
		assert_non_null(p);
		assert_int_equal(p->create_time_ms, d->exits[i].create_time_ms);
		pc_proc_clear(p);
		free(p);
	}
	for (size_t i = 0; i < d->n_upserts; i++) {
		const pc_upsert *u = &d->upserts[i];
		pc_proc         *p = pc_idmap_get(m, u->rec->pid);
		if (u->is_new) {
			assert_null(p);
			assert_non_null(p = calloc(1, sizeof(*p)));
			assert_int_equal(pc_idmap_set(m, u->rec->pid, p), PC_OK);
		}
		assert_non_null(p);
		assert_int_equal(pc_proc_assign(p, u->rec, u->mask), PC_OK);
	}
}

static void
test_churn_mirror_stays_exact(void **state)
{
	fx      *f      = *state;
	pc_idmap mirror = PC_IDMAP_INIT;
	uint32_t next   = 100;
	size_t   cur;
	uint32_t id;
	pc_proc *p;

	srand(12345);
	for (int i = 0; i < 200; i++) {
		pc_fake_add(f->fake, next++, 1);
	}
	for (int t = 0; t < 3000; t++) {
		for (int k = 0; k < 5 && f->fake->n > 0; k++) {
			pc_fake_remove(f->fake, f->fake->procs[(size_t)rand() % f->fake->n].pid);
		}
		for (int k = 0; k < 5; k++) {
			/* Sometimes a PID comes back with a new create time. */
			uint32_t pid = (rand() % 4 == 0) ? 100 + (uint32_t)(rand() % 50) : next++;
			if (pc_fake_find(f->fake, pid) == NULL) {
				pc_fake_add(f->fake, pid, 2 + (uint64_t)t);
			}
		}
		for (int k = 0; k < 20; k++) {
			p = &f->fake->procs[(size_t)rand() % f->fake->n];
			p->cpu_user_us += (uint64_t)rand() % 1000;
			if (k == 0) {
				pc_proc_set_str(p, PC_F_NAME, (t & 1) ? "odd" : "even");
			}
		}
		tick(f);
		mirror_apply(&mirror, &f->delta);
		assert_int_equal(pc_idmap_count(&mirror), f->fake->n);
	}
	for (size_t i = 0; i < f->fake->n; i++) {
		p = pc_idmap_get(&mirror, f->fake->procs[i].pid);
		assert_non_null(p);
		assert_int_equal(p->create_time_ms, f->fake->procs[i].create_time_ms);
		assert_int_equal(pc_proc_diff(p, &f->fake->procs[i]), 0);
	}
	cur = 0;
	while ((p = pc_idmap_next(&mirror, &cur, &id)) != NULL) {
		pc_proc_clear(p);
		free(p);
	}
	pc_idmap_fini(&mirror);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_new_processes_carry_every_field, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_unchanged_tick_is_empty, setup, teardown),
		cmocka_unit_test_setup_teardown(test_changed_fields_only, setup, teardown),
		cmocka_unit_test_setup_teardown(test_text_id, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exit_carries_the_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pid_reuse_is_exit_plus_new, setup, teardown),
		cmocka_unit_test_setup_teardown(test_partial_record, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_deadband_reports_every_change, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_deadbands, setup_deadbands, teardown),
		cmocka_unit_test_setup_teardown(test_hundred_thousand_processes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_churn_mirror_stays_exact, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
