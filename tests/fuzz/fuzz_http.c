/* fuzz_http.c: libFuzzer target for the aggregator's HTTP request heads:
 * any bytes get one of the statuses it sends, and nothing is read past
 * the head. */
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
	size_t n    = size < PC_HTTP_HEAD_MAX - 1 ? size : PC_HTTP_HEAD_MAX - 1;
	char  *head = malloc(n + 1);
	int    st;

	if (head == NULL) {
		return 0;
	}
	memcpy(head, data, n);
	head[n] = '\0';
	st      = pc_http_route(head, "/metrics");
	if (st != 200 && st != 400 && st != 404 && st != 405) {
		abort();
	}
	free(head);
	return 0;
}
