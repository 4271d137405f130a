/* pc_agent_main.c: pidcast-agent's command line. */
#include <getopt.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pc_agent.h"
#include "base/pc_buf.h"
#include "wire/pc_codec.h"
#include "base/pc_err.h"
#include "base/pc_exit_guard.h"
#include "wire/pc_json.h"
#include "net/pc_bound.h"
#include "net/pc_net.h"
#include "base/pc_parse.h"
#include "base/pc_term.h"
#include "platform/pc_platform.h"
#include "probe/pc_probe.h"
#include "platform/pc_svcmgr.h"
#include "net/pc_tls_args.h"
#include "wire/pc_update.h"

#define MAX_SCRUB_WORDS 64
static const char *scrub_words[MAX_SCRUB_WORDS];

static void
usage(FILE *out)
{
	fprintf(out,
	        "usage: pidcast-agent [options]\n"
	        "\n"
	        "Process-telemetry agent: snapshots every process each tick, publishes\n"
	        "what changed (NNG PUB, protobuf) and answers queries (NNG REP).\n"
	        "\n"
	        "options:\n"
	        "  --publish URL      where subscribers connect (default %s)\n"
	        "  --rpc URL          where queries are answered (default %s)\n"
	        "  --bound-file FILE  once listening, write there the URLs as bound, one\n"
	        "                     'publish URL' and 'rpc URL' line (port 0 in a URL\n"
	        "                     lets the OS pick a free port; this tells which)\n"
	        "  --interval TIME    tick period: 1s, 250ms, 0.5 (seconds) (default 1s)\n"
	        "  --keyframe N       a full keyframe every N ticks (default 30)\n"
	        "  --host NAME        host name in the stream, 1 to 255 bytes of UTF-8 without\n"
	        "                     '/' (default: this host's)\n"
	        "  --aggregator URL   also send the stream to a pidcast-aggregator listening\n"
	        "                     there (e.g. tcp://collector:7460; retried until it is up)\n"
	        "  --probe NAME       probe backend (default %s; available:",
	        PC_DEFAULT_PUBLISH, PC_DEFAULT_RPC, pc_probe_backends[0]->name);
	for (int i = 0; pc_probe_backends[i] != NULL; i++) {
		fprintf(out, " %s", pc_probe_backends[i]->name);
	}
	fprintf(out,
	        ")\n"
	        "  --deadband-mem N   ignore memory changes under N bytes (default 0: off)\n"
	        "  --deadband-cpu N   ignore CPU time changes under N us (default 0: off)\n"
	        "  --no-scrub         publish command lines as they are (default: values\n"
	        "                     after password, passwd, secret, token, api_key,\n"
	        "                     apikey become ********)\n"
	        "  --scrub-word WORD  one more sensitive word (repeatable)\n"
	        "  --cmdline-max N    cut command lines at N bytes, after scrubbing, and\n"
	        "                     mark them partial (default %u, at most %u)\n"
	        "  --ipc-mode MODE    permissions of ipc:// sockets, octal (default 600:\n"
	        "                     the owner only; POSIX)\n"
	        "  --part-records N   send an update of more records than N in parts\n"
	        "                     (default %u; 0: no limit)\n"
	        "  --part-bytes N     ... or of more bytes than N (default %u, inside NNG's\n"
	        "                     default receive limit of 1 MiB; 0: no limit)\n"
	        "  --ticks N          stop after N ticks (default 0: run until stopped)\n"
	        "  --once             take one snapshot, print it and exit\n"
	        "  --json             with --once: JSON lines, one object a process\n"
	        "                     (the only format of --once)\n"
	        "  --install-service  Windows: register the agent, with the other options\n"
	        "                     given, as the service pidcast-agent (started at\n"
	        "                     boot, as LocalSystem) and exit; on Linux use the\n"
	        "                     systemd unit pidcast-agent.service (README.md)\n"
	        "  --uninstall-service  Windows: stop that service if it runs, remove it\n"
	        "  -h, --help         show this help and exit\n"
	        "  -V, --version      print the version and exit\n"
	        "\n" PC_TLS_HELP_SERVER "\n"
	        "URLs are NNG's: tcp://HOST:PORT, tls+tcp://HOST:PORT, ipc:///PATH. It\n"
	        "stops cleanly on SIGINT and SIGTERM (Ctrl-C on Windows; a stop of the\n"
	        "service).\n",
	        (unsigned)PC_CMDLINE_MAX, (unsigned)PC_CMDLINE_MAX_LIMIT, (unsigned)PC_PART_RECORDS,
	        (unsigned)PC_PART_BYTES);
}

/* One snapshot, every field of every process, as JSON lines on stdout. */
static int
print_once(const char *probe_name, const pc_scrub *scrub, size_t cmdline_max)
{
	pc_probe   *probe = NULL;
	pc_snapshot snap  = { 0 };
	pc_buf      line  = { 0 };
	int         rv;

	char why[512];

	if ((rv = pc_probe_open_why(probe_name, &probe, why, sizeof(why))) != PC_OK) {
		fprintf(stderr, "pidcast-agent: cannot open probe '%s': %s\n",
		        probe_name ? probe_name : pc_probe_backends[0]->name,
		        why[0] ? why : pc_strerror(rv));
		return 1;
	}
	if (why[0] != '\0') {
		fprintf(stderr, "pidcast-agent: probe %s (%s)\n", probe->ops->name, why);
	}
	pc_probe_set_scrub(probe, scrub);
	pc_probe_set_cmdline_max(probe, cmdline_max);
	rv = pc_probe_processes_by_pid(probe, pc_clock_realtime_ms(), true, &snap);
	if (rv != PC_OK) {
		fprintf(stderr, "pidcast-agent: snapshot failed: %s\n", pc_strerror(rv));
	}
	for (size_t i = 0; rv == PC_OK && i < snap.n; i++) {
		pc_buf_reset(&line);
		pc_json_proc(&line, &snap.procs[i], PC_MASK_ALL);
		pc_buf_add(&line, "\n", 1);
		if (line.err != PC_OK) {
			fprintf(stderr, "pidcast-agent: %s\n", pc_strerror(line.err));
			rv = line.err;
			break;
		}
		fwrite(line.data, 1, line.len, stdout);
	}
	pc_buf_fini(&line);
	pc_snapshot_fini(&snap);
	pc_probe_close(probe);
	if (fflush(stdout) != 0) {
		return 1;
	}
	return rv == PC_OK ? 0 : 1;
}

static int
bad_value(const char *opt, const char *val)
{
	fprintf(stderr, "pidcast-agent: invalid value '%s' for %s (try --help)\n", val, opt);
	return 2;
}

/* What the agent's loop needs, also when the service manager runs it. */
typedef struct run_args {
	const pc_agent_opts *o;
	const char          *bound_file; /* NULL: none */
	uint64_t             ticks;
	int                  rv; /* what run() returned */
} run_args;

/* Serves until stopped; a pc_err code. */
static int
run(void *arg)
{
	run_args *r    = arg;
	pc_buf    host = { 0 };
	pc_agent  a;
	int       rv;

	pc_catch_stop();
	pc_one_arena(); /* StatsForPids calls are large, on any RPC thread */
	if ((rv = pc_agent_start(&a, r->o)) != PC_OK) {
		fprintf(stderr, "pidcast-agent: %s\n", a.err);
		pc_agent_stop(&a);
		return r->rv = rv;
	}
	if (r->bound_file != NULL) {
		pc_bound_entry e[] = { { "publish", a.pub_bound }, { "rpc", a.rpc_bound } };
		if ((rv = pc_bound_write(r->bound_file, e, 2)) != PC_OK) {
			fprintf(stderr, "pidcast-agent: cannot write --bound-file %s: %s\n",
			        r->bound_file, pc_strerror(rv));
			pc_agent_stop(&a);
			return r->rv = rv;
		}
	}
	pc_svcmgr_running();
	if (a.probe_why[0] != '\0') {
		fprintf(stderr, "pidcast-agent: probe %s (%s)\n", a.probe->ops->name, a.probe_why);
	}
	pc_term_str(&host, a.host, SIZE_MAX); /* one log line, whatever the name */
	fprintf(stderr,
	        "pidcast-agent: host %s, probe %s, publishing on %s, rpc on %s, every %u ms\n",
	        host.err == PC_OK && host.len > 0 ? host.data : "", a.probe->ops->name, a.pub_bound,
	        a.rpc_bound, r->o->interval_ms);
	pc_buf_fini(&host);
	rv = pc_agent_run(&a, pc_stop_requested, r->ticks);
	if (rv != PC_OK) {
		fprintf(stderr, "pidcast-agent: %s\n", a.err);
	}
	pc_exit_guard(PC_EXIT_GUARD_MS, rv == PC_OK ? 0 : 1);
	pc_agent_stop(&a);
	return r->rv = rv;
}

static int
svc_failed(const char *what, int rv)
{
	if (rv == PC_ENOTSUP) {
		fprintf(stderr,
		        "pidcast-agent: %s is for Windows; on Linux systemd runs the agent: "
		        "install the unit pidcast-agent.service (README.md, \"Running as a "
		        "service\")\n",
		        what);
	} else if (rv == PC_EPERM) {
		fprintf(stderr, "pidcast-agent: %s: access denied (run it as an administrator)\n",
		        what);
	} else {
		fprintf(stderr, "pidcast-agent: %s: service %s: %s\n", what, PC_SVCMGR_NAME,
		        pc_strerror(rv));
	}
	return 1;
}

/* Registers argv less --install-service (at argv[skip]), behind --service. */
static int
install(int argc, char **argv, int skip)
{
	char *args[256];
	int   n = 0, rv;

	args[n++] = "--service";
	for (int i = 1; i < argc; i++) {
		if (i == skip) {
			continue;
		}
		if (n == (int)(sizeof(args) / sizeof(args[0]))) {
			fprintf(stderr, "pidcast-agent: --install-service: too many options\n");
			return 2;
		}
		args[n++] = argv[i];
	}
	rv = pc_svcmgr_install(PC_SVCMGR_NAME, "pidcast process-telemetry agent", args, n);
	if (rv != PC_OK) {
		return svc_failed("--install-service", rv);
	}
	printf("pidcast-agent: installed the service %s (start: automatic); start it with "
	       "'sc start %s'\n",
	       PC_SVCMGR_NAME, PC_SVCMGR_NAME);
	return 0;
}

int
main(int argc, char **argv)
{
	enum {
		OPT_ONCE = 256,
		OPT_JSON,
		OPT_PROBE,
		OPT_PUBLISH,
		OPT_RPC,
		OPT_BOUND_FILE,
		OPT_INTERVAL,
		OPT_KEYFRAME,
		OPT_HOST,
		OPT_DB_MEM,
		OPT_DB_CPU,
		OPT_TICKS,
		OPT_AGGREGATOR,
		OPT_NO_SCRUB,
		OPT_SCRUB_WORD,
		OPT_IPC_MODE,
		OPT_PART_RECORDS,
		OPT_PART_BYTES,
		OPT_CMDLINE_MAX,
		OPT_INSTALL,
		OPT_UNINSTALL,
		OPT_SERVICE,
	};
	static const struct option opts[] = {
		{ "once", no_argument, NULL, OPT_ONCE },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "probe", required_argument, NULL, OPT_PROBE },
		{ "publish", required_argument, NULL, OPT_PUBLISH },
		{ "rpc", required_argument, NULL, OPT_RPC },
		{ "bound-file", required_argument, NULL, OPT_BOUND_FILE },
		{ "interval", required_argument, NULL, OPT_INTERVAL },
		{ "keyframe", required_argument, NULL, OPT_KEYFRAME },
		{ "host", required_argument, NULL, OPT_HOST },
		{ "deadband-mem", required_argument, NULL, OPT_DB_MEM },
		{ "deadband-cpu", required_argument, NULL, OPT_DB_CPU },
		{ "ticks", required_argument, NULL, OPT_TICKS },
		{ "aggregator", required_argument, NULL, OPT_AGGREGATOR },
		{ "no-scrub", no_argument, NULL, OPT_NO_SCRUB },
		{ "scrub-word", required_argument, NULL, OPT_SCRUB_WORD },
		{ "ipc-mode", required_argument, NULL, OPT_IPC_MODE },
		{ "part-records", required_argument, NULL, OPT_PART_RECORDS },
		{ "part-bytes", required_argument, NULL, OPT_PART_BYTES },
		{ "cmdline-max", required_argument, NULL, OPT_CMDLINE_MAX },
		{ "install-service", no_argument, NULL, OPT_INSTALL },
		{ "uninstall-service", no_argument, NULL, OPT_UNINSTALL },
		PC_TLS_OPTIONS,
		PC_TLS_LISTEN_OPTIONS,
		/* Not in --help: what the service manager starts. */
		{ "service", no_argument, NULL, OPT_SERVICE },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	pc_agent_opts o = {
		.publish_url    = PC_DEFAULT_PUBLISH,
		.rpc_url        = PC_DEFAULT_RPC,
		.interval_ms    = 1000,
		.keyframe_every = 30,
		.scrub          = { .extra = scrub_words },
		.ipc_mode       = PC_IPC_MODE,
		.part_records   = PC_PART_RECORDS,
		.part_bytes     = PC_PART_BYTES,
	};
	run_args r = { .o = &o };
	uint64_t v;
	int      once = 0, install_at = 0, uninstall = 0, service = 0;
	int      c, rv;

	while ((c = getopt_long(argc, argv, "hV", opts, NULL)) != -1) {
		if (pc_tls_arg(&o.tls, c, optarg)) {
			continue;
		}
		switch (c) {
		case OPT_ONCE:
			once = 1;
			break;
		case OPT_JSON:
			break;
		case OPT_PROBE:
			o.probe = optarg;
			break;
		case OPT_PUBLISH:
			o.publish_url = optarg;
			break;
		case OPT_RPC:
			o.rpc_url = optarg;
			break;
		case OPT_BOUND_FILE:
			r.bound_file = optarg;
			break;
		case OPT_INTERVAL:
			if ((o.interval_ms = pc_parse_ms(optarg)) == 0) {
				return bad_value("--interval", optarg);
			}
			break;
		case OPT_KEYFRAME:
			if (pc_parse_u64(optarg, &v) != 0 || v == 0 || v > 1000000) {
				return bad_value("--keyframe", optarg);
			}
			o.keyframe_every = (uint32_t)v;
			break;
		case OPT_HOST:
			if (!pc_host_valid(optarg, strlen(optarg))) {
				return bad_value("--host", optarg);
			}
			o.host = optarg;
			break;
		case OPT_DB_MEM:
			if (pc_parse_u64(optarg, &o.deadband.mem_bytes) != 0) {
				return bad_value("--deadband-mem", optarg);
			}
			break;
		case OPT_DB_CPU:
			if (pc_parse_u64(optarg, &o.deadband.cpu_us) != 0) {
				return bad_value("--deadband-cpu", optarg);
			}
			break;
		case OPT_TICKS:
			if (pc_parse_u64(optarg, &r.ticks) != 0) {
				return bad_value("--ticks", optarg);
			}
			break;
		case OPT_AGGREGATOR:
			o.aggregator = optarg;
			break;
		case OPT_IPC_MODE:
			if ((o.ipc_mode = pc_parse_mode(optarg)) < 0) {
				return bad_value("--ipc-mode", optarg);
			}
			break;
		case OPT_PART_RECORDS:
			if (pc_parse_u64(optarg, &v) != 0) {
				return bad_value("--part-records", optarg);
			}
			o.part_records = (size_t)v;
			break;
		case OPT_PART_BYTES:
			if (pc_parse_u64(optarg, &v) != 0 || (v != 0 && v < 1024)) {
				return bad_value("--part-bytes", optarg);
			}
			o.part_bytes = (size_t)v;
			break;
		case OPT_CMDLINE_MAX:
			if (pc_parse_u64(optarg, &v) != 0 || v == 0 || v > PC_CMDLINE_MAX_LIMIT) {
				return bad_value("--cmdline-max", optarg);
			}
			o.cmdline_max = (size_t)v;
			break;
		case OPT_NO_SCRUB:
			o.scrub.off = true;
			break;
		case OPT_INSTALL:
			install_at = optind - 1; /* no argument: it is the last word read */
			break;
		case OPT_UNINSTALL:
			uninstall = 1;
			break;
		case OPT_SERVICE:
			service = 1;
			break;
		case OPT_SCRUB_WORD:
			if (o.scrub.n_extra == MAX_SCRUB_WORDS || optarg[0] == '\0') {
				return bad_value("--scrub-word", optarg);
			}
			scrub_words[o.scrub.n_extra++] = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("pidcast-agent %s\n", PC_VERSION);
			return 0;
		default:
			fprintf(stderr, "Try 'pidcast-agent --help'.\n");
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "pidcast-agent: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	if (pc_codec_check() != PC_OK) {
		fprintf(stderr, "pidcast-agent: schema and record table disagree\n");
		return 1;
	}
	if (uninstall) {
		if (argc != 2) {
			fprintf(stderr,
			        "pidcast-agent: --uninstall-service takes no other option\n");
			return 2;
		}
		if ((rv = pc_svcmgr_uninstall(PC_SVCMGR_NAME)) != PC_OK) {
			return svc_failed("--uninstall-service", rv);
		}
		printf("pidcast-agent: removed the service %s\n", PC_SVCMGR_NAME);
		return 0;
	}
	if (install_at != 0) {
		if (once || service) {
			fprintf(stderr, "pidcast-agent: --install-service takes neither --once "
			                "nor --service\n");
			return 2;
		}
		return install(argc, argv, install_at);
	}
	if (once) {
		return print_once(o.probe, &o.scrub, o.cmdline_max);
	}
	if (service) {
		r.rv = PC_ESYS; /* in case the service manager never calls run() */
		if ((rv = pc_svcmgr_run(PC_SVCMGR_NAME, run, &r)) != PC_OK) {
			return svc_failed("--service", rv);
		}
		return r.rv == PC_OK ? 0 : 1;
	}
	return run(&r) == PC_OK ? 0 : 1;
}
