/* pc_probe_toolhelp.c: the Windows probe, as the Datadog Agent's procutil
 * Toolhelp probe: CreateToolhelp32Snapshot and Process32FirstW/NextW list
 * the processes; each new one is opened once with
 * PROCESS_QUERY_LIMITED_INFORMATION and the handle is kept, which makes
 * every later tick a few calls on it and keeps the PID from being reused
 * while we hold it. What never changes (image path, command line, user) is
 * read once. A process we may not open keeps what Toolhelp gave and is
 * flagged partial. */
#include <windows.h>
#include <psapi.h>
#include <tlhelp32.h>
#include <sddl.h>
#include <winternl.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pc_err.h"
#include "pc_idmap.h"
#include "pc_probe.h"

extern const pc_probe_ops pc_probe_toolhelp_ops;

#define EPOCH_DIFF_100NS 116444736000000000ULL

/* NtQueryInformationProcess class for the command line (Windows 8.1+). */
#define PROCESS_COMMAND_LINE_INFORMATION 60

/* ProcessBasicInformation answers with this larger form when asked for it
 * (Windows 8+); bit 0 of Flags is IsProtectedProcess. */
typedef struct {
	SIZE_T                    Size;
	PROCESS_BASIC_INFORMATION BasicInfo;
	ULONG                     Flags;
} extended_basic_info;

static bool
is_protected(HANDLE h)
{
	extended_basic_info info;
	ULONG               n;

	memset(&info, 0, sizeof(info));
	info.Size = sizeof(info);
	if (NtQueryInformationProcess(h, ProcessBasicInformation, &info, sizeof(info), &n) < 0 ||
	    n != sizeof(info)) {
		return false; /* no extended form (older Windows, Wine): unknown */
	}
	return (info.Flags & 1u) != 0;
}

typedef struct went {
	DWORD       pid;
	DWORD       ppid;
	DWORD       threads; /* as of the last listing */
	uint64_t    create_time_ms;
	uint64_t    tick;
	HANDLE      h; /* NULL when the process could not be opened */
	char        name[MAX_PATH * 3];
	char       *exe;
	char       *cmdline;
	const char *user; /* owned by the SID cache */
	bool        static_partial;
} went;

typedef struct sid_name {
	char *sid; /* string form, the key */
	char *name;
} sid_name;

typedef struct toolhelp {
	pc_probe  base;
	pc_idmap  procs; /* pid -> went */
	sid_name *users;
	size_t    n_users;
	uint64_t  tick;
	DWORD    *gone;
	size_t    n_gone;
	size_t    cap_gone;
} toolhelp;

static uint64_t
ft_u64(const FILETIME *ft)
{
	return ((uint64_t)ft->dwHighDateTime << 32) | ft->dwLowDateTime;
}

static uint64_t
ft_unix_ms(const FILETIME *ft)
{
	uint64_t t = ft_u64(ft);

	return t > EPOCH_DIFF_100NS ? (t - EPOCH_DIFF_100NS) / 10000u : 0;
}

/* UTF-16 to a new UTF-8 string; n is the length in WCHARs, or -1. */
static char *
utf8_dup(const WCHAR *w, int n)
{
	int   len = WideCharToMultiByte(CP_UTF8, 0, w, n, NULL, 0, NULL, NULL);
	char *s;

	if (len <= 0 || (s = malloc((size_t)len + 1)) == NULL) {
		return NULL;
	}
	WideCharToMultiByte(CP_UTF8, 0, w, n, s, len, NULL, NULL);
	s[len] = '\0';
	return s;
}

static char *
image_path(HANDLE h)
{
	WCHAR buf[32768];
	DWORD n = (DWORD)(sizeof(buf) / sizeof(buf[0]));

	return QueryFullProcessImageNameW(h, 0, buf, &n) ? utf8_dup(buf, (int)n) : NULL;
}

/* DOMAIN\user of the process token, looked up once per SID. */
static const char *
token_user(toolhelp *t, HANDLE h)
{
	HANDLE tok;
	union {
		TOKEN_USER tu;
		BYTE       raw[256];
	} info;
	DWORD        n;
	char        *sid = NULL;
	WCHAR        name[256], dom[256];
	DWORD        nn = 256, dn = 256;
	SID_NAME_USE use;
	const char  *out = NULL;

	if (!OpenProcessToken(h, TOKEN_QUERY, &tok)) {
		return NULL;
	}
	if (!GetTokenInformation(tok, TokenUser, &info, sizeof(info), &n)) {
		CloseHandle(tok);
		return NULL;
	}
	CloseHandle(tok);
	if (!ConvertSidToStringSidA(info.tu.User.Sid, &sid)) {
		return NULL;
	}
	for (size_t i = 0; i < t->n_users; i++) {
		if (strcmp(t->users[i].sid, sid) == 0) {
			LocalFree(sid);
			return t->users[i].name;
		}
	}
	sid_name *grown = realloc(t->users, (t->n_users + 1) * sizeof(*grown));
	if (grown != NULL) {
		char *full = NULL;
		t->users   = grown;
		if (LookupAccountSidW(NULL, info.tu.User.Sid, name, &nn, dom, &dn, &use)) {
			char *u = utf8_dup(name, -1), *d = utf8_dup(dom, -1);
			if (u != NULL && d != NULL &&
			    (full = malloc(strlen(u) + strlen(d) + 2)) != NULL) {
				sprintf(full, "%s\\%s", d, u);
			}
			free(u);
			free(d);
		} else {
			full = pc_strdup(sid); /* an account with no name: its SID */
		}
		char *key = pc_strdup(sid);
		if (full != NULL && key != NULL) {
			t->users[t->n_users++] = (sid_name){ key, full };
			out                    = full;
		} else {
			free(full);
			free(key);
		}
	}
	LocalFree(sid);
	return out;
}

/* The command line: NtQueryInformationProcess class 60 where the OS has it
 * (it needs only the limited right); else the PEB's process parameters,
 * read with a second, short-lived handle with PROCESS_VM_READ (Wine 8
 * answers class 60 with STATUS_INVALID_INFO_CLASS). */
static char *
command_line(HANDLE h, DWORD pid)
{
	union {
		UNICODE_STRING us;
		BYTE           raw[8192];
	} cl;
	ULONG                       n;
	PROCESS_BASIC_INFORMATION   pbi;
	PEB                         peb;
	RTL_USER_PROCESS_PARAMETERS params;
	HANDLE                      vm;
	char                       *out = NULL;

	if (NtQueryInformationProcess(h, (PROCESSINFOCLASS)PROCESS_COMMAND_LINE_INFORMATION, &cl,
	                              sizeof(cl), &n) >= 0) {
		return utf8_dup(cl.us.Buffer, cl.us.Length / sizeof(WCHAR));
	}
	/* Never ask a protected process for more than the limited right. */
	if (is_protected(h)) {
		return NULL;
	}
	vm = OpenProcess(PROCESS_QUERY_INFORMATION | PROCESS_VM_READ, FALSE, pid);
	if (vm == NULL) {
		return NULL;
	}
	if (NtQueryInformationProcess(vm, ProcessBasicInformation, &pbi, sizeof(pbi), &n) >= 0 &&
	    pbi.PebBaseAddress != NULL &&
	    ReadProcessMemory(vm, pbi.PebBaseAddress, &peb, sizeof(peb), NULL) &&
	    ReadProcessMemory(vm, peb.ProcessParameters, &params, sizeof(params), NULL) &&
	    params.CommandLine.Length <= sizeof(cl.raw) - sizeof(WCHAR)) {
		WCHAR *buf = (WCHAR *)cl.raw;
		if (params.CommandLine.Length == 0) {
			out = pc_strdup("");
		} else if (ReadProcessMemory(vm, params.CommandLine.Buffer, buf,
		                             params.CommandLine.Length, NULL)) {
			out = utf8_dup(buf, params.CommandLine.Length / sizeof(WCHAR));
		}
	}
	CloseHandle(vm);
	return out;
}

static void
went_free(went *e)
{
	if (e->h != NULL) {
		CloseHandle(e->h);
	}
	free(e->exe);
	free(e->cmdline);
	free(e);
}

/* A process seen for the first time. PIDs 0 (Idle) and 4 (System) are not
 * real processes to open: they keep what Toolhelp gave. */
static went *
went_new(toolhelp *t, const PROCESSENTRY32W *pe)
{
	went    *e = calloc(1, sizeof(*e));
	FILETIME c, x, k, u;

	if (e == NULL) {
		return NULL;
	}
	e->pid  = pe->th32ProcessID;
	e->ppid = pe->th32ParentProcessID;
	WideCharToMultiByte(CP_UTF8, 0, pe->szExeFile, -1, e->name, sizeof(e->name), NULL, NULL);
	if (e->pid == 0 || e->pid == 4) {
		e->static_partial = true;
		return e;
	}
	e->h = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, FALSE, e->pid);
	if (e->h == NULL || !GetProcessTimes(e->h, &c, &x, &k, &u)) {
		e->static_partial = true;
		return e;
	}
	e->create_time_ms = ft_unix_ms(&c);
	e->exe            = image_path(e->h);
	e->cmdline        = command_line(e->h, e->pid);
	e->user           = token_user(t, e->h);
	e->static_partial = e->exe == NULL || e->cmdline == NULL || e->user == NULL;
	return e;
}

static bool
is_system(DWORD pid)
{
	return pid == 0 || pid == 4;
}

static void
fill(const went *e, pc_proc *r)
{
	r->pid            = e->pid;
	r->create_time_ms = e->create_time_ms;
	r->ppid           = e->ppid;
	r->name           = (char *)e->name;
	r->exe            = e->exe;
	r->cmdline        = e->cmdline;
	r->user           = (char *)e->user;
	r->partial        = e->static_partial;
	r->kernel         = is_system(e->pid);
	r->threads        = e->threads;
}

/* Counters, every tick, on the held handle. Returns false when the process
 * has exited (we hold its handle, so its PID is not reused yet). */
static bool
fill_stats(const went *e, pc_proc *r)
{
	FILETIME                   c, x, k, u;
	PROCESS_MEMORY_COUNTERS_EX mc;
	IO_COUNTERS                io;
	DWORD                      handles;

	if (e->h == NULL) {
		r->partial = true;
		return true;
	}
	if (GetProcessTimes(e->h, &c, &x, &k, &u)) {
		if (ft_u64(&x) != 0) {
			return false;
		}
		r->cpu_user_us   = ft_u64(&u) / 10u;
		r->cpu_system_us = ft_u64(&k) / 10u;
	} else {
		r->partial = true;
	}
	memset(&mc, 0, sizeof(mc));
	if (GetProcessMemoryInfo(e->h, (PROCESS_MEMORY_COUNTERS *)&mc, sizeof(mc))) {
		r->rss_bytes      = mc.WorkingSetSize;
		r->peak_rss_bytes = mc.PeakWorkingSetSize;
		r->private_bytes  = mc.PrivateUsage;
		r->page_faults    = mc.PageFaultCount;
	} else {
		r->partial = true;
	}
	if (GetProcessHandleCount(e->h, &handles)) {
		r->handles = handles;
	} else {
		r->partial = true;
	}
	if (GetProcessIoCounters(e->h, &io)) {
		r->io_read_ops    = io.ReadOperationCount;
		r->io_write_ops   = io.WriteOperationCount;
		r->io_other_ops   = io.OtherOperationCount;
		r->io_read_bytes  = io.ReadTransferCount;
		r->io_write_bytes = io.WriteTransferCount;
		r->io_other_bytes = io.OtherTransferCount;
	} else {
		r->partial = true;
	}
	return true;
}

/* The cached entry for pe, or a new one. Without a handle the PID may have
 * been reused unseen; a change of parent or image name tells. */
static went *
lookup(toolhelp *t, const PROCESSENTRY32W *pe, int *err)
{
	went *e = pc_idmap_get(&t->procs, pe->th32ProcessID);
	char  name[sizeof(e->name)];

	*err = PC_OK;
	if (e != NULL && e->h == NULL) {
		WideCharToMultiByte(CP_UTF8, 0, pe->szExeFile, -1, name, sizeof(name), NULL, NULL);
		if (e->ppid != pe->th32ParentProcessID || strcmp(name, e->name) != 0) {
			went_free(pc_idmap_remove(&t->procs, e->pid));
			e = NULL;
		}
	}
	if (e == NULL) {
		if ((e = went_new(t, pe)) == NULL || pc_idmap_set(&t->procs, e->pid, e) != PC_OK) {
			if (e != NULL) {
				went_free(e);
			}
			*err = PC_ENOMEM;
			return NULL;
		}
	}
	return e;
}

static int
sweep(toolhelp *t)
{
	size_t   cur = 0;
	uint32_t pid;
	went    *e;

	t->n_gone = 0;
	while ((e = pc_idmap_next(&t->procs, &cur, &pid)) != NULL) {
		if (e->tick == t->tick) {
			continue;
		}
		if (t->n_gone == t->cap_gone) {
			size_t cap  = t->cap_gone ? t->cap_gone * 2 : 64;
			DWORD *gone = realloc(t->gone, cap * sizeof(*gone));
			if (gone == NULL) {
				return PC_ENOMEM;
			}
			t->gone     = gone;
			t->cap_gone = cap;
		}
		t->gone[t->n_gone++] = pid;
	}
	for (size_t i = 0; i < t->n_gone; i++) {
		went_free(pc_idmap_remove(&t->procs, t->gone[i]));
	}
	return PC_OK;
}

static int
toolhelp_processes_by_pid(pc_probe *base, uint64_t now_ms, bool collect_stats, pc_snapshot *out)
{
	toolhelp       *t = (toolhelp *)base;
	PROCESSENTRY32W pe;
	HANDLE          snap;
	int             rv = PC_OK;

	(void)now_ms;
	snap = CreateToolhelp32Snapshot(TH32CS_SNAPPROCESS, 0);
	if (snap == INVALID_HANDLE_VALUE) {
		return GetLastError() == ERROR_ACCESS_DENIED ? PC_EPERM : PC_ESYS;
	}
	t->tick++;
	pe.dwSize = sizeof(pe);
	for (BOOL ok = Process32FirstW(snap, &pe); ok && rv == PC_OK;
	     ok      = Process32NextW(snap, &pe)) {
		went    *e = lookup(t, &pe, &rv);
		pc_proc *r;

		if (e == NULL) {
			break;
		}
		if ((r = pc_snapshot_add(out)) == NULL) {
			rv = PC_ENOMEM;
			break;
		}
		/* The name too: Wine may list a starting process before its
		 * image name is final. */
		e->threads = pe.cntThreads;
		WideCharToMultiByte(CP_UTF8, 0, pe.szExeFile, -1, e->name, sizeof(e->name), NULL,
		                    NULL);
		fill(e, r);
		if (collect_stats && !fill_stats(e, r)) {
			out->n--; /* exited since the listing: normal, not an error */
			continue;
		}
		e->tick = t->tick;
	}
	CloseHandle(snap);
	if (rv != PC_OK) {
		return rv;
	}
	return sweep(t);
}

static int
toolhelp_stats_for_pids(pc_probe *base, const uint32_t *pids, size_t n, uint64_t now_ms,
                        pc_snapshot *out)
{
	toolhelp *t = (toolhelp *)base;

	(void)now_ms;
	for (size_t i = 0; i < n; i++) {
		went    *e = pc_idmap_get(&t->procs, pids[i]);
		pc_proc *r;

		/* Only processes a listing has seen: without one there is no
		 * parent or name, and an unknown PID is simply absent. */
		if (e == NULL) {
			continue;
		}
		if ((r = pc_snapshot_add(out)) == NULL) {
			return PC_ENOMEM;
		}
		fill(e, r);
		if (!fill_stats(e, r)) {
			out->n--;
		}
	}
	return PC_OK;
}

static void
toolhelp_close(pc_probe *base)
{
	toolhelp *t   = (toolhelp *)base;
	size_t    cur = 0;
	uint32_t  pid;
	went     *e;

	while ((e = pc_idmap_next(&t->procs, &cur, &pid)) != NULL) {
		went_free(e);
	}
	pc_idmap_fini(&t->procs);
	for (size_t i = 0; i < t->n_users; i++) {
		free(t->users[i].sid);
		free(t->users[i].name);
	}
	free(t->users);
	free(t->gone);
	free(t);
}

static int
toolhelp_open(pc_probe **out)
{
	toolhelp *t = calloc(1, sizeof(*t));

	if (t == NULL) {
		return PC_ENOMEM;
	}
	t->base.ops = &pc_probe_toolhelp_ops;
	*out        = &t->base;
	return PC_OK;
}

const pc_probe_ops pc_probe_toolhelp_ops = {
	.name             = "toolhelp",
	.open             = toolhelp_open,
	.close            = toolhelp_close,
	.processes_by_pid = toolhelp_processes_by_pid,
	.stats_for_pids   = toolhelp_stats_for_pids,
};
