/* pc_winsvc.h: which Windows services each process hosts, from the service
 * control manager: one EnumServicesStatusExW call lists every running
 * service with its process id, so a dozen services in one svchost.exe are
 * named without a call per process. Windows only; both backends use it. */
#ifndef PC_WINSVC_H
#define PC_WINSVC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct pc_win_services {
	struct pc_win_svc *by_pid; /* sorted by pid */
	size_t             n;
	uint64_t           last_tick; /* of the last refresh */
	bool               read;      /* refreshed at least once */
} pc_win_services;

/* Lists the services again when due: at the first call, then once in
 * PC_PROBE_CONTEXT_EVERY ticks, so a service started in a running process
 * shows within as many ticks. A failed listing keeps the last one; the
 * names of the last one stay valid until a refresh succeeds. */
void pc_win_services_tick(pc_win_services *s, uint64_t tick);

/* The names of the services pid hosts, sorted, comma-separated; NULL for
 * none. Valid until the next refresh. */
const char *pc_win_services_of(const pc_win_services *s, uint32_t pid);

void pc_win_services_fini(pc_win_services *s);

#endif
