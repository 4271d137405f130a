/* pc_svcmgr.h: running the agent under the OS's service manager. On Windows
 * that is the service control manager (SCM): install registers this
 * executable and its command line as a service started at boot, run hands
 * the process to the SCM, which calls the agent's loop in a thread of its
 * own and turns SERVICE_CONTROL_STOP into pc_stop_requested(). On Linux
 * systemd starts the agent as an ordinary process (the unit in dist/), so
 * install, uninstall and run return PC_ENOTSUP there. Implemented once per
 * OS in core/platform/. */
#ifndef PC_SVCMGR_H
#define PC_SVCMGR_H

/* The service's name, as the SCM and `sc.exe` know it. */
#define PC_SVCMGR_NAME "pidcast-agent"

/* Registers the service name to start automatically at boot, running this
 * executable with args[0..n) (quoted for the Windows command line). PC_OK,
 * PC_EEXIST when a service of that name exists, PC_EPERM without an
 * administrator's rights, PC_ENOMEM, PC_ESYS or PC_ENOTSUP. */
int pc_svcmgr_install(const char *name, const char *display, char *const *args, int n);

/* Stops the service if it runs (waiting up to 30 s for it), then deletes
 * it. PC_OK, PC_ENOENT when there is no such service, PC_EPERM,
 * PC_ETIMEDOUT when it does not stop, PC_ESYS or PC_ENOTSUP. */
int pc_svcmgr_uninstall(const char *name);

/* Runs body(arg) as the service name and returns PC_OK when it has
 * stopped, PC_ESYS when the process was not started by the service manager,
 * or PC_ENOTSUP. The body runs until pc_stop_requested(), calls
 * pc_svcmgr_running() once it serves, and returns a pc_err code, which the
 * service manager shows as the service's exit code. */
typedef int (*pc_svcmgr_body)(void *arg);
int pc_svcmgr_run(const char *name, pc_svcmgr_body body, void *arg);

/* Reports the service as running; nothing when not a service. */
void pc_svcmgr_running(void);

#endif
