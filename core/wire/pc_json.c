/* pc_json.c: JSON for process records; no library needed for flat objects. */
#include "wire/pc_json.h"

#include <inttypes.h>
#include <stdint.h>
#include <string.h>

#include "base/pc_utf8.h"

void
pc_json_str(pc_buf *b, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	const unsigned char *end;

	if (s == NULL) {
		pc_buf_str(b, "null");
		return;
	}
	end = s + strlen(str);
	pc_buf_add(b, "\"", 1);
	/* Records hold valid UTF-8 already (pc_utf8.h); this covers any other
	 * text, with the same rule. */
	while (*s != '\0') {
		size_t n = pc_utf8_char((const char *)s, (size_t)(end - s));
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
			pc_buf_add(b, s, n);
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
	if (p->exit.known) {
		if (p->exit.signal != 0) {
			pc_buf_printf(b, ",\"exit_signal\":%" PRId32, p->exit.signal);
		} else {
			pc_buf_printf(b, ",\"exit_code\":%" PRId32, p->exit.code);
		}
		pc_buf_printf(b, ",\"exit_time_ms\":%" PRIu64, p->exit.time_ms);
	}
	pc_buf_add(b, "}", 1);
}
