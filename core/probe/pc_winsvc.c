/* pc_winsvc.c: the running services by process id (see pc_winsvc.h). */
#include <windows.h>

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "base/pc_buf.h"
#include "probe/pc_probe.h"
#include "probe/pc_winproc.h"
#include "probe/pc_winsvc.h"

struct pc_win_svc {
	uint32_t pid;
	char    *names; /* "a,b" */
};

typedef struct one {
	uint32_t pid;
	char    *name;
} one;

static int
by_pid_name(const void *a, const void *b)
{
	const one *x = a, *y = b;

	if (x->pid != y->pid) {
		return x->pid < y->pid ? -1 : 1;
	}
	return strcmp(x->name, y->name);
}

static void
free_list(struct pc_win_svc *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].names);
	}
	free(v);
}

/* Every running Win32 service with its process, as one array; NULL when
 * the SCM cannot be asked (or is out of memory). */
static ENUM_SERVICE_STATUS_PROCESSW *
enumerate(DWORD *count)
{
	SC_HANDLE scm                   = OpenSCManagerW(NULL, NULL, SC_MANAGER_ENUMERATE_SERVICE);
	ENUM_SERVICE_STATUS_PROCESSW *v = NULL;
	DWORD                         need = 0, resume = 0;

	*count = 0;
	if (scm == NULL) {
		return NULL;
	}
	/* The first call says how much room the list needs; services may
	 * start meanwhile, so ask again with more until it fits. */
	for (int tries = 0; tries < 4; tries++) {
		DWORD got = 0;
		if (EnumServicesStatusExW(scm, SC_ENUM_PROCESS_INFO, SERVICE_WIN32, SERVICE_ACTIVE,
		                          (LPBYTE)v, v != NULL ? need : 0, &need, &got, &resume,
		                          NULL)) {
			*count = got;
			break;
		}
		free(v);
		v = NULL;
		if (GetLastError() != ERROR_MORE_DATA || (v = malloc(need + 4096)) == NULL) {
			break;
		}
		need += 4096;
		resume = 0;
	}
	CloseServiceHandle(scm);
	if (*count == 0) {
		free(v);
		return NULL;
	}
	return v;
}

/* The list of (pid, name) pairs grouped into one entry a pid. */
static struct pc_win_svc *
group(one *all, size_t n, size_t *out_n)
{
	struct pc_win_svc *v = calloc(n > 0 ? n : 1, sizeof(*v));
	size_t             k = 0;
	pc_buf             b = { 0 };

	if (v == NULL) {
		return NULL;
	}
	qsort(all, n, sizeof(*all), by_pid_name);
	for (size_t i = 0; i < n;) {
		size_t j = i;
		pc_buf_reset(&b);
		for (; j < n && all[j].pid == all[i].pid; j++) {
			pc_buf_printf(&b, "%s%s", j > i ? "," : "", all[j].name);
		}
		if (b.err != 0 || (v[k].names = malloc(b.len + 1)) == NULL) {
			free_list(v, k);
			pc_buf_fini(&b);
			return NULL;
		}
		memcpy(v[k].names, b.data, b.len);
		v[k].names[b.len] = '\0';
		v[k++].pid        = all[i].pid;
		i                 = j;
	}
	pc_buf_fini(&b);
	*out_n = k;
	return v;
}

static void
refresh(pc_win_services *s)
{
	DWORD                         count;
	ENUM_SERVICE_STATUS_PROCESSW *v = enumerate(&count);
	one                          *all;
	size_t                        n = 0, groups = 0;
	struct pc_win_svc            *fresh;

	if (v == NULL) {
		return;
	}
	if ((all = calloc(count, sizeof(*all))) == NULL) {
		free(v);
		return;
	}
	for (DWORD i = 0; i < count; i++) {
		DWORD pid = v[i].ServiceStatusProcess.dwProcessId;
		if (pid != 0 && (all[n].name = pc_win_utf8(v[i].lpServiceName, -1)) != NULL) {
			all[n++].pid = pid;
		}
	}
	free(v);
	fresh = group(all, n, &groups);
	for (size_t i = 0; i < n; i++) {
		free(all[i].name);
	}
	free(all);
	if (fresh != NULL) {
		free_list(s->by_pid, s->n);
		s->by_pid = fresh;
		s->n      = groups;
	}
}

void
pc_win_services_tick(pc_win_services *s, uint64_t tick)
{
	if (s->read && tick - s->last_tick < PC_PROBE_CONTEXT_EVERY) {
		return;
	}
	s->read      = true;
	s->last_tick = tick;
	refresh(s);
}

const char *
pc_win_services_of(const pc_win_services *s, uint32_t pid)
{
	size_t lo = 0, hi = s->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (s->by_pid[mid].pid == pid) {
			return s->by_pid[mid].names;
		}
		if (s->by_pid[mid].pid < pid) {
			lo = mid + 1;
		} else {
			hi = mid;
		}
	}
	return NULL;
}

void
pc_win_services_fini(pc_win_services *s)
{
	free_list(s->by_pid, s->n);
	memset(s, 0, sizeof(*s));
}
