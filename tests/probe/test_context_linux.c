/* test_context_linux.c: real cgroups, named as each runtime names them
 * (Docker, containerd under a Kubernetes pod slice, CRI-O, Podman, a
 * systemd service), with a child of the test moved into each: both Linux
 * backends give the cgroup, container id, pod uid and unit of each child,
 * and a child moved to another cgroup shows its new context within the
 * ticks that docs/PROBES.md promises (bpf: the next; procfs:
 * PC_PROBE_CONTEXT_EVERY). Everything made is removed. Skipped without a
 * writable cgroup v2 hierarchy. */
#define _GNU_SOURCE /* asprintf */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/pc_err.h"
#include "platform/pc_platform.h"
#include "probe/pc_probe.h"
#include "pc_check.h"
#include "pc_probe_test.h"
#include "pc_spawn.h"
#include "pc_testdir.h"

#define ID(c) c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c /* 64 hex */
#define UID1  "1234abcd-5678-90ab-cdef-0123456789ab"
#define UID2  "feedbeef-0000-4111-8222-abcdefabcdef"

/* The cgroups made under the test's own folder of the v2 hierarchy, and
 * what each names. */
static const struct {
	const char *rel, *id, *pod, *service;
} cg[] = {
	{ "system.slice/docker-" ID("a1") ".scope", ID("a1"), NULL, "docker-" ID("a1") ".scope" },
	{ "kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod"
	  "1234abcd_5678_90ab_cdef_0123456789ab.slice/cri-containerd-" ID("b2") ".scope",
	  ID("b2"), UID1, "cri-containerd-" ID("b2") ".scope" },
	{ "kubepods.slice/kubepods-podfeedbeef_0000_4111_8222_abcdefabcdef.slice/crio-" ID(
	          "c3") ".scope",
	  ID("c3"), UID2, "crio-" ID("c3") ".scope" },
	{ "machine.slice/libpod-" ID("d4") ".scope", ID("d4"), NULL, "libpod-" ID("d4") ".scope" },
	{ "system.slice/pc-test.service", NULL, NULL, "pc-test.service" },
};
#define N_CG (sizeof(cg) / sizeof(cg[0]))

static const char *child_path, *agent_path, *query_path, *agg_path;

typedef struct fx {
	char        mnt[256];  /* where the v2 hierarchy is mounted */
	char        root[256]; /* the mount's root within the hierarchy: "/" outside a namespace */
	char        base[128]; /* our folder, relative to mnt */
	pc_child   *child[N_CG];
	uint32_t    pid[N_CG];
	pc_snapshot snap;
} fx;

/* The v2 hierarchy from mountinfo: its mount point and root. */
static bool
find_v2(fx *f)
{
	FILE *m = fopen("/proc/self/mountinfo", "r");
	char  line[1024];
	bool  found = false;

	while (m != NULL && !found && fgets(line, sizeof(line), m) != NULL) {
		char root[256], mnt[256], *dash = strstr(line, " - ");
		if (dash != NULL && strncmp(dash, " - cgroup2 ", 11) == 0 &&
		    sscanf(line, "%*s %*s %*s %255s %255s", root, mnt) == 2) {
			strcpy(f->root, root);
			strcpy(f->mnt, mnt);
			found = true;
		}
	}
	if (m != NULL) {
		fclose(m);
	}
	return found;
}

static void
path_of(const fx *f, const char *rel, char *out, size_t cap)
{
	snprintf(out, cap, "%s/%s%s%s", f->mnt, f->base, rel[0] ? "/" : "", rel);
}

/* The path /proc shows for rel: the mount's root, then ours. */
static void
cgroup_of(const fx *f, const char *rel, char *out, size_t cap)
{
	snprintf(out, cap, "%s/%s/%s", strcmp(f->root, "/") == 0 ? "" : f->root, f->base, rel);
}

/* mkdir -p of rel under our folder; 0 or -errno. */
static int
make(const fx *f, const char *rel)
{
	char path[1024], *s;

	path_of(f, rel, path, sizeof(path));
	for (s = path + strlen(f->mnt) + 1; (s = strchr(s, '/')) != NULL; s++) {
		*s = '\0';
		if (mkdir(path, 0755) != 0 && errno != EEXIST) {
			return -errno;
		}
		*s = '/';
	}
	return mkdir(path, 0755) == 0 || errno == EEXIST ? 0 : -errno;
}

static int
move(const fx *f, const char *rel, uint32_t pid)
{
	char  path[1024];
	FILE *p;
	int   rv;

	path_of(f, rel, path, sizeof(path));
	strcat(path, "/cgroup.procs");
	if ((p = fopen(path, "w")) == NULL) {
		return -errno;
	}
	rv = fprintf(p, "%u\n", pid) > 0 ? 0 : -EIO;
	return fclose(p) == 0 ? rv : -errno;
}

/* rmdir of rel and of each folder above it, up to our own, as they empty. */
static void
unmake(const fx *f, const char *rel)
{
	char path[1024], *s;

	path_of(f, rel, path, sizeof(path));
	while (rmdir(path) == 0 && (s = strrchr(path, '/')) != NULL &&
	       (size_t)(s - path) > strlen(f->mnt) + strlen(f->base)) {
		*s = '\0';
	}
}

static int
setup(void **state)
{
	fx  *f = calloc(1, sizeof(*f));
	char line[64];

	assert_non_null(f);
	snprintf(f->base, sizeof(f->base), "pc-test-ctx-%u-%u", pc_self_pid(),
	         (unsigned)(pc_clock_mono_us() % 1000000));
	if (!find_v2(f) || make(f, "") != 0) {
		print_message("no writable cgroup v2 hierarchy here: skipped\n");
		free(f);
		return -1;
	}
	for (size_t i = 0; i < N_CG; i++) {
		const char *argv[] = { child_path, NULL };
		assert_int_equal(make(f, cg[i].rel), 0);
		assert_non_null(f->child[i] = pc_child_start(argv));
		assert_int_equal(pc_child_read_line(f->child[i], line, sizeof(line)), 0);
		f->pid[i] = pc_child_pid(f->child[i]);
		assert_int_equal(move(f, cg[i].rel, f->pid[i]), 0);
	}
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	fx *f = *state;

	for (size_t i = 0; i < N_CG; i++) {
		if (f->child[i] != NULL) {
			pc_child_kill(f->child[i]); /* reaped: its cgroup is empty */
		}
	}
	for (size_t i = 0; i < N_CG; i++) {
		unmake(f, cg[i].rel);
	}
	unmake(f, "system.slice/docker-" ID("e5") ".scope");
	unmake(f, "");
	pc_snapshot_fini(&f->snap);
	free(f);
	return 0;
}

static void
is(const char *what, const char *got, const char *want)
{
	if (got == NULL || want == NULL ? got != want : strcmp(got, want) != 0) {
		fail_msg("%s: got '%s', want '%s'", what, got ? got : "(null)",
		         want ? want : "(null)");
	}
}

/* Ticks of probe until the last child's cgroup is want; how many it took,
 * or fails after limit. */
static int
ticks_until(fx *f, pc_probe *probe, const char *want, int limit)
{
	for (int t = 1; t <= limit; t++) {
		const pc_proc *r;
		assert_int_equal(
		        pc_probe_processes_by_pid(probe, pc_clock_realtime_ms(), true, &f->snap),
		        PC_OK);
		assert_non_null(r = pc_test_find(&f->snap, f->pid[N_CG - 1]));
		if (r->cgroup != NULL && strcmp(r->cgroup, want) == 0) {
			return t;
		}
	}
	fail_msg("the move to %s did not show in %d ticks", want, limit);
	return -1;
}

static void
check_backend(fx *f, const char *name, int limit)
{
	pc_probe *probe;
	char      why[512], want[1024];
	int       n;

	if (pc_probe_open_why(name, &probe, why, sizeof(why)) != PC_OK) {
		print_message("%s backend not available here: %s\n", name, why);
		assert_string_not_equal(name, "procfs");
		return;
	}
	assert_int_equal(pc_probe_processes_by_pid(probe, pc_clock_realtime_ms(), true, &f->snap),
	                 PC_OK);
	for (size_t i = 0; i < N_CG; i++) {
		const pc_proc *r = pc_test_find(&f->snap, f->pid[i]);
		assert_non_null(r);
		cgroup_of(f, cg[i].rel, want, sizeof(want));
		is("cgroup", r->cgroup, want);
		is("container_id", r->container_id, cg[i].id);
		is("pod_uid", r->pod_uid, cg[i].pod);
		is("service", r->service, cg[i].service);
	}
	/* The service's process moves into a new container, and back. */
	assert_int_equal(make(f, "system.slice/docker-" ID("e5") ".scope"), 0);
	assert_int_equal(move(f, "system.slice/docker-" ID("e5") ".scope", f->pid[N_CG - 1]), 0);
	cgroup_of(f, "system.slice/docker-" ID("e5") ".scope", want, sizeof(want));
	n = ticks_until(f, probe, want, limit);
	print_message("%s: the move showed at tick %d (at most %d)\n", name, n, limit);
	const pc_proc *r = pc_test_find(&f->snap, f->pid[N_CG - 1]);
	is("container_id", r->container_id, ID("e5"));
	is("service", r->service, "docker-" ID("e5") ".scope");
	assert_int_equal(move(f, cg[N_CG - 1].rel, f->pid[N_CG - 1]), 0);
	cgroup_of(f, cg[N_CG - 1].rel, want, sizeof(want));
	n = ticks_until(f, probe, want, limit);
	is("container_id", pc_test_find(&f->snap, f->pid[N_CG - 1])->container_id, NULL);
	pc_probe_close(probe);
}

static void
test_bpf(void **state)
{
	check_backend(*state, "bpf", 1);
}

static void
test_procfs(void **state)
{
	check_backend(*state, "procfs", PC_PROBE_CONTEXT_EVERY);
}

/* pidcast-query list with filters, against a real agent; the PIDs it
 * prints, space-separated, into out. */
static int
list(const char *rpc, const char *flag, const char *value, char *out, size_t cap)
{
	const char *argv[] = { query_path, "--rpc", rpc, "--json", "list", flag, value, NULL };
	pc_child   *c      = pc_child_start(argv);
	char        line[65536];
	size_t      n = 0;

	assert_non_null(c);
	out[0] = '\0';
	while (pc_child_read_line(c, line, sizeof(line)) == 0) {
		unsigned pid;
		if (sscanf(line, "{\"pid\":%u,", &pid) == 1) {
			int w = snprintf(out + n, cap - n, "%u ", pid);
			n += w > 0 && (size_t)w < cap - n ? (size_t)w : 0;
		}
	}
	return pc_child_wait(c);
}

/* The filters of ListProcesses, end to end: each picks exactly the
 * children in what it names. */
static void
test_query_filters(void **state)
{
	fx         *f = *state;
	char        bound[512], pub[600], rpc[600], path[512], got[4096], want[4096], glob[300];
	const char *argv[] = { agent_path, "--publish",    pub,   "--rpc", rpc, "--interval",
		               "200ms",    "--bound-file", bound, NULL };
	pc_child   *agent;
	uint64_t    deadline;

	assert_int_equal(pc_test_path(bound, sizeof(bound), "agent.bound"), 0);
	assert_int_equal(pc_test_path(path, sizeof(path), "pub"), 0);
	snprintf(pub, sizeof(pub), "ipc://%s", path);
	assert_int_equal(pc_test_path(path, sizeof(path), "rpc"), 0);
	snprintf(rpc, sizeof(rpc), "ipc://%s", path);
	assert_non_null(agent = pc_child_start(argv));
	assert_int_equal(pc_test_bound(bound, "rpc", rpc, sizeof(rpc), 10000), 0);
	/* A short id finds the Docker child, once the agent has ticked. */
	snprintf(want, sizeof(want), "%u ", f->pid[0]);
	deadline = pc_clock_mono_us() + 10000000u;
	do {
		assert_int_equal(list(rpc, "--container", "a1a1a1a1a1a1", got, sizeof(got)) > 1, 0);
	} while (strcmp(got, want) != 0 && pc_clock_mono_us() < deadline);
	assert_string_equal(got, want);
	/* The unit, exactly; the scope of containerd's child is its service. */
	assert_int_equal(list(rpc, "--service", "pc-test.service", got, sizeof(got)), 0);
	snprintf(want, sizeof(want), "%u ", f->pid[4]);
	assert_string_equal(got, want);
	assert_int_equal(list(rpc, "--service", cg[1].service, got, sizeof(got)), 0);
	snprintf(want, sizeof(want), "%u ", f->pid[1]);
	assert_string_equal(got, want);
	/* Both pods' children, under our kubepods slice, in PID order. */
	snprintf(glob, sizeof(glob), "*/%s/kubepods.slice/*", f->base);
	assert_int_equal(list(rpc, "--cgroup", glob, got, sizeof(got)), 0);
	snprintf(want, sizeof(want), "%u %u ", f->pid[1] < f->pid[2] ? f->pid[1] : f->pid[2],
	         f->pid[1] < f->pid[2] ? f->pid[2] : f->pid[1]);
	assert_string_equal(got, want);
	/* No such container: nothing, and still success. */
	assert_int_equal(list(rpc, "--container", "ffffffff", got, sizeof(got)), 0);
	assert_string_equal(got, "");
	pc_child_kill(agent);
}

static size_t
count(const char *s, const char *needle)
{
	size_t n = 0;

	for (; (s = strstr(s, needle)) != NULL; s += strlen(needle)) {
		n++;
	}
	return n;
}

/* The aggregator groups by service and, with --top-pids 1 among the test's
 * children (--pid-metrics), keeps the per-PID series of the busiest only:
 * the child that spins, labelled with its container. */
static void
test_aggregator_groups(void **state)
{
	fx         *f = *state;
	char        abound[512], bound[512], path[512], listen[600], arpc[600], pub[600], rpc[600];
	char        metrics[600], want[300], reply[64];
	pc_buf      b = { 0 };
	const char *page;
	const char *aargv[] = { agg_path,       "--history",  "none",
		                "--listen",     listen,       "--rpc",
		                arpc,           "--metrics",  "http://127.0.0.1:0/metrics",
		                "--group-by",   "service",    "--pid-metrics",
		                "pc_child",     "--top-pids", "1",
		                "--bound-file", abound,       NULL };
	const char *argv[]  = { agent_path,   "--publish",    pub,      "--rpc",   rpc,
		                "--interval", "200ms",        "--host", "ctxhost", "--aggregator",
		                listen,       "--bound-file", bound,    NULL };
	pc_child   *agg, *agent;
	uint64_t    deadline;

	assert_int_equal(pc_test_path(abound, sizeof(abound), NULL), 0);
	assert_int_equal(pc_test_path(bound, sizeof(bound), NULL), 0);
	assert_int_equal(pc_test_path(path, sizeof(path), NULL), 0);
	snprintf(listen, sizeof(listen), "ipc://%s", path);
	assert_int_equal(pc_test_path(path, sizeof(path), NULL), 0);
	snprintf(arpc, sizeof(arpc), "ipc://%s", path);
	assert_int_equal(pc_test_path(path, sizeof(path), NULL), 0);
	snprintf(pub, sizeof(pub), "ipc://%s", path);
	assert_int_equal(pc_test_path(path, sizeof(path), NULL), 0);
	snprintf(rpc, sizeof(rpc), "ipc://%s", path);
	assert_non_null(agg = pc_child_start(aargv));
	assert_int_equal(pc_test_bound(abound, "metrics", metrics, sizeof(metrics), 10000), 0);
	assert_non_null(agent = pc_child_start(argv));
	assert_int_equal(pc_test_bound(bound, "rpc", rpc, sizeof(rpc), 10000), 0);
	/* The Docker child spins for 8 s; the others wait. */
	assert_int_equal(pc_child_send(f->child[0], "spin 8000"), 0);
	snprintf(want, sizeof(want),
	         "pidcast_process_cpu_seconds_total{host=\"ctxhost\",pid=\"%u\",name=\"pc_child\","
	         "container_id=\"%s\",service=\"%s\"}",
	         f->pid[0], cg[0].id, cg[0].service);
	deadline = pc_clock_mono_us() + 7000000u;
	do {
		pc_check_http_get(metrics, &b);
		page = b.data != NULL ? b.data : "";
	} while (strstr(page, want) == NULL && pc_clock_mono_us() < deadline);
	if (strstr(page, want) == NULL) {
		fail_msg("no %s on the page:\n%.2000s", want, page);
	}
	/* One process's series, not five. */
	assert_int_equal(count(page, "pidcast_process_cpu_seconds_total{host=\"ctxhost\""), 1);
	assert_int_equal(count(page, "pidcast_process_rss_bytes{host=\"ctxhost\""), 1);
	/* The groups are the units and scopes. */
	assert_non_null(strstr(
	        page, "pidcast_group_processes{host=\"ctxhost\",group=\"pc-test.service\"} 1"));
	snprintf(want, sizeof(want), "pidcast_group_processes{host=\"ctxhost\",group=\"%s\"} 1",
	         cg[1].service);
	assert_non_null(strstr(page, want));
	assert_int_equal(pc_child_read_line(f->child[0], reply, sizeof(reply)), 0);
	assert_string_equal(reply, "ok");
	pc_child_kill(agent);
	pc_child_kill(agg);
	pc_buf_fini(&b);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bpf),
		cmocka_unit_test(test_procfs),
		cmocka_unit_test(test_query_filters),
		cmocka_unit_test(test_aggregator_groups),
	};
	if (argc < 5) {
		fprintf(stderr, "usage: test_context_linux PC_CHILD AGENT QUERY AGGREGATOR\n");
		return 2;
	}
	agg_path   = argv[4];
	child_path = argv[1];
	agent_path = argv[2];
	query_path = argv[3];
	return cmocka_run_group_tests(tests, setup, teardown);
}
