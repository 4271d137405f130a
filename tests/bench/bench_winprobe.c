/* bench_winprobe.c: the two Windows probes side by side (run under Wine or
 * on Windows): a steady tick of NtQuerySystemInformation against Toolhelp
 * plus per-process calls, in microseconds per process, with N helpers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/pc_err.h"
#include "platform/pc_platform.h"
#include "probe/pc_probe.h"
#include "pc_spawn.h"

#define ROUNDS 15

static int
cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int
main(int argc, char **argv)
{
	int         n     = argc > 1 ? atoi(argv[1]) : 100;
	const char *child = argc > 2 ? argv[2] : "pc_child.exe";
	pc_child  **kids  = calloc((size_t)n + 1, sizeof(*kids));
	pc_probe   *probes[8];
	int         nb = 0;
	double      us[8][ROUNDS];
	size_t      procs = 0;
	pc_snapshot snap  = { 0 };
	char        line[64];

	for (int i = 0; i < n; i++) {
		const char *av[] = { child, NULL };
		if ((kids[i] = pc_child_start(av)) == NULL ||
		    pc_child_read_line(kids[i], line, sizeof(line)) != 0) {
			fprintf(stderr, "bench_winprobe: cannot start helper %d (%s)\n", i, child);
			n = i;
			break;
		}
	}
	for (nb = 0; pc_probe_backends[nb] != NULL; nb++) {
		if (pc_probe_open(pc_probe_backends[nb]->name, &probes[nb]) != PC_OK) {
			return 1;
		}
		for (int w = 0; w < 2; w++) { /* steady state: handles held, statics read */
			pc_probe_processes_by_pid(probes[nb], 0, true, &snap);
		}
	}
	for (int r = 0; r < ROUNDS; r++) {
		for (int k = 0; k < nb; k++) {
			int      b  = (k + r) % nb; /* rotate who goes first */
			uint64_t t0 = pc_clock_mono_us();
			pc_probe_processes_by_pid(probes[b], 0, true, &snap);
			us[b][r] = (double)(pc_clock_mono_us() - t0) / (double)snap.n;
			procs    = snap.n;
		}
	}
	printf("bench_winprobe: %d helpers, %zu processes, %d rounds (median)\n", n, procs, ROUNDS);
	for (int b = 0; b < nb; b++) {
		qsort(us[b], ROUNDS, sizeof(double), cmp);
		printf("  %-10s %8.1f us/process/tick %8.2f ms/tick\n", pc_probe_backends[b]->name,
		       us[b][ROUNDS / 2], us[b][ROUNDS / 2] * (double)procs / 1000.0);
	}
	if (nb == 2) {
		printf("  %s / %s: %.1fx\n", pc_probe_backends[1]->name, pc_probe_backends[0]->name,
		       us[1][ROUNDS / 2] / us[0][ROUNDS / 2]);
	}
	for (int b = 0; b < nb; b++) {
		pc_probe_close(probes[b]);
	}
	for (int i = 0; i < n; i++) {
		pc_child_kill(kids[i]);
	}
	pc_snapshot_fini(&snap);
	free(kids);
	return 0;
}
