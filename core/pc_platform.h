/* pc_platform.h: the little that differs between OSes above the probes:
 * clocks. Implemented once per OS in core/platform/. */
#ifndef PC_PLATFORM_H
#define PC_PLATFORM_H

#include <stdint.h>

/* Wall clock, Unix milliseconds. */
uint64_t pc_clock_realtime_ms(void);

/* A monotonic clock in microseconds, for intervals only. */
uint64_t pc_clock_mono_us(void);

#endif
