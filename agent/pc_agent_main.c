/* pc_agent_main.c: pidcast-agent's command line. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "pc_codec.h"
#include "pc_err.h"

static void
usage(FILE *out)
{
	fprintf(out, "usage: pidcast-agent [options]\n"
	             "\n"
	             "Process-telemetry agent: snapshots every process each tick and\n"
	             "publishes what changed.\n"
	             "\n"
	             "options:\n"
	             "  -h, --help      show this help and exit\n"
	             "  -V, --version   print the version and exit\n");
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "hV", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("pidcast-agent %s\n", PC_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (pc_codec_check() != PC_OK) {
		fprintf(stderr, "pidcast-agent: schema and record table disagree\n");
		return 1;
	}
	usage(stdout);
	return 0;
}
