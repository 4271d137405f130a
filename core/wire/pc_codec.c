/* pc_codec.c: table-driven mapping between pc_proc and Pidcast__Process. */
#include "wire/pc_codec.h"

#include <string.h>

#include "base/pc_err.h"
#include "base/pc_utf8.h"

/* Descriptor fields are sorted by number: pid is 1, create_time_ms 2, and
 * pc_field f is number f + 3, so index f + 2. */
#define KEY_FIELDS 2

static const ProtobufCFieldDescriptor *
fdesc(int f)
{
	return &pidcast__process__descriptor.fields[KEY_FIELDS + f];
}

int
pc_codec_check(void)
{
	static const ProtobufCType want[] = {
		[PC_T_U32]  = PROTOBUF_C_TYPE_UINT32,
		[PC_T_U64]  = PROTOBUF_C_TYPE_UINT64,
		[PC_T_STR]  = PROTOBUF_C_TYPE_STRING,
		[PC_T_BOOL] = PROTOBUF_C_TYPE_BOOL,
	};
	const ProtobufCMessageDescriptor *d = &pidcast__process__descriptor;

	if (d->n_fields != KEY_FIELDS + PC_F_COUNT) {
		return PC_EPROTO;
	}
	for (int f = 0; f < PC_F_COUNT; f++) {
		const ProtobufCFieldDescriptor *fd = fdesc(f);
		if (strcmp(fd->name, pc_fields[f].name) != 0 ||
		    fd->type != want[pc_fields[f].type] ||
		    fd->id != (uint32_t)(f + KEY_FIELDS + 1)) {
			return PC_EPROTO;
		}
	}
	return PC_OK;
}

void
pc_codec_proc_to_msg(const pc_proc *p, pc_mask mask, Pidcast__Process *msg)
{
	char *m = (char *)msg;

	msg->has_pid            = 1;
	msg->pid                = p->pid;
	msg->has_create_time_ms = 1;
	msg->create_time_ms     = p->create_time_ms;
	for (int f = 0; f < PC_F_COUNT; f++) {
		const ProtobufCFieldDescriptor *fd  = fdesc(f);
		const char                     *src = (const char *)p + pc_fields[f].offset;

		if (!(mask & PC_BIT(f))) {
			continue;
		}
		if (pc_fields[f].type == PC_T_STR) {
			/* A NULL string is absent on the wire: "unknown"; in a
			 * delta (not every field), a context string that went
			 * away is sent as "", which clears it. */
			char *s = *(char *const *)src;
			if (s == NULL && mask != PC_MASK_ALL && (PC_MASK_CLEARABLE & PC_BIT(f))) {
				s = (char *)"";
			}
			*(char **)(m + fd->offset) = s;
			continue;
		}
		*(protobuf_c_boolean *)(m + fd->quantifier_offset) = 1;
		switch (pc_fields[f].type) {
		case PC_T_U32:
			memcpy(m + fd->offset, src, sizeof(uint32_t));
			break;
		case PC_T_U64:
			memcpy(m + fd->offset, src, sizeof(uint64_t));
			break;
		case PC_T_BOOL:
			*(protobuf_c_boolean *)(m + fd->offset) = *(const bool *)src;
			break;
		case PC_T_STR:
			break;
		}
	}
}

int
pc_codec_proc_from_msg(const Pidcast__Process *msg, pc_proc *out, pc_mask *mask)
{
	const char *m    = (const char *)msg;
	pc_mask     seen = 0;

	if (!msg->has_pid || !msg->has_create_time_ms) {
		return PC_EPROTO;
	}
	out->pid            = msg->pid;
	out->create_time_ms = msg->create_time_ms;
	for (int f = 0; f < PC_F_COUNT; f++) {
		const ProtobufCFieldDescriptor *fd  = fdesc(f);
		char                           *dst = (char *)out + pc_fields[f].offset;

		if (pc_fields[f].type == PC_T_STR) {
			const char *s = *(char *const *)(m + fd->offset);
			if (s != NULL && s[0] == '\0' && (PC_MASK_CLEARABLE & PC_BIT(f))) {
				seen |= PC_BIT(f); /* present: none */
				continue;
			}
			if (s != NULL) {
				int rv = pc_proc_set_str(out, f, s);
				if (rv != PC_OK) {
					return rv;
				}
				seen |= PC_BIT(f);
			}
			continue;
		}
		if (!*(const protobuf_c_boolean *)(m + fd->quantifier_offset)) {
			continue;
		}
		seen |= PC_BIT(f);
		switch (pc_fields[f].type) {
		case PC_T_U32:
			memcpy(dst, m + fd->offset, sizeof(uint32_t));
			break;
		case PC_T_U64:
			memcpy(dst, m + fd->offset, sizeof(uint64_t));
			break;
		case PC_T_BOOL:
			*(bool *)dst = *(const protobuf_c_boolean *)(m + fd->offset) != 0;
			break;
		case PC_T_STR:
			break;
		}
	}
	*mask = seen;
	return PC_OK;
}

int
pc_codec_proc_merge(const Pidcast__Process *msg, pc_proc *dst, pc_mask *changed)
{
	const char *m    = (const char *)msg;
	pc_mask     diff = 0;
	int         rv   = PC_OK;

	if (!msg->has_pid || !msg->has_create_time_ms || msg->pid != dst->pid ||
	    msg->create_time_ms != dst->create_time_ms) {
		return PC_EPROTO;
	}
	for (int f = 0; f < PC_F_COUNT; f++) {
		const ProtobufCFieldDescriptor *fd  = fdesc(f);
		char                           *at  = (char *)dst + pc_fields[f].offset;
		const char                     *src = m + fd->offset;

		if (pc_fields[f].type == PC_T_STR) {
			const char *s   = *(char *const *)src;
			const char *cur = *(char *const *)at;
			if (s != NULL && s[0] == '\0' && (PC_MASK_CLEARABLE & PC_BIT(f))) {
				if (cur != NULL) { /* cleared */
					pc_proc_set_str(dst, f, NULL);
					diff |= PC_BIT(f);
				}
				continue;
			}
			/* cur was repaired when set (pc_proc_set_str): compare
			 * what s becomes, or a peer's bad byte would count as a
			 * change at every keyframe. */
			if (s != NULL && (cur == NULL || !pc_utf8_same(s, cur))) {
				int err = pc_proc_set_str(dst, f, s);
				if (err == PC_OK) {
					diff |= PC_BIT(f);
				} else {
					rv = err;
				}
			}
			continue;
		}
		if (!*(const protobuf_c_boolean *)(m + fd->quantifier_offset)) {
			continue;
		}
		switch (pc_fields[f].type) {
		case PC_T_U32:
			if (memcmp(at, src, sizeof(uint32_t)) != 0) {
				memcpy(at, src, sizeof(uint32_t));
				diff |= PC_BIT(f);
			}
			break;
		case PC_T_U64:
			if (memcmp(at, src, sizeof(uint64_t)) != 0) {
				memcpy(at, src, sizeof(uint64_t));
				diff |= PC_BIT(f);
			}
			break;
		case PC_T_BOOL: {
			bool v = *(const protobuf_c_boolean *)src != 0;
			if (*(bool *)at != v) {
				*(bool *)at = v;
				diff |= PC_BIT(f);
			}
			break;
		}
		case PC_T_STR:
			break;
		}
	}
	*changed = diff;
	return rv;
}

int
pc_codec_proc_replace(const Pidcast__Process *msg, pc_proc *dst, pc_mask *changed)
{
	static const uint64_t zero = 0;
	const char           *m    = (const char *)msg;
	int                   rv   = pc_codec_proc_merge(msg, dst, changed);

	if (rv == PC_EPROTO) {
		return rv;
	}
	for (int f = 0; f < PC_F_COUNT; f++) {
		const ProtobufCFieldDescriptor *fd   = fdesc(f);
		char                           *at   = (char *)dst + pc_fields[f].offset;
		size_t                          size = pc_fields[f].type == PC_T_U64   ? 8
		                                       : pc_fields[f].type == PC_T_U32 ? 4
		                                                                       : sizeof(bool);

		if (pc_fields[f].type == PC_T_STR) {
			if (*(char *const *)(m + fd->offset) == NULL && *(char **)at != NULL) {
				pc_proc_set_str(dst, f, NULL);
				*changed |= PC_BIT(f);
			}
		} else if (!*(const protobuf_c_boolean *)(m + fd->quantifier_offset) &&
		           memcmp(at, &zero, size) != 0) {
			memset(at, 0, size);
			*changed |= PC_BIT(f);
		}
	}
	return rv;
}

size_t
pc_codec_proc_size(const pc_proc *p, pc_mask mask)
{
	Pidcast__Process msg = PIDCAST__PROCESS__INIT;

	pc_codec_proc_to_msg(p, mask, &msg);
	return pidcast__process__get_packed_size(&msg);
}

size_t
pc_codec_proc_pack(const pc_proc *p, pc_mask mask, uint8_t *buf)
{
	Pidcast__Process msg = PIDCAST__PROCESS__INIT;

	pc_codec_proc_to_msg(p, mask, &msg);
	return pidcast__process__pack(&msg, buf);
}

int
pc_codec_proc_unpack(const uint8_t *buf, size_t len, pc_proc *out, pc_mask *mask)
{
	Pidcast__Process *msg = pidcast__process__unpack(NULL, len, buf);
	int               rv;

	if (msg == NULL) {
		return PC_EPROTO;
	}
	rv = pc_codec_proc_from_msg(msg, out, mask);
	pidcast__process__free_unpacked(msg, NULL);
	return rv;
}
