/* pc_bench_util.c: medians, the fd limit and flag values for benchmarks. */
#include "pc_bench_util.h"

#include <stdint.h>
#include <stdlib.h>

#include "pc_parse.h"

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
