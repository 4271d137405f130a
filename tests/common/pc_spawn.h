/* pc_spawn.h: start a test's child process with pipes on stdin and stdout,
 * talk to it a line at a time, and stop it by PID. One implementation per
 * OS (pc_spawn_posix.c, pc_spawn_win.c). */
#ifndef PC_SPAWN_H
#define PC_SPAWN_H

#include <stddef.h>
#include <stdint.h>

typedef struct pc_child pc_child;

/* Starts argv[0] (a path) with argv; NULL on failure. */
pc_child *pc_child_start(const char *const *argv);
uint32_t  pc_child_pid(const pc_child *c);

/* Sends one line (a newline is added). 0 on success. */
int pc_child_send(pc_child *c, const char *line);

/* Reads one line of its output, without the newline. 0 on success, -1 at
 * EOF or on error. */
int pc_child_read_line(pc_child *c, char *buf, size_t cap);

/* Closes its stdin, waits for it to exit; returns its exit status, and
 * frees c. */
int pc_child_wait(pc_child *c);

/* Kills it by PID, reaps it, frees c. */
void pc_child_kill(pc_child *c);

uint32_t pc_self_pid(void);

/* Makes a new private folder in the OS's temporary folder; its path in
 * out. 0 on success. pc_test_rmdir removes an empty one. */
int  pc_test_mkdtemp(char *out, size_t cap);
int  pc_test_rmdir(const char *path);
void pc_sleep_ms(unsigned ms);

/* 1 when this process still holds an OS resource of that (exited) process:
 * an fd under /proc/PID on Linux; on Windows, a handle that keeps its
 * process object alive (it can still be opened). */
int pc_test_holds_resource_of(uint32_t pid);

/* How many files (Linux: entries of /proc/PID/fd) or handles (Windows)
 * another process has open; -1 when that cannot be told. On Windows each
 * handle value is duplicated in turn, since Wine's GetProcessHandleCount
 * answers 0. */
int pc_test_open_handles(uint32_t pid);

/* This process's resident size (VmRSS; on Windows the working set), KiB;
 * 0 when it cannot be told. */
unsigned long pc_test_rss_kib(void);

/* 1 under Wine, whose answers differ from Windows where DESIGN.md says. */
int pc_test_under_wine(void);

#endif
