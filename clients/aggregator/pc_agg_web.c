/* pc_agg_web.c: the aggregator's HTTP answers by path, and the short-lived
 * cache of API answers that open pages share. */
#include "pc_agg_web.h"

#include <stdlib.h>
#include <string.h>

#include "base/pc_err.h"
#include "platform/pc_platform.h"

typedef struct entry {
	char    *key; /* path?query; NULL: free */
	uint64_t at_ms;
	int      status;
	pc_buf   body;
} entry;

struct pc_web_cache {
	nng_mtx *mtx;
	entry    e[PC_WEB_CACHE_N];
	unsigned busy; /* API answers being computed */
};

/* A turn to compute an answer, of PC_WEB_API_MAX: false when none is free. */
static bool
take_turn(pc_web_cache *c, bool take)
{
	bool ok = true;

	nng_mtx_lock(c->mtx);
	if (!take) {
		c->busy--;
	} else if ((ok = c->busy < PC_WEB_API_MAX)) {
		c->busy++;
	}
	nng_mtx_unlock(c->mtx);
	return ok;
}

int
pc_web_cache_open(pc_web_cache **out)
{
	pc_web_cache *c = calloc(1, sizeof(*c));

	if (c == NULL || nng_mtx_alloc(&c->mtx) != 0) {
		free(c);
		return PC_ENOMEM;
	}
	*out = c;
	return PC_OK;
}

void
pc_web_cache_close(pc_web_cache *c)
{
	if (c == NULL) {
		return;
	}
	for (size_t i = 0; i < PC_WEB_CACHE_N; i++) {
		free(c->e[i].key);
		pc_buf_fini(&c->e[i].body);
	}
	nng_mtx_free(c->mtx);
	free(c);
}

/* A fresh answer to key into r: true when there was one. */
static bool
lookup(pc_web_cache *c, const char *key, uint64_t now, pc_http_resp *r)
{
	bool hit = false;

	uint64_t ttl = strncmp(key, "/api/hosts?", 11) == 0 || strncmp(key, "/api/events?", 12) == 0
	                       ? PC_WEB_CACHE_SLOW_MS
	                       : PC_WEB_CACHE_MS;

	nng_mtx_lock(c->mtx);
	for (size_t i = 0; i < PC_WEB_CACHE_N && !hit; i++) {
		entry *e = &c->e[i];
		if (e->key != NULL && now - e->at_ms < ttl && strcmp(e->key, key) == 0) {
			pc_buf_add(&r->body, e->body.data, e->body.len);
			r->status = e->status;
			hit       = true;
		}
	}
	nng_mtx_unlock(c->mtx);
	return hit;
}

/* Keeps r as the answer to key, in place of the oldest entry. */
static void
store(pc_web_cache *c, const char *key, uint64_t now, const pc_http_resp *r)
{
	entry *old;
	char  *k = pc_strdup(key);

	if (k == NULL || r->body.err != PC_OK) {
		free(k);
		return;
	}
	nng_mtx_lock(c->mtx);
	old = &c->e[0];
	for (size_t i = 1; i < PC_WEB_CACHE_N; i++) {
		if (c->e[i].key == NULL || c->e[i].at_ms < old->at_ms) {
			old = &c->e[i];
			if (old->key == NULL) {
				break;
			}
		}
	}
	free(old->key);
	old->key    = k;
	old->at_ms  = now;
	old->status = r->status;
	pc_buf_reset(&old->body);
	pc_buf_add(&old->body, r->body.data, r->body.len);
	nng_mtx_unlock(c->mtx);
}

static void
api(pc_agg *g, const pc_http_req *req, pc_http_resp *r)
{
	pc_buf   key = { 0 };
	uint64_t now = pc_clock_mono_us() / 1000;

	r->type = "application/json";
	pc_buf_printf(&key, "%s?%s", req->path, req->query);
	if (key.err != PC_OK) {
		r->body.err = key.err;
	} else if (lookup(g->web, key.data, now, r)) {
	} else if (!take_turn(g->web, true)) {
		r->status = 503;
		pc_buf_printf(&r->body, "{\"error\":\"busy: %d API requests at once; try again\"}",
		              PC_WEB_API_MAX);
	} else {
		pc_agg_api(g, req, r);
		take_turn(g->web, false);
		store(g->web, key.data, now, r);
	}
	pc_buf_fini(&key);
	if (r->body.err != PC_OK) { /* an error as JSON too, as §9 says */
		pc_buf_reset(&r->body);
		pc_buf_str(&r->body, "{\"error\":\"out of memory\"}");
		r->status = 500;
	}
}

void
pc_agg_web(void *arg, const pc_http_req *req, pc_http_resp *r)
{
	pc_agg *g = arg;

	if (strcmp(req->path, pc_http_path(g->http)) == 0) {
		r->type = "text/plain; version=0.0.4; charset=utf-8";
		pc_agg_metrics(g, &r->body);
		return;
	}
	if (g->opts.web && strncmp(req->path, "/api/", 5) == 0) {
		api(g, req, r);
		return;
	}
	for (size_t i = 0; g->opts.web && i < pc_web_n_assets; i++) {
		if (strcmp(req->path, pc_web_assets[i].path) == 0) {
			r->type = pc_web_assets[i].type;
			pc_buf_add(&r->body, pc_web_assets[i].data, pc_web_assets[i].len);
			return;
		}
	}
	r->status = 404;
	pc_buf_printf(&r->body, "not found: try %s%s\n", pc_http_path(g->http),
	              g->opts.web && pc_web_n_assets > 0 ? " or /" : "");
}
