/* pc_sub_draw.c: pidcast-sub's screen laid out on the curses window. */
#include "pc_sub_draw.h"

#include <curses.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <wchar.h>

#include "base/pc_buf.h"
#include "base/pc_err.h"
#include "base/pc_term.h"

#define HEAD_LINES 3 /* state, totals, column heads */
#define USER_MAX   12
#define NAME_MAX   16
#define CMD_MIN    20 /* the command line's columns that optional ones leave */

/* The fixed columns, before the optional ones and NAME and COMMAND. */
#define W_PID 7
#define W_CPU 6
#define W_RSS 6
#define W_THR 4
#define W_IO  6

/* Cuts the text in b, at a character, to at most room columns: a wide
 * character (CJK) takes two, and text that goes past the window's edge
 * would wrap onto the next line. Returns the columns. A byte that is no
 * character in this locale counts as one. */
static size_t
fit(pc_buf *b, size_t room)
{
	mbstate_t st = { 0 };
	size_t    at = 0, cols = 0;

	while (at < b->len) {
		wchar_t wc;
		size_t  k = mbrtowc(&wc, b->data + at, b->len - at, &st);
		int     w = 1;
		if (k == 0 || k > b->len - at) {
			k = 1;
			memset(&st, 0, sizeof(st));
		} else if ((w = wcwidth(wc)) < 0) {
			w = 1;
		}
		if (cols + (size_t)w > room) {
			break;
		}
		cols += (size_t)w;
		at += k;
	}
	b->len = at;
	if (b->data != NULL) {
		b->data[at] = '\0';
	}
	return cols;
}

/* s made safe for the terminal (pc_term.h) in b, in at most max columns;
 * returns the columns. */
static size_t
safe(pc_buf *b, const char *s, size_t max)
{
	pc_buf_reset(b);
	pc_term_str(b, s, max); /* at most max characters: a first cut */
	return b->err == PC_OK && b->len > 0 ? fit(b, max) : 0;
}

/* One cell at (y, *x): s in width columns, clipped at the window's right
 * edge, then a space; *x moves past both. */
static void
cell(pc_buf *b, int y, int *x, const char *s, size_t width, bool right)
{
	size_t room, n;

	if (*x >= COLS) {
		return;
	}
	room = (size_t)(COLS - *x) < width ? (size_t)(COLS - *x) : width;
	n    = safe(b, s, room);
	move(y, right ? *x + (int)(room - n) : *x);
	if (n > 0) {
		addnstr(b->data, (int)b->len);
	}
	*x += (int)width + 1;
}

/* 1536 -> "1.5K": one decimal under ten, like top. */
static void
human(char *out, size_t cap, double v)
{
	static const char units[] = "BKMGTP";
	int               u       = 0;

	while (v >= 1024.0 && u < 5) {
		v /= 1024.0;
		u++;
	}
	if (u == 0) {
		snprintf(out, cap, "%.0f", v);
	} else {
		snprintf(out, cap, v < 9.95 ? "%.1f%c" : "%.0f%c", v, units[u]);
	}
}

/* The widths of the text columns, from the rows that show, and the
 * optional columns that fit. */
typedef struct widths {
	size_t   user, name, opt[PC_COLS_MAX];
	uint32_t cols;
} widths;

static size_t
widest(pc_buf *b, size_t w, const char *s, size_t max)
{
	size_t n = s != NULL ? safe(b, s, max) : 0;

	return n > w ? n : w;
}

static void
measure(pc_buf *b, const pc_table *t, size_t shown, widths *w)
{
	size_t x;

	w->user = strlen("USER");
	w->name = strlen("NAME");
	for (size_t c = 0; c < pc_ncols; c++) {
		w->opt[c] = strlen(pc_cols[c].header);
	}
	for (size_t i = 0; i < shown; i++) {
		w->user = widest(b, w->user, t->rows[i].p->user, USER_MAX);
		w->name = widest(b, w->name, t->rows[i].p->name, NAME_MAX);
		for (size_t c = 0; c < pc_ncols; c++) {
			if (t->cols & (1u << c)) {
				w->opt[c] =
				        widest(b, w->opt[c], pc_col_value(&pc_cols[c], &t->rows[i]),
				               pc_cols[c].width);
			}
		}
	}
	/* The optional columns in their order, while the name and CMD_MIN
	 * of the command line still fit after them: a narrow window keeps
	 * what the process is over where it runs. */
	x       = W_PID + 1 + w->user + 1 + W_CPU + 1 + W_RSS + 1 + W_THR + 1 + W_IO + 1;
	w->cols = 0;
	for (size_t c = 0; c < pc_ncols; c++) {
		if ((t->cols & (1u << c)) &&
		    x + w->opt[c] + 1 + w->name + 1 + CMD_MIN <= (size_t)COLS) {
			w->cols |= 1u << c;
			x += w->opt[c] + 1;
		}
	}
}

/* The column heads, in reverse video across the whole width. */
static void
heads(pc_buf *b, const widths *w)
{
	int y = 2, x = 0;

	attron(A_REVERSE);
	mvhline(y, 0, ' ', COLS);
	cell(b, y, &x, "PID", W_PID, true);
	cell(b, y, &x, "USER", w->user, false);
	cell(b, y, &x, "CPU%", W_CPU, true);
	cell(b, y, &x, "RSS", W_RSS, true);
	cell(b, y, &x, "THR", W_THR, true);
	cell(b, y, &x, "IO/s", W_IO, true);
	for (size_t c = 0; c < pc_ncols; c++) {
		if (w->cols & (1u << c)) {
			cell(b, y, &x, pc_cols[c].header, w->opt[c], false);
		}
	}
	cell(b, y, &x, "NAME", w->name, false);
	if (x < COLS) {
		cell(b, y, &x, "COMMAND", (size_t)(COLS - x), false);
	}
	attroff(A_REVERSE);
}

static void
row(pc_buf *b, int y, const pc_row *r, const widths *w)
{
	const pc_proc *p = r->p;
	char           num[32];
	int            x = 0;

	snprintf(num, sizeof(num), "%" PRIu32, p->pid);
	cell(b, y, &x, num, W_PID, true);
	cell(b, y, &x, p->user != NULL ? p->user : "?", w->user, false);
	snprintf(num, sizeof(num), "%.1f", r->cpu);
	cell(b, y, &x, num, W_CPU, true);
	human(num, sizeof(num), (double)p->rss_bytes);
	cell(b, y, &x, num, W_RSS, true);
	snprintf(num, sizeof(num), "%" PRIu32, p->threads);
	cell(b, y, &x, num, W_THR, true);
	human(num, sizeof(num), r->io);
	cell(b, y, &x, num, W_IO, true);
	for (size_t c = 0; c < pc_ncols; c++) {
		if (w->cols & (1u << c)) {
			const char *s = pc_col_value(&pc_cols[c], r);
			cell(b, y, &x, s != NULL ? s : "", w->opt[c], false);
		}
	}
	cell(b, y, &x, p->name != NULL ? p->name : "?", w->name, false);
	if (x < COLS) {
		/* What has no command line (a kernel thread) shows its name, as top does. */
		pc_buf cmd = { 0 };
		if (p->cmdline != NULL && p->cmdline[0] != '\0') {
			pc_buf_str(&cmd, p->cmdline);
		} else {
			pc_buf_printf(&cmd, "[%s]", p->name != NULL ? p->name : "?");
		}
		cell(b, y, &x, cmd.err == PC_OK && cmd.len > 0 ? cmd.data : "", (size_t)(COLS - x),
		     false);
		pc_buf_fini(&cmd);
	}
}

/* Line 1: the stream's state at the left, the view at the right edge; the
 * view wins when both do not fit. */
static void
state_line(pc_buf *b, const pc_stream_state *st, const pc_view *v)
{
	pc_buf left = { 0 }, right = { 0 };
	size_t nr, room;
	int    x = 0;

	if (st->host[0] == '\0') {
		pc_buf_str(&left, "waiting for ");
		pc_buf_str(&left, st->url);
	} else {
		pc_buf_str(&left, "host ");
		pc_buf_str(&left, st->host);
		pc_buf_printf(&left,
		              "  processes %zu  seq %" PRIu64 "  %s  gaps %" PRIu64
		              "  resyncs %" PRIu64 "  refused %" PRIu64,
		              st->processes, st->seq, st->synced ? "synced" : "RESYNCING", st->gaps,
		              st->resyncs, st->refused);
	}
	pc_buf_printf(&right, "sort %s", pc_sort_name(v->sort));
	if (v->filter[0] != '\0') {
		pc_buf_str(&right, "  filter ");
		pc_buf_str(&right, v->filter);
	}
	pc_buf_str(&right, v->kernel ? "  kernel threads shown" : "  kernel threads hidden");
	nr = safe(b, right.err == PC_OK && right.len > 0 ? right.data : "", (size_t)COLS);
	if (nr > 0) {
		mvaddnstr(0, COLS - (int)nr, b->data, (int)b->len);
	}
	room = (size_t)COLS > nr + 2 ? (size_t)COLS - nr - 2 : 0;
	if (room > 0) {
		cell(b, 0, &x, left.err == PC_OK && left.len > 0 ? left.data : "", room, false);
	}
	pc_buf_fini(&left);
	pc_buf_fini(&right);
}

static void
totals_line(pc_buf *b, const pc_stream_state *st, const pc_table *t)
{
	pc_buf line = { 0 };
	char   rss[32];
	int    x = 0;

	human(rss, sizeof(rss), (double)t->rss_bytes);
	pc_buf_printf(&line, "processes %zu of %zu  threads %" PRIu64 "  CPU %.1f%%  memory %s RSS",
	              t->n, st->processes, t->threads, t->cpu, rss);
	if (t->kernel_hidden > 0) {
		pc_buf_printf(&line, "  (%zu kernel threads hidden)", t->kernel_hidden);
	}
	cell(b, 1, &x, line.err == PC_OK ? line.data : "", (size_t)COLS, false);
	pc_buf_fini(&line);
}

static void
foot_line(pc_buf *b, const pc_view *v, const pc_draw_foot *foot)
{
	int y = LINES - 1, x = 0;

	if (foot->editing) { /* the cursor after the text, where the next key goes */
		pc_buf line = { 0 };
		size_t n;
		pc_buf_printf(&line, "filter: %s", v->filter);
		n = safe(b, line.err == PC_OK ? line.data : "filter: ", (size_t)COLS - 1);
		if (n > 0) {
			mvaddnstr(y, 0, b->data, (int)b->len);
		}
		move(y, (int)n);
		pc_buf_fini(&line);
		return;
	}
	if (foot->note != NULL) {
		attron(A_BOLD);
		cell(b, y, &x, foot->note, (size_t)COLS, false);
		attroff(A_BOLD);
		return;
	}
	cell(b, y, &x,
	     "sort: c CPU  m memory  i I/O  p PID  n name   / filter   k kernel threads   q quit",
	     (size_t)COLS, false);
}

void
pc_draw(const pc_stream_state *st, const pc_table *t, const pc_view *v, const pc_draw_foot *foot)
{
	pc_buf b     = { 0 };
	size_t fit   = LINES > HEAD_LINES + 1 ? (size_t)(LINES - HEAD_LINES - 1) : 0;
	size_t shown = t->n < fit ? t->n : fit;
	widths w;

	erase();
	measure(&b, t, shown, &w);
	state_line(&b, st, v);
	if (LINES > 1) {
		totals_line(&b, st, t);
	}
	if (LINES > 2) {
		heads(&b, &w);
	}
	for (size_t i = 0; i < shown; i++) {
		row(&b, HEAD_LINES + (int)i, &t->rows[i], &w);
	}
	if (LINES > HEAD_LINES) {
		foot_line(&b, v, foot);
	}
	refresh();
	pc_buf_fini(&b);
}
