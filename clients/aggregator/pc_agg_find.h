/* pc_agg_find.h: the fleet's processes, searched, sorted and paged, for
 * the web API's /api/processes.
 *
 * A page that is not a search (no text to match) is merged from each
 * host's own first rows, which a host keeps for each order asked and
 * computes again only once its table has changed (pc_replica_version):
 * open pages cost a pass over each table once a tick, not once a request.
 * The busiest by CPU or I/O cost less: only the processes the last update
 * rated can have a rate, so those are all a host sorts. A search, or a
 * page deeper than PC_FIND_TOP (or past every rate above 0), passes over
 * every table. All of it runs under the aggregator's lock; hits point
 * into the tables, valid until it is released. */
#ifndef PC_AGG_FIND_H
#define PC_AGG_FIND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pc_agg.h"

typedef enum pc_find_by {
	PC_FIND_CPU,
	PC_FIND_RSS,
	PC_FIND_IO,
	PC_FIND_START,
	PC_FIND_NAME,
	PC_FIND_PID,
	PC_FIND_HOST,
	PC_FIND_N_BY
} pc_find_by;

/* The names of the orders, as the API takes them ("cpu", ...). */
extern const char *const pc_find_by_names[PC_FIND_N_BY];

/* Rows past which a page is found by a pass over every table. */
#define PC_FIND_TOP 512
/* The orders a host keeps rows for at once; the least recently asked
 * makes room for another. */
#define PC_FIND_KEPT 4

typedef struct pc_find {
	const char *q;    /* lower case; "" for every process */
	const char *host; /* NULL: every host */
	pc_find_by  by;
	bool        desc;
	size_t      offset, limit;
} pc_find;

typedef struct pc_find_hit {
	const pc_agg_host *h;
	const pc_proc     *p;
	double             num; /* what it sorts by, when a number */
} pc_find_hit;

/* The hits of rows [offset, offset + limit) into *out (*n of them, freed
 * by the caller) and the count of every match into *total. PC_ENOMEM. */
int pc_find_run(pc_agg *g, const pc_find *f, pc_find_hit **out, size_t *n, uint64_t *total);

/* What a host keeps (pc_agg_host.find), freed with it. */
void pc_find_host_free(pc_find_host *c);

#endif
