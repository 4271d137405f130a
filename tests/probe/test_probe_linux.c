/* test_probe_linux.c: what a non-root probe sees of another user's process
 * (partial, but with pid, ppid and name), and kernel threads. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <grp.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "pc_err.h"
#include "pc_probe.h"

#define NOBODY 65534 /* the watched process runs as this user */
#define DAEMON 1     /* the probe runs as this one */

typedef struct seen {
	int      found;
	int      partial;
	uint32_t ppid;
	char     name[16];
	int      has_exe;
	int      has_cmdline;
	int      kthreadd_kernel;
	int      self_partial;
} seen;

static void
drop_to(uid_t uid)
{
	if (setgroups(0, NULL) != 0 || setresgid(uid, uid, uid) != 0 ||
	    setresuid(uid, uid, uid) != 0) {
		_exit(3);
	}
	/* A change of credentials makes a process undumpable, which hides its
	 * own /proc files from it; a process started as that user is not. */
	prctl(PR_SET_DUMPABLE, 1);
}

/* In a child that drops to DAEMON: one tick, and what it saw of pid. */
static void
probe_as_daemon(pid_t pid, int out)
{
	pc_probe   *probe = NULL;
	pc_snapshot snap  = { 0 };
	seen        s     = { 0 };

	drop_to(DAEMON);
	if (pc_probe_open(NULL, &probe) != PC_OK ||
	    pc_probe_processes_by_pid(probe, 0, true, &snap) != PC_OK) {
		_exit(4);
	}
	for (size_t i = 0; i < snap.n; i++) {
		const pc_proc *r = &snap.procs[i];
		if (r->pid == (uint32_t)pid) {
			s.found       = 1;
			s.partial     = r->partial;
			s.ppid        = r->ppid;
			s.has_exe     = r->exe != NULL;
			s.has_cmdline = r->cmdline != NULL;
			strncpy(s.name, r->name ? r->name : "", sizeof(s.name) - 1);
		}
		if (r->pid == 2) {
			s.kthreadd_kernel = r->kernel;
		}
		if (r->pid == (uint32_t)getpid()) {
			s.self_partial = r->partial;
		}
	}
	pc_snapshot_fini(&snap);
	pc_probe_close(probe);
	_exit(write(out, &s, sizeof(s)) == sizeof(s) ? 0 : 5);
}

static void
test_other_users_process_is_partial(void **state)
{
	int   fds[2], st;
	pid_t other, prober;
	seen  s;

	(void)state;
	if (geteuid() != 0) {
		skip(); /* needs root to start processes as two other users */
	}
	assert_int_equal(pipe(fds), 0);
	if ((other = fork()) == 0) {
		prctl(PR_SET_NAME, "pc_other");
		drop_to(NOBODY);
		for (;;) {
			pause();
		}
	}
	assert_true(other > 0);
	if ((prober = fork()) == 0) {
		close(fds[0]);
		usleep(100000); /* let the other child drop its privileges */
		probe_as_daemon(other, fds[1]);
	}
	close(fds[1]);
	ssize_t n = read(fds[0], &s, sizeof(s));
	close(fds[0]);
	waitpid(prober, &st, 0);
	kill(other, SIGKILL);
	waitpid(other, NULL, 0);

	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	assert_int_equal(n, sizeof(s));
	assert_true(s.found);
	assert_true(s.partial);
	assert_int_equal(s.ppid, getpid());
	assert_string_equal(s.name, "pc_other");
	assert_false(s.has_exe);    /* /proc/PID/exe is the owner's */
	assert_true(s.has_cmdline); /* cmdline is world-readable */
	assert_true(s.kthreadd_kernel);
	assert_false(s.self_partial); /* its own process is fully readable */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_other_users_process_is_partial),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
