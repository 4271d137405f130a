/* pc_testdir.c: a test's private folder and its peers' bound URLs (see
 * pc_testdir.h). The folder itself is made by pc_test_mkdtemp, one per OS. */
#include "pc_testdir.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pc_spawn.h"

static char dir[512];
static int  seq;

static void
remove_dir(void)
{
	DIR           *d = opendir(dir);
	struct dirent *e;
	char           p[1024];

	while (d != NULL && (e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
			snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
			remove(p);
		}
	}
	if (d != NULL) {
		closedir(d);
	}
	pc_test_rmdir(dir);
}

const char *
pc_test_dir(void)
{
	if (dir[0] == '\0') {
		if (pc_test_mkdtemp(dir, sizeof(dir)) != 0) {
			dir[0] = '\0';
			return NULL;
		}
		atexit(remove_dir);
	}
	return dir;
}

int
pc_test_path(char *out, size_t cap, const char *name)
{
	const char *d = pc_test_dir();
	int         n;

	if (d == NULL) {
		return -1;
	}
	if (name != NULL) {
		n = snprintf(out, cap, "%s/%s", d, name);
	} else {
		n = snprintf(out, cap, "%s/f%d", d, seq++);
	}
	return n > 0 && (size_t)n < cap ? 0 : -1;
}

/* The URL of the line "name URL" in file, if it is there. */
static int
read_bound(const char *file, const char *name, char *url, size_t cap)
{
	FILE  *f = fopen(file, "r");
	char   line[600];
	size_t n  = strlen(name);
	int    rv = -1;

	while (f != NULL && rv != 0 && fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\r\n")] = '\0';
		if (strncmp(line, name, n) == 0 && line[n] == ' ' && strlen(line + n + 1) < cap) {
			strcpy(url, line + n + 1);
			rv = 0;
		}
	}
	if (f != NULL) {
		fclose(f);
	}
	return rv;
}

int
pc_test_bound(const char *file, const char *name, char *url, size_t cap, unsigned timeout_ms)
{
	for (unsigned waited = 0;; waited += 10) {
		if (read_bound(file, name, url, cap) == 0) {
			return 0;
		}
		if (waited >= timeout_ms) {
			return -1;
		}
		pc_sleep_ms(10);
	}
}
