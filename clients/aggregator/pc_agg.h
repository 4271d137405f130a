/* pc_agg.h: the aggregator: one replica a host, fed by agents that dial in
 * or that it dials, with liveness, the query service over every host, and
 * Prometheus metrics. */
#ifndef PC_AGG_H
#define PC_AGG_H

#include <stdbool.h>
#include <stdint.h>

#include <nng/nng.h>
#include <nng/supplemental/http/http.h>
#include <nng/supplemental/util/platform.h>

#include "base/pc_buf.h"
#include "stream/pc_replica.h"
#include "wire/pc_update.h"
#include "rpc/pc_rpc.h"
#include "net/pc_net.h"
#include "service/pc_service.h"
#include "net/pc_tls.h"

#define PC_AGG_DEFAULT_LISTEN  "tcp://127.0.0.1:7460"
#define PC_AGG_DEFAULT_RPC     "tcp://127.0.0.1:7461"
#define PC_AGG_DEFAULT_METRICS "http://127.0.0.1:9464/metrics"

typedef enum pc_group_by { PC_GROUP_NAME, PC_GROUP_USER, PC_GROUP_EXE } pc_group_by;

typedef struct pc_agg_opts {
	const char  *listen; /* agents dial in here; NULL: do not listen */
	const char **agents; /* agents' PUB URLs to dial */
	int          n_agents;
	const char  *rpc;
	const char  *metrics;    /* NULL: no HTTP server */
	uint32_t     down_after; /* silent intervals before a host is down */
	pc_group_by  group_by;
	const char  *pid_include; /* glob of names with per-PID series; NULL: none */
	size_t       recv_max;
	size_t       max_hosts; /* 0: PC_AGG_MAX_HOSTS */
	int          ipc_mode;  /* of ipc:// sockets */
	pc_tls       tls;       /* of tls+tcp:// sockets, listening and dialing */
} pc_agg_opts;

/* Counters of exited processes, so group totals never go back. */
typedef struct pc_retired {
	char    *group;
	uint64_t cpu_user_us, cpu_system_us;
	uint64_t io_read_bytes, io_write_bytes, io_read_ops, io_write_ops;
} pc_retired;

/* The most hosts tracked by default (--max-hosts): each costs a table, so a
 * peer that makes up host names must not make the aggregator grow without
 * bound. */
#define PC_AGG_MAX_HOSTS 10000

typedef struct pc_agg_host {
	char        name[PC_HOST_MAX + 1]; /* the replica's is "" until it applies */
	pc_replica *rep;
	uint64_t    heard_us;
	bool        up;
	uint64_t    gaps;
	pc_retired *retired;
	size_t      n_retired;
	pc_group_by group_by;
} pc_agg_host;

typedef struct pc_agg_counts {
	uint64_t updates, applied, gaps, bad, hosts_down_events;
	uint64_t hosts_refused; /* updates whose topic names a forbidden host */
} pc_agg_counts;

typedef struct pc_agg {
	pc_agg_opts      opts;
	nng_socket       sub;
	nng_socket       rep;
	nng_mtx         *lock; /* guards hosts, counts and the replicas */
	pc_agg_host    **hosts;
	size_t           n_hosts;
	pc_agg_counts    counts;
	bool             hosts_full; /* PC_AGG_MAX_HOSTS reached, and said so */
	pc_service      *svc;
	pc_rpc_server   *rpc;
	nng_http_server *http;
	nng_url         *http_url;
	char             listen_bound[PC_URL_MAX]; /* the URLs as bound (port 0: the OS's) */
	char             rpc_bound[PC_URL_MAX];
	char             metrics_bound[PC_URL_MAX];
	char             err[256];
} pc_agg;

int pc_agg_start(pc_agg *g, const pc_agg_opts *o);
/* Receives for up to timeout_ms, applies, and checks liveness. Lines for
 * the log (host up and down) are appended to log, each ending in a newline
 * and holding no other: host names in them are escaped (pc_term.h). */
int  pc_agg_poll(pc_agg *g, int timeout_ms, pc_buf *log);
void pc_agg_stop(pc_agg *g);

/* The Prometheus text exposition of every host (lock held by the caller). */
void pc_agg_metrics(pc_agg *g, pc_buf *out);

#endif
