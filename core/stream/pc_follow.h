/* pc_follow.h: following one agent's stream into a replica, with resync.
 *
 * The reliable pub/sub "clone" pattern: subscribe first; on a gap, an
 * update from a new agent instance, or silence, fetch a snapshot over RPC
 * (GetSnapshot) and apply it like a keyframe; deltas that were queued
 * meanwhile and are at or below its sequence are dropped as stale. Without
 * an RPC endpoint it recovers from the next keyframe instead. */
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

#endif
