/* pc_idmap.c: open-addressing id map (see pc_idmap.h). */
#include "base/pc_idmap.h"

#include <stdlib.h>

#include "base/pc_err.h"

#define MIN_CAP 16

/* Fibonacci hashing spreads sequential PIDs over the table. */
static size_t
slot_of(const pc_idmap *m, uint32_t id)
{
	return (size_t)((id * 2654435769u) & (uint32_t)(m->cap - 1));
}

static int
resize(pc_idmap *m, size_t cap)
{
	uint32_t *keys = calloc(cap, sizeof(*keys));
	void    **vals = calloc(cap, sizeof(*vals));
	pc_idmap  old  = *m;

	if (keys == NULL || vals == NULL) {
		free(keys);
		free(vals);
		return PC_ENOMEM;
	}
	m->keys  = keys;
	m->vals  = vals;
	m->cap   = cap;
	m->count = 0;
	for (size_t i = 0; i < old.cap; i++) {
		if (old.vals[i] != NULL) {
			size_t s = slot_of(m, old.keys[i]);
			while (m->vals[s] != NULL) {
				s = (s + 1) & (cap - 1);
			}
			m->keys[s] = old.keys[i];
			m->vals[s] = old.vals[i];
			m->count++;
		}
	}
	free(old.keys);
	free(old.vals);
	return PC_OK;
}

void
pc_idmap_fini(pc_idmap *m)
{
	free(m->keys);
	free(m->vals);
	*m = (pc_idmap)PC_IDMAP_INIT;
}

static size_t
find(const pc_idmap *m, uint32_t id, int *found)
{
	size_t s = slot_of(m, id);

	while (m->vals[s] != NULL) {
		if (m->keys[s] == id) {
			*found = 1;
			return s;
		}
		s = (s + 1) & (m->cap - 1);
	}
	*found = 0;
	return s;
}

void *
pc_idmap_get(const pc_idmap *m, uint32_t id)
{
	int    found;
	size_t s;

	if (m->cap == 0) {
		return NULL;
	}
	s = find(m, id, &found);
	return found ? m->vals[s] : NULL;
}

int
pc_idmap_set(pc_idmap *m, uint32_t id, void *val)
{
	int    found, rv;
	size_t s;

	if (val == NULL) {
		return PC_EINVAL;
	}
	if ((m->count + 1) * 4 > m->cap * 3) {
		if ((rv = resize(m, m->cap ? m->cap * 2 : MIN_CAP)) != PC_OK) {
			return rv;
		}
	}
	s = find(m, id, &found);
	if (!found) {
		m->keys[s] = id;
		m->count++;
	}
	m->vals[s] = val;
	return PC_OK;
}

void *
pc_idmap_remove(pc_idmap *m, uint32_t id)
{
	int    found;
	size_t s, next;
	void  *old;

	if (m->cap == 0) {
		return NULL;
	}
	s = find(m, id, &found);
	if (!found) {
		return NULL;
	}
	old = m->vals[s];
	/* Backward shift: move up any entry of the run that is not already
	 * between its home slot and its current slot. */
	for (next = (s + 1) & (m->cap - 1); m->vals[next] != NULL;
	     next = (next + 1) & (m->cap - 1)) {
		size_t home = slot_of(m, m->keys[next]);
		if (((next - home) & (m->cap - 1)) >= ((next - s) & (m->cap - 1))) {
			m->keys[s] = m->keys[next];
			m->vals[s] = m->vals[next];
			s          = next;
		}
	}
	m->vals[s] = NULL;
	m->count--;
	if (m->cap > MIN_CAP && m->count * 8 < m->cap) {
		(void)resize(m, m->cap / 2); /* a failed shrink only wastes room */
	}
	return old;
}

size_t
pc_idmap_count(const pc_idmap *m)
{
	return m->count;
}

void *
pc_idmap_next(const pc_idmap *m, size_t *cursor, uint32_t *id)
{
	while (*cursor < m->cap) {
		size_t i = (*cursor)++;
		if (m->vals[i] != NULL) {
			*id = m->keys[i];
			return m->vals[i];
		}
	}
	return NULL;
}
