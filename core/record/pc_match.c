/* pc_match.c: the context filters (see pc_match.h). */
#include "record/pc_match.h"

#include <string.h>

#include "base/pc_glob.h"

static bool
set(const char *s)
{
	return s != NULL;
}

/* One of list's comma-separated names (Windows' services of one process)
 * is name. */
static bool
in_list(const char *list, const char *name)
{
	size_t n = strlen(name);

	for (const char *at = list;;) {
		size_t len = strcspn(at, ",");
		if (len == n && strncmp(at, name, n) == 0) {
			return true;
		}
		if (at[len] == '\0') {
			return false;
		}
		at += len + 1;
	}
}

bool
pc_match_context(const pc_proc *p, const pc_context_filter *f)
{
	if (set(f->container) && (p->container_id == NULL || strncmp(p->container_id, f->container,
	                                                             strlen(f->container)) != 0)) {
		return false;
	}
	if (set(f->service) && (p->service == NULL || !in_list(p->service, f->service))) {
		return false;
	}
	if (set(f->cgroup_glob) && (p->cgroup == NULL || !pc_glob(f->cgroup_glob, p->cgroup))) {
		return false;
	}
	return true;
}
