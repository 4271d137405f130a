/* pc_follow_hosts.h: the hosts of one followed stream, by name, for the
 * follower (pc_follow.c) only.
 *
 * A stream may carry many hosts (an aggregator republishes its fleet), so
 * each host has its own table and its own resync state: a gap or a silence
 * of one host resyncs that host alone. The set finds a host by name in
 * constant time (a 32-bit hash of the name in a pc_idmap, hosts of one hash
 * chained), keeps them in order of arrival, and never moves or frees one
 * before pc_follow_hosts_fini, so a caller may hold a host's replica. It
 * does not bound itself: the follower checks its limit before adding. */
#ifndef PC_FOLLOW_HOSTS_H
#define PC_FOLLOW_HOSTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/pc_idmap.h"
#include "stream/pc_replica.h"
#include "wire/pc_update.h"

typedef struct pc_fhost {
	char             name[PC_HOST_MAX + 1]; /* "" until an update or a snapshot names it */
	uint32_t         hash;
	struct pc_fhost *next_same_hash;
	pc_replica      *rep;
	uint64_t         heard_us;      /* its last frame that decoded */
	uint64_t         resync_us;     /* its last resync attempt */
	uint64_t         resync_due_us; /* none of its own before */
	uint32_t         backoff_ms;    /* the wait after the next one that fails */
	bool             stream_seen;   /* its last update received off the stream: */
	uint64_t         stream_instance, stream_seq;
	/* What the last sync report said, to tell the next one's reason. */
	bool     ever_synced;
	uint64_t synced_instance, synced_seq;
	int      lost; /* why its table went out of sync (pc_sync_reason); -1: it did not */
} pc_fhost;

typedef struct pc_fhosts {
	pc_idmap   by_hash;
	pc_fhost **all; /* in order of arrival */
	size_t     n, cap;
} pc_fhosts;

/* The host of that name, or NULL. */
pc_fhost *pc_follow_hosts_find(const pc_fhosts *s, const char *name);

/* A new host, named name ("" for one not named yet), with an empty table.
 * PC_OK or PC_ENOMEM. */
int pc_follow_hosts_add(pc_fhosts *s, const char *name, pc_fhost **out);

/* Names a host added without a name; PC_OK or PC_ENOMEM. */
int pc_follow_hosts_name(pc_fhosts *s, pc_fhost *h, const char *name);

void pc_follow_hosts_fini(pc_fhosts *s);

#endif
