/* pc_probe_test.c: helpers of the probe tests (see pc_probe_test.h). */
#include "pc_probe_test.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

const pc_proc *
pc_test_find(const pc_snapshot *s, uint32_t pid)
{
	for (size_t i = 0; i < s->n; i++) {
		if (s->procs[i].pid == pid) {
			return &s->procs[i];
		}
	}
	return NULL;
}

void
pc_test_command(pc_child *c, const char *cmd)
{
	char reply[64];

	assert_int_equal(pc_child_send(c, cmd), 0);
	assert_int_equal(pc_child_read_line(c, reply, sizeof(reply)), 0);
	assert_string_equal(reply, "ok");
}
