/* pc_agg.c: receiving many agents' streams into one replica a host, and
 * republishing them on one socket. */
#include "pc_agg.h"
#include "pc_agg_find.h"
#include "pc_agg_web.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nng/protocol/pubsub0/pub.h>
#include <nng/protocol/pubsub0/sub.h>
#include <nng/protocol/reqrep0/rep.h>

#include "base/pc_err.h"
#include "base/pc_term.h"
#include "net/pc_net.h"
#include "platform/pc_platform.h"
#include "wire/pc_update.h"

#define RPC_WORKERS 8

static int
fail(pc_agg *g, int rv, const char *fmt, const char *a, const char *b)
{
	snprintf(g->err, sizeof(g->err), fmt, a, b);
	return rv;
}

static void
host_info(void *arg, const pc_replica *r, bool *up, uint64_t *gaps)
{
	pc_agg *g = arg;

	for (size_t i = 0; i < g->n_hosts; i++) {
		if (g->hosts[i]->rep == r) {
			*up   = g->hosts[i]->up;
			*gaps = g->hosts[i]->gaps;
		}
	}
}

static void
history(void *arg, const Pidcast__HistoryRequest *in, Pidcast__HistoryReply_Closure closure,
        void *cd)
{
	pc_hist_rpc_history(((pc_agg *)arg)->hist, in, closure, cd);
}

static void
events(void *arg, const Pidcast__EventsRequest *in, Pidcast__EventsReply_Closure closure, void *cd)
{
	pc_hist_rpc_events(((pc_agg *)arg)->hist, in, closure, cd);
}

static void
top_at(void *arg, const Pidcast__TopAtRequest *in, Pidcast__TopAtReply_Closure closure, void *cd)
{
	pc_hist_rpc_top_at(((pc_agg *)arg)->hist, in, closure, cd);
}

/* With g->lock: the strings stay in g until the next call, under it. */
static void
history_stats(void *arg, Pidcast__HistoryStats *out)
{
	pc_agg       *g = arg;
	pc_hist_stats st;

	pc_hist_stats_get(g->hist, &st);
	snprintf(g->hist_err, sizeof(g->hist_err), "%s", st.last_error);
	out->store  = (char *)pc_hist_url(g->hist);
	out->has_up = out->has_rows_written = out->has_rows_queued = 1;
	out->has_bytes_queued = out->has_rows_dropped = out->has_write_errors = 1;
	out->has_rows_deleted = out->has_rows_received = 1;
	out->rows_received                             = st.rows_in;
	out->up                                        = st.up;
	out->rows_written                              = st.rows_written;
	out->rows_queued                               = st.rows_queued;
	out->bytes_queued                              = st.bytes_queued;
	out->rows_dropped                              = st.rows_dropped;
	out->write_errors                              = st.write_errors;
	out->rows_deleted                              = st.rows_deleted;
	out->last_error                                = g->hist_err[0] ? g->hist_err : NULL;
}

static int
start_http(pc_agg *g)
{
	pc_http_opts o = { .url        = g->opts.metrics,
		           .tls        = &g->opts.tls,
		           .timeout_ms = g->opts.metrics_timeout_ms,
		           .max_conns  = g->opts.metrics_max_conns,
		           .handler    = pc_agg_web,
		           .arg        = g };

	if (pc_web_cache_open(&g->web) != PC_OK) {
		return fail(g, PC_ENOMEM, "%s%s", "out of memory", "");
	}
	return pc_http_start(&g->http, &o, g->metrics_bound, g->err, sizeof(g->err));
}

/* The fleet's stream: a PUB socket whose per-subscriber queue is bounded,
 * and which drops for a subscriber that falls behind rather than wait. */
static int
start_publish(pc_agg *g)
{
	int queue = g->opts.publish_queue ? g->opts.publish_queue : PC_AGG_PUBLISH_QUEUE;
	int rv;

	if ((rv = nng_pub0_open(&g->pub)) != 0 ||
	    (rv = nng_socket_set_int(g->pub, NNG_OPT_SENDBUF, queue)) != 0) {
		return fail(g, pc_nng_err(rv), "publish socket: %s%s", nng_strerror(rv), "");
	}
	g->has_pub = true;
	return pc_listen(g->pub, g->opts.publish, g->opts.ipc_mode, &g->opts.tls, g->publish_bound,
	                 g->err, sizeof(g->err));
}

int
pc_agg_start(pc_agg *g, const pc_agg_opts *o)
{
	pc_service_hooks hooks = { .arg = g, .host_info = host_info, .fleet = true };
	int              rv;

	memset(g, 0, sizeof(*g));
	g->opts            = *o;
	g->feed.started_ms = pc_clock_realtime_ms();
	if (o->history.url != NULL) {
		if ((rv = pc_hist_open(&g->hist, &o->history, g->err, sizeof(g->err))) != PC_OK) {
			return rv;
		}
		hooks.history       = history;
		hooks.events        = events;
		hooks.top_at        = top_at;
		hooks.history_stats = history_stats;
	}
	if (nng_mtx_alloc(&g->lock) != 0 || pc_service_open(&g->svc, g->lock, &hooks) != PC_OK) {
		return fail(g, PC_ENOMEM, "%s%s", "out of memory", "");
	}
	if ((rv = nng_sub0_open(&g->sub)) != 0 ||
	    (rv = nng_socket_set(g->sub, NNG_OPT_SUB_SUBSCRIBE, PC_TOPIC_PREFIX,
	                         strlen(PC_TOPIC_PREFIX))) != 0 ||
	    (rv = nng_socket_set_size(g->sub, NNG_OPT_RECVMAXSZ,
	                              o->recv_max ? o->recv_max : PC_RECV_MAX)) != 0 ||
	    (rv = nng_socket_set_int(g->sub, NNG_OPT_RECVBUF, 8192)) != 0 ||
	    (rv = nng_rep0_open(&g->rep)) != 0) {
		return fail(g, pc_nng_err(rv), "sockets: %s%s", nng_strerror(rv), "");
	}
	nng_socket_set_size(g->rep, NNG_OPT_RECVMAXSZ, PC_RPC_MAX_RECV);
	if (o->listen != NULL &&
	    (rv = pc_listen(g->sub, o->listen, o->ipc_mode, &o->tls, g->listen_bound, g->err,
	                    sizeof(g->err))) != PC_OK) {
		return rv;
	}
	for (int i = 0; i < o->n_agents; i++) {
		if ((rv = pc_dial(g->sub, o->agents[i], &o->tls, g->err, sizeof(g->err))) !=
		    PC_OK) {
			return rv;
		}
	}
	if ((rv = pc_listen(g->rep, o->rpc, o->ipc_mode, &o->tls, g->rpc_bound, g->err,
	                    sizeof(g->err))) != PC_OK) {
		return rv;
	}
	if ((rv = pc_rpc_server_start(g->rep, pc_service_base(g->svc), RPC_WORKERS, &g->rpc)) !=
	    PC_OK) {
		return fail(g, rv, "rpc: %s%s", pc_strerror(rv), "");
	}
	if (o->publish != NULL && (rv = start_publish(g)) != PC_OK) {
		return rv;
	}
	return o->metrics != NULL ? start_http(g) : PC_OK;
}

static const char *
group_of(pc_group_by by, const pc_proc *p)
{
	const char *g = by == PC_GROUP_USER ? p->user : by == PC_GROUP_EXE ? p->exe : p->name;

	return g != NULL ? g : "";
}

static size_t
max_retired(const pc_agg_host *h)
{
	return h->max_retired ? h->max_retired : PC_AGG_MAX_RETIRED;
}

/* An exited process's counters move to its group's retired totals; a new
 * group past the bound first folds the least recently retired one into
 * other, so the set and the page stay bounded and the sums keep growing. */
static void
on_event(void *arg, pc_event ev, const pc_proc *p, pc_mask mask)
{
	pc_agg_host *h = arg;
	const char  *group;
	pc_group    *r;

	(void)mask;
	if (h->hist != NULL && ev == PC_EV_NEW) {
		pc_hist_start(h->hist, h->hist_host, p);
	}
	/* The feed shows what happens on a host, but not its first table,
	 * in which every process is new to the aggregator. */
	if (h->had_table && ev != PC_EV_CHANGED) {
		pc_feed_add(h->feed, h->name, p, ev == PC_EV_EXIT, h->now_ms);
	}
	if (ev != PC_EV_EXIT) {
		return;
	}
	if (h->hist != NULL) {
		pc_hist_exit(h->hist, h->hist_host, p, h->now_ms);
	}
	group = group_of(h->group_by, p);
	if (pc_groups_find(&h->retired, group) == NULL && h->retired.n >= max_retired(h)) {
		pc_gtot_add_counters(&h->other, &h->retired.oldest->t);
		pc_groups_drop(&h->retired, h->retired.oldest);
		h->n_folded++;
	}
	if ((r = pc_groups_use(&h->retired, group)) == NULL) {
		return; /* the total may dip: better than failing the update */
	}
	r->t.cpu_user_us += p->cpu_user_us;
	r->t.cpu_system_us += p->cpu_system_us;
	r->t.io_read_bytes += p->io_read_bytes;
	r->t.io_write_bytes += p->io_write_bytes;
	r->t.io_read_ops += p->io_read_ops;
	r->t.io_write_ops += p->io_write_ops;
}

static size_t
max_hosts(const pc_agg *g)
{
	return g->opts.max_hosts ? g->opts.max_hosts : PC_AGG_MAX_HOSTS;
}

pc_agg_host *
pc_agg_host_named(pc_agg *g, const char *name)
{
	for (size_t i = 0; i < g->n_hosts; i++) {
		if (strcmp(g->hosts[i]->name, name) == 0) {
			return g->hosts[i];
		}
	}
	return NULL;
}

static void
host_free(pc_agg_host *h)
{
	pc_groups_fini(&h->retired);
	pc_find_host_free(h->find);
	pc_replica_close(h->rep);
	free(h);
}

/* A host not tracked yet: its replica, not yet listed anywhere. */
static pc_agg_host *
host_new(pc_agg *g, const char *name)
{
	pc_agg_host *h = calloc(1, sizeof(*h));

	if (h == NULL || pc_replica_open(&h->rep) != PC_OK) {
		free(h);
		return NULL;
	}
	snprintf(h->name, sizeof(h->name), "%s", name);
	h->group_by    = g->opts.group_by;
	h->feed        = &g->feed;
	h->max_retired = g->opts.max_retired;
	if ((h->hist = g->hist) != NULL) {
		h->hist_host = pc_hist_host_id(g->hist, name);
	}
	return h;
}

/* Tracks a host once its first update is taken. */
static int
host_add(pc_agg *g, pc_agg_host *h)
{
	pc_agg_host **grown = realloc(g->hosts, (g->n_hosts + 1) * sizeof(*grown));

	if (grown == NULL) {
		return PC_ENOMEM;
	}
	g->hosts = grown;
	if (pc_service_add(g->svc, h->rep) != PC_OK) {
		return PC_ENOMEM;
	}
	g->hosts[g->n_hosts++] = h;
	return PC_OK;
}

static uint64_t
down_after_us(const pc_agg *g, const pc_agg_host *h)
{
	uint64_t interval = pc_replica_interval_ms(h->rep) ? pc_replica_interval_ms(h->rep) : 1000;

	return interval * g->opts.down_after * 1000u;
}

/* "host NAME" then rest, in a log line: the name is a peer's, escaped
 * (pc_term.h) so that it cannot end the line or drive a terminal. */
static void
log_host(pc_buf *log, const char *host, const char *rest)
{
	pc_buf_str(log, "host ");
	pc_term_str(log, host, SIZE_MAX);
	pc_buf_str(log, rest);
}

/* Whether an update may start the table of a host not seen yet: a
 * keyframe, whole or its first part. */
static bool
starts_table(const Pidcast__Update *u)
{
	return u->kind == PIDCAST__UPDATE__KIND__KEYFRAME &&
	       (!u->has_parts || u->parts <= 1 || (u->has_part && u->part == 0));
}

/* Applies u to its host's table; whether to republish it: an update of a
 * host tracked, that its table took, held, or found out of sequence (a
 * follower of the fleet's stream judges the sequence itself). */
static bool
apply(pc_agg *g, const Pidcast__Update *u, pc_buf *log)
{
	pc_agg_host *h     = pc_agg_host_named(g, u->host);
	bool         fresh = h == NULL;
	pc_apply     res   = PC_STALE;
	int          rv;

	if (fresh && !starts_table(u)) {
		g->counts.gaps++; /* a host not seen yet starts at its keyframe */
		return false;
	}
	if (fresh && (g->n_hosts >= max_hosts(g) || (h = host_new(g, u->host)) == NULL)) {
		g->counts.bad++;
		if (g->n_hosts >= max_hosts(g) && !g->hosts_full) {
			g->hosts_full = true; /* said once: a flood must not flood the log */
			pc_buf_printf(log, "host limit (%zu) reached: ", max_hosts(g));
			log_host(log, u->host, " and later ones not tracked\n");
		}
		return false;
	}
	h->heard_us = pc_clock_mono_us();
	h->now_ms   = u->time_ms;
	rv          = pc_replica_apply(h->rep, u, on_event, h, &res);
	/* A new host is tracked only from an update its table took, so that
	 * what is refused leaves no empty entry behind. */
	if (fresh &&
	    (rv != PC_OK || (res != PC_APPLIED && res != PC_PART) || host_add(g, h) != PC_OK)) {
		host_free(h);
		h = NULL;
	}
	if (rv != PC_OK) {
		g->counts.bad++;
		if (rv == PC_ETOOBIG) {
			log_host(log, u->host, ": update refused: ");
			pc_buf_printf(log, "over %zu processes or %zu bytes\n",
			              (size_t)PC_REPLICA_MAX_PROCS, (size_t)PC_REPLICA_MAX_BYTES);
		}
		return false;
	}
	if (res == PC_APPLIED && h != NULL) {
		g->counts.applied++;
		h->had_table = true;
		/* Up once its table is whole again: after a restart, at the new
		 * instance's first keyframe, not at its first (dropped) delta. */
		if (!h->up) {
			h->up = true;
			log_host(log, u->host, " up\n");
			if (h->hist != NULL) {
				pc_hist_host_up(h->hist, h->hist_host, true, u->time_ms);
			}
		}
		if (h->hist != NULL) {
			pc_hist_sample(h->hist, &h->sampler, h->hist_host, h->rep);
		}
	} else if (res == PC_GAP || res == PC_NEED_SYNC) {
		g->counts.gaps++; /* it recovers at the host's next keyframe */
		if (h != NULL) {
			h->gaps++;
		}
	}
	return h != NULL;
}

static void
check_liveness(pc_agg *g, pc_buf *log)
{
	uint64_t now = pc_clock_mono_us();

	for (size_t i = 0; i < g->n_hosts; i++) {
		pc_agg_host *h = g->hosts[i];
		if (h->up && now - h->heard_us > down_after_us(g, h)) {
			h->up = false;
			g->counts.hosts_down_events++;
			log_host(log, pc_replica_host(h->rep), " down: ");
			pc_buf_printf(log, "silent for %u intervals\n", g->opts.down_after);
			if (h->hist != NULL) {
				pc_hist_host_up(h->hist, h->hist_host, false,
				                pc_clock_realtime_ms());
			}
		}
	}
}

/* An update whose topic names a host the protocol forbids: counted, and
 * said once (without the name, which may hold anything). */
static void
refuse_host(pc_agg *g, pc_buf *log)
{
	if (g->counts.hosts_refused++ == 0) {
		pc_buf_printf(log,
		              "update refused: its host is not 1 to %d bytes without '/'; "
		              "later ones are counted in pidcast_aggregator_hosts_refused_total\n",
		              PC_HOST_MAX);
	}
}

/* The message as received, on the publish socket: its bytes are the
 * frame (topic and Update), so nothing is encoded again, and PUB takes a
 * reference for each subscriber rather than a copy. nng_sendmsg owns the
 * message once it succeeds; PUB does not block, and drops for a
 * subscriber whose queue is full. */
static void
republish(pc_agg *g, nng_msg *m)
{
	if (nng_sendmsg(g->pub, m, NNG_FLAG_NONBLOCK) != 0) {
		nng_msg_free(m);
		return;
	}
	nng_mtx_lock(g->lock);
	g->counts.published++;
	nng_mtx_unlock(g->lock);
}

int
pc_agg_poll(pc_agg *g, int timeout_ms, pc_buf *log)
{
	Pidcast__Update *u;
	nng_msg         *m     = NULL;
	bool             again = false;
	int              rv, prv;

	nng_socket_set_ms(g->sub, NNG_OPT_RECVTIMEO, timeout_ms);
	rv = nng_recvmsg(g->sub, &m, 0);
	nng_mtx_lock(g->lock);
	if (rv == 0) {
		g->counts.updates++;
		if ((prv = pc_update_parse(nng_msg_body(m), nng_msg_len(m), &u)) == PC_OK) {
			again = apply(g, u, log) && g->has_pub;
			pidcast__update__free_unpacked(u, NULL);
		} else if (prv == PC_EINVAL) {
			refuse_host(g, log);
		} else {
			g->counts.bad++;
		}
	}
	check_liveness(g, log);
	if (g->hist != NULL) {
		pc_hist_log(g->hist, log);
	}
	nng_mtx_unlock(g->lock);
	/* Out of the lock: queries need not wait for it. A snapshot taken
	 * meanwhile may be one update ahead of the stream, never behind. */
	if (again) {
		republish(g, m);
	} else if (m != NULL) {
		nng_msg_free(m);
	}
	return rv == 0 || rv == NNG_ETIMEDOUT ? PC_OK : pc_nng_err(rv);
}

void
pc_agg_stop(pc_agg *g)
{
	pc_http_stop(g->http);
	pc_web_cache_close(g->web);
	pc_rpc_server_stop(g->rpc);
	pc_hist_close(g->hist); /* after the queries, before the tables */
	nng_close(g->rep);
	nng_close(g->sub);
	if (g->has_pub) {
		nng_close(g->pub);
	}
	pc_service_close(g->svc);
	for (size_t i = 0; i < g->n_hosts; i++) {
		host_free(g->hosts[i]);
	}
	free(g->hosts);
	pc_feed_fini(&g->feed);
	if (g->lock != NULL) {
		nng_mtx_free(g->lock);
	}
}
