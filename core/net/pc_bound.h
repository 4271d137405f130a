/* pc_bound.h: the bound-file, where a binary says which URLs its listeners
 * took once they are all up: one "NAME URL" line each. Told port 0, the OS
 * picks a free port; the file tells it, so tests never guess a free port
 * and users can learn where a binary listens. */
#ifndef PC_BOUND_H
#define PC_BOUND_H

#include <stddef.h>

typedef struct pc_bound_entry {
	const char *name; /* publish, rpc, listen, metrics, ... */
	const char *url;  /* as bound (pc_listen's bound) */
} pc_bound_entry;

/* Writes the n entries to path, whole or not at all: into a temporary file
 * beside it, then renamed over it, so that a reader that sees the file
 * sees every line. PC_OK or PC_ESYS. */
int pc_bound_write(const char *path, const pc_bound_entry *e, size_t n);

#endif
