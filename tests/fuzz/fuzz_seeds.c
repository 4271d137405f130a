/* fuzz_seeds.c: writes the seed corpora of the fuzz targets: real Update
 * frames (keyframe, delta, exits, PID reuse) and real RPC requests for
 * every method, as the agent and pidcast-query make them.
 * usage: fuzz_seeds UPDATE-DIR RPC-DIR */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "table/pc_cache.h"
#include "wire/pc_codec.h"
#include "wire/pc_update.h"

static void
put(const char *dir, const char *name, const void *data, size_t len)
{
	char  path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "wb")) == NULL || fwrite(data, 1, len, f) != len) {
		perror(path);
		exit(1);
	}
	fclose(f);
}

/* A request for method, in the file name. */
static void
request_as(const char *dir, const char *name, const char *method, const ProtobufCMessage *in)
{
	Pidcast__Request r = PIDCAST__REQUEST__INIT;
	uint8_t          payload[4096], buf[8192];
	size_t           n;

	r.method = (char *)method;
	if (in != NULL) {
		r.has_payload  = 1;
		r.payload.data = payload;
		r.payload.len  = protobuf_c_message_pack(in, payload);
	}
	n = pidcast__request__pack(&r, buf);
	put(dir, name, buf, n);
}

static void
request(const char *dir, const char *method, const ProtobufCMessage *in)
{
	request_as(dir, method, method, in);
}

/* Request heads as scrapers and hostile clients send them. */
static void
http_seeds(const char *dir)
{
	static const char *const heads[] = {
		"GET /metrics HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n\r\n",
		"GET /metrics?x=1 HTTP/1.0\r\n\r\n",
		"POST /metrics HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc",
		"GET /other HTTP/1.1\r\n\r\n",
		"GET /metrics\r\n\r\n",
		"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
	};
	char name[16];

	for (size_t i = 0; i < sizeof(heads) / sizeof(heads[0]); i++) {
		snprintf(name, sizeof(name), "head%zu", i);
		put(dir, name, heads[i], strlen(heads[i]));
	}
}

static const pc_proc *
next(const void *table, size_t *cursor)
{
	const pc_proc *p = table;
	return *cursor < 3 ? &p[(*cursor)++] : NULL;
}

int
main(int argc, char **argv)
{
	pc_proc       p[3];
	pc_encoder    enc = { 0 };
	pc_delta      d   = { 0 };
	pc_upsert     ups[2];
	pc_key        ex[1];
	pc_update_hdr h = { "seedhost", 42, 1, 1700000000000ULL, 1000 };

	if (argc < 3) {
		fprintf(stderr, "usage: fuzz_seeds UPDATE-DIR RPC-DIR [HTTP-DIR]\n");
		return 2;
	}
	memset(p, 0, sizeof(p));
	for (int i = 0; i < 3; i++) {
		p[i].pid            = (uint32_t)(10 + i);
		p[i].create_time_ms = 1700000000000ULL + (uint64_t)i;
		p[i].ppid           = 1;
		p[i].name           = "worker";
		p[i].exe            = "/usr/bin/worker";
		p[i].cmdline        = "/usr/bin/worker --id 1 --password=********";
		p[i].user           = "svc";
		p[i].threads        = 4;
		p[i].rss_bytes      = 1u << 20;
	}
	pc_encoder_keyframe(&enc, &h, next, p, 3);
	pc_encoder_frame(&enc);
	put(argv[1], "keyframe", enc.frame.data, enc.frame.len);
	/* The same keyframe in parts of two records: parts 0 and 1. */
	size_t parts = 0;
	pc_encoder_split(&enc, 2, 0, &parts);
	for (size_t i = 0; i < parts; i++) {
		char name[16];
		snprintf(name, sizeof(name), "part%zu", i);
		pc_encoder_frame_part(&enc, i);
		put(argv[1], name, enc.frame.data, enc.frame.len);
	}

	/* Hostile: a first part whose others never come (the count says a
	 * million), and hosts the protocol forbids. */
	{
		Pidcast__Update whole = enc.msg;
		enc.msg.n_upserts     = 1;
		enc.msg.has_part      = 1;
		enc.msg.part          = 0;
		enc.msg.has_parts     = 1;
		enc.msg.parts         = 1000000;
		pc_encoder_frame(&enc);
		put(argv[1], "part0-of-a-million", enc.frame.data, enc.frame.len);
		enc.msg.has_part = enc.msg.has_parts = 0;
		enc.msg.host                         = "";
		pc_encoder_frame(&enc);
		put(argv[1], "host-empty", enc.frame.data, enc.frame.len);
		enc.msg.host = "a/b";
		pc_encoder_frame(&enc);
		put(argv[1], "host-slash", enc.frame.data, enc.frame.len);
		enc.msg = whole;
	}

	h.seq          = 2;
	p[0].rss_bytes = 2u << 20;
	ups[0]         = (pc_upsert){ &p[0], PC_BIT(PC_F_RSS_BYTES), false };
	p[2].pid       = 99;
	ups[1]         = (pc_upsert){ &p[2], PC_MASK_ALL, true };
	ex[0]          = (pc_key){ 11, 1700000000001ULL, NULL, 0 };
	d.upserts      = ups;
	d.n_upserts    = 2;
	d.exits        = ex;
	d.n_exits      = 1;
	pc_encoder_delta(&enc, &h, &d);
	pc_encoder_frame(&enc);
	put(argv[1], "delta", enc.frame.data, enc.frame.len);

	h.seq = 3; /* PID 10 reused */
	ex[0] = (pc_key){ 10, 1700000000000ULL, NULL, 0 };
	p[0].create_time_ms += 5000;
	ups[0]      = (pc_upsert){ &p[0], PC_MASK_ALL, true };
	d.n_upserts = 1;
	pc_encoder_delta(&enc, &h, &d);
	pc_encoder_frame(&enc);
	put(argv[1], "reuse", enc.frame.data, enc.frame.len);

	/* A keyframe with strings that are not UTF-8: a comm cut inside a
	 * character, an overlong form, a surrogate, bytes past U+10FFFF. */
	h.seq        = 5;
	p[1].name    = "aaaaaaaaaaaaaa\xc3";
	p[1].exe     = "/tmp/\xff\xfe\xc0\xaf";
	p[1].cmdline = "x \xed\xa0\x80 \xf4\x90\x80\x80 \xe8\xbf";
	p[1].user    = "u\x80";
	pc_encoder_keyframe(&enc, &h, next, p, 3);
	pc_encoder_frame(&enc);
	put(argv[1], "bad-utf8", enc.frame.data, enc.frame.len);

	/* Exits the probe saw end: one held (its final counters, exit 3), one
	 * born and gone unseen (every field, SIGKILL), one by key only; in a
	 * delta and in a keyframe. */
	{
		pc_key  fx[3];
		pc_proc fin[2];
		fin[0]             = p[0];
		fin[0].cmdline     = "/usr/bin/worker --exec'd";
		fin[0].cpu_user_us = 123456;
		fin[0].exit        = (pc_exit){ true, 3, 0, 1700000005000ULL };
		fin[1]             = p[2];
		fin[1].pid         = 77;
		fin[1].exit        = (pc_exit){ true, 0, 9, 1700000005001ULL };
		fx[0]              = (pc_key){ fin[0].pid, fin[0].create_time_ms, &fin[0],
			                       PC_MASK_STATS | PC_BIT(PC_F_CMDLINE) };
		fx[1]              = (pc_key){ 77, fin[1].create_time_ms, &fin[1], PC_MASK_ALL };
		fx[2]              = (pc_key){ 12, 1700000000002ULL, NULL, 0 };
		h.seq              = 6;
		d.n_upserts        = 0;
		d.exits            = fx;
		d.n_exits          = 3;
		pc_encoder_delta(&enc, &h, &d);
		pc_encoder_frame(&enc);
		put(argv[1], "exits-final", enc.frame.data, enc.frame.len);
		h.seq = 7;
		pc_encoder_keyframe_exits(&enc, &h, next, p, 3, &d);
		pc_encoder_frame(&enc);
		put(argv[1], "keyframe-exits-final", enc.frame.data, enc.frame.len);
		/* Hostile: a final record of another process than its key. */
		h.seq     = 8;
		fx[0].pid = 4242;
		d.n_exits = 1;
		pc_encoder_delta(&enc, &h, &d);
		pc_encoder_frame(&enc);
		put(argv[1], "exit-final-other-key", enc.frame.data, enc.frame.len);
		d.exits = ex;
	}

	h.seq       = 4; /* the heartbeat */
	d.n_upserts = d.n_exits = 0;
	pc_encoder_delta(&enc, &h, &d);
	pc_encoder_frame(&enc);
	put(argv[1], "heartbeat", enc.frame.data, enc.frame.len);
	pc_encoder_fini(&enc);

	Pidcast__GetProcessRequest    gp     = PIDCAST__GET_PROCESS_REQUEST__INIT;
	Pidcast__ListProcessesRequest lp     = PIDCAST__LIST_PROCESSES_REQUEST__INIT;
	Pidcast__StatsForPidsRequest  sp     = PIDCAST__STATS_FOR_PIDS_REQUEST__INIT;
	Pidcast__GetSnapshotRequest   gs     = PIDCAST__GET_SNAPSHOT_REQUEST__INIT;
	Pidcast__TopRequest           tp     = PIDCAST__TOP_REQUEST__INIT;
	Pidcast__ListHostsRequest     lh     = PIDCAST__LIST_HOSTS_REQUEST__INIT;
	uint32_t                      pids[] = { 1, 101 };

	gp.has_pid        = 1;
	gp.pid            = 101;
	lp.name_glob      = "py*";
	lp.has_page_size  = 1;
	lp.page_size      = 2;
	lp.has_page_token = 1;
	lp.page_token     = 1;
	sp.pids           = pids;
	sp.n_pids         = 2;
	tp.has_n          = 1;
	tp.n              = 3;
	tp.has_by         = 1;
	tp.by             = PIDCAST__TOP_REQUEST__BY__RSS;
	request(argv[2], "GetProcess", &gp.base);
	request(argv[2], "ListProcesses", &lp.base);
	request(argv[2], "StatsForPids", &sp.base);
	request(argv[2], "GetSnapshot", &gs.base);
	request(argv[2], "Top", &tp.base);
	request(argv[2], "ListHosts", &lh.base);
	/* Names that are echoed in Reply.message: not UTF-8, and long. */
	request_as(argv[2], "bad-method", "Bad\xff\xc3", NULL);
	gp.host = "\xe8\xbf\x9b\xe8\xbf\x9b\xe8\xbf\x9b\xe8\xbf\x9b\xe8\xbf\x9b\xe8\xbf\x9b"
	          "\xe8\xbf\x9b\xe8\xbf\x9b\xe8\xbf\x9b\xe8\xbf\x9b\xe8\xbf\x9b\xe8\xbf\x9b"
	          "\xe8\xbf\x9b\xe8\xbf\x9b\xe8\xbf\x9b\xe8\xbf\x9b\xe8\xbf\x9b\xe8\xbf\x9b"
	          "\xe8\xbf\x9b\xe8\xbf\x9b\xe8\xbf\x9b\xe8\xbf\x9b\xe8\xbf\x9b";
	request_as(argv[2], "long-host", "GetProcess", &gp.base);
	if (argc > 3) {
		http_seeds(argv[3]);
	}
	return 0;
}
