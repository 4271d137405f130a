/* test_soak.c: a long run of the agent's pipeline (probe, cache, delta,
 * Update encoded and framed, decoded, applied to a replica) with a
 * scripted probe that starts, changes and ends processes every tick. The
 * replica must equal the probe's table throughout, and the resident size
 * (VmRSS; the working set on Windows) must stay flat: it prints a sample
 * every tenth of the run.
 *
 * usage: test_soak TICKS MARGIN_KIB. MARGIN_KIB 0 only prints the samples
 * (under valgrind and ASan, whose own memory is in the figure). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "table/pc_cache.h"
#include "base/pc_err.h"
#include "pc_fake_probe.h"
#include "stream/pc_replica.h"
#include "pc_spawn.h"
#include "wire/pc_update.h"

#define PROCS    300 /* the table's size, held steady */
#define CHURN    4   /* processes started and ended each tick */
#define CHANGES  30  /* processes whose counters move each tick */
#define KEYFRAME 100 /* a keyframe every this many ticks, as the agent */

static unsigned long ticks      = 100000;
static unsigned long margin_kib = 0;

static const pc_proc *
cache_next(const void *table, size_t *cursor)
{
	return pc_cache_next(table, cursor);
}

/* The script of one tick: some processes end, as many start (a PID
 * sometimes coming back with a new start time), some change. */
static void
churn(pc_fake *fake, unsigned long t, uint32_t *next_pid)
{
	for (int k = 0; k < CHURN; k++) {
		pc_fake_remove(fake, fake->procs[(size_t)rand() % fake->n].pid);
	}
	while (fake->n < PROCS) {
		uint32_t pid = rand() % 8 == 0 ? 1000u + (uint32_t)(rand() % 200) : (*next_pid)++;
		if (pc_fake_find(fake, pid) == NULL) {
			assert_non_null(pc_fake_add(fake, pid, 1000 + t));
		}
	}
	for (int k = 0; k < CHANGES; k++) {
		pc_proc *p = &fake->procs[(size_t)rand() % fake->n];
		p->cpu_user_us += (uint64_t)(rand() % 5000);
		p->rss_bytes = 4096u * (uint64_t)(1 + rand() % 10000);
		p->io_read_bytes += (uint64_t)(rand() % 100000);
		if (k == 0) {
			char title[32];
			snprintf(title, sizeof(title), "worker %lu", t % 97);
			pc_proc_set_str(p, PC_F_CMDLINE, title);
		}
	}
}

/* The replica holds exactly the probe's table. */
static void
assert_replica_is(const pc_replica *r, const pc_fake *fake)
{
	assert_int_equal(pc_replica_count(r), fake->n);
	for (size_t i = 0; i < fake->n; i++) {
		const pc_proc *got = pc_replica_get(r, fake->procs[i].pid);
		assert_non_null(got);
		assert_int_equal(pc_proc_diff(got, &fake->procs[i]), 0);
	}
}

static void
test_soak(void **state)
{
	pc_fake      *fake = pc_fake_open();
	pc_cache     *cache;
	pc_replica   *rep;
	pc_snapshot   snap     = { 0 };
	pc_delta      delta    = { 0 };
	pc_encoder    enc      = { 0 };
	uint32_t      next_pid = 2000;
	unsigned long every = ticks >= 10 ? ticks / 10 : 1, warm = 0, last = 0, peak = 0;

	(void)state;
	srand(7);
	assert_non_null(fake);
	assert_int_equal(pc_cache_open(&cache, NULL), PC_OK);
	assert_int_equal(pc_replica_open(&rep), PC_OK);
	while (fake->n < PROCS) {
		pc_fake_add(fake, next_pid++, 1);
	}
	for (unsigned long t = 1; t <= ticks; t++) {
		pc_update_hdr    h = { "soak", 42, t, 1700000000000u + t * 100u, 100 };
		Pidcast__Update *u;
		pc_apply         res;

		churn(fake, t, &next_pid);
		assert_int_equal(pc_probe_processes_by_pid(&fake->base, h.time_ms, true, &snap),
		                 PC_OK);
		assert_int_equal(pc_cache_update(cache, &snap, &delta), PC_OK);
		if (t % KEYFRAME == 1) {
			assert_int_equal(pc_encoder_keyframe(&enc, &h, cache_next, cache,
			                                     pc_cache_count(cache)),
			                 PC_OK);
		} else {
			assert_int_equal(pc_encoder_delta(&enc, &h, &delta), PC_OK);
		}
		assert_int_equal(pc_encoder_frame(&enc), PC_OK);
		assert_int_equal(pc_update_parse(enc.frame.data, enc.frame.len, &u), PC_OK);
		assert_int_equal(pc_replica_apply(rep, u, NULL, NULL, &res), PC_OK);
		assert_int_equal(res, PC_APPLIED);
		pidcast__update__free_unpacked(u, NULL);

		if (t % every == 0) {
			assert_replica_is(rep, fake);
			last = pc_test_rss_kib();
			warm = warm == 0 ? last : warm; /* the first sample is after warm-up */
			peak = last > peak ? last : peak;
			print_message("tick %7lu: resident %lu KiB, next PID %u\n", t, last,
			              next_pid);
		}
	}
	print_message("%lu ticks of %d processes (%d started and ended, %d changed a tick): "
	              "resident %lu KiB after warm-up, %lu KiB at the end, %lu KiB at most\n",
	              ticks, PROCS, CHURN, CHANGES, warm, last, peak);
	if (margin_kib > 0) {
		assert_true(peak <= warm + margin_kib);
	}
	pc_encoder_fini(&enc);
	pc_delta_fini(&delta);
	pc_snapshot_fini(&snap);
	pc_replica_close(rep);
	pc_cache_close(cache);
	pc_fake_close(fake);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_soak),
	};

	if (argc > 1) {
		ticks = strtoul(argv[1], NULL, 10);
	}
	if (argc > 2) {
		margin_kib = strtoul(argv[2], NULL, 10);
	}
	if (ticks == 0) {
		fprintf(stderr, "usage: test_soak TICKS [MARGIN_KIB]\n");
		return 2;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
