/* pc_bpf_task.h: the record the BPF task iterator writes for each task
 * (pc_task.bpf.c) and the bpf backend reads (pc_probe_bpf.c): one layout,
 * shared by the BPF program and user space, in the kernel's units (ns,
 * pages, counts). One record a thread, since /proc's whole-process totals
 * are sums over threads; the fields of the process as a whole (signal
 * struct, mm, fds) are filled on its leader's record only. */
#ifndef PC_BPF_TASK_H
#define PC_BPF_TASK_H

#define PC_BPF_COMM 16

struct pc_bpf_task {
	__u32 tid;
	__u32 tgid;
	__u32 ppid;  /* real_parent's tgid, as /proc's stat */
	__u32 flags; /* PF_*: PF_KTHREAD marks a kernel thread */
	__u32 uid;   /* real uid, as the first of status's Uid */
	__u32 threads;
	__u32 fds;    /* open fds: the bits set in files->fdt->open_fds */
	__u32 leader; /* 1: the fields below "process" are set */
	__u32 state;  /* the leader's: an index of "RSDTtXZPI", as /proc's */
	__u32 pad;
	__u64 start_boottime_ns;
	/* This thread's own counters. */
	__u64 utime_ns, stime_ns, runtime_ns;
	__u64 min_flt, maj_flt;
	__u64 rchar, wchar, syscr, syscw;
	/* The process: what its dead threads left in the signal struct... */
	__u64 sig_utime_ns, sig_stime_ns, sig_runtime_ns;
	__u64 sig_min_flt, sig_maj_flt;
	__u64 sig_rchar, sig_wchar, sig_syscr, sig_syscw;
	/* CPU time as /proc last reported it (signal->prev_cputime). */
	__u64 prev_utime_ns, prev_stime_ns;
	/* ...and its memory, in pages (mm's counters' shared counts). */
	__u64 rss_file, rss_anon, rss_shmem, swap_ents, hiwater_rss;
	/* Its cgroup v2 (the kernfs id of the leader's default-hierarchy
	 * cgroup): user space reads the path when it changes. */
	__u64 cgroup_id;
	char  comm[PC_BPF_COMM];
};

/* The letters of the state index, as fs/proc/array.c's task_state_array. */
#define PC_BPF_STATES "RSDTtXZPI"

/* The events of pc_task.bpf.c's tracepoint programs, on the ring buffer:
 * a process born (fork), its image replaced (exec), and gone (exit, the
 * last thread's). Each starts with the header; start_boottime_ns and tgid
 * are the key, as the iterator's. */
#define PC_BPF_RING (8u << 20) /* bytes of ring buffer */
#define PC_BPF_ARGS 1024       /* argv bytes copied at exec (the rest is cut) */
#define PC_BPF_PATH 256        /* the path given to execve, cut */

enum pc_bpf_ev { PC_BPF_FORK = 1, PC_BPF_EXEC = 2, PC_BPF_EXIT = 3 };

struct pc_bpf_hdr {
	__u32 type; /* enum pc_bpf_ev */
	__u32 tgid;
	__u64 start_boottime_ns;
};

struct pc_bpf_fork {
	struct pc_bpf_hdr h;
	__u32             ppid;   /* real_parent's tgid */
	__u32             parent; /* the forking process, whose argv it shares */
};

struct pc_bpf_exec {
	struct pc_bpf_hdr h;
	char              comm[PC_BPF_COMM];
	char              filename[PC_BPF_PATH];
	__u32             args_len; /* bytes of args, NULs between arguments */
	__u32             pad;
	char              args[PC_BPF_ARGS];
};

struct pc_bpf_exit {
	struct pc_bpf_hdr  h;
	__u32              status; /* as wait(2) gives it: code << 8, or the signal */
	__u32              pad;
	__u64              exit_boottime_ns;
	struct pc_bpf_task t; /* the whole process, as the leader's record */
};

#endif
