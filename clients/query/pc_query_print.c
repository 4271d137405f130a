/* pc_query_print.c: pidcast-query's tables and JSON lines. */
#include "pc_query_print.h"

#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>

#include "base/pc_buf.h"
#include "base/pc_term.h"
#include "wire/pc_codec.h"
#include "base/pc_err.h"
#include "wire/pc_json.h"

#define MIB 1048576.0

/* Writes s, at most max characters of it, made safe for a terminal
 * (pc_term.h) so that a process name cannot drive it; NULL (unknown) is
 * "-". Returns the characters written. */
static int
put_clean(FILE *out, const char *s, int max)
{
	pc_buf b = { 0 };
	size_t n = pc_term_str(&b, s != NULL ? s : "-", (size_t)max);

	if (b.err == PC_OK && b.len > 0) {
		fwrite(b.data, 1, b.len, out);
	}
	pc_buf_fini(&b);
	return (int)n;
}

static void
put_padded(FILE *out, const char *s, int width)
{
	for (int n = put_clean(out, s, width); n < width; n++) {
		putc(' ', out);
	}
}

void
pc_query_print_text(FILE *out, const char *s)
{
	put_clean(out, s, INT_MAX);
}

/* A JSON number, or null for NaN and infinities, which JSON lacks. */
static void
json_double(pc_buf *b, const char *key, double v)
{
	if (isfinite(v)) {
		pc_buf_printf(b, ",\"%s\":%.2f", key, v);
	} else {
		pc_buf_printf(b, ",\"%s\":null", key);
	}
}

/* Starts the object of p in b, left open for more members. */
static void
json_open(pc_buf *b, const pc_proc *p, const char *host)
{
	pc_json_proc(b, p, PC_MASK_ALL);
	if (b->err == PC_OK) {
		b->len--; /* reopen: drop the closing brace */
	}
	if (host != NULL) {
		pc_buf_str(b, ",\"host\":");
		pc_json_str(b, host);
	}
}

static int
json_close(FILE *out, pc_buf *b)
{
	int rv;

	pc_buf_add(b, "}\n", 2);
	if ((rv = b->err) == PC_OK) {
		fwrite(b->data, 1, b->len, out);
	}
	pc_buf_fini(b);
	return rv;
}

static int
print_record(FILE *out, const pc_proc *p, pc_mask mask, const char *host, bool json)
{
	pc_buf b = { 0 };

	if (json) {
		json_open(&b, p, host);
		return json_close(out, &b);
	}
	fprintf(out, "pid: %" PRIu32 "\ncreate_time_ms: %" PRIu64 "\n", p->pid, p->create_time_ms);
	for (int f = 0; f < PC_F_COUNT; f++) {
		const void *v = (const char *)p + pc_fields[f].offset;
		if (!(mask & PC_BIT(f))) {
			continue;
		}
		fprintf(out, "%s: ", pc_fields[f].name);
		switch (pc_fields[f].type) {
		case PC_T_U32:
			fprintf(out, "%" PRIu32, *(const uint32_t *)v);
			break;
		case PC_T_U64:
			fprintf(out, "%" PRIu64, *(const uint64_t *)v);
			break;
		case PC_T_BOOL:
			fputs(*(const bool *)v ? "true" : "false", out);
			break;
		case PC_T_STR:
			put_clean(out, *(char *const *)v, INT_MAX);
			break;
		}
		putc('\n', out);
	}
	if (host != NULL) {
		fputs("host: ", out);
		put_clean(out, host, INT_MAX);
		putc('\n', out);
	}
	return PC_OK;
}

/* The HOST column's width: a longer name is written whole and pushes its
 * row, since a cut name could be another host's. */
#define HOST_WIDTH 16

void
pc_query_print_list_header(FILE *out, bool with_host)
{
	if (with_host) {
		fprintf(out, "%-*s ", HOST_WIDTH, "HOST");
	}
	fprintf(out, "%7s %7s %-12s %7s %9s %10s %s\n", "PID", "PPID", "USER", "THREADS",
	        "RSS(MiB)", "CPU(s)", "NAME");
}

static int
list_row(FILE *out, const pc_proc *p, const char *host, bool json)
{
	pc_buf b = { 0 };

	if (json) {
		json_open(&b, p, host);
		return json_close(out, &b);
	}
	if (host != NULL) {
		for (int n = put_clean(out, host, INT_MAX); n < HOST_WIDTH; n++) {
			putc(' ', out);
		}
		putc(' ', out);
	}
	fprintf(out, "%7" PRIu32 " %7" PRIu32 " ", p->pid, p->ppid);
	put_padded(out, p->user, 12);
	fprintf(out, " %7" PRIu32 " %9.1f %10.2f ", p->threads, (double)p->rss_bytes / MIB,
	        (double)(p->cpu_user_us + p->cpu_system_us) / 1e6);
	put_clean(out, p->name, INT_MAX);
	putc('\n', out);
	return PC_OK;
}

static void
top_header(FILE *out, bool with_host)
{
	fprintf(out, "%7s %-20s %7s %9s %12s%s\n", "PID", "NAME", "CPU%", "RSS(MiB)", "IO(B/s)",
	        with_host ? " HOST" : "");
}

static int
top_row(FILE *out, const pc_proc *p, double cpu_percent, double io_per_sec, const char *host,
        bool json)
{
	pc_buf b = { 0 };

	if (json) {
		json_open(&b, p, host);
		json_double(&b, "cpu_percent", cpu_percent);
		json_double(&b, "io_bytes_per_sec", io_per_sec);
		return json_close(out, &b);
	}
	fprintf(out, "%7" PRIu32 " ", p->pid);
	put_padded(out, p->name, 20);
	fprintf(out, " %7.1f %9.1f %12.0f", cpu_percent, (double)p->rss_bytes / MIB, io_per_sec);
	if (host != NULL) {
		putc(' ', out);
		put_clean(out, host, INT_MAX);
	}
	putc('\n', out);
	return PC_OK;
}

/* Decodes m into p, which the caller clears. */
static int
decode(const Pidcast__Process *m, pc_proc *p, pc_mask *mask)
{
	pc_mask all;

	return m == NULL ? PC_EPROTO : pc_codec_proc_from_msg(m, p, mask != NULL ? mask : &all);
}

int
pc_query_print_record(FILE *out, const Pidcast__Process *m, const char *host, bool json)
{
	pc_proc p    = { 0 };
	pc_mask mask = 0;
	int     rv;

	if ((rv = decode(m, &p, &mask)) == PC_OK) {
		rv = print_record(out, &p, mask, host, json);
	}
	pc_proc_clear(&p);
	return rv;
}

int
pc_query_print_list(FILE *out, Pidcast__Process *const *m, size_t n, char *const *hosts, bool json)
{
	int rv = PC_OK;

	for (size_t i = 0; rv == PC_OK && i < n; i++) {
		pc_proc p = { 0 };
		if ((rv = decode(m[i], &p, NULL)) == PC_OK) {
			rv = list_row(out, &p, hosts != NULL ? hosts[i] : NULL, json);
		}
		pc_proc_clear(&p);
	}
	return rv;
}

int
pc_query_print_top(FILE *out, const Pidcast__TopReply *r, bool json)
{
	bool hosts = false;
	int  rv    = PC_OK;

	for (size_t i = 0; i < r->n_entries; i++) {
		hosts = hosts || r->entries[i]->host != NULL;
	}
	if (!json) {
		top_header(out, hosts);
	}
	for (size_t i = 0; rv == PC_OK && i < r->n_entries; i++) {
		const Pidcast__TopEntry *e = r->entries[i];
		pc_proc                  p = { 0 };
		if ((rv = decode(e->process, &p, NULL)) == PC_OK) {
			rv = top_row(out, &p, e->cpu_percent, e->io_bytes_per_sec, e->host, json);
		}
		pc_proc_clear(&p);
	}
	return rv;
}

int
pc_query_print_hosts(FILE *out, const Pidcast__ListHostsReply *r, bool json)
{
	pc_buf b = { 0 };
	int    rv;

	if (!json) {
		fprintf(out, "%-24s %-4s %-6s %9s %12s %16s\n", "HOST", "UP", "SYNCED", "PROCS",
		        "SEQ", "INSTANCE");
	}
	for (size_t i = 0; i < r->n_hosts; i++) {
		const Pidcast__HostInfo *h = r->hosts[i];
		if (!json) {
			put_padded(out, h->host != NULL ? h->host : "", 24);
			fprintf(out, " %-4s %-6s %9u %12" PRIu64 " %016" PRIx64 "\n",
			        h->up ? "yes" : "no", h->synced ? "yes" : "no", h->processes,
			        h->seq, h->instance_id);
			continue;
		}
		pc_buf_str(&b, "{\"host\":");
		pc_json_str(&b, h->host != NULL ? h->host : "");
		pc_buf_printf(&b,
		              ",\"up\":%s,\"synced\":%s,\"processes\":%u,\"seq\":%" PRIu64
		              ",\"instance_id\":\"%016" PRIx64 "\",\"last_update_ms\":%" PRIu64,
		              h->up ? "true" : "false", h->synced ? "true" : "false", h->processes,
		              h->seq, h->instance_id, h->last_update_ms);
		if (h->has_probe_exits) {
			pc_buf_printf(&b, ",\"probe_exits\":%" PRIu64, h->probe_exits);
		}
		if (h->has_probe_lost_events) {
			pc_buf_printf(&b, ",\"probe_lost_events\":%" PRIu64, h->probe_lost_events);
		}
		pc_buf_str(&b, "}\n");
	}
	if ((rv = b.err) == PC_OK && b.len > 0) {
		fwrite(b.data, 1, b.len, out);
	}
	pc_buf_fini(&b);
	return rv;
}
