/* test_hist_clickhouse.c: the ClickHouse history store, its operations
 * called directly, against a real ClickHouse server of the test's own that
 * history_clickhouse.sh starts (tests/common/pc_clickhouse.sh), which
 * gives it in the environment:
 *   PC_CH_ADDR    127.0.0.1:PORT, the server's HTTP interface
 *   PC_CH_CTL     a command that takes "kill" or "start" (the server
 *                 SIGKILLed, and started again on the same ports), "pause"
 *                 or "resume" (SIGSTOP, SIGCONT)
 *   PC_CH_EXPECT  a file for the counts that the shell reads back with
 *                 clickhouse-client
 * Each case has a database of its own. What is checked: the schema as
 * created (and opened again), rows of two hosts read back exactly through
 * samples, events and top (strings with tabs, newlines, backslashes,
 * quotes and UTF-8; exits with a code, a signal, or unknown), the same
 * batch written twice counting once, clear errors from a server that is
 * down, hangs or refuses a request, and retention dropping whole days. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <nng/nng.h>
#include <nng/supplemental/http/http.h>
#include <nng/supplemental/util/platform.h>

#include "base/pc_err.h"
#include "base/pc_time.h"
#include "pc_hist_store.h"
#include "platform/pc_platform.h"

#define DAY_MS 86400000ull

static const pc_hstore_ops *ch = &pc_hstore_clickhouse;
static const char          *addr;
static uint64_t             t0; /* the scenario's start: two hours ago, whole seconds */

/* ---- the test's own client of the server, beside the store's */

/* The server's answer to q (HTTP 200 asserted), NUL-terminated. */
static char *
raw(const char *q)
{
	char             url[128];
	nng_url         *u;
	nng_http_client *c;
	nng_http_req    *req;
	nng_http_res    *res;
	nng_aio         *aio;
	void            *body;
	size_t           len;
	char            *out;

	snprintf(url, sizeof(url), "http://%s/", addr);
	assert_int_equal(nng_url_parse(&u, url), 0);
	assert_int_equal(nng_http_client_alloc(&c, u), 0);
	assert_int_equal(nng_http_req_alloc(&req, u), 0);
	assert_int_equal(nng_http_res_alloc(&res), 0);
	assert_int_equal(nng_aio_alloc(&aio, NULL, NULL), 0);
	nng_aio_set_timeout(aio, 10000);
	assert_int_equal(nng_http_req_set_method(req, "POST"), 0);
	assert_int_equal(nng_http_req_set_data(req, q, strlen(q)), 0);
	nng_http_client_transact(c, req, res, aio);
	nng_aio_wait(aio);
	/* NNG 1.5 takes a chunked answer of no bytes for a lack of memory
	 * (see pc_hist_clickhouse.c). */
	if (nng_aio_result(aio) != NNG_ENOMEM ||
	    nng_http_res_get_header(res, "Transfer-Encoding") == NULL) {
		assert_int_equal(nng_aio_result(aio), 0);
	}
	nng_http_res_get_data(res, &body, &len);
	out = malloc(len + 1);
	assert_non_null(out);
	if (len > 0) {
		memcpy(out, body, len);
	}
	out[len] = '\0';
	if (nng_http_res_get_status(res) != 200) {
		fail_msg("%s: HTTP %u: %s", q, nng_http_res_get_status(res), out);
	}
	nng_aio_free(aio);
	nng_http_res_free(res);
	nng_http_req_free(req);
	nng_http_client_free(c);
	nng_url_free(u);
	return out;
}

static void
raw_expect(const char *q, const char *want)
{
	char *got = raw(q);

	if (strcmp(got, want) != 0) {
		fail_msg("%s\n--- got:\n%s--- want:\n%s", q, got, want);
	}
	free(got);
}

static void
ctl(const char *what)
{
	char cmd[1024];

	snprintf(cmd, sizeof(cmd), "%s %s", getenv("PC_CH_CTL"), what);
	assert_int_equal(system(cmd), 0);
}

static pc_hstore *
open_db(const char *db)
{
	char       url[256], err[256] = "";
	pc_hstore *s = NULL;

	snprintf(url, sizeof(url), "clickhouse://%s/%s", addr, db);
	if (ch->open(&s, url, err, sizeof(err)) != PC_OK) {
		fail_msg("open %s: %s", url, err);
	}
	assert_non_null(s);
	return s;
}

/* ---- rows, made as the aggregator makes them (pc_hrow_of_proc) */

typedef struct batch {
	pc_hrow rows[64];
	size_t  n;
} batch;

typedef struct texts {
	const char *name, *exe, *cmdline, *user, *container_id, *service, *cgroup;
} texts;

static void
push_proc(batch *b, pc_hrow_kind kind, uint32_t host, const pc_proc *p, uint64_t time_ms)
{
	assert_true(b->n < sizeof(b->rows) / sizeof(b->rows[0]));
	assert_int_equal(pc_hrow_of_proc(&b->rows[b->n++], kind, host, p, time_ms), PC_OK);
}

static pc_proc
proc_of(uint32_t pid, uint64_t ctime, uint32_t ppid, const texts *t)
{
	pc_proc p = { .pid = pid, .create_time_ms = ctime, .ppid = ppid };

	if (t != NULL) {
		p.name         = (char *)t->name;
		p.exe          = (char *)t->exe;
		p.cmdline      = (char *)t->cmdline;
		p.user         = (char *)t->user;
		p.container_id = (char *)t->container_id;
		p.service      = (char *)t->service;
		p.cgroup       = (char *)t->cgroup;
	}
	return p;
}

static void
start(batch *b, uint32_t host, uint32_t pid, uint64_t ctime, uint32_t ppid, const texts *t)
{
	pc_proc p = proc_of(pid, ctime, ppid, t);

	push_proc(b, PC_HROW_START, host, &p, ctime);
}

/* An exit: known with code or signal, or not known (seen gone at time). */
static void
end(batch *b, uint32_t host, uint32_t pid, uint64_t ctime, const texts *t, uint64_t time,
    bool known, int code, int sig)
{
	pc_proc p = proc_of(pid, ctime, 1, t);

	p.exit          = (pc_exit){ .known = known, .code = code, .signal = sig, .time_ms = time };
	p.cpu_user_us   = 7000000 + pid;
	p.cpu_system_us = 3000000 + pid;
	p.peak_rss_bytes = 90000 + pid;
	p.io_read_bytes  = 50000 + pid;
	p.io_write_bytes = 60000 + pid;
	push_proc(b, PC_HROW_EXIT, host, &p, time);
}

static void
sample(batch *b, uint32_t host, uint32_t pid, uint64_t ctime, uint64_t time, uint64_t cpu_u,
       uint64_t cpu_s, uint64_t rss, uint64_t io_r, uint64_t io_w)
{
	pc_proc p = proc_of(pid, ctime, 1, NULL);

	p.cpu_user_us    = cpu_u;
	p.cpu_system_us  = cpu_s;
	p.rss_bytes      = rss;
	p.threads        = pid % 7 + 1;
	p.io_read_bytes  = io_r;
	p.io_write_bytes = io_w;
	push_proc(b, PC_HROW_SAMPLE, host, &p, time);
}

static void
host_event(batch *b, uint32_t host, bool up, uint64_t time)
{
	pc_hrow r = { .kind = PC_HROW_HOST, .up = up, .host = host, .time_ms = time };

	assert_true(b->n < sizeof(b->rows) / sizeof(b->rows[0]));
	b->rows[b->n++] = r;
}

static void
batch_free(batch *b)
{
	for (size_t i = 0; i < b->n; i++) {
		pc_hrow_free(&b->rows[i]);
	}
	b->n = 0;
}

static void
write_ok(pc_hstore *s, const batch *b, const char *const *hosts)
{
	char err[256] = "";

	if (ch->write(s, b->rows, b->n, hosts, err, sizeof(err)) != PC_OK) {
		fail_msg("write: %s", err);
	}
}

/* ---- the scenario of two hosts */

enum { ALPHA, BETA };
/* A host name with a tab, a backslash, a quote and UTF-8. */
static const char *const HOSTS[] = { "alpha", "beta\t\xce\xb2\\'x" };

static const texts WEB = {
	"web\tserver", "/usr/bin/web", "web --root 'C:\\srv\\' \\t\nline two\r",
	"\xc3\xbcser", /* üser */
	"c0ffee",      "web.service",  "/system.slice/web.service",
};
static const texts WEB2    = { "web2", "/usr/bin/web2", "web2", "root", "", "", "" };
static const texts E_ACUTE = { "\xc3\xa9", "/bin/e", "e -x", "root", "", "", "" }; /* é, 2 bytes */
static const texts PCT     = { "100%_done", "/bin/p", "p", "nobody", "", "", "" };
static const texts PCT2    = { "100xydone", "/bin/q", "q", "nobody", "", "", "" };
static const texts DB = { "db", "/usr/sbin/db", "db -c /etc/db.conf", "db", "", "db.service", "" };
static const texts NONAME = { "", "", "", "", "", "", "" };

static void
scenario(batch *b)
{
	uint64_t t = t0;

	start(b, ALPHA, 100, t, 1, &WEB);
	sample(b, ALPHA, 100, t, t + 10000, 1000000, 500000, 1000, 100, 50);
	sample(b, ALPHA, 100, t, t + 20000, 1400000, 600000, 3000, 10100, 50);
	sample(b, ALPHA, 100, t, t + 30000, 1800000, 700000, 2000, 20100, 50);
	end(b, ALPHA, 100, t, &WEB, t + 40000, true, 3, 0);
	start(b, ALPHA, 200, t + 5000, 100, &E_ACUTE);
	sample(b, ALPHA, 200, t + 5000, t + 10000, 0, 0, 500, 7, 7);
	sample(b, ALPHA, 200, t + 5000, t + 30000, 1500000, 500000, 500, 7, 7);
	end(b, ALPHA, 200, t + 5000, &E_ACUTE, t + 35000, true, 0, 9);
	start(b, ALPHA, 300, t + 6000, 1, &PCT);
	end(b, ALPHA, 300, t + 6000, &PCT, t + 7000, false, 0, 0);
	/* PID 100 again, another process. */
	start(b, ALPHA, 100, t + 50000, 1, &WEB2);
	sample(b, ALPHA, 100, t + 50000, t + 60000, 10, 20, 4000, 0, 0);
	start(b, BETA, 100, t + 2000, 1, &DB);
	sample(b, BETA, 100, t + 2000, t + 10000, 100000, 0, 9000, 5, 5);
	sample(b, BETA, 100, t + 2000, t + 20000, 150000, 50000, 9000, 5, 5);
	start(b, BETA, 400, t + 8000, 1, &PCT2);
	end(b, BETA, 400, t + 8000, &NONAME, t + 9000, true, 1, 0);
	host_event(b, ALPHA, true, t);
	host_event(b, BETA, true, t + 1);
	host_event(b, ALPHA, false, t + 45000);
}

static pc_hquery
range(const char *host, uint32_t pid, uint64_t since, uint64_t until, size_t limit)
{
	return (pc_hquery){
		.host = host, .pid = pid, .since_ms = since, .until_ms = until, .limit = limit
	};
}

static void
check_sample(const Pidcast__HistorySample *m, uint64_t ctime, uint64_t time, uint64_t cpu_u,
             uint64_t cpu_s, uint64_t rss, uint32_t threads, uint64_t io_r, uint64_t io_w)
{
	assert_true(m->has_time_ms && m->has_create_time_ms && m->has_cpu_user_us &&
	            m->has_cpu_system_us && m->has_rss_bytes && m->has_threads &&
	            m->has_io_read_bytes && m->has_io_write_bytes);
	assert_false(m->has_cpu_percent); /* the RPC's to compute */
	assert_int_equal(m->create_time_ms, ctime);
	assert_int_equal(m->time_ms, time);
	assert_int_equal(m->cpu_user_us, cpu_u);
	assert_int_equal(m->cpu_system_us, cpu_s);
	assert_int_equal(m->rss_bytes, rss);
	assert_int_equal(m->threads, threads);
	assert_int_equal(m->io_read_bytes, io_r);
	assert_int_equal(m->io_write_bytes, io_w);
}

static void
check_samples(pc_hstore *s)
{
	Pidcast__HistoryReply r = PIDCAST__HISTORY_REPLY__INIT;
	pc_hquery             q;
	char                  err[256] = "";

	/* No host named, and two in the store. */
	q = range(NULL, 100, t0, t0 + 100000, 100);
	assert_int_equal(ch->samples(s, &q, &r, err, sizeof(err)), PC_EINVAL);
	assert_string_equal(err, "several hosts in the history: name one");
	pc_hist_samples_free(&r);
	r = (Pidcast__HistoryReply)PIDCAST__HISTORY_REPLY__INIT;
	q = range("nosuch", 100, t0, t0 + 100000, 100);
	assert_int_equal(ch->samples(s, &q, &r, err, sizeof(err)), PC_ENOENT);
	assert_string_equal(err, "no host 'nosuch' in the history");
	pc_hist_samples_free(&r);

	/* PID 100's first life: its three samples, its name. */
	r = (Pidcast__HistoryReply)PIDCAST__HISTORY_REPLY__INIT;
	q = range("alpha", 100, t0, t0 + 40000, 100);
	assert_int_equal(ch->samples(s, &q, &r, err, sizeof(err)), PC_OK);
	assert_string_equal(r.host, "alpha");
	assert_non_null(r.name);
	assert_string_equal(r.name, WEB.name);
	assert_false(r.has_truncated);
	assert_int_equal(r.n_samples, 3);
	check_sample(r.samples[0], t0, t0 + 10000, 1000000, 500000, 1000, 3, 100, 50);
	check_sample(r.samples[1], t0, t0 + 20000, 1400000, 600000, 3000, 3, 10100, 50);
	check_sample(r.samples[2], t0, t0 + 30000, 1800000, 700000, 2000, 3, 20100, 50);
	pc_hist_samples_free(&r);

	/* Both lives, named after the last sample's. */
	r = (Pidcast__HistoryReply)PIDCAST__HISTORY_REPLY__INIT;
	q = range("alpha", 100, t0, t0 + 100000, 100);
	assert_int_equal(ch->samples(s, &q, &r, err, sizeof(err)), PC_OK);
	assert_int_equal(r.n_samples, 4);
	check_sample(r.samples[3], t0 + 50000, t0 + 60000, 10, 20, 4000, 3, 0, 0);
	assert_non_null(r.name);
	assert_string_equal(r.name, "web2");
	pc_hist_samples_free(&r);

	/* The limit: two, and truncated. */
	r = (Pidcast__HistoryReply)PIDCAST__HISTORY_REPLY__INIT;
	q = range("alpha", 100, t0, t0 + 100000, 2);
	assert_int_equal(ch->samples(s, &q, &r, err, sizeof(err)), PC_OK);
	assert_int_equal(r.n_samples, 2);
	assert_true(r.has_truncated && r.truncated);
	assert_int_equal(r.samples[1]->time_ms, t0 + 20000);
	assert_non_null(r.name);
	assert_string_equal(r.name, WEB.name);
	pc_hist_samples_free(&r);

	/* The same PID on the other host, by its awkward name. */
	r = (Pidcast__HistoryReply)PIDCAST__HISTORY_REPLY__INIT;
	q = range(HOSTS[BETA], 100, t0, t0 + 100000, 100);
	assert_int_equal(ch->samples(s, &q, &r, err, sizeof(err)), PC_OK);
	assert_string_equal(r.host, HOSTS[BETA]);
	assert_non_null(r.name);
	assert_string_equal(r.name, "db");
	assert_int_equal(r.n_samples, 2);
	check_sample(r.samples[0], t0 + 2000, t0 + 10000, 100000, 0, 9000, 3, 5, 5);
	check_sample(r.samples[1], t0 + 2000, t0 + 20000, 150000, 50000, 9000, 3, 5, 5);
	pc_hist_samples_free(&r);

	/* Nothing in the range: no samples, no name. */
	r = (Pidcast__HistoryReply)PIDCAST__HISTORY_REPLY__INIT;
	q = range("alpha", 100, t0 + 70000, t0 + 80000, 100);
	assert_int_equal(ch->samples(s, &q, &r, err, sizeof(err)), PC_OK);
	assert_int_equal(r.n_samples, 0);
	assert_null(r.name);
	pc_hist_samples_free(&r);
}

typedef struct want_event {
	int          kind; /* 0 start, 1 exit */
	uint64_t     dt;   /* time_ms - t0 */
	int          host;
	uint32_t     pid;
	uint64_t     dctime;
	const texts *t;
	bool         known;
	int          code, sig;
} want_event;

/* Every event of the scenario, in the order of the answer. */
static const want_event EVENTS[] = {
	{ 0, 0, ALPHA, 100, 0, &WEB, 0, 0, 0 },
	{ 0, 2000, BETA, 100, 2000, &DB, 0, 0, 0 },
	{ 0, 5000, ALPHA, 200, 5000, &E_ACUTE, 0, 0, 0 },
	{ 0, 6000, ALPHA, 300, 6000, &PCT, 0, 0, 0 },
	{ 1, 7000, ALPHA, 300, 6000, &PCT, false, 0, 0 },
	{ 0, 8000, BETA, 400, 8000, &PCT2, 0, 0, 0 },
	{ 1, 9000, BETA, 400, 8000, &NONAME, true, 1, 0 },
	{ 1, 35000, ALPHA, 200, 5000, &E_ACUTE, true, 0, 9 },
	{ 1, 40000, ALPHA, 100, 0, &WEB, true, 3, 0 },
	{ 0, 50000, ALPHA, 100, 50000, &WEB2, 0, 0, 0 },
};
#define N_EVENTS (sizeof(EVENTS) / sizeof(EVENTS[0]))

static void
check_event(const Pidcast__ProcessEvent *m, const want_event *w)
{
	uint64_t ctime = t0 + w->dctime;

	assert_true(m->has_kind && m->has_time_ms && m->has_pid && m->has_create_time_ms &&
	            m->has_ppid);
	assert_int_equal(m->kind, w->kind ? PIDCAST__PROCESS_EVENT__KIND__EXIT
	                                  : PIDCAST__PROCESS_EVENT__KIND__START);
	assert_int_equal(m->time_ms, t0 + w->dt);
	assert_string_equal(m->host, HOSTS[w->host]);
	assert_int_equal(m->pid, w->pid);
	assert_int_equal(m->create_time_ms, ctime);
	assert_string_equal(m->name, w->t->name);
	assert_string_equal(m->cmdline, w->t->cmdline);
	assert_string_equal(m->user, w->t->user);
	assert_string_equal(m->container_id, w->t->container_id);
	assert_string_equal(m->service, w->t->service);
	if (w->kind == 0) {
		assert_int_equal(m->ppid, w->pid == 200 ? 100 : 1);
		assert_false(m->has_exit_known || m->has_exit_code || m->has_lifetime_ms ||
		             m->has_cpu_user_us || m->has_peak_rss_bytes || m->has_io_read_bytes);
		return;
	}
	assert_int_equal(m->ppid, 1);
	assert_true(m->has_exit_known && m->has_lifetime_ms && m->has_cpu_user_us &&
	            m->has_cpu_system_us && m->has_peak_rss_bytes && m->has_io_read_bytes &&
	            m->has_io_write_bytes);
	assert_int_equal(m->exit_known, w->known);
	assert_int_equal(m->has_exit_code, w->known);
	assert_int_equal(m->has_exit_signal, w->known);
	if (w->known) {
		assert_int_equal(m->exit_code, w->code);
		assert_int_equal(m->exit_signal, w->sig);
	}
	assert_int_equal(m->lifetime_ms, w->dt - w->dctime);
	assert_int_equal(m->cpu_user_us, 7000000 + w->pid);
	assert_int_equal(m->cpu_system_us, 3000000 + w->pid);
	assert_int_equal(m->peak_rss_bytes, 90000 + w->pid);
	assert_int_equal(m->io_read_bytes, 50000 + w->pid);
	assert_int_equal(m->io_write_bytes, 60000 + w->pid);
}

/* The events of q: those of EVENTS that pass keep, in order. */
static void
events_are(pc_hstore *s, const pc_hquery *q, bool (*keep)(const want_event *), bool truncated)
{
	Pidcast__EventsReply r        = PIDCAST__EVENTS_REPLY__INIT;
	char                 err[256] = "";
	size_t               k        = 0;

	if (ch->events(s, q, &r, err, sizeof(err)) != PC_OK) {
		fail_msg("events: %s", err);
	}
	for (size_t i = 0; i < N_EVENTS && k < q->limit; i++) {
		if (keep(&EVENTS[i])) {
			assert_true(k < r.n_events);
			check_event(r.events[k++], &EVENTS[i]);
		}
	}
	assert_int_equal(r.n_events, k);
	assert_int_equal(r.has_truncated, truncated);
	pc_hist_events_free(&r);
}

static bool
all(const want_event *w)
{
	(void)w;
	return true;
}

static bool
on_beta(const want_event *w)
{
	return w->host == BETA;
}

static bool
named_web(const want_event *w)
{
	return strncmp(w->t->name, "web", 3) == 0;
}

static bool
is_web(const want_event *w)
{
	return w->t == &WEB;
}

static bool
named(const want_event *w)
{
	return w->t->name[0] != '\0';
}

static bool
two_bytes(const want_event *w)
{
	return strlen(w->t->name) == 2;
}

static bool
pct(const want_event *w)
{
	return w->t == &PCT;
}

static bool
none(const want_event *w)
{
	(void)w;
	return false;
}

static void
check_events(pc_hstore *s)
{
	pc_hquery q = range(NULL, 0, t0, t0 + 100000, 100);

	events_are(s, &q, all, false);
	q.limit = 3;
	events_are(s, &q, all, true);
	q.limit = 100;
	q.host  = HOSTS[BETA];
	events_are(s, &q, on_beta, false);
	q.host      = NULL;
	q.name_glob = "web*";
	events_are(s, &q, named_web, false);
	/* A glob matches no empty name (SQLite's NULL). */
	q.name_glob = "*";
	events_are(s, &q, named, false);
	/* '?' is a byte, as in pc_glob: é is two. */
	q.name_glob = "?";
	events_are(s, &q, none, false);
	q.name_glob = "??";
	events_are(s, &q, two_bytes, false);
	/* LIKE's and regular expressions' own characters are themselves. */
	q.name_glob = "100%_*";
	events_are(s, &q, pct, false);
	q.name_glob = "web.server";
	events_are(s, &q, none, false);
	q.name_glob = "web\t*r";
	events_are(s, &q, is_web, false);
	q.name_glob = "nosuch";
	events_are(s, &q, none, false);
	q.name_glob = NULL;
	q.host      = "nosuch";
	events_are(s, &q, none, false);
}

typedef struct want_top {
	int         host;
	uint32_t    pid;
	uint64_t    dctime;
	const char *name;
	double      cpu;
	uint64_t    rss;
	double      io;
} want_top;

static void
top_is(pc_hstore *s, const char *host, int by, size_t n, uint64_t since, uint64_t until,
       const want_top *w, size_t nw)
{
	Pidcast__TopAtReply r        = PIDCAST__TOP_AT_REPLY__INIT;
	pc_hquery           q        = range(host, 0, since, until, n);
	char                err[256] = "";

	q.by = by;
	if (ch->top(s, &q, &r, err, sizeof(err)) != PC_OK) {
		fail_msg("top: %s", err);
	}
	assert_int_equal(r.n_entries, nw);
	for (size_t i = 0; i < nw; i++) {
		const Pidcast__TopAtEntry *m = r.entries[i];
		assert_true(m->has_pid && m->has_create_time_ms && m->has_cpu_percent &&
		            m->has_rss_bytes && m->has_io_bytes_per_sec);
		assert_string_equal(m->host, HOSTS[w[i].host]);
		assert_int_equal(m->pid, w[i].pid);
		assert_int_equal(m->create_time_ms, t0 + w[i].dctime);
		assert_string_equal(m->name, w[i].name);
		/* Exact: the same doubles as SQLite's arithmetic. */
		assert_true(m->cpu_percent == w[i].cpu);
		assert_int_equal(m->rss_bytes, w[i].rss);
		assert_true(m->io_bytes_per_sec == w[i].io);
	}
	pc_hist_top_free(&r);
}

static void
check_top(pc_hstore *s)
{
	/* In [t0, t0 + 40 s]: alpha 100 used 1 s of CPU in 20 s (5 %), read
	 * 20000 bytes in 20 s; alpha 200 2 s in 20 s (10 %); beta 100 0.1 s
	 * in 10 s (1 %). */
	const want_top a100  = { ALPHA, 100, 0, WEB.name, 5.0, 3000, 1000.0 };
	const want_top a200  = { ALPHA, 200, 5000, "\xc3\xa9", 10.0, 500, 0.0 };
	const want_top b100  = { BETA, 100, 2000, "db", 1.0, 9000, 0.0 };
	const want_top cpu[] = { a200, a100, b100 };
	const want_top rss[] = { b100, a100, a200 };
	const want_top io[]  = { a100, a200, b100 }; /* ties by host, then pid */
	/* One sample in the window: no rate. */
	const want_top one[] = { { ALPHA, 100, 50000, "web2", 0.0, 4000, 0.0 } };
	enum { CPU = PIDCAST__TOP_REQUEST__BY__CPU, RSS = PIDCAST__TOP_REQUEST__BY__RSS };

	top_is(s, NULL, CPU, 10, t0, t0 + 40000, cpu, 3);
	top_is(s, NULL, RSS, 10, t0, t0 + 40000, rss, 3);
	top_is(s, NULL, PIDCAST__TOP_REQUEST__BY__IO, 10, t0, t0 + 40000, io, 3);
	top_is(s, NULL, CPU, 1, t0, t0 + 40000, cpu, 1);
	top_is(s, HOSTS[BETA], CPU, 10, t0, t0 + 40000, &b100, 1);
	top_is(s, NULL, CPU, 10, t0 + 55000, t0 + 65000, one, 1);
	top_is(s, "nosuch", CPU, 10, t0, t0 + 40000, NULL, 0);
}

/* Counts of the rows of b by table, for the shell's check. */
static void
expect_counts(const char *db, const batch *b)
{
	const char *path = getenv("PC_CH_EXPECT");
	size_t      n[3] = { 0 };
	FILE       *f;

	for (size_t i = 0; i < b->n; i++) {
		n[b->rows[i].kind == PC_HROW_SAMPLE ? 0
		  : b->rows[i].kind == PC_HROW_HOST ? 2
		                                    : 1]++;
	}
	assert_non_null(path);
	assert_non_null(f = fopen(path, "a"));
	fprintf(f, "%s samples %zu\n%s events %zu\n%s host_events %zu\n%s hosts %d\n", db, n[0], db,
	        n[1], db, n[2], db, 2);
	fclose(f);
}

static void
test_rows(void **state)
{
	pc_hstore *s = open_db("pc_rows");
	batch      b = { .n = 0 };

	(void)state;
	scenario(&b);
	write_ok(s, &b, HOSTS);
	check_samples(s);
	check_events(s);
	check_top(s);
	/* The same batch again, as after a write that failed after the
	 * server applied it: every answer the same. */
	write_ok(s, &b, HOSTS);
	check_samples(s);
	check_events(s);
	check_top(s);
	/* And from another handle, which has to list the hosts again. */
	ch->close(s);
	s = open_db("pc_rows");
	write_ok(s, &b, HOSTS);
	check_samples(s);
	check_events(s);
	check_top(s);
	raw_expect("SELECT count() FROM (SELECT DISTINCT host FROM pc_rows.hosts) FORMAT "
	           "TabSeparated",
	           "2\n");
	expect_counts("pc_rows", &b);
	batch_free(&b);
	ch->close(s);
}

static void
test_schema(void **state)
{
	pc_hstore           *s        = open_db("pc_schema"), *again;
	char                 err[256] = "";
	Pidcast__EventsReply r        = PIDCAST__EVENTS_REPLY__INIT;
	pc_hquery            q        = range(NULL, 0, t0, t0 + 100000, 10);
	batch                b        = { .n = 0 };

	(void)state;
	raw_expect(
	        "SELECT name, engine_full FROM system.tables WHERE database = 'pc_schema' ORDER BY "
	        "name FORMAT TabSeparated",
	        "events\tReplacingMergeTree PARTITION BY day ORDER BY (host, pid, create_time_ms, "
	        "kind) SETTINGS index_granularity = 8192\n"
	        "host_events\tReplacingMergeTree PARTITION BY day ORDER BY (host, time_ms, up) "
	        "SETTINGS index_granularity = 8192\n"
	        "hosts\tReplacingMergeTree ORDER BY host SETTINGS index_granularity = 8192\n"
	        "samples\tReplacingMergeTree PARTITION BY day ORDER BY (host, pid, time_ms, "
	        "create_time_ms) SETTINGS index_granularity = 8192\n"
	        "samples_by_time\tReplacingMergeTree PARTITION BY day ORDER BY (time_ms, host, "
	        "pid, "
	        "create_time_ms) SETTINGS index_granularity = 8192\n"
	        "samples_to_time\t\n");
	/* The view that fills samples_by_time from each INSERT into samples. */
	raw_expect("SELECT engine FROM system.tables WHERE database = 'pc_schema' AND name = "
	           "'samples_to_time' FORMAT TabSeparated",
	           "MaterializedView\n");
	raw_expect("SELECT name, type FROM system.columns WHERE database = 'pc_schema' AND table = "
	           "'samples' FORMAT TabSeparated",
	           "host\tString\npid\tUInt32\ncreate_time_ms\tUInt64\ntime_ms\tUInt64\n"
	           "cpu_user_us\tUInt64\ncpu_system_us\tUInt64\nrss_bytes\tUInt64\n"
	           "threads\tUInt32\nio_read_bytes\tUInt64\nio_write_bytes\tUInt64\nday\tDate\n");
	/* Opened again over what it made, by a second handle at once. */
	start(&b, ALPHA, 7, t0, 1, &WEB2);
	write_ok(s, &b, HOSTS);
	again = open_db("pc_schema");
	assert_int_equal(ch->events(again, &q, &r, err, sizeof(err)), PC_OK);
	assert_int_equal(r.n_events, 1);
	assert_string_equal(r.events[0]->name, "web2");
	pc_hist_events_free(&r);
	ch->close(again);
	ch->close(s);
	batch_free(&b);
	/* The history of a database that holds nothing. */
	s = open_db("pc_empty");
	{
		Pidcast__HistoryReply h = PIDCAST__HISTORY_REPLY__INIT;
		q                       = range(NULL, 1, t0, t0 + 1000, 10);
		assert_int_equal(ch->samples(s, &q, &h, err, sizeof(err)), PC_ENOENT);
		assert_string_equal(err, "the history is empty");
		pc_hist_samples_free(&h);
	}
	ch->close(s);
}

static void
test_bad_urls(void **state)
{
	static const char *const bad[] = {
		"clickhouse://",
		"clickhouse:///db",
		"clickhouse://127.0.0.1:1",
		"clickhouse://127.0.0.1:1/",
		"clickhouse://127.0.0.1:1/bad-name",
		"clickhouse://127.0.0.1:1/a/b",
		"clickhouse://127.0.0.1:1/1db",
		"clickhouse://user:secret@127.0.0.1:1/db",
		"clickhouse://127.0.0.1:1/db?x=1",
		"clickhouse://127.0.0.1:1/db#x",
		"clickhouse://127.0.0.1:http/db",
		"clickhouse://127.0.0.1:99999/db", /* not a port: refused before any dial */
		"clickhouse://127.0.0.1:0/db",
		"clickhouse://127.0.0.1:1/db%27%3B",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		pc_hstore *s        = (pc_hstore *)&s;
		char       err[256] = "";
		assert_int_equal(ch->open(&s, bad[i], err, sizeof(err)), PC_EINVAL);
		assert_null(s);
		if (strstr(err, "clickhouse://HOST:PORT/DATABASE") == NULL) {
			fail_msg("%s: unclear: %s", bad[i], err);
		}
	}
}

/* What a store says of a server that is down: refused, or now and then
 * (a few runs in ten under valgrind) a connection made and shut at once.
 * NNG 1.5's TCP dialer takes a connecting socket for connected on any
 * poll event while SO_ERROR is 0 (posix_tcpdial.c), and the RST comes
 * after. */
static void
says_down(const char *err)
{
	char refused[128], shut[128];

	snprintf(refused, sizeof(refused), "clickhouse %s: Connection refused", addr);
	snprintf(shut, sizeof(shut), "clickhouse %s: Connection shutdown", addr);
	if (strcmp(err, refused) != 0 && strcmp(err, shut) != 0) {
		fail_msg("unclear for a server that is down: %s", err);
	}
}

/* A server that goes down and comes back on the same ports: the handle
 * says why it cannot write, then writes again; what was written before
 * the SIGKILL is still there. */
static void
test_down(void **state)
{
	pc_hstore            *s = open_db("pc_down"), *other = NULL;
	batch                 b1 = { .n = 0 }, b2 = { .n = 0 };
	Pidcast__HistoryReply r = PIDCAST__HISTORY_REPLY__INIT;
	pc_hquery             q = range("alpha", 5, t0, t0 + 100000, 100);
	char                  url[256], err[256] = "";

	(void)state;
	sample(&b1, ALPHA, 5, t0, t0 + 1000, 1, 2, 3, 4, 5);
	sample(&b2, ALPHA, 5, t0, t0 + 2000, 6, 7, 8, 9, 10);
	write_ok(s, &b1, HOSTS);
	ctl("kill");
	assert_int_equal(ch->write(s, b2.rows, b2.n, HOSTS, err, sizeof(err)), PC_ECONN);
	says_down(err);
	err[0] = '\0';
	assert_int_equal(ch->samples(s, &q, &r, err, sizeof(err)), PC_ECONN);
	says_down(err);
	assert_null(r.host);
	assert_int_equal(r.n_samples, 0);
	pc_hist_samples_free(&r);
	snprintf(url, sizeof(url), "clickhouse://%s/pc_down", addr);
	err[0] = '\0';
	assert_int_equal(ch->open(&other, url, err, sizeof(err)), PC_ECONN);
	assert_null(other);
	says_down(err);
	ctl("start");
	write_ok(s, &b2, HOSTS);
	r = (Pidcast__HistoryReply)PIDCAST__HISTORY_REPLY__INIT;
	assert_int_equal(ch->samples(s, &q, &r, err, sizeof(err)), PC_OK);
	assert_int_equal(r.n_samples, 2);
	check_sample(r.samples[0], t0, t0 + 1000, 1, 2, 3, 6, 4, 5);
	check_sample(r.samples[1], t0, t0 + 2000, 6, 7, 8, 6, 9, 10);
	pc_hist_samples_free(&r);
	batch_free(&b1);
	batch_free(&b2);
	ch->close(s);
}

/* A server that hangs: the write gives up in its time and says so; the
 * server, resumed, applies the INSERT it had taken, and the batch written
 * again (as the writer retries it) counts once. */
static void
test_hung(void **state)
{
	pc_hstore            *s        = open_db("pc_hung");
	batch                 b        = { .n = 0 };
	Pidcast__HistoryReply r        = PIDCAST__HISTORY_REPLY__INIT;
	pc_hquery             q        = range("alpha", 5, t0, t0 + 100000, 100);
	char                  err[256] = "", want[128];
	uint64_t              t;

	(void)state;
	sample(&b, ALPHA, 5, t0, t0 + 1000, 1, 2, 3, 4, 5);
	sample(&b, ALPHA, 5, t0, t0 + 2000, 6, 7, 8, 9, 10);
	ctl("pause");
	t = nng_clock();
	assert_int_equal(ch->write(s, b.rows, b.n, HOSTS, err, sizeof(err)), PC_ETIMEDOUT);
	t = nng_clock() - t;
	ctl("resume");
	snprintf(want, sizeof(want), "clickhouse %s: Timed out", addr);
	assert_string_equal(err, want);
	/* Its bound is 10 s (REQUEST_MS). */
	assert_true(t >= 9000 && t < 20000);
	/* The server had the request in its socket: resumed, it applies it. */
	for (t = nng_clock() + 10000;; nng_msleep(50)) {
		char *got  = raw("SELECT count() FROM pc_hung.samples FORMAT TabSeparated");
		bool  done = strcmp(got, "2\n") == 0;
		free(got);
		if (done) {
			break;
		}
		if (nng_clock() > t) {
			fail_msg("the INSERT that timed out was never applied");
		}
	}
	write_ok(s, &b, HOSTS);
	assert_int_equal(ch->samples(s, &q, &r, err, sizeof(err)), PC_OK);
	assert_int_equal(r.n_samples, 2);
	check_sample(r.samples[0], t0, t0 + 1000, 1, 2, 3, 6, 4, 5);
	check_sample(r.samples[1], t0, t0 + 2000, 6, 7, 8, 6, 9, 10);
	pc_hist_samples_free(&r);
	batch_free(&b);
	ch->close(s);
}

/* Whatever test_hung's end, the server runs on for the next test. */
static int
resume(void **state)
{
	(void)state;
	ctl("resume");
	return 0;
}

/* A request that the server refuses: its message, one line, and nothing
 * else changed. */
static void
test_refused(void **state)
{
	pc_hstore *s        = open_db("pc_err");
	batch      b        = { .n = 0 };
	char       err[256] = "", want[128];
	char      *got;

	(void)state;
	sample(&b, ALPHA, 5, t0, t0 + 1000, 1, 2, 3, 4, 5);
	free(raw("DROP TABLE pc_err.samples"));
	assert_int_equal(ch->write(s, b.rows, b.n, HOSTS, err, sizeof(err)), PC_EPROTO);
	/* ClickHouse says 404 for a table that is not there. */
	snprintf(want, sizeof(want), "clickhouse %s: HTTP 404: Code: 60, ", addr);
	if (strncmp(err, want, strlen(want)) != 0 ||
	    strstr(err, "Table pc_err.samples doesn't exist") == NULL ||
	    strchr(err, '\n') != NULL) {
		fail_msg("unclear: %s", err);
	}
	got = raw("SELECT count() FROM pc_err.hosts FORMAT TabSeparated");
	assert_string_equal(got, "0\n");
	free(got);
	/* Opened again, the table is made again. */
	ch->close(s);
	s = open_db("pc_err");
	write_ok(s, &b, HOSTS);
	raw_expect("SELECT pid, cpu_user_us FROM pc_err.samples FORMAT TabSeparated", "5\t1\n");
	batch_free(&b);
	ch->close(s);
}

/* Rows of an old day, as a writer of that day wrote them: a start and an
 * exit of pid, two samples, a host event. */
static void
old_day(int64_t days_ago, uint32_t pid, size_t *rows)
{
	uint64_t day = pc_clock_realtime_ms() / DAY_MS - (uint64_t)days_ago;
	uint64_t t   = day * DAY_MS + 3600000;
	char     d[32], q[2048];
	int64_t  y;
	unsigned m, dd;

	pc_civil_from_days((int64_t)day, &y, &m, &dd);
	snprintf(d, sizeof(d), "%04d-%02u-%02u", (int)y, m, dd);
	snprintf(q, sizeof(q),
	         "INSERT INTO pc_retain.samples FORMAT TabSeparated\n"
	         "old\t%u\t%llu\t%llu\t1\t1\t1\t1\t1\t1\t%s\n"
	         "old\t%u\t%llu\t%llu\t2\t2\t2\t1\t2\t2\t%s\n",
	         pid, (unsigned long long)t, (unsigned long long)t + 1000, d, pid,
	         (unsigned long long)t, (unsigned long long)t + 2000, d);
	free(raw(q));
	snprintf(q, sizeof(q),
	         "INSERT INTO pc_retain.events FORMAT TabSeparated\n"
	         "old\t%u\t%llu\t0\t%llu\t1\told%u\t\t\t\t\t\t\t0\t0\t0\t0\t0\t0\t0\t0\t%s\n"
	         "old\t%u\t%llu\t1\t%llu\t1\told%u\t\t\t\t\t\t\t1\t0\t0\t1\t1\t1\t1\t1\t%s\n",
	         pid, (unsigned long long)t, (unsigned long long)t, pid, d, pid,
	         (unsigned long long)t, (unsigned long long)t + 5000, pid, d);
	free(raw(q));
	snprintf(q, sizeof(q),
	         "INSERT INTO pc_retain.host_events FORMAT TabSeparated\nold\t%llu\t1\t%s\n",
	         (unsigned long long)t, d);
	free(raw(q));
	*rows += 5;
}

/* Retains until done, at most max calls: the rows deleted. */
static uint64_t
retain_all(pc_hstore *s, uint64_t cutoff, int max, int *calls)
{
	uint64_t total    = 0, deleted;
	bool     more     = true;
	char     err[256] = "";

	for (*calls = 0; more && *calls < max; (*calls)++) {
		if (ch->retain(s, cutoff, &deleted, &more, err, sizeof(err)) != PC_OK) {
			fail_msg("retain: %s", err);
		}
		total += deleted;
	}
	assert_false(more);
	return total;
}

static char *
day_id(int64_t days_ago)
{
	static char buf[2][16];
	static int  k;
	int64_t     y;
	unsigned    m, d;

	pc_civil_from_days((int64_t)(pc_clock_realtime_ms() / DAY_MS) - days_ago, &y, &m, &d);
	k = !k;
	snprintf(buf[k], sizeof(buf[k]), "%04d%02u%02u", (int)y, m, d);
	return buf[k];
}

/* Retention by whole days of writing. The test cannot make the store
 * write on another day, so the old days' rows are inserted as their
 * writer would have, through SQL, and the store's own rows are today's. */
static void
test_retain(void **state)
{
	pc_hstore            *s       = open_db("pc_retain");
	uint64_t              now     = pc_clock_realtime_ms();
	uint64_t              cut     = now - 7 * DAY_MS;
	uint64_t              lived   = (now / DAY_MS - 10) * DAY_MS + 1000; /* its create time */
	const char *const     hosts[] = { "old" };
	const texts           LONG    = { "long-lived", "/bin/l", "l", "root", "", "", "" };
	Pidcast__HistoryReply r       = PIDCAST__HISTORY_REPLY__INIT;
	Pidcast__EventsReply  e       = PIDCAST__EVENTS_REPLY__INIT;
	pc_hquery             q;
	batch                 b   = { .n = 0 };
	size_t                old = 0, kept = 0;
	uint64_t              deleted;
	bool                  more;
	int                   calls;
	char                  err[256] = "", want[256], lq[1024], d10[16];

	(void)state;
	/* Days 10, 9 and 8 ago go; 7 ago, the cutoff's day, stays. */
	old_day(10, 510, &old);
	old_day(9, 509, &old);
	old_day(8, 508, &old);
	old_day(7, 507, &kept);
	/* A process started 10 days ago that still runs: its start is kept. */
	snprintf(d10, sizeof(d10), "%s", day_id(10));
	snprintf(lq, sizeof(lq),
	         "INSERT INTO pc_retain.events FORMAT TabSeparated\n"
	         "old\t10\t%llu\t0\t%llu\t1\tlong-lived\t/bin/"
	         "l\tl\troot\t\t\t\t0\t0\t0\t0\t0\t0\t0\t"
	         "0\t%.4s-%.2s-%.2s\n",
	         (unsigned long long)lived, (unsigned long long)lived, d10, d10 + 4, d10 + 6);
	free(raw(lq));
	old++;
	sample(&b, 0, 10, lived, now - 3600000, 5, 5, 5, 5, 5);
	start(&b, 0, 20, now - 60000, 1, &LONG);
	host_event(&b, 0, true, now - 60000);
	write_ok(s, &b, hosts);

	/* Nine partitions before the cutoff's day, three a call. */
	assert_int_equal(ch->retain(s, cut, &deleted, &more, err, sizeof(err)), PC_OK);
	assert_true(more);
	assert_true(deleted > 0 && deleted < old);
	assert_int_equal(deleted + retain_all(s, cut, 5, &calls), old);
	assert_int_equal(calls, 2);
	assert_int_equal(ch->retain(s, cut, &deleted, &more, err, sizeof(err)), PC_OK);
	assert_int_equal(deleted, 0);
	assert_false(more);
	snprintf(want, sizeof(want), "%s\n%s\n", day_id(7), day_id(0));
	raw_expect("SELECT DISTINCT partition_id FROM system.parts WHERE database = 'pc_retain' "
	           "AND active AND table != 'hosts' ORDER BY partition_id FORMAT TabSeparated",
	           want);

	/* The long-lived process keeps its name; the others of its day are
	 * gone, those of the cutoff's day are there. */
	q = range("old", 10, now - 11 * DAY_MS, now, 100);
	assert_int_equal(ch->samples(s, &q, &r, err, sizeof(err)), PC_OK);
	assert_int_equal(r.n_samples, 1);
	assert_non_null(r.name);
	assert_string_equal(r.name, "long-lived");
	pc_hist_samples_free(&r);
	q = range("old", 0, now - 11 * DAY_MS, now, 100);
	assert_int_equal(ch->events(s, &q, &e, err, sizeof(err)), PC_OK);
	assert_int_equal(e.n_events, 4);
	assert_int_equal(e.events[0]->pid, 10);
	assert_int_equal(e.events[0]->create_time_ms, lived);
	assert_int_equal(e.events[1]->pid, 507);
	assert_int_equal(e.events[2]->pid, 507);
	assert_int_equal(e.events[3]->pid, 20);
	pc_hist_events_free(&e);

	/* A cutoff after today drops the rest: day 7 ago's, and today's (the
	 * store's rows and the start it kept). */
	assert_int_equal(retain_all(s, now + 2 * DAY_MS, 5, &calls), kept + b.n + 1);
	assert_int_equal(calls, 2);
	raw_expect("SELECT count() FROM system.parts WHERE database = 'pc_retain' AND active AND "
	           "table != 'hosts' FORMAT TabSeparated",
	           "0\n");
	r = (Pidcast__HistoryReply)PIDCAST__HISTORY_REPLY__INIT;
	q = range(NULL, 10, now - 11 * DAY_MS, now, 100);
	assert_int_equal(ch->samples(s, &q, &r, err, sizeof(err)), PC_OK);
	assert_string_equal(r.host, "old"); /* hosts stay, as in SQLite */
	assert_int_equal(r.n_samples, 0);
	pc_hist_samples_free(&r);
	batch_free(&b);
	ch->close(s);
}

/* The writer's handle and a query's, at once from two threads. */
#define THREAD_BATCHES 40

typedef struct writer_arg {
	batch b[THREAD_BATCHES]; /* made beforehand: no assert in the thread */
	char  url[256];
	char  err[256];
	int   rv;
} writer_arg;

static void
writer(void *arg)
{
	writer_arg *w = arg;
	pc_hstore  *s;

	if ((w->rv = ch->open(&s, w->url, w->err, sizeof(w->err))) != PC_OK) {
		return;
	}
	for (int i = 0; i < THREAD_BATCHES && w->rv == PC_OK; i++) {
		w->rv = ch->write(s, w->b[i].rows, w->b[i].n, HOSTS, w->err, sizeof(w->err));
	}
	ch->close(s);
}

static void
test_threads(void **state)
{
	static writer_arg     w;
	nng_thread           *th;
	pc_hstore            *s = open_db("pc_threads");
	Pidcast__HistoryReply r;
	pc_hquery             q        = range("alpha", 1, t0, t0 + 100000, 1000);
	char                  err[256] = "";
	size_t                got      = 0;
	int                   rv, queries = 0;

	(void)state;
	snprintf(w.url, sizeof(w.url), "clickhouse://%s/pc_threads", addr);
	for (uint64_t i = 0; i < THREAD_BATCHES; i++) {
		for (uint64_t k = i * 10; k < i * 10 + 10; k++) {
			sample(&w.b[i], ALPHA, 1, t0, t0 + k * 10, k, k, k, k, k);
		}
	}
	assert_int_equal(nng_thread_create(&th, writer, &w), 0);
	while (got < THREAD_BATCHES * 10 && queries < 2000) {
		r  = (Pidcast__HistoryReply)PIDCAST__HISTORY_REPLY__INIT;
		rv = ch->samples(s, &q, &r, err, sizeof(err));
		/* Before the first batch: no host yet. */
		if (rv != PC_OK && !(rv == PC_ENOENT && r.n_samples == 0)) {
			fail_msg("query beside the writer: %s", err);
		}
		/* In time order, each batch all there or not at all. */
		assert_int_equal(r.n_samples % 10, 0);
		for (size_t i = 0; i < r.n_samples; i++) {
			assert_int_equal(r.samples[i]->time_ms, t0 + i * 10);
		}
		got = r.n_samples;
		queries++;
		pc_hist_samples_free(&r);
	}
	nng_thread_destroy(th);
	if (w.rv != PC_OK) {
		fail_msg("writer: %s", w.err);
	}
	assert_int_equal(got, THREAD_BATCHES * 10);
	assert_true(queries > 1);
	for (int i = 0; i < THREAD_BATCHES; i++) {
		batch_free(&w.b[i]);
	}
	ch->close(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_urls),
		cmocka_unit_test(test_schema),
		cmocka_unit_test(test_rows),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_retain),
		cmocka_unit_test(test_threads),
		cmocka_unit_test_teardown(test_hung, resume),
		cmocka_unit_test(test_down),
	};
	int rv;

	if ((addr = getenv("PC_CH_ADDR")) == NULL || getenv("PC_CH_CTL") == NULL) {
		fprintf(stderr, "test_hist_clickhouse: run by history_clickhouse.sh, which starts "
		                "the server (PC_CH_ADDR, PC_CH_CTL, PC_CH_EXPECT)\n");
		return 2;
	}
	t0 = (pc_clock_realtime_ms() - 7200000) / 1000 * 1000;
	rv = cmocka_run_group_tests(tests, NULL, NULL);
	return rv;
}
