/* pc_svcmgr_win.c: the agent as a Windows service, through the service
 * control manager (SCM). */
#include <windows.h>

#include <string.h>

#include "base/pc_buf.h"
#include "base/pc_err.h"
#include "platform/pc_platform.h"
#include "platform/pc_svcmgr.h"

/* How long uninstall waits for a running service to stop, and how often it
 * looks. The agent stops within a tick; a tick is at most minutes, but a
 * service that ignores a stop for this long is broken. */
#define STOP_WAIT_MS 30000
#define STOP_POLL_MS 100

static int
from_win(DWORD e)
{
	switch (e) {
	case ERROR_ACCESS_DENIED:
		return PC_EPERM;
	case ERROR_SERVICE_EXISTS:
	case ERROR_DUPLICATE_SERVICE_NAME:
		return PC_EEXIST;
	case ERROR_SERVICE_DOES_NOT_EXIST:
	case ERROR_SERVICE_MARKED_FOR_DELETE:
		return PC_ENOENT;
	case ERROR_NOT_ENOUGH_MEMORY:
	case ERROR_OUTOFMEMORY:
		return PC_ENOMEM;
	}
	return PC_ESYS;
}

/* Appends s as one argument of a Windows command line, as the C runtime's
 * argv parser (and CommandLineToArgvW) will read it back: quoted when it
 * has a blank or a quote, backslashes doubled where they precede one. */
static void
add_arg(pc_buf *b, const char *s)
{
	if (s[0] != '\0' && strpbrk(s, " \t\"") == NULL) {
		pc_buf_str(b, s);
		return;
	}
	pc_buf_str(b, "\"");
	for (;; s++) {
		size_t slashes = 0;

		while (*s == '\\') {
			slashes++;
			s++;
		}
		if (*s == '\0' || *s == '"') {
			/* Before the closing quote or a literal one they escape. */
			for (size_t i = 0; i < slashes * 2; i++) {
				pc_buf_str(b, "\\");
			}
			if (*s == '\0') {
				break;
			}
			pc_buf_str(b, "\\\"");
			continue;
		}
		for (size_t i = 0; i < slashes; i++) {
			pc_buf_str(b, "\\");
		}
		pc_buf_add(b, s, 1);
	}
	pc_buf_str(b, "\"");
}

int
pc_svcmgr_install(const char *name, const char *display, char *const *args, int n)
{
	char      exe[MAX_PATH];
	pc_buf    cmd = { 0 };
	SC_HANDLE scm, svc;
	DWORD     len = GetModuleFileNameA(NULL, exe, sizeof(exe));
	int       rv  = PC_OK;

	if (len == 0 || len >= sizeof(exe)) {
		return PC_ESYS;
	}
	add_arg(&cmd, exe);
	for (int i = 0; i < n; i++) {
		pc_buf_str(&cmd, " ");
		add_arg(&cmd, args[i]);
	}
	if (cmd.err != PC_OK) {
		rv = cmd.err;
		pc_buf_fini(&cmd);
		return rv;
	}
	if ((scm = OpenSCManagerA(NULL, NULL, SC_MANAGER_CREATE_SERVICE)) == NULL) {
		pc_buf_fini(&cmd);
		return from_win(GetLastError());
	}
	/* LocalSystem (no account given): every process's counters and owner
	 * need it, as root does on Linux. */
	svc = CreateServiceA(scm, name, display, SERVICE_ALL_ACCESS, SERVICE_WIN32_OWN_PROCESS,
	                     SERVICE_AUTO_START, SERVICE_ERROR_NORMAL, cmd.data, NULL, NULL, NULL,
	                     NULL, NULL);
	if (svc == NULL) {
		rv = from_win(GetLastError());
	} else {
		CloseServiceHandle(svc);
	}
	CloseServiceHandle(scm);
	pc_buf_fini(&cmd);
	return rv;
}

/* Asks svc to stop and waits for SERVICE_STOPPED. */
static int
stop_and_wait(SC_HANDLE svc)
{
	SERVICE_STATUS st;

	if (!QueryServiceStatus(svc, &st)) {
		return from_win(GetLastError());
	}
	if (st.dwCurrentState != SERVICE_STOPPED &&
	    !ControlService(svc, SERVICE_CONTROL_STOP, &st) &&
	    GetLastError() != ERROR_SERVICE_NOT_ACTIVE) {
		return from_win(GetLastError());
	}
	for (int waited = 0; waited < STOP_WAIT_MS; waited += STOP_POLL_MS) {
		if (!QueryServiceStatus(svc, &st)) {
			return from_win(GetLastError());
		}
		if (st.dwCurrentState == SERVICE_STOPPED) {
			return PC_OK;
		}
		Sleep(STOP_POLL_MS);
	}
	return PC_ETIMEDOUT;
}

int
pc_svcmgr_uninstall(const char *name)
{
	SC_HANDLE scm, svc;
	int       rv;

	if ((scm = OpenSCManagerA(NULL, NULL, SC_MANAGER_CONNECT)) == NULL) {
		return from_win(GetLastError());
	}
	svc = OpenServiceA(scm, name, SERVICE_STOP | SERVICE_QUERY_STATUS | DELETE);
	if (svc == NULL) {
		rv = from_win(GetLastError());
		CloseServiceHandle(scm);
		return rv;
	}
	if ((rv = stop_and_wait(svc)) == PC_OK && !DeleteService(svc)) {
		rv = from_win(GetLastError());
	}
	CloseServiceHandle(svc);
	CloseServiceHandle(scm);
	return rv;
}

/* The running service: one a process, as SERVICE_WIN32_OWN_PROCESS. */
static struct {
	const char           *name;
	pc_svcmgr_body        body;
	void                 *arg;
	SERVICE_STATUS_HANDLE handle;
	SERVICE_STATUS        status;
} svc_state;

static void
report(DWORD state)
{
	if (svc_state.handle == NULL) {
		return; /* not a service */
	}
	svc_state.status.dwServiceType  = SERVICE_WIN32_OWN_PROCESS;
	svc_state.status.dwCurrentState = state;
	/* Stop and shutdown only while running: before, the loop cannot see
	 * the flag yet; after, there is nothing to stop. */
	svc_state.status.dwControlsAccepted =
	        state == SERVICE_RUNNING ? SERVICE_ACCEPT_STOP | SERVICE_ACCEPT_SHUTDOWN : 0;
	svc_state.status.dwWaitHint =
	        state == SERVICE_RUNNING || state == SERVICE_STOPPED ? 0 : 10000;
	SetServiceStatus(svc_state.handle, &svc_state.status);
}

/* Called by the SCM in the dispatcher's thread. */
static DWORD WINAPI
on_control(DWORD control, DWORD type, LPVOID data, LPVOID ctx)
{
	(void)type;
	(void)data;
	(void)ctx;
	switch (control) {
	case SERVICE_CONTROL_STOP:
	case SERVICE_CONTROL_SHUTDOWN:
		report(SERVICE_STOP_PENDING);
		pc_request_stop(); /* the loop sees it at its next wake-up */
		return NO_ERROR;
	case SERVICE_CONTROL_INTERROGATE:
		return NO_ERROR;
	}
	return ERROR_CALL_NOT_IMPLEMENTED;
}

static void WINAPI
service_main(DWORD argc, LPSTR *argv)
{
	(void)argc;
	(void)argv;
	int rv;

	svc_state.handle = RegisterServiceCtrlHandlerExA(svc_state.name, on_control, NULL);
	if (svc_state.handle == NULL) {
		return; /* the SCM gave us a name it does not know: nothing to report to */
	}
	report(SERVICE_START_PENDING);
	if ((rv = svc_state.body(svc_state.arg)) != PC_OK) {
		/* sc query shows it as SERVICE_EXIT_CODE. */
		svc_state.status.dwWin32ExitCode           = ERROR_SERVICE_SPECIFIC_ERROR;
		svc_state.status.dwServiceSpecificExitCode = (DWORD)rv;
	}
	report(SERVICE_STOPPED);
}

int
pc_svcmgr_run(const char *name, pc_svcmgr_body body, void *arg)
{
	SERVICE_TABLE_ENTRYA table[] = { { (LPSTR)name, service_main }, { NULL, NULL } };

	svc_state.name = name;
	svc_state.body = body;
	svc_state.arg  = arg;
	/* Returns once service_main has returned and the service has stopped. */
	return StartServiceCtrlDispatcherA(table) ? PC_OK : PC_ESYS;
}

void
pc_svcmgr_running(void)
{
	report(SERVICE_RUNNING);
}
