/* pc_json.h: a process record as one JSON object, keys as in DESIGN.md. */
#ifndef PC_JSON_H
#define PC_JSON_H

#include "base/pc_buf.h"
#include "record/pc_proc.h"

/* Appends {"pid":..,"create_time_ms":.., <fields in mask>} to b. Unknown
 * (NULL) strings are null. Bytes that are not valid UTF-8 become U+FFFD,
 * so the output is always valid JSON. */
void pc_json_proc(pc_buf *b, const pc_proc *p, pc_mask mask);

/* Appends s as a JSON string, quotes included. */
void pc_json_str(pc_buf *b, const char *s);

#endif
