/* pc_net.h: NNG transport helpers shared by the agent and the aggregator. */
#ifndef PC_NET_H
#define PC_NET_H

#include <stddef.h>

#include <nng/nng.h>

/* The largest message a subscriber, the aggregator or a client takes by
 * default (NNG_OPT_RECVMAXSZ; NNG's own default, 1 MiB, is less than a
 * keyframe or a snapshot of about 7,000 processes). --recv-max changes it. */
#define PC_RECV_MAX (64u << 20)

/* Default mode of ipc:// sockets: read and write for the owner only. */
#define PC_IPC_MODE 0600

/* Listens on url. An ipc:// socket file gets ipc_mode (where the OS has
 * modes: POSIX; Windows named pipes keep their default security). On
 * failure err says why, for the caller to print; returns a pc_err code. */
int pc_listen(nng_socket s, const char *url, int ipc_mode, char *err, size_t cap);

#endif
