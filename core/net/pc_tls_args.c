/* pc_tls_args.c: the --tls-* options into a pc_tls. */
#include "net/pc_tls_args.h"

bool
pc_tls_arg(pc_tls *t, int c, const char *arg)
{
	switch (c) {
	case PC_TLS_OPT_CA:
		t->ca = arg;
		return true;
	case PC_TLS_OPT_CERT:
		t->cert = arg;
		return true;
	case PC_TLS_OPT_KEY:
		t->key = arg;
		return true;
	case PC_TLS_OPT_SERVER_NAME:
		t->server_name = arg;
		return true;
	case PC_TLS_OPT_CLIENT_AUTH:
		t->client_auth = true;
		return true;
	default:
		return false;
	}
}
