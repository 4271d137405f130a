/* pc_fixture.c: deterministic, fully populated process records for tests. */
#include "pc_fixture.h"

#include <stdio.h>
#include <string.h>

void
pc_fixture_proc(pc_proc *p, uint32_t seed)
{
	char buf[128];

	pc_proc_clear(p);
	p->pid            = 1000 + seed;
	p->create_time_ms = 1700000000000ULL + seed;
	for (int f = 0; f < PC_F_COUNT; f++) {
		void    *at = (char *)p + pc_fields[f].offset;
		uint64_t v  = (uint64_t)(f + 1) * 0x100000001ULL + seed;
		switch (pc_fields[f].type) {
		case PC_T_U32:
			*(uint32_t *)at = (uint32_t)(f + 1) * 7 + seed;
			break;
		case PC_T_U64:
			*(uint64_t *)at = v;
			break;
		case PC_T_BOOL:
			*(bool *)at = true;
			break;
		case PC_T_STR:
			/* "é" and "进程" check that UTF-8 survives the wire. */
			snprintf(buf, sizeof(buf), "%s-%u-é进程", pc_fields[f].name, seed);
			pc_proc_set_str(p, f, buf);
			break;
		}
	}
}
