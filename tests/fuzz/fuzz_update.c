/* fuzz_update.c: libFuzzer target for what a subscriber does with bytes off
 * the wire: parse a frame, apply it to a replica. Inputs share one replica,
 * so sequences of updates (gaps, keyframes, PID reuse, parts that never
 * complete, exits with a final record of a process held or never seen)
 * are explored too. The replica runs with small limits, and the
 * target aborts if the table ever passes them: the bound must hold
 * whatever the sequence. Whatever the bytes, every string the replica
 * hands out (host, and each string of each record, in events and in the
 * table) is valid UTF-8. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/pc_err.h"
#include "base/pc_utf8.h"
#include "stream/pc_replica.h"
#include "wire/pc_update.h"

#define MAX_PROCS 4096
#define MAX_BYTES ((size_t)4 << 20)

static volatile size_t sink;

static void
check_text(const char *s)
{
	if (s != NULL && !pc_utf8_valid(s)) {
		abort(); /* a peer's bytes got past the repair */
	}
}

static void
check_strings(const pc_proc *p)
{
	check_text(p->name);
	check_text(p->exe);
	check_text(p->cmdline);
	check_text(p->user);
}

/* Reads what an event hands out, so ASan sees a use of a freed record. */
static void
on_event(void *arg, pc_event ev, const pc_proc *p, pc_mask mask)
{
	(void)arg;
	check_strings(p);
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

	if (rep == NULL) {
		if (pc_replica_open(&rep) != PC_OK) {
			return 0;
		}
		pc_replica_set_limits(rep, MAX_PROCS, MAX_BYTES);
	}
	if (pc_update_parse(data, size, &u) == PC_OK) {
		/* What the parser lets through has a host the protocol allows. */
		if (!pc_host_valid(u->host, strlen(u->host))) {
			abort();
		}
		(void)pc_replica_apply(rep, u, on_event, NULL, &res);
		pidcast__update__free_unpacked(u, NULL);
		check_text(pc_replica_host(rep));
		for (size_t cur = 0, n = 0; n < 64; n++) { /* a sample: inputs are many */
			const pc_proc *p = pc_replica_next(rep, &cur);
			if (p == NULL) {
				break;
			}
			check_strings(p);
		}
	}
	if (pc_replica_count(rep) > MAX_PROCS || pc_replica_bytes(rep) > MAX_BYTES) {
		abort(); /* the bound was bypassed */
	}
	return 0;
}
