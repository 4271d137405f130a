/* test_hostile.c: hostile peers against the real binaries. Forged frames
 * to pidcast-aggregator (updates in parts that never complete, hosts the
 * protocol forbids); under pidcast-sub, a server whose snapshot is behind
 * its stream, or that answers garbage; under pidcast-query, a reply over
 * --recv-max. Each test has its own folder (mkdtemp) for its ipc://
 * sockets and the children's output. Linux (POSIX files and /proc). */
#define _GNU_SOURCE /* mkdtemp */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <dirent.h>
#include <unistd.h>

#include <cmocka.h>
#include <nng/nng.h>
#include <nng/protocol/pubsub0/pub.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/supplemental/http/http.h>

#include "base/pc_buf.h"
#include "base/pc_err.h"
#include "pc_check.h"
#include "pc_spawn.h"
#include "platform/pc_platform.h"
#include "stream/pc_replica.h"
#include "wire/pc_update.h"
#include "pidcast.pb-c.h"

static const char   *agg_path, *sub_path, *query_path;
static unsigned long rss_margin_mib; /* 0: RSS only printed (sanitizers hold freed memory) */

typedef struct fx {
	char       dir[256];
	pc_child  *child;
	nng_socket pub, rep, req;
	bool       has_pub, has_rep, has_req;
	/* A forged update's records. */
	Pidcast__Process  *procs;
	Pidcast__Process **ptrs;
} fx;

static int
setup(void **state)
{
	fx         *x   = calloc(1, sizeof(*x));
	const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";

	if (x == NULL) {
		return 1;
	}
	snprintf(x->dir, sizeof(x->dir), "%s/pc-hostile-XXXXXX", tmp);
	if (mkdtemp(x->dir) == NULL) {
		free(x);
		return 1;
	}
	*state = x;
	return 0;
}

static int
teardown(void **state)
{
	fx            *x = *state;
	DIR           *d;
	struct dirent *e;
	char           path[512];

	if (x->child != NULL) {
		pc_child_kill(x->child);
	}
	if (x->has_pub) {
		nng_close(x->pub);
	}
	if (x->has_rep) {
		nng_close(x->rep);
	}
	if (x->has_req) {
		nng_close(x->req);
	}
	if ((d = opendir(x->dir)) != NULL) {
		while ((e = readdir(d)) != NULL) {
			if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
				snprintf(path, sizeof(path), "%s/%s", x->dir, e->d_name);
				unlink(path);
			}
		}
		closedir(d);
	}
	rmdir(x->dir);
	free(x->procs);
	free(x->ptrs);
	free(x);
	return 0;
}

/* ipc://FOLDER/NAME, or FOLDER/NAME. */
static void
url(const fx *x, char *buf, size_t cap, const char *name)
{
	snprintf(buf, cap, "ipc://%s/%s", x->dir, name);
}

static void
path(const fx *x, char *buf, size_t cap, const char *name)
{
	snprintf(buf, cap, "%s/%s", x->dir, name);
}

/* Starts argv (up to 16 words) with its stdout and stderr in the files out
 * and err of the folder; sh execs it, so the PID is the binary's. */
static void
start_logged(fx *x, const char *const *argv)
{
	char        cmd[1200];
	const char *sh[24] = { "/bin/sh", "-c", cmd };
	size_t      n      = 3;

	snprintf(cmd, sizeof(cmd), "exec \"$0\" \"$@\" >'%s/out' 2>'%s/err'", x->dir, x->dir);
	for (size_t i = 0; argv[i] != NULL && n < 23; i++) {
		sh[n++] = argv[i];
	}
	sh[n] = NULL;
	assert_non_null(x->child = pc_child_start(sh));
}

/* The file NAME of the folder, whole (NUL-terminated; empty when absent). */
static char *
slurp(const fx *x, const char *name)
{
	char   p[512];
	FILE  *f;
	pc_buf b = { 0 };
	char   chunk[4096];
	size_t n;

	path(x, p, sizeof(p), name);
	if ((f = fopen(p, "rb")) != NULL) {
		while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
			pc_buf_add(&b, chunk, n);
		}
		fclose(f);
	}
	pc_buf_add(&b, "", 1);
	assert_int_equal(b.err, PC_OK);
	return b.data;
}

static size_t
count_of(const char *text, const char *needle)
{
	size_t n = 0;

	for (const char *p = text; (p = strstr(p, needle)) != NULL; p += strlen(needle)) {
		n++;
	}
	return n;
}

/* Waits up to ms for needle in the file; true when it came. */
static bool
wait_file_has(const fx *x, const char *name, const char *needle, unsigned ms)
{
	for (unsigned waited = 0;; waited += 20) {
		char *text  = slurp(x, name);
		bool  found = strstr(text, needle) != NULL;
		free(text);
		if (found || waited >= ms) {
			return found;
		}
		pc_sleep_ms(20);
	}
}

/* A forged update of host: n processes from pid `from`, part `part` of
 * `parts` (parts 0: sent whole). */
static Pidcast__Update
forge(fx *x, const char *host, bool keyframe, uint64_t seq, uint32_t from, size_t n, uint32_t part,
      uint32_t parts)
{
	Pidcast__Update  u    = PIDCAST__UPDATE__INIT;
	Pidcast__Process init = PIDCAST__PROCESS__INIT;

	x->procs = realloc(x->procs, (n + 1) * sizeof(*x->procs));
	x->ptrs  = realloc(x->ptrs, (n + 1) * sizeof(*x->ptrs));
	assert_non_null(x->procs);
	assert_non_null(x->ptrs);
	for (size_t i = 0; i < n; i++) {
		x->procs[i]                    = init;
		x->procs[i].has_pid            = 1;
		x->procs[i].pid                = from + (uint32_t)i;
		x->procs[i].has_create_time_ms = 1;
		x->procs[i].create_time_ms     = 1700000000000ULL + from + i;
		x->procs[i].name               = "forged";
		x->ptrs[i]                     = &x->procs[i];
	}
	u.host            = (char *)host;
	u.has_instance_id = 1;
	u.instance_id     = 77;
	u.has_seq         = 1;
	u.seq             = seq;
	u.has_time_ms     = 1;
	u.time_ms         = pc_clock_realtime_ms();
	u.has_interval_ms = 1;
	u.interval_ms     = 1000;
	u.has_kind        = 1;
	u.kind      = keyframe ? PIDCAST__UPDATE__KIND__KEYFRAME : PIDCAST__UPDATE__KIND__DELTA;
	u.has_part  = parts > 0;
	u.part      = part;
	u.has_parts = parts > 0;
	u.parts     = parts;
	u.n_upserts = n;
	u.upserts   = x->ptrs;
	return u;
}

/* Frames u under the topic of `topic_host` and sends it. */
static void
send_update(nng_socket s, const char *topic_host, const Pidcast__Update *u)
{
	pc_buf b = { 0 };
	size_t n = pidcast__update__get_packed_size(u);

	pc_topic(&b, topic_host);
	assert_int_equal(pc_buf_reserve(&b, n), PC_OK);
	b.len += pidcast__update__pack(u, (uint8_t *)b.data + b.len);
	assert_int_equal(nng_send(s, b.data, b.len, 0), 0);
	pc_buf_fini(&b);
}

/* The host of that name in ListHosts: its processes, or -1 when absent. */
static long
host_processes(const Pidcast__ListHostsReply *r, const char *name)
{
	for (size_t i = 0; i < r->n_hosts; i++) {
		if (r->hosts[i]->host != NULL && strcmp(r->hosts[i]->host, name) == 0) {
			return (long)r->hosts[i]->processes;
		}
	}
	return -1;
}

/* Sends a whole keyframe of host `name` until the aggregator lists it: the
 * pipe is up, and (one pipe keeps the order) every frame sent before it
 * has been taken. */
static void
send_marker(fx *x, const char *name, unsigned limit_ms)
{
	for (unsigned waited = 0;; waited += 100) {
		Pidcast__Update u = forge(x, name, true, 1, 10, 1, 0, 0);
		send_update(x->pub, name, &u);
		pc_sleep_ms(100);
		Pidcast__ListHostsReply *r     = pc_check_hosts(x->req);
		long                     procs = host_processes(r, name);
		pidcast__list_hosts_reply__free_unpacked(r, NULL);
		if (procs == 1) {
			return;
		}
		assert_true(waited < limit_ms);
	}
}

/* An aggregator on the folder's ipc sockets (and extra args); a PUB that
 * dials it, queueing enough that nothing of a burst is dropped. */
static void
start_aggregator(fx *x, const char *metrics)
{
	char        in[300], rpc[300], bound[300];
	const char *argv[] = {
		agg_path,    "--history",         "none",         "--listen", in,   "--rpc", rpc,
		"--publish", "tcp://127.0.0.1:0", "--bound-file", bound,      NULL, NULL,    NULL
	};

	url(x, in, sizeof(in), "in");
	url(x, rpc, sizeof(rpc), "rpc");
	path(x, bound, sizeof(bound), "bound");
	if (metrics != NULL) {
		argv[11] = "--metrics";
		argv[12] = metrics;
	}
	start_logged(x, argv);
	assert_true(wait_file_has(x, "bound", "rpc ", 10000));
	x->req     = pc_check_req(rpc);
	x->has_req = true;
	assert_int_equal(nng_pub0_open(&x->pub), 0);
	x->has_pub = true;
	assert_int_equal(nng_socket_set_int(x->pub, NNG_OPT_SENDBUF, 8192), 0);
	assert_int_equal(nng_dial(x->pub, in, NULL, NNG_FLAG_NONBLOCK), 0);
	send_marker(x, "marker0", 10000);
}

/* VmRSS of a process, KiB. */
static unsigned long
rss_kib(uint32_t pid)
{
	char          p[64], line[256];
	unsigned long kib = 0;
	FILE         *f;

	snprintf(p, sizeof(p), "/proc/%u/status", pid);
	assert_non_null(f = fopen(p, "r"));
	while (fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, "VmRSS: %lu", &kib) == 1) {
			break;
		}
	}
	fclose(f);
	return kib;
}

/* The attack: 600 keyframes `part=0, parts=2` of 2,000 new
 * processes each, seq +1 each, whose part 1 never comes. Before, each was
 * applied and the host reached 1,200,000 processes (the bound is
 * 1,048,576); now none is applied, and what is held aside is one update's
 * parts at most. A keyframe whose parts all come still applies whole. */
static void
test_unfinished_parts_do_not_grow_aggregator(void **state)
{
	fx *x = *state;

	start_aggregator(x, NULL);
	unsigned long before = rss_kib(pc_child_pid(x->child));
	for (uint64_t seq = 1; seq <= 600; seq++) {
		Pidcast__Update u =
		        forge(x, "evil", true, seq, 1000 + 2000 * (uint32_t)seq, 2000, 0, 2);
		send_update(x->pub, "evil", &u);
	}
	send_marker(x, "marker1", 60000);
	unsigned long            after = rss_kib(pc_child_pid(x->child));
	Pidcast__ListHostsReply *r     = pc_check_hosts(x->req);
	long                     evil  = host_processes(r, "evil");
	pidcast__list_hosts_reply__free_unpacked(r, NULL);
	print_message("evil: %ld processes; aggregator RSS %lu -> %lu KiB\n", evil, before, after);
	assert_true(evil <= (long)PC_REPLICA_MAX_PROCS);
	assert_true(evil <= 0); /* nothing of it applied (-1: no table yet) */
	if (rss_margin_mib > 0) {
		assert_true(after < before + rss_margin_mib * 1024);
	}

	/* Both parts: applied whole. */
	for (uint32_t part = 0; part < 2; part++) {
		Pidcast__Update u = forge(x, "evil", true, 1000, 100 + 2000 * part, 2000, part, 2);
		send_update(x->pub, "evil", &u);
	}
	send_marker(x, "marker2", 10000);
	r = pc_check_hosts(x->req);
	assert_int_equal(host_processes(r, "evil"), 4000);
	pidcast__list_hosts_reply__free_unpacked(r, NULL);
}

/* An HTTP GET, whole; NULL on failure. */
static char *
http_get(const char *address)
{
	nng_url         *u   = NULL;
	nng_http_client *c   = NULL;
	nng_http_req    *req = NULL;
	nng_http_res    *res = NULL;
	nng_aio         *aio = NULL;
	char            *out = NULL;
	void            *data;
	size_t           len;

	if (nng_url_parse(&u, address) == 0 && nng_http_client_alloc(&c, u) == 0 &&
	    nng_http_req_alloc(&req, u) == 0 && nng_http_res_alloc(&res) == 0 &&
	    nng_aio_alloc(&aio, NULL, NULL) == 0) {
		nng_aio_set_timeout(aio, 5000);
		nng_http_client_transact(c, req, res, aio);
		nng_aio_wait(aio);
		if (nng_aio_result(aio) == 0) {
			nng_http_res_get_data(res, &data, &len);
			if ((out = malloc(len + 1)) != NULL) {
				memcpy(out, data, len);
				out[len] = '\0';
			}
		}
	}
	if (aio != NULL) {
		nng_aio_free(aio);
	}
	if (res != NULL) {
		nng_http_res_free(res);
	}
	if (req != NULL) {
		nng_http_req_free(req);
	}
	if (c != NULL) {
		nng_http_client_free(c);
	}
	if (u != NULL) {
		nng_url_free(u);
	}
	return out;
}

/* Hosts PROTOCOL.md §2 forbids (empty: topic `pc//`; with a `/`), and an
 * unknown host's part 1: no host is tracked for any, and the forbidden
 * names are counted and said once. */
static void
test_forbidden_hosts_are_refused(void **state)
{
	fx   *x = *state;
	char  metrics[300], *bound, *page;
	char *at;

	start_aggregator(x, "http://127.0.0.1:0/metrics");
	for (int round = 0; round < 3; round++) {
		Pidcast__Update u = forge(x, "", true, 1, 100, 5, 0, 0);
		send_update(x->pub, "", &u);
		u = forge(x, "a/b", true, 1, 100, 5, 0, 0);
		send_update(x->pub, "a/b", &u);
		u = forge(x, "lonely", true, 1, 100, 5, 1, 2);
		send_update(x->pub, "lonely", &u);
	}
	send_marker(x, "marker1", 10000);
	Pidcast__ListHostsReply *r = pc_check_hosts(x->req);
	for (size_t i = 0; i < r->n_hosts; i++) {
		print_message("host \"%s\"\n", r->hosts[i]->host);
	}
	assert_int_equal(r->n_hosts, 2); /* marker0 and marker1 */
	assert_int_equal(host_processes(r, "lonely"), -1);
	pidcast__list_hosts_reply__free_unpacked(r, NULL);

	bound = slurp(x, "bound");
	assert_non_null(at = strstr(bound, "metrics "));
	snprintf(metrics, sizeof(metrics), "%.*s", (int)strcspn(at + 8, "\n"), at + 8);
	free(bound);
	assert_non_null(page = http_get(metrics));
	assert_non_null(strstr(page, "\npidcast_aggregator_hosts_refused_total 6\n"));
	assert_null(strstr(page, "host=\"\""));
	free(page);
	char *err = slurp(x, "err");
	assert_int_equal(count_of(err, "update refused: its host is not 1 to 255 bytes"), 1);
	free(err);
}

/* A fake agent: a REP for its RPC and a PUB for its stream, in the folder. */
static void
fake_agent(fx *x, char *pub, char *rpc, size_t cap)
{
	url(x, pub, cap, "pub");
	url(x, rpc, cap, "rpc");
	assert_int_equal(nng_pub0_open(&x->pub), 0);
	x->has_pub = true;
	assert_int_equal(nng_listen(x->pub, pub, NULL, 0), 0);
	assert_int_equal(nng_rep0_open(&x->rep), 0);
	x->has_rep = true;
	assert_int_equal(nng_listen(x->rep, rpc, NULL, 0), 0);
}

/* Answers one request if one is waiting: with reply (len bytes), or when
 * reply is NULL with an OK Reply carrying payload; when both are NULL it
 * takes the request and never answers. Returns 1 if there was one. */
static int
answer(fx *x, const void *reply, size_t len, const ProtobufCMessage *payload)
{
	void          *req;
	size_t         req_len;
	Pidcast__Reply r = PIDCAST__REPLY__INIT;
	pc_buf         b = { 0 }, p = { 0 };

	if (nng_recv(x->rep, &req, &req_len, NNG_FLAG_ALLOC | NNG_FLAG_NONBLOCK) != 0) {
		return 0;
	}
	nng_free(req, req_len);
	if (reply == NULL && payload == NULL) {
		return 1;
	}
	if (reply == NULL) {
		size_t n = protobuf_c_message_get_packed_size(payload);
		assert_int_equal(pc_buf_reserve(&p, n), PC_OK);
		p.len          = protobuf_c_message_pack(payload, (uint8_t *)p.data);
		r.has_status   = 1;
		r.status       = PIDCAST__STATUS_CODE__OK;
		r.has_payload  = 1;
		r.payload.data = (uint8_t *)p.data;
		r.payload.len  = p.len;
		assert_int_equal(pc_buf_reserve(&b, pidcast__reply__get_packed_size(&r)), PC_OK);
		b.len = pidcast__reply__pack(&r, (uint8_t *)b.data);
		reply = b.data;
		len   = b.len;
	}
	assert_int_equal(nng_send(x->rep, (void *)reply, len, 0), 0);
	pc_buf_fini(&b);
	pc_buf_fini(&p);
	return 1;
}

/* Runs the fake agent for ms: a delta every 20 ms from seq 100 on, and
 * each GetSnapshot answered with the reply given (see answer()). Returns
 * the requests. */
static int
serve_for(fx *x, unsigned ms, const void *reply, size_t len, const ProtobufCMessage *payload)
{
	uint64_t seq = 100, end = pc_clock_mono_us() + (uint64_t)ms * 1000u;
	int      requests = 0;

	while (pc_clock_mono_us() < end) {
		Pidcast__Update u = forge(x, "h", false, seq++, 0, 0, 0, 0);
		send_update(x->pub, "h", &u);
		requests += answer(x, reply, len, payload);
		pc_sleep_ms(20);
	}
	return requests;
}

static void
start_sub(fx *x, const char *pub, const char *rpc)
{
	const char *argv[] = { sub_path, "--json", "--rpc", rpc, pub, NULL };

	start_logged(x, argv);
}

/* The agent's snapshot is behind its stream (seq 1 while deltas at 100 and
 * on arrive): the sub asked for a snapshot at every delta, 1,101 in 11 s.
 * Now its resyncs back off (1 s, then doubling), and each says why the
 * table is not synced, on stderr and as a JSON line. */
static void
test_sub_backs_off_a_snapshot_behind(void **state)
{
	fx             *x = *state;
	char            pub[300], rpc[300];
	Pidcast__Update snap = forge(x, "h", true, 1, 10, 0, 0, 0);

	fake_agent(x, pub, rpc, sizeof(pub));
	start_sub(x, pub, rpc);
	int requests = serve_for(x, 4000, NULL, 0, &snap.base);
	print_message("%d snapshots asked in 4 s\n", requests);
	assert_true(requests >= 2);
	assert_true(requests <= 4); /* at 0, 1, 3 s (and 7 s) */
	assert_true(wait_file_has(x, "err",
	                          "pidcast-sub: not synced: the snapshot is at seq 1, behind the "
	                          "stream at seq ",
	                          3000));
	assert_true(wait_file_has(x, "out",
	                          "{\"event\":\"unsynced\",\"reason\":\"snapshot-behind\"", 3000));
	char *err = slurp(x, "err");
	assert_true(count_of(err, "not synced") <= (size_t)requests);
	free(err);
}

/* The RPC answers garbage while deltas flow: the sub used to print
 * nothing at all; now it says so, and backs off the same. */
static void
test_sub_says_why_a_resync_failed(void **state)
{
	fx               *x = *state;
	char              pub[300], rpc[300];
	static const char garbage[] = "\xff\xff\xff\xff\x0f";

	fake_agent(x, pub, rpc, sizeof(pub));
	start_sub(x, pub, rpc);
	int requests = serve_for(x, 4000, garbage, sizeof(garbage), NULL);
	print_message("%d snapshots asked in 4 s\n", requests);
	assert_true(requests >= 2 && requests <= 4);
	assert_true(wait_file_has(x, "err",
	                          "pidcast-sub: not synced: no snapshot: malformed message", 3000));
	assert_true(wait_file_has(x, "out",
	                          "{\"event\":\"unsynced\",\"reason\":\"snapshot-failed\"", 3000));
}

/* The RPC takes the requests and never answers while deltas flow: the
 * sub said nothing; now each timed-out resync says so. */
static void
test_sub_says_when_the_rpc_is_silent(void **state)
{
	fx  *x = *state;
	char pub[300], rpc[300];

	fake_agent(x, pub, rpc, sizeof(pub));
	start_sub(x, pub, rpc);
	int requests = serve_for(x, 3000, NULL, 0, NULL);
	print_message("%d snapshots asked in 3 s\n", requests);
	assert_true(requests >= 1 && requests <= 3);
	assert_true(
	        wait_file_has(x, "err", "pidcast-sub: not synced: no snapshot: timed out", 3000));
	assert_true(wait_file_has(x, "out",
	                          "{\"event\":\"unsynced\",\"reason\":\"snapshot-failed\"", 3000));
}

/* A reply over --recv-max: the query said it could not reach the agent;
 * now it says the reply was too large, its size and the limit. */
static void
test_query_names_the_size_limit(void **state)
{
	fx         *x = *state;
	char        pub[300], rpc[300];
	static char big[1500];
	const char *argv[] = { query_path,  "--rpc", rpc,    "--recv-max", "1000",
		               "--timeout", "3s",    "list", NULL };

	memset(big, 'x', sizeof(big));
	fake_agent(x, pub, rpc, sizeof(pub));
	start_logged(x, argv);
	for (int i = 0; i < 300 && answer(x, big, sizeof(big), NULL) == 0; i++) {
		pc_sleep_ms(10);
	}
	assert_true(wait_file_has(x, "err", "pidcast-query: ", 10000));
	assert_int_equal(pc_child_wait(x->child), 2);
	x->child  = NULL;
	char *err = slurp(x, "err");
	print_message("%s", err);
	assert_non_null(strstr(err, "a reply of 1500 bytes, over the limit of 1000 bytes "
	                            "(--recv-max)"));
	assert_null(strstr(err, "cannot reach"));
	free(err);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_unfinished_parts_do_not_grow_aggregator, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_forbidden_hosts_are_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sub_backs_off_a_snapshot_behind, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_sub_says_why_a_resync_failed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sub_says_when_the_rpc_is_silent, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_query_names_the_size_limit, setup, teardown),
	};

	if (argc < 5) {
		fprintf(stderr, "usage: test_hostile AGGREGATOR SUB QUERY RSS-MARGIN-MIB\n");
		return 2;
	}
	agg_path       = argv[1];
	sub_path       = argv[2];
	query_path     = argv[3];
	rss_margin_mib = strtoul(argv[4], NULL, 10);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
