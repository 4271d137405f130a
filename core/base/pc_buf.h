/* pc_buf.h: a growable byte buffer for building text and messages. */
#ifndef PC_BUF_H
#define PC_BUF_H

#include <stddef.h>
#include <stdio.h>

/* printf-style checking; mingw's ANSI stdio takes the GNU formats (%zu). */
#if defined(__MINGW_PRINTF_FORMAT)
#define PC_PRINTF(f, a) __attribute__((format(__MINGW_PRINTF_FORMAT, f, a)))
#elif defined(__GNUC__)
#define PC_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define PC_PRINTF(f, a)
#endif

typedef struct pc_buf {
	char  *data; /* NUL-terminated when len > 0 */
	size_t len;
	size_t cap;
	int    err; /* the first error; later appends do nothing */
} pc_buf;

void pc_buf_reset(pc_buf *b); /* empties it, keeps the memory, clears err */
void pc_buf_fini(pc_buf *b);
void pc_buf_add(pc_buf *b, const void *data, size_t n);
/* Room for n more bytes at data + len (and a NUL): PC_OK or the error. */
int  pc_buf_reserve(pc_buf *b, size_t n);
void pc_buf_str(pc_buf *b, const char *s);
void pc_buf_printf(pc_buf *b, const char *fmt, ...) PC_PRINTF(2, 3);

#endif
