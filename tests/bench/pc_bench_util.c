/* pc_bench_util.c: medians, the fd limit, flag values and helper processes
 * for benchmarks. */
#define _GNU_SOURCE
#include "pc_bench_util.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/pc_parse.h"

static int
pc_double_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

double
pc_median(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), pc_double_cmp);
	return n == 0 ? 0 : n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

rlim_t
pc_raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
		return 0;
	}
	rl.rlim_cur = rl.rlim_max;
	(void)setrlimit(RLIMIT_NOFILE, &rl);
	(void)getrlimit(RLIMIT_NOFILE, &rl);
	return rl.rlim_cur;
}

bool
pc_arg_size(const char *s, size_t max, size_t *out)
{
	uint64_t v;

	if (pc_parse_u64(s, &v) != 0 || v > max) {
		return false;
	}
	*out = (size_t)v;
	return true;
}

uint32_t
pc_pid_of(const char *name)
{
	char         *end;
	unsigned long v = strtoul(name, &end, 10);

	return *end == '\0' && end != name ? (uint32_t)v : 0;
}

/* The helpers started: the only processes pc_helpers_stop kills. */
static pid_t *pc_helpers;
static size_t pc_n_helpers;

void
pc_reap(pid_t pid)
{
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
	}
}

void
pc_child_init(pid_t parent)
{
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent) {
		_exit(0);
	}
}

int
pc_helpers_start(size_t n, volatile sig_atomic_t *stop)
{
	pid_t parent = getpid();

	if ((pc_helpers = calloc(n ? n : 1, sizeof(*pc_helpers))) == NULL) {
		return -ENOMEM;
	}
	for (size_t i = 0; i < n && !*stop; i++) {
		pid_t pid = fork();
		if (pid < 0) {
			return -errno;
		}
		if (pid == 0) {
			pc_child_init(parent);
			for (;;) {
				pause();
			}
		}
		pc_helpers[pc_n_helpers++] = pid;
	}
	return 0;
}

size_t
pc_helpers_count(void)
{
	return pc_n_helpers;
}

void
pc_helpers_stop(void)
{
	for (size_t i = 0; i < pc_n_helpers; i++) {
		kill(pc_helpers[i], SIGKILL);
	}
	for (size_t i = 0; i < pc_n_helpers; i++) {
		pc_reap(pc_helpers[i]);
	}
	pc_n_helpers = 0;
	free(pc_helpers);
	pc_helpers = NULL;
}
