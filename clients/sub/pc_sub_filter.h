/* pc_sub_filter.h: which processes pidcast-sub follows (--pid, --name,
 * --container, --service, --cgroup: every one given must hold), for the
 * screen, the plain table and the JSON events alike.
 *
 * The screen and the table are drawn from the replica each time, so a
 * process is in them while its record matches. The JSON stream is a
 * table too, rebuilt by its reader from the lines: a process whose record
 * comes to match (an exec, a move to another cgroup) is new there, and one
 * that stops matching is gone from it although it runs on. So, with a
 * filter, the stream keeps the PIDs it has shown, and an event becomes:
 *   - for a process not shown that matches now: new, every field (then the
 *     exit, when the event is its exit);
 *   - for a shown process that matches no more: an exit that says it left
 *     the filter (the fields that changed, which tell why);
 *   - for a shown process that still matches, and its exit: the event;
 *   - else nothing. */
#ifndef PC_SUB_FILTER_H
#define PC_SUB_FILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/pc_idmap.h"
#include "record/pc_match.h"
#include "stream/pc_replica.h"

typedef struct pc_sub_filter {
	bool              has_pid;
	uint32_t          pid;
	const char       *name;  /* a glob on the name; NULL: any */
	pc_context_filter ctx;   /* record/pc_match.h; NULL members: any */
	pc_idmap          shown; /* the PIDs the JSON stream has shown */
} pc_sub_filter;

/* Whether some filter is set. */
bool pc_sub_filter_set(const pc_sub_filter *f);

/* Whether p passes every filter that is set. */
bool pc_sub_wanted(const pc_sub_filter *f, const pc_proc *p);

/* One JSON line to print for an event. */
typedef struct pc_sub_line {
	pc_event ev;
	pc_mask  mask; /* the fields to print */
	bool     left; /* an exit that is a process leaving the filter */
} pc_sub_line;

/* The lines (0 to 2, in out) for the replica's event ev on p with mask,
 * as above; the PIDs shown are kept up to date. Without a filter, the
 * event itself. */
size_t pc_sub_filter_event(pc_sub_filter *f, pc_event ev, const pc_proc *p, pc_mask mask,
                           pc_sub_line out[2]);

void pc_sub_filter_fini(pc_sub_filter *f);

#endif
