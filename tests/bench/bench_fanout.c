/* bench_fanout.c: the agent under its readers: 100 subscribers following it
 * at 10 ticks a second (do they keep up with no gap?), and GetProcess
 * requests a second with their p99 latency for 1 and 8 concurrent clients. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>

#include "pc_bench_util.h"
#include "base/pc_err.h"
#include "stream/pc_follow.h"
#include "platform/pc_platform.h"
#include "rpc/pc_rpc.h"
#include "pc_spawn.h"

#define SUBS        100
#define RPC_SECONDS 5
#define MAX_CALLS   2000000

static const char *pub = "ipc:///tmp/pc-bench-fanout.pub";
static const char *rpc = "ipc:///tmp/pc-bench-fanout.rpc";
static uint32_t    agent_pid;

typedef struct client {
	pthread_t th;
	double   *lat_us;
	size_t    n;
	int       errors;
} client;

static void *
client_run(void *arg)
{
	client                    *c  = arg;
	Pidcast__GetProcessRequest in = PIDCAST__GET_PROCESS_REQUEST__INIT;
	nng_socket                 s;
	uint64_t                   end;

	in.has_pid = 1;
	in.pid     = agent_pid;
	if (nng_req0_open(&s) != 0 || nng_socket_set_ms(s, NNG_OPT_RECVTIMEO, 2000) != 0 ||
	    nng_dial(s, rpc, NULL, 0) != 0) {
		c->errors++;
		return NULL;
	}
	end = pc_clock_mono_us() + RPC_SECONDS * 1000000u;
	while (pc_clock_mono_us() < end && c->n < MAX_CALLS) {
		ProtobufCMessage *out = NULL;
		char              msg[128];
		int               status;
		uint64_t          t0 = pc_clock_mono_us();
		if (pc_rpc_call(s, "GetProcess", &in.base, &pidcast__get_process_reply__descriptor,
		                &out, &status, msg, sizeof(msg)) != PC_OK ||
		    status != 0) {
			c->errors++;
		}
		c->lat_us[c->n++] = (double)(pc_clock_mono_us() - t0);
		if (out != NULL) {
			protobuf_c_message_free_unpacked(out, NULL);
		}
	}
	nng_close(s);
	return NULL;
}

static void
rpc_load(int n)
{
	client  c[8];
	size_t  total = 0, k = 0;
	int     errors = 0;
	double *all;

	memset(c, 0, sizeof(c));
	for (int i = 0; i < n; i++) {
		c[i].lat_us = malloc(MAX_CALLS * sizeof(double));
		pthread_create(&c[i].th, NULL, client_run, &c[i]);
	}
	for (int i = 0; i < n; i++) {
		pthread_join(c[i].th, NULL);
		total += c[i].n;
		errors += c[i].errors;
	}
	all = malloc((total + 1) * sizeof(double));
	for (int i = 0; i < n; i++) {
		memcpy(all + k, c[i].lat_us, c[i].n * sizeof(double));
		k += c[i].n;
		free(c[i].lat_us);
	}
	pc_median(all, total); /* sorts them */
	printf("GetProcess, %d client%s: %8.0f requests/s, p50 %6.1f us, p99 %6.1f us, errors %d\n",
	       n, n > 1 ? "s" : "", (double)total / RPC_SECONDS, all[total / 2],
	       all[(size_t)((double)total * 0.99)], errors);
	free(all);
}

static void
fanout(void)
{
	pc_follow_opts o = { .url = pub }; /* no RPC: a gap would show */
	pc_follow     *f[SUBS];
	char           err[128];
	uint64_t       end, applied = 0, gaps = 0, synced = 0;

	for (int i = 0; i < SUBS; i++) {
		if (pc_follow_open(&f[i], &o, err, sizeof(err)) != PC_OK) {
			fprintf(stderr, "bench_fanout: %s\n", err);
			exit(1);
		}
	}
	/* Until each has its first keyframe, then 10 s measured. */
	end = pc_clock_mono_us() + 3000000u;
	while (pc_clock_mono_us() < end) {
		for (int i = 0; i < SUBS; i++) {
			while (pc_follow_poll(f[i], 0, NULL, NULL) == PC_OK) {
			}
		}
		pc_sleep_ms(5);
	}
	uint64_t gaps0 = 0, applied0 = 0;
	for (int i = 0; i < SUBS; i++) {
		gaps0 += pc_follow_stats(f[i])->gaps;
		applied0 += pc_follow_stats(f[i])->applied;
	}
	end = pc_clock_mono_us() + 10000000u;
	while (pc_clock_mono_us() < end) {
		for (int i = 0; i < SUBS; i++) {
			while (pc_follow_poll(f[i], 0, NULL, NULL) == PC_OK) {
			}
		}
		pc_sleep_ms(5);
	}
	for (int i = 0; i < SUBS; i++) {
		gaps += pc_follow_stats(f[i])->gaps;
		applied += pc_follow_stats(f[i])->applied;
		synced += pc_replica_synced(pc_follow_replica(f[i]));
		pc_follow_close(f[i]);
	}
	printf("%d subscribers, agent at 10 ticks/s, 10 s: %lu/%d synced, %lu updates applied "
	       "(%.1f a subscriber a second), %lu gaps\n",
	       SUBS, (unsigned long)synced, SUBS, (unsigned long)(applied - applied0),
	       (double)(applied - applied0) / SUBS / 10.0, (unsigned long)(gaps - gaps0));
}

int
main(int argc, char **argv)
{
	const char *agent = argc > 1 ? argv[1] : PC_AGENT_PATH;
	const char *av[]  = { agent,        "--publish", pub,          "--rpc", rpc,
		              "--interval", "100ms",     "--keyframe", "10",    NULL };
	pc_child   *a;

	pc_raise_nofile();
	if ((a = pc_child_start(av)) == NULL) {
		return 1;
	}
	agent_pid = pc_child_pid(a);
	pc_sleep_ms(500);
	fanout();
	rpc_load(1);
	rpc_load(8);
	pc_child_kill(a);
	remove(pub + 6);
	remove(rpc + 6);
	return 0;
}
