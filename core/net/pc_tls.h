/* pc_tls.h: TLS for tls+tcp:// sockets: the certificate a side presents,
 * the CA it trusts, and whether a listener demands client certificates.
 *
 * One pc_tls serves every socket of a binary. A listener needs a
 * certificate and its key; with client_auth it also needs the CA, and
 * refuses a client whose certificate does not chain to it. A dialer always
 * verifies the server against the CA (there is no unverified mode: a
 * stream of process data to an unknown server is what TLS is here to
 * stop), and presents its own certificate when it has one. Files are PEM;
 * keys are not encrypted. URLs of other schemes ignore all of this. */
#ifndef PC_TLS_H
#define PC_TLS_H

#include <stdbool.h>
#include <stddef.h>

#include <nng/nng.h>
#include <nng/supplemental/tls/tls.h>

typedef struct pc_tls {
	const char *ca;          /* CA certificates a peer must chain to */
	const char *cert;        /* the certificate this side presents */
	const char *key;         /* its private key */
	const char *server_name; /* dialing: the name the server's certificate
	                          * must carry; NULL: the URL's host */
	bool client_auth;        /* listening: refuse clients without a
	                          * certificate from ca (mutual TLS) */
} pc_tls;

/* tls+tcp://, tls+tcp4:// or tls+tcp6://. */
bool pc_tls_url(const char *url);

/* A TLS config for a listener (server true) or a dialer on url, from t
 * (NULL: no files). On failure err says what is missing or wrong, for the
 * caller to print; returns a pc_err code (PC_ENOTSUP: this build's NNG has
 * no TLS). The caller frees *out with nng_tls_config_free. */
int pc_tls_config(const pc_tls *t, bool server, const char *url, nng_tls_config **out, char *err,
                  size_t cap);

#endif
