/* pc_cache.c: per-PID last state and the per-field delta (see pc_cache.h). */
#include "table/pc_cache.h"

#include <stdlib.h>
#include <string.h>

#include "base/pc_err.h"
#include "base/pc_idmap.h"

typedef struct entry {
	pc_proc  rec;
	uint64_t tick; /* the last update that saw this process */
} entry;

struct pc_cache {
	pc_idmap    map;
	uint64_t    tick;
	pc_deadband db;
};

#define MEM_FIELDS \
	(PC_BIT(PC_F_RSS_BYTES) | PC_BIT(PC_F_PEAK_RSS_BYTES) | PC_BIT(PC_F_PRIVATE_BYTES))
#define CPU_FIELDS (PC_BIT(PC_F_CPU_USER_US) | PC_BIT(PC_F_CPU_SYSTEM_US))

/* grow(array, n, cap): room for one more element. */
#define GROW(a, n, cap) ((n) < (cap) ? PC_OK : grow_array((void **)&(a), &(cap), sizeof(*(a))))

static int
grow_array(void **a, size_t *cap, size_t size)
{
	size_t n = *cap ? *cap * 2 : 64;
	void  *p = realloc(*a, n * size);

	if (p == NULL) {
		return PC_ENOMEM;
	}
	*a   = p;
	*cap = n;
	return PC_OK;
}

void
pc_delta_fini(pc_delta *d)
{
	free(d->upserts);
	free(d->exits);
	memset(d, 0, sizeof(*d));
}

int
pc_cache_open(pc_cache **out, const pc_deadband *db)
{
	pc_cache *c = calloc(1, sizeof(*c));

	if (c == NULL) {
		return PC_ENOMEM;
	}
	if (db != NULL) {
		c->db = *db;
	}
	*out = c;
	return PC_OK;
}

static void
entry_free(entry *e)
{
	pc_proc_clear(&e->rec);
	free(e);
}

void
pc_cache_close(pc_cache *c)
{
	size_t   cur = 0;
	uint32_t pid;
	entry   *e;

	if (c == NULL) {
		return;
	}
	while ((e = pc_idmap_next(&c->map, &cur, &pid)) != NULL) {
		entry_free(e);
	}
	pc_idmap_fini(&c->map);
	free(c);
}

static uint64_t
absdiff(uint64_t a, uint64_t b)
{
	return a > b ? a - b : b - a;
}

/* Drops from mask the fields whose change is inside a deadband. */
static pc_mask
apply_deadbands(const pc_cache *c, const pc_proc *old, const pc_proc *cur, pc_mask mask)
{
	for (int f = 0; f < PC_F_COUNT; f++) {
		uint64_t band = 0;
		if (!(mask & PC_BIT(f))) {
			continue;
		}
		if (MEM_FIELDS & PC_BIT(f)) {
			band = c->db.mem_bytes;
		} else if (CPU_FIELDS & PC_BIT(f)) {
			band = c->db.cpu_us;
		}
		if (band != 0) {
			uint64_t a = *(const uint64_t *)((const char *)old + pc_fields[f].offset);
			uint64_t b = *(const uint64_t *)((const char *)cur + pc_fields[f].offset);
			if (absdiff(a, b) < band) {
				mask &= ~PC_BIT(f);
			}
		}
	}
	return mask;
}

static int
add_exit(pc_delta *d, const pc_proc *rec)
{
	if (GROW(d->exits, d->n_exits, d->cap_exits) != PC_OK) {
		return PC_ENOMEM;
	}
	d->exits[d->n_exits++] = (pc_key){ rec->pid, rec->create_time_ms, NULL, 0 };
	return PC_OK;
}

/* An exit the probe saw: published with its final record. */
static int
probe_exit(pc_cache *c, const pc_proc *f, pc_delta *d)
{
	entry  *e    = pc_idmap_get(&c->map, f->pid);
	bool    held = e != NULL && e->rec.create_time_ms == f->create_time_ms;
	pc_mask mask = held ? PC_MASK_STATS | pc_proc_diff(&e->rec, f) : PC_MASK_ALL;

	if (GROW(d->exits, d->n_exits, d->cap_exits) != PC_OK) {
		return PC_ENOMEM;
	}
	d->exits[d->n_exits++] = (pc_key){ f->pid, f->create_time_ms, f, mask };
	if (held) {
		entry_free(pc_idmap_remove(&c->map, f->pid));
	}
	return PC_OK;
}

static int
add_upsert(pc_delta *d, const pc_proc *rec, pc_mask mask, bool is_new)
{
	if (GROW(d->upserts, d->n_upserts, d->cap_upserts) != PC_OK) {
		return PC_ENOMEM;
	}
	d->upserts[d->n_upserts++] = (pc_upsert){ rec, mask, is_new };
	return PC_OK;
}

/* A process the cache has not seen: a new entry with every field. */
static int
insert(pc_cache *c, const pc_proc *p, pc_delta *d)
{
	entry *e = calloc(1, sizeof(*e));

	if (e == NULL || pc_proc_assign(&e->rec, p, PC_MASK_ALL) != PC_OK ||
	    pc_idmap_set(&c->map, p->pid, e) != PC_OK) {
		if (e != NULL) {
			entry_free(e);
		}
		return PC_ENOMEM;
	}
	e->rec.text_id = p->text_id;
	e->tick        = c->tick;
	if (add_upsert(d, &e->rec, PC_MASK_ALL, true) != PC_OK) {
		/* Forget it, so that the next update reports it as new. */
		pc_idmap_remove(&c->map, p->pid);
		entry_free(e);
		return PC_ENOMEM;
	}
	return PC_OK;
}

static int
update_one(pc_cache *c, const pc_proc *p, pc_delta *d)
{
	entry  *e = pc_idmap_get(&c->map, p->pid);
	pc_mask mask;

	if (e != NULL && e->rec.create_time_ms != p->create_time_ms) {
		/* PID reused: the old process exited. */
		if (add_exit(d, &e->rec) != PC_OK) {
			return PC_ENOMEM;
		}
		pc_idmap_remove(&c->map, p->pid);
		entry_free(e);
		e = NULL;
	}
	if (e == NULL) {
		return insert(c, p, d);
	}
	e->tick = c->tick;
	mask    = apply_deadbands(c, &e->rec, p, pc_proc_diff(&e->rec, p));
	if (mask == 0) {
		return PC_OK;
	}
	if (add_upsert(d, &e->rec, mask, false) != PC_OK) {
		return PC_ENOMEM;
	}
	/* A failed string copy leaves that field old; it shows up again next
	 * tick, which is the promise of pc_cache_update(): so the text is
	 * then compared again. */
	int rv         = pc_proc_assign(&e->rec, p, mask);
	e->rec.text_id = rv == PC_OK ? p->text_id : 0;
	return rv;
}

int
pc_cache_update(pc_cache *c, const pc_snapshot *s, pc_delta *d)
{
	size_t   cur = 0;
	uint32_t pid;
	entry   *e;
	int      rv = PC_OK;

	d->n_upserts = 0;
	d->n_exits   = 0;
	c->tick++;
	for (size_t i = 0; i < s->n_exits && rv == PC_OK; i++) {
		rv = probe_exit(c, &s->exits[i], d);
	}
	for (size_t i = 0; i < s->n && rv == PC_OK; i++) {
		rv = update_one(c, &s->procs[i], d);
	}
	if (rv != PC_OK) {
		return rv;
	}
	/* Whatever this tick did not see has exited. Collect first: the map
	 * must not change while it is iterated. */
	size_t first_gone = d->n_exits;
	while ((e = pc_idmap_next(&c->map, &cur, &pid)) != NULL) {
		if (e->tick != c->tick && add_exit(d, &e->rec) != PC_OK) {
			return PC_ENOMEM;
		}
	}
	for (size_t i = first_gone; i < d->n_exits; i++) {
		entry_free(pc_idmap_remove(&c->map, d->exits[i].pid));
	}
	return PC_OK;
}

const pc_proc *
pc_cache_get(const pc_cache *c, uint32_t pid)
{
	entry *e = pc_idmap_get(&c->map, pid);

	return e != NULL ? &e->rec : NULL;
}

size_t
pc_cache_count(const pc_cache *c)
{
	return pc_idmap_count(&c->map);
}

const pc_proc *
pc_cache_next(const pc_cache *c, size_t *cursor)
{
	uint32_t pid;
	entry   *e = pc_idmap_next(&c->map, cursor, &pid);

	return e != NULL ? &e->rec : NULL;
}
