/* pc_glob.h: shell-style name matching (fnmatch is not on Windows). */
#ifndef PC_GLOB_H
#define PC_GLOB_H

#include <stdbool.h>

/* '*' matches any run, '?' any one byte, anything else itself. */
bool pc_glob(const char *pattern, const char *s);

#endif
