/* pc_child.c: a process for probe tests to watch. It obeys one command a
 * line on stdin and answers "ok" on stdout, so the test knows exactly how
 * many threads, bytes and CPU it has used. EOF on stdin ends it, so it never
 * outlives a test that died. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static pthread_mutex_t lock  = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t  never = PTHREAD_COND_INITIALIZER;

static void *
sleeper(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&lock);
	for (;;) {
		pthread_cond_wait(&never, &lock);
	}
	return NULL;
}

static int
start_threads(long n)
{
	for (long i = 0; i < n; i++) {
		pthread_t t;
		if (pthread_create(&t, NULL, sleeper, NULL) != 0) {
			return -1;
		}
	}
	return 0;
}

/* Allocations are kept here until exit; a global, so that the compiler
 * cannot drop the malloc and memset of memory nobody reads. */
static char *volatile kept[64];
static int n_kept;

/* Allocated and touched, page by page. */
static int
alloc_mb(long mb)
{
	char *p = malloc((size_t)mb << 20);

	if (p == NULL || n_kept == 64) {
		free(p);
		return -1;
	}
	memset(p, 0x5a, (size_t)mb << 20);
	kept[n_kept++] = p;
	return 0;
}

static int
write_kb(long kb, const char *path)
{
	static char chunk[1024];
	FILE       *f = fopen(path, "wb");

	if (f == NULL) {
		return -1;
	}
	setvbuf(f, NULL, _IONBF, 0); /* one write call a chunk */
	memset(chunk, 'x', sizeof(chunk));
	for (long i = 0; i < kb; i++) {
		if (fwrite(chunk, 1, sizeof(chunk), f) != sizeof(chunk)) {
			fclose(f);
			return -1;
		}
	}
	fclose(f);
	return remove(path);
}

static volatile unsigned long sink;

static void
spin_ms(long ms)
{
	clock_t end = clock() + (clock_t)(ms * (long)CLOCKS_PER_SEC / 1000);

	while (clock() < end) {
		sink++;
	}
}

static void *
spinner(void *arg)
{
	spin_ms((long)(intptr_t)arg);
	return NULL;
}

/* A thread that spins, then ends: its time stays the process's. */
static int
thread_spin(long ms)
{
	pthread_t t;

	if (pthread_create(&t, NULL, spinner, (void *)(intptr_t)ms) != 0) {
		return -1;
	}
	return pthread_join(t, NULL) == 0 ? 0 : -1;
}

int
main(int argc, char **argv)
{
	const char *io_path = argc > 1 ? argv[1] : "pc_child_io.tmp";
	char        line[128], cmd[32];
	long        n;

	setvbuf(stdout, NULL, _IONBF, 0);
	printf("ready\n");
	while (fgets(line, sizeof(line), stdin) != NULL) {
		int rv = 0;
		if (sscanf(line, "%31s %ld", cmd, &n) < 1) {
			continue;
		}
		if (strcmp(cmd, "exit") == 0) {
			break;
		} else if (strcmp(cmd, "threads") == 0) {
			rv = start_threads(n);
		} else if (strcmp(cmd, "alloc") == 0) {
			rv = alloc_mb(n);
		} else if (strcmp(cmd, "write") == 0) {
			rv = write_kb(n, io_path);
		} else if (strcmp(cmd, "spin") == 0) {
			spin_ms(n);
		} else if (strcmp(cmd, "tspin") == 0) {
			rv = thread_spin(n);
		} else {
			rv = -1;
		}
		printf("%s\n", rv == 0 ? "ok" : "error");
	}
	return 0;
}
