/* pc_probe.c: backend selection, dispatch and the snapshot array. */
#include "probe/pc_probe.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/pc_err.h"

uint64_t
pc_probe_text_id(void)
{
	static atomic_uint_fast64_t next;

	return (uint64_t)atomic_fetch_add(&next, 1) + 1;
}

/* Appends a zeroed record to the array a of n, grown by doubling. */
static pc_proc *
add(pc_proc **a, size_t *n, size_t *cap)
{
	if (*n == *cap) {
		size_t   c = *cap ? *cap * 2 : 256;
		pc_proc *p = realloc(*a, c * sizeof(*p));
		if (p == NULL) {
			return NULL;
		}
		*a   = p;
		*cap = c;
	}
	memset(&(*a)[*n], 0, sizeof(pc_proc));
	return &(*a)[(*n)++];
}

pc_proc *
pc_snapshot_add(pc_snapshot *s)
{
	return add(&s->procs, &s->n, &s->cap);
}

pc_proc *
pc_snapshot_add_exit(pc_snapshot *s)
{
	return add(&s->exits, &s->n_exits, &s->cap_exits);
}

void
pc_snapshot_reset(pc_snapshot *s)
{
	s->n       = 0;
	s->n_exits = 0;
	s->time_ms = 0;
}

void
pc_snapshot_fini(pc_snapshot *s)
{
	free(s->procs);
	free(s->exits);
	memset(s, 0, sizeof(*s));
}

int
pc_probe_open_why(const char *name, pc_probe **out, char *why, size_t cap)
{
	size_t used = 0;
	int    rv   = PC_ENOENT;

	if (why != NULL && cap > 0) {
		why[0] = '\0';
	}
	for (int i = 0; pc_probe_backends[i] != NULL; i++) {
		const pc_probe_ops *ops      = pc_probe_backends[i];
		char                msg[256] = "";
		if (name != NULL && strcmp(name, ops->name) != 0) {
			continue;
		}
		if ((rv = ops->open(out, msg, sizeof(msg))) == PC_OK || name != NULL) {
			if (name != NULL && why != NULL && cap > 0) {
				snprintf(why, cap, "%s", msg);
			}
			return rv;
		}
		if (why != NULL && used < cap) {
			int n = snprintf(why + used, cap - used, "%s%s: %s", used ? "; " : "",
			                 ops->name, msg[0] ? msg : pc_strerror(rv));
			used += n > 0 ? (size_t)n : 0;
		}
	}
	return rv;
}

int
pc_probe_open(const char *name, pc_probe **out)
{
	return pc_probe_open_why(name, out, NULL, 0);
}

void
pc_probe_set_scrub(pc_probe *p, const pc_scrub *s)
{
	p->scrub = *s;
}

void
pc_probe_set_cmdline_max(pc_probe *p, size_t max)
{
	p->cmdline_max = max;
}

void
pc_probe_close(pc_probe *p)
{
	if (p != NULL) {
		p->ops->close(p);
	}
}

int
pc_probe_processes_by_pid(pc_probe *p, uint64_t now_ms, bool collect_stats, pc_snapshot *out)
{
	pc_snapshot_reset(out);
	out->time_ms = now_ms;
	return p->ops->processes_by_pid(p, now_ms, collect_stats, out);
}

int
pc_probe_stats_for_pids(pc_probe *p, const uint32_t *pids, size_t n, uint64_t now_ms,
                        pc_snapshot *out)
{
	pc_snapshot_reset(out);
	out->time_ms = now_ms;
	return p->ops->stats_for_pids(p, pids, n, now_ms, out);
}

void
pc_probe_stats_get(pc_probe *p, pc_probe_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (p->ops->stats != NULL) {
		p->ops->stats(p, out);
	}
}
