/* pc_agg_api.c: the web page's JSON API under /api/ (docs/PROTOCOL.md §9):
 * hosts, the fleet's processes searched, sorted and paged, one process,
 * its history and the feed of starts and exits. The tables are read under
 * the aggregator's lock for one pass, and only the page asked for is
 * formatted; history goes through the RPC service, with its checks. */
#include "pc_agg_find.h"
#include "pc_agg_web.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/pc_err.h"
#include "base/pc_time.h"
#include "platform/pc_platform.h"
#include "rpc/pc_rpc.h"
#include "wire/pc_json.h"

#define LIMIT_DEFAULT 50u
#define LIMIT_MAX     500u
#define OFFSET_MAX    10000000u
#define FEED_DEFAULT  100u
#define FEED_LIMIT    1000u
#define PARAM_MAX     256 /* bytes of a parameter's value */

static void fail(pc_http_resp *r, int status, const char *fmt, ...) PC_PRINTF(3, 4);

static void
fail(pc_http_resp *r, int status, const char *fmt, ...)
{
	char    msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	pc_buf_reset(&r->body);
	pc_buf_str(&r->body, "{\"error\":");
	pc_json_str(&r->body, msg);
	pc_buf_str(&r->body, "}");
	r->status = status;
}

/* A parameter's value into out (PARAM_MAX bytes); false after answering
 * 400 for a bad one. */
static bool
param(const pc_http_req *req, const char *name, char *out, pc_http_resp *r)
{
	if (pc_http_param(req->query, name, out, PARAM_MAX) < 0) {
		fail(r, 400, "parameter '%s': longer than %d bytes or badly escaped", name,
		     PARAM_MAX - 1);
		return false;
	}
	return true;
}

/* A number parameter in [lo, hi], def when absent; false after a 400. */
static bool
number(const pc_http_req *req, const char *name, uint64_t lo, uint64_t hi, uint64_t def,
       uint64_t *out, pc_http_resp *r)
{
	char v[PARAM_MAX], *end;

	if (!param(req, name, v, r)) {
		return false;
	}
	errno = 0;
	if (v[0] == '\0') {
		*out = def;
		return true;
	}
	*out = strtoull(v, &end, 10);
	if (!isdigit((unsigned char)v[0]) || *end != '\0' || errno != 0 || *out < lo || *out > hi) {
		fail(r, 400, "parameter '%s': '%s' is not a number from %" PRIu64 " to %" PRIu64,
		     name, v, lo, hi);
		return false;
	}
	return true;
}

/* Whether the request names parameter name; false after a 400. */
static bool
needed(const pc_http_req *req, const char *name, pc_http_resp *r)
{
	char v[PARAM_MAX];

	if (pc_http_param(req->query, name, v, sizeof(v)) != 1 || v[0] == '\0') {
		fail(r, 400, "parameter '%s' is needed", name);
		return false;
	}
	return true;
}

/* One record, with its host and rates: pc_json_proc()'s object with the
 * extra keys before its closing brace. */
static void
record(pc_buf *b, const pc_agg_host *h, const pc_proc *p)
{
	double cpu, io;

	pc_replica_rates(h->rep, p, &cpu, &io);
	pc_json_proc(b, p, PC_MASK_ALL);
	if (b->err == PC_OK && b->len > 0) {
		b->len--; /* the '}' */
	}
	pc_buf_str(b, ",\"host\":");
	pc_json_str(b, h->name);
	pc_buf_printf(b, ",\"cpu_pct\":%.2f,\"io_bps\":%.1f}", cpu, io);
}

/* ---- /api/hosts ---- */

static int
by_host_name(const void *a, const void *b)
{
	return strcmp((*(pc_agg_host *const *)a)->name, (*(pc_agg_host *const *)b)->name);
}

static void
hosts_json(pc_agg *g, pc_buf *b)
{
	pc_agg_host **sorted = malloc((g->n_hosts + 1) * sizeof(*sorted));
	uint64_t      now    = pc_clock_mono_us();

	if (sorted == NULL) {
		b->err = PC_ENOMEM;
		return;
	}
	if (g->n_hosts > 0) { /* g->hosts is NULL before the first */
		memcpy(sorted, g->hosts, g->n_hosts * sizeof(*sorted));
	}
	qsort(sorted, g->n_hosts, sizeof(*sorted), by_host_name);
	pc_buf_str(b, "{\"hosts\":[");
	for (size_t i = 0; i < g->n_hosts; i++) {
		pc_agg_host *h = sorted[i];
		double       cpu;
		uint64_t     rss;
		cpu = pc_replica_cpu_sum(h->rep); /* kept by the replica: no pass */
		rss = pc_replica_rss_sum(h->rep);
		pc_buf_str(b, i ? ",{\"host\":" : "{\"host\":");
		pc_json_str(b, h->name);
		pc_buf_printf(
		        b,
		        ",\"up\":%s,\"synced\":%s,\"processes\":%zu,\"cpu_pct\":%.1f,"
		        "\"rss_bytes\":%" PRIu64 ",\"interval_ms\":%" PRIu32 ",\"gaps\":%" PRIu64,
		        h->up ? "true" : "false", pc_replica_synced(h->rep) ? "true" : "false",
		        pc_replica_count(h->rep), cpu, rss, pc_replica_interval_ms(h->rep),
		        h->gaps);
		/* Only a host that is down says when it was last heard: what an
		 * up host shows does not change every tick, so a page polling
		 * an idle fleet is answered 304. */
		if (!h->up) {
			pc_buf_printf(b, ",\"last_update_ms\":%" PRIu64 ",\"silent_ms\":%" PRIu64,
			              pc_replica_time_ms(h->rep), (now - h->heard_us) / 1000);
		}
		pc_buf_str(b, "}");
	}
	free(sorted);
	pc_buf_str(b, "],\"history\":");
	if (g->hist == NULL) {
		pc_buf_str(b, "null}");
		return;
	}
	pc_hist_stats st;
	pc_hist_stats_get(g->hist, &st);
	pc_buf_str(b, "{\"store\":");
	pc_json_str(b, g->opts.history.url);
	pc_buf_printf(b,
	              ",\"up\":%s,\"rows_written\":%" PRIu64 ",\"rows_queued\":%" PRIu64
	              ",\"rows_dropped\":%" PRIu64 ",\"last_error\":",
	              st.up ? "true" : "false", st.rows_written, st.rows_queued, st.rows_dropped);
	pc_json_str(b, g->hist_err);
	pc_buf_str(b, "}}");
}

/* ---- /api/processes ---- */

static bool
find_of(const pc_http_req *req, pc_find *f, char *q, char *host, pc_http_resp *r)
{
	char     sort[PARAM_MAX], order[PARAM_MAX];
	uint64_t offset, limit;
	int      i;

	if (!param(req, "q", q, r) || !param(req, "host", host, r) ||
	    !param(req, "sort", sort, r) || !param(req, "order", order, r) ||
	    !number(req, "offset", 0, OFFSET_MAX, 0, &offset, r) ||
	    !number(req, "limit", 1, LIMIT_MAX, LIMIT_DEFAULT, &limit, r)) {
		return false;
	}
	for (i = 0; i < PC_FIND_N_BY && strcmp(sort, pc_find_by_names[i]) != 0; i++) {
	}
	if (sort[0] != '\0' && i == PC_FIND_N_BY) {
		fail(r, 400, "parameter 'sort': '%s' is not cpu, rss, io, start, name, pid or host",
		     sort);
		return false;
	}
	f->by   = sort[0] != '\0' ? (pc_find_by)i : PC_FIND_CPU;
	f->desc = f->by <= PC_FIND_START; /* numbers: the most first; names: a to z */
	if (strcmp(order, "asc") == 0 || strcmp(order, "desc") == 0) {
		f->desc = order[0] == 'd';
	} else if (order[0] != '\0') {
		fail(r, 400, "parameter 'order': '%s' is not asc or desc", order);
		return false;
	}
	for (char *c = q; *c != '\0'; c++) {
		*c = (char)tolower((unsigned char)*c);
	}
	f->q      = q;
	f->host   = host[0] != '\0' ? host : NULL;
	f->offset = (size_t)offset;
	f->limit  = (size_t)limit;
	return true;
}

static void
processes(pc_agg *g, const pc_http_req *req, pc_http_resp *r)
{
	pc_find      f;
	pc_find_hit *hits;
	char         q[PARAM_MAX], host[PARAM_MAX];
	uint64_t     total;
	size_t       n;

	if (!find_of(req, &f, q, host, r)) {
		return;
	}
	nng_mtx_lock(g->lock);
	if (f.host != NULL && pc_agg_host_named(g, f.host) == NULL) {
		nng_mtx_unlock(g->lock);
		fail(r, 404, "no host '%.64s'", f.host);
		return;
	}
	if (pc_find_run(g, &f, &hits, &n, &total) != PC_OK) {
		nng_mtx_unlock(g->lock);
		r->body.err = PC_ENOMEM;
		return;
	}
	pc_buf_printf(&r->body,
	              "{\"total\":%" PRIu64 ",\"offset\":%zu,\"limit\":%zu,\"sort\":\"%s\","
	              "\"order\":\"%s\",\"processes\":[",
	              total, f.offset, f.limit, pc_find_by_names[f.by], f.desc ? "desc" : "asc");
	for (size_t i = 0; i < n; i++) {
		if (i > 0) {
			pc_buf_str(&r->body, ",");
		}
		record(&r->body, hits[i].h, hits[i].p);
	}
	nng_mtx_unlock(g->lock);
	free(hits);
	pc_buf_str(&r->body, "]}");
}

/* ---- /api/process ---- */

static void
process(pc_agg *g, const pc_http_req *req, pc_http_resp *r)
{
	char           host[PARAM_MAX];
	uint64_t       pid;
	pc_agg_host   *h;
	const pc_proc *p;

	if (!param(req, "host", host, r) || !needed(req, "pid", r) ||
	    !number(req, "pid", 0, UINT32_MAX, 0, &pid, r)) {
		return;
	}
	if (host[0] == '\0') {
		fail(r, 400, "parameter 'host' is needed");
		return;
	}
	nng_mtx_lock(g->lock);
	if ((h = pc_agg_host_named(g, host)) == NULL) {
		nng_mtx_unlock(g->lock);
		fail(r, 404, "no host '%.64s'", host);
		return;
	}
	if ((p = pc_replica_get(h->rep, (uint32_t)pid)) == NULL) {
		nng_mtx_unlock(g->lock);
		fail(r, 404, "no process %" PRIu64 " on host '%.64s'", pid, host);
		return;
	}
	pc_buf_str(&r->body, "{\"host\":");
	pc_json_str(&r->body, h->name);
	pc_buf_str(&r->body, ",\"process\":");
	record(&r->body, h, p);
	pc_buf_str(&r->body, "}");
	nng_mtx_unlock(g->lock);
}

/* ---- /api/history: the History method of the service ---- */

static int
http_status_of(int rpc_status)
{
	switch (rpc_status) {
	case PIDCAST__STATUS_CODE__INVALID_ARGUMENT:
		return 400;
	case PIDCAST__STATUS_CODE__NOT_FOUND:
		return 404;
	case PIDCAST__STATUS_CODE__UNAVAILABLE:
	case PIDCAST__STATUS_CODE__UNIMPLEMENTED:
		return 503;
	default:
		return 500;
	}
}

/* Calls method of the aggregator's service as a peer would, so that the
 * API has the RPC's checks and limits; the reply, or NULL after answering
 * the error. */
static ProtobufCMessage *
call(pc_agg *g, const char *method, const ProtobufCMessage *in,
     const ProtobufCMessageDescriptor *out_desc, pc_http_resp *r)
{
	Pidcast__Request  rq  = PIDCAST__REQUEST__INIT;
	Pidcast__Reply   *rep = NULL;
	ProtobufCMessage *out = NULL;
	pc_buf            req = { 0 }, reply = { 0 };

	rq.method       = (char *)method;
	rq.has_payload  = 1;
	rq.payload.len  = protobuf_c_message_get_packed_size(in);
	rq.payload.data = malloc(rq.payload.len + 1);
	if (rq.payload.data == NULL ||
	    pc_buf_reserve(&req, pidcast__request__get_packed_size(&rq)) != PC_OK) {
		r->body.err = PC_ENOMEM;
		goto done;
	}
	protobuf_c_message_pack(in, rq.payload.data);
	req.len = pidcast__request__pack(&rq, (uint8_t *)req.data);
	pc_rpc_serve(pc_service_base(g->svc), req.data, req.len, &reply);
	if ((rep = pidcast__reply__unpack(NULL, reply.len, (const uint8_t *)reply.data)) == NULL) {
		r->body.err = PC_ENOMEM;
	} else if (rep->status != PIDCAST__STATUS_CODE__OK) {
		fail(r, http_status_of(rep->status), "%s", rep->message ? rep->message : "failed");
	} else if ((out = protobuf_c_message_unpack(out_desc, NULL, rep->payload.len,
	                                            rep->payload.data)) == NULL) {
		r->body.err = PC_ENOMEM;
	}
done:
	free(rq.payload.data);
	pc_buf_fini(&req);
	pc_buf_fini(&reply);
	if (rep != NULL) {
		pidcast__reply__free_unpacked(rep, NULL);
	}
	return out;
}

/* A time parameter (ISO 8601 or an age) in Unix ms, 0 when absent; false
 * after a 400. */
static bool
moment(const pc_http_req *req, const char *name, uint64_t now, uint64_t *out, pc_http_resp *r)
{
	char v[PARAM_MAX], why[128];

	*out = 0;
	if (!param(req, name, v, r)) {
		return false;
	}
	if (v[0] != '\0' && pc_time_parse(v, now, out, why, sizeof(why)) != 0) {
		fail(r, 400, "parameter '%s': %s", name, why);
		return false;
	}
	return true;
}

static void
samples_json(const Pidcast__HistoryReply *h, pc_buf *b)
{
	pc_buf_str(b, "{\"host\":");
	pc_json_str(b, h->host);
	pc_buf_printf(b, ",\"pid\":%" PRIu32 ",\"name\":", h->pid);
	pc_json_str(b, h->name);
	pc_buf_printf(b, ",\"truncated\":%s,\"samples\":[", h->truncated ? "true" : "false");
	for (size_t i = 0; i < h->n_samples; i++) {
		const Pidcast__HistorySample *s = h->samples[i];
		pc_buf_printf(b,
		              "%s{\"time_ms\":%" PRIu64 ",\"create_time_ms\":%" PRIu64
		              ",\"rss_bytes\":%" PRIu64 ",\"threads\":%" PRIu32,
		              i ? "," : "", s->time_ms, s->create_time_ms, s->rss_bytes,
		              s->threads);
		if (s->has_cpu_percent) {
			pc_buf_printf(b, ",\"cpu_pct\":%.2f", s->cpu_percent);
		}
		if (s->has_io_read_bytes_per_sec) {
			pc_buf_printf(b, ",\"io_read_bps\":%.1f,\"io_write_bps\":%.1f",
			              s->io_read_bytes_per_sec, s->io_write_bytes_per_sec);
		}
		pc_buf_str(b, "}");
	}
	pc_buf_str(b, "]}");
}

static void
history(pc_agg *g, const pc_http_req *req, pc_http_resp *r)
{
	Pidcast__HistoryRequest in = PIDCAST__HISTORY_REQUEST__INIT;
	Pidcast__HistoryReply  *out;
	char                    host[PARAM_MAX];
	uint64_t                pid, now = pc_clock_realtime_ms();

	if (!param(req, "host", host, r) || !needed(req, "pid", r) ||
	    !number(req, "pid", 0, UINT32_MAX, 0, &pid, r) ||
	    !moment(req, "since", now, &in.since_ms, r) ||
	    !moment(req, "until", now, &in.until_ms, r)) {
		return;
	}
	if (g->hist == NULL) {
		fail(r, 503, "no history store (the aggregator runs with --history none)");
		return;
	}
	in.has_pid      = 1;
	in.pid          = (uint32_t)pid;
	in.host         = host[0] != '\0' ? host : NULL;
	in.has_since_ms = in.since_ms != 0;
	in.has_until_ms = in.until_ms != 0;
	out             = (Pidcast__HistoryReply *)call(g, "History", &in.base,
	                                                &pidcast__history_reply__descriptor, r);
	if (out != NULL) {
		samples_json(out, &r->body);
		pidcast__history_reply__free_unpacked(out, NULL);
	}
}

/* ---- /api/events ---- */

static void
events(pc_agg *g, const pc_http_req *req, pc_http_resp *r)
{
	uint64_t after, limit;

	if (!number(req, "after", 0, UINT64_MAX, 0, &after, r) ||
	    !number(req, "limit", 1, FEED_LIMIT, FEED_DEFAULT, &limit, r)) {
		return;
	}
	nng_mtx_lock(g->lock);
	pc_feed_json(&g->feed, after, (size_t)limit, &r->body);
	nng_mtx_unlock(g->lock);
}

void
pc_agg_api(pc_agg *g, const pc_http_req *req, pc_http_resp *r)
{
	const char *m = req->path + strlen("/api/");

	r->type = "application/json";
	if (strcmp(m, "hosts") == 0) {
		nng_mtx_lock(g->lock);
		hosts_json(g, &r->body);
		nng_mtx_unlock(g->lock);
	} else if (strcmp(m, "processes") == 0) {
		processes(g, req, r);
	} else if (strcmp(m, "process") == 0) {
		process(g, req, r);
	} else if (strcmp(m, "history") == 0) {
		history(g, req, r);
	} else if (strcmp(m, "events") == 0) {
		events(g, req, r);
	} else {
		fail(r, 404, "no API '%.64s' (hosts, processes, process, history, events)", m);
	}
}
