/* pc_agent.h: the agent: probe, cache and delta every tick, one Update
 * published a tick, and the query service over the same state. */
#ifndef PC_AGENT_H
#define PC_AGENT_H

#include <stdbool.h>
#include <stdint.h>

#include <nng/nng.h>
#include <nng/supplemental/util/platform.h>

#include "table/pc_cache.h"
#include "probe/pc_probe.h"
#include "stream/pc_replica.h"
#include "rpc/pc_rpc.h"
#include "service/pc_service.h"
#include "net/pc_net.h"
#include "net/pc_tls.h"
#include "wire/pc_update.h"

#define PC_RPC_WORKERS 8
#define PC_PUB_QUEUE   128 /* messages queued for each subscriber */
/* StatsForPids reads this many pids at a time between ticks. */
#define PC_STATS_CHUNK 256

typedef struct pc_agent_opts {
	const char *publish_url;
	const char *rpc_url;
	const char *host;       /* NULL: the host's name */
	const char *aggregator; /* also dial this aggregator; NULL: none */
	const char *probe;
	uint32_t    interval_ms;
	uint32_t    keyframe_every; /* ticks */
	pc_deadband deadband;
	pc_scrub    scrub;        /* command line scrubbing: on by default */
	size_t      cmdline_max;  /* command lines cut there; 0: PC_CMDLINE_MAX */
	int         ipc_mode;     /* of ipc:// sockets, e.g. 0600 */
	size_t      part_records; /* an update larger than this is sent in parts */
	size_t      part_bytes;
	pc_tls      tls; /* of tls+tcp:// sockets, listening and dialing */
} pc_agent_opts;

typedef struct pc_agent {
	pc_agent_opts  opts;
	char           host[PC_HOST_MAX + 1];
	uint64_t       instance;
	uint64_t       seq;
	bool           keyframe_asked;
	uint64_t       lost_logged; /* probe events lost, as last logged */
	pc_probe      *probe;
	pc_cache      *cache;
	pc_replica    *local; /* what subscribers have: the queries' source */
	pc_service    *svc;
	pc_rpc_server *rpc;
	nng_mtx       *lock; /* guards all of the above during a tick or a query */
	/* The probe is also read by StatsForPids, without the lock: whoever
	 * sets probing owns it. A tick waiting (tick_waiting) goes first, so
	 * it waits for at most one chunk of a StatsForPids. */
	nng_mtx    *probe_mtx;
	nng_cv     *probe_cv;
	bool        probing;
	bool        tick_waiting;
	nng_socket  pub;
	nng_socket  rep;
	pc_snapshot snap;
	pc_delta    delta;
	pc_encoder  enc;
	char        pub_bound[PC_URL_MAX]; /* the URLs as bound (port 0: the OS's) */
	char        rpc_bound[PC_URL_MAX];
	char        probe_why[512]; /* why the backends before the one in use failed */
	char        err[768];       /* what failed, for the caller to print */
} pc_agent;

/* Opens the probe and listens; on failure a->err says what failed. */
int pc_agent_start(pc_agent *a, const pc_agent_opts *o);
int pc_agent_tick(pc_agent *a);
/* Ticks on a monotonic clock until stop() is true or ticks ticks ran (0:
 * forever); missed ticks are skipped, not bunched, so there is no drift. */
int  pc_agent_run(pc_agent *a, bool (*stop)(void), uint64_t ticks);
void pc_agent_stop(pc_agent *a);

#endif
