/* pc_hist_sqlite.c: the history in one SQLite file (the default store). It
 * is written in WAL mode, one transaction a batch, so that queries read
 * beside the writer; retention deletes a few thousand rows a call. The
 * schema is docs/HISTORY.md's. */
#include "pc_hist_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <errno.h>
#include <sys/stat.h>

#include <sqlite3.h>

#include "base/pc_err.h"
#include "base/pc_glob.h"

#define RETAIN_BATCH 5000
#define BUSY_MS      5000

static const char SCHEMA[] =
        "PRAGMA journal_mode=WAL;"
        "PRAGMA synchronous=NORMAL;"
        "CREATE TABLE IF NOT EXISTS hosts ("
        " id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);"
        "CREATE TABLE IF NOT EXISTS events ("
        " host_id INTEGER NOT NULL, pid INTEGER NOT NULL, create_time_ms INTEGER NOT NULL,"
        " kind INTEGER NOT NULL, time_ms INTEGER NOT NULL,"
        " ppid INTEGER, name TEXT, exe TEXT, cmdline TEXT, user TEXT,"
        " container_id TEXT, service TEXT, cgroup TEXT,"
        " exit_known INTEGER, exit_code INTEGER, exit_signal INTEGER,"
        " cpu_user_us INTEGER, cpu_system_us INTEGER, peak_rss_bytes INTEGER,"
        " io_read_bytes INTEGER, io_write_bytes INTEGER,"
        " PRIMARY KEY (host_id, pid, create_time_ms, kind));"
        "CREATE INDEX IF NOT EXISTS events_by_time ON events (host_id, time_ms);"
        "CREATE INDEX IF NOT EXISTS events_by_age ON events (time_ms);"
        "CREATE TABLE IF NOT EXISTS samples ("
        " host_id INTEGER NOT NULL, pid INTEGER NOT NULL, create_time_ms INTEGER NOT NULL,"
        " time_ms INTEGER NOT NULL, cpu_user_us INTEGER, cpu_system_us INTEGER,"
        " rss_bytes INTEGER, threads INTEGER, io_read_bytes INTEGER, io_write_bytes INTEGER);"
        "CREATE INDEX IF NOT EXISTS samples_by_pid ON samples (host_id, pid, time_ms);"
        "CREATE INDEX IF NOT EXISTS samples_by_age ON samples (time_ms);"
        "CREATE TABLE IF NOT EXISTS host_events ("
        " host_id INTEGER NOT NULL, time_ms INTEGER NOT NULL, up INTEGER NOT NULL,"
        " UNIQUE (host_id, time_ms, up));";

enum { S_HOST_GET, S_HOST_ADD, S_EVENT, S_SAMPLE, S_HOST_EVENT, S_COUNT };

static const char *const SQL[S_COUNT] = {
	[S_HOST_GET] = "SELECT id FROM hosts WHERE name = ?1",
	[S_HOST_ADD] = "INSERT INTO hosts (name) VALUES (?1)",
	/* A start seen again (a restarted aggregator) or an exit seen twice
	 * is the same row: the first one stays. */
	[S_EVENT] =
	        ("INSERT OR IGNORE INTO events VALUES "
	         "(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19,?20,?21)"),
	[S_SAMPLE]     = "INSERT INTO samples VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10)",
	[S_HOST_EVENT] = "INSERT OR IGNORE INTO host_events VALUES (?1,?2,?3)",
};

struct pc_hstore {
	sqlite3      *db;
	sqlite3_stmt *st[S_COUNT];
	int64_t      *ids; /* the database's id of each of the run's host numbers; 0: unknown */
	size_t        n_ids;
};

static int
fail(sqlite3 *db, int rc, const char *what, char *err, size_t n)
{
	snprintf(err, n, "sqlite: %s: %s", what,
	         db != NULL ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
	return rc == SQLITE_NOMEM                         ? PC_ENOMEM
	       : rc == SQLITE_BUSY || rc == SQLITE_LOCKED ? PC_ETIMEDOUT
	                                                  : PC_ESYS;
}

/* pc_glob(pattern, name) in SQL: the name filters of the RPC, exactly. */
static void
sql_glob(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	const char *pat = (const char *)sqlite3_value_text(argv[0]);
	const char *s   = (const char *)sqlite3_value_text(argv[1]);

	(void)argc;
	sqlite3_result_int(ctx, pat != NULL && s != NULL && pc_glob(pat, s));
}

static void
store_close(pc_hstore *s)
{
	if (s == NULL) {
		return;
	}
	for (int i = 0; i < S_COUNT; i++) {
		sqlite3_finalize(s->st[i]);
	}
	sqlite3_close(s->db);
	free(s->ids);
	free(s);
}

/* The folders above path, made when missing (the default path's
 * /var/lib/pidcast on a first start). */
static int
make_parents(const char *path, char *err, size_t n)
{
	char dir[4096];

	if (snprintf(dir, sizeof(dir), "%s", path) >= (int)sizeof(dir)) {
		snprintf(err, n, "sqlite: path too long");
		return PC_EINVAL;
	}
	for (char *p = dir + 1; *p != '\0'; p++) {
		if (*p != '/') {
			continue;
		}
		*p = '\0';
		if (mkdir(dir, 0750) != 0 && errno != EEXIST) {
			snprintf(err, n, "sqlite: cannot make %s: %s", dir, strerror(errno));
			return errno == EACCES ? PC_EPERM : PC_ESYS;
		}
		*p = '/';
	}
	return PC_OK;
}

static int
store_open(pc_hstore **out, const char *url, char *err, size_t n)
{
	const char *path = url + strlen("sqlite:");
	pc_hstore  *s;
	int         rc;

	*out = NULL;
	if (*path == '\0') {
		snprintf(err, n, "sqlite: no path after 'sqlite:'");
		return PC_EINVAL;
	}
	if ((rc = make_parents(path, err, n)) != PC_OK) {
		return rc;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		return PC_ENOMEM;
	}
	rc = sqlite3_open_v2(path, &s->db,
	                     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
	                     NULL);
	if (rc != SQLITE_OK) {
		rc = fail(s->db, rc, path, err, n);
		store_close(s);
		return rc;
	}
	sqlite3_busy_timeout(s->db, BUSY_MS);
	if ((rc = sqlite3_exec(s->db, SCHEMA, NULL, NULL, NULL)) != SQLITE_OK) {
		rc = fail(s->db, rc, "schema", err, n);
		store_close(s);
		return rc;
	}
	sqlite3_create_function(s->db, "pc_glob", 2, SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL,
	                        sql_glob, NULL, NULL);
	for (int i = 0; i < S_COUNT; i++) {
		if ((rc = sqlite3_prepare_v2(s->db, SQL[i], -1, &s->st[i], NULL)) != SQLITE_OK) {
			rc = fail(s->db, rc, "prepare", err, n);
			store_close(s);
			return rc;
		}
	}
	*out = s;
	return PC_OK;
}

/* The database's id of a host name, added when missing; in the write's
 * transaction, so a failed batch leaves no id behind (the cache is
 * cleared with it). */
static int64_t
host_id(pc_hstore *s, uint32_t host, const char *const *hosts)
{
	sqlite3_stmt *st;
	int64_t       id = 0;

	if (host >= s->n_ids) {
		int64_t *ids = realloc(s->ids, (host + 1) * sizeof(*ids));
		if (ids == NULL) {
			return 0;
		}
		memset(ids + s->n_ids, 0, (host + 1 - s->n_ids) * sizeof(*ids));
		s->ids   = ids;
		s->n_ids = host + 1;
	}
	if (s->ids[host] != 0) {
		return s->ids[host];
	}
	st = s->st[S_HOST_GET];
	sqlite3_bind_text(st, 1, hosts[host], -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		id = sqlite3_column_int64(st, 0);
	}
	sqlite3_reset(st);
	if (id == 0) {
		st = s->st[S_HOST_ADD];
		sqlite3_bind_text(st, 1, hosts[host], -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_DONE) {
			id = sqlite3_last_insert_rowid(s->db);
		}
		sqlite3_reset(st);
	}
	return s->ids[host] = id;
}

static int
bind_event(pc_hstore *s, const pc_hrow *r, int64_t host)
{
	sqlite3_stmt *st   = s->st[S_EVENT];
	bool          exit = r->kind == PC_HROW_EXIT;
	int           col  = 6;

	sqlite3_bind_int64(st, 1, host);
	sqlite3_bind_int64(st, 2, r->pid);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)r->create_time_ms);
	sqlite3_bind_int(st, 4, exit);
	sqlite3_bind_int64(st, 5, (sqlite3_int64)r->time_ms);
	sqlite3_bind_int64(st, col++, r->ppid);
	for (int i = 0; i < PC_HT_COUNT; i++) {
		const char *t = pc_hrow_str(r, (pc_htext)i);
		if (*t != '\0') {
			sqlite3_bind_text(st, col, t, -1, SQLITE_STATIC);
		} else {
			sqlite3_bind_null(st, col);
		}
		col++;
	}
	if (exit) {
		sqlite3_bind_int(st, col++, r->exit_known);
		sqlite3_bind_int(st, col++, r->exit_code);
		sqlite3_bind_int(st, col++, r->exit_signal);
		sqlite3_bind_int64(st, col++, (sqlite3_int64)r->cpu_user_us);
		sqlite3_bind_int64(st, col++, (sqlite3_int64)r->cpu_system_us);
		sqlite3_bind_int64(st, col++, (sqlite3_int64)r->peak_rss_bytes);
		sqlite3_bind_int64(st, col++, (sqlite3_int64)r->io_read_bytes);
		sqlite3_bind_int64(st, col++, (sqlite3_int64)r->io_write_bytes);
	} else {
		while (col <= 21) {
			sqlite3_bind_null(st, col++);
		}
	}
	return S_EVENT;
}

static int
bind_sample(pc_hstore *s, const pc_hrow *r, int64_t host)
{
	sqlite3_stmt *st = s->st[S_SAMPLE];

	sqlite3_bind_int64(st, 1, host);
	sqlite3_bind_int64(st, 2, r->pid);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)r->create_time_ms);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)r->time_ms);
	sqlite3_bind_int64(st, 5, (sqlite3_int64)r->cpu_user_us);
	sqlite3_bind_int64(st, 6, (sqlite3_int64)r->cpu_system_us);
	sqlite3_bind_int64(st, 7, (sqlite3_int64)r->rss_bytes);
	sqlite3_bind_int64(st, 8, r->threads);
	sqlite3_bind_int64(st, 9, (sqlite3_int64)r->io_read_bytes);
	sqlite3_bind_int64(st, 10, (sqlite3_int64)r->io_write_bytes);
	return S_SAMPLE;
}

static int
bind_host(pc_hstore *s, const pc_hrow *r, int64_t host)
{
	sqlite3_stmt *st = s->st[S_HOST_EVENT];

	sqlite3_bind_int64(st, 1, host);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)r->time_ms);
	sqlite3_bind_int(st, 3, r->up);
	return S_HOST_EVENT;
}

static int
store_write(pc_hstore *s, const pc_hrow *rows, size_t n, const char *const *hosts, char *err,
            size_t en)
{
	int rc;

	if ((rc = sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL)) != SQLITE_OK) {
		return fail(s->db, rc, "begin", err, en);
	}
	for (size_t i = 0; i < n; i++) {
		const pc_hrow *r    = &rows[i];
		int64_t        host = host_id(s, r->host, hosts);
		int            k;
		if (host == 0) {
			rc = fail(s->db, sqlite3_errcode(s->db), "host", err, en);
			goto rollback;
		}
		k  = r->kind == PC_HROW_SAMPLE ? bind_sample(s, r, host)
		     : r->kind == PC_HROW_HOST ? bind_host(s, r, host)
		                               : bind_event(s, r, host);
		rc = sqlite3_step(s->st[k]);
		sqlite3_reset(s->st[k]);
		if (rc != SQLITE_DONE) {
			rc = fail(s->db, rc, "insert", err, en);
			goto rollback;
		}
	}
	if ((rc = sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL)) == SQLITE_OK) {
		return PC_OK;
	}
	rc = fail(s->db, rc, "commit", err, en);
rollback:
	sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	memset(s->ids, 0, s->n_ids * sizeof(*s->ids)); /* ids added in it are gone */
	return rc;
}

/* A few thousand of the oldest rows a call. A start stays while its process
 * has samples within the retention (a process that runs for weeks keeps its
 * name); an exit, a sample and a host event go by their time. */
static int
store_retain(pc_hstore *s, uint64_t cutoff_ms, uint64_t *deleted, bool *more, char *err, size_t n)
{
	static const char *const del[] = {
		"DELETE FROM samples WHERE rowid IN (SELECT rowid FROM samples WHERE time_ms < ?1 "
		"LIMIT ?2)",
		"DELETE FROM events WHERE rowid IN (SELECT e.rowid FROM events e WHERE "
		"e.time_ms < ?1 AND (e.kind = 1 OR NOT EXISTS (SELECT 1 FROM samples x WHERE "
		"x.host_id = e.host_id AND x.pid = e.pid AND x.time_ms >= ?1 AND "
		"x.create_time_ms = e.create_time_ms)) LIMIT ?2)",
		"DELETE FROM host_events WHERE rowid IN (SELECT rowid FROM host_events WHERE "
		"time_ms < ?1 LIMIT ?2)",
	};
	int rc = SQLITE_OK;

	*deleted = 0;
	*more    = false;
	for (size_t i = 0; i < sizeof(del) / sizeof(del[0]); i++) {
		sqlite3_stmt *st;
		int           k;
		if ((rc = sqlite3_prepare_v2(s->db, del[i], -1, &st, NULL)) != SQLITE_OK) {
			return fail(s->db, rc, "retention", err, n);
		}
		sqlite3_bind_int64(st, 1, (sqlite3_int64)cutoff_ms);
		sqlite3_bind_int(st, 2, RETAIN_BATCH);
		rc = sqlite3_step(st);
		k  = sqlite3_changes(s->db);
		sqlite3_finalize(st);
		if (rc != SQLITE_DONE) {
			return fail(s->db, rc, "retention", err, n);
		}
		*deleted += (uint64_t)k;
		*more = *more || k == RETAIN_BATCH;
	}
	return PC_OK;
}

static char *
col_str(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	return pc_strdup(t != NULL ? (const char *)t : "");
}

static uint64_t
col_u64(sqlite3_stmt *st, int i)
{
	sqlite3_int64 v = sqlite3_column_int64(st, i);

	return v > 0 ? (uint64_t)v : 0;
}

/* The host a query names, or the only one the store holds. */
static int
query_host(pc_hstore *s, const char *host, int64_t *id, char **name, char *err, size_t n)
{
	sqlite3_stmt *st;
	int           rows = 0;

	sqlite3_prepare_v2(s->db,
	                   host != NULL ? "SELECT id, name FROM hosts WHERE name = ?1"
	                                : "SELECT id, name FROM hosts LIMIT 2",
	                   -1, &st, NULL);
	if (st == NULL) {
		return fail(s->db, sqlite3_errcode(s->db), "query", err, n);
	}
	if (host != NULL) {
		sqlite3_bind_text(st, 1, host, -1, SQLITE_STATIC);
	}
	while (sqlite3_step(st) == SQLITE_ROW) {
		if (rows++ == 0) {
			*id   = sqlite3_column_int64(st, 0);
			*name = col_str(st, 1);
		}
	}
	sqlite3_finalize(st);
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

static int
store_samples(pc_hstore *s, const pc_hquery *q, Pidcast__HistoryReply *out, char *err, size_t n)
{
	static const Pidcast__HistorySample init = PIDCAST__HISTORY_SAMPLE__INIT;
	sqlite3_stmt                       *st;
	int64_t                             host  = 0;
	uint64_t                            ctime = 0;
	int                                 rv, rc;

	if ((rv = query_host(s, q->host, &host, &out->host, err, n)) != PC_OK) {
		return rv;
	}
	rc = sqlite3_prepare_v2(s->db,
	                        "SELECT time_ms, create_time_ms, cpu_user_us, cpu_system_us, "
	                        "rss_bytes, threads, io_read_bytes, io_write_bytes FROM samples "
	                        "WHERE host_id = ?1 AND pid = ?2 AND time_ms BETWEEN ?3 AND ?4 "
	                        "ORDER BY time_ms, create_time_ms LIMIT ?5",
	                        -1, &st, NULL);
	if (rc != SQLITE_OK) {
		return fail(s->db, rc, "query", err, n);
	}
	sqlite3_bind_int64(st, 1, host);
	sqlite3_bind_int64(st, 2, q->pid);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)q->since_ms);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)q->until_ms);
	sqlite3_bind_int64(st, 5, (sqlite3_int64)q->limit + 1);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		Pidcast__HistorySample *m;
		if (out->n_samples == q->limit) {
			out->has_truncated = out->truncated = 1;
			break;
		}
		if ((m = pc_hist_append((void ***)&out->samples, &out->n_samples, sizeof(*m),
		                        &init)) == NULL) {
			sqlite3_finalize(st);
			return PC_ENOMEM;
		}
		m->has_time_ms = m->has_create_time_ms = m->has_cpu_user_us = 1;
		m->has_cpu_system_us = m->has_rss_bytes = m->has_threads = 1;
		m->has_io_read_bytes = m->has_io_write_bytes = 1;
		m->time_ms                                   = col_u64(st, 0);
		m->create_time_ms = ctime = col_u64(st, 1);
		m->cpu_user_us            = col_u64(st, 2);
		m->cpu_system_us          = col_u64(st, 3);
		m->rss_bytes              = col_u64(st, 4);
		m->threads                = (uint32_t)col_u64(st, 5);
		m->io_read_bytes          = col_u64(st, 6);
		m->io_write_bytes         = col_u64(st, 7);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		return fail(s->db, rc, "query", err, n);
	}
	/* The name of the process of the last sample: a PID may have been
	 * several processes in the range, each with its create time. */
	if (sqlite3_prepare_v2(s->db,
	                       "SELECT name FROM events WHERE host_id = ?1 AND pid = ?2 AND "
	                       "create_time_ms = ?3 ORDER BY kind LIMIT 1",
	                       -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, host);
		sqlite3_bind_int64(st, 2, q->pid);
		sqlite3_bind_int64(st, 3, (sqlite3_int64)ctime);
		if (sqlite3_step(st) == SQLITE_ROW) {
			out->name = col_str(st, 0);
		}
		sqlite3_finalize(st);
	}
	return PC_OK;
}

static int
store_events(pc_hstore *s, const pc_hquery *q, Pidcast__EventsReply *out, char *err, size_t n)
{
	static const Pidcast__ProcessEvent init = PIDCAST__PROCESS_EVENT__INIT;
	char                               sql[1024];
	sqlite3_stmt                      *st;
	int                                rc;

	/* With a host, its index (host, time); without, the one by time. */
	snprintf(sql, sizeof(sql),
	         "SELECT e.kind, e.time_ms, h.name, e.pid, e.create_time_ms, e.ppid, e.name, "
	         "e.cmdline, e.user, e.container_id, e.service, e.exit_known, e.exit_code, "
	         "e.exit_signal, e.cpu_user_us, e.cpu_system_us, e.peak_rss_bytes, "
	         "e.io_read_bytes, e.io_write_bytes FROM events e JOIN hosts h ON h.id = e.host_id "
	         "WHERE e.time_ms BETWEEN ?1 AND ?2 %s AND (?4 IS NULL OR pc_glob(?4, e.name)) "
	         "ORDER BY e.time_ms, e.pid, e.kind LIMIT ?5",
	         q->host != NULL ? "AND e.host_id = (SELECT id FROM hosts WHERE name = ?3)" : "");
	if ((rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL)) != SQLITE_OK) {
		return fail(s->db, rc, "query", err, n);
	}
	sqlite3_bind_int64(st, 1, (sqlite3_int64)q->since_ms);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)q->until_ms);
	if (q->host != NULL) {
		sqlite3_bind_text(st, 3, q->host, -1, SQLITE_STATIC);
	}
	if (q->name_glob != NULL) {
		sqlite3_bind_text(st, 4, q->name_glob, -1, SQLITE_STATIC);
	}
	sqlite3_bind_int64(st, 5, (sqlite3_int64)q->limit + 1);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		Pidcast__ProcessEvent *m;
		bool                   exit = sqlite3_column_int(st, 0) == 1;
		if (out->n_events == q->limit) {
			out->has_truncated = out->truncated = 1;
			break;
		}
		if ((m = pc_hist_append((void ***)&out->events, &out->n_events, sizeof(*m),
		                        &init)) == NULL) {
			sqlite3_finalize(st);
			return PC_ENOMEM;
		}
		m->has_kind = m->has_time_ms = m->has_pid = m->has_create_time_ms = m->has_ppid = 1;
		m->kind           = exit ? PIDCAST__PROCESS_EVENT__KIND__EXIT
		                         : PIDCAST__PROCESS_EVENT__KIND__START;
		m->time_ms        = col_u64(st, 1);
		m->host           = col_str(st, 2);
		m->pid            = (uint32_t)col_u64(st, 3);
		m->create_time_ms = col_u64(st, 4);
		m->ppid           = (uint32_t)col_u64(st, 5);
		m->name           = col_str(st, 6);
		m->cmdline        = col_str(st, 7);
		m->user           = col_str(st, 8);
		m->container_id   = col_str(st, 9);
		m->service        = col_str(st, 10);
		if (exit) {
			m->has_exit_known = m->has_lifetime_ms = m->has_cpu_user_us = 1;
			m->has_cpu_system_us = m->has_peak_rss_bytes = 1;
			m->has_io_read_bytes = m->has_io_write_bytes = 1;
			m->exit_known    = sqlite3_column_int(st, 11) != 0;
			m->has_exit_code = m->has_exit_signal = m->exit_known;
			m->exit_code                          = sqlite3_column_int(st, 12);
			m->exit_signal                        = sqlite3_column_int(st, 13);
			m->lifetime_ms =
			        m->time_ms > m->create_time_ms ? m->time_ms - m->create_time_ms : 0;
			m->cpu_user_us    = col_u64(st, 14);
			m->cpu_system_us  = col_u64(st, 15);
			m->peak_rss_bytes = col_u64(st, 16);
			m->io_read_bytes  = col_u64(st, 17);
			m->io_write_bytes = col_u64(st, 18);
		}
	}
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? PC_OK : fail(s->db, rc, "query", err, n);
}

static int
store_top(pc_hstore *s, const pc_hquery *q, Pidcast__TopAtReply *out, char *err, size_t n)
{
	static const Pidcast__TopAtEntry init = PIDCAST__TOP_AT_ENTRY__INIT;
	const char                      *by   = q->by == PIDCAST__TOP_REQUEST__BY__RSS  ? "rss"
	                                        : q->by == PIDCAST__TOP_REQUEST__BY__IO ? "io"
	                                                                                : "cpu";
	char                             sql[2048];
	sqlite3_stmt                    *st;
	int                              rc;

	/* Counters only grow, so the first and last samples of a process in
	 * the window are its smallest and largest. */
	snprintf(
	        sql, sizeof(sql),
	        "SELECT h.name, t.pid, t.ctime, (SELECT e.name FROM events e WHERE "
	        "e.host_id = t.host_id AND e.pid = t.pid AND e.create_time_ms = t.ctime ORDER BY "
	        "e.kind LIMIT 1), t.cpu, t.rss, t.io FROM (SELECT host_id, pid, create_time_ms AS "
	        "ctime, CASE WHEN MAX(time_ms) > MIN(time_ms) THEN (MAX(cpu_user_us + "
	        "cpu_system_us) - MIN(cpu_user_us + cpu_system_us)) / (10.0 * (MAX(time_ms) - "
	        "MIN(time_ms))) ELSE 0 END AS cpu, MAX(rss_bytes) AS rss, CASE WHEN MAX(time_ms) > "
	        "MIN(time_ms) THEN (MAX(io_read_bytes + io_write_bytes) - MIN(io_read_bytes + "
	        "io_write_bytes)) * 1000.0 / (MAX(time_ms) - MIN(time_ms)) ELSE 0 END AS io FROM "
	        "samples WHERE time_ms BETWEEN ?1 AND ?2 %s GROUP BY host_id, pid, create_time_ms "
	        "ORDER BY %s DESC, pid LIMIT ?4) t JOIN hosts h ON h.id = t.host_id ORDER BY t.%s "
	        "DESC, h.name, t.pid",
	        q->host != NULL ? "AND host_id = (SELECT id FROM hosts WHERE name = ?3)" : "", by,
	        by);
	if ((rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL)) != SQLITE_OK) {
		return fail(s->db, rc, "query", err, n);
	}
	sqlite3_bind_int64(st, 1, (sqlite3_int64)q->since_ms);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)q->until_ms);
	if (q->host != NULL) {
		sqlite3_bind_text(st, 3, q->host, -1, SQLITE_STATIC);
	}
	sqlite3_bind_int64(st, 4, (sqlite3_int64)q->limit);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		Pidcast__TopAtEntry *m =
		        pc_hist_append((void ***)&out->entries, &out->n_entries, sizeof(*m), &init);
		if (m == NULL) {
			sqlite3_finalize(st);
			return PC_ENOMEM;
		}
		m->host    = col_str(st, 0);
		m->has_pid = m->has_create_time_ms = m->has_cpu_percent = m->has_rss_bytes = 1;
		m->has_io_bytes_per_sec                                                    = 1;
		m->pid              = (uint32_t)col_u64(st, 1);
		m->create_time_ms   = col_u64(st, 2);
		m->name             = col_str(st, 3);
		m->cpu_percent      = sqlite3_column_double(st, 4);
		m->rss_bytes        = col_u64(st, 5);
		m->io_bytes_per_sec = sqlite3_column_double(st, 6);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? PC_OK : fail(s->db, rc, "query", err, n);
}

const pc_hstore_ops pc_hstore_sqlite = {
	.scheme  = "sqlite",
	.open    = store_open,
	.close   = store_close,
	.write   = store_write,
	.retain  = store_retain,
	.samples = store_samples,
	.events  = store_events,
	.top     = store_top,
};
