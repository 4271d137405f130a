/* pc_hist.h: the aggregator's history: what ran, when and how much, on
 * every host, written to a store (SQLite by default, ClickHouse for a
 * fleet) by a thread of its own (docs/HISTORY.md).
 *
 * The aggregator hands it rows under its own lock, and that costs a copy
 * into a queue: nothing here ever waits for the store. The writer takes
 * the queue about once a second (--history-flush) and writes it as one
 * batch. A batch that fails goes back in front of the queue, and is
 * tried again after 1 s, doubling to 30 s, while rows keep coming. The
 * queue is bounded in bytes (--history-buffer): past the bound the oldest
 * rows are dropped and counted, so that a store down for an hour costs
 * the aggregator a bounded buffer and an exact count of what was lost.
 * The same thread applies retention: a little at a time, between batches.
 *
 * What is recorded:
 * - every start and exit (the replica's events: a process first seen is a
 *   start at its create time, which the store keys so that a restarted
 *   aggregator's second sight of it counts once);
 * - a sample of each process's counters every --history-every (10 s)
 *   when they changed since the last sample, and every PC_HIST_IDLE_EVERY
 *   samples whether or not, so that a moment in the past always finds
 *   every live process within a window (TopAt);
 * - hosts going up and down. */
#ifndef PC_HIST_H
#define PC_HIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <nng/nng.h>

#include "base/pc_buf.h"
#include "record/pc_proc.h"
#include "stream/pc_replica.h"
#include "pc_hist_store.h"

#define PC_HIST_DEFAULT_PATH   "/var/lib/pidcast/history.db"
#define PC_HIST_EVERY_MS       10000u             /* --history-every */
#define PC_HIST_RETAIN_MS      (7ull * 86400000u) /* --history-retain */
#define PC_HIST_BUFFER         ((size_t)64 << 20) /* --history-buffer */
#define PC_HIST_FLUSH_MS       1000u              /* --history-flush */
#define PC_HIST_IDLE_EVERY     6u      /* an unchanged process is sampled every 6th time */
#define PC_HIST_BATCH_MAX      100000u /* rows a write at most */
#define PC_HIST_BACKOFF_MAX_MS 30000u

typedef struct pc_hist_opts {
	const char *url;       /* sqlite:PATH or clickhouse://HOST:PORT/DATABASE */
	uint64_t    every_ms;  /* 0: PC_HIST_EVERY_MS */
	uint64_t    retain_ms; /* 0: PC_HIST_RETAIN_MS */
	size_t      buffer;    /* bytes; 0: PC_HIST_BUFFER */
	uint32_t    flush_ms;  /* 0: PC_HIST_FLUSH_MS */
} pc_hist_opts;

typedef struct pc_hist_stats {
	bool     up;
	uint64_t rows_in;      /* every row handed over */
	uint64_t rows_written; /* by the store, in batches that succeeded */
	uint64_t rows_queued;  /* waiting, or being written, now */
	uint64_t bytes_queued;
	uint64_t rows_dropped; /* the oldest, past the bound */
	uint64_t write_errors;
	uint64_t rows_deleted; /* by retention */
	char     last_error[256];
} pc_hist_stats;

typedef struct pc_hist pc_hist;

/* Checks the URL and starts the writer; a store that is down at start is
 * not an error (the writer retries), a URL that names none is: PC_EINVAL
 * with the reason in err; PC_ENOTSUP for a store this build lacks (SQLite
 * on Windows). */
int pc_hist_open(pc_hist **out, const pc_hist_opts *o, char *err, size_t n);
/* Writes what is queued (for up to 5 s when the store is down), stops the
 * writer and frees everything. */
void pc_hist_close(pc_hist *h);

/* A host's number in the rows, the same for a name all along. */
uint32_t pc_hist_host_id(pc_hist *h, const char *name);

/* Recording, from the aggregator's thread, quick and never blocking. */
void pc_hist_start(pc_hist *h, uint32_t host, const pc_proc *p);
void pc_hist_exit(pc_hist *h, uint32_t host, const pc_proc *p, uint64_t time_ms);
void pc_hist_host_up(pc_hist *h, uint32_t host, bool up, uint64_t time_ms);

/* One host's sampling state: when it last sampled, and how many times. */
typedef struct pc_hist_sampler {
	uint64_t last_ms;
	uint64_t rounds;
} pc_hist_sampler;

/* After an update of the host was applied: when --history-every has
 * passed since its last round, a sample of every process of r that
 * changed since, and of the idle ones whose turn it is. */
void pc_hist_sample(pc_hist *h, pc_hist_sampler *s, uint32_t host, const pc_replica *r);

void        pc_hist_stats_get(pc_hist *h, pc_hist_stats *out);
const char *pc_hist_url(const pc_hist *h);
/* Appends what happened since the last call (store down, up again, rows
 * dropped), a line each ending in a newline. */
void pc_hist_log(pc_hist *h, pc_buf *log);

/* The queries (pc_hist_query.c): any thread, beside the writer. Each
 * checks the request (a clear INVALID_ARGUMENT otherwise), asks the store,
 * and answers through the closure. */
void pc_hist_rpc_history(pc_hist *h, const Pidcast__HistoryRequest *in,
                         Pidcast__HistoryReply_Closure closure, void *cd);
void pc_hist_rpc_events(pc_hist *h, const Pidcast__EventsRequest *in,
                        Pidcast__EventsReply_Closure closure, void *cd);
void pc_hist_rpc_top_at(pc_hist *h, const Pidcast__TopAtRequest *in,
                        Pidcast__TopAtReply_Closure closure, void *cd);

/* For pc_hist_query.c: the queries' store, opened on first use, one
 * query at a time: after a begin that returns PC_OK, *store until the end. */
int                  pc_hist_query_begin(pc_hist *h, pc_hstore **store, char *err, size_t n);
void                 pc_hist_query_end(pc_hist *h);
const pc_hstore_ops *pc_hist_ops(const pc_hist *h);
uint64_t             pc_hist_every_ms(const pc_hist *h);

#endif
