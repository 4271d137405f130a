/* pc_sub_draw.h: the layout of pidcast-sub's screen, drawn with curses on
 * the whole window (LINES x COLS): line 1 the stream's state and, at the
 * right edge, the sort, the filter and whether kernel threads show; line 2
 * the totals; line 3 the column heads; then as many rows as fit; the last
 * line says the keys (or holds the filter being typed, or a message).
 * Every string from the stream goes through pc_term_str. */
#ifndef PC_SUB_DRAW_H
#define PC_SUB_DRAW_H

#include <stdbool.h>

#include "pc_sub_table.h"

/* What the last line holds. */
typedef struct pc_draw_foot {
	bool        editing; /* the filter is being typed: "/TEXT" and the cursor */
	const char *note;    /* else a message, if not NULL */
} pc_draw_foot;

/* Draws over stdscr (erased first) and refreshes it. */
void pc_draw(const pc_stream_state *st, const pc_table *t, const pc_view *v,
             const pc_draw_foot *foot);

#endif
