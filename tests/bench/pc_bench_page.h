/* pc_bench_page.h: simulated open web pages against the aggregator's API,
 * for bench_aggregator -W. */
#ifndef PC_BENCH_PAGE_H
#define PC_BENCH_PAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <nng/nng.h>
#include <nng/supplemental/util/platform.h>

typedef struct pc_page {
	uint16_t        port;
	nng_thread     *thr;
	volatile bool   stop;
	volatile size_t bytes, requests, errors;
} pc_page;

int  pc_page_start(pc_page *pg, uint16_t port);
void pc_page_stop(pc_page *pg);

/* One GET of target on 127.0.0.1:port; see pc_bench_page.c. */
int pc_page_get(uint16_t port, const char *target, char *etag, size_t etag_cap, size_t *bytes,
                char **body);

#endif
