/* pc_platform_posix.c: clocks, host name and stop requests for Linux. */
#define _POSIX_C_SOURCE 200809L
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#ifdef __GLIBC__
#include <malloc.h> /* mallopt */
#endif

#include "base/pc_err.h"
#include "platform/pc_platform.h"

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

int
pc_hostname(char *buf, size_t cap)
{
	if (gethostname(buf, cap) != 0) {
		return PC_ESYS;
	}
	buf[cap - 1] = '\0';
	return PC_OK;
}

size_t
pc_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
		return 0;
	}
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
		(void)getrlimit(RLIMIT_NOFILE, &rl);
	}
	return rl.rlim_cur == RLIM_INFINITY ? 0 : (size_t)rl.rlim_cur;
}

void
pc_one_arena(void)
{
#ifdef __GLIBC__
	(void)mallopt(M_ARENA_MAX, 1);
#endif
}

static volatile sig_atomic_t stop_flag;

static void
on_stop(int sig)
{
	(void)sig;
	stop_flag = 1;
}

int
pc_catch_stop(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGINT, &sa, NULL) != 0 || sigaction(SIGTERM, &sa, NULL) != 0) {
		return PC_ESYS;
	}
	/* A subscriber that goes away must not kill us with SIGPIPE. */
	signal(SIGPIPE, SIG_IGN);
	return PC_OK;
}

bool
pc_stop_requested(void)
{
	return stop_flag != 0;
}

void
pc_request_stop(void)
{
	stop_flag = 1;
}

bool
pc_stdout_is_tty(void)
{
	return isatty(STDOUT_FILENO) == 1;
}
