/* pc_sub_screen.h: pidcast-sub's live screen on a terminal, like top: the
 * window's whole height and width (redrawn when it is resized), a header
 * with the stream's state, the sort and the filter, a totals line, the
 * table, and a line of keys. Keys change the view: c m i p n sort by CPU,
 * memory, I/O, PID or name; / then text filters (Enter keeps it, Esc
 * clears it); k shows or hides kernel threads; q quits.
 *
 * Built with curses where CMake finds it (pc_sub_screen_curses.c). Without
 * (the Windows build) pc_sub_screen_none.c stands in: pc_screen_open()
 * says PC_ENOTSUP, and pidcast-sub prints its plain table instead. */
#ifndef PC_SUB_SCREEN_H
#define PC_SUB_SCREEN_H

#include "pc_sub_table.h"

typedef struct pc_screen pc_screen;

/* What the keys read by pc_screen_keys() ask for. */
typedef enum pc_screen_do {
	PC_SCREEN_IDLE,   /* nothing */
	PC_SCREEN_REDRAW, /* the view or the window changed */
	PC_SCREEN_QUIT
} pc_screen_do;

/* Takes over the terminal of stdout and stdin, with view as the first
 * view. PC_ENOTSUP: no curses in this build, or a terminal it cannot drive
 * (the terminal is then as it was). */
int  pc_screen_open(pc_screen **out, const pc_view *view);
void pc_screen_close(pc_screen *s); /* gives the terminal back as it was */

/* The view the keys have made so far. */
const pc_view *pc_screen_view(const pc_screen *s);

/* Reads the keys that are waiting, without blocking. */
pc_screen_do pc_screen_keys(pc_screen *s);

/* Draws the state line and the table over the whole window. */
void pc_screen_draw(pc_screen *s, const pc_stream_state *st, const pc_table *t);

/* A message for the user (what would go to stderr, which is this
 * terminal): shown on the last line until the next key. */
void pc_screen_note(pc_screen *s, const char *msg);

#endif
