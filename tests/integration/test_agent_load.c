/* test_agent_load.c: a real agent under input it must bound: a process
 * with a command line of about 1 MB, a secret where the limit cuts (cut at
 * the limit, marked partial, the secret never out), and many concurrent
 * StatsForPids of 10,000 pids (the ticks keep their interval, a larger
 * request is RESOURCE_EXHAUSTED, and the agent's RSS levels off). */
#define _GNU_SOURCE /* mkdtemp */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <dirent.h>
#include <pthread.h>
#include <unistd.h>

#include <cmocka.h>
#include <nng/nng.h>
#include <nng/protocol/pubsub0/sub.h>
#include <nng/protocol/reqrep0/req.h>

#include "pc_check.h"
#include "base/pc_err.h"
#include "platform/pc_platform.h"
#include "rpc/pc_rpc.h"
#include "pc_spawn.h"
#include "wire/pc_update.h"
#include "pidcast.pb-c.h"

/* The agent's defaults that these tests check (pc_scrub.h, pc_service.h). */
#define CMDLINE_MAX 8192
#define PIDS_MAX    10000

static const char   *agent_path;
static unsigned long rss_margin_kib = 32768; /* 0: RSS figures printed only */

typedef struct fx {
	char       dir[64];
	char       url_pub[128], url_rpc[128];
	pc_child  *agent;
	nng_socket req;
} fx;

static int
setup(void **state)
{
	fx *x = calloc(1, sizeof(*x));

	assert_non_null(x);
	snprintf(x->dir, sizeof(x->dir), "/tmp/pc_agent_load.XXXXXX");
	assert_non_null(mkdtemp(x->dir));
	snprintf(x->url_pub, sizeof(x->url_pub), "ipc://%s/pub", x->dir);
	snprintf(x->url_rpc, sizeof(x->url_rpc), "ipc://%s/rpc", x->dir);
	*state = x;
	return 0;
}

static int
teardown(void **state)
{
	fx  *x = *state;
	char path[128];

	if (x->agent != NULL) {
		nng_close(x->req);
		pc_child_kill(x->agent);
	}
	/* The socket files a killed agent leaves. */
	for (int i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/%s", x->dir, i ? "rpc" : "pub");
		remove(path);
	}
	rmdir(x->dir);
	free(x);
	return 0;
}

/* With probe NULL, the default backend. */
static void
start_agent(fx *x, const char *interval, const char *probe)
{
	const char *argv[] = { agent_path, "--host",    "loadhost", "--interval",
		               interval,   "--publish", x->url_pub, "--rpc",
		               x->url_rpc, "--probe",   probe,      NULL };

	if (probe == NULL) {
		argv[9] = NULL;
	}
	assert_non_null(x->agent = pc_child_start(argv));
	x->req = pc_check_req(x->url_rpc);
	nng_socket_set_ms(x->req, NNG_OPT_RECVTIMEO, 10000);
}

/* GetProcess of pid, polled until the agent has it; NULL after 10 s. */
static Pidcast__GetProcessReply *
get_process(fx *x, uint32_t pid)
{
	Pidcast__GetProcessRequest in = PIDCAST__GET_PROCESS_REQUEST__INIT;
	uint64_t                   t0 = pc_clock_mono_us();
	char                       msg[256];

	in.has_pid = 1;
	in.pid     = pid;
	while (pc_clock_mono_us() - t0 < 10000000u) {
		ProtobufCMessage *out    = NULL;
		int               status = -1;
		if (pc_rpc_call(x->req, "GetProcess", &in.base,
		                &pidcast__get_process_reply__descriptor, &out, &status, msg,
		                sizeof(msg)) == PC_OK &&
		    status == 0) {
			return (Pidcast__GetProcessReply *)out;
		}
		if (out != NULL) {
			protobuf_c_message_free_unpacked(out, NULL);
		}
		pc_sleep_ms(50);
	}
	return NULL;
}

/* ---- a command line of about 1 MB ------------------------------------- */

#define FILLER_ARGS 9
#define FILLER_LEN  905 /* 21 + 9 x 906 bytes: the secret value starts at 8,186 */
#define BIG_ARGS    10
#define BIG_LEN     100000 /* each under the kernel's 128 KiB an argument */

/* A shell whose command line is about 1 MB: "sh -c 'read x' sh",
 * filler, "--password=SECRET..." across the limit, then 1 MB more. The
 * agent reports it cut at the limit and partial, the secret scrubbed. */
static void
test_huge_cmdline_cut_scrubbed(void **state)
{
	fx                       *x = *state;
	static char               filler[FILLER_ARGS][FILLER_LEN + 1], big[BIG_LEN + 1];
	const char               *argv[8 + FILLER_ARGS + BIG_ARGS];
	int                       n = 0;
	pc_child                 *child;
	Pidcast__GetProcessReply *r;
	size_t                    total = 0;

	argv[n++] = "/bin/sh";
	argv[n++] = "-c";
	argv[n++] = "read x"; /* a builtin: sh itself waits, on its stdin */
	argv[n++] = "sh";
	for (int i = 0; i < FILLER_ARGS; i++) {
		memset(filler[i], 'a' + i, FILLER_LEN);
		argv[n++] = filler[i];
	}
	argv[n++] = "--password=SECRETSECRETSECRETSECRETSECRETSECRETSECRET";
	memset(big, 'y', BIG_LEN);
	for (int i = 0; i < BIG_ARGS; i++) {
		argv[n++] = big;
	}
	argv[n] = NULL;
	for (int i = 0; i < n; i++) {
		total += strlen(argv[i]) + 1;
	}
	assert_non_null(child = pc_child_start(argv));
	start_agent(x, "200ms", NULL);
	r = get_process(x, pc_child_pid(child));
	assert_non_null(r);
	printf("# /proc cmdline %zu bytes; reported %zu bytes, partial %d\n", total,
	       strlen(r->process->cmdline), (int)r->process->partial);
	printf("# its end: ...%s\n", r->process->cmdline + strlen(r->process->cmdline) - 40);
	/* "--password=********" crosses the limit: scrubbed, then cut there. */
	assert_int_equal(strlen(r->process->cmdline), CMDLINE_MAX);
	assert_true(r->process->has_partial && r->process->partial);
	assert_null(strstr(r->process->cmdline, "SECRET"));
	assert_int_equal(strncmp(r->process->cmdline, "/bin/sh -c read x sh aaa", 24), 0);
	pidcast__get_process_reply__free_unpacked(r, NULL);
	pc_child_kill(child);
}

/* ---- StatsForPids under load ----------------------------------------------- */

/* 64 calls of 10,000 pids in all: under ASan on a machine that a build
 * loop keeps busy, three times as many took the suite past ten minutes. */
#define CLIENTS 8
#define CALLS   2 /* a round: each client this many calls */
#define ROUNDS  4

typedef struct load {
	const fx *x;
	uint32_t *pids;
	size_t    n_pids;
	int       fails;
	uint64_t  max_call_us;
} load;

static void *
client(void *arg)
{
	load                        *l  = arg;
	Pidcast__StatsForPidsRequest in = PIDCAST__STATS_FOR_PIDS_REQUEST__INIT;
	nng_socket                   req;
	char                         msg[256];

	in.pids   = l->pids;
	in.n_pids = l->n_pids;
	if (nng_req0_open(&req) != 0) {
		l->fails++;
		return NULL;
	}
	/* Calls are served one at a time: on a loaded machine the last of 64
	 * waits long for its turn, which is not a failure. */
	nng_socket_set_ms(req, NNG_OPT_RECVTIMEO, 120000);
	nng_socket_set_size(req, NNG_OPT_RECVMAXSZ, 64u << 20);
	nng_dial(req, l->x->url_rpc, NULL, 0);
	for (int i = 0; i < CALLS; i++) {
		ProtobufCMessage *out    = NULL;
		int               status = -1;
		uint64_t          t0     = pc_clock_mono_us();
		if (pc_rpc_call(req, "StatsForPids", &in.base,
		                &pidcast__stats_for_pids_reply__descriptor, &out, &status, msg,
		                sizeof(msg)) != PC_OK ||
		    status != 0) {
			l->fails++;
		}
		if (pc_clock_mono_us() - t0 > l->max_call_us) {
			l->max_call_us = pc_clock_mono_us() - t0;
		}
		if (out != NULL) {
			protobuf_c_message_free_unpacked(out, NULL);
		}
	}
	nng_close(req);
	return NULL;
}

/* The agent's updates on its PUB socket: the tick times in their headers
 * (taken when a tick starts, after any wait for the probe), so that the
 * gaps are the agent's, not this busy test's. */
typedef struct watch {
	nng_socket sub;
	bool       stop;
	uint64_t   seq, first_ms, last_ms, max_gap_ms, n;
} watch;

static void *
watcher(void *arg)
{
	watch *w = arg;

	while (!w->stop) {
		Pidcast__Update *u;
		void            *buf;
		size_t           len;
		if (nng_recv(w->sub, &buf, &len, NNG_FLAG_ALLOC) != 0) {
			continue;
		}
		if (pc_update_parse(buf, len, &u) == PC_OK) {
			if (u->seq != w->seq) { /* a keyframe's later parts repeat it */
				if (w->n++ == 0) {
					w->first_ms = u->time_ms;
				} else if (u->time_ms - w->last_ms > w->max_gap_ms) {
					w->max_gap_ms = u->time_ms - w->last_ms;
				}
				w->seq     = u->seq;
				w->last_ms = u->time_ms;
			}
			pidcast__update__free_unpacked(u, NULL);
		}
		nng_free(buf, len);
	}
	return NULL;
}

/* The PIDs of this machine's processes, at most cap. */
static size_t
live_pids(uint32_t *out, size_t cap)
{
	DIR           *d = opendir("/proc");
	struct dirent *e;
	size_t         n = 0;

	assert_non_null(d);
	while (n < cap && (e = readdir(d)) != NULL) {
		char         *end;
		unsigned long v = strtoul(e->d_name, &end, 10);
		if (*end == '\0' && end != e->d_name) {
			out[n++] = (uint32_t)v;
		}
	}
	closedir(d);
	return n;
}

static unsigned long
rss_kib(uint32_t pid)
{
	char          path[64], line[256];
	unsigned long kib = 0;
	FILE         *f;

	snprintf(path, sizeof(path), "/proc/%u/status", pid);
	assert_non_null(f = fopen(path, "r"));
	while (fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, "VmRSS: %lu kB", &kib) == 1) {
			break;
		}
	}
	fclose(f);
	return kib;
}

/* 8 clients each asking for 10,000 pids (this machine's, over and over, so
 * that each is read), six rounds of four calls each, against an agent
 * ticking every 200 ms: ticks keep their slots, and the longest gap
 * between them stays near the interval (before the fix each call held the
 * tick's lock while it read /proc, and half the slots were lost); 10,001
 * pids is RESOURCE_EXHAUSTED; the agent's RSS levels off after the first
 * rounds. */
static void
test_stats_for_pids_load(void **state)
{
	fx                          *x = *state;
	static uint32_t              pids[PIDS_MAX + 1], live[4096];
	size_t                       n_live;
	Pidcast__GetProcessReply    *first;
	Pidcast__StatsForPidsRequest over = PIDCAST__STATS_FOR_PIDS_REQUEST__INIT;
	ProtobufCMessage            *out  = NULL;
	watch                        w    = { 0 };
	pthread_t                    wt, th[CLIENTS];
	load                         l[CLIENTS];
	unsigned long                rss[ROUNDS + 1];
	uint64_t                     worst_gap = 0, lost = 0, all_slots = 0;
	char                         msg[256];
	int                          status = -1;

	n_live = live_pids(live, 256); /* a share that does not grow with the machine */
	assert_true(n_live > 0);
	for (size_t i = 0; i <= PIDS_MAX; i++) {
		pids[i] = live[i % n_live];
	}
	/* procfs: StatsForPids reads /proc for each pid, the costly path. */
	start_agent(x, "200ms", "procfs");
	assert_non_null(first = get_process(x, pc_child_pid(x->agent)));
	pidcast__get_process_reply__free_unpacked(first, NULL);
	rss[0] = rss_kib(pc_child_pid(x->agent));

	assert_int_equal(nng_sub0_open(&w.sub), 0);
	assert_int_equal(nng_socket_set(w.sub, NNG_OPT_SUB_SUBSCRIBE, "", 0), 0);
	assert_int_equal(nng_socket_set_ms(w.sub, NNG_OPT_RECVTIMEO, 100), 0);
	assert_int_equal(nng_socket_set_size(w.sub, NNG_OPT_RECVMAXSZ, 64u << 20), 0);
	assert_int_equal(nng_dial(w.sub, x->url_pub, NULL, 0), 0);
	/* The baseline: the ticks this machine lets the agent keep with no
	 * calls at all, over 3 s (time passing is what is measured). */
	w.n = 0, w.max_gap_ms = 0, w.stop = false;
	assert_int_equal(pthread_create(&wt, NULL, watcher, &w), 0);
	pc_sleep_ms(3000);
	w.stop = true;
	pthread_join(wt, NULL);
	uint64_t base_slots = w.n > 0 ? (w.last_ms - w.first_ms + 100) / 200 + 1 : 1;
	uint64_t base_lost = base_slots - w.n, base_gap = w.max_gap_ms;
	printf("# baseline, no calls: %" PRIu64 " ticks of %" PRIu64 " slots, longest gap %" PRIu64
	       " ms\n",
	       w.n, base_slots, base_gap);
	for (int round = 1; round <= ROUNDS; round++) {
		uint64_t t0 = pc_clock_mono_us(), max_call = 0;
		int      fails = 0;
		w.n = 0, w.max_gap_ms = 0, w.stop = false;
		assert_int_equal(pthread_create(&wt, NULL, watcher, &w), 0);
		for (int i = 0; i < CLIENTS; i++) {
			l[i] = (load){ x, pids, PIDS_MAX, 0, 0 };
			assert_int_equal(pthread_create(&th[i], NULL, client, &l[i]), 0);
		}
		for (int i = 0; i < CLIENTS; i++) {
			pthread_join(th[i], NULL);
			fails += l[i].fails;
			max_call = l[i].max_call_us > max_call ? l[i].max_call_us : max_call;
		}
		w.stop = true;
		pthread_join(wt, NULL);
		rss[round] = rss_kib(pc_child_pid(x->agent));
		/* Ticks are on a 200 ms grid: a slot lost is a tick skipped. */
		uint64_t slots = w.n > 0 ? (w.last_ms - w.first_ms + 100) / 200 + 1 : 0;
		printf("# round %d: %d calls of %d pids in %.0f ms (longest %.0f ms), %d failed; "
		       "%" PRIu64 " ticks of %" PRIu64 " slots, longest gap %" PRIu64
		       " ms; agent RSS %lu KiB\n",
		       round, CLIENTS * CALLS, PIDS_MAX, (double)(pc_clock_mono_us() - t0) / 1000.0,
		       (double)max_call / 1000.0, fails, w.n, slots, w.max_gap_ms, rss[round]);
		assert_int_equal(fails, 0);
		assert_true(w.n >= 2);
		worst_gap = w.max_gap_ms > worst_gap ? w.max_gap_ms : worst_gap;
		lost += slots - w.n;
		all_slots += slots;
	}
	nng_close(w.sub);
	printf("# agent RSS before %lu KiB, after rounds:", rss[0]);
	for (int i = 1; i <= ROUNDS; i++) {
		printf(" %lu", rss[i]);
	}
	printf("\n");
	/* A tick waits for at most one chunk of a call, not for calls: no
	 * slot lost, and gaps near the interval (200 ms). */
	printf("# slots lost %" PRIu64 " of %" PRIu64 ", longest gap %" PRIu64 " ms\n", lost,
	       all_slots, worst_gap);
	/* Generous, for a loaded machine: on a quiet one 0 of about 100 are
	 * lost and the longest gap is about 210 ms; before the fix half the
	 * slots were lost, with gaps up to 900 ms. */
	/* On a machine loaded by other work, beyond what it costs the agent
	 * without any call (the baseline). */
	assert_true(lost * 4 < all_slots ||
	            lost * base_slots <= base_lost * all_slots + all_slots * base_slots / 4);
	assert_true(worst_gap < 1000 || worst_gap < 3 * base_gap + 200);
	/* Levels off: no round past the second adds much. */
	for (int i = 3; rss_margin_kib > 0 && i <= ROUNDS; i++) {
		assert_true(rss[i] < rss[2] + rss_margin_kib);
	}

	over.pids   = pids;
	over.n_pids = PIDS_MAX + 1;
	assert_int_equal(pc_rpc_call(x->req, "StatsForPids", &over.base,
	                             &pidcast__stats_for_pids_reply__descriptor, &out, &status, msg,
	                             sizeof(msg)),
	                 PC_OK);
	printf("# %d pids: status %d, '%s'\n", PIDS_MAX + 1, status, msg);
	assert_int_equal(status, PIDCAST__STATUS_CODE__RESOURCE_EXHAUSTED);
	if (out != NULL) {
		protobuf_c_message_free_unpacked(out, NULL);
	}
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_huge_cmdline_cut_scrubbed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stats_for_pids_load, setup, teardown),
	};

	if (argc < 2) {
		fprintf(stderr, "usage: test_agent_load AGENT [RSS-MARGIN-KIB]\n");
		return 2;
	}
	agent_path = argv[1];
	setvbuf(stdout, NULL, _IOLBF, 0); /* its figures survive a time-out */
	if (argc > 2) {
		rss_margin_kib = strtoul(argv[2], NULL, 10);
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
