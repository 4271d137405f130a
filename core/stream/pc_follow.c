/* pc_follow.c: a SUB socket, an optional REQ socket, and a replica. */
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
#include "wire/pc_update.h"

#define SILENCE_MIN_MS 3000u  /* never call an agent silent sooner */
#define SILENCE_TICKS  3u     /* missed ticks that make it silent */
#define RESYNC_MIN_MS  1000u  /* between two resyncs of its own, at least */
#define RESYNC_MAX_MS  16000u /* the longest wait after resyncs that fail */

struct pc_follow {
	nng_socket       sub;
	nng_socket       req;
	bool             has_rpc;
	pc_replica      *rep;
	pc_follow_counts st;
	uint64_t         heard_us;      /* the last frame that decoded */
	uint64_t         resync_us;     /* the last resync attempt */
	uint64_t         resync_due_us; /* none of its own before */
	uint32_t         backoff_ms;    /* the wait after the next one that fails */
	bool             stream_seen;   /* the last update received off the stream: */
	uint64_t         stream_instance, stream_seq;
	pc_resync_info   last;
};

int
pc_follow_open(pc_follow **out, const pc_follow_opts *o, char *err, size_t cap)
{
	pc_follow  *f        = calloc(1, sizeof(*f));
	const char *topic    = o->topic != NULL ? o->topic : PC_TOPIC_PREFIX;
	size_t      recv_max = o->recv_max ? o->recv_max : PC_RECV_MAX;
	int         rv;

	if (f == NULL || pc_replica_open(&f->rep) != PC_OK) {
		free(f);
		snprintf(err, cap, "out of memory");
		return PC_ENOMEM;
	}
	*out = f;
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
	f->heard_us = pc_clock_mono_us();
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
		pc_replica_close(f->rep);
		free(f);
	}
}

/* Sets when the next resync of its own may come: RESYNC_MIN_MS after one
 * that synced, and doubling waits after those that did not. */
static void
schedule(pc_follow *f, bool synced)
{
	uint32_t wait = RESYNC_MIN_MS;

	if (!synced) {
		wait          = f->backoff_ms ? f->backoff_ms : RESYNC_MIN_MS;
		f->backoff_ms = wait >= RESYNC_MAX_MS / 2 ? RESYNC_MAX_MS : wait * 2;
	}
	f->last.retry_ms = wait;
	f->resync_due_us = f->resync_us + (uint64_t)wait * 1000u;
}

static uint64_t
silence_us(const pc_follow *f)
{
	uint64_t ms = (uint64_t)pc_replica_interval_ms(f->rep) * SILENCE_TICKS;

	return (ms > SILENCE_MIN_MS ? ms : SILENCE_MIN_MS) * 1000u;
}

/* Whether the stream can go on from the table the snapshot made: the same
 * instance as the stream, and not older than what came off it. A stream
 * gone silent says nothing any more (the agent may have restarted). */
static pc_resync_outcome
judge(const pc_follow *f)
{
	if (!f->stream_seen || pc_clock_mono_us() - f->heard_us >= silence_us(f)) {
		return PC_RESYNC_OK;
	}
	if (pc_replica_instance(f->rep) != f->stream_instance) {
		return PC_RESYNC_INSTANCE;
	}
	return pc_replica_seq(f->rep) < f->stream_seq ? PC_RESYNC_BEHIND : PC_RESYNC_OK;
}

int
pc_follow_resync(pc_follow *f, pc_replica_cb cb, void *arg)
{
	Pidcast__GetSnapshotRequest in  = PIDCAST__GET_SNAPSHOT_REQUEST__INIT;
	ProtobufCMessage           *out = NULL;
	pc_resync_info             *l   = &f->last;
	int                         status, rv;
	pc_apply                    res;

	if (!f->has_rpc) {
		return PC_ENOTSUP;
	}
	f->resync_us = pc_clock_mono_us();
	l->attempts++;
	l->status       = PIDCAST__STATUS_CODE__OK;
	l->snapshot_seq = 0;
	l->stream_seq   = f->stream_seq;
	rv = pc_rpc_call(f->req, "GetSnapshot", &in.base, &pidcast__update__descriptor, &out,
	                 &status, l->message, sizeof(l->message));
	if (rv == PC_OK && status != PIDCAST__STATUS_CODE__OK) {
		l->status = status;
		rv        = PC_ECONN;
	}
	if (rv == PC_OK) {
		l->snapshot_seq = ((Pidcast__Update *)out)->seq;
		rv              = pc_replica_apply(f->rep, (Pidcast__Update *)out, cb, arg, &res);
	}
	if (out != NULL) {
		protobuf_c_message_free_unpacked(out, NULL);
	}
	l->err     = rv;
	l->outcome = rv != PC_OK ? PC_RESYNC_FAILED : judge(f);
	if (l->outcome != PC_RESYNC_OK && rv == PC_OK) {
		pc_replica_desync(f->rep); /* filled, but the stream cannot go on from it */
	}
	schedule(f, l->outcome == PC_RESYNC_OK);
	if (l->outcome != PC_RESYNC_OK) {
		f->st.resync_failures++;
		return rv != PC_OK ? rv : PC_EPROTO;
	}
	f->st.resyncs++;
	return PC_OK;
}

/* Nothing came: after a silence, the table may be stale; resync, at most
 * once a silence period, so a dead agent does not stall the caller. */
static void
on_quiet(pc_follow *f, pc_replica_cb cb, void *arg)
{
	uint64_t now = pc_clock_mono_us();

	if (now - f->heard_us < silence_us(f)) {
		return;
	}
	if (pc_replica_synced(f->rep)) {
		f->st.silences++;
		pc_replica_desync(f->rep);
	}
	if (f->has_rpc && now >= f->resync_due_us && now - f->resync_us >= silence_us(f)) {
		pc_follow_resync(f, cb, arg);
	}
}

int
pc_follow_poll(pc_follow *f, int timeout_ms, pc_replica_cb cb, void *arg)
{
	Pidcast__Update *u = NULL;
	void            *buf;
	size_t           len;
	pc_apply         res;
	int              rv;

	nng_socket_set_ms(f->sub, NNG_OPT_RECVTIMEO, timeout_ms);
	if ((rv = nng_recv(f->sub, &buf, &len, NNG_FLAG_ALLOC)) != 0) {
		if (rv == NNG_ETIMEDOUT) {
			on_quiet(f, cb, arg);
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
	f->st.received++;
	f->heard_us        = pc_clock_mono_us();
	f->stream_seen     = true;
	f->stream_instance = u->instance_id;
	f->stream_seq      = u->seq;
	rv                 = pc_replica_apply(f->rep, u, cb, arg, &res);
	pidcast__update__free_unpacked(u, NULL);
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
		f->backoff_ms = 0; /* the stream follows again */
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
		/* Without RPC, or until the backed-off time of the next
		 * resync, wait for a keyframe instead. */
		if (f->has_rpc && pc_clock_mono_us() >= f->resync_due_us) {
			pc_follow_resync(f, cb, arg);
		}
		break;
	}
	return PC_OK;
}

pc_replica *
pc_follow_replica(pc_follow *f)
{
	return f->rep;
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
