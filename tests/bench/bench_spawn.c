/* bench_spawn.c: what the agent's exec and exit programs cost the host: a
 * loop of fork, exec of a trivial program and exit, timed with no agent,
 * with the agent on the bpf probe and with it on procfs, in turn in each
 * round (the order rotated, so that drift falls on every side alike). */
#define _GNU_SOURCE /* mkdtemp */
#include <stdbool.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pc_bench_util.h"
#include "platform/pc_platform.h"

#define PC_SIDES 3

static const char *const pc_side_name[PC_SIDES] = { "none", "bpf", "procfs" };

/* N times: fork, exec /bin/true, wait. Returns us a spawn, or -1. */
static double
pc_spawn_loop(size_t n)
{
	static char *const argv[] = { "true", NULL };
	uint64_t           t0     = pc_clock_mono_us();

	for (size_t i = 0; i < n; i++) {
		int   st;
		pid_t pid = fork();

		if (pid < 0) {
			return -1;
		}
		if (pid == 0) {
			execv("/bin/true", argv);
			_exit(127);
		}
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
		}
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			return -1;
		}
	}
	return (double)(pc_clock_mono_us() - t0) / (double)n;
}

/* Starts the agent on PROBE and waits for its --bound-file, which it writes
 * once the probe is open and its sockets listen. */
static pid_t
pc_agent_start(const char *agent, const char *probe, const char *dir)
{
	char  pub[512], rpc[512], bound[512];
	pid_t parent = getpid(), pid;

	snprintf(pub, sizeof(pub), "ipc://%s/pub", dir);
	snprintf(rpc, sizeof(rpc), "ipc://%s/rpc", dir);
	snprintf(bound, sizeof(bound), "%s/bound", dir);
	unlink(bound);
	if ((pid = fork()) == 0) {
		pc_child_init(parent);
		char log[512];

		snprintf(log, sizeof(log), "%s/agent.log", dir);
		if (freopen("/dev/null", "w", stdout) == NULL ||
		    freopen(log, "a", stderr) == NULL) {
			_exit(126);
		}
		execl(agent, agent, "--probe", probe, "--interval", "1s", "--publish", pub, "--rpc",
		      rpc, "--bound-file", bound, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; pid > 0 && i < 1000; i++) {
		struct stat sb;
		int         st;

		if (stat(bound, &sb) == 0 && sb.st_size > 0) {
			return pid;
		}
		if (waitpid(pid, &st, WNOHANG) == pid) {
			return -1;
		}
		usleep(10000);
	}
	if (pid > 0) {
		kill(pid, SIGKILL);
		pc_reap(pid);
	}
	return -1;
}

/* The bound file and the log are all the agents leave in DIR (ipc sockets
 * go with them); the log is shown first when something failed. */
static void
pc_dir_remove(const char *dir, bool show_log)
{
	char  path[512], line[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/agent.log", dir);
	if (show_log && (f = fopen(path, "r")) != NULL) {
		while (fgets(line, sizeof(line), f) != NULL) {
			fputs(line, stderr);
		}
		fclose(f);
	}
	unlink(path);
	snprintf(path, sizeof(path), "%s/bound", dir);
	unlink(path);
	rmdir(dir);
}

int
main(int argc, char **argv)
{
	size_t iters = 2000, rounds = 7;
	char   dir[] = "/tmp/pc-bench-spawn.XXXXXX";
	double v[PC_SIDES][64], med[PC_SIDES];

	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		fprintf(stderr,
		        "usage: bench_spawn AGENT [--iters N (2000)] [--rounds R (7, max 64)]\n"
		        "  times a fork-exec-exit loop of /bin/true with no agent, and with AGENT\n"
		        "  running on the bpf and on the procfs probe; prints medians and "
		        "ratios\n");
		return argc < 2 ? 2 : 0;
	}
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--iters") == 0 && i + 1 < argc &&
		    pc_arg_size(argv[++i], 1000000, &iters) && iters > 0) {
			continue;
		}
		if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc &&
		    pc_arg_size(argv[++i], 64, &rounds) && rounds > 0) {
			continue;
		}
		fprintf(stderr, "bench_spawn: bad argument '%s' (try --help)\n", argv[i]);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0); /* nothing buffered for a child to inherit */
	if (mkdtemp(dir) == NULL) {
		fprintf(stderr, "bench_spawn: mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	printf("bench_spawn: %zu fork-exec-exit of /bin/true a side, %zu rounds\n", iters, rounds);
	for (size_t r = 0; r < rounds; r++) {
		for (size_t k = 0; k < PC_SIDES; k++) {
			size_t s     = (r + k) % PC_SIDES;
			pid_t  agent = 0;

			if (s != 0 && (agent = pc_agent_start(argv[1], pc_side_name[s], dir)) < 0) {
				fprintf(stderr, "bench_spawn: agent on %s did not start\n",
				        pc_side_name[s]);
				pc_dir_remove(dir, true);
				return 1;
			}
			v[s][r] = pc_spawn_loop(iters);
			if (agent > 0) {
				kill(agent, SIGTERM);
				pc_reap(agent);
			}
			if (v[s][r] < 0) {
				fprintf(stderr, "bench_spawn: the loop failed with agent %s\n",
				        pc_side_name[s]);
				pc_dir_remove(dir, true);
				return 1;
			}
		}
		printf("round %zu: none %.1f bpf %.1f procfs %.1f us a spawn\n", r + 1, v[0][r],
		       v[1][r], v[2][r]);
	}
	pc_dir_remove(dir, false);
	for (size_t s = 0; s < PC_SIDES; s++) {
		med[s] = pc_median(v[s], rounds);
	}
	printf("median us a spawn: none %.1f bpf %.1f procfs %.1f\n", med[0], med[1], med[2]);
	printf("slowdown: bpf %.3fx procfs %.3fx (target bpf <= 1.05x)\n", med[1] / med[0],
	       med[2] / med[0]);
	return 0;
}
