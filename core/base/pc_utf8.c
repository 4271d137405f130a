/* pc_utf8.c: UTF-8 validation, repair and cutting (see pc_utf8.h). */
#include "base/pc_utf8.h"

#include <stdlib.h>
#include <string.h>

#define REPL_LEN 3 /* bytes of U+FFFD */

size_t
pc_utf8_char(const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t               len;
	uint32_t             cp;

	if (n == 0 || s[0] == 0) {
		return 0;
	} else if (s[0] < 0x80) {
		return 1;
	} else if ((s[0] & 0xe0) == 0xc0) {
		len = 2;
		cp  = s[0] & 0x1f;
	} else if ((s[0] & 0xf0) == 0xe0) {
		len = 3;
		cp  = s[0] & 0x0f;
	} else if ((s[0] & 0xf8) == 0xf0) {
		len = 4;
		cp  = s[0] & 0x07;
	} else {
		return 0;
	}
	/* A NUL is not a continuation byte, so this never reads past one. */
	for (size_t i = 1; i < len; i++) {
		if (i >= n || (s[i] & 0xc0) != 0x80) {
			return 0;
		}
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	/* No overlong forms, surrogates, or code points past U+10FFFF. */
	if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) {
		return 0;
	}
	return len;
}

bool
pc_utf8_valid(const char *s)
{
	size_t n;

	if (s == NULL) {
		return false;
	}
	n = strlen(s);
	for (size_t i = 0, k; i < n; i += k) {
		if ((k = pc_utf8_char(s + i, n - i)) == 0) {
			return false;
		}
	}
	return true;
}

size_t
pc_utf8_prefix(const char *s, size_t max)
{
	size_t n = strlen(s), at = 0, k;

	while (at < n) {
		k = pc_utf8_char(s + at, n - at);
		k = k != 0 ? k : 1; /* a bad byte is a character of its own */
		if (at + k > max) {
			break;
		}
		at += k;
	}
	return at;
}

size_t
pc_utf8_repair(char *out, size_t cap, const char *s, size_t len)
{
	size_t in = 0, o = 0;

	while (in < len && s[in] != '\0') {
		size_t      k   = pc_utf8_char(s + in, len - in);
		const char *src = k != 0 ? s + in : PC_UTF8_REPLACEMENT;
		size_t      w   = k != 0 ? k : REPL_LEN;
		if (o + w >= cap) {
			break;
		}
		memcpy(out + o, src, w);
		o += w;
		in += k != 0 ? k : 1;
	}
	out[o] = '\0';
	return o;
}

char *
pc_utf8_dup(const char *s)
{
	size_t n = strlen(s), need = 0, k;
	char  *out;

	for (size_t i = 0; i < n; i += k != 0 ? k : 1) {
		k = pc_utf8_char(s + i, n - i);
		need += k != 0 ? k : REPL_LEN;
	}
	if ((out = malloc(need + 1)) != NULL) {
		pc_utf8_repair(out, need + 1, s, n);
	}
	return out;
}

bool
pc_utf8_same(const char *raw, const char *clean)
{
	size_t n = strlen(raw), m = strlen(clean), o = 0, k;

	for (size_t i = 0; i < n; i += k != 0 ? k : 1) {
		const char *want;
		size_t      w;
		k    = pc_utf8_char(raw + i, n - i);
		want = k != 0 ? raw + i : PC_UTF8_REPLACEMENT;
		w    = k != 0 ? k : REPL_LEN;
		if (m - o < w || memcmp(clean + o, want, w) != 0) {
			return false;
		}
		o += w;
	}
	return o == m;
}

/* Encodes cp (a scalar value) at out; returns its length. */
static size_t
encode(char *out, uint32_t cp)
{
	unsigned char *o = (unsigned char *)out;

	if (cp < 0x80) {
		o[0] = (unsigned char)cp;
		return 1;
	} else if (cp < 0x800) {
		o[0] = (unsigned char)(0xc0 | (cp >> 6));
		o[1] = (unsigned char)(0x80 | (cp & 0x3f));
		return 2;
	} else if (cp < 0x10000) {
		o[0] = (unsigned char)(0xe0 | (cp >> 12));
		o[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		o[2] = (unsigned char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (unsigned char)(0xf0 | (cp >> 18));
	o[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
	o[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
	o[3] = (unsigned char)(0x80 | (cp & 0x3f));
	return 4;
}

size_t
pc_utf8_from_utf16(char *out, size_t cap, const uint16_t *w, size_t n)
{
	size_t o = 0;

	for (size_t i = 0; i < n && w[i] != 0;) {
		uint32_t cp    = w[i];
		size_t   units = 1;
		char     enc[4];
		size_t   k;
		if (cp >= 0xd800 && cp <= 0xdbff && i + 1 < n && w[i + 1] >= 0xdc00 &&
		    w[i + 1] <= 0xdfff) {
			cp    = 0x10000 + ((cp - 0xd800) << 10) + (w[i + 1] - 0xdc00u);
			units = 2;
		} else if (cp >= 0xd800 && cp <= 0xdfff) {
			cp = 0xfffd; /* a lone high or low surrogate */
		}
		k = encode(enc, cp);
		if (o + k >= cap) {
			break;
		}
		memcpy(out + o, enc, k);
		o += k;
		i += units;
	}
	out[o] = '\0';
	return o;
}
