/* pc_match.h: the context filters every client offers (ListProcesses,
 * pidcast-query list, pidcast-sub): by container, service and cgroup. */
#ifndef PC_MATCH_H
#define PC_MATCH_H

#include <stdbool.h>

#include "record/pc_proc.h"

typedef struct pc_context_filter {
	const char *container;   /* the container id starts with it (a short id works) */
	const char *service;     /* one of the process's services is exactly it */
	const char *cgroup_glob; /* the cgroup path matches the glob ('*' crosses '/') */
} pc_context_filter;

/* Whether p passes every filter that is set (not NULL); a process without
 * the field passes none of the filters on it, so an empty container
 * prefix picks every process in a container. */
bool pc_match_context(const pc_proc *p, const pc_context_filter *f);

#endif
