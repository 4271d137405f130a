/* pc_parse.h: the values that command lines take, parsed strictly. */
#ifndef PC_PARSE_H
#define PC_PARSE_H

#include <stdint.h>

/* A duration, "1s", "250ms" or "0.5" (seconds), up to a day, in
 * milliseconds; 0 when malformed, not positive or too long. */
uint32_t pc_parse_ms(const char *s);

/* A whole decimal number, all of s: 0, or -1 when malformed or too large. */
int pc_parse_u64(const char *s, uint64_t *out);
int pc_parse_u32(const char *s, uint32_t *out);

/* A file mode in octal, "600" or "0660", up to 0777; -1 when malformed. */
int pc_parse_mode(const char *s);

#endif
