/* pc_hold.c: holds N helper processes blocked in pause() until SIGTERM, then kills them by PID. */
#define _GNU_SOURCE /* prctl */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t pc_stop;

static void
pc_on_signal(int sig)
{
	(void)sig;
	pc_stop = 1;
}

int
main(int argc, char **argv)
{
	struct sigaction sa     = { .sa_handler = pc_on_signal };
	long             want   = argc == 2 ? strtol(argv[1], NULL, 10) : -1;
	pid_t            parent = getpid();
	pid_t           *pids;
	long             n = 0;

	if (want < 0 || (pids = calloc((size_t)want + 1, sizeof(*pids))) == NULL) {
		fprintf(stderr, "usage: pc_hold N\n");
		return 2;
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	while (n < want && !pc_stop) {
		pid_t pid = fork();
		if (pid < 0) {
			perror("pc_hold: fork");
			break;
		}
		if (pid == 0) {
			signal(SIGTERM, SIG_DFL);
			prctl(PR_SET_PDEATHSIG, SIGKILL); /* and die with the holder */
			if (getppid() != parent) {
				_exit(0);
			}
			for (;;) {
				pause();
			}
		}
		pids[n++] = pid;
	}
	printf("pc_hold: %ld helpers\n", n);
	fflush(stdout);
	/* sleep, not pause: a signal between the test and pause() would be
	 * lost, and the holder would wait forever. */
	while (!pc_stop && n == want) {
		sleep(1);
	}
	for (long i = 0; i < n; i++) {
		kill(pids[i], SIGKILL);
	}
	for (long i = 0; i < n; i++) {
		while (waitpid(pids[i], NULL, 0) < 0 && errno == EINTR) {
		}
	}
	free(pids);
	return n == want ? 0 : 1;
}
