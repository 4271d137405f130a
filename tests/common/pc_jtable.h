/* pc_jtable.h: the process table a consumer of `pidcast-sub --json
 * --marks` rebuilds from its lines (new, changed, exit), to check that
 * what the subscriber prints adds up to the agent's table. Values are kept
 * as their JSON text, so the check compares what was printed. */
#ifndef PC_JTABLE_H
#define PC_JTABLE_H

#include <stddef.h>
#include <stdint.h>

#include "pidcast.pb-c.h"

typedef struct pc_jtable pc_jtable;

/* What one line was. */
typedef struct pc_jline {
	char     event[16];  /* new, changed, exit, resync, update, unsynced */
	char     reason[16]; /* a resync's or an unsynced's */
	uint64_t from, seq;  /* a resync's, an update's */
	uint64_t processes;  /* a resync's, an update's */
} pc_jline;

pc_jtable *pc_jtable_open(void);
void       pc_jtable_close(pc_jtable *t);

/* Applies one line. 0 on success, -1 on a line that is not a flat JSON
 * object with an event, or an event that does not fit the table (a
 * change or an exit of an unknown process). */
int pc_jtable_line(pc_jtable *t, const char *line, pc_jline *out);

size_t pc_jtable_count(const pc_jtable *t);

/* 0 when the table holds exactly the snapshot's processes with the same
 * JSON for every field; else -1 and why. */
int pc_jtable_equals(const pc_jtable *t, const Pidcast__Update *s, char *why, size_t cap);

#endif
