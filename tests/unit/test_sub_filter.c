/* test_sub_filter.c: pidcast-sub's filters (clients/sub/pc_sub_filter.c):
 * every filter given must hold, the context ones through the shared
 * matcher; and the JSON stream's view of a process that moves into or out
 * of them: new with every field when it comes to match, an exit that says
 * it left when it stops, its own exit only when it was shown. The same on
 * a real agent with real cgroups: tests/integration/sub_screen.sh. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "pc_sub_filter.h"

static const char cid[] = "c0ffee0123456789c0ffee0123456789c0ffee0123456789c0ffee0123456789";

/* A process in the docker container cid, and one on the host. */
static pc_proc boxed = { .pid          = 10,
	                 .name         = "nginx",
	                 .cgroup       = "/system.slice/docker-c0ffee.scope",
	                 .container_id = (char *)cid,
	                 .service      = "docker-c0ffee.scope" };
static pc_proc host  = {
	 .pid = 20, .name = "sshd", .cgroup = "/system.slice/ssh.service", .service = "ssh.service"
};

static void
test_no_filter_passes_everything_unchanged(void **state)
{
	pc_sub_filter f = { 0 };
	pc_sub_line   l[2];

	(void)state;
	assert_false(pc_sub_filter_set(&f));
	assert_true(pc_sub_wanted(&f, &boxed));
	assert_int_equal(pc_sub_filter_event(&f, PC_EV_CHANGED, &host, 0x5, l), 1);
	assert_int_equal(l[0].ev, PC_EV_CHANGED);
	assert_int_equal(l[0].mask, 0x5);
	assert_false(l[0].left);
	assert_int_equal(pc_idmap_count(&f.shown), 0); /* nothing kept without a filter */
	pc_sub_filter_fini(&f);
}

static void
test_every_filter_given_must_hold(void **state)
{
	pc_sub_filter f = { .ctx.container = "c0ffee01" };

	(void)state;
	assert_true(pc_sub_wanted(&f, &boxed));
	assert_false(pc_sub_wanted(&f, &host)); /* no container */
	f.name = "ngin*";
	assert_true(pc_sub_wanted(&f, &boxed));
	f.name = "sshd";
	assert_false(pc_sub_wanted(&f, &boxed)); /* the container holds, the name not */
	f = (pc_sub_filter){ .ctx.service = "ssh.service" };
	assert_true(pc_sub_wanted(&f, &host));
	assert_false(pc_sub_wanted(&f, &boxed));
	f.ctx.service = "ssh"; /* exactly the name, not a prefix */
	assert_false(pc_sub_wanted(&f, &host));
	f = (pc_sub_filter){ .ctx.cgroup_glob = "/system.slice/*" }; /* '*' crosses '/' */
	assert_true(pc_sub_wanted(&f, &host));
	assert_true(pc_sub_wanted(&f, &boxed));
	f.has_pid = true;
	f.pid     = 20;
	assert_true(pc_sub_wanted(&f, &host));
	assert_false(pc_sub_wanted(&f, &boxed));
	f = (pc_sub_filter){ .ctx.container = "" }; /* in any container */
	assert_true(pc_sub_wanted(&f, &boxed));
	assert_false(pc_sub_wanted(&f, &host));
}

/* A process that starts on the host, moves into the container, out, and
 * back, and exits there, under --container. */
static void
test_moves_in_and_out(void **state)
{
	pc_sub_filter f = { .ctx.container = "c0ffee" };
	pc_proc       p = host;
	pc_sub_line   l[2];

	(void)state;
	assert_int_equal(pc_sub_filter_event(&f, PC_EV_NEW, &p, PC_MASK_ALL, l), 0);
	assert_int_equal(pc_sub_filter_event(&f, PC_EV_CHANGED, &p, PC_BIT(PC_F_THREADS), l), 0);

	p.container_id = (char *)cid; /* moved in: new to the stream, every field */
	assert_int_equal(pc_sub_filter_event(&f, PC_EV_CHANGED, &p, PC_MASK_CONTEXT, l), 1);
	assert_int_equal(l[0].ev, PC_EV_NEW);
	assert_int_equal(l[0].mask, PC_MASK_ALL);
	assert_false(l[0].left);
	/* In: its changes as they are. */
	assert_int_equal(pc_sub_filter_event(&f, PC_EV_CHANGED, &p, PC_BIT(PC_F_THREADS), l), 1);
	assert_int_equal(l[0].ev, PC_EV_CHANGED);
	assert_int_equal(l[0].mask, PC_BIT(PC_F_THREADS));

	p.container_id = NULL; /* moved out: an exit that says so, with what changed */
	assert_int_equal(pc_sub_filter_event(&f, PC_EV_CHANGED, &p, PC_MASK_CONTEXT, l), 1);
	assert_int_equal(l[0].ev, PC_EV_EXIT);
	assert_int_equal(l[0].mask, PC_MASK_CONTEXT);
	assert_true(l[0].left);
	assert_int_equal(pc_sub_filter_event(&f, PC_EV_CHANGED, &p, PC_BIT(PC_F_THREADS), l), 0);
	/* Its real exit, once out: nothing, the stream has it gone already. */
	pc_proc q = host;
	q.pid     = 30;
	assert_int_equal(pc_sub_filter_event(&f, PC_EV_NEW, &q, PC_MASK_ALL, l), 0);
	assert_int_equal(pc_sub_filter_event(&f, PC_EV_EXIT, &q, 0, l), 0);

	p.container_id = (char *)cid; /* back in, then its exit */
	assert_int_equal(pc_sub_filter_event(&f, PC_EV_CHANGED, &p, PC_MASK_CONTEXT, l), 1);
	assert_int_equal(l[0].ev, PC_EV_NEW);
	assert_int_equal(pc_sub_filter_event(&f, PC_EV_EXIT, &p, PC_BIT(PC_F_RSS_BYTES), l), 1);
	assert_int_equal(l[0].ev, PC_EV_EXIT);
	assert_int_equal(l[0].mask, PC_BIT(PC_F_RSS_BYTES));
	assert_false(l[0].left);
	assert_int_equal(pc_idmap_count(&f.shown), 0);
	pc_sub_filter_fini(&f);
}

/* A process new in the filter is shown as the replica says; one whose end
 * (its final record: an exec, a move) first matches is new, then gone. */
static void
test_new_and_exit_at_once(void **state)
{
	pc_sub_filter f = { .name = "nginx" };
	pc_proc       p = host;
	pc_sub_line   l[2];

	(void)state;
	assert_int_equal(pc_sub_filter_event(&f, PC_EV_NEW, &boxed, PC_BIT(PC_F_NAME), l), 1);
	assert_int_equal(l[0].ev, PC_EV_NEW);
	assert_int_equal(l[0].mask, PC_BIT(PC_F_NAME));
	assert_int_equal(pc_idmap_count(&f.shown), 1);

	assert_int_equal(pc_sub_filter_event(&f, PC_EV_NEW, &p, PC_MASK_ALL, l), 0);
	p.name = "nginx"; /* an exec at its end */
	assert_int_equal(pc_sub_filter_event(&f, PC_EV_EXIT, &p, PC_BIT(PC_F_NAME), l), 2);
	assert_int_equal(l[0].ev, PC_EV_NEW);
	assert_int_equal(l[0].mask, PC_MASK_ALL);
	assert_int_equal(l[1].ev, PC_EV_EXIT);
	assert_int_equal(l[1].mask, PC_BIT(PC_F_NAME));
	assert_false(l[1].left);
	/* A shown process whose exit record no longer matches (an exec to
	 * another name at its end) still ends in the stream. */
	pc_proc b = boxed;
	b.name    = "other";
	assert_int_equal(pc_sub_filter_event(&f, PC_EV_EXIT, &b, PC_BIT(PC_F_NAME), l), 1);
	assert_int_equal(l[0].ev, PC_EV_EXIT);
	assert_false(l[0].left);
	assert_int_equal(pc_idmap_count(&f.shown), 0);
	pc_sub_filter_fini(&f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_filter_passes_everything_unchanged),
		cmocka_unit_test(test_every_filter_given_must_hold),
		cmocka_unit_test(test_moves_in_and_out),
		cmocka_unit_test(test_new_and_exit_at_once),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
