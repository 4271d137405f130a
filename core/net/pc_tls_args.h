/* pc_tls_args.h: the --tls-* options every binary takes, with their help,
 * so that the four command lines spell and explain them the same way. */
#ifndef PC_TLS_ARGS_H
#define PC_TLS_ARGS_H

#include <stdbool.h>

#include "net/pc_tls.h"

/* getopt_long codes, above those of any binary's own options. */
enum {
	PC_TLS_OPT_CA = 0x1000,
	PC_TLS_OPT_CERT,
	PC_TLS_OPT_KEY,
	PC_TLS_OPT_SERVER_NAME,
	PC_TLS_OPT_CLIENT_AUTH,
};

/* struct option entries (needs getopt.h): those of every binary, and the
 * one only a binary that listens takes. */
#define PC_TLS_OPTIONS                                                             \
	{ "tls-ca", required_argument, NULL, PC_TLS_OPT_CA },                      \
	        { "tls-cert", required_argument, NULL, PC_TLS_OPT_CERT },          \
	        { "tls-key", required_argument, NULL, PC_TLS_OPT_KEY },            \
	{                                                                          \
		"tls-server-name", required_argument, NULL, PC_TLS_OPT_SERVER_NAME \
	}
#define PC_TLS_LISTEN_OPTIONS                                                \
	{                                                                    \
		"tls-client-auth", no_argument, NULL, PC_TLS_OPT_CLIENT_AUTH \
	}

/* --help sections: for the clients, which only dial, and for the agent and
 * the aggregator, which listen and dial. */
#define PC_TLS_HELP_CLIENT                                                                \
	"TLS, for tls+tcp://HOST:PORT URLs (PEM files; the server is always verified):\n" \
	"  --tls-ca FILE      CA certificates the server's must chain to (required)\n"    \
	"  --tls-cert FILE    a client certificate, for servers that demand one\n"        \
	"  --tls-key FILE     its private key, unencrypted\n"                             \
	"  --tls-server-name NAME\n"                                                      \
	"                     the name the server's certificate must carry\n"             \
	"                     (default: the URL's host)\n"
#define PC_TLS_HELP_SERVER                                                                  \
	"TLS, for tls+tcp://HOST:PORT URLs (PEM files):\n"                                  \
	"  --tls-cert FILE    the certificate shown to clients (required to listen) and,\n" \
	"                     when dialing, to servers that demand one\n"                   \
	"  --tls-key FILE     its private key, unencrypted\n"                               \
	"  --tls-ca FILE      CA certificates peers must chain to: required to dial (the\n" \
	"                     server is always verified) and with --tls-client-auth\n"      \
	"  --tls-client-auth  listeners refuse clients without a certificate from\n"        \
	"                     --tls-ca (mutual TLS; default: any client may connect)\n"     \
	"  --tls-server-name NAME\n"                                                        \
	"                     when dialing, the name the server's certificate must\n"       \
	"                     carry (default: the URL's host)\n"

/* Takes getopt_long's code c and its argument into t; false when c is not
 * a TLS option. */
bool pc_tls_arg(pc_tls *t, int c, const char *arg);

#endif
