/* pc_testdir.h: what a test takes of the machine, made its own: a private
 * temporary folder (for ipc:// sockets, bound-files and other files, so
 * that no two tests or runs share a name), and the ports its peers bound,
 * read from their --bound-file (port 0: the OS picks a free one, so no
 * test guesses a port that another process may hold). */
#ifndef PC_TESTDIR_H
#define PC_TESTDIR_H

#include <stddef.h>

/* This process's folder, made at the first call and removed with what it
 * holds at exit; NULL if it cannot be made. */
const char *pc_test_dir(void);

/* out = the folder + "/" + name, for a file or an ipc:// path ("ipc://"
 * + out); a unique name each call when name is NULL. 0 on success. */
int pc_test_path(char *out, size_t cap, const char *name);

/* Waits up to timeout_ms for file (a --bound-file) to name `name`, and puts
 * its URL in url. 0 when found, -1 on time-out. */
int pc_test_bound(const char *file, const char *name, char *url, size_t cap, unsigned timeout_ms);

#endif
