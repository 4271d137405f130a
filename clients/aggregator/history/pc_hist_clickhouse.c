/* pc_hist_clickhouse.c: the history in ClickHouse, for a fleet, through its
 * HTTP interface (clickhouse://HOST:PORT/DATABASE, port 8123 by default)
 * and NNG's HTTP client.
 *
 * Written for ClickHouse 18.16 (Debian 12's), which has no DateTime64 and
 * no TTL: times are UInt64 milliseconds, and retention drops whole days of
 * a Date column, `day`, the UTC day the row was written (so that a batch
 * lands in one partition, whatever the clocks of the agents say).
 *
 * Each table is a ReplacingMergeTree keyed like SQLite's rows, so that a
 * batch written again after an ambiguous failure (the INSERT may have been
 * applied) merges away; merges come when they come, so every query reads
 * as if they had: LIMIT 1 BY the key, or aggregates that a duplicate does
 * not change (max, min). One refinement of the schema: a table of host
 * names, written when a handle first sees a host, so that a query finds
 * the hosts without reading every sample.
 *
 * A query by time reads the partitions from the day before its start on
 * (a row is written in its own day or later, but for an agent's clock
 * ahead of the aggregator's: by up to a day, then), so that TopAt an hour
 * ago does not read a week of samples. Retention drops the oldest few
 * days a call; before a day of events goes, the starts in it of the
 * processes that still have samples are copied into today's, as SQLite
 * keeps them, so that a process that runs for weeks keeps its name.
 *
 * Every request is a connection of its own (NNG's transact, which says
 * Connection: close). The writer sends a batch a second and queries come
 * now and then, so a kept connection would save little, and would have to
 * tell a connection that the server closed while idle (keep_alive_timeout,
 * 3 s by default) from a failure and try again. A handle thus holds no
 * connection between requests, and outlives a restart of the server. It
 * is one thread's at a time (its aio, its request buffer): the writer and
 * the queries have one each.
 *
 * Answers are TabSeparated, asked with wait_end_of_query=1: without it an
 * error in the middle of a query comes after "200 OK", appended to the
 * rows; with it the server holds the answer to the end and an error is a
 * 500 whose body's first line is the message. They come chunked
 * (Transfer-Encoding: chunked, held or not), which NNG 1.5's client reads,
 * joining the chunks into the body, but for an answer of no bytes: see
 * request(). */
#include "pc_hist_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nng/nng.h>
#include <nng/supplemental/http/http.h>

#include "base/pc_buf.h"
#include "base/pc_err.h"
#include "base/pc_time.h"
#include "platform/pc_platform.h"

#define REQUEST_MS   10000  /* a request's whole time: connect, send, answer */
#define RETAIN_MS    60000  /* retention's, which reads a week of samples once a day */
#define RETAIN_PARTS 4      /* partitions (a day of one table) a retention call drops at most */
#define DEFAULT_PORT "8123" /* ClickHouse's HTTP port */
#define DAY_MS       86400000ull
#define MAX_COLS     24
#define DB_MAX       64

/* A row's table. */
enum { T_SAMPLES, T_EVENTS, T_HOST_EVENTS, T_COUNT };

static const char *const TABLE[T_COUNT] = { "samples", "events", "host_events" };

/* Each with the database's name for each of its %s. */
static const char *const SCHEMA[] = {
	"CREATE DATABASE IF NOT EXISTS %s",
	"CREATE TABLE IF NOT EXISTS %s.samples (host String, pid UInt32, create_time_ms UInt64, "
	"time_ms UInt64, cpu_user_us UInt64, cpu_system_us UInt64, rss_bytes UInt64, "
	"threads UInt32, io_read_bytes UInt64, io_write_bytes UInt64, day Date) "
	"ENGINE = ReplacingMergeTree PARTITION BY day ORDER BY (host, pid, time_ms, "
	"create_time_ms)",
	/* The samples again, ordered by time, filled by ClickHouse itself
	 * from each INSERT into samples: what TopAt over every host reads,
	 * since samples' order (host first) cannot find a moment without
	 * reading the whole day. */
	"CREATE TABLE IF NOT EXISTS %s.samples_by_time (host String, pid UInt32, "
	"create_time_ms UInt64, time_ms UInt64, cpu_user_us UInt64, cpu_system_us UInt64, "
	"rss_bytes UInt64, threads UInt32, io_read_bytes UInt64, io_write_bytes UInt64, day Date) "
	"ENGINE = ReplacingMergeTree PARTITION BY day ORDER BY (time_ms, host, pid, "
	"create_time_ms)",
	"CREATE MATERIALIZED VIEW IF NOT EXISTS %s.samples_to_time TO %s.samples_by_time AS "
	"SELECT * FROM %s.samples",
	"CREATE TABLE IF NOT EXISTS %s.events (host String, pid UInt32, create_time_ms UInt64, "
	"kind UInt8, time_ms UInt64, ppid UInt32, name String, exe String, cmdline String, "
	"user String, container_id String, service String, cgroup String, exit_known UInt8, "
	"exit_code Int32, exit_signal Int32, cpu_user_us UInt64, cpu_system_us UInt64, "
	"peak_rss_bytes UInt64, io_read_bytes UInt64, io_write_bytes UInt64, day Date) "
	"ENGINE = ReplacingMergeTree PARTITION BY day ORDER BY (host, pid, create_time_ms, kind)",
	"CREATE TABLE IF NOT EXISTS %s.host_events (host String, time_ms UInt64, up UInt8, "
	"day Date) ENGINE = ReplacingMergeTree PARTITION BY day ORDER BY (host, time_ms, up)",
	/* Never dropped, as SQLite's hosts are not. */
	"CREATE TABLE IF NOT EXISTS %s.hosts (host String) ENGINE = ReplacingMergeTree "
	"ORDER BY host",
};

/* The events columns after (host, pid, create_time_ms, kind, time_ms). */
#define EVENT_REST                                                                               \
	"ppid, name, exe, cmdline, user, container_id, service, cgroup, exit_known, exit_code, " \
	"exit_signal, cpu_user_us, cpu_system_us, peak_rss_bytes, io_read_bytes, io_write_bytes"

struct pc_hstore {
	nng_url         *url; /* http://HOST:PORT/?wait_end_of_query=1 */
	nng_http_client *client;
	nng_aio         *aio;
	char             db[DB_MAX];
	char             where[320]; /* HOST:PORT, for messages */
	uint8_t         *known;      /* by host number: its name is in db.hosts */
	size_t           n_known;
	pc_buf           sql; /* the request being made */
	nng_duration     timeout_ms;
};

/* An answer being read: lines of fields, unescaped in place. */
typedef struct tsv {
	char  *p, *end;
	char  *col[MAX_COLS];
	size_t n;
	bool   bad; /* a number that was not one */
} tsv;

/* A Date as ClickHouse writes it, from Unix milliseconds (UTC). */
static void
day_str(uint64_t ms, char out[16])
{
	int64_t  y;
	unsigned m, d;

	pc_civil_from_days((int64_t)(ms / DAY_MS), &y, &m, &d);
	snprintf(out, 16, "%04d-%02u-%02u", (int)y, m, d);
}

/* s in a SQL string literal. */
static void
sql_str(pc_buf *b, const char *s)
{
	pc_buf_add(b, "'", 1);
	for (const char *p = s; *p != '\0'; p++) {
		if (*p == '\\' || *p == '\'') {
			pc_buf_add(b, "\\", 1);
		}
		pc_buf_add(b, p, 1);
	}
	pc_buf_add(b, "'", 1);
}

/* s as a TabSeparated field, then sep. */
static void
tsv_str(pc_buf *b, const char *s, char sep)
{
	for (const char *p = s; *p != '\0'; p++) {
		const char *e = *p == '\t' ? "\\t" : *p == '\n' ? "\\n" : *p == '\r' ? "\\r" : NULL;
		if (*p == '\\') {
			e = "\\\\";
		}
		pc_buf_add(b, e != NULL ? e : p, e != NULL ? 2 : 1);
	}
	pc_buf_add(b, &sep, 1);
}

/* The next line of fields (exactly want of them): PC_OK, PC_ENOENT at the
 * end, PC_EPROTO for a line of another shape. */
static int
tsv_next(tsv *t, size_t want)
{
	char *w;

	if (t->p >= t->end) {
		return PC_ENOENT;
	}
	t->n           = 0;
	w              = t->p;
	t->col[t->n++] = w;
	while (t->p < t->end && *t->p != '\n') {
		char c = *t->p++;
		if (c == '\t') {
			*w++ = '\0';
			if (t->n == MAX_COLS) {
				return PC_EPROTO;
			}
			t->col[t->n++] = w;
			continue;
		}
		if (c == '\\' && t->p < t->end) {
			c = *t->p++;
			c = c == 'b'   ? '\b'
			    : c == 'f' ? '\f'
			    : c == 'n' ? '\n'
			    : c == 'r' ? '\r'
			    : c == 't' ? '\t'
			    : c == '0' ? '\0'
			    : c == 'a' ? '\a'
			    : c == 'v' ? '\v'
			               : c; /* \\ \' and the rest: the character */
		}
		*w++ = c;
	}
	if (t->p >= t->end) {
		return PC_EPROTO; /* every line ends in a newline */
	}
	*w = '\0';
	t->p++;
	return t->n == want ? PC_OK : PC_EPROTO;
}

static uint64_t
col_u64(tsv *t, size_t i)
{
	char              *end;
	unsigned long long v;

	if (t->col[i][0] == '-') { /* a difference of counters that went back */
		strtoll(t->col[i], &end, 10);
		t->bad = t->bad || *end != '\0';
		return 0;
	}
	v      = strtoull(t->col[i], &end, 10);
	t->bad = t->bad || *end != '\0' || end == t->col[i];
	return (uint64_t)v;
}

static int32_t
col_i32(tsv *t, size_t i)
{
	char *end;
	long  v = strtol(t->col[i], &end, 10);

	t->bad = t->bad || *end != '\0' || end == t->col[i];
	return (int32_t)v;
}

static char *
col_str(tsv *t, size_t i)
{
	return pc_strdup(t->col[i]);
}

/* The first line of an error's body, for a message. */
static int
first_line(const char *body, size_t len)
{
	size_t k = 0;

	while (k < len && k < 512 && body[k] != '\n' && body[k] != '\r' && body[k] != '\0') {
		k++;
	}
	return (int)k;
}

/* Sends s->sql: PC_OK with the answer in *out (freed by the caller), or an
 * error with its reason in err. */
static int
request(pc_hstore *s, nng_http_res **out, char *err, size_t n)
{
	nng_http_req *req = NULL;
	nng_http_res *res = NULL;
	const char   *te;
	void         *body;
	size_t        len;
	int           rv;

	*out = NULL;
	if (s->sql.err != PC_OK) {
		return s->sql.err;
	}
	if ((rv = nng_http_req_alloc(&req, s->url)) != 0 || (rv = nng_http_res_alloc(&res)) != 0 ||
	    (rv = nng_http_req_set_method(req, "POST")) != 0 ||
	    (rv = nng_http_req_set_data(req, s->sql.data, s->sql.len)) != 0) {
		nng_http_req_free(req);
		nng_http_res_free(res);
		snprintf(err, n, "clickhouse %s: %s", s->where, nng_strerror(rv));
		return pc_nng_err(rv);
	}
	nng_aio_set_timeout(s->aio, s->timeout_ms);
	nng_http_client_transact(s->client, req, res, s->aio);
	nng_aio_wait(s->aio);
	rv = nng_aio_result(s->aio);
	nng_http_req_free(req);
	/* NNG 1.5's client fails a chunked answer of no bytes with
	 * NNG_ENOMEM, once it has read all of it (it allocates the body's 0
	 * bytes, and takes the NULL for a failure): ClickHouse answers DDL
	 * and INSERT so. The chunked answer's headers, read by then, tell it
	 * apart, and the answer is empty. A query's answer is never empty (a
	 * line of names comes first), so that a real lack of memory there is
	 * not taken for no rows. */
	if (rv == NNG_ENOMEM && (te = nng_http_res_get_header(res, "Transfer-Encoding")) != NULL &&
	    strstr(te, "chunked") != NULL) {
		rv = 0;
	}
	if (rv != 0) {
		nng_http_res_free(res);
		snprintf(err, n, "clickhouse %s: %s", s->where, nng_strerror(rv));
		return pc_nng_err(rv);
	}
	if (nng_http_res_get_status(res) != NNG_HTTP_STATUS_OK) {
		nng_http_res_get_data(res, &body, &len);
		if (len > 0) {
			snprintf(err, n, "clickhouse %s: HTTP %u: %.*s", s->where,
			         nng_http_res_get_status(res), first_line(body, len), (char *)body);
		} else {
			snprintf(err, n, "clickhouse %s: HTTP %u %s", s->where,
			         nng_http_res_get_status(res), nng_http_res_get_reason(res));
		}
		nng_http_res_free(res);
		return PC_EPROTO;
	}
	*out = res;
	return PC_OK;
}

/* A request whose answer is not read (DDL, INSERT). */
static int
command(pc_hstore *s, char *err, size_t n)
{
	nng_http_res *res;
	int           rv = request(s, &res, err, n);

	nng_http_res_free(res);
	return rv;
}

/* A row or an answer that did not read: the reason. */
static int
bad_answer(pc_hstore *s, int rv, char *err, size_t n)
{
	if (rv == PC_ENOMEM) {
		snprintf(err, n, "out of memory");
		return rv;
	}
	snprintf(err, n, "clickhouse %s: an answer of another shape than asked", s->where);
	return PC_EPROTO;
}

/* A query: its answer, to be read with t and freed by the caller. */
static int
query(pc_hstore *s, nng_http_res **res, tsv *t, char *err, size_t n)
{
	void  *body;
	size_t len;
	int    rv;

	pc_buf_str(&s->sql, " FORMAT TabSeparatedWithNames");
	if ((rv = request(s, res, err, n)) != PC_OK) {
		return rv;
	}
	nng_http_res_get_data(*res, &body, &len);
	memset(t, 0, sizeof(*t));
	if (body == NULL || (t->p = memchr(body, '\n', len)) == NULL) {
		nng_http_res_free(*res);
		*res = NULL;
		return bad_answer(s, PC_EPROTO, err, n);
	}
	t->p++; /* after the names */
	t->end = (char *)body + len;
	return PC_OK;
}

static void
store_close(pc_hstore *s)
{
	if (s == NULL) {
		return;
	}
	if (s->aio != NULL) {
		nng_aio_free(s->aio);
	}
	if (s->client != NULL) {
		nng_http_client_free(s->client);
	}
	if (s->url != NULL) {
		nng_url_free(s->url);
	}
	pc_buf_fini(&s->sql);
	free(s->known);
	free(s);
}

/* clickhouse://HOST[:PORT]/DATABASE into the HTTP URL to ask, where (for
 * messages) and the database's name, which goes into SQL as it is and so
 * must be a plain name. */
static int
parse_url(const char *url, char *http, size_t hn, char *where, size_t wn, char *db, char *err,
          size_t n)
{
	nng_url    *u;
	const char *name, *port;
	size_t      len;
	bool        ok;

	if (nng_url_parse(&u, url) != 0) {
		snprintf(err, n,
		         "clickhouse: '%.200s' is not a URL (clickhouse://HOST:PORT/DATABASE)",
		         url);
		return PC_EINVAL;
	}
	name = u->u_path[0] == '/' ? u->u_path + 1 : u->u_path;
	len  = strcspn(name, "/");
	ok   = len > 0 && len < DB_MAX && (name[len] == '\0' || strcmp(name + len, "/") == 0) &&
	     !(name[0] >= '0' && name[0] <= '9');
	for (size_t i = 0; i < len && ok; i++) {
		char c = name[i];
		ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		     c == '_';
	}
	port = u->u_port[0] != '\0' ? u->u_port : DEFAULT_PORT;
	ok   = ok && strlen(port) <= 5 && strspn(port, "0123456789") == strlen(port) &&
	     atoi(port) > 0 && atoi(port) < 65536;
	if (u->u_hostname[0] == '\0' || u->u_userinfo != NULL || u->u_query != NULL ||
	    u->u_fragment != NULL || !ok) {
		snprintf(
		        err, n,
		        "clickhouse: '%.200s': give clickhouse://HOST:PORT/DATABASE, PORT a number "
		        "and DATABASE a name of letters, digits and '_' (no user, query or "
		        "fragment)",
		        url);
		nng_url_free(u);
		return PC_EINVAL;
	}
	memcpy(db, name, len);
	db[len] = '\0';
	/* An IPv6 address goes in brackets. */
	ok = strchr(u->u_hostname, ':') != NULL;
	snprintf(where, wn, "%s%s%s:%s", ok ? "[" : "", u->u_hostname, ok ? "]" : "", port);
	snprintf(http, hn, "http://%s/?wait_end_of_query=1", where);
	nng_url_free(u);
	return PC_OK;
}

static int
store_open(pc_hstore **out, const char *url, char *err, size_t n)
{
	char       http[400];
	pc_hstore *s;
	int        rv;

	*out = NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		return PC_ENOMEM;
	}
	if ((rv = parse_url(url, http, sizeof(http), s->where, sizeof(s->where), s->db, err, n)) !=
	    PC_OK) {
		store_close(s);
		return rv;
	}
	if ((rv = nng_url_parse(&s->url, http)) != 0 ||
	    (rv = nng_http_client_alloc(&s->client, s->url)) != 0 ||
	    (rv = nng_aio_alloc(&s->aio, NULL, NULL)) != 0) {
		snprintf(err, n, "clickhouse %s: %s", s->where, nng_strerror(rv));
		store_close(s);
		return pc_nng_err(rv);
	}
	s->timeout_ms = REQUEST_MS;
	for (size_t i = 0; i < sizeof(SCHEMA) / sizeof(SCHEMA[0]); i++) {
		pc_buf_reset(&s->sql);
		pc_buf_printf(&s->sql, SCHEMA[i], s->db, s->db, s->db);
		if ((rv = command(s, err, n)) != PC_OK) {
			store_close(s);
			return rv;
		}
	}
	*out = s;
	return PC_OK;
}

static int
table_of(const pc_hrow *r)
{
	return r->kind == PC_HROW_SAMPLE ? T_SAMPLES
	       : r->kind == PC_HROW_HOST ? T_HOST_EVENTS
	                                 : T_EVENTS;
}

static void
add_row(pc_buf *b, const pc_hrow *r, const char *host, const char *day)
{
	bool exit = r->kind == PC_HROW_EXIT;

	tsv_str(b, host, '\t');
	switch (table_of(r)) {
	case T_SAMPLES:
		pc_buf_printf(b, "%u\t%llu\t%llu\t%llu\t%llu\t%llu\t%u\t%llu\t%llu\t%s\n", r->pid,
		              (unsigned long long)r->create_time_ms, (unsigned long long)r->time_ms,
		              (unsigned long long)r->cpu_user_us,
		              (unsigned long long)r->cpu_system_us,
		              (unsigned long long)r->rss_bytes, r->threads,
		              (unsigned long long)r->io_read_bytes,
		              (unsigned long long)r->io_write_bytes, day);
		break;
	case T_HOST_EVENTS:
		pc_buf_printf(b, "%llu\t%d\t%s\n", (unsigned long long)r->time_ms, r->up ? 1 : 0,
		              day);
		break;
	default:
		pc_buf_printf(b, "%u\t%llu\t%d\t%llu\t%u\t", r->pid,
		              (unsigned long long)r->create_time_ms, exit ? 1 : 0,
		              (unsigned long long)r->time_ms, r->ppid);
		for (int i = 0; i < PC_HT_COUNT; i++) {
			tsv_str(b, pc_hrow_str(r, (pc_htext)i), '\t');
		}
		/* A start has no end and no final counters (SQLite's NULLs). */
		pc_buf_printf(b, "%d\t%d\t%d\t%llu\t%llu\t%llu\t%llu\t%llu\t%s\n",
		              exit && r->exit_known ? 1 : 0, exit ? r->exit_code : 0,
		              exit ? r->exit_signal : 0,
		              exit ? (unsigned long long)r->cpu_user_us : 0,
		              exit ? (unsigned long long)r->cpu_system_us : 0,
		              exit ? (unsigned long long)r->peak_rss_bytes : 0,
		              exit ? (unsigned long long)r->io_read_bytes : 0,
		              exit ? (unsigned long long)r->io_write_bytes : 0, day);
		break;
	}
}

/* The batch's host names that this handle has not yet written to
 * db.hosts; after the rows, so that a host is listed only once something
 * of it is stored (a failure here fails the batch, whose retry repeats
 * rows that then count once). */
static int
write_hosts(pc_hstore *s, const pc_hrow *rows, size_t n, const char *const *hosts, char *err,
            size_t en)
{
	size_t added = 0;
	int    rv;

	pc_buf_reset(&s->sql);
	pc_buf_printf(&s->sql, "INSERT INTO %s.hosts FORMAT TabSeparated\n", s->db);
	for (size_t i = 0; i < n; i++) {
		uint32_t h = rows[i].host;
		if (h >= s->n_known) {
			uint8_t *k = realloc(s->known, h + 1);
			if (k == NULL) {
				return PC_ENOMEM;
			}
			memset(k + s->n_known, 0, h + 1 - s->n_known);
			s->known   = k;
			s->n_known = h + 1;
		}
		if (s->known[h] == 0) {
			s->known[h] = 2; /* in this request */
			tsv_str(&s->sql, hosts[h], '\n');
			added++;
		}
	}
	rv = added > 0 ? command(s, err, en) : PC_OK;
	for (size_t h = 0; h < s->n_known; h++) {
		if (s->known[h] == 2) {
			s->known[h] = rv == PC_OK;
		}
	}
	return rv;
}

static int
store_write(pc_hstore *s, const pc_hrow *rows, size_t n, const char *const *hosts, char *err,
            size_t en)
{
	char day[16];
	int  rv;

	day_str(pc_clock_realtime_ms(), day);
	for (int t = 0; t < T_COUNT; t++) {
		size_t k = 0;
		pc_buf_reset(&s->sql);
		pc_buf_printf(&s->sql, "INSERT INTO %s.%s FORMAT TabSeparated\n", s->db, TABLE[t]);
		for (size_t i = 0; i < n; i++) {
			if (table_of(&rows[i]) == t) {
				add_row(&s->sql, &rows[i], hosts[rows[i].host], day);
				k++;
			}
		}
		if (k > 0 && (rv = command(s, err, en)) != PC_OK) {
			return rv;
		}
	}
	return write_hosts(s, rows, n, hosts, err, en);
}

/* Before a day of events is dropped: the starts in it whose processes have
 * samples within the retention, copied into today's partition, so that
 * a process that runs for weeks keeps its name (SQLite's rule). Samples are
 * looked for from the day before the cutoff's, for agents' clocks a little
 * ahead of this one; a process that started after that day is not in
 * this partition (allowing a day for clocks again). */
static int
keep_starts(pc_hstore *s, const char *day, uint64_t day_ms, uint64_t cutoff_ms, const char *today,
            char *err, size_t n)
{
	char from[16];

	day_str(cutoff_ms > DAY_MS ? cutoff_ms - DAY_MS : 0, from);
	pc_buf_reset(&s->sql);
	pc_buf_printf(
	        &s->sql,
	        "INSERT INTO %s.events SELECT host, pid, create_time_ms, kind, time_ms, " EVENT_REST
	        ", toDate('%s') FROM %s.events WHERE day = toDate('%s') AND "
	        "kind = 0 AND (host, pid, create_time_ms) IN (SELECT host, pid, "
	        "create_time_ms FROM %s.samples WHERE day >= toDate('%s') AND time_ms >= %llu "
	        "AND create_time_ms < %llu)",
	        s->db, today, s->db, day, s->db, from, (unsigned long long)cutoff_ms,
	        (unsigned long long)(day_ms + 2 * DAY_MS));
	return command(s, err, n);
}

/* Drops the oldest few day partitions strictly before the cutoff's day:
 * the three tables' parts listed by the server, their rows counted. */
static int
retain(pc_hstore *s, uint64_t cutoff_ms, uint64_t *deleted, bool *more, char *err, size_t n)
{
	struct {
		char     table[24];
		char     id[16];
		uint64_t rows;
	} part[RETAIN_PARTS];
	char          cut[16], today[16];
	size_t        k = 0, listed = 0;
	nng_http_res *res;
	tsv           t;
	int           rv;

	*deleted = 0;
	*more    = false;
	day_str(cutoff_ms, cut);
	day_str(pc_clock_realtime_ms(), today);
	pc_buf_reset(&s->sql);
	/* A Date partition's id is its day as YYYYMMDD. */
	pc_buf_printf(&s->sql,
	              "SELECT table, partition_id, sum(rows) FROM system.parts WHERE database = "
	              "'%s' AND active AND table IN ('samples', 'samples_by_time', 'events', "
	              "'host_events') AND "
	              "partition_id < '%.4s%.2s%.2s' GROUP BY table, partition_id ORDER BY "
	              "partition_id, table LIMIT %d",
	              s->db, cut, cut + 5, cut + 8, RETAIN_PARTS + 1);
	if ((rv = query(s, &res, &t, err, n)) != PC_OK) {
		return rv;
	}
	while ((rv = tsv_next(&t, 3)) == PC_OK) {
		listed++;
		if (k == RETAIN_PARTS) {
			continue;
		}
		if (strlen(t.col[1]) != 8 || strspn(t.col[1], "0123456789") != 8) {
			rv = PC_EPROTO;
			break;
		}
		snprintf(part[k].table, sizeof(part[k].table), "%s", t.col[0]);
		snprintf(part[k].id, sizeof(part[k].id), "%s", t.col[1]);
		part[k].rows = col_u64(&t, 2);
		k++;
	}
	nng_http_res_free(res);
	if (rv != PC_ENOENT || t.bad) {
		return bad_answer(s, rv, err, n);
	}
	for (size_t i = 0; i < k; i++) {
		char     day[16];
		unsigned y = 0, m = 0, d = 0;
		sscanf(part[i].id, "%4u%2u%2u", &y, &m, &d);
		snprintf(day, sizeof(day), "%04u-%02u-%02u", y, m, d);
		/* Today's own day is dropped only by a cutoff in the future:
		 * what it keeps would go with it. */
		if (strcmp(part[i].table, "events") == 0 && strcmp(day, today) < 0 &&
		    (rv = keep_starts(s, day, (uint64_t)pc_days_from_civil(y, m, d) * DAY_MS,
		                      cutoff_ms, today, err, n)) != PC_OK) {
			return rv;
		}
		pc_buf_reset(&s->sql);
		pc_buf_printf(&s->sql, "ALTER TABLE %s.%s DROP PARTITION ID '%s'", s->db,
		              part[i].table, part[i].id);
		if ((rv = command(s, err, n)) != PC_OK) {
			return rv;
		}
		/* The by-time copy's rows are not rows of their own. */
		*deleted += strcmp(part[i].table, "samples_by_time") != 0 ? part[i].rows : 0;
	}
	*more = listed > k;
	return PC_OK;
}

static int
store_retain(pc_hstore *s, uint64_t cutoff_ms, uint64_t *deleted, bool *more, char *err, size_t n)
{
	int rv;

	s->timeout_ms = RETAIN_MS;
	rv            = retain(s, cutoff_ms, deleted, more, err, n);
	s->timeout_ms = REQUEST_MS;
	return rv;
}

/* The lower bound of `day` for rows of times from since_ms: a row is
 * written after its time, in its day or later, unless its agent's clock
 * was ahead of the aggregator's; a day is allowed for that, and the
 * partitions before are not read. */
static void
day_from(pc_buf *b, uint64_t since_ms)
{
	char day[16];

	day_str(since_ms > DAY_MS ? since_ms - DAY_MS : 0, day);
	pc_buf_printf(b, " AND day >= toDate('%s')", day);
}

/* The host a query names, or the only one the store holds. */
static int
query_host(pc_hstore *s, const char *host, char **name, char *err, size_t n)
{
	nng_http_res *res;
	tsv           t;
	int           rows = 0, rv;

	pc_buf_reset(&s->sql);
	pc_buf_printf(&s->sql, "SELECT DISTINCT host FROM %s.hosts", s->db);
	if (host != NULL) {
		pc_buf_str(&s->sql, " WHERE host = ");
		sql_str(&s->sql, host);
	} else {
		pc_buf_str(&s->sql, " LIMIT 2");
	}
	if ((rv = query(s, &res, &t, err, n)) != PC_OK) {
		return rv;
	}
	while ((rv = tsv_next(&t, 1)) == PC_OK) {
		if (rows++ == 0 && (*name = col_str(&t, 0)) == NULL) {
			rv = PC_ENOMEM;
			break;
		}
	}
	nng_http_res_free(res);
	if (rv != PC_ENOENT) {
		free(*name);
		*name = NULL;
		return bad_answer(s, rv, err, n);
	}
	if (rows == 1) {
		return PC_OK;
	}
	if (rows == 0) {
		snprintf(err, n,
		         host != NULL ? "no host '%.64s' in the history" : "the history is empty%s",
		         host != NULL ? host : "");
		return PC_ENOENT;
	}
	free(*name);
	*name = NULL;
	snprintf(err, n, "several hosts in the history: name one");
	return PC_EINVAL;
}

/* The name of a process from its start, or its exit: NULL when neither
 * was recorded. */
static int
process_name(pc_hstore *s, const char *host, uint32_t pid, uint64_t ctime, char **name, char *err,
             size_t n)
{
	nng_http_res *res;
	tsv           t;
	int           rv;

	pc_buf_reset(&s->sql);
	pc_buf_printf(&s->sql, "SELECT name FROM %s.events WHERE host = ", s->db);
	sql_str(&s->sql, host);
	pc_buf_printf(&s->sql, " AND pid = %u AND create_time_ms = %llu ORDER BY kind LIMIT 1", pid,
	              (unsigned long long)ctime);
	if ((rv = query(s, &res, &t, err, n)) != PC_OK) {
		return rv;
	}
	if ((rv = tsv_next(&t, 1)) == PC_OK && (*name = col_str(&t, 0)) == NULL) {
		rv = PC_ENOMEM;
	}
	nng_http_res_free(res);
	return rv == PC_OK || rv == PC_ENOENT ? PC_OK : bad_answer(s, rv, err, n);
}

static int
store_samples(pc_hstore *s, const pc_hquery *q, Pidcast__HistoryReply *out, char *err, size_t n)
{
	static const Pidcast__HistorySample init = PIDCAST__HISTORY_SAMPLE__INIT;
	nng_http_res                       *res;
	tsv                                 t;
	uint64_t                            ctime = 0;
	int                                 rv;

	if ((rv = query_host(s, q->host, &out->host, err, n)) != PC_OK) {
		return rv;
	}
	pc_buf_reset(&s->sql);
	pc_buf_printf(&s->sql,
	              "SELECT time_ms, create_time_ms, cpu_user_us, cpu_system_us, rss_bytes, "
	              "threads, io_read_bytes, io_write_bytes FROM %s.samples WHERE host = ",
	              s->db);
	sql_str(&s->sql, out->host);
	pc_buf_printf(&s->sql, " AND pid = %u AND time_ms BETWEEN %llu AND %llu", q->pid,
	              (unsigned long long)q->since_ms, (unsigned long long)q->until_ms);
	day_from(&s->sql, q->since_ms);
	pc_buf_printf(&s->sql,
	              " ORDER BY time_ms, create_time_ms LIMIT 1 BY time_ms, create_time_ms "
	              "LIMIT %zu",
	              q->limit + 1);
	if ((rv = query(s, &res, &t, err, n)) != PC_OK) {
		return rv;
	}
	while ((rv = tsv_next(&t, 8)) == PC_OK) {
		Pidcast__HistorySample *m;
		if (out->n_samples == q->limit) {
			out->has_truncated = out->truncated = 1;
			break;
		}
		if ((m = pc_hist_append((void ***)&out->samples, &out->n_samples, sizeof(*m),
		                        &init)) == NULL) {
			rv = PC_ENOMEM;
			break;
		}
		m->has_time_ms = m->has_create_time_ms = m->has_cpu_user_us = 1;
		m->has_cpu_system_us = m->has_rss_bytes = m->has_threads = 1;
		m->has_io_read_bytes = m->has_io_write_bytes = 1;
		m->time_ms                                   = col_u64(&t, 0);
		m->create_time_ms = ctime = col_u64(&t, 1);
		m->cpu_user_us            = col_u64(&t, 2);
		m->cpu_system_us          = col_u64(&t, 3);
		m->rss_bytes              = col_u64(&t, 4);
		m->threads                = (uint32_t)col_u64(&t, 5);
		m->io_read_bytes          = col_u64(&t, 6);
		m->io_write_bytes         = col_u64(&t, 7);
	}
	nng_http_res_free(res);
	if ((rv != PC_OK && rv != PC_ENOENT) || t.bad) {
		return bad_answer(s, rv, err, n);
	}
	/* The name of the process of the last sample: a PID may have been
	 * several processes in the range, each with its create time. (None
	 * without samples: the answer is then NOT_FOUND.) */
	return out->n_samples > 0 ? process_name(s, out->host, q->pid, ctime, &out->name, err, n)
	                          : PC_OK;
}

/* pc_glob's pattern, as a regular expression over hex(name): two hex
 * digits a byte, so that '?' is one byte as in pc_glob (LIKE's '_' and a
 * regular expression's '.' are one UTF-8 character in ClickHouse), and
 * nothing of the pattern needs escaping. */
static void
sql_glob(pc_buf *b, const char *glob)
{
	pc_buf_str(b, " AND name != '' AND match(hex(name), '^");
	for (const char *p = glob; *p != '\0'; p++) {
		if (*p == '*') {
			pc_buf_str(b, "(?:..)*");
		} else if (*p == '?') {
			pc_buf_str(b, "..");
		} else {
			pc_buf_printf(b, "%02X", (unsigned char)*p);
		}
	}
	pc_buf_str(b, "$')");
}

static int
fill_event(tsv *t, Pidcast__ProcessEvent *m)
{
	bool exit = col_u64(t, 0) == 1;

	m->has_kind = m->has_time_ms = m->has_pid = m->has_create_time_ms = m->has_ppid = 1;
	m->kind = exit ? PIDCAST__PROCESS_EVENT__KIND__EXIT : PIDCAST__PROCESS_EVENT__KIND__START;
	m->time_ms        = col_u64(t, 1);
	m->host           = col_str(t, 2);
	m->pid            = (uint32_t)col_u64(t, 3);
	m->create_time_ms = col_u64(t, 4);
	m->ppid           = (uint32_t)col_u64(t, 5);
	m->name           = col_str(t, 6);
	m->cmdline        = col_str(t, 7);
	m->user           = col_str(t, 8);
	m->container_id   = col_str(t, 9);
	m->service        = col_str(t, 10);
	if (exit) {
		m->has_exit_known = m->has_lifetime_ms = m->has_cpu_user_us = 1;
		m->has_cpu_system_us = m->has_peak_rss_bytes = 1;
		m->has_io_read_bytes = m->has_io_write_bytes = 1;
		m->exit_known                                = col_u64(t, 11) != 0;
		m->has_exit_code = m->has_exit_signal = m->exit_known;
		m->exit_code                          = col_i32(t, 12);
		m->exit_signal                        = col_i32(t, 13);
		m->lifetime_ms =
		        m->time_ms > m->create_time_ms ? m->time_ms - m->create_time_ms : 0;
		m->cpu_user_us    = col_u64(t, 14);
		m->cpu_system_us  = col_u64(t, 15);
		m->peak_rss_bytes = col_u64(t, 16);
		m->io_read_bytes  = col_u64(t, 17);
		m->io_write_bytes = col_u64(t, 18);
	}
	return m->host == NULL || m->name == NULL || m->cmdline == NULL || m->user == NULL ||
	                       m->container_id == NULL || m->service == NULL
	               ? PC_ENOMEM
	               : PC_OK;
}

static int
store_events(pc_hstore *s, const pc_hquery *q, Pidcast__EventsReply *out, char *err, size_t n)
{
	static const Pidcast__ProcessEvent init = PIDCAST__PROCESS_EVENT__INIT;
	nng_http_res                      *res;
	tsv                                t;
	int                                rv;

	pc_buf_reset(&s->sql);
	pc_buf_printf(&s->sql,
	              "SELECT kind, time_ms, host, pid, create_time_ms, ppid, name, cmdline, user, "
	              "container_id, service, exit_known, exit_code, exit_signal, cpu_user_us, "
	              "cpu_system_us, peak_rss_bytes, io_read_bytes, io_write_bytes FROM %s.events "
	              "WHERE time_ms BETWEEN %llu AND %llu",
	              s->db, (unsigned long long)q->since_ms, (unsigned long long)q->until_ms);
	day_from(&s->sql, q->since_ms);
	if (q->host != NULL) {
		pc_buf_str(&s->sql, " AND host = ");
		sql_str(&s->sql, q->host);
	}
	/* SQLite's names are NULL when empty, and a glob matches no NULL. */
	if (q->name_glob != NULL) {
		sql_glob(&s->sql, q->name_glob);
	}
	pc_buf_printf(
	        &s->sql,
	        " ORDER BY time_ms, pid, kind, host LIMIT 1 BY host, pid, create_time_ms, kind "
	        "LIMIT %zu",
	        q->limit + 1);
	if ((rv = query(s, &res, &t, err, n)) != PC_OK) {
		return rv;
	}
	while ((rv = tsv_next(&t, 19)) == PC_OK) {
		Pidcast__ProcessEvent *m;
		if (out->n_events == q->limit) {
			out->has_truncated = out->truncated = 1;
			break;
		}
		if ((m = pc_hist_append((void ***)&out->events, &out->n_events, sizeof(*m),
		                        &init)) == NULL ||
		    (rv = fill_event(&t, m)) != PC_OK) {
			rv = PC_ENOMEM;
			break;
		}
	}
	nng_http_res_free(res);
	return (rv == PC_OK || rv == PC_ENOENT) && !t.bad ? PC_OK : bad_answer(s, rv, err, n);
}

static int
store_top(pc_hstore *s, const pc_hquery *q, Pidcast__TopAtReply *out, char *err, size_t n)
{
	static const Pidcast__TopAtEntry init = PIDCAST__TOP_AT_ENTRY__INIT;
	const char                      *by   = q->by == PIDCAST__TOP_REQUEST__BY__RSS  ? "rss"
	                                        : q->by == PIDCAST__TOP_REQUEST__BY__IO ? "io"
	                                                                                : "cpu";
	nng_http_res                    *res;
	pc_buf                           win = { 0 };
	tsv                              t;
	int                              rv;

	/* The window's samples, one host's (by host first) or all (by time). */
	pc_buf_printf(&win, "FROM %s.%s WHERE time_ms BETWEEN %llu AND %llu", s->db,
	              q->host != NULL ? "samples" : "samples_by_time",
	              (unsigned long long)q->since_ms, (unsigned long long)q->until_ms);
	day_from(&win, q->since_ms);
	if (q->host != NULL) {
		pc_buf_str(&win, " AND host = ");
		sql_str(&win, q->host);
	}
	if ((rv = win.err) != PC_OK) {
		pc_buf_fini(&win);
		return rv;
	}
	/* Counters only grow, so the first and last samples of a process in
	 * the window are its smallest and largest; duplicates change neither.
	 * The rates are computed here from the differences, as SQLite does in
	 * doubles; the name is its start's (kind 0), else its exit's. */
	pc_buf_reset(&s->sql);
	pc_buf_printf(
	        &s->sql,
	        "SELECT host, pid, ctime, name, dcpu, dt, rss, dio FROM (SELECT host, pid, "
	        "create_time_ms AS ctime, max(time_ms) - min(time_ms) AS dt, "
	        "max(cpu_user_us + cpu_system_us) - min(cpu_user_us + cpu_system_us) AS dcpu, "
	        "max(rss_bytes) AS rss, max(io_read_bytes + io_write_bytes) - "
	        "min(io_read_bytes + io_write_bytes) AS dio, "
	        "if(dt > 0, dcpu / (10.0 * dt), 0.0) AS cpu, "
	        "if(dt > 0, dio * 1000.0 / dt, 0.0) AS io "
	        "%s GROUP BY host, pid, ctime ORDER BY %s DESC, pid, host LIMIT %zu) "
	        "ANY LEFT JOIN (SELECT host, pid, create_time_ms AS ctime, "
	        "argMin(name, kind) AS name FROM %s.events WHERE (host, pid, create_time_ms) "
	        "IN (SELECT host, pid, create_time_ms %s) GROUP BY host, pid, ctime) "
	        "USING (host, pid, ctime) ORDER BY %s DESC, host, pid",
	        win.data, by, q->limit, s->db, win.data, by);
	pc_buf_fini(&win);
	if ((rv = query(s, &res, &t, err, n)) != PC_OK) {
		return rv;
	}
	while ((rv = tsv_next(&t, 8)) == PC_OK) {
		Pidcast__TopAtEntry *m;
		uint64_t             dcpu, dt, dio;
		if ((m = pc_hist_append((void ***)&out->entries, &out->n_entries, sizeof(*m),
		                        &init)) == NULL ||
		    (m->host = col_str(&t, 0)) == NULL || (m->name = col_str(&t, 3)) == NULL) {
			rv = PC_ENOMEM;
			break;
		}
		m->has_pid = m->has_create_time_ms = m->has_cpu_percent = m->has_rss_bytes = 1;
		m->has_io_bytes_per_sec                                                    = 1;
		m->pid              = (uint32_t)col_u64(&t, 1);
		m->create_time_ms   = col_u64(&t, 2);
		dcpu                = col_u64(&t, 4);
		dt                  = col_u64(&t, 5);
		m->rss_bytes        = col_u64(&t, 6);
		dio                 = col_u64(&t, 7);
		m->cpu_percent      = dt > 0 ? (double)dcpu / (10.0 * (double)dt) : 0;
		m->io_bytes_per_sec = dt > 0 ? (double)dio * 1000.0 / (double)dt : 0;
	}
	nng_http_res_free(res);
	return rv == PC_ENOENT && !t.bad ? PC_OK : bad_answer(s, rv, err, n);
}

const pc_hstore_ops pc_hstore_clickhouse = {
	.scheme  = "clickhouse",
	.open    = store_open,
	.close   = store_close,
	.write   = store_write,
	.retain  = store_retain,
	.samples = store_samples,
	.events  = store_events,
	.top     = store_top,
};
