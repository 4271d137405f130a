/* pc_backends_win.c: the probe backends of Windows, the default first. */
#include "probe/pc_probe.h"

extern const pc_probe_ops pc_probe_ntqsi_ops;
extern const pc_probe_ops pc_probe_toolhelp_ops;

/* The default first: one NtQuerySystemInformation call a tick is several
 * times cheaper than Toolhelp plus calls per process (tests/bench). */
const pc_probe_ops *const pc_probe_backends[] = { &pc_probe_ntqsi_ops, &pc_probe_toolhelp_ops,
	                                          NULL };
