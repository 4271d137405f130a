/* pc_check.h: what the integration tests assert about tables: a REQ
 * socket to a query service, its snapshots and host list, and the checks
 * that a replica (or another snapshot) equals a snapshot at the same
 * sequence. cmocka assertions: call them from a test. */
#ifndef PC_CHECK_H
#define PC_CHECK_H

#include <nng/nng.h>

#include "base/pc_buf.h"
#include "stream/pc_follow.h"
#include "pidcast.pb-c.h"

/* A REQ socket dialed (in the background) to url, with 3 s timeouts. */
nng_socket pc_check_req(const char *url);

/* GetSnapshot; host is the aggregator's host, NULL for an agent. */
Pidcast__Update *pc_check_snapshot(nng_socket req, const char *host);

/* ListHosts of an aggregator. Free with pidcast__list_hosts_reply__free_unpacked. */
Pidcast__ListHostsReply *pc_check_hosts(nng_socket req);

/* The sequence ListHosts gives for host; 0 when it is not listed. */
uint64_t pc_check_host_seq(nng_socket req, const char *host);

/* The bytes curl gets from url into b (NUL-terminated), whole. */
void pc_check_http_get(const char *url, pc_buf *b);

/* The replica holds exactly the snapshot's processes, field by field. */
void pc_check_replica_equals(const pc_replica *r, const Pidcast__Update *s);

/* Two snapshots of one table (an agent's and an aggregator's copy) at the
 * same instance and sequence hold the same processes, field by field. */
void pc_check_updates_equal(const Pidcast__Update *a, const Pidcast__Update *b);

/* The follower's table equals the snapshot of the service at req (of
 * host, for an aggregator; the follower's table of that host too, when
 * it follows the aggregator's stream) at the same sequence. Ticks move on, so it
 * catches one tick exactly, polling the follower up to the snapshot's
 * sequence; it fails after 50 attempts. */
void pc_check_follow_equals(pc_follow *f, nng_socket req, const char *host);

#endif
