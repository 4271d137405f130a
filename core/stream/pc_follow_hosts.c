/* pc_follow_hosts.c: a followed stream's hosts by name (pc_follow_hosts.h). */
#include "stream/pc_follow_hosts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/pc_err.h"

/* FNV-1a: short names, no adversary gain from collisions but a longer
 * chain, which the host limit bounds. */
static uint32_t
hash_of(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s != '\0'; s++) {
		h = (h ^ (uint8_t)*s) * 16777619u;
	}
	return h;
}

pc_fhost *
pc_follow_hosts_find(const pc_fhosts *s, const char *name)
{
	pc_fhost *h = pc_idmap_get(&s->by_hash, hash_of(name));

	while (h != NULL && strcmp(h->name, name) != 0) {
		h = h->next_same_hash;
	}
	return h;
}

static int
index_name(pc_fhosts *s, pc_fhost *h, const char *name)
{
	pc_fhost *first;

	snprintf(h->name, sizeof(h->name), "%s", name);
	h->hash           = hash_of(h->name);
	first             = pc_idmap_get(&s->by_hash, h->hash);
	h->next_same_hash = first;
	if (pc_idmap_set(&s->by_hash, h->hash, h) != PC_OK) {
		h->name[0]        = '\0';
		h->next_same_hash = NULL;
		return PC_ENOMEM;
	}
	return PC_OK;
}

int
pc_follow_hosts_add(pc_fhosts *s, const char *name, pc_fhost **out)
{
	pc_fhost *h;

	if (s->n == s->cap) {
		size_t     cap = s->cap ? s->cap * 2 : 4;
		pc_fhost **all = realloc(s->all, cap * sizeof(*all));
		if (all == NULL) {
			return PC_ENOMEM;
		}
		s->all = all;
		s->cap = cap;
	}
	if ((h = calloc(1, sizeof(*h))) == NULL || pc_replica_open(&h->rep) != PC_OK) {
		free(h);
		return PC_ENOMEM;
	}
	h->lost = -1;
	if (name[0] != '\0' && index_name(s, h, name) != PC_OK) {
		pc_replica_close(h->rep);
		free(h);
		return PC_ENOMEM;
	}
	s->all[s->n++] = h;
	*out           = h;
	return PC_OK;
}

int
pc_follow_hosts_name(pc_fhosts *s, pc_fhost *h, const char *name)
{
	return index_name(s, h, name);
}

void
pc_follow_hosts_fini(pc_fhosts *s)
{
	for (size_t i = 0; i < s->n; i++) {
		pc_replica_close(s->all[i]->rep);
		free(s->all[i]);
	}
	free(s->all);
	pc_idmap_fini(&s->by_hash);
	memset(s, 0, sizeof(*s));
}
