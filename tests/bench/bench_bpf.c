/* bench_bpf.c: the bpf probe's tick per process, alone and with the cache's
 * delta, beside procfs's in the same run, at a given number of helper
 * processes: medians and minimums of R rounds, each round both probes in
 * turn. */
#define _GNU_SOURCE /* sigaction */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pc_bench_util.h"
#include "base/pc_err.h"
#include "platform/pc_platform.h"
#include "probe/pc_probe.h"
#include "table/pc_cache.h"

#define PC_WARMUP 3

static volatile sig_atomic_t pc_stop;

static void
pc_on_signal(int sig)
{
	(void)sig;
	pc_stop = 1;
}

typedef struct pc_side {
	const char *name;
	pc_probe   *probe;
	pc_cache   *cache;
	pc_snapshot snap;
	pc_delta    delta;
	double     *tick, *full; /* us a process: probe alone, probe + cache */
} pc_side;

/* One round of one probe: a tick alone, then a tick and its delta. */
static int
pc_round(pc_side *s, size_t r)
{
	uint64_t t0 = pc_clock_mono_us(), t1, t2;
	int      rv = pc_probe_processes_by_pid(s->probe, pc_clock_realtime_ms(), true, &s->snap);

	t1 = pc_clock_mono_us();
	if (rv == PC_OK) {
		rv = pc_probe_processes_by_pid(s->probe, pc_clock_realtime_ms(), true, &s->snap);
	}
	if (rv == PC_OK) {
		rv = pc_cache_update(s->cache, &s->snap, &s->delta);
	}
	t2 = pc_clock_mono_us();
	if (rv != PC_OK || s->snap.n == 0) {
		return rv != PC_OK ? rv : PC_ENOENT;
	}
	s->tick[r] = (double)(t1 - t0) / (double)s->snap.n;
	s->full[r] = (double)(t2 - t1) / (double)s->snap.n;
	return PC_OK;
}

static double
pc_min(const double *v, size_t n)
{
	double m = v[0];

	for (size_t i = 1; i < n; i++) {
		m = v[i] < m ? v[i] : m;
	}
	return m;
}

int
main(int argc, char **argv)
{
	size_t           n_children = 1000, rounds = 30;
	pc_side          side[2] = { { .name = "bpf" }, { .name = "procfs" } };
	struct sigaction sa      = { .sa_handler = pc_on_signal };
	char             why[512];
	int              rv, status = 1, n_sides = 2;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--procs") == 0 && i + 1 < argc &&
		    pc_arg_size(argv[i + 1], 100000, &n_children)) {
			i++;
		} else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc &&
		           pc_arg_size(argv[i + 1], 100000, &rounds) && rounds > 0) {
			i++;
		} else if (strcmp(argv[i], "--only-bpf") == 0) {
			n_sides = 1; /* for a profile of the bpf tick alone */
		} else {
			fprintf(stderr, "usage: bench_bpf [--procs N (1000)] [--rounds R (30)] "
			                "[--only-bpf]\n");
			return strcmp(argv[i], "--help") == 0 ? 0 : 2;
		}
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	pc_raise_nofile();
	if (pc_helpers_start(n_children, &pc_stop) != 0) {
		fprintf(stderr, "bench_bpf: cannot start %zu helpers\n", n_children);
		goto out;
	}
	for (int i = 0; i < n_sides; i++) {
		if ((rv = pc_probe_open_why(side[i].name, &side[i].probe, why, sizeof(why))) !=
		            PC_OK ||
		    (rv = pc_cache_open(&side[i].cache, NULL)) != PC_OK ||
		    (side[i].tick = calloc(2 * rounds, sizeof(double))) == NULL) {
			fprintf(stderr, "bench_bpf: %s: %s\n", side[i].name,
			        why[0] ? why : pc_strerror(rv));
			goto out;
		}
		side[i].full = side[i].tick + rounds;
	}
	for (size_t r = 0; r < PC_WARMUP + rounds && !pc_stop; r++) {
		for (int k = 0; k < n_sides; k++) {
			int i = (int)((r + (size_t)k) %
			              (size_t)n_sides); /* order favours neither */
			if ((rv = pc_round(&side[i], r < PC_WARMUP ? 0 : r - PC_WARMUP)) != PC_OK) {
				fprintf(stderr, "bench_bpf: %s: %s\n", side[i].name,
				        pc_strerror(rv));
				goto out;
			}
		}
	}
	printf("bench_bpf: %zu helpers, %zu processes seen, %zu rounds, %ld CPUs\n",
	       pc_helpers_count(), side[0].snap.n, rounds, sysconf(_SC_NPROCESSORS_ONLN));
	printf("%-8s %22s %22s\n", "probe", "tick us/proc med|min", "+cache us/proc med|min");
	double med[2];
	for (int i = 0; i < n_sides; i++) {
		double tmin = pc_min(side[i].tick, rounds), fmin = pc_min(side[i].full, rounds);
		med[i] = pc_median(side[i].tick, rounds);
		printf("%-8s %13.3f | %6.3f %13.3f | %6.3f\n", side[i].name, med[i], tmin,
		       pc_median(side[i].full, rounds), fmin);
	}
	if (n_sides == 2) {
		printf("procfs / bpf (tick medians): %.1fx\n", med[1] / med[0]);
	}
	status = 0;
out:
	for (int i = 0; i < 2; i++) {
		pc_delta_fini(&side[i].delta);
		pc_snapshot_fini(&side[i].snap);
		if (side[i].cache != NULL) {
			pc_cache_close(side[i].cache);
		}
		pc_probe_close(side[i].probe);
		free(side[i].tick);
	}
	pc_helpers_stop();
	return status;
}
