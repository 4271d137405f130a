/* test_nng_pubsub.c: NNG's PUB/SUB carries an encoded record over inproc://,
 * which also proves the (static, on Windows) NNG link works. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <nng/nng.h>
#include <nng/protocol/pubsub0/pub.h>
#include <nng/protocol/pubsub0/sub.h>

#include "wire/pc_codec.h"
#include "base/pc_err.h"
#include "pc_fixture.h"

#define URL "inproc://pidcast-test"

typedef struct {
	nng_socket pub;
	nng_socket sub;
} pair;

static int
setup(void **state)
{
	pair *p = calloc(1, sizeof(*p));

	assert_non_null(p);
	assert_int_equal(nng_pub0_open(&p->pub), 0);
	assert_int_equal(nng_sub0_open(&p->sub), 0);
	assert_int_equal(nng_listen(p->pub, URL, NULL, 0), 0);
	assert_int_equal(nng_dial(p->sub, URL, NULL, 0), 0);
	assert_int_equal(nng_socket_set_ms(p->sub, NNG_OPT_RECVTIMEO, 50), 0);
	*state = p;
	return 0;
}

static int
teardown(void **state)
{
	pair *p = *state;

	nng_close(p->sub);
	nng_close(p->pub);
	free(p);
	return 0;
}

/* PUB drops messages until the subscriber's pipe is attached (the "slow
 * joiner"), so publish until one arrives, within a bound. */
static int
publish_until_received(pair *p, const void *msg, size_t len, nng_msg **got)
{
	for (int i = 0; i < 100; i++) {
		int rv = nng_send(p->pub, (void *)msg, len, 0);
		if (rv != 0) {
			return rv;
		}
		rv = nng_recvmsg(p->sub, got, 0);
		if (rv != NNG_ETIMEDOUT) {
			return rv;
		}
	}
	return NNG_ETIMEDOUT;
}

static void
test_record_crosses_pub_sub(void **state)
{
	pair    *p   = *state;
	pc_proc  in  = { 0 };
	pc_proc  out = { 0 };
	pc_mask  mask;
	uint8_t  buf[1024];
	size_t   n;
	nng_msg *m = NULL;

	assert_int_equal(nng_socket_set(p->sub, NNG_OPT_SUB_SUBSCRIBE, "", 0), 0);
	pc_fixture_proc(&in, 9);
	n = pc_codec_proc_pack(&in, PC_MASK_ALL, buf);
	assert_int_equal(publish_until_received(p, buf, n, &m), 0);
	assert_int_equal(nng_msg_len(m), n);
	assert_int_equal(pc_codec_proc_unpack(nng_msg_body(m), nng_msg_len(m), &out, &mask), PC_OK);
	assert_int_equal(mask, PC_MASK_ALL);
	assert_int_equal(pc_proc_diff(&in, &out), 0);
	assert_int_equal(out.pid, in.pid);
	nng_msg_free(m);
	pc_proc_clear(&in);
	pc_proc_clear(&out);
}

/* A subscriber only sees the topics it asked for. */
static void
test_topic_filter(void **state)
{
	pair    *p = *state;
	nng_msg *m = NULL;

	assert_int_equal(nng_socket_set(p->sub, NNG_OPT_SUB_SUBSCRIBE, "host-a/", 7), 0);
	assert_int_equal(publish_until_received(p, "host-a/x", 8, &m), 0);
	assert_memory_equal(nng_msg_body(m), "host-a/x", 8);
	nng_msg_free(m);

	assert_int_equal(nng_send(p->pub, "host-b/y", 8, 0), 0);
	assert_int_equal(nng_recvmsg(p->sub, &m, 0), NNG_ETIMEDOUT);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_record_crosses_pub_sub, setup, teardown),
		cmocka_unit_test_setup_teardown(test_topic_filter, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
