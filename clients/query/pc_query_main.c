/* pc_query_main.c: pidcast-query, the shell client of the agent's RPC service. */
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>

#include "base/pc_err.h"
#include "base/pc_exit_guard.h"
#include "net/pc_net.h"
#include "base/pc_parse.h"
#include "base/pc_time.h"
#include "platform/pc_platform.h"
#include "pc_query_history.h"
#include "pc_query_print.h"
#include "rpc/pc_rpc.h"
#include "net/pc_tls_args.h"
#include "pidcast.pb-c.h"

#define PROG            "pidcast-query"
#define DEFAULT_TIMEOUT 3000               /* ms */
#define RESEND_MS       (24 * 3600 * 1000) /* one try: the timeout decides, not retries */

/* Exit statuses. */
enum { EXIT_OK = 0, EXIT_NOTFOUND = 1, EXIT_ERR = 2 };

typedef struct query {
	nng_socket  sock;
	const char *url;
	const char *host; /* --host, NULL if not given */
	uint32_t    timeout_ms;
	uint64_t    recv_max;
	bool        json;
	pc_tls      tls;
} query;

static void
usage(FILE *out)
{
	fprintf(out,
	        "usage: " PROG " [options] COMMAND\n"
	        "\n"
	        "Asks a pidcast agent (or aggregator) about its processes.\n"
	        "\n"
	        "commands:\n"
	        "  get PID            one process, every field, and its host\n"
	        "  list               every process, page by page (from an aggregator, with\n"
	        "                     its host: a HOST column, \"host\" in --json); filters:\n"
	        "    --name GLOB        name matches a shell glob, e.g. 'python*'\n"
	        "    --user U           user name is exactly U\n"
	        "    --ppid P           children of process P\n"
	        "    --container ID     in the container whose id starts with ID\n"
	        "    --service NAME     in the service (systemd unit, Windows service) NAME\n"
	        "    --cgroup GLOB      cgroup path matches a shell glob, e.g. '/system.slice/*'\n"
	        "  snapshot           the agent's whole table; host, instance and seq on stderr\n"
	        "  top N              the N busiest processes (N from 1)\n"
	        "    --by cpu|rss|io    ranked by CPU, memory or I/O rate (default cpu)\n"
	        "    --at TIME          around a past moment, from an aggregator's history\n"
	        "  hosts              the hosts an aggregator follows: up, synced, processes;\n"
	        "                     and its history store's rows written, queued, dropped\n"
	        "\n"
	        "  From an aggregator's history (docs/HISTORY.md); --host for a store of\n"
	        "  several hosts:\n"
	        "  history PID        the process's samples, with CPU%% and I/O rates\n"
	        "                     between them\n"
	        "  events             starts and exits, how each ended and how long it lived;\n"
	        "                     --name GLOB for some names only\n"
	        "    --since TIME       from (default: an hour before --until)\n"
	        "    --until TIME       to (default: now)\n"
	        "    --limit N          rows at most (default 10000)\n"
	        "  TIME is ISO 8601 in UTC (2026-12-01T03:10:00Z, or with +HH:MM) or an\n"
	        "  age: 90s, 15m, 2h, 3d.\n"
	        "\n"
	        "options:\n"
	        "  --rpc URL          the agent's RPC address (default %s)\n"
	        "  --host NAME        with get, list, snapshot and the history: which host,\n"
	        "                     for an aggregator\n"
	        "                     (default: the only one)\n"
	        "  --recv-max BYTES   largest reply taken (default 67108864); one larger,\n"
	        "                     up to twice that, is refused with its size\n"
	        "  --timeout TIME     wait this long for each answer: 3s, 500ms, 0.5\n"
	        "                     (seconds) (default 3s)\n"
	        "  --json             JSON lines, one object a process (default: a table)\n"
	        "  -h, --help         show this help and exit\n"
	        "  -V, --version      print the version and exit\n"
	        "\n" PC_TLS_HELP_CLIENT "\n"
	        "Exit status: 0 on success, 1 when the process or host is not found,\n"
	        "2 on any other error (bad usage, agent unreachable, error reply).\n",
	        PC_DEFAULT_RPC);
}

static int
bad_usage(const char *fmt, const char *arg)
{
	fprintf(stderr, PROG ": ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, " (try --help)\n");
	return EXIT_ERR;
}

/* The commands and the names of --by, in the order of their enums. */
enum { CMD_GET, CMD_LIST, CMD_SNAPSHOT, CMD_TOP, CMD_HOSTS, CMD_HISTORY, CMD_EVENTS, N_CMDS };
static const char *const cmds[] = {
	"get", "list", "snapshot", "top", "hosts", "history", "events"
};
static const char *const bys[] = { "cpu", "rss", "io" }; /* Pidcast__TopRequest__By */

static int
lookup(const char *s, const char *const *names, int n)
{
	for (int i = 0; i < n; i++) {
		if (strcmp(s, names[i]) == 0) {
			return i;
		}
	}
	return -1;
}

static int
connect_agent(query *q)
{
	char err[256];
	int  rv;

	if ((rv = nng_req0_open(&q->sock)) != 0) {
		fprintf(stderr, PROG ": cannot open socket: %s\n", nng_strerror(rv));
		return EXIT_ERR;
	}
	nng_socket_set_ms(q->sock, NNG_OPT_RECVTIMEO, (nng_duration)q->timeout_ms);
	nng_socket_set_ms(q->sock, NNG_OPT_SENDTIMEO, (nng_duration)q->timeout_ms);
	nng_socket_set_ms(q->sock, NNG_OPT_REQ_RESENDTIME, RESEND_MS);
	pc_rpc_set_reply_max(q->sock, q->recv_max ? q->recv_max : PC_RECV_MAX);
	/* A refused connection, or a TLS handshake that fails, is retried in
	 * the background and shows as the timeout below, with a clear message. */
	if (pc_dial(q->sock, q->url, &q->tls, err, sizeof(err)) != PC_OK) {
		fprintf(stderr, PROG ": %s\n", err);
		return EXIT_ERR;
	}
	return EXIT_OK;
}

/* One call; on failure prints why and returns the exit status. */
static int
call(query *q, const char *method, const ProtobufCMessage *in,
     const ProtobufCMessageDescriptor *desc, ProtobufCMessage **out)
{
	char                           msg[512];
	int                            status = 0, rv;
	const ProtobufCEnumValue      *name;
	const ProtobufCEnumDescriptor *codes = &pidcast__status_code__descriptor;

	rv = pc_rpc_call(q->sock, method, in, desc, out, &status, msg, sizeof(msg));
	if (rv == PC_ETIMEDOUT || rv == PC_ECONN) {
		/* A refused TLS handshake looks the same from here: NNG retries
		 * it in the background like a refused connection. */
		fprintf(stderr,
		        PROG ": cannot reach agent at %s: no answer within %" PRIu32 " ms%s\n",
		        q->url, q->timeout_ms,
		        pc_tls_url(q->url) ? " (down, or TLS refused: check --tls-ca, --tls-cert "
		                             "and --tls-key against the server's)"
		                           : "");
		return EXIT_ERR;
	}
	if (rv == PC_ETOOBIG) {
		fprintf(stderr, PROG ": %s: %s bytes (--recv-max)\n", method, msg);
		return EXIT_ERR;
	}
	if (rv != PC_OK) {
		fprintf(stderr, PROG ": %s: %s\n", method, pc_strerror(rv));
		return EXIT_ERR;
	}
	if (status == PIDCAST__STATUS_CODE__OK) {
		return EXIT_OK;
	}
	name = protobuf_c_enum_descriptor_get_value(codes, status);
	fprintf(stderr, PROG ": %s: %s%s", method, name != NULL ? name->name : "UNKNOWN",
	        msg[0] != '\0' ? ": " : "");
	pc_query_print_text(stderr, msg); /* the server's text */
	fputc('\n', stderr);
	return status == PIDCAST__STATUS_CODE__NOT_FOUND ? EXIT_NOTFOUND : EXIT_ERR;
}

/* A reply that came but could not be printed. */
static int
print_failed(const char *method, int err)
{
	fprintf(stderr, PROG ": %s: %s\n", method,
	        err == PC_EPROTO ? "a record in the reply has no key" : pc_strerror(err));
	return EXIT_ERR;
}

static int
cmd_get(query *q, uint32_t pid)
{
	Pidcast__GetProcessRequest in    = PIDCAST__GET_PROCESS_REQUEST__INIT;
	Pidcast__GetProcessReply  *reply = NULL;
	int                        rv;

	in.has_pid = 1;
	in.pid     = pid;
	in.host    = (char *)q->host;
	rv         = call(q, "GetProcess", &in.base, &pidcast__get_process_reply__descriptor,
	                  (ProtobufCMessage **)&reply);
	if (rv != EXIT_OK) {
		return rv;
	}
	if ((rv = pc_query_print_record(stdout, reply->process, reply->host, q->json)) != PC_OK) {
		rv = print_failed("GetProcess", rv);
	}
	pidcast__get_process_reply__free_unpacked(reply, NULL);
	return rv;
}

static int
cmd_list(query *q, const Pidcast__ListProcessesRequest *filter)
{
	Pidcast__ListProcessesRequest in = *filter;
	int                           rv = EXIT_OK, err;

	in.host = (char *)q->host;
	for (bool more = true; more && rv == EXIT_OK;) {
		Pidcast__ListProcessesReply *reply = NULL;
		rv = call(q, "ListProcesses", &in.base, &pidcast__list_processes_reply__descriptor,
		          (ProtobufCMessage **)&reply);
		if (rv != EXIT_OK) {
			break;
		}
		/* A server of hosts names the host of each record: one each,
		 * or the reply is not one to print. */
		bool hosts = reply->n_hosts > 0;
		if (hosts && reply->n_hosts != reply->n_processes) {
			fprintf(stderr,
			        PROG ": ListProcesses: the reply names %zu hosts for %zu "
			             "processes\n",
			        reply->n_hosts, reply->n_processes);
			pidcast__list_processes_reply__free_unpacked(reply, NULL);
			return EXIT_ERR;
		}
		if (!q->json && !in.has_page_token) {
			pc_query_print_list_header(stdout, hosts);
		}
		err = pc_query_print_list(stdout, reply->processes, reply->n_processes,
		                          hosts ? reply->hosts : NULL, q->json);
		if (err != PC_OK) {
			rv = print_failed("ListProcesses", err);
		}
		more = reply->has_next_page_token;
		/* A token that does not move on would page forever. */
		if (more && in.has_page_token && reply->next_page_token <= in.page_token) {
			fprintf(stderr, PROG ": ListProcesses: page token did not advance\n");
			rv = EXIT_ERR;
		}
		in.has_page_token = 1;
		in.page_token     = reply->next_page_token;
		pidcast__list_processes_reply__free_unpacked(reply, NULL);
	}
	return rv;
}

static int
cmd_snapshot(query *q)
{
	Pidcast__GetSnapshotRequest in = PIDCAST__GET_SNAPSHOT_REQUEST__INIT;
	Pidcast__Update            *u  = NULL;
	int                         rv;

	in.host = (char *)q->host;
	rv      = call(q, "GetSnapshot", &in.base, &pidcast__update__descriptor,
	               (ProtobufCMessage **)&u);
	if (rv != EXIT_OK) {
		return rv;
	}
	fputs(PROG ": host ", stderr);
	pc_query_print_text(stderr, u->host);
	fprintf(stderr, ", instance %016" PRIx64 ", seq %" PRIu64 ", %zu processes\n",
	        u->instance_id, u->seq, u->n_upserts);
	if (!q->json) {
		pc_query_print_list_header(stdout, false);
	}
	if ((rv = pc_query_print_list(stdout, u->upserts, u->n_upserts, NULL, q->json)) != PC_OK) {
		rv = print_failed("GetSnapshot", rv);
	}
	pidcast__update__free_unpacked(u, NULL);
	return rv;
}

static int
cmd_top(query *q, uint32_t n, Pidcast__TopRequest__By by)
{
	Pidcast__TopRequest in    = PIDCAST__TOP_REQUEST__INIT;
	Pidcast__TopReply  *reply = NULL;
	int                 rv;

	in.has_n  = 1;
	in.n      = n;
	in.has_by = 1;
	in.by     = by;
	rv = call(q, "Top", &in.base, &pidcast__top_reply__descriptor, (ProtobufCMessage **)&reply);
	if (rv != EXIT_OK) {
		return rv;
	}
	if ((rv = pc_query_print_top(stdout, reply, q->json)) != PC_OK) {
		rv = print_failed("Top", rv);
	}
	pidcast__top_reply__free_unpacked(reply, NULL);
	return rv;
}

/* The hosts an aggregator follows (an agent lists itself). */
static int
cmd_hosts(query *q)
{
	Pidcast__ListHostsRequest in    = PIDCAST__LIST_HOSTS_REQUEST__INIT;
	Pidcast__ListHostsReply  *reply = NULL;
	int                       rv;

	rv = call(q, "ListHosts", &in.base, &pidcast__list_hosts_reply__descriptor,
	          (ProtobufCMessage **)&reply);
	if (rv != EXIT_OK) {
		return rv;
	}
	if ((rv = pc_query_print_hosts(stdout, reply, q->json)) != PC_OK ||
	    (rv = pc_query_print_history_stats(stdout, reply, q->json)) != PC_OK) {
		rv = print_failed("ListHosts", rv);
	}
	pidcast__list_hosts_reply__free_unpacked(reply, NULL);
	return rv;
}

/* The range and limit of the history commands, as given. */
typedef struct span {
	bool        has_since, has_until, has_at, has_limit;
	uint64_t    since, until, at;
	uint32_t    limit;
	const char *name;
} span;

static int
cmd_history(query *q, uint32_t pid, const span *sp)
{
	Pidcast__HistoryRequest in    = PIDCAST__HISTORY_REQUEST__INIT;
	Pidcast__HistoryReply  *reply = NULL;
	int                     rv;

	in.has_pid      = 1;
	in.pid          = pid;
	in.host         = (char *)q->host;
	in.has_since_ms = sp->has_since;
	in.since_ms     = sp->since;
	in.has_until_ms = sp->has_until;
	in.until_ms     = sp->until;
	in.has_limit    = sp->has_limit;
	in.limit        = sp->limit;
	rv              = call(q, "History", &in.base, &pidcast__history_reply__descriptor,
	                       (ProtobufCMessage **)&reply);
	if (rv != EXIT_OK) {
		return rv;
	}
	if ((rv = pc_query_print_history(stdout, reply, q->json)) != PC_OK) {
		rv = print_failed("History", rv);
	}
	pidcast__history_reply__free_unpacked(reply, NULL);
	return rv;
}

static int
cmd_events(query *q, const span *sp)
{
	Pidcast__EventsRequest in    = PIDCAST__EVENTS_REQUEST__INIT;
	Pidcast__EventsReply  *reply = NULL;
	int                    rv;

	in.host         = (char *)q->host;
	in.has_since_ms = sp->has_since;
	in.since_ms     = sp->since;
	in.has_until_ms = sp->has_until;
	in.until_ms     = sp->until;
	in.has_limit    = sp->has_limit;
	in.limit        = sp->limit;
	in.name_glob    = (char *)sp->name;
	rv              = call(q, "Events", &in.base, &pidcast__events_reply__descriptor,
	                       (ProtobufCMessage **)&reply);
	if (rv != EXIT_OK) {
		return rv;
	}
	if ((rv = pc_query_print_events(stdout, reply, q->json)) != PC_OK) {
		rv = print_failed("Events", rv);
	}
	pidcast__events_reply__free_unpacked(reply, NULL);
	return rv;
}

static int
cmd_top_at(query *q, uint32_t n, Pidcast__TopRequest__By by, uint64_t at)
{
	Pidcast__TopAtRequest in    = PIDCAST__TOP_AT_REQUEST__INIT;
	Pidcast__TopAtReply  *reply = NULL;
	int                   rv;

	in.has_at_ms = 1;
	in.at_ms     = at;
	in.has_n     = 1;
	in.n         = n;
	in.has_by    = 1;
	in.by        = by;
	in.host      = (char *)q->host;
	rv           = call(q, "TopAt", &in.base, &pidcast__top_at_reply__descriptor,
	                    (ProtobufCMessage **)&reply);
	if (rv != EXIT_OK) {
		return rv;
	}
	if ((rv = pc_query_print_top_at(stdout, reply, q->json)) != PC_OK) {
		rv = print_failed("TopAt", rv);
	}
	pidcast__top_at_reply__free_unpacked(reply, NULL);
	return rv;
}

/* A time argument, now for an age; a bad one is said and exits 2. */
static int
time_arg(const char *flag, const char *s, uint64_t *out)
{
	char err[160];

	if (pc_time_parse(s, pc_clock_realtime_ms(), out, err, sizeof(err)) != 0) {
		fprintf(stderr, PROG ": invalid %s %s (try --help)\n", flag, err);
		return EXIT_ERR;
	}
	return EXIT_OK;
}

int
main(int argc, char **argv)
{
	enum {
		OPT_RPC = 256,
		OPT_HOST,
		OPT_TIMEOUT,
		OPT_RECV_MAX,
		OPT_JSON,
		OPT_NAME,
		OPT_USER,
		OPT_PPID,
		OPT_CONTAINER,
		OPT_SERVICE,
		OPT_CGROUP,
		OPT_BY,
		OPT_SINCE,
		OPT_UNTIL,
		OPT_AT,
		OPT_LIMIT
	};
	static const struct option opts[] = {
		{ "rpc", required_argument, NULL, OPT_RPC },
		{ "host", required_argument, NULL, OPT_HOST },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "recv-max", required_argument, NULL, OPT_RECV_MAX },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "name", required_argument, NULL, OPT_NAME },
		{ "user", required_argument, NULL, OPT_USER },
		{ "ppid", required_argument, NULL, OPT_PPID },
		{ "container", required_argument, NULL, OPT_CONTAINER },
		{ "service", required_argument, NULL, OPT_SERVICE },
		{ "cgroup", required_argument, NULL, OPT_CGROUP },
		{ "by", required_argument, NULL, OPT_BY },
		{ "since", required_argument, NULL, OPT_SINCE },
		{ "until", required_argument, NULL, OPT_UNTIL },
		{ "at", required_argument, NULL, OPT_AT },
		{ "limit", required_argument, NULL, OPT_LIMIT },
		PC_TLS_OPTIONS,
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	query                         q      = { .sock       = NNG_SOCKET_INITIALIZER,
		                                 .url        = PC_DEFAULT_RPC,
		                                 .timeout_ms = DEFAULT_TIMEOUT };
	Pidcast__ListProcessesRequest filter = PIDCAST__LIST_PROCESSES_REQUEST__INIT;
	Pidcast__TopRequest__By       by     = PIDCAST__TOP_REQUEST__BY__CPU;
	bool                          listf = false, byf = false, namef = false;
	span                          sp = { 0 };
	int                           cmd;
	uint32_t                      num = 0;
	int                           c, nargs, rv;

	while ((c = getopt_long(argc, argv, "hV", opts, NULL)) != -1) {
		if (pc_tls_arg(&q.tls, c, optarg)) {
			continue;
		}
		switch (c) {
		case OPT_RPC:
			q.url = optarg;
			break;
		case OPT_HOST:
			q.host = optarg;
			break;
		case OPT_TIMEOUT:
			if ((q.timeout_ms = pc_parse_ms(optarg)) == 0) {
				return bad_usage("invalid value '%s' for --timeout", optarg);
			}
			break;
		case OPT_RECV_MAX:
			if (pc_parse_u64(optarg, &q.recv_max) != 0 || q.recv_max == 0) {
				return bad_usage("invalid value '%s' for --recv-max", optarg);
			}
			break;
		case OPT_JSON:
			q.json = true;
			break;
		case OPT_NAME:
			filter.name_glob = optarg;
			sp.name          = optarg;
			namef            = true;
			break;
		case OPT_USER:
			filter.user = optarg;
			listf       = true;
			break;
		case OPT_CONTAINER:
			filter.container = optarg;
			listf            = true;
			break;
		case OPT_SERVICE:
			filter.service = optarg;
			listf          = true;
			break;
		case OPT_CGROUP:
			filter.cgroup_glob = optarg;
			listf              = true;
			break;
		case OPT_PPID:
			if (pc_parse_u32(optarg, &filter.ppid) != 0) {
				return bad_usage("invalid value '%s' for --ppid", optarg);
			}
			filter.has_ppid = 1;
			listf           = true;
			break;
		case OPT_BY:
			if ((c = lookup(optarg, bys, 3)) < 0) {
				return bad_usage("invalid value '%s' for --by: cpu, rss or io",
				                 optarg);
			}
			by  = (Pidcast__TopRequest__By)c;
			byf = true;
			break;
		case OPT_SINCE:
			if (time_arg("--since", optarg, &sp.since) != EXIT_OK) {
				return EXIT_ERR;
			}
			sp.has_since = true;
			break;
		case OPT_UNTIL:
			if (time_arg("--until", optarg, &sp.until) != EXIT_OK) {
				return EXIT_ERR;
			}
			sp.has_until = true;
			break;
		case OPT_AT:
			if (time_arg("--at", optarg, &sp.at) != EXIT_OK) {
				return EXIT_ERR;
			}
			sp.has_at = true;
			break;
		case OPT_LIMIT:
			if (pc_parse_u32(optarg, &sp.limit) != 0 || sp.limit == 0 ||
			    sp.limit > 100000) {
				return bad_usage("invalid value '%s' for --limit (1 to 100000)",
				                 optarg);
			}
			sp.has_limit = true;
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		case 'V':
			printf(PROG " %s\n", PC_VERSION);
			return EXIT_OK;
		default:
			fprintf(stderr, "Try '" PROG " --help'.\n");
			return EXIT_ERR;
		}
	}
	if (optind >= argc) {
		return bad_usage("%s", "no command");
	}
	nargs = argc - optind - 1;
	if ((cmd = lookup(argv[optind], cmds, N_CMDS)) < 0) {
		return bad_usage("unknown command '%s'", argv[optind]);
	}
	if (nargs != (cmd == CMD_GET || cmd == CMD_TOP || cmd == CMD_HISTORY)) {
		return bad_usage("wrong number of arguments for '%s'", cmds[cmd]);
	}
	if (nargs == 1 && (pc_parse_u32(argv[optind + 1], &num) != 0 || num == 0)) {
		return bad_usage(cmd == CMD_TOP ? "invalid count '%s'" : "invalid PID '%s'",
		                 argv[optind + 1]);
	}
	if (listf && cmd != CMD_LIST) {
		return bad_usage("--user, --ppid, --container, --service and --cgroup apply "
		                 "to list, not '%s'",
		                 cmds[cmd]);
	}
	if (namef && cmd != CMD_LIST && cmd != CMD_EVENTS) {
		return bad_usage("--name applies to list and events, not '%s'", cmds[cmd]);
	}
	if (byf && cmd != CMD_TOP) {
		return bad_usage("--by applies to top, not '%s'", cmds[cmd]);
	}
	if (sp.has_at && cmd != CMD_TOP) {
		return bad_usage("--at applies to top, not '%s'", cmds[cmd]);
	}
	if ((sp.has_since || sp.has_until || sp.has_limit) && cmd != CMD_HISTORY &&
	    cmd != CMD_EVENTS) {
		return bad_usage(
		        "--since, --until and --limit apply to history and events, not '%s'",
		        cmds[cmd]);
	}
	if (sp.has_since && sp.has_until && sp.since > sp.until) {
		return bad_usage("--since is after --until%s", "");
	}
	if (q.host != NULL && (cmd == CMD_HOSTS || (cmd == CMD_TOP && !sp.has_at))) {
		return bad_usage("--host applies to get, list, snapshot, history, events and top "
		                 "--at, not '%s'",
		                 cmds[cmd]);
	}
	if ((rv = connect_agent(&q)) == EXIT_OK) {
		rv = cmd == CMD_GET                ? cmd_get(&q, num)
		     : cmd == CMD_LIST             ? cmd_list(&q, &filter)
		     : cmd == CMD_TOP && sp.has_at ? cmd_top_at(&q, num, by, sp.at)
		     : cmd == CMD_TOP              ? cmd_top(&q, num, by)
		     : cmd == CMD_HOSTS            ? cmd_hosts(&q)
		     : cmd == CMD_HISTORY          ? cmd_history(&q, num, &sp)
		     : cmd == CMD_EVENTS           ? cmd_events(&q, &sp)
		                                   : cmd_snapshot(&q);
	}
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, PROG ": cannot write the output\n");
		rv = EXIT_ERR;
	}
	pc_exit_guard(PC_EXIT_GUARD_MS, rv);
	nng_close(q.sock);
	return rv;
}
