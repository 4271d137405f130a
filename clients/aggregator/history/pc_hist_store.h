/* pc_hist_store.h: what a history store does, implemented once a database
 * (pc_hist_sqlite.c, pc_hist_clickhouse.c), the way NNG's transports
 * implement one small set of operations.
 *
 * The writer thread alone opens, writes and retains; the queries come from
 * the RPC workers, at once and beside the writer, so a store answers them
 * on a connection of their own. A store may be unreachable at open (a
 * server that is down): open then fails and the writer tries again, with
 * backoff; the schema is created when missing, at every open. */
#ifndef PC_HIST_STORE_H
#define PC_HIST_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pc_hist_row.h"
#include "pidcast.pb-c.h"

typedef struct pc_hstore pc_hstore;

/* A query, its times already defaulted and checked (pc_hist_query.c). */
typedef struct pc_hquery {
	const char *host; /* NULL: every host (events, top) */
	uint32_t    pid;
	uint64_t    since_ms, until_ms; /* inclusive */
	const char *name_glob;          /* NULL: any (events) */
	size_t      limit;              /* rows at most; one more is asked, for truncated */
	int         by;                 /* top: PIDCAST__TOP_REQUEST__BY__* */
} pc_hquery;

typedef struct pc_hstore_ops {
	const char *scheme; /* "sqlite", "clickhouse" */
	/* url is the whole --history value; the store keeps what it needs. */
	int (*open)(pc_hstore **out, const char *url, char *err, size_t n);
	void (*close)(pc_hstore *s);
	/* All of rows or none of them (one transaction, or one INSERT a
	 * table of which a retry may repeat the first: the tables are keyed
	 * so that a row written twice counts once). hosts[row.host] names
	 * each row's host. */
	int (*write)(pc_hstore *s, const pc_hrow *rows, size_t n, const char *const *hosts,
	             char *err, size_t en);
	/* Removes some of what is older than cutoff_ms: *deleted rows, and
	 * *more when there is more to remove (the next call goes on), so
	 * that retention never holds the store for long. */
	int (*retain)(pc_hstore *s, uint64_t cutoff_ms, uint64_t *deleted, bool *more, char *err,
	              size_t n);
	/* The queries fill the reply with memory of their own (strings from
	 * pc_strdup, arrays and messages from malloc), which
	 * pc_hist_reply_free() frees: samples by time (HistoryReply: name,
	 * samples, no rates), events by time, the top N by q->by. */
	int (*samples)(pc_hstore *s, const pc_hquery *q, Pidcast__HistoryReply *out, char *err,
	               size_t n);
	int (*events)(pc_hstore *s, const pc_hquery *q, Pidcast__EventsReply *out, char *err,
	              size_t n);
	int (*top)(pc_hstore *s, const pc_hquery *q, Pidcast__TopAtReply *out, char *err, size_t n);
} pc_hstore_ops;

extern const pc_hstore_ops pc_hstore_sqlite;
extern const pc_hstore_ops pc_hstore_clickhouse;

/* Frees what a store's query put in a reply. */
void pc_hist_samples_free(Pidcast__HistoryReply *r);
void pc_hist_events_free(Pidcast__EventsReply *r);
void pc_hist_top_free(Pidcast__TopAtReply *r);

/* Appends one message to a reply's array (arrays grow by doubling as
 * the rows come): the message, zeroed and initialized, or NULL. */
void *pc_hist_append(void ***arr, size_t *n, size_t size, const void *init);

#endif
