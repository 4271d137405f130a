/* test_fleet.c: the fleet's stream in one place. Two real agents (alpha,
 * beta) feed a real aggregator, which republishes both on its --publish
 * socket: a real pidcast-sub --json and an in-test follower follow both
 * hosts at that one address, resyncing each host through the aggregator's
 * RPC (the agents send no keyframe meanwhile); a child the test starts is
 * seen new and exited on each host; an agent restarted resyncs its host
 * alone; a subscriber that stops reading does not hold up ingest or the
 * other subscribers; GetSnapshot of an unknown host is NOT_FOUND; and
 * pidcast-query list names the host of each row. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>
#include <nng/nng.h>
#include <nng/protocol/pubsub0/pub.h>
#include <nng/protocol/reqrep0/rep.h>

#include "pc_check.h"
#include "base/pc_err.h"
#include "platform/pc_platform.h"
#include "rpc/pc_rpc.h"
#include "pc_spawn.h"
#include "pc_testdir.h"
#include "stream/pc_follow.h"
#include "wire/pc_update.h"
#include "pidcast.pb-c.h"

static const char *agent_path, *agg_path, *sub_path, *query_path, *child_path;
static char        line[1 << 20]; /* one line of a client */

/* Agents send a keyframe at seq 1 and after a peer dials their own PUB;
 * none later in a test: a subscriber of the aggregator syncs over RPC. */
#define NO_KEYFRAME "1000000"

static const char *const names[2] = { "alpha", "beta" };

typedef struct fx {
	pc_child  *agg;
	pc_child  *agents[2];
	pc_child  *kids[4]; /* clients and children, killed by teardown */
	char       listen[300], rpc[300], publish[300];
	char       agent_rpc[2][300];
	nng_socket req;
} fx;

static void
keep(fx *x, pc_child *c)
{
	for (int i = 0; i < 4; i++) {
		if (x->kids[i] == NULL) {
			x->kids[i] = c;
			return;
		}
	}
	fail_msg("too many children");
}

/* Stops c (one of x->kids) by PID. */
static void
drop(fx *x, pc_child *c)
{
	for (int i = 0; i < 4; i++) {
		if (x->kids[i] == c) {
			x->kids[i] = NULL;
		}
	}
	pc_child_kill(c);
}

static void
start_agg(fx *x, const char *publish, const char *queue)
{
	char        bound[400];
	const char *argv[] = { agg_path,
		               "--history",
		               "none",
		               "--listen",
		               "tcp://127.0.0.1:0",
		               "--rpc",
		               "tcp://127.0.0.1:0",
		               "--publish",
		               publish,
		               "--metrics",
		               "none",
		               "--bound-file",
		               bound,
		               queue ? "--publish-queue" : NULL,
		               queue,
		               NULL };

	assert_int_equal(pc_test_path(bound, sizeof(bound), NULL), 0);
	assert_non_null(x->agg = pc_child_start(argv));
	assert_int_equal(pc_test_bound(bound, "listen", x->listen, sizeof(x->listen), 10000), 0);
	assert_int_equal(pc_test_bound(bound, "rpc", x->rpc, sizeof(x->rpc), 10000), 0);
	assert_int_equal(pc_test_bound(bound, "publish", x->publish, sizeof(x->publish), 10000), 0);
	x->req = pc_check_req(x->rpc);
}

static void
start_agent(fx *x, int i, const char *interval, const char *keyframe)
{
	char        bound[400];
	const char *argv[] = { agent_path,
		               "--host",
		               names[i],
		               "--interval",
		               interval,
		               "--keyframe",
		               keyframe,
		               "--publish",
		               "tcp://127.0.0.1:0",
		               "--rpc",
		               "tcp://127.0.0.1:0",
		               "--aggregator",
		               x->listen,
		               "--bound-file",
		               bound,
		               NULL };

	assert_int_equal(pc_test_path(bound, sizeof(bound), NULL), 0);
	assert_non_null(x->agents[i] = pc_child_start(argv));
	assert_int_equal(
	        pc_test_bound(bound, "rpc", x->agent_rpc[i], sizeof(x->agent_rpc[i]), 10000), 0);
}

/* Whether the aggregator has host up and synced. */
static bool
host_ready(fx *x, const char *host, uint64_t *instance)
{
	Pidcast__ListHostsReply *r  = pc_check_hosts(x->req);
	bool                     ok = false;

	for (size_t i = 0; i < r->n_hosts; i++) {
		if (strcmp(r->hosts[i]->host, host) == 0 && r->hosts[i]->up &&
		    r->hosts[i]->synced) {
			ok = true;
			if (instance != NULL) {
				*instance = r->hosts[i]->instance_id;
			}
		}
	}
	pidcast__list_hosts_reply__free_unpacked(r, NULL);
	return ok;
}

static void
wait_ready(fx *x, const char *host, unsigned limit_ms)
{
	uint64_t until = pc_clock_mono_us() + (uint64_t)limit_ms * 1000u;

	while (!host_ready(x, host, NULL)) {
		if (pc_clock_mono_us() > until) {
			fail_msg("host %s not up at the aggregator within %u ms", host, limit_ms);
		}
		pc_sleep_ms(20);
	}
}

/* The aggregator and both agents, ticking every 200 ms, with no keyframe
 * after their first ones (at seq 1, and when their dial to the aggregator
 * connects): past seq 4, none comes any more. */
static int
setup(void **state)
{
	fx *x = calloc(1, sizeof(*x));

	assert_non_null(x);
	start_agg(x, "tcp://127.0.0.1:0", NULL);
	for (int i = 0; i < 2; i++) {
		start_agent(x, i, "200ms", NO_KEYFRAME);
	}
	for (int i = 0; i < 2; i++) {
		uint64_t until = pc_clock_mono_us() + 10000000u;
		wait_ready(x, names[i], 10000);
		while (pc_check_host_seq(x->req, names[i]) < 5) {
			assert_true(pc_clock_mono_us() < until);
			pc_sleep_ms(20);
		}
	}
	*state = x;
	return 0;
}

static int
teardown(void **state)
{
	fx *x = *state;

	for (int i = 0; i < 4; i++) {
		if (x->kids[i] != NULL) {
			pc_child_kill(x->kids[i]);
		}
	}
	nng_close(x->req);
	for (int i = 0; i < 2; i++) {
		if (x->agents[i] != NULL) {
			pc_child_kill(x->agents[i]);
		}
	}
	if (x->agg != NULL) {
		pc_child_kill(x->agg);
	}
	free(x);
	return 0;
}

/* A child of this test, with its PID, running. */
static pc_child *
start_child(fx *x)
{
	const char *argv[] = { child_path, NULL };
	pc_child   *c      = pc_child_start(argv);
	char        ready[64];

	assert_non_null(c);
	keep(x, c);
	assert_int_equal(pc_child_read_line(c, ready, sizeof(ready)), 0);
	return c;
}

/* Waits until the aggregator's table of host has pid (or, with gone, has
 * it no more). */
static void
wait_in_table(fx *x, const char *host, uint32_t pid, bool gone)
{
	Pidcast__GetProcessRequest in    = PIDCAST__GET_PROCESS_REQUEST__INIT;
	uint64_t                   until = pc_clock_mono_us() + 10000000u;
	ProtobufCMessage          *out;
	char                       msg[256];
	int                        status;

	in.has_pid = 1;
	in.pid     = pid;
	in.host    = (char *)host;
	for (;;) {
		assert_int_equal(pc_rpc_call(x->req, "GetProcess", &in.base,
		                             &pidcast__get_process_reply__descriptor, &out, &status,
		                             msg, sizeof(msg)),
		                 PC_OK);
		if (out != NULL) {
			protobuf_c_message_free_unpacked(out, NULL);
		}
		if ((status == PIDCAST__STATUS_CODE__OK) != gone) {
			return;
		}
		assert_true(pc_clock_mono_us() < until);
		pc_sleep_ms(20);
	}
}

/* --- pidcast-sub --json, read a line at a time --------------------------- */

typedef struct jl {
	char     event[16], host[64];
	uint32_t pid;
	bool     has_pid;
} jl;

/* The value of "key": in a flat JSON line (a string, unescaped: the test's
 * hosts and events need none; or a number). */
static bool
json_get(const char *l, const char *key, char *out, size_t cap)
{
	char        pat[40];
	const char *at;
	size_t      n;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	if ((at = strstr(l, pat)) == NULL) {
		return false;
	}
	at += strlen(pat);
	if (*at == '"') {
		at++;
		n = strcspn(at, "\"");
	} else {
		n = strcspn(at, ",}");
	}
	snprintf(out, cap, "%.*s", (int)(n < cap ? n : cap - 1), at);
	return true;
}

static jl
sub_line(pc_child *sub)
{
	jl   l = { 0 };
	char pid[32];

	if (pc_child_read_line(sub, line, sizeof(line)) != 0) {
		fail_msg("pidcast-sub ended (crashed?)");
	}
	if (!json_get(line, "event", l.event, sizeof(l.event))) {
		fail_msg("pidcast-sub printed a line without an event: %.300s", line);
	}
	/* Every line about a table names its host. */
	if (strcmp(l.event, "unsynced") != 0 && !json_get(line, "host", l.host, sizeof(l.host))) {
		fail_msg("a line without its host: %.300s", line);
	}
	if ((l.has_pid = json_get(line, "pid", pid, sizeof(pid)))) {
		l.pid = (uint32_t)strtoul(pid, NULL, 10);
	}
	return l;
}

/* Reads lines until event of pid has been seen for both hosts. */
static void
sub_until_both(pc_child *sub, const char *event, uint32_t pid, unsigned limit_ms)
{
	uint64_t until = pc_clock_mono_us() + (uint64_t)limit_ms * 1000u;
	int      seen  = 0;

	while (seen != 3) {
		jl l = sub_line(sub);
		if (strcmp(l.event, event) == 0 && l.has_pid && l.pid == pid) {
			seen |= strcmp(l.host, "alpha") == 0  ? 1
			        : strcmp(l.host, "beta") == 0 ? 2
			                                      : 0;
		}
		if (pc_clock_mono_us() > until) {
			fail_msg("%s of pid %u not seen on both hosts within %u ms (seen %d)",
			         event, pid, limit_ms, seen);
		}
	}
}

/* pidcast-sub follows both hosts at the aggregator's one address. It
 * starts after both hosts' keyframes, and the agents send no other, so
 * its tables come from the aggregator's snapshots of each host: a child
 * started before it is there on both hosts as "new". A child started
 * once it follows comes with the deltas, and its end too. */
static void
test_sub_follows_the_fleet(void **state)
{
	fx         *x      = *state;
	pc_child   *before = start_child(x), *after;
	uint32_t    pid;
	const char *argv[] = { sub_path, "--json", "--rpc", x->rpc, x->publish, NULL };
	pc_child   *sub;

	for (int i = 0; i < 2; i++) {
		wait_in_table(x, names[i], pc_child_pid(before), false);
	}
	assert_non_null(sub = pc_child_start(argv));
	keep(x, sub);
	sub_until_both(sub, "new", pc_child_pid(before), 10000);
	print_message("pidcast-sub: pid %u new on alpha and beta from their snapshots\n",
	              pc_child_pid(before));

	after = start_child(x);
	pid   = pc_child_pid(after);
	sub_until_both(sub, "new", pid, 10000);
	drop(x, after); /* SIGKILL */
	sub_until_both(sub, "exit", pid, 10000);
	print_message("pidcast-sub: pid %u new then exited on alpha and beta\n", pid);
	drop(x, sub);
	drop(x, before);
}

/* --- the follower, in this process --------------------------------------- */

typedef struct syncs {
	int            n[2]; /* sync reports of alpha, beta */
	pc_sync_reason last[2];
	uint64_t       instance[2];
} syncs;

static void
on_sync(void *arg, const pc_replica *r, pc_sync_reason why, uint64_t from_seq)
{
	syncs *s = arg;

	(void)from_seq;
	for (int i = 0; i < 2; i++) {
		if (strcmp(pc_replica_host(r), names[i]) == 0) {
			s->n[i]++;
			s->last[i]     = why;
			s->instance[i] = pc_replica_instance(r);
		}
	}
}

static bool
synced(pc_follow *f, const char *host)
{
	pc_replica *r = pc_follow_find(f, host);

	return r != NULL && pc_replica_synced(r);
}

/* The in-test follower of the aggregator's stream: each host resynced
 * through the aggregator's RPC and equal to its table there; beta's agent
 * restarted: beta alone resyncs, to the new instance. */
static void
test_follower_resyncs_each_host(void **state)
{
	fx            *x = *state;
	syncs          s = { 0 };
	pc_follow_opts o = {
		.url = x->publish, .rpc_url = x->rpc, .on_sync = on_sync, .sync_arg = &s
	};
	pc_follow *f;
	char       err[256];
	uint64_t   until, before = 0, after = 0;

	assert_int_equal(pc_follow_open(&f, &o, err, sizeof(err)), PC_OK);
	until = pc_clock_mono_us() + 10000000u;
	while (!synced(f, "alpha") || !synced(f, "beta")) {
		assert_true(pc_clock_mono_us() < until);
		pc_follow_poll(f, 200, NULL, NULL);
	}
	assert_int_equal(pc_follow_hosts(f), 2);
	/* No keyframe came: each host's table is a snapshot of that host. */
	assert_true(pc_follow_stats(f)->resyncs >= 2);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(s.n[i], 1);
		assert_int_equal(s.last[i], PC_SYNC_START);
		pc_check_follow_equals(f, x->req, names[i]);
	}
	print_message("follower: alpha and beta synced by %llu resyncs\n",
	              (unsigned long long)pc_follow_stats(f)->resyncs);

	host_ready(x, "beta", &before);
	pc_child_kill(x->agents[1]);
	x->agents[1] = NULL;
	start_agent(x, 1, "200ms", NO_KEYFRAME);
	until = pc_clock_mono_us() + 20000000u;
	while (!host_ready(x, "beta", &after) || after == before || s.instance[1] != after ||
	       !synced(f, "beta")) {
		assert_true(pc_clock_mono_us() < until);
		pc_follow_poll(f, 200, NULL, NULL);
	}
	/* A silence may have come between (a loaded machine starts an agent
	 * slowly); then the new instance. Alpha was never lost. */
	assert_int_equal(s.last[1], PC_SYNC_RESTART);
	assert_int_equal(s.n[0], 1);
	pc_check_follow_equals(f, x->req, "beta");
	pc_check_follow_equals(f, x->req, "alpha");
	print_message("follower: beta restarted (%d syncs of beta), alpha untouched\n", s.n[1]);
	pc_follow_close(f);
}

/* GetSnapshot names the host: that host's table, with the instance and
 * sequence the aggregator has of it; an unknown host is NOT_FOUND, also
 * through pidcast-query. */
static void
test_snapshot_of_a_host(void **state)
{
	fx                         *x  = *state;
	Pidcast__GetSnapshotRequest in = PIDCAST__GET_SNAPSHOT_REQUEST__INIT;
	ProtobufCMessage           *out;
	char                        msg[256];
	int                         status;
	uint64_t                    instance = 0;

	for (int i = 0; i < 2; i++) {
		Pidcast__Update *u = pc_check_snapshot(x->req, names[i]);
		host_ready(x, names[i], &instance);
		assert_string_equal(u->host, names[i]);
		assert_int_equal(u->kind, PIDCAST__UPDATE__KIND__KEYFRAME);
		assert_int_equal(u->instance_id, instance);
		assert_true(u->seq > 1);
		assert_true(u->n_upserts > 0);
		pidcast__update__free_unpacked(u, NULL);
	}
	in.host = "gamma";
	assert_int_equal(pc_rpc_call(x->req, "GetSnapshot", &in.base, &pidcast__update__descriptor,
	                             &out, &status, msg, sizeof(msg)),
	                 PC_OK);
	assert_int_equal(status, PIDCAST__STATUS_CODE__NOT_FOUND);
	assert_string_equal(msg, "no host 'gamma'");
	assert_null(out);

	const char *argv[] = { query_path, "--rpc", x->rpc, "--host", "gamma", "snapshot", NULL };
	pc_child   *q      = pc_child_start(argv);
	assert_non_null(q);
	assert_int_equal(pc_child_read_line(q, line, sizeof(line)), -1); /* nothing on stdout */
	assert_int_equal(pc_child_wait(q), 1);                           /* not found */
}

/* --- pidcast-query ------------------------------------------------------- */

/* Runs pidcast-query with args against rpc; its output in out (lines
 * joined by '\n'); returns its exit status. */
static int
query(const char *rpc, const char *const *args, char *out, size_t cap)
{
	const char *argv[16] = { query_path, "--rpc", rpc };
	size_t      n = 3, len = 0;
	pc_child   *q;

	for (; *args != NULL; args++) {
		argv[n++] = *args;
	}
	argv[n] = NULL;
	assert_non_null(q = pc_child_start(argv));
	out[0] = '\0';
	while (pc_child_read_line(q, line, sizeof(line)) == 0) {
		len += (size_t)snprintf(out + len, cap - len, "%s\n", line);
		assert_true(len < cap);
	}
	return pc_child_wait(q);
}

/* The line of out whose fields (split on spaces) are host then pid. */
static bool
has_row(const char *out, const char *host, uint32_t pid)
{
	for (const char *l = out; *l != '\0'; l += strcspn(l, "\n") + 1) {
		char     h[64];
		unsigned p;
		if (sscanf(l, "%63s %u", h, &p) == 2 && strcmp(h, host) == 0 && p == pid) {
			return true;
		}
		if (l[strcspn(l, "\n")] == '\0') {
			break;
		}
	}
	return false;
}

/* list from the aggregator: a HOST column, and "host" in JSON, so that one
 * PID on two hosts is two rows told apart; get names the host. From an
 * agent, list is as it was: no HOST column, no "host". */
static void
test_query_list_names_hosts(void **state)
{
	fx         *x     = *state;
	pc_child   *child = start_child(x);
	uint32_t    pid   = pc_child_pid(child);
	static char out[4 << 20];
	char        want[128], pidarg[16];

	snprintf(pidarg, sizeof(pidarg), "%u", pid);
	for (int i = 0; i < 2; i++) {
		wait_in_table(x, names[i], pid, false);
	}
	const char *list[] = { "list", NULL };
	assert_int_equal(query(x->rpc, list, out, sizeof(out)), 0);
	assert_int_equal(strncmp(out, "HOST ", 5), 0);
	assert_true(has_row(out, "alpha", pid));
	assert_true(has_row(out, "beta", pid));

	const char *json[] = { "--json", "list", "--ppid", NULL, NULL };
	char        self[16];
	snprintf(self, sizeof(self), "%u", pc_self_pid());
	json[3] = self;
	assert_int_equal(query(x->rpc, json, out, sizeof(out)), 0);
	for (int i = 0; i < 2; i++) {
		snprintf(want, sizeof(want), "{\"pid\":%u,", pid);
		char *at    = strstr(out, want);
		bool  found = false;
		for (; at != NULL; at = strstr(at + 1, want)) {
			char   host[64];
			size_t n = strcspn(at, "\n");
			char   row[8192];
			snprintf(row, sizeof(row), "%.*s", (int)n, at);
			if (json_get(row, "host", host, sizeof(host)) &&
			    strcmp(host, names[i]) == 0) {
				found = true;
			}
		}
		assert_true(found);
	}

	const char *get[] = { "--host", "beta", "get", pidarg, NULL };
	assert_int_equal(query(x->rpc, get, out, sizeof(out)), 0);
	assert_non_null(strstr(out, "\nhost: beta\n"));

	/* An agent: its list as before. */
	assert_int_equal(query(x->agent_rpc[0], list, out, sizeof(out)), 0);
	assert_int_equal(strncmp(out, "    PID ", 8), 0);
	assert_int_equal(query(x->agent_rpc[0], json, out, sizeof(out)), 0);
	snprintf(want, sizeof(want), "{\"pid\":%u,", pid);
	assert_non_null(strstr(out, want));
	assert_null(strstr(out, "\"host\":"));
	drop(x, child);
}

/* --- a subscriber that stops reading -------------------------------------- */

/* A subscriber that does the SP handshake on the aggregator's ipc:// stream
 * and then never reads: its socket fills, and the aggregator's pipe to it
 * stops. Returns the fd. */
static int
stuck_subscriber(const char *ipc_url)
{
	static const unsigned char hello[8] = { 0, 'S', 'P', 0, 0, 0x21, 0, 0 }; /* sub0 */
	struct sockaddr_un         a        = { .sun_family = AF_UNIX };
	unsigned char              peer[8];
	int                        fd, small = 4096;

	assert_int_equal(strncmp(ipc_url, "ipc://", 6), 0);
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", ipc_url + 6);
	assert_true((fd = socket(AF_UNIX, SOCK_STREAM, 0)) >= 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(write(fd, hello, sizeof(hello)), (ssize_t)sizeof(hello));
	assert_int_equal(read(fd, peer, sizeof(peer)), (ssize_t)sizeof(peer));
	assert_int_equal(peer[5], 0x20); /* pub0 */
	return fd;
}

/* Agents at 50 ms ticks, a keyframe each, on an aggregator whose publish
 * socket queues 4 messages a subscriber. One subscriber stops reading:
 * ingest goes on at the agents' pace, and a follower beside it keeps
 * applying both hosts' updates. PUB drops for the stuck one. */
static void
test_stuck_subscriber_stalls_nothing(void **state)
{
	fx            *x = calloc(1, sizeof(*x));
	char           pub[300], err[256];
	pc_follow     *f;
	pc_follow_opts o = { 0 };
	int            fd, pending = 0;
	uint64_t       seq0[2], seq1[2], applied0, until;

	*state = x;
	assert_int_equal(pc_test_path(pub + 6, sizeof(pub) - 6, NULL), 0);
	memcpy(pub, "ipc://", 6);
	start_agg(x, pub, "4");
	for (int i = 0; i < 2; i++) {
		start_agent(x, i, "50ms", "1");
	}
	for (int i = 0; i < 2; i++) {
		wait_ready(x, names[i], 10000);
	}
	fd         = stuck_subscriber(x->publish);
	o.url      = x->publish;
	o.rpc_url  = x->rpc;
	o.recv_buf = 1024;
	assert_int_equal(pc_follow_open(&f, &o, err, sizeof(err)), PC_OK);
	until = pc_clock_mono_us() + 10000000u;
	while (!synced(f, "alpha") || !synced(f, "beta")) {
		assert_true(pc_clock_mono_us() < until);
		pc_follow_poll(f, 200, NULL, NULL);
	}
	/* Until the stuck subscriber's socket is full. */
	until = pc_clock_mono_us() + 10000000u;
	for (int last = -1; pending != last || pending < 8192;) {
		last = pending;
		for (uint64_t t = pc_clock_mono_us() + 300000u; pc_clock_mono_us() < t;) {
			pc_follow_poll(f, 50, NULL, NULL);
		}
		assert_int_equal(ioctl(fd, FIONREAD, &pending), 0);
		assert_true(pc_clock_mono_us() < until);
	}
	for (int i = 0; i < 2; i++) {
		seq0[i] = pc_check_host_seq(x->req, names[i]);
	}
	applied0    = pc_follow_stats(f)->applied;
	uint64_t t0 = pc_clock_mono_us();
	for (uint64_t t = t0 + 3000000u; pc_clock_mono_us() < t;) {
		pc_follow_poll(f, 50, NULL, NULL);
	}
	double secs = (double)(pc_clock_mono_us() - t0) / 1e6;
	for (int i = 0; i < 2; i++) {
		seq1[i] = pc_check_host_seq(x->req, names[i]);
	}
	uint64_t applied = pc_follow_stats(f)->applied - applied0;
	assert_int_equal(ioctl(fd, FIONREAD, &pending), 0);
	print_message("stuck subscriber holds %d unread bytes; in %.1f s the aggregator took "
	              "%llu and %llu updates, the other follower applied %llu\n",
	              pending, secs, (unsigned long long)(seq1[0] - seq0[0]),
	              (unsigned long long)(seq1[1] - seq0[1]), (unsigned long long)applied);
	/* 20 ticks a second each; a loaded machine skips ticks, not a third
	 * of them. */
	for (int i = 0; i < 2; i++) {
		assert_true((double)(seq1[i] - seq0[i]) >= 20.0 * secs / 3.0);
	}
	assert_true((double)applied >= 2 * 20.0 * secs / 3.0);
	pc_follow_close(f);
	close(fd);
}

/* --- the follower against peers that lie ---------------------------------- */

/* A REP that answers every request with the same Reply, from NNG's
 * threads, while the test thread polls the follower. */
typedef struct liar {
	nng_socket rep;
	nng_aio   *aio;
	uint8_t    reply[512];
	size_t     len;
	bool       sending;
} liar;

static void
liar_cb(void *arg)
{
	liar    *l = arg;
	nng_msg *m;

	if (nng_aio_result(l->aio) != 0) {
		if (l->sending) {
			nng_msg_free(nng_aio_get_msg(l->aio));
		}
		return; /* closed */
	}
	if (!l->sending) {
		m = nng_aio_get_msg(l->aio);
		nng_msg_clear(m);
		nng_msg_append(m, l->reply, l->len);
		nng_aio_set_msg(l->aio, m);
		l->sending = true;
		nng_send_aio(l->rep, l->aio);
	} else {
		l->sending = false;
		nng_recv_aio(l->rep, l->aio);
	}
}

static void
send_update(nng_socket pub, const char *host, uint64_t instance, uint64_t seq, bool keyframe)
{
	pc_encoder    enc = { 0 };
	pc_update_hdr h   = { host, instance, seq, pc_clock_realtime_ms(), 1000 };
	pc_delta      d   = { 0 };

	if (keyframe) {
		assert_int_equal(pc_encoder_keyframe(&enc, &h, NULL, NULL, 0), PC_OK);
	} else {
		assert_int_equal(pc_encoder_delta(&enc, &h, &d), PC_OK);
	}
	assert_int_equal(pc_encoder_frame(&enc), PC_OK);
	assert_int_equal(nng_send(pub, enc.frame.data, enc.frame.len, 0), 0);
	pc_encoder_fini(&enc);
}

/* A stream of more hosts than the follower's limit: it follows the first
 * ones and counts the rest. A snapshot of another host than asked for
 * fills no table: the resync fails with a protocol error. */
static void
test_follower_bounds_hosts_and_checks_snapshots(void **state)
{
	liar                  l  = { 0 };
	Pidcast__Reply        rp = PIDCAST__REPLY__INIT;
	Pidcast__Update       u  = PIDCAST__UPDATE__INIT;
	uint8_t               payload[256];
	char                  pub[300], rpc[300], err[256], name[16];
	nng_socket            ps;
	pc_follow            *f;
	pc_follow_opts        o = { .max_hosts = 3 };
	const pc_resync_info *last;
	uint64_t              until;

	(void)state;
	snprintf(pub, sizeof(pub), "ipc://");
	assert_int_equal(pc_test_path(pub + 6, sizeof(pub) - 6, NULL), 0);
	snprintf(rpc, sizeof(rpc), "ipc://");
	assert_int_equal(pc_test_path(rpc + 6, sizeof(rpc) - 6, NULL), 0);
	assert_int_equal(nng_pub0_open(&ps), 0);
	assert_int_equal(nng_listen(ps, pub, NULL, 0), 0);
	/* Whatever the host asked for: a snapshot of "other". */
	u.host            = "other";
	u.has_instance_id = 1;
	u.instance_id     = 7;
	u.has_seq         = 1;
	u.seq             = 50;
	u.has_time_ms     = 1;
	u.time_ms         = pc_clock_realtime_ms();
	u.has_kind        = 1;
	u.kind            = PIDCAST__UPDATE__KIND__KEYFRAME;
	rp.has_status     = 1;
	rp.status         = PIDCAST__STATUS_CODE__OK;
	rp.has_payload    = 1;
	rp.payload.data   = payload;
	rp.payload.len    = pidcast__update__pack(&u, payload);
	l.len             = pidcast__reply__pack(&rp, l.reply);
	assert_int_equal(nng_rep0_open(&l.rep), 0);
	assert_int_equal(nng_listen(l.rep, rpc, NULL, 0), 0);
	assert_int_equal(nng_aio_alloc(&l.aio, liar_cb, &l), 0);
	nng_recv_aio(l.rep, l.aio);

	o.url     = pub;
	o.rpc_url = rpc;
	assert_int_equal(pc_follow_open(&f, &o, err, sizeof(err)), PC_OK);
	until = pc_clock_mono_us() + 10000000u;
	while (pc_follow_hosts(f) < 3 || pc_follow_stats(f)->hosts_refused == 0) {
		for (int i = 0; i < 5; i++) {
			snprintf(name, sizeof(name), "h%d", i);
			send_update(ps, name, 100 + (uint64_t)i, 1, true);
		}
		pc_follow_poll(f, 100, NULL, NULL);
		while (pc_follow_poll(f, 0, NULL, NULL) == PC_OK) {
		}
		assert_true(pc_clock_mono_us() < until);
	}
	assert_int_equal(pc_follow_hosts(f), 3);
	for (size_t i = 0; i < 3; i++) {
		pc_replica *r = pc_follow_host(f, i);
		assert_true(pc_replica_synced(r));
		assert_ptr_equal(pc_follow_find(f, pc_replica_host(r)), r);
	}
	assert_null(pc_follow_find(f, "other"));

	/* A delta past a gap of a followed host: its resync gets "other". */
	pc_replica *h0 = pc_follow_host(f, 0);
	char        host0[16];
	snprintf(host0, sizeof(host0), "%s", pc_replica_host(h0));
	uint64_t attempts = pc_follow_last_resync(f)->attempts;
	until             = pc_clock_mono_us() + 10000000u;
	while (pc_follow_last_resync(f)->attempts == attempts) {
		send_update(ps, host0, 100 + (uint64_t)(host0[1] - '0'), 9, false);
		pc_follow_poll(f, 100, NULL, NULL);
		assert_true(pc_clock_mono_us() < until);
	}
	last = pc_follow_last_resync(f);
	assert_int_equal(last->outcome, PC_RESYNC_FAILED);
	assert_int_equal(last->err, PC_EPROTO);
	assert_string_equal(last->host, host0);
	assert_false(pc_replica_synced(h0));
	assert_int_equal(pc_replica_seq(h0), 1); /* as the keyframe left it */
	assert_null(pc_follow_find(f, "other"));
	assert_int_equal(pc_follow_hosts(f), 3);
	pc_follow_close(f);
	nng_close(l.rep);
	nng_aio_free(l.aio);
	nng_close(ps);
}

static int
teardown_alone(void **state)
{
	return *state != NULL ? teardown(state) : 0;
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_sub_follows_the_fleet, setup, teardown),
		cmocka_unit_test_setup_teardown(test_follower_resyncs_each_host, setup, teardown),
		cmocka_unit_test_setup_teardown(test_snapshot_of_a_host, setup, teardown),
		cmocka_unit_test_setup_teardown(test_query_list_names_hosts, setup, teardown),
		cmocka_unit_test_teardown(test_stuck_subscriber_stalls_nothing, teardown_alone),
		cmocka_unit_test(test_follower_bounds_hosts_and_checks_snapshots),
	};

	if (argc < 6) {
		fprintf(stderr, "usage: test_fleet AGENT AGGREGATOR SUB QUERY CHILD\n");
		return 2;
	}
	agent_path = argv[1];
	agg_path   = argv[2];
	sub_path   = argv[3];
	query_path = argv[4];
	child_path = argv[5];
	return cmocka_run_group_tests(tests, NULL, NULL);
}
