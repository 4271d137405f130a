/* bench_aggregator.c: M simulated agents of N processes each, one TCP
 * connection each, one update a second, against a real pidcast-aggregator:
 * does it keep every host synced with no gap, at what CPU and memory? With
 * -u K, K subscribers follow the fleet's stream (--publish) meanwhile, so
 * that the republish's cost shows; -P runs it with --publish none. With
 * -H URL the aggregator records a history there (--history; none by
 * default), and the store's rows written, queued and dropped are shown.
 * With -W N its HTTP server is on and N simulated web pages poll its API
 * as the page does (pc_bench_page.c; -W 0: the server on, no page), and
 * searches across the fleet are timed at the end; -i makes the agents
 * idle: after their first table nothing changes. */
#define _GNU_SOURCE
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/protocol/pubsub0/pub.h>
#include <nng/protocol/pubsub0/sub.h>
#include <nng/protocol/reqrep0/req.h>
#include <nng/supplemental/util/platform.h>

#include "base/pc_err.h"
#include "net/pc_net.h"
#include "platform/pc_platform.h"
#include "rpc/pc_rpc.h"
#include "pc_bench_page.h"
#include "pc_spawn.h"
#include "wire/pc_update.h"

#define KEYFRAME_EVERY 30

typedef struct sim {
	nng_socket pub;
	char       host[32];
	uint64_t   instance, seq;
	pc_proc   *procs;
	size_t     n;
	pc_delta   delta;
	pc_encoder enc;
} sim;

static const pc_proc *
sim_next(const void *table, size_t *cursor)
{
	const sim *s = table;

	return *cursor < s->n ? &s->procs[(*cursor)++] : NULL;
}

static char *
str(const char *fmt, unsigned a, unsigned b)
{
	char buf[96];

	snprintf(buf, sizeof(buf), fmt, a, b);
	return strdup(buf);
}

static void
sim_init(sim *s, unsigned id, size_t n)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->host, sizeof(s->host), "sim%04u", id);
	s->instance = ((uint64_t)nng_random() << 32) | nng_random();
	s->procs    = calloc(n, sizeof(*s->procs));
	s->n        = n;
	for (size_t i = 0; i < n; i++) {
		pc_proc *p        = &s->procs[i];
		p->pid            = 100 + (uint32_t)i;
		p->create_time_ms = 1700000000000ULL + i;
		p->ppid           = 1;
		p->name           = str("worker-%u", (unsigned)i % 50, 0);
		p->exe            = str("/usr/bin/worker-%u", (unsigned)i % 50, 0);
		p->cmdline        = str("/usr/bin/worker-%u --id %u --config /etc/worker.conf",
		                        (unsigned)i % 50, (unsigned)i);
		p->user           = strdup("svc");
		p->threads        = 4;
		p->rss_bytes      = 50u << 20;
		p->peak_rss_bytes = 60u << 20;
	}
}

/* One tick: churn changes counters of `churn` processes and replaces one
 * process with a new PID (not when idle); a keyframe every KEYFRAME_EVERY
 * ticks. */
static bool idle;

static int
sim_tick(sim *s, unsigned churn)
{
	pc_update_hdr h = { s->host, s->instance, ++s->seq, pc_clock_realtime_ms(), 1000 };
	int           rv;

	s->delta.n_upserts = s->delta.n_exits = 0;
	if ((s->seq - 1) % KEYFRAME_EVERY == 0) {
		rv = pc_encoder_keyframe(&s->enc, &h, sim_next, s, s->n);
	} else {
		if (s->delta.cap_upserts < churn + 1) {
			s->delta.upserts =
			        realloc(s->delta.upserts, (churn + 1) * sizeof(pc_upsert));
			s->delta.cap_upserts = churn + 1;
			s->delta.exits       = realloc(s->delta.exits, sizeof(pc_key));
			s->delta.cap_exits   = 1;
		}
		if (idle) { /* an empty delta: the tick, and nothing changed */
			return pc_encoder_delta(&s->enc, &h, &s->delta) == PC_OK &&
			                       pc_encoder_frame(&s->enc) == PC_OK
			               ? nng_send(s->pub, s->enc.frame.data, s->enc.frame.len, 0)
			               : -1;
		}
		for (unsigned k = 0; k < churn; k++) {
			pc_proc *p = &s->procs[(size_t)nng_random() % s->n];
			p->cpu_user_us += 10000;
			p->rss_bytes += 4096;
			s->delta.upserts[s->delta.n_upserts++] =
			        (pc_upsert){ p, PC_BIT(PC_F_CPU_USER_US) | PC_BIT(PC_F_RSS_BYTES),
				             false };
		}
		/* A process exits and another starts in its slot. */
		pc_proc *p                         = &s->procs[(size_t)nng_random() % s->n];
		s->delta.exits[s->delta.n_exits++] = (pc_key){ p->pid, p->create_time_ms, NULL, 0 };
		p->pid                             = p->pid + (uint32_t)s->n;
		p->create_time_ms                  = h.time_ms;
		s->delta.upserts[s->delta.n_upserts++] = (pc_upsert){ p, PC_MASK_ALL, true };
		rv                                     = pc_encoder_delta(&s->enc, &h, &s->delta);
	}
	if (rv == PC_OK) {
		rv = pc_encoder_frame(&s->enc);
	}
	return rv == PC_OK ? nng_send(s->pub, s->enc.frame.data, s->enc.frame.len, 0) : rv;
}

/* A subscriber of the fleet's stream: a SUB socket drained by a thread,
 * counting what it receives (it decodes nothing: its own cost is not the
 * aggregator's). */
typedef struct fan {
	nng_socket      sub;
	nng_thread     *thr;
	volatile bool   stop;
	volatile size_t msgs, bytes;
} fan;

static void
fan_run(void *arg)
{
	fan *f = arg;

	while (!f->stop) {
		nng_msg *m;
		if (nng_recvmsg(f->sub, &m, 0) == 0) {
			f->msgs++;
			f->bytes += nng_msg_len(m);
			nng_msg_free(m);
		}
	}
}

static int
fan_start(fan *f, const char *url)
{
	if (nng_sub0_open(&f->sub) != 0 ||
	    nng_socket_set(f->sub, NNG_OPT_SUB_SUBSCRIBE, PC_TOPIC_PREFIX, 3) != 0 ||
	    nng_socket_set_size(f->sub, NNG_OPT_RECVMAXSZ, PC_RECV_MAX) != 0 ||
	    nng_socket_set_int(f->sub, NNG_OPT_RECVBUF, 8192) != 0 ||
	    nng_socket_set_ms(f->sub, NNG_OPT_RECVTIMEO, 200) != 0 ||
	    nng_dial(f->sub, url, NULL, NNG_FLAG_NONBLOCK) != 0) {
		return -1;
	}
	return nng_thread_create(&f->thr, fan_run, f) != 0 ? -1 : 0;
}

static void
fan_stop(fan *f)
{
	f->stop = true;
	nng_thread_destroy(f->thr);
	nng_close(f->sub);
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* CPU seconds and RSS of a process, from /proc. */
static void
proc_usage(uint32_t pid, double *cpu_s, double *rss_mb)
{
	char  path[64], buf[4096];
	FILE *f;

	*cpu_s = *rss_mb = 0;
	snprintf(path, sizeof(path), "/proc/%u/stat", pid);
	if ((f = fopen(path, "r")) != NULL) {
		unsigned long long ut = 0, st = 0;
		if (fgets(buf, sizeof(buf), f) != NULL) {
			char *p = strrchr(buf, ')');
			sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut,
			       &st);
		}
		fclose(f);
		*cpu_s = (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
	}
	snprintf(path, sizeof(path), "/proc/%u/status", pid);
	if ((f = fopen(path, "r")) != NULL) {
		while (fgets(buf, sizeof(buf), f) != NULL) {
			if (strncmp(buf, "VmRSS:", 6) == 0) {
				*rss_mb = atof(buf + 6) / 1024.0;
			}
		}
		fclose(f);
	}
}

/* Hosts the aggregator has up and synced, and their gaps. */
static int
host_stats(nng_socket req, size_t *up_synced, uint64_t *gaps, size_t *procs)
{
	Pidcast__ListHostsRequest in  = PIDCAST__LIST_HOSTS_REQUEST__INIT;
	ProtobufCMessage         *out = NULL;
	char                      msg[256];
	int                       status, rv;

	*up_synced = 0;
	*gaps      = 0;
	*procs     = 0;
	rv = pc_rpc_call(req, "ListHosts", &in.base, &pidcast__list_hosts_reply__descriptor, &out,
	                 &status, msg, sizeof(msg));
	if (rv != PC_OK || status != 0) {
		return -1;
	}
	Pidcast__ListHostsReply *r = (Pidcast__ListHostsReply *)out;
	for (size_t i = 0; i < r->n_hosts; i++) {
		*up_synced += r->hosts[i]->up && r->hosts[i]->synced;
		*gaps += r->hosts[i]->gaps;
		*procs += r->hosts[i]->processes;
	}
	protobuf_c_message_free_unpacked(out, NULL);
	return 0;
}

/* The history store's figures (zero without one). */
static Pidcast__HistoryStats
hist_stats(nng_socket req)
{
	Pidcast__ListHostsRequest in  = PIDCAST__LIST_HOSTS_REQUEST__INIT;
	Pidcast__HistoryStats     st  = PIDCAST__HISTORY_STATS__INIT;
	ProtobufCMessage         *out = NULL;
	char                      msg[256];
	int                       status;

	if (pc_rpc_call(req, "ListHosts", &in.base, &pidcast__list_hosts_reply__descriptor, &out,
	                &status, msg, sizeof(msg)) == PC_OK &&
	    status == 0) {
		Pidcast__ListHostsReply *r = (Pidcast__ListHostsReply *)out;
		if (r->history != NULL) {
			st            = *r->history;
			st.store      = NULL;
			st.last_error = NULL;
		}
		protobuf_c_message_free_unpacked(out, NULL);
	}
	return st;
}

/* The pages' downloads after warm-up, then searches and pages timed one
 * at a time (the pages stopped first, so that only the request is timed). */
static void
web_report(pc_page *pgs, int pages, size_t bytes0, size_t reqs0, double wall, unsigned procs)
{
	size_t bytes = 0, reqs = 0, errors = 0;
	char   target[160];
	double ms[16], page_ms[16];
	/* Names, command lines, users and hosts; one that matches nothing. */
	const char  *q[] = { "worker-7",     "--id%20424", "sim0420",  "svc",
		             "nothing-here", "conf",       "WORKER-4", "sim07" };
	const size_t nq  = sizeof(q) / sizeof(q[0]);

	for (int i = 0; i < pages; i++) {
		pc_page_stop(&pgs[i]);
		bytes += pgs[i].bytes;
		reqs += pgs[i].requests;
		errors += pgs[i].errors;
	}
	if (pages > 0) {
		printf("web: %d pages, %.1f requests/s each, %.1f KB a minute each after warm-up, "
		       "%zu errors\n",
		       pages, (double)(reqs - reqs0) / wall / pages,
		       (double)(bytes - bytes0) / 1e3 / wall * 60 / pages, errors);
	}
	for (size_t i = 0; i < 2 * nq; i++) {
		char     tag[64] = "";
		size_t   b       = 0;
		uint64_t t0      = pc_clock_mono_us();
		snprintf(target, sizeof(target), "/api/processes?q=%s&limit=50&sort=%s", q[i % nq],
		         i < nq ? "cpu" : "rss");
		pc_page_get(17483, target, tag, sizeof(tag), &b, NULL);
		ms[i] = (double)(pc_clock_mono_us() - t0) / 1e3;
		t0    = pc_clock_mono_us();
		snprintf(target, sizeof(target), "/api/processes?limit=50&offset=%zu&sort=%s",
		         (i % 4) * 50, i % 2 ? "cpu" : "rss");
		tag[0] = '\0';
		pc_page_get(17483, target, tag, sizeof(tag), &b, NULL);
		page_ms[i] = (double)(pc_clock_mono_us() - t0) / 1e3;
	}
	double s[16], p[16];
	memcpy(s, ms, sizeof(s));
	memcpy(p, page_ms, sizeof(p));
	qsort(s, 2 * nq, sizeof(double), cmp_double);
	qsort(p, 2 * nq, sizeof(double), cmp_double);
	printf("web: a search across the fleet (%u processes a host) answers in %.1f ms median, "
	       "%.1f ms at most, of %zu; a page that is not a search %.1f ms median, %.1f at "
	       "most\n",
	       procs, s[nq], s[2 * nq - 1], 2 * nq, p[nq], p[2 * nq - 1]);
}

int
main(int argc, char **argv)
{
	unsigned    agents = 100, procs = 1000, seconds = 30, churn = 20, subs = 0;
	bool        publish = true;
	const char *history = "none";
	int         c, pages = -1;

	while ((c = getopt(argc, argv, "a:p:s:c:u:PH:W:i")) != -1) {
		switch (c) {
		case 'a':
			agents = (unsigned)atoi(optarg);
			break;
		case 'p':
			procs = (unsigned)atoi(optarg);
			break;
		case 's':
			seconds = (unsigned)atoi(optarg);
			break;
		case 'c':
			churn = (unsigned)atoi(optarg);
			break;
		case 'u':
			subs = (unsigned)atoi(optarg);
			break;
		case 'P':
			publish = false;
			break;
		case 'H':
			history = optarg;
			break;
		case 'W':
			pages = atoi(optarg);
			break;
		case 'i':
			idle = true;
			break;
		default:
			fprintf(stderr,
			        "usage: bench_aggregator [-a AGENTS] [-p PROCS] [-s SECONDS] "
			        "[-c CHANGED-PER-TICK] [-u SUBSCRIBERS | -P] [-H HISTORY-URL] "
			        "[-W PAGES] [-i]\n");
			return 2;
		}
	}
	const char *listen = "tcp://127.0.0.1:17480", *rpc = "tcp://127.0.0.1:17481";
	const char *pub  = "tcp://127.0.0.1:17482";
	const char *av[] = { PC_AGGREGATOR_PATH,
		             "--history",
		             history,
		             "--listen",
		             listen,
		             "--rpc",
		             rpc,
		             "--metrics",
		             pages >= 0 ? "http://127.0.0.1:17483/metrics" : "none",
		             "--publish",
		             publish ? pub : "none",
		             NULL };
	pc_child   *agg  = pc_child_start(av);
	sim        *sims = calloc(agents, sizeof(*sims));
	fan        *fans = calloc(subs + 1, sizeof(*fans));
	pc_page    *pgs  = calloc((size_t)(pages > 0 ? pages : 0) + 1, sizeof(*pgs));
	nng_socket  req;

	if (agg == NULL || sims == NULL || fans == NULL || (subs > 0 && !publish)) {
		fprintf(stderr, "bench_aggregator: cannot start %s\n", PC_AGGREGATOR_PATH);
		return 1;
	}
	pc_sleep_ms(300);
	for (unsigned i = 0; i < subs; i++) {
		if (fan_start(&fans[i], pub) != 0) {
			fprintf(stderr, "bench_aggregator: subscriber %u cannot start\n", i);
			pc_child_kill(agg);
			return 1;
		}
	}
	for (unsigned i = 0; i < agents; i++) {
		sim_init(&sims[i], i, procs);
		if (nng_pub0_open(&sims[i].pub) != 0 ||
		    nng_dial(sims[i].pub, listen, NULL, 0) != 0) {
			fprintf(stderr, "bench_aggregator: agent %u cannot connect\n", i);
			pc_child_kill(agg);
			return 1;
		}
	}
	nng_req0_open(&req);
	nng_socket_set_ms(req, NNG_OPT_RECVTIMEO, 10000);
	nng_dial(req, rpc, NULL, 0);
	pc_sleep_ms(300);
	for (int i = 0; i < pages; i++) {
		pc_page_start(&pgs[i], 17483);
	}

	/* Ticks on a one-second grid; each agent's send is spread over it. */
	uint64_t              start = pc_clock_mono_us(), next = start, late = 0;
	double                cpu0 = 0, cpu1, rss = 0, rss_max = 0;
	uint64_t              gaps0 = 0, gaps1, queued_max = 0;
	size_t                ok, total, bytes0            = 0;
	size_t                page_bytes0 = 0, page_reqs0 = 0;
	Pidcast__HistoryStats h0 = PIDCAST__HISTORY_STATS__INIT, h1;
	for (unsigned t = 0; t < seconds; t++) {
		for (unsigned i = 0; i < agents; i++) {
			uint64_t at  = next + (uint64_t)i * 1000000u / agents;
			uint64_t now = pc_clock_mono_us();
			if (at > now) {
				usleep((useconds_t)(at - now));
			} else if (now - at > 200000) {
				late++;
			}
			if (sim_tick(&sims[i], churn) != 0) {
				fprintf(stderr, "bench_aggregator: send failed\n");
			}
		}
		next += 1000000u;
		if (t == 4) { /* after the first keyframes have settled */
			proc_usage(pc_child_pid(agg), &cpu0, &rss);
			host_stats(req, &ok, &gaps0, &total);
			h0    = hist_stats(req);
			start = pc_clock_mono_us();
			for (unsigned i = 0; i < subs; i++) {
				bytes0 += fans[i].bytes;
			}
			for (int i = 0; i < pages; i++) {
				page_bytes0 += pgs[i].bytes;
				page_reqs0 += pgs[i].requests;
			}
		}
		proc_usage(pc_child_pid(agg), &cpu1, &rss);
		rss_max = rss > rss_max ? rss : rss_max;
		if (t > 4 && t % 5 == 0) { /* is the history's queue growing? */
			h1         = hist_stats(req);
			queued_max = h1.rows_queued > queued_max ? h1.rows_queued : queued_max;
		}
	}
	pc_sleep_ms(1500);
	double wall = (double)(pc_clock_mono_us() - start) / 1e6;
	proc_usage(pc_child_pid(agg), &cpu1, &rss);
	host_stats(req, &ok, &gaps1, &total);
	h1 = hist_stats(req);
	printf("agents %u x processes %u (%u changed + 1 replaced a tick, keyframe every %d): "
	       "%zu/%u hosts up and synced, %zu processes held, gaps after warm-up %" PRIu64
	       ", aggregator CPU %.1f%% of one core, RSS %.0f MB (max %.0f), sender late %" PRIu64
	       "\n",
	       agents, procs, churn, KEYFRAME_EVERY, ok, agents, total, gaps1 - gaps0,
	       100.0 * (cpu1 - cpu0) / wall, rss, rss_max, late);
	if (subs > 0) {
		/* Every update was sent after the subscribers were up: the
		 * share received is of all of them; the rate, after warm-up. */
		size_t msgs = 0, bytes = 0, sent = (size_t)seconds * agents;
		for (unsigned i = 0; i < subs; i++) {
			msgs += fans[i].msgs;
			bytes += fans[i].bytes;
		}
		printf("publish: %u subscribers received %.1f%% of the %zu updates sent, "
		       "%.1f MB/s each after warm-up\n",
		       subs, 100.0 * (double)msgs / ((double)sent * subs), sent,
		       (double)(bytes - bytes0) / 1e6 / wall / subs);
	} else {
		printf("publish: %s, no subscriber\n", publish ? "on" : "off (--publish none)");
	}
	if (strcmp(history, "none") != 0) {
		printf("history: %s, %.0f rows/s written after warm-up, queued %" PRIu64
		       " at the end (at most %" PRIu64 " at the 5 s checks), dropped %" PRIu64
		       " after warm-up (%" PRIu64 " in all), write errors %" PRIu64
		       ", bytes queued %" PRIu64 "\n",
		       history, (double)(h1.rows_written - h0.rows_written) / wall, h1.rows_queued,
		       queued_max, h1.rows_dropped - h0.rows_dropped, h1.rows_dropped,
		       h1.write_errors, h1.bytes_queued);
	}
	if (pages >= 0) {
		web_report(pgs, pages, page_bytes0, page_reqs0, wall, procs);
	}
	for (unsigned i = 0; i < subs; i++) {
		fan_stop(&fans[i]);
	}
	free(fans);
	free(pgs);
	nng_close(req);
	for (unsigned i = 0; i < agents; i++) {
		nng_close(sims[i].pub);
	}
	pc_child_kill(agg);
	return ok == agents && gaps1 == gaps0 ? 0 : 1;
}
