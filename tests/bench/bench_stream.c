/* bench_stream.c: wire sizes (keyframe per process, idle and busy deltas)
 * and tick-to-subscriber latency of a real agent over ipc:// and tcp://. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/protocol/pubsub0/sub.h>

#include "base/pc_err.h"
#include "platform/pc_platform.h"
#include "pc_spawn.h"
#include "wire/pc_update.h"

#define FRAMES 80
#define BUSY   100 /* processes that burn CPU in the busy phase */

typedef struct frame {
	size_t bytes;
	size_t upserts;
	bool   keyframe;
	double latency_ms;
} frame;

static pid_t busy[BUSY];

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double
pct(double *v, size_t n, double p)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n ? v[(size_t)(p * (double)(n - 1) + 0.5)] : 0;
}

/* FRAMES frames off a fresh SUB socket. */
static void
collect(const char *url, frame *f)
{
	nng_socket s;

	if (nng_sub0_open(&s) != 0 || nng_socket_set(s, NNG_OPT_SUB_SUBSCRIBE, "pc/", 3) != 0 ||
	    nng_socket_set_ms(s, NNG_OPT_RECVTIMEO, 5000) != 0 || nng_dial(s, url, NULL, 0) != 0) {
		fprintf(stderr, "bench_stream: cannot subscribe to %s\n", url);
		exit(1);
	}
	for (int i = 0; i < FRAMES; i++) {
		Pidcast__Update *u;
		void            *buf;
		size_t           len;
		if (nng_recv(s, &buf, &len, NNG_FLAG_ALLOC) != 0 ||
		    pc_update_parse(buf, len, &u) != 0) {
			fprintf(stderr, "bench_stream: no stream on %s\n", url);
			exit(1);
		}
		uint64_t now = pc_clock_realtime_ms();
		f[i] = (frame){ len, u->n_upserts, u->kind == PIDCAST__UPDATE__KIND__KEYFRAME,
			        (double)(now - u->time_ms) };
		pidcast__update__free_unpacked(u, NULL);
		nng_free(buf, len);
	}
	nng_close(s);
}

static void
report(const char *what, frame *f)
{
	double d[FRAMES], lat[FRAMES], ups[FRAMES];
	size_t nd = 0, key = 0, key_procs = 0;

	for (int i = 0; i < FRAMES; i++) {
		lat[i] = f[i].latency_ms;
		if (f[i].keyframe) {
			key       = f[i].bytes;
			key_procs = f[i].upserts;
		} else {
			ups[nd] = (double)f[i].upserts;
			d[nd++] = (double)f[i].bytes;
		}
	}
	printf("%-22s keyframe %6zu B (%4zu procs, %5.1f B/proc)  delta p50 %6.0f B max %6.0f B "
	       "(%4.1f%% of keyframe), %5.1f upserts  latency p50 %4.1f ms p99 %4.1f ms\n",
	       what, key, key_procs, key_procs ? (double)key / (double)key_procs : 0,
	       pct(d, nd, 0.5), pct(d, nd, 1.0), key ? 100.0 * pct(d, nd, 0.5) / (double)key : 0,
	       pct(ups, nd, 0.5), pct(lat, FRAMES, 0.5), pct(lat, FRAMES, 0.99));
}

static void
start_busy(void)
{
	for (int i = 0; i < BUSY; i++) {
		if ((busy[i] = fork()) == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			for (volatile unsigned long x = 0;; x++) {
			}
		}
	}
}

static void
stop_busy(void)
{
	for (int i = 0; i < BUSY; i++) {
		if (busy[i] > 0) {
			kill(busy[i], SIGKILL);
			waitpid(busy[i], NULL, 0);
			busy[i] = 0;
		}
	}
}

int
main(int argc, char **argv)
{
	const char *agent     = argc > 1 ? argv[1] : PC_AGENT_PATH;
	const char *urls[][2] = {
		{ "ipc:///tmp/pc-bench-stream.pub", "ipc:///tmp/pc-bench-stream.rpc" },
		{ "tcp://127.0.0.1:17460", "tcp://127.0.0.1:17461" },
	};
	frame f[FRAMES];

	printf("bench_stream: agent ticking every 100 ms, keyframe every 10 ticks, %d frames a "
	       "row\n",
	       FRAMES);
	atexit(stop_busy);
	for (int t = 0; t < 2; t++) {
		const char *av[] = { agent,      "--publish",  urls[t][0], "--rpc",
			             urls[t][1], "--interval", "100ms",    "--keyframe",
			             "10",       "--host",     "bench",    NULL };
		pc_child   *a    = pc_child_start(av);
		char        what[64];

		if (a == NULL) {
			fprintf(stderr, "bench_stream: cannot start %s\n", agent);
			return 1;
		}
		pc_sleep_ms(300);
		snprintf(what, sizeof(what), "%s idle", t == 0 ? "ipc" : "tcp");
		collect(urls[t][0], f);
		report(what, f);
		start_busy();
		snprintf(what, sizeof(what), "%s busy (%d spinning)", t == 0 ? "ipc" : "tcp", BUSY);
		collect(urls[t][0], f);
		report(what, f);
		stop_busy();
		pc_child_kill(a);
	}
	return 0;
}
