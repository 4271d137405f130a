/* pc_follow.c: a SUB socket, an optional REQ socket, and a replica a host. */
#include "stream/pc_follow.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nng/nng.h>
#include <nng/protocol/pubsub0/sub.h>
#include <nng/protocol/reqrep0/req.h>

#include "base/pc_err.h"
#include "net/pc_net.h"
#include "platform/pc_platform.h"
#include "rpc/pc_rpc.h"
#include "stream/pc_follow_hosts.h"
#include "wire/pc_update.h"

#define SILENCE_MIN_MS 3000u   /* never call an agent silent sooner */
#define SILENCE_TICKS  3u      /* missed ticks that make it silent */
#define RESYNC_MIN_MS  1000u   /* between two resyncs of its own, at least */
#define RESYNC_MAX_MS  16000u  /* the longest wait after resyncs that fail */
#define SCAN_US        100000u /* hosts checked for silence at most this often */

struct pc_follow {
	nng_socket sub;
	nng_socket req;
	bool       has_rpc;
	pc_fhosts  hosts;
	pc_fhost  *cur; /* pc_follow_replica()'s host */
	size_t     max_hosts;
	size_t     next_scan; /* where the next silence scan starts */
	uint64_t   scan_us;   /* the last one */
	pc_sync_cb on_sync;
	void      *sync_arg;
	/* The RPC endpoint itself, not a host, failed (no answer): no resync of
	 * its own of any host before rpc_due_us, doubling up to RESYNC_MAX_MS,
	 * so that a dead endpoint under many hosts costs one timeout a wait,
	 * not one a host. */
	uint64_t         rpc_due_us;
	uint32_t         rpc_backoff_ms;
	pc_follow_counts st;
	pc_resync_info   last;
};

int
pc_follow_open(pc_follow **out, const pc_follow_opts *o, char *err, size_t cap)
{
	pc_follow  *f        = calloc(1, sizeof(*f));
	const char *topic    = o->topic != NULL ? o->topic : PC_TOPIC_PREFIX;
	size_t      recv_max = o->recv_max ? o->recv_max : PC_RECV_MAX;
	int         rv;

	/* The first host's table is there from the start, not yet named, so
	 * that a caller of one agent always sees one table. */
	if (f == NULL || pc_follow_hosts_add(&f->hosts, "", &f->cur) != PC_OK) {
		free(f);
		snprintf(err, cap, "out of memory");
		return PC_ENOMEM;
	}
	*out         = f;
	f->max_hosts = o->max_hosts ? o->max_hosts : PC_FOLLOW_MAX_HOSTS;
	f->on_sync   = o->on_sync;
	f->sync_arg  = o->sync_arg;
	if ((rv = nng_sub0_open(&f->sub)) != 0 ||
	    (rv = nng_socket_set(f->sub, NNG_OPT_SUB_SUBSCRIBE, topic, strlen(topic))) != 0 ||
	    (rv = nng_socket_set_size(f->sub, NNG_OPT_RECVMAXSZ, recv_max)) != 0 ||
	    (o->recv_buf > 0 &&
	     (rv = nng_socket_set_int(f->sub, NNG_OPT_RECVBUF, o->recv_buf)) != 0)) {
		snprintf(err, cap, "subscriber socket: %s", nng_strerror(rv));
		return pc_nng_err(rv);
	}
	/* The dials retry in the background until the agent is up. */
	if ((rv = pc_dial(f->sub, o->url, o->tls, err, cap)) != PC_OK) {
		return rv;
	}
	if (o->rpc_url != NULL) {
		nng_duration t = o->rpc_timeout_ms ? (nng_duration)o->rpc_timeout_ms : 2000;
		if ((rv = nng_req0_open(&f->req)) != 0 ||
		    (rv = nng_socket_set_ms(f->req, NNG_OPT_RECVTIMEO, t)) != 0 ||
		    (rv = nng_socket_set_ms(f->req, NNG_OPT_SENDTIMEO, t)) != 0) {
			snprintf(err, cap, "rpc socket: %s", nng_strerror(rv));
			return pc_nng_err(rv);
		}
		if ((rv = pc_rpc_set_reply_max(f->req, recv_max)) != PC_OK) {
			snprintf(err, cap, "rpc socket: %s", pc_strerror(rv));
			return rv;
		}
		if ((rv = pc_dial(f->req, o->rpc_url, o->tls, err, cap)) != PC_OK) {
			return rv;
		}
		f->has_rpc = true;
	}
	f->cur->heard_us = pc_clock_mono_us();
	return PC_OK;
}

void
pc_follow_close(pc_follow *f)
{
	if (f != NULL) {
		nng_close(f->sub);
		if (f->has_rpc) {
			nng_close(f->req);
		}
		pc_follow_hosts_fini(&f->hosts);
		free(f);
	}
}

/* The host of an update: known, the first one's still unnamed table, or
 * a new one while there is room; NULL past the limit or out of memory. */
static pc_fhost *
host_for(pc_follow *f, const char *name)
{
	pc_fhost *h = pc_follow_hosts_find(&f->hosts, name);

	if (h != NULL) {
		return h;
	}
	h = f->hosts.all[0];
	if (f->hosts.n == 1 && h->name[0] == '\0') {
		return pc_follow_hosts_name(&f->hosts, h, name) == PC_OK ? h : NULL;
	}
	if (f->hosts.n >= f->max_hosts || pc_follow_hosts_add(&f->hosts, name, &h) != PC_OK) {
		f->st.hosts_refused++;
		return NULL;
	}
	h->heard_us = pc_clock_mono_us();
	return h;
}

/* Tells on_sync when a host's table is synced again, and why. */
static void
report(pc_follow *f, pc_fhost *h)
{
	pc_replica    *r = h->rep;
	pc_sync_reason why;

	if (!pc_replica_synced(r)) {
		return;
	}
	if (!h->ever_synced) {
		why = PC_SYNC_START;
	} else if (pc_replica_instance(r) != h->synced_instance) {
		why = PC_SYNC_RESTART;
	} else if (h->lost >= 0) {
		why = (pc_sync_reason)h->lost;
	} else {
		h->synced_seq = pc_replica_seq(r);
		return;
	}
	if (f->on_sync != NULL) {
		f->on_sync(f->sync_arg, r, why, h->ever_synced ? h->synced_seq : 0);
	}
	h->ever_synced     = true;
	h->synced_instance = pc_replica_instance(r);
	h->synced_seq      = pc_replica_seq(r);
	h->lost            = -1;
}

/* A host's table is out of sync for that reason; the first reason holds
 * until it is synced again. */
static void
lose(pc_fhost *h, pc_sync_reason why)
{
	if (h->lost < 0) {
		h->lost = (int)why;
	}
}

/* Sets when the next resync of its own may come: RESYNC_MIN_MS after one
 * that synced, and doubling waits after those that did not. */
static void
schedule(pc_fhost *h, bool synced, pc_resync_info *l)
{
	uint32_t wait = RESYNC_MIN_MS;

	if (!synced) {
		wait          = h->backoff_ms ? h->backoff_ms : RESYNC_MIN_MS;
		h->backoff_ms = wait >= RESYNC_MAX_MS / 2 ? RESYNC_MAX_MS : wait * 2;
	}
	l->retry_ms      = wait;
	h->resync_due_us = h->resync_us + (uint64_t)wait * 1000u;
}

static uint64_t
silence_us(const pc_fhost *h)
{
	uint64_t ms = (uint64_t)pc_replica_interval_ms(h->rep) * SILENCE_TICKS;

	return (ms > SILENCE_MIN_MS ? ms : SILENCE_MIN_MS) * 1000u;
}

static bool
silent(const pc_fhost *h, uint64_t now)
{
	return now - h->heard_us >= silence_us(h);
}

/* Whether the stream can go on from the table the snapshot made: the same
 * instance as the stream, and not older than what came off it. A stream
 * gone silent says nothing any more (the agent may have restarted). */
static pc_resync_outcome
judge(const pc_fhost *h)
{
	if (!h->stream_seen || silent(h, pc_clock_mono_us())) {
		return PC_RESYNC_OK;
	}
	if (pc_replica_instance(h->rep) != h->stream_instance) {
		return PC_RESYNC_INSTANCE;
	}
	return pc_replica_seq(h->rep) < h->stream_seq ? PC_RESYNC_BEHIND : PC_RESYNC_OK;
}

/* GetSnapshot of host h (of the only host while h is not named yet). A
 * reply of another host than asked for is a protocol error: it must not
 * fill this host's table. */
static int
fetch(pc_follow *f, pc_fhost *h, Pidcast__Update **snap)
{
	Pidcast__GetSnapshotRequest in  = PIDCAST__GET_SNAPSHOT_REQUEST__INIT;
	ProtobufCMessage           *out = NULL;
	pc_resync_info             *l   = &f->last;
	int                         status, rv;

	in.host = h->name[0] != '\0' ? h->name : NULL;
	rv      = pc_rpc_call(f->req, "GetSnapshot", &in.base, &pidcast__update__descriptor, &out,
	                      &status, l->message, sizeof(l->message));
	if (rv == PC_OK && status != PIDCAST__STATUS_CODE__OK) {
		l->status = status;
		rv        = PC_ECONN;
	}
	if (rv == PC_OK && in.host != NULL &&
	    (((Pidcast__Update *)out)->host == NULL ||
	     strcmp(((Pidcast__Update *)out)->host, h->name) != 0)) {
		rv = PC_EPROTO;
	}
	if (rv != PC_OK && out != NULL) {
		protobuf_c_message_free_unpacked(out, NULL);
		out = NULL;
	}
	*snap = (Pidcast__Update *)out;
	return rv;
}

static int
resync_host(pc_follow *f, pc_fhost *h, pc_replica_cb cb, void *arg)
{
	pc_resync_info  *l = &f->last;
	Pidcast__Update *snap;
	uint64_t         instance = pc_replica_instance(h->rep), seq = pc_replica_seq(h->rep);
	bool             was_silent, fresh                           = true;
	pc_apply         res;
	int              rv;

	if (!f->has_rpc) {
		return PC_ENOTSUP;
	}
	f->cur       = h;
	h->resync_us = pc_clock_mono_us();
	was_silent   = silent(h, h->resync_us);
	l->attempts++;
	snprintf(l->host, sizeof(l->host), "%s", h->name);
	l->status       = PIDCAST__STATUS_CODE__OK;
	l->message[0]   = '\0';
	l->snapshot_seq = 0;
	l->stream_seq   = h->stream_seq;
	if ((rv = fetch(f, h, &snap)) == PC_OK) {
		l->snapshot_seq = snap->seq;
		fresh           = !was_silent || snap->instance_id != instance || snap->seq != seq;
		rv              = pc_replica_apply(h->rep, snap, cb, arg, &res);
		protobuf_c_message_free_unpacked(&snap->base, NULL);
	}
	/* The first host learns its name from its first snapshot. */
	if (h->name[0] == '\0' && pc_replica_host(h->rep)[0] != '\0' &&
	    pc_follow_hosts_find(&f->hosts, pc_replica_host(h->rep)) == NULL) {
		pc_follow_hosts_name(&f->hosts, h, pc_replica_host(h->rep));
		snprintf(l->host, sizeof(l->host), "%s", h->name);
	}
	if (rv == PC_ETIMEDOUT || (rv == PC_ECONN && l->status == PIDCAST__STATUS_CODE__OK)) {
		uint32_t wait     = f->rpc_backoff_ms ? f->rpc_backoff_ms : RESYNC_MIN_MS;
		f->rpc_backoff_ms = wait >= RESYNC_MAX_MS / 2 ? RESYNC_MAX_MS : wait * 2;
		f->rpc_due_us     = h->resync_us + (uint64_t)wait * 1000u;
	} else {
		f->rpc_backoff_ms = 0; /* it answered */
		f->rpc_due_us     = 0;
	}
	l->err     = rv;
	l->outcome = rv != PC_OK ? PC_RESYNC_FAILED : judge(h);
	if (l->outcome != PC_RESYNC_OK && rv == PC_OK) {
		pc_replica_desync(h->rep); /* filled, but the stream cannot go on from it */
	}
	/* A silent host whose snapshot brings nothing new (one that is down,
	 * as an aggregator still answers for it) backs off as a failure would. */
	schedule(h, l->outcome == PC_RESYNC_OK && fresh, l);
	if (l->outcome != PC_RESYNC_OK) {
		f->st.resync_failures++;
		return rv != PC_OK ? rv : PC_EPROTO;
	}
	f->st.resyncs++;
	report(f, h);
	return PC_OK;
}

int
pc_follow_resync(pc_follow *f, pc_replica_cb cb, void *arg)
{
	return resync_host(f, f->cur, cb, arg);
}

/* Hosts gone silent: their tables may be stale; they become not synced,
 * and one of them (the first due, from where the last scan stopped, so
 * that every host has its turn) resyncs, at most once a silence period of
 * its own, so that dead agents do not stall the caller. */
static void
scan_silence(pc_follow *f, pc_replica_cb cb, void *arg)
{
	uint64_t  now = pc_clock_mono_us();
	size_t    n   = f->hosts.n;
	pc_fhost *due = NULL;

	if (now - f->scan_us < SCAN_US) {
		return;
	}
	f->scan_us = now;
	for (size_t k = 0; k < n; k++) {
		size_t    i = (f->next_scan + k) % n;
		pc_fhost *h = f->hosts.all[i];
		if (!silent(h, now)) {
			continue;
		}
		if (pc_replica_synced(h->rep)) {
			f->st.silences++;
			pc_replica_desync(h->rep);
			lose(h, PC_SYNC_SILENCE);
		}
		if (due == NULL && f->has_rpc && now >= h->resync_due_us && now >= f->rpc_due_us &&
		    now - h->resync_us >= silence_us(h)) {
			due          = h;
			f->next_scan = (i + 1) % n;
		}
	}
	if (due != NULL) {
		resync_host(f, due, cb, arg);
	}
}

/* One frame off the stream, to its host's table. */
static int
take(pc_follow *f, Pidcast__Update *u, pc_replica_cb cb, void *arg)
{
	pc_fhost *h = host_for(f, u->host);
	pc_apply  res;
	int       rv;

	if (h == NULL) {
		return PC_OK; /* counted */
	}
	f->st.received++;
	f->cur             = h;
	h->heard_us        = pc_clock_mono_us();
	h->stream_seen     = true;
	h->stream_instance = u->instance_id;
	h->stream_seq      = u->seq;
	rv                 = pc_replica_apply(h->rep, u, cb, arg, &res);
	if (rv == PC_EPROTO) {
		f->st.bad++;
		return PC_OK;
	}
	if (rv == PC_ETOOBIG) { /* the replica is out of sync: resync below */
		f->st.refused++;
		res = PC_NEED_SYNC;
		rv  = PC_OK;
	}
	if (rv != PC_OK) {
		return rv;
	}
	switch (res) {
	case PC_APPLIED:
		f->st.applied++;
		h->backoff_ms = 0; /* the stream follows again */
		report(f, h);
		break;
	case PC_STALE:
		f->st.stale++;
		break;
	case PC_PART:
		f->st.parts++;
		break;
	case PC_GAP:
	case PC_NEED_SYNC:
		f->st.gaps++;
		lose(h, PC_SYNC_GAP);
		/* Without RPC, or until the backed-off time of the next
		 * resync, wait for a keyframe instead. */
		if (f->has_rpc && pc_clock_mono_us() >= h->resync_due_us &&
		    pc_clock_mono_us() >= f->rpc_due_us) {
			resync_host(f, h, cb, arg);
		}
		break;
	}
	return PC_OK;
}

int
pc_follow_poll(pc_follow *f, int timeout_ms, pc_replica_cb cb, void *arg)
{
	Pidcast__Update *u = NULL;
	void            *buf;
	size_t           len;
	int              rv;

	nng_socket_set_ms(f->sub, NNG_OPT_RECVTIMEO, timeout_ms);
	if ((rv = nng_recv(f->sub, &buf, &len, NNG_FLAG_ALLOC)) != 0) {
		if (rv == NNG_ETIMEDOUT) {
			scan_silence(f, cb, arg);
		}
		return pc_nng_err(rv);
	}
	rv = pc_update_parse(buf, len, &u);
	nng_free(buf, len);
	if (rv != PC_OK) {
		if (rv == PC_ETOOBIG) {
			f->st.refused++;
		} else {
			f->st.bad++;
		}
		return PC_OK;
	}
	rv = take(f, u, cb, arg);
	pidcast__update__free_unpacked(u, NULL);
	/* Other hosts may fall silent while this one talks. */
	if (rv == PC_OK && f->hosts.n > 1) {
		scan_silence(f, cb, arg);
	}
	return rv;
}

pc_replica *
pc_follow_replica(pc_follow *f)
{
	return f->cur->rep;
}

size_t
pc_follow_hosts(const pc_follow *f)
{
	return f->hosts.n;
}

pc_replica *
pc_follow_host(pc_follow *f, size_t i)
{
	return i < f->hosts.n ? f->hosts.all[i]->rep : NULL;
}

pc_replica *
pc_follow_find(pc_follow *f, const char *host)
{
	pc_fhost *h = pc_follow_hosts_find(&f->hosts, host);

	return h != NULL ? h->rep : NULL;
}

const pc_follow_counts *
pc_follow_stats(const pc_follow *f)
{
	return &f->st;
}

const pc_resync_info *
pc_follow_last_resync(const pc_follow *f)
{
	return &f->last;
}
