/* pc_probe_procfs.c: the Linux probe. Lists /proc once a tick and keeps
 * each process's stat, statm and io files and its fd directory open,
 * re-reading them with pread() at offset 0 (fstat() for the directory):
 * the kernel regenerates their text on every read, and a held fd fails
 * with ESRCH once its process has exited, even if the PID is reused, so
 * the fd is also the identity check. status, which costs as much to
 * generate as the other three together, is read when a process is new and
 * then every STATUS_EVERY ticks, for the few values only it has; cgroup,
 * for the process's context, every PC_PROBE_CONTEXT_EVERY ticks. */
#define _GNU_SOURCE /* pread, openat, fstatat */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/pc_err.h"
#include "base/pc_idmap.h"
#include "base/pc_utf8.h"
#include "platform/pc_platform.h"
#include "probe/pc_probe.h"
#include "probe/pc_procfs_text.h"

extern const pc_probe_ops pc_probe_procfs_ops;

/* The files held per process, in the order they are read; status comes
 * last so that, when fds run short, the budget goes to those read every
 * tick. */
enum { F_STAT, F_STATM, F_IO, F_FD, F_STATUS, N_FILES };
static const char *const file_names[N_FILES] = { "stat", "statm", "io", "fd", "status" };

/* status is re-read every STATUS_EVERY ticks, staggered by PID so that a
 * tick reads a 1/STATUS_EVERY share: it is the only source of the uid, the
 * peak RSS (VmHWM) and swap (VmSwap), which change rarely, and it costs
 * about 7 us a process against 8 us for stat, statm, io and the fd count
 * together. */
#define STATUS_EVERY PC_PROBE_STATUS_EVERY

/* Fds kept free for sockets and the files opened once (cmdline, exe). */
#define FD_RESERVE 256

/* Large enough for any status file; a longer one is read truncated,
 * which loses only fields we do not use. */
#define READ_BUF 8192

#define PF_KTHREAD 0x00200000u /* stat flags: a kernel thread */

typedef struct pent {
	uint32_t    pid;
	uint64_t    create_time_ms;
	uint64_t    tick; /* the last tick that listed it */
	int         fd[N_FILES];
	char        name[64]; /* comm: re-read every tick, since prctl may change it */
	char       *exe;
	char       *cmdline;
	const char *user;    /* owned by the uid cache */
	pc_context  ctx;     /* from its cgroup */
	uint64_t    text_id; /* of exe, cmdline, user and ctx (pc_proc.h) */
	uint64_t    hwm_kb;  /* VmHWM at the last status read */
	uint64_t    swap_kb; /* VmSwap at the last status read */
	bool        static_partial;
	bool        kernel;
	uint8_t     denied; /* bit per file that the OS refused */
} pent;

typedef struct procfs {
	pc_probe  base;
	pc_idmap  procs; /* pid -> pent */
	pc_idmap  users; /* uid -> user name */
	DIR      *proc;
	int       proc_fd;
	uint64_t  boot_ms;
	uint64_t  tick;
	long      hz;
	long      page_size;
	size_t    fds_held;
	size_t    fd_budget;
	bool      fd_count_by_size;
	uint32_t *gone; /* PIDs to release at the end of a tick */
	size_t    n_gone;
	size_t    cap_gone;
	char      buf[READ_BUF];
} procfs;

/* Holds fd as the process's file `which` if the budget allows; status,
 * read once in STATUS_EVERY ticks, is not worth an fd. */
static void
keep_fd(procfs *p, pent *e, int which, int fd)
{
	if (which != F_STATUS && p->fds_held < p->fd_budget) {
		e->fd[which] = fd;
		p->fds_held++;
	} else {
		close(fd);
	}
}

/* Reads one file of a process into p->buf, NUL-terminated. Returns the
 * length, -ESRCH (or -ENOENT) when the process is gone, or another -errno.
 * A held fd is re-read; if that fails for another reason, or no fd is held,
 * the file is opened afresh, and kept if the fd budget allows. */
static ssize_t
read_file(procfs *p, pent *e, int which)
{
	char    path[32];
	ssize_t n;
	int     fd;

	if (e->denied & (1u << which)) {
		return -EACCES; /* refused once: permissions do not change back */
	}
	if (e->fd[which] >= 0) {
		n = pread(e->fd[which], p->buf, sizeof(p->buf) - 1, 0);
		if (n >= 0) {
			p->buf[n] = '\0';
			return n;
		}
		if (errno == ESRCH) {
			return -ESRCH;
		}
		close(e->fd[which]);
		e->fd[which] = -1;
		p->fds_held--;
	}
	snprintf(path, sizeof(path), "%u/%s", e->pid, file_names[which]);
	fd = openat(p->proc_fd, path, O_RDONLY | O_CLOEXEC);
	n  = fd >= 0 ? pread(fd, p->buf, sizeof(p->buf) - 1, 0) : -1;
	if (n < 0) {
		int err = errno;
		if (fd >= 0) {
			close(fd);
		}
		if (err == EACCES || err == EPERM) {
			e->denied |= 1u << which;
		}
		return -err;
	}
	p->buf[n] = '\0';
	keep_fd(p, e, which, fd);
	return n;
}

static bool
is_gone(ssize_t rv)
{
	return rv == -ESRCH || rv == -ENOENT;
}

/* Fields of /proc/PID/stat that we use. */
typedef struct stat_fields {
	char     state;
	uint32_t ppid, flags, threads;
	uint64_t minflt, majflt, utime, stime, starttime, rss_pages;
} stat_fields;

/* The decimal at *s after blanks, with an optional '-' (stat has signed
 * fields we skip), moving *s past it; false when there is none. strtoull
 * does the same with locale and base handling that /proc never needs, and
 * was 5% of a tick. */
static bool
next_u64(char **s, uint64_t *v)
{
	char *p   = *s;
	bool  neg = false;

	while (*p == ' ' || *p == '\t') {
		p++;
	}
	if (*p == '-') {
		neg = true;
		p++;
	}
	if (*p < '0' || *p > '9') {
		return false;
	}
	for (*v = 0; *p >= '0' && *p <= '9'; p++) {
		*v = *v * 10 + (uint64_t)(*p - '0');
	}
	if (neg) {
		*v = 0 - *v;
	}
	*s = p;
	return true;
}

/* Parses stat in p->buf; the name goes to name, as valid UTF-8: the
 * kernel cuts comm at 15 bytes, inside a character if it must. The comm
 * field may hold spaces and parentheses, so it ends at the last ')'. */
static int
parse_stat(const char *buf, char *name, size_t name_cap, stat_fields *sf)
{
	const char *open  = strchr(buf, '(');
	const char *close = strrchr(buf, ')');
	uint64_t    v[25];
	char       *s;
	size_t      len;

	if (open == NULL || close == NULL || close < open) {
		return PC_EPROTO;
	}
	len = (size_t)(close - open - 1);
	pc_utf8_repair(name, name_cap, open + 1, len);
	/* v[3] is field 3 (state, skipped), v[4] ppid, ... as in proc(5). */
	s = (char *)close + 2;
	if (*s == '\0') {
		return PC_EPROTO;
	}
	sf->state = *s++;
	for (int i = 4; i < 25; i++) {
		if (!next_u64(&s, &v[i])) {
			return PC_EPROTO;
		}
	}
	sf->ppid      = (uint32_t)v[4];
	sf->flags     = (uint32_t)v[9];
	sf->minflt    = v[10];
	sf->majflt    = v[12];
	sf->utime     = v[14];
	sf->stime     = v[15];
	sf->threads   = (uint32_t)v[20];
	sf->starttime = v[22];
	sf->rss_pages = v[24];
	return PC_OK;
}

/* The values of n keys ("Name:") of a "key: value" text, 0 when absent, in
 * one pass over its lines that stops once every key is found: status is
 * long and the keys we want are far apart. */
static void
fields_u64(const char *text, const char *const *keys, uint64_t *vals, int n)
{
	int found = 0;

	for (int i = 0; i < n; i++) {
		vals[i] = 0;
	}
	for (const char *line = text; line != NULL && *line != '\0' && found < n;) {
		for (int i = 0; i < n; i++) {
			size_t len;
			if (line[0] != keys[i][0]) { /* most lines: one compare */
				continue;
			}
			len = strlen(keys[i]);
			if (strncmp(line, keys[i], len) == 0) {
				char *at = (char *)line + len;
				if (!next_u64(&at, &vals[i])) {
					vals[i] = 0;
				}
				found++;
				break;
			}
		}
		line = strchr(line, '\n');
		line = line != NULL ? line + 1 : NULL;
	}
}

/* Reads status for what only it has: the real uid (the first of the Uid
 * line; a process may change it, so it is refreshed too), the peak RSS and
 * swap. Returns what read_file returned. */
static ssize_t
read_status(procfs *p, pent *e)
{
	static const char *const keys[] = { "Uid:", "VmHWM:", "VmSwap:" };
	uint64_t                 v[3];
	ssize_t                  n = read_file(p, e, F_STATUS);

	if (n < 0) {
		return n;
	}
	fields_u64(p->buf, keys, v, 3);
	if (strstr(p->buf, "Uid:") != NULL) {
		const char *user = pc_procfs_user(&p->users, (uint32_t)v[0]);
		if (user != e->user) { /* one string a uid: a new pointer is a new name */
			e->user    = user;
			e->text_id = pc_probe_text_id();
		}
	}
	e->hwm_kb  = v[1];
	e->swap_kb = v[2];
	return n;
}

static void
pent_free(procfs *p, pent *e)
{
	for (int i = 0; i < N_FILES; i++) {
		if (e->fd[i] >= 0) {
			close(e->fd[i]);
			p->fds_held--;
		}
	}
	free(e->exe);
	free(e->cmdline);
	pc_context_clear(&e->ctx);
	free(e);
}

/* The context, from the cgroup file: a failure to read it leaves what
 * was known (every process has a cgroup; a new one reads it next time). */
static void
read_context(procfs *p, pent *e)
{
	bool changed;

	if (pc_procfs_context(p->proc_fd, e->pid, p->buf, sizeof(p->buf), &e->ctx, &changed) ==
	            PC_OK &&
	    changed) {
		e->text_id = pc_probe_text_id();
	}
}

/* A process seen for the first time: its stat gives the identity, and what
 * never changes is read once. NULL with *err set when it vanished (-ESRCH)
 * or could not be read. */
static pent *
pent_new(procfs *p, uint32_t pid, stat_fields *sf, int *err)
{
	pent   *e = calloc(1, sizeof(*e));
	ssize_t n;
	int     err_exe = 0;

	if (e == NULL) {
		*err = -ENOMEM;
		return NULL;
	}
	e->pid = pid;
	for (int i = 0; i < N_FILES; i++) {
		e->fd[i] = -1;
	}
	if ((n = read_file(p, e, F_STAT)) < 0 ||
	    parse_stat(p->buf, e->name, sizeof(e->name), sf) != PC_OK) {
		*err = n < 0 ? (int)n : -EPROTO;
		pent_free(p, e);
		return NULL;
	}
	e->create_time_ms = pc_procfs_start_ms(p->boot_ms, sf->starttime, p->hz);
	e->kernel         = (sf->flags & PF_KTHREAD) != 0;

	(void)read_status(p, e);
	e->cmdline = pc_procfs_cmdline(p->proc_fd, pid, &p->base.scrub, p->base.cmdline_max,
	                               &e->static_partial);
	e->exe     = pc_procfs_exe(p->proc_fd, pid, p->buf, sizeof(p->buf), &err_exe);
	if (e->exe == NULL && !(e->kernel && err_exe == ENOENT)) {
		/* A kernel thread has no exe; anything else is a refusal. */
		e->static_partial = true;
	}
	if (e->user == NULL || e->cmdline == NULL) {
		e->static_partial = true;
	}
	e->text_id = pc_probe_text_id();
	read_context(p, e);
	return e;
}

static void
fill_static(const pent *e, const stat_fields *sf, pc_proc *r)
{
	r->pid            = e->pid;
	r->create_time_ms = e->create_time_ms;
	r->ppid           = sf->ppid;
	r->name           = (char *)e->name;
	r->exe            = e->exe;
	r->cmdline        = e->cmdline;
	r->user           = (char *)e->user;
	r->kernel         = e->kernel;
	r->partial        = e->static_partial;
	r->state          = (char *)pc_proc_state_str(sf->state);
	pc_context_fill(&e->ctx, r);
	r->text_id = e->text_id;
}

/* Before Linux 6.2, /proc/PID/fd has no size: count its entries. */
static int
count_entries(int dir_fd, const char *path, uint32_t *n)
{
	int            fd = openat(dir_fd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR           *d;
	struct dirent *de;

	if (fd < 0) {
		return -1;
	}
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return -1;
	}
	*n = 0;
	while ((de = readdir(d)) != NULL) {
		*n += de->d_name[0] != '.';
	}
	closedir(d);
	return 0;
}

/* Since Linux 6.2 the size of /proc/PID/fd is its number of fds. We hold
 * at least the /proc directory open, so a size of 0 means no support. */
static bool
fd_dir_has_size(void)
{
	struct stat st;

	return stat("/proc/self/fd", &st) == 0 && st.st_size > 0;
}

/* The number of open fds: since Linux 6.2 the size of the fd directory,
 * fstat'ed through a held O_PATH fd (a path lookup costs twice the
 * fstat); before, its entries counted. Returns 0 or -errno. */
static int
fd_count(procfs *p, pent *e, uint32_t *n)
{
	struct stat st;
	char        path[32];
	int         fd;

	if (e->fd[F_FD] >= 0) {
		if (fstat(e->fd[F_FD], &st) != 0) {
			return -errno;
		}
		*n = (uint32_t)st.st_size;
		return 0;
	}
	snprintf(path, sizeof(path), "%u/fd", e->pid);
	if (!p->fd_count_by_size) {
		return count_entries(p->proc_fd, path, n) == 0 ? 0 : -errno;
	}
	if ((fd = openat(p->proc_fd, path, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0) {
		return -errno;
	}
	if (fstat(fd, &st) != 0) {
		int err = errno;
		close(fd);
		return -err;
	}
	*n = (uint32_t)st.st_size;
	keep_fd(p, e, F_FD, fd);
	return 0;
}

/* Counters from statm, io, the fd directory and (now and then) status;
 * stat is already parsed. */
static void
fill_stats(procfs *p, pent *e, const stat_fields *sf, pc_proc *r)
{
	uint64_t us_per_tick = 1000000u / (uint64_t)p->hz;
	ssize_t  n;

	r->threads       = sf->threads;
	r->cpu_user_us   = sf->utime * us_per_tick;
	r->cpu_system_us = sf->stime * us_per_tick;
	r->page_faults   = sf->minflt + sf->majflt;
	r->rss_bytes     = sf->rss_pages * (uint64_t)p->page_size;

	static const char *const io_keys[] = { "rchar:", "wchar:", "syscr:", "syscw:" };
	uint64_t                 v[4];
	int                      rv;

	if ((p->tick + e->pid) % STATUS_EVERY == 0) {
		if ((n = read_status(p, e)) < 0 && !is_gone(n)) {
			r->partial = true;
		}
		r->user = (char *)e->user; /* it may have changed its uid */
	}
	r->peak_rss_bytes = e->hwm_kb * 1024u;
	if (r->peak_rss_bytes < r->rss_bytes) {
		r->peak_rss_bytes = r->rss_bytes; /* status is read later */
	}
	/* statm: size resident shared ...; resident less shared (file and
	 * shmem pages) is status's RssAnon. */
	if ((n = read_file(p, e, F_STATM)) >= 0) {
		char    *s = p->buf;
		uint64_t size, resident, shared;
		if (next_u64(&s, &size) && next_u64(&s, &resident) && next_u64(&s, &shared)) {
			uint64_t anon    = resident > shared ? resident - shared : 0;
			r->private_bytes = anon * (uint64_t)p->page_size + e->swap_kb * 1024u;
		}
	} else if (!is_gone(n)) {
		r->partial = true;
	}
	if ((n = read_file(p, e, F_IO)) >= 0) {
		fields_u64(p->buf, io_keys, v, 4);
		r->io_read_bytes  = v[0];
		r->io_write_bytes = v[1];
		r->io_read_ops    = v[2];
		r->io_write_ops   = v[3];
	} else if (!is_gone(n)) {
		r->partial = true;
	}
	if ((rv = fd_count(p, e, &r->handles)) != 0 && !is_gone(rv)) {
		r->partial = true;
	}
}

/* Reads one process into a new snapshot record. Returns PC_OK, PC_ENOENT
 * when it is gone (not an error), or PC_ENOMEM. */
static int
probe_one(procfs *p, uint32_t pid, bool stats, pc_snapshot *out)
{
	pent       *e = pc_idmap_get(&p->procs, pid);
	stat_fields sf;
	ssize_t     n;
	pc_proc    *r;
	int         err;

	if (e != NULL) {
		n = read_file(p, e, F_STAT);
		if (n < 0 || parse_stat(p->buf, e->name, sizeof(e->name), &sf) != PC_OK) {
			/* Exited; if the PID is listed again, it is a new process. */
			pent_free(p, pc_idmap_remove(&p->procs, pid));
			e = NULL;
		} else if ((p->tick + pid) % PC_PROBE_CONTEXT_EVERY == 0) {
			read_context(p, e);
		}
	}
	if (e == NULL) {
		if ((e = pent_new(p, pid, &sf, &err)) == NULL) {
			return err == -ENOMEM ? PC_ENOMEM : PC_ENOENT;
		}
		if (pc_idmap_set(&p->procs, pid, e) != PC_OK) {
			pent_free(p, e);
			return PC_ENOMEM;
		}
	}
	e->tick = p->tick;
	if ((r = pc_snapshot_add(out)) == NULL) {
		return PC_ENOMEM;
	}
	fill_static(e, &sf, r);
	if (stats) {
		fill_stats(p, e, &sf, r);
	}
	return PC_OK;
}

static int
procfs_processes_by_pid(pc_probe *base, uint64_t now_ms, bool collect_stats, pc_snapshot *out)
{
	procfs        *p = (procfs *)base;
	struct dirent *d;
	size_t         cur = 0;
	uint32_t       pid;
	pent          *e;

	(void)now_ms;
	p->tick++;
	rewinddir(p->proc);
	while ((d = readdir(p->proc)) != NULL) {
		char         *end;
		unsigned long v = strtoul(d->d_name, &end, 10);
		if (*end != '\0' || end == d->d_name) {
			continue;
		}
		if (probe_one(p, (uint32_t)v, collect_stats, out) == PC_ENOMEM) {
			return PC_ENOMEM;
		}
	}
	/* Release what this tick did not list: collect first, since the map
	 * must not change while it is iterated. */
	p->n_gone = 0;
	while ((e = pc_idmap_next(&p->procs, &cur, &pid)) != NULL) {
		if (e->tick == p->tick) {
			continue;
		}
		if (p->n_gone == p->cap_gone) {
			size_t    cap  = p->cap_gone ? p->cap_gone * 2 : 64;
			uint32_t *gone = realloc(p->gone, cap * sizeof(*gone));
			if (gone == NULL) {
				return PC_ENOMEM; /* released on a later tick */
			}
			p->gone     = gone;
			p->cap_gone = cap;
		}
		p->gone[p->n_gone++] = pid;
	}
	for (size_t i = 0; i < p->n_gone; i++) {
		pent_free(p, pc_idmap_remove(&p->procs, p->gone[i]));
	}
	return PC_OK;
}

static int
procfs_stats_for_pids(pc_probe *base, const uint32_t *pids, size_t n, uint64_t now_ms,
                      pc_snapshot *out)
{
	procfs *p = (procfs *)base;

	(void)now_ms;
	for (size_t i = 0; i < n; i++) {
		if (probe_one(p, pids[i], true, out) == PC_ENOMEM) {
			return PC_ENOMEM;
		}
	}
	return PC_OK;
}

static void
procfs_close(pc_probe *base)
{
	procfs  *p   = (procfs *)base;
	size_t   cur = 0;
	uint32_t id;
	void    *v;

	while ((v = pc_idmap_next(&p->procs, &cur, &id)) != NULL) {
		pent_free(p, v);
	}
	pc_idmap_fini(&p->procs);
	pc_procfs_users_fini(&p->users);
	if (p->proc != NULL) {
		closedir(p->proc);
	}
	free(p->gone);
	free(p);
}

/* Holding four fds a process needs more than the usual soft limit of
 * 1024: pc_fd_limit() raises it to the hard limit; the budget is what is
 * left past the reserve. */
static size_t
fd_budget(void)
{
	size_t limit = pc_fd_limit();

	if (limit == 0) { /* no limit */
		return (size_t)1 << 20;
	}
	return limit > FD_RESERVE ? limit - FD_RESERVE : 0;
}

static int
procfs_open(pc_probe **out, char *why, size_t cap)
{
	(void)why;
	(void)cap;
	procfs *p = calloc(1, sizeof(*p));

	if (p == NULL) {
		return PC_ENOMEM;
	}
	p->base.ops = &pc_probe_procfs_ops;
	if ((p->proc = opendir("/proc")) == NULL) {
		free(p);
		return errno == EACCES ? PC_EPERM : PC_ENOTSUP;
	}
	p->proc_fd          = dirfd(p->proc);
	p->hz               = sysconf(_SC_CLK_TCK);
	p->page_size        = sysconf(_SC_PAGESIZE);
	p->boot_ms          = pc_procfs_boot_ms();
	p->fd_budget        = fd_budget();
	p->fd_count_by_size = fd_dir_has_size();
	if (p->hz <= 0 || p->page_size <= 0) {
		procfs_close(&p->base);
		return PC_ENOTSUP;
	}
	*out = &p->base;
	return PC_OK;
}

const pc_probe_ops pc_probe_procfs_ops = {
	.name             = "procfs",
	.open             = procfs_open,
	.close            = procfs_close,
	.processes_by_pid = procfs_processes_by_pid,
	.stats_for_pids   = procfs_stats_for_pids,
};
