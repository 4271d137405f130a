/* pc_agent.c: the tick loop, the publisher and the query service. */
#include "pc_agent.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <nng/protocol/pubsub0/pub.h>
#include <nng/protocol/reqrep0/rep.h>

#include "base/pc_err.h"
#include "base/pc_utf8.h"
#include "net/pc_net.h"
#include "platform/pc_platform.h"

static int
fail(pc_agent *a, int rv, const char *what, const char *detail)
{
	snprintf(a->err, sizeof(a->err), "%s: %s", what, detail);
	return rv;
}

/* Takes the probe: a tick before any StatsForPids chunk. */
static void
probe_take(pc_agent *a, bool tick)
{
	nng_mtx_lock(a->probe_mtx);
	if (tick) {
		a->tick_waiting = true;
	}
	while (a->probing || (!tick && a->tick_waiting)) {
		nng_cv_wait(a->probe_cv);
	}
	a->probing = true;
	if (tick) {
		a->tick_waiting = false;
	}
	nng_mtx_unlock(a->probe_mtx);
}

static void
probe_give(pc_agent *a)
{
	nng_mtx_lock(a->probe_mtx);
	a->probing = false;
	nng_cv_wake(a->probe_cv);
	nng_mtx_unlock(a->probe_mtx);
}

/* StatsForPids, a chunk at a time between ticks; the records are copied
 * out without their strings, which belong to the probe. */
static int
stats_hook(void *arg, const uint32_t *pids, size_t n, pc_snapshot *out)
{
	pc_agent   *a     = arg;
	pc_snapshot chunk = { 0 };
	int         rv    = PC_OK;

	for (size_t i = 0; i < n && rv == PC_OK; i += PC_STATS_CHUNK) {
		size_t k = n - i < PC_STATS_CHUNK ? n - i : PC_STATS_CHUNK;
		probe_take(a, false);
		rv = pc_probe_stats_for_pids(a->probe, pids + i, k, pc_clock_realtime_ms(), &chunk);
		for (size_t j = 0; rv == PC_OK && j < chunk.n; j++) {
			pc_proc *r = pc_snapshot_add(out);
			if (r == NULL) {
				rv = PC_ENOMEM;
				break;
			}
			*r      = chunk.procs[j];
			r->name = r->exe = r->cmdline = r->user = NULL;
		}
		probe_give(a);
	}
	pc_snapshot_fini(&chunk);
	return rv;
}

static void
probe_stats_hook(void *arg, pc_probe_stats *out)
{
	pc_probe_stats_get(((pc_agent *)arg)->probe, out);
}

/* Events the probe's kernel ring buffer dropped are said in the log, on
 * the tick that finds more of them; never silent. */
static void
log_lost(pc_agent *a)
{
	pc_probe_stats st;
	uint64_t       lost;

	pc_probe_stats_get(a->probe, &st);
	lost = st.lost_forks + st.lost_execs + st.lost_exits;
	if (lost > a->lost_logged) {
		fprintf(stderr,
		        "pidcast-agent: probe %s: ring buffer full: %" PRIu64
		        " events lost so far (forks %" PRIu64 ", execs %" PRIu64 ", exits %" PRIu64
		        "); %" PRIu64 " exits seen\n",
		        a->probe->ops->name, lost, st.lost_forks, st.lost_execs, st.lost_exits,
		        st.exits);
		a->lost_logged = lost;
	}
}

static void
keyframe_hook(void *arg)
{
	((pc_agent *)arg)->keyframe_asked = true;
}

/* A new subscriber or aggregator on the PUB socket: publish a keyframe next
 * tick, so that one with no RPC path (an aggregator the agent dialed) need
 * not wait up to K ticks. */
static void
on_pipe(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	pc_agent *a = arg;

	(void)p;
	(void)ev;
	nng_mtx_lock(a->lock);
	a->keyframe_asked = true;
	nng_mtx_unlock(a->lock);
}

static int
listen_on(pc_agent *a, nng_socket s, const char *url, const char *what, char *bound)
{
	char msg[200];
	int  rv = pc_listen(s, url, a->opts.ipc_mode, &a->opts.tls, bound, msg, sizeof(msg));

	return rv == PC_OK ? PC_OK : fail(a, rv, what, msg);
}

/* The host name, given or the OS's, as valid UTF-8 cut on a character
 * boundary (pc_utf8.h): it goes out in every topic and Update. */
static void
set_host(pc_agent *a, const char *given)
{
	char os[PC_HOST_MAX + 1];

	if (given == NULL) {
		given = pc_hostname(os, sizeof(os)) == PC_OK ? os : "localhost";
	}
	pc_utf8_repair(a->host, sizeof(a->host), given, strlen(given));
}

int
pc_agent_start(pc_agent *a, const pc_agent_opts *o)
{
	pc_service_hooks hooks = { .arg              = a,
		                   .stats_for_pids   = stats_hook,
		                   .request_keyframe = keyframe_hook,
		                   .probe_stats      = probe_stats_hook };
	int              rv;

	memset(a, 0, sizeof(*a));
	a->opts = *o;
	set_host(a, o->host);
	/* A new instance id at every start tells subscribers to resync. */
	a->instance = ((uint64_t)nng_random() << 32) | nng_random();
	if ((rv = pc_probe_open_why(o->probe, &a->probe, a->probe_why, sizeof(a->probe_why))) !=
	    PC_OK) {
		return fail(a, rv, "probe", a->probe_why[0] ? a->probe_why : pc_strerror(rv));
	}
	pc_probe_set_scrub(a->probe, &o->scrub);
	pc_probe_set_cmdline_max(a->probe, o->cmdline_max);
	if ((rv = pc_cache_open(&a->cache, &o->deadband)) != PC_OK ||
	    (rv = pc_replica_open(&a->local)) != PC_OK || (rv = nng_mtx_alloc(&a->lock)) != 0 ||
	    (rv = nng_mtx_alloc(&a->probe_mtx)) != 0 ||
	    (rv = nng_cv_alloc(&a->probe_cv, a->probe_mtx)) != 0 ||
	    (rv = pc_service_open(&a->svc, a->lock, &hooks)) != PC_OK ||
	    (rv = pc_service_add(a->svc, a->local)) != PC_OK) {
		return fail(a, PC_ENOMEM, "start", "out of memory");
	}
	if ((rv = nng_pub0_open(&a->pub)) != 0 || (rv = nng_rep0_open(&a->rep)) != 0) {
		return fail(a, pc_nng_err(rv), "sockets", nng_strerror(rv));
	}
	nng_socket_set_size(a->rep, NNG_OPT_RECVMAXSZ, PC_RPC_MAX_RECV);
	/* A keyframe's parts go out back to back: NNG's queue of 16 messages a
	 * subscriber would drop all but the first 16, so it holds as many as a
	 * subscriber's default receive queue (128; a keyframe of 256,000
	 * processes at the default part size). A stalled subscriber holds at
	 * most that many messages, shared with the other subscribers. */
	nng_socket_set_int(a->pub, NNG_OPT_SENDBUF, PC_PUB_QUEUE);
	nng_pipe_notify(a->pub, NNG_PIPE_EV_ADD_POST, on_pipe, a);
	if ((rv = listen_on(a, a->pub, o->publish_url, "publish", a->pub_bound)) != PC_OK ||
	    (rv = listen_on(a, a->rep, o->rpc_url, "rpc", a->rpc_bound)) != PC_OK) {
		return rv;
	}
	/* The aggregator may be down or not up yet: the dial retries in the
	 * background, and the stream flows whenever it is there. */
	if (o->aggregator != NULL) {
		char msg[200];
		if ((rv = pc_dial(a->pub, o->aggregator, &o->tls, msg, sizeof(msg))) != PC_OK) {
			return fail(a, rv, "aggregator", msg);
		}
	}
	if ((rv = pc_rpc_server_start(a->rep, pc_service_base(a->svc), PC_RPC_WORKERS, &a->rpc)) !=
	    PC_OK) {
		return fail(a, rv, "rpc", pc_strerror(rv));
	}
	return PC_OK;
}

static const pc_proc *
cache_next(const void *table, size_t *cursor)
{
	return pc_cache_next(table, cursor);
}

/* Publishes e->msg, in parts if it is larger than a part may be. PUB never
 * blocks: a slow subscriber loses messages, and its replica sees the gap. */
static int
publish(pc_agent *a)
{
	size_t n;
	int    rv;

	if ((rv = pc_encoder_split(&a->enc, a->opts.part_records, a->opts.part_bytes, &n)) !=
	    PC_OK) {
		return fail(a, rv, "publish", pc_strerror(rv));
	}
	for (size_t i = 0; i < n; i++) {
		if ((rv = pc_encoder_frame_part(&a->enc, i)) != PC_OK) {
			return fail(a, rv, "publish", pc_strerror(rv));
		}
		if ((rv = nng_send(a->pub, a->enc.frame.data, a->enc.frame.len, 0)) != 0) {
			return fail(a, pc_nng_err(rv), "publish", nng_strerror(rv));
		}
	}
	return PC_OK;
}

/* One tick: probe, delta, one Update (a keyframe every K ticks and when
 * asked), applied to the local replica and published. */
int
pc_agent_tick(pc_agent *a)
{
	pc_update_hdr h;
	pc_apply      res;
	bool          keyframe;
	int           rv;

	/* The probe is held until the cache has copied the snapshot's
	 * strings, which the probe's next call may free. */
	probe_take(a, true);
	nng_mtx_lock(a->lock);
	h  = (pc_update_hdr){ a->host, a->instance, a->seq + 1, pc_clock_realtime_ms(),
		              a->opts.interval_ms };
	rv = pc_probe_processes_by_pid(a->probe, h.time_ms, true, &a->snap);
	if (rv == PC_OK) {
		rv = pc_cache_update(a->cache, &a->snap, &a->delta);
	}
	probe_give(a);
	if (rv != PC_OK) {
		nng_mtx_unlock(a->lock);
		return fail(a, rv, "tick", pc_strerror(rv));
	}
	keyframe = a->seq % a->opts.keyframe_every == 0 || a->keyframe_asked;
	rv       = keyframe ? pc_encoder_keyframe_exits(&a->enc, &h, cache_next, a->cache,
	                                                pc_cache_count(a->cache), &a->delta)
	                    : pc_encoder_delta(&a->enc, &h, &a->delta);
	if (rv == PC_OK) {
		rv = pc_replica_apply(a->local, &a->enc.msg, NULL, NULL, &res);
	}
	if (rv == PC_OK) {
		a->seq++;
		a->keyframe_asked = false;
	} else {
		/* The next update must not look contiguous with a lost one. */
		pc_replica_desync(a->local);
		a->keyframe_asked = true;
	}
	nng_mtx_unlock(a->lock);
	log_lost(a);
	if (rv != PC_OK) {
		return fail(a, rv, "tick", pc_strerror(rv));
	}
	/* Only this thread changes the cache that the message borrows from. */
	return publish(a);
}

int
pc_agent_run(pc_agent *a, bool (*stop)(void), uint64_t ticks)
{
	uint64_t period = (uint64_t)a->opts.interval_ms * 1000u;
	uint64_t next   = pc_clock_mono_us();

	for (uint64_t n = 0; ticks == 0 || n < ticks; n++) {
		int rv = pc_agent_tick(a);
		if (rv != PC_OK && rv != PC_ENOMEM) {
			return rv;
		}
		next += period;
		uint64_t now = pc_clock_mono_us();
		if (now > next) {
			next += (now - next) / period * period +
			        period; /* skip, stay on the grid */
		}
		while ((now = pc_clock_mono_us()) < next) {
			if (stop != NULL && stop()) {
				return PC_OK;
			}
			uint64_t left = next - now;
			nng_msleep((nng_duration)(left > 100000 ? 100 : (left + 999) / 1000));
		}
		if (stop != NULL && stop()) {
			return PC_OK;
		}
	}
	return PC_OK;
}

void
pc_agent_stop(pc_agent *a)
{
	pc_rpc_server_stop(a->rpc);
	nng_close(a->rep);
	nng_close(a->pub);
	pc_service_close(a->svc);
	pc_replica_close(a->local);
	pc_cache_close(a->cache);
	pc_probe_close(a->probe);
	if (a->lock != NULL) {
		nng_mtx_free(a->lock);
	}
	if (a->probe_cv != NULL) {
		nng_cv_free(a->probe_cv);
	}
	if (a->probe_mtx != NULL) {
		nng_mtx_free(a->probe_mtx);
	}
	pc_snapshot_fini(&a->snap);
	pc_delta_fini(&a->delta);
	pc_encoder_fini(&a->enc);
}
