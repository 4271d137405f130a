/* pc_update.h: one tick as a Pidcast__Update, and its framing on PUB.
 *
 * A frame is a topic, "pc/" HOST "/", one NUL byte, then the protobuf
 * Update. Subscribers filter on the topic prefix ("pc/" for every host,
 * "pc/web1/" for one); the NUL ends the topic so that a protobuf decoder
 * never sees it. The encoder keeps its arrays from tick to tick, so a
 * steady agent does not allocate per tick. */
#ifndef PC_UPDATE_H
#define PC_UPDATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pc_buf.h"
#include "pc_cache.h"
#include "pidcast.pb-c.h"

#define PC_TOPIC_PREFIX    "pc/"
#define PC_DEFAULT_PUBLISH "tcp://127.0.0.1:7450" /* the agent's stream */
#define PC_HOST_MAX        255

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

/* Frames e->msg into e->frame (topic, NUL, protobuf). */
int pc_encoder_frame(pc_encoder *e);

/* Writes the topic of host into b: "pc/HOST/" and the NUL. */
void pc_topic(pc_buf *b, const char *host);

/* Decodes a frame. The topic must match the Update's host. PC_EPROTO for
 * anything malformed. Free *out with pidcast__update__free_unpacked. */
int pc_update_parse(const void *frame, size_t len, Pidcast__Update **out);

#endif
