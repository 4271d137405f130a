/* pc_agg_groups.h: process groups' totals by name, in order of last use,
 * so that a bounded set can give up its least recently used group. */
#ifndef PC_AGG_GROUPS_H
#define PC_AGG_GROUPS_H

#include <stddef.h>
#include <stdint.h>

#include "base/pc_idmap.h"

/* What a group sums over its processes; exited ones keep only counters. */
typedef struct pc_gtot {
	uint64_t procs, threads, handles, rss;
	uint64_t cpu_user_us, cpu_system_us;
	uint64_t io_read_bytes, io_write_bytes, io_read_ops, io_write_ops;
} pc_gtot;

typedef struct pc_group {
	char            *name; /* owned */
	pc_gtot          t;
	uint32_t         hash;
	struct pc_group *chain;         /* next with the same hash */
	struct pc_group *older, *newer; /* the order of last use */
} pc_group;

/* A string map: a 32-bit hash of the name into pc_idmap, chained on a
 * collision, so that a lookup costs one hash and no scan. */
typedef struct pc_groups {
	pc_idmap  map;
	size_t    n;
	pc_group *oldest, *newest;
} pc_groups;

/* The group of that name, made the newest; created (zeroed) if absent.
 * NULL when out of memory. */
pc_group *pc_groups_use(pc_groups *s, const char *name);
pc_group *pc_groups_find(const pc_groups *s, const char *name);
/* Removes and frees g. */
void pc_groups_drop(pc_groups *s, pc_group *g);
void pc_groups_fini(pc_groups *s);

/* Adds the counters (CPU and I/O) of from to to. */
void pc_gtot_add_counters(pc_gtot *to, const pc_gtot *from);

#endif
