/* pc_agg_groups.c: process groups' totals by name, in order of last use. */
#include "pc_agg_groups.h"

#include <stdlib.h>
#include <string.h>

#include "base/pc_err.h"

/* FNV-1a: the names are short, and a collision costs only a chain step. */
static uint32_t
hash(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s != '\0'; s++) {
		h = (h ^ (uint8_t)*s) * 16777619u;
	}
	return h;
}

pc_group *
pc_groups_find(const pc_groups *s, const char *name)
{
	pc_group *g = pc_idmap_get(&s->map, hash(name));

	while (g != NULL && strcmp(g->name, name) != 0) {
		g = g->chain;
	}
	return g;
}

static void
unlink_order(pc_groups *s, pc_group *g)
{
	if (g->older != NULL) {
		g->older->newer = g->newer;
	} else {
		s->oldest = g->newer;
	}
	if (g->newer != NULL) {
		g->newer->older = g->older;
	} else {
		s->newest = g->older;
	}
	g->older = g->newer = NULL;
}

static void
link_newest(pc_groups *s, pc_group *g)
{
	g->older = s->newest;
	g->newer = NULL;
	if (s->newest != NULL) {
		s->newest->newer = g;
	} else {
		s->oldest = g;
	}
	s->newest = g;
}

pc_group *
pc_groups_use(pc_groups *s, const char *name)
{
	pc_group *g = pc_groups_find(s, name);
	size_t    len;

	if (g != NULL) {
		unlink_order(s, g);
		link_newest(s, g);
		return g;
	}
	len = strlen(name);
	if ((g = calloc(1, sizeof(*g))) == NULL || (g->name = malloc(len + 1)) == NULL) {
		free(g);
		return NULL;
	}
	memcpy(g->name, name, len + 1);
	g->hash  = hash(name);
	g->chain = pc_idmap_get(&s->map, g->hash);
	if (pc_idmap_set(&s->map, g->hash, g) != PC_OK) {
		free(g->name);
		free(g);
		return NULL;
	}
	link_newest(s, g);
	s->n++;
	return g;
}

void
pc_groups_drop(pc_groups *s, pc_group *g)
{
	pc_group *head = pc_idmap_get(&s->map, g->hash);

	if (head == g) {
		/* Removed first, the map cannot need to grow to take the chain's
		 * next: the set after it does not fail. */
		(void)pc_idmap_remove(&s->map, g->hash);
		if (g->chain != NULL) {
			(void)pc_idmap_set(&s->map, g->hash, g->chain);
		}
	} else {
		/* head is NULL only if a set above once failed for memory. */
		while (head != NULL && head->chain != g) {
			head = head->chain;
		}
		if (head != NULL) {
			head->chain = g->chain;
		}
	}
	unlink_order(s, g);
	s->n--;
	free(g->name);
	free(g);
}

void
pc_groups_fini(pc_groups *s)
{
	while (s->oldest != NULL) {
		pc_groups_drop(s, s->oldest);
	}
	pc_idmap_fini(&s->map);
	memset(s, 0, sizeof(*s));
}

void
pc_gtot_add_counters(pc_gtot *to, const pc_gtot *from)
{
	to->cpu_user_us += from->cpu_user_us;
	to->cpu_system_us += from->cpu_system_us;
	to->io_read_bytes += from->io_read_bytes;
	to->io_write_bytes += from->io_write_bytes;
	to->io_read_ops += from->io_read_ops;
	to->io_write_ops += from->io_write_ops;
}
