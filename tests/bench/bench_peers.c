/* bench_peers.c: the probes' steady tick per process (bpf and procfs, each
 * with the cache) beside the bare held-fd loop, ps, psutil and
 * process-exporter, all in one run, in turn each round. */
#define _GNU_SOURCE /* pread, openat, fstatat, prctl, pipe2 */
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

#define PC_READ_BUF   8192
#define PC_WARMUP     2   /* rounds run before measuring, so every method holds what it holds */
#define PC_FD_RESERVE 256 /* as the probe: fds left free when holding */
#define PC_PS_FIELDS  "pid,ppid,comm,nlwp,rss,vsz,time,args"

/* The ways of reading every process, run in turn each round. */
enum { PC_M_BPF, PC_M_PROCFS, PC_M_BARE, PC_M_PS, PC_M_PSUTIL, PC_M_EXPORTER, PC_N_METHODS };
static const char *const pc_names[PC_N_METHODS] = { "pidcast-bpf", "pidcast-procfs",
	                                            "bare-loop",   "ps",
	                                            "psutil",      "process-exporter" };

/* Every process started here, killed by PID on every exit. */
static pid_t                 pc_worker, pc_psutil;
static volatile sig_atomic_t pc_stop;

/* One tick's result from the bare loop's worker process. */
typedef struct pc_bare_result {
	uint64_t us, n, held;
} pc_bare_result;

typedef struct pc_bench {
	pc_probe   *probe[2]; /* bpf (NULL where it cannot load), procfs */
	pc_cache   *cache[2];
	pc_snapshot snap[2];
	pc_delta    delta[2];
	int         bare_cmd, bare_res;     /* pipes to the bare-loop worker */
	FILE       *psutil_in, *psutil_out; /* pipes to the psutil script */
	pid_t       exporter;               /* 0 when not measured */
	const char *exporter_url;
	uint64_t    exporter_cpu_us, exporter_procs; /* totals over the measured rounds */
	uint64_t    bare_held;
} pc_bench;

static void
pc_on_signal(int sig)
{
	(void)sig;
	pc_stop = 1;
}

/* Everything this program started: the helpers, the bare-loop worker and
 * the psutil script, killed by PID. */
static void
pc_children_stop(void)
{
	pid_t extra[2] = { pc_worker, pc_psutil };

	for (int i = 0; i < 2; i++) {
		if (extra[i] > 0) {
			kill(extra[i], SIGKILL);
			pc_reap(extra[i]);
		}
	}
	pc_worker = pc_psutil = 0;
	pc_helpers_stop();
}

/* What the probe holds per process, as in pc_probe_procfs.c: stat, statm,
 * io and the fd directory (opened O_PATH, fstat'ed). status is opened, read
 * and closed once in PC_PROBE_STATUS_EVERY ticks. */
#define PC_BARE_FILES 4
static const char *const pc_bare_files[PC_BARE_FILES] = { "stat", "statm", "io", "fd" };

/* The bare loop's held fds, indexed by PID (PIDs are below pid_max). */
typedef struct pc_bare {
	int (*fd)[PC_BARE_FILES];
	size_t   max_pid, held, budget;
	uint64_t tick;
	char     buf[PC_READ_BUF];
} pc_bare;

/* Reads PID/file with the held fd, or opens it, holding it while the budget allows. */
static void
pc_bare_read(pc_bare *w, int proc_fd, uint32_t p, int f)
{
	int         flags = f == 3 ? O_PATH | O_DIRECTORY | O_CLOEXEC : O_RDONLY | O_CLOEXEC;
	char        path[64];
	struct stat st;
	int         fd = p < w->max_pid ? w->fd[p][f] : -1;

	if (fd >= 0 && (f == 3 ? fstat(fd, &st) : pread(fd, w->buf, sizeof(w->buf), 0)) >= 0) {
		return;
	}
	snprintf(path, sizeof(path), "%u/%s", p, pc_bare_files[f]);
	if ((fd = openat(proc_fd, path, flags)) < 0) {
		return;
	}
	(void)(f == 3 ? fstat(fd, &st) : pread(fd, w->buf, sizeof(w->buf), 0));
	if (p < w->max_pid && w->fd[p][f] < 0 && w->held < w->budget) {
		w->fd[p][f] = fd;
		w->held++;
	} else {
		close(fd);
	}
}

/* One tick of the probe's syscalls and nothing else: list /proc, read stat,
 * statm and io and fstat the fd directory (held as the probe holds them),
 * read status now and then. */
static uint64_t
pc_bare_tick(pc_bare *w, DIR *proc)
{
	struct dirent *d;
	uint64_t       n = 0;
	char           path[64];

	w->tick++;
	rewinddir(proc);
	while ((d = readdir(proc)) != NULL) {
		uint32_t p = pc_pid_of(d->d_name);
		if (p == 0) {
			continue;
		}
		for (int f = 0; f < PC_BARE_FILES; f++) {
			pc_bare_read(w, dirfd(proc), p, f);
		}
		if ((w->tick + p) % PC_PROBE_STATUS_EVERY == 0) {
			int fd;
			snprintf(path, sizeof(path), "%u/status", p);
			if ((fd = openat(dirfd(proc), path, O_RDONLY | O_CLOEXEC)) >= 0) {
				(void)pread(fd, w->buf, sizeof(w->buf), 0);
				close(fd);
			}
		}
		n++;
	}
	return n;
}

/* The bare loop runs in its own process so that its fds do not take from the
 * probe's budget: one tick a byte read from cmd, one result written to res. */
static void
pc_bare_worker(int cmd, int res, size_t budget)
{
	static pc_bare w;
	DIR           *proc = opendir("/proc");
	FILE          *f    = fopen("/proc/sys/kernel/pid_max", "r");
	char           c;

	if (f == NULL || fscanf(f, "%zu", &w.max_pid) != 1 || proc == NULL ||
	    (w.fd = malloc(w.max_pid * sizeof(*w.fd))) == NULL) {
		_exit(1);
	}
	fclose(f);
	memset(w.fd, -1, w.max_pid * sizeof(*w.fd));
	w.budget = budget;
	while (read(cmd, &c, 1) == 1) {
		pc_bare_result r;
		uint64_t       t0 = pc_clock_mono_us();
		r.n               = pc_bare_tick(&w, proc);
		r.us              = pc_clock_mono_us() - t0;
		r.held            = w.held;
		if (write(res, &r, sizeof(r)) != (ssize_t)sizeof(r)) {
			break;
		}
	}
	_exit(0);
}

/* Starts a child running argv (or the bare worker when argv is NULL) with
 * pipes to its stdin and from its stdout. */
static pid_t
pc_spawn(char *const argv[], int *to, int *from, size_t budget)
{
	int   in[2], out[2];
	pid_t parent = getpid(), pid;

	if (pipe2(in, O_CLOEXEC) != 0) {
		return -1;
	}
	if (pipe2(out, O_CLOEXEC) != 0) {
		close(in[0]);
		close(in[1]);
		return -1;
	}
	if ((pid = fork()) == 0) {
		pc_child_init(parent);
		if (argv == NULL) {
			pc_bare_worker(in[0], out[1], budget);
		}
		dup2(in[0], 0);
		dup2(out[1], 1);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	*to   = in[1];
	*from = out[0];
	return pid;
}

/* Runs argv to completion, its stdout counted in lines; returns its wall time in us. */
static int
pc_run_cmd(char *const argv[], uint64_t *us, size_t *lines)
{
	char     buf[65536];
	int      to, from, status;
	ssize_t  n;
	uint64_t t0  = pc_clock_mono_us();
	pid_t    pid = pc_spawn(argv, &to, &from, 0);

	if (pid < 0) {
		return -errno;
	}
	close(to);
	*lines = 0;
	while ((n = read(from, buf, sizeof(buf))) > 0 || (n < 0 && errno == EINTR)) {
		for (ssize_t i = 0; i < n; i++) {
			*lines += buf[i] == '\n';
		}
	}
	close(from);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
	}
	*us = pc_clock_mono_us() - t0;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -ECHILD;
}

/* utime + stime of a process, all threads, in us. */
static int
pc_cpu_us(pid_t pid, uint64_t *out)
{
	char               path[64], buf[1024], *p;
	unsigned long long ut, st;
	FILE              *f;
	size_t             n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((f = fopen(path, "r")) == NULL) {
		return -errno;
	}
	n      = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	if ((p = strrchr(buf, ')')) == NULL ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2) {
		return -EINVAL;
	}
	*out = (ut + st) * 1000000ull / (unsigned long long)sysconf(_SC_CLK_TCK);
	return 0;
}

/* One tick of one method: its time in us (exporter: its CPU time) and the
 * processes it saw. */
static int
pc_tick(pc_bench *b, int m, uint64_t *us, size_t *n)
{
	static char *ps[]   = { "ps", "-eo", PC_PS_FIELDS, NULL };
	char        *curl[] = { "curl", "-sf", "-o", "/dev/null", (char *)b->exporter_url, NULL };
	uint64_t     t0     = pc_clock_mono_us(), c0, c1;
	int          rv     = 0;

	switch (m) {
	case PC_M_BPF:
	case PC_M_PROCFS: {
		int i = m == PC_M_PROCFS;
		rv    = pc_probe_processes_by_pid(b->probe[i], pc_clock_realtime_ms(), true,
		                                  &b->snap[i]);
		if (rv == PC_OK) {
			rv = pc_cache_update(b->cache[i], &b->snap[i], &b->delta[i]);
		}
		*us = pc_clock_mono_us() - t0;
		*n  = b->snap[i].n;
		return rv == PC_OK ? 0 : -EIO;
	}
	case PC_M_BARE: {
		pc_bare_result r;
		if (write(b->bare_cmd, "t", 1) != 1 ||
		    read(b->bare_res, &r, sizeof(r)) != sizeof(r)) {
			return -EPIPE;
		}
		*us          = r.us;
		*n           = r.n;
		b->bare_held = r.held;
		return 0;
	}
	case PC_M_PS:
		rv = pc_run_cmd(ps, us, n);
		*n -= *n > 0; /* the header */
		return rv;
	case PC_M_PSUTIL: {
		unsigned long long u, k;
		if (fputs("t\n", b->psutil_in) == EOF || fflush(b->psutil_in) != 0 ||
		    fscanf(b->psutil_out, "%llu %llu", &u, &k) != 2) {
			return -EPIPE;
		}
		*us = u;
		*n  = k;
		return 0;
	}
	default:
		if ((rv = pc_cpu_us(b->exporter, &c0)) != 0 ||
		    (rv = pc_run_cmd(curl, us, n)) != 0 ||
		    (rv = pc_cpu_us(b->exporter, &c1)) != 0) {
			return rv;
		}
		*us = c1 - c0;
		*n  = b->snap[1].n; /* it sees what procfs saw this round */
		return 0;
	}
}

static size_t
pc_count_fds(void)
{
	DIR   *d = opendir("/proc/self/fd");
	size_t n = 0;

	if (d == NULL) {
		return 0;
	}
	while (readdir(d) != NULL) {
		n++;
	}
	closedir(d);
	return n > 3 ? n - 3 : 0; /* ".", "..", and the directory's own fd */
}

static bool
pc_on(const pc_bench *b, int m)
{
	return (m != PC_M_BPF || b->probe[0] != NULL) &&
	       (m != PC_M_PSUTIL || b->psutil_in != NULL) && (m != PC_M_EXPORTER || b->exporter);
}

/* Warm-up rounds, then measured ones; each round runs every method once,
 * starting from the next one each round so that order favours none. */
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
			if (!pc_on(b, m)) {
				continue;
			}
			if ((rv = pc_tick(b, m, &t, &n)) != 0) {
				fprintf(stderr, "bench_peers: %s: %s\n", pc_names[m],
				        strerror(-rv));
				return rv;
			}
			if (r < PC_WARMUP) {
				continue;
			}
			us[m][r - PC_WARMUP]    = n ? (double)t / (double)n : 0;
			procs[m][r - PC_WARMUP] = (double)n;
			if (m == PC_M_EXPORTER) {
				b->exporter_cpu_us += t;
				b->exporter_procs += n;
			}
		}
	}
	return 0;
}

static void
pc_report(pc_bench *b, double *us[PC_N_METHODS], double *procs[PC_N_METHODS], size_t rounds,
          size_t bpf_fds, size_t procfs_fds)
{
	int base = pc_on(b, PC_M_BPF) ? PC_M_BPF : PC_M_PROCFS; /* the "x" column's */

	double         med[PC_N_METHODS], seen[PC_N_METHODS];
	struct utsname u;

	if (uname(&u) != 0) {
		strcpy(u.release, "?");
	}
	printf("bench_peers: %zu helpers, %zu rounds, %ld CPUs, Linux %s\n", pc_helpers_count(),
	       rounds, sysconf(_SC_NPROCESSORS_ONLN), u.release);
	printf("fds held: bpf %zu, procfs %zu, bare loop %llu (4 a process at most)\n\n", bpf_fds,
	       procfs_fds, (unsigned long long)b->bare_held);
	printf("%-18s %14s %10s %8s %12s\n", "method", "us/proc/tick", "ms/tick", "procs",
	       base == PC_M_BPF ? "x bpf" : "x procfs");
	for (int m = 0; m < PC_N_METHODS; m++) {
		med[m] = 0;
		if (pc_on(b, m)) {
			med[m] = pc_median(us[m], rounds);
		}
	}
	for (int m = 0; m < PC_N_METHODS; m++) {
		if (!pc_on(b, m)) {
			printf("%-18s %14s\n", pc_names[m], "n/a");
			continue;
		}
		med[m]  = pc_median(us[m], rounds);
		seen[m] = pc_median(procs[m], rounds);
		if (m == PC_M_EXPORTER) { /* CPU time in clock ticks: the mean over all scrapes */
			med[m] = (double)b->exporter_cpu_us / (double)b->exporter_procs;
		}
		printf("%-18s %14.2f %10.2f %8.0f %11.2fx\n", pc_names[m], med[m],
		       med[m] * seen[m] / 1000.0, seen[m], med[m] / med[base]);
	}
	printf("\nbpf, procfs, bare, psutil: wall time of one pass; ps: wall time of the whole "
	       "command;\nprocess-exporter: its CPU time (/proc/PID/stat) per /metrics scrape, "
	       "mean of %zu.\n",
	       rounds);
}

static void
pc_usage(FILE *f)
{
	fprintf(f, "usage: bench_peers [--procs N] [--rounds R] [--psutil SCRIPT]\n"
	           "                   [--exporter PID URL]\n"
	           "  --procs N         helper processes to start (default 1000)\n"
	           "  --rounds R        measured rounds (default 9)\n"
	           "  --psutil SCRIPT   bench_psutil.py (run as is: Debian's python3)\n"
	           "  --exporter PID URL  a running process-exporter and its /metrics URL\n");
}

/* Starts the bare worker and the psutil script; the probe is opened later so
 * that neither inherits its fds. */
static int
pc_peers_start(pc_bench *b, const char *psutil, rlim_t nofile)
{
	char *py[] = { (char *)psutil, NULL };
	int   to, from;

	if ((pc_worker = pc_spawn(NULL, &b->bare_cmd, &b->bare_res,
	                          nofile > PC_FD_RESERVE ? nofile - PC_FD_RESERVE : 0)) < 0) {
		return -errno;
	}
	if (psutil == NULL) {
		return 0;
	}
	if ((pc_psutil = pc_spawn(py, &to, &from, 0)) < 0) {
		return -errno;
	}
	b->psutil_in  = fdopen(to, "w");
	b->psutil_out = fdopen(from, "r");
	return b->psutil_in && b->psutil_out ? 0 : -ENOMEM;
}

int
main(int argc, char **argv)
{
	size_t           n_children = 1000, rounds = 9, exporter = 0, fds0, bpf_fds, procfs_fds;
	const char      *psutil = NULL;
	pc_bench         b      = { .bare_cmd = -1, .bare_res = -1 };
	double          *us[PC_N_METHODS], *procs[PC_N_METHODS], *samples = NULL;
	struct sigaction sa = { .sa_handler = pc_on_signal };
	rlim_t           nofile;
	char             why[512];
	int              rv, status = 1;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--procs") == 0 && i + 1 < argc &&
		    pc_arg_size(argv[i + 1], 100000, &n_children)) {
			i++;
		} else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc &&
		           pc_arg_size(argv[i + 1], 100000, &rounds) && rounds > 0) {
			i++;
		} else if (strcmp(argv[i], "--psutil") == 0 && i + 1 < argc) {
			psutil = argv[++i];
		} else if (strcmp(argv[i], "--exporter") == 0 && i + 2 < argc &&
		           pc_arg_size(argv[i + 1], 1u << 30, &exporter) && exporter > 0) {
			b.exporter     = (pid_t)exporter;
			b.exporter_url = argv[i + 2];
			i += 2;
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
	signal(SIGPIPE, SIG_IGN);
	atexit(pc_children_stop);
	nofile = pc_raise_nofile();

	if ((rv = pc_helpers_start(n_children, &pc_stop)) != 0) {
		fprintf(stderr, "bench_peers: starting helper %zu: %s\n", pc_helpers_count() + 1,
		        strerror(-rv));
		goto out;
	}
	if ((rv = pc_peers_start(&b, psutil, nofile)) != 0) {
		fprintf(stderr, "bench_peers: starting peers: %s\n", strerror(-rv));
		goto out;
	}
	if ((samples = calloc(2 * PC_N_METHODS * rounds, sizeof(*samples))) == NULL) {
		fprintf(stderr, "bench_peers: out of memory\n");
		goto out;
	}
	for (int m = 0; m < PC_N_METHODS; m++) {
		us[m]    = samples + (size_t)(2 * m) * rounds;
		procs[m] = us[m] + rounds;
	}
	fds0 = pc_count_fds();
	if (pc_probe_open_why("bpf", &b.probe[0], why, sizeof(why)) != PC_OK) {
		fprintf(stderr, "bench_peers: no bpf probe (%s): procfs only\n", why);
		b.probe[0] = NULL;
	}
	bpf_fds = pc_count_fds() - fds0;
	if ((rv = pc_probe_open("procfs", &b.probe[1])) != PC_OK ||
	    (rv = pc_cache_open(&b.cache[0], NULL)) != PC_OK ||
	    (rv = pc_cache_open(&b.cache[1], NULL)) != PC_OK) {
		fprintf(stderr, "bench_peers: %s\n", pc_strerror(rv));
		goto out;
	}
	if ((rv = pc_run(&b, us, procs, rounds)) != 0) {
		if (rv == -EINTR) {
			fprintf(stderr, "bench_peers: interrupted\n");
		}
		goto out;
	}
	/* Less procfs's /proc directory and what bpf holds (its program, map
	 * and link; no file per process). */
	procfs_fds = pc_count_fds() - fds0 - bpf_fds - 1;
	pc_report(&b, us, procs, rounds, bpf_fds, procfs_fds);
	status = 0;
out:
	if (b.psutil_in != NULL) {
		fclose(b.psutil_in);
	}
	if (b.psutil_out != NULL) {
		fclose(b.psutil_out);
	}
	if (b.bare_cmd >= 0) {
		close(b.bare_cmd);
		close(b.bare_res);
	}
	for (int i = 0; i < 2; i++) {
		pc_delta_fini(&b.delta[i]);
		pc_snapshot_fini(&b.snap[i]);
		if (b.cache[i] != NULL) {
			pc_cache_close(b.cache[i]);
		}
		pc_probe_close(b.probe[i]);
	}
	free(samples);
	pc_children_stop();
	return status;
}
