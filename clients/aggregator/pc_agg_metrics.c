/* pc_agg_metrics.c: the Prometheus text format of every host's table:
 * per host, per process group (counters that never go back, since exited
 * processes' counters are kept), and per PID for the names asked for. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "pc_agg.h"
#include "base/pc_err.h"
#include "base/pc_glob.h"

/* A per-PID series' values, copied. */
typedef struct pidrow {
	uint32_t pid;
	char    *name, *container_id, *service; /* the last two NULL when it has none */
	uint64_t cpu_us, rss;
	double   cpu_pct; /* over the last update: what --top-pids ranks by */
} pidrow;

/* What the page shows of one host, copied under the lock and formatted
 * after it: the lock is held for a pass over the table, not for a page. */
typedef struct hostsnap {
	char      *host;
	bool       up;
	uint64_t   procs, threads, time_ms, n_retired, n_folded;
	pc_groups  groups; /* live and retired, summed */
	pc_group **sorted;
	pidrow    *pids;
	size_t     n_pids;
} hostsnap;

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
by_name(const void *a, const void *b)
{
	return strcmp((*(pc_group *const *)a)->name, (*(pc_group *const *)b)->name);
}

static const char *
group_of(pc_group_by by, const pc_proc *p)
{
	const char *g = by == PC_GROUP_USER        ? p->user
	                : by == PC_GROUP_EXE       ? p->exe
	                : by == PC_GROUP_CONTAINER ? p->container_id
	                : by == PC_GROUP_SERVICE   ? p->service
	                : by == PC_GROUP_CGROUP    ? p->cgroup
	                                           : p->name;

	return g != NULL ? g : "";
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
	{ "pidcast_host_retired_groups", "gauge",
	  "groups of exited processes whose counters are kept (--max-retired-groups)" },
	{ "pidcast_host_retired_groups_folded_total", "counter",
	  "retired groups folded into the group \"" PC_AGG_OTHER_GROUP "\" past the limit" },
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
	{ "pidcast_aggregator_published_total", "counter",
	  "updates republished on the fleet's stream (--publish)" },
};

enum {
	HOST_UP,
	HOST_PROCS,
	HOST_THREADS,
	HOST_LAST,
	HOST_RETIRED,
	HOST_FOLDED,
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
	A_PUBLISHED,
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
sum_group(pc_gtot *s, const pc_proc *p)
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

/* Groups with no live process keep their counters: they must not vanish
 * and come back at a lower value. */
static int
add_retired(pc_groups *to, const char *name, const pc_gtot *t)
{
	pc_group *g = pc_groups_use(to, name);

	if (g == NULL) {
		return PC_ENOMEM;
	}
	pc_gtot_add_counters(&g->t, t);
	return PC_OK;
}

static void
pidrow_free(pidrow *r)
{
	free(r->name);
	free(r->container_id);
	free(r->service);
}

/* a ranks before b: busier by CPU, then by RSS. */
static bool
busier(const pidrow *a, const pidrow *b)
{
	return a->cpu_pct != b->cpu_pct ? a->cpu_pct > b->cpu_pct : a->rss > b->rss;
}

static bool
dup_or_null(char **dst, const char *s)
{
	return s == NULL || (*dst = pc_strdup(s)) != NULL;
}

/* The per-PID series of the processes whose name pid_include matches (all
 * with --top-pids alone); with --top-pids N, only the N busiest, kept in
 * rank order as the table is passed, so that the copy is bounded by N. */
static int
copy_pids(const pc_agg *g, const pc_agg_host *h, hostsnap *hs)
{
	size_t         cur = 0, cap = 0, top = g->opts.top_pids;
	const pc_proc *p;

	if (g->opts.pid_include == NULL && top == 0) {
		return PC_OK;
	}
	while ((p = pc_replica_next(h->rep, &cur)) != NULL) {
		pidrow r = { p->pid,       NULL, NULL, NULL, p->cpu_user_us + p->cpu_system_us,
			     p->rss_bytes, 0 };
		double io;
		size_t at;

		if (g->opts.pid_include != NULL &&
		    (p->name == NULL || !pc_glob(g->opts.pid_include, p->name))) {
			continue;
		}
		pc_replica_rates(h->rep, p, &r.cpu_pct, &io);
		at = hs->n_pids;
		if (top > 0) {
			while (at > 0 && busier(&r, &hs->pids[at - 1])) {
				at--;
			}
			if (at >= top) {
				continue; /* not among the busiest */
			}
		}
		if (hs->n_pids == cap && (top == 0 || hs->n_pids < top)) {
			pidrow *grown =
			        realloc(hs->pids, (cap = cap ? cap * 2 : 16) * sizeof(*grown));
			if (grown == NULL) {
				return PC_ENOMEM;
			}
			hs->pids = grown;
		}
		if (top > 0 && hs->n_pids == top) {
			pidrow_free(&hs->pids[--hs->n_pids]); /* the least busy goes */
		}
		memmove(&hs->pids[at + 1], &hs->pids[at], (hs->n_pids - at) * sizeof(*hs->pids));
		hs->n_pids++;
		hs->pids[at] = r;
		if (!dup_or_null(&hs->pids[at].name, p->name != NULL ? p->name : "") ||
		    !dup_or_null(&hs->pids[at].container_id, p->container_id) ||
		    !dup_or_null(&hs->pids[at].service, p->service)) {
			return PC_ENOMEM;
		}
	}
	return PC_OK;
}

/* One host's sums: one pass over its table and its retired groups. */
static int
copy_host(const pc_agg *g, const pc_agg_host *h, hostsnap *hs)
{
	size_t         cur = 0;
	const pc_proc *p;
	pc_group      *grp;

	hs->host      = pc_strdup(pc_replica_host(h->rep));
	hs->up        = h->up;
	hs->procs     = pc_replica_count(h->rep);
	hs->time_ms   = pc_replica_time_ms(h->rep);
	hs->n_retired = h->retired.n;
	hs->n_folded  = h->n_folded;
	if (hs->host == NULL) {
		return PC_ENOMEM;
	}
	while ((p = pc_replica_next(h->rep, &cur)) != NULL) {
		hs->threads += p->threads;
		if ((grp = pc_groups_use(&hs->groups, group_of(h->group_by, p))) == NULL) {
			return PC_ENOMEM;
		}
		sum_group(&grp->t, p);
	}
	for (grp = h->retired.oldest; grp != NULL; grp = grp->newer) {
		if (add_retired(&hs->groups, grp->name, &grp->t) != PC_OK) {
			return PC_ENOMEM;
		}
	}
	if (h->n_folded > 0 && add_retired(&hs->groups, PC_AGG_OTHER_GROUP, &h->other) != PC_OK) {
		return PC_ENOMEM;
	}
	return copy_pids(g, h, hs);
}

/* Outside the lock: the groups in name order, for a stable page. */
static int
sort_groups(hostsnap *hs)
{
	size_t k = 0;

	if ((hs->sorted = malloc((hs->groups.n + 1) * sizeof(*hs->sorted))) == NULL) {
		return PC_ENOMEM;
	}
	for (pc_group *grp = hs->groups.oldest; grp != NULL; grp = grp->newer) {
		hs->sorted[k++] = grp;
	}
	qsort(hs->sorted, k, sizeof(*hs->sorted), by_name);
	return PC_OK;
}

static void
host_series(pc_buf *b, int m, const hostsnap *hs)
{
	series(b, m, hs->host, NULL, NULL, NULL);
	if (m == HOST_LAST) {
		pc_buf_printf(b, "%.3f\n", (double)hs->time_ms / 1000.0);
		return;
	}
	pc_buf_printf(b, "%" PRIu64 "\n",
	              m == HOST_UP        ? (uint64_t)hs->up
	              : m == HOST_PROCS   ? hs->procs
	              : m == HOST_THREADS ? hs->threads
	              : m == HOST_RETIRED ? hs->n_retired
	                                  : hs->n_folded);
}

static void
pid_series(pc_buf *b, int m, const hostsnap *hs)
{
	for (size_t i = 0; i < hs->n_pids; i++) {
		const pidrow *r = &hs->pids[i];
		pc_buf_printf(b, "%s{host=", M[m].name);
		label(b, hs->host);
		pc_buf_printf(b, ",pid=\"%u\",name=", r->pid);
		label(b, r->name);
		if (r->container_id != NULL) {
			pc_buf_str(b, ",container_id=");
			label(b, r->container_id);
		}
		if (r->service != NULL) {
			pc_buf_str(b, ",service=");
			label(b, r->service);
		}
		if (m == P_CPU) {
			pc_buf_printf(b, "} %.6f\n", (double)r->cpu_us / 1e6);
		} else {
			pc_buf_printf(b, "} %" PRIu64 "\n", r->rss);
		}
	}
}

static void
group_series(pc_buf *b, int m, const char *host, const char *group, const pc_gtot *s)
{
	switch (m) {
	case G_PROCS:
	case G_THREADS:
	case G_HANDLES:
	case G_RSS:
		series(b, m, host, "group", group, NULL);
		pc_buf_printf(b, "%" PRIu64 "\n",
		              m == G_PROCS     ? s->procs
		              : m == G_THREADS ? s->threads
		              : m == G_HANDLES ? s->handles
		                               : s->rss);
		break;
	case G_CPU:
		series(b, m, host, "group", group, "mode=\"user\"");
		pc_buf_printf(b, "%.6f\n", (double)s->cpu_user_us / 1e6);
		series(b, m, host, "group", group, "mode=\"system\"");
		pc_buf_printf(b, "%.6f\n", (double)s->cpu_system_us / 1e6);
		break;
	default: /* G_IO_BYTES, G_IO_OPS */
		series(b, m, host, "group", group, "direction=\"read\"");
		pc_buf_printf(b, "%" PRIu64 "\n",
		              m == G_IO_BYTES ? s->io_read_bytes : s->io_read_ops);
		series(b, m, host, "group", group, "direction=\"write\"");
		pc_buf_printf(b, "%" PRIu64 "\n",
		              m == G_IO_BYTES ? s->io_write_bytes : s->io_write_ops);
		break;
	}
}

static void
format(pc_buf *b, const hostsnap *hs, size_t n, const pc_agg_counts *c)
{
	for (int m = 0; m < N_METRICS; m++) {
		head(b, m);
		if (m >= A_UPDATES) {
			uint64_t v = m == A_UPDATES         ? c->updates
			             : m == A_GAPS          ? c->gaps
			             : m == A_BAD           ? c->bad
			             : m == A_HOSTS_REFUSED ? c->hosts_refused
			                                    : c->published;
			pc_buf_printf(b, "%s %" PRIu64 "\n", M[m].name, v);
			continue;
		}
		for (size_t i = 0; i < n; i++) {
			if (m <= HOST_FOLDED) {
				host_series(b, m, &hs[i]);
			} else if (m == P_CPU || m == P_RSS) {
				pid_series(b, m, &hs[i]);
			} else {
				for (size_t k = 0; k < hs[i].groups.n; k++) {
					group_series(b, m, hs[i].host, hs[i].sorted[k]->name,
					             &hs[i].sorted[k]->t);
				}
			}
		}
	}
}

static void
free_snaps(hostsnap *hs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		for (size_t k = 0; k < hs[i].n_pids; k++) {
			pidrow_free(&hs[i].pids[k]);
		}
		free(hs[i].pids);
		free(hs[i].sorted);
		free(hs[i].host);
		pc_groups_fini(&hs[i].groups);
	}
	free(hs);
}

/* The history store's figures (its own lock: not the tables'). */
static void
history_series(pc_buf *b, pc_hist *h)
{
	static const struct {
		const char *name, *type, *help;
	} H[] = {
		{ "pidcast_history_up", "gauge",
		  "1 when the history store's last write succeeded" },
		{ "pidcast_history_rows_written_total", "counter", "rows written to the store" },
		{ "pidcast_history_rows_queued", "gauge", "rows waiting to be written" },
		{ "pidcast_history_bytes_queued", "gauge",
		  "bytes the waiting rows hold (--history-buffer bounds them)" },
		{ "pidcast_history_rows_dropped_total", "counter",
		  "rows dropped, the oldest, past --history-buffer" },
		{ "pidcast_history_write_errors_total", "counter",
		  "writes that failed and were retried" },
		{ "pidcast_history_rows_deleted_total", "counter",
		  "rows removed by --history-retain" },
	};
	pc_hist_stats st;
	uint64_t      v[7];

	pc_hist_stats_get(h, &st);
	v[0] = st.up;
	v[1] = st.rows_written;
	v[2] = st.rows_queued;
	v[3] = st.bytes_queued;
	v[4] = st.rows_dropped;
	v[5] = st.write_errors;
	v[6] = st.rows_deleted;
	for (size_t i = 0; i < sizeof(H) / sizeof(H[0]); i++) {
		pc_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n%s %" PRIu64 "\n", H[i].name,
		              H[i].help, H[i].name, H[i].type, H[i].name, v[i]);
	}
}

void
pc_agg_metrics(pc_agg *g, pc_buf *b)
{
	hostsnap     *hs;
	pc_agg_counts counts;
	size_t        n;
	int           rv = PC_OK;

	nng_mtx_lock(g->lock);
	n      = g->n_hosts;
	counts = g->counts;
	if ((hs = calloc(n + 1, sizeof(*hs))) == NULL) {
		rv = PC_ENOMEM;
	}
	for (size_t i = 0; rv == PC_OK && i < n; i++) {
		rv = copy_host(g, g->hosts[i], &hs[i]);
	}
	nng_mtx_unlock(g->lock);
	for (size_t i = 0; rv == PC_OK && i < n; i++) {
		rv = sort_groups(&hs[i]);
	}
	if (rv == PC_OK) {
		format(b, hs, n, &counts);
		if (g->hist != NULL) {
			history_series(b, g->hist);
		}
	} else {
		b->err = rv;
	}
	if (hs != NULL) {
		free_snaps(hs, n);
	}
}
