/* pc_term.c: terminal- and log-safe text (see pc_term.h). */
#include "base/pc_term.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "base/pc_utf8.h"

/* The code point of the valid character of k bytes at s. */
static uint32_t
decode(const unsigned char *s, size_t k)
{
	static const unsigned char lead_mask[] = { 0, 0x7f, 0x1f, 0x0f, 0x07 };
	uint32_t                   cp          = s[0] & lead_mask[k];

	for (size_t i = 1; i < k; i++) {
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	return cp;
}

/* The line and paragraph separators U+2028 and U+2029, which some log
 * viewers break lines at; the bidirectional embeddings, overrides and
 * isolates U+202A-U+202E and U+2066-U+2069, which reorder what is shown
 * ("Trojan Source"). */
static bool
is_format(uint32_t cp)
{
	return (cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

/* The escape of cp into esc (at least 8 bytes), or 0 if it needs none. */
static size_t
escape(uint32_t cp, char *esc)
{
	switch (cp) {
	case '\n':
		return (size_t)snprintf(esc, 8, "\\n");
	case '\r':
		return (size_t)snprintf(esc, 8, "\\r");
	case '\t':
		return (size_t)snprintf(esc, 8, "\\t");
	default:
		break;
	}
	if (cp < 0x20 || cp == 0x7f) {
		return (size_t)snprintf(esc, 8, "\\x%02x", (unsigned)cp);
	}
	if ((cp >= 0x80 && cp <= 0x9f) || is_format(cp)) {
		return (size_t)snprintf(esc, 8, "\\u%04x", (unsigned)cp);
	}
	return 0;
}

size_t
pc_term_str(pc_buf *b, const char *s, size_t max)
{
	size_t n = s != NULL ? strlen(s) : 0, chars = 0, k;

	for (size_t i = 0; i < n; i += k != 0 ? k : 1) {
		char        esc[8];
		const char *out  = s + i;
		size_t      len  = 0;
		size_t      cols = 1;
		k                = pc_utf8_char(s + i, n - i);
		if (k == 0) {
			out = PC_UTF8_REPLACEMENT;
			len = strlen(PC_UTF8_REPLACEMENT);
		} else if ((len = escape(decode((const unsigned char *)s + i, k), esc)) != 0) {
			out  = esc;
			cols = len;
		} else {
			len = k;
		}
		if (chars + cols > max) {
			break;
		}
		pc_buf_add(b, out, len);
		chars += cols;
	}
	return chars;
}
