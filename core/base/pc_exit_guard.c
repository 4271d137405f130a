/* pc_exit_guard.c: a thread that ends a stopping process whose cleanup
 * hangs (see pc_exit_guard.h for the NNG defect it works around). */
#include "base/pc_exit_guard.h"

#include <stdio.h>
#include <stdlib.h>

#include <nng/nng.h>
#include <nng/supplemental/util/platform.h>

#include "base/pc_err.h"

static unsigned guard_ms;
static int      guard_status;

static void
guard(void *arg)
{
	(void)arg;
	nng_msleep((nng_duration)guard_ms);
	/* The cleanup is stuck: what was printed still goes out, and the OS
	 * closes what NNG could not. */
	fflush(NULL);
	_Exit(guard_status);
}

int
pc_exit_guard(unsigned ms, int status)
{
	nng_thread *t; /* never joined: the process ends first, one way or the other */

	guard_ms     = ms;
	guard_status = status;
	return nng_thread_create(&t, guard, NULL) == 0 ? PC_OK : PC_ENOMEM;
}
