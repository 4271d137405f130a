/* pc_procfs_text.h: what both Linux backends (procfs, bpf) read from /proc
 * once per new process, as text: the command line (scrubbed), the image
 * path, and user names by uid, cached; and the boot time that turns a
 * start time into Unix milliseconds. Linux only. The text is made valid
 * UTF-8 here, as it is read (base/pc_utf8.h). */
#ifndef PC_PROCFS_TEXT_H
#define PC_PROCFS_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/pc_idmap.h"
#include "probe/pc_context.h"
#include "probe/pc_scrub.h"

/* Boot time, Unix milliseconds, with millisecond precision. */
uint64_t pc_procfs_boot_ms(void);

/* A start time in clock ticks since boot (stat's starttime) as Unix ms. */
uint64_t pc_procfs_start_ms(uint64_t boot_ms, uint64_t starttime_ticks, long hz);

/* /proc/PID/cmdline, its arguments joined with spaces as ps does,
 * scrubbed, and then cut to max bytes (0: PC_CMDLINE_MAX); malloc'd, NULL
 * when it cannot be read. It is read up to max and PC_CMDLINE_LOOKAHEAD
 * more; if even that is not all of it, the last argument read, incomplete,
 * is left out, so that what is scrubbed is whole arguments. *cut is set
 * when anything was left out (left alone otherwise). proc_fd is an open
 * /proc. */
char *pc_procfs_cmdline(int proc_fd, uint32_t pid, const pc_scrub *s, size_t max, bool *cut);

/* The same from argv as the kernel keeps it (len bytes at buf, arguments
 * ended by NULs; buf is changed and must hold len + 1 bytes). */
char *pc_procfs_args(char *buf, size_t len, const pc_scrub *s);

/* /proc/PID/exe's target, malloc'd; NULL with *err = errno when it cannot
 * be read (ENOENT for a kernel thread, which has none). */
char *pc_procfs_exe(int proc_fd, uint32_t pid, char *buf, size_t cap, int *err);

/* /proc/PID/cgroup read into buf (cap bytes) and, when its path is not
 * ctx's already, parsed into ctx (pc_context.h): *changed says whether it
 * was. PC_OK; PC_ENOENT when the process is gone; PC_ESYS when it cannot
 * be read or names no cgroup; PC_ENOMEM. ctx is unchanged on an error. */
int pc_procfs_context(int proc_fd, uint32_t pid, char *buf, size_t cap, pc_context *ctx,
                      bool *changed);

/* The name of uid from the passwd database, or the number as text, cached
 * in users (uid -> malloc'd name); NULL when out of memory. */
const char *pc_procfs_user(pc_idmap *users, uint32_t uid);
void        pc_procfs_users_fini(pc_idmap *users);

#endif
