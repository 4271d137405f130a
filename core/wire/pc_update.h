/* pc_update.h: one tick as a Pidcast__Update, and its framing on PUB.
 *
 * A frame is a topic, "pc/" HOST "/", one NUL byte, then the protobuf
 * Update. Subscribers filter on the topic prefix ("pc/" for every host,
 * "pc/web1/" for one); the NUL ends the topic so that a protobuf decoder
 * never sees it. The encoder keeps its arrays from tick to tick, so a
 * steady agent does not allocate per tick.
 *
 * An update with more records or bytes than a part may hold is framed as
 * several parts (Update.part, Update.parts), so that no message exceeds
 * what a receiver with NNG's default limit (1 MiB) takes; the replica
 * reassembles them. */
#ifndef PC_UPDATE_H
#define PC_UPDATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/pc_buf.h"
#include "table/pc_cache.h"
#include "pidcast.pb-c.h"

#define PC_TOPIC_PREFIX    "pc/"
#define PC_DEFAULT_PUBLISH "tcp://127.0.0.1:7450" /* the agent's stream */
#define PC_HOST_MAX        255

/* Default part limits: well inside NNG's default receive limit of 1 MiB. */
#define PC_PART_RECORDS 2000
#define PC_PART_BYTES   (512u << 10)

/* The most records (upserts and exits) one received update may carry: a
 * frame is scanned for this before it is decoded, because decoding costs
 * about 300 bytes of memory for a record that can be 4 bytes on the wire. */
#define PC_UPDATE_MAX_RECORDS (1u << 20)

typedef struct pc_update_hdr {
	const char *host;
	uint64_t    instance_id;
	uint64_t    seq;
	uint64_t    time_ms;
	uint32_t    interval_ms;
} pc_update_hdr;

typedef struct pc_encoder {
	Pidcast__Update       msg;
	Pidcast__Process     *procs;
	Pidcast__Process    **proc_ptrs;
	size_t                cap_procs;
	Pidcast__ProcessKey  *keys;
	Pidcast__ProcessKey **key_ptrs;
	size_t                cap_keys;
	size_t               *cuts;   /* part i: records [cuts[i], cuts[i + 1]) */
	size_t                n_cuts; /* parts + 1; 0 when not split */
	size_t                cap_cuts;
	pc_buf                frame;
} pc_encoder;

void pc_encoder_fini(pc_encoder *e);

/* Iterates a table of records: pc_cache_next and pc_replica_next. */
typedef const pc_proc *(*pc_next_fn)(const void *table, size_t *cursor);

/* Builds e->msg: a delta from d, or a keyframe of the n records of table.
 * The message borrows from them until they change. */
int pc_encoder_delta(pc_encoder *e, const pc_update_hdr *h, const pc_delta *d);
int pc_encoder_keyframe(pc_encoder *e, const pc_update_hdr *h, pc_next_fn next, const void *table,
                        size_t n);
/* A keyframe that also carries the exits of d that have a final record
 * (status and record at the end: the keyframe's absence would say only
 * that they are gone, and nothing of one it never listed). */
int pc_encoder_keyframe_exits(pc_encoder *e, const pc_update_hdr *h, pc_next_fn next,
                              const void *table, size_t n, const pc_delta *d);

/* Frames e->msg into e->frame (topic, NUL, protobuf), whole. */
int pc_encoder_frame(pc_encoder *e);

/* Splits e->msg into *n parts of at most max_records records (upserts, then
 * exits) and max_bytes framed bytes each (0: no limit; a single record
 * larger than max_bytes gets a part of its own). Then frame each part with
 * pc_encoder_frame_part(). *n is 1 when the message fits in one. */
int pc_encoder_split(pc_encoder *e, size_t max_records, size_t max_bytes, size_t *n);
int pc_encoder_frame_part(pc_encoder *e, size_t i);

/* Whether the len bytes at host are a host name the protocol allows: 1 to
 * PC_HOST_MAX bytes of valid UTF-8, no '/' (which would make one host's
 * topic a prefix of another's) and no NUL. A host name is an identity (the
 * topic, the aggregator's key), so a bad one is refused, not repaired as
 * other text is (pc_utf8.h): two hosts' names could repair to the same. */
bool pc_host_valid(const char *host, size_t len);

/* Writes the topic of host into b: "pc/HOST/" and the NUL. */
void pc_topic(pc_buf *b, const char *host);

/* Decodes a frame. The topic must match the Update's host. PC_EPROTO for
 * anything malformed, PC_EINVAL for a topic whose host the protocol
 * forbids (pc_host_valid), PC_ETOOBIG for more than PC_UPDATE_MAX_RECORDS
 * records (the last two refused before decoding). Free *out with
 * pidcast__update__free_unpacked. */
int pc_update_parse(const void *frame, size_t len, Pidcast__Update **out);

#endif
