/* pc_task.bpf.c: the bpf backend's task iterator. One read of the iterator
 * walks every task of the host and writes a struct pc_bpf_task for each:
 * what /proc would render as text, per file, per process, handed over as
 * the kernel's own numbers. Compiled with CO-RE against the running
 * kernel's BTF (vmlinux.h, generated at build time). */
#include "vmlinux.h"

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "pc_bpf_task.h"

char LICENSE[] SEC("license") = "GPL";

/* Before Linux 6.2 the mm's counters were atomics in one struct; since,
 * they are an array of percpu_counter, whose shared count is what stat and
 * (before 6.16) statm and status read: so do we. Since 6.16 statm and
 * status add each CPU's pending batch; finding per-CPU areas takes kernel
 * data symbols that not every kernel exports (docs/PROBES.md). */
struct mm_rss_stat___old {
	atomic_long_t count[4];
} __attribute__((preserve_access_index));
struct mm_struct___old {
	struct mm_rss_stat___old rss_stat;
} __attribute__((preserve_access_index));

static __always_inline __u64
mm_counter(struct mm_struct *mm, int i)
{
	long v;

	if (bpf_core_type_exists(struct mm_rss_stat___old)) {
		struct mm_struct___old *old = (void *)mm;
		v                           = BPF_CORE_READ(old, rss_stat.count[i].counter);
	} else {
		v = mm->rss_stat[i].count;
	}
	return v > 0 ? (__u64)v : 0; /* as get_mm_counter: never negative */
}

/* Before Linux 5.14 the state was a long named state. */
struct task_struct___old {
	long state;
} __attribute__((preserve_access_index));

/* Task states of include/linux/sched.h (6.x): defines, so not in BTF. */
#define TASK_REPORT          0x7f
#define TASK_REPORT_IDLE     0x80
#define TASK_UNINTERRUPTIBLE 0x0002
#define TASK_NOLOAD          0x0400
#define TASK_IDLE            (TASK_UNINTERRUPTIBLE | TASK_NOLOAD)
#define TASK_RTLOCK_WAIT     0x1000
#define TASK_FROZEN          0x8000

/* The state /proc shows for a task, as __task_state_index() computes it:
 * an index of PC_BPF_STATES, the highest bit of the reported state. */
static __always_inline __u32
state_index(struct task_struct *t)
{
	unsigned int ts, st;
	__u32        i = 0;

	if (bpf_core_field_exists(t->__state)) {
		ts = t->__state;
	} else {
		ts = (unsigned int)BPF_CORE_READ((struct task_struct___old *)t, state);
	}
	st = (ts | t->exit_state) & TASK_REPORT;
	if ((ts & TASK_IDLE) == TASK_IDLE) {
		st = TASK_REPORT_IDLE;
	}
	if (ts & (TASK_RTLOCK_WAIT | TASK_FROZEN)) {
		st = TASK_UNINTERRUPTIBLE;
	}
	for (__u32 b = 0; b < 8; b++) { /* fls() */
		if (st & (1u << b)) {
			i = b + 1;
		}
	}
	return i;
}

struct fd_count {
	unsigned long *bits;
	__u32          n;
};

static long
count_word(__u32 i, void *arg)
{
	struct fd_count *c = arg;
	unsigned long    w = 0;

	bpf_probe_read_kernel(&w, sizeof(w), c->bits + i);
	c->n += __builtin_popcountl(w);
	return 0;
}

/* Open fds: the bits set in the fd table's open_fds, which is what the
 * size of /proc/PID/fd reports since Linux 6.2. */
static __always_inline __u32
open_fds(struct task_struct *t)
{
	struct files_struct *files = t->files;
	struct fdtable      *fdt;
	struct fd_count      c = { 0 };

	if (files == NULL || (fdt = files->fdt) == NULL || (c.bits = fdt->open_fds) == NULL) {
		return 0;
	}
	bpf_loop(fdt->max_fds / (8 * sizeof(unsigned long)), count_word, &c, 0);
	return c.n;
}

/* The kernfs id of the task's cgroup on the default hierarchy: plain
 * loads through RCU-protected BTF pointers (the iterator runs under RCU),
 * each checked, not four probe-read calls. */
static __always_inline __u64
cgroup_id(struct task_struct *t)
{
	struct css_set *cs = t->cgroups;
	struct cgroup  *cg;

	if (cs == NULL || (cg = cs->dfl_cgrp) == NULL || cg->kn == NULL) {
		return 0;
	}
	return cg->kn->id;
}

/* A process's own figures on its leader's record: the signal struct's
 * totals, fds, comm, uid and the memory of mm (the leader's own, or at
 * exit the last thread's, the leader's being gone if it died first). */
static __always_inline void
fill_process(struct pc_bpf_task *r, struct task_struct *t, struct task_struct *files_of,
             struct mm_struct *mm)
{
	struct signal_struct *sig = t->signal;

	r->leader         = 1;
	r->uid            = t->real_cred->uid.val;
	r->threads        = sig->nr_threads;
	r->sig_utime_ns   = sig->utime;
	r->sig_stime_ns   = sig->stime;
	r->sig_runtime_ns = sig->sum_sched_runtime;
	r->sig_min_flt    = sig->min_flt;
	r->sig_maj_flt    = sig->maj_flt;
	r->sig_rchar      = sig->ioac.rchar;
	r->sig_wchar      = sig->ioac.wchar;
	r->sig_syscr      = sig->ioac.syscr;
	r->sig_syscw      = sig->ioac.syscw;
	r->prev_utime_ns  = sig->prev_cputime.utime;
	r->prev_stime_ns  = sig->prev_cputime.stime;
	r->fds            = open_fds(files_of);
	r->cgroup_id      = cgroup_id(t);
	__builtin_memcpy(r->comm, t->comm, sizeof(r->comm));
	if (mm != NULL) {
		r->rss_file    = mm_counter(mm, MM_FILEPAGES);
		r->rss_anon    = mm_counter(mm, MM_ANONPAGES);
		r->rss_shmem   = mm_counter(mm, MM_SHMEMPAGES);
		r->swap_ents   = mm_counter(mm, MM_SWAPENTS);
		r->hiwater_rss = mm->hiwater_rss;
	}
}

/* A thread's own counters, added to the record's. */
static __always_inline void
add_thread(struct pc_bpf_task *r, struct task_struct *t)
{
	r->utime_ns += t->utime;
	r->stime_ns += t->stime;
	r->runtime_ns += t->se.sum_exec_runtime;
	r->min_flt += t->min_flt;
	r->maj_flt += t->maj_flt;
	r->rchar += t->ioac.rchar;
	r->wchar += t->ioac.wchar;
	r->syscr += t->ioac.syscr;
	r->syscw += t->ioac.syscw;
}

/* One task's record: its own counters, and on a leader's the process's. */
static __always_inline void
fill_task(struct pc_bpf_task *r, struct task_struct *t)
{
	/* Plain loads through the task's BTF pointers, not bpf_probe_read
	 * calls: the verifier makes each a fault-safe load, at a fraction of
	 * a helper call's cost (a record has about thirty fields). */
	r->tid               = t->pid;
	r->tgid              = t->tgid;
	r->ppid              = t->real_parent->tgid;
	r->flags             = t->flags;
	r->start_boottime_ns = t->group_leader->start_boottime;
	add_thread(r, t);
	if (t->pid == t->tgid) {
		fill_process(r, t, t, t->mm);
		r->state = state_index(t);
	}
}

/* The fallback walk, for kernels without the open-coded task iterator
 * (before 6.7) or a table fuller than pc_table: the kernel calls this
 * once a task, each call looking the next PID up in the PID table and
 * taking a reference on its task, and the records go through the
 * iterator's seq_file to read(2). */
SEC("iter/task")
int
pc_dump_task(struct bpf_iter__task *ctx)
{
	struct task_struct *t = ctx->task;
	struct pc_bpf_task  r = {};

	if (t == NULL) {
		return 0;
	}
	fill_task(&r, t);
	bpf_seq_write(ctx->meta->seq, &r, sizeof(r));
	return 0;
}

/* The open-coded task iterator (Linux 6.7): a walk of the kernel's task
 * list under RCU, no PID lookups, no references. Weak, so that the object
 * loads without pc_walk_tasks on a kernel that lacks them. */
extern int                 bpf_iter_task_new(struct bpf_iter_task *it, struct task_struct *task,
                                             unsigned int flags) __weak __ksym;
extern struct task_struct *bpf_iter_task_next(struct bpf_iter_task *it) __weak __ksym;
extern void                bpf_iter_task_destroy(struct bpf_iter_task *it) __weak __ksym;

/* The fast walk's records, in a map that user space maps: no copy through
 * a seq_file. max_entries is set at open from the host's task count. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct pc_bpf_task);
	__uint(max_entries, 1);
} pc_table SEC(".maps");

/* The last walk's count of records, and whether it stopped at a full
 * pc_table (then the walk is not used). */
__u32 pc_walk_n;
__u32 pc_walk_full;

/* The fast walk: every thread of every process in one run of the
 * program, which its iterator link (limited to the reader's own task)
 * runs once a read. */
SEC("iter/task")
int
pc_walk_tasks(struct bpf_iter__task *ctx)
{
	struct bpf_iter_task it;
	struct task_struct  *t;
	__u32                n = 0, full = 0;

	if (ctx->task == NULL) {
		return 0;
	}
	bpf_iter_task_new(&it, NULL, BPF_TASK_ITER_ALL_THREADS);
	while ((t = bpf_iter_task_next(&it)) != NULL) {
		struct pc_bpf_task *r;
		__u32               k = n;

		if (t->pid == 0) {
			continue; /* the idle task, where the walk starts: no process */
		}
		if ((r = bpf_map_lookup_elem(&pc_table, &k)) == NULL) {
			full = 1; /* the rest would be walked for nothing */
			break;
		}
		__builtin_memset(r, 0, sizeof(*r));
		fill_task(r, t);
		n++;
	}
	bpf_iter_task_destroy(&it);
	pc_walk_n    = n;
	pc_walk_full = full;
	return 0;
}

/* The tracepoints' events for user space (pc_probe_bpf.c drains it each
 * tick). A full ring loses the event: counted, never silent. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, PC_BPF_RING);
} pc_events SEC(".maps");

/* Events lost to a full ring, by kind (enum pc_bpf_ev). */
__u64 pc_lost[4];

static __always_inline void *
reserve(__u64 size, __u32 type)
{
	void *e = bpf_ringbuf_reserve(&pc_events, size, 0);

	if (e == NULL) {
		__sync_fetch_and_add(&pc_lost[type & 3], 1);
	}
	return e;
}

/* A new process (a new thread is not one): its key and parents. */
SEC("tp_btf/sched_process_fork")
int
BPF_PROG(pc_fork, struct task_struct *parent, struct task_struct *child)
{
	struct pc_bpf_fork *e;

	if (child->pid != child->tgid || (e = reserve(sizeof(*e), PC_BPF_FORK)) == NULL) {
		return 0;
	}
	e->h.type              = PC_BPF_FORK;
	e->h.tgid              = child->tgid;
	e->h.start_boottime_ns = child->start_boottime;
	e->ppid                = BPF_CORE_READ(child, real_parent, tgid);
	e->parent              = parent->tgid;
	bpf_ringbuf_submit(e, 0);
	return 0;
}

/* A new image: its name, the path given to execve and argv, read from the
 * new mm while its pages are fresh (the program runs in the process). */
SEC("tp_btf/sched_process_exec")
int
BPF_PROG(pc_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	struct pc_bpf_exec *e;
	struct mm_struct   *mm = p->mm;
	__u64               len;

	if ((e = reserve(sizeof(*e), PC_BPF_EXEC)) == NULL) {
		return 0;
	}
	e->h.type              = PC_BPF_EXEC;
	e->h.tgid              = p->tgid;
	e->h.start_boottime_ns = BPF_CORE_READ(p, group_leader, start_boottime);
	bpf_probe_read_kernel_str(e->comm, sizeof(e->comm), p->comm);
	bpf_probe_read_kernel_str(e->filename, sizeof(e->filename), BPF_CORE_READ(bprm, filename));
	e->args_len = 0;
	len         = mm != NULL ? mm->arg_end - mm->arg_start : 0;
	if (len > PC_BPF_ARGS) {
		len = PC_BPF_ARGS;
	}
	if (len > 0 && bpf_probe_read_user(e->args, len, (void *)mm->arg_start) == 0) {
		e->args_len = len;
	}
	bpf_ringbuf_submit(e, 0);
	return 0;
}

#define SIGNAL_GROUP_EXIT 0x00000004

/* The last thread of a process ends (group_dead; any other thread's exit
 * is not the process's): its final figures, summed as /proc sums them,
 * and how it ended, as wait(2) will report it: the group's code for a
 * group exit or a fatal signal, else the leader's own. The hook runs
 * before the mm and the fd table are released. */
SEC("tp_btf/sched_process_exit")
int
BPF_PROG(pc_exit, struct task_struct *p, bool group_dead)
{
	struct task_struct   *leader = p->group_leader;
	struct signal_struct *sig    = p->signal;
	struct pc_bpf_exit   *e;

	if (!group_dead || (e = reserve(sizeof(*e), PC_BPF_EXIT)) == NULL) {
		return 0;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->h.type              = PC_BPF_EXIT;
	e->h.tgid              = p->tgid;
	e->h.start_boottime_ns = leader->start_boottime;
	e->exit_boottime_ns    = bpf_ktime_get_boot_ns();
	e->status  = (sig->flags & SIGNAL_GROUP_EXIT) ? sig->group_exit_code : leader->exit_code;
	e->t.tid   = p->pid;
	e->t.tgid  = p->tgid;
	e->t.ppid  = BPF_CORE_READ(leader, real_parent, tgid);
	e->t.flags = leader->flags;
	e->t.start_boottime_ns = e->h.start_boottime_ns;
	fill_process(&e->t, leader, p, p->mm);
	add_thread(&e->t, leader);
	if (p != leader) {
		add_thread(&e->t, p);
	}
	bpf_ringbuf_submit(e, 0);
	return 0;
}
