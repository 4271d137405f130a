/* pc_platform_posix.c: clocks and probe backends for Linux. */
#define _POSIX_C_SOURCE 200809L
#include <time.h>

#include "pc_platform.h"
#include "pc_probe.h"

extern const pc_probe_ops pc_probe_procfs_ops;

const pc_probe_ops *const pc_probe_backends[] = { &pc_probe_procfs_ops, NULL };

static uint64_t
ms(const struct timespec *ts)
{
	return (uint64_t)ts->tv_sec * 1000u + (uint64_t)ts->tv_nsec / 1000000u;
}

uint64_t
pc_clock_realtime_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ms(&ts);
}

uint64_t
pc_clock_mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}
