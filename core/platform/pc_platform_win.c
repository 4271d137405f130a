/* pc_platform_win.c: clocks, host name and stop requests for Windows. */
#include <windows.h>

#include <io.h>
#include <stdio.h>

#include "base/pc_err.h"
#include "base/pc_utf8.h"
#include "platform/pc_platform.h"

/* FILETIME counts 100 ns since 1601-01-01; Unix time starts 11644473600 s later. */
#define EPOCH_DIFF_100NS 116444736000000000ULL

uint64_t
pc_clock_realtime_ms(void)
{
	FILETIME       ft;
	ULARGE_INTEGER u;

	GetSystemTimePreciseAsFileTime(&ft);
	u.LowPart  = ft.dwLowDateTime;
	u.HighPart = ft.dwHighDateTime;
	return (u.QuadPart - EPOCH_DIFF_100NS) / 10000u;
}

uint64_t
pc_clock_mono_us(void)
{
	LARGE_INTEGER f, c;

	QueryPerformanceFrequency(&f);
	QueryPerformanceCounter(&c);
	return (uint64_t)(c.QuadPart / f.QuadPart) * 1000000u +
	       (uint64_t)(c.QuadPart % f.QuadPart) * 1000000u / (uint64_t)f.QuadPart;
}

/* The Windows heap has no per-thread arenas to bound. */
void
pc_one_arena(void)
{
}

/* Sockets and handles have no per-process limit that matters here. */
size_t
pc_fd_limit(void)
{
	return 0;
}

int
pc_hostname(char *buf, size_t cap)
{
	WCHAR w[256];
	DWORD n = (DWORD)(sizeof(w) / sizeof(w[0]));

	/* The wide form: the A form answers in the ANSI code page, not UTF-8. */
	if (!GetComputerNameExW(ComputerNameDnsHostname, w, &n)) {
		return PC_ESYS;
	}
	pc_utf8_from_utf16(buf, cap, (const uint16_t *)w, n);
	return PC_OK;
}

static volatile LONG stop_flag;

static BOOL WINAPI
on_console(DWORD type)
{
	(void)type; /* Ctrl-C, Ctrl-Break, close, logoff, shutdown: all stop */
	InterlockedExchange(&stop_flag, 1);
	return TRUE;
}

int
pc_catch_stop(void)
{
	return SetConsoleCtrlHandler(on_console, TRUE) ? PC_OK : PC_ESYS;
}

bool
pc_stop_requested(void)
{
	return InterlockedCompareExchange(&stop_flag, 0, 0) != 0;
}

void
pc_request_stop(void)
{
	InterlockedExchange(&stop_flag, 1);
}

bool
pc_stdout_is_tty(void)
{
	return _isatty(_fileno(stdout)) != 0;
}
