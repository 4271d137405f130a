/* pc_rpc.h: gRPC-style calls over NNG REQ/REP. A Request names a method of
 * the service declared in pidcast.proto and carries its request message; a
 * Reply carries a gRPC status code, a message and the reply message. The
 * server dispatches through protobuf-c's service descriptor, so a method is
 * added in the .proto and one C function, nothing else. */
#ifndef PC_RPC_H
#define PC_RPC_H

#include <stddef.h>

#include <nng/nng.h>
#include <protobuf-c/protobuf-c.h>

#include "base/pc_buf.h"

#define PC_DEFAULT_RPC "tcp://127.0.0.1:7451" /* the agent's query service */

/* Requests larger than this are refused before they are decoded, with a
 * RESOURCE_EXHAUSTED reply; past PC_RPC_MAX_RECV the REP socket drops them
 * unread (NNG closes that connection), so that a peer cannot make the
 * server buffer without bound. */
#define PC_RPC_MAX_REQUEST (1024 * 1024)
#define PC_RPC_MAX_RECV    (4 * PC_RPC_MAX_REQUEST)

/* The most bytes of a peer's text (a method or host name) that an error
 * message echoes, cut on a character boundary with pc_utf8_prefix(). */
#define PC_RPC_ECHO_MAX 64

/* Inside a method: report an error; then call the closure with NULL. The
 * message is made valid UTF-8, cut on a character boundary. */
void pc_rpc_fail(void *closure_data, int status, const char *fmt, ...) PC_PRINTF(3, 4);

/* Answers one request's bytes with a reply's bytes in out (reset first).
 * Whatever the input, out holds a valid Reply: bad bytes, an unknown
 * method or a payload that does not decode become error statuses. Returns
 * the status. */
int pc_rpc_serve(ProtobufCService *svc, const void *req, size_t len, pc_buf *out);

/* Serves svc on a REP socket with n contexts, so that n requests are
 * answered at once. The service must be thread-safe. */
typedef struct pc_rpc_server pc_rpc_server;
int  pc_rpc_server_start(nng_socket rep, ProtobufCService *svc, int n, pc_rpc_server **out);
void pc_rpc_server_stop(pc_rpc_server *s); /* waits for calls under way */

/* Client: makes req take replies of up to max bytes. NNG drops a larger
 * message at the receiver, unseen, and closes the connection, which looks
 * like no answer at all; so the socket's own limit (NNG_OPT_RECVMAXSZ) is
 * set to twice max, and pc_rpc_call() refuses a reply between the two,
 * saying its size. A reply over twice max is still dropped unseen. */
int pc_rpc_set_reply_max(nng_socket req, size_t max);

/* Client: calls method with in (NULL: an empty request) and waits for the
 * reply within the socket's receive timeout. Returns PC_OK when a reply
 * came; then *status is its code, msg its message (valid UTF-8, cut on
 * a character boundary to msg_cap), and on OK *out the unpacked reply
 * (free it with protobuf_c_message_free_unpacked). PC_ETOOBIG for a reply
 * over the max of pc_rpc_set_reply_max() (half the socket's
 * NNG_OPT_RECVMAXSZ), with its size and the max in msg. */
int pc_rpc_call(nng_socket req, const char *method, const ProtobufCMessage *in,
                const ProtobufCMessageDescriptor *out_desc, ProtobufCMessage **out, int *status,
                char *msg, size_t msg_cap);

#endif
