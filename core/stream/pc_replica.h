/* pc_replica.h: a subscriber's exact copy of one agent's process table.
 *
 * It applies the stream as the reliable pub/sub "clone" pattern wants: a
 * keyframe replaces the table and sets the sequence; a delta applies only
 * on top of the sequence just before it. A delta past a gap, or from an
 * instance the replica is not synced to, is dropped and the replica is
 * marked out of sync: the caller then fetches a snapshot over RPC (or
 * waits for the next keyframe) and applies it like a keyframe, dropping
 * every delta at or below its sequence. It reports each change as an event
 * and keeps per-process rates over the last update. Not thread-safe.
 *
 * An update sent in parts (Update.part of Update.parts) is all or nothing:
 * its parts, in order and back to back, are held aside, and applied as one
 * update with the last; until then the table is as it was and counts as
 * not synced. Anything else in between loses the held parts, and is then
 * a gap.
 *
 * A peer may be hostile: the table is bounded in processes and bytes
 * (entries and their strings), counted on what the table would become: a
 * keyframe on its own, since it replaces the table (what it does not list
 * is removed before its records are added); a delta's new processes and
 * its records' bytes on top of the table. An update that would pass
 * either limit is refused before any of it is applied (PC_ETOOBIG), and
 * the replica is then out of sync. The held parts are bounded by the same
 * limits (their upserts, their exits, their bytes): the part that passes
 * one is refused with the parts before it. */
#ifndef PC_REPLICA_H
#define PC_REPLICA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "record/pc_proc.h"
#include "pidcast.pb-c.h"

typedef enum pc_event { PC_EV_NEW, PC_EV_CHANGED, PC_EV_EXIT } pc_event;

/* rec is valid during the call; for an exit it is the last known state:
 * the exit's final record applied, and rec->exit set when the agent saw
 * the process end; mask is then what the final record changed. An exit of a process the table never
 * held that carries a final record is reported as PC_EV_NEW with that record, then the exit. */
typedef void (*pc_replica_cb)(void *arg, pc_event ev, const pc_proc *rec, pc_mask mask);

/* Default limits of one replica (one host's table). */
#define PC_REPLICA_MAX_PROCS (1u << 20)
#define PC_REPLICA_MAX_BYTES ((size_t)512 << 20)

typedef enum pc_apply {
	PC_APPLIED,   /* applied: the replica is at the update's sequence */
	PC_PART,      /* a part held aside; the update is applied with its last part */
	PC_STALE,     /* at or below the replica's sequence: dropped */
	PC_GAP,       /* a delta that skips sequence numbers: dropped, resync */
	PC_NEED_SYNC, /* a delta while not synced, or from another instance */
} pc_apply;

typedef struct pc_replica pc_replica;

int  pc_replica_open(pc_replica **out);
void pc_replica_close(pc_replica *r);

/* Sets the limits (0: the default). */
void pc_replica_set_limits(pc_replica *r, size_t max_procs, size_t max_bytes);
/* What the table costs now, counted against max_bytes. */
size_t pc_replica_bytes(const pc_replica *r);

/* Applies one update. Returns PC_OK with *res set, PC_EPROTO for an update
 * without its header, or with a host the protocol forbids (pc_host_valid),
 * or with a record without its key; PC_ETOOBIG for one over the limits;
 * PC_ENOMEM. A refused update changes nothing of the table (PC_ENOMEM may
 * leave it half applied), and but for a bad header the replica is then out
 * of sync. */
int pc_replica_apply(pc_replica *r, const Pidcast__Update *u, pc_replica_cb cb, void *arg,
                     pc_apply *res);

/* Forgets the sync state (not the table): the next delta asks for a resync. */
void pc_replica_desync(pc_replica *r);

bool pc_replica_synced(const pc_replica *r);
/* A number that changes whenever the table, its records' addresses or
 * their rates may have: what a reader keys a cache of them by (the seq
 * does not do: a resync may replace the table at the same seq). */
uint64_t pc_replica_version(const pc_replica *r);
uint64_t pc_replica_seq(const pc_replica *r);
uint64_t pc_replica_instance(const pc_replica *r);
/* The host of the last update taken, or whose first part is held; "" before. */
const char *pc_replica_host(const pc_replica *r);
uint64_t    pc_replica_time_ms(const pc_replica *r);
uint32_t    pc_replica_interval_ms(const pc_replica *r);

size_t         pc_replica_count(const pc_replica *r);
const pc_proc *pc_replica_get(const pc_replica *r, uint32_t pid);
/* Iteration, as pc_idmap_next(). */
const pc_proc *pc_replica_next(const pc_replica *r, size_t *cursor);

/* CPU in percent of one core and I/O bytes (read + write) a second, over
 * the last update; 0 for a process that did not change in it. */
void pc_replica_rates(const pc_replica *r, const pc_proc *rec, double *cpu_pct, double *io_bps);

/* The records whose rates are over the last update (every other's are 0)
 * into out, valid until the next apply: false when the list is not whole
 * (out of memory). */
bool pc_replica_rated(const pc_replica *r, const pc_proc *const **out, size_t *n);
/* The CPU rates summed (percent of one core), and every record's RSS. */
double   pc_replica_cpu_sum(const pc_replica *r);
uint64_t pc_replica_rss_sum(const pc_replica *r);

/* The tick time (Unix ms) of the update that last changed one of rec's
 * counters (PC_MASK_STATS), or that added it: what a history sampler asks
 * to write only the processes that changed. */
uint64_t pc_replica_changed_ms(const pc_replica *r, const pc_proc *rec);

#endif
