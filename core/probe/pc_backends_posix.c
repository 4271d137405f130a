/* pc_backends_posix.c: the probe backends of Linux, the default first. */
#include "probe/pc_probe.h"

extern const pc_probe_ops pc_probe_bpf_ops;
extern const pc_probe_ops pc_probe_procfs_ops;

/* bpf when the kernel lets us load it (one read for the whole table);
 * procfs otherwise (pc_probe_open_why says why). PC_WITH_BPF: the build
 * has the bpf backend (core/CMakeLists.txt, PC_BPF). */
const pc_probe_ops *const pc_probe_backends[] = {
#ifdef PC_WITH_BPF
	&pc_probe_bpf_ops,
#endif
	&pc_probe_procfs_ops, NULL
};
