/* fuzz_update.c: libFuzzer target for what a subscriber does with bytes off
 * the wire: parse a frame, apply it to a replica. Inputs share one replica,
 * so sequences of updates (gaps, keyframes, PID reuse) are explored too. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "base/pc_err.h"
#include "stream/pc_replica.h"
#include "wire/pc_update.h"

static volatile size_t sink;

/* Reads what an event hands out, so ASan sees a use of a freed record. */
static void
on_event(void *arg, pc_event ev, const pc_proc *p, pc_mask mask)
{
	(void)arg;
	sink += (size_t)ev + mask + p->pid + (p->name != NULL ? (unsigned char)p->name[0] : 0) +
	        (p->cmdline != NULL ? strlen(p->cmdline) : 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static pc_replica *rep;
	Pidcast__Update   *u;
	pc_apply           res;

	if (rep == NULL && pc_replica_open(&rep) != PC_OK) {
		return 0;
	}
	if (pc_update_parse(data, size, &u) == PC_OK) {
		(void)pc_replica_apply(rep, u, on_event, NULL, &res);
		pidcast__update__free_unpacked(u, NULL);
	}
	/* Bound the memory a long run keeps. */
	if (pc_replica_count(rep) > 100000) {
		pc_replica_close(rep);
		rep = NULL;
	}
	return 0;
}
