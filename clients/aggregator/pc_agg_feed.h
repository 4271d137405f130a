/* pc_agg_feed.h: the fleet's recent starts and exits, for the web page's
 * feed: a ring of the last PC_FEED_MAX, numbered, fixed in size (strings
 * cut to fit), so that a burst of short-lived processes costs no memory
 * and a page asks only for what it has not seen. Not thread-safe: the
 * aggregator's lock guards it. */
#ifndef PC_AGG_FEED_H
#define PC_AGG_FEED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/pc_buf.h"
#include "record/pc_proc.h"
#include "wire/pc_update.h"

#define PC_FEED_MAX     4096
#define PC_FEED_NAME    64
#define PC_FEED_CMDLINE 256
#define PC_FEED_USER    64

typedef struct pc_feed_event {
	uint64_t id; /* 1, 2, ...: the feed's count when it was added */
	bool     exit;
	uint64_t time_ms; /* a start's create time, an exit's time */
	char     host[PC_HOST_MAX + 1];
	uint32_t pid, ppid;
	uint64_t create_time_ms;
	char     name[PC_FEED_NAME], cmdline[PC_FEED_CMDLINE], user[PC_FEED_USER];
	pc_exit  how;
} pc_feed_event;

typedef struct pc_feed {
	pc_feed_event *ring;       /* PC_FEED_MAX, allocated on first use */
	uint64_t       last;       /* the id of the newest; 0: none yet */
	uint64_t       started_ms; /* when the aggregator started: ids count from 1 again */
} pc_feed;

/* Adds a start (exit false) or an exit of p on host at time_ms (an exit's
 * time when p->exit does not give it). Out of memory: not added. */
void pc_feed_add(pc_feed *f, const char *host, const pc_proc *p, bool exit, uint64_t time_ms);

/* Appends {"last":N,"started_ms":T,"events":[...]} to b: the newest limit events with
 * an id above after, oldest first (docs/PROTOCOL.md §9). */
void pc_feed_json(const pc_feed *f, uint64_t after, size_t limit, pc_buf *b);

void pc_feed_fini(pc_feed *f);

#endif
