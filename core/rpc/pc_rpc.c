/* pc_rpc.c: request and reply envelopes, dispatch, and the client call. */
#include "rpc/pc_rpc.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "base/pc_err.h"
#include "base/pc_utf8.h"
#include "pidcast.pb-c.h"

typedef struct call {
	int    status;
	char   message[256];
	pc_buf payload;
	int    answered;
} call;

void
pc_rpc_fail(void *closure_data, int status, const char *fmt, ...)
{
	call   *c = closure_data;
	char    text[2 * sizeof(c->message)];
	va_list ap;

	c->status = status;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	/* Messages echo what a peer sent (a method, a host): Reply.message is
	 * a protobuf string, so it is made valid UTF-8 and cut on a character
	 * boundary here, for every message (pc_utf8.h). */
	pc_utf8_repair(c->message, sizeof(c->message), text, sizeof(text));
}

static void
closure(const ProtobufCMessage *msg, void *closure_data)
{
	call *c = closure_data;

	c->answered = 1;
	if (msg == NULL) {
		if (c->status == PIDCAST__STATUS_CODE__OK) {
			pc_rpc_fail(c, PIDCAST__STATUS_CODE__INTERNAL, "no reply");
		}
		return;
	}
	size_t n = protobuf_c_message_get_packed_size(msg);
	if (pc_buf_reserve(&c->payload, n) != 0) {
		pc_rpc_fail(c, PIDCAST__STATUS_CODE__RESOURCE_EXHAUSTED, "out of memory");
		return;
	}
	c->payload.len = protobuf_c_message_pack(msg, (uint8_t *)c->payload.data);
}

static void
dispatch(ProtobufCService *svc, const void *req, size_t len, call *c)
{
	const ProtobufCMethodDescriptor *m;
	Pidcast__Request                *r;
	ProtobufCMessage                *in;

	if (len > PC_RPC_MAX_REQUEST) {
		pc_rpc_fail(c, PIDCAST__STATUS_CODE__RESOURCE_EXHAUSTED,
		            "request of %zu bytes, limit %d", len, PC_RPC_MAX_REQUEST);
		return;
	}
	if ((r = pidcast__request__unpack(NULL, len, req)) == NULL) {
		pc_rpc_fail(c, PIDCAST__STATUS_CODE__INVALID_ARGUMENT, "request does not decode");
		return;
	}
	if (r->method == NULL) {
		pc_rpc_fail(c, PIDCAST__STATUS_CODE__INVALID_ARGUMENT, "request names no method");
	} else if ((m = protobuf_c_service_descriptor_get_method_by_name(svc->descriptor,
	                                                                 r->method)) == NULL) {
		pc_rpc_fail(c, PIDCAST__STATUS_CODE__UNIMPLEMENTED, "unknown method '%.*s'",
		            (int)pc_utf8_prefix(r->method, PC_RPC_ECHO_MAX), r->method);
	} else if ((in = protobuf_c_message_unpack(m->input, NULL,
	                                           r->has_payload ? r->payload.len : 0,
	                                           r->payload.data)) == NULL) {
		pc_rpc_fail(c, PIDCAST__STATUS_CODE__INVALID_ARGUMENT,
		            "%s: payload does not decode", m->name);
	} else {
		svc->invoke(svc, (unsigned)(m - svc->descriptor->methods), in, closure, c);
		if (!c->answered) {
			closure(NULL, c);
		}
		protobuf_c_message_free_unpacked(in, NULL);
	}
	pidcast__request__free_unpacked(r, NULL);
}

int
pc_rpc_serve(ProtobufCService *svc, const void *req, size_t len, pc_buf *out)
{
	call           c     = { 0 };
	Pidcast__Reply reply = PIDCAST__REPLY__INIT;
	size_t         n;

	dispatch(svc, req, len, &c);
	reply.has_status = 1;
	reply.status     = c.status;
	if (c.status == PIDCAST__STATUS_CODE__OK) {
		reply.has_payload  = 1;
		reply.payload.data = (uint8_t *)c.payload.data;
		reply.payload.len  = c.payload.len;
	} else {
		reply.message = c.message;
	}
	n = pidcast__reply__get_packed_size(&reply);
	pc_buf_reset(out);
	if (pc_buf_reserve(out, n) == 0) {
		out->len = pidcast__reply__pack(&reply, (uint8_t *)out->data);
	}
	pc_buf_fini(&c.payload);
	return c.status;
}

int
pc_rpc_set_reply_max(nng_socket req, size_t max)
{
	size_t twice = max <= SIZE_MAX / 2 ? 2 * max : SIZE_MAX - 1;

	return pc_nng_err(nng_socket_set_size(req, NNG_OPT_RECVMAXSZ, twice));
}

int
pc_rpc_call(nng_socket req, const char *method, const ProtobufCMessage *in,
            const ProtobufCMessageDescriptor *out_desc, ProtobufCMessage **out, int *status,
            char *msg, size_t msg_cap)
{
	Pidcast__Request r   = PIDCAST__REQUEST__INIT;
	pc_buf           buf = { 0 };
	Pidcast__Reply  *rep;
	void            *data;
	size_t           len, max;
	int              rv;

	r.method = (char *)method;
	if (in != NULL) {
		size_t n = protobuf_c_message_get_packed_size(in);
		if (pc_buf_reserve(&buf, n) != 0) {
			return PC_ENOMEM;
		}
		buf.len        = protobuf_c_message_pack(in, (uint8_t *)buf.data);
		r.has_payload  = 1;
		r.payload.data = (uint8_t *)buf.data;
		r.payload.len  = buf.len;
	}
	len  = pidcast__request__get_packed_size(&r);
	data = nng_alloc(len);
	if (data == NULL) {
		pc_buf_fini(&buf);
		return PC_ENOMEM;
	}
	pidcast__request__pack(&r, data);
	pc_buf_fini(&buf);
	if ((rv = nng_send(req, data, len, NNG_FLAG_ALLOC)) != 0) {
		nng_free(data, len);
		return pc_nng_err(rv);
	}
	if ((rv = nng_recv(req, &data, &len, NNG_FLAG_ALLOC)) != 0) {
		return pc_nng_err(rv);
	}
	if (nng_socket_get_size(req, NNG_OPT_RECVMAXSZ, &max) == 0 && max > 0 && len > max / 2) {
		nng_free(data, len);
		snprintf(msg, msg_cap, "a reply of %zu bytes, over the limit of %zu", len, max / 2);
		return PC_ETOOBIG;
	}
	rep = pidcast__reply__unpack(NULL, len, data);
	nng_free(data, len);
	if (rep == NULL) {
		return PC_EPROTO;
	}
	*status = rep->has_status ? (int)rep->status : PIDCAST__STATUS_CODE__UNKNOWN;
	/* A server's text, made valid UTF-8 as any peer's (pc_utf8.h). */
	if (msg_cap > 0) {
		pc_utf8_repair(msg, msg_cap, rep->message != NULL ? rep->message : "", SIZE_MAX);
	}
	rv   = PC_OK;
	*out = NULL;
	if (*status == PIDCAST__STATUS_CODE__OK) {
		*out = protobuf_c_message_unpack(
		        out_desc, NULL, rep->has_payload ? rep->payload.len : 0, rep->payload.data);
		if (*out == NULL) {
			rv = PC_EPROTO;
		}
	}
	pidcast__reply__free_unpacked(rep, NULL);
	return rv;
}
