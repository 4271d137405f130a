/* pc_probe_bpf.c: the Linux probe that asks the kernel for its table. One
 * read of a BPF task iterator (pc_task.bpf.c) returns a fixed-size record
 * of every task: no text to generate or parse, no fd held per process.
 * Whole-process figures are summed here as /proc sums them: the live
 * threads' counters plus what dead threads left in the signal struct; CPU
 * time is then scaled to the scheduler's runtime as /proc's cputime_adjust
 * does. What is text and rarely changes (exe, command line) is read once
 * from /proc when a process is new, as procfs does.
 *
 * The same object's tracepoint programs put each fork, exec and exit on a
 * ring buffer, drained after each read of the iterator: a fork starts a
 * process's entry with its parent's text, an exec replaces name, exe and
 * command line (argv as copied at exec), and an exit gives its final
 * record and how it ended: the snapshot's exits, short-lived processes
 * included. An ended process is never listed again, though the iterator
 * lists it until it is reaped. */
#define _GNU_SOURCE /* O_DIRECTORY with fdopendir */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
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
	uint64_t    seen;     /* the last scan that listed it alive */
	uint64_t    kept;     /* the last scan that listed it or saw an event of it */
	uint32_t    ppid;     /* from its fork, until a record has it */
	bool        exited;   /* its exit is reported: never listed again */
	char        name[64]; /* comm; a kernel thread's as /proc composes it */
	bool        kernel;
	char       *exe;
	char       *cmdline;
	const char *user; /* owned by the uid cache */
	bool        static_partial;
	char        state;     /* the last scan's letter */
	uint64_t    cgroup_id; /* of ctx, read when the iterator's differs */
	bool        ctx_read;  /* ctx holds what cgroup_id names */
	pc_context  ctx;
	uint64_t    text_id; /* of exe, cmdline, user and ctx (pc_proc.h) */
	/* This scan's sums over the process's threads. */
	uint64_t utime_ns, stime_ns, runtime_ns, faults;
	uint64_t rchar, wchar, syscr, syscw;
	/* CPU time as last reported: /proc's prev_cputime, so that the
	 * scaled split never goes back. */
	uint64_t                  prev_utime_ns, prev_stime_ns;
	const struct pc_bpf_task *rec;  /* the leader's record this scan */
	struct pc_bpf_task        last; /* the exit's record, once exited */
} bent;

typedef struct bpfp {
	pc_probe            base;
	struct pc_task     *skel;
	struct bpf_link    *iter;  /* the fallback walk, a record a read */
	struct bpf_link    *walk;  /* the fast walk, or NULL: pc_table's */
	struct pc_bpf_task *table; /* pc_table, mapped */
	size_t              table_cap, table_bytes;
	struct bpf_link    *tp[3]; /* fork, exec, exit; NULL without them */
	struct ring_buffer *ring;  /* their events */
	pc_snapshot        *out;   /* the snapshot the events go to, while draining */
	int                 ring_err;
	bool                with_events; /* the tracepoint programs loaded */
	uint64_t            exits_seen;
	pc_idmap            procs; /* pid -> bent */
	pc_idmap            users; /* uid -> name */
	int                 proc_fd;
	uint64_t            boot_ms;
	uint64_t            scan;
	long                hz;
	long                page_size;
	uint8_t            *buf; /* one read of the iterator */
	size_t              len, cap;
	bent              **order; /* this scan's processes, in the kernel's order */
	size_t              n_order, cap_order;
	uint32_t           *gone;
	size_t              n_gone, cap_gone;
	bent              **grave; /* ended, replaced by a PID's reuse: freed next call */
	size_t              n_grave, cap_grave;
	char                text[TEXT_BUF];
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

/* One read of the fallback iterator into p->buf: every task's record. */
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

/* Every task's record, by the fast walk into pc_table where it can, else
 * by the fallback iterator. */
static int
walk_tasks(bpfp *p, const struct pc_bpf_task **recs, size_t *n)
{
	char    none;
	ssize_t got;
	int     fd, rv;

	if (p->walk != NULL) {
		if ((fd = bpf_iter_create(bpf_link__fd(p->walk))) < 0) {
			return errno == ENOMEM ? PC_ENOMEM : PC_ESYS;
		}
		/* The program writes nothing to the read: the read runs it. */
		while ((got = read(fd, &none, sizeof(none))) < 0 && errno == EINTR) {
		}
		close(fd);
		if (got < 0) {
			return PC_ESYS;
		}
		if (!p->skel->bss->pc_walk_full) {
			*recs = p->table;
			*n    = p->skel->bss->pc_walk_n;
			return PC_OK;
		}
		/* More tasks than room: this tick the fallback way. */
	}
	if ((rv = read_tasks(p)) != PC_OK) {
		return rv;
	}
	*recs = (const struct pc_bpf_task *)p->buf;
	*n    = p->len / sizeof(**recs);
	return PC_OK;
}

static void
bent_free(bent *e)
{
	free(e->exe);
	free(e->cmdline);
	pc_context_clear(&e->ctx);
	free(e);
}

/* The context of a process whose cgroup is new to us: its path read once
 * from /proc, then again only when the iterator gives another id. A read
 * that fails (the process is going) is tried again at the next scan. */
static void
read_context(bpfp *p, bent *e, uint64_t cgroup_id)
{
	bool changed;

	if (e->ctx_read && e->cgroup_id == cgroup_id) {
		return;
	}
	if (pc_procfs_context(p->proc_fd, e->pid, p->text, sizeof(p->text), &e->ctx, &changed) ==
	    PC_OK) {
		e->cgroup_id = cgroup_id;
		e->ctx_read  = true;
		if (changed) {
			e->text_id = pc_probe_text_id();
		}
	}
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
	e->text_id = pc_probe_text_id();
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

/* A start time as the key's create time, as /proc's stat gives it (in
 * clock ticks), so that both backends and every event agree. */
static uint64_t
create_ms(const bpfp *p, uint64_t start_boottime_ns)
{
	uint64_t ticks = start_boottime_ns / (1000000000u / (uint64_t)p->hz);

	return pc_procfs_start_ms(p->boot_ms, ticks, p->hz);
}

/* The process's sums start from a leader's record: its own counters and
 * those its dead threads left. */
static void
sum_leader(bent *e, const struct pc_bpf_task *r)
{
	e->rec        = r;
	e->utime_ns   = r->sig_utime_ns + r->utime_ns;
	e->stime_ns   = r->sig_stime_ns + r->stime_ns;
	e->runtime_ns = r->sig_runtime_ns + r->runtime_ns;
	e->faults     = r->sig_min_flt + r->sig_maj_flt + r->min_flt + r->maj_flt;
	e->rchar      = r->sig_rchar + r->rchar;
	e->wchar      = r->sig_wchar + r->wchar;
	e->syscr      = r->sig_syscr + r->syscr;
	e->syscw      = r->sig_syscw + r->syscw;
}

static int
take_leader(bpfp *p, const struct pc_bpf_task *r)
{
	uint64_t ct = create_ms(p, r->start_boottime_ns);
	bent    *e  = pc_idmap_get(&p->procs, r->tgid);
	bool     fresh;

	if (e != NULL && e->create_time_ms != ct) {
		bent_free(pc_idmap_remove(&p->procs, r->tgid)); /* PID reused */
		e = NULL;
	}
	if (e != NULL && e->exited) {
		e->kept = p->scan; /* a zombie, not reaped yet */
		return PC_OK;
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
	const char *user = pc_procfs_user(&p->users, r->uid);
	if (user != e->user) { /* one string a uid: a new pointer is a new name */
		e->user    = user;
		e->text_id = pc_probe_text_id();
	}
	e->state = PC_BPF_STATES[r->state < sizeof(PC_BPF_STATES) - 1 ? r->state : 0];
	read_context(p, e, r->cgroup_id);
	e->seen = e->kept = p->scan;
	sum_leader(e, r);
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

	if (e == NULL || e->seen != p->scan || e->exited) {
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
	out->state          = (char *)pc_proc_state_str(e->state);
	pc_context_fill(&e->ctx, out);
	out->text_id = e->text_id;
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

	if ((rv = walk_tasks(p, &t, &n)) != PC_OK) {
		return rv;
	}
	p->scan++;
	p->n_order = 0;
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
		if (e->kept == p->scan) {
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

/* The entry of the process with this key: the one held, or a new one
 * (NULL when out of memory), which a PID reused replaces. */
static bent *
event_bent(bpfp *p, uint32_t pid, uint64_t ct)
{
	bent *e = pc_idmap_get(&p->procs, pid);

	if (e != NULL && e->create_time_ms == ct) {
		return e;
	}
	if (e != NULL) { /* PID reused */
		if (e->kept == p->scan) {
			/* Listed by this scan or reported in this drain: its
			 * record and strings live to the next call. */
			if (grow((void **)&p->grave, &p->cap_grave, p->n_grave + 1,
			         sizeof(*p->grave)) != PC_OK) {
				return NULL; /* the event is lost, the old entry kept */
			}
			p->grave[p->n_grave++] = pc_idmap_remove(&p->procs, pid);
		} else {
			bent_free(pc_idmap_remove(&p->procs, pid));
		}
	}
	if ((e = calloc(1, sizeof(*e))) == NULL) {
		return NULL;
	}
	e->pid            = pid;
	e->create_time_ms = ct;
	e->static_partial = true; /* until its text is known */
	if (pc_idmap_set(&p->procs, pid, e) != PC_OK) {
		free(e);
		return NULL;
	}
	return e;
}

/* A string copied into *dst, repaired to UTF-8; *dst kept when out of
 * memory. */
static void
set_text(char **dst, const char *s)
{
	char *c = s != NULL ? pc_utf8_dup(s) : NULL;

	if (s == NULL || c != NULL) {
		free(*dst);
		*dst = c;
	}
}

/* A child shares its parent's image, argv and user until it execs. */
static int
on_born(bpfp *p, const struct pc_bpf_fork *f)
{
	uint64_t    ct = create_ms(p, f->h.start_boottime_ns);
	const bent *up = pc_idmap_get(&p->procs, f->parent);
	bent       *e  = pc_idmap_get(&p->procs, f->h.tgid);

	if (e != NULL && e->create_time_ms == ct) {
		e->kept = p->scan;
		return PC_OK; /* listed already */
	}
	if ((e = event_bent(p, f->h.tgid, ct)) == NULL) {
		return PC_ENOMEM;
	}
	e->kept = p->scan;
	e->ppid = f->ppid;
	if (up != NULL) {
		memcpy(e->name, up->name, sizeof(e->name));
		set_text(&e->exe, up->exe);
		set_text(&e->cmdline, up->cmdline);
		e->user           = up->user;
		e->static_partial = up->static_partial;
		/* Born in its parent's cgroup (clone3's CLONE_INTO_CGROUP
		 * aside, which the next scan's id shows). */
		if (up->ctx_read && pc_context_copy(&e->ctx, &up->ctx) == PC_OK) {
			e->cgroup_id = up->cgroup_id;
			e->ctx_read  = true;
		}
	}
	e->text_id = pc_probe_text_id();
	return PC_OK;
}

/* A new image: its name, exe and argv replace the old ones. The exe is
 * the link /proc resolves, while the process lives; else the path given
 * to execve. */
static int
on_image(bpfp *p, const struct pc_bpf_exec *x)
{
	bent *e = event_bent(p, x->h.tgid, create_ms(p, x->h.start_boottime_ns));
	char  args[PC_BPF_ARGS + 1];
	char *exe, *cmd;
	int   err = 0;

	if (e == NULL) {
		return PC_ENOMEM;
	}
	e->kept = p->scan;
	pc_utf8_repair(e->name, sizeof(e->name), x->comm, strnlen(x->comm, PC_BPF_COMM));
	/* The whole command line from /proc while the process lives, cut at
	 * --cmdline-max as procfs cuts it; the argv the event copied (its
	 * first PC_BPF_ARGS bytes) once it is gone or a zombie, whose
	 * cmdline /proc gives empty. */
	bool cut = false;
	cmd      = pc_procfs_cmdline(p->proc_fd, e->pid, &p->base.scrub, p->base.cmdline_max, &cut);
	if (cmd != NULL && cmd[0] == '\0' && x->args_len > 0) {
		free(cmd);
		cmd = NULL;
	}
	if (cmd == NULL) {
		memcpy(args, x->args, x->args_len <= PC_BPF_ARGS ? x->args_len : PC_BPF_ARGS);
		cut = x->args_len > PC_BPF_ARGS;
		if ((cmd = pc_procfs_args(args,
		                          x->args_len <= PC_BPF_ARGS ? x->args_len : PC_BPF_ARGS,
		                          &p->base.scrub)) == NULL) {
			return PC_ENOMEM;
		}
	}
	free(e->cmdline);
	e->cmdline = cmd;
	if ((exe = pc_procfs_exe(p->proc_fd, e->pid, p->text, sizeof(p->text), &err)) == NULL) {
		exe = pc_utf8_dup(x->filename[0] != '\0' ? x->filename : "");
	}
	if (exe != NULL) {
		free(e->exe);
		e->exe = exe;
	}
	e->static_partial = exe == NULL || cut;
	e->text_id        = pc_probe_text_id();
	return PC_OK;
}

/* How it ended, from a wait(2) status. */
static pc_exit
exit_status(const bpfp *p, const struct pc_bpf_exit *x)
{
	pc_exit s = { .known = true };

	if ((x->status & 0x7f) != 0) {
		s.signal = (int32_t)(x->status & 0x7f);
	} else {
		s.code = (int32_t)((x->status >> 8) & 0xff);
	}
	s.time_ms = p->boot_ms + x->exit_boottime_ns / 1000000u;
	return s;
}

/* The end of a process: its final record goes to the snapshot's exits,
 * and its entry stays, marked, until the iterator no longer lists it. */
static int
on_end(bpfp *p, const struct pc_bpf_exit *x)
{
	bent    *e = event_bent(p, x->h.tgid, create_ms(p, x->h.start_boottime_ns));
	pc_proc *out;

	if (e == NULL) {
		return PC_ENOMEM;
	}
	if (e->exited) {
		return PC_OK;
	}
	e->kept   = p->scan;
	e->exited = true;
	e->last   = x->t;
	sum_leader(e, &e->last);
	if ((e->last.flags & PF_KTHREAD) == 0) {
		comm_name(e, &e->last);
	}
	e->user = pc_procfs_user(&p->users, e->last.uid);
	if ((out = pc_snapshot_add_exit(p->out)) == NULL) {
		return PC_ENOMEM;
	}
	fill(p, e, true, out);
	out->exit = exit_status(p, x);
	p->exits_seen++;
	return PC_OK;
}

/* Frees the entries kept for the last call's exits. */
static void
bury(bpfp *p)
{
	for (size_t i = 0; i < p->n_grave; i++) {
		bent_free(p->grave[i]);
	}
	p->n_grave = 0;
}

static int
on_event(void *arg, void *data, size_t size)
{
	bpfp                    *p  = arg;
	const struct pc_bpf_hdr *h  = data;
	int                      rv = PC_OK;

	if (size >= sizeof(struct pc_bpf_fork) && h->type == PC_BPF_FORK) {
		rv = on_born(p, data);
	} else if (size >= sizeof(struct pc_bpf_exec) && h->type == PC_BPF_EXEC) {
		rv = on_image(p, data);
	} else if (size >= sizeof(struct pc_bpf_exit) && h->type == PC_BPF_EXIT) {
		rv = on_end(p, data);
	}
	if (rv != PC_OK && p->ring_err == PC_OK) {
		p->ring_err = rv; /* the rest is still drained */
	}
	return 0;
}

/* The events since the last drain, after the iterator's read: a process
 * that ended before the read has its exit on the ring by then. */
static int
drain(bpfp *p, pc_snapshot *out)
{
	if (p->ring == NULL) {
		return PC_OK;
	}
	p->out      = out;
	p->ring_err = PC_OK;
	if (ring_buffer__consume(p->ring) < 0 && p->ring_err == PC_OK) {
		p->ring_err = PC_ESYS;
	}
	p->out = NULL;
	return p->ring_err;
}

static int
bpf_processes_by_pid(pc_probe *base, uint64_t now_ms, bool collect_stats, pc_snapshot *out)
{
	bpfp *p = (bpfp *)base;
	int   rv;

	(void)now_ms;
	bury(p);
	if ((rv = scan(p)) != PC_OK || (rv = drain(p, out)) != PC_OK) {
		return rv;
	}
	for (size_t i = 0; i < p->n_order; i++) {
		pc_proc *r;
		if (p->order[i]->exited) {
			continue; /* listed, and gone since: in out->exits */
		}
		if ((r = pc_snapshot_add(out)) == NULL) {
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
		if (e == NULL || e->seen != p->scan || e->exited) {
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
	ring_buffer__free(p->ring);
	for (size_t i = 0; i < 3; i++) {
		bpf_link__destroy(p->tp[i]);
	}
	bpf_link__destroy(p->iter);
	bpf_link__destroy(p->walk);
	if (p->table != NULL) {
		munmap(p->table, p->table_bytes);
	}
	pc_task__destroy(p->skel);
	if (p->proc_fd >= 0) {
		close(p->proc_fd);
	}
	bury(p);
	free(p->grave);
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

/* Opens and loads the object, with its tracepoint programs or (events
 * false: a kernel older than the hooks they take) the iterator only, and
 * with the fast walk or (walk false: a kernel before 6.7) without it.
 * Returns 0 or an errno. */
static int
load(bpfp *p, bool events, bool walk)
{
	int err;

	/* The kernel's BTF named outright: libbpf then never lists kernel
	 * modules' BTF for a type vmlinux lacks (the pre-6.2 layout), which
	 * takes CAP_SYS_ADMIN where CAP_BPF and CAP_PERFMON should do. */
	LIBBPF_OPTS(bpf_object_open_opts, opts, .btf_custom_path = "/sys/kernel/btf/vmlinux");
	pc_task__destroy(p->skel);
	if ((p->skel = pc_task__open_opts(&opts)) == NULL) {
		return errno;
	}
	if (!events) {
		bpf_program__set_autoload(p->skel->progs.pc_fork, false);
		bpf_program__set_autoload(p->skel->progs.pc_exec, false);
		bpf_program__set_autoload(p->skel->progs.pc_exit, false);
	}
	if (!walk) {
		bpf_program__set_autoload(p->skel->progs.pc_walk_tasks, false);
	}
	bpf_map__set_max_entries(p->skel->maps.pc_table, walk ? (__u32)p->table_cap : 1);
	if ((err = pc_task__load(p->skel)) != 0) {
		pc_task__destroy(p->skel);
		p->skel = NULL;
		return -err;
	}
	p->with_events = events;
	return 0;
}

/* Attaches the tracepoint programs and opens their ring. An errno or 0. */
static int
watch(bpfp *p)
{
	struct bpf_program *progs[3] = { p->skel->progs.pc_fork, p->skel->progs.pc_exec,
		                         p->skel->progs.pc_exit };

	for (size_t i = 0; i < 3; i++) {
		if ((p->tp[i] = bpf_program__attach(progs[i])) == NULL) {
			return errno;
		}
	}
	p->ring = ring_buffer__new(bpf_map__fd(p->skel->maps.pc_events), on_event, p, NULL);
	return p->ring == NULL ? errno : 0;
}

/* Room for the fast walk's records: twice the host's tasks now
 * (/proc/loadavg's fourth field), at least PC_TABLE_MIN; a host that grows
 * past it is walked the fallback way. */
#define PC_TABLE_MIN 16384u

static size_t
table_cap(void)
{
	unsigned long tasks = 0;
	FILE         *f     = fopen("/proc/loadavg", "re");

	if (f != NULL) {
		if (fscanf(f, "%*s %*s %*s %*u/%lu", &tasks) != 1) {
			tasks = 0;
		}
		fclose(f);
	}
	return tasks * 2 > PC_TABLE_MIN ? tasks * 2 : PC_TABLE_MIN;
}

/* The fast walk's link, limited to the reader's own task so that one read
 * runs pc_walk_tasks once, and its table mapped. Without them (a kernel
 * before 6.7, or a refusal) every scan takes the fallback iterator. */
static void
attach_walk(bpfp *p)
{
	union bpf_iter_link_info li = { .task.tid = (__u32)getpid() };
	LIBBPF_OPTS(bpf_iter_attach_opts, o, .link_info = &li, .link_info_len = sizeof(li));
	void *m;

	if (!bpf_program__autoload(p->skel->progs.pc_walk_tasks)) {
		return;
	}
	p->table_bytes = p->table_cap * sizeof(struct pc_bpf_task);
	m = mmap(NULL, p->table_bytes, PROT_READ, MAP_SHARED, bpf_map__fd(p->skel->maps.pc_table),
	         0);
	if (m == MAP_FAILED) {
		return;
	}
	if ((p->walk = bpf_program__attach_iter(p->skel->progs.pc_walk_tasks, &o)) == NULL) {
		munmap(m, p->table_bytes);
		return;
	}
	p->table = m;
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
	p->table_cap = table_cap();
	if (p->proc_fd < 0 || p->hz <= 0 || p->page_size <= 0) {
		say_why(errno, why, cap);
		bpf_close(&p->base);
		return PC_ENOTSUP;
	}
	libbpf_msg[0] = '\0';
	libbpf_set_print(keep_libbpf_msg);
	if ((err = load(p, true, true)) == EPERM || err == EACCES ||
	    (err != 0 && (err = load(p, true, false)) != 0 && (err = load(p, false, false)) != 0)) {
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
	attach_walk(p);
	if (p->with_events && (err = watch(p)) != 0) {
		say_why(err, why, cap);
		bpf_close(&p->base);
		return err == EPERM || err == EACCES ? PC_EPERM : PC_ENOTSUP;
	}
	*out = &p->base;
	return PC_OK;
}

static void
bpf_stats(pc_probe *base, pc_probe_stats *out)
{
	bpfp *p = (bpfp *)base;

	out->events = p->ring != NULL;
	out->exits  = p->exits_seen;
	if (p->ring != NULL) {
		/* Written by the kernel's programs: read once each. */
		out->lost_forks =
		        __atomic_load_n(&p->skel->bss->pc_lost[PC_BPF_FORK], __ATOMIC_RELAXED);
		out->lost_execs =
		        __atomic_load_n(&p->skel->bss->pc_lost[PC_BPF_EXEC], __ATOMIC_RELAXED);
		out->lost_exits =
		        __atomic_load_n(&p->skel->bss->pc_lost[PC_BPF_EXIT], __ATOMIC_RELAXED);
	}
}

const pc_probe_ops pc_probe_bpf_ops = {
	.name             = "bpf",
	.open             = bpf_open,
	.close            = bpf_close,
	.processes_by_pid = bpf_processes_by_pid,
	.stats_for_pids   = bpf_stats_for_pids,
	.stats            = bpf_stats,
};
