/* pc_procfs_text.c: a Linux process's text read once from /proc, and the
 * boot time (see pc_procfs_text.h). */
#define _GNU_SOURCE /* openat, readlinkat, getpwuid_r */
#include "probe/pc_procfs_text.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/pc_err.h"
#include "base/pc_utf8.h"

/* /proc/stat's btime is computed by the kernel the same way (wall clock
 * minus time since boot) but truncated to seconds, which would put every
 * create time up to a second early. */
uint64_t
pc_procfs_boot_ms(void)
{
	struct timespec real, boot;

	clock_gettime(CLOCK_REALTIME, &real);
	clock_gettime(CLOCK_BOOTTIME, &boot);
	int64_t d_ns =
	        ((int64_t)real.tv_sec - boot.tv_sec) * 1000000000LL + (real.tv_nsec - boot.tv_nsec);
	return (uint64_t)((d_ns + 500000) / 1000000);
}

uint64_t
pc_procfs_start_ms(uint64_t boot_ms, uint64_t starttime_ticks, long hz)
{
	return boot_ms + starttime_ticks * 1000u / (uint64_t)hz;
}

/* The scrubbed command line, as valid UTF-8 (pc_utf8.h). Scrubbing comes
 * first, on the bytes as read, so that a repair cannot hide a secret from
 * its patterns. */
static char *
scrub_utf8(const char *raw, const pc_scrub *s)
{
	char *scrubbed = pc_scrub_cmdline(raw, s);
	char *out;

	if (scrubbed == NULL || pc_utf8_valid(scrubbed)) {
		return scrubbed;
	}
	out = pc_utf8_dup(scrubbed);
	free(scrubbed);
	return out;
}

char *
pc_procfs_cmdline(int proc_fd, uint32_t pid, const pc_scrub *s, size_t max, bool *cut)
{
	size_t  cap = (max ? max : PC_CMDLINE_MAX) + PC_CMDLINE_LOOKAHEAD;
	char    path[32], *buf, *out;
	ssize_t n, got = 0;
	int     fd;

	snprintf(path, sizeof(path), "%u/cmdline", pid);
	if ((fd = openat(proc_fd, path, O_RDONLY | O_CLOEXEC)) < 0) {
		return NULL;
	}
	if ((buf = malloc(cap + 2)) == NULL) {
		close(fd);
		return NULL;
	}
	/* The kernel hands out the arguments a page at a time; one byte more
	 * than cap tells that there is more. */
	while ((size_t)got <= cap && (n = read(fd, buf + got, cap + 1 - (size_t)got)) > 0) {
		got += n;
	}
	close(fd);
	if ((size_t)got > cap) {
		ssize_t end = got - 1;
		*cut        = true;
		while (end > 0 && buf[end - 1] != '\0') {
			end--;
		}
		got = end > 0 ? end : got - 1; /* one argument alone: its start */
	}
	while (got > 0 && buf[got - 1] == '\0') {
		got--;
	}
	for (ssize_t i = 0; i < got; i++) {
		if (buf[i] == '\0') {
			buf[i] = ' ';
		}
	}
	buf[got] = '\0';
	/* Scrubbed, made valid UTF-8, and only then cut, on a character. */
	if ((out = scrub_utf8(buf, s)) != NULL && pc_cmdline_cut(out, max)) {
		*cut = true;
	}
	free(buf);
	return out;
}

char *
pc_procfs_args(char *buf, size_t len, const pc_scrub *s)
{
	size_t n = len;

	while (n > 0 && buf[n - 1] == '\0') {
		n--;
	}
	for (size_t i = 0; i < n; i++) {
		if (buf[i] == '\0') {
			buf[i] = ' ';
		}
	}
	buf[n] = '\0';
	return scrub_utf8(buf, s);
}

char *
pc_procfs_exe(int proc_fd, uint32_t pid, char *buf, size_t cap, int *err)
{
	char    path[32];
	ssize_t n;
	char   *exe;

	snprintf(path, sizeof(path), "%u/exe", pid);
	if ((n = readlinkat(proc_fd, path, buf, cap - 1)) < 0) {
		*err = errno;
		return NULL;
	}
	buf[n] = '\0';
	if ((exe = pc_utf8_dup(buf)) == NULL) { /* a path is any bytes */
		*err = ENOMEM;
	}
	return exe;
}

int
pc_procfs_context(int proc_fd, uint32_t pid, char *buf, size_t cap, pc_context *ctx, bool *changed)
{
	char       path[32], *repaired;
	int        fd, rv;
	ssize_t    n;
	pc_context fresh = { 0 };

	*changed = false;
	snprintf(path, sizeof(path), "%u/cgroup", pid);
	if ((fd = openat(proc_fd, path, O_RDONLY | O_CLOEXEC)) < 0) {
		return errno == ENOENT || errno == ESRCH ? PC_ENOENT : PC_ESYS;
	}
	n = read(fd, buf, cap - 1);
	close(fd);
	if (n < 0) {
		return errno == ESRCH ? PC_ENOENT : PC_ESYS;
	}
	buf[n] = '\0';
	if (!pc_context_pick(buf, buf, cap)) {
		return PC_ESYS;
	}
	/* A directory name is any bytes; the record's strings are UTF-8. */
	if ((repaired = pc_utf8_dup(buf)) == NULL) {
		return PC_ENOMEM;
	}
	if (ctx->cgroup != NULL && strcmp(ctx->cgroup, repaired) == 0) {
		free(repaired);
		return PC_OK;
	}
	rv = pc_context_parse(repaired, &fresh);
	free(repaired);
	if (rv != PC_OK) {
		return rv;
	}
	pc_context_clear(ctx);
	*ctx     = fresh;
	*changed = true;
	return PC_OK;
}

const char *
pc_procfs_user(pc_idmap *users, uint32_t uid)
{
	char         *name = pc_idmap_get(users, uid);
	struct passwd pw, *res = NULL;
	char          buf[1024];

	if (name != NULL) {
		return name;
	}
	if (getpwuid_r(uid, &pw, buf, sizeof(buf), &res) == 0 && res != NULL) {
		name = pc_utf8_dup(res->pw_name);
	} else {
		snprintf(buf, sizeof(buf), "%u", uid);
		name = strdup(buf);
	}
	if (name == NULL || pc_idmap_set(users, uid, name) != PC_OK) {
		free(name);
		return NULL;
	}
	return name;
}

void
pc_procfs_users_fini(pc_idmap *users)
{
	size_t   cur = 0;
	uint32_t id;
	void    *v;

	while ((v = pc_idmap_next(users, &cur, &id)) != NULL) {
		free(v);
	}
	pc_idmap_fini(users);
}
