/* pc_tls.c: building NNG TLS configs from certificate, key and CA files. */
#include "net/pc_tls.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/pc_err.h"

#define PEM_MAX (1u << 20) /* a certificate chain or a key is far smaller */

bool
pc_tls_url(const char *url)
{
	return strncmp(url, "tls+tcp://", 10) == 0 || strncmp(url, "tls+tcp4://", 11) == 0 ||
	       strncmp(url, "tls+tcp6://", 11) == 0;
}

/* The whole of a PEM file, NUL-terminated as Mbed TLS wants it. */
static int
read_pem(const char *path, char **out)
{
	FILE  *f = fopen(path, "rb");
	char  *buf;
	size_t n;
	int    rv;

	if (f == NULL) {
		return PC_ENOENT;
	}
	if ((buf = malloc(PEM_MAX + 1)) == NULL) {
		fclose(f);
		return PC_ENOMEM;
	}
	n  = fread(buf, 1, PEM_MAX + 1, f);
	rv = ferror(f) ? PC_ESYS : n > PEM_MAX ? PC_ETOOBIG : PC_OK;
	fclose(f);
	if (rv != PC_OK) {
		free(buf);
		return rv;
	}
	buf[n] = '\0';
	*out   = buf;
	return PC_OK;
}

static int
own_cert(nng_tls_config *cfg, const pc_tls *t, char *err, size_t cap)
{
	char *cert = NULL, *key = NULL;
	int   rv;

	if ((rv = read_pem(t->cert, &cert)) != PC_OK) {
		snprintf(err, cap, "cannot read certificate %s: %s", t->cert, pc_strerror(rv));
	} else if ((rv = read_pem(t->key, &key)) != PC_OK) {
		snprintf(err, cap, "cannot read key %s: %s", t->key, pc_strerror(rv));
	} else if ((rv = nng_tls_config_own_cert(cfg, cert, key, NULL)) != 0) {
		snprintf(err, cap, "certificate %s with key %s: %s", t->cert, t->key,
		         nng_strerror(rv));
		rv = PC_EINVAL;
	}
	free(cert);
	free(key);
	return rv;
}

static int
ca_chain(nng_tls_config *cfg, const char *path, char *err, size_t cap)
{
	char *pem = NULL;
	int   rv;

	if ((rv = read_pem(path, &pem)) != PC_OK) {
		snprintf(err, cap, "cannot read CA file %s: %s", path, pc_strerror(rv));
	} else if ((rv = nng_tls_config_ca_chain(cfg, pem, NULL)) != 0) {
		snprintf(err, cap, "CA file %s: %s", path, nng_strerror(rv));
		rv = PC_EINVAL;
	}
	free(pem);
	return rv;
}

/* What a side needs, checked before NNG sees any file, so the message names
 * the missing option rather than a parse error. */
static int
check(const pc_tls *t, bool server, const char *url, char *err, size_t cap)
{
	if ((t->cert == NULL) != (t->key == NULL)) {
		snprintf(err, cap, "%s: --tls-cert and --tls-key go together", url);
		return PC_EINVAL;
	}
	if (server && t->cert == NULL) {
		snprintf(err, cap, "cannot listen on %s: TLS needs --tls-cert and --tls-key", url);
		return PC_EINVAL;
	}
	if (t->ca == NULL && (!server || t->client_auth)) {
		snprintf(err, cap, "%s: TLS needs --tls-ca to verify the %s", url,
		         server ? "clients' certificates" : "server's certificate");
		return PC_EINVAL;
	}
	return PC_OK;
}

static int
server_name(nng_tls_config *cfg, const pc_tls *t, const char *url, char *err, size_t cap)
{
	nng_url *u = NULL;
	int      rv;

	if (t->server_name != NULL) {
		rv = nng_tls_config_server_name(cfg, t->server_name);
	} else if ((rv = nng_url_parse(&u, url)) == 0) {
		rv = nng_tls_config_server_name(cfg, u->u_hostname);
		nng_url_free(u);
	}
	if (rv != 0) {
		snprintf(err, cap, "%s: server name: %s", url, nng_strerror(rv));
		return PC_EINVAL;
	}
	return PC_OK;
}

int
pc_tls_config(const pc_tls *t, bool server, const char *url, nng_tls_config **out, char *err,
              size_t cap)
{
	static const pc_tls none = { 0 };
	nng_tls_config     *cfg;
	nng_tls_auth_mode   mode;
	int                 rv;

	t = t != NULL ? t : &none;
	if ((rv = check(t, server, url, err, cap)) != PC_OK) {
		return rv;
	}
	rv = nng_tls_config_alloc(&cfg, server ? NNG_TLS_MODE_SERVER : NNG_TLS_MODE_CLIENT);
	if (rv == NNG_ENOTSUP) {
		snprintf(err, cap, "%s: TLS is not supported in this build", url);
		return PC_ENOTSUP;
	}
	if (rv != 0) {
		snprintf(err, cap, "%s: TLS: %s", url, nng_strerror(rv));
		return PC_ENOMEM;
	}
	mode = server && !t->client_auth ? NNG_TLS_AUTH_MODE_NONE : NNG_TLS_AUTH_MODE_REQUIRED;
	if ((rv = nng_tls_config_auth_mode(cfg, mode)) != 0) {
		snprintf(err, cap, "%s: TLS: %s", url, nng_strerror(rv));
		rv = PC_EINVAL;
	}
	if (rv == PC_OK && t->ca != NULL) {
		rv = ca_chain(cfg, t->ca, err, cap);
	}
	if (rv == PC_OK && t->cert != NULL) {
		rv = own_cert(cfg, t, err, cap);
	}
	if (rv == PC_OK && !server) {
		rv = server_name(cfg, t, url, err, cap);
	}
	if (rv != PC_OK) {
		nng_tls_config_free(cfg);
		return rv;
	}
	*out = cfg;
	return PC_OK;
}
