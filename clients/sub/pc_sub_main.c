/* pc_sub_main.c: pidcast-sub, the live stream of an agent: a live screen
 * on a terminal (pc_sub_screen.h), a plain table elsewhere
 * (pc_sub_plain.h), or one JSON line an event. Here: the options and the
 * follow loop. */
#include <getopt.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nng/nng.h>

#include "base/pc_buf.h"
#include "base/pc_err.h"
#include "base/pc_exit_guard.h"
#include "stream/pc_follow.h"
#include "wire/pc_json.h"
#include "base/pc_parse.h"
#include "platform/pc_platform.h"
#include "rpc/pc_rpc.h"
#include "net/pc_net.h"
#include "net/pc_tls_args.h"
#include "wire/pc_update.h"

#include "pc_sub_filter.h"
#include "pc_sub_plain.h"
#include "pc_sub_screen.h"
#include "pc_sub_table.h"

#define QUIET_NOTE_US (5 * 1000000u) /* silence at start that earns a note */
#define POLL_MS       200            /* the longest wait for an update */
/* With the screen, keys wait at most this. Each wait is an NNG receive
 * with a timeout, and its wakeups cost: here 1.7% of a core at 20 a
 * second, 0.8% at 10, 0.5% at 5 (the plain table's). */
#define KEYS_MS 100

typedef struct sub {
	bool          json;
	bool          marks;
	pc_sub_filter filter; /* --pid, --name, --container, --service, --cgroup */
	pc_buf        line;
	pc_follow    *f;
	bool          resynced; /* a resync line came in this poll */
	uint64_t      applied;  /* updates of the follower marked so far */
	uint64_t      attempts; /* resyncs of the follower reported on */
	const char   *rpc_url;
	const char   *url;
	pc_screen    *screen;         /* NULL: no live screen */
	pc_table      table;          /* what the plain table or the screen shows */
	char          hosts_note[32]; /* "N hosts", for the state line */
} sub;

static void
usage(FILE *out)
{
	fprintf(out,
	        "usage: pidcast-sub [options] [URL]\n"
	        "\n"
	        "Follows an agent's stream (default %s) and keeps an exact copy of\n"
	        "its process table: a live screen on a terminal, a plain table of the\n"
	        "busiest 30 on a pipe, or JSON lines.\n"
	        "\n"
	        "The screen takes the whole window, like top: CPU%% over the last update,\n"
	        "totals, and the command line in the width left; columns S (state),\n"
	        "SERVICE, CONTAINER and POD when some row has one, HOST and CGROUP when\n"
	        "rows differ in it. Keys: c m i p n sort by CPU, memory, I/O, PID or\n"
	        "name; / then text shows only processes whose name, command line, user,\n"
	        "host, service, container, pod or cgroup holds it (any case; Enter keeps\n"
	        "it, Esc clears it); k shows or hides kernel threads; q quits. A build\n"
	        "without curses (Windows) prints the plain table on a terminal too.\n"
	        "\n"
	        "The filters (--pid, --name, --container, --service, --cgroup: all that\n"
	        "are given must hold) apply to the screen, the plain table and --json\n"
	        "alike. With --json, a process that comes to match (an exec, a move to\n"
	        "another cgroup) is a new line with every field, and one that stops\n"
	        "matching an exit line with \"left_filter\":true (it runs on).\n"
	        "\n"
	        "options:\n"
	        "  --rpc URL       the agent's query service, for resyncs (default: for\n"
	        "                  tcp://HOST:PORT, tcp://HOST:PORT+1, and for\n"
	        "                  tls+tcp://HOST:PORT, tls+tcp://HOST:PORT+1; else none)\n"
	        "  --no-rpc        never ask for snapshots: recover from keyframes\n"
	        "  --json          one JSON line an event: new, changed (changed fields\n"
	        "                  only), exit, and resync (the table was rebuilt: at the\n"
	        "                  first sync, after a gap, a silence or an agent restart),\n"
	        "                  and unsynced (a resync failed, or its snapshot is behind\n"
	        "                  the stream: why, and when it tries again; also on stderr)\n"
	        "  --marks         with --json, also an update line after each update's\n"
	        "                  events: the sequence the table now stands at\n"
	        "  --pid PID       only this process\n"
	        "  --name GLOB     only processes whose name matches a shell glob\n"
	        "  --container ID  only processes in a container whose id starts with ID\n"
	        "                  ('': in any container)\n"
	        "  --service NAME  only processes of the service (systemd unit, Windows\n"
	        "                  service) NAME\n"
	        "  --cgroup GLOB   only processes whose cgroup path matches a shell glob\n"
	        "                  ('*' crosses '/'), e.g. '/system.slice/*'\n"
	        "  --kernel        the screen shows kernel threads from the start (k\n"
	        "                  toggles; the plain table and --json always have them)\n"
	        "  --updates N     exit after N updates (default 0: until stopped)\n"
	        "  --recv-max BYTES  largest update or snapshot taken (default 67108864)\n"
	        "  --queue N         updates queued while it is busy, 1 to 8192 (default 128);\n"
	        "                    past that the oldest are dropped and it resyncs\n"
	        "  -h, --help      show this help and exit\n"
	        "  -V, --version   print the version and exit\n"
	        "\n" PC_TLS_HELP_CLIENT,
	        PC_DEFAULT_PUBLISH);
}

/* tcp://HOST:PORT -> tcp://HOST:PORT+1, the agent's default layout; the
 * same for tls+tcp://, since both sockets of an agent use TLS or neither. */
static char *
derive_rpc(const char *url)
{
	nng_url *u;
	char    *out = NULL;

	if (nng_url_parse(&u, url) != 0) {
		return NULL;
	}
	if ((strcmp(u->u_scheme, "tcp") == 0 || strcmp(u->u_scheme, "tls+tcp") == 0) &&
	    u->u_port != NULL && atoi(u->u_port) > 0 && atoi(u->u_port) < 65535 &&
	    (out = malloc(PC_URL_MAX)) != NULL &&
	    pc_url_with_port(url, (unsigned)atoi(u->u_port) + 1, out) != PC_OK) {
		free(out);
		out = NULL;
	}
	nng_url_free(u);
	return out;
}

/* One JSON line of an event. */
static void
print_event(sub *s, const pc_sub_line *l, const pc_proc *p)
{
	static const char *names[] = { "new", "changed", "exit" };
	pc_mask            shown   = l->mask;

	pc_buf_reset(&s->line);
	pc_buf_printf(&s->line, "{\"event\":\"%s\",\"host\":", names[l->ev]);
	pc_json_str(&s->line, pc_replica_host(pc_follow_replica(s->f)));
	pc_buf_add(&s->line, ",", 1);
	/* The record's own object, without its opening brace. */
	size_t at = s->line.len;
	/* An exit the agent saw carries the final counters, what else changed
	 * at the end (an exec since the last update), and the status; one
	 * that is a process leaving the filters, what changed (why it left). */
	if (l->ev == PC_EV_EXIT) {
		shown = PC_BIT(PC_F_NAME);
		if (l->left) {
			shown |= l->mask;
		} else if (p->exit.known) {
			shown |= PC_MASK_STATS | l->mask;
		}
	}
	pc_json_proc(&s->line, p, shown);
	if (l->left && s->line.len > 0) { /* before the closing brace */
		s->line.len--;
		pc_buf_str(&s->line, ",\"left_filter\":true}");
	}
	if (s->line.err == PC_OK) {
		memmove(s->line.data + at, s->line.data + at + 1, s->line.len - at);
		s->line.len--;
		fwrite(s->line.data, 1, s->line.len, stdout);
		fputc('\n', stdout);
	}
}

static void
on_event(void *arg, pc_event ev, const pc_proc *p, pc_mask mask)
{
	sub        *s = arg;
	pc_sub_line lines[2];
	size_t      n;

	if (!s->json) {
		return;
	}
	n = pc_sub_filter_event(&s->filter, ev, p, mask, lines);
	for (size_t i = 0; i < n; i++) {
		print_event(s, &lines[i], p);
	}
}

/* A host's table is synced again (pc_follow_opts.on_sync): with --json,
 * a resync line, with why and the sequences it jumped between. */
static void
on_sync(void *arg, const pc_replica *r, pc_sync_reason why, uint64_t from)
{
	static const char *const reasons[] = { "start", "gap", "silence", "restart" };
	sub                     *s         = arg;

	if (!s->json) {
		return;
	}
	pc_buf_reset(&s->line);
	pc_buf_printf(&s->line, "{\"event\":\"resync\",\"reason\":\"%s\",\"host\":", reasons[why]);
	pc_json_str(&s->line, pc_replica_host(r));
	pc_buf_printf(&s->line, ",\"from\":%" PRIu64 ",\"seq\":%" PRIu64 ",\"processes\":%zu}\n",
	              from, pc_replica_seq(r), pc_replica_count(r));
	if (s->line.err == PC_OK) {
		fwrite(s->line.data, 1, s->line.len, stdout);
	}
	s->resynced = true;
}

/* With --marks, the end of each update applied off the stream: the
 * sequence its host's table now stands at. */
static void
report_sync(sub *s)
{
	pc_replica *r       = pc_follow_replica(s->f);
	uint64_t    applied = pc_follow_stats(s->f)->applied;

	if (s->marks && applied != s->applied && !s->resynced && pc_replica_synced(r)) {
		pc_buf_reset(&s->line);
		pc_buf_str(&s->line, "{\"event\":\"update\",\"host\":");
		pc_json_str(&s->line, pc_replica_host(r));
		pc_buf_printf(&s->line, ",\"seq\":%" PRIu64 ",\"processes\":%zu}\n",
		              pc_replica_seq(r), pc_replica_count(r));
		if (s->line.err == PC_OK) {
			fwrite(s->line.data, 1, s->line.len, stdout);
		}
	}
	s->applied  = applied;
	s->resynced = false;
}

/* Why the last resync left the table not synced, in words. The server's
 * message is quoted as a JSON string, so that its bytes cannot reach the
 * terminal raw. */
static void
why_unsynced(pc_buf *b, const pc_resync_info *l)
{
	const ProtobufCEnumValue *code;

	switch (l->outcome) {
	case PC_RESYNC_OK:
		break;
	case PC_RESYNC_FAILED:
		if (l->status != PIDCAST__STATUS_CODE__OK) {
			code = protobuf_c_enum_descriptor_get_value(
			        &pidcast__status_code__descriptor, l->status);
			pc_buf_printf(b, "the snapshot was refused: %s ",
			              code != NULL ? code->name : "UNKNOWN");
			pc_json_str(b, l->message);
		} else if (l->err == PC_ETOOBIG) { /* our own words, with the sizes */
			pc_buf_printf(b, "no snapshot: %s bytes (--recv-max)", l->message);
		} else {
			pc_buf_printf(b, "no snapshot: %s", pc_strerror(l->err));
		}
		break;
	case PC_RESYNC_BEHIND:
		pc_buf_printf(
		        b, "the snapshot is at seq %" PRIu64 ", behind the stream at seq %" PRIu64,
		        l->snapshot_seq, l->stream_seq);
		break;
	case PC_RESYNC_INSTANCE:
		pc_buf_str(b, "the snapshot is of another agent instance than the stream "
		              "(is --rpc the same agent?)");
		break;
	}
}

/* A message for the user: on stderr, or on the screen, which stderr would
 * scribble over. */
static void
say(sub *s, const char *msg)
{
	if (s->screen != NULL) {
		pc_screen_note(s->screen, msg);
	} else {
		fprintf(stderr, "pidcast-sub: %s\n", msg);
	}
}

/* After each resync that did not sync the table: why, on stderr and, with
 * --json, as an unsynced line. Resyncs are backed off, so these are at most
 * one a second, and fewer while they keep failing. */
static void
report_unsynced(sub *s)
{
	static const char *const reasons[] = { "", "snapshot-failed", "snapshot-behind",
		                               "other-instance" };
	const pc_resync_info    *l         = pc_follow_last_resync(s->f);
	pc_buf                   why = { 0 }, msg = { 0 };

	if (l->attempts == s->attempts) {
		return;
	}
	s->attempts = l->attempts;
	if (l->outcome == PC_RESYNC_OK) {
		return;
	}
	why_unsynced(&why, l);
	pc_buf_printf(&msg,
	              "not synced: %s (from %s); next snapshot in %.1f s at the "
	              "earliest, or a keyframe on the stream",
	              why.len > 0 ? why.data : "?", s->rpc_url, (double)l->retry_ms / 1000.0);
	say(s, msg.err == PC_OK ? msg.data : "not synced");
	if (s->json) {
		pc_buf_reset(&s->line);
		pc_buf_printf(&s->line, "{\"event\":\"unsynced\",\"reason\":\"%s\",\"host\":",
		              reasons[l->outcome]);
		pc_json_str(&s->line, pc_replica_host(pc_follow_replica(s->f)));
		pc_buf_str(&s->line, ",\"detail\":");
		pc_json_str(&s->line, why.len > 0 ? why.data : "");
		pc_buf_printf(&s->line, ",\"retry_ms\":%" PRIu32 "}\n", l->retry_ms);
		if (s->line.err == PC_OK) {
			fwrite(s->line.data, 1, s->line.len, stdout);
		}
	}
	pc_buf_fini(&why);
	pc_buf_fini(&msg);
}

/* The rows the view keeps, from every host's table the follower holds
 * (one for an agent; each host of an aggregator's stream): each with the
 * host of its table, for the HOST column. */
static void
collect(sub *s, const pc_view *v)
{
	pc_table_begin(&s->table);
	for (size_t h = 0; h < pc_follow_hosts(s->f); h++) {
		pc_replica    *r   = pc_follow_host(s->f, h);
		size_t         cur = 0;
		const pc_proc *p;
		pc_row         row = { .host = pc_replica_host(r) };

		while ((p = pc_replica_next(r, &cur)) != NULL) {
			if (pc_sub_wanted(&s->filter, p)) {
				row.p = p;
				pc_replica_rates(r, p, &row.cpu, &row.io);
				if (pc_table_add(&s->table, v, &row) != PC_OK) {
					break; /* out of memory: the rows so far */
				}
			}
		}
	}
	pc_table_end(&s->table, v);
}

static void
stream_state(sub *s, pc_stream_state *st)
{
	pc_replica             *r  = pc_follow_replica(s->f);
	const pc_follow_counts *fc = pc_follow_stats(s->f);

	st->url       = s->url;
	st->host      = pc_replica_host(r);
	st->processes = pc_replica_count(r);
	/* A stream of many hosts (an aggregator's): all of them. */
	if (pc_follow_hosts(s->f) > 1) {
		snprintf(s->hosts_note, sizeof(s->hosts_note), "%zu hosts", pc_follow_hosts(s->f));
		st->host      = s->hosts_note;
		st->processes = 0;
		for (size_t h = 0; h < pc_follow_hosts(s->f); h++) {
			st->processes += pc_replica_count(pc_follow_host(s->f, h));
		}
	}
	st->seq     = pc_replica_seq(r);
	st->synced  = pc_replica_synced(r);
	st->gaps    = fc->gaps;
	st->resyncs = fc->resyncs;
	st->refused = fc->refused;
}

/* The plain table has every process the options let through, the
 * busiest first (kernel threads among the idle ones, by PID). */
static void
print_plain(sub *s, bool tty)
{
	static const pc_view all = { .sort = PC_SORT_CPU, .kernel = true };
	pc_stream_state      st;

	collect(s, &all);
	stream_state(s, &st);
	pc_plain_print(&st, &s->table, tty);
}

static void
draw_screen(sub *s)
{
	pc_stream_state st;

	collect(s, pc_screen_view(s->screen));
	stream_state(s, &st);
	pc_screen_draw(s->screen, &st, &s->table);
}

int
main(int argc, char **argv)
{
	enum {
		OPT_RPC = 256,
		OPT_NO_RPC,
		OPT_JSON,
		OPT_MARKS,
		OPT_PID,
		OPT_NAME,
		OPT_CONTAINER,
		OPT_SERVICE,
		OPT_CGROUP,
		OPT_UPDATES,
		OPT_RECV_MAX,
		OPT_QUEUE,
		OPT_KERNEL
	};
	static const struct option opts[] = {
		{ "rpc", required_argument, NULL, OPT_RPC },
		{ "no-rpc", no_argument, NULL, OPT_NO_RPC },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "marks", no_argument, NULL, OPT_MARKS },
		{ "pid", required_argument, NULL, OPT_PID },
		{ "name", required_argument, NULL, OPT_NAME },
		{ "container", required_argument, NULL, OPT_CONTAINER },
		{ "service", required_argument, NULL, OPT_SERVICE },
		{ "cgroup", required_argument, NULL, OPT_CGROUP },
		{ "updates", required_argument, NULL, OPT_UPDATES },
		{ "recv-max", required_argument, NULL, OPT_RECV_MAX },
		{ "queue", required_argument, NULL, OPT_QUEUE },
		{ "kernel", no_argument, NULL, OPT_KERNEL },
		PC_TLS_OPTIONS,
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	pc_tls         tls = { 0 };
	sub            s   = { 0 };
	pc_follow_opts o   = {
		  .url = PC_DEFAULT_PUBLISH, .tls = &tls, .on_sync = on_sync, .sync_arg = &s
	};
	char         *derived = NULL, *end, err[256];
	bool          no_rpc  = false, tty;
	pc_view       view    = { .sort = PC_SORT_CPU };
	unsigned long updates = 0;
	uint64_t      seen    = 0, start;
	int           c, rv;

	while ((c = getopt_long(argc, argv, "hV", opts, NULL)) != -1) {
		if (pc_tls_arg(&tls, c, optarg)) {
			continue;
		}
		switch (c) {
		case OPT_RPC:
			o.rpc_url = optarg;
			break;
		case OPT_NO_RPC:
			no_rpc = true;
			break;
		case OPT_JSON:
			s.json = true;
			break;
		case OPT_MARKS:
			s.marks = true;
			break;
		case OPT_PID:
			s.filter.pid = (uint32_t)strtoul(optarg, &end, 10);
			if (*end != '\0' || end == optarg) {
				fprintf(stderr, "pidcast-sub: invalid --pid '%s'\n", optarg);
				return 2;
			}
			s.filter.has_pid = true;
			break;
		case OPT_NAME:
			s.filter.name = optarg;
			break;
		case OPT_CONTAINER: /* "": every process in a container */
			s.filter.ctx.container = optarg;
			break;
		case OPT_SERVICE:
		case OPT_CGROUP:
			/* No process has an empty service or cgroup path: such a
			 * filter could only show nothing, and is a mistake. */
			if (optarg[0] == '\0') {
				fprintf(stderr,
				        "pidcast-sub: empty --%s: no process has one (give a %s)\n",
				        c == OPT_SERVICE ? "service" : "cgroup",
				        c == OPT_SERVICE ? "service name"
				                         : "glob, e.g. '/system.slice/*'");
				return 2;
			}
			if (c == OPT_SERVICE) {
				s.filter.ctx.service = optarg;
			} else {
				s.filter.ctx.cgroup_glob = optarg;
			}
			break;
		case OPT_KERNEL:
			view.kernel = true;
			break;
		case OPT_RECV_MAX: {
			uint64_t v;
			if (pc_parse_u64(optarg, &v) != 0 || v == 0) {
				fprintf(stderr, "pidcast-sub: invalid --recv-max '%s'\n", optarg);
				return 2;
			}
			o.recv_max = (size_t)v;
			break;
		}
		case OPT_QUEUE: {
			uint64_t v;
			if (pc_parse_u64(optarg, &v) != 0 || v == 0 || v > 8192) {
				fprintf(stderr, "pidcast-sub: invalid --queue '%s'\n", optarg);
				return 2;
			}
			o.recv_buf = (int)v;
			break;
		}
		case OPT_UPDATES:
			updates = strtoul(optarg, &end, 10);
			if (*end != '\0' || end == optarg) {
				fprintf(stderr, "pidcast-sub: invalid --updates '%s'\n", optarg);
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("pidcast-sub %s\n", PC_VERSION);
			return 0;
		default:
			fprintf(stderr, "Try 'pidcast-sub --help'.\n");
			return 2;
		}
	}
	if (optind < argc) {
		o.url = argv[optind++];
	}
	if (optind < argc) {
		fprintf(stderr, "pidcast-sub: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	if (no_rpc) {
		o.rpc_url = NULL;
	} else if (o.rpc_url == NULL) {
		o.rpc_url = derived = derive_rpc(o.url);
	}
	s.rpc_url = o.rpc_url;
	pc_catch_stop();
	if ((rv = pc_follow_open(&s.f, &o, err, sizeof(err))) != PC_OK) {
		fprintf(stderr, "pidcast-sub: %s\n", err);
		pc_follow_close(s.f);
		free(derived);
		return 2;
	}
	tty   = pc_stdout_is_tty();
	s.url = o.url;
	/* Without curses, or on a terminal it cannot drive: the plain table. */
	if (tty && !s.json && pc_screen_open(&s.screen, &view) == PC_OK) {
		draw_screen(&s);
	}
	start = pc_clock_mono_us();
	while (!pc_stop_requested() && (updates == 0 || seen < updates)) {
		uint64_t     before = pc_follow_stats(s.f)->received;
		pc_screen_do todo   = PC_SCREEN_IDLE;
		rv = pc_follow_poll(s.f, s.screen != NULL ? KEYS_MS : POLL_MS, on_event, &s);
		if (rv != PC_OK && rv != PC_ETIMEDOUT) {
			pc_screen_close(s.screen); /* the terminal back, for the message */
			s.screen = NULL;
			fprintf(stderr, "pidcast-sub: %s\n", pc_strerror(rv));
			break;
		}
		report_unsynced(&s);
		if (s.json) {
			/* A silence resyncs without anything received. */
			report_sync(&s);
			fflush(stdout);
		}
		/* The dial retries quietly; say once why the screen stays empty. */
		if (seen == 0 && start != 0 && pc_clock_mono_us() - start > QUIET_NOTE_US) {
			char note[512];
			snprintf(note, sizeof(note),
			         "no update from %s in 5 s: the agent is down or slow%s; still "
			         "waiting",
			         o.url,
			         pc_tls_url(o.url)
			                 ? ", or it refused the TLS handshake (check --tls-ca, "
			                   "--tls-cert and --tls-key against the agent's)"
			                 : "");
			say(&s, note);
			start = 0;
		}
		if (s.screen != NULL && (todo = pc_screen_keys(s.screen)) == PC_SCREEN_QUIT) {
			break;
		}
		if (pc_follow_stats(s.f)->received != before) {
			seen++;
			todo = PC_SCREEN_REDRAW;
			if (!s.json && s.screen == NULL &&
			    pc_replica_synced(pc_follow_replica(s.f))) {
				print_plain(&s, tty);
			}
		}
		if (s.screen != NULL && todo == PC_SCREEN_REDRAW) {
			draw_screen(&s);
		}
	}
	pc_screen_close(s.screen);
	fflush(stdout);
	pc_exit_guard(PC_EXIT_GUARD_MS, rv == PC_OK || rv == PC_ETIMEDOUT ? 0 : 1);
	pc_follow_close(s.f);
	pc_buf_fini(&s.line);
	pc_table_fini(&s.table);
	pc_sub_filter_fini(&s.filter);
	free(derived);
	return rv == PC_OK || rv == PC_ETIMEDOUT ? 0 : 1;
}
