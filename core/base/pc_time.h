/* pc_time.h: the moments that history queries take, as a user types them. */
#ifndef PC_TIME_H
#define PC_TIME_H

#include <stddef.h>
#include <stdint.h>

/* A moment in Unix milliseconds, from all of s: ISO 8601 in UTC
 * ("2026-12-01T03:10:00Z", seconds optional, fractions of a second and
 * "+HH:MM" offsets taken, a space for the T), or an age before now_ms
 * ("90s", "15m", "2h", "3d", "250ms"), or "now". Returns 0, or -1 with a
 * reason in err (what was wrong with s) when malformed, out of range or in
 * the future by an age's sign. */
int pc_time_parse(const char *s, uint64_t now_ms, uint64_t *out_ms, char *err, size_t n);

/* A duration, a whole number and a unit: "250ms", "90s", "15m", "2h",
 * "3d", "1w". Returns 0, or -1 when malformed or too long. */
int pc_duration_parse(const char *s, uint64_t *out_ms);

/* t as "2026-12-01T03:10:00.250Z" (milliseconds only when not whole) into
 * buf, which holds PC_TIME_STR bytes. */
#define PC_TIME_STR 64 /* room for any year the compiler imagines */
void pc_time_format(uint64_t t_ms, char buf[PC_TIME_STR]);

/* Days since 1970-01-01 of a civil date, and back (proleptic Gregorian):
 * the calendar without the C library's time zone. */
int64_t pc_days_from_civil(int64_t y, unsigned m, unsigned d);
void    pc_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d);

#endif
