/* pc_hist_query.c: the History, Events and TopAt methods: requests checked
 * and defaulted, asked of the store, rates computed between samples. */
#include "pc_hist.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/pc_err.h"
#include "base/pc_time.h"
#include "base/pc_utf8.h"
#include "platform/pc_platform.h"
#include "rpc/pc_rpc.h"

#define LIMIT_DEFAULT 10000u
#define LIMIT_MAX     100000u
#define TOP_DEFAULT   10u
#define TOP_MAX       1000u
#define SPAN_DEFAULT  3600000u /* a range without a start: the hour before its end */

enum {
	BAD         = PIDCAST__STATUS_CODE__INVALID_ARGUMENT,
	NOT_FOUND   = PIDCAST__STATUS_CODE__NOT_FOUND,
	UNAVAILABLE = PIDCAST__STATUS_CODE__UNAVAILABLE,
	EXHAUSTED   = PIDCAST__STATUS_CODE__RESOURCE_EXHAUSTED,
};

void *
pc_hist_append(void ***arr, size_t *n, size_t size, const void *init)
{
	void *m;

	/* Capacity is the next power of two: grown when n reaches one. */
	if ((*n & (*n - 1)) == 0) {
		void **grown = realloc(*arr, (*n ? *n * 2 : 8) * sizeof(*grown));
		if (grown == NULL) {
			return NULL;
		}
		*arr = grown;
	}
	if ((m = malloc(size)) == NULL) {
		return NULL;
	}
	memcpy(m, init, size);
	(*arr)[(*n)++] = m;
	return m;
}

void
pc_hist_samples_free(Pidcast__HistoryReply *r)
{
	for (size_t i = 0; i < r->n_samples; i++) {
		free(r->samples[i]);
	}
	free(r->samples);
	free(r->host);
	free(r->name);
}

void
pc_hist_events_free(Pidcast__EventsReply *r)
{
	for (size_t i = 0; i < r->n_events; i++) {
		Pidcast__ProcessEvent *e = r->events[i];
		free(e->host);
		free(e->name);
		free(e->cmdline);
		free(e->user);
		free(e->container_id);
		free(e->service);
		free(e);
	}
	free(r->events);
}

void
pc_hist_top_free(Pidcast__TopAtReply *r)
{
	for (size_t i = 0; i < r->n_entries; i++) {
		free(r->entries[i]->host);
		free(r->entries[i]->name);
		free(r->entries[i]);
	}
	free(r->entries);
}

/* A store's error as a status. */
static void
store_fail(void *cd, int rv, const char *err)
{
	int status = rv == PC_ENOENT   ? NOT_FOUND
	             : rv == PC_EINVAL ? BAD
	             : rv == PC_ENOMEM ? EXHAUSTED
	                               : UNAVAILABLE;

	pc_rpc_fail(cd, status, "%s", err[0] ? err : pc_strerror(rv));
}

/* The range of a request: until 0 is now, since 0 an hour before until. */
static bool
range(void *cd, bool has_since, uint64_t since, bool has_until, uint64_t until, pc_hquery *q)
{
	q->until_ms = has_until && until ? until : pc_clock_realtime_ms();
	q->since_ms = has_since && since           ? since
	              : q->until_ms > SPAN_DEFAULT ? q->until_ms - SPAN_DEFAULT
	                                           : 0;
	if (q->since_ms > q->until_ms) {
		char a[PC_TIME_STR], b[PC_TIME_STR];
		pc_time_format(q->since_ms, a);
		pc_time_format(q->until_ms, b);
		pc_rpc_fail(cd, BAD, "since (%s) is after until (%s)", a, b);
		return false;
	}
	return true;
}

static bool
limit(void *cd, bool has, uint32_t v, uint32_t def, uint32_t max, size_t *out)
{
	if (has && v > max) {
		pc_rpc_fail(cd, BAD, "limit %u is over %u", v, max);
		return false;
	}
	*out = has && v ? v : def;
	return true;
}

static const char *
host_of(const char *h)
{
	return h != NULL && h[0] != '\0' ? h : NULL;
}

/* Rates between each sample and the one before it of the same process. */
static void
rates(Pidcast__HistoryReply *r)
{
	for (size_t i = 1; i < r->n_samples; i++) {
		Pidcast__HistorySample *a = r->samples[i - 1], *b = r->samples[i];
		uint64_t                dt = b->time_ms - a->time_ms;
		uint64_t                c0 = a->cpu_user_us + a->cpu_system_us;
		uint64_t                c1 = b->cpu_user_us + b->cpu_system_us;
		if (a->create_time_ms != b->create_time_ms || dt == 0) {
			continue;
		}
		b->has_cpu_percent = b->has_io_read_bytes_per_sec = b->has_io_write_bytes_per_sec =
		        1;
		b->cpu_percent           = c1 >= c0 ? (double)(c1 - c0) / 10.0 / (double)dt : 0;
		b->io_read_bytes_per_sec = b->io_read_bytes >= a->io_read_bytes
		                                   ? (double)(b->io_read_bytes - a->io_read_bytes) *
		                                             1000.0 / (double)dt
		                                   : 0;
		b->io_write_bytes_per_sec =
		        b->io_write_bytes >= a->io_write_bytes
		                ? (double)(b->io_write_bytes - a->io_write_bytes) * 1000.0 /
		                          (double)dt
		                : 0;
	}
}

void
pc_hist_rpc_history(pc_hist *h, const Pidcast__HistoryRequest *in,
                    Pidcast__HistoryReply_Closure closure, void *cd)
{
	Pidcast__HistoryReply reply = PIDCAST__HISTORY_REPLY__INIT;
	pc_hquery             q     = { .host = host_of(in->host), .pid = in->pid };
	pc_hstore            *s;
	char                  err[256] = "";
	int                   rv;

	if (!in->has_pid) {
		pc_rpc_fail(cd, BAD, "History needs a pid");
		return;
	}
	if (!range(cd, in->has_since_ms, in->since_ms, in->has_until_ms, in->until_ms, &q) ||
	    !limit(cd, in->has_limit, in->limit, LIMIT_DEFAULT, LIMIT_MAX, &q.limit)) {
		return;
	}
	if ((rv = pc_hist_query_begin(h, &s, err, sizeof(err))) != PC_OK) {
		store_fail(cd, rv, err);
		return;
	}
	rv = pc_hist_ops(h)->samples(s, &q, &reply, err, sizeof(err));
	pc_hist_query_end(h);
	if (rv != PC_OK) {
		store_fail(cd, rv, err);
	} else if (reply.n_samples == 0) {
		pc_rpc_fail(cd, NOT_FOUND, "no samples of pid %u on %s in the range", in->pid,
		            reply.host != NULL ? reply.host : "the host");
	} else {
		rates(&reply);
		reply.has_pid = 1;
		reply.pid     = in->pid;
		closure(&reply, cd);
	}
	pc_hist_samples_free(&reply);
}

void
pc_hist_rpc_events(pc_hist *h, const Pidcast__EventsRequest *in,
                   Pidcast__EventsReply_Closure closure, void *cd)
{
	Pidcast__EventsReply reply = PIDCAST__EVENTS_REPLY__INIT;
	pc_hquery            q     = { .host = host_of(in->host) };
	pc_hstore           *s;
	char                 err[256] = "";
	int                  rv;

	if (!range(cd, in->has_since_ms, in->since_ms, in->has_until_ms, in->until_ms, &q) ||
	    !limit(cd, in->has_limit, in->limit, LIMIT_DEFAULT, LIMIT_MAX, &q.limit)) {
		return;
	}
	q.name_glob = in->name_glob != NULL && in->name_glob[0] != '\0' ? in->name_glob : NULL;
	if ((rv = pc_hist_query_begin(h, &s, err, sizeof(err))) != PC_OK) {
		store_fail(cd, rv, err);
		return;
	}
	rv = pc_hist_ops(h)->events(s, &q, &reply, err, sizeof(err));
	pc_hist_query_end(h);
	if (rv != PC_OK) {
		store_fail(cd, rv, err);
	} else {
		closure(&reply, cd);
	}
	pc_hist_events_free(&reply);
}

void
pc_hist_rpc_top_at(pc_hist *h, const Pidcast__TopAtRequest *in, Pidcast__TopAtReply_Closure closure,
                   void *cd)
{
	Pidcast__TopAtReply reply = PIDCAST__TOP_AT_REPLY__INIT;
	pc_hquery           q     = { .host = host_of(in->host), .by = in->by };
	uint64_t            w, half;
	pc_hstore          *s;
	char                err[256] = "";
	int                 rv;

	if (!in->has_at_ms) {
		pc_rpc_fail(cd, BAD, "TopAt needs at_ms");
		return;
	}
	if (in->has_by && in->by != PIDCAST__TOP_REQUEST__BY__CPU &&
	    in->by != PIDCAST__TOP_REQUEST__BY__RSS && in->by != PIDCAST__TOP_REQUEST__BY__IO) {
		pc_rpc_fail(cd, BAD, "by is CPU, RSS or IO");
		return;
	}
	if (!limit(cd, in->has_n, in->n, TOP_DEFAULT, TOP_MAX, &q.limit)) {
		return;
	}
	/* The window: centred on the moment, by default as wide as an idle
	 * process's turn to be sampled, so that every live process has a
	 * sample in it. */
	w          = in->has_window_ms && in->window_ms ? in->window_ms
	                                                : PC_HIST_IDLE_EVERY * pc_hist_every_ms(h);
	half       = w / 2;
	q.since_ms = in->at_ms > half ? in->at_ms - half : 0;
	q.until_ms = in->at_ms + half;
	if ((rv = pc_hist_query_begin(h, &s, err, sizeof(err))) != PC_OK) {
		store_fail(cd, rv, err);
		return;
	}
	rv = pc_hist_ops(h)->top(s, &q, &reply, err, sizeof(err));
	pc_hist_query_end(h);
	if (rv != PC_OK) {
		store_fail(cd, rv, err);
	} else {
		reply.has_from_ms = reply.has_to_ms = 1;
		reply.from_ms                       = q.since_ms;
		reply.to_ms                         = q.until_ms;
		closure(&reply, cd);
	}
	pc_hist_top_free(&reply);
}
