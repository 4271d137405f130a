/* pc_agent_main.c: pidcast-agent's command line. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pc_buf.h"
#include "pc_codec.h"
#include "pc_err.h"
#include "pc_json.h"
#include "pc_platform.h"
#include "pc_probe.h"

static void
usage(FILE *out)
{
	fprintf(out,
	        "usage: pidcast-agent [options]\n"
	        "\n"
	        "Process-telemetry agent: snapshots every process each tick and\n"
	        "publishes what changed.\n"
	        "\n"
	        "options:\n"
	        "  --once          take one snapshot, print it and exit\n"
	        "  --json          print records as JSON lines, one object a process\n"
	        "                  (with --once; the only output format for now)\n"
	        "  --probe NAME    probe backend (default: %s; available:",
	        pc_probe_backends[0]->name);
	for (int i = 0; pc_probe_backends[i] != NULL; i++) {
		fprintf(out, " %s", pc_probe_backends[i]->name);
	}
	fprintf(out, ")\n"
	             "  -h, --help      show this help and exit\n"
	             "  -V, --version   print the version and exit\n");
}

/* One snapshot, every field of every process, as JSON lines on stdout. */
static int
print_once(const char *probe_name)
{
	pc_probe   *probe = NULL;
	pc_snapshot snap  = { 0 };
	pc_buf      line  = { 0 };
	int         rv;

	if ((rv = pc_probe_open(probe_name, &probe)) != PC_OK) {
		fprintf(stderr, "pidcast-agent: cannot open probe '%s': %s\n",
		        probe_name ? probe_name : pc_probe_backends[0]->name, pc_strerror(rv));
		return 1;
	}
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

int
main(int argc, char **argv)
{
	enum { OPT_ONCE = 256, OPT_JSON, OPT_PROBE };
	static const struct option opts[] = {
		{ "once", no_argument, NULL, OPT_ONCE },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "probe", required_argument, NULL, OPT_PROBE },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *probe = NULL;
	int         once  = 0;
	int         c;

	while ((c = getopt_long(argc, argv, "hV", opts, NULL)) != -1) {
		switch (c) {
		case OPT_ONCE:
			once = 1;
			break;
		case OPT_JSON:
			break;
		case OPT_PROBE:
			probe = optarg;
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
	if (once) {
		return print_once(probe);
	}
	fprintf(stderr, "pidcast-agent: the publishing loop is not built yet; use --once --json\n");
	return 2;
}
