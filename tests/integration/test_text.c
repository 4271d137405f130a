/* test_text.c: text from the OS and from peers reaches the wire, the
 * metrics page and the terminal safe. A real process whose comm Linux cut
 * inside a character; a peer that forges host names and record strings
 * with bad bytes and control characters; RPC method names that are not
 * UTF-8 or too long; a hostile RPC server answering pidcast-query and a
 * hostile stream for pidcast-sub. The wire carries valid UTF-8 only, the
 * page passes promtool, log lines stay one line each, and what the clients
 * print holds no control byte.
 * usage: test_text AGENT AGGREGATOR QUERY SUB */
#define _POSIX_C_SOURCE 200809L /* popen, strdup */
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
#include <nng/nng.h>
#include <nng/protocol/pubsub0/pub.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/supplemental/util/platform.h>

#include "base/pc_buf.h"
#include "base/pc_err.h"
#include "base/pc_utf8.h"
#include "pc_check.h"
#include "pc_spawn.h"
#include "pc_testdir.h"
#include "platform/pc_platform.h"
#include "rpc/pc_rpc.h"
#include "wire/pc_update.h"
#include "pidcast.pb-c.h"

#define R      PC_UTF8_REPLACEMENT
#define EACUTE "\xc3\xa9"
/* 14 'a' and an é: 16 bytes, so the kernel's 15-byte comm ends inside é. */
#define LONG_NAME "aaaaaaaaaaaaaa" EACUTE
#define CUT_NAME  "aaaaaaaaaaaaaa" R

static const char *agent_path, *agg_path, *query_path, *sub_path;

typedef struct fx {
	char      url_in[300], url_rpc[300], metrics[256], agg_err[256];
	pc_child *agg;
	pc_child *kids[2]; /* what a test starts, killed by teardown even if it fails */
} fx;

/* The aggregator on ipc:// in a folder of its own and /metrics on port 0,
 * its stderr kept in a file; ready once its --bound-file says so. */
static int
setup(void **state)
{
	fx         *x = calloc(1, sizeof(*x));
	char        bound[256], path[256];
	const char *argv[] = { "/bin/sh",
		               "-c",
		               "f=$1; shift; exec \"$@\" 2>\"$f\"",
		               "sh",
		               x->agg_err,
		               agg_path,
		               "--history",
		               "none",
		               "--listen",
		               x->url_in,
		               "--rpc",
		               x->url_rpc,
		               "--metrics",
		               "http://127.0.0.1:0/metrics",
		               "--publish",
		               "tcp://127.0.0.1:0",
		               "--pid-metrics",
		               "*",
		               "--bound-file",
		               bound,
		               NULL };

	assert_non_null(x);
	assert_int_equal(pc_test_path(path, sizeof(path), NULL), 0);
	snprintf(x->url_in, sizeof(x->url_in), "ipc://%s", path);
	assert_int_equal(pc_test_path(path, sizeof(path), NULL), 0);
	snprintf(x->url_rpc, sizeof(x->url_rpc), "ipc://%s", path);
	assert_int_equal(pc_test_path(x->agg_err, sizeof(x->agg_err), NULL), 0);
	assert_int_equal(pc_test_path(bound, sizeof(bound), NULL), 0);
	assert_non_null(x->agg = pc_child_start(argv));
	assert_int_equal(pc_test_bound(bound, "metrics", x->metrics, sizeof(x->metrics), 10000), 0);
	*state = x;
	return 0;
}

static int
teardown(void **state)
{
	fx *x = *state;

	for (int i = 0; i < 2; i++) {
		if (x->kids[i] != NULL) {
			pc_child_kill(x->kids[i]);
		}
	}
	if (x->agg != NULL) {
		pc_child_kill(x->agg);
	}
	free(x);
	return 0;
}

/* The metrics page once it holds needle (polled, 10 s at most), checked:
 * valid UTF-8 throughout, and accepted by promtool. */
static void
metrics_page(fx *x, const char *needle, pc_buf *page)
{
	char     path[128], cmd[256];
	FILE    *f;
	uint64_t t0 = pc_clock_mono_us();

	for (pc_check_http_get(x->metrics, page); strstr(page->data, needle) == NULL;
	     pc_check_http_get(x->metrics, page)) {
		if (pc_clock_mono_us() - t0 > 10000000u) {
			fail_msg("no '%s' on the metrics page", needle);
		}
		pc_sleep_ms(100);
	}
	assert_int_equal(strlen(page->data), page->len);
	assert_true(pc_utf8_valid(page->data));
	assert_int_equal(pc_test_path(path, sizeof(path), NULL), 0);
	assert_non_null(f = fopen(path, "wb"));
	assert_int_equal(fwrite(page->data, 1, page->len, f), page->len);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "promtool check metrics <'%s'", path);
	assert_int_equal(system(cmd), 0);
}

static int
get_process(nng_socket req, const char *host, uint32_t pid, Pidcast__GetProcessReply **out)
{
	Pidcast__GetProcessRequest in = PIDCAST__GET_PROCESS_REQUEST__INIT;
	char                       msg[256];
	int                        status = -1;

	in.has_pid = 1;
	in.pid     = pid;
	in.host    = (char *)host;
	*out       = NULL;
	assert_int_equal(pc_rpc_call(req, "GetProcess", &in.base,
	                             &pidcast__get_process_reply__descriptor,
	                             (ProtobufCMessage **)out, &status, msg, sizeof(msg)),
	                 PC_OK);
	return status;
}

static void
assert_strings_valid(const Pidcast__Process *m)
{
	assert_non_null(m);
	assert_true(m->name == NULL || pc_utf8_valid(m->name));
	assert_true(m->exe == NULL || pc_utf8_valid(m->exe));
	assert_true(m->cmdline == NULL || pc_utf8_valid(m->cmdline));
	assert_true(m->user == NULL || pc_utf8_valid(m->user));
}

static void
copy_file(const char *from, const char *to)
{
	FILE  *in = fopen(from, "rb"), *out = fopen(to, "wb");
	char   buf[65536];
	size_t n;

	assert_non_null(in);
	assert_non_null(out);
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0) {
		assert_int_equal(fwrite(buf, 1, n, out), n);
	}
	fclose(in);
	assert_int_equal(fclose(out), 0);
	assert_int_equal(chmod(to, 0755), 0);
}

/* A real process named with 14 'a' and an é: Linux keeps 15 bytes of it,
 * half of the é. The agent's record, its JSON and the aggregator's page
 * carry the name with U+FFFD for the cut byte, and promtool takes the page. */
static void
test_comm_cut_inside_a_character(void **state)
{
	fx         *x = *state;
	char        exe[256], pub[300], rpc[300], path[256], line[65536], want[64];
	const char *sleep_argv[] = { exe, "300", NULL };
	const char *agent_argv[] = { agent_path, "--host",       "texthost", "--interval",
		                     "200ms",    "--publish",    pub,        "--rpc",
		                     rpc,        "--aggregator", x->url_in,  NULL };
	const char *once_argv[]  = { agent_path, "--once", "--json", NULL };
	pc_child   *once;
	Pidcast__GetProcessReply *r = NULL;
	nng_socket                req;
	pc_buf                    page = { 0 };
	uint32_t                  pid;
	uint64_t                  t0;
	bool                      valid = true, named = false;

	assert_int_equal(pc_test_path(exe, sizeof(exe), LONG_NAME), 0);
	assert_int_equal(pc_test_path(path, sizeof(path), NULL), 0);
	snprintf(pub, sizeof(pub), "ipc://%s", path);
	assert_int_equal(pc_test_path(path, sizeof(path), NULL), 0);
	snprintf(rpc, sizeof(rpc), "ipc://%s", path);
	copy_file("/bin/sleep", exe);
	assert_non_null(x->kids[0] = pc_child_start(sleep_argv));
	pid = pc_child_pid(x->kids[0]);
	assert_non_null(x->kids[1] = pc_child_start(agent_argv));
	req = pc_check_req(rpc);

	/* The agent's record, decoded from its protobuf reply. */
	for (t0 = pc_clock_mono_us(); get_process(req, NULL, pid, &r) != 0;) {
		assert_true(pc_clock_mono_us() - t0 < 10000000u);
		pc_sleep_ms(50);
	}
	assert_non_null(r);
	assert_strings_valid(r->process);
	assert_string_equal(r->process->name, CUT_NAME);
	assert_non_null(strstr(r->process->exe, LONG_NAME));
	pidcast__get_process_reply__free_unpacked(r, NULL);

	/* Its JSON line. */
	snprintf(want, sizeof(want), "{\"pid\":%u,", pid);
	assert_non_null(once = pc_child_start(once_argv));
	/* Read to the end before asserting, so that it exits either way. */
	while (pc_child_read_line(once, line, sizeof(line)) == 0) {
		valid = valid && pc_utf8_valid(line);
		named = named || (strncmp(line, want, strlen(want)) == 0 &&
		                  strstr(line, "\"name\":\"" CUT_NAME "\"") != NULL);
	}
	assert_int_equal(pc_child_wait(once), 0);
	assert_true(valid);
	assert_true(named);

	/* The aggregator's page, its group and per-PID series. */
	metrics_page(x, "group=\"" CUT_NAME "\"", &page);
	assert_non_null(strstr(page.data, "name=\"" CUT_NAME "\""));

	pc_buf_fini(&page);
	nng_close(req);
}

/* A host name is an identity: --host that is not UTF-8 is refused, as
 * receivers would refuse it, not sent repaired. */
static void
test_agent_refuses_host_not_utf8(void **state)
{
	const char *argv[] = { agent_path, "--host", "web\xff", "--once", "--json", NULL };
	pc_child   *c;
	char        line[65536];

	(void)state;
	assert_non_null(c = pc_child_start(argv));
	while (pc_child_read_line(c, line, sizeof(line)) == 0) {
	}
	assert_int_equal(pc_child_wait(c), 2);
}

/* One record with every string set to the given bytes, taken as is. */
static const pc_proc *
one_record(const void *table, size_t *cursor)
{
	return (*cursor)++ == 0 ? table : NULL;
}

static void
send_keyframe(nng_socket pub, pc_encoder *enc, const char *host, const pc_proc *p)
{
	pc_update_hdr h = { host, 4242, 1, pc_clock_realtime_ms(), 200 };

	assert_int_equal(pc_encoder_keyframe(enc, &h, one_record, p, 1), PC_OK);
	assert_int_equal(pc_encoder_frame(enc), PC_OK);
	assert_int_equal(nng_send(pub, enc->frame.data, enc->frame.len, 0), 0);
}

static bool
has_host(nng_socket req, const char *name)
{
	Pidcast__ListHostsReply *r     = pc_check_hosts(req);
	bool                     found = false;

	for (size_t i = 0; i < r->n_hosts; i++) {
		assert_non_null(r->hosts[i]->host);
		assert_true(pc_utf8_valid(r->hosts[i]->host));
		found = found || strcmp(r->hosts[i]->host, name) == 0;
	}
	pidcast__list_hosts_reply__free_unpacked(r, NULL);
	return found;
}

/* Every line of the aggregator's log so far starts with its name and holds
 * no control byte; returns whether one of them holds want. */
static bool
log_lines_ok(const char *path, const char *want)
{
	FILE *f = fopen(path, "rb");
	char  line[4096];
	bool  found = false;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f) != NULL) {
		size_t n = strcspn(line, "\n");
		assert_int_equal(strncmp(line, "pidcast-aggregator: ", 20), 0);
		for (size_t i = 0; i < n; i++) {
			assert_true((unsigned char)line[i] >= 0x20 && line[i] != 0x7f);
		}
		line[n] = '\0';
		assert_true(pc_utf8_valid(line));
		found = found || strstr(line, want) != NULL;
	}
	fclose(f);
	return found;
}

/* A peer forges host names and record strings: a host that is not UTF-8
 * is refused; a host with a newline and an escape is kept but logged
 * escaped on one line; record strings are repaired. ListHosts, GetProcess
 * and the metrics page carry valid UTF-8 only, and promtool takes it. */
static void
test_hostile_peer_strings(void **state)
{
	fx                       *x   = *state;
	pc_encoder                enc = { 0 };
	nng_socket                pub, req;
	pc_proc                   p    = { 0 };
	Pidcast__GetProcessReply *r    = NULL;
	pc_buf                    page = { 0 };
	uint64_t                  t0;
	static const char         bad_host[] = "\xff\xfe", ctl_host[] = "evil\n\x1b[2Jhost";

	p.pid            = 77;
	p.create_time_ms = 1700000000000ULL;
	p.threads        = 1;
	p.name           = "aaaaaaaaaaaaaa\xc3";
	p.exe            = "/x/\xff\xfe";
	p.cmdline        = "x \xed\xa0\x80 \xc0\xaf";
	p.user           = "u\xf4\x90\x80\x80";
	assert_int_equal(nng_pub0_open(&pub), 0);
	assert_int_equal(nng_dial(pub, x->url_in, NULL, NNG_FLAG_NONBLOCK), 0);
	req = pc_check_req(x->url_rpc);
	/* Until the aggregator has them: the first sends may precede the pipe. */
	for (t0 = pc_clock_mono_us(); !has_host(req, "strs") || !has_host(req, ctl_host);) {
		assert_true(pc_clock_mono_us() - t0 < 10000000u);
		send_keyframe(pub, &enc, bad_host, &p);
		send_keyframe(pub, &enc, ctl_host, &p);
		send_keyframe(pub, &enc, "strs", &p);
		pc_sleep_ms(100);
	}
	send_keyframe(pub, &enc, bad_host, &p); /* once more, now surely heard */
	pc_sleep_ms(300);
	assert_false(has_host(req, bad_host));
	assert_false(has_host(req, R R));

	assert_int_equal(get_process(req, "strs", 77, &r), 0);
	assert_strings_valid(r->process);
	assert_string_equal(r->process->name, CUT_NAME);
	assert_string_equal(r->process->exe, "/x/" R R);
	assert_string_equal(r->process->cmdline, "x " R R R " " R R);
	assert_string_equal(r->process->user, "u" R R R R);
	pidcast__get_process_reply__free_unpacked(r, NULL);

	metrics_page(x, "group=\"" CUT_NAME "\"", &page);
	assert_non_null(strstr(page.data, "host=\"evil\\n\x1b[2Jhost\""));

	pc_buf_fini(&page);
	pc_encoder_fini(&enc);
	nng_close(req);
	nng_close(pub);
}

/* A host name with a newline and an escape: each log line is one line with
 * the program's name in front, the name escaped. */
static void
test_log_lines_escaped(void **state)
{
	fx               *x   = *state;
	pc_encoder        enc = { 0 };
	nng_socket        pub, req;
	pc_proc           p = { .pid = 5, .create_time_ms = 1700000000000ULL, .name = "n" };
	uint64_t          t0;
	static const char ctl_host[] = "evil\n\x1b[2Jhost";

	assert_int_equal(nng_pub0_open(&pub), 0);
	assert_int_equal(nng_dial(pub, x->url_in, NULL, NNG_FLAG_NONBLOCK), 0);
	req = pc_check_req(x->url_rpc);
	for (t0 = pc_clock_mono_us(); !has_host(req, ctl_host);) {
		assert_true(pc_clock_mono_us() - t0 < 10000000u);
		send_keyframe(pub, &enc, ctl_host, &p);
		pc_sleep_ms(100);
	}
	/* The line is written once the poll that applied the keyframe ends. */
	for (t0 = pc_clock_mono_us(); !log_lines_ok(x->agg_err, "host evil\\n\\x1b[2Jhost up");) {
		assert_true(pc_clock_mono_us() - t0 < 5000000u);
		pc_sleep_ms(20);
	}
	pc_encoder_fini(&enc);
	nng_close(req);
	nng_close(pub);
}

/* The Reply of a raw Request naming method: its message. */
static char *
reply_message(nng_socket req, const char *method, const ProtobufCMessage *payload)
{
	Pidcast__Request r = PIDCAST__REQUEST__INIT;
	uint8_t          buf[4096], in[1024];
	Pidcast__Reply  *rep;
	void            *data;
	size_t           len;
	char            *msg;

	r.method = (char *)method;
	if (payload != NULL) {
		r.has_payload  = 1;
		r.payload.data = in;
		r.payload.len  = protobuf_c_message_pack(payload, in);
	}
	len = pidcast__request__pack(&r, buf);
	assert_int_equal(nng_send(req, buf, len, 0), 0);
	assert_int_equal(nng_recv(req, &data, &len, NNG_FLAG_ALLOC), 0);
	rep = pidcast__reply__unpack(NULL, len, data);
	nng_free(data, len);
	assert_non_null(rep);
	assert_non_null(rep->message);
	msg = strdup(rep->message);
	pidcast__reply__free_unpacked(rep, NULL);
	assert_non_null(msg);
	return msg;
}

/* Method and host names that are not UTF-8, or long and multibyte: the
 * Reply.message echoing them is valid UTF-8, cut on a character boundary. */
static void
test_rpc_messages_are_utf8(void **state)
{
	fx                        *x   = *state;
	nng_socket                 req = pc_check_req(x->url_rpc);
	Pidcast__GetProcessRequest gp  = PIDCAST__GET_PROCESS_REQUEST__INIT;
	char                       two[256], three[256], want[256], *m;

	/* 200 bytes each: 'a' then 99 é then 'z'; 66 进 then "ab". */
	strcpy(two, "a");
	strcpy(three, "");
	for (int i = 0; i < 99; i++) {
		strcat(two, EACUTE);
	}
	strcat(two, "z");
	for (int i = 0; i < 66; i++) {
		strcat(three, "\xe8\xbf\x9b");
	}
	strcat(three, "ab");
	assert_int_equal(strlen(two), 200);
	assert_int_equal(strlen(three), 200);

	m = reply_message(req,
	                  "\xff\xfe"
	                  "Bad\xc3",
	                  NULL);
	assert_string_equal(m, "unknown method '" R R "Bad" R "'");
	free(m);

	m = reply_message(req, two, NULL);
	assert_true(pc_utf8_valid(m));
	snprintf(want, sizeof(want), "unknown method '%.63s'", two); /* 'a' and 31 é */
	assert_string_equal(m, want);
	free(m);

	m = reply_message(req, three, NULL);
	assert_true(pc_utf8_valid(m));
	snprintf(want, sizeof(want), "unknown method '%.63s'", three); /* 21 进 */
	assert_string_equal(m, want);
	free(m);

	gp.has_pid = 1;
	gp.pid     = 1;
	gp.host    = three;
	m          = reply_message(req, "GetProcess", &gp.base);
	assert_true(pc_utf8_valid(m));
	snprintf(want, sizeof(want), "no host '%.63s'", three);
	assert_string_equal(m, want);
	free(m);
	gp.host = "\xc3(";
	m       = reply_message(req, "GetProcess", &gp.base);
	assert_string_equal(m, "no host '" R "('");
	free(m);
	nng_close(req);
}

/* A hostile RPC server: names, users, hosts and messages full of escape
 * sequences, newlines and bad bytes. */
#define EVIL_HOST "evil\x1b[2J\nline"
#define EVIL_MSG                            \
	"no \x1b[2J\n\xff process \xc2\x9b" \
	"31m"

typedef struct evil {
	nng_socket  rep;
	nng_thread *thr;
} evil;

static void
evil_process(Pidcast__Process *m)
{
	static Pidcast__Process init = PIDCAST__PROCESS__INIT;

	*m                    = init;
	m->has_pid            = 1;
	m->pid                = 42;
	m->has_create_time_ms = 1;
	m->create_time_ms     = 1700000000000ULL;
	m->name               = "\x1b[31mred\xc3";
	m->user               = "u\n\x1b]0;pwned\x07";
	m->exe                = "/x\x9b";
	m->cmdline            = "c\r\n\xe2\x80\xae";
}

/* The payload and status answering method; the payload packed into buf. */
static size_t
evil_answer(const char *method, uint8_t *buf, int *status, const char **msg)
{
	static Pidcast__HostInfo    hi[3] = { PIDCAST__HOST_INFO__INIT, PIDCAST__HOST_INFO__INIT,
		                              PIDCAST__HOST_INFO__INIT };
	Pidcast__HostInfo          *hp[3] = { &hi[0], &hi[1], &hi[2] };
	Pidcast__ListHostsReply     lh    = PIDCAST__LIST_HOSTS_REPLY__INIT;
	Pidcast__Process            proc, *pp = &proc;
	Pidcast__Update             u  = PIDCAST__UPDATE__INIT;
	Pidcast__ListProcessesReply lp = PIDCAST__LIST_PROCESSES_REPLY__INIT;
	Pidcast__TopEntry           te = PIDCAST__TOP_ENTRY__INIT, *tp = &te;
	Pidcast__TopReply           tr = PIDCAST__TOP_REPLY__INIT;

	evil_process(&proc);
	*status = 0;
	*msg    = NULL;
	if (strcmp(method, "ListHosts") == 0) {
		hi[0].host = EVIL_HOST;
		hi[1].host = "\xff\xfe";
		hi[2].host = "ok";
		lh.hosts   = hp;
		lh.n_hosts = 3;
		return protobuf_c_message_pack(&lh.base, buf);
	}
	if (strcmp(method, "GetSnapshot") == 0) {
		u.host      = EVIL_HOST;
		u.upserts   = &pp;
		u.n_upserts = 1;
		return protobuf_c_message_pack(&u.base, buf);
	}
	if (strcmp(method, "ListProcesses") == 0) {
		lp.processes   = &pp;
		lp.n_processes = 1;
		return protobuf_c_message_pack(&lp.base, buf);
	}
	if (strcmp(method, "Top") == 0) {
		te.process   = &proc;
		te.host      = EVIL_HOST;
		tr.entries   = &tp;
		tr.n_entries = 1;
		return protobuf_c_message_pack(&tr.base, buf);
	}
	*status = PIDCAST__STATUS_CODE__NOT_FOUND;
	*msg    = EVIL_MSG;
	return 0;
}

static void
evil_serve(void *arg)
{
	evil  *e = arg;
	void  *data;
	size_t len;
	int    rv;

	while ((rv = nng_recv(e->rep, &data, &len, NNG_FLAG_ALLOC)) != NNG_ECLOSED) {
		Pidcast__Request *rq;
		Pidcast__Reply    rp = PIDCAST__REPLY__INIT;
		static uint8_t    payload[8192], out[16384];
		const char       *msg;
		int               status;
		if (rv != 0) {
			continue;
		}
		rq = pidcast__request__unpack(NULL, len, data);
		nng_free(data, len);
		if (rq == NULL || rq->method == NULL) {
			pidcast__request__free_unpacked(rq, NULL);
			continue;
		}
		rp.payload.len  = evil_answer(rq->method, payload, &status, &msg);
		rp.payload.data = payload;
		rp.has_payload  = status == 0;
		rp.has_status   = 1;
		rp.status       = status;
		rp.message      = (char *)msg;
		pidcast__request__free_unpacked(rq, NULL);
		nng_send(e->rep, out, pidcast__reply__pack(&rp, out), 0);
	}
}

/* Runs argv (stdout and stderr together) to its end; out gets its output.
 * Then checks that it holds no control byte but the newlines, no C1
 * control and no bad UTF-8. Returns the number of lines. */
static int
run_lines(const char *const *argv, pc_buf *out)
{
	char      line[8192];
	int       lines = 0;
	pc_child *c;

	pc_buf_reset(out);
	assert_non_null(c = pc_child_start(argv));
	while (pc_child_read_line(c, line, sizeof(line)) == 0) {
		pc_buf_str(out, line);
		pc_buf_str(out, "\n");
		lines++;
	}
	pc_child_wait(c);
	assert_int_equal(out->err, PC_OK);
	for (size_t i = 0; i < out->len; i++) {
		unsigned char b    = (unsigned char)out->data[i],
		              next = (unsigned char)out->data[i + 1];
		if ((b < 0x20 && b != '\n') || b == 0x7f ||
		    (b == 0xc2 && next >= 0x80 && next <= 0x9f)) {
			fail_msg("%s: a control byte 0x%02x in:\n%s", argv[4], b, out->data);
		}
	}
	assert_true(lines == 0 || pc_utf8_valid(out->data));
	return lines;
}

/* pidcast-query with args against url. */
static int
run_query(const char *url, const char *const *args, pc_buf *out)
{
	const char *argv[16] = { "/bin/sh", "-c", "exec \"$@\" 2>&1", "sh", query_path,
		                 "--rpc",   url,  "--timeout",        "3s" };
	int         n        = 9;

	for (int i = 0; args[i] != NULL; i++) {
		argv[n++] = args[i];
	}
	argv[n] = NULL;
	return run_lines(argv, out);
}

static void
test_query_against_hostile_server(void **state)
{
	evil               e;
	char               url[300], path[256];
	pc_buf             out     = { 0 };
	static const char *hosts[] = { "hosts", NULL }, *jhosts[] = { "--json", "hosts", NULL },
	                  *get[] = { "get", "1", NULL }, *snap[] = { "snapshot", NULL },
	                  *list[] = { "list", NULL }, *top[] = { "top", "5", NULL },
	                  *jlist[] = { "--json", "list", NULL };

	(void)state;
	assert_int_equal(pc_test_path(path, sizeof(path), NULL), 0);
	snprintf(url, sizeof(url), "ipc://%s", path);
	assert_int_equal(nng_rep0_open(&e.rep), 0);
	assert_int_equal(nng_listen(e.rep, url, NULL, 0), 0);
	assert_int_equal(nng_thread_create(&e.thr, evil_serve, &e), 0);

	/* The header and one line a host: the newline in a name is no line. */
	assert_int_equal(run_query(url, hosts, &out), 4);
	assert_non_null(strstr(out.data, "evil\\x1b[2J\\nline"));
	assert_non_null(strstr(out.data, "\n" R R " "));
	assert_int_equal(run_query(url, jhosts, &out), 3);
	assert_non_null(strstr(out.data, "{\"host\":\"evil\\u001b[2J\\nline\""));
	assert_int_equal(run_query(url, get, &out), 1);
	assert_non_null(strstr(out.data, "NOT_FOUND: no \\x1b[2J\\n" R " process \\u009b31m"));
	assert_int_equal(run_query(url, snap, &out), 3); /* host on stderr, header, one */
	assert_non_null(strstr(out.data, "host evil\\x1b[2J\\nline,"));
	assert_non_null(strstr(out.data, "\\x1b[31mred" R));
	assert_int_equal(run_query(url, list, &out), 2);
	assert_non_null(strstr(out.data, "u\\n\\x1b]0;pw ")); /* 12 columns of it */
	assert_non_null(strstr(out.data, "\\x1b[31mred" R));
	assert_int_equal(run_query(url, top, &out), 2);
	assert_non_null(strstr(out.data, "\\x1b[31mred" R));
	assert_int_equal(run_query(url, jlist, &out), 1);

	nng_close(e.rep);
	nng_thread_destroy(e.thr);
	pc_buf_fini(&out);
}

/* A stream of keyframes from a hostile host, sent until told to stop. */
typedef struct evil_pub {
	nng_socket  pub;
	nng_mtx    *lock;
	bool        stop;
	nng_thread *thr;
} evil_pub;

static void
evil_send(void *arg)
{
	evil_pub  *e   = arg;
	pc_encoder enc = { 0 };
	pc_proc    p   = { .pid            = 42,
		           .create_time_ms = 1700000000000ULL,
		           .name           = "\x1b[31mred\xc3",
		           .user           = "u\n\x1b]0;pwned\x07" };

	for (int i = 0; i < 200; i++) { /* 10 s at most */
		pc_update_hdr h = { EVIL_HOST, 4242, (uint64_t)i + 1, pc_clock_realtime_ms(), 50 };
		bool          stop = false;
		nng_mtx_lock(e->lock);
		stop = e->stop;
		nng_mtx_unlock(e->lock);
		if (stop || pc_encoder_keyframe(&enc, &h, one_record, &p, 1) != PC_OK ||
		    pc_encoder_frame(&enc) != PC_OK) {
			break;
		}
		nng_send(e->pub, enc.frame.data, enc.frame.len, 0);
		pc_sleep_ms(50);
	}
	pc_encoder_fini(&enc);
}

/* pidcast-sub's table of a hostile host: its name, the process's name and
 * user are printed escaped, and the newline in the host is no line. */
static void
test_sub_against_hostile_stream(void **state)
{
	evil_pub    e = { 0 };
	char        url[300], path[256];
	pc_buf      out    = { 0 };
	const char *argv[] = { "/bin/sh", "-c",       "exec \"$@\" 2>&1", "sh",
		               sub_path,  "--no-rpc", "--updates",        "3",
		               url,       NULL };

	(void)state;
	assert_int_equal(pc_test_path(path, sizeof(path), NULL), 0);
	snprintf(url, sizeof(url), "ipc://%s", path);
	assert_int_equal(nng_mtx_alloc(&e.lock), 0);
	assert_int_equal(nng_pub0_open(&e.pub), 0);
	assert_int_equal(nng_listen(e.pub, url, NULL, 0), 0);
	assert_int_equal(nng_thread_create(&e.thr, evil_send, &e), 0);
	run_lines(argv, &out);
	nng_mtx_lock(e.lock);
	e.stop = true;
	nng_mtx_unlock(e.lock);
	nng_thread_destroy(e.thr);
	nng_close(e.pub);
	nng_mtx_free(e.lock);
	assert_non_null(strstr(out.data, "host evil\\x1b[2J\\nline  processes 1"));
	assert_non_null(strstr(out.data, " u\\n\\x1b]0;pw "));
	assert_non_null(strstr(out.data, " \\x1b[31mred" R "\n"));
	pc_buf_fini(&out);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_comm_cut_inside_a_character, setup, teardown),
		cmocka_unit_test(test_agent_refuses_host_not_utf8),
		cmocka_unit_test_setup_teardown(test_hostile_peer_strings, setup, teardown),
		cmocka_unit_test_setup_teardown(test_log_lines_escaped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rpc_messages_are_utf8, setup, teardown),
		cmocka_unit_test(test_query_against_hostile_server),
		cmocka_unit_test(test_sub_against_hostile_stream),
	};

	if (argc != 5) {
		fprintf(stderr, "usage: test_text AGENT AGGREGATOR QUERY SUB\n");
		return 2;
	}
	agent_path = argv[1];
	agg_path   = argv[2];
	query_path = argv[3];
	sub_path   = argv[4];
	return cmocka_run_group_tests(tests, NULL, NULL);
}
