/* test_storm.c: every short-lived process, end to end. A storm of 2,000
 * real processes living 1 to 20 ms each (pc_storm), started at 1,000 a
 * second under a real agent (--probe bpf, a tick every 250 ms): a real
 * pidcast-sub --json follower sees every one as new and as exited, with
 * its pid, ppid, command line, exit code or signal, and at least the CPU
 * time it spun. And an exec shows as a change of name, exe and command
 * line, and a full ring buffer is counted. Skipped where the bpf backend cannot watch processes
 * end. */
#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include <cmocka.h>

#include "base/pc_idmap.h"
#include "platform/pc_platform.h"
#include "probe/pc_probe.h"
#include "pc_check.h"
#include "pc_spawn.h"
#include "pc_testdir.h"

#define STORM_N    2000
#define STORM_RATE "1000"

static const char *agent_path, *sub_path, *storm_path;
static char        line[1 << 16];

/* What the follower printed of one process. */
typedef struct seen {
	int      news, exits;
	uint32_t ppid;
	char     cmdline[96];
	int      code, signal; /* -1: absent */
	uint64_t cpu_us;
} seen;

typedef struct fx {
	pc_child *agent, *sub, *storm;
	char      pub[300], rpc[300];
	pc_idmap  seen; /* pid -> seen, of the storm's processes only */
} fx;

/* The text after "key": in a flat JSON line, or NULL. */
static const char *
field(const char *l, const char *key)
{
	char        pat[40];
	const char *at;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	return (at = strstr(l, pat)) != NULL ? at + strlen(pat) : NULL;
}

static long long
num(const char *l, const char *key, long long absent)
{
	const char *v = field(l, key);

	return v != NULL ? strtoll(v, NULL, 10) : absent;
}

/* A string value without escapes (the storm's are plain) into out. */
static void
str(const char *l, const char *key, char *out, size_t cap)
{
	const char *v = field(l, key);
	size_t      n = 0;

	out[0] = '\0';
	if (v == NULL || *v++ != '"') {
		return;
	}
	while (v[n] != '\0' && v[n] != '"' && n + 1 < cap) {
		n++;
	}
	memcpy(out, v, n);
	out[n] = '\0';
}

static int
setup(void **state)
{
	fx       *x = calloc(1, sizeof(*x));
	pc_probe *p;
	char      why[256];

	if (x == NULL) {
		return 1;
	}
	*state = x;
	/* Skip where the kernel will not run the tracepoint programs. */
	if (pc_probe_open_why("bpf", &p, why, sizeof(why)) != 0) {
		print_message("skip: no bpf backend here: %s\n", why);
		return 0;
	}
	pc_probe_stats st;
	pc_probe_stats_get(p, &st);
	pc_probe_close(p);
	if (!st.events) {
		print_message("skip: the bpf backend cannot watch exits here\n");
		return 0;
	}
	char bound[512];
	if (pc_test_path(bound, sizeof(bound), "agent.bound") != 0) {
		return 1;
	}
	snprintf(x->pub, sizeof(x->pub), "ipc://%s/pub", pc_test_dir());
	snprintf(x->rpc, sizeof(x->rpc), "ipc://%s/rpc", pc_test_dir());
	/* A keyframe every 3 ticks: keyframes must carry exits too. */
	const char *argv[] = { agent_path, "--probe",    "bpf",  "--interval",
		               "250ms",    "--keyframe", "3",    "--publish",
		               x->pub,     "--rpc",      x->rpc, "--bound-file",
		               bound,      NULL };
	if ((x->agent = pc_child_start(argv)) == NULL ||
	    pc_test_bound(bound, "rpc", x->rpc, sizeof(x->rpc), 10000) != 0) {
		return 1;
	}
	const char *sargv[] = { sub_path, x->pub, "--rpc", x->rpc, "--json", "--marks", NULL };
	if ((x->sub = pc_child_start(sargv)) == NULL) {
		return 1;
	}
	/* Synced first: what the storm starts is then all in deltas. */
	do {
		if (pc_child_read_line(x->sub, line, sizeof(line)) != 0) {
			return 1;
		}
	} while (strstr(line, "\"event\":\"resync\"") == NULL);
	return 0;
}

static int
teardown(void **state)
{
	fx      *x   = *state;
	size_t   cur = 0;
	uint32_t pid;
	void    *v;

	if (x->storm != NULL) {
		pc_child_kill(x->storm);
	}
	if (x->sub != NULL) {
		pc_child_kill(x->sub);
	}
	if (x->agent != NULL) {
		pc_child_kill(x->agent);
	}
	while ((v = pc_idmap_next(&x->seen, &cur, &pid)) != NULL) {
		free(v);
	}
	pc_idmap_fini(&x->seen);
	free(x);
	return 0;
}

/* One line of the follower, kept if it is of a storm process. */
static void
take(fx *x, const char *l)
{
	char  ev[16], name[32];
	long  pid = num(l, "pid", -1);
	seen *s;

	str(l, "event", ev, sizeof(ev));
	str(l, "name", name, sizeof(name));
	if (pid >= 0 && strcmp(ev, "changed") == 0) {
		/* Listed between its fork and its exec: the exec's change (a
		 * change names only what changed, so no name). */
		if ((s = pc_idmap_get(&x->seen, (uint32_t)pid)) != NULL && field(l, "cmdline")) {
			str(l, "cmdline", s->cmdline, sizeof(s->cmdline));
		}
		return;
	}
	if (pid < 0 || strcmp(name, "pc_storm") != 0) {
		return;
	}
	if (strcmp(ev, "new") != 0 && strcmp(ev, "exit") != 0) {
		return;
	}
	if ((s = pc_idmap_get(&x->seen, (uint32_t)pid)) == NULL) {
		assert_non_null(s = calloc(1, sizeof(*s)));
		assert_int_equal(pc_idmap_set(&x->seen, (uint32_t)pid, s), 0);
		s->code = s->signal = -1;
	}
	if (strcmp(ev, "new") == 0) {
		s->news++;
		s->ppid = (uint32_t)num(l, "ppid", 0);
		str(l, "cmdline", s->cmdline, sizeof(s->cmdline));
		return;
	}
	s->exits++;
	if (field(l, "cmdline") != NULL) { /* it exec'd since the last update */
		str(l, "cmdline", s->cmdline, sizeof(s->cmdline));
	}
	s->code   = (int)num(l, "exit_code", -1);
	s->signal = (int)num(l, "exit_signal", -1);
	s->cpu_us = (uint64_t)num(l, "cpu_user_us", 0) + (uint64_t)num(l, "cpu_system_us", 0);
}

/* Each line of the list: "PID I", then "done N". */
typedef struct child_rec {
	uint32_t pid;
	long     i;
} child_rec;

static long
read_list(const char *path, child_rec *out, long cap, bool *done)
{
	FILE *f = fopen(path, "r");
	char  l[64];
	long  n = 0, pid, i;

	*done = false;
	if (f == NULL) {
		return 0;
	}
	while (fgets(l, sizeof(l), f) != NULL) {
		if (strncmp(l, "done ", 5) == 0) {
			*done = true;
		} else if (sscanf(l, "%ld %ld", &pid, &i) == 2 && n < cap) {
			out[n++] = (child_rec){ (uint32_t)pid, i };
		}
	}
	fclose(f);
	return n;
}

/* Whether every child listed was seen to exit. */
static bool
all_exited(fx *x, const child_rec *c, long n)
{
	for (long k = 0; k < n; k++) {
		const seen *s = pc_idmap_get(&x->seen, c[k].pid);
		if (s == NULL || s->exits == 0) {
			return false;
		}
	}
	return true;
}

static void
test_storm(void **state)
{
	fx        *x = *state;
	char       list[512], want[96];
	child_rec *c = calloc(STORM_N, sizeof(*c));
	long       n = 0, news = 0, exits = 0, by_code0 = 0, by_code3 = 0, by_kill = 0;
	bool       done = false;
	uint64_t   deadline;
	uint32_t   storm_pid;

	if (x->agent == NULL) {
		skip();
	}
	assert_non_null(c);
	assert_int_equal(pc_test_path(list, sizeof(list), "storm.list"), 0);
	const char *argv[] = { storm_path, "2000", STORM_RATE, list, NULL };
	assert_non_null(x->storm = pc_child_start(argv));
	/* Every line of the follower is read (with --marks, one a tick at
	 * least) until every child it started has exited in its output. */
	deadline = pc_clock_mono_us() + 60000000u;
	for (;;) {
		assert_int_equal(pc_child_read_line(x->sub, line, sizeof(line)), 0);
		take(x, line);
		if (strstr(line, "\"event\":\"update\"") == NULL) {
			continue;
		}
		if (!done) {
			n = read_list(list, c, STORM_N, &done);
		}
		if (done && all_exited(x, c, n)) {
			break;
		}
		assert_true(pc_clock_mono_us() < deadline);
	}
	storm_pid = pc_child_pid(x->storm);
	assert_int_equal(pc_child_wait(x->storm), 0);
	x->storm = NULL;
	assert_int_equal(n, STORM_N);
	for (long k = 0; k < n; k++) {
		const seen *s = pc_idmap_get(&x->seen, c[k].pid);
		long        i = c[k].i, kind = i % 3, spin = 1000 + (i % 4) * 500;
		assert_non_null(s);
		news += s->news;
		exits += s->exits;
		assert_int_equal(s->news, 1);
		assert_int_equal(s->exits, 1);
		assert_int_equal(s->ppid, storm_pid);
		snprintf(want, sizeof(want), "pc_storm child %ld %ld %ld", i, kind, spin);
		assert_string_equal(s->cmdline, want);
		if (kind == 2) {
			assert_int_equal(s->signal, 9);
			assert_int_equal(s->code, -1);
			by_kill++;
		} else {
			assert_int_equal(s->code, kind == 1 ? 3 : 0);
			assert_int_equal(s->signal, -1);
			by_code3 += kind == 1;
			by_code0 += kind == 0;
		}
		/* The two counters are each cut to whole microseconds. */
		assert_true(s->cpu_us + 1 >= (uint64_t)spin);
	}
	print_message("storm: started %ld, seen new %ld, seen exit %ld "
	              "(exit 0: %ld, exit 3: %ld, SIGKILL: %ld)\n",
	              n, news, exits, by_code0, by_code3, by_kill);
	free(c);
}

/* A process that execs another program, seen first with its own image,
 * then as one change of name, exe and command line. */
static void
test_exec_changes_image(void **state)
{
	fx         *x      = *state;
	const char *argv[] = { storm_path, "hold", "/bin/sleep", "30", NULL };
	char        pidtxt[32], name[32], exe[256], cmd[96];
	bool        listed = false;
	uint64_t    deadline;

	if (x->agent == NULL) {
		skip();
	}
	assert_non_null(x->storm = pc_child_start(argv));
	snprintf(pidtxt, sizeof(pidtxt), "\"pid\":%u,", pc_child_pid(x->storm));
	deadline = pc_clock_mono_us() + 20000000u;
	/* Listed first with its own image... */
	while (!listed) {
		assert_int_equal(pc_child_read_line(x->sub, line, sizeof(line)), 0);
		listed = strstr(line, pidtxt) != NULL && strstr(line, "\"event\":\"new\"") != NULL;
		assert_true(pc_clock_mono_us() < deadline);
	}
	str(line, "name", name, sizeof(name));
	assert_string_equal(name, "pc_storm");
	/* ...then the exec: one change of name, exe and command line. */
	assert_int_equal(pc_child_send(x->storm, "go"), 0);
	for (;;) {
		assert_int_equal(pc_child_read_line(x->sub, line, sizeof(line)), 0);
		if (strstr(line, pidtxt) != NULL && strstr(line, "\"event\":\"changed\"") != NULL &&
		    field(line, "cmdline") != NULL) {
			break;
		}
		assert_true(pc_clock_mono_us() < deadline);
	}
	str(line, "name", name, sizeof(name));
	str(line, "exe", exe, sizeof(exe));
	str(line, "cmdline", cmd, sizeof(cmd));
	assert_string_equal(name, "sleep");
	assert_non_null(strstr(exe, "sleep"));
	assert_string_equal(cmd, "/bin/sleep 30");
	pc_child_kill(x->storm);
	x->storm = NULL;
}

/* A full ring is counted, never silent: with the agent stopped, a storm
 * of 8,000 processes (three events each, about 10 MB) overflows its 8 MiB
 * ring; once it runs again, ListHosts counts the events lost. */
static void
test_overflow_is_counted(void **state)
{
	fx                      *x      = *state;
	const char              *argv[] = { storm_path, "8000", "4000", NULL, NULL };
	char                     list[512];
	nng_socket               req;
	Pidcast__ListHostsReply *r;

	if (x->agent == NULL) {
		skip();
	}
	assert_int_equal(pc_test_path(list, sizeof(list), "overflow.list"), 0);
	argv[3] = list;
	assert_int_equal(kill((pid_t)pc_child_pid(x->agent), SIGSTOP), 0);
	assert_non_null(x->storm = pc_child_start(argv));
	assert_int_equal(pc_child_wait(x->storm), 0);
	x->storm = NULL;
	assert_int_equal(kill((pid_t)pc_child_pid(x->agent), SIGCONT), 0);
	req = pc_check_req(x->rpc);
	/* Continued, the agent first works through the backlog of its stop
	 * (the ring buffer, the storm's stream): under ASan on a loaded
	 * machine that took more than pc_check_req's 3 s. */
	assert_int_equal(nng_socket_set_ms(req, NNG_OPT_RECVTIMEO, 60000), 0);
	r = pc_check_hosts(req);
	assert_int_equal(r->n_hosts, 1);
	assert_true(r->hosts[0]->has_probe_lost_events);
	assert_true(r->hosts[0]->has_probe_exits);
	print_message("overflow: %" PRIu64 " events lost, %" PRIu64 " exits seen\n",
	              r->hosts[0]->probe_lost_events, r->hosts[0]->probe_exits);
	assert_true(r->hosts[0]->probe_lost_events > 0);
	pidcast__list_hosts_reply__free_unpacked(r, NULL);
	nng_close(req);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_storm, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exec_changes_image, setup, teardown),
		cmocka_unit_test_setup_teardown(test_overflow_is_counted, setup, teardown),
	};

	if (argc != 5) {
		fprintf(stderr, "usage: test_storm AGENT SUB PC_STORM OVERFLOW(0|1)\n");
		return 2;
	}
	agent_path = argv[1];
	sub_path   = argv[2];
	storm_path = argv[3];
	/* OVERFLOW 0: the overflow case is left out (ASan builds). */
	return _cmocka_run_group_tests("test_storm", tests, strcmp(argv[4], "0") == 0 ? 2 : 3, NULL,
	                               NULL);
}
