/* pc_time.c: ISO 8601 moments and ages, parsed strictly, in UTC. */
#include "base/pc_time.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* Howard Hinnant's days_from_civil: exact for every date, no time zone. */
int64_t
pc_days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t  era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

void
pc_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	int64_t  era;
	unsigned doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (unsigned)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp  = (5 * doy + 2) / 153;
	*d  = doy - (153 * mp + 2) / 5 + 1;
	*m  = mp < 10 ? mp + 3 : mp - 9;
	*y  = (int64_t)yoe + era * 400 + (*m <= 2);
}

static int
bad(char *err, size_t n, const char *s, const char *why)
{
	snprintf(err, n, "'%.64s': %s", s, why);
	return -1;
}

/* n digits at *p as a number; advances *p. */
static bool
digits(const char **p, int n, unsigned *out)
{
	unsigned v = 0;

	for (int i = 0; i < n; i++) {
		if ((*p)[i] < '0' || (*p)[i] > '9') {
			return false;
		}
		v = v * 10 + (unsigned)((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return true;
}

static bool
leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned
month_days(int64_t y, unsigned m)
{
	static const unsigned days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	return m == 2 && leap(y) ? 29 : days[m - 1];
}

/* The fraction of a second after '.', as milliseconds (digits past the
 * third are read and dropped). */
static bool
fraction(const char **p, unsigned *ms)
{
	unsigned scale = 100;
	int      n     = 0;

	*ms = 0;
	while (**p >= '0' && **p <= '9') {
		*ms += (unsigned)(**p - '0') * scale;
		scale /= 10;
		(*p)++;
		n++;
	}
	return n > 0;
}

static int
parse_iso(const char *s, uint64_t *out, char *err, size_t n)
{
	const char *p = s;
	unsigned    y, mo, d, h = 0, mi = 0, sec = 0, ms = 0, oh, om;
	int64_t     t, offset = 0;

	if (!digits(&p, 4, &y) || *p++ != '-' || !digits(&p, 2, &mo) || *p++ != '-' ||
	    !digits(&p, 2, &d)) {
		return bad(err, n, s,
		           "not a time: give ISO 8601 (2026-12-01T03:10:00Z) "
		           "or an age (90s, 15m, 2h, 3d)");
	}
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > month_days(y, mo)) {
		return bad(err, n, s, "no such date (from 1970 on)");
	}
	if (*p == 'T' || *p == 't' || *p == ' ') {
		p++;
		if (!digits(&p, 2, &h) || *p++ != ':' || !digits(&p, 2, &mi)) {
			return bad(err, n, s, "the time of day is HH:MM or HH:MM:SS");
		}
		if (*p == ':' && (p++, !digits(&p, 2, &sec))) {
			return bad(err, n, s, "the seconds are two digits");
		}
		if (*p == '.' && (p++, !fraction(&p, &ms))) {
			return bad(err, n, s, "a fraction of a second needs digits");
		}
		if (h > 23 || mi > 59 || sec > 59) {
			return bad(err, n, s, "no such time of day");
		}
		if (*p == 'Z' || *p == 'z') {
			p++;
		} else if (*p == '+' || *p == '-') {
			int  sign = *p++ == '-' ? -1 : 1;
			bool ok   = digits(&p, 2, &oh);
			if (ok && *p == ':') {
				p++;
			}
			if (!ok || !digits(&p, 2, &om) || oh > 23 || om > 59) {
				return bad(err, n, s, "an offset is +HH:MM or -HH:MM");
			}
			offset = sign * (int64_t)(oh * 60 + om) * 60000;
		} else if (*p == '\0') {
			return bad(err, n, s, "say the zone: end in Z for UTC, or +HH:MM");
		}
	}
	if (*p != '\0') {
		return bad(err, n, s, "unexpected text after the time");
	}
	t = ((pc_days_from_civil(y, mo, d) * 24 + h) * 60 + mi) * 60000 + sec * 1000 + ms - offset;
	if (t < 0) {
		return bad(err, n, s, "before 1970");
	}
	*out = (uint64_t)t;
	return 0;
}

int
pc_duration_parse(const char *s, uint64_t *out_ms)
{
	static const struct {
		const char *unit;
		uint64_t    ms;
	} units[]     = { { "ms", 1 },      { "s", 1000 },     { "m", 60000 },
		          { "h", 3600000 }, { "d", 86400000 }, { "w", 604800000 } };
	const char *p = s;
	uint64_t    v = 0;

	if (*p < '0' || *p > '9') {
		return -1;
	}
	while (*p >= '0' && *p <= '9') {
		if (v > UINT64_MAX / 10 / 604800000) {
			return -1;
		}
		v = v * 10 + (uint64_t)(*p++ - '0');
	}
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(p, units[i].unit) == 0) {
			*out_ms = v * units[i].ms;
			return 0;
		}
	}
	return -1;
}

static int
parse_age(const char *s, uint64_t now_ms, uint64_t *out, char *err, size_t n)
{
	uint64_t age;

	if (pc_duration_parse(s, &age) != 0) {
		return bad(err, n, s,
		           "not a time: give ISO 8601 (2026-12-01T03:10:00Z) or an age, a number "
		           "and a unit: ms, s, m, h, d or w (15m)");
	}
	if (age > now_ms) {
		return bad(err, n, s, "before 1970");
	}
	*out = now_ms - age;
	return 0;
}

int
pc_time_parse(const char *s, uint64_t now_ms, uint64_t *out_ms, char *err, size_t n)
{
	if (s == NULL || *s == '\0') {
		return bad(err, n, "", "empty time");
	}
	if (strcmp(s, "now") == 0) {
		*out_ms = now_ms;
		return 0;
	}
	/* A date starts with four digits and a dash; an age never has one. */
	if (strlen(s) >= 5 && s[4] == '-') {
		return parse_iso(s, out_ms, err, n);
	}
	return parse_age(s, now_ms, out_ms, err, n);
}

void
pc_time_format(uint64_t t_ms, char buf[PC_TIME_STR])
{
	int64_t  days = (int64_t)(t_ms / 86400000), y;
	uint64_t r    = t_ms % 86400000;
	unsigned m, d;

	pc_civil_from_days(days, &y, &m, &d);
	if (r % 1000 != 0) {
		snprintf(buf, PC_TIME_STR, "%04lld-%02u-%02uT%02u:%02u:%02u.%03uZ", (long long)y, m,
		         d, (unsigned)(r / 3600000), (unsigned)(r / 60000 % 60),
		         (unsigned)(r / 1000 % 60), (unsigned)(r % 1000));
	} else {
		snprintf(buf, PC_TIME_STR, "%04lld-%02u-%02uT%02u:%02u:%02uZ", (long long)y, m, d,
		         (unsigned)(r / 3600000), (unsigned)(r / 60000 % 60),
		         (unsigned)(r / 1000 % 60));
	}
}
