/* pc_task.bpf.c: the bpf backend's task iterator. One read of the iterator
 * walks every task of the host and writes a struct pc_bpf_task for each:
 * what /proc would render as text, per file, per process, handed over as
 * the kernel's own numbers. Compiled with CO-RE against the running
 * kernel's BTF (vmlinux.h, generated at build time). */
#include "vmlinux.h"

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>

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

SEC("iter/task")
int
pc_dump_task(struct bpf_iter__task *ctx)
{
	struct task_struct   *t = ctx->task;
	struct pc_bpf_task    r = {};
	struct signal_struct *sig;
	struct mm_struct     *mm;

	if (t == NULL) {
		return 0;
	}
	/* Plain loads through the task's BTF pointers, not bpf_probe_read
	 * calls: the verifier makes each a fault-safe load, at a fraction of
	 * a helper call's cost (a record has about thirty fields). */
	r.tid               = t->pid;
	r.tgid              = t->tgid;
	r.ppid              = t->real_parent->tgid;
	r.flags             = t->flags;
	r.start_boottime_ns = t->group_leader->start_boottime;
	r.utime_ns          = t->utime;
	r.stime_ns          = t->stime;
	r.runtime_ns        = t->se.sum_exec_runtime;
	r.min_flt           = t->min_flt;
	r.maj_flt           = t->maj_flt;
	r.rchar             = t->ioac.rchar;
	r.wchar             = t->ioac.wchar;
	r.syscr             = t->ioac.syscr;
	r.syscw             = t->ioac.syscw;
	if (t->pid == t->tgid) {
		r.leader         = 1;
		r.uid            = t->real_cred->uid.val;
		sig              = t->signal;
		r.threads        = sig->nr_threads;
		r.sig_utime_ns   = sig->utime;
		r.sig_stime_ns   = sig->stime;
		r.sig_runtime_ns = sig->sum_sched_runtime;
		r.sig_min_flt    = sig->min_flt;
		r.sig_maj_flt    = sig->maj_flt;
		r.sig_rchar      = sig->ioac.rchar;
		r.sig_wchar      = sig->ioac.wchar;
		r.sig_syscr      = sig->ioac.syscr;
		r.sig_syscw      = sig->ioac.syscw;
		r.prev_utime_ns  = sig->prev_cputime.utime;
		r.prev_stime_ns  = sig->prev_cputime.stime;
		r.fds            = open_fds(t);
		__builtin_memcpy(r.comm, t->comm, sizeof(r.comm));
		mm = t->mm;
		if (mm != NULL) {
			r.rss_file    = mm_counter(mm, MM_FILEPAGES);
			r.rss_anon    = mm_counter(mm, MM_ANONPAGES);
			r.rss_shmem   = mm_counter(mm, MM_SHMEMPAGES);
			r.swap_ents   = mm_counter(mm, MM_SWAPENTS);
			r.hiwater_rss = mm->hiwater_rss;
		}
	}
	bpf_seq_write(ctx->meta->seq, &r, sizeof(r));
	return 0;
}
