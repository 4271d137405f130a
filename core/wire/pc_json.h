/* pc_json.h: a process record as one JSON object, keys as in DESIGN.md. */
#ifndef PC_JSON_H
#define PC_JSON_H

#include "base/pc_buf.h"
#include "record/pc_proc.h"

/* Appends {"pid":..,"create_time_ms":.., <fields in mask>} to b, and for a
 * record of a process that ended (exit.known) "exit_code" (or
 * "exit_signal") and "exit_time_ms". Unknown
 * (NULL) strings are null. Bytes that are not valid UTF-8 become U+FFFD,
 * so the output is always valid JSON. */
void pc_json_proc(pc_buf *b, const pc_proc *p, pc_mask mask);

/* Appends s as a JSON string, quotes included. */
void pc_json_str(pc_buf *b, const char *s);

#endif
