/* pc_fixture.h: records for tests, with every field set to a distinct value. */
#ifndef PC_FIXTURE_H
#define PC_FIXTURE_H

#include "record/pc_proc.h"

/* Fills p (cleared first) with values derived from seed: every field set,
 * none zero, strings with non-ASCII UTF-8, counters past 2^32. */
void pc_fixture_proc(pc_proc *p, uint32_t seed);

#endif
