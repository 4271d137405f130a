/* pc_bench_util.h: small helpers the Linux benchmarks share. */
#ifndef PC_BENCH_UTIL_H
#define PC_BENCH_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/resource.h>

/* The median of v[0..n), which it sorts. */
double pc_median(double *v, size_t n);

/* Raises the soft fd limit to the hard one; returns the soft limit. */
rlim_t pc_raise_nofile(void);

/* A whole number up to max from a flag's value. */
bool pc_arg_size(const char *s, size_t max, size_t *out);

#endif
