/* pc_agg_http.h: the aggregator's HTTP server (/metrics, the web page and
 * its API) on NNG's stream listener with the bounds NNG 1.5.2's HTTP
 * server lacks: a deadline for each request, a cap on connections, and a
 * backoff when accept fails (that server retries at once, and spins while
 * the process is out of fds). One GET a connection, then it is closed.
 * Every 200 answer carries an ETag of its body, and a request that sends
 * it back in If-None-Match gets 304 without the body: a page that polls
 * downloads only headers while nothing changes. */
#ifndef PC_AGG_HTTP_H
#define PC_AGG_HTTP_H

#include <stddef.h>

#include <nng/nng.h>

#include "base/pc_buf.h"
#include "net/pc_tls.h"

/* Defaults of --metrics-timeout and --metrics-max-conns. A scraper sends
 * its request at once; a connection that has not within the timeout is
 * closed. The cap is lowered to a quarter of the fd limit, so that HTTP
 * alone cannot take every fd the agents' and the queries' sockets need. */
#define PC_HTTP_TIMEOUT_MS 5000
#define PC_HTTP_MAX_CONNS  32
/* How long a client may take to read a page once it is sent. */
#define PC_HTTP_SEND_MS 60000
/* The largest request head (request line and headers) read. */
#define PC_HTTP_HEAD_MAX 8192
/* Accept failures (out of fds) are retried after 10 ms, doubling to 1 s. */
#define PC_HTTP_BACKOFF_MIN_MS 10
#define PC_HTTP_BACKOFF_MAX_MS 1000

typedef struct pc_http pc_http;

/* A request as the handler sees it: the head parsed in place. */
typedef struct pc_http_req {
	const char *path;          /* as sent (percent-encoded), without the query */
	const char *query;         /* what follows '?', "" when none */
	const char *if_none_match; /* that header's value, "" when none */
} pc_http_req;

/* The handler's answer: status 200 unless it sets another, and its body
 * (empty on entry). */
typedef struct pc_http_resp {
	int         status;
	const char *type;  /* Content-Type; NULL: text/plain */
	const char *cache; /* Cache-Control; NULL: no-cache */
	pc_buf      body;
} pc_http_resp;

/* Answers one request; called on an NNG thread, concurrently for several
 * connections. A body with an error (pc_buf.err) is answered 500. */
typedef void (*pc_http_handler_fn)(void *arg, const pc_http_req *req, pc_http_resp *resp);

typedef struct pc_http_opts {
	const char        *url; /* http:// or https://; its path is pc_http_path()'s */
	const pc_tls      *tls; /* for https:// */
	nng_duration       timeout_ms;
	size_t             max_conns;
	pc_http_handler_fn handler;
	void              *arg;
} pc_http_opts;

/* Parses a whole request head (NUL-terminated, changed in place) into req:
 * 0, or the status it gets instead: 405 for a method but GET, 400 for what
 * is not an HTTP/1.x request line. */
int pc_http_parse(char *head, pc_http_req *req);

/* The value of parameter name in a query string ("a=1&b=x%20y"),
 * percent-decoded (and '+' as a space) into out: 1 when found, 0 when
 * absent (out ""), -1 when longer than cap - 1 bytes or holding a bad
 * escape or a NUL. */
int pc_http_param(const char *query, const char *name, char *out, size_t cap);

/* The text of a status code ("404 Not Found"). */
const char *pc_http_status(int status);

/* Listens on o->url; bound (PC_URL_MAX bytes) gets the URL as bound (port
 * 0: the OS's). On failure err says why. Returns a pc_err code. */
int  pc_http_start(pc_http **out, const pc_http_opts *o, char *bound, char *err, size_t cap);
void pc_http_stop(pc_http *h);
/* The path of the URL the server was started with ("/metrics"). */
const char *pc_http_path(const pc_http *h);

#endif
