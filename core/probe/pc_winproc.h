/* pc_winproc.h: what both Windows probes read once per new process (image
 * path, command line, user), and the conversions they share. Windows only. */
#ifndef PC_WINPROC_H
#define PC_WINPROC_H

#include <windows.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "probe/pc_probe.h"
#include "probe/pc_scrub.h"

/* FILETIME units (100 ns since 1601) to Unix milliseconds; 0 if earlier. */
uint64_t pc_win_unix_ms(uint64_t filetime);

/* UTF-16 to UTF-8 by pc_utf8_from_utf16's rule (an unpaired surrogate is
 * U+FFFD; cut on a character boundary): into out of cap bytes, or as a new
 * string. n is the length in WCHARs, or -1 up to the terminating 0. */
size_t pc_win_utf8_to(char *out, size_t cap, const WCHAR *w, int n);
char  *pc_win_utf8(const WCHAR *w, int n);

/* DOMAIN\user names, looked up once per SID. */
typedef struct pc_win_users {
	struct pc_win_user *users;
	size_t              n;
} pc_win_users;

void pc_win_users_fini(pc_win_users *u);

/* Reads through h (opened with PROCESS_QUERY_LIMITED_INFORMATION) the image
 * path, the command line (scrubbed with p's words, then cut to its
 * cmdline_max) and the user; what it cannot read stays NULL. Returns true
 * when all three were read, the command line whole. *user is owned by u. */
bool pc_win_statics(pc_win_users *u, const pc_probe *p, HANDLE h, DWORD pid, char **exe,
                    char **cmdline, const char **user);

#endif
