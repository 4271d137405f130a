/* pc_net.c: listening and dialing with the options pidcast sets on every
 * endpoint. */
#include "net/pc_net.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "base/pc_err.h"

/* NNG_ENOTSUP from creating an endpoint is a scheme this build lacks. */
static int
no_scheme(const char *url, const char *what, int rv, char *err, size_t cap)
{
	if (rv == NNG_ENOTSUP && pc_tls_url(url)) {
		snprintf(err, cap, "cannot %s %s: TLS is not supported in this build", what, url);
		return PC_ENOTSUP;
	}
	snprintf(err, cap, "cannot %s %s: %s", what, url, nng_strerror(rv));
	return PC_EADDR;
}

int
pc_url_with_port(const char *url, unsigned port, char *out)
{
	nng_url *u;
	bool     v6;
	int      n;

	if (nng_url_parse(&u, url) != 0) {
		return PC_EADDR;
	}
	v6 = strchr(u->u_hostname, ':') != NULL;
	n = snprintf(out, PC_URL_MAX, "%s://%s%s%s:%u%s", u->u_scheme, v6 ? "[" : "", u->u_hostname,
	             v6 ? "]" : "", port, u->u_requri);
	nng_url_free(u);
	return n > 0 && n < PC_URL_MAX ? PC_OK : PC_EADDR;
}

/* The URL l is bound to: url itself, but with the port the OS chose for a
 * tcp:// or tls+tcp:// listener. */
static void
bound_url(nng_listener l, const char *url, char *bound)
{
	int port;

	if (nng_listener_get_int(l, NNG_OPT_TCP_BOUND_PORT, &port) != 0 ||
	    pc_url_with_port(url, (unsigned)port, bound) != PC_OK) {
		snprintf(bound, PC_URL_MAX, "%s", url);
	}
}

int
pc_listen(nng_socket s, const char *url, int ipc_mode, const pc_tls *tls, char *bound, char *err,
          size_t cap)
{
	nng_listener    l;
	nng_tls_config *cfg;
	int             rv;

	if ((rv = nng_listener_create(&l, s, url)) != 0) {
		return no_scheme(url, "listen on", rv, err, cap);
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
	if (pc_tls_url(url)) {
		if ((rv = pc_tls_config(tls, true, url, &cfg, err, cap)) != PC_OK) {
			nng_listener_close(l);
			return rv;
		}
		/* The listener keeps its own hold on the config. */
		rv = nng_listener_set_ptr(l, NNG_OPT_TLS_CONFIG, cfg);
		nng_tls_config_free(cfg);
		if (rv != 0) {
			nng_listener_close(l);
			snprintf(err, cap, "cannot set TLS on %s: %s", url, nng_strerror(rv));
			return pc_nng_err(rv);
		}
	}
	if ((rv = nng_listener_start(l, 0)) != 0) {
		nng_listener_close(l);
		snprintf(err, cap, "cannot listen on %s: %s", url, nng_strerror(rv));
		return PC_EADDR;
	}
	if (bound != NULL) {
		bound_url(l, url, bound);
	}
	return PC_OK;
}

int
pc_dial(nng_socket s, const char *url, const pc_tls *tls, char *err, size_t cap)
{
	nng_dialer      d;
	nng_tls_config *cfg;
	int             rv;

	if ((rv = nng_dialer_create(&d, s, url)) != 0) {
		return no_scheme(url, "dial", rv, err, cap);
	}
	if (pc_tls_url(url)) {
		if ((rv = pc_tls_config(tls, false, url, &cfg, err, cap)) != PC_OK) {
			nng_dialer_close(d);
			return rv;
		}
		rv = nng_dialer_set_ptr(d, NNG_OPT_TLS_CONFIG, cfg);
		nng_tls_config_free(cfg);
		/* NNG redials up to 20 times a second by default; a refused
		 * handshake fails the same way every time and costs the server
		 * public-key work, so back off, doubling up to the cap. */
		if (rv == 0) {
			rv = nng_dialer_set_ms(d, NNG_OPT_RECONNMAXT, PC_TLS_REDIAL_MAX_MS);
		}
		if (rv != 0) {
			nng_dialer_close(d);
			snprintf(err, cap, "cannot set TLS on %s: %s", url, nng_strerror(rv));
			return pc_nng_err(rv);
		}
	}
	/* Non-blocking: a peer that is down or not up yet is retried in the
	 * background. */
	if ((rv = nng_dialer_start(d, NNG_FLAG_NONBLOCK)) != 0) {
		nng_dialer_close(d);
		snprintf(err, cap, "cannot dial %s: %s", url, nng_strerror(rv));
		return PC_EADDR;
	}
	return PC_OK;
}
