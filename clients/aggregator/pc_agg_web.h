/* pc_agg_web.h: what the aggregator's HTTP server answers: /metrics, the
 * web page and its assets (compiled into the binary), and the JSON API
 * under /api/ (docs/PROTOCOL.md §9). */
#ifndef PC_AGG_WEB_H
#define PC_AGG_WEB_H

#include <stddef.h>

#include "pc_agg.h"
#include "pc_agg_http.h"

/* A file of the page, generated at build time (cmake/pc_embed.cmake). */
typedef struct pc_web_asset {
	const char          *path; /* "/", "/app.js", ... */
	const char          *type; /* Content-Type */
	const unsigned char *data;
	size_t               len;
} pc_web_asset;

extern const pc_web_asset pc_web_assets[];
extern const size_t       pc_web_n_assets; /* 0: built without the page */

/* How long an API answer is shared by the requests that ask the same (a
 * few open pages polling the same view cost one pass over the fleet): the
 * processes well under an agent's tick, so that a change shows within two;
 * the hosts and the feed, which a page polls every 2 s, for a second (a
 * host's liveness is judged over three ticks anyway). */
#define PC_WEB_CACHE_MS      250
#define PC_WEB_CACHE_SLOW_MS 1000
#define PC_WEB_CACHE_N       16
/* API answers computed at once, at most; more get 503 at once. A search
 * holds the aggregator's lock for its pass, and a history query a
 * connection slot for its store's answer: a flood of them must neither
 * stall ingestion nor take every slot from /metrics. */
#define PC_WEB_API_MAX 4

/* The cache of API answers, one an aggregator. */
int  pc_web_cache_open(pc_web_cache **out);
void pc_web_cache_close(pc_web_cache *c);

/* The handler of the aggregator's HTTP server; arg is the pc_agg. */
void pc_agg_web(void *arg, const pc_http_req *req, pc_http_resp *resp);

/* The API's answer to one request (pc_agg_api.c), not cached. */
void pc_agg_api(pc_agg *g, const pc_http_req *req, pc_http_resp *resp);

#endif
