/* pc_fake_probe.h: a scripted probe for unit tests. The test edits its
 * process table between ticks; each tick returns the table as it is. */
#ifndef PC_FAKE_PROBE_H
#define PC_FAKE_PROBE_H

#include "probe/pc_probe.h"

typedef struct pc_fake {
	pc_probe base;
	pc_proc *procs; /* owned, strings included */
	size_t   n;
	size_t   cap;
} pc_fake;

pc_fake *pc_fake_open(void);
void     pc_fake_close(pc_fake *f);

/* Adds a process with every field set from pc_fixture_proc(seed = pid), then
 * the given key. */
pc_proc *pc_fake_add(pc_fake *f, uint32_t pid, uint64_t create_time_ms);
pc_proc *pc_fake_find(pc_fake *f, uint32_t pid);
void     pc_fake_remove(pc_fake *f, uint32_t pid);

#endif
