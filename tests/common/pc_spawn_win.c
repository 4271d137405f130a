/* pc_spawn_win.c: test children with CreateProcess and anonymous pipes. */
#include "pc_spawn.h"

#include <windows.h>

#include <psapi.h>

#include <fcntl.h>
#include <io.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct pc_child {
	PROCESS_INFORMATION pi;
	FILE               *in;  /* its stdin */
	FILE               *out; /* its stdout */
};

/* Our end of a pipe as a stdio stream. */
static FILE *
stream(HANDLE h, int flags, const char *mode)
{
	int fd = _open_osfhandle((intptr_t)h, flags);

	return fd < 0 ? NULL : _fdopen(fd, mode);
}

pc_child *
pc_child_start(const char *const *argv)
{
	SECURITY_ATTRIBUTES sa = { sizeof(sa), NULL, TRUE };
	STARTUPINFOA        si;
	HANDLE              in_r, in_w, out_r, out_w;
	static char         cmd[32768]; /* CreateProcess's limit; tests start one at a time */
	pc_child           *c = calloc(1, sizeof(*c));

	if (c == NULL) {
		return NULL;
	}
	cmd[0] = '\0';
	for (int i = 0; argv[i] != NULL; i++) {
		strncat(cmd, i ? " \"" : "\"", sizeof(cmd) - strlen(cmd) - 1);
		strncat(cmd, argv[i], sizeof(cmd) - strlen(cmd) - 1);
		strncat(cmd, "\"", sizeof(cmd) - strlen(cmd) - 1);
	}
	if (!CreatePipe(&in_r, &in_w, &sa, 0)) {
		free(c);
		return NULL;
	}
	if (!CreatePipe(&out_r, &out_w, &sa, 0)) {
		CloseHandle(in_r);
		CloseHandle(in_w);
		free(c);
		return NULL;
	}
	/* Only the child's ends are inherited. */
	SetHandleInformation(in_w, HANDLE_FLAG_INHERIT, 0);
	SetHandleInformation(out_r, HANDLE_FLAG_INHERIT, 0);
	memset(&si, 0, sizeof(si));
	si.cb         = sizeof(si);
	si.dwFlags    = STARTF_USESTDHANDLES;
	si.hStdInput  = in_r;
	si.hStdOutput = out_w;
	si.hStdError  = GetStdHandle(STD_ERROR_HANDLE);
	BOOL ok       = CreateProcessA(argv[0], cmd, NULL, NULL, TRUE, 0, NULL, NULL, &si, &c->pi);
	CloseHandle(in_r);
	CloseHandle(out_w);
	if (!ok) {
		CloseHandle(in_w);
		CloseHandle(out_r);
		free(c);
		return NULL;
	}
	c->in  = stream(in_w, _O_WRONLY, "w");
	c->out = stream(out_r, _O_RDONLY, "r");
	if (c->in == NULL || c->out == NULL) {
		pc_child_kill(c);
		return NULL;
	}
	return c;
}

uint32_t
pc_child_pid(const pc_child *c)
{
	return c->pi.dwProcessId;
}

int
pc_child_send(pc_child *c, const char *line)
{
	return fprintf(c->in, "%s\n", line) < 0 || fflush(c->in) != 0 ? -1 : 0;
}

int
pc_child_read_line(pc_child *c, char *buf, size_t cap)
{
	if (fgets(buf, (int)cap, c->out) == NULL) {
		return -1;
	}
	buf[strcspn(buf, "\r\n")] = '\0';
	return 0;
}

static void
child_free(pc_child *c)
{
	if (c->in != NULL) {
		fclose(c->in);
	}
	if (c->out != NULL) {
		fclose(c->out);
	}
	CloseHandle(c->pi.hThread);
	CloseHandle(c->pi.hProcess);
	free(c);
}

int
pc_child_wait(pc_child *c)
{
	DWORD code = (DWORD)-1;

	fclose(c->in);
	c->in = NULL;
	WaitForSingleObject(c->pi.hProcess, INFINITE);
	GetExitCodeProcess(c->pi.hProcess, &code);
	child_free(c);
	return (int)code;
}

void
pc_child_kill(pc_child *c)
{
	TerminateProcess(c->pi.hProcess, 137);
	WaitForSingleObject(c->pi.hProcess, INFINITE);
	child_free(c);
}

uint32_t
pc_self_pid(void)
{
	return GetCurrentProcessId();
}

unsigned long long
pc_test_counter_slack(void)
{
	return 0;
}

int
pc_test_fds_short(size_t n)
{
	(void)n;
	return 0;
}

/* GetTempPath plus a name from our PID and a counter, tried until one is
 * new: CreateDirectory fails on a name that exists. */
int
pc_test_mkdtemp(char *out, size_t cap)
{
	char  base[MAX_PATH];
	DWORD n = GetTempPathA(sizeof(base), base);

	if (n == 0 || n >= sizeof(base)) {
		return -1;
	}
	for (unsigned i = 0; i < 1000; i++) {
		int w = snprintf(out, cap, "%spidcast-test-%lu-%u", base,
		                 (unsigned long)GetCurrentProcessId(), i);
		if (w <= 0 || (size_t)w >= cap) {
			return -1;
		}
		if (CreateDirectoryA(out, NULL)) {
			return 0;
		}
		if (GetLastError() != ERROR_ALREADY_EXISTS) {
			return -1;
		}
	}
	return -1;
}

int
pc_test_rmdir(const char *path)
{
	return RemoveDirectoryA(path) ? 0 : -1;
}

void
pc_sleep_ms(unsigned ms)
{
	Sleep(ms);
}

/* Handle values are small multiples of 4: try each as a process handle.
 * (Wine keeps an exited process openable after its last handle closes, and
 * reports a handle count of 0, so neither of those can tell.) */
int
pc_test_holds_resource_of(uint32_t pid)
{
	for (uintptr_t h = 4; h < 0x20000; h += 4) {
		if (GetProcessId((HANDLE)h) == pid) {
			return 1;
		}
	}
	return 0;
}

int
pc_test_open_handles(uint32_t pid)
{
	HANDLE p = OpenProcess(PROCESS_DUP_HANDLE, FALSE, pid);
	int    n = 0;

	if (p == NULL) {
		return -1;
	}
	/* Handle values are multiples of 4, allocated from the lowest free;
	 * the first 4096 are plenty for a test's subject, and a leak shows
	 * well before them. */
	for (uintptr_t h = 4; h < 0x4000; h += 4) {
		HANDLE dup;
		if (DuplicateHandle(p, (HANDLE)h, GetCurrentProcess(), &dup, 0, FALSE,
		                    DUPLICATE_SAME_ACCESS)) {
			CloseHandle(dup);
			n++;
		}
	}
	CloseHandle(p);
	return n;
}

unsigned long
pc_test_rss_kib(void)
{
	PROCESS_MEMORY_COUNTERS m;

	memset(&m, 0, sizeof(m));
	m.cb = sizeof(m);
	return GetProcessMemoryInfo(GetCurrentProcess(), &m, sizeof(m))
	               ? (unsigned long)(m.WorkingSetSize / 1024u)
	               : 0;
}

int
pc_test_under_wine(void)
{
	HMODULE ntdll = GetModuleHandleA("ntdll.dll");

	return ntdll != NULL && GetProcAddress(ntdll, "wine_get_version") != NULL;
}
