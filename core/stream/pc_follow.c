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

#define SILENCE_MIN_MS 3000u /* never call an agent silent sooner */
#define SILENCE_TICKS  3u    /* missed ticks that make it silent */

struct pc_follow {
	nng_socket       sub;
	nng_socket       req;
	bool             has_rpc;
	pc_replica      *rep;
	pc_follow_counts st;
	uint64_t         heard_us;  /* the last frame that decoded */
	uint64_t         resync_us; /* the last resync attempt */
	bool             resync_ok; /* whether it worked */
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
		    (rv = nng_socket_set_size(f->req, NNG_OPT_RECVMAXSZ, recv_max)) != 0 ||
		    (rv = nng_socket_set_ms(f->req, NNG_OPT_SENDTIMEO, t)) != 0) {
			snprintf(err, cap, "rpc socket: %s", nng_strerror(rv));
			return pc_nng_err(rv);
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

int
pc_follow_resync(pc_follow *f, pc_replica_cb cb, void *arg)
{
	Pidcast__GetSnapshotRequest in  = PIDCAST__GET_SNAPSHOT_REQUEST__INIT;
	ProtobufCMessage           *out = NULL;
	char                        msg[256];
	int                         status, rv;
	pc_apply                    res;

	if (!f->has_rpc) {
		return PC_ENOTSUP;
	}
	f->resync_us = pc_clock_mono_us();
	rv = pc_rpc_call(f->req, "GetSnapshot", &in.base, &pidcast__update__descriptor, &out,
	                 &status, msg, sizeof(msg));
	if (rv == PC_OK && status != PIDCAST__STATUS_CODE__OK) {
		rv = PC_ECONN;
	}
	if (rv == PC_OK) {
		rv = pc_replica_apply(f->rep, (Pidcast__Update *)out, cb, arg, &res);
	}
	if (out != NULL) {
		protobuf_c_message_free_unpacked(out, NULL);
	}
	f->resync_ok = rv == PC_OK;
	if (rv != PC_OK) {
		f->st.resync_failures++;
		return rv;
	}
	f->st.resyncs++;
	return PC_OK;
}

static uint64_t
silence_us(const pc_follow *f)
{
	uint64_t ms = (uint64_t)pc_replica_interval_ms(f->rep) * SILENCE_TICKS;

	return (ms > SILENCE_MIN_MS ? ms : SILENCE_MIN_MS) * 1000u;
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
	if (f->has_rpc && now - f->resync_us >= silence_us(f)) {
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
	f->heard_us = pc_clock_mono_us();
	rv          = pc_replica_apply(f->rep, u, cb, arg, &res);
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
		/* Without RPC, or while it keeps failing (at most one try a
		 * second), wait for a keyframe instead. */
		if (f->has_rpc && (f->resync_ok || pc_clock_mono_us() - f->resync_us >= 1000000u)) {
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
