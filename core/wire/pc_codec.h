/* pc_codec.h: process records to and from their protobuf-c messages. The
 * codec knows the wire; it knows nothing of the OS. */
#ifndef PC_CODEC_H
#define PC_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "record/pc_proc.h"
#include "pidcast.pb-c.h"

/* PC_OK when the field table of pc_proc.h matches the generated descriptor
 * (same names, types and order); PC_EPROTO otherwise. */
int pc_codec_check(void);

/* Fills msg with p's key and the fields in mask. msg must have been set up
 * with PIDCAST__PROCESS__INIT; its strings are borrowed from p. */
void pc_codec_proc_to_msg(const pc_proc *p, pc_mask mask, Pidcast__Process *msg);

/* Copies a decoded message into out (which the caller cleared or holds an
 * older copy of the same process); *mask gets the fields that were present.
 * PC_EPROTO when the key is missing. */
int pc_codec_proc_from_msg(const Pidcast__Process *msg, pc_proc *out, pc_mask *mask);

/* Applies a message to the record of the same process in place: each
 * present field that differs is stored, and *changed gets those fields.
 * A string is copied only when it differs, so a keyframe of an unchanged
 * table allocates nothing. PC_EPROTO when the key is missing or is not
 * dst's; PC_ENOMEM leaves that string as it was. */
int pc_codec_proc_merge(const Pidcast__Process *msg, pc_proc *dst, pc_mask *changed);

/* As pc_codec_proc_merge, for a message that carries a whole record (a
 * keyframe's, a snapshot's): a field it does not carry is unknown there,
 * so it becomes 0 or NULL in dst too, and dst ends equal to the message. */
int pc_codec_proc_replace(const Pidcast__Process *msg, pc_proc *dst, pc_mask *changed);

/* Serialized size, and serialization into buf of at least that size. */
size_t pc_codec_proc_size(const pc_proc *p, pc_mask mask);
size_t pc_codec_proc_pack(const pc_proc *p, pc_mask mask, uint8_t *buf);

/* Decodes bytes into out, as pc_codec_proc_from_msg(). */
int pc_codec_proc_unpack(const uint8_t *buf, size_t len, pc_proc *out, pc_mask *mask);

#endif
