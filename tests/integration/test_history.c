/* test_history.c: the aggregator's history in SQLite (issue 15), with a
 * real agent and processes this test starts: their starts, exits (how they
 * ended, the short-lived ones of the bpf probe included) and samples read
 * back through the RPC, pidcast-query and plain SQL (sqlite3); a restarted
 * aggregator continuing the same file; retention; a store locked for
 * seconds, with the rows past the bound dropped and counted exactly; and
 * bad requests answered with clear errors. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "pc_check.h"
#include "pc_spawn.h"
#include "pc_testdir.h"
#include "base/pc_err.h"
#include "platform/pc_platform.h"
#include "rpc/pc_rpc.h"
#include "pidcast.pb-c.h"

static const char *agent_path, *agg_path, *query_path, *child_path;
static char        line[1 << 16];

#define HOST "hist-test"

typedef struct fx {
	pc_child  *agg, *agent, *kid;
	char       db[300], hist[320], listen[300], rpc[300], agent_rpc[300], agg_err[300];
	nng_socket req;
	bool       has_req;
} fx;

static int
setup(void **state)
{
	fx *x = calloc(1, sizeof(*x));

	assert_non_null(x);
	assert_int_equal(pc_test_path(x->db, sizeof(x->db), NULL), 0);
	strcat(x->db, ".db");
	snprintf(x->hist, sizeof(x->hist), "sqlite:%s", x->db);
	/* ipc://: a restarted aggregator binds the same address again. */
	snprintf(x->listen, sizeof(x->listen), "ipc://%s/agg.in", pc_test_dir());
	*state = x;
	return 0;
}

static void
stop_agg(fx *x)
{
	if (x->has_req) {
		nng_close(x->req);
		x->has_req = false;
	}
	if (x->agg != NULL) {
		/* SIGTERM: a clean stop writes what is queued. */
		kill((pid_t)pc_child_pid(x->agg), SIGTERM);
		assert_int_equal(pc_child_wait(x->agg), 0);
		x->agg = NULL;
	}
}

static int
teardown(void **state)
{
	fx *x = *state;

	if (x->kid != NULL) {
		pc_child_kill(x->kid);
	}
	if (x->agent != NULL) {
		pc_child_kill(x->agent);
	}
	if (x->has_req) {
		nng_close(x->req);
	}
	if (x->agg != NULL) {
		pc_child_kill(x->agg);
	}
	free(x);
	return 0;
}

/* The aggregator, its stderr in a file, with --history-every 1s and extra
 * (NULL-terminated) flags. */
static void
start_agg(fx *x, const char *const *extra)
{
	char        bound[400];
	const char *argv[32] = { "/bin/sh",
		                 "-c",
		                 "f=$1; shift; exec \"$@\" 2>>\"$f\"",
		                 "sh",
		                 x->agg_err,
		                 agg_path,
		                 "--history",
		                 x->hist,
		                 "--history-every",
		                 "1s",
		                 "--listen",
		                 x->listen,
		                 "--rpc",
		                 "tcp://127.0.0.1:0",
		                 "--publish",
		                 "none",
		                 "--metrics",
		                 "none",
		                 "--bound-file",
		                 bound };
	size_t      n        = 20;

	if (x->agg_err[0] == '\0') {
		assert_int_equal(pc_test_path(x->agg_err, sizeof(x->agg_err), "agg.err"), 0);
	}
	for (; extra != NULL && *extra != NULL; extra++) {
		argv[n++] = *extra;
	}
	argv[n] = NULL;
	assert_int_equal(pc_test_path(bound, sizeof(bound), NULL), 0);
	assert_non_null(x->agg = pc_child_start(argv));
	assert_int_equal(pc_test_bound(bound, "rpc", x->rpc, sizeof(x->rpc), 10000), 0);
	x->req     = pc_check_req(x->rpc);
	x->has_req = true;
}

static void
start_agent(fx *x)
{
	char        bound[400];
	const char *argv[] = { agent_path,
		               "--host",
		               HOST,
		               "--interval",
		               "250ms",
		               "--keyframe",
		               "4",
		               "--publish",
		               "tcp://127.0.0.1:0",
		               "--rpc",
		               "tcp://127.0.0.1:0",
		               "--aggregator",
		               x->listen,
		               "--bound-file",
		               bound,
		               NULL };

	assert_int_equal(pc_test_path(bound, sizeof(bound), NULL), 0);
	assert_non_null(x->agent = pc_child_start(argv));
	assert_int_equal(pc_test_bound(bound, "rpc", x->agent_rpc, sizeof(x->agent_rpc), 10000), 0);
}

/* The store's figures, from ListHosts. */
static Pidcast__HistoryStats
stats(fx *x)
{
	Pidcast__ListHostsReply *r = pc_check_hosts(x->req);
	Pidcast__HistoryStats    s = PIDCAST__HISTORY_STATS__INIT;

	assert_non_null(r);
	assert_non_null(r->history);
	s            = *r->history;
	s.store      = NULL;
	s.last_error = NULL;
	pidcast__list_hosts_reply__free_unpacked(r, NULL);
	return s;
}

/* Waits until nothing is queued after at least one more write. */
static Pidcast__HistoryStats
drained(fx *x)
{
	uint64_t              end = pc_clock_mono_us() + 30000000u;
	Pidcast__HistoryStats s   = stats(x), t;

	do {
		pc_sleep_ms(100);
		t = stats(x);
	} while ((t.rows_queued > 0 || t.rows_written == s.rows_written) &&
	         pc_clock_mono_us() < end);
	assert_int_equal(t.rows_queued, 0);
	return t;
}

static bool
is_up(fx *x)
{
	Pidcast__ListHostsReply *r  = pc_check_hosts(x->req);
	bool                     up = false;

	for (size_t i = 0; r != NULL && i < r->n_hosts; i++) {
		up = up || (strcmp(r->hosts[i]->host, HOST) == 0 && r->hosts[i]->up);
	}
	if (r != NULL) {
		pidcast__list_hosts_reply__free_unpacked(r, NULL);
	}
	return up;
}

static void
wait_up(fx *x)
{
	uint64_t end = pc_clock_mono_us() + 20000000u;

	while (!is_up(x) && pc_clock_mono_us() < end) {
		pc_sleep_ms(50);
	}
	assert_true(is_up(x));
}

/* One RPC; the status, and the reply when OK. */
static int
rpc(fx *x, const char *method, const ProtobufCMessage *in, const ProtobufCMessageDescriptor *d,
    ProtobufCMessage **out, char *msg, size_t cap)
{
	int status = -1;

	*out = NULL;
	assert_int_equal(pc_rpc_call(x->req, method, in, d, out, &status, msg, cap), PC_OK);
	return status;
}

static Pidcast__EventsReply *
events(fx *x, uint64_t since_ms)
{
	Pidcast__EventsRequest in = PIDCAST__EVENTS_REQUEST__INIT;
	ProtobufCMessage      *out;
	char                   msg[256];

	in.host         = HOST;
	in.has_since_ms = 1;
	in.since_ms     = since_ms;
	assert_int_equal(rpc(x, "Events", &in.base, &pidcast__events_reply__descriptor, &out, msg,
	                     sizeof(msg)),
	                 PIDCAST__STATUS_CODE__OK);
	return (Pidcast__EventsReply *)out;
}

/* The event of pid of that kind, waited for; a copy of its fields. */
static Pidcast__ProcessEvent
wait_event(fx *x, uint32_t pid, Pidcast__ProcessEvent__Kind kind, uint64_t since_ms)
{
	uint64_t              end = pc_clock_mono_us() + 20000000u;
	Pidcast__ProcessEvent e   = PIDCAST__PROCESS_EVENT__INIT;
	bool                  got = false;

	while (!got && pc_clock_mono_us() < end) {
		Pidcast__EventsReply *r = events(x, since_ms);
		for (size_t i = 0; i < r->n_events; i++) {
			if (r->events[i]->pid == pid && r->events[i]->kind == kind) {
				e      = *r->events[i];
				e.host = e.name = e.cmdline = e.user = e.container_id = e.service =
				        NULL;
				got = true;
			}
		}
		pidcast__events_reply__free_unpacked(r, NULL);
		if (!got) {
			pc_sleep_ms(200);
		}
	}
	assert_true(got);
	return e;
}

static Pidcast__HistoryReply *
history(fx *x, uint32_t pid, int *status)
{
	Pidcast__HistoryRequest in = PIDCAST__HISTORY_REQUEST__INIT;
	ProtobufCMessage       *out;
	char                    msg[256];

	in.has_pid = 1;
	in.pid     = pid;
	*status    = rpc(x, "History", &in.base, &pidcast__history_reply__descriptor, &out, msg,
	                 sizeof(msg));
	return (Pidcast__HistoryReply *)out;
}

/* Runs a program; its stdout in out; returns its exit status. */
static int
run(const char *const *argv, char *out, size_t cap)
{
	pc_child *c;
	size_t    len = 0;

	assert_non_null(c = pc_child_start(argv));
	out[0] = '\0';
	while (pc_child_read_line(c, line, sizeof(line)) == 0) {
		len += (size_t)snprintf(out + len, cap - len, "%s\n", line);
		assert_true(len < cap);
	}
	return pc_child_wait(c);
}

/* One number from plain SQL, through the sqlite3 program. */
static long long
sql_num(fx *x, const char *fmt, ...)
{
	char    sql[512], out[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(sql, sizeof(sql), fmt, ap);
	va_end(ap);
	const char *argv[] = { "/usr/bin/sqlite3", "-cmd", ".timeout 5000", x->db, sql, NULL };
	assert_int_equal(run(argv, out, sizeof(out)), 0);
	return atoll(out);
}

static bool
probe_sees_exits(fx *x)
{
	nng_socket               r = pc_check_req(x->agent_rpc);
	Pidcast__ListHostsReply *h = pc_check_hosts(r);
	bool seen                  = h != NULL && h->n_hosts == 1 && h->hosts[0]->has_probe_exits;

	if (h != NULL) {
		pidcast__list_hosts_reply__free_unpacked(h, NULL);
	}
	nng_close(r);
	return seen;
}

/* A process the test starts, busy and big, then ended: its start, its
 * samples (CPU and memory as it used them), its exit with its code and
 * lifetime; a process that lives less than a tick, with its exit code;
 * the same through pidcast-query and sqlite3; and the busiest at a past
 * moment. */
static void
test_history_records(void **state)
{
	fx         *x = *state;
	uint64_t    t0;
	static char out[1 << 20];
	char        pid_s[16], at[64];
	int         status;

	start_agg(x, NULL);
	start_agent(x);
	wait_up(x);
	t0                  = pc_clock_realtime_ms();
	const char *cargv[] = { child_path, NULL };
	assert_non_null(x->kid = pc_child_start(cargv));
	uint32_t pid = pc_child_pid(x->kid);
	assert_int_equal(pc_child_read_line(x->kid, line, sizeof(line)), 0); /* ready */
	assert_int_equal(pc_child_send(x->kid, "alloc 48"), 0);
	assert_int_equal(pc_child_read_line(x->kid, line, sizeof(line)), 0);
	assert_string_equal(line, "ok");
	uint64_t busy_from = pc_clock_realtime_ms();
	assert_int_equal(pc_child_send(x->kid, "spin 2500"), 0);
	assert_int_equal(pc_child_read_line(x->kid, line, sizeof(line)), 0);
	assert_string_equal(line, "ok");
	uint64_t busy_to = pc_clock_realtime_ms();
	pc_sleep_ms(1200); /* one more sample after the spin (--history-every 1s) */
	assert_int_equal(pc_child_wait(x->kid), 0);
	x->kid = NULL;

	/* Its start (at its create time) and its exit, how it ended. */
	Pidcast__ProcessEvent s =
	        wait_event(x, pid, PIDCAST__PROCESS_EVENT__KIND__START, t0 - 5000);
	Pidcast__ProcessEvent e = wait_event(x, pid, PIDCAST__PROCESS_EVENT__KIND__EXIT, t0 - 5000);
	assert_true(s.create_time_ms >= t0 - 1000 && s.create_time_ms <= busy_from);
	assert_int_equal(e.create_time_ms, s.create_time_ms);
	assert_true(e.lifetime_ms >= busy_to - busy_from);
	assert_true(e.cpu_user_us + e.cpu_system_us >= 2000000);
	assert_true(e.peak_rss_bytes >= 48u << 20);
	if (probe_sees_exits(x)) {
		assert_true(e.exit_known);
		assert_int_equal(e.exit_code, 0);
		assert_int_equal(e.exit_signal, 0);
	}

	/* Its samples: memory as allocated, CPU near a core while it spun. */
	drained(x);
	Pidcast__HistoryReply *h = history(x, pid, &status);
	assert_int_equal(status, PIDCAST__STATUS_CODE__OK);
	assert_true(h->n_samples >= 3);
	assert_string_equal(h->host, HOST);
	assert_non_null(h->name);
	assert_int_equal(strncmp(h->name, "pc_child", 8), 0);
	double   max_cpu = 0;
	uint64_t max_rss = 0;
	for (size_t i = 0; i < h->n_samples; i++) {
		const Pidcast__HistorySample *m = h->samples[i];
		assert_int_equal(m->create_time_ms, s.create_time_ms);
		if (i > 0) {
			assert_true(m->time_ms > h->samples[i - 1]->time_ms);
			assert_true(m->has_cpu_percent);
		}
		max_cpu = m->cpu_percent > max_cpu ? m->cpu_percent : max_cpu;
		max_rss = m->rss_bytes > max_rss ? m->rss_bytes : max_rss;
	}
	assert_true(max_rss >= 48u << 20);
	assert_true(max_cpu > 25.0); /* a spinning process on a loaded machine */
	pidcast__history_reply__free_unpacked(h, NULL);

	/* The busiest at a moment of the spin: the child, near the top. */
	Pidcast__TopAtRequest tin = PIDCAST__TOP_AT_REQUEST__INIT;
	ProtobufCMessage     *tout;
	char                  msg[256];
	tin.has_at_ms = tin.has_n = 1;
	tin.at_ms                 = (busy_from + busy_to) / 2;
	tin.n                     = 5;
	tin.host                  = HOST;
	assert_int_equal(rpc(x, "TopAt", &tin.base, &pidcast__top_at_reply__descriptor, &tout, msg,
	                     sizeof(msg)),
	                 PIDCAST__STATUS_CODE__OK);
	Pidcast__TopAtReply *top    = (Pidcast__TopAtReply *)tout;
	bool                 in_top = false;
	for (size_t i = 0; i < top->n_entries; i++) {
		in_top = in_top ||
		         (top->entries[i]->pid == pid && top->entries[i]->cpu_percent > 25);
	}
	assert_true(in_top);
	pidcast__top_at_reply__free_unpacked(top, NULL);

	/* A process born and gone between two ticks: with a probe that
	 * watches exits (bpf), it is there, with its exit code. */
	if (probe_sees_exits(x)) {
		const char *sh[] = { "/bin/sh", "-c", "exit 7", NULL };
		pc_child   *c    = pc_child_start(sh);
		assert_non_null(c);
		uint32_t quick = pc_child_pid(c);
		assert_int_equal(pc_child_wait(c), 7);
		Pidcast__ProcessEvent q =
		        wait_event(x, quick, PIDCAST__PROCESS_EVENT__KIND__EXIT, t0 - 5000);
		assert_true(q.exit_known);
		assert_int_equal(q.exit_code, 7);
		assert_true(q.lifetime_ms < 1000);
	}

	/* pidcast-query: the same, as a user reads it. */
	snprintf(pid_s, sizeof(pid_s), "%u", pid);
	const char *hq[] = { query_path, "--rpc", x->rpc, "--json", "history", pid_s, NULL };
	assert_int_equal(run(hq, out, sizeof(out)), 0);
	assert_non_null(strstr(out, "\"cpu_percent\":"));
	assert_non_null(strstr(out, "\"name\":\"pc_child\""));
	const char *eq[] = { query_path, "--rpc",  x->rpc,     "events", "--since",
		             "2m",       "--name", "pc_child", NULL };
	assert_int_equal(run(eq, out, sizeof(out)), 0);
	snprintf(at, sizeof(at), " %s ", pid_s);
	assert_non_null(strstr(out, "start"));
	assert_non_null(strstr(out, "exit"));
	assert_non_null(strstr(out, at));
	const char *tq[] = { query_path, "--rpc", x->rpc, "top", "3",
		             "--at",     "1m",    "--by", "rss", NULL };
	assert_int_equal(run(tq, out, sizeof(out)), 0);
	assert_non_null(strstr(out, "HOST"));

	/* Plain SQL. */
	assert_int_equal(sql_num(x, "SELECT count(*) FROM events WHERE pid = %u AND kind = 1", pid),
	                 1);
	assert_true(sql_num(x, "SELECT max(rss_bytes) FROM samples WHERE pid = %u", pid) >=
	            48ll << 20);
	assert_int_equal(sql_num(x, "SELECT count(*) FROM hosts WHERE name = '" HOST "'"), 1);
	assert_true(sql_num(x, "SELECT count(*) FROM host_events WHERE up = 1") >= 1);
}

/* A restarted aggregator goes on in the same file: what came before is
 * there, a process seen by both is one start, its samples span both. */
static void
test_history_restart_continues(void **state)
{
	fx      *x = *state;
	uint32_t pid;
	int      status;

	start_agg(x, NULL);
	start_agent(x);
	wait_up(x);
	const char *cargv[] = { child_path, NULL };
	assert_non_null(x->kid = pc_child_start(cargv));
	pid = pc_child_pid(x->kid);
	assert_int_equal(pc_child_read_line(x->kid, line, sizeof(line)), 0);
	Pidcast__ProcessEvent s = wait_event(x, pid, PIDCAST__PROCESS_EVENT__KIND__START, 0);
	assert_int_equal(pc_child_send(x->kid, "spin 300"), 0);
	assert_int_equal(pc_child_read_line(x->kid, line, sizeof(line)), 0);
	drained(x);
	uint64_t before = pc_clock_realtime_ms();
	stop_agg(x);
	long long first = sql_num(x, "SELECT count(*) FROM samples WHERE pid = %u", pid);
	assert_true(first >= 1);

	start_agg(x, NULL);
	wait_up(x);
	assert_int_equal(pc_child_send(x->kid, "spin 300"), 0);
	assert_int_equal(pc_child_read_line(x->kid, line, sizeof(line)), 0);
	pc_sleep_ms(1500);
	drained(x);
	assert_int_equal(sql_num(x, "SELECT count(*) FROM events WHERE pid = %u AND kind = 0", pid),
	                 1);
	assert_true(sql_num(x, "SELECT count(*) FROM samples WHERE pid = %u AND time_ms > %llu",
	                    pid, (unsigned long long)before) >= 1);
	assert_true(sql_num(x, "SELECT count(*) FROM host_events WHERE up = 1") >= 2);
	Pidcast__HistoryReply *h = history(x, pid, &status);
	assert_int_equal(status, PIDCAST__STATUS_CODE__OK);
	assert_true(h->samples[0]->time_ms < before);
	assert_true(h->samples[h->n_samples - 1]->time_ms > before);
	assert_int_equal(h->samples[0]->create_time_ms, s.create_time_ms);
	pidcast__history_reply__free_unpacked(h, NULL);
}

static void
exec_sql(fx *x, const char *sql)
{
	sqlite3 *db;

	assert_int_equal(sqlite3_open(x->db, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 10000);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

/* Retention: rows older than --history-retain go, a few thousand at a
 * time (25,000 here, in several passes), and the recent ones stay. */
static void
test_history_retention(void **state)
{
	fx         *x = *state;
	char        sql[1024];
	const char *keep[] = { "--history-retain", "1h", NULL };
	uint64_t    old    = pc_clock_realtime_ms() - 2 * 3600000u;

	start_agg(x, keep);
	start_agent(x);
	wait_up(x);
	drained(x);
	stop_agg(x);
	snprintf(sql, sizeof(sql),
	         "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 25000) "
	         "INSERT INTO samples SELECT 1, 900000 + i %% 100, 1, %llu + i, 0, 0, 0, 0, 0, 0 "
	         "FROM n; INSERT INTO events (host_id, pid, create_time_ms, kind, time_ms, name) "
	         "VALUES (1, 999999, 1, 1, %llu, 'old');",
	         (unsigned long long)old, (unsigned long long)old);
	exec_sql(x, sql);
	long long recent = sql_num(x, "SELECT count(*) FROM samples WHERE time_ms > %llu",
	                           (unsigned long long)old + 3600000u);
	assert_true(recent > 0);

	start_agg(x, keep);
	uint64_t end = pc_clock_mono_us() + 30000000u;
	while (sql_num(x, "SELECT count(*) FROM samples WHERE time_ms < %llu",
	               (unsigned long long)old + 3600000u) > 0 &&
	       pc_clock_mono_us() < end) {
		pc_sleep_ms(200);
	}
	assert_int_equal(sql_num(x, "SELECT count(*) FROM samples WHERE time_ms < %llu",
	                         (unsigned long long)old + 3600000u),
	                 0);
	assert_int_equal(sql_num(x, "SELECT count(*) FROM events WHERE pid = 999999"), 0);
	assert_true(sql_num(x, "SELECT count(*) FROM samples WHERE time_ms > %llu",
	                    (unsigned long long)old + 3600000u) >= recent);
	assert_true(stats(x).rows_deleted >= 25001);
}

/* A store locked by another process for seconds: rows wait, past the
 * bound the oldest are dropped and counted, the aggregator goes on
 * answering, and once the lock is gone every row it kept is written:
 * received = written + dropped, and the file holds what was written. */
static void
test_history_locked_store(void **state)
{
	fx                   *x       = *state;
	const char           *small[] = { "--history-buffer", "16k", NULL };
	sqlite3              *db;
	Pidcast__HistoryStats st;
	uint64_t              end;
	static char           err[1 << 16];

	start_agg(x, small);
	start_agent(x);
	wait_up(x);
	drained(x);
	assert_int_equal(sqlite3_open(x->db, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "BEGIN EXCLUSIVE", NULL, NULL, NULL), SQLITE_OK);
	end = pc_clock_mono_us() + 60000000u;
	do {
		pc_sleep_ms(200);
		st = stats(x);
	} while ((st.rows_dropped == 0 || st.up) && pc_clock_mono_us() < end);
	assert_true(st.rows_dropped > 0);
	assert_false(st.up);
	assert_true(st.write_errors > 0);
	assert_true(st.bytes_queued <= 16384);
	assert_true(is_up(x)); /* ingest and queries went on */
	assert_int_equal(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);

	/* No more rows: the agent stops; then everything kept is written. */
	pc_child_kill(x->agent);
	x->agent = NULL;
	end      = pc_clock_mono_us() + 60000000u;
	do {
		pc_sleep_ms(200);
		st = stats(x);
	} while ((st.rows_queued > 0 || !st.up) && pc_clock_mono_us() < end);
	assert_true(st.up);
	assert_int_equal(st.rows_queued, 0);
	assert_int_equal(st.rows_received, st.rows_written + st.rows_dropped);
	assert_int_equal(sql_num(x, "SELECT (SELECT count(*) FROM samples) + (SELECT count(*) FROM "
	                            "events) + (SELECT count(*) FROM host_events)"),
	                 (long long)st.rows_written);
	stop_agg(x);
	/* It said so in its log. */
	FILE *f = fopen(x->agg_err, "r");
	assert_non_null(f);
	size_t n = fread(err, 1, sizeof(err) - 1, f);
	fclose(f);
	err[n] = '\0';
	assert_non_null(strstr(err, "history: write failed"));
	assert_non_null(strstr(err, "rows dropped"));
	assert_non_null(strstr(err, "up again"));
}

/* Bad requests and bad times: clear errors, and nothing changes. */
static void
test_history_bad_requests(void **state)
{
	fx                     *x = *state;
	ProtobufCMessage       *out;
	char                    msg[256], o[4096];
	Pidcast__HistoryRequest h = PIDCAST__HISTORY_REQUEST__INIT;
	Pidcast__EventsRequest  e = PIDCAST__EVENTS_REQUEST__INIT;
	Pidcast__TopAtRequest   t = PIDCAST__TOP_AT_REQUEST__INIT;

	start_agg(x, NULL);
	start_agent(x);
	wait_up(x);
	drained(x);
	assert_int_equal(rpc(x, "History", &h.base, &pidcast__history_reply__descriptor, &out, msg,
	                     sizeof(msg)),
	                 PIDCAST__STATUS_CODE__INVALID_ARGUMENT);
	assert_string_equal(msg, "History needs a pid");
	h.has_pid = 1;
	h.pid     = 4000000000u;
	assert_int_equal(rpc(x, "History", &h.base, &pidcast__history_reply__descriptor, &out, msg,
	                     sizeof(msg)),
	                 PIDCAST__STATUS_CODE__NOT_FOUND);
	h.has_limit = 1;
	h.limit     = 1000000;
	assert_int_equal(rpc(x, "History", &h.base, &pidcast__history_reply__descriptor, &out, msg,
	                     sizeof(msg)),
	                 PIDCAST__STATUS_CODE__INVALID_ARGUMENT);
	h.has_limit = 0;
	h.host      = "no-such-host";
	assert_int_equal(rpc(x, "History", &h.base, &pidcast__history_reply__descriptor, &out, msg,
	                     sizeof(msg)),
	                 PIDCAST__STATUS_CODE__NOT_FOUND);
	assert_string_equal(msg, "no host 'no-such-host' in the history");
	e.has_since_ms = e.has_until_ms = 1;
	e.since_ms                      = 2000;
	e.until_ms                      = 1000;
	assert_int_equal(rpc(x, "Events", &e.base, &pidcast__events_reply__descriptor, &out, msg,
	                     sizeof(msg)),
	                 PIDCAST__STATUS_CODE__INVALID_ARGUMENT);
	assert_non_null(strstr(msg, "is after until"));
	assert_int_equal(rpc(x, "TopAt", &t.base, &pidcast__top_at_reply__descriptor, &out, msg,
	                     sizeof(msg)),
	                 PIDCAST__STATUS_CODE__INVALID_ARGUMENT);
	assert_string_equal(msg, "TopAt needs at_ms");

	/* An agent keeps no history. */
	nng_socket a = pc_check_req(x->agent_rpc);
	int        status;
	h.host = NULL;
	assert_int_equal(pc_rpc_call(a, "History", &h.base, &pidcast__history_reply__descriptor,
	                             &out, &status, msg, sizeof(msg)),
	                 PC_OK);
	assert_int_equal(status, PIDCAST__STATUS_CODE__UNIMPLEMENTED);
	nng_close(a);

	/* pidcast-query refuses bad times before asking: exit status 2,
	 * nothing on stdout. */
	const char *bad[][10] = {
		{ query_path, "--rpc", x->rpc, "events", "--since", "2026-02-30T00:00:00Z", NULL },
		{ query_path, "--rpc", x->rpc, "events", "--since", "yesterday", NULL },
		{ query_path, "--rpc", x->rpc, "events", "--until", "5 m", NULL },
		{ query_path, "--rpc", x->rpc, "top", "3", "--at", "2026-12-01T03:10", NULL },
		{ query_path, "--rpc", x->rpc, "events", "--since", "1m", "--until", "2m" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(run(bad[i], o, sizeof(o)), 2);
		assert_string_equal(o, "");
	}
	Pidcast__HistoryStats s0 = stats(x);
	assert_int_equal(s0.write_errors, 0);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_history_records, setup, teardown),
		cmocka_unit_test_setup_teardown(test_history_restart_continues, setup, teardown),
		cmocka_unit_test_setup_teardown(test_history_retention, setup, teardown),
		cmocka_unit_test_setup_teardown(test_history_locked_store, setup, teardown),
		cmocka_unit_test_setup_teardown(test_history_bad_requests, setup, teardown),
	};

	if (argc != 5) {
		fprintf(stderr, "usage: test_history AGENT AGGREGATOR QUERY CHILD\n");
		return 2;
	}
	agent_path = argv[1];
	agg_path   = argv[2];
	query_path = argv[3];
	child_path = argv[4];
	return cmocka_run_group_tests(tests, NULL, NULL);
}
