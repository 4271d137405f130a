/* test_codec.c: process records survive protobuf-c encoding field by field. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "wire/pc_codec.h"
#include "base/pc_err.h"
#include "pc_fixture.h"

static void
assert_field_equal(const pc_proc *a, const pc_proc *b, int f)
{
	const void *x = (const char *)a + pc_fields[f].offset;
	const void *y = (const char *)b + pc_fields[f].offset;

	switch (pc_fields[f].type) {
	case PC_T_U32:
		assert_int_equal(*(const uint32_t *)x, *(const uint32_t *)y);
		break;
	case PC_T_U64:
		assert_int_equal(*(const uint64_t *)x, *(const uint64_t *)y);
		break;
	case PC_T_BOOL:
		assert_int_equal(*(const bool *)x, *(const bool *)y);
		break;
	case PC_T_STR:
		assert_non_null(*(char *const *)y);
		assert_string_equal(*(char *const *)x, *(char *const *)y);
		break;
	}
}

static void
test_table_matches_descriptor(void **state)
{
	(void)state;
	assert_int_equal(pc_codec_check(), PC_OK);
}

static void
test_full_record_round_trip(void **state)
{
	pc_proc in = { 0 }, out = { 0 };
	pc_mask mask = 0;
	uint8_t buf[1024];
	size_t  n;

	(void)state;
	pc_fixture_proc(&in, 42);
	n = pc_codec_proc_size(&in, PC_MASK_ALL);
	assert_true(n > 0 && n <= sizeof(buf));
	assert_int_equal(pc_codec_proc_pack(&in, PC_MASK_ALL, buf), n);

	assert_int_equal(pc_codec_proc_unpack(buf, n, &out, &mask), PC_OK);
	assert_int_equal(mask, PC_MASK_ALL);
	assert_int_equal(out.pid, 1042);
	assert_int_equal(out.create_time_ms, 1700000000042ULL);
	for (int f = 0; f < PC_F_COUNT; f++) {
		assert_field_equal(&in, &out, f);
	}
	assert_int_equal(pc_proc_diff(&in, &out), 0);
	pc_proc_clear(&in);
	pc_proc_clear(&out);
}

/* A delta carries the key and only the masked fields; the others are absent
 * on the wire, not zero. */
static void
test_masked_record_carries_only_its_fields(void **state)
{
	pc_proc in = { 0 }, out = { 0 };
	pc_mask mask = 0, want = PC_BIT(PC_F_RSS_BYTES) | PC_BIT(PC_F_CMDLINE);
	uint8_t buf[1024];
	size_t  n;

	(void)state;
	pc_fixture_proc(&in, 7);
	n = pc_codec_proc_pack(&in, want, buf);
	assert_true(n < pc_codec_proc_size(&in, PC_MASK_ALL));
	assert_int_equal(pc_codec_proc_unpack(buf, n, &out, &mask), PC_OK);
	assert_int_equal(mask, want);
	assert_int_equal(out.pid, in.pid);
	assert_int_equal(out.create_time_ms, in.create_time_ms);
	assert_int_equal(out.rss_bytes, in.rss_bytes);
	assert_string_equal(out.cmdline, in.cmdline);
	assert_null(out.name);
	assert_int_equal(out.threads, 0);
	pc_proc_clear(&in);
	pc_proc_clear(&out);
}

static void
test_garbage_and_missing_key_are_rejected(void **state)
{
	static const uint8_t garbage[] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0x01 };
	Pidcast__Process     msg       = PIDCAST__PROCESS__INIT;
	pc_proc              in = { 0 }, out = { 0 };
	pc_mask              mask = 0;
	uint8_t              buf[1024];
	size_t               n;

	(void)state;
	assert_int_equal(pc_codec_proc_unpack(garbage, sizeof(garbage), &out, &mask), PC_EPROTO);

	/* A well-formed message without create_time_ms has no identity. */
	msg.has_pid = 1;
	msg.pid     = 5;
	n           = pidcast__process__pack(&msg, buf);
	assert_int_equal(pc_codec_proc_unpack(buf, n, &out, &mask), PC_EPROTO);

	/* Every truncation of a valid record fails cleanly, or decodes to a
	 * prefix of it (protobuf has no length header). */
	pc_fixture_proc(&in, 3);
	n = pc_codec_proc_pack(&in, PC_MASK_ALL, buf);
	for (size_t cut = 0; cut < n; cut++) {
		int rv = pc_codec_proc_unpack(buf, cut, &out, &mask);
		assert_true(rv == PC_OK || rv == PC_EPROTO);
		if (rv == PC_OK) {
			assert_int_equal(out.pid, in.pid);
			assert_true(mask != PC_MASK_ALL);
		}
		pc_proc_clear(&out);
	}
	pc_proc_clear(&in);
}

/* Merging a message into the record of the same process stores only what
 * differs, and says which fields those were. */
static void
test_merge_reports_only_changes(void **state)
{
	pc_proc          cur = { 0 }, next = { 0 };
	Pidcast__Process msg     = PIDCAST__PROCESS__INIT;
	pc_mask          changed = 0;

	(void)state;
	pc_fixture_proc(&cur, 4);
	pc_fixture_proc(&next, 4);
	pc_codec_proc_to_msg(&next, PC_MASK_ALL, &msg);
	assert_int_equal(pc_codec_proc_merge(&msg, &cur, &changed), PC_OK);
	assert_int_equal(changed, 0);

	next.rss_bytes += 1;
	pc_proc_set_str(&next, PC_F_CMDLINE, "other --args");
	msg = (Pidcast__Process)PIDCAST__PROCESS__INIT;
	pc_codec_proc_to_msg(&next, PC_MASK_ALL, &msg);
	assert_int_equal(pc_codec_proc_merge(&msg, &cur, &changed), PC_OK);
	assert_int_equal(changed, PC_BIT(PC_F_RSS_BYTES) | PC_BIT(PC_F_CMDLINE));
	assert_int_equal(pc_proc_diff(&cur, &next), 0);

	msg.pid += 1; /* another process: refused, nothing changed */
	assert_int_equal(pc_codec_proc_merge(&msg, &cur, &changed), PC_EPROTO);
	assert_int_equal(cur.pid, next.pid);
	pc_proc_clear(&cur);
	pc_proc_clear(&next);
}

/* A delta clears a context string that went away with "", which a
 * receiver stores as none; a keyframe (every field) leaves it out. */
static void
test_delta_clears_context(void **state)
{
	pc_proc          cur = { 0 }, next = { 0 }, fresh = { 0 };
	Pidcast__Process msg     = PIDCAST__PROCESS__INIT;
	pc_mask          changed = 0, mask = 0;
	pc_mask          gone = PC_BIT(PC_F_CONTAINER_ID) | PC_BIT(PC_F_SERVICE);

	(void)state;
	pc_fixture_proc(&cur, 6);
	pc_fixture_proc(&next, 6);
	pc_proc_set_str(&next, PC_F_CONTAINER_ID, NULL); /* moved out of its container */
	pc_proc_set_str(&next, PC_F_SERVICE, NULL);
	pc_codec_proc_to_msg(&next, gone, &msg);
	assert_string_equal(msg.container_id, "");
	assert_string_equal(msg.service, "");
	assert_int_equal(pc_codec_proc_merge(&msg, &cur, &changed), PC_OK);
	assert_int_equal(changed, gone);
	assert_null(cur.container_id);
	assert_null(cur.service);
	assert_int_equal(pc_proc_diff(&cur, &next), 0);
	/* Merged again: nothing left to clear. */
	assert_int_equal(pc_codec_proc_merge(&msg, &cur, &changed), PC_OK);
	assert_int_equal(changed, 0);
	/* Decoded fresh: present, and none. */
	assert_int_equal(pc_codec_proc_from_msg(&msg, &fresh, &mask), PC_OK);
	assert_int_equal(mask & gone, gone);
	assert_null(fresh.container_id);
	/* A keyframe leaves an unknown string out. */
	msg = (Pidcast__Process)PIDCAST__PROCESS__INIT;
	pc_codec_proc_to_msg(&next, PC_MASK_ALL, &msg);
	assert_null(msg.container_id);
	/* cmdline is not one of them: "" is a value (a kernel thread's). */
	pc_proc_set_str(&next, PC_F_CMDLINE, "");
	msg = (Pidcast__Process)PIDCAST__PROCESS__INIT;
	pc_codec_proc_to_msg(&next, PC_BIT(PC_F_CMDLINE), &msg);
	assert_int_equal(pc_codec_proc_merge(&msg, &cur, &changed), PC_OK);
	assert_string_equal(cur.cmdline, "");
	pc_proc_clear(&cur);
	pc_proc_clear(&next);
	pc_proc_clear(&fresh);
}

/* A whole record (a keyframe's) that no longer knows a field clears it:
 * the record then equals the message, as a fresh copy of it would. */
static void
test_replace_clears_what_is_unknown(void **state)
{
	pc_proc          cur = { 0 }, next = { 0 }, fresh = { 0 };
	Pidcast__Process msg     = PIDCAST__PROCESS__INIT;
	pc_mask          changed = 0, mask;

	(void)state;
	pc_fixture_proc(&cur, 5);
	pc_fixture_proc(&next, 5);
	pc_proc_set_str(&next, PC_F_EXE, NULL); /* say, a zombie's */
	pc_codec_proc_to_msg(&next, PC_MASK_ALL, &msg);
	msg.has_handles = 0; /* and a count no longer read */
	next.handles    = 0;

	assert_int_equal(pc_codec_proc_merge(&msg, &cur, &changed), PC_OK);
	assert_int_equal(changed, 0); /* a delta's absent fields are unchanged */
	assert_int_equal(pc_codec_proc_replace(&msg, &cur, &changed), PC_OK);
	assert_int_equal(changed, PC_BIT(PC_F_EXE) | PC_BIT(PC_F_HANDLES));
	assert_null(cur.exe);
	assert_int_equal(pc_proc_diff(&cur, &next), 0);
	assert_int_equal(pc_codec_proc_from_msg(&msg, &fresh, &mask), PC_OK);
	assert_int_equal(pc_proc_diff(&cur, &fresh), 0);
	assert_int_equal(pc_codec_proc_replace(&msg, &cur, &changed), PC_OK);
	assert_int_equal(changed, 0);
	pc_proc_clear(&cur);
	pc_proc_clear(&next);
	pc_proc_clear(&fresh);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table_matches_descriptor),
		cmocka_unit_test(test_full_record_round_trip),
		cmocka_unit_test(test_masked_record_carries_only_its_fields),
		cmocka_unit_test(test_garbage_and_missing_key_are_rejected),
		cmocka_unit_test(test_merge_reports_only_changes),
		cmocka_unit_test(test_replace_clears_what_is_unknown),
		cmocka_unit_test(test_delta_clears_context),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
