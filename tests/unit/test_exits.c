/* test_exits.c: exits the probe saw end, through the cache, the encoder,
 * the bytes of the wire and a replica: the final record and the status
 * reach the subscriber's events, for a process it held and for one born
 * and gone between two updates, in deltas and in keyframes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/pc_buf.h"
#include "base/pc_err.h"
#include "stream/pc_replica.h"
#include "table/pc_cache.h"
#include "wire/pc_json.h"
#include "wire/pc_update.h"

typedef struct ev {
	pc_event ev;
	pc_proc  rec; /* a copy */
	pc_mask  mask;
} ev;

typedef struct fx {
	pc_cache   *cache;
	pc_replica *rep;
	pc_snapshot snap;
	pc_delta    delta;
	pc_encoder  enc;
	uint64_t    seq;
	ev          evs[8];
	size_t      n_evs;
} fx;

static void
on_event(void *arg, pc_event e, const pc_proc *rec, pc_mask mask)
{
	fx *f = arg;

	assert_true(f->n_evs < 8);
	f->evs[f->n_evs].ev   = e;
	f->evs[f->n_evs].mask = mask;
	assert_int_equal(pc_proc_assign(&f->evs[f->n_evs].rec, rec, PC_MASK_ALL), PC_OK);
	f->n_evs++;
}

static void
clear_events(fx *f)
{
	for (size_t i = 0; i < f->n_evs; i++) {
		pc_proc_clear(&f->evs[i].rec);
	}
	f->n_evs = 0;
}

static int
setup(void **state)
{
	fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(pc_cache_open(&f->cache, NULL), PC_OK);
	assert_int_equal(pc_replica_open(&f->rep), PC_OK);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	fx *f = *state;

	clear_events(f);
	pc_cache_close(f->cache);
	pc_replica_close(f->rep);
	pc_snapshot_fini(&f->snap);
	pc_delta_fini(&f->delta);
	pc_encoder_fini(&f->enc);
	free(f);
	return 0;
}

static pc_proc *
proc(pc_proc *p, uint32_t pid, const char *cmdline, uint64_t cpu)
{
	p->pid            = pid;
	p->create_time_ms = 1700000000000ULL + pid;
	p->ppid           = 1;
	p->name           = "job";
	p->exe            = "/usr/bin/job";
	p->cmdline        = (char *)cmdline;
	p->user           = "root";
	p->threads        = 1;
	p->cpu_user_us    = cpu;
	p->state          = "R";
	p->cgroup         = "/system.slice/cron.service";
	p->container_id   = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
	p->pod_uid        = "1234abcd-5678-90ab-cdef-0123456789ab";
	p->service        = "cron.service";
	return p;
}

static const pc_cache *
cache_of(const fx *f)
{
	return f->cache;
}

static const pc_proc *
cache_next(const void *t, size_t *cur)
{
	return pc_cache_next(t, cur);
}

/* One tick: the snapshot into the cache, a delta or a keyframe out, its
 * bytes decoded and applied to the replica. */
static void
tick(fx *f, bool keyframe)
{
	pc_update_hdr    h = { "h1", 7, ++f->seq, 1000 * f->seq, 1000 };
	Pidcast__Update *u;
	pc_apply         res;

	assert_int_equal(pc_cache_update(f->cache, &f->snap, &f->delta), PC_OK);
	if (keyframe) {
		assert_int_equal(pc_encoder_keyframe_exits(&f->enc, &h, cache_next, cache_of(f),
		                                           pc_cache_count(f->cache), &f->delta),
		                 PC_OK);
	} else {
		assert_int_equal(pc_encoder_delta(&f->enc, &h, &f->delta), PC_OK);
	}
	assert_int_equal(pc_encoder_frame(&f->enc), PC_OK);
	assert_int_equal(pc_update_parse(f->enc.frame.data, f->enc.frame.len, &u), PC_OK);
	clear_events(f);
	assert_int_equal(pc_replica_apply(f->rep, u, on_event, f, &res), PC_OK);
	assert_int_equal(res, PC_APPLIED);
	pidcast__update__free_unpacked(u, NULL);
	pc_snapshot_reset(&f->snap);
}

/* A process the subscriber held: its exit carries the final counters and
 * what changed at its end (an exec), then it is gone, its bytes too. */
static void
exit_of_held(void **state, bool keyframe)
{
	fx      *f = *state;
	size_t   bytes0;
	pc_proc *x;

	tick(f, true);
	bytes0 = pc_replica_bytes(f->rep);
	proc(pc_snapshot_add(&f->snap), 10, "job --old", 100);
	tick(f, false);
	assert_int_equal(pc_replica_count(f->rep), 1);
	x              = proc(pc_snapshot_add_exit(&f->snap), 10, "job --new", 5000);
	x->exit        = (pc_exit){ .known = true, .code = 3, .time_ms = 1700000009999ULL };
	x->page_faults = 42;
	tick(f, keyframe);
	assert_int_equal(f->delta.n_exits, 1);
	assert_non_null(f->delta.exits[0].final);
	assert_true(f->delta.exits[0].mask & PC_BIT(PC_F_CMDLINE));
	assert_false(f->delta.exits[0].mask & PC_BIT(PC_F_USER)); /* unchanged */
	assert_int_equal(f->n_evs, 1);
	assert_int_equal(f->evs[0].ev, PC_EV_EXIT);
	assert_int_equal(f->evs[0].rec.pid, 10);
	assert_int_equal(f->evs[0].rec.cpu_user_us, 5000);
	assert_int_equal(f->evs[0].rec.page_faults, 42);
	assert_string_equal(f->evs[0].rec.cmdline, "job --new");
	assert_true(f->evs[0].mask & PC_BIT(PC_F_CMDLINE));
	assert_true(f->evs[0].rec.exit.known);
	assert_int_equal(f->evs[0].rec.exit.code, 3);
	assert_int_equal(f->evs[0].rec.exit.signal, 0);
	assert_int_equal(f->evs[0].rec.exit.time_ms, 1700000009999ULL);
	assert_int_equal(pc_replica_count(f->rep), 0);
	assert_int_equal(pc_replica_bytes(f->rep), bytes0);
}

static void
test_exit_of_held_in_delta(void **state)
{
	exit_of_held(state, false);
}

static void
test_exit_of_held_in_keyframe(void **state)
{
	exit_of_held(state, true);
}

/* Born and gone between two ticks: new with every field, then its exit,
 * and the table holds nothing of it after. */
static void
unseen(void **state, bool keyframe)
{
	fx      *f = *state;
	pc_proc *x;
	pc_buf   b = { 0 };

	tick(f, true);
	x       = proc(pc_snapshot_add_exit(&f->snap), 20, "job --short", 1234);
	x->exit = (pc_exit){ .known = true, .signal = 9, .time_ms = 1700000000777ULL };
	tick(f, keyframe);
	assert_int_equal(f->delta.exits[0].mask, PC_MASK_ALL);
	assert_int_equal(f->n_evs, 2);
	assert_int_equal(f->evs[0].ev, PC_EV_NEW);
	assert_int_equal(f->evs[0].mask, PC_MASK_ALL);
	assert_string_equal(f->evs[0].rec.cmdline, "job --short");
	assert_int_equal(f->evs[0].rec.ppid, 1);
	assert_false(f->evs[0].rec.exit.known);
	assert_int_equal(f->evs[1].ev, PC_EV_EXIT);
	assert_int_equal(f->evs[1].rec.cpu_user_us, 1234);
	assert_int_equal(f->evs[1].rec.exit.signal, 9);
	assert_int_equal(pc_replica_count(f->rep), 0);
	assert_int_equal(pc_replica_bytes(f->rep), 0);
	assert_int_equal(pc_cache_count(f->cache), 0);
	/* JSON: the status with the record. */
	pc_json_proc(&b, &f->evs[1].rec, PC_BIT(PC_F_NAME));
	assert_int_equal(b.err, PC_OK);
	pc_buf_add(&b, "", 1);
	assert_non_null(strstr(b.data, "\"exit_signal\":9,\"exit_time_ms\":1700000000777}"));
	assert_null(strstr(b.data, "exit_code"));
	pc_buf_fini(&b);
}

static void
test_unseen_in_delta(void **state)
{
	unseen(state, false);
}

static void
test_unseen_in_keyframe(void **state)
{
	unseen(state, true);
}

/* A process missing from a snapshot with no exit reported (a poller, a
 * lost event) goes out by key only, as before. */
static void
test_missing_is_key_only(void **state)
{
	fx *f = *state;

	proc(pc_snapshot_add(&f->snap), 30, "job", 1);
	tick(f, true);
	tick(f, false);
	assert_int_equal(f->delta.n_exits, 1);
	assert_null(f->delta.exits[0].final);
	assert_int_equal(f->enc.msg.n_exits, 1);
	assert_null(f->enc.msg.exits[0]->final);
	assert_false(f->enc.msg.exits[0]->has_exit_code);
	assert_int_equal(f->n_evs, 1);
	assert_false(f->evs[0].rec.exit.known);
}

/* A final record of another process than its key names is refused. */
static void
test_final_of_another_key_refused(void **state)
{
	fx                 *f = *state;
	Pidcast__Update     u = PIDCAST__UPDATE__INIT;
	Pidcast__ProcessKey k = PIDCAST__PROCESS_KEY__INIT, *kp = &k;
	Pidcast__Process    m = PIDCAST__PROCESS__INIT;
	pc_apply            res;

	tick(f, true);
	u.host               = "h1";
	u.has_instance_id    = 1;
	u.instance_id        = 7;
	u.has_seq            = 1;
	u.seq                = f->seq + 1;
	u.has_time_ms        = 1;
	u.time_ms            = 99999;
	k.has_pid            = 1;
	k.pid                = 40;
	k.has_create_time_ms = 1;
	k.create_time_ms     = 5;
	m.has_pid            = 1;
	m.pid                = 41;
	m.has_create_time_ms = 1;
	m.create_time_ms     = 5;
	k.final              = &m;
	u.n_exits            = 1;
	u.exits              = &kp;
	assert_int_equal(pc_replica_apply(f->rep, &u, on_event, f, &res), PC_EPROTO);
	assert_int_equal(f->n_evs, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_exit_of_held_in_delta, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exit_of_held_in_keyframe, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unseen_in_delta, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unseen_in_keyframe, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_is_key_only, setup, teardown),
		cmocka_unit_test_setup_teardown(test_final_of_another_key_refused, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
