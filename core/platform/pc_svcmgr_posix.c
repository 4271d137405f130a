/* pc_svcmgr_posix.c: no service manager API on Linux: systemd runs the
 * agent as an ordinary process with dist/pidcast-agent.service. */
#include "base/pc_err.h"
#include "platform/pc_svcmgr.h"

int
pc_svcmgr_install(const char *name, const char *display, char *const *args, int n)
{
	(void)name;
	(void)display;
	(void)args;
	(void)n;
	return PC_ENOTSUP;
}

int
pc_svcmgr_uninstall(const char *name)
{
	(void)name;
	return PC_ENOTSUP;
}

int
pc_svcmgr_run(const char *name, pc_svcmgr_body body, void *arg)
{
	(void)name;
	(void)body;
	(void)arg;
	return PC_ENOTSUP;
}

void
pc_svcmgr_running(void)
{
}
