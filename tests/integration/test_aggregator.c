/* test_aggregator.c: agents with different host names dial one aggregator;
 * queries over all hosts; an agent killed with SIGKILL goes down within
 * its limit and comes back up, as a new instance, after a restart. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <nng/nng.h>
#include <nng/protocol/pubsub0/pub.h>

#include "pc_check.h"
#include "base/pc_err.h"
#include "platform/pc_platform.h"
#include "rpc/pc_rpc.h"
#include "pc_spawn.h"
#include "pc_testdir.h"
#include "wire/pc_update.h"
#include "pidcast.pb-c.h"

static const char *agent_path, *agg_path;
static char        listen_url[300], rpc_url[300];

typedef struct fx {
	pc_child  *agg;
	pc_child  *agents[2];
	char       pub[2][300]; /* each agent's stream, as bound */
	nng_socket req;
} fx;

static const char *const names[2] = { "alpha", "beta" };

/* Agent i on ports the OS picks, dialing the aggregator; its stream's URL
 * in x->pub[i] once it listens. */
static pc_child *
start_agent(fx *x, int i)
{
	char        bound[400];
	const char *argv[] = { agent_path,
		               "--host",
		               names[i],
		               "--interval",
		               "200ms",
		               "--publish",
		               "tcp://127.0.0.1:0",
		               "--rpc",
		               "tcp://127.0.0.1:0",
		               "--aggregator",
		               listen_url,
		               "--bound-file",
		               bound,
		               NULL };
	pc_child   *c;

	assert_int_equal(pc_test_path(bound, sizeof(bound), NULL), 0);
	c = pc_child_start(argv);
	assert_non_null(c);
	assert_int_equal(pc_test_bound(bound, "publish", x->pub[i], sizeof(x->pub[i]), 10000), 0);
	return c;
}

static int
setup(void **state)
{
	fx         *x = calloc(1, sizeof(*x));
	char        bound[400];
	const char *argv[] = { agg_path,
		               "--history",
		               "none",
		               "--listen",
		               "tcp://127.0.0.1:0",
		               "--rpc",
		               "tcp://127.0.0.1:0",
		               "--metrics",
		               "http://127.0.0.1:0/metrics",
		               "--publish",
		               "tcp://127.0.0.1:0",
		               "--down-after",
		               "3",
		               "--max-hosts",
		               "4",
		               "--bound-file",
		               bound,
		               NULL };

	assert_non_null(x);
	assert_int_equal(pc_test_path(bound, sizeof(bound), NULL), 0);
	x->agg = pc_child_start(argv);
	assert_non_null(x->agg);
	assert_int_equal(pc_test_bound(bound, "listen", listen_url, sizeof(listen_url), 10000), 0);
	assert_int_equal(pc_test_bound(bound, "rpc", rpc_url, sizeof(rpc_url), 10000), 0);
	for (int i = 0; i < 2; i++) {
		x->agents[i] = start_agent(x, i);
	}
	x->req = pc_check_req(rpc_url);
	*state = x;
	return 0;
}

static int
teardown(void **state)
{
	fx *x = *state;

	nng_close(x->req);
	for (int i = 0; i < 2; i++) {
		if (x->agents[i] != NULL) {
			pc_child_kill(x->agents[i]);
		}
	}
	pc_child_kill(x->agg);
	free(x);
	return 0;
}

/* The state of a host: 1 up, 0 down, -1 unknown; its instance id. */
static int
host_state(fx *x, const char *name, uint64_t *instance)
{
	Pidcast__ListHostsReply *r     = pc_check_hosts(x->req);
	int                      state = -1;

	for (size_t i = 0; i < r->n_hosts; i++) {
		if (strcmp(r->hosts[i]->host, name) == 0) {
			state = r->hosts[i]->up;
			if (instance != NULL) {
				*instance = r->hosts[i]->instance_id;
			}
		}
	}
	pidcast__list_hosts_reply__free_unpacked(r, NULL);
	return state;
}

/* Polls until the host is in that state; returns the milliseconds taken. */
static uint64_t
wait_state(fx *x, const char *name, int want, unsigned limit_ms)
{
	uint64_t t0 = pc_clock_mono_us();

	while (host_state(x, name, NULL) != want) {
		assert_true(pc_clock_mono_us() - t0 < (uint64_t)limit_ms * 1000u);
		pc_sleep_ms(20);
	}
	return (pc_clock_mono_us() - t0) / 1000u;
}

static void
test_queries_over_hosts(void **state)
{
	fx                        *x  = *state;
	Pidcast__GetProcessRequest gp = PIDCAST__GET_PROCESS_REQUEST__INIT;
	Pidcast__TopRequest        tr = PIDCAST__TOP_REQUEST__INIT;
	ProtobufCMessage          *out;
	char                       msg[256];
	int                        status;

	wait_state(x, "alpha", 1, 5000);
	wait_state(x, "beta", 1, 5000);

	/* Each host's table has each agent (they share this machine). */
	for (int i = 0; i < 2; i++) {
		gp.has_pid = 1;
		gp.pid     = pc_child_pid(x->agents[1 - i]);
		gp.host    = (char *)names[i];
		/* The other agent started after this host's first tick: it is in
		 * the table within a tick or two. */
		uint64_t t0 = pc_clock_mono_us();
		for (;;) {
			assert_int_equal(pc_rpc_call(x->req, "GetProcess", &gp.base,
			                             &pidcast__get_process_reply__descriptor, &out,
			                             &status, msg, sizeof(msg)),
			                 PC_OK);
			if (status != PIDCAST__STATUS_CODE__NOT_FOUND ||
			    pc_clock_mono_us() - t0 > 5000000u) {
				break;
			}
			pc_sleep_ms(20);
		}
		assert_int_equal(status, 0);
		Pidcast__GetProcessReply *r = (Pidcast__GetProcessReply *)out;
		assert_string_equal(r->host, names[i]);
		assert_int_equal(r->process->pid, gp.pid);
		assert_string_equal(r->process->name, "pidcast-agent");
		protobuf_c_message_free_unpacked(out, NULL);
	}
	/* Without a host, with several: a clear error. An unknown host: NOT_FOUND. */
	gp.host = NULL;
	assert_int_equal(pc_rpc_call(x->req, "GetProcess", &gp.base,
	                             &pidcast__get_process_reply__descriptor, &out, &status, msg,
	                             sizeof(msg)),
	                 PC_OK);
	assert_int_equal(status, PIDCAST__STATUS_CODE__INVALID_ARGUMENT);
	gp.host = "gamma";
	assert_int_equal(pc_rpc_call(x->req, "GetProcess", &gp.base,
	                             &pidcast__get_process_reply__descriptor, &out, &status, msg,
	                             sizeof(msg)),
	                 PC_OK);
	assert_int_equal(status, PIDCAST__STATUS_CODE__NOT_FOUND);

	/* Top spans the hosts. By RSS: the two hosts are this one machine, so
	 * each process stands in both tables with about the same RSS, while
	 * CPU rates tie at 0 on a busy machine and ties go to the first host. */
	tr.has_n  = 1;
	tr.n      = 1000;
	tr.has_by = 1;
	tr.by     = PIDCAST__TOP_REQUEST__BY__RSS;
	assert_int_equal(pc_rpc_call(x->req, "Top", &tr.base, &pidcast__top_reply__descriptor, &out,
	                             &status, msg, sizeof(msg)),
	                 PC_OK);
	assert_int_equal(status, 0);
	Pidcast__TopReply *top  = (Pidcast__TopReply *)out;
	int                seen = 0;
	for (size_t i = 0; i < top->n_entries; i++) {
		seen |= strcmp(top->entries[i]->host, "alpha") == 0 ? 1 : 0;
		seen |= strcmp(top->entries[i]->host, "beta") == 0 ? 2 : 0;
	}
	print_message("top: %zu entries, hosts seen %d\n", top->n_entries, seen);
	assert_int_equal(seen, 3);
	protobuf_c_message_free_unpacked(out, NULL);
}

static void
test_killed_agent_goes_down_and_comes_back(void **state)
{
	fx      *x      = *state;
	uint64_t before = 0, after = 0, ms;

	wait_state(x, "beta", 1, 5000);
	host_state(x, "beta", &before);
	pc_child_kill(x->agents[1]); /* SIGKILL on Linux */
	x->agents[1] = NULL;
	ms           = wait_state(x, "beta", 0, 3000);
	print_message("beta down %llu ms after SIGKILL (3 intervals of 200 ms)\n",
	              (unsigned long long)ms);
	assert_true(ms <= 1200);
	assert_int_equal(host_state(x, "alpha", NULL), 1);
	x->agents[1] = start_agent(x, 1);
	ms           = wait_state(x, "beta", 1, 3000);
	print_message("beta up %llu ms after the restart\n", (unsigned long long)ms);
	host_state(x, "beta", &after);
	assert_true(after != before);
}

/* An aggregator can dial agents too (--agent URL), with no listener. */
static void
test_aggregator_dials_agents(void **state)
{
	fx        *x = *state;
	char       bound[400], rpc[300];
	nng_socket req;
	int        up;

	assert_int_equal(pc_test_path(bound, sizeof(bound), NULL), 0);
	const char *argv[] = { agg_path,  "--history", "none",  "--listen",          "none",
		               "--agent", x->pub[0],   "--rpc", "tcp://127.0.0.1:0", "--metrics",
		               "none",    "--publish", "none",  "--bound-file",      bound,
		               NULL }; /* alpha's stream */
	pc_child   *dialer = pc_child_start(argv);
	assert_non_null(dialer);
	assert_int_equal(pc_test_bound(bound, "rpc", rpc, sizeof(rpc), 10000), 0);
	req            = pc_check_req(rpc);
	fx       other = { .req = req };
	uint64_t t0    = pc_clock_mono_us();
	while ((up = host_state(&other, "alpha", NULL)) != 1 &&
	       pc_clock_mono_us() - t0 < 5000000u) {
		pc_sleep_ms(50);
	}
	int beta = host_state(&other, "beta", NULL);
	nng_close(req);
	pc_child_kill(dialer);
	assert_int_equal(up, 1);
	assert_int_equal(beta, -1); /* beta only dials the other aggregator */
}

static const pc_proc *
no_records(const void *table, size_t *cursor)
{
	(void)table;
	(void)cursor;
	return NULL;
}

/* A peer that dials the aggregator and sends made-up hosts, garbage, and an
 * update with more records than any may have: the aggregator tracks at
 * most --max-hosts (4: alpha, beta and two made-up ones), keeps serving,
 * and the real hosts stay up. */
static void
test_hostile_peer_is_contained(void **state)
{
	fx               *x   = *state;
	pc_encoder        enc = { 0 };
	nng_socket        pub;
	size_t            n = (size_t)PC_UPDATE_MAX_RECORDS + 1, len = 9 + 2 * n;
	char              name[32];
	static const char garbage[] = "pc/evil/\0\xff\xff\xff\xff\x0f";
	/* Static, so that a failed assertion leaks nothing. */
	static uint8_t big[9 + 2 * ((size_t)PC_UPDATE_MAX_RECORDS + 1)];

	memcpy(big, "pc/evil/", 9); /* the topic and its NUL */
	for (size_t i = 0; i < n; i++) {
		big[9 + 2 * i]  = 0x3a; /* an empty upsert */
		big[10 + 2 * i] = 0x00;
	}
	wait_state(x, "alpha", 1, 5000);
	wait_state(x, "beta", 1, 5000);
	assert_int_equal(nng_pub0_open(&pub), 0);
	assert_int_equal(nng_dial(pub, listen_url, NULL, 0), 0);
	pc_sleep_ms(200); /* the aggregator's side of the pipe */
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < 10; i++) {
			snprintf(name, sizeof(name), "madeup%d", i);
			pc_update_hdr h = { name, 1000u + (uint64_t)i, 1, pc_clock_realtime_ms(),
				            1000 };
			assert_int_equal(pc_encoder_keyframe(&enc, &h, no_records, NULL, 0), PC_OK);
			assert_int_equal(pc_encoder_frame(&enc), PC_OK);
			assert_int_equal(nng_send(pub, enc.frame.data, enc.frame.len, 0), 0);
		}
		assert_int_equal(nng_send(pub, (void *)garbage, sizeof(garbage), 0), 0);
		assert_int_equal(nng_send(pub, big, len, 0), 0);
		pc_sleep_ms(100);
	}
	pc_sleep_ms(300);
	Pidcast__ListHostsReply *r = pc_check_hosts(x->req);
	assert_int_equal(r->n_hosts, 4);
	pidcast__list_hosts_reply__free_unpacked(r, NULL);
	assert_int_equal(host_state(x, "alpha", NULL), 1);
	assert_int_equal(host_state(x, "beta", NULL), 1);
	nng_close(pub);
	pc_encoder_fini(&enc);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_queries_over_hosts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_aggregator_dials_agents, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_peer_is_contained, setup, teardown),
		cmocka_unit_test_setup_teardown(test_killed_agent_goes_down_and_comes_back, setup,
		                                teardown),
	};

	if (argc < 3) {
		fprintf(stderr, "usage: test_aggregator AGENT AGGREGATOR\n");
		return 2;
	}
	agent_path = argv[1];
	agg_path   = argv[2];
	return cmocka_run_group_tests(tests, NULL, NULL);
}
