/* pc_parse.c: strict parsing of durations and counts from flags. */
#include "base/pc_parse.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

uint32_t
pc_parse_ms(const char *s)
{
	char  *end;
	double v = strtod(s, &end);

	if (end == s || !(v > 0)) {
		return 0;
	}
	if (strcmp(end, "ms") == 0) {
		return v <= 86400000 && v >= 1 ? (uint32_t)v : 0;
	}
	if (*end == '\0' || strcmp(end, "s") == 0) {
		return v <= 86400 && v >= 0.001 ? (uint32_t)(v * 1000 + 0.5) : 0;
	}
	return 0;
}

int
pc_parse_u64(const char *s, uint64_t *out)
{
	char              *end;
	unsigned long long v;

	if (*s < '0' || *s > '9') {
		return -1;
	}
	errno = 0;
	v     = strtoull(s, &end, 10);
	if (*end != '\0' || errno == ERANGE) {
		return -1;
	}
	*out = v;
	return 0;
}

int
pc_parse_u32(const char *s, uint32_t *out)
{
	uint64_t v;

	if (pc_parse_u64(s, &v) != 0 || v > UINT32_MAX) {
		return -1;
	}
	*out = (uint32_t)v;
	return 0;
}

int
pc_parse_mode(const char *s)
{
	char         *end;
	unsigned long v;

	if (*s < '0' || *s > '7') {
		return -1;
	}
	v = strtoul(s, &end, 8);
	return *end == '\0' && v <= 0777 ? (int)v : -1;
}
