/* pc_cache.h: the last published state of every process, keyed by PID and
 * checked against create time, and the delta of each tick against it.
 *
 * pc_cache_update() compares a snapshot with the cache field by field and
 * returns what changed: new processes with every field, changed ones with
 * the mask of fields that changed, exited ones by key. The same PID with
 * another create time is an exit and a new process. The exits the probe
 * saw (s->exits) come first, each with its final record: for a process
 * the cache holds, every counter and any field that changed; for one it
 * never published (born and gone between two snapshots), every field. The cache then holds
 * the snapshot's values (strings copied), except changes inside a
 * deadband, which are neither reported nor stored, so that small drifts
 * add up until they cross it. */
#ifndef PC_CACHE_H
#define PC_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "probe/pc_probe.h"
#include "record/pc_proc.h"

/* An exit: the key and, when the probe saw the process end, its final
 * record (borrowed from the snapshot, with exit.known) and the fields of it
 * to publish; final NULL: only the key is known. */
typedef struct pc_key {
	uint32_t       pid;
	uint64_t       create_time_ms;
	const pc_proc *final;
	pc_mask        mask;
} pc_key;

typedef struct pc_upsert {
	const pc_proc *rec;  /* the cached record: valid until the next update */
	pc_mask        mask; /* the fields to publish */
	bool           is_new;
} pc_upsert;

typedef struct pc_delta {
	pc_upsert *upserts;
	size_t     n_upserts;
	size_t     cap_upserts;
	pc_key    *exits;
	size_t     n_exits;
	size_t     cap_exits;
} pc_delta;

void pc_delta_fini(pc_delta *d);

/* Deadbands: a change smaller than this is ignored. 0 turns one off. */
typedef struct pc_deadband {
	uint64_t mem_bytes; /* rss, peak rss, private bytes */
	uint64_t cpu_us;    /* user and system CPU time */
} pc_deadband;

typedef struct pc_cache pc_cache;

int  pc_cache_open(pc_cache **out, const pc_deadband *db); /* db may be NULL */
void pc_cache_close(pc_cache *c);

/* Applies a snapshot of every process and fills d (reset first). On
 * PC_ENOMEM the cache is unchanged for the records not yet applied, and
 * the next update reports them. */
int pc_cache_update(pc_cache *c, const pc_snapshot *s, pc_delta *d);

const pc_proc *pc_cache_get(const pc_cache *c, uint32_t pid);
size_t         pc_cache_count(const pc_cache *c);

/* Iteration over every cached record, as pc_idmap_next(). */
const pc_proc *pc_cache_next(const pc_cache *c, size_t *cursor);

#endif
