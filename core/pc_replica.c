/* pc_replica.c: applying the update stream to a table (see pc_replica.h). */
#include "pc_replica.h"

#include <stdlib.h>
#include <string.h>

#include "pc_codec.h"
#include "pc_err.h"
#include "pc_idmap.h"
#include "pc_update.h"

typedef struct rent {
	pc_proc  rec;  /* first: a pc_proc * is a rent * */
	uint64_t tick; /* the keyframe that last listed it */
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
};

int
pc_replica_open(pc_replica **out)
{
	pc_replica *r = calloc(1, sizeof(*r));

	if (r == NULL) {
		return PC_ENOMEM;
	}
	*out = r;
	return PC_OK;
}

static void
rent_free(rent *e)
{
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
		rent_free(e);
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
	rent_free(e);
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
			rent_free(e);
			return rv;
		}
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

int
pc_replica_apply(pc_replica *r, const Pidcast__Update *u, pc_replica_cb cb, void *arg,
                 pc_apply *res)
{
	bool     keyframe = u->has_kind && u->kind == PIDCAST__UPDATE__KIND__KEYFRAME;
	uint64_t dt_ms;
	int      rv = PC_OK;

	if (!u->has_seq || !u->has_instance_id || !u->has_time_ms || u->host == NULL ||
	    strlen(u->host) > PC_HOST_MAX) {
		return PC_EPROTO;
	}
	if (!keyframe) {
		if (!r->synced || u->instance_id != r->instance) {
			r->synced = false;
			*res      = PC_NEED_SYNC;
			return PC_OK;
		}
		if (u->seq <= r->seq) {
			*res = PC_STALE;
			return PC_OK;
		}
		if (u->seq != r->seq + 1) {
			r->synced = false;
			*res      = PC_GAP;
			return PC_OK;
		}
	} else if (r->synced && u->instance_id == r->instance && u->seq <= r->seq) {
		*res = PC_STALE;
		return PC_OK;
	}

	dt_ms = (r->time_ms != 0 && u->time_ms > r->time_ms) ? u->time_ms - r->time_ms : 0;
	strcpy(r->host, u->host); /* before the events, which name it */
	r->tick++;
	for (size_t i = 0; i < u->n_exits && rv == PC_OK; i++) {
		exit_key(r, u->exits[i], cb, arg);
	}
	for (size_t i = 0; i < u->n_upserts && rv == PC_OK; i++) {
		rv = upsert(r, u->upserts[i], keyframe, dt_ms, u->seq, cb, arg);
	}
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
	r->synced = false;
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
