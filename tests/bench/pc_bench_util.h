/* pc_bench_util.h: small helpers the Linux benchmarks share. */
#ifndef PC_BENCH_UTIL_H
#define PC_BENCH_UTIL_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

/* The median of v[0..n), which it sorts. */
double pc_median(double *v, size_t n);

/* Raises the soft fd limit to the hard one; returns the soft limit. */
rlim_t pc_raise_nofile(void);

/* A whole number up to max from a flag's value. */
bool pc_arg_size(const char *s, size_t max, size_t *out);

/* The PID a /proc entry names, or 0 for the other entries. */
uint32_t pc_pid_of(const char *name);

/* Forks n helpers that block in pause() until killed and die with the
 * benchmark (PR_SET_PDEATHSIG); stops early when *stop is set. Returns 0 or
 * -errno; pc_helpers_count() says how many started. */
int    pc_helpers_start(size_t n, volatile sig_atomic_t *stop);
size_t pc_helpers_count(void);
/* Kills the helpers by PID and reaps them; safe to call twice. */
void pc_helpers_stop(void);

/* In a new child: die with the parent, with the default signal actions. */
void pc_child_init(pid_t parent);

/* waitpid, through EINTR. */
void pc_reap(pid_t pid);

#endif
