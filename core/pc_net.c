/* pc_net.c: listening with the options pidcast sets on every listener. */
#include "pc_net.h"

#include <stdio.h>
#include <string.h>

#include "pc_err.h"
#include "pc_rpc.h"

int
pc_listen(nng_socket s, const char *url, int ipc_mode, char *err, size_t cap)
{
	nng_listener l;
	int          rv;

	if ((rv = nng_listener_create(&l, s, url)) != 0) {
		snprintf(err, cap, "cannot listen on %s: %s", url, nng_strerror(rv));
		return PC_EADDR;
	}
	if (strncmp(url, "ipc://", 6) == 0) {
		rv = nng_listener_set_int(l, NNG_OPT_IPC_PERMISSIONS, ipc_mode);
		if (rv != 0 && rv != NNG_ENOTSUP) {
			nng_listener_close(l);
			snprintf(err, cap, "cannot set mode %o on %s: %s", (unsigned)ipc_mode, url,
			         nng_strerror(rv));
			return pc_nng_err(rv);
		}
	}
	if ((rv = nng_listener_start(l, 0)) != 0) {
		nng_listener_close(l);
		snprintf(err, cap, "cannot listen on %s: %s", url, nng_strerror(rv));
		return PC_EADDR;
	}
	return PC_OK;
}
