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

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/pc_err.h"
#include "base/pc_idmap.h"
#include "probe/pc_probe.h"
#include "probe/pc_winproc.h"
#include "probe/pc_winsvc.h"

extern const pc_probe_ops pc_probe_toolhelp_ops;

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

typedef struct toolhelp {
	pc_probe        base;
	pc_idmap        procs; /* pid -> went */
	pc_win_users    users;
	pc_win_services svcs;
	uint64_t        tick;
	DWORD          *gone;
	size_t          n_gone;
	size_t          cap_gone;
} toolhelp;

static uint64_t
ft_u64(const FILETIME *ft)
{
	return ((uint64_t)ft->dwHighDateTime << 32) | ft->dwLowDateTime;
}

static uint64_t
ft_unix_ms(const FILETIME *ft)
{
	return pc_win_unix_ms(ft_u64(ft));
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
	pc_win_utf8_to(e->name, sizeof(e->name), pe->szExeFile, -1);
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
	e->static_partial =
	        !pc_win_statics(&t->users, &t->base, e->h, e->pid, &e->exe, &e->cmdline, &e->user);
	return e;
}

static bool
is_system(DWORD pid)
{
	return pid == 0 || pid == 4;
}

static void
fill(const toolhelp *t, const went *e, pc_proc *r)
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
	r->service        = (char *)pc_win_services_of(&t->svcs, e->pid);
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
		pc_win_utf8_to(name, sizeof(name), pe->szExeFile, -1);
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
	pc_win_services_tick(&t->svcs, t->tick);
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
		pc_win_utf8_to(e->name, sizeof(e->name), pe.szExeFile, -1);
		fill(t, e, r);
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
		fill(t, e, r);
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
	pc_win_users_fini(&t->users);
	pc_win_services_fini(&t->svcs);
	free(t->gone);
	free(t);
}

static int
toolhelp_open(pc_probe **out, char *why, size_t cap)
{
	(void)why;
	(void)cap;
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
