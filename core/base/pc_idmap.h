/* pc_idmap.h: a map from 32-bit ids (PIDs, uids) to pointers.
 *
 * Open addressing with linear probing in a power-of-two table, as NNG's
 * idhash: one array of keys and one of values, no allocation per entry, a
 * lookup that touches one or two cache lines. A NULL value marks a free
 * slot, so every id, 0 included, is a valid key but NULL is not a valid
 * value. Removal shifts the following run back, so there are no tombstones
 * and a table that churns stays as fast as a fresh one. It grows at 3/4
 * load and shrinks at 1/8. It does not own the values and is not
 * thread-safe. */
#ifndef PC_IDMAP_H
#define PC_IDMAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct pc_idmap {
	uint32_t *keys;
	void    **vals;
	size_t    cap; /* 0 or a power of two */
	size_t    count;
} pc_idmap;

#define PC_IDMAP_INIT            \
	{                        \
		NULL, NULL, 0, 0 \
	}

void   pc_idmap_fini(pc_idmap *m);
void  *pc_idmap_get(const pc_idmap *m, uint32_t id);
int    pc_idmap_set(pc_idmap *m, uint32_t id, void *val); /* PC_OK, PC_ENOMEM, PC_EINVAL */
void  *pc_idmap_remove(pc_idmap *m, uint32_t id);         /* the old value, or NULL */
size_t pc_idmap_count(const pc_idmap *m);

/* Iteration: start with *cursor = 0; returns the next value and sets *id,
 * or NULL at the end. The map must not change during the iteration. */
void *pc_idmap_next(const pc_idmap *m, size_t *cursor, uint32_t *id);

#endif
