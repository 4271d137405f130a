/* pc_storm.c: a storm of short-lived processes for test_storm. Started as
 * "pc_storm N RATE LIST", it starts N children at RATE a second; each
 * execs "pc_storm child I KIND SPIN_US": it spins SPIN_US of CPU, lives
 * 1 to 20 ms in all, and ends as KIND says (0: exit 0, 1: exit 3, 2:
 * SIGKILL from itself). LIST gets "PID I" per child as it starts, then
 * "done N" once every one is reaped; stdout gets "started N". "pc_storm
 * hold PROG ARG" waits for a line on stdin, then execs PROG ARG: an exec
 * the test watches. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double
now_s(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
sleep_s(double s)
{
	struct timespec ts = { (time_t)s, (long)((s - (double)(time_t)s) * 1e9) };

	if (s > 0) {
		nanosleep(&ts, NULL);
	}
}

/* One child: its CPU spun (measured as the kernel counts it), its life
 * slept out, its end. */
static int
child(long i, int kind, long spin_us)
{
	double t0   = now_s(CLOCK_MONOTONIC);
	double life = (double)(1 + (i * 7) % 20) / 1000.0;

	while (now_s(CLOCK_PROCESS_CPUTIME_ID) * 1e6 < (double)spin_us) {
	}
	sleep_s(life - (now_s(CLOCK_MONOTONIC) - t0));
	if (kind == 2) {
		kill(getpid(), SIGKILL);
	}
	return kind == 1 ? 3 : 0;
}

static int
storm(const char *self, long n, long rate, const char *list)
{
	FILE  *f       = fopen(list, "w");
	long   started = 0, failed = 0;
	double t0 = now_s(CLOCK_MONOTONIC);

	if (f == NULL) {
		return 2;
	}
	while (started + failed < n) {
		/* Stay on the grid: as many as RATE * elapsed so far. */
		while (started + failed < n &&
		       started + failed < (long)((now_s(CLOCK_MONOTONIC) - t0) * (double)rate)) {
			long  i = started + failed;
			char  a[3][24];
			pid_t pid;
			snprintf(a[0], sizeof(a[0]), "%ld", i);
			snprintf(a[1], sizeof(a[1]), "%ld", i % 3);
			snprintf(a[2], sizeof(a[2]), "%ld", 1000 + (i % 4) * 500);
			if ((pid = fork()) == 0) {
				execl(self, "pc_storm", "child", a[0], a[1], a[2], (char *)NULL);
				_exit(127);
			}
			if (pid < 0) {
				failed++;
				continue;
			}
			started++;
			fprintf(f, "%ld %ld\n", (long)pid, i);
		}
		while (waitpid(-1, NULL, WNOHANG) > 0) {
		}
		sleep_s(0.001);
	}
	while (waitpid(-1, NULL, 0) > 0 || errno == EINTR) {
	}
	fprintf(f, "done %ld\n", started);
	fclose(f);
	printf("started %ld failed %ld\n", started, failed);
	return failed == 0 ? 0 : 1;
}

int
main(int argc, char **argv)
{
	char line[64];

	if (argc == 5 && strcmp(argv[1], "child") == 0) {
		return child(atol(argv[2]), atoi(argv[3]), atol(argv[4]));
	}
	if (argc == 4 && strcmp(argv[1], "hold") == 0) {
		if (fgets(line, sizeof(line), stdin) == NULL) {
			return 2;
		}
		execl(argv[2], argv[2], argv[3], (char *)NULL);
		return 127;
	}
	if (argc == 4 && atol(argv[1]) > 0 && atol(argv[2]) > 0) {
		return storm(argv[0], atol(argv[1]), atol(argv[2]), argv[3]);
	}
	fprintf(stderr, "usage: pc_storm N RATE LIST | child I KIND SPIN_US | hold PROG ARG\n");
	return 2;
}
