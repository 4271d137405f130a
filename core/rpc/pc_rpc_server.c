/* pc_rpc_server.c: a REP socket served by n NNG contexts, each a two-state
 * machine (receiving, sending) driven by its aio callback, as in NNG's
 * async demo. One slow call holds up only its own context. */
#include <stdlib.h>

#include <nng/nng.h>

#include "base/pc_err.h"
#include "rpc/pc_rpc.h"

typedef struct worker {
	enum { RECV, SEND } state;
	nng_aio          *aio;
	nng_ctx           ctx;
	ProtobufCService *svc;
	pc_buf            out;
} worker;

struct pc_rpc_server {
	worker *w;
	int     n;
};

static void
worker_cb(void *arg)
{
	worker  *w = arg;
	nng_msg *msg;
	int      rv;

	switch (w->state) {
	case RECV:
		if ((rv = nng_aio_result(w->aio)) != 0) {
			if (rv == NNG_ECLOSED || rv == NNG_ECANCELED) {
				return; /* shutting down */
			}
			nng_ctx_recv(w->ctx, w->aio);
			return;
		}
		msg = nng_aio_get_msg(w->aio);
		pc_rpc_serve(w->svc, nng_msg_body(msg), nng_msg_len(msg), &w->out);
		nng_msg_clear(msg);
		if (nng_msg_append(msg, w->out.data, w->out.len) != 0) {
			nng_msg_free(msg); /* no reply: the client times out */
			nng_ctx_recv(w->ctx, w->aio);
			return;
		}
		w->state = SEND;
		nng_aio_set_msg(w->aio, msg);
		nng_ctx_send(w->ctx, w->aio);
		return;
	case SEND:
		if (nng_aio_result(w->aio) != 0) {
			nng_msg_free(nng_aio_get_msg(w->aio));
		}
		w->state = RECV;
		nng_ctx_recv(w->ctx, w->aio);
		return;
	}
}

int
pc_rpc_server_start(nng_socket rep, ProtobufCService *svc, int n, pc_rpc_server **out)
{
	pc_rpc_server *s = calloc(1, sizeof(*s));
	int            rv;

	if (s == NULL || (s->w = calloc((size_t)n, sizeof(worker))) == NULL) {
		free(s);
		return PC_ENOMEM;
	}
	for (int i = 0; i < n; i++) {
		worker *w = &s->w[i];
		w->svc    = svc;
		if ((rv = nng_aio_alloc(&w->aio, worker_cb, w)) != 0) {
			pc_rpc_server_stop(s);
			return pc_nng_err(rv);
		}
		s->n++;
		if ((rv = nng_ctx_open(&w->ctx, rep)) != 0) {
			pc_rpc_server_stop(s);
			return pc_nng_err(rv);
		}
	}
	for (int i = 0; i < n; i++) {
		s->w[i].state = RECV;
		nng_ctx_recv(s->w[i].ctx, s->w[i].aio);
	}
	*out = s;
	return PC_OK;
}

void
pc_rpc_server_stop(pc_rpc_server *s)
{
	if (s == NULL) {
		return;
	}
	for (int i = 0; i < s->n; i++) {
		nng_aio_stop(s->w[i].aio);
	}
	for (int i = 0; i < s->n; i++) {
		nng_ctx_close(s->w[i].ctx);
		nng_aio_free(s->w[i].aio);
		pc_buf_fini(&s->w[i].out);
	}
	free(s->w);
	free(s);
}
