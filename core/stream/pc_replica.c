/* pc_replica.c: applying the update stream to a table (see pc_replica.h). */
#include "stream/pc_replica.h"

#include <stdlib.h>
#include <string.h>

#include "wire/pc_codec.h"
#include "base/pc_err.h"
#include "base/pc_idmap.h"
#include "wire/pc_update.h"

#define STRING_FIELDS \
	(PC_BIT(PC_F_NAME) | PC_BIT(PC_F_EXE) | PC_BIT(PC_F_CMDLINE) | PC_BIT(PC_F_USER))

typedef struct rent {
	pc_proc  rec;   /* first: a pc_proc * is a rent * */
	size_t   bytes; /* what it costs, counted against the byte limit */
	uint64_t tick;  /* the keyframe that last listed it */
	uint64_t rate_seq;
	double   cpu_pct;
	double   io_bps;
} rent;

struct pc_replica {
	pc_idmap map;
	bool     synced;
	uint64_t instance;
	uint64_t seq;
	uint64_t time_ms;
	uint32_t interval_ms;
	uint64_t tick;
	char     host[PC_HOST_MAX + 1];
	size_t   max_procs, max_bytes, bytes;
	/* An update sent in parts, being applied: the next part expected. */
	bool     in_parts;
	uint64_t parts_instance, parts_seq, parts_dt_ms;
	uint32_t parts_next, parts_count;
	size_t   parts_records, parts_bytes; /* so far, against the limits */
};

int
pc_replica_open(pc_replica **out)
{
	pc_replica *r = calloc(1, sizeof(*r));

	if (r == NULL) {
		return PC_ENOMEM;
	}
	r->max_procs = PC_REPLICA_MAX_PROCS;
	r->max_bytes = PC_REPLICA_MAX_BYTES;
	*out         = r;
	return PC_OK;
}

void
pc_replica_set_limits(pc_replica *r, size_t max_procs, size_t max_bytes)
{
	r->max_procs = max_procs ? max_procs : PC_REPLICA_MAX_PROCS;
	r->max_bytes = max_bytes ? max_bytes : PC_REPLICA_MAX_BYTES;
}

size_t
pc_replica_bytes(const pc_replica *r)
{
	return r->bytes;
}

static size_t
str_bytes(const char *s)
{
	return s != NULL ? strlen(s) + 1 : 0;
}

/* What a record costs: its entry and its strings. */
static size_t
rec_bytes(const pc_proc *p)
{
	return sizeof(rent) + str_bytes(p->name) + str_bytes(p->exe) + str_bytes(p->cmdline) +
	       str_bytes(p->user);
}

/* The most a message's upserts can add: every one new. */
static size_t
msg_bytes(const Pidcast__Update *u)
{
	size_t n = 0;

	for (size_t i = 0; i < u->n_upserts; i++) {
		const Pidcast__Process *m = u->upserts[i];
		n += sizeof(rent) + str_bytes(m->name) + str_bytes(m->exe) + str_bytes(m->cmdline) +
		     str_bytes(m->user);
	}
	return n;
}

static void
rent_free(pc_replica *r, rent *e)
{
	r->bytes -= e->bytes;
	pc_proc_clear(&e->rec);
	free(e);
}

static void
clear_table(pc_replica *r)
{
	size_t   cur = 0;
	uint32_t pid;
	rent    *e;

	while ((e = pc_idmap_next(&r->map, &cur, &pid)) != NULL) {
		rent_free(r, e);
	}
	pc_idmap_fini(&r->map);
}

void
pc_replica_close(pc_replica *r)
{
	if (r != NULL) {
		clear_table(r);
		free(r);
	}
}

static uint64_t
cpu_total(const pc_proc *p)
{
	return p->cpu_user_us + p->cpu_system_us;
}

static uint64_t
io_total(const pc_proc *p)
{
	return p->io_read_bytes + p->io_write_bytes;
}

/* Rates from the old and new counters of a process over dt_ms. */
static void
set_rates(rent *e, uint64_t cpu0, uint64_t io0, uint64_t dt_ms, uint64_t seq)
{
	uint64_t cpu1 = cpu_total(&e->rec), io1 = io_total(&e->rec);

	if (dt_ms == 0) {
		return;
	}
	e->cpu_pct  = cpu1 >= cpu0 ? (double)(cpu1 - cpu0) / 10.0 / (double)dt_ms : 0;
	e->io_bps   = io1 >= io0 ? (double)(io1 - io0) * 1000.0 / (double)dt_ms : 0;
	e->rate_seq = seq;
}

static void
remove_entry(pc_replica *r, rent *e, pc_replica_cb cb, void *arg)
{
	pc_idmap_remove(&r->map, e->rec.pid);
	if (cb != NULL) {
		cb(arg, PC_EV_EXIT, &e->rec, 0);
	}
	rent_free(r, e);
}

/* One upsert. A keyframe carries whole records: an existing record is
 * diffed against it, and a field it lacks (a string the agent could not
 * read) is cleared; in a delta only the present fields change. */
static int
upsert(pc_replica *r, const Pidcast__Process *m, bool whole, uint64_t dt_ms, uint64_t seq,
       pc_replica_cb cb, void *arg)
{
	pc_mask  mask;
	rent    *e;
	uint64_t cpu0, io0;
	int      rv;

	if (!m->has_pid || !m->has_create_time_ms) {
		return PC_EPROTO;
	}
	e = pc_idmap_get(&r->map, m->pid);
	if (e != NULL && e->rec.create_time_ms != m->create_time_ms) {
		remove_entry(r, e, cb, arg); /* the PID was reused */
		e = NULL;
	}
	if (e == NULL) {
		if ((e = calloc(1, sizeof(*e))) == NULL) {
			return PC_ENOMEM;
		}
		if ((rv = pc_codec_proc_from_msg(m, &e->rec, &mask)) != PC_OK ||
		    (rv = pc_idmap_set(&r->map, m->pid, e)) != PC_OK) {
			pc_proc_clear(&e->rec);
			free(e);
			return rv;
		}
		e->bytes = rec_bytes(&e->rec);
		r->bytes += e->bytes;
		e->tick = r->tick;
		if (cb != NULL) {
			cb(arg, PC_EV_NEW, &e->rec, mask);
		}
		return PC_OK;
	}
	e->tick = r->tick;
	cpu0    = cpu_total(&e->rec);
	io0     = io_total(&e->rec);
	rv      = whole ? pc_codec_proc_replace(m, &e->rec, &mask)
	                : pc_codec_proc_merge(m, &e->rec, &mask);
	if (mask & STRING_FIELDS) {
		r->bytes -= e->bytes;
		e->bytes = rec_bytes(&e->rec);
		r->bytes += e->bytes;
	}
	set_rates(e, cpu0, io0, dt_ms, seq);
	if (mask != 0 && cb != NULL) {
		cb(arg, PC_EV_CHANGED, &e->rec, mask);
	}
	return rv;
}

/* After a keyframe: what it did not list has exited. Collected first, since
 * the map must not change while it is iterated. */
static int
drop_unlisted(pc_replica *r, pc_replica_cb cb, void *arg)
{
	size_t   cur = 0, n = 0;
	uint32_t pid;
	rent    *e, **gone;

	if ((gone = malloc(pc_idmap_count(&r->map) * sizeof(*gone) + 1)) == NULL) {
		return PC_ENOMEM;
	}
	while ((e = pc_idmap_next(&r->map, &cur, &pid)) != NULL) {
		if (e->tick != r->tick) {
			gone[n++] = e;
		}
	}
	for (size_t i = 0; i < n; i++) {
		remove_entry(r, gone[i], cb, arg);
	}
	free(gone);
	return PC_OK;
}

static void
exit_key(pc_replica *r, const Pidcast__ProcessKey *k, pc_replica_cb cb, void *arg)
{
	rent *e = pc_idmap_get(&r->map, k->pid);

	if (e != NULL && e->rec.create_time_ms == k->create_time_ms) {
		remove_entry(r, e, cb, arg);
	}
}

/* Where a message that is not the next part of one being applied stands in
 * the sequence. PC_APPLIED means: apply it. */
static pc_apply
place(pc_replica *r, const Pidcast__Update *u, bool keyframe, uint32_t part)
{
	bool same = r->synced && u->instance_id == r->instance;

	if (part > 0) { /* its first part was missed */
		return !same ? PC_NEED_SYNC : u->seq <= r->seq ? PC_STALE : PC_GAP;
	}
	if (keyframe) {
		return same && u->seq <= r->seq ? PC_STALE : PC_APPLIED;
	}
	if (!same) {
		return PC_NEED_SYNC;
	}
	if (u->seq <= r->seq) {
		return PC_STALE;
	}
	return u->seq == r->seq + 1 ? PC_APPLIED : PC_GAP;
}

/* Whether the message keeps the table within its limits, counted before it
 * is applied: a delta on top of the table; a keyframe (all its parts) on
 * its own, since it replaces the table. */
static bool
within_limits(pc_replica *r, const Pidcast__Update *u, bool keyframe)
{
	size_t records = u->n_upserts + (r->in_parts ? r->parts_records : 0);
	size_t bytes   = msg_bytes(u) + (r->in_parts ? r->parts_bytes : 0);

	if (!keyframe && !r->in_parts) { /* a later part's count has the table */
		records += pc_idmap_count(&r->map);
		bytes += r->bytes;
	}
	r->parts_records = records;
	r->parts_bytes   = bytes;
	return records <= r->max_procs && bytes <= r->max_bytes;
}

int
pc_replica_apply(pc_replica *r, const Pidcast__Update *u, pc_replica_cb cb, void *arg,
                 pc_apply *res)
{
	bool     keyframe = u->has_kind && u->kind == PIDCAST__UPDATE__KIND__KEYFRAME;
	bool     parted   = u->has_parts && u->parts > 1;
	uint32_t part     = parted ? u->part : 0;
	bool     next_part;
	int      rv = PC_OK;

	if (!u->has_seq || !u->has_instance_id || !u->has_time_ms || !pc_update_host_ok(u->host) ||
	    (parted && (!u->has_part || u->part >= u->parts))) {
		return PC_EPROTO;
	}
	next_part = r->in_parts && parted && u->instance_id == r->parts_instance &&
	            u->seq == r->parts_seq && part == r->parts_next && u->parts == r->parts_count;
	if (r->in_parts && !next_part) {
		/* A part went missing: the table is half applied. */
		r->in_parts = false;
		r->synced   = false;
		if (part > 0) {
			*res = PC_GAP;
			return PC_OK;
		}
	}
	if (!next_part) {
		if ((*res = place(r, u, keyframe, part)) != PC_APPLIED) {
			if (*res != PC_STALE) {
				r->synced = false;
			}
			return PC_OK;
		}
		r->parts_dt_ms =
		        (r->time_ms != 0 && u->time_ms > r->time_ms) ? u->time_ms - r->time_ms : 0;
		strcpy(r->host, u->host); /* before the events, which name it */
		r->tick++;
	}
	if (!within_limits(r, u, keyframe)) {
		r->in_parts = false;
		r->synced   = false;
		return PC_ETOOBIG;
	}
	for (size_t i = 0; i < u->n_exits && rv == PC_OK; i++) {
		exit_key(r, u->exits[i], cb, arg);
	}
	for (size_t i = 0; i < u->n_upserts && rv == PC_OK; i++) {
		rv = upsert(r, u->upserts[i], keyframe, r->parts_dt_ms, u->seq, cb, arg);
	}
	if (rv == PC_OK && parted && part + 1 < u->parts) {
		r->in_parts       = true;
		r->parts_instance = u->instance_id;
		r->parts_seq      = u->seq;
		r->parts_next     = part + 1;
		r->parts_count    = u->parts;
		r->synced         = false; /* until the last part */
		*res              = PC_PART;
		return PC_OK;
	}
	r->in_parts = false;
	if (rv == PC_OK && keyframe) {
		rv = drop_unlisted(r, cb, arg);
	}
	if (rv != PC_OK) {
		r->synced = false;
		return rv;
	}
	r->synced   = true;
	r->instance = u->instance_id;
	r->seq      = u->seq;
	r->time_ms  = u->time_ms;
	if (u->has_interval_ms) {
		r->interval_ms = u->interval_ms;
	}
	*res = PC_APPLIED;
	return PC_OK;
}

void
pc_replica_desync(pc_replica *r)
{
	r->synced   = false;
	r->in_parts = false;
}

bool
pc_replica_synced(const pc_replica *r)
{
	return r->synced;
}

uint64_t
pc_replica_seq(const pc_replica *r)
{
	return r->seq;
}

uint64_t
pc_replica_instance(const pc_replica *r)
{
	return r->instance;
}

const char *
pc_replica_host(const pc_replica *r)
{
	return r->host;
}

uint64_t
pc_replica_time_ms(const pc_replica *r)
{
	return r->time_ms;
}

uint32_t
pc_replica_interval_ms(const pc_replica *r)
{
	return r->interval_ms;
}

size_t
pc_replica_count(const pc_replica *r)
{
	return pc_idmap_count(&r->map);
}

const pc_proc *
pc_replica_get(const pc_replica *r, uint32_t pid)
{
	rent *e = pc_idmap_get(&r->map, pid);

	return e != NULL ? &e->rec : NULL;
}

const pc_proc *
pc_replica_next(const pc_replica *r, size_t *cursor)
{
	uint32_t pid;
	rent    *e = pc_idmap_next(&r->map, cursor, &pid);

	return e != NULL ? &e->rec : NULL;
}

void
pc_replica_rates(const pc_replica *r, const pc_proc *rec, double *cpu_pct, double *io_bps)
{
	const rent *e = (const rent *)rec;

	*cpu_pct = e->rate_seq == r->seq ? e->cpu_pct : 0;
	*io_bps  = e->rate_seq == r->seq ? e->io_bps : 0;
}
