/* pc_malloc_count.c: an LD_PRELOAD shim that counts allocations; SIGUSR1 or exit prints them to
 * stderr. */
#define _GNU_SOURCE /* sigaction */
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

/* glibc's own entry points, so that the shim needs no dlsym (which allocates). */
extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t n);
extern void  __libc_free(void *p);

enum { PC_MALLOC, PC_CALLOC, PC_REALLOC, PC_FREE, PC_N_COUNTS };
static const char *const pc_names[PC_N_COUNTS] = { "malloc", "calloc", "realloc", "free" };
static uint64_t          pc_counts[PC_N_COUNTS]; /* updated atomically: NNG has threads */

static void
pc_count(int which)
{
	__atomic_fetch_add(&pc_counts[which], 1, __ATOMIC_RELAXED);
}

void *
malloc(size_t n)
{
	pc_count(PC_MALLOC);
	return __libc_malloc(n);
}

void *
calloc(size_t n, size_t size)
{
	pc_count(PC_CALLOC);
	return __libc_calloc(n, size);
}

void *
realloc(void *p, size_t n)
{
	pc_count(PC_REALLOC);
	return __libc_realloc(p, n);
}

void
free(void *p)
{
	if (p != NULL) {
		pc_count(PC_FREE);
	}
	__libc_free(p);
}

/* Appends the decimal v at out; async-signal-safe, unlike printf. */
static char *
pc_put_u64(char *out, uint64_t v)
{
	char   tmp[24];
	size_t n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n) {
		*out++ = tmp[--n];
	}
	return out;
}

/* Prints "pc_malloc_count: malloc N calloc N realloc N free N". */
static void
pc_print(void)
{
	char  line[256], *p = line;
	char *s = "pc_malloc_count:";

	while (*s) {
		*p++ = *s++;
	}
	for (int i = 0; i < PC_N_COUNTS; i++) {
		*p++ = ' ';
		for (s = (char *)pc_names[i]; *s;) {
			*p++ = *s++;
		}
		*p++ = ' ';
		p    = pc_put_u64(p, __atomic_load_n(&pc_counts[i], __ATOMIC_RELAXED));
	}
	*p++ = '\n';
	(void)!write(2, line, (size_t)(p - line));
}

static void
pc_on_usr1(int sig)
{
	(void)sig;
	pc_print();
}

__attribute__((constructor)) static void
pc_init(void)
{
	struct sigaction sa = { .sa_handler = pc_on_usr1, .sa_flags = SA_RESTART };

	sigaction(SIGUSR1, &sa, NULL);
}

__attribute__((destructor)) static void
pc_fini(void)
{
	pc_print();
}
