/* pc_probe_ntqsi.c: the fast Windows probe. One
 * NtQuerySystemInformation(SystemProcessInformation) call returns every
 * process with its create time, CPU times, threads, handles, memory and I/O
 * counters, so a tick is one system call, not Toolhelp's listing plus
 * several calls per process. A process is opened only once, when it is new,
 * for what that call does not give (image path, command line, user), and
 * the handle is closed at once. */
#include <windows.h>
#include <winternl.h>

#include <stdlib.h>
#include <string.h>

#include "base/pc_err.h"
#include "base/pc_idmap.h"
#include "probe/pc_probe.h"
#include "probe/pc_winproc.h"
#include "probe/pc_winsvc.h"

extern const pc_probe_ops pc_probe_ntqsi_ops;

#define STATUS_INFO_LENGTH_MISMATCH      ((NTSTATUS)0xC0000004L)
#define SYSTEM_PROCESS_INFORMATION_CLASS 5

/* The documented layout of one SystemProcessInformation entry, as psutil
 * and Process Hacker use it (winternl.h hides most fields as Reserved). */
typedef struct spi {
	ULONG          NextEntryOffset;
	ULONG          NumberOfThreads;
	LARGE_INTEGER  WorkingSetPrivateSize;
	ULONG          HardFaultCount;
	ULONG          NumberOfThreadsHighWatermark;
	ULONGLONG      CycleTime;
	LARGE_INTEGER  CreateTime;
	LARGE_INTEGER  UserTime;
	LARGE_INTEGER  KernelTime;
	UNICODE_STRING ImageName;
	LONG           BasePriority;
	HANDLE         UniqueProcessId;
	HANDLE         InheritedFromUniqueProcessId;
	ULONG          HandleCount;
	ULONG          SessionId;
	ULONG_PTR      UniqueProcessKey;
	SIZE_T         PeakVirtualSize;
	SIZE_T         VirtualSize;
	ULONG          PageFaultCount;
	SIZE_T         PeakWorkingSetSize;
	SIZE_T         WorkingSetSize;
	SIZE_T         QuotaPeakPagedPoolUsage;
	SIZE_T         QuotaPagedPoolUsage;
	SIZE_T         QuotaPeakNonPagedPoolUsage;
	SIZE_T         QuotaNonPagedPoolUsage;
	SIZE_T         PagefileUsage;
	SIZE_T         PeakPagefileUsage;
	SIZE_T         PrivatePageCount;
	LARGE_INTEGER  ReadOperationCount;
	LARGE_INTEGER  WriteOperationCount;
	LARGE_INTEGER  OtherOperationCount;
	LARGE_INTEGER  ReadTransferCount;
	LARGE_INTEGER  WriteTransferCount;
	LARGE_INTEGER  OtherTransferCount;
} spi;

/* One thread, as the array after each process entry has it. */
typedef struct sti {
	LARGE_INTEGER KernelTime;
	LARGE_INTEGER UserTime;
	LARGE_INTEGER CreateTime;
	ULONG         WaitTime;
	PVOID         StartAddress;
	HANDLE        UniqueProcess, UniqueThread; /* CLIENT_ID */
	LONG          Priority;
	LONG          BasePriority;
	ULONG         ContextSwitches;
	ULONG         ThreadState; /* KTHREAD_STATE: 5 is Waiting */
	ULONG         WaitReason;  /* KWAIT_REASON: 5 is Suspended */
} sti;

/* The entry's threads follow it at once, so its size is the ABI's. */
_Static_assert(sizeof(spi) == (sizeof(void *) == 8 ? 0x100 : 0xb8), "SYSTEM_PROCESS_INFORMATION");
_Static_assert(sizeof(sti) == (sizeof(void *) == 8 ? 0x50 : 0x40), "SYSTEM_THREAD_INFORMATION");

#define THREAD_WAITING 5
#define WAIT_SUSPENDED 5

typedef struct nent {
	uint32_t    pid;
	uint64_t    create_time_ms;
	uint64_t    tick;
	char        name[MAX_PATH * 3];
	char       *exe;
	char       *cmdline;
	const char *user; /* owned by the SID cache */
	bool        static_partial;
} nent;

typedef struct ntqsi {
	pc_probe        base;
	pc_idmap        procs; /* pid -> nent */
	pc_win_users    users;
	pc_win_services svcs;
	uint64_t        tick;
	void           *buf; /* kept: the table's size changes little */
	ULONG           cap;
	uint32_t       *gone;
	size_t          cap_gone;
} ntqsi;

static void
nent_free(nent *e)
{
	free(e->exe);
	free(e->cmdline);
	free(e);
}

/* The whole process table in t->buf; grows the buffer as the OS asks. */
static int
query(ntqsi *t)
{
	for (int tries = 0; tries < 8; tries++) {
		ULONG    need = 0;
		NTSTATUS st   = NtQuerySystemInformation(SYSTEM_PROCESS_INFORMATION_CLASS, t->buf,
		                                         t->cap, &need);
		if (st >= 0 && t->buf != NULL) {
			return PC_OK;
		}
		if (st != STATUS_INFO_LENGTH_MISMATCH && t->buf != NULL) {
			return PC_ESYS;
		}
		/* Room for the processes started meanwhile. */
		ULONG cap = (need > t->cap ? need : t->cap) + (need / 4) + 65536;
		void *buf = realloc(t->buf, cap);
		if (buf == NULL) {
			return PC_ENOMEM;
		}
		t->buf = buf;
		t->cap = cap;
	}
	return PC_ESYS;
}

static nent *
nent_new(ntqsi *t, const spi *s, uint32_t pid, uint64_t ct)
{
	nent  *e = calloc(1, sizeof(*e));
	HANDLE h;

	if (e == NULL) {
		return NULL;
	}
	e->pid            = pid;
	e->create_time_ms = ct;
	if (s->ImageName.Buffer != NULL) {
		pc_win_utf8_to(e->name, sizeof(e->name), s->ImageName.Buffer,
		               s->ImageName.Length / (int)sizeof(WCHAR));
	} else if (pid == 0) {
		strcpy(e->name, "System Idle Process");
	}
	/* PIDs 0 and 4 are not processes one can open. */
	if (pid == 0 || pid == 4 ||
	    (h = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, FALSE, pid)) == NULL) {
		e->static_partial = true;
		return e;
	}
	e->static_partial =
	        !pc_win_statics(&t->users, &t->base, h, pid, &e->exe, &e->cmdline, &e->user);
	CloseHandle(h);
	return e;
}

/* The cached entry of this process, or a new one: the same PID with
 * another create time is another process. */
static nent *
lookup(ntqsi *t, const spi *s, uint32_t pid, uint64_t ct)
{
	nent *e = pc_idmap_get(&t->procs, pid);

	if (e != NULL && e->create_time_ms != ct) {
		nent_free(pc_idmap_remove(&t->procs, pid));
		e = NULL;
	}
	if (e == NULL) {
		if ((e = nent_new(t, s, pid, ct)) == NULL) {
			return NULL;
		}
		if (pc_idmap_set(&t->procs, pid, e) != PC_OK) {
			nent_free(e);
			return NULL;
		}
	}
	return e;
}

/* "T" when every thread is suspended (a process created suspended, or
 * stopped by a debugger's SuspendThread on each), else "R": Windows has no
 * single process state, and a waiting thread is the normal case. */
static const char *
state_of(const spi *s)
{
	const sti *t = (const sti *)(s + 1);

	for (ULONG i = 0; i < s->NumberOfThreads; i++) {
		if (t[i].ThreadState != THREAD_WAITING || t[i].WaitReason != WAIT_SUSPENDED) {
			return "R";
		}
	}
	return s->NumberOfThreads > 0 ? "T" : "R";
}

static void
fill(const ntqsi *t, const nent *e, const spi *s, bool stats, pc_proc *r)
{
	r->pid            = e->pid;
	r->create_time_ms = e->create_time_ms;
	r->ppid           = (uint32_t)(uintptr_t)s->InheritedFromUniqueProcessId;
	r->name           = (char *)e->name;
	r->exe            = e->exe;
	r->cmdline        = e->cmdline;
	r->user           = (char *)e->user;
	r->partial        = e->static_partial;
	r->kernel         = e->pid == 0 || e->pid == 4;
	r->state          = (char *)state_of(s);
	r->service        = (char *)pc_win_services_of(&t->svcs, e->pid);
	if (!stats) {
		return;
	}
	r->threads        = s->NumberOfThreads;
	r->handles        = s->HandleCount;
	r->cpu_user_us    = (uint64_t)s->UserTime.QuadPart / 10u;
	r->cpu_system_us  = (uint64_t)s->KernelTime.QuadPart / 10u;
	r->rss_bytes      = s->WorkingSetSize;
	r->peak_rss_bytes = s->PeakWorkingSetSize;
	r->private_bytes  = s->PagefileUsage;
	r->page_faults    = s->PageFaultCount;
	r->io_read_ops    = (uint64_t)s->ReadOperationCount.QuadPart;
	r->io_write_ops   = (uint64_t)s->WriteOperationCount.QuadPart;
	r->io_other_ops   = (uint64_t)s->OtherOperationCount.QuadPart;
	r->io_read_bytes  = (uint64_t)s->ReadTransferCount.QuadPart;
	r->io_write_bytes = (uint64_t)s->WriteTransferCount.QuadPart;
	r->io_other_bytes = (uint64_t)s->OtherTransferCount.QuadPart;
}

/* Windows keeps a parent's PID after the parent exits, and may give it to
 * a newer process: a parent created after its child is not its parent, and
 * the child is then shown with none (0). A parent that is simply gone keeps
 * its PID, as Toolhelp reports it. */
static void
fix_parents(ntqsi *t, pc_snapshot *out, size_t from)
{
	for (size_t i = from; i < out->n; i++) {
		pc_proc *r = &out->procs[i];
		nent    *p = pc_idmap_get(&t->procs, r->ppid);
		if (p != NULL && p->tick == t->tick && p->pid != r->pid &&
		    p->create_time_ms > r->create_time_ms) {
			r->ppid = 0;
		}
	}
}

static int
sweep(ntqsi *t)
{
	size_t   cur = 0, n = 0;
	uint32_t pid;
	nent    *e;
	size_t   count = pc_idmap_count(&t->procs);

	if (count > t->cap_gone) {
		uint32_t *gone = realloc(t->gone, count * sizeof(*gone));
		if (gone == NULL) {
			return PC_ENOMEM;
		}
		t->gone     = gone;
		t->cap_gone = count;
	}
	while ((e = pc_idmap_next(&t->procs, &cur, &pid)) != NULL) {
		if (e->tick != t->tick) {
			t->gone[n++] = pid;
		}
	}
	for (size_t i = 0; i < n; i++) {
		nent_free(pc_idmap_remove(&t->procs, t->gone[i]));
	}
	return PC_OK;
}

/* Walks the table; with pids, only those processes (and no sweep). */
static int
walk(ntqsi *t, bool stats, const uint32_t *pids, size_t n_pids, pc_snapshot *out)
{
	size_t      from = out->n;
	const char *at;
	int         rv;

	if ((rv = query(t)) != PC_OK) {
		return rv;
	}
	t->tick++;
	pc_win_services_tick(&t->svcs, t->tick);
	for (at = t->buf;; at += ((const spi *)at)->NextEntryOffset) {
		const spi *s    = (const spi *)at;
		uint32_t   pid  = (uint32_t)(uintptr_t)s->UniqueProcessId;
		bool       want = pids == NULL;
		nent      *e;
		pc_proc   *r;

		for (size_t i = 0; !want && i < n_pids; i++) {
			want = pids[i] == pid;
		}
		if (want) {
			uint64_t ct = pc_win_unix_ms((uint64_t)s->CreateTime.QuadPart);
			if ((e = lookup(t, s, pid, ct)) == NULL ||
			    (r = pc_snapshot_add(out)) == NULL) {
				return PC_ENOMEM;
			}
			e->tick = t->tick;
			fill(t, e, s, stats, r);
		}
		if (s->NextEntryOffset == 0) {
			break;
		}
	}
	if (pids != NULL) {
		return PC_OK;
	}
	fix_parents(t, out, from);
	return sweep(t);
}

static int
ntqsi_processes_by_pid(pc_probe *base, uint64_t now_ms, bool collect_stats, pc_snapshot *out)
{
	(void)now_ms;
	return walk((ntqsi *)base, collect_stats, NULL, 0, out);
}

static int
ntqsi_stats_for_pids(pc_probe *base, const uint32_t *pids, size_t n, uint64_t now_ms,
                     pc_snapshot *out)
{
	(void)now_ms;
	return walk((ntqsi *)base, true, pids, n, out);
}

static void
ntqsi_close(pc_probe *base)
{
	ntqsi   *t   = (ntqsi *)base;
	size_t   cur = 0;
	uint32_t pid;
	nent    *e;

	while ((e = pc_idmap_next(&t->procs, &cur, &pid)) != NULL) {
		nent_free(e);
	}
	pc_idmap_fini(&t->procs);
	pc_win_users_fini(&t->users);
	pc_win_services_fini(&t->svcs);
	free(t->buf);
	free(t->gone);
	free(t);
}

static int
ntqsi_open(pc_probe **out, char *why, size_t cap)
{
	(void)why;
	(void)cap;
	ntqsi *t = calloc(1, sizeof(*t));

	if (t == NULL) {
		return PC_ENOMEM;
	}
	t->base.ops = &pc_probe_ntqsi_ops;
	*out        = &t->base;
	return PC_OK;
}

const pc_probe_ops pc_probe_ntqsi_ops = {
	.name             = "ntqsi",
	.open             = ntqsi_open,
	.close            = ntqsi_close,
	.processes_by_pid = ntqsi_processes_by_pid,
	.stats_for_pids   = ntqsi_stats_for_pids,
};
