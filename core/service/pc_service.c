/* pc_service.c: the Agent service's methods over replicas. Replies borrow
 * the replicas' strings and are packed before the lock is released. */
#include "service/pc_service.h"

#include <stdlib.h>
#include <string.h>

#include "wire/pc_codec.h"
#include "base/pc_err.h"
#include "base/pc_glob.h"
#include "record/pc_match.h"
#include "base/pc_utf8.h"
#include "rpc/pc_rpc.h"
#include "wire/pc_update.h"

#define LIST_DEFAULT 1000
#define LIST_MAX     10000
#define TOP_DEFAULT  10
#define TOP_MAX      1000

struct pc_service {
	Pidcast__Agent_Service base; /* first: the ProtobufCService is the service */
	nng_mtx               *lock;
	pc_service_hooks       hooks;
	pc_replica           **reps;
	size_t                 n_reps;
	/* One StatsForPids at a time: they take turns at the probe anyway,
	 * and so their memory is one call's, however many clients ask. */
	nng_mtx *stats_lock;
};

#define SVC(b) ((pc_service *)(b))

enum {
	OK          = PIDCAST__STATUS_CODE__OK,
	BAD         = PIDCAST__STATUS_CODE__INVALID_ARGUMENT,
	NOT_FOUND   = PIDCAST__STATUS_CODE__NOT_FOUND,
	UNAVAILABLE = PIDCAST__STATUS_CODE__UNAVAILABLE,
	UNIMPL      = PIDCAST__STATUS_CODE__UNIMPLEMENTED,
	EXHAUSTED   = PIDCAST__STATUS_CODE__RESOURCE_EXHAUSTED,
};

/* A record and the replica it is from, for lists and tops. */
typedef struct hit {
	const pc_proc    *rec;
	const pc_replica *rep;
	double            key;
} hit;

/* The replica a request means: the named host, or the only one. */
static pc_replica *
pick(pc_service *s, const char *host, void *cd)
{
	if (host != NULL && host[0] != '\0') {
		for (size_t i = 0; i < s->n_reps; i++) {
			if (strcmp(pc_replica_host(s->reps[i]), host) == 0) {
				return s->reps[i];
			}
		}
		pc_rpc_fail(cd, NOT_FOUND, "no host '%.*s'",
		            (int)pc_utf8_prefix(host, PC_RPC_ECHO_MAX), host);
		return NULL;
	}
	if (s->n_reps > 1) {
		pc_rpc_fail(cd, BAD, "%zu hosts: name one", s->n_reps);
	} else if (s->n_reps == 0 || pc_replica_seq(s->reps[0]) == 0) {
		pc_rpc_fail(cd, UNAVAILABLE, "no process table yet");
	} else {
		return s->reps[0];
	}
	return NULL;
}

static void
get_process(Pidcast__Agent_Service *b, const Pidcast__GetProcessRequest *in,
            Pidcast__GetProcessReply_Closure closure, void *cd)
{
	pc_service              *s     = SVC(b);
	Pidcast__GetProcessReply reply = PIDCAST__GET_PROCESS_REPLY__INIT;
	Pidcast__Process         m     = PIDCAST__PROCESS__INIT;
	const pc_replica        *r;
	const pc_proc           *p;

	nng_mtx_lock(s->lock);
	if (!in->has_pid) {
		pc_rpc_fail(cd, BAD, "GetProcess needs a pid");
	} else if ((r = pick(s, in->host, cd)) == NULL) {
	} else if ((p = pc_replica_get(r, in->pid)) == NULL) {
		pc_rpc_fail(cd, NOT_FOUND, "no process with pid %u", in->pid);
	} else {
		pc_codec_proc_to_msg(p, PC_MASK_ALL, &m);
		reply.process = &m;
		reply.host    = (char *)pc_replica_host(r);
		closure(&reply, cd);
	}
	nng_mtx_unlock(s->lock);
}

static int
by_host_pid(const void *a, const void *b)
{
	const hit *x = a, *y = b;
	int        c = strcmp(pc_replica_host(x->rep), pc_replica_host(y->rep));

	if (c != 0) {
		return c;
	}
	return x->rec->pid < y->rec->pid ? -1 : x->rec->pid > y->rec->pid;
}

static int
by_key_desc(const void *a, const void *b)
{
	const hit *x = a, *y = b;

	if (x->key != y->key) {
		return x->key < y->key ? 1 : -1;
	}
	return by_host_pid(a, b);
}

/* Every record of the replicas that host selects, and that keep() accepts. */
static hit *
collect(pc_service *s, const char *host, const void *filter,
        bool (*keep)(const pc_proc *, const void *), size_t *n, void *cd)
{
	size_t total = 0, cur;
	hit   *hits;

	if (host != NULL && host[0] != '\0' && pick(s, host, cd) == NULL) {
		return NULL;
	}
	for (size_t i = 0; i < s->n_reps; i++) {
		total += pc_replica_count(s->reps[i]);
	}
	if ((hits = malloc((total + 1) * sizeof(*hits))) == NULL) {
		pc_rpc_fail(cd, EXHAUSTED, "out of memory");
		return NULL;
	}
	*n = 0;
	for (size_t i = 0; i < s->n_reps; i++) {
		const pc_proc *p;
		if (host != NULL && host[0] != '\0' &&
		    strcmp(pc_replica_host(s->reps[i]), host) != 0) {
			continue;
		}
		cur = 0;
		while ((p = pc_replica_next(s->reps[i], &cur)) != NULL) {
			if (keep == NULL || keep(p, filter)) {
				hits[(*n)++] = (hit){ p, s->reps[i], 0 };
			}
		}
	}
	return hits;
}

static bool
list_keep(const pc_proc *p, const void *arg)
{
	const Pidcast__ListProcessesRequest *in = arg;

	pc_context_filter ctx = { in->container, in->service, in->cgroup_glob };

	return (in->name_glob == NULL || (p->name != NULL && pc_glob(in->name_glob, p->name))) &&
	       (in->user == NULL || (p->user != NULL && strcmp(in->user, p->user) == 0)) &&
	       (!in->has_ppid || p->ppid == in->ppid) && pc_match_context(p, &ctx);
}

/* Room for n Process messages and their pointers, in one allocation. */
static Pidcast__Process **
proc_array(size_t n, void *cd)
{
	Pidcast__Process **ptrs = malloc(n * (sizeof(*ptrs) + sizeof(**ptrs)) + 1);

	if (ptrs == NULL) {
		pc_rpc_fail(cd, EXHAUSTED, "out of memory");
		return NULL;
	}
	Pidcast__Process *msgs = (Pidcast__Process *)(ptrs + n);
	for (size_t i = 0; i < n; i++) {
		Pidcast__Process init = PIDCAST__PROCESS__INIT;
		msgs[i]               = init;
		ptrs[i]               = &msgs[i];
	}
	return ptrs;
}

static void
list_processes(Pidcast__Agent_Service *b, const Pidcast__ListProcessesRequest *in,
               Pidcast__ListProcessesReply_Closure closure, void *cd)
{
	pc_service                 *s     = SVC(b);
	Pidcast__ListProcessesReply reply = PIDCAST__LIST_PROCESSES_REPLY__INIT;
	Pidcast__Process          **ptrs  = NULL;
	char                      **hosts = NULL;
	size_t                      n     = 0, size, from, count;
	hit                        *hits;

	size = in->has_page_size && in->page_size > 0 ? in->page_size : LIST_DEFAULT;
	if (size > LIST_MAX) {
		pc_rpc_fail(cd, BAD, "page_size %zu over the limit of %d", size, LIST_MAX);
		return;
	}
	nng_mtx_lock(s->lock);
	if ((hits = collect(s, in->host, in, list_keep, &n, cd)) == NULL) {
		nng_mtx_unlock(s->lock);
		return;
	}
	qsort(hits, n, sizeof(*hits), by_host_pid);
	from  = in->has_page_token ? in->page_token : 0;
	from  = from < n ? from : n;
	count = n - from < size ? n - from : size;
	if (s->hooks.fleet && (hosts = malloc((count + 1) * sizeof(*hosts))) == NULL) {
		pc_rpc_fail(cd, EXHAUSTED, "out of memory");
	} else if ((ptrs = proc_array(count, cd)) != NULL) {
		for (size_t i = 0; i < count; i++) {
			pc_codec_proc_to_msg(hits[from + i].rec, PC_MASK_ALL, ptrs[i]);
			if (hosts != NULL) {
				hosts[i] = (char *)pc_replica_host(hits[from + i].rep);
			}
		}
		reply.processes   = ptrs;
		reply.n_processes = count;
		reply.hosts       = hosts;
		reply.n_hosts     = hosts != NULL ? count : 0;
		reply.has_total   = 1;
		reply.total       = (uint32_t)n;
		if (from + count < n) {
			reply.has_next_page_token = 1;
			reply.next_page_token     = (uint32_t)(from + count);
		}
		closure(&reply, cd);
	}
	nng_mtx_unlock(s->lock);
	free(ptrs);
	free(hosts);
	free(hits);
}

static void
stats_for_pids(Pidcast__Agent_Service *b, const Pidcast__StatsForPidsRequest *in,
               Pidcast__StatsForPidsReply_Closure closure, void *cd)
{
	pc_service                *s     = SVC(b);
	Pidcast__StatsForPidsReply reply = PIDCAST__STATS_FOR_PIDS_REPLY__INIT;
	Pidcast__Process         **ptrs;
	pc_snapshot                stats = { 0 };
	int                        rv;

	if (s->hooks.stats_for_pids == NULL) {
		pc_rpc_fail(cd, UNIMPL, "StatsForPids is answered by agents only");
		return;
	}
	if (in->n_pids == 0) {
		pc_rpc_fail(cd, BAD, "StatsForPids needs a pid");
		return;
	}
	if (in->n_pids > PC_STATS_PIDS_MAX) {
		pc_rpc_fail(cd, EXHAUSTED, "StatsForPids takes at most %d pids, not %zu",
		            PC_STATS_PIDS_MAX, in->n_pids);
		return;
	}
	/* Not the replicas' lock: the records are the call's own and carry
	 * no strings. */
	nng_mtx_lock(s->stats_lock);
	rv = s->hooks.stats_for_pids(s->hooks.arg, in->pids, in->n_pids, &stats);
	if (rv != PC_OK) {
		pc_rpc_fail(cd, PIDCAST__STATUS_CODE__INTERNAL, "probe: %s", pc_strerror(rv));
	} else if ((ptrs = proc_array(stats.n, cd)) != NULL) {
		for (size_t i = 0; i < stats.n; i++) {
			pc_codec_proc_to_msg(&stats.procs[i], PC_MASK_STATS, ptrs[i]);
		}
		reply.processes   = ptrs;
		reply.n_processes = stats.n;
		closure(&reply, cd);
		free(ptrs);
	}
	pc_snapshot_fini(&stats);
	nng_mtx_unlock(s->stats_lock);
}

static const pc_proc *
replica_next(const void *table, size_t *cursor)
{
	return pc_replica_next(table, cursor);
}

static void
get_snapshot(Pidcast__Agent_Service *b, const Pidcast__GetSnapshotRequest *in,
             Pidcast__Update_Closure closure, void *cd)
{
	pc_service *s   = SVC(b);
	pc_encoder  enc = { 0 };
	pc_replica *r;

	nng_mtx_lock(s->lock);
	if ((r = pick(s, in->host, cd)) != NULL) {
		pc_update_hdr h = {
			.host        = pc_replica_host(r),
			.instance_id = pc_replica_instance(r),
			.seq         = pc_replica_seq(r),
			.time_ms     = pc_replica_time_ms(r),
			.interval_ms = pc_replica_interval_ms(r),
		};
		if (pc_encoder_keyframe(&enc, &h, replica_next, r, pc_replica_count(r)) != PC_OK) {
			pc_rpc_fail(cd, EXHAUSTED, "out of memory");
		} else {
			if (in->publish && s->hooks.request_keyframe != NULL) {
				s->hooks.request_keyframe(s->hooks.arg);
			}
			closure(&enc.msg, cd);
		}
	}
	nng_mtx_unlock(s->lock);
	pc_encoder_fini(&enc);
}

static void
top(Pidcast__Agent_Service *b, const Pidcast__TopRequest *in, Pidcast__TopReply_Closure closure,
    void *cd)
{
	pc_service        *s       = SVC(b);
	Pidcast__TopReply  reply   = PIDCAST__TOP_REPLY__INIT;
	Pidcast__TopEntry *entries = NULL, **eptrs = NULL;
	Pidcast__Process **ptrs = NULL;
	size_t             n    = 0, want;
	hit               *hits;

	want = in->has_n && in->n > 0 ? in->n : TOP_DEFAULT;
	if (want > TOP_MAX) {
		pc_rpc_fail(cd, BAD, "n %zu over the limit of %d", want, TOP_MAX);
		return;
	}
	nng_mtx_lock(s->lock);
	if ((hits = collect(s, NULL, NULL, NULL, &n, cd)) == NULL) {
		nng_mtx_unlock(s->lock);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		double cpu, io;
		pc_replica_rates(hits[i].rep, hits[i].rec, &cpu, &io);
		hits[i].key = in->by == PIDCAST__TOP_REQUEST__BY__RSS
		                      ? (double)hits[i].rec->rss_bytes
		              : in->by == PIDCAST__TOP_REQUEST__BY__IO ? io
		                                                       : cpu;
	}
	qsort(hits, n, sizeof(*hits), by_key_desc);
	want    = want < n ? want : n;
	ptrs    = proc_array(want, cd);
	entries = calloc(want + 1, sizeof(*entries));
	eptrs   = calloc(want + 1, sizeof(*eptrs));
	if (ptrs == NULL || entries == NULL || eptrs == NULL) {
		pc_rpc_fail(cd, EXHAUSTED, "out of memory");
	} else {
		for (size_t i = 0; i < want; i++) {
			Pidcast__TopEntry init = PIDCAST__TOP_ENTRY__INIT;
			double            cpu, io;
			pc_replica_rates(hits[i].rep, hits[i].rec, &cpu, &io);
			entries[i] = init;
			pc_codec_proc_to_msg(hits[i].rec, PC_MASK_ALL, ptrs[i]);
			entries[i].process              = ptrs[i];
			entries[i].has_cpu_percent      = 1;
			entries[i].cpu_percent          = cpu;
			entries[i].has_io_bytes_per_sec = 1;
			entries[i].io_bytes_per_sec     = io;
			entries[i].host                 = (char *)pc_replica_host(hits[i].rep);
			eptrs[i]                        = &entries[i];
		}
		reply.entries   = eptrs;
		reply.n_entries = want;
		closure(&reply, cd);
	}
	nng_mtx_unlock(s->lock);
	free(ptrs);
	free(entries);
	free(eptrs);
	free(hits);
}

/* An agent's probe figures, when it watches processes end. */
static void
probe_info(pc_service *s, Pidcast__HostInfo *h)
{
	pc_probe_stats st;

	if (s->hooks.probe_stats == NULL) {
		return;
	}
	s->hooks.probe_stats(s->hooks.arg, &st);
	if (st.events) {
		h->has_probe_exits       = 1;
		h->probe_exits           = st.exits;
		h->has_probe_lost_events = 1;
		h->probe_lost_events     = st.lost_forks + st.lost_execs + st.lost_exits;
	}
}

static void
list_hosts(Pidcast__Agent_Service *b, const Pidcast__ListHostsRequest *in,
           Pidcast__ListHostsReply_Closure closure, void *cd)
{
	pc_service             *s     = SVC(b);
	Pidcast__ListHostsReply reply = PIDCAST__LIST_HOSTS_REPLY__INIT;
	Pidcast__HistoryStats   hist  = PIDCAST__HISTORY_STATS__INIT;
	Pidcast__HostInfo      *info;
	Pidcast__HostInfo     **ptrs;

	(void)in;
	nng_mtx_lock(s->lock);
	info = calloc(s->n_reps + 1, sizeof(*info));
	ptrs = calloc(s->n_reps + 1, sizeof(*ptrs));
	if (info == NULL || ptrs == NULL) {
		pc_rpc_fail(cd, EXHAUSTED, "out of memory");
	} else {
		for (size_t i = 0; i < s->n_reps; i++) {
			const pc_replica *r     = s->reps[i];
			Pidcast__HostInfo init  = PIDCAST__HOST_INFO__INIT;
			info[i]                 = init;
			info[i].host            = (char *)pc_replica_host(r);
			info[i].has_instance_id = 1;
			info[i].instance_id     = pc_replica_instance(r);
			bool     up             = true;
			uint64_t gaps           = 0;
			if (s->hooks.host_info != NULL) {
				s->hooks.host_info(s->hooks.arg, r, &up, &gaps);
			}
			info[i].has_up             = 1;
			info[i].up                 = up;
			info[i].has_gaps           = s->hooks.host_info != NULL;
			info[i].gaps               = gaps;
			info[i].has_seq            = 1;
			info[i].seq                = pc_replica_seq(r);
			info[i].has_last_update_ms = 1;
			info[i].last_update_ms     = pc_replica_time_ms(r);
			info[i].has_processes      = 1;
			info[i].processes          = (uint32_t)pc_replica_count(r);
			info[i].has_synced         = 1;
			info[i].synced             = pc_replica_synced(r);
			probe_info(s, &info[i]);
			ptrs[i] = &info[i];
		}
		reply.hosts   = ptrs;
		reply.n_hosts = s->n_reps;
		if (s->hooks.history_stats != NULL) {
			s->hooks.history_stats(s->hooks.arg, &hist);
			reply.history = &hist;
		}
		closure(&reply, cd);
	}
	nng_mtx_unlock(s->lock);
	free(info);
	free(ptrs);
}

/* The history methods go to the store's hooks, outside the lock. */
static void
history(Pidcast__Agent_Service *b, const Pidcast__HistoryRequest *in,
        Pidcast__HistoryReply_Closure closure, void *cd)
{
	pc_service *s = SVC(b);

	if (s->hooks.history == NULL) {
		pc_rpc_fail(cd, UNIMPL, "History: no history store here (an aggregator's)");
		return;
	}
	s->hooks.history(s->hooks.arg, in, closure, cd);
}

static void
events(Pidcast__Agent_Service *b, const Pidcast__EventsRequest *in,
       Pidcast__EventsReply_Closure closure, void *cd)
{
	pc_service *s = SVC(b);

	if (s->hooks.events == NULL) {
		pc_rpc_fail(cd, UNIMPL, "Events: no history store here (an aggregator's)");
		return;
	}
	s->hooks.events(s->hooks.arg, in, closure, cd);
}

static void
top_at(Pidcast__Agent_Service *b, const Pidcast__TopAtRequest *in,
       Pidcast__TopAtReply_Closure closure, void *cd)
{
	pc_service *s = SVC(b);

	if (s->hooks.top_at == NULL) {
		pc_rpc_fail(cd, UNIMPL, "TopAt: no history store here (an aggregator's)");
		return;
	}
	s->hooks.top_at(s->hooks.arg, in, closure, cd);
}

int
pc_service_open(pc_service **out, nng_mtx *lock, const pc_service_hooks *hooks)
{
	pc_service            *s    = calloc(1, sizeof(*s));
	Pidcast__Agent_Service init = PIDCAST__AGENT__INIT();

	if (s == NULL) {
		return PC_ENOMEM;
	}
	s->base = init;
	s->lock = lock;
	if (hooks != NULL) {
		s->hooks = *hooks;
	}
	if (nng_mtx_alloc(&s->stats_lock) != 0) {
		free(s);
		return PC_ENOMEM;
	}
	*out = s;
	return PC_OK;
}

void
pc_service_close(pc_service *s)
{
	if (s != NULL) {
		nng_mtx_free(s->stats_lock);
		free(s->reps);
		free(s);
	}
}

int
pc_service_add(pc_service *s, pc_replica *r)
{
	pc_replica **reps = realloc(s->reps, (s->n_reps + 1) * sizeof(*reps));

	if (reps == NULL) {
		return PC_ENOMEM;
	}
	s->reps              = reps;
	s->reps[s->n_reps++] = r;
	return PC_OK;
}

void
pc_service_remove(pc_service *s, pc_replica *r)
{
	for (size_t i = 0; i < s->n_reps; i++) {
		if (s->reps[i] == r) {
			s->reps[i] = s->reps[--s->n_reps];
			return;
		}
	}
}

ProtobufCService *
pc_service_base(pc_service *s)
{
	return &s->base.base;
}
