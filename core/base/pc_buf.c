/* pc_buf.c: growable buffer; an allocation failure sticks in err, so that
 * callers check once at the end. */
#include "base/pc_buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/pc_err.h"

int
pc_buf_reserve(pc_buf *b, size_t n)
{
	size_t cap;
	char  *p;

	if (b->err != PC_OK) {
		return b->err;
	}
	if (b->len + n + 1 <= b->cap) {
		return PC_OK;
	}
	cap = b->cap ? b->cap : 256;
	while (cap < b->len + n + 1) {
		cap *= 2;
	}
	if ((p = realloc(b->data, cap)) == NULL) {
		return b->err = PC_ENOMEM;
	}
	b->data = p;
	b->cap  = cap;
	return PC_OK;
}

void
pc_buf_reset(pc_buf *b)
{
	b->len = 0;
	b->err = PC_OK;
	if (b->data != NULL) {
		b->data[0] = '\0';
	}
}

void
pc_buf_fini(pc_buf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

void
pc_buf_add(pc_buf *b, const void *data, size_t n)
{
	/* Nothing to add: data may be NULL (an empty buffer's), which memcpy
	 * must not be given even for 0 bytes. */
	if (n == 0 || pc_buf_reserve(b, n) != PC_OK) {
		return;
	}
	memcpy(b->data + b->len, data, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void
pc_buf_str(pc_buf *b, const char *s)
{
	pc_buf_add(b, s, strlen(s));
}

void
pc_buf_printf(pc_buf *b, const char *fmt, ...)
{
	va_list ap;
	int     n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || pc_buf_reserve(b, (size_t)n) != PC_OK) {
		return;
	}
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}
