/* pc_scm.c: the service control manager's side of the service test (a
 * Windows-only helper, run under Wine): start, stop, query a service and
 * its configuration, wait for a process to end, or hold the prefix's
 * wineserver (and so its services.exe) up until stdin closes. Prints one
 * line; exit 0 on success, 3 when the service does not exist, 1 on any
 * other failure. */
#include <windows.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WAIT_MS 30000
#define POLL_MS 100

static const char *
state_name(DWORD s)
{
	switch (s) {
	case SERVICE_STOPPED:
		return "STOPPED";
	case SERVICE_START_PENDING:
		return "START_PENDING";
	case SERVICE_STOP_PENDING:
		return "STOP_PENDING";
	case SERVICE_RUNNING:
		return "RUNNING";
	}
	return "OTHER";
}

static int
fail(const char *what)
{
	DWORD e = GetLastError();

	printf("%s failed: error %lu\n", what, (unsigned long)e);
	return e == ERROR_SERVICE_DOES_NOT_EXIST ? 3 : 1;
}

static int
status(SC_HANDLE svc, SERVICE_STATUS_PROCESS *st)
{
	DWORD n;

	return QueryServiceStatusEx(svc, SC_STATUS_PROCESS_INFO, (BYTE *)st, sizeof(*st), &n);
}

/* Waits for state; prints the state and process id it ends in. */
static int
wait_state(SC_HANDLE svc, DWORD want)
{
	SERVICE_STATUS_PROCESS st;

	for (int t = 0; t < WAIT_MS; t += POLL_MS) {
		if (!status(svc, &st)) {
			return fail("QueryServiceStatusEx");
		}
		if (st.dwCurrentState == want) {
			printf("%s pid %lu\n", state_name(want), (unsigned long)st.dwProcessId);
			return 0;
		}
		if (st.dwCurrentState == SERVICE_STOPPED) { /* it failed to start */
			printf("STOPPED exit %lu service exit %lu\n",
			       (unsigned long)st.dwWin32ExitCode,
			       (unsigned long)st.dwServiceSpecificExitCode);
			return 1;
		}
		Sleep(POLL_MS);
	}
	printf("still %s after %d ms\n", state_name(st.dwCurrentState), WAIT_MS);
	return 1;
}

static int
config(SC_HANDLE svc)
{
	union {
		QUERY_SERVICE_CONFIGA c;
		char                  room[8192];
	} u;
	DWORD n;

	if (!QueryServiceConfigA(svc, &u.c, sizeof(u), &n)) {
		return fail("QueryServiceConfigA");
	}
	printf("start %s path %s\n", u.c.dwStartType == SERVICE_AUTO_START ? "auto" : "other",
	       u.c.lpBinaryPathName);
	return 0;
}

/* A process is gone when it cannot be opened or has ended within WAIT_MS. */
static int
wait_gone(DWORD pid)
{
	HANDLE h = OpenProcess(SYNCHRONIZE, FALSE, pid);
	DWORD  w;

	if (h == NULL) {
		printf("gone\n");
		return 0;
	}
	w = WaitForSingleObject(h, WAIT_MS);
	CloseHandle(h);
	printf(w == WAIT_OBJECT_0 ? "gone\n" : "still running\n");
	return w == WAIT_OBJECT_0 ? 0 : 1;
}

int
main(int argc, char **argv)
{
	SERVICE_STATUS         ctl;
	SERVICE_STATUS_PROCESS st;
	SC_HANDLE              scm, svc;
	int                    rv;

	if (argc == 2 && strcmp(argv[1], "hold") == 0) {
		char b[64];

		while (fread(b, 1, sizeof(b), stdin) > 0) {
		}
		return 0;
	}
	if (argc == 3 && strcmp(argv[1], "wait-gone") == 0) {
		return wait_gone((DWORD)strtoul(argv[2], NULL, 10));
	}
	if (argc != 3) {
		fprintf(stderr,
		        "usage: pc_scm start|stop|query|config NAME | wait-gone PID | hold\n");
		return 2;
	}
	if ((scm = OpenSCManagerA(NULL, NULL, SC_MANAGER_CONNECT)) == NULL) {
		return fail("OpenSCManagerA");
	}
	svc = OpenServiceA(scm, argv[2],
	                   SERVICE_START | SERVICE_STOP | SERVICE_QUERY_STATUS |
	                           SERVICE_QUERY_CONFIG);
	if (svc == NULL) {
		rv = fail("OpenServiceA");
	} else if (strcmp(argv[1], "start") == 0) {
		rv = StartServiceA(svc, 0, NULL) ? wait_state(svc, SERVICE_RUNNING)
		                                 : fail("StartServiceA");
	} else if (strcmp(argv[1], "stop") == 0) {
		rv = ControlService(svc, SERVICE_CONTROL_STOP, &ctl)
		             ? wait_state(svc, SERVICE_STOPPED)
		             : fail("ControlService");
	} else if (strcmp(argv[1], "query") == 0) {
		rv = status(svc, &st) ? 0 : fail("QueryServiceStatusEx");
		if (rv == 0) {
			printf("%s pid %lu\n", state_name(st.dwCurrentState),
			       (unsigned long)st.dwProcessId);
		}
	} else if (strcmp(argv[1], "config") == 0) {
		rv = config(svc);
	} else {
		fprintf(stderr, "pc_scm: unknown command '%s'\n", argv[1]);
		rv = 2;
	}
	if (svc != NULL) {
		CloseServiceHandle(svc);
	}
	CloseServiceHandle(scm);
	return rv;
}
