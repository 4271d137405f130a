/* pc_json.c: JSON for process records; no library needed for flat objects. */
#include "wire/pc_json.h"

#include <inttypes.h>
#include <stdint.h>

/* Length of the valid UTF-8 sequence at s, or 0 if it is not one. */
static int
utf8_len(const unsigned char *s)
{
	int      n;
	uint32_t cp;

	if (s[0] < 0x80) {
		return 1;
	} else if ((s[0] & 0xe0) == 0xc0) {
		n  = 2;
		cp = s[0] & 0x1f;
	} else if ((s[0] & 0xf0) == 0xe0) {
		n  = 3;
		cp = s[0] & 0x0f;
	} else if ((s[0] & 0xf8) == 0xf0) {
		n  = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	for (int i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80) {
			return 0;
		}
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	/* No overlong forms, surrogates, or code points past U+10FFFF. */
	if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) {
		return 0;
	}
	return n;
}

void
pc_json_str(pc_buf *b, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;

	if (s == NULL) {
		pc_buf_str(b, "null");
		return;
	}
	pc_buf_add(b, "\"", 1);
	while (*s != '\0') {
		int n = utf8_len(s);
		if (n == 0) {
			pc_buf_str(b, "\\ufffd");
			s++;
		} else if (*s == '"' || *s == '\\') {
			pc_buf_printf(b, "\\%c", *s++);
		} else if (*s == '\n') {
			pc_buf_str(b, "\\n");
			s++;
		} else if (*s == '\t') {
			pc_buf_str(b, "\\t");
			s++;
		} else if (*s < 0x20 || *s == 0x7f) {
			pc_buf_printf(b, "\\u%04x", *s++);
		} else {
			pc_buf_add(b, s, (size_t)n);
			s += n;
		}
	}
	pc_buf_add(b, "\"", 1);
}

void
pc_json_proc(pc_buf *b, const pc_proc *p, pc_mask mask)
{
	pc_buf_printf(b, "{\"pid\":%" PRIu32 ",\"create_time_ms\":%" PRIu64, p->pid,
	              p->create_time_ms);
	for (int f = 0; f < PC_F_COUNT; f++) {
		const void *v = (const char *)p + pc_fields[f].offset;
		if (!(mask & PC_BIT(f))) {
			continue;
		}
		pc_buf_printf(b, ",\"%s\":", pc_fields[f].name);
		switch (pc_fields[f].type) {
		case PC_T_U32:
			pc_buf_printf(b, "%" PRIu32, *(const uint32_t *)v);
			break;
		case PC_T_U64:
			pc_buf_printf(b, "%" PRIu64, *(const uint64_t *)v);
			break;
		case PC_T_BOOL:
			pc_buf_str(b, *(const bool *)v ? "true" : "false");
			break;
		case PC_T_STR:
			pc_json_str(b, *(char *const *)v);
			break;
		}
	}
	pc_buf_add(b, "}", 1);
}
