/* pc_agg.h: the aggregator: one replica a host, fed by agents that dial in
 * or that it dials, with liveness, the query service over every host, the
 * fleet's stream republished on one PUB socket, and Prometheus metrics. */
#ifndef PC_AGG_H
#define PC_AGG_H

#include <stdbool.h>
#include <stdint.h>

#include <nng/nng.h>
#include <nng/supplemental/util/platform.h>

#include "base/pc_buf.h"
#include "stream/pc_replica.h"
#include "wire/pc_update.h"
#include "rpc/pc_rpc.h"
#include "net/pc_net.h"
#include "service/pc_service.h"
#include "net/pc_tls.h"
#include "pc_agg_feed.h"
#include "pc_agg_groups.h"
#include "pc_agg_http.h"
#include "pc_hist.h"

#define PC_AGG_DEFAULT_LISTEN  "tcp://127.0.0.1:7460"
#define PC_AGG_DEFAULT_RPC     "tcp://127.0.0.1:7461"
#define PC_AGG_DEFAULT_PUBLISH "tcp://127.0.0.1:7462"
#define PC_AGG_DEFAULT_METRICS "http://127.0.0.1:9464/metrics"

typedef enum pc_group_by {
	PC_GROUP_NAME,
	PC_GROUP_USER,
	PC_GROUP_EXE,
	PC_GROUP_CONTAINER,
	PC_GROUP_SERVICE,
	PC_GROUP_CGROUP
} pc_group_by;

typedef struct pc_agg_opts {
	const char  *listen; /* agents dial in here; NULL: do not listen */
	const char **agents; /* agents' PUB URLs to dial */
	int          n_agents;
	const char  *rpc;
	const char  *publish;            /* the fleet's stream; NULL: not published */
	int          publish_queue;      /* messages queued a subscriber; 0: PC_AGG_PUBLISH_QUEUE */
	const char  *metrics;            /* NULL: no HTTP server */
	bool         web;                /* the web page and its API beside /metrics */
	nng_duration metrics_timeout_ms; /* 0: PC_HTTP_TIMEOUT_MS */
	size_t       metrics_max_conns;  /* 0: PC_HTTP_MAX_CONNS */
	uint32_t     down_after;         /* silent intervals before a host is down */
	pc_group_by  group_by;
	const char  *pid_include; /* glob of names with per-PID series; NULL: none */
	size_t       top_pids;    /* per-PID series for a host's N busiest only; 0: no bound */
	size_t       recv_max;
	size_t       max_hosts;   /* 0: PC_AGG_MAX_HOSTS */
	size_t       max_retired; /* retired groups a host keeps; 0: PC_AGG_MAX_RETIRED */
	int          ipc_mode;    /* of ipc:// sockets */
	pc_tls       tls;         /* of tls+tcp:// sockets, listening and dialing */
	pc_hist_opts history;     /* url NULL: no history */
} pc_agg_opts;

/* The messages the publish socket queues for each subscriber by default
 * (--publish-queue; NNG_OPT_SENDBUF, at most 8192). PUB never blocks: a
 * subscriber further behind loses the oldest, sees a gap and resyncs, and
 * ingest never waits for it. The queue holds references to messages the
 * aggregator received (shared by every subscriber), so a slow subscriber
 * holds at most this many of them. */
#define PC_AGG_PUBLISH_QUEUE 1024

/* The most hosts tracked by default (--max-hosts): each costs a table, so a
 * peer that makes up host names must not make the aggregator grow without
 * bound. */
#define PC_AGG_MAX_HOSTS 10000

/* The most groups of exited processes a host keeps counters of by default
 * (--max-retired-groups). Past it the least recently retired group's
 * counters fold into the group PC_AGG_OTHER_GROUP: names that never come
 * back (--group-by exe with temporary build paths) must not grow the
 * aggregator and its page without bound. */
#define PC_AGG_MAX_RETIRED 1000
#define PC_AGG_OTHER_GROUP "other"

typedef struct pc_find_host pc_find_host;

typedef struct pc_agg_host {
	char        name[PC_HOST_MAX + 1]; /* the replica's is "" until it applies */
	pc_replica *rep;
	uint64_t    heard_us;
	bool        up;
	bool        had_table; /* an update was applied: events are news */
	uint64_t    gaps;
	pc_groups   retired;  /* counters of exited processes, by group */
	pc_gtot     other;    /* those of groups folded out of retired */
	uint64_t    n_folded; /* groups folded into other */
	pc_group_by group_by;
	size_t      max_retired;
	/* The history: this host's number in it, its sampling, and the tick
	 * time of the update being applied (an exit seen without its time
	 * happened by then). */
	pc_hist             *hist;
	uint32_t             hist_host;
	pc_hist_sampler      sampler;
	uint64_t             now_ms;
	pc_feed             *feed; /* the aggregator's, for the web page */
	struct pc_find_host *find; /* the web API's rows of it (pc_agg_find.h) */
} pc_agg_host;

typedef struct pc_agg_counts {
	uint64_t updates, applied, gaps, bad, hosts_down_events;
	uint64_t hosts_refused; /* updates whose topic names a forbidden host */
	uint64_t published;     /* updates republished on the publish socket */
} pc_agg_counts;

typedef struct pc_web_cache pc_web_cache;

typedef struct pc_agg {
	pc_agg_opts    opts;
	nng_socket     sub;
	nng_socket     rep;
	nng_socket     pub; /* when has_pub */
	bool           has_pub;
	nng_mtx       *lock; /* guards hosts, counts and the replicas */
	pc_agg_host  **hosts;
	size_t         n_hosts;
	pc_agg_counts  counts;
	bool           hosts_full; /* PC_AGG_MAX_HOSTS reached, and said so */
	pc_service    *svc;
	pc_rpc_server *rpc;
	pc_http       *http;
	pc_web_cache  *web;                      /* the API's answers, shared for a moment */
	pc_feed        feed;                     /* recent starts and exits, under lock */
	pc_hist       *hist;                     /* NULL: no history */
	char           hist_err[256];            /* ListHosts' copy of its last error */
	char           listen_bound[PC_URL_MAX]; /* the URLs as bound (port 0: the OS's) */
	char           rpc_bound[PC_URL_MAX];
	char           publish_bound[PC_URL_MAX];
	char           metrics_bound[PC_URL_MAX];
	char           err[256];
} pc_agg;

int pc_agg_start(pc_agg *g, const pc_agg_opts *o);
/* Receives for up to timeout_ms, applies, republishes, and checks
 * liveness. An update is republished as it came (the message received,
 * not a copy, not encoded again) once its host's table took it or held it
 * as a part, or found it out of sequence: every update of a tracked host
 * that decoded, after it was applied, so that a snapshot of the host
 * (GetSnapshot with its host) is never behind the updates republished
 * before it. Lines for
 * the log (host up and down) are appended to log, each ending in a newline
 * and holding no other: host names in them are escaped (pc_term.h). */
int  pc_agg_poll(pc_agg *g, int timeout_ms, pc_buf *log);
void pc_agg_stop(pc_agg *g);

/* The host tracked by that name, or NULL; with g->lock held. */
pc_agg_host *pc_agg_host_named(pc_agg *g, const char *name);

/* The Prometheus text exposition of every host. Takes g->lock only to
 * copy the sums the page shows (a pass over the tables, no formatting),
 * so that ingestion and queries do not wait for a page to be written. */
void pc_agg_metrics(pc_agg *g, pc_buf *out);

#endif
