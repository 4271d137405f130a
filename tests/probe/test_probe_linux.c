/* test_probe_linux.c: what a non-root probe sees of another user's process
 * (partial, but with pid, ppid and name), kernel threads, and the values
 * that come from status, which the probe reads only now and then. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <grp.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/pc_err.h"
#include "probe/pc_probe.h"

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

/* The value of key ("VmHWM:") in /proc/PID/status, 0 if absent. */
static uint64_t
status_kb(pid_t pid, const char *key)
{
	char     path[64], line[256];
	uint64_t v = 0;
	FILE    *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	assert_non_null(f = fopen(path, "r"));
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, key, strlen(key)) == 0) {
			v = strtoull(line + strlen(key), NULL, 10);
		}
	}
	fclose(f);
	return v;
}

/* One tick; copies pid's record (its strings are the probe's). */
static pc_proc
tick_for(pc_probe *probe, pid_t pid)
{
	pc_snapshot snap = { 0 };
	pc_proc     r    = { 0 };

	assert_int_equal(pc_probe_processes_by_pid(probe, 0, true, &snap), PC_OK);
	for (size_t i = 0; i < snap.n; i++) {
		if (snap.procs[i].pid == (uint32_t)pid) {
			r = snap.procs[i];
		}
	}
	pc_snapshot_fini(&snap);
	assert_int_equal(r.pid, pid);
	return r;
}

#define BIG (64u << 20)

static pid_t status_child; /* killed by the teardown, even after a failure */

static int
kill_status_child(void **state)
{
	(void)state;
	if (status_child > 0) {
		kill(status_child, SIGKILL);
		waitpid(status_child, NULL, 0);
		status_child = 0;
	}
	return 0;
}

/* A child maps, touches and unmaps 64 MiB and changes its uid after the
 * probe has first seen it: its peak RSS, private bytes and user must
 * follow within PC_PROBE_STATUS_EVERY ticks, and agree with status. */
static void
test_status_values_follow(void **state)
{
	int       cmd[2], ack[2];
	char      c = 0;
	pid_t     child;
	pc_probe *probe = NULL;
	pc_proc   r;

	(void)state;
	if (geteuid() != 0) {
		skip(); /* changing the child's uid needs root */
	}
	assert_int_equal(pipe(cmd), 0);
	assert_int_equal(pipe(ack), 0);
	if ((child = fork()) == 0) {
		if (read(cmd[0], &c, 1) != 1) {
			_exit(1);
		}
		char *m =
		        mmap(NULL, BIG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (m == MAP_FAILED) {
			_exit(2);
		}
		memset(m, 1, BIG);
		munmap(m, BIG);
		drop_to(NOBODY);
		if (write(ack[1], &c, 1) != 1) {
			_exit(3);
		}
		for (;;) {
			pause();
		}
	}
	assert_true(child > 0);
	status_child = child;
	assert_int_equal(pc_probe_open("procfs", &probe), PC_OK);

	r = tick_for(probe, child);
	assert_string_equal(r.user, "root");
	assert_true(r.peak_rss_bytes < BIG);

	assert_int_equal(write(cmd[1], &c, 1), 1);
	assert_int_equal(read(ack[0], &c, 1), 1);
	for (int i = 0; i < PC_PROBE_STATUS_EVERY; i++) {
		r = tick_for(probe, child);
	}
	assert_true(r.peak_rss_bytes >= BIG);
	assert_int_equal(r.peak_rss_bytes, status_kb(child, "VmHWM:") * 1024u);
	assert_int_equal(r.private_bytes,
	                 (status_kb(child, "RssAnon:") + status_kb(child, "VmSwap:")) * 1024u);
	assert_string_equal(r.user, "nobody");
	assert_false(r.partial);

	pc_probe_close(probe);
	close(cmd[0]);
	close(cmd[1]);
	close(ack[0]);
	close(ack[1]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_other_users_process_is_partial),
		cmocka_unit_test_teardown(test_status_values_follow, kill_status_child),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
