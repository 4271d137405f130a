/* test_stream.c: a real agent process, real NNG sockets (tcp:// and
 * ipc://), and the follower library that pidcast-sub uses: processes seen
 * within two ticks, late join, loss and resync, agent restart, delta size,
 * and an RPC server that survives bad requests. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/stat.h>

#include <cmocka.h>
#include <nng/nng.h>
#include <nng/protocol/pubsub0/sub.h>

#include "pc_check.h"
#include "base/pc_err.h"
#include "stream/pc_follow.h"
#include "platform/pc_platform.h"
#include "rpc/pc_rpc.h"
#include "pc_spawn.h"
#include "pc_testdir.h"
#include "wire/pc_update.h"

static const char *agent_path;
static const char *child_path;
static const char *nngcat_path;

typedef struct fx {
	char       pub[512];
	char       rpc[512];
	pc_child  *agent;
	pc_child  *other; /* another process the test started, if any */
	pc_follow *f;
	nng_socket req;
} fx;

/* URLs of the test's own: for tcp port 0, the ports the agent took read
 * back from its bound-file once it listens; ipc paths in the test's folder. */
static void
make_urls(fx *x, bool tcp)
{
	char path[400];

	if (tcp) {
		snprintf(x->pub, sizeof(x->pub), "tcp://127.0.0.1:0");
		snprintf(x->rpc, sizeof(x->rpc), "tcp://127.0.0.1:0");
	} else {
		assert_int_equal(pc_test_path(path, sizeof(path), NULL), 0);
		snprintf(x->pub, sizeof(x->pub), "ipc://%s.pub", path);
		snprintf(x->rpc, sizeof(x->rpc), "ipc://%s.rpc", path);
	}
}

/* Starts the agent on x's URLs, and waits until it listens: then x's URLs
 * are those it bound (a restart binds them again); extra: more flags,
 * NULL-terminated, or NULL. */
static void
start_agent_with(fx *x, const char *interval, const char *keyframe, const char *const *extra)
{
	char        bound[400];
	const char *argv[26] = { agent_path,   "--publish",    x->pub,       "--rpc",  x->rpc,
		                 "--interval", interval,       "--keyframe", keyframe, "--host",
		                 "testhost",   "--bound-file", bound };
	size_t      n        = 13;

	assert_int_equal(pc_test_path(bound, sizeof(bound), NULL), 0);
	for (; extra != NULL && *extra != NULL && n < 25; extra++) {
		argv[n++] = *extra;
	}
	argv[n]  = NULL;
	x->agent = pc_child_start(argv);
	assert_non_null(x->agent);
	assert_int_equal(pc_test_bound(bound, "publish", x->pub, sizeof(x->pub), 10000), 0);
	assert_int_equal(pc_test_bound(bound, "rpc", x->rpc, sizeof(x->rpc), 10000), 0);
}

static void
start_agent(fx *x, const char *interval, const char *keyframe)
{
	start_agent_with(x, interval, keyframe, NULL);
}

static void
open_follower(fx *x, bool rpc, int recv_buf)
{
	pc_follow_opts o = { .url = x->pub, .rpc_url = rpc ? x->rpc : NULL, .recv_buf = recv_buf };
	char           err[256];

	assert_int_equal(pc_follow_open(&x->f, &o, err, sizeof(err)), PC_OK);
}

static void
open_req(fx *x)
{
	x->req = pc_check_req(x->rpc);
}

static int
teardown(void **state)
{
	fx *x = *state;

	pc_follow_close(x->f);
	nng_close(x->req);
	if (x->agent != NULL) {
		pc_child_kill(x->agent);
	}
	if (x->other != NULL) {
		pc_child_kill(x->other);
	}
	/* A killed agent leaves its ipc sockets behind. */
	if (strncmp(x->pub, "ipc://", 6) == 0) {
		remove(x->pub + 6);
		remove(x->rpc + 6);
	}
	free(x);
	return 0;
}

static int
setup(void **state)
{
	*state = calloc(1, sizeof(fx));
	return *state == NULL;
}

/* Polls until the follower has received n more frames. */
static void
receive(fx *x, uint64_t n)
{
	/* Ticks, not messages: a busy host's keyframe comes in parts. */
	uint64_t want = pc_replica_seq(pc_follow_replica(x->f)) + n;

	for (int i = 0; i < 100 && pc_replica_seq(pc_follow_replica(x->f)) < want; i++) {
		int rv = pc_follow_poll(x->f, 100, NULL, NULL);
		assert_true(rv == PC_OK || rv == PC_ETIMEDOUT);
	}
	assert_true(pc_replica_seq(pc_follow_replica(x->f)) >= want);
}

/* Polls until the table holds an update of a tick that began after t_ms
 * (Unix ms, the agent's clock, which is this machine's): what the OS had
 * at t_ms is in it. Returns how many ticks of the agent that was after
 * t_ms, by tick times. */
static uint64_t
receive_after(fx *x, uint64_t t_ms)
{
	const pc_replica *r = pc_follow_replica(x->f);

	for (int i = 0; i < 200 && pc_replica_time_ms(r) <= t_ms; i++) {
		int rv = pc_follow_poll(x->f, 100, NULL, NULL);
		assert_true(rv == PC_OK || rv == PC_ETIMEDOUT);
	}
	assert_true(pc_replica_time_ms(r) > t_ms);
	return (pc_replica_time_ms(r) - t_ms + pc_replica_interval_ms(r) - 1) /
	       pc_replica_interval_ms(r);
}

static void
wait_synced(fx *x)
{
	for (int i = 0; i < 100 && !pc_replica_synced(pc_follow_replica(x->f)); i++) {
		pc_follow_poll(x->f, 100, NULL, NULL);
	}
	assert_true(pc_replica_synced(pc_follow_replica(x->f)));
}

/* The follower's table equals the agent's snapshot at the same sequence. */
static void
assert_equals_agent(fx *x)
{
	pc_check_follow_equals(x->f, x->req, NULL);
	assert_string_equal(pc_replica_host(pc_follow_replica(x->f)), "testhost");
}

/* A process the test starts is seen within two ticks, and so is its exit. */
static void
sees_start_and_exit(fx *x)
{
	const char *argv[] = { child_path, NULL };
	char        line[64];
	pc_child   *child;
	uint32_t    pid;
	uint64_t    ticks;

	start_agent(x, "200ms", "30");
	open_follower(x, true, 0);
	wait_synced(x);
	receive(x, 1);
	child = x->other = pc_child_start(argv);
	assert_non_null(child);
	assert_int_equal(pc_child_read_line(child, line, sizeof(line)), 0);
	pid = pc_child_pid(child);
	/* The first tick that began after it started has it (the next tick,
	 * or the one after on a machine so loaded that the agent skips one),
	 * however far behind the stream this follower is. */
	ticks = receive_after(x, pc_clock_realtime_ms());
	assert_non_null(pc_replica_get(pc_follow_replica(x->f), pid));
	assert_int_equal(pc_replica_get(pc_follow_replica(x->f), pid)->ppid, pc_self_pid());
	x->other = NULL;
	int st   = pc_child_wait(child);
	assert_int_equal(st, 0);
	ticks += receive_after(x, pc_clock_realtime_ms());
	assert_null(pc_replica_get(pc_follow_replica(x->f), pid));
	print_message("start and exit each seen in the first tick after them (%llu ticks in "
	              "all)\n",
	              (unsigned long long)ticks);
}

static void
test_start_and_exit_tcp(void **state)
{
	make_urls(*state, true);
	sees_start_and_exit(*state);
}

static void
test_start_and_exit_ipc(void **state)
{
	fx         *x = *state;
	struct stat st;

	make_urls(x, false);
	sees_start_and_exit(x);
	/* ipc sockets are the owner's only, by default. */
	assert_int_equal(stat(x->pub + 6, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(stat(x->rpc + 6, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
}

/* A subscriber that joins late resyncs over RPC and equals the agent. */
static void
test_late_subscriber_converges(void **state)
{
	fx *x = *state;

	make_urls(x, true);
	start_agent(x, "100ms", "1000");
	open_req(x);
	pc_sleep_ms(700); /* several deltas gone by, no keyframe soon */
	open_follower(x, true, 0);
	wait_synced(x);
	assert_equals_agent(x);
}

/* A subscriber too slow for the stream (a queue of one message, paused)
 * loses updates, sees the gap, resyncs, and equals the agent again. */
static void
test_lossy_subscriber_resyncs(void **state)
{
	fx *x = *state;

	make_urls(x, false);
	start_agent(x, "50ms", "1000");
	open_req(x);
	open_follower(x, true, 1);
	wait_synced(x);
	receive(x, 3);
	uint64_t gaps = pc_follow_stats(x->f)->gaps, resyncs = pc_follow_stats(x->f)->resyncs;
	pc_sleep_ms(1000); /* paused: ~20 ticks, the queue keeps one */
	receive(x, 3);
	assert_true(pc_follow_stats(x->f)->gaps > gaps);
	assert_true(pc_follow_stats(x->f)->resyncs > resyncs);
	assert_equals_agent(x);
}

/* Updates split into parts of 50 records and at most 16 KiB: a follower
 * with no RPC and a 16 KiB receive limit can only sync by putting the
 * keyframe's parts together, and then equals the agent. */
static void
test_keyframe_in_parts(void **state)
{
	fx               *x       = *state;
	const char *const extra[] = { "--part-records", "50", "--part-bytes", "16384", NULL };

	/* A frame over 16 KiB would be dropped by this follower's socket. */
	pc_follow_opts o = { .url = x->pub, .recv_max = 16384 };
	char           err[256];

	make_urls(x, true);
	o.url = x->pub;
	start_agent_with(x, "100ms", "5", extra);
	open_req(x);
	assert_int_equal(pc_follow_open(&x->f, &o, err, sizeof(err)), PC_OK);
	wait_synced(x);
	assert_int_equal(pc_follow_stats(x->f)->resyncs, 0);
	/* The keyframe it synced from came in parts of 50 records at most:
	 * all but its last were held aside (counted in parts). */
	assert_true((pc_follow_stats(x->f)->parts + 1) * 50 >=
	            pc_replica_count(pc_follow_replica(x->f)));
	assert_equals_agent(x);
	assert_int_equal(pc_follow_stats(x->f)->bad, 0);
}

/* Without RPC, a subscriber recovers from the next keyframe. */
static void
test_recovers_from_keyframe_without_rpc(void **state)
{
	fx *x = *state;

	make_urls(x, true);
	start_agent(x, "100ms", "10");
	open_req(x); /* only for the test's own comparison */
	open_follower(x, false, 0);
	wait_synced(x);
	assert_int_equal(pc_follow_stats(x->f)->resyncs, 0);
	assert_equals_agent(x);
}

/* The agent restarts under the subscriber: a new instance id, a resync. */
static void
test_agent_restart_detected(void **state)
{
	fx      *x = *state;
	uint64_t first;

	/* ipc: a restart binds the same path again, which no other process
	 * can take meanwhile, as it could a TCP port. */
	make_urls(x, false);
	start_agent(x, "100ms", "1000");
	open_req(x);
	open_follower(x, true, 0);
	wait_synced(x);
	first = pc_replica_instance(pc_follow_replica(x->f));
	pc_child_kill(x->agent);
	x->agent = NULL;
	start_agent(x, "100ms", "1000");
	for (int i = 0; i < 100 && pc_replica_instance(pc_follow_replica(x->f)) == first; i++) {
		pc_follow_poll(x->f, 100, NULL, NULL);
	}
	assert_true(pc_replica_instance(pc_follow_replica(x->f)) != first);
	assert_equals_agent(x);
}

/* Deltas carry only what changed: processes that the test keeps idle are
 * in every keyframe and in no delta, however busy the rest of the machine
 * is. Sizes straight off a SUB socket, printed. */
#define IDLE 20
static void
test_delta_smaller_than_keyframe(void **state)
{
	fx         *x = *state;
	nng_socket  sub;
	size_t      key = 0, delta_max = 0, deltas = 0, keyframes = 0;
	pc_child   *idle[IDLE];
	uint32_t    pids[IDLE];
	char        line[64];
	const char *argv[] = { child_path, NULL };

	for (int i = 0; i < IDLE; i++) {
		assert_non_null(idle[i] = pc_child_start(argv));
		assert_int_equal(pc_child_read_line(idle[i], line, sizeof(line)), 0); /* ready */
		pids[i] = pc_child_pid(idle[i]);
	}
	make_urls(x, false);
	start_agent(x, "100ms", "5");
	assert_int_equal(nng_sub0_open(&sub), 0);
	assert_int_equal(nng_socket_set(sub, NNG_OPT_SUB_SUBSCRIBE, "pc/testhost/", 12), 0);
	assert_int_equal(nng_socket_set_ms(sub, NNG_OPT_RECVTIMEO, 3000), 0);
	assert_int_equal(nng_dial(sub, x->pub, NULL, NNG_FLAG_NONBLOCK), 0);
	/* A keyframe of a busy host comes in parts: the idle ones are counted
	 * over all of its parts. */
	size_t key_seen = 0;
	bool   in_key   = false;
	for (int i = 0; i < 400 && (keyframes < 1 || deltas < 8); i++) {
		Pidcast__Update *u;
		void            *buf;
		size_t           len, seen = 0;
		assert_int_equal(nng_recv(sub, &buf, &len, NNG_FLAG_ALLOC), 0);
		assert_int_equal(pc_update_parse(buf, len, &u), PC_OK);
		for (size_t r = 0; r < u->n_upserts; r++) {
			for (int k = 0; k < IDLE; k++) {
				seen += u->upserts[r]->pid == pids[k];
			}
		}
		bool first = !u->has_parts || u->parts <= 1 || u->part == 0;
		bool last  = !u->has_parts || u->parts <= 1 || u->part + 1 == u->parts;
		if (u->kind == PIDCAST__UPDATE__KIND__KEYFRAME) {
			if (first) { /* a keyframe from its start: key and key_seen sum its parts */
				in_key   = true;
				key      = 0;
				key_seen = 0;
			}
			if (in_key) {
				key += len;
				key_seen += seen;
			}
			if (in_key && last) {
				keyframes++;
				in_key = false;
				assert_int_equal(key_seen, IDLE);
			}
		} else if (keyframes > 0) { /* deltas after the first keyframe */
			delta_max = len > delta_max ? len : delta_max;
			deltas++;
			assert_int_equal(seen, 0);
		}
		pidcast__update__free_unpacked(u, NULL);
		nng_free(buf, len);
	}
	nng_close(sub);
	for (int i = 0; i < IDLE; i++) {
		pc_child_kill(idle[i]);
	}
	print_message("keyframe %zu bytes, largest of %zu deltas %zu bytes; %d idle processes "
	              "in every keyframe and no delta\n",
	              key, deltas, delta_max, IDLE);
	assert_true(key > 0 && deltas > 0);
	assert_true(delta_max < key);
}

static int
raw_call(fx *x, const void *req, size_t len)
{
	void           *buf;
	size_t          n;
	Pidcast__Reply *r;
	int             status;

	assert_int_equal(nng_send(x->req, (void *)req, len, 0), 0);
	assert_int_equal(nng_recv(x->req, &buf, &n, NNG_FLAG_ALLOC), 0);
	r = pidcast__reply__unpack(NULL, n, buf);
	nng_free(buf, n);
	assert_non_null(r);
	assert_true(r->has_status);
	status = r->status;
	if (status != PIDCAST__STATUS_CODE__OK) {
		assert_non_null(r->message);
		assert_true(strlen(r->message) > 0);
	}
	pidcast__reply__free_unpacked(r, NULL);
	return status;
}

/* Garbage, a truncated request, an unknown method and a bad payload get
 * clear errors, and the server goes on answering. */
static void
test_rpc_survives_bad_requests(void **state)
{
	fx                        *x         = *state;
	static const uint8_t       garbage[] = { 0xff, 0x00, 0x13, 0x37, 0xde, 0xad, 0xbe, 0xef };
	Pidcast__Request           r         = PIDCAST__REQUEST__INIT;
	Pidcast__GetProcessRequest gp        = PIDCAST__GET_PROCESS_REQUEST__INIT;
	uint8_t                    buf[256], payload[32];
	size_t                     n;
	ProtobufCMessage          *out;
	char                       msg[256];
	int                        status;

	make_urls(x, true);
	start_agent(x, "100ms", "30");
	open_req(x);
	assert_int_equal(raw_call(x, garbage, sizeof(garbage)),
	                 PIDCAST__STATUS_CODE__INVALID_ARGUMENT);

	/* Over the request limit: refused with a reply, not dropped. */
	uint8_t *big = calloc(1, 3 * PC_RPC_MAX_REQUEST / 2);
	assert_non_null(big);
	assert_int_equal(raw_call(x, big, 3 * PC_RPC_MAX_REQUEST / 2),
	                 PIDCAST__STATUS_CODE__RESOURCE_EXHAUSTED);
	free(big);

	r.method = "Bogus";
	n        = pidcast__request__pack(&r, buf);
	assert_int_equal(raw_call(x, buf, n), PIDCAST__STATUS_CODE__UNIMPLEMENTED);

	gp.has_pid     = 1;
	gp.pid         = pc_child_pid(x->agent);
	r.method       = "GetProcess";
	r.has_payload  = 1;
	r.payload.data = payload;
	r.payload.len  = pidcast__get_process_request__pack(&gp, payload);
	n              = pidcast__request__pack(&r, buf);
	assert_int_equal(raw_call(x, buf, n - 1), PIDCAST__STATUS_CODE__INVALID_ARGUMENT);
	payload[0]    = 0xff; /* a payload that does not decode */
	r.payload.len = 1;
	n             = pidcast__request__pack(&r, buf);
	assert_int_equal(raw_call(x, buf, n), PIDCAST__STATUS_CODE__INVALID_ARGUMENT);

	/* Still serving: the agent finds itself, and not a PID that is not. */
	assert_int_equal(pc_rpc_call(x->req, "GetProcess", &gp.base,
	                             &pidcast__get_process_reply__descriptor, &out, &status, msg,
	                             sizeof(msg)),
	                 PC_OK);
	assert_int_equal(status, PIDCAST__STATUS_CODE__OK);
	Pidcast__GetProcessReply *reply = (Pidcast__GetProcessReply *)out;
	assert_int_equal(reply->process->pid, pc_child_pid(x->agent));
	assert_string_equal(reply->host, "testhost");
	protobuf_c_message_free_unpacked(out, NULL);
	gp.pid = 0x7ffffff0u;
	assert_int_equal(pc_rpc_call(x->req, "GetProcess", &gp.base,
	                             &pidcast__get_process_reply__descriptor, &out, &status, msg,
	                             sizeof(msg)),
	                 PC_OK);
	assert_int_equal(status, PIDCAST__STATUS_CODE__NOT_FOUND);
	assert_null(out);
}

/* The agent refuses to start, clearly, on an address in use. */
static void
test_agent_fails_on_address_in_use(void **state)
{
	fx *x = *state;

	make_urls(x, true);
	start_agent(x, "100ms", "30");
	const char *argv[] = {
		agent_path, "--publish", x->pub, "--rpc", "tcp://127.0.0.1:1", NULL
	};
	x->other = pc_child_start(argv);
	assert_non_null(x->other);
	int st   = pc_child_wait(x->other);
	x->other = NULL;
	assert_int_equal(st, 1);
}

/* nngcat, knowing nothing of pidcast, receives one message a tick. */
static void
test_nngcat_gets_one_message_a_tick(void **state)
{
	fx         *x = *state;
	static char line[1 << 24]; /* a keyframe is one line, of a host of 10,000 processes too */
	int         lines = 0;
	uint64_t    t0;

	/* Whole updates: a host of more than 2000 processes would otherwise
	 * send its keyframe in parts, more than one message that tick. */
	const char *const whole[] = { "--part-records", "0", "--part-bytes", "0", NULL };

	make_urls(x, true);
	start_agent_with(x, "200ms", "30", whole);
	const char *argv[] = { nngcat_path, "--sub",  "--connect", x->pub, "--subscribe", "pc/",
		               "--format",  "quoted", "--count",   "6",    NULL };
	t0                 = pc_clock_mono_us();
	x->other           = pc_child_start(argv);
	assert_non_null(x->other);
	while (pc_child_read_line(x->other, line, sizeof(line)) == 0) {
		assert_memory_equal(line, "\"pc/testhost/\\x00", 17);
		lines++;
	}
	int st   = pc_child_wait(x->other);
	x->other = NULL;
	assert_int_equal(st, 0);
	uint64_t ms = (pc_clock_mono_us() - t0) / 1000u;
	print_message("6 messages in %llu ms at one tick every 200 ms\n", (unsigned long long)ms);
	assert_int_equal(lines, 6);
	/* Six messages span at least five ticks: not two a tick, none missed. */
	assert_true(ms >= 950 && ms <= 2500);
}

int
main(int argc, char **argv)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_start_and_exit_tcp),
		T(test_start_and_exit_ipc),
		T(test_late_subscriber_converges),
		T(test_lossy_subscriber_resyncs),
		T(test_recovers_from_keyframe_without_rpc),
		T(test_keyframe_in_parts),
		T(test_agent_restart_detected),
		T(test_delta_smaller_than_keyframe),
		T(test_rpc_survives_bad_requests),
		T(test_agent_fails_on_address_in_use),
		T(test_nngcat_gets_one_message_a_tick),
	};

	if (argc < 4) {
		fprintf(stderr, "usage: test_stream AGENT PC_CHILD NNGCAT\n");
		return 2;
	}
	agent_path  = argv[1];
	child_path  = argv[2];
	nngcat_path = argv[3];
	return cmocka_run_group_tests(tests, NULL, NULL);
}
