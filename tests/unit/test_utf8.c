/* test_utf8.c: text from the OS and from peers becomes valid UTF-8, cut on
 * character boundaries (pc_utf8), and records keep it so (pc_proc_set_str,
 * the codec). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/pc_err.h"
#include "base/pc_utf8.h"
#include "record/pc_proc.h"
#include "wire/pc_codec.h"

#define R PC_UTF8_REPLACEMENT

static void
test_char_lengths(void **state)
{
	static const struct {
		const char *s;
		size_t      n; /* bytes available */
		size_t      want;
	} cases[] = {
		{ "a", 1, 1 },
		{ "\x7f", 1, 1 },
		{ "\xc2\x80", 2, 2 },         /* U+0080, the first 2-byte */
		{ "\xc3\xa9", 2, 2 },         /* é */
		{ "\xe8\xbf\x9b", 3, 3 },     /* 进 */
		{ "\xed\x9f\xbf", 3, 3 },     /* U+D7FF, just below the surrogates */
		{ "\xee\x80\x80", 3, 3 },     /* U+E000, just above */
		{ "\xef\xbf\xbd", 3, 3 },     /* U+FFFD */
		{ "\xf0\x9f\x98\x80", 4, 4 }, /* U+1F600 */
		{ "\xf4\x8f\xbf\xbf", 4, 4 }, /* U+10FFFF, the last */
		/* truncated: by the bytes available, and by a NUL or a non-continuation */
		{ "\xc3\xa9", 1, 0 },
		{ "\xe8\xbf\x9b", 2, 0 },
		{ "\xf0\x9f\x98\x80", 3, 0 },
		{ "\xc3", 2, 0 },
		{ "\xe8\xbf", 3, 0 },
		{ "\xf0\x9f\x98", 4, 0 },
		{ "\xc3(", 2, 0 },
		{ "\xe8\xbf(", 3, 0 },
		/* stray continuation bytes, and lead bytes that never start one */
		{ "\x80", 1, 0 },
		{ "\xbf", 1, 0 },
		{ "\xf8\x88\x80\x80\x80", 5, 0 },
		{ "\xfe", 1, 0 },
		{ "\xff", 1, 0 },
		/* overlong forms */
		{ "\xc0\xaf", 2, 0 },
		{ "\xc1\xbf", 2, 0 },
		{ "\xe0\x80\xaf", 3, 0 },
		{ "\xe0\x9f\xbf", 3, 0 },
		{ "\xf0\x80\x80\xaf", 4, 0 },
		{ "\xf0\x8f\xbf\xbf", 4, 0 },
		/* UTF-16 surrogates encoded in UTF-8 (CESU-8, WTF-8) */
		{ "\xed\xa0\x80", 3, 0 },
		{ "\xed\xaf\xbf", 3, 0 },
		{ "\xed\xb0\x80", 3, 0 },
		{ "\xed\xbf\xbf", 3, 0 },
		/* past U+10FFFF */
		{ "\xf4\x90\x80\x80", 4, 0 },
		{ "\xf5\x80\x80\x80", 4, 0 },
		{ "", 1, 0 },
		{ "a", 0, 0 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (pc_utf8_char(cases[i].s, cases[i].n) != cases[i].want) {
			fail_msg("case %zu: pc_utf8_char = %zu, want %zu", i,
			         pc_utf8_char(cases[i].s, cases[i].n), cases[i].want);
		}
	}
	assert_true(pc_utf8_valid(""));
	assert_true(pc_utf8_valid("a\xc3\xa9\xe8\xbf\x9b\xf0\x9f\x98\x80"));
	assert_false(pc_utf8_valid("aaaaaaaaaaaaaa\xc3"));
	assert_false(pc_utf8_valid("\xed\xa0\x80\xed\xb0\x80")); /* a pair, as CESU-8 */
	assert_false(pc_utf8_valid(NULL));
}

static void
test_repair_replaces_each_bad_byte(void **state)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
		{ "aaaaaaaaaaaaaa\xc3", "aaaaaaaaaaaaaa" R }, /* comm cut inside é */
		{ "\xff\xfe", R R },
		{ "a\xe8\xbf(b", "a" R R "(b" },
		{ "\xc0\xaf", R R },
		{ "\xed\xa0\x80z", R R R "z" },
		{ "\xf4\x90\x80\x80", R R R R },
		{ "\xf0\x9f\x98", R R R },
		{ "ok \xc3\xa9\xf0\x9f\x98\x80", "ok \xc3\xa9\xf0\x9f\x98\x80" },
		{ "", "" },
	};
	char out[64];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char  *dup = pc_utf8_dup(cases[i].in);
		size_t n   = pc_utf8_repair(out, sizeof(out), cases[i].in, strlen(cases[i].in));
		assert_string_equal(out, cases[i].want);
		assert_int_equal(n, strlen(cases[i].want));
		assert_non_null(dup);
		assert_string_equal(dup, cases[i].want);
		assert_true(pc_utf8_valid(dup));
		assert_true(pc_utf8_same(cases[i].in, dup));
		free(dup);
	}
	/* len stops it, and so does a NUL */
	pc_utf8_repair(out, sizeof(out),
	               "ab\xc3\xa9"
	               "cd",
	               3);
	assert_string_equal(out, "ab" R);
	pc_utf8_repair(out, sizeof(out), "ab\0cd", 5);
	assert_string_equal(out, "ab");
	assert_false(pc_utf8_same("\xff", "?"));
	assert_false(pc_utf8_same("\xff", R "x"));
	assert_false(pc_utf8_same("ab", "a"));
}

/* 1, 2, 3 and 4-byte characters, cut with room for each byte count: the
 * longest whole prefix, never a part of a character. */
static void
test_cut_at_every_byte(void **state)
{
	static const char   text[] = "a\xc3\xa9\xe8\xbf\x9b\xf0\x9f\x98\x80";
	static const size_t want[] = { 0, 1, 1, 3, 3, 3, 6, 6, 6, 6, 10, 10 };
	char                out[16];

	(void)state;
	for (size_t room = 0; room < sizeof(want) / sizeof(want[0]); room++) {
		size_t n = pc_utf8_repair(out, room + 1, text, strlen(text));
		assert_int_equal(n, want[room]);
		assert_memory_equal(out, text, n);
		assert_int_equal(out[n], '\0');
		assert_true(pc_utf8_valid(out));
		assert_int_equal(pc_utf8_prefix(text, room), want[room]);
	}
	/* a replacement that does not fit is left out whole */
	assert_int_equal(pc_utf8_repair(out, 3, "\xff", 1), 0);
	assert_int_equal(pc_utf8_repair(out, 4, "\xff", 1), 3);
	/* a bad byte counts as one for a prefix, so cutting never grows text */
	assert_int_equal(pc_utf8_prefix("x\xe8\xbfy", 2), 2);
	assert_int_equal(pc_utf8_prefix("\xc3\xa9", 1), 0);
}

static void
test_utf16_surrogates(void **state)
{
	static const uint16_t ok[]   = { 'A', 0xe9, 0x8fdb, 0xd83d, 0xde00, 0 };
	static const uint16_t lone[] = { 0xd800, 'A', 0xdc00, 0xdc00, 0xd800, 'B', 0xd83d };
	static const uint16_t stop[] = { 'a', 0, 'b' };
	char                  out[64];

	(void)state;
	assert_int_equal(pc_utf8_from_utf16(out, sizeof(out), ok, 6), 10);
	assert_string_equal(out, "A\xc3\xa9\xe8\xbf\x9b\xf0\x9f\x98\x80");
	/* a high one before a non-low, a low one alone, a reversed pair, a
	 * high one at the end */
	pc_utf8_from_utf16(out, sizeof(out), lone, 7);
	assert_string_equal(out, R "A" R R R "B" R);
	assert_true(pc_utf8_valid(out));
	/* a pair cut by n is a lone high surrogate */
	pc_utf8_from_utf16(out, sizeof(out), ok, 4);
	assert_string_equal(out, "A\xc3\xa9\xe8\xbf\x9b" R);
	pc_utf8_from_utf16(out, sizeof(out), stop, SIZE_MAX);
	assert_string_equal(out, "a");
	/* cut on a character boundary */
	for (size_t cap = 1; cap < 12; cap++) {
		size_t n = pc_utf8_from_utf16(out, cap, ok, 6);
		assert_true(n < cap);
		assert_true(pc_utf8_valid(out));
		assert_memory_equal(out, "A\xc3\xa9\xe8\xbf\x9b\xf0\x9f\x98\x80", n);
	}
}

/* A peer's strings: stored repaired, and the same bad bytes again are no
 * change (else a keyframe would report one every time). */
static void
test_record_strings_from_a_peer(void **state)
{
	Pidcast__Process m = PIDCAST__PROCESS__INIT;
	pc_proc          p = { 0 }, raw = { 0 };
	pc_mask          mask, changed;

	(void)state;
	raw.pid            = 7;
	raw.create_time_ms = 1700000000000ULL;
	raw.name           = "aaaaaaaaaaaaaa\xc3";
	raw.exe            = "/tmp/\xff\xfe";
	raw.cmdline        = "x \xed\xa0\x80 \xc0\xaf";
	raw.user           = "\xf4\x90\x80\x80";
	pc_codec_proc_to_msg(&raw, PC_MASK_ALL, &m);
	assert_int_equal(pc_codec_proc_from_msg(&m, &p, &mask), PC_OK);
	assert_string_equal(p.name, "aaaaaaaaaaaaaa" R);
	assert_string_equal(p.exe, "/tmp/" R R);
	assert_string_equal(p.cmdline, "x " R R R " " R R);
	assert_string_equal(p.user, R R R R);
	assert_int_equal(pc_codec_proc_merge(&m, &p, &changed), PC_OK);
	assert_int_equal(changed, 0);
	assert_int_equal(pc_codec_proc_replace(&m, &p, &changed), PC_OK);
	assert_int_equal(changed, 0);
	raw.name = "other\xc3";
	pc_codec_proc_to_msg(&raw, PC_MASK_ALL, &m);
	assert_int_equal(pc_codec_proc_merge(&m, &p, &changed), PC_OK);
	assert_int_equal(changed, PC_BIT(PC_F_NAME));
	assert_string_equal(p.name, "other" R);
	assert_int_equal(pc_proc_set_str(&p, PC_F_USER, "\xc3\xa9\xff"), PC_OK);
	assert_string_equal(p.user, "\xc3\xa9" R);
	pc_proc_clear(&p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_char_lengths),
		cmocka_unit_test(test_repair_replaces_each_bad_byte),
		cmocka_unit_test(test_cut_at_every_byte),
		cmocka_unit_test(test_utf16_surrogates),
		cmocka_unit_test(test_record_strings_from_a_peer),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
