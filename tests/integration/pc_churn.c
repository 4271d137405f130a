/* pc_churn.c: a churn storm for the fault tests. Starts RATE processes a
 * second for SECONDS; each lives 0 to 200 ms, so an agent ticking every
 * 100 ms sees many of them come and go, and misses others entirely. It
 * reaps every one, then prints "started N" and exits. A closed stdin (the
 * test died) does not stop it, but SECONDS bounds it. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
sleep_s(double s)
{
	struct timespec ts = { (time_t)s, (long)((s - (double)(time_t)s) * 1e9) };

	nanosleep(&ts, NULL);
}

int
main(int argc, char **argv)
{
	long   rate    = argc > 1 ? atol(argv[1]) : 0;
	double seconds = argc > 2 ? atof(argv[2]) : 0;
	long   started = 0, failed = 0;

	if (rate <= 0 || seconds <= 0) {
		fprintf(stderr, "usage: pc_churn RATE SECONDS\n");
		return 2;
	}
	double t0 = now_s();
	for (double t = now_s(); t - t0 < seconds; t = now_s()) {
		/* Stay on the grid: as many as RATE * elapsed so far. */
		while (started + failed < (long)((t - t0) * (double)rate)) {
			pid_t pid = fork();
			if (pid == 0) {
				sleep_s((double)(rand() % 200) / 1000.0);
				_exit(0);
			}
			if (pid < 0) {
				failed++;
			} else {
				started++;
				srand((unsigned)started); /* children differ in lifetime */
			}
		}
		while (waitpid(-1, NULL, WNOHANG) > 0) {
		}
		sleep_s(0.002);
	}
	while (waitpid(-1, NULL, 0) > 0 || errno == EINTR) {
	}
	printf("started %ld failed %ld\n", started, failed);
	return failed == 0 ? 0 : 1;
}
