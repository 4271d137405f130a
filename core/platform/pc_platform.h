/* pc_platform.h: the little that differs between OSes above the probes:
 * clocks, the host name, and the stop request (SIGINT and SIGTERM; Ctrl-C
 * and console close on Windows; the service manager's stop). Implemented once per OS in
 * core/platform/. */
#ifndef PC_PLATFORM_H
#define PC_PLATFORM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Wall clock, Unix milliseconds. */
uint64_t pc_clock_realtime_ms(void);

/* A monotonic clock in microseconds, for intervals only. */
uint64_t pc_clock_mono_us(void);

/* The host's name, NUL-terminated, truncated to cap. PC_OK or PC_ESYS. */
int pc_hostname(char *buf, size_t cap);

/* The soft limit on this process's open files (raised to the hard limit
 * first where it is lower), for budgets of connections; 0 when there is
 * no such limit or it cannot be told (Windows). */
size_t pc_fd_limit(void);

/* Keeps the C library to one malloc arena (glibc; elsewhere nothing): by
 * default glibc gives busy threads arenas of their own, each keeping the
 * peak of the large requests it served, so a server's resident size climbs
 * with every thread that served one (with 2 arenas, to twice the peak).
 * Our threads mostly take turns at one lock, so they do not contend for
 * it. Call before threads start. */
void pc_one_arena(void);

/* Whether standard output is a terminal. */
bool pc_stdout_is_tty(void);

/* Turns the OS's stop requests into a flag that pc_stop_requested() reads. */
int  pc_catch_stop(void);
bool pc_stop_requested(void);

/* Raises the flag as a stop signal would: for a stop that comes another
 * way, such as the service manager's. Safe from any thread. */
void pc_request_stop(void);

#endif
