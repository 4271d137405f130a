/* pc_service.h: the Agent service of pidcast.proto, answered from one or
 * more replicas (one for an agent, one a host for the aggregator). Every
 * method but StatsForPids takes the caller's lock, the one that guards the
 * replicas. */
#ifndef PC_SERVICE_H
#define PC_SERVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <nng/nng.h>
#include <nng/supplemental/util/platform.h>
#include <protobuf-c/protobuf-c.h>

#include "probe/pc_probe.h"
#include "stream/pc_replica.h"
#include "pidcast.pb-c.h"

/* The most pids one StatsForPids may ask for; more is RESOURCE_EXHAUSTED. */
#define PC_STATS_PIDS_MAX 10000

/* What only an agent can do; NULL members answer UNIMPLEMENTED. Called
 * with the lock held, but for stats_for_pids. */
typedef struct pc_service_hooks {
	void *arg;
	/* Appends to out (empty, owned by the caller) the counters of the
	 * pids that exist, their strings NULL. Called without the lock: it
	 * reads the OS, which the tick that takes the lock must not wait for. */
	int (*stats_for_pids)(void *arg, const uint32_t *pids, size_t n, pc_snapshot *out);
	void (*request_keyframe)(void *arg);
	/* A host's liveness and its count of dropped updates (the
	 * aggregator's); NULL: always up, no count. */
	void (*host_info)(void *arg, const pc_replica *r, bool *up, uint64_t *gaps);
	/* The agent's probe's event figures (ListHosts); NULL: none. */
	void (*probe_stats)(void *arg, pc_probe_stats *out);
	/* The history store's queries (the aggregator's). Called without
	 * the lock: they read the store, not the replicas. Each answers
	 * through the closure, or with pc_rpc_fail(). */
	void (*history)(void *arg, const Pidcast__HistoryRequest *in,
	                Pidcast__HistoryReply_Closure closure, void *cd);
	void (*events)(void *arg, const Pidcast__EventsRequest *in,
	               Pidcast__EventsReply_Closure closure, void *cd);
	void (*top_at)(void *arg, const Pidcast__TopAtRequest *in,
	               Pidcast__TopAtReply_Closure closure, void *cd);
	/* The store's figures for ListHosts, strings owned by the hook's
	 * side until the next call; NULL: no store. Called with the lock. */
	void (*history_stats)(void *arg, Pidcast__HistoryStats *out);
	/* A server of hosts (the aggregator): ListProcesses names the host
	 * of each record (ListProcessesReply.hosts). */
	bool fleet;
} pc_service_hooks;

typedef struct pc_service pc_service;

int  pc_service_open(pc_service **out, nng_mtx *lock, const pc_service_hooks *hooks);
void pc_service_close(pc_service *s);

/* The replicas to answer from; added and removed with the lock held. */
int  pc_service_add(pc_service *s, pc_replica *r);
void pc_service_remove(pc_service *s, pc_replica *r);

ProtobufCService *pc_service_base(pc_service *s);

#endif
