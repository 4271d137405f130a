/* test_text.c: text from the OS and from peers reaches the wire and the
 * metrics page as valid UTF-8. A real process whose comm Linux cut inside
 * a character; a peer that forges host names and record strings with bad
 * bytes; RPC method names that are not UTF-8 or too long. The wire carries
 * valid UTF-8 only, and the page passes promtool.
 * usage: test_text AGENT AGGREGATOR QUERY */
#define _GNU_SOURCE /* mkdtemp */
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

#include "base/pc_buf.h"
#include "base/pc_err.h"
#include "base/pc_utf8.h"
#include "pc_check.h"
#include "pc_spawn.h"
#include "platform/pc_platform.h"
#include "rpc/pc_rpc.h"
#include "wire/pc_update.h"
#include "pidcast.pb-c.h"

#define R      PC_UTF8_REPLACEMENT
#define EACUTE "\xc3\xa9"
/* 14 'a' and an é: 16 bytes, so the kernel's 15-byte comm ends inside é. */
#define LONG_NAME "aaaaaaaaaaaaaa" EACUTE
#define CUT_NAME  "aaaaaaaaaaaaaa" R

static const char *agent_path, *agg_path, *query_path;

typedef struct fx {
	char      dir[64];
	char      url_in[128], url_rpc[128], metrics[256], agg_err[128];
	pc_child *agg;
	pc_child *kids[2]; /* what a test starts, killed by teardown even if it fails */
} fx;

/* The aggregator on ipc:// in a folder of its own and /metrics on port 0,
 * its stderr kept in a file; ready once its --bound-file says so. */
static int
setup(void **state)
{
	fx         *x = calloc(1, sizeof(*x));
	char        bound[128], line[256];
	FILE       *f = NULL;
	uint64_t    t0;
	const char *argv[] = { "/bin/sh",
		               "-c",
		               "f=$1; shift; exec \"$@\" 2>\"$f\"",
		               "sh",
		               x->agg_err,
		               agg_path,
		               "--listen",
		               x->url_in,
		               "--rpc",
		               x->url_rpc,
		               "--metrics",
		               "http://127.0.0.1:0/metrics",
		               "--pid-metrics",
		               "*",
		               "--bound-file",
		               bound,
		               NULL };

	assert_non_null(x);
	strcpy(x->dir, "/tmp/pc_text_XXXXXX");
	assert_non_null(mkdtemp(x->dir));
	snprintf(x->url_in, sizeof(x->url_in), "ipc://%s/in", x->dir);
	snprintf(x->url_rpc, sizeof(x->url_rpc), "ipc://%s/rpc", x->dir);
	snprintf(x->agg_err, sizeof(x->agg_err), "%s/agg.err", x->dir);
	snprintf(bound, sizeof(bound), "%s/agg.bound", x->dir);
	assert_non_null(x->agg = pc_child_start(argv));
	for (t0 = pc_clock_mono_us(); (f = fopen(bound, "r")) == NULL;) {
		assert_true(pc_clock_mono_us() - t0 < 10000000u);
		pc_sleep_ms(20);
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, "metrics ", 8) == 0) {
			line[strcspn(line, "\n")] = '\0';
			snprintf(x->metrics, sizeof(x->metrics), "%s", line + 8);
		}
	}
	fclose(f);
	assert_true(x->metrics[0] != '\0');
	*state = x;
	return 0;
}

static void
remove_dir(const char *dir)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
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
	remove_dir(x->dir);
	free(x);
	return 0;
}

/* The bytes curl gets from url into b (NUL-terminated), whole. */
static void
http_get(const char *url, pc_buf *b)
{
	char   cmd[256], chunk[4096];
	FILE  *p;
	size_t n;

	pc_buf_reset(b);
	snprintf(cmd, sizeof(cmd), "curl -sf --max-time 5 '%s'", url);
	assert_non_null(p = popen(cmd, "r"));
	while ((n = fread(chunk, 1, sizeof(chunk), p)) > 0) {
		pc_buf_add(b, chunk, n);
	}
	pclose(p);
	pc_buf_add(b, "", 1);
	b->len--;
	assert_int_equal(b->err, PC_OK);
}

/* The metrics page once it holds needle (polled, 10 s at most), checked:
 * valid UTF-8 throughout, and accepted by promtool. */
static void
metrics_page(fx *x, const char *needle, pc_buf *page)
{
	char     path[128], cmd[256];
	FILE    *f;
	uint64_t t0 = pc_clock_mono_us();

	for (http_get(x->metrics, page); strstr(page->data, needle) == NULL;
	     http_get(x->metrics, page)) {
		if (pc_clock_mono_us() - t0 > 10000000u) {
			fail_msg("no '%s' on the metrics page", needle);
		}
		pc_sleep_ms(100);
	}
	assert_int_equal(strlen(page->data), page->len);
	assert_true(pc_utf8_valid(page->data));
	snprintf(path, sizeof(path), "%s/page", x->dir);
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
	char        exe[128], pub[128], rpc[128], line[65536], want[64];
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

	snprintf(exe, sizeof(exe), "%s/" LONG_NAME, x->dir);
	snprintf(pub, sizeof(pub), "ipc://%s/pub", x->dir);
	snprintf(rpc, sizeof(rpc), "ipc://%s/arpc", x->dir);
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

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_comm_cut_inside_a_character, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_peer_strings, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rpc_messages_are_utf8, setup, teardown),
	};

	if (argc != 4) {
		fprintf(stderr, "usage: test_text AGENT AGGREGATOR QUERY\n");
		return 2;
	}
	agent_path = argv[1];
	agg_path   = argv[2];
	query_path = argv[3];
	return cmocka_run_group_tests(tests, NULL, NULL);
}
