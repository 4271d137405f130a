/* pc_proc.c: field table, copy and comparison of process records. */
#include "record/pc_proc.h"

#include <stdlib.h>
#include <string.h>

#include "base/pc_err.h"
#include "base/pc_utf8.h"

#define F(n, t)                             \
	{                                   \
#n, t, offsetof(pc_proc, n) \
	}

const pc_field_info pc_fields[PC_F_COUNT] = {
	F(ppid, PC_T_U32),           F(name, PC_T_STR),           F(exe, PC_T_STR),
	F(cmdline, PC_T_STR),        F(user, PC_T_STR),           F(threads, PC_T_U32),
	F(handles, PC_T_U32),        F(cpu_user_us, PC_T_U64),    F(cpu_system_us, PC_T_U64),
	F(rss_bytes, PC_T_U64),      F(peak_rss_bytes, PC_T_U64), F(private_bytes, PC_T_U64),
	F(page_faults, PC_T_U64),    F(io_read_ops, PC_T_U64),    F(io_write_ops, PC_T_U64),
	F(io_other_ops, PC_T_U64),   F(io_read_bytes, PC_T_U64),  F(io_write_bytes, PC_T_U64),
	F(io_other_bytes, PC_T_U64), F(partial, PC_T_BOOL),       F(kernel, PC_T_BOOL),
	F(state, PC_T_STR),          F(cgroup, PC_T_STR),         F(container_id, PC_T_STR),
	F(pod_uid, PC_T_STR),        F(service, PC_T_STR),
};

#undef F

#define AT(p, f, T)  ((T *)((char *)(p) + pc_fields[f].offset))
#define CAT(p, f, T) ((const T *)((const char *)(p) + pc_fields[f].offset))

void
pc_proc_clear(pc_proc *p)
{
	for (int f = 0; f < PC_F_COUNT; f++) {
		if (pc_fields[f].type == PC_T_STR) {
			free(*AT(p, f, char *));
		}
	}
	memset(p, 0, sizeof(*p));
}

const char *
pc_proc_state_str(char c)
{
	/* /proc's letters (fs/proc/array.c, task_state_array), and W, K, P
	 * of older kernels. */
	static const char *const all[] = { "R", "S", "D", "T", "t", "X", "Z", "P", "I", "W", "K" };

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		if (all[i][0] == c) {
			return all[i];
		}
	}
	return NULL;
}

char *
pc_strdup(const char *s)
{
	size_t n    = strlen(s) + 1;
	char  *copy = malloc(n);

	if (copy != NULL) {
		memcpy(copy, s, n);
	}
	return copy;
}

int
pc_proc_set_str(pc_proc *p, pc_field f, const char *s)
{
	char **slot = AT(p, f, char *);
	char  *copy = NULL;

	if (pc_fields[f].type != PC_T_STR) {
		return PC_EINVAL;
	}
	/* The one door of strings into a record that the probe does not fill:
	 * a peer's bytes are made valid UTF-8 here (pc_utf8.h). */
	if (s != NULL && (copy = pc_utf8_dup(s)) == NULL) {
		return PC_ENOMEM;
	}
	free(*slot);
	*slot = copy;
	return PC_OK;
}

int
pc_proc_assign(pc_proc *dst, const pc_proc *src, pc_mask mask)
{
	dst->pid            = src->pid;
	dst->create_time_ms = src->create_time_ms;
	dst->exit           = src->exit;
	for (int f = 0; f < PC_F_COUNT; f++) {
		if (!(mask & PC_BIT(f))) {
			continue;
		}
		switch (pc_fields[f].type) {
		case PC_T_U32:
			*AT(dst, f, uint32_t) = *CAT(src, f, uint32_t);
			break;
		case PC_T_U64:
			*AT(dst, f, uint64_t) = *CAT(src, f, uint64_t);
			break;
		case PC_T_BOOL:
			*AT(dst, f, bool) = *CAT(src, f, bool);
			break;
		case PC_T_STR: {
			int rv = pc_proc_set_str(dst, f, *CAT(src, f, char *));
			if (rv != PC_OK) {
				return rv;
			}
			break;
		}
		}
	}
	return PC_OK;
}

static bool
str_eq(const char *a, const char *b)
{
	if (a == NULL || b == NULL) {
		return a == b;
	}
	return strcmp(a, b) == 0;
}

pc_mask
pc_proc_diff(const pc_proc *a, const pc_proc *b)
{
	pc_mask m = 0;

	for (int f = 0; f < PC_F_COUNT; f++) {
		bool same = true;
		switch (pc_fields[f].type) {
		case PC_T_U32:
			same = *CAT(a, f, uint32_t) == *CAT(b, f, uint32_t);
			break;
		case PC_T_U64:
			same = *CAT(a, f, uint64_t) == *CAT(b, f, uint64_t);
			break;
		case PC_T_BOOL:
			same = *CAT(a, f, bool) == *CAT(b, f, bool);
			break;
		case PC_T_STR:
			same = str_eq(*CAT(a, f, char *), *CAT(b, f, char *));
			break;
		}
		if (!same) {
			m |= PC_BIT(f);
		}
	}
	return m;
}
