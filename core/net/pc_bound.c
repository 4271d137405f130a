/* pc_bound.c: writing the bound-file (see pc_bound.h). */
#include "net/pc_bound.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/pc_err.h"

int
pc_bound_write(const char *path, const pc_bound_entry *e, size_t n)
{
	size_t len = strlen(path) + 5;
	char  *tmp = malloc(len);
	FILE  *f;
	int    ok;

	if (tmp == NULL) {
		return PC_ENOMEM;
	}
	snprintf(tmp, len, "%s.tmp", path);
	/* Binary: the same bytes on every OS, no CR before each newline. */
	if ((f = fopen(tmp, "wb")) == NULL) {
		free(tmp);
		return PC_ESYS;
	}
	ok = 1;
	for (size_t i = 0; i < n; i++) {
		ok = ok && fprintf(f, "%s %s\n", e[i].name, e[i].url) > 0;
	}
	ok = fclose(f) == 0 && ok;
	/* rename replaces the target atomically on POSIX; on Windows it fails
	 * when the target exists, so that is removed first there (a reader
	 * then waits a moment longer, never sees half a file). */
	if (ok && rename(tmp, path) != 0) {
		remove(path);
		ok = rename(tmp, path) == 0;
	}
	if (!ok) {
		remove(tmp);
	}
	free(tmp);
	return ok ? PC_OK : PC_ESYS;
}
