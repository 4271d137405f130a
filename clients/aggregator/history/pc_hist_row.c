/* pc_hist_row.c: history rows and their bounded ring. */
#include "pc_hist_row.h"

#include <stdlib.h>
#include <string.h>

#include "base/pc_err.h"

static const char *
text_of(const pc_proc *p, pc_htext i)
{
	const char *s[PC_HT_COUNT] = { p->name,         p->exe,     p->cmdline, p->user,
		                       p->container_id, p->service, p->cgroup };

	return s[i] != NULL ? s[i] : "";
}

static int
set_text(pc_hrow *row, const pc_proc *p)
{
	size_t len = 0, at = 0;

	for (int i = 0; i < PC_HT_COUNT; i++) {
		len += strlen(text_of(p, (pc_htext)i)) + 1;
	}
	if ((row->text = malloc(len)) == NULL) {
		return PC_ENOMEM;
	}
	for (int i = 0; i < PC_HT_COUNT; i++) {
		size_t n = strlen(text_of(p, (pc_htext)i)) + 1;
		memcpy(row->text + at, text_of(p, (pc_htext)i), n);
		at += n;
	}
	row->text_len = (uint32_t)len;
	return PC_OK;
}

int
pc_hrow_of_proc(pc_hrow *row, pc_hrow_kind kind, uint32_t host, const pc_proc *p, uint64_t time_ms)
{
	memset(row, 0, sizeof(*row));
	row->kind           = (uint8_t)kind;
	row->host           = host;
	row->pid            = p->pid;
	row->ppid           = p->ppid;
	row->threads        = p->threads;
	row->time_ms        = time_ms;
	row->create_time_ms = p->create_time_ms;
	row->cpu_user_us    = p->cpu_user_us;
	row->cpu_system_us  = p->cpu_system_us;
	row->rss_bytes      = p->rss_bytes;
	row->peak_rss_bytes = p->peak_rss_bytes;
	row->io_read_bytes  = p->io_read_bytes;
	row->io_write_bytes = p->io_write_bytes;
	if (kind == PC_HROW_EXIT && p->exit.known) {
		row->exit_known  = true;
		row->exit_code   = p->exit.code;
		row->exit_signal = p->exit.signal;
	}
	return kind == PC_HROW_SAMPLE ? PC_OK : set_text(row, p);
}

const char *
pc_hrow_str(const pc_hrow *row, pc_htext i)
{
	const char *s = row->text;

	if (s == NULL) {
		return "";
	}
	for (int k = 0; k < (int)i; k++) {
		s += strlen(s) + 1;
	}
	return s;
}

size_t
pc_hrow_bytes(const pc_hrow *row)
{
	return sizeof(*row) + row->text_len;
}

void
pc_hrow_free(pc_hrow *row)
{
	free(row->text);
	row->text     = NULL;
	row->text_len = 0;
}

/* Room for n more rows, the ring unrolled into a larger array. */
static int
grow(pc_hqueue *q, size_t n)
{
	size_t   cap = q->cap ? q->cap : 1024;
	pc_hrow *rows;

	if (q->n + n <= q->cap) {
		return PC_OK;
	}
	while (cap < q->n + n) {
		cap *= 2;
	}
	if ((rows = malloc(cap * sizeof(*rows))) == NULL) {
		return PC_ENOMEM;
	}
	for (size_t i = 0; i < q->n; i++) {
		rows[i] = q->rows[(q->head + i) % q->cap];
	}
	free(q->rows);
	q->rows = rows;
	q->cap  = cap;
	q->head = 0;
	return PC_OK;
}

int
pc_hqueue_push(pc_hqueue *q, pc_hrow *row)
{
	if (grow(q, 1) != PC_OK) {
		return PC_ENOMEM;
	}
	q->rows[(q->head + q->n++) % q->cap] = *row;
	q->bytes += pc_hrow_bytes(row);
	return PC_OK;
}

size_t
pc_hqueue_take(pc_hqueue *q, pc_hrow *out, size_t max)
{
	size_t k = q->n < max ? q->n : max;

	for (size_t i = 0; i < k; i++) {
		out[i] = q->rows[q->head];
		q->bytes -= pc_hrow_bytes(&out[i]);
		q->head = (q->head + 1) % q->cap;
	}
	q->n -= k;
	return k;
}

int
pc_hqueue_unshift(pc_hqueue *q, pc_hrow *rows, size_t n)
{
	if (grow(q, n) != PC_OK) {
		return PC_ENOMEM;
	}
	for (size_t i = n; i-- > 0;) {
		q->head          = (q->head + q->cap - 1) % q->cap;
		q->rows[q->head] = rows[i];
		q->bytes += pc_hrow_bytes(&rows[i]);
		q->n++;
	}
	return PC_OK;
}

size_t
pc_hqueue_drop(pc_hqueue *q)
{
	size_t bytes;

	if (q->n == 0) {
		return 0;
	}
	bytes = pc_hrow_bytes(&q->rows[q->head]);
	pc_hrow_free(&q->rows[q->head]);
	q->bytes -= bytes;
	q->head = (q->head + 1) % q->cap;
	q->n--;
	return bytes;
}

void
pc_hqueue_fini(pc_hqueue *q)
{
	while (q->n > 0) {
		pc_hqueue_drop(q);
	}
	free(q->rows);
	memset(q, 0, sizeof(*q));
}
