/* pc_backends_posix.c: the probe backends of Linux, the default first. */
#include "probe/pc_probe.h"

extern const pc_probe_ops pc_probe_procfs_ops;

const pc_probe_ops *const pc_probe_backends[] = { &pc_probe_procfs_ops, NULL };
