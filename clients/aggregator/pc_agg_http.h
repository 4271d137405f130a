/* pc_agg_http.h: the aggregator's HTTP server for its one page, /metrics,
 * on NNG's stream listener with the bounds NNG 1.5.2's HTTP server lacks:
 * a deadline for each request, a cap on connections, and a backoff when
 * accept fails (that server retries at once, and spins while the process
 * is out of fds). One request a connection, then it is closed. */
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

/* Writes the page into out; called on an NNG thread, one call at a time
 * per connection. */
typedef void (*pc_http_page_fn)(void *arg, pc_buf *out);

typedef struct pc_http_opts {
	const char     *url; /* http:// or https://, with the page's path */
	const pc_tls   *tls; /* for https:// */
	nng_duration    timeout_ms;
	size_t          max_conns;
	pc_http_page_fn page;
	void           *arg;
} pc_http_opts;

/* The status a request head (NUL-terminated) gets: 200 for a GET of path
 * (with any query), 405 for another method, 404 for another path, 400 for
 * what is not an HTTP/1.x request line. */
int pc_http_route(const char *head, const char *path);

/* Listens on o->url; bound (PC_URL_MAX bytes) gets the URL as bound (port
 * 0: the OS's). On failure err says why. Returns a pc_err code. */
int  pc_http_start(pc_http **out, const pc_http_opts *o, char *bound, char *err, size_t cap);
void pc_http_stop(pc_http *h);

#endif
