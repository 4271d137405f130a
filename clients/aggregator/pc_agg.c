/* pc_agg.c: receiving many agents' streams into one replica a host. */
#include "pc_agg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nng/protocol/pubsub0/sub.h>
#include <nng/protocol/reqrep0/rep.h>

#include "base/pc_err.h"
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
page(void *arg, pc_buf *out)
{
	pc_agg_metrics(arg, out);
}

static int
start_http(pc_agg *g)
{
	pc_http_opts o = { .url        = g->opts.metrics,
		           .tls        = &g->opts.tls,
		           .timeout_ms = g->opts.metrics_timeout_ms,
		           .max_conns  = g->opts.metrics_max_conns,
		           .page       = page,
		           .arg        = g };

	return pc_http_start(&g->http, &o, g->metrics_bound, g->err, sizeof(g->err));
}

int
pc_agg_start(pc_agg *g, const pc_agg_opts *o)
{
	pc_service_hooks hooks = { .arg = g, .host_info = host_info };
	int              rv;

	memset(g, 0, sizeof(*g));
	g->opts = *o;
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
	if (ev != PC_EV_EXIT) {
		return;
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

static pc_agg_host *
find_host(pc_agg *g, const char *name, bool create)
{
	pc_agg_host *h, **grown;

	for (size_t i = 0; i < g->n_hosts; i++) {
		if (strcmp(g->hosts[i]->name, name) == 0) {
			return g->hosts[i];
		}
	}
	if (!create || g->n_hosts >= max_hosts(g) || (h = calloc(1, sizeof(*h))) == NULL) {
		return NULL;
	}
	snprintf(h->name, sizeof(h->name), "%s", name);
	if (pc_replica_open(&h->rep) != PC_OK ||
	    (grown = realloc(g->hosts, (g->n_hosts + 1) * sizeof(*grown))) == NULL ||
	    pc_service_add(g->svc, h->rep) != PC_OK) {
		pc_replica_close(h->rep);
		free(h);
		return NULL;
	}
	h->group_by            = g->opts.group_by;
	h->max_retired         = g->opts.max_retired;
	g->hosts               = grown;
	g->hosts[g->n_hosts++] = h;
	return h;
}

static uint64_t
down_after_us(const pc_agg *g, const pc_agg_host *h)
{
	uint64_t interval = pc_replica_interval_ms(h->rep) ? pc_replica_interval_ms(h->rep) : 1000;

	return interval * g->opts.down_after * 1000u;
}

static void
apply(pc_agg *g, const Pidcast__Update *u, pc_buf *log)
{
	pc_agg_host *h = find_host(g, u->host, false);
	pc_apply     res;
	int          rv;

	if (h == NULL && u->kind != PIDCAST__UPDATE__KIND__KEYFRAME) {
		g->counts.gaps++; /* a host not seen yet starts at its keyframe */
		return;
	}
	if (h == NULL && (h = find_host(g, u->host, true)) == NULL) {
		g->counts.bad++;
		if (g->n_hosts >= max_hosts(g) && !g->hosts_full) {
			g->hosts_full = true; /* said once: a flood must not flood the log */
			pc_buf_printf(
			        log,
			        "host limit (%zu) reached: host %s and later ones not tracked\n",
			        max_hosts(g), u->host);
		}
		return;
	}
	h->heard_us = pc_clock_mono_us();
	if ((rv = pc_replica_apply(h->rep, u, on_event, h, &res)) != PC_OK) {
		g->counts.bad++;
		if (rv == PC_ETOOBIG) {
			pc_buf_printf(log,
			              "host %s: update refused: over %zu processes or %zu bytes\n",
			              u->host, (size_t)PC_REPLICA_MAX_PROCS,
			              (size_t)PC_REPLICA_MAX_BYTES);
		}
		return;
	}
	if (res == PC_APPLIED) {
		g->counts.applied++;
		/* Up once its table is whole again: after a restart, at the new
		 * instance's first keyframe, not at its first (dropped) delta. */
		if (!h->up) {
			h->up = true;
			pc_buf_printf(log, "host %s up\n", u->host);
		}
	} else if (res == PC_GAP || res == PC_NEED_SYNC) {
		g->counts.gaps++; /* it recovers at the host's next keyframe */
		h->gaps++;
	}
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
			pc_buf_printf(log, "host %s down: silent for %u intervals\n",
			              pc_replica_host(h->rep), g->opts.down_after);
		}
	}
}

int
pc_agg_poll(pc_agg *g, int timeout_ms, pc_buf *log)
{
	Pidcast__Update *u;
	void            *buf;
	size_t           len;
	int              rv;

	nng_socket_set_ms(g->sub, NNG_OPT_RECVTIMEO, timeout_ms);
	rv = nng_recv(g->sub, &buf, &len, NNG_FLAG_ALLOC);
	nng_mtx_lock(g->lock);
	if (rv == 0) {
		g->counts.updates++;
		if (pc_update_parse(buf, len, &u) == PC_OK) {
			apply(g, u, log);
			pidcast__update__free_unpacked(u, NULL);
		} else {
			g->counts.bad++;
		}
		nng_free(buf, len);
	}
	check_liveness(g, log);
	nng_mtx_unlock(g->lock);
	return rv == 0 || rv == NNG_ETIMEDOUT ? PC_OK : pc_nng_err(rv);
}

void
pc_agg_stop(pc_agg *g)
{
	pc_http_stop(g->http);
	pc_rpc_server_stop(g->rpc);
	nng_close(g->rep);
	nng_close(g->sub);
	pc_service_close(g->svc);
	for (size_t i = 0; i < g->n_hosts; i++) {
		pc_groups_fini(&g->hosts[i]->retired);
		pc_replica_close(g->hosts[i]->rep);
		free(g->hosts[i]);
	}
	free(g->hosts);
	if (g->lock != NULL) {
		nng_mtx_free(g->lock);
	}
}
