/* pc_agg_http.c: the HTTP server on NNG's stream listener, bounded. A
 * fixed pool of connection slots, each with its aio: a slot's callback
 * never frees its own aio, and stopping waits on each in turn. */
#include "pc_agg_http.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nng/supplemental/tls/tls.h>
#include <nng/supplemental/util/platform.h>

#include "base/pc_err.h"
#include "net/pc_net.h"
#include "platform/pc_platform.h"

typedef struct slot {
	struct pc_http *srv;
	nng_stream     *s; /* NULL: free */
	nng_aio        *aio;
	bool            sending;
	nng_time        deadline;
	uint64_t        since; /* accepted, for the choice of whom to close */
	size_t          len, sent;
	char            head[PC_HTTP_HEAD_MAX];
	char            status[256]; /* the response's status line and headers */
	size_t          status_len;
	pc_buf          body;
} slot;

struct pc_http {
	pc_http_opts         o;
	char                 path[PC_URL_MAX];
	nng_stream_listener *l;
	nng_aio             *accept_aio, *sleep_aio;
	nng_mtx             *mtx;
	bool                 closed;
	nng_stream          *pending; /* accepted, waiting for a free slot */
	nng_duration         backoff;
	slot                *slots;
	size_t               n_slots;
};

static void slot_cb(void *arg);

static nng_duration
left_ms(nng_time deadline)
{
	nng_time now = nng_clock();

	return now >= deadline ? 0 : (nng_duration)(deadline - now);
}

/* The slot gives up its connection; the caller holds the lock. */
static void
release(slot *c)
{
	nng_stream_free(c->s);
	c->s = NULL;
	pc_buf_fini(&c->body);
}

static void
recv_more(slot *c)
{
	nng_iov      iov  = { c->head + c->len, sizeof(c->head) - 1 - c->len };
	nng_duration left = left_ms(c->deadline);

	if (left == 0) {
		release(c);
		return;
	}
	nng_aio_set_iov(c->aio, 1, &iov);
	nng_aio_set_timeout(c->aio, left);
	nng_stream_recv(c->s, c->aio);
}

static void
send_more(slot *c)
{
	nng_iov  iov[2];
	unsigned n = 0;

	if (c->sent < c->status_len) {
		iov[n++] = (nng_iov){ c->status + c->sent, c->status_len - c->sent };
		iov[n++] = (nng_iov){ c->body.data, c->body.len };
	} else {
		iov[n++] = (nng_iov){ c->body.data + (c->sent - c->status_len),
			              c->body.len - (c->sent - c->status_len) };
	}
	if (iov[n - 1].iov_len == 0) {
		n--; /* NNG refuses an empty iov */
	}
	nng_aio_set_iov(c->aio, n, iov);
	nng_aio_set_timeout(c->aio, left_ms(c->deadline));
	nng_stream_send(c->s, c->aio);
}

/* A slot takes a new connection; the caller holds the lock. */
static void
assign(pc_http *h, slot *c, nng_stream *s)
{
	c->s        = s;
	c->sending  = false;
	c->len      = 0;
	c->sent     = 0;
	c->since    = pc_clock_mono_us();
	c->deadline = nng_clock() + (nng_time)h->o.timeout_ms;
	recv_more(c);
}

/* FNV-1a of the body, as the ETag of a 200 answer: cheap next to writing
 * the body, and the same bytes always give the same tag. */
static void
etag_of(const pc_buf *b, char *out, size_t cap)
{
	uint64_t h = 14695981039346656037ull;

	for (size_t i = 0; i < b->len; i++) {
		h = (h ^ (unsigned char)b->data[i]) * 1099511628211ull;
	}
	snprintf(out, cap, "\"%016llx\"", (unsigned long long)h);
}

/* Sends the status line, headers and body; the caller holds the lock. */
static void
send_answer(slot *c, int status, const char *type, const char *cache, const char *etag)
{
	c->status_len =
	        (size_t)snprintf(c->status, sizeof(c->status),
	                         "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
	                         "Cache-Control: %s\r\n%s%s%sConnection: close\r\n\r\n",
	                         pc_http_status(status), type, c->body.len, cache,
	                         etag[0] ? "ETag: " : "", etag, etag[0] ? "\r\n" : "");
	c->sending  = true;
	c->deadline = nng_clock() + PC_HTTP_SEND_MS;
	send_more(c);
}

/* The request head is whole: the handler's answer, or an error status.
 * The handler runs outside the lock, so that other connections are
 * served meanwhile; the slot is not evictable while it does. */
static void
answer(slot *c)
{
	pc_http     *h    = c->srv;
	pc_http_resp resp = { .status = 200 };
	pc_http_req  req;
	char         etag[24] = "";
	int          st       = pc_http_parse(c->head, &req);

	if (st != 0) {
		send_answer(c, st, "text/plain", "no-store", "");
		return;
	}
	c->sending = true;
	nng_mtx_unlock(h->mtx);
	h->o.handler(h->o.arg, &req, &resp);
	nng_mtx_lock(h->mtx);
	c->body = resp.body;
	if (h->closed) {
		release(c);
		return;
	}
	if (c->body.err != PC_OK) {
		pc_buf_reset(&c->body);
		resp.status = 500;
	}
	if (resp.status == 200) {
		etag_of(&c->body, etag, sizeof(etag));
		if (strcmp(etag, req.if_none_match) == 0) {
			pc_buf_reset(&c->body);
			resp.status = 304;
		}
	}
	send_answer(c, resp.status, resp.type ? resp.type : "text/plain",
	            resp.cache ? resp.cache : "no-cache", etag);
}

static void
received(slot *c)
{
	c->len += nng_aio_count(c->aio);
	c->head[c->len] = '\0';
	if (strstr(c->head, "\r\n\r\n") != NULL || strstr(c->head, "\n\n") != NULL) {
		answer(c);
	} else if (c->len == sizeof(c->head) - 1) {
		send_answer(c, 431, "text/plain", "no-store", "");
	} else {
		recv_more(c);
	}
}

static void
slot_cb(void *arg)
{
	slot    *c = arg;
	pc_http *h = c->srv;

	nng_mtx_lock(h->mtx);
	if (nng_aio_result(c->aio) != 0 || h->closed) {
		release(c); /* timed out, closed by the peer, evicted, or stopping */
	} else if (!c->sending) {
		received(c);
	} else if ((c->sent += nng_aio_count(c->aio)) < c->status_len + c->body.len) {
		send_more(c);
	} else {
		release(c);
	}
	if (c->s == NULL && h->pending != NULL && !h->closed) {
		nng_stream *s = h->pending;
		h->pending    = NULL;
		assign(h, c, s);
		nng_stream_listener_accept(h->l, h->accept_aio);
	}
	nng_mtx_unlock(h->mtx);
}

/* A free slot, or NULL after closing the connection that has waited
 * longest for its request: an idle flood then cannot lock out a scraper,
 * whose request comes at once. */
static slot *
free_slot(pc_http *h)
{
	slot *oldest = NULL;

	for (size_t i = 0; i < h->n_slots; i++) {
		slot *c = &h->slots[i];
		if (c->s == NULL) {
			return c;
		}
		if (!c->sending && (oldest == NULL || c->since < oldest->since)) {
			oldest = c;
		}
	}
	if (oldest != NULL) {
		nng_stream_close(oldest->s); /* its callback frees the slot */
	}
	return NULL;
}

static void
accept_cb(void *arg)
{
	pc_http *h  = arg;
	int      rv = nng_aio_result(h->accept_aio);
	slot    *c;

	nng_mtx_lock(h->mtx);
	if (rv == 0 && h->closed) {
		nng_stream_free(nng_aio_get_output(h->accept_aio, 0));
	} else if (rv == NNG_ECLOSED || h->closed) {
	} else if (rv != 0) {
		/* Out of fds, most likely: the listener stays readable, so
		 * retrying at once would spin. */
		nng_sleep_aio(h->backoff, h->sleep_aio);
		h->backoff = h->backoff * 2 > PC_HTTP_BACKOFF_MAX_MS ? PC_HTTP_BACKOFF_MAX_MS
		                                                     : h->backoff * 2;
	} else {
		nng_stream *s = nng_aio_get_output(h->accept_aio, 0);
		h->backoff    = PC_HTTP_BACKOFF_MIN_MS;
		if ((c = free_slot(h)) != NULL) {
			assign(h, c, s);
			nng_stream_listener_accept(h->l, h->accept_aio);
		} else {
			h->pending = s; /* accepting resumes once a slot frees */
		}
	}
	nng_mtx_unlock(h->mtx);
}

static void
sleep_cb(void *arg)
{
	pc_http *h = arg;

	nng_mtx_lock(h->mtx);
	if (!h->closed) {
		nng_stream_listener_accept(h->l, h->accept_aio);
	}
	nng_mtx_unlock(h->mtx);
}

/* http://HOST:PORT/PATH as the stream URL tcp://HOST:PORT (tls+tcp:// for
 * https), and the path. */
static int
stream_url(pc_http *h, const char *url, char *out, size_t cap, char *err, size_t ecap)
{
	nng_url *u;
	bool     tls;
	int      rv;

	if ((rv = nng_url_parse(&u, url)) != 0) {
		snprintf(err, ecap, "bad metrics URL %s: %s", url, nng_strerror(rv));
		return PC_EADDR;
	}
	tls = strcmp(u->u_scheme, "https") == 0;
	if (!tls && strcmp(u->u_scheme, "http") != 0) {
		snprintf(err, ecap, "metrics URL %s: not http:// or https://", url);
		nng_url_free(u);
		return PC_EADDR;
	}
	snprintf(out, cap, "%s://%s%s%s:%s", tls ? "tls+tcp" : "tcp",
	         strchr(u->u_hostname, ':') ? "[" : "", u->u_hostname,
	         strchr(u->u_hostname, ':') ? "]" : "", u->u_port);
	/* The metrics' path; none, or "/", which is the web page's. */
	snprintf(h->path, sizeof(h->path), "%s",
	         u->u_path[0] && strcmp(u->u_path, "/") != 0 ? u->u_path : "/metrics");
	nng_url_free(u);
	return PC_OK;
}

static int
listen_tls(pc_http *h, const char *url, char *err, size_t cap)
{
	nng_tls_config *cfg;
	int             rv;

	if ((rv = pc_tls_config(h->o.tls, true, url, &cfg, err, cap)) != PC_OK) {
		return rv;
	}
	rv = nng_stream_listener_set_ptr(h->l, NNG_OPT_TLS_CONFIG, cfg);
	nng_tls_config_free(cfg);
	if (rv != 0) {
		snprintf(err, cap, "metrics %s: %s", url, nng_strerror(rv));
		return PC_EADDR;
	}
	return PC_OK;
}

/* The cap, lowered to a quarter of the fd limit where there is one. */
static size_t
max_conns(const pc_http_opts *o)
{
	size_t n   = o->max_conns ? o->max_conns : PC_HTTP_MAX_CONNS;
	size_t fds = pc_fd_limit();

	if (fds > 0 && n > fds / 4) {
		n = fds / 4 > 0 ? fds / 4 : 1;
	}
	return n;
}

static int
setup(pc_http *h, const pc_http_opts *o, char *surl, char *err, size_t cap)
{
	int rv;

	h->o       = *o;
	h->backoff = PC_HTTP_BACKOFF_MIN_MS;
	if (h->o.timeout_ms <= 0) {
		h->o.timeout_ms = PC_HTTP_TIMEOUT_MS;
	}
	h->n_slots = max_conns(o);
	if ((rv = stream_url(h, o->url, surl, PC_URL_MAX, err, cap)) != PC_OK) {
		return rv;
	}
	if ((h->slots = calloc(h->n_slots, sizeof(*h->slots))) == NULL ||
	    nng_mtx_alloc(&h->mtx) != 0 || nng_aio_alloc(&h->accept_aio, accept_cb, h) != 0 ||
	    nng_aio_alloc(&h->sleep_aio, sleep_cb, h) != 0) {
		snprintf(err, cap, "metrics: out of memory");
		return PC_ENOMEM;
	}
	for (size_t i = 0; i < h->n_slots; i++) {
		h->slots[i].srv = h;
		if (nng_aio_alloc(&h->slots[i].aio, slot_cb, &h->slots[i]) != 0) {
			snprintf(err, cap, "metrics: out of memory");
			return PC_ENOMEM;
		}
	}
	return PC_OK;
}

int
pc_http_start(pc_http **out, const pc_http_opts *o, char *bound, char *err, size_t cap)
{
	pc_http *h = calloc(1, sizeof(*h));
	char     surl[PC_URL_MAX];
	int      rv, port;

	if ((*out = h) == NULL) {
		snprintf(err, cap, "metrics: out of memory");
		return PC_ENOMEM;
	}
	if ((rv = setup(h, o, surl, err, cap)) != PC_OK) {
		return rv;
	}
	if ((rv = nng_stream_listener_alloc(&h->l, surl)) != 0) {
		snprintf(err, cap, "metrics %s: %s", o->url, nng_strerror(rv));
		return PC_EADDR;
	}
	if (strncmp(surl, "tls+", 4) == 0 && (rv = listen_tls(h, o->url, err, cap)) != PC_OK) {
		return rv;
	}
	if ((rv = nng_stream_listener_listen(h->l)) != 0) {
		snprintf(err, cap, "cannot serve metrics on %s: %s", o->url, nng_strerror(rv));
		return PC_EADDR;
	}
	snprintf(bound, PC_URL_MAX, "%s", o->url);
	if (nng_stream_listener_get_int(h->l, NNG_OPT_TCP_BOUND_PORT, &port) == 0) {
		(void)pc_url_with_port(o->url, (unsigned)port, bound);
	}
	nng_stream_listener_accept(h->l, h->accept_aio);
	return PC_OK;
}

const char *
pc_http_path(const pc_http *h)
{
	return h->path;
}

void
pc_http_stop(pc_http *h)
{
	if (h == NULL) {
		return;
	}
	if (h->mtx != NULL) {
		nng_mtx_lock(h->mtx);
		h->closed = true;
		nng_mtx_unlock(h->mtx);
	}
	if (h->l != NULL) {
		nng_stream_listener_close(h->l);
	}
	if (h->accept_aio != NULL) {
		nng_aio_stop(h->accept_aio);
	}
	if (h->sleep_aio != NULL) {
		nng_aio_stop(h->sleep_aio);
	}
	for (size_t i = 0; h->slots != NULL && i < h->n_slots; i++) {
		if (h->slots[i].aio == NULL) {
			continue;
		}
		nng_aio_stop(h->slots[i].aio); /* its callback releases the slot */
		if (h->slots[i].s != NULL) {
			release(&h->slots[i]);
		}
		nng_aio_free(h->slots[i].aio);
	}
	if (h->pending != NULL) {
		nng_stream_free(h->pending);
	}
	nng_aio_free(h->accept_aio);
	nng_aio_free(h->sleep_aio);
	nng_stream_listener_free(h->l);
	if (h->mtx != NULL) {
		nng_mtx_free(h->mtx);
	}
	free(h->slots);
	free(h);
}
