/* pc_sub_plain.c: the plain table, printed to stdout. */
#include "pc_sub_plain.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>

#include "base/pc_buf.h"
#include "base/pc_err.h"
#include "base/pc_term.h"

/* Writes s to stdout made safe for a terminal (pc_term.h): at most max
 * characters, padded with spaces to width. */
static void
put_text(const char *s, size_t max, size_t width)
{
	pc_buf b = { 0 };
	size_t n = pc_term_str(&b, s, max);

	if (b.err == PC_OK && b.len > 0) {
		fwrite(b.data, 1, b.len, stdout);
	}
	for (; n < width; n++) {
		putchar(' ');
	}
	pc_buf_fini(&b);
}

void
pc_plain_print(const pc_stream_state *st, const pc_table *t, bool tty)
{
	if (tty) {
		fputs("\033[H\033[2J", stdout);
	}
	fputs("host ", stdout);
	put_text(st->host, SIZE_MAX, 0);
	printf("  processes %zu  seq %" PRIu64 "  %s  gaps %" PRIu64 "  resyncs %" PRIu64
	       "  refused %" PRIu64 "\n",
	       st->processes, st->seq, st->synced ? "synced" : "RESYNCING", st->gaps, st->resyncs,
	       st->refused);
	printf("%8s %8s %6s %10s %7s %-12s %s\n", "PID", "PPID", "CPU%", "RSS(MiB)", "THREADS",
	       "USER", "NAME");
	for (size_t i = 0; i < t->n && i < PC_PLAIN_ROWS; i++) {
		const pc_proc *p = t->rows[i].p;
		printf("%8u %8u %6.1f %10.1f %7u ", p->pid, p->ppid, t->rows[i].cpu,
		       (double)p->rss_bytes / (1024.0 * 1024.0), p->threads);
		put_text(p->user ? p->user : "?", 12, 12);
		putchar(' ');
		put_text(p->name ? p->name : "?", SIZE_MAX, 0);
		putchar('\n');
	}
	if (!tty) {
		putchar('\n');
	}
	fflush(stdout);
}
