/* pc_net.h: NNG transport helpers shared by the agent, the aggregator and
 * the clients: every listen and dial goes through here, so that ipc://
 * modes and tls+tcp:// are handled once. */
#ifndef PC_NET_H
#define PC_NET_H

#include <stddef.h>

#include <nng/nng.h>

#include "net/pc_tls.h"

/* The largest message a subscriber, the aggregator or a client takes by
 * default (NNG_OPT_RECVMAXSZ; NNG's own default, 1 MiB, is less than a
 * keyframe or a snapshot of about 7,000 processes). --recv-max changes it. */
#define PC_RECV_MAX (64u << 20)

/* The longest wait between two tries of a tls+tcp:// dial (NNG doubles it
 * from 100 ms after each failure; 0 would keep it at 100 ms). */
#define PC_TLS_REDIAL_MAX_MS 2000

/* Default mode of ipc:// sockets: read and write for the owner only. */
#define PC_IPC_MODE 0600

/* The longest URL pidcast prints or writes for a listener. */
#define PC_URL_MAX 256

/* Listens on url. An ipc:// socket file gets ipc_mode (where the OS has
 * modes: POSIX; Windows named pipes keep their default security); a
 * tls+tcp:// one gets tls (see pc_tls.h; NULL: no files, an error for
 * TLS). bound (PC_URL_MAX bytes, or NULL) gets the URL as bound: for
 * tcp:// and tls+tcp:// with port 0 the port the OS chose, so that a test or
 * a user can let the OS pick a free port and still learn it. On failure err
 * says why, for the caller to print; returns a pc_err code. */
int pc_listen(nng_socket s, const char *url, int ipc_mode, const pc_tls *tls, char *bound,
              char *err, size_t cap);

/* url with its port replaced by port (url parsed by NNG; IPv6 hosts keep
 * their brackets), into out (PC_URL_MAX bytes). PC_OK, or PC_EADDR for a URL
 * NNG cannot parse. For the HTTP server, whose port NNG reports apart. */
int pc_url_with_port(const char *url, unsigned port, char *out);

/* Dials url in the background (the peer may come later; NNG retries), with
 * tls for tls+tcp://. Fails at once only on what retrying cannot fix: a bad
 * URL, or TLS files missing or unreadable. */
int pc_dial(nng_socket s, const char *url, const pc_tls *tls, char *err, size_t cap);

#endif
