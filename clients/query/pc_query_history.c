/* pc_query_history.c: the history's tables and JSON lines. Times are
 * printed in UTC, ISO 8601, as they are typed to --since and --at. */
#include "pc_query_history.h"

#include <inttypes.h>
#include <math.h>
#include <stdint.h>

#include "base/pc_buf.h"
#include "base/pc_err.h"
#include "base/pc_term.h"
#include "base/pc_time.h"
#include "wire/pc_json.h"

#define MIB 1048576.0

/* A peer's text in a table: safe for a terminal, padded to width. */
static void
cell(pc_buf *b, const char *s, size_t width)
{
	size_t n = pc_term_str(b, s != NULL && s[0] != '\0' ? s : "-", width);

	for (; n < width; n++) {
		pc_buf_add(b, " ", 1);
	}
}

static void
json_key_str(pc_buf *b, const char *key, const char *s)
{
	pc_buf_printf(b, ",\"%s\":", key);
	pc_json_str(b, s != NULL ? s : "");
}

static void
json_num(pc_buf *b, const char *key, double v)
{
	if (isfinite(v)) {
		pc_buf_printf(b, ",\"%s\":%.2f", key, v);
	} else {
		pc_buf_printf(b, ",\"%s\":null", key);
	}
}

static void
json_time(pc_buf *b, const char *key, uint64_t ms)
{
	char t[PC_TIME_STR];

	pc_time_format(ms, t);
	pc_buf_printf(b, ",\"%s_ms\":%" PRIu64 ",\"%s\":\"%s\"", key, ms, key, t);
}

static int
flush(FILE *out, pc_buf *b)
{
	int rv = b->err;

	if (rv == PC_OK && b->len > 0) {
		fwrite(b->data, 1, b->len, out);
	}
	pc_buf_fini(b);
	return rv;
}

/* A lifetime, short: 850ms, 12.5s, 3m20s, 5h02m, 3d04h. */
static void
lived(pc_buf *b, uint64_t ms)
{
	char s[32];

	if (ms < 1000) {
		snprintf(s, sizeof(s), "%" PRIu64 "ms", ms);
	} else if (ms < 60000) {
		snprintf(s, sizeof(s), "%.1fs", (double)ms / 1000.0);
	} else if (ms < 3600000) {
		snprintf(s, sizeof(s), "%" PRIu64 "m%02" PRIu64 "s", ms / 60000, ms / 1000 % 60);
	} else if (ms < 86400000) {
		snprintf(s, sizeof(s), "%" PRIu64 "h%02" PRIu64 "m", ms / 3600000, ms / 60000 % 60);
	} else {
		snprintf(s, sizeof(s), "%" PRIu64 "d%02" PRIu64 "h", ms / 86400000,
		         ms / 3600000 % 24);
	}
	pc_buf_printf(b, "%-9s", s);
}

int
pc_query_print_history(FILE *out, const Pidcast__HistoryReply *r, bool json)
{
	pc_buf b = { 0 };
	char   t[PC_TIME_STR];

	if (!json) {
		pc_buf_str(&b, "host ");
		pc_term_str(&b, r->host != NULL ? r->host : "", SIZE_MAX);
		pc_buf_printf(&b, ", pid %u", r->pid);
		if (r->name != NULL && r->name[0] != '\0') {
			pc_buf_str(&b, " (");
			pc_term_str(&b, r->name, SIZE_MAX);
			pc_buf_str(&b, ")");
		}
		pc_buf_printf(&b, ", %zu samples%s\n", r->n_samples,
		              r->truncated ? " (more in the range: narrow it)" : "");
		pc_buf_printf(&b, "%-24s %7s %10s %7s %12s %12s\n", "TIME", "CPU%", "RSS(MiB)",
		              "THREADS", "READ(B/s)", "WRITE(B/s)");
	}
	for (size_t i = 0; i < r->n_samples; i++) {
		const Pidcast__HistorySample *s = r->samples[i];
		if (json) {
			pc_buf_str(&b, "{\"host\":");
			pc_json_str(&b, r->host != NULL ? r->host : "");
			pc_buf_printf(&b, ",\"pid\":%u", r->pid);
			json_key_str(&b, "name", r->name);
			json_time(&b, "time", s->time_ms);
			pc_buf_printf(&b,
			              ",\"create_time_ms\":%" PRIu64 ",\"cpu_user_us\":%" PRIu64
			              ",\"cpu_system_us\":%" PRIu64 ",\"rss_bytes\":%" PRIu64
			              ",\"threads\":%u,\"io_read_bytes\":%" PRIu64
			              ",\"io_write_bytes\":%" PRIu64,
			              s->create_time_ms, s->cpu_user_us, s->cpu_system_us,
			              s->rss_bytes, s->threads, s->io_read_bytes,
			              s->io_write_bytes);
			if (s->has_cpu_percent) {
				json_num(&b, "cpu_percent", s->cpu_percent);
				json_num(&b, "io_read_bytes_per_sec", s->io_read_bytes_per_sec);
				json_num(&b, "io_write_bytes_per_sec", s->io_write_bytes_per_sec);
			}
			pc_buf_str(&b, "}\n");
			continue;
		}
		pc_time_format(s->time_ms, t);
		pc_buf_printf(&b, "%-24s ", t);
		if (s->has_cpu_percent) {
			pc_buf_printf(&b, "%7.1f %10.1f %7u %12.0f %12.0f\n", s->cpu_percent,
			              (double)s->rss_bytes / MIB, s->threads,
			              s->io_read_bytes_per_sec, s->io_write_bytes_per_sec);
		} else {
			pc_buf_printf(&b, "%7s %10.1f %7u %12s %12s\n", "-",
			              (double)s->rss_bytes / MIB, s->threads, "-", "-");
		}
	}
	return flush(out, &b);
}

static void
ended(pc_buf *b, const Pidcast__ProcessEvent *e)
{
	if (!e->exit_known) {
		pc_buf_str(b, "?");
	} else if (e->exit_signal != 0) {
		pc_buf_printf(b, "signal %d", e->exit_signal);
	} else {
		pc_buf_printf(b, "exit %d", e->exit_code);
	}
}

int
pc_query_print_events(FILE *out, const Pidcast__EventsReply *r, bool json)
{
	pc_buf b = { 0 };
	char   t[PC_TIME_STR];

	if (!json) {
		pc_buf_printf(&b, "%-24s %-5s %-16s %7s %-16s %-9s %s\n", "TIME", "EVENT", "HOST",
		              "PID", "NAME", "LIVED", "ENDED");
	}
	for (size_t i = 0; i < r->n_events; i++) {
		const Pidcast__ProcessEvent *e    = r->events[i];
		bool                         exit = e->kind == PIDCAST__PROCESS_EVENT__KIND__EXIT;
		if (json) {
			pc_buf_printf(&b, "{\"event\":\"%s\"", exit ? "exit" : "start");
			json_time(&b, "time", e->time_ms);
			json_key_str(&b, "host", e->host);
			pc_buf_printf(&b, ",\"pid\":%u,\"create_time_ms\":%" PRIu64 ",\"ppid\":%u",
			              e->pid, e->create_time_ms, e->ppid);
			json_key_str(&b, "name", e->name);
			json_key_str(&b, "cmdline", e->cmdline);
			json_key_str(&b, "user", e->user);
			if (e->container_id != NULL && e->container_id[0] != '\0') {
				json_key_str(&b, "container_id", e->container_id);
			}
			if (e->service != NULL && e->service[0] != '\0') {
				json_key_str(&b, "service", e->service);
			}
			if (exit) {
				pc_buf_printf(&b, ",\"lifetime_ms\":%" PRIu64 ",\"exit_known\":%s",
				              e->lifetime_ms, e->exit_known ? "true" : "false");
				if (e->exit_known) {
					pc_buf_printf(&b, ",\"exit_code\":%d,\"exit_signal\":%d",
					              e->exit_code, e->exit_signal);
				}
				pc_buf_printf(
				        &b,
				        ",\"cpu_user_us\":%" PRIu64 ",\"cpu_system_us\":%" PRIu64
				        ",\"peak_rss_bytes\":%" PRIu64 ",\"io_read_bytes\":%" PRIu64
				        ",\"io_write_bytes\":%" PRIu64,
				        e->cpu_user_us, e->cpu_system_us, e->peak_rss_bytes,
				        e->io_read_bytes, e->io_write_bytes);
			}
			pc_buf_str(&b, "}\n");
			continue;
		}
		pc_time_format(e->time_ms, t);
		pc_buf_printf(&b, "%-24s %-5s ", t, exit ? "exit" : "start");
		cell(&b, e->host, 16);
		pc_buf_printf(&b, " %7u ", e->pid);
		cell(&b, e->name, 16);
		pc_buf_str(&b, " ");
		if (exit) {
			lived(&b, e->lifetime_ms);
			pc_buf_str(&b, " ");
			ended(&b, e);
		} else {
			pc_buf_printf(&b, "%-9s -", "-");
		}
		pc_buf_str(&b, "\n");
	}
	if (!json && r->truncated) {
		pc_buf_str(&b, "(more events in the range: narrow it, or --limit)\n");
	}
	return flush(out, &b);
}

int
pc_query_print_top_at(FILE *out, const Pidcast__TopAtReply *r, bool json)
{
	pc_buf b = { 0 };
	char   from[PC_TIME_STR], to[PC_TIME_STR];

	pc_time_format(r->from_ms, from);
	pc_time_format(r->to_ms, to);
	if (!json) {
		pc_buf_printf(&b, "from %s to %s\n%-16s %7s %-16s %7s %10s %12s\n", from, to,
		              "HOST", "PID", "NAME", "CPU%", "RSS(MiB)", "IO(B/s)");
	}
	for (size_t i = 0; i < r->n_entries; i++) {
		const Pidcast__TopAtEntry *e = r->entries[i];
		if (json) {
			pc_buf_str(&b, "{\"host\":");
			pc_json_str(&b, e->host != NULL ? e->host : "");
			pc_buf_printf(&b, ",\"pid\":%u,\"create_time_ms\":%" PRIu64, e->pid,
			              e->create_time_ms);
			json_key_str(&b, "name", e->name);
			json_num(&b, "cpu_percent", e->cpu_percent);
			pc_buf_printf(&b, ",\"rss_bytes\":%" PRIu64, e->rss_bytes);
			json_num(&b, "io_bytes_per_sec", e->io_bytes_per_sec);
			pc_buf_printf(&b, ",\"from_ms\":%" PRIu64 ",\"to_ms\":%" PRIu64 "}\n",
			              r->from_ms, r->to_ms);
			continue;
		}
		cell(&b, e->host, 16);
		pc_buf_printf(&b, " %7u ", e->pid);
		cell(&b, e->name, 16);
		pc_buf_printf(&b, " %7.1f %10.1f %12.0f\n", e->cpu_percent,
		              (double)e->rss_bytes / MIB, e->io_bytes_per_sec);
	}
	return flush(out, &b);
}

int
pc_query_print_history_stats(FILE *out, const Pidcast__ListHostsReply *r, bool json)
{
	const Pidcast__HistoryStats *h = r->history;
	pc_buf                       b = { 0 };

	if (h == NULL) {
		return PC_OK;
	}
	if (json) {
		pc_buf_str(&b, "{\"history\":{\"store\":");
		pc_json_str(&b, h->store != NULL ? h->store : "");
		pc_buf_printf(&b,
		              ",\"up\":%s,\"rows_written\":%" PRIu64 ",\"rows_queued\":%" PRIu64
		              ",\"bytes_queued\":%" PRIu64 ",\"rows_dropped\":%" PRIu64
		              ",\"write_errors\":%" PRIu64 ",\"rows_deleted\":%" PRIu64
		              ",\"rows_received\":%" PRIu64,
		              h->up ? "true" : "false", h->rows_written, h->rows_queued,
		              h->bytes_queued, h->rows_dropped, h->write_errors, h->rows_deleted,
		              h->rows_received);
		if (h->last_error != NULL) {
			json_key_str(&b, "last_error", h->last_error);
		}
		pc_buf_str(&b, "}}\n");
		return flush(out, &b);
	}
	pc_buf_str(&b, "history: ");
	pc_term_str(&b, h->store != NULL ? h->store : "", SIZE_MAX);
	pc_buf_printf(&b,
	              " %s, %" PRIu64 " rows written, %" PRIu64 " queued (%" PRIu64
	              " bytes), %" PRIu64 " dropped, %" PRIu64 " write errors, %" PRIu64
	              " deleted by retention",
	              h->up ? "up" : "DOWN", h->rows_written, h->rows_queued, h->bytes_queued,
	              h->rows_dropped, h->write_errors, h->rows_deleted);
	if (h->last_error != NULL) {
		pc_buf_str(&b, "; last error: ");
		pc_term_str(&b, h->last_error, SIZE_MAX);
	}
	pc_buf_str(&b, "\n");
	return flush(out, &b);
}
