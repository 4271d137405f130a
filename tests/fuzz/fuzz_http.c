/* fuzz_http.c: libFuzzer target for the aggregator's HTTP request heads
 * and query strings: any bytes get a parse or one of the statuses it
 * sends, nothing is read past the head, and a parameter's value always
 * fits its buffer. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pc_agg_http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* As the server holds a head: at most PC_HTTP_HEAD_MAX - 1 bytes,
	 * NUL-terminated, in a buffer of exactly that size. */
	size_t      n    = size < PC_HTTP_HEAD_MAX - 1 ? size : PC_HTTP_HEAD_MAX - 1;
	char       *head = malloc(n + 1);
	char        v[16];
	pc_http_req req;
	int         st;

	if (head == NULL) {
		return 0;
	}
	memcpy(head, data, n);
	head[n] = '\0';
	st      = pc_http_parse(head, &req);
	if (st != 0 && st != 400 && st != 405) {
		abort();
	}
	if (st == 0) {
		const char *names[] = { "q", "host", "pid", "" };
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
			int r = pc_http_param(req.query, names[i], v, sizeof(v));
			if (r < -1 || r > 1 || strlen(v) >= sizeof(v)) {
				abort();
			}
		}
		if (req.path[0] != '/' || strlen(req.if_none_match) >= PC_HTTP_HEAD_MAX) {
			abort();
		}
	}
	free(head);
	return 0;
}
