/* pc_probe_bpf.c: the Linux probe that asks the kernel for its table. One
 * read of a BPF task iterator (pc_task.bpf.c) returns a fixed-size record
 * of every task: no text to generate or parse, no fd held per process.
 * Whole-process figures are summed here as /proc sums them: the live
 * threads' counters plus what dead threads left in the signal struct; CPU
 * time is then scaled to the scheduler's runtime as /proc's cputime_adjust
 * does. What is text and rarely changes (exe, command line) is read once
 * from /proc when a process is new, as procfs does. */
#define _GNU_SOURCE /* O_DIRECTORY with fdopendir */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/types.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "base/pc_err.h"
#include "base/pc_idmap.h"
#include "base/pc_utf8.h"
#include "probe/pc_bpf_task.h"
#include "probe/pc_probe.h"
#include "probe/pc_procfs_text.h"
#include "pc_task.skel.h"

extern const pc_probe_ops pc_probe_bpf_ops;

#define PF_KTHREAD 0x00200000u
#define TEXT_BUF   8192

/* What is kept of a process between ticks. */
typedef struct bent {
	uint32_t    pid;
	uint64_t    create_time_ms;
	uint64_t    seen;     /* the last scan that listed it */
	char        name[64]; /* comm; a kernel thread's as /proc composes it */
	bool        kernel;
	char       *exe;
	char       *cmdline;
	const char *user; /* owned by the uid cache */
	bool        static_partial;
	/* This scan's sums over the process's threads. */
	uint64_t utime_ns, stime_ns, runtime_ns, faults;
	uint64_t rchar, wchar, syscr, syscw;
	/* CPU time as last reported: /proc's prev_cputime, so that the
	 * scaled split never goes back. */
	uint64_t                  prev_utime_ns, prev_stime_ns;
	const struct pc_bpf_task *rec; /* the leader's record this scan */
} bent;

typedef struct bpfp {
	pc_probe         base;
	struct pc_task  *skel;
	struct bpf_link *iter;
	pc_idmap         procs; /* pid -> bent */
	pc_idmap         users; /* uid -> name */
	int              proc_fd;
	uint64_t         boot_ms;
	uint64_t         scan;
	long             hz;
	long             page_size;
	uint8_t         *buf; /* one read of the iterator */
	size_t           len, cap;
	bent           **order; /* this scan's processes, in the kernel's order */
	size_t           n_order, cap_order;
	uint32_t        *gone;
	size_t           n_gone, cap_gone;
	char             text[TEXT_BUF];
} bpfp;

/* libbpf's first warning, kept to say why loading failed (the later ones
 * only sum it up); library code prints nothing. */
static char libbpf_msg[256];

static int
keep_libbpf_msg(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level != LIBBPF_DEBUG && libbpf_msg[0] == '\0') {
		vsnprintf(libbpf_msg, sizeof(libbpf_msg), fmt, ap);
		libbpf_msg[strcspn(libbpf_msg, "\n")] = '\0';
	}
	return 0;
}

static int
grow(void **p, size_t *cap, size_t want, size_t size)
{
	size_t c = *cap ? *cap : 64;
	void  *n;

	while (c < want) {
		c *= 2;
	}
	if (c == *cap) {
		return PC_OK;
	}
	if ((n = realloc(*p, c * size)) == NULL) {
		return PC_ENOMEM;
	}
	*p   = n;
	*cap = c;
	return PC_OK;
}

/* One read of the iterator into p->buf: every task's record. */
static int
read_tasks(bpfp *p)
{
	int     fd = bpf_iter_create(bpf_link__fd(p->iter));
	ssize_t n;

	if (fd < 0) {
		return errno == ENOMEM ? PC_ENOMEM : PC_ESYS;
	}
	p->len = 0;
	for (;;) {
		if (p->cap - p->len < 64 * sizeof(struct pc_bpf_task) &&
		    grow((void **)&p->buf, &p->cap, p->len + 64 * sizeof(struct pc_bpf_task) + 1,
		         1) != PC_OK) {
			close(fd);
			return PC_ENOMEM;
		}
		n = read(fd, p->buf + p->len, p->cap - p->len);
		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n <= 0) {
			break;
		}
		p->len += (size_t)n;
	}
	close(fd);
	return n < 0 ? PC_ESYS : PC_OK;
}

static void
bent_free(bent *e)
{
	free(e->exe);
	free(e->cmdline);
	free(e);
}

/* A process seen for the first time: what never changes, read once. */
static bent *
bent_new(bpfp *p, const struct pc_bpf_task *r, uint64_t create_time_ms)
{
	bent *e   = calloc(1, sizeof(*e));
	int   err = 0;

	if (e == NULL) {
		return NULL;
	}
	e->pid            = r->tgid;
	e->create_time_ms = create_time_ms;
	e->kernel         = (r->flags & PF_KTHREAD) != 0;
	e->cmdline = pc_procfs_cmdline(p->proc_fd, r->tgid, &p->base.scrub, p->base.cmdline_max,
	                               &e->static_partial);
	e->exe     = pc_procfs_exe(p->proc_fd, r->tgid, p->text, sizeof(p->text), &err);
	if ((e->exe == NULL && !((r->flags & PF_KTHREAD) && err == ENOENT)) || e->cmdline == NULL) {
		/* Gone already, or refused: listed with what the kernel gave. */
		e->static_partial = true;
	}
	return e;
}

/* comm, cut by the kernel at 15 bytes even inside a character, as valid
 * UTF-8 (base/pc_utf8.h), as procfs gives it. */
static void
comm_name(bent *e, const struct pc_bpf_task *r)
{
	pc_utf8_repair(e->name, sizeof(e->name), r->comm, strnlen(r->comm, PC_BPF_COMM));
}

/* A kernel thread's name: /proc composes it from more than comm (the
 * workqueue a kworker serves, a kthread's full name), so it is read from
 * /proc/PID/comm when new and once in PC_PROBE_STATUS_EVERY scans, as
 * procfs reads status; comm stands in when that fails. */
static void
kernel_name(bpfp *p, bent *e, const struct pc_bpf_task *r)
{
	char    path[32];
	ssize_t n = -1;
	int     fd;

	snprintf(path, sizeof(path), "%u/comm", r->tgid);
	if ((fd = openat(p->proc_fd, path, O_RDONLY | O_CLOEXEC)) >= 0) {
		n = read(fd, e->name, sizeof(e->name) - 1);
		close(fd);
	}
	if (n <= 0) {
		comm_name(e, r);
		return;
	}
	e->name[n]                      = '\0';
	e->name[strcspn(e->name, "\n")] = '\0';
	if (!pc_utf8_valid(e->name)) {
		char raw[sizeof(e->name)];
		memcpy(raw, e->name, sizeof(raw));
		pc_utf8_repair(e->name, sizeof(e->name), raw, strlen(raw));
	}
}

/* The leader's record starts its process's sums: its own counters and
 * those its dead threads left. */
static int
take_leader(bpfp *p, const struct pc_bpf_task *r)
{
	uint64_t ticks = r->start_boottime_ns / (1000000000u / (uint64_t)p->hz);
	uint64_t ct    = pc_procfs_start_ms(p->boot_ms, ticks, p->hz);
	bent    *e     = pc_idmap_get(&p->procs, r->tgid);
	bool     fresh;

	if (e != NULL && e->create_time_ms != ct) {
		bent_free(pc_idmap_remove(&p->procs, r->tgid)); /* PID reused */
		e = NULL;
	}
	fresh = e == NULL;
	if (e == NULL) {
		if ((e = bent_new(p, r, ct)) == NULL) {
			return PC_ENOMEM;
		}
		if (pc_idmap_set(&p->procs, r->tgid, e) != PC_OK) {
			bent_free(e);
			return PC_ENOMEM;
		}
	}
	if (!e->kernel) {
		comm_name(e, r);
	} else if (fresh || (p->scan + r->tgid) % PC_PROBE_STATUS_EVERY == 0) {
		kernel_name(p, e, r);
	}
	e->user       = pc_procfs_user(&p->users, r->uid);
	e->seen       = p->scan;
	e->rec        = r;
	e->utime_ns   = r->sig_utime_ns + r->utime_ns;
	e->stime_ns   = r->sig_stime_ns + r->stime_ns;
	e->runtime_ns = r->sig_runtime_ns + r->runtime_ns;
	e->faults     = r->sig_min_flt + r->sig_maj_flt + r->min_flt + r->maj_flt;
	e->rchar      = r->sig_rchar + r->rchar;
	e->wchar      = r->sig_wchar + r->wchar;
	e->syscr      = r->sig_syscr + r->syscr;
	e->syscw      = r->sig_syscw + r->syscw;
	if (grow((void **)&p->order, &p->cap_order, p->n_order + 1, sizeof(*p->order)) != PC_OK) {
		return PC_ENOMEM;
	}
	p->order[p->n_order++] = e;
	return PC_OK;
}

/* Another thread's counters join its process's sums. */
static void
take_thread(bpfp *p, const struct pc_bpf_task *r)
{
	bent *e = pc_idmap_get(&p->procs, r->tgid);

	if (e == NULL || e->seen != p->scan) {
		return; /* its leader was not listed: the process is going */
	}
	e->utime_ns += r->utime_ns;
	e->stime_ns += r->stime_ns;
	e->runtime_ns += r->runtime_ns;
	e->faults += r->min_flt + r->maj_flt;
	e->rchar += r->rchar;
	e->wchar += r->wchar;
	e->syscr += r->syscr;
	e->syscw += r->syscw;
}

/* utime and stime are sampled at ticks; the scheduler's runtime is exact.
 * /proc scales the two to the runtime, keeping their ratio and never
 * letting either go back (kernel/sched/cputime.c, cputime_adjust): so do
 * we, so that both backends report the same CPU time. */
static void
cputime_adjust(bent *e, uint64_t *ut, uint64_t *st)
{
	uint64_t rtime = e->runtime_ns, stime = e->stime_ns, utime = e->utime_ns;

	/* The kernel keeps what /proc last reported; start from it, so that a
	 * process /proc was read for splits its time the same way. */
	if (e->rec->prev_utime_ns > e->prev_utime_ns) {
		e->prev_utime_ns = e->rec->prev_utime_ns;
	}
	if (e->rec->prev_stime_ns > e->prev_stime_ns) {
		e->prev_stime_ns = e->rec->prev_stime_ns;
	}
	if (e->prev_stime_ns + e->prev_utime_ns >= rtime) {
		goto out;
	}
	/* Where one of the two is 0, all of the runtime is the other's. */
	if (stime != 0) {
		stime = utime == 0 ? rtime
		                   : (uint64_t)((unsigned __int128)stime * rtime / (stime + utime));
	}
	if (stime < e->prev_stime_ns) {
		stime = e->prev_stime_ns;
	}
	utime = rtime - stime;
	if (utime < e->prev_utime_ns) {
		utime = e->prev_utime_ns;
		stime = rtime - utime;
	}
	e->prev_stime_ns = stime;
	e->prev_utime_ns = utime;
out:
	*ut = e->prev_utime_ns;
	*st = e->prev_stime_ns;
}

static void
fill(bpfp *p, bent *e, bool stats, pc_proc *out)
{
	const struct pc_bpf_task *r  = e->rec;
	uint64_t                  pg = (uint64_t)p->page_size, ut, st, rss;

	out->pid            = e->pid;
	out->create_time_ms = e->create_time_ms;
	out->ppid           = r->ppid;
	out->name           = e->name;
	out->exe            = e->exe;
	out->cmdline        = e->cmdline;
	out->user           = (char *)e->user;
	out->kernel         = (r->flags & PF_KTHREAD) != 0;
	out->partial        = e->static_partial || e->user == NULL;
	if (!stats) {
		return;
	}
	cputime_adjust(e, &ut, &st);
	rss                 = r->rss_file + r->rss_anon + r->rss_shmem;
	out->threads        = r->threads;
	out->handles        = r->fds;
	out->cpu_user_us    = ut / 1000u;
	out->cpu_system_us  = st / 1000u;
	out->rss_bytes      = rss * pg;
	out->peak_rss_bytes = (r->hiwater_rss > rss ? r->hiwater_rss : rss) * pg;
	out->private_bytes  = (r->rss_anon + r->swap_ents) * pg;
	out->page_faults    = e->faults;
	out->io_read_bytes  = e->rchar;
	out->io_write_bytes = e->wchar;
	out->io_read_ops    = e->syscr;
	out->io_write_ops   = e->syscw;
}

/* One scan: every task read, summed per process into p->order. */
static int
scan(bpfp *p)
{
	const struct pc_bpf_task *t;
	size_t                    n;
	int                       rv;

	if ((rv = read_tasks(p)) != PC_OK) {
		return rv;
	}
	p->scan++;
	p->n_order = 0;
	t          = (const struct pc_bpf_task *)p->buf;
	n          = p->len / sizeof(*t);
	for (size_t i = 0; i < n; i++) {
		if (t[i].leader && (rv = take_leader(p, &t[i])) != PC_OK) {
			return rv;
		}
	}
	for (size_t i = 0; i < n; i++) {
		if (!t[i].leader) {
			take_thread(p, &t[i]);
		}
	}
	return PC_OK;
}

/* Releases the processes the last scan did not list. */
static int
release_gone(bpfp *p)
{
	size_t   cur = 0;
	uint32_t pid;
	bent    *e;

	p->n_gone = 0;
	while ((e = pc_idmap_next(&p->procs, &cur, &pid)) != NULL) {
		if (e->seen == p->scan) {
			continue;
		}
		if (grow((void **)&p->gone, &p->cap_gone, p->n_gone + 1, sizeof(*p->gone)) !=
		    PC_OK) {
			return PC_ENOMEM; /* released on a later tick */
		}
		p->gone[p->n_gone++] = pid;
	}
	for (size_t i = 0; i < p->n_gone; i++) {
		bent_free(pc_idmap_remove(&p->procs, p->gone[i]));
	}
	return PC_OK;
}

static int
bpf_processes_by_pid(pc_probe *base, uint64_t now_ms, bool collect_stats, pc_snapshot *out)
{
	bpfp *p = (bpfp *)base;
	int   rv;

	(void)now_ms;
	if ((rv = scan(p)) != PC_OK) {
		return rv;
	}
	for (size_t i = 0; i < p->n_order; i++) {
		pc_proc *r = pc_snapshot_add(out);
		if (r == NULL) {
			return PC_ENOMEM;
		}
		fill(p, p->order[i], collect_stats, r);
	}
	return release_gone(p);
}

/* One scan costs about a microsecond a process, less than looking the
 * PIDs up one by one in /proc would. */
static int
bpf_stats_for_pids(pc_probe *base, const uint32_t *pids, size_t n, uint64_t now_ms,
                   pc_snapshot *out)
{
	bpfp *p = (bpfp *)base;
	int   rv;

	(void)now_ms;
	if ((rv = scan(p)) != PC_OK) {
		return rv;
	}
	for (size_t i = 0; i < n; i++) {
		bent    *e = pc_idmap_get(&p->procs, pids[i]);
		pc_proc *r;
		if (e == NULL || e->seen != p->scan) {
			continue;
		}
		if ((r = pc_snapshot_add(out)) == NULL) {
			return PC_ENOMEM;
		}
		fill(p, e, true, r);
	}
	return PC_OK;
}

static void
bpf_close(pc_probe *base)
{
	bpfp    *p   = (bpfp *)base;
	size_t   cur = 0;
	uint32_t id;
	void    *v;

	while ((v = pc_idmap_next(&p->procs, &cur, &id)) != NULL) {
		bent_free(v);
	}
	pc_idmap_fini(&p->procs);
	pc_procfs_users_fini(&p->users);
	bpf_link__destroy(p->iter);
	pc_task__destroy(p->skel);
	if (p->proc_fd >= 0) {
		close(p->proc_fd);
	}
	free(p->buf);
	free(p->order);
	free(p->gone);
	free(p);
}

/* Why the kernel refused, in words an operator can act on. */
static void
say_why(int err, char *why, size_t cap)
{
	if (why == NULL || cap == 0) {
		return;
	}
	if (err == EPERM || err == EACCES) {
		snprintf(why, cap,
		         "not permitted to load BPF programs (needs CAP_BPF and "
		         "CAP_PERFMON, or root)");
	} else if (access("/sys/kernel/btf/vmlinux", R_OK) != 0) {
		snprintf(why, cap, "the kernel has no BTF (/sys/kernel/btf/vmlinux)");
	} else {
		snprintf(why, cap, "the kernel refused the task iterator: %s%s%s", strerror(err),
		         libbpf_msg[0] ? ": " : "", libbpf_msg);
	}
}

static int
bpf_open(pc_probe **out, char *why, size_t cap)
{
	bpfp *p = calloc(1, sizeof(*p));
	int   err;

	if (p == NULL) {
		return PC_ENOMEM;
	}
	p->base.ops  = &pc_probe_bpf_ops;
	p->proc_fd   = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	p->hz        = sysconf(_SC_CLK_TCK);
	p->page_size = sysconf(_SC_PAGESIZE);
	p->boot_ms   = pc_procfs_boot_ms();
	if (p->proc_fd < 0 || p->hz <= 0 || p->page_size <= 0) {
		say_why(errno, why, cap);
		bpf_close(&p->base);
		return PC_ENOTSUP;
	}
	libbpf_msg[0] = '\0';
	libbpf_set_print(keep_libbpf_msg);
	/* The kernel's BTF named outright: libbpf then never lists kernel
	 * modules' BTF for a type vmlinux lacks (the pre-6.2 layout), which
	 * takes CAP_SYS_ADMIN where CAP_BPF and CAP_PERFMON should do. */
	LIBBPF_OPTS(bpf_object_open_opts, opts, .btf_custom_path = "/sys/kernel/btf/vmlinux");
	if ((p->skel = pc_task__open_opts(&opts)) != NULL && (err = pc_task__load(p->skel)) != 0) {
		pc_task__destroy(p->skel);
		p->skel = NULL;
		errno   = -err;
	}
	if (p->skel == NULL) {
		err = errno;
		say_why(err, why, cap);
		bpf_close(&p->base);
		return err == EPERM || err == EACCES ? PC_EPERM : PC_ENOTSUP;
	}
	p->iter = bpf_program__attach_iter(p->skel->progs.pc_dump_task, NULL);
	if (p->iter == NULL) {
		err = errno;
		say_why(err, why, cap);
		bpf_close(&p->base);
		return err == EPERM || err == EACCES ? PC_EPERM : PC_ENOTSUP;
	}
	*out = &p->base;
	return PC_OK;
}

const pc_probe_ops pc_probe_bpf_ops = {
	.name             = "bpf",
	.open             = bpf_open,
	.close            = bpf_close,
	.processes_by_pid = bpf_processes_by_pid,
	.stats_for_pids   = bpf_stats_for_pids,
};
