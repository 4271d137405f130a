/* test_context.c: cgroup paths as each runtime names them, read as the
 * container, pod and unit they name (pc_context), and the line of
 * /proc/PID/cgroup that gives the path. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/pc_err.h"
#include "probe/pc_context.h"

#define ID  "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define UID "1234abcd-5678-90ab-cdef-0123456789ab"
#define USC "1234abcd_5678_90ab_cdef_0123456789ab" /* the systemd driver's */

static void
is(const char *what, const char *got, const char *want)
{
	if ((got == NULL) != (want == NULL) || (got != NULL && strcmp(got, want) != 0)) {
		fail_msg("%s: got '%s', want '%s'", what, got ? got : "(null)",
		         want ? want : "(null)");
	}
}

static void
test_runtimes(void **state)
{
	static const struct {
		const char *path, *id, *pod, *service;
	} cases[] = {
		/* The host itself, systemd units and sessions. */
		{ "/", NULL, NULL, NULL },
		{ "/system.slice/cron.service", NULL, NULL, "cron.service" },
		{ "/user.slice/user-0.slice/session-4.scope", NULL, NULL, "session-4.scope" },
		/* Docker: systemd and cgroupfs drivers. */
		{ "/system.slice/docker-" ID ".scope", ID, NULL, "docker-" ID ".scope" },
		{ "/docker/" ID, ID, NULL, NULL },
		/* containerd under a Kubernetes pod slice (systemd driver), and
		 * the cgroupfs driver's layout. */
		{ "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" USC
		  ".slice/cri-containerd-" ID ".scope",
		  ID, UID, "cri-containerd-" ID ".scope" },
		{ "/kubepods/besteffort/pod" UID "/" ID, ID, UID, NULL },
		/* A guaranteed pod sits right under kubepods.slice. */
		{ "/kubepods.slice/kubepods-pod" USC ".slice/crio-" ID ".scope", ID, UID,
		  "crio-" ID ".scope" },
		/* conmon, the monitor beside a CRI-O or Podman container, is not
		 * the container. */
		{ "/kubepods.slice/kubepods-pod" USC ".slice/crio-conmon-" ID ".scope", NULL, UID,
		  "crio-conmon-" ID ".scope" },
		/* Podman, rootless, under the user's manager: the unit wins over
		 * the scope. */
		{ "/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" ID
		  ".scope/container",
		  ID, NULL, "user@1000.service" },
		{ "/machine.slice/libpod-conmon-" ID ".scope", NULL, NULL,
		  "libpod-conmon-" ID ".scope" },
		/* Nested: the inner container is the process's. */
		{ "/docker/" ID
		  "/docker/fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210",
		  "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210", NULL, NULL },
		/* Near misses: not ids, not pods. */
		{ "/docker/0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF", NULL,
		  NULL, NULL },
		{ "/docker/0123456789abcdef", NULL, NULL, NULL },
		{ "/system.slice/docker-" ID "0.scope", NULL, NULL, "docker-" ID "0.scope" },
		{ "/pod" UID "/x", NULL, NULL, NULL }, /* no kubepods above it */
		{ "/kubepods/pod1234abcd-5678-90ab-cdef-0123456789a/x", NULL, NULL, NULL },
		{ "", NULL, NULL, NULL },
		{ "//system.slice//a.service/", NULL, NULL, "a.service" },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		pc_context c = { 0 };
		print_message("%s\n", cases[i].path);
		assert_int_equal(pc_context_parse(cases[i].path, &c), PC_OK);
		is("cgroup", c.cgroup, cases[i].path);
		is("container_id", c.container_id, cases[i].id);
		is("pod_uid", c.pod_uid, cases[i].pod);
		is("service", c.service, cases[i].service);
		/* Parsing again over a filled context replaces it. */
		assert_int_equal(pc_context_parse("/system.slice/x.service", &c), PC_OK);
		is("service", c.service, "x.service");
		assert_null(c.container_id);
		pc_context_clear(&c);
		assert_null(c.cgroup);
	}
}

static void
test_copy(void **state)
{
	pc_context a = { 0 }, b = { 0 };

	(void)state;
	assert_int_equal(pc_context_parse("/kubepods/burstable/pod" UID "/" ID, &a), PC_OK);
	assert_int_equal(pc_context_parse("/", &b), PC_OK);
	assert_int_equal(pc_context_copy(&b, &a), PC_OK);
	is("cgroup", b.cgroup, a.cgroup);
	is("container_id", b.container_id, ID);
	is("pod_uid", b.pod_uid, UID);
	assert_null(b.service);
	assert_ptr_not_equal(b.cgroup, a.cgroup);
	pc_context_clear(&a);
	pc_context_clear(&b);
}

static void
test_pick(void **state)
{
	char out[64];

	(void)state;
	/* Hybrid: v1 controllers, and the unified hierarchy's line. */
	assert_true(
	        pc_context_pick("9:name=systemd:/old\n4:memory:/m\n0::/system.slice/a.service\n",
	                        out, sizeof(out)));
	assert_string_equal(out, "/system.slice/a.service");
	/* v1 only: systemd's named hierarchy. */
	assert_true(pc_context_pick("2:cpu:/c\n1:name=systemd:/system.slice/b.service\n", out,
	                            sizeof(out)));
	assert_string_equal(out, "/system.slice/b.service");
	/* v2 only, no newline at the end. */
	assert_true(pc_context_pick("0::/", out, sizeof(out)));
	assert_string_equal(out, "/");
	/* Neither. */
	assert_false(pc_context_pick("4:memory:/m\n", out, sizeof(out)));
	assert_false(pc_context_pick("", out, sizeof(out)));
	assert_false(pc_context_pick("garbage without colons", out, sizeof(out)));
	/* Cut to the buffer, and in place. */
	assert_true(pc_context_pick("0::/abcdefghij\n", out, 5));
	assert_string_equal(out, "/abc");
	strcpy(out, "1:cpu:/x\n0::/in/place\n");
	assert_true(pc_context_pick(out, out, sizeof(out)));
	assert_string_equal(out, "/in/place");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_runtimes),
		cmocka_unit_test(test_copy),
		cmocka_unit_test(test_pick),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
