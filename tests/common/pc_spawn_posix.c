/* pc_spawn_posix.c: test children with fork and exec. */
#define _GNU_SOURCE /* pipe2 */
#include "pc_spawn.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct pc_child {
	pid_t pid;
	FILE *in;  /* its stdin */
	FILE *out; /* its stdout */
};

pc_child *
pc_child_start(const char *const *argv)
{
	int       to[2], from[2];
	pc_child *c = calloc(1, sizeof(*c));

	/* Close-on-exec, so that a later child does not hold this one's
	 * stdin open: closing it must end this child. dup2 clears the flag on
	 * the child's own ends. */
	if (c == NULL || pipe2(to, O_CLOEXEC) != 0) {
		free(c);
		return NULL;
	}
	if (pipe2(from, O_CLOEXEC) != 0) {
		close(to[0]);
		close(to[1]);
		free(c);
		return NULL;
	}
	if ((c->pid = fork()) == 0) {
		/* Dies with the test, even one killed mid-run that could not
		 * stop it by PID: an agent or a storm left behind would load
		 * the machine for every later test. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(to[0], 0);
		dup2(from[1], 1);
		close(to[0]);
		close(to[1]);
		close(from[0]);
		close(from[1]);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(to[0]);
	close(from[1]);
	c->in  = fdopen(to[1], "w");
	c->out = fdopen(from[0], "r");
	if (c->pid < 0 || c->in == NULL || c->out == NULL) {
		pc_child_kill(c);
		return NULL;
	}
	return c;
}

uint32_t
pc_child_pid(const pc_child *c)
{
	return (uint32_t)c->pid;
}

int
pc_child_send(pc_child *c, const char *line)
{
	return fprintf(c->in, "%s\n", line) < 0 || fflush(c->in) != 0 ? -1 : 0;
}

int
pc_child_read_line(pc_child *c, char *buf, size_t cap)
{
	if (fgets(buf, (int)cap, c->out) == NULL) {
		return -1;
	}
	buf[strcspn(buf, "\r\n")] = '\0';
	return 0;
}

static void
child_free(pc_child *c)
{
	if (c->in != NULL) {
		fclose(c->in);
	}
	if (c->out != NULL) {
		fclose(c->out);
	}
	free(c);
}

int
pc_child_wait(pc_child *c)
{
	int st = -1;

	fclose(c->in);
	c->in = NULL;
	if (waitpid(c->pid, &st, 0) != c->pid) {
		st = -1;
	}
	child_free(c);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

void
pc_child_kill(pc_child *c)
{
	if (c->pid > 0) {
		kill(c->pid, SIGKILL);
		waitpid(c->pid, NULL, 0);
	}
	child_free(c);
}

uint32_t
pc_self_pid(void)
{
	return (uint32_t)getpid();
}

unsigned long long
pc_test_counter_slack(void)
{
	long ncpu  = sysconf(_SC_NPROCESSORS_CONF);
	long batch = ncpu * 2 > 32 ? ncpu * 2 : 32;

	/* anon and file counters, each up to a batch a CPU behind */
	return 2ull * (unsigned long long)(ncpu * batch) *
	       (unsigned long long)sysconf(_SC_PAGESIZE);
}

int
pc_test_fds_short(size_t n)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
		return 1;
	}
	/* the probe raises its soft limit to the hard one, keeps 256 free */
	return rl.rlim_max != RLIM_INFINITY && 4 * (rlim_t)n + 256 > rl.rlim_max;
}

int
pc_test_mkdtemp(char *out, size_t cap)
{
	const char *t = getenv("TMPDIR");
	int         n = snprintf(out, cap, "%s/pidcast-test-XXXXXX", t && t[0] ? t : "/tmp");

	return n > 0 && (size_t)n < cap && mkdtemp(out) != NULL ? 0 : -1;
}

int
pc_test_rmdir(const char *path)
{
	return rmdir(path);
}

void
pc_sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

int
pc_test_holds_resource_of(uint32_t pid)
{
	char           prefix[32], path[300], target[256];
	DIR           *d    = opendir("/proc/self/fd");
	int            held = 0;
	struct dirent *e;

	snprintf(prefix, sizeof(prefix), "/proc/%u/", pid);
	if (d == NULL) {
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		ssize_t n;
		snprintf(path, sizeof(path), "/proc/self/fd/%s", e->d_name);
		n = readlink(path, target, sizeof(target) - 1);
		if (n > 0) {
			target[n] = '\0';
			held |= strncmp(target, prefix, strlen(prefix)) == 0;
		}
	}
	closedir(d);
	return held;
}

int
pc_test_open_handles(uint32_t pid)
{
	char           path[64];
	DIR           *d;
	struct dirent *e;
	int            n = 0;

	snprintf(path, sizeof(path), "/proc/%u/fd", pid);
	if ((d = opendir(path)) == NULL) {
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		n += e->d_name[0] != '.';
	}
	closedir(d);
	return n;
}

unsigned long
pc_test_rss_kib(void)
{
	FILE         *f = fopen("/proc/self/status", "r");
	char          line[256];
	unsigned long kib = 0;

	while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, "VmRSS: %lu kB", &kib) == 1) {
			break;
		}
	}
	if (f != NULL) {
		fclose(f);
	}
	return kib;
}

int
pc_test_under_wine(void)
{
	return 0;
}
