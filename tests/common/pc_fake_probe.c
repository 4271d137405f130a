/* pc_fake_probe.c: a probe backend whose processes the test scripts. */
#include "pc_fake_probe.h"

#include <stdlib.h>
#include <string.h>

#include "base/pc_err.h"
#include "pc_fixture.h"

static int
fake_processes_by_pid(pc_probe *base, uint64_t now_ms, bool collect_stats, pc_snapshot *out)
{
	pc_fake *f = (pc_fake *)base;

	(void)now_ms;
	for (size_t i = 0; i < f->n; i++) {
		pc_proc *r = pc_snapshot_add(out);
		if (r == NULL) {
			return PC_ENOMEM;
		}
		*r = f->procs[i]; /* strings borrowed, as from a real probe */
		if (!collect_stats) {
			/* The key and the fields that never change. */
			pc_proc full = *r;
			memset(r, 0, sizeof(*r));
			r->pid            = full.pid;
			r->create_time_ms = full.create_time_ms;
			r->ppid           = full.ppid;
			r->name           = full.name;
			r->exe            = full.exe;
			r->cmdline        = full.cmdline;
			r->user           = full.user;
		}
	}
	return PC_OK;
}

static int
fake_stats_for_pids(pc_probe *base, const uint32_t *pids, size_t n, uint64_t now_ms,
                    pc_snapshot *out)
{
	pc_fake *f = (pc_fake *)base;

	(void)now_ms;
	for (size_t i = 0; i < n; i++) {
		pc_proc *p = pc_fake_find(f, pids[i]);
		pc_proc *r;
		if (p == NULL) {
			continue;
		}
		if ((r = pc_snapshot_add(out)) == NULL) {
			return PC_ENOMEM;
		}
		*r = *p;
	}
	return PC_OK;
}

static void
fake_close(pc_probe *base)
{
	pc_fake_close((pc_fake *)base);
}

static int
fake_open(pc_probe **out, char *why, size_t cap)
{
	(void)why;
	(void)cap;
	pc_fake *f = pc_fake_open();

	if (f == NULL) {
		return PC_ENOMEM;
	}
	*out = &f->base;
	return PC_OK;
}

static const pc_probe_ops fake_ops = {
	.name             = "fake",
	.open             = fake_open,
	.close            = fake_close,
	.processes_by_pid = fake_processes_by_pid,
	.stats_for_pids   = fake_stats_for_pids,
};

pc_fake *
pc_fake_open(void)
{
	pc_fake *f = calloc(1, sizeof(*f));

	if (f != NULL) {
		f->base.ops = &fake_ops;
	}
	return f;
}

void
pc_fake_close(pc_fake *f)
{
	for (size_t i = 0; i < f->n; i++) {
		pc_proc_clear(&f->procs[i]);
	}
	free(f->procs);
	free(f);
}

pc_proc *
pc_fake_add(pc_fake *f, uint32_t pid, uint64_t create_time_ms)
{
	pc_proc *p;

	if (f->n == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 64;
		if ((p = realloc(f->procs, cap * sizeof(*p))) == NULL) {
			return NULL;
		}
		f->procs = p;
		f->cap   = cap;
	}
	p = &f->procs[f->n++];
	memset(p, 0, sizeof(*p));
	pc_fixture_proc(p, pid);
	p->pid            = pid;
	p->create_time_ms = create_time_ms;
	p->partial        = false;
	p->kernel         = false;
	return p;
}

pc_proc *
pc_fake_find(pc_fake *f, uint32_t pid)
{
	for (size_t i = 0; i < f->n; i++) {
		if (f->procs[i].pid == pid) {
			return &f->procs[i];
		}
	}
	return NULL;
}

void
pc_fake_remove(pc_fake *f, uint32_t pid)
{
	pc_proc *p = pc_fake_find(f, pid);

	if (p != NULL) {
		pc_proc_clear(p);
		*p = f->procs[--f->n];
	}
}
