/* bench_probe.c: the per-process cost of a steady procfs probe tick, against the bare syscalls
 * it makes (the bpf probe makes none of them: bench_bpf.c). */
#define _GNU_SOURCE /* pread, openat, fstatat, stpcpy, prctl */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pc_bench_util.h"
#include "table/pc_cache.h"
#include "base/pc_err.h"
#include "platform/pc_platform.h"
#include "probe/pc_probe.h"

#define PC_READ_BUF 8192
#define PC_WARMUP   2 /* rounds run before measuring, so the probe holds its fds */

/* What the probe holds per process, as in pc_probe_procfs.c: three files
 * re-read every tick and the fd directory (fstat'ed, opened O_PATH).
 * status is opened, read and closed once in PC_PROBE_STATUS_EVERY ticks. */
enum { PC_F_STAT, PC_F_STATM, PC_F_IO, PC_F_FD, PC_N_FILES };
static const char *const pc_file_names[PC_N_FILES] = { "stat", "statm", "io", "fd" };

/* The ways of reading every process, measured in turn each round. */
enum { PC_M_PROBE, PC_M_PROBE_ONLY, PC_M_BARE, PC_M_REOPEN, PC_N_METHODS };
static const char *const pc_method_names[PC_N_METHODS] = { "probe", "probe-only",
	                                                   "bare held-fd loop",
	                                                   "reopen each tick" };

static volatile sig_atomic_t pc_stop;

/* One process's held fds for the bare loop. */
typedef struct pc_held {
	uint32_t pid;
	int      fd[PC_N_FILES];
} pc_held;

/* Everything a round needs. */
typedef struct pc_bench {
	pc_probe   *probe;
	pc_cache   *cache;
	pc_snapshot snap;
	pc_delta    delta;
	DIR        *proc;
	int         proc_fd;
	pc_held    *held; /* sorted by PID, as /proc lists them */
	size_t      n_held;
	uint64_t    tick; /* of the bare loops, to read status when the probe would */
	char        buf[PC_READ_BUF];
} pc_bench;

static void
pc_on_signal(int sig)
{
	(void)sig;
	pc_stop = 1;
}

static void
pc_path(char *out, const char *pid, const char *file)
{
	stpcpy(stpcpy(stpcpy(out, pid), "/"), file);
}

static int
pc_held_cmp(const void *a, const void *b)
{
	uint32_t x = ((const pc_held *)a)->pid, y = ((const pc_held *)b)->pid;

	return (x > y) - (x < y);
}

/* Opens the three files of every listed process, once. */
static int
pc_held_open(pc_bench *b)
{
	struct dirent *d;
	size_t         cap = 0;
	char           path[64];

	rewinddir(b->proc);
	while ((d = readdir(b->proc)) != NULL) {
		uint32_t pid = pc_pid_of(d->d_name);
		pc_held *h;
		if (pid == 0) {
			continue;
		}
		if (b->n_held == cap) {
			cap        = cap ? cap * 2 : 1024;
			pc_held *n = realloc(b->held, cap * sizeof(*n));
			if (n == NULL) {
				return -ENOMEM;
			}
			b->held = n;
		}
		h      = &b->held[b->n_held++];
		h->pid = pid;
		for (int f = 0; f < PC_N_FILES; f++) {
			pc_path(path, d->d_name, pc_file_names[f]);
			h->fd[f] = openat(b->proc_fd, path,
			                  f == PC_F_FD ? O_PATH | O_DIRECTORY | O_CLOEXEC
			                               : O_RDONLY | O_CLOEXEC);
		}
	}
	qsort(b->held, b->n_held, sizeof(*b->held), pc_held_cmp);
	return 0;
}

static void
pc_held_close(pc_bench *b)
{
	for (size_t i = 0; i < b->n_held; i++) {
		for (int f = 0; f < PC_N_FILES; f++) {
			if (b->held[i].fd[f] >= 0) {
				close(b->held[i].fd[f]);
			}
		}
	}
	free(b->held);
}

/* Reads status when the probe would: once in PC_PROBE_STATUS_EVERY ticks. */
static void
pc_read_status(pc_bench *b, uint32_t pid, const char *name)
{
	char path[64];
	int  fd;

	if ((b->tick + pid) % PC_PROBE_STATUS_EVERY != 0) {
		return;
	}
	pc_path(path, name, "status");
	if ((fd = openat(b->proc_fd, path, O_RDONLY | O_CLOEXEC)) >= 0) {
		(void)pread(fd, b->buf, sizeof(b->buf), 0);
		close(fd);
	}
}

/* The probe's syscalls alone: list /proc, pread the held files, fstat the
 * fd directory, status now and then. PIDs are matched by walking the
 * sorted set beside readdir. */
static size_t
pc_tick_bare(pc_bench *b)
{
	struct dirent *d;
	struct stat    st;
	size_t         cur = 0, n = 0;

	b->tick++;
	rewinddir(b->proc);
	while ((d = readdir(b->proc)) != NULL) {
		uint32_t pid = pc_pid_of(d->d_name);
		pc_held *h;
		if (pid == 0) {
			continue;
		}
		while (cur < b->n_held && b->held[cur].pid < pid) {
			cur++;
		}
		if (cur == b->n_held || b->held[cur].pid != pid) {
			continue;
		}
		h = &b->held[cur];
		if (pread(h->fd[PC_F_STAT], b->buf, sizeof(b->buf), 0) < 0) {
			continue;
		}
		(void)pread(h->fd[PC_F_STATM], b->buf, sizeof(b->buf), 0);
		(void)pread(h->fd[PC_F_IO], b->buf, sizeof(b->buf), 0);
		(void)fstat(h->fd[PC_F_FD], &st);
		pc_read_status(b, pid, d->d_name);
		n++;
	}
	return n;
}

/* The same reads with nothing held: openat, read and close every file.
 * A process counts when its stat was read, as in the other loops. */
static size_t
pc_tick_reopen(pc_bench *b)
{
	struct dirent *d;
	struct stat    st;
	size_t         n = 0;
	char           path[64];

	b->tick++;
	rewinddir(b->proc);
	while ((d = readdir(b->proc)) != NULL) {
		uint32_t pid = pc_pid_of(d->d_name);
		if (pid == 0) {
			continue;
		}
		for (int f = 0; f < PC_F_FD; f++) {
			int     fd;
			ssize_t r;
			pc_path(path, d->d_name, pc_file_names[f]);
			if ((fd = openat(b->proc_fd, path, O_RDONLY | O_CLOEXEC)) < 0) {
				continue;
			}
			r = read(fd, b->buf, sizeof(b->buf));
			close(fd);
			n += f == PC_F_STAT && r >= 0;
		}
		pc_path(path, d->d_name, "fd");
		(void)fstatat(b->proc_fd, path, &st, 0);
		pc_read_status(b, pid, d->d_name);
	}
	return n;
}

/* One tick of one method: its time in us and the processes it read. */
static int
pc_tick(pc_bench *b, int method, uint64_t *us, size_t *n)
{
	uint64_t now = pc_clock_realtime_ms();
	uint64_t t0  = pc_clock_mono_us();
	int      rv  = PC_OK;

	switch (method) {
	case PC_M_PROBE:
	case PC_M_PROBE_ONLY:
		rv = pc_probe_processes_by_pid(b->probe, now, true, &b->snap);
		if (rv == PC_OK && method == PC_M_PROBE) {
			rv = pc_cache_update(b->cache, &b->snap, &b->delta);
		}
		*n = b->snap.n;
		break;
	case PC_M_BARE:
		*n = pc_tick_bare(b);
		break;
	default:
		*n = pc_tick_reopen(b);
		break;
	}
	*us = pc_clock_mono_us() - t0;
	return rv;
}

static void
pc_usage(FILE *f)
{
	fprintf(f, "usage: bench_probe [--procs N] [--rounds R]\n"
	           "  --procs N   helper processes to start (default 1000)\n"
	           "  --rounds R  measured rounds, each method once a round (default 15)\n");
}

static void
pc_report(double *us[PC_N_METHODS], double *procs[PC_N_METHODS], size_t rounds, size_t n_children,
          rlim_t nofile)
{
	double         med[PC_N_METHODS], seen[PC_N_METHODS], ms_tick[PC_N_METHODS];
	struct utsname u;

	for (int m = 0; m < PC_N_METHODS; m++) {
		med[m]     = pc_median(us[m], rounds);
		seen[m]    = pc_median(procs[m], rounds);
		ms_tick[m] = med[m] * seen[m] / 1000.0;
	}
	if (uname(&u) != 0) {
		strcpy(u.release, "?");
	}
	printf("bench_probe: %zu helpers, %zu rounds, %ld CPUs, Linux %s, RLIMIT_NOFILE %llu\n\n",
	       n_children, rounds, sysconf(_SC_NPROCESSORS_ONLN), u.release,
	       (unsigned long long)nofile);
	printf("%-20s %14s %10s %10s\n", "method (median)", "us/proc/tick", "ms/tick", "procs");
	for (int m = 0; m < PC_N_METHODS; m++) {
		printf("%-20s %14.2f %10.2f %10.0f\n", pc_method_names[m], med[m], ms_tick[m],
		       seen[m]);
	}
	printf("\n%-20s %13.2fx\n", "probe / bare", med[PC_M_PROBE] / med[PC_M_BARE]);
	printf("%-20s %13.2fx\n", "probe-only / bare", med[PC_M_PROBE_ONLY] / med[PC_M_BARE]);
	printf("%-20s %13.2fx\n", "reopen / bare", med[PC_M_REOPEN] / med[PC_M_BARE]);
	printf("%-20s %13.2fx\n", "probe / reopen", med[PC_M_PROBE] / med[PC_M_REOPEN]);
	printf("\nagent tick (probe + cache): %.2f ms for %.0f processes\n", ms_tick[PC_M_PROBE],
	       seen[PC_M_PROBE]);
}

/* Warm-up rounds, then the measured ones; each round runs every method
 * once, starting from the next one each round so order does not favour any. */
static int
pc_run(pc_bench *b, double *us[PC_N_METHODS], double *procs[PC_N_METHODS], size_t rounds)
{
	for (size_t r = 0; r < rounds + PC_WARMUP; r++) {
		for (int k = 0; k < PC_N_METHODS; k++) {
			int      m = (int)((r + (size_t)k) % PC_N_METHODS);
			uint64_t t;
			size_t   n;
			int      rv;
			if (pc_stop) {
				return -EINTR;
			}
			if ((rv = pc_tick(b, m, &t, &n)) != PC_OK) {
				fprintf(stderr, "bench_probe: %s: %s\n", pc_method_names[m],
				        pc_strerror(rv));
				return -EIO;
			}
			if (r >= PC_WARMUP) {
				us[m][r - PC_WARMUP]    = n ? (double)t / (double)n : 0;
				procs[m][r - PC_WARMUP] = (double)n;
			}
		}
	}
	return 0;
}

int
main(int argc, char **argv)
{
	size_t           n_children = 1000, rounds = 15;
	pc_bench        *b = NULL;
	double          *us[PC_N_METHODS], *procs[PC_N_METHODS];
	double          *samples = NULL;
	struct sigaction sa      = { .sa_handler = pc_on_signal };
	rlim_t           nofile;
	int              rv, status = 1;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--procs") == 0 && i + 1 < argc &&
		    pc_arg_size(argv[i + 1], 100000, &n_children)) {
			i++;
		} else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc &&
		           pc_arg_size(argv[i + 1], 100000, &rounds) && rounds > 0) {
			i++;
		} else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			pc_usage(stdout);
			return 0;
		} else {
			pc_usage(stderr);
			return 2;
		}
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	atexit(pc_helpers_stop);
	nofile = pc_raise_nofile();

	/* Children first, so that they inherit none of the fds opened below. */
	if ((rv = pc_helpers_start(n_children, &pc_stop)) != 0) {
		fprintf(stderr, "bench_probe: starting helper %zu: %s\n", pc_helpers_count() + 1,
		        strerror(-rv));
		goto out;
	}
	if ((b = calloc(1, sizeof(*b))) == NULL ||
	    (samples = calloc(2 * PC_N_METHODS * rounds, sizeof(*samples))) == NULL) {
		fprintf(stderr, "bench_probe: out of memory\n");
		goto out;
	}
	for (int m = 0; m < PC_N_METHODS; m++) {
		us[m]    = samples + (size_t)(2 * m) * rounds;
		procs[m] = us[m] + rounds;
	}
	b->proc_fd = -1;
	if ((rv = pc_probe_open("procfs", &b->probe)) != PC_OK ||
	    (rv = pc_cache_open(&b->cache, NULL)) != PC_OK) {
		fprintf(stderr, "bench_probe: %s\n", pc_strerror(rv));
		goto out;
	}
	if ((b->proc = opendir("/proc")) == NULL) {
		perror("bench_probe: /proc");
		goto out;
	}
	b->proc_fd = dirfd(b->proc);
	if ((rv = pc_held_open(b)) != 0) {
		fprintf(stderr, "bench_probe: %s\n", strerror(-rv));
		goto out;
	}
	if (nofile < 6 * b->n_held + 512) {
		fprintf(stderr,
		        "bench_probe: warning: RLIMIT_NOFILE %llu is short of 6 fds a "
		        "process: the probe will reopen files\n",
		        (unsigned long long)nofile);
	}
	if ((rv = pc_run(b, us, procs, rounds)) != 0) {
		if (rv == -EINTR) {
			fprintf(stderr, "bench_probe: interrupted\n");
		}
		goto out;
	}
	pc_report(us, procs, rounds, n_children, nofile);
	status = 0;
out:
	if (b != NULL) {
		pc_held_close(b);
		if (b->proc != NULL) {
			closedir(b->proc);
		}
		pc_delta_fini(&b->delta);
		pc_snapshot_fini(&b->snap);
		if (b->cache != NULL) {
			pc_cache_close(b->cache);
		}
		if (b->probe != NULL) {
			pc_probe_close(b->probe);
		}
	}
	free(b);
	free(samples);
	pc_helpers_stop();
	return status;
}
