/* pc_probe_test.h: what the probe tests share: a process of a snapshot by
 * PID, and a command to a pc_child answered "ok". */
#ifndef PC_PROBE_TEST_H
#define PC_PROBE_TEST_H

#include <stdint.h>

#include "probe/pc_probe.h"
#include "pc_spawn.h"

/* The record of pid in s, or NULL. */
const pc_proc *pc_test_find(const pc_snapshot *s, uint32_t pid);

/* Sends cmd to the child and asserts (cmocka) that it answers "ok". */
void pc_test_command(pc_child *c, const char *cmd);

#endif
