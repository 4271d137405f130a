/* test_find.c: the web API's fleet-wide order (pc_agg_find.c) against a
 * plain sort of every record: each order and direction, pages deep and
 * shallow, a fleet that is busy and one that is idle, and searches. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <ctype.h>

#include "base/pc_err.h"
#include "pc_agg_find.h"

#define HOSTS 3
#define PROCS 40

typedef struct fx {
	pc_agg       g;
	pc_agg_host  hosts[HOSTS];
	pc_agg_host *list[HOSTS];
	uint64_t     seq;
} fx;

/* Host i's update: a keyframe of PROCS processes, or a delta in which
 * `busy` of them spent CPU and I/O (different amounts, some equal). */
static void
apply(fx *f, size_t i, bool keyframe, size_t busy)
{
	Pidcast__Process   m[PROCS], *ups[PROCS];
	Pidcast__Update    u = PIDCAST__UPDATE__INIT;
	char               name[PROCS][16], cmd[PROCS][48];
	pc_apply           res;
	size_t             n       = 0;
	static const char *users[] = { "root", "www-data", "svc" };

	for (size_t k = 0; k < PROCS; k++) {
		Pidcast__Process p = PIDCAST__PROCESS__INIT;
		if (!keyframe && k >= busy) {
			continue;
		}
		p.has_pid = p.has_create_time_ms = 1;
		p.pid                            = (uint32_t)(100 + 7 * k);
		p.create_time_ms                 = 1000 + (k * 37) % 11;
		if (keyframe) {
			snprintf(name[k], sizeof(name[k]), "proc-%zu", k % 9);
			snprintf(cmd[k], sizeof(cmd[k]), "/usr/bin/Proc-%zu --HOST %zu", k % 9, i);
			p.name          = name[k];
			p.cmdline       = cmd[k];
			p.user          = (char *)users[k % 3];
			p.has_rss_bytes = 1;
			p.rss_bytes     = 4096 * ((k * 13 + i * 5) % 17);
		}
		p.has_cpu_user_us = p.has_io_read_bytes = 1;
		p.cpu_user_us   = keyframe ? 0 : f->seq * 1000 * (1 + (k + i) % 4);
		p.io_read_bytes = keyframe ? 0 : f->seq * 100 * ((k * 3 + i) % 5);
		m[n]            = p;
		ups[n]          = &m[n];
		n++;
	}
	u.host            = f->hosts[i].name;
	u.has_instance_id = u.has_seq = u.has_time_ms = u.has_kind = 1;
	u.instance_id                                              = 1 + i;
	u.seq                                                      = f->seq;
	u.time_ms                                                  = 1000 * f->seq;
	u.kind      = keyframe ? PIDCAST__UPDATE__KIND__KEYFRAME : PIDCAST__UPDATE__KIND__DELTA;
	u.n_upserts = n;
	u.upserts   = ups;
	assert_int_equal(pc_replica_apply(f->hosts[i].rep, &u, NULL, NULL, &res), PC_OK);
	assert_int_equal(res, PC_APPLIED);
}

/* Every host ticks once: busy processes each, 0 for an idle tick. */
static void
tick(fx *f, bool keyframe, size_t busy)
{
	f->seq++;
	for (size_t i = 0; i < HOSTS; i++) {
		apply(f, i, keyframe, busy);
	}
}

static int
setup(void **state)
{
	fx                *f       = calloc(1, sizeof(*f));
	static const char *names[] = { "b-host", "a-host", "c-host" }; /* not in order */

	assert_non_null(f);
	for (size_t i = 0; i < HOSTS; i++) {
		snprintf(f->hosts[i].name, sizeof(f->hosts[i].name), "%s", names[i]);
		assert_int_equal(pc_replica_open(&f->hosts[i].rep), PC_OK);
		f->list[i] = &f->hosts[i];
	}
	f->g.hosts   = f->list;
	f->g.n_hosts = HOSTS;
	tick(f, true, 0);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	fx *f = *state;

	for (size_t i = 0; i < HOSTS; i++) {
		pc_find_host_free(f->hosts[i].find);
		pc_replica_close(f->hosts[i].rep);
	}
	free(f);
	return 0;
}

/* The reference: every matching record, sorted by a plain comparison. */
typedef struct ref {
	const pc_agg_host *h;
	const pc_proc     *p;
	double             num;
	const char        *str;
} ref;

static pc_find_by ref_by;
static bool       ref_desc;

static int
ref_cmp(const void *va, const void *vb)
{
	const ref *a = va, *b = vb;
	int        c = 0;

	if (ref_by == PC_FIND_NAME || ref_by == PC_FIND_HOST) {
		c = strcmp(a->str, b->str);
	} else if (a->num != b->num) {
		c = a->num < b->num ? -1 : 1;
	}
	if (c != 0) {
		return ref_desc ? -c : c;
	}
	if ((c = strcmp(a->h->name, b->h->name)) != 0) {
		return c;
	}
	return a->p->pid < b->p->pid ? -1 : a->p->pid > b->p->pid;
}

static bool
ref_match(const char *q, const pc_agg_host *h, const pc_proc *p)
{
	const char *fields[] = { p->name, p->cmdline, p->user, h->name };
	char        pid[16];

	if (q[0] == '\0') {
		return true;
	}
	snprintf(pid, sizeof(pid), "%u", p->pid);
	if (strcmp(pid, q) == 0) {
		return true;
	}
	for (size_t i = 0; i < 4; i++) {
		char low[64] = "";
		for (size_t j = 0; fields[i] != NULL && fields[i][j] != '\0' && j + 1 < sizeof(low);
		     j++) {
			low[j] = (char)tolower((unsigned char)fields[i][j]);
		}
		if (strstr(low, q) != NULL) { /* q is lower case */
			return true;
		}
	}
	return false;
}

/* pc_find_run's page equals the reference's rows [offset, offset+limit). */
static void
check(fx *f, const char *q, pc_find_by by, bool desc, size_t offset, size_t limit)
{
	pc_find      fd = { .q = q, .by = by, .desc = desc, .offset = offset, .limit = limit };
	pc_find_hit *hits;
	size_t       n, m = 0;
	uint64_t     total;
	ref          all[HOSTS * PROCS];

	for (size_t i = 0; i < HOSTS; i++) {
		const pc_proc *p;
		size_t         cur = 0;
		while ((p = pc_replica_next(f->hosts[i].rep, &cur)) != NULL) {
			double cpu, io;
			if (!ref_match(q, &f->hosts[i], p)) {
				continue;
			}
			pc_replica_rates(f->hosts[i].rep, p, &cpu, &io);
			all[m]     = (ref){ &f->hosts[i], p, 0, "" };
			all[m].num = by == PC_FIND_CPU     ? cpu
			             : by == PC_FIND_IO    ? io
			             : by == PC_FIND_RSS   ? (double)p->rss_bytes
			             : by == PC_FIND_START ? (double)p->create_time_ms
			             : by == PC_FIND_PID   ? p->pid
			                                   : 0;
			all[m].str = by == PC_FIND_HOST ? f->hosts[i].name : p->name ? p->name : "";
			m++;
		}
	}
	ref_by   = by;
	ref_desc = desc;
	qsort(all, m, sizeof(all[0]), ref_cmp);
	assert_int_equal(pc_find_run(&f->g, &fd, &hits, &n, &total), PC_OK);
	assert_int_equal(total, m);
	assert_int_equal(n, offset < m ? (m - offset < limit ? m - offset : limit) : 0);
	for (size_t i = 0; i < n; i++) {
		if (hits[i].h != all[offset + i].h || hits[i].p != all[offset + i].p) {
			fail_msg("q '%s' by %s %s, offset %zu limit %zu: row %zu is %s:%u, want "
			         "%s:%u",
			         q, pc_find_by_names[by], desc ? "desc" : "asc", offset, limit, i,
			         hits[i].h->name, hits[i].p->pid, all[offset + i].h->name,
			         all[offset + i].p->pid);
		}
	}
	free(hits);
}

static void
check_every_order(fx *f, const char *q)
{
	static const size_t pages[][2] = { { 0, 1 },   { 0, 5 },    { 3, 7 },   { 0, 50 },
		                           { 37, 50 }, { 10, 500 }, { 200, 50 } };

	for (int by = 0; by < PC_FIND_N_BY; by++) {
		for (int desc = 0; desc < 2; desc++) {
			for (size_t i = 0; i < sizeof(pages) / sizeof(pages[0]); i++) {
				check(f, q, (pc_find_by)by, desc, pages[i][0], pages[i][1]);
			}
		}
	}
}

/* A few processes busy a tick, the rest at 0: the busiest by merging
 * each host's rated rows, and the rows at 0 after them by host and pid. */
static void
test_busy_fleet(void **state)
{
	fx *f = *state;

	tick(f, false, 6);
	check_every_order(f, "");
	tick(f, false, 25);
	check_every_order(f, "");
	/* Asked again with nothing changed: from what the hosts kept. */
	check_every_order(f, "");
}

/* Every rate at 0: the busiest page is the first hosts' first pids. */
static void
test_idle_fleet(void **state)
{
	fx *f = *state;

	tick(f, false, 6);
	tick(f, false, 0);
	tick(f, false, 0);
	check_every_order(f, "");
}

static void
test_searches(void **state)
{
	fx *f = *state;

	tick(f, false, 10);
	check_every_order(f, "proc-3");
	check_every_order(f, "a-host");
	check_every_order(f, "www");
	check_every_order(f, "107");
	check_every_order(f, "nothing");
	check_every_order(f, "p");             /* one character */
	check_every_order(f, "-h");            /* in "--HOST", in another case */
	check_every_order(f, "proc-3 --host"); /* longer than some fields */
	check_every_order(f, "t 2");
}

/* One host, by name. */
static void
test_one_host(void **state)
{
	fx     *f  = *state;
	pc_find fd = { .q = "", .host = "c-host", .by = PC_FIND_CPU, .desc = true, .limit = 50 };
	pc_find_hit *hits;
	size_t       n;
	uint64_t     total;

	tick(f, false, 10);
	assert_int_equal(pc_find_run(&f->g, &fd, &hits, &n, &total), PC_OK);
	assert_int_equal(total, PROCS);
	assert_int_equal(n, PROCS);
	for (size_t i = 0; i < n; i++) {
		assert_string_equal(hits[i].h->name, "c-host");
	}
	free(hits);
}

int
main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_busy_fleet),
		T(test_idle_fleet),
		T(test_searches),
		T(test_one_host),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
