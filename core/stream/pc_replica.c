/* pc_replica.c: applying the update stream to a table (see pc_replica.h). */
#include "stream/pc_replica.h"

#include <stdlib.h>
#include <string.h>

#include "base/pc_buf.h"
#include "base/pc_err.h"
#include "wire/pc_codec.h"
#include "base/pc_idmap.h"
#include "wire/pc_update.h"

#define STRING_FIELDS \
	(PC_BIT(PC_F_NAME) | PC_BIT(PC_F_EXE) | PC_BIT(PC_F_CMDLINE) | PC_BIT(PC_F_USER))

/* An update in parts, held aside until its last part: the records of the
 * parts so far, packed as one Update body (protobuf appends the repeated
 * fields of concatenated messages), and what they would cost in the table,
 * against its limits. */
typedef struct held {
	bool     active, keyframe;
	uint64_t instance, seq;
	uint32_t next, count; /* the next part expected, of count */
	size_t   upserts, exits, bytes;
	pc_buf   body;
} held;

typedef struct rent {
	pc_proc  rec;   /* first: a pc_proc * is a rent * */
	size_t   bytes; /* what it costs, counted against the byte limit */
	uint64_t tick;  /* the keyframe that last listed it */
	uint64_t rate_seq;
	uint64_t changed_ms; /* the tick time of the update that last changed a counter */
	double   cpu_pct;
	double   io_bps;
	uint64_t rss_counted; /* its share of the table's rss_total */
	size_t   rated_at;    /* its place in the replica's rated, when there */
} rent;

struct pc_replica {
	pc_idmap map;
	bool     synced;
	uint64_t instance;
	uint64_t seq;
	uint64_t time_ms;
	uint32_t interval_ms;
	uint64_t tick;
	uint64_t version; /* pc_replica_version() */
	/* The records rated by the last update (the others' rates are 0),
	 * and every record's RSS summed. */
	rent   **rated;
	size_t   n_rated, cap_rated;
	uint64_t rss_total;
	char     host[PC_HOST_MAX + 1];
	size_t   max_procs, max_bytes, bytes;
	held     held;
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

static size_t
proc_msg_bytes(const Pidcast__Process *m)
{
	return sizeof(rent) + str_bytes(m->name) + str_bytes(m->exe) + str_bytes(m->cmdline) +
	       str_bytes(m->user);
}

/* The most a message's records can add: every upsert new, and every exit's
 * final record too (one the table does not hold is added and removed at
 * once, but costs its bytes meanwhile). */
static size_t
msg_bytes(const Pidcast__Update *u)
{
	size_t n = 0;

	for (size_t i = 0; i < u->n_upserts; i++) {
		n += proc_msg_bytes(u->upserts[i]);
	}
	for (size_t i = 0; i < u->n_exits; i++) {
		n += u->exits[i]->final != NULL ? proc_msg_bytes(u->exits[i]->final) : 0;
	}
	return n;
}

static void
rent_free(pc_replica *r, rent *e)
{
	r->bytes -= e->bytes;
	r->rss_total -= e->rss_counted;
	/* Out of the update's rated ones (a peer may send a pid twice). */
	if (e->rated_at < r->n_rated && r->rated[e->rated_at] == e) {
		r->rated[e->rated_at]           = r->rated[--r->n_rated];
		r->rated[e->rated_at]->rated_at = e->rated_at;
	}
	pc_proc_clear(&e->rec);
	free(e);
}

static void
held_drop(pc_replica *r)
{
	r->held.active = false;
	pc_buf_fini(&r->held.body);
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
		held_drop(r);
		free(r->rated);
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

/* The table's RSS sum follows the record's. */
static void
count_rss(pc_replica *r, rent *e)
{
	r->rss_total += e->rec.rss_bytes - e->rss_counted;
	e->rss_counted = e->rec.rss_bytes;
}

/* Rates from the old and new counters of a process over dt_ms; the record
 * joins the update's rated ones (out of memory: not listed, which only
 * makes pc_replica_rated() say so). */
static void
set_rates(pc_replica *r, rent *e, uint64_t cpu0, uint64_t io0, uint64_t dt_ms, uint64_t seq)
{
	uint64_t cpu1 = cpu_total(&e->rec), io1 = io_total(&e->rec);

	if (dt_ms == 0) {
		return;
	}
	e->cpu_pct  = cpu1 >= cpu0 ? (double)(cpu1 - cpu0) / 10.0 / (double)dt_ms : 0;
	e->io_bps   = io1 >= io0 ? (double)(io1 - io0) * 1000.0 / (double)dt_ms : 0;
	e->rate_seq = seq;
	if (r->cap_rated == SIZE_MAX || (e->rated_at < r->n_rated && r->rated[e->rated_at] == e)) {
		return; /* the list is incomplete, or has it (a pid sent twice) */
	}
	if (r->n_rated == r->cap_rated) {
		size_t cap   = r->cap_rated ? 2 * r->cap_rated : 64;
		rent **grown = realloc(r->rated, cap * sizeof(*grown));
		if (grown == NULL) {
			r->cap_rated = SIZE_MAX; /* the list is incomplete: never used */
			return;
		}
		r->rated     = grown;
		r->cap_rated = cap;
	}
	e->rated_at            = r->n_rated;
	r->rated[r->n_rated++] = e;
}

/* mask: the fields the exit's final record changed. */
static void
remove_entry(pc_replica *r, rent *e, pc_mask mask, pc_replica_cb cb, void *arg)
{
	pc_idmap_remove(&r->map, e->rec.pid);
	if (cb != NULL) {
		cb(arg, PC_EV_EXIT, &e->rec, mask);
	}
	rent_free(r, e);
}

/* One upsert. A keyframe carries whole records: an existing record is
 * diffed against it, and a field it lacks (a string the agent could not
 * read) is cleared; in a delta only the present fields change. */
static int
upsert(pc_replica *r, const Pidcast__Process *m, bool whole, uint64_t dt_ms,
       const Pidcast__Update *u, pc_replica_cb cb, void *arg)
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
		remove_entry(r, e, 0, cb, arg); /* the PID was reused */
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
		count_rss(r, e);
		e->tick       = r->tick;
		e->changed_ms = u->time_ms;
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
	count_rss(r, e);
	set_rates(r, e, cpu0, io0, dt_ms, u->seq);
	if (mask & PC_MASK_STATS) {
		e->changed_ms = u->time_ms;
	}
	if (mask != 0 && cb != NULL) {
		cb(arg, PC_EV_CHANGED, &e->rec, mask);
	}
	return rv;
}

/* Before a keyframe: what it does not list has exited. Removed first, so
 * that the table never holds more than the keyframe; collected before they
 * are removed, since the map must not change while it is iterated. */
static int
drop_unlisted(pc_replica *r, const Pidcast__Update *u, pc_replica_cb cb, void *arg)
{
	size_t   cur = 0, n = 0;
	uint32_t pid;
	rent    *e, **gone;

	r->tick++;
	for (size_t i = 0; i < u->n_upserts; i++) {
		e = pc_idmap_get(&r->map, u->upserts[i]->pid);
		if (e != NULL && e->rec.create_time_ms == u->upserts[i]->create_time_ms) {
			e->tick = r->tick;
		}
	}
	/* One it names as exited with its final record is left for the exit,
	 * which says how it ended. */
	for (size_t i = 0; i < u->n_exits; i++) {
		e = pc_idmap_get(&r->map, u->exits[i]->pid);
		if (e != NULL && u->exits[i]->final != NULL &&
		    e->rec.create_time_ms == u->exits[i]->create_time_ms) {
			e->tick = r->tick;
		}
	}
	if ((gone = malloc(pc_idmap_count(&r->map) * sizeof(*gone) + 1)) == NULL) {
		return PC_ENOMEM;
	}
	while ((e = pc_idmap_next(&r->map, &cur, &pid)) != NULL) {
		if (e->tick != r->tick) {
			gone[n++] = e;
		}
	}
	for (size_t i = 0; i < n; i++) {
		remove_entry(r, gone[i], 0, cb, arg);
	}
	free(gone);
	return PC_OK;
}

/* How it ended, as the exit carries it. */
static pc_exit
exit_status(const Pidcast__ProcessKey *k)
{
	pc_exit s = { .known = k->has_exit_code || k->has_exit_signal || k->has_exit_time_ms };

	s.code    = k->has_exit_code ? k->exit_code : 0;
	s.signal  = k->has_exit_signal ? k->exit_signal : 0;
	s.time_ms = k->has_exit_time_ms ? k->exit_time_ms : 0;
	return s;
}

/* A process the table never held, born and gone between two updates: a
 * new process with its final record, then its exit. It is never in the
 * table, so it costs the table nothing past the call. */
static int
exit_unseen(pc_replica *r, const Pidcast__ProcessKey *k, pc_replica_cb cb, void *arg)
{
	rent    tmp = { 0 }; /* a rent, as pc_replica_rates() takes it: no rates */
	pc_mask mask;
	int     rv;

	(void)r;
	if ((rv = pc_codec_proc_from_msg(k->final, &tmp.rec, &mask)) != PC_OK) {
		pc_proc_clear(&tmp.rec);
		return rv;
	}
	if (cb != NULL) {
		cb(arg, PC_EV_NEW, &tmp.rec, mask);
		tmp.rec.exit = exit_status(k);
		cb(arg, PC_EV_EXIT, &tmp.rec, 0);
	}
	pc_proc_clear(&tmp.rec);
	return PC_OK;
}

/* An exit: the held process, with its final record's fields applied and
 * how it ended, is removed; one not held is reported from its final
 * record, if it has one. */
static int
exit_key(pc_replica *r, const Pidcast__ProcessKey *k, pc_replica_cb cb, void *arg)
{
	rent   *e       = pc_idmap_get(&r->map, k->pid);
	pc_mask changed = 0;
	int     rv      = PC_OK;

	if (e == NULL || e->rec.create_time_ms != k->create_time_ms) {
		return k->final != NULL ? exit_unseen(r, k, cb, arg) : PC_OK;
	}
	if (k->final != NULL) {
		/* Its strings' bytes stay counted as they were added: e->bytes is
		 * what rent_free() takes back. */
		rv = pc_codec_proc_merge(k->final, &e->rec, &changed);
	}
	e->rec.exit = exit_status(k);
	remove_entry(r, e, changed, cb, arg);
	return rv;
}

/* Where an update (or the first part of one) stands in the sequence.
 * PC_APPLIED means: apply it. */
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

/* Whether a whole update may be applied, checked before any of it is: its
 * records have their keys, and the table it would make stays within the
 * limits. A keyframe replaces the table, so it counts on its own; a delta
 * adds its new processes to the table (its exits are not subtracted, since
 * a hostile one may name a process many times) and at most its records'
 * bytes. */
static int
check(const pc_replica *r, const Pidcast__Update *u, bool keyframe)
{
	size_t records = keyframe ? 0 : pc_idmap_count(&r->map);
	size_t bytes   = keyframe ? 0 : r->bytes;

	for (size_t i = 0; i < u->n_upserts; i++) {
		const Pidcast__Process *m = u->upserts[i];
		if (!m->has_pid || !m->has_create_time_ms) {
			return PC_EPROTO;
		}
		records += keyframe || pc_idmap_get(&r->map, m->pid) == NULL;
	}
	for (size_t i = 0; i < u->n_exits; i++) {
		const Pidcast__ProcessKey *k = u->exits[i];
		/* A final record is the process's own: the same key. */
		if (k->final != NULL &&
		    (!k->final->has_pid || !k->final->has_create_time_ms ||
		     k->final->pid != k->pid || k->final->create_time_ms != k->create_time_ms)) {
			return PC_EPROTO;
		}
	}
	bytes += msg_bytes(u);
	return records <= r->max_procs && bytes <= r->max_bytes ? PC_OK : PC_ETOOBIG;
}

/* Applies a whole update that place() let through: all of it, or (refused
 * by check()) nothing. */
static int
apply_whole(pc_replica *r, const Pidcast__Update *u, bool keyframe, pc_replica_cb cb, void *arg,
            pc_apply *res)
{
	uint64_t dt_ms = (r->time_ms != 0 && u->time_ms > r->time_ms) ? u->time_ms - r->time_ms : 0;
	int      rv;

	if ((rv = check(r, u, keyframe)) != PC_OK) {
		r->synced = false;
		return rv;
	}
	strcpy(r->host, u->host); /* before the events, which name it */
	/* What readers see changes with any record, and with the rates of the
	 * last update, which this one sets back to 0: an empty delta after an
	 * empty delta changes nothing. Counted before anything changes,
	 * whatever fails. */
	if (u->n_upserts > 0 || u->n_exits > 0 || r->n_rated > 0 || keyframe) {
		r->version++;
	}
	r->n_rated = 0;
	if (r->cap_rated == SIZE_MAX) {
		r->cap_rated = 0; /* a new list */
		free(r->rated);
		r->rated = NULL;
	}
	if (keyframe) {
		rv = drop_unlisted(r, u, cb, arg);
	}
	for (size_t i = 0; i < u->n_exits && rv == PC_OK; i++) {
		rv = exit_key(r, u->exits[i], cb, arg);
	}
	for (size_t i = 0; i < u->n_upserts && rv == PC_OK; i++) {
		rv = upsert(r, u->upserts[i], keyframe, dt_ms, u, cb, arg);
	}
	if (rv != PC_OK) {
		r->synced    = false;
		r->cap_rated = SIZE_MAX; /* rated for a seq never reached: not a list */
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

/* Adds a part's records to the held set, within the limits of one table:
 * so the parts of an update that never completes cost no more than it. */
static int
hold(pc_replica *r, const Pidcast__Update *u)
{
	held           *h    = &r->held;
	Pidcast__Update body = PIDCAST__UPDATE__INIT;
	size_t          n;

	h->upserts += u->n_upserts;
	h->exits += u->n_exits;
	h->bytes +=
	        msg_bytes(u) + u->n_exits * sizeof(Pidcast__ProcessKey); /* finals in msg_bytes */
	if (h->upserts > r->max_procs || h->exits > r->max_procs || h->bytes > r->max_bytes) {
		return PC_ETOOBIG;
	}
	body.n_upserts = u->n_upserts;
	body.upserts   = u->upserts;
	body.n_exits   = u->n_exits;
	body.exits     = u->exits;
	n              = pidcast__update__get_packed_size(&body);
	if (pc_buf_reserve(&h->body, n) != PC_OK) {
		return PC_ENOMEM;
	}
	h->body.len += pidcast__update__pack(&body, (uint8_t *)h->body.data + h->body.len);
	return PC_OK;
}

/* The last part is in: the held records, decoded as one message, are
 * applied with the header of the update. */
static int
apply_held(pc_replica *r, const Pidcast__Update *last, pc_replica_cb cb, void *arg, pc_apply *res)
{
	Pidcast__Update *body =
	        pidcast__update__unpack(NULL, r->held.body.len, (const uint8_t *)r->held.body.data);
	Pidcast__Update whole    = *last;
	bool            keyframe = r->held.keyframe;
	int             rv;

	held_drop(r);
	if (body == NULL) { /* it packed them: only memory can fail */
		return PC_ENOMEM;
	}
	whole.has_part  = 0;
	whole.has_parts = 0;
	whole.n_upserts = body->n_upserts;
	whole.upserts   = body->upserts;
	whole.n_exits   = body->n_exits;
	whole.exits     = body->exits;
	rv              = apply_whole(r, &whole, keyframe, cb, arg, res);
	pidcast__update__free_unpacked(body, NULL);
	return rv;
}

/* A part: the first one is placed like a whole update and starts a held
 * set; each next one (same instance, sequence, kind and count, the next
 * number) joins it; anything else loses the set. */
static int
apply_part(pc_replica *r, const Pidcast__Update *u, bool keyframe, pc_replica_cb cb, void *arg,
           pc_apply *res)
{
	held *h    = &r->held;
	bool  next = h->active && u->instance_id == h->instance && u->seq == h->seq &&
	            u->part == h->next && u->parts == h->count && keyframe == h->keyframe;
	int rv;

	if (h->active && !next) {
		held_drop(r); /* a part went missing, and the update with it */
		r->synced = false;
		if (u->part > 0) {
			*res = PC_GAP;
			return PC_OK;
		}
	}
	if (!next) {
		if ((*res = place(r, u, keyframe, u->part)) != PC_APPLIED) {
			if (*res != PC_STALE) {
				r->synced = false;
			}
			return PC_OK;
		}
		*h        = (held){ .active   = true,
			            .keyframe = keyframe,
			            .instance = u->instance_id,
			            .seq      = u->seq,
			            .count    = u->parts };
		r->synced = false;        /* until its last part */
		strcpy(r->host, u->host); /* named from its first part on */
	}
	if ((rv = hold(r, u)) != PC_OK) {
		held_drop(r);
		return rv;
	}
	if (++h->next < h->count) {
		*res = PC_PART;
		return PC_OK;
	}
	return apply_held(r, u, cb, arg, res);
}

int
pc_replica_apply(pc_replica *r, const Pidcast__Update *u, pc_replica_cb cb, void *arg,
                 pc_apply *res)
{
	bool keyframe = u->has_kind && u->kind == PIDCAST__UPDATE__KIND__KEYFRAME;
	bool parted   = u->has_parts && u->parts > 1;

	if (!u->has_seq || !u->has_instance_id || !u->has_time_ms || u->host == NULL ||
	    !pc_host_valid(u->host, strlen(u->host)) ||
	    (parted && (!u->has_part || u->part >= u->parts))) {
		return PC_EPROTO;
	}
	if (parted) {
		return apply_part(r, u, keyframe, cb, arg, res);
	}
	if (r->held.active) {
		held_drop(r); /* its other parts were lost */
		r->synced = false;
	}
	if ((*res = place(r, u, keyframe, 0)) != PC_APPLIED) {
		if (*res != PC_STALE) {
			r->synced = false;
		}
		return PC_OK;
	}
	return apply_whole(r, u, keyframe, cb, arg, res);
}

void
pc_replica_desync(pc_replica *r)
{
	r->synced = false;
	held_drop(r);
}

bool
pc_replica_synced(const pc_replica *r)
{
	return r->synced;
}

uint64_t
pc_replica_version(const pc_replica *r)
{
	return r->version;
}

bool
pc_replica_rated(const pc_replica *r, const pc_proc *const **out, size_t *n)
{
	/* A rent * is a pc_proc * (its first member). */
	*out = (const pc_proc *const *)r->rated;
	*n   = r->n_rated;
	return r->cap_rated != SIZE_MAX;
}

double
pc_replica_cpu_sum(const pc_replica *r)
{
	double   sum = 0;
	size_t   cur = 0;
	uint32_t pid;

	if (r->cap_rated != SIZE_MAX) { /* over the few the last update rated */
		for (size_t i = 0; i < r->n_rated; i++) {
			sum += r->rated[i]->cpu_pct;
		}
		return sum;
	}
	for (const rent *e; (e = pc_idmap_next(&r->map, &cur, &pid)) != NULL;) {
		sum += e->rate_seq == r->seq ? e->cpu_pct : 0;
	}
	return sum;
}

uint64_t
pc_replica_rss_sum(const pc_replica *r)
{
	return r->rss_total;
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

uint64_t
pc_replica_changed_ms(const pc_replica *r, const pc_proc *rec)
{
	(void)r;
	return ((const rent *)rec)->changed_ms;
}
