/* pc_agg_main.c: pidcast-aggregator's command line. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pc_agg.h"
#include "base/pc_err.h"
#include "base/pc_exit_guard.h"
#include "net/pc_bound.h"
#include "net/pc_net.h"
#include "base/pc_parse.h"
#include "platform/pc_platform.h"
#include "net/pc_tls_args.h"
#include "base/pc_time.h"

#define MAX_AGENTS 4096

static void
usage(FILE *out)
{
	fprintf(out,
	        "usage: pidcast-aggregator [options]\n"
	        "\n"
	        "Keeps every agent's process table, answers queries across hosts (the\n"
	        "agent's RPC service, with hosts), republishes every host's updates on\n"
	        "one stream, and serves Prometheus metrics and a web page of the fleet.\n"
	        "\n"
	        "options:\n"
	        "  --listen URL       agents dial in here, with pidcast-agent --aggregator URL\n"
	        "                     (default %s; 'none' to not listen)\n"
	        "  --agent URL        also dial this agent's stream (repeatable)\n"
	        "  --rpc URL          where queries are answered (default %s)\n"
	        "  --publish URL      the fleet's stream: every host's updates as they came,\n"
	        "                     for pidcast-sub URL --rpc (the --rpc above), which\n"
	        "                     resyncs each host from this aggregator's tables\n"
	        "                     (default %s; 'none' to not publish)\n"
	        "  --publish-queue N  messages queued for each subscriber, 1 to 8192\n"
	        "                     (default %d); one further behind loses the oldest\n"
	        "                     and resyncs: a slow subscriber never holds up ingest\n"
	        "  --metrics URL      the HTTP server: Prometheus metrics at the URL's path\n"
	        "                     (default %s; no path or '/':\n"
	        "                     /metrics), and the web page at / with its JSON API\n"
	        "                     under /api/ (docs/PROTOCOL.md); 'none' to disable;\n"
	        "                     https:// takes the TLS options below, as the other\n"
	        "                     listeners do\n"
	        "  --no-web           serve only the metrics on that server, no page\n"
	        "  --metrics-timeout MS\n"
	        "                     close an HTTP connection whose request has not\n"
	        "                     come within MS (default %d; a page then has %d s)\n"
	        "  --metrics-max-conns N\n"
	        "                     HTTP connections at most, lowered to a quarter of\n"
	        "                     the fd limit (default %d); when full, a new one\n"
	        "                     closes the one waiting longest for its request\n"
	        "  --bound-file FILE  once listening, write there the URLs as bound: a\n"
	        "                     'listen', 'rpc', 'publish' and 'metrics' line each\n"
	        "                     (port 0 in a URL lets the OS pick a free port; this\n"
	        "                     tells which)\n"
	        "  --down-after N     a host silent for N of its intervals is down (default 3)\n"
	        "  --group-by KEY     process groups in metrics: name, user, exe, container,\n"
	        "                     service or cgroup (default name); processes without\n"
	        "                     the field are the group \"\"\n"
	        "  --recv-max BYTES   largest update taken from an agent (default 67108864)\n"
	        "  --max-hosts N      hosts tracked at most; updates of more are dropped\n"
	        "                     (default %d)\n"
	        "  --max-retired-groups N\n"
	        "                     groups of exited processes whose counters a host\n"
	        "                     keeps; past it the least recently retired folds into\n"
	        "                     the group '" PC_AGG_OTHER_GROUP "' (default %d)\n"
	        "  --pid-metrics GLOB per-PID series for processes whose name matches\n"
	        "                     (default none: series grow with every PID)\n"
	        "  --top-pids N       per-PID series for each host's N busiest processes\n"
	        "                     only (CPU over the last update, then RSS), among\n"
	        "                     those --pid-metrics names, or all without it\n"
	        "  --history URL      where the history is kept (docs/HISTORY.md):\n"
	        "                     sqlite:PATH (default sqlite:%s, or\n"
	        "                     $STATE_DIRECTORY/history.db under systemd),\n"
	        "                     clickhouse://HOST:PORT/DATABASE (ClickHouse's HTTP\n"
	        "                     interface), or 'none'\n"
	        "  --history-every D  sample each process's counters at most every D while\n"
	        "                     they change (default 10s; ms, s, m, h)\n"
	        "  --history-retain D keep D of history (default 7d): SQLite deletes older\n"
	        "                     rows a few thousand at a time, ClickHouse drops days\n"
	        "  --history-buffer BYTES\n"
	        "                     rows waiting for a slow or down store at most\n"
	        "                     (default 64M; k, M, G); past it the oldest are\n"
	        "                     dropped and counted (ListHosts, /metrics)\n"
	        "  --ipc-mode MODE    permissions of ipc:// sockets, octal (default 600)\n"
	        "  -h, --help         show this help and exit\n"
	        "  -V, --version      print the version and exit\n"
	        "\n" PC_TLS_HELP_SERVER "\n"
	        "URLs are NNG's: tcp://HOST:PORT, tls+tcp://HOST:PORT, ipc:///PATH.\n"
	        "Hosts are told apart by the host name in their stream. After a gap a host\n"
	        "recovers at its next keyframe. It stops cleanly on SIGINT and SIGTERM.\n",
	        PC_AGG_DEFAULT_LISTEN, PC_AGG_DEFAULT_RPC, PC_AGG_DEFAULT_PUBLISH,
	        PC_AGG_PUBLISH_QUEUE, PC_AGG_DEFAULT_METRICS, PC_HTTP_TIMEOUT_MS,
	        PC_HTTP_SEND_MS / 1000, PC_HTTP_MAX_CONNS, PC_AGG_MAX_HOSTS, PC_AGG_MAX_RETIRED,
	        PC_HIST_DEFAULT_PATH);
}

/* The page's URL: the metrics' as bound, with the path "/". */
static void
web_url(const char *metrics, char *out, size_t n)
{
	const char *host = strstr(metrics, "://");
	const char *path = host != NULL ? strchr(host + 3, '/') : NULL;
	int         len  = path != NULL ? (int)(path - metrics) : (int)strlen(metrics);

	snprintf(out, n, "%.*s/", len, metrics);
}

/* The default store: systemd's StateDirectory= when it gives one. */
static const char *
default_history(char *buf, size_t n)
{
	const char *dir = getenv("STATE_DIRECTORY");

	if (dir != NULL && dir[0] != '\0' && strchr(dir, ':') == NULL) {
		snprintf(buf, n, "sqlite:%s/history.db", dir);
	} else {
		snprintf(buf, n, "sqlite:%s", PC_HIST_DEFAULT_PATH);
	}
	return buf;
}

/* A size: a number with an optional k, M or G (powers of 1024). */
static int
parse_size(const char *s, size_t *out)
{
	char    *end;
	uint64_t v, mul = 1;

	if (*s < '0' || *s > '9') {
		return -1;
	}
	v = strtoull(s, &end, 10);
	if (*end == 'k' || *end == 'K') {
		mul = 1024;
	} else if (*end == 'M') {
		mul = 1024 * 1024;
	} else if (*end == 'G') {
		mul = 1024 * 1024 * 1024;
	} else if (*end != '\0') {
		return -1;
	}
	if (mul > 1 && end[1] != '\0' && strcmp(end + 1, "iB") != 0 && strcmp(end + 1, "B") != 0) {
		return -1;
	}
	if (v == 0 || v > SIZE_MAX / mul) {
		return -1;
	}
	*out = (size_t)(v * mul);
	return 0;
}

/* Each line of a poll's log with the program's name in front, so that a
 * line never lacks it; the peers' text in them is escaped (pc_agg.c). */
static void
print_log(const pc_buf *log)
{
	for (size_t at = 0, n; at < log->len; at += n + 1) {
		const char *nl = memchr(log->data + at, '\n', log->len - at);
		n              = nl != NULL ? (size_t)(nl - (log->data + at)) : log->len - at;
		fprintf(stderr, "pidcast-aggregator: %.*s\n", (int)n, log->data + at);
	}
}

int
main(int argc, char **argv)
{
	enum {
		OPT_LISTEN = 256,
		OPT_AGENT,
		OPT_RPC,
		OPT_METRICS,
		OPT_DOWN,
		OPT_GROUP,
		OPT_PIDS,
		OPT_TOP_PIDS,
		OPT_RECV_MAX,
		OPT_IPC_MODE,
		OPT_MAX_HOSTS,
		OPT_BOUND_FILE,
		OPT_MAX_RETIRED,
		OPT_HTTP_TIMEOUT,
		OPT_HTTP_CONNS,
		OPT_PUBLISH,
		OPT_PUBLISH_QUEUE,
		OPT_HISTORY,
		OPT_HISTORY_EVERY,
		OPT_HISTORY_RETAIN,
		OPT_HISTORY_BUFFER,
		OPT_NO_WEB
	};
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, OPT_LISTEN },
		{ "agent", required_argument, NULL, OPT_AGENT },
		{ "rpc", required_argument, NULL, OPT_RPC },
		{ "publish", required_argument, NULL, OPT_PUBLISH },
		{ "publish-queue", required_argument, NULL, OPT_PUBLISH_QUEUE },
		{ "metrics", required_argument, NULL, OPT_METRICS },
		{ "down-after", required_argument, NULL, OPT_DOWN },
		{ "group-by", required_argument, NULL, OPT_GROUP },
		{ "pid-metrics", required_argument, NULL, OPT_PIDS },
		{ "top-pids", required_argument, NULL, OPT_TOP_PIDS },
		{ "recv-max", required_argument, NULL, OPT_RECV_MAX },
		{ "ipc-mode", required_argument, NULL, OPT_IPC_MODE },
		{ "max-hosts", required_argument, NULL, OPT_MAX_HOSTS },
		{ "bound-file", required_argument, NULL, OPT_BOUND_FILE },
		{ "max-retired-groups", required_argument, NULL, OPT_MAX_RETIRED },
		{ "metrics-timeout", required_argument, NULL, OPT_HTTP_TIMEOUT },
		{ "metrics-max-conns", required_argument, NULL, OPT_HTTP_CONNS },
		{ "history", required_argument, NULL, OPT_HISTORY },
		{ "no-web", no_argument, NULL, OPT_NO_WEB },
		{ "history-every", required_argument, NULL, OPT_HISTORY_EVERY },
		{ "history-retain", required_argument, NULL, OPT_HISTORY_RETAIN },
		{ "history-buffer", required_argument, NULL, OPT_HISTORY_BUFFER },
		PC_TLS_OPTIONS,
		PC_TLS_LISTEN_OPTIONS,
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	static const char *agents[MAX_AGENTS];
	pc_agg_opts        o = {
		       .listen     = PC_AGG_DEFAULT_LISTEN,
		       .agents     = agents,
		       .rpc        = PC_AGG_DEFAULT_RPC,
		       .publish    = PC_AGG_DEFAULT_PUBLISH,
		       .metrics    = PC_AGG_DEFAULT_METRICS,
		       .web        = true,
		       .down_after = 3,
	};
	pc_agg      g;
	char        hist_url[600];
	char        web[PC_URL_MAX];
	bool        history_given = false;
	pc_buf      log           = { 0 };
	const char *bound_file    = NULL;
	char       *end;
	int         c, rv;

	o.history.url = default_history(hist_url, sizeof(hist_url));
	while ((c = getopt_long(argc, argv, "hV", opts, NULL)) != -1) {
		if (pc_tls_arg(&o.tls, c, optarg)) {
			continue;
		}
		switch (c) {
		case OPT_LISTEN:
			o.listen = strcmp(optarg, "none") == 0 ? NULL : optarg;
			break;
		case OPT_AGENT:
			if (o.n_agents == MAX_AGENTS) {
				fprintf(stderr, "pidcast-aggregator: at most %d --agent\n",
				        MAX_AGENTS);
				return 2;
			}
			agents[o.n_agents++] = optarg;
			break;
		case OPT_RPC:
			o.rpc = optarg;
			break;
		case OPT_METRICS:
			o.metrics = strcmp(optarg, "none") == 0 ? NULL : optarg;
			break;
		case OPT_NO_WEB:
			o.web = false;
			break;
		case OPT_PUBLISH:
			o.publish = strcmp(optarg, "none") == 0 ? NULL : optarg;
			break;
		case OPT_PUBLISH_QUEUE: {
			uint64_t v;
			if (pc_parse_u64(optarg, &v) != 0 || v == 0 || v > 8192) {
				fprintf(stderr,
				        "pidcast-aggregator: invalid --publish-queue '%s'\n",
				        optarg);
				return 2;
			}
			o.publish_queue = (int)v;
			break;
		}
		case OPT_DOWN:
			o.down_after = (uint32_t)strtoul(optarg, &end, 10);
			if (*end != '\0' || o.down_after == 0) {
				fprintf(stderr, "pidcast-aggregator: invalid --down-after '%s'\n",
				        optarg);
				return 2;
			}
			break;
		case OPT_GROUP:
			if (strcmp(optarg, "name") == 0) {
				o.group_by = PC_GROUP_NAME;
			} else if (strcmp(optarg, "user") == 0) {
				o.group_by = PC_GROUP_USER;
			} else if (strcmp(optarg, "exe") == 0) {
				o.group_by = PC_GROUP_EXE;
			} else if (strcmp(optarg, "container") == 0) {
				o.group_by = PC_GROUP_CONTAINER;
			} else if (strcmp(optarg, "service") == 0) {
				o.group_by = PC_GROUP_SERVICE;
			} else if (strcmp(optarg, "cgroup") == 0) {
				o.group_by = PC_GROUP_CGROUP;
			} else {
				fprintf(stderr,
				        "pidcast-aggregator: --group-by takes name, user, exe, "
				        "container, service or cgroup\n");
				return 2;
			}
			break;
		case OPT_IPC_MODE:
			if ((o.ipc_mode = pc_parse_mode(optarg)) < 0) {
				fprintf(stderr, "pidcast-aggregator: invalid --ipc-mode '%s'\n",
				        optarg);
				return 2;
			}
			break;
		case OPT_RECV_MAX: {
			uint64_t v;
			if (pc_parse_u64(optarg, &v) != 0 || v == 0) {
				fprintf(stderr, "pidcast-aggregator: invalid --recv-max '%s'\n",
				        optarg);
				return 2;
			}
			o.recv_max = (size_t)v;
			break;
		}
		case OPT_MAX_HOSTS: {
			uint64_t v;
			if (pc_parse_u64(optarg, &v) != 0 || v == 0 || v > 1000000) {
				fprintf(stderr, "pidcast-aggregator: invalid --max-hosts '%s'\n",
				        optarg);
				return 2;
			}
			o.max_hosts = (size_t)v;
			break;
		}
		case OPT_MAX_RETIRED: {
			uint64_t v;
			if (pc_parse_u64(optarg, &v) != 0 || v == 0 || v > 1000000) {
				fprintf(stderr,
				        "pidcast-aggregator: invalid --max-retired-groups '%s'\n",
				        optarg);
				return 2;
			}
			o.max_retired = (size_t)v;
			break;
		}
		case OPT_HTTP_TIMEOUT:
		case OPT_HTTP_CONNS: {
			uint64_t v;
			if (pc_parse_u64(optarg, &v) != 0 || v == 0 || v > 3600000) {
				fprintf(stderr, "pidcast-aggregator: invalid --%s '%s'\n",
				        c == OPT_HTTP_TIMEOUT ? "metrics-timeout"
				                              : "metrics-max-conns",
				        optarg);
				return 2;
			}
			if (c == OPT_HTTP_TIMEOUT) {
				o.metrics_timeout_ms = (nng_duration)v;
			} else {
				o.metrics_max_conns = (size_t)v;
			}
			break;
		}
		case OPT_PIDS:
			o.pid_include = optarg;
			break;
		case OPT_TOP_PIDS: {
			uint64_t v;
			if (pc_parse_u64(optarg, &v) != 0 || v == 0 || v > 100000) {
				fprintf(stderr,
				        "pidcast-aggregator: invalid --top-pids '%s' (1 to "
				        "100000)\n",
				        optarg);
				return 2;
			}
			o.top_pids = (size_t)v;
			break;
		}
		case OPT_BOUND_FILE:
			bound_file = optarg;
			break;
		case OPT_HISTORY:
			o.history.url = strcmp(optarg, "none") == 0 ? NULL : optarg;
			history_given = true;
			break;
		case OPT_HISTORY_EVERY:
		case OPT_HISTORY_RETAIN: {
			uint64_t v;
			bool     every = c == OPT_HISTORY_EVERY;
			if (pc_duration_parse(optarg, &v) != 0 || v == 0 ||
			    (every && v > 3600000) || v > 10ull * 366 * 86400000) {
				fprintf(stderr,
				        "pidcast-aggregator: invalid --%s '%s' (a number and a "
				        "unit: "
				        "ms, s, m, h, d; %s)\n",
				        every ? "history-every" : "history-retain", optarg,
				        every ? "up to 1h" : "up to 10 years");
				return 2;
			}
			if (every) {
				o.history.every_ms = v;
			} else {
				o.history.retain_ms = v;
			}
			break;
		}
		case OPT_HISTORY_BUFFER:
			if (parse_size(optarg, &o.history.buffer) != 0 || o.history.buffer < 4096) {
				fprintf(stderr,
				        "pidcast-aggregator: invalid --history-buffer '%s' (bytes, "
				        "at "
				        "least 4096; k, M, G)\n",
				        optarg);
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("pidcast-aggregator %s\n", PC_VERSION);
			return 0;
		default:
			fprintf(stderr, "Try 'pidcast-aggregator --help'.\n");
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "pidcast-aggregator: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	pc_catch_stop();
	pc_one_arena(); /* pages and snapshots are large, on any NNG thread */
	rv = pc_agg_start(&g, &o);
	if (rv == PC_ENOTSUP && !history_given) {
		/* The default store is not in this build (Windows): no history,
		 * said once; asked for by name, it is an error. */
		fprintf(stderr, "pidcast-aggregator: no history: %s\n", g.err);
		pc_agg_stop(&g);
		o.history.url = NULL;
		rv            = pc_agg_start(&g, &o);
	}
	if (rv != PC_OK) {
		fprintf(stderr, "pidcast-aggregator: %s\n", g.err);
		pc_agg_stop(&g);
		return 1;
	}
	web_url(g.metrics_bound, web, sizeof(web));
	if (bound_file != NULL) {
		pc_bound_entry e[5];
		size_t         n = 0;
		if (o.listen != NULL) {
			e[n++] = (pc_bound_entry){ "listen", g.listen_bound };
		}
		e[n++] = (pc_bound_entry){ "rpc", g.rpc_bound };
		if (o.publish != NULL) {
			e[n++] = (pc_bound_entry){ "publish", g.publish_bound };
		}
		if (o.metrics != NULL) {
			e[n++] = (pc_bound_entry){ "metrics", g.metrics_bound };
		}
		if (o.metrics != NULL && o.web) {
			e[n++] = (pc_bound_entry){ "web", web };
		}
		if ((rv = pc_bound_write(bound_file, e, n)) != PC_OK) {
			fprintf(stderr, "pidcast-aggregator: cannot write --bound-file %s: %s\n",
			        bound_file, pc_strerror(rv));
			pc_agg_stop(&g);
			return 1;
		}
	}
	fprintf(stderr,
	        "pidcast-aggregator: agents on %s, rpc on %s, publish on %s, metrics on %s, "
	        "web page on %s, history in %s\n",
	        o.listen ? g.listen_bound : "(dial only)", g.rpc_bound,
	        o.publish ? g.publish_bound : "(off)", o.metrics ? g.metrics_bound : "(off)",
	        o.metrics && o.web ? web : "(off)", o.history.url ? o.history.url : "(off)");
	while (!pc_stop_requested()) {
		pc_buf_reset(&log);
		if ((rv = pc_agg_poll(&g, 100, &log)) != PC_OK) {
			fprintf(stderr, "pidcast-aggregator: %s\n", pc_strerror(rv));
			break;
		}
		print_log(&log);
	}
	pc_buf_fini(&log);
	pc_exit_guard(PC_EXIT_GUARD_MS, rv == PC_OK ? 0 : 1);
	pc_agg_stop(&g);
	return rv == PC_OK ? 0 : 1;
}
