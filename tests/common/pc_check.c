/* pc_check.c: snapshots and host lists over RPC, pages over HTTP, and table comparisons for tests.
 */
#define _GNU_SOURCE /* popen */
#include "pc_check.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <nng/protocol/reqrep0/req.h>

#include "wire/pc_codec.h"
#include "base/pc_err.h"
#include "base/pc_idmap.h"
#include "platform/pc_platform.h"
#include "rpc/pc_rpc.h"

nng_socket
pc_check_req(const char *url)
{
	nng_socket req;

	assert_int_equal(nng_req0_open(&req), 0);
	assert_int_equal(nng_socket_set_ms(req, NNG_OPT_RECVTIMEO, 3000), 0);
	assert_int_equal(nng_socket_set_ms(req, NNG_OPT_SENDTIMEO, 3000), 0);
	/* A request sent on a pipe that then dies (an agent killed and started
	 * again under it) is sent again on the new one, as pidcast-query's
	 * are, instead of waiting out the 3 s above: a test that restarts its
	 * peer must not depend on when the old connection was noticed gone. */
	assert_int_equal(nng_socket_set_ms(req, NNG_OPT_REQ_RESENDTIME, 500), 0);
	assert_int_equal(pc_rpc_set_reply_max(req, 64u << 20), PC_OK);
	assert_int_equal(nng_dial(req, url, NULL, NNG_FLAG_NONBLOCK), 0);
	return req;
}

Pidcast__Update *
pc_check_snapshot(nng_socket req, const char *host)
{
	Pidcast__GetSnapshotRequest in  = PIDCAST__GET_SNAPSHOT_REQUEST__INIT;
	ProtobufCMessage           *out = NULL;
	char                        msg[256];
	int                         status = -1;

	in.host = (char *)host;
	assert_int_equal(pc_rpc_call(req, "GetSnapshot", &in.base, &pidcast__update__descriptor,
	                             &out, &status, msg, sizeof(msg)),
	                 PC_OK);
	assert_int_equal(status, PIDCAST__STATUS_CODE__OK);
	return (Pidcast__Update *)out;
}

Pidcast__ListHostsReply *
pc_check_hosts(nng_socket req)
{
	Pidcast__ListHostsRequest in  = PIDCAST__LIST_HOSTS_REQUEST__INIT;
	ProtobufCMessage         *out = NULL;
	char                      msg[256];
	int                       status = -1;

	assert_int_equal(pc_rpc_call(req, "ListHosts", &in.base,
	                             &pidcast__list_hosts_reply__descriptor, &out, &status, msg,
	                             sizeof(msg)),
	                 PC_OK);
	assert_int_equal(status, 0);
	return (Pidcast__ListHostsReply *)out;
}

/* got equals the whole record of a snapshot: what it does not carry is
 * unknown (0, NULL) in got too. */
static void
assert_proc_is(const pc_proc *got, const Pidcast__Process *want_msg)
{
	pc_proc want = { 0 };
	pc_mask mask;

	assert_int_equal(pc_codec_proc_from_msg(want_msg, &want, &mask), PC_OK);
	assert_non_null(got);
	assert_int_equal(got->create_time_ms, want.create_time_ms);
	assert_int_equal(pc_proc_diff(got, &want), 0);
	pc_proc_clear(&want);
}

void
pc_check_replica_equals(const pc_replica *r, const Pidcast__Update *s)
{
	assert_int_equal(pc_replica_instance(r), s->instance_id);
	assert_int_equal(pc_replica_seq(r), s->seq);
	assert_int_equal(pc_replica_count(r), s->n_upserts);
	for (size_t i = 0; i < s->n_upserts; i++) {
		assert_proc_is(pc_replica_get(r, s->upserts[i]->pid), s->upserts[i]);
	}
}

void
pc_check_updates_equal(const Pidcast__Update *a, const Pidcast__Update *b)
{
	pc_idmap by_pid = PC_IDMAP_INIT;

	assert_string_equal(a->host, b->host);
	assert_int_equal(a->instance_id, b->instance_id);
	assert_int_equal(a->seq, b->seq);
	assert_int_equal(a->n_upserts, b->n_upserts);
	for (size_t i = 0; i < b->n_upserts; i++) {
		assert_int_equal(pc_idmap_set(&by_pid, b->upserts[i]->pid, b->upserts[i]), PC_OK);
	}
	for (size_t i = 0; i < a->n_upserts; i++) {
		const Pidcast__Process *m   = pc_idmap_get(&by_pid, a->upserts[i]->pid);
		pc_proc                 got = { 0 };
		pc_mask                 mask;
		assert_non_null(m);
		assert_int_equal(pc_codec_proc_from_msg(m, &got, &mask), PC_OK);
		assert_proc_is(&got, a->upserts[i]);
		pc_proc_clear(&got);
	}
	pc_idmap_fini(&by_pid);
}

void
pc_check_follow_equals(pc_follow *f, nng_socket req, const char *host)
{
	for (int attempt = 0; attempt < 50; attempt++) {
		Pidcast__Update *s = pc_check_snapshot(req, host);
		pc_replica      *r = host != NULL ? pc_follow_find(f, host) : pc_follow_replica(f);

		/* Bounded in time too: a follower slower than the stream (under
		 * valgrind, on a loaded machine) can receive frames forever
		 * without reaching the snapshot's sequence. A follower of many
		 * hosts may not have met this one yet. */
		uint64_t until = pc_clock_mono_us() + 3000000u;
		while ((r == NULL || pc_replica_seq(r) < s->seq) && pc_clock_mono_us() < until &&
		       pc_follow_poll(f, 300, NULL, NULL) == PC_OK) {
			r = host != NULL ? pc_follow_find(f, host) : pc_follow_replica(f);
		}
		if (r == NULL || pc_replica_seq(r) != s->seq || !pc_replica_synced(r) ||
		    pc_replica_instance(r) != s->instance_id) {
			pidcast__update__free_unpacked(s, NULL);
			continue;
		}
		pc_check_replica_equals(r, s);
		pidcast__update__free_unpacked(s, NULL);
		return;
	}
	fail_msg("never caught the follower at the snapshot's sequence");
}

uint64_t
pc_check_host_seq(nng_socket req, const char *host)
{
	Pidcast__ListHostsReply *r   = pc_check_hosts(req);
	uint64_t                 seq = 0;

	for (size_t i = 0; i < r->n_hosts; i++) {
		if (strcmp(r->hosts[i]->host, host) == 0) {
			seq = r->hosts[i]->seq;
		}
	}
	pidcast__list_hosts_reply__free_unpacked(r, NULL);
	return seq;
}

void
pc_check_http_get(const char *url, pc_buf *b)
{
	char   cmd[700], chunk[4096];
	FILE  *p;
	size_t n;

	pc_buf_reset(b);
	snprintf(cmd, sizeof(cmd), "curl -sf --max-time 5 '%s'", url);
	assert_non_null(p = popen(cmd, "r"));
	while ((n = fread(chunk, 1, sizeof(chunk), p)) > 0) {
		pc_buf_add(b, chunk, n);
	}
	pclose(p);
	pc_buf_add(b, "", 1);
	b->len--;
	assert_int_equal(b->err, PC_OK);
}
