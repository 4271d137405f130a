/* pc_hist.c: the history's queue and its writer thread: batches, retries
 * with backoff, the bound, retention. */
#include "pc_hist.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nng/supplemental/util/platform.h>

#include "base/pc_err.h"
#include "platform/pc_platform.h"

#define RETAIN_EVERY_MS 60000u /* how often retention starts a pass */
#define CLOSE_FLUSH_MS  5000u  /* how long a close tries a store that is down */

struct pc_hist {
	pc_hist_opts         o;
	const pc_hstore_ops *ops;
	char                 url[512];
	nng_mtx             *lock; /* guards everything below but the stores */
	nng_cv              *cv;
	nng_thread          *writer;
	bool                 stopping;
	pc_hqueue            q;
	size_t               in_flight_n, in_flight_bytes; /* the batch being written */
	char               **hosts;                        /* by number; never freed before close */
	size_t               n_hosts;
	pc_hist_stats        st;
	bool                 was_down; /* said so in the log */
	uint64_t             dropped_said;
	pc_buf               log;
	/* The writer's own store, and the queries' (opened when first asked),
	 * each used by one thread at a time. */
	pc_hstore *wstore;
	nng_mtx   *qlock;
	pc_hstore *qstore;
};

static uint64_t
now_ms(void)
{
	return pc_clock_realtime_ms();
}

const char *
pc_hist_url(const pc_hist *h)
{
	return h->url;
}

const pc_hstore_ops *
pc_hist_ops(const pc_hist *h)
{
	return h->ops;
}

uint64_t
pc_hist_every_ms(const pc_hist *h)
{
	return h->o.every_ms;
}

uint32_t
pc_hist_host_id(pc_hist *h, const char *name)
{
	char **grown;
	char  *copy;

	nng_mtx_lock(h->lock);
	for (size_t i = 0; i < h->n_hosts; i++) {
		if (strcmp(h->hosts[i], name) == 0) {
			nng_mtx_unlock(h->lock);
			return (uint32_t)i;
		}
	}
	/* Out of memory, the host's rows are said to be host 0's: better
	 * than failing the update that brought it. */
	if ((copy = pc_strdup(name)) == NULL ||
	    (grown = realloc(h->hosts, (h->n_hosts + 1) * sizeof(*grown))) == NULL) {
		free(copy);
		nng_mtx_unlock(h->lock);
		return 0;
	}
	h->hosts             = grown;
	h->hosts[h->n_hosts] = copy;
	nng_mtx_unlock(h->lock);
	return (uint32_t)h->n_hosts++;
}

/* Drops the oldest queued rows while the queue and the batch under way
 * hold more than the bound. Called with the lock. */
static void
bound(pc_hist *h)
{
	while (h->q.n > 0 && h->q.bytes + h->in_flight_bytes > h->o.buffer) {
		pc_hqueue_drop(&h->q);
		h->st.rows_dropped++;
	}
}

/* With the lock: row into the queue (moved), or counted as dropped. */
static void
push_locked(pc_hist *h, pc_hrow *row, int made)
{
	h->st.rows_in++;
	if (made != PC_OK || pc_hqueue_push(&h->q, row) != PC_OK) {
		pc_hrow_free(row);
		h->st.rows_dropped++;
	}
	bound(h);
}

static void
push(pc_hist *h, pc_hrow *row)
{
	nng_mtx_lock(h->lock);
	push_locked(h, row, PC_OK);
	nng_mtx_unlock(h->lock);
}

static void
push_proc(pc_hist *h, pc_hrow_kind kind, uint32_t host, const pc_proc *p, uint64_t time_ms)
{
	pc_hrow row;
	int     rv = pc_hrow_of_proc(&row, kind, host, p, time_ms);

	nng_mtx_lock(h->lock);
	push_locked(h, &row, rv);
	nng_mtx_unlock(h->lock);
}

void
pc_hist_start(pc_hist *h, uint32_t host, const pc_proc *p)
{
	push_proc(h, PC_HROW_START, host, p, p->create_time_ms);
}

void
pc_hist_exit(pc_hist *h, uint32_t host, const pc_proc *p, uint64_t time_ms)
{
	push_proc(h, PC_HROW_EXIT, host, p, p->exit.known ? p->exit.time_ms : time_ms);
}

void
pc_hist_host_up(pc_hist *h, uint32_t host, bool up, uint64_t time_ms)
{
	pc_hrow row = { .kind = PC_HROW_HOST, .up = up, .host = host, .time_ms = time_ms };

	push(h, &row);
}

void
pc_hist_sample(pc_hist *h, pc_hist_sampler *s, uint32_t host, const pc_replica *r)
{
	uint64_t       t = pc_replica_time_ms(r), since = s->last_ms;
	const pc_proc *p;
	size_t         cursor = 0;

	if (t < s->last_ms + h->o.every_ms && t >= s->last_ms) {
		return; /* (a clock set back starts a round at once) */
	}
	s->last_ms = t;
	s->rounds++;
	/* One lock for the round: a sample is a copy of numbers, no text. */
	nng_mtx_lock(h->lock);
	while ((p = pc_replica_next(r, &cursor)) != NULL) {
		/* An idle process's turn comes every PC_HIST_IDLE_EVERY rounds,
		 * the processes spread over them by PID. */
		if (pc_replica_changed_ms(r, p) > since ||
		    (p->pid + s->rounds) % PC_HIST_IDLE_EVERY == 0) {
			pc_hrow row;
			int     rv = pc_hrow_of_proc(&row, PC_HROW_SAMPLE, host, p, t);
			push_locked(h, &row, rv);
		}
	}
	nng_mtx_unlock(h->lock);
}

void
pc_hist_stats_get(pc_hist *h, pc_hist_stats *out)
{
	nng_mtx_lock(h->lock);
	*out              = h->st;
	out->rows_queued  = h->q.n + h->in_flight_n;
	out->bytes_queued = h->q.bytes + h->in_flight_bytes;
	nng_mtx_unlock(h->lock);
}

void
pc_hist_log(pc_hist *h, pc_buf *log)
{
	nng_mtx_lock(h->lock);
	if (h->st.rows_dropped > h->dropped_said) {
		pc_buf_printf(log,
		              "history: %llu rows dropped (the oldest: over --history-buffer %zu "
		              "bytes), %llu in all\n",
		              (unsigned long long)(h->st.rows_dropped - h->dropped_said),
		              h->o.buffer, (unsigned long long)h->st.rows_dropped);
		h->dropped_said = h->st.rows_dropped;
	}
	if (h->log.len > 0) {
		pc_buf_add(log, h->log.data, h->log.len);
		pc_buf_reset(&h->log);
	}
	nng_mtx_unlock(h->lock);
}

/* A failure, with the lock: counted, and said once until the store is up. */
static void
failed(pc_hist *h, const char *what, const char *err)
{
	h->st.up = false;
	h->st.write_errors++;
	snprintf(h->st.last_error, sizeof(h->st.last_error), "%s: %s", what, err);
	if (!h->was_down) {
		h->was_down = true;
		pc_buf_printf(&h->log, "history: %s failed, rows wait and are retried: %s\n", what,
		              err);
	}
}

static void
recovered(pc_hist *h)
{
	h->st.up = true;
	if (h->was_down) {
		h->was_down = false;
		pc_buf_printf(&h->log, "history: store %s up again, %zu rows waiting\n", h->url,
		              h->q.n);
	}
}

/* One batch: taken under the lock, written outside it, and on failure put
 * back in front. Returns whether the write succeeded (or there was
 * nothing to write). */
static bool
write_batch(pc_hist *h, pc_hrow *batch)
{
	const char **hosts;
	char         err[256] = "";
	size_t       n, bytes = 0;
	int          rv;

	if (h->q.n == 0) {
		return true;
	}
	n = pc_hqueue_take(&h->q, batch, PC_HIST_BATCH_MAX);
	for (size_t i = 0; i < n; i++) {
		bytes += pc_hrow_bytes(&batch[i]);
	}
	h->in_flight_bytes = bytes;
	h->in_flight_n     = n;
	hosts              = malloc((h->n_hosts + 1) * sizeof(*hosts));
	if (hosts != NULL) {
		memcpy(hosts, h->hosts, h->n_hosts * sizeof(*hosts));
	}
	nng_mtx_unlock(h->lock);
	rv = hosts == NULL ? PC_ENOMEM
	                   : h->ops->write(h->wstore, batch, n, hosts, err, sizeof(err));
	free(hosts);
	nng_mtx_lock(h->lock);
	h->in_flight_bytes = 0;
	h->in_flight_n     = 0;
	if (rv == PC_OK) {
		for (size_t i = 0; i < n; i++) {
			pc_hrow_free(&batch[i]);
		}
		h->st.rows_written += n;
		recovered(h);
		return true;
	}
	failed(h, "write", err[0] ? err : pc_strerror(rv));
	if (pc_hqueue_unshift(&h->q, batch, n) != PC_OK) {
		for (size_t i = 0; i < n; i++) {
			pc_hrow_free(&batch[i]);
		}
		h->st.rows_dropped += n;
	}
	bound(h);
	return false;
}

/* Opens the writer's store, with the lock; whether it is open. */
static bool
open_store(pc_hist *h)
{
	char err[256] = "";
	int  rv;

	if (h->wstore != NULL) {
		return true;
	}
	nng_mtx_unlock(h->lock);
	rv = h->ops->open(&h->wstore, h->url, err, sizeof(err));
	nng_mtx_lock(h->lock);
	if (rv != PC_OK) {
		h->wstore = NULL;
		failed(h, "open", err[0] ? err : pc_strerror(rv));
		return false;
	}
	return true;
}

/* A little retention: one call of the store's, outside the lock. */
static bool
retain_step(pc_hist *h)
{
	char     err[256] = "";
	uint64_t deleted  = 0;
	bool     more     = false;
	int      rv;

	nng_mtx_unlock(h->lock);
	rv = h->ops->retain(h->wstore, now_ms() - h->o.retain_ms, &deleted, &more, err,
	                    sizeof(err));
	nng_mtx_lock(h->lock);
	h->st.rows_deleted += deleted;
	if (rv != PC_OK) {
		failed(h, "retention", err[0] ? err : pc_strerror(rv));
		return false;
	}
	return more;
}

static void
writer(void *arg)
{
	pc_hist *h       = arg;
	pc_hrow *batch   = malloc(PC_HIST_BATCH_MAX * sizeof(*batch));
	uint64_t backoff = 0, next_retain = 0, stop_at = 0;
	bool     more = false;

	nng_mtx_lock(h->lock);
	while (batch != NULL) {
		uint64_t wait = backoff ? backoff : h->o.flush_ms;
		/* A full batch waiting, or retention under way, goes on at once. */
		if (!h->stopping && h->q.n < PC_HIST_BATCH_MAX && !more) {
			nng_cv_until(h->cv, nng_clock() + (nng_time)wait);
		}
		if (h->stopping && stop_at == 0) {
			stop_at = nng_clock() + CLOSE_FLUSH_MS;
		}
		if (!open_store(h) || !write_batch(h, batch)) {
			backoff = backoff ? backoff * 2 : 1000;
			backoff =
			        backoff > PC_HIST_BACKOFF_MAX_MS ? PC_HIST_BACKOFF_MAX_MS : backoff;
			if (h->stopping && (nng_clock() >= stop_at || h->q.n == 0)) {
				break;
			}
			if (h->stopping) {
				backoff = 200; /* a close tries a little more, quickly */
			}
			continue;
		}
		backoff = 0;
		if (h->stopping) {
			if (h->q.n == 0) {
				break;
			}
			continue;
		}
		if (more || now_ms() >= next_retain) {
			next_retain = now_ms() + RETAIN_EVERY_MS;
			more        = retain_step(h);
		}
	}
	/* What could not be written by the end is lost: counted. */
	h->st.rows_dropped += h->q.n;
	nng_mtx_unlock(h->lock);
	free(batch);
}

static const pc_hstore_ops *
ops_of(const char *url)
{
	if (strncmp(url, "sqlite:", 7) == 0) {
		return &pc_hstore_sqlite;
	}
	if (strncmp(url, "clickhouse://", 13) == 0) {
		return &pc_hstore_clickhouse;
	}
	return NULL;
}

int
pc_hist_open(pc_hist **out, const pc_hist_opts *o, char *err, size_t n)
{
	pc_hist *h;

	*out = NULL;
	if (ops_of(o->url) == NULL) {
		snprintf(err, n,
		         "--history '%.200s': give sqlite:PATH, clickhouse://HOST:PORT/DATABASE "
		         "or none",
		         o->url);
		return PC_EINVAL;
	}
	if (ops_of(o->url)->write == NULL) { /* a store this build lacks */
		pc_hstore *none = NULL;
		return ops_of(o->url)->open(&none, o->url, err, n);
	}
	if ((h = calloc(1, sizeof(*h))) == NULL) {
		snprintf(err, n, "out of memory");
		return PC_ENOMEM;
	}
	h->o   = *o;
	h->ops = ops_of(o->url);
	snprintf(h->url, sizeof(h->url), "%s", o->url);
	h->o.every_ms  = o->every_ms ? o->every_ms : PC_HIST_EVERY_MS;
	h->o.retain_ms = o->retain_ms ? o->retain_ms : PC_HIST_RETAIN_MS;
	h->o.buffer    = o->buffer ? o->buffer : PC_HIST_BUFFER;
	h->o.flush_ms  = o->flush_ms ? o->flush_ms : PC_HIST_FLUSH_MS;
	h->o.url       = h->url;
	h->st.up       = true;
	if (nng_mtx_alloc(&h->lock) != 0 || nng_mtx_alloc(&h->qlock) != 0 ||
	    nng_cv_alloc(&h->cv, h->lock) != 0 || nng_thread_create(&h->writer, writer, h) != 0) {
		snprintf(err, n, "out of memory");
		pc_hist_close(h);
		return PC_ENOMEM;
	}
	*out = h;
	return PC_OK;
}

int
pc_hist_query_begin(pc_hist *h, pc_hstore **store, char *err, size_t n)
{
	int rv = PC_OK;

	nng_mtx_lock(h->qlock);
	if (h->qstore == NULL && (rv = h->ops->open(&h->qstore, h->url, err, n)) != PC_OK) {
		h->qstore = NULL;
		nng_mtx_unlock(h->qlock);
		return rv;
	}
	*store = h->qstore;
	return PC_OK;
}

void
pc_hist_query_end(pc_hist *h)
{
	nng_mtx_unlock(h->qlock);
}

void
pc_hist_close(pc_hist *h)
{
	if (h == NULL) {
		return;
	}
	if (h->writer != NULL) {
		nng_mtx_lock(h->lock);
		h->stopping = true;
		nng_cv_wake(h->cv);
		nng_mtx_unlock(h->lock);
		nng_thread_destroy(h->writer);
	}
	if (h->wstore != NULL) {
		h->ops->close(h->wstore);
	}
	if (h->qstore != NULL) {
		h->ops->close(h->qstore);
	}
	pc_hqueue_fini(&h->q);
	for (size_t i = 0; i < h->n_hosts; i++) {
		free(h->hosts[i]);
	}
	free(h->hosts);
	pc_buf_fini(&h->log);
	if (h->cv != NULL) {
		nng_cv_free(h->cv);
	}
	if (h->qlock != NULL) {
		nng_mtx_free(h->qlock);
	}
	if (h->lock != NULL) {
		nng_mtx_free(h->lock);
	}
	free(h);
}
