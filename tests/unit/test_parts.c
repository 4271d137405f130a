/* test_parts.c: updates split into parts and put back together by the
 * replica, and the replica's limits against hostile updates. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/pc_buf.h"
#include "table/pc_cache.h"
#include "base/pc_err.h"
#include "pc_fake_probe.h"
#include "stream/pc_replica.h"
#include "wire/pc_update.h"

typedef struct fx {
	pc_fake    *fake;
	pc_cache   *cache;
	pc_snapshot snap;
	pc_delta    delta;
	pc_encoder  enc;
	pc_replica *rep;
	uint64_t    seq;
} fx;

static int
setup(void **state)
{
	fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_non_null(f->fake = pc_fake_open());
	assert_int_equal(pc_cache_open(&f->cache, NULL), PC_OK);
	assert_int_equal(pc_replica_open(&f->rep), PC_OK);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	fx *f = *state;

	pc_replica_close(f->rep);
	pc_encoder_fini(&f->enc);
	pc_cache_close(f->cache);
	pc_fake_close(f->fake);
	pc_snapshot_fini(&f->snap);
	pc_delta_fini(&f->delta);
	free(f);
	return 0;
}

static const pc_proc *
cache_next(const void *table, size_t *cursor)
{
	return pc_cache_next(table, cursor);
}

/* One tick of the fake host, encoded as a keyframe or a delta. */
static void
tick(fx *f, bool keyframe)
{
	pc_update_hdr h = { "h1", 42, ++f->seq, 1000 * f->seq, 1000 };

	pc_snapshot_reset(&f->snap);
	assert_int_equal(pc_probe_processes_by_pid(&f->fake->base, 0, true, &f->snap), PC_OK);
	assert_int_equal(pc_cache_update(f->cache, &f->snap, &f->delta), PC_OK);
	if (keyframe) {
		assert_int_equal(pc_encoder_keyframe(&f->enc, &h, cache_next, f->cache,
		                                     pc_cache_count(f->cache)),
		                 PC_OK);
	} else {
		assert_int_equal(pc_encoder_delta(&f->enc, &h, &f->delta), PC_OK);
	}
}

/* Frames part i, checks its size, decodes it and applies it. */
static pc_apply
apply_part(fx *f, size_t i, size_t max_bytes)
{
	Pidcast__Update *u;
	pc_apply         res;

	assert_int_equal(pc_encoder_frame_part(&f->enc, i), PC_OK);
	if (max_bytes != 0) {
		assert_true(f->enc.frame.len <= max_bytes);
	}
	assert_int_equal(pc_update_parse(f->enc.frame.data, f->enc.frame.len, &u), PC_OK);
	assert_int_equal(pc_replica_apply(f->rep, u, NULL, NULL, &res), PC_OK);
	pidcast__update__free_unpacked(u, NULL);
	return res;
}

/* Applies every part; all but the last are PC_PART. */
static void
apply_all(fx *f, size_t n, size_t max_bytes)
{
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(apply_part(f, i, max_bytes), i + 1 < n ? PC_PART : PC_APPLIED);
		assert_int_equal(pc_replica_synced(f->rep), i + 1 == n);
	}
}

static void
assert_equals_cache(fx *f)
{
	size_t         cur = 0;
	const pc_proc *p;

	assert_int_equal(pc_replica_count(f->rep), pc_cache_count(f->cache));
	while ((p = pc_cache_next(f->cache, &cur)) != NULL) {
		const pc_proc *got = pc_replica_get(f->rep, p->pid);
		assert_non_null(got);
		assert_int_equal(pc_proc_diff(got, p), 0);
	}
}

static void
add_procs(fx *f, uint32_t from, uint32_t n)
{
	for (uint32_t pid = from; pid < from + n; pid++) {
		assert_non_null(pc_fake_add(f->fake, pid, 1000 + pid));
	}
}

/* 5,000 processes in parts of 1,000 records and 64 KiB at most. */
static void
test_keyframe_in_parts(void **state)
{
	fx    *f = *state;
	size_t n;

	add_procs(f, 100, 5000);
	tick(f, true);
	assert_int_equal(pc_encoder_split(&f->enc, 0, 0, &n), PC_OK);
	assert_int_equal(n, 1);
	assert_int_equal(pc_encoder_split(&f->enc, 1000, 64 << 10, &n), PC_OK);
	assert_true(n >= 5);
	apply_all(f, n, 64 << 10);
	assert_int_equal(pc_replica_seq(f->rep), f->seq);
	assert_equals_cache(f);
}

/* A delta with exits, new and changed processes, in parts of 100 records. */
static void
test_delta_in_parts(void **state)
{
	fx    *f = *state;
	size_t n;

	add_procs(f, 100, 2000);
	tick(f, true);
	apply_all(f, 1, 0);
	for (uint32_t pid = 100; pid < 400; pid++) {
		pc_fake_remove(f->fake, pid);
	}
	for (uint32_t pid = 400; pid < 900; pid++) {
		pc_fake_find(f->fake, pid)->rss_bytes += 4096;
	}
	add_procs(f, 5000, 700);
	tick(f, false);
	assert_int_equal(f->delta.n_exits, 300);
	assert_int_equal(pc_encoder_split(&f->enc, 100, 0, &n), PC_OK);
	assert_int_equal(n, 15); /* 500 changed + 700 new + 300 exits */
	apply_all(f, n, 0);
	assert_equals_cache(f);
}

/* A part lost in transit is a gap; the next keyframe repairs it. */
static void
test_missing_part_is_a_gap(void **state)
{
	fx    *f = *state;
	size_t n;

	add_procs(f, 100, 300);
	tick(f, true);
	apply_all(f, 1, 0);
	add_procs(f, 1000, 300);
	tick(f, true);
	assert_int_equal(pc_encoder_split(&f->enc, 100, 0, &n), PC_OK);
	assert_int_equal(n, 6);
	assert_int_equal(apply_part(f, 0, 0), PC_PART);
	assert_int_equal(apply_part(f, 2, 0), PC_GAP); /* part 1 never came */
	assert_false(pc_replica_synced(f->rep));
	assert_int_equal(apply_part(f, 3, 0), PC_NEED_SYNC); /* out of sync now */
	tick(f, true);
	assert_int_equal(pc_encoder_split(&f->enc, 100, 0, &n), PC_OK);
	apply_all(f, n, 0);
	assert_equals_cache(f);
}

/* The parts of an update the replica already has (from a snapshot) are
 * stale, and leave it synced. */
static void
test_parts_of_a_snapshot_are_stale(void **state)
{
	fx    *f = *state;
	size_t n;

	add_procs(f, 100, 500);
	tick(f, true);
	apply_all(f, 1, 0); /* as a snapshot over RPC would */
	assert_int_equal(pc_encoder_split(&f->enc, 100, 0, &n), PC_OK);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(apply_part(f, i, 0), PC_STALE);
		assert_true(pc_replica_synced(f->rep));
	}
	assert_equals_cache(f);
}

/* Over the process limit: refused whole, nothing applied, out of sync. */
static void
test_process_limit(void **state)
{
	fx    *f = *state;
	size_t n;

	pc_replica_set_limits(f->rep, 1000, 0);
	add_procs(f, 100, 900);
	tick(f, true);
	apply_all(f, 1, 0);
	size_t bytes = pc_replica_bytes(f->rep);
	add_procs(f, 2000, 200); /* 1,100 processes */
	tick(f, false);
	assert_int_equal(pc_encoder_split(&f->enc, 0, 0, &n), PC_OK);
	assert_int_equal(pc_encoder_frame_part(&f->enc, 0), PC_OK);
	Pidcast__Update *u;
	pc_apply         res;
	assert_int_equal(pc_update_parse(f->enc.frame.data, f->enc.frame.len, &u), PC_OK);
	assert_int_equal(pc_replica_apply(f->rep, u, NULL, NULL, &res), PC_ETOOBIG);
	pidcast__update__free_unpacked(u, NULL);
	assert_int_equal(pc_replica_count(f->rep), 900);
	assert_int_equal(pc_replica_bytes(f->rep), bytes);
	assert_false(pc_replica_synced(f->rep));

	/* The same in parts: the count carries from part to part. */
	tick(f, true);
	assert_int_equal(pc_encoder_split(&f->enc, 300, 0, &n), PC_OK);
	assert_int_equal(n, 4);
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(apply_part(f, i, 0), PC_PART);
	}
	assert_int_equal(pc_encoder_frame_part(&f->enc, 3), PC_OK);
	assert_int_equal(pc_update_parse(f->enc.frame.data, f->enc.frame.len, &u), PC_OK);
	assert_int_equal(pc_replica_apply(f->rep, u, NULL, NULL, &res), PC_ETOOBIG);
	pidcast__update__free_unpacked(u, NULL);
	/* Refused whole: parts 0-2 were held aside, never applied. */
	assert_int_equal(pc_replica_count(f->rep), 900);
	assert_int_equal(pc_replica_bytes(f->rep), bytes);
	assert_false(pc_replica_synced(f->rep));
}

/* A process with a 4 MiB command line, against a 1 MiB byte limit. */
static void
test_byte_limit(void **state)
{
	fx      *f   = *state;
	size_t   big = 4u << 20;
	pc_apply res;

	pc_replica_set_limits(f->rep, 0, 1u << 20);
	add_procs(f, 100, 10);
	tick(f, true);
	apply_all(f, 1, 0);
	size_t bytes = pc_replica_bytes(f->rep);
	assert_true(bytes > 10 * sizeof(pc_proc));

	pc_proc *p = pc_fake_add(f->fake, 7, 7);
	free(p->cmdline);
	assert_non_null(p->cmdline = malloc(big + 1));
	memset(p->cmdline, 'a', big);
	p->cmdline[big] = '\0';
	tick(f, false);
	assert_int_equal(pc_replica_apply(f->rep, &f->enc.msg, NULL, NULL, &res), PC_ETOOBIG);
	assert_int_equal(pc_replica_count(f->rep), 10);
	assert_int_equal(pc_replica_bytes(f->rep), bytes);
	assert_null(pc_replica_get(f->rep, 7));
}

/* One key 100,000 times: one entry, and its bytes once. */
static void
test_repeated_keys(void **state)
{
	fx                *f     = *state;
	Pidcast__Process   m     = PIDCAST__PROCESS__INIT;
	Pidcast__Update    u     = PIDCAST__UPDATE__INIT;
	size_t             n     = 100000;
	Pidcast__Process **ups   = calloc(n, sizeof(*ups));
	char               cmd[] = "/bin/hostile --again";
	pc_apply           res;

	assert_non_null(ups);
	m.has_pid            = 1;
	m.pid                = 7;
	m.has_create_time_ms = 1;
	m.create_time_ms     = 1;
	m.cmdline            = cmd;
	for (size_t i = 0; i < n; i++) {
		ups[i] = &m;
	}
	u.host            = "h1";
	u.has_instance_id = 1;
	u.instance_id     = 9;
	u.has_seq         = 1;
	u.seq             = 1;
	u.has_time_ms     = 1;
	u.time_ms         = 1;
	u.has_kind        = 1;
	u.kind            = PIDCAST__UPDATE__KIND__KEYFRAME;
	u.n_upserts       = n;
	u.upserts         = ups;
	assert_int_equal(pc_replica_apply(f->rep, &u, NULL, NULL, &res), PC_OK);
	assert_int_equal(res, PC_APPLIED);
	assert_int_equal(pc_replica_count(f->rep), 1);
	assert_true(pc_replica_bytes(f->rep) < 1024);
	free(ups);
}

/* Values at the ends of their ranges: applied, nothing overflows (UBSan),
 * and a later agent instance still takes over. */
static void
test_absurd_values(void **state)
{
	fx      *f = *state;
	pc_apply res;
	pc_proc *p;
	double   cpu, io;

	add_procs(f, 100, 3);
	p                 = pc_fake_find(f->fake, 100);
	p->create_time_ms = UINT64_MAX;
	p->cpu_user_us    = UINT64_MAX;
	p->io_read_bytes  = UINT64_MAX;
	p->threads        = UINT32_MAX;
	tick(f, true);
	f->enc.msg.seq         = UINT64_MAX;
	f->enc.msg.time_ms     = UINT64_MAX;
	f->enc.msg.interval_ms = UINT32_MAX;
	assert_int_equal(pc_replica_apply(f->rep, &f->enc.msg, NULL, NULL, &res), PC_OK);
	assert_int_equal(res, PC_APPLIED);
	p->cpu_user_us   = 0; /* a counter that goes back */
	p->io_read_bytes = 0;
	tick(f, false);
	f->enc.msg.seq     = 0; /* wraps: stale, not applied */
	f->enc.msg.time_ms = 0;
	assert_int_equal(pc_replica_apply(f->rep, &f->enc.msg, NULL, NULL, &res), PC_OK);
	assert_int_equal(res, PC_STALE);
	pc_replica_rates(f->rep, pc_replica_get(f->rep, 100), &cpu, &io);
	assert_true(cpu >= 0 && io >= 0);

	tick(f, true);
	f->enc.msg.instance_id = 43; /* a restarted agent */
	assert_int_equal(pc_replica_apply(f->rep, &f->enc.msg, NULL, NULL, &res), PC_OK);
	assert_int_equal(res, PC_APPLIED);
	assert_equals_cache(f);
}

/* More records than PC_UPDATE_MAX_RECORDS, 2 bytes each on the wire, are
 * refused before decoding (which would need ~300 bytes a record). */
static void
test_record_count_checked_before_decoding(void **state)
{
	size_t           n   = (size_t)PC_UPDATE_MAX_RECORDS + 1;
	size_t           len = 6 + 2 * n;
	uint8_t         *buf = malloc(len);
	Pidcast__Update *u   = NULL;

	(void)state;
	assert_non_null(buf);
	memcpy(buf, "pc/h/", 6); /* with its NUL */
	for (size_t i = 0; i < n; i++) {
		buf[6 + 2 * i]     = 0x3a; /* field 7 (upserts), length-delimited */
		buf[6 + 2 * i + 1] = 0x00; /* empty */
	}
	assert_int_equal(pc_update_parse(buf, len, &u), PC_ETOOBIG);
	assert_null(u);
	/* One record fewer than the limit decodes (and is refused for its
	 * missing header instead). */
	assert_int_equal(pc_update_parse(buf, len - 2 * 2, &u), PC_EPROTO);
	free(buf);
}

/* A forged update: n new processes from pid `from`, as part `part` of
 * `parts` (parts 0: whole). */
typedef struct forged {
	Pidcast__Update    u;
	Pidcast__Process  *procs;
	Pidcast__Process **ptrs;
} forged;

static void
forge(forged *g, bool keyframe, uint64_t seq, uint32_t from, size_t n, uint32_t part,
      uint32_t parts)
{
	Pidcast__Update  u    = PIDCAST__UPDATE__INIT;
	Pidcast__Process init = PIDCAST__PROCESS__INIT;

	g->procs = realloc(g->procs, (n + 1) * sizeof(*g->procs));
	g->ptrs  = realloc(g->ptrs, (n + 1) * sizeof(*g->ptrs));
	assert_non_null(g->procs);
	assert_non_null(g->ptrs);
	for (size_t i = 0; i < n; i++) {
		g->procs[i]                    = init;
		g->procs[i].has_pid            = 1;
		g->procs[i].pid                = from + (uint32_t)i;
		g->procs[i].has_create_time_ms = 1;
		g->procs[i].create_time_ms     = 1000 + from + i;
		g->procs[i].name               = "forged";
		g->ptrs[i]                     = &g->procs[i];
	}
	u.host            = "h1";
	u.has_instance_id = 1;
	u.instance_id     = 7;
	u.has_seq         = 1;
	u.seq             = seq;
	u.has_time_ms     = 1;
	u.time_ms         = 1000 * seq;
	u.has_kind        = 1;
	u.kind      = keyframe ? PIDCAST__UPDATE__KIND__KEYFRAME : PIDCAST__UPDATE__KIND__DELTA;
	u.has_part  = parts > 0;
	u.part      = part;
	u.has_parts = parts > 0;
	u.parts     = parts;
	u.n_upserts = n;
	u.upserts   = g->ptrs;
	g->u        = u;
}

static void
forged_fini(forged *g)
{
	free(g->procs);
	free(g->ptrs);
}

/* Through the wire: framed, parsed, applied. */
static int
apply_forged(fx *f, forged *g, pc_replica_cb cb, void *arg, pc_apply *res)
{
	Pidcast__Update *u;
	int              rv;

	f->enc.msg = g->u;
	assert_int_equal(pc_encoder_frame(&f->enc), PC_OK);
	f->enc.msg = (Pidcast__Update)PIDCAST__UPDATE__INIT;
	assert_int_equal(pc_update_parse(f->enc.frame.data, f->enc.frame.len, &u), PC_OK);
	rv = pc_replica_apply(f->rep, u, cb, arg, res);
	pidcast__update__free_unpacked(u, NULL);
	return rv;
}

static void
count_event(void *arg, pc_event ev, const pc_proc *p, pc_mask mask)
{
	size_t *n = arg;

	(void)p;
	(void)mask;
	n[ev]++;
}

/* The attack: keyframes of 2,000 new processes each, as part 0 of
 * 2 whose part 1 never comes, seq +1 each. Nothing of them is applied, so
 * the table cannot pass its bound (or grow at all), and no event is told. */
static void
test_unfinished_parts_apply_nothing(void **state)
{
	fx      *f         = *state;
	forged   g         = { 0 };
	size_t   events[3] = { 0 };
	pc_apply res;

	pc_replica_set_limits(f->rep, 10000, 0);
	forge(&g, true, 1, 100, 10, 0, 0);
	assert_int_equal(apply_forged(f, &g, count_event, events, &res), PC_OK);
	assert_int_equal(res, PC_APPLIED);
	size_t bytes      = pc_replica_bytes(f->rep);
	events[PC_EV_NEW] = 0;
	for (uint64_t seq = 2; seq < 2 + 60; seq++) {
		forge(&g, true, seq, 1000 + 2000 * (uint32_t)seq, 2000, 0, 2);
		assert_int_equal(apply_forged(f, &g, count_event, events, &res), PC_OK);
		assert_int_equal(res, PC_PART);
		assert_int_equal(pc_replica_count(f->rep), 10);
		assert_int_equal(pc_replica_bytes(f->rep), bytes);
	}
	assert_int_equal(events[PC_EV_NEW] + events[PC_EV_CHANGED] + events[PC_EV_EXIT], 0);
	assert_false(pc_replica_synced(f->rep));
	assert_int_equal(pc_replica_seq(f->rep), 1);
	/* Whole keyframes still apply, and replace the table. */
	forge(&g, true, 100, 50, 20, 0, 0);
	assert_int_equal(apply_forged(f, &g, count_event, events, &res), PC_OK);
	assert_int_equal(res, PC_APPLIED);
	assert_int_equal(pc_replica_count(f->rep), 20);
	forged_fini(&g);
}

/* What is held aside is bounded like the table: parts that together pass
 * the limits are refused at the part that passes them, before the last. */
static void
test_held_parts_are_bounded(void **state)
{
	fx      *f = *state;
	forged   g = { 0 };
	pc_apply res;

	pc_replica_set_limits(f->rep, 1000, 0);
	for (uint32_t part = 0; part < 3; part++) {
		forge(&g, true, 1, 100 + 300 * part, 300, part, 1000000);
		assert_int_equal(apply_forged(f, &g, NULL, NULL, &res), PC_OK);
		assert_int_equal(res, PC_PART);
	}
	forge(&g, true, 1, 100 + 300 * 3, 300, 3, 1000000);
	assert_int_equal(apply_forged(f, &g, NULL, NULL, &res), PC_ETOOBIG);
	assert_int_equal(pc_replica_count(f->rep), 0);
	/* The set is gone: its next part is a gap, not a fifth part. */
	forge(&g, true, 1, 100 + 300 * 4, 300, 4, 1000000);
	assert_int_equal(apply_forged(f, &g, NULL, NULL, &res), PC_OK);
	assert_int_equal(res, PC_NEED_SYNC);

	/* Exits count too: a held set of exits is bounded as well. */
	Pidcast__ProcessKey  key = PIDCAST__PROCESS_KEY__INIT;
	Pidcast__ProcessKey *keys[400];
	key.has_pid            = 1;
	key.pid                = 5;
	key.has_create_time_ms = 1;
	key.create_time_ms     = 5;
	for (size_t i = 0; i < 400; i++) {
		keys[i] = &key;
	}
	for (uint32_t part = 0; part < 3; part++) {
		forge(&g, true, 2, 0, 0, part, 10);
		g.u.n_exits = 400;
		g.u.exits   = keys;
		assert_int_equal(apply_forged(f, &g, NULL, NULL, &res),
		                 part < 2 ? PC_OK : PC_ETOOBIG);
	}
	forged_fini(&g);
}

/* A completed set applies whole at its last part: before it, no event and
 * the table as it was; then every record of every part, and what the
 * keyframe did not list is gone. */
static void
test_completed_parts_apply_whole(void **state)
{
	fx      *f         = *state;
	forged   g         = { 0 };
	size_t   events[3] = { 0 };
	pc_apply res;

	forge(&g, true, 1, 100, 50, 0, 0);
	assert_int_equal(apply_forged(f, &g, NULL, NULL, &res), PC_OK);
	for (uint32_t part = 0; part < 4; part++) {
		forge(&g, true, 2, 120 + 100 * part, 100, part, 4);
		assert_int_equal(apply_forged(f, &g, count_event, events, &res), PC_OK);
		if (part < 3) {
			assert_int_equal(res, PC_PART);
			assert_int_equal(events[PC_EV_NEW] + events[PC_EV_EXIT], 0);
			assert_int_equal(pc_replica_count(f->rep), 50);
			assert_int_equal(pc_replica_seq(f->rep), 1);
			assert_non_null(pc_replica_get(f->rep, 100));
		}
	}
	assert_int_equal(res, PC_APPLIED);
	assert_true(pc_replica_synced(f->rep));
	assert_int_equal(pc_replica_seq(f->rep), 2);
	assert_int_equal(pc_replica_count(f->rep), 400);
	assert_int_equal(events[PC_EV_EXIT], 20); /* 100-119, not listed */
	assert_int_equal(events[PC_EV_NEW], 370); /* 150-519 */
	assert_null(pc_replica_get(f->rep, 119));
	assert_non_null(pc_replica_get(f->rep, 519));
	forged_fini(&g);
}

/* A part of another update, or a whole update, in the middle of a set
 * loses the set: none of its records are applied, even when a later part
 * of it comes. */
static void
test_interleaved_part_discards_the_set(void **state)
{
	fx      *f = *state;
	forged   g = { 0 };
	pc_apply res;

	forge(&g, true, 1, 100, 10, 0, 0);
	assert_int_equal(apply_forged(f, &g, NULL, NULL, &res), PC_OK);
	forge(&g, true, 2, 1000, 100, 0, 2); /* seq 2 part 0 */
	assert_int_equal(apply_forged(f, &g, NULL, NULL, &res), PC_OK);
	assert_int_equal(res, PC_PART);
	forge(&g, true, 3, 2000, 100, 0, 2); /* seq 3 part 0: seq 2 is lost */
	assert_int_equal(apply_forged(f, &g, NULL, NULL, &res), PC_OK);
	assert_int_equal(res, PC_PART);
	forge(&g, true, 2, 1100, 100, 1, 2); /* seq 2 part 1, stale now */
	assert_int_equal(apply_forged(f, &g, NULL, NULL, &res), PC_OK);
	assert_int_equal(res, PC_GAP);
	assert_int_equal(pc_replica_count(f->rep), 10);
	forge(&g, true, 3, 2100, 100, 1, 2); /* seq 3's set was lost too */
	assert_int_equal(apply_forged(f, &g, NULL, NULL, &res), PC_OK);
	assert_int_equal(res, PC_NEED_SYNC);
	assert_int_equal(pc_replica_count(f->rep), 10);

	/* Another kind under the same header is not the next part either. */
	forge(&g, true, 4, 3000, 100, 0, 2);
	assert_int_equal(apply_forged(f, &g, NULL, NULL, &res), PC_OK);
	forge(&g, false, 4, 3100, 100, 1, 2);
	assert_int_equal(apply_forged(f, &g, NULL, NULL, &res), PC_OK);
	assert_int_equal(res, PC_GAP);
	/* A whole update in the middle: the set is lost, the keyframe applies. */
	forge(&g, true, 5, 4000, 100, 0, 2);
	assert_int_equal(apply_forged(f, &g, NULL, NULL, &res), PC_OK);
	forge(&g, true, 6, 5000, 5, 0, 0);
	assert_int_equal(apply_forged(f, &g, NULL, NULL, &res), PC_OK);
	assert_int_equal(res, PC_APPLIED);
	forge(&g, true, 5, 4100, 100, 1, 2);
	assert_int_equal(apply_forged(f, &g, NULL, NULL, &res), PC_OK);
	assert_int_equal(res, PC_STALE);
	assert_int_equal(pc_replica_count(f->rep), 5);
	assert_null(pc_replica_get(f->rep, 4000));
	forged_fini(&g);
}

/* A delta counts on what the table would become: its new processes on top
 * of the table, not the changed ones. */
static void
test_delta_counts_new_processes(void **state)
{
	fx      *f = *state;
	forged   g = { 0 };
	pc_apply res;

	pc_replica_set_limits(f->rep, 1000, 0);
	forge(&g, true, 1, 100, 900, 0, 0);
	assert_int_equal(apply_forged(f, &g, NULL, NULL, &res), PC_OK);
	forge(&g, false, 2, 100, 900, 0, 0); /* all 900 changed: fits */
	g.procs[0].name = "renamed";
	assert_int_equal(apply_forged(f, &g, NULL, NULL, &res), PC_OK);
	assert_int_equal(res, PC_APPLIED);
	forge(&g, false, 3, 950, 150, 0, 0); /* 50 changed, 100 new: 1,000 */
	assert_int_equal(apply_forged(f, &g, NULL, NULL, &res), PC_OK);
	assert_int_equal(res, PC_APPLIED);
	assert_int_equal(pc_replica_count(f->rep), 1000);
	forge(&g, false, 4, 1099, 2, 0, 0); /* 1 changed, 1 new: 1,001 */
	assert_int_equal(apply_forged(f, &g, NULL, NULL, &res), PC_ETOOBIG);
	assert_int_equal(pc_replica_count(f->rep), 1000);
	forged_fini(&g);
}

/* A frame of host (and topic) h with an empty keyframe. */
static void
frame_of(pc_buf *b, const char *h)
{
	Pidcast__Update u = PIDCAST__UPDATE__INIT;

	u.host            = (char *)h;
	u.has_instance_id = 1;
	u.instance_id     = 1;
	u.has_seq         = 1;
	u.seq             = 1;
	u.has_time_ms     = 1;
	u.time_ms         = 1;
	u.has_kind        = 1;
	u.kind            = PIDCAST__UPDATE__KIND__KEYFRAME;
	pc_buf_reset(b);
	pc_topic(b, h);
	assert_int_equal(pc_buf_reserve(b, pidcast__update__get_packed_size(&u)), PC_OK);
	b->len += pidcast__update__pack(&u, (uint8_t *)b->data + b->len);
}

/* PROTOCOL.md §2: a host is 1 to 255 bytes without '/'. The parser refuses
 * the others (PC_EINVAL), and the replica a snapshot of one. */
static void
test_forbidden_hosts(void **state)
{
	fx              *f = *state;
	pc_buf           b = { 0 };
	Pidcast__Update *u = NULL;
	char             name[257];
	pc_apply         res;

	frame_of(&b, "");
	assert_int_equal(pc_update_parse(b.data, b.len, &u), PC_EINVAL); /* pc// */
	frame_of(&b, "a/b");
	assert_int_equal(pc_update_parse(b.data, b.len, &u), PC_EINVAL);
	memset(name, 'h', 256);
	name[256] = '\0';
	frame_of(&b, name);
	assert_int_equal(pc_update_parse(b.data, b.len, &u), PC_EINVAL);
	assert_null(u);
	name[255] = '\0';
	frame_of(&b, name);
	assert_int_equal(pc_update_parse(b.data, b.len, &u), PC_OK);
	assert_int_equal(pc_replica_apply(f->rep, u, NULL, NULL, &res), PC_OK);
	pidcast__update__free_unpacked(u, NULL);
	/* A snapshot comes without a topic: the replica checks its host. */
	Pidcast__Update snap = PIDCAST__UPDATE__INIT;
	snap.host            = "a/b";
	snap.has_instance_id = snap.has_seq = snap.has_time_ms = 1;
	assert_int_equal(pc_replica_apply(f->rep, &snap, NULL, NULL, &res), PC_EPROTO);
	pc_buf_fini(&b);
}

/* What readers of a replica key their caches by and sum: the records the
 * last update rated (only those can have a rate), the CPU and RSS sums,
 * and a version that moves when what they see does, and not otherwise. */
static void
test_rated_sums_and_version(void **state)
{
	fx                   *f = *state;
	const pc_proc *const *rated;
	size_t                n;
	uint64_t              v;
	pc_proc              *p;

	add_procs(f, 100, 10);
	for (uint32_t pid = 100; pid < 110; pid++) {
		pc_fake_find(f->fake, pid)->rss_bytes = 4096 * pid;
	}
	tick(f, true);
	assert_int_equal(apply_part(f, 0, 0), PC_APPLIED);
	assert_int_equal(pc_replica_rss_sum(f->rep), 4096 * (100 + 109) * 10 / 2);
	/* 0.5 s of CPU over the tick's second: 50% of one core. */
	p = pc_fake_find(f->fake, 103);
	p->cpu_user_us += 500000;
	p->rss_bytes += 8192;
	tick(f, false);
	v = pc_replica_version(f->rep);
	assert_int_equal(apply_part(f, 0, 0), PC_APPLIED);
	assert_true(pc_replica_version(f->rep) != v);
	assert_true(pc_replica_rated(f->rep, &rated, &n));
	assert_int_equal(n, 1);
	assert_int_equal(rated[0]->pid, 103);
	assert_true(pc_replica_cpu_sum(f->rep) > 49.9 && pc_replica_cpu_sum(f->rep) < 50.1);
	assert_int_equal(pc_replica_rss_sum(f->rep), 4096 * (100 + 109) * 10 / 2 + 8192);
	/* Nothing changed: the rates go back to 0, which is a change once. */
	tick(f, false);
	v = pc_replica_version(f->rep);
	assert_int_equal(apply_part(f, 0, 0), PC_APPLIED);
	assert_true(pc_replica_version(f->rep) != v);
	assert_true(pc_replica_rated(f->rep, &rated, &n));
	assert_int_equal(n, 0);
	assert_true(pc_replica_cpu_sum(f->rep) == 0);
	tick(f, false);
	v = pc_replica_version(f->rep);
	assert_int_equal(apply_part(f, 0, 0), PC_APPLIED);
	assert_int_equal(pc_replica_version(f->rep), v);
	/* An exit takes its RSS out of the sum. */
	pc_fake_remove(f->fake, 109);
	tick(f, false);
	assert_int_equal(apply_part(f, 0, 0), PC_APPLIED);
	assert_int_equal(pc_replica_rss_sum(f->rep), 4096 * (100 + 108) * 9 / 2 + 8192);

	/* A peer that names a pid twice in one delta, the second time as
	 * another process: the first, rated, is freed by the second and must
	 * leave the rated list (ASan sees a use after free otherwise). */
	Pidcast__Process  a = PIDCAST__PROCESS__INIT, b = PIDCAST__PROCESS__INIT;
	Pidcast__Process *ups[] = { &a, &b };
	Pidcast__Update   u     = PIDCAST__UPDATE__INIT;
	pc_apply          res;
	a.has_pid = b.has_pid = 1;
	a.pid = b.pid        = 104;
	a.has_create_time_ms = b.has_create_time_ms = 1;
	a.create_time_ms                            = 1000 + 104;
	b.create_time_ms                            = 77;
	a.has_cpu_user_us                           = 1;
	a.cpu_user_us                               = 999999;
	u.host                                      = "h1";
	u.has_instance_id = u.has_seq = u.has_time_ms = 1;
	u.instance_id                                 = 42;
	u.seq                                         = pc_replica_seq(f->rep) + 1;
	u.time_ms                                     = 1000 * u.seq;
	u.n_upserts                                   = 2;
	u.upserts                                     = ups;
	assert_int_equal(pc_replica_apply(f->rep, &u, NULL, NULL, &res), PC_OK);
	assert_int_equal(res, PC_APPLIED);
	assert_true(pc_replica_rated(f->rep, &rated, &n));
	for (size_t i = 0; i < n; i++) {
		assert_true(rated[i]->pid != 104 || rated[i]->create_time_ms == 77);
	}
	assert_true(pc_replica_cpu_sum(f->rep) >= 0);
}

int
main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_keyframe_in_parts),
		T(test_delta_in_parts),
		T(test_missing_part_is_a_gap),
		T(test_parts_of_a_snapshot_are_stale),
		T(test_process_limit),
		T(test_byte_limit),
		T(test_repeated_keys),
		T(test_absurd_values),
		T(test_unfinished_parts_apply_nothing),
		T(test_held_parts_are_bounded),
		T(test_completed_parts_apply_whole),
		T(test_interleaved_part_discards_the_set),
		T(test_delta_counts_new_processes),
		T(test_forbidden_hosts),
		T(test_rated_sums_and_version),
		cmocka_unit_test(test_record_count_checked_before_decoding),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
