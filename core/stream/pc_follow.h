/* pc_follow.h: following one agent's stream into a replica, with resync.
 *
 * The reliable pub/sub "clone" pattern: subscribe first; on a gap, an
 * update from a new agent instance, or silence, fetch a snapshot over RPC
 * (GetSnapshot) and apply it like a keyframe; deltas that were queued
 * meanwhile and are at or below its sequence are dropped as stale. Without
 * an RPC endpoint it recovers from the next keyframe instead.
 *
 * Every resync it starts by itself is backed off: the next one comes at
 * least RESYNC_MIN_MS later, and after each that does not sync the table
 * (no snapshot, or one the stream cannot follow: older than the stream or
 * of another agent instance) twice as late, up to RESYNC_MAX_MS, until the
 * stream applies again. Meanwhile a keyframe on the stream still syncs. A
 * snapshot the stream cannot follow leaves the table filled but not
 * synced. pc_follow_last_resync() says how the last one went, so that a
 * caller can tell why its table is not synced. */
#ifndef PC_FOLLOW_H
#define PC_FOLLOW_H

#include <stddef.h>
#include <stdint.h>

#include "stream/pc_replica.h"
#include "net/pc_tls.h"

typedef struct pc_follow_opts {
	const char   *url;            /* the agent's PUB */
	const char   *rpc_url;        /* NULL: recover from keyframes only */
	const char   *topic;          /* subscription prefix; NULL: every host, "pc/" */
	uint32_t      rpc_timeout_ms; /* 0: 2000 */
	int           recv_buf;       /* messages queued in the SUB socket; 0: NNG's default */
	size_t        recv_max;       /* largest message taken; 0: PC_RECV_MAX */
	const pc_tls *tls;            /* for tls+tcp:// URLs; NULL: no files */
} pc_follow_opts;

typedef struct pc_follow_stats {
	uint64_t received; /* frames that decoded */
	uint64_t applied;
	uint64_t stale;
	uint64_t gaps; /* deltas that did not follow: a loss, a restart, a late join */
	uint64_t resyncs;
	uint64_t resync_failures;
	uint64_t silences;
	uint64_t parts;   /* parts of an update held aside before its last one */
	uint64_t refused; /* updates over PC_UPDATE_MAX_RECORDS or the replica's limits */
	uint64_t bad;     /* frames that did not decode, or violated the protocol */
} pc_follow_counts;

/* How the last resync went. */
typedef enum pc_resync_outcome {
	PC_RESYNC_OK,       /* the table is synced, or was already */
	PC_RESYNC_FAILED,   /* no snapshot: err, and status and message from a reply */
	PC_RESYNC_BEHIND,   /* a snapshot older than the stream already received */
	PC_RESYNC_INSTANCE, /* a snapshot of another agent instance than the stream's */
} pc_resync_outcome;

typedef struct pc_resync_info {
	uint64_t          attempts;     /* resyncs tried so far */
	pc_resync_outcome outcome;      /* of the last one */
	int               err;          /* why the call failed: PC_ETIMEDOUT, PC_EPROTO, ... */
	int               status;       /* the reply's status, when it was not OK */
	char              message[256]; /* the reply's message (the server's text) */
	uint64_t          snapshot_seq; /* of the snapshot, when one came */
	uint64_t          stream_seq;   /* of the last update received off the stream */
	uint32_t          retry_ms;     /* no resync of its own before this much later */
} pc_resync_info;

typedef struct pc_follow pc_follow;

/* Subscribes and dials (in the background: the agent may start later). */
int  pc_follow_open(pc_follow **out, const pc_follow_opts *o, char *err, size_t err_cap);
void pc_follow_close(pc_follow *f);

/* Waits up to timeout_ms for one update, applies it, resyncs if needed;
 * changes go to cb. PC_OK when something was received, PC_ETIMEDOUT when
 * not, another code on a local failure. */
int pc_follow_poll(pc_follow *f, int timeout_ms, pc_replica_cb cb, void *arg);

/* Fetches a snapshot over RPC now and applies it. */
int pc_follow_resync(pc_follow *f, pc_replica_cb cb, void *arg);

pc_replica             *pc_follow_replica(pc_follow *f);
const pc_follow_counts *pc_follow_stats(const pc_follow *f);
const pc_resync_info   *pc_follow_last_resync(const pc_follow *f);

#endif
