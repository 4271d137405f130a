/* pc_sub_plain.h: pidcast-sub's plain table: a header and the first rows,
 * printed line by line. It is what a pipe or a file gets, and a terminal
 * where the build has no curses (Windows). */
#ifndef PC_SUB_PLAIN_H
#define PC_SUB_PLAIN_H

#include <stdbool.h>

#include "pc_sub_table.h"

#define PC_PLAIN_ROWS 30

/* Prints the header and the first PC_PLAIN_ROWS rows of t to stdout; on a
 * terminal (tty) over the last, else followed by an empty line. */
void pc_plain_print(const pc_stream_state *st, const pc_table *t, bool tty);

#endif
