/* pc_bench_page.c: open web pages, simulated for bench_aggregator: each a
 * thread that asks the aggregator's API what the page's app.js asks, on
 * its schedule (processes every 750 ms, hosts and events every 2 s), with
 * the ETag of its last answer as a browser sends it, counting the bytes it
 * downloads; and timed searches across the fleet. */
#define _GNU_SOURCE
#include "pc_bench_page.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "pc_spawn.h"
#include "platform/pc_platform.h"

/* One GET on a new connection (the server closes it after the answer):
 * the status, and the ETag into etag; the bytes read (head and body) are
 * added to *bytes; body (NULL: not kept) gets the body. */
int
pc_page_get(uint16_t port, const char *target, char *etag, size_t etag_cap, size_t *bytes,
            char **body)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	char               req[1024], *buf = NULL, *e;
	size_t             len = 0, cap = 0;
	int                fd, status   = -1;
	ssize_t            n;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) < 0) {
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		close(fd);
		return -1;
	}
	int rl = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s%s%s\r\n",
	                  target, etag[0] ? "If-None-Match: " : "", etag, etag[0] ? "\r\n" : "");
	if (write(fd, req, (size_t)rl) != rl) {
		close(fd);
		return -1;
	}
	for (;;) {
		if (len + 65536 > cap) {
			cap = cap ? cap * 2 : 131072;
			buf = realloc(buf, cap + 1);
		}
		if ((n = read(fd, buf + len, cap - len)) <= 0) {
			break;
		}
		len += (size_t)n;
	}
	close(fd);
	if (buf == NULL) {
		return -1;
	}
	buf[len] = '\0';
	*bytes += len;
	sscanf(buf, "HTTP/1.1 %d", &status);
	if (status == 200 && (e = strstr(buf, "\r\nETag: ")) != NULL) {
		size_t k = strcspn(e + 8, "\r\n");
		snprintf(etag, etag_cap, "%.*s", (int)k, e + 8);
	}
	if (body != NULL) {
		char *b = strstr(buf, "\r\n\r\n");
		*body   = strdup(b != NULL ? b + 4 : "");
	}
	free(buf);
	return status;
}

/* The feed's newest id, from {"last":N,...}. */
static unsigned long long
last_of(const char *body)
{
	const char *p = strstr(body, "\"last\":");

	return p != NULL ? strtoull(p + 7, NULL, 10) : 0;
}

static void
page_run(void *arg)
{
	pc_page           *pg            = arg;
	char               procs_tag[64] = "", hosts_tag[64] = "", events_tag[64] = "";
	char               target[128];
	unsigned long long last       = 0;
	uint64_t           next_procs = 0, next_rest = 0;

	while (!pg->stop) {
		uint64_t now = pc_clock_mono_us() / 1000;
		if (now >= next_procs) {
			size_t b = 0;
			if (pc_page_get(pg->port,
			                "/api/processes?sort=cpu&order=desc&offset=0&limit=50",
			                procs_tag, sizeof(procs_tag), &b, NULL) < 0) {
				pg->errors++;
			}
			pg->bytes += b;
			pg->requests++;
			next_procs = now + 750;
		}
		if (now >= next_rest) {
			size_t b    = 0;
			char  *body = NULL;
			if (pc_page_get(pg->port, "/api/hosts", hosts_tag, sizeof(hosts_tag), &b,
			                NULL) < 0) {
				pg->errors++;
			}
			snprintf(target, sizeof(target), "/api/events?after=%llu&limit=100", last);
			if (pc_page_get(pg->port, target, events_tag, sizeof(events_tag), &b,
			                &body) == 200) {
				last          = last_of(body);
				events_tag[0] = '\0'; /* a new URL next time */
			}
			free(body);
			pg->bytes += b;
			pg->requests += 2;
			next_rest = now + 2000;
		}
		pc_sleep_ms(50);
	}
}

int
pc_page_start(pc_page *pg, uint16_t port)
{
	memset(pg, 0, sizeof(*pg));
	pg->port = port;
	return nng_thread_create(&pg->thr, page_run, pg) != 0 ? -1 : 0;
}

void
pc_page_stop(pc_page *pg)
{
	pg->stop = true;
	nng_thread_destroy(pg->thr);
}
