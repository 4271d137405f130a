/* pc_agg_metrics.c: the Prometheus text format of every host's table:
 * per host, per process group (counters that never go back, since exited
 * processes' counters are kept), and per PID for the names asked for. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "pc_agg.h"
#include "base/pc_glob.h"

/* One group's sums over its live processes. */
typedef struct gsum {
	const char *group;
	uint64_t    procs, threads, handles, rss;
	uint64_t    cpu_user_us, cpu_system_us;
	uint64_t    io_read_bytes, io_write_bytes, io_read_ops, io_write_ops;
} gsum;

typedef struct entry {
	const char    *group;
	const pc_proc *p;
} entry;

/* A label value: backslash, quote and newline escaped. Nothing else needs
 * to be done: label values must be UTF-8, and host names and record
 * strings already are (refused or repaired on receipt, pc_utf8.h). */
static void
label(pc_buf *b, const char *s)
{
	pc_buf_add(b, "\"", 1);
	for (; *s != '\0'; s++) {
		if (*s == '\\' || *s == '"') {
			pc_buf_printf(b, "\\%c", *s);
		} else if (*s == '\n') {
			pc_buf_str(b, "\\n");
		} else {
			pc_buf_add(b, s, 1);
		}
	}
	pc_buf_add(b, "\"", 1);
}

static int
by_group(const void *a, const void *b)
{
	return strcmp(((const entry *)a)->group, ((const entry *)b)->group);
}

static const char *
group_of(pc_group_by by, const pc_proc *p)
{
	const char *g = by == PC_GROUP_USER ? p->user : by == PC_GROUP_EXE ? p->exe : p->name;

	return g != NULL ? g : "";
}

static void
add_retired(const pc_agg_host *h, gsum *s)
{
	for (size_t i = 0; i < h->n_retired; i++) {
		const pc_retired *r = &h->retired[i];
		if (strcmp(r->group, s->group) == 0) {
			s->cpu_user_us += r->cpu_user_us;
			s->cpu_system_us += r->cpu_system_us;
			s->io_read_bytes += r->io_read_bytes;
			s->io_write_bytes += r->io_write_bytes;
			s->io_read_ops += r->io_read_ops;
			s->io_write_ops += r->io_write_ops;
		}
	}
}

/* Groups with no live process keep their counters: they must not vanish
 * and come back at a lower value. */
static bool
has_live(const entry *e, size_t n, const char *group)
{
	entry key = { group, NULL };

	return bsearch(&key, e, n, sizeof(*e), by_group) != NULL;
}

typedef struct metric {
	const char *name;
	const char *type;
	const char *help;
} metric;

static const metric M[] = {
	{ "pidcast_host_up", "gauge", "1 when the host's agent was heard within the limit" },
	{ "pidcast_host_processes", "gauge", "processes on the host" },
	{ "pidcast_host_threads", "gauge", "threads on the host" },
	{ "pidcast_host_last_update_timestamp_seconds", "gauge", "tick time of the last update" },
	{ "pidcast_group_processes", "gauge", "processes in the group" },
	{ "pidcast_group_threads", "gauge", "threads of the group's processes" },
	{ "pidcast_group_handles", "gauge", "handles (Windows) or fds (Linux) of the group" },
	{ "pidcast_group_rss_bytes", "gauge", "resident memory of the group" },
	{ "pidcast_group_cpu_seconds_total", "counter", "CPU time of the group, exited included" },
	{ "pidcast_group_io_bytes_total", "counter", "I/O bytes of the group, exited included" },
	{ "pidcast_group_io_ops_total", "counter", "I/O operations of the group, exited included" },
	{ "pidcast_process_cpu_seconds_total", "counter", "CPU time of one process" },
	{ "pidcast_process_rss_bytes", "gauge", "resident memory of one process" },
	{ "pidcast_aggregator_updates_total", "counter", "updates received" },
	{ "pidcast_aggregator_gaps_total", "counter", "updates dropped awaiting a keyframe" },
	{ "pidcast_aggregator_bad_total", "counter", "messages that did not decode" },
	{ "pidcast_aggregator_hosts_refused_total", "counter",
	  "updates refused for their host name (empty, over 255 bytes, with '/')" },
};

enum {
	HOST_UP,
	HOST_PROCS,
	HOST_THREADS,
	HOST_LAST,
	G_PROCS,
	G_THREADS,
	G_HANDLES,
	G_RSS,
	G_CPU,
	G_IO_BYTES,
	G_IO_OPS,
	P_CPU,
	P_RSS,
	A_UPDATES,
	A_GAPS,
	A_BAD,
	A_HOSTS_REFUSED,
	N_METRICS
};

static void
head(pc_buf *b, int m)
{
	pc_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", M[m].name, M[m].help, M[m].name,
	              M[m].type);
}

/* name{host="H",group="G"[,extra]} */
static void
series(pc_buf *b, int m, const char *host, const char *key, const char *val, const char *extra)
{
	pc_buf_printf(b, "%s{host=", M[m].name);
	label(b, host);
	if (key != NULL) {
		pc_buf_printf(b, ",%s=", key);
		label(b, val);
	}
	if (extra != NULL) {
		pc_buf_printf(b, ",%s", extra);
	}
	pc_buf_add(b, "} ", 2);
}

static void
sum_group(gsum *s, const pc_proc *p)
{
	s->procs++;
	s->threads += p->threads;
	s->handles += p->handles;
	s->rss += p->rss_bytes;
	s->cpu_user_us += p->cpu_user_us;
	s->cpu_system_us += p->cpu_system_us;
	s->io_read_bytes += p->io_read_bytes;
	s->io_write_bytes += p->io_write_bytes;
	s->io_read_ops += p->io_read_ops;
	s->io_write_ops += p->io_write_ops;
}

/* Every group of one host, live or retired, summed, in name order. */
static gsum *
groups(const pc_agg_host *h, size_t *n_out)
{
	size_t         n = pc_replica_count(h->rep), cur = 0, k = 0, ng = 0;
	entry         *e = malloc((n + 1) * sizeof(*e));
	gsum          *g = calloc(n + h->n_retired + 1, sizeof(*g));
	const pc_proc *p;

	if (e == NULL || g == NULL) {
		free(e);
		free(g);
		return NULL;
	}
	while ((p = pc_replica_next(h->rep, &cur)) != NULL) {
		e[k++] = (entry){ group_of(h->group_by, p), p };
	}
	qsort(e, k, sizeof(*e), by_group);
	for (size_t i = 0; i < k; i++) {
		if (ng == 0 || strcmp(g[ng - 1].group, e[i].group) != 0) {
			g[ng++].group = e[i].group;
		}
		sum_group(&g[ng - 1], e[i].p);
	}
	for (size_t i = 0; i < h->n_retired; i++) {
		if (!has_live(e, k, h->retired[i].group)) {
			g[ng++].group = h->retired[i].group;
		}
	}
	for (size_t i = 0; i < ng; i++) {
		add_retired(h, &g[i]);
	}
	free(e);
	*n_out = ng;
	return g;
}

void
pc_agg_metrics(pc_agg *g, pc_buf *b)
{
	gsum  **gs = calloc(g->n_hosts + 1, sizeof(*gs));
	size_t *ng = calloc(g->n_hosts + 1, sizeof(*ng));

	if (gs == NULL || ng == NULL) {
		b->err = 1;
		free(gs);
		free(ng);
		return;
	}
	for (size_t i = 0; i < g->n_hosts; i++) {
		gs[i] = groups(g->hosts[i], &ng[i]);
	}
	for (int m = 0; m < N_METRICS; m++) {
		head(b, m);
		if (m >= A_UPDATES) {
			uint64_t v = m == A_UPDATES ? g->counts.updates
			             : m == A_GAPS  ? g->counts.gaps
			             : m == A_BAD   ? g->counts.bad
			                            : g->counts.hosts_refused;
			pc_buf_printf(b, "%s %" PRIu64 "\n", M[m].name, v);
			continue;
		}
		for (size_t i = 0; i < g->n_hosts; i++) {
			const pc_agg_host *h    = g->hosts[i];
			const char        *host = pc_replica_host(h->rep);
			if (m <= HOST_LAST) {
				uint64_t       threads = 0;
				size_t         cur     = 0;
				const pc_proc *p;
				while (m == HOST_THREADS &&
				       (p = pc_replica_next(h->rep, &cur)) != NULL) {
					threads += p->threads;
				}
				series(b, m, host, NULL, NULL, NULL);
				if (m == HOST_LAST) {
					pc_buf_printf(b, "%.3f\n",
					              (double)pc_replica_time_ms(h->rep) / 1000.0);
				} else {
					pc_buf_printf(b, "%" PRIu64 "\n",
					              m == HOST_UP ? (uint64_t)h->up
					              : m == HOST_PROCS
					                      ? (uint64_t)pc_replica_count(h->rep)
					                      : threads);
				}
				continue;
			}
			if (m == P_CPU || m == P_RSS) {
				size_t         cur = 0;
				const pc_proc *p;
				char           pid[16];
				while (g->opts.pid_include != NULL &&
				       (p = pc_replica_next(h->rep, &cur)) != NULL) {
					if (p->name == NULL ||
					    !pc_glob(g->opts.pid_include, p->name)) {
						continue;
					}
					snprintf(pid, sizeof(pid), "%u", p->pid);
					pc_buf_printf(b, "%s{host=", M[m].name);
					label(b, host);
					pc_buf_printf(b, ",pid=\"%s\",name=", pid);
					label(b, p->name);
					if (m == P_CPU) {
						pc_buf_printf(b, "} %.6f\n",
						              (double)(p->cpu_user_us +
						                       p->cpu_system_us) /
						                      1e6);
					} else {
						pc_buf_printf(b, "} %" PRIu64 "\n", p->rss_bytes);
					}
				}
				continue;
			}
			for (size_t k = 0; gs[i] != NULL && k < ng[i]; k++) {
				const gsum *s = &gs[i][k];
				switch (m) {
				case G_PROCS:
				case G_THREADS:
				case G_HANDLES:
				case G_RSS:
					series(b, m, host, "group", s->group, NULL);
					pc_buf_printf(b, "%" PRIu64 "\n",
					              m == G_PROCS     ? s->procs
					              : m == G_THREADS ? s->threads
					              : m == G_HANDLES ? s->handles
					                               : s->rss);
					break;
				case G_CPU:
					series(b, m, host, "group", s->group, "mode=\"user\"");
					pc_buf_printf(b, "%.6f\n", (double)s->cpu_user_us / 1e6);
					series(b, m, host, "group", s->group, "mode=\"system\"");
					pc_buf_printf(b, "%.6f\n", (double)s->cpu_system_us / 1e6);
					break;
				case G_IO_BYTES:
				case G_IO_OPS:
					series(b, m, host, "group", s->group, "direction=\"read\"");
					pc_buf_printf(b, "%" PRIu64 "\n",
					              m == G_IO_BYTES ? s->io_read_bytes
					                              : s->io_read_ops);
					series(b, m, host, "group", s->group,
					       "direction=\"write\"");
					pc_buf_printf(b, "%" PRIu64 "\n",
					              m == G_IO_BYTES ? s->io_write_bytes
					                              : s->io_write_ops);
					break;
				}
			}
		}
	}
	for (size_t i = 0; i < g->n_hosts; i++) {
		free(gs[i]);
	}
	free(gs);
	free(ng);
}
