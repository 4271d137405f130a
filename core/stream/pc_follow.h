/* pc_follow.h: following a stream into one replica a host, with resync.
 *
 * The reliable pub/sub "clone" pattern: subscribe first; on a gap, an
 * update from a new agent instance, or silence, fetch a snapshot over RPC
 * (GetSnapshot) and apply it like a keyframe; deltas that were queued
 * meanwhile and are at or below its sequence are dropped as stale. Without
 * an RPC endpoint it recovers from the next keyframe instead.
 *
 * The stream may carry many hosts (an aggregator's publish socket carries
 * its whole fleet): each host has its own table, sequence, silence and
 * resync, and a resync asks for that host's snapshot (GetSnapshot with its
 * host), so one host's gap costs one snapshot of that host. A single
 * agent's stream is the case of one host. At most max_hosts are followed;
 * updates of further hosts are counted and dropped.
 *
 * Every resync it starts by itself is backed off: the next one comes at
 * least RESYNC_MIN_MS later, and after each that does not sync the table
 * (no snapshot, or one the stream cannot follow: older than the stream or
 * of another agent instance) twice as late, up to RESYNC_MAX_MS, until the
 * stream applies again. A resync after a silence that brings nothing new
 * (the same instance and sequence: a host that is down, as an aggregator
 * answers for it) is backed off the same way. Meanwhile a keyframe on the
 * stream still syncs. A
 * snapshot the stream cannot follow leaves the table filled but not
 * synced. pc_follow_last_resync() says how the last one went, so that a
 * caller can tell why its table is not synced. */
#ifndef PC_FOLLOW_H
#define PC_FOLLOW_H

#include <stddef.h>
#include <stdint.h>

#include "stream/pc_replica.h"
#include "net/pc_tls.h"
#include "wire/pc_update.h"

/* Why a host's table is synced again (pc_follow_opts.on_sync). */
typedef enum pc_sync_reason {
	PC_SYNC_START,   /* its first sync */
	PC_SYNC_GAP,     /* updates were lost, or refused */
	PC_SYNC_SILENCE, /* nothing was heard of it for a silence period */
	PC_SYNC_RESTART, /* a new agent instance */
} pc_sync_reason;

/* A host's table r is synced again, for that reason: at its first sync,
 * and each time it is synced after it was not (or to another instance).
 * from_seq is the sequence it last stood at synced (0 at the first). */
typedef void (*pc_sync_cb)(void *arg, const pc_replica *r, pc_sync_reason why, uint64_t from_seq);

/* The most hosts a follower follows by default (as the aggregator tracks). */
#define PC_FOLLOW_MAX_HOSTS 10000

typedef struct pc_follow_opts {
	const char   *url;            /* the agent's or the aggregator's PUB */
	const char   *rpc_url;        /* NULL: recover from keyframes only */
	const char   *topic;          /* subscription prefix; NULL: every host, "pc/" */
	uint32_t      rpc_timeout_ms; /* 0: 2000 */
	int           recv_buf;       /* messages queued in the SUB socket; 0: NNG's default */
	size_t        recv_max;       /* largest message taken; 0: PC_RECV_MAX */
	const pc_tls *tls;            /* for tls+tcp:// URLs; NULL: no files */
	size_t        max_hosts;      /* 0: PC_FOLLOW_MAX_HOSTS */
	pc_sync_cb    on_sync;        /* NULL: not told */
	void         *sync_arg;
} pc_follow_opts;

typedef struct pc_follow_stats {
	uint64_t received; /* frames that decoded */
	uint64_t applied;
	uint64_t stale;
	uint64_t gaps; /* deltas that did not follow: a loss, a restart, a late join */
	uint64_t resyncs;
	uint64_t resync_failures;
	uint64_t silences;
	uint64_t parts;         /* parts of an update held aside before its last one */
	uint64_t refused;       /* updates over PC_UPDATE_MAX_RECORDS or the replica's limits */
	uint64_t bad;           /* frames that did not decode, or violated the protocol */
	uint64_t hosts_refused; /* updates of hosts past max_hosts */
} pc_follow_counts;

/* How the last resync went (of any host: host says which). */
typedef enum pc_resync_outcome {
	PC_RESYNC_OK,       /* the table is synced, or was already */
	PC_RESYNC_FAILED,   /* no snapshot: err, and status and message from a reply */
	PC_RESYNC_BEHIND,   /* a snapshot older than the stream already received */
	PC_RESYNC_INSTANCE, /* a snapshot of another agent instance than the stream's */
} pc_resync_outcome;

typedef struct pc_resync_info {
	char              host[PC_HOST_MAX + 1]; /* whose snapshot; "" for one not named yet */
	uint64_t          attempts;              /* resyncs tried so far, of every host */
	pc_resync_outcome outcome;               /* of the last one */
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

/* Waits up to timeout_ms for one update, applies it to its host's table,
 * resyncs if needed (one host at most a call); changes go to cb, during
 * which pc_follow_replica() is the table changed. PC_OK when something was
 * received, PC_ETIMEDOUT when not, another code on a local failure. */
int pc_follow_poll(pc_follow *f, int timeout_ms, pc_replica_cb cb, void *arg);

/* Fetches a snapshot of the current host over RPC now and applies it. */
int pc_follow_resync(pc_follow *f, pc_replica_cb cb, void *arg);

/* The current host's table: the one the last update received, or the last
 * resync, went to (during a callback, the one it changes). Before anything
 * came, an empty table not named yet, which the first host takes: with a
 * single agent this is always its table. */
pc_replica *pc_follow_replica(pc_follow *f);
/* The hosts followed so far, in order of arrival (i < pc_follow_hosts()),
 * and the table of a host by name (NULL: none). Tables stay where they are
 * until pc_follow_close. */
size_t      pc_follow_hosts(const pc_follow *f);
pc_replica *pc_follow_host(pc_follow *f, size_t i);
pc_replica *pc_follow_find(pc_follow *f, const char *host);

const pc_follow_counts *pc_follow_stats(const pc_follow *f);
const pc_resync_info   *pc_follow_last_resync(const pc_follow *f);

#endif
