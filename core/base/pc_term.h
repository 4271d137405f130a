/* pc_term.h: text made safe to print on a terminal or in a log line.
 *
 * Clients print names, hosts and messages that came from processes and
 * peers; an escape sequence in one could clear the screen or move the
 * cursor, and a newline could forge a log line. Every string a binary
 * prints to a terminal or a log goes through pc_term_str: valid UTF-8
 * (pc_utf8.h's rule), and control characters written as escapes. */
#ifndef PC_TERM_H
#define PC_TERM_H

#include <stddef.h>

#include "base/pc_buf.h"

/* Appends s to b: bytes that are not UTF-8 as U+FFFD; C0 controls and DEL
 * as \n, \r, \t or \xHH; C1 controls (U+0080 to U+009F, which some
 * terminals obey as ESC sequences), the line and paragraph separators and
 * the bidirectional overrides and isolates (which reorder what is shown)
 * as \uHHHH. At most max characters
 * are written, an escape counting as its length, and never half of one.
 * Returns the characters written; NULL writes nothing. */
size_t pc_term_str(pc_buf *b, const char *s, size_t max);

#endif
