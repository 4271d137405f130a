/* test_agg_load.c: a real aggregator under load it must bound: keyframes
 * of ever new group names (the retired groups stay at their limit, folded
 * into "other", and a page neither grows nor holds up queries), and idle,
 * slow and too many HTTP connections under a low fd limit (closed after
 * the timeout, the page and queries still answered, no spinning). */
#define _GNU_SOURCE /* mkdtemp */
#include <setjmp.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <nng/nng.h>
#include <nng/protocol/pubsub0/pub.h>

#include "pc_check.h"
#include "base/pc_err.h"
#include "platform/pc_platform.h"
#include "pc_spawn.h"
#include "wire/pc_update.h"
#include "pidcast.pb-c.h"

/* The aggregator's defaults that these tests check (pc_agg.h and
 * pc_agg_http.h): retired groups a host keeps, and the HTTP timeout. */
#define MAX_RETIRED 1000
#define TIMEOUT_MS  5000

static const char *agg_path;

typedef struct fx {
	char       dir[64];
	char       url_in[128], url_rpc[128];
	unsigned   http_port;
	pc_child  *agg;
	nng_socket req;
} fx;

static void
start_agg(fx *x, const char *prlimit, const char *const *extra)
{
	char        bound[128], line[256], metrics[128] = "";
	const char *argv[32];
	int         n  = 0;
	uint64_t    t0 = pc_clock_mono_us();
	FILE       *f  = NULL;

	snprintf(x->dir, sizeof(x->dir), "/tmp/pc_agg_load.XXXXXX");
	assert_non_null(mkdtemp(x->dir));
	snprintf(x->url_in, sizeof(x->url_in), "ipc://%s/in", x->dir);
	snprintf(x->url_rpc, sizeof(x->url_rpc), "ipc://%s/rpc", x->dir);
	snprintf(bound, sizeof(bound), "%s/bound", x->dir);
	if (prlimit != NULL) {
		argv[n++] = "/usr/bin/prlimit";
		argv[n++] = prlimit;
		argv[n++] = "--";
	}
	argv[n++] = agg_path;
	argv[n++] = "--history";
	argv[n++] = "none";
	argv[n++] = "--listen";
	argv[n++] = x->url_in;
	argv[n++] = "--rpc";
	argv[n++] = x->url_rpc;
	argv[n++] = "--metrics";
	argv[n++] = "http://127.0.0.1:0/metrics";
	argv[n++] = "--publish";
	argv[n++] = "tcp://127.0.0.1:0";
	argv[n++] = "--bound-file";
	argv[n++] = bound;
	argv[n++] = "--down-after";
	argv[n++] = "1000";
	for (int i = 0; extra != NULL && extra[i] != NULL; i++) {
		argv[n++] = extra[i];
	}
	argv[n] = NULL;
	assert_non_null(x->agg = pc_child_start(argv));
	while ((f = fopen(bound, "r")) == NULL) {
		assert_true(pc_clock_mono_us() - t0 < 10000000u);
		pc_sleep_ms(20);
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		sscanf(line, "metrics %127s", metrics);
	}
	fclose(f);
	assert_int_equal(sscanf(metrics, "http://127.0.0.1:%u/", &x->http_port), 1);
	x->req = pc_check_req(x->url_rpc);
}

static int
teardown(void **state)
{
	fx  *x = *state;
	char path[128];

	if (x->agg != NULL) {
		pc_child_kill(x->agg);
		nng_close(x->req);
	}
	/* The bound file, and the socket files a killed aggregator leaves. */
	for (int i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/%s", x->dir,
		         i == 0   ? "bound"
		         : i == 1 ? "in"
		                  : "rpc");
		remove(path);
	}
	rmdir(x->dir);
	free(x);
	return 0;
}

static int
setup(void **state)
{
	*state = calloc(1, sizeof(fx));
	return *state == NULL ? -1 : 0;
}

/* A TCP connection to the aggregator's HTTP port; non-blocking connect,
 * so that a full backlog does not stall the test. */
static int
tcp_open(const fx *x, bool nonblock)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
		                  .sin_port   = htons((uint16_t)x->http_port) };
	int                fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (nonblock) {
		fcntl(fd, F_SETFL, O_NONBLOCK);
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		assert_true(nonblock && errno == EINPROGRESS);
	}
	return fd;
}

/* GET path; the whole response into *out (malloc'ed); its status. */
static int
http_get(const fx *x, const char *path, char **out, size_t *len)
{
	struct timeval tv = { 30, 0 };
	char           req[256];
	int            fd = tcp_open(x, false), status = 0;
	size_t         cap = 1 << 16;
	ssize_t        n;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", path);
	assert_int_equal(send(fd, req, strlen(req), MSG_NOSIGNAL), (ssize_t)strlen(req));
	*out = malloc(cap);
	*len = 0;
	while ((n = recv(fd, *out + *len, cap - *len - 1, 0)) > 0) {
		*len += (size_t)n;
		if (*len + 1 == cap) {
			*out = realloc(*out, cap *= 2);
			assert_non_null(*out);
		}
	}
	(*out)[*len] = '\0';
	close(fd);
	sscanf(*out, "HTTP/1.%*d %d", &status);
	return status;
}

/* ---- the retired groups ------------------------------------------------ */

#define PROCS  2000
#define ROUNDS 21 /* keyframes: 20 x 2,000 groups exit */

typedef struct table {
	pc_proc procs[PROCS];
	char    names[PROCS][32];
	size_t  n;
} table;

static const pc_proc *
table_next(const void *t, size_t *cur)
{
	const table *tb = t;

	return *cur < tb->n ? &tb->procs[(*cur)++] : NULL;
}

/* Keyframe k: PROCS processes, each of a group never seen before, each
 * with 1 s of user CPU. The next keyframe retires them all. */
static void
send_keyframe(nng_socket pub, pc_encoder *enc, table *t, uint64_t k, uint32_t procs)
{
	pc_update_hdr h = { "loadhost", 77, k, pc_clock_realtime_ms(), 1000 };

	for (uint32_t i = 0; i < procs; i++) {
		pc_proc *p = &t->procs[i];
		snprintf(t->names[i], sizeof(t->names[i]), "g%03u_%04u", (unsigned)k, i);
		*p = (pc_proc){ .pid            = (uint32_t)k * PROCS + i,
			        .create_time_ms = 1,
			        .name           = t->names[i],
			        .threads        = 1,
			        .cpu_user_us    = 1000000 };
	}
	t->n = procs;
	assert_int_equal(pc_encoder_keyframe(enc, &h, table_next, t, procs), PC_OK);
	assert_int_equal(pc_encoder_frame(enc), PC_OK);
	assert_int_equal(nng_send(pub, enc->frame.data, enc->frame.len, 0), 0);
}

/* Keyframes 1 to rounds of procs new names each, through pub: the first
 * until the pipe is up; then one at a time, each applied before the next,
 * so that none is lost to a queue. */
static void
feed(const fx *x, nng_socket pub, pc_encoder *enc, table *t, uint64_t rounds, uint32_t procs)
{
	uint64_t t0 = pc_clock_mono_us();

	while (pc_check_host_seq(x->req, "loadhost") != 1) {
		assert_true(pc_clock_mono_us() - t0 < 10000000u);
		send_keyframe(pub, enc, t, 1, procs);
		pc_sleep_ms(50);
	}
	for (uint64_t k = 2; k <= rounds; k++) {
		send_keyframe(pub, enc, t, k, procs);
		t0 = pc_clock_mono_us();
		while (pc_check_host_seq(x->req, "loadhost") != k) {
			assert_true(pc_clock_mono_us() - t0 < 10000000u);
			pc_sleep_ms(5);
		}
	}
}

/* The value of the first series that starts with prefix; -1 if none. */
static double
series_value(const char *page, const char *prefix)
{
	const char *at = strstr(page, prefix);

	return at != NULL ? strtod(strchr(at, ' ') + 1, NULL) : -1;
}

/* Over the user-CPU series of loadhost: how many groups, their sum. */
static size_t
cpu_groups(const char *page, double *sum)
{
	const char *key = "pidcast_group_cpu_seconds_total{host=\"loadhost\",group=\"";
	size_t      n   = 0;

	*sum = 0;
	for (const char *at = strstr(page, key); at != NULL; at = strstr(at + 1, key)) {
		const char *eol = strchr(at, '\n');
		const char *val = strstr(at, "mode=\"user\"} ");
		if (val != NULL && val < eol) {
			n++;
			*sum += strtod(val + 13, NULL);
		}
	}
	return n;
}

typedef struct scraper {
	const fx *x;
	int       rounds;
	uint64_t  max_us;
	size_t    len;
} scraper;

static void *
scrape_loop(void *arg)
{
	scraper *s = arg;

	for (int i = 0; i < s->rounds; i++) {
		uint64_t t0 = pc_clock_mono_us();
		char    *page;
		if (http_get(s->x, "/metrics", &page, &s->len) != 200) {
			s->len = 0;
		}
		free(page);
		if (pc_clock_mono_us() - t0 > s->max_us) {
			s->max_us = pc_clock_mono_us() - t0;
		}
	}
	return NULL;
}

/* 20 keyframes of 2,000 new group names each: 40,000 retired groups. The
 * aggregator keeps MAX_RETIRED of them, folds the rest into "other" and
 * counts them, and no CPU second is lost; the page stays small, and a
 * ListHosts during scrapes answers at once (before the fix: every retired
 * group kept, a page of about 30 MB taking seconds with the lock held). */
static void
test_retired_groups_bounded(void **state)
{
	fx        *x   = *state;
	pc_encoder enc = { 0 };
	table     *t   = calloc(1, sizeof(*t));
	nng_socket pub;
	uint64_t   t0;
	char      *page;
	size_t     len, groups;
	double     sum, folded;
	pthread_t  th;
	scraper    sc          = { x, 4, 0, 0 };
	uint64_t   max_list_us = 0, n_list = 0;

	assert_non_null(t);
	start_agg(x, NULL, NULL);
	assert_int_equal(nng_pub0_open(&pub), 0);
	assert_int_equal(nng_dial(pub, x->url_in, NULL, NNG_FLAG_NONBLOCK), 0);
	feed(x, pub, &enc, t, ROUNDS, PROCS);

	t0 = pc_clock_mono_us();
	assert_int_equal(http_get(x, "/metrics", &page, &len), 200);
	printf("# one scrape: %.1f ms, %zu bytes\n", (double)(pc_clock_mono_us() - t0) / 1000.0,
	       len);
	assert_int_equal(series_value(page, "pidcast_host_retired_groups{host=\"loadhost\"}"),
	                 MAX_RETIRED);
	folded = series_value(page, "pidcast_host_retired_groups_folded_total{host=\"loadhost\"}");
	assert_int_equal((long)folded, (ROUNDS - 1) * PROCS - MAX_RETIRED);
	assert_non_null(strstr(page, "pidcast_group_cpu_seconds_total{host=\"loadhost\","
	                             "group=\"other\",mode=\"user\"}"));
	groups = cpu_groups(page, &sum);
	assert_int_equal(groups, PROCS + MAX_RETIRED + 1); /* live, retired, other */
	assert_true(sum > ROUNDS * PROCS - 0.5 && sum < ROUNDS * PROCS + 0.5);
	assert_true(len < 8u << 20); /* about 3 MB; 30 MB unbounded */
	free(page);

	/* Queries during scrapes: the lock is held for a copy, not a page. */
	assert_int_equal(pthread_create(&th, NULL, scrape_loop, &sc), 0);
	pc_sleep_ms(20);
	t0 = pc_clock_mono_us();
	while (sc.len == 0 || n_list < 20) {
		uint64_t t1 = pc_clock_mono_us();
		(void)pc_check_host_seq(x->req, "loadhost");
		if (pc_clock_mono_us() - t1 > max_list_us) {
			max_list_us = pc_clock_mono_us() - t1;
		}
		n_list++;
		if (pc_clock_mono_us() - t0 > 20000000u) {
			break;
		}
	}
	pthread_join(th, NULL);
	printf("# during %d scrapes (longest %.1f ms): %" PRIu64 " ListHosts, longest %.1f ms\n",
	       sc.rounds, (double)sc.max_us / 1000.0, n_list, (double)max_list_us / 1000.0);
	assert_true(sc.len > 0);
	assert_true(max_list_us < 1000000u);
	nng_close(pub);
	pc_encoder_fini(&enc);
	free(t);
}

/* ---- idle, slow and many HTTP connections --------------------------------- */

#define IDLE 260
#define SLOW 20

/* utime + stime of a process, seconds. */
static double
cpu_seconds(uint32_t pid)
{
	char          path[64], buf[1024], *s;
	unsigned long ut = 0, st = 0;
	FILE         *f;

	snprintf(path, sizeof(path), "/proc/%u/stat", pid);
	assert_non_null(f = fopen(path, "r"));
	assert_non_null(fgets(buf, sizeof(buf), f));
	fclose(f);
	s = strrchr(buf, ')');
	assert_int_equal(
	        sscanf(s + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st), 2);
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* 1 when the server has closed the connection (EOF or reset). */
static int
closed_by_peer(int fd)
{
	struct pollfd p = { fd, POLLIN, 0 };
	char          c;

	if (poll(&p, 1, 0) <= 0) {
		return 0;
	}
	if (p.revents & (POLLHUP | POLLERR)) {
		return 1;
	}
	ssize_t n = recv(fd, &c, 1, MSG_DONTWAIT);
	return n == 0 || (n < 0 && errno != EAGAIN);
}

/* 260 connections that send nothing and 20 that send a byte every 200 ms,
 * to an aggregator allowed 200 fds: it stays nearly idle, answers a query
 * and a scrape meanwhile, and every one of those connections is closed
 * within the request timeout (and some slack). Before the fix NNG's HTTP
 * server kept them all and, out of fds, spun at a full core. */
static void
test_idle_http_connections(void **state)
{
	fx      *x = *state;
	int      idle[IDLE], slow[SLOW];
	size_t   len, open_left = IDLE + SLOW;
	char    *page;
	double   cpu0, cpu1;
	uint64_t t0, t_get;
	bool     gone[IDLE + SLOW] = { false };

	start_agg(x, "--nofile=200:200", NULL);
	for (int i = 0; i < IDLE; i++) {
		idle[i] = tcp_open(x, true);
	}
	for (int i = 0; i < SLOW; i++) {
		slow[i] = tcp_open(x, true);
	}
	/* Three seconds of the flood: the aggregator's CPU over them. */
	cpu0 = cpu_seconds(pc_child_pid(x->agg));
	t0   = pc_clock_mono_us();
	for (int tick = 0; tick < 15; tick++) {
		for (int i = 0; i < SLOW; i++) {
			(void)send(slow[i], "G", 1, MSG_NOSIGNAL | MSG_DONTWAIT);
		}
		pc_sleep_ms(200);
	}
	cpu1 = cpu_seconds(pc_child_pid(x->agg));
	printf("# aggregator CPU during the flood: %.1f%% of a core\n",
	       100.0 * (cpu1 - cpu0) / ((double)(pc_clock_mono_us() - t0) / 1e6));
	assert_true((cpu1 - cpu0) / ((double)(pc_clock_mono_us() - t0) / 1e6) < 0.3);

	/* Still answering, both the queries and the page. */
	assert_int_equal(pc_check_host_seq(x->req, "nohost"), 0); /* fails the test on no answer */
	t_get = pc_clock_mono_us();
	assert_int_equal(http_get(x, "/metrics", &page, &len), 200);
	printf("# a scrape during the flood: %.1f ms\n",
	       (double)(pc_clock_mono_us() - t_get) / 1000.0);
	assert_non_null(strstr(page, "pidcast_aggregator_updates_total"));
	free(page);

	/* Every flood connection closed by the server within the timeout
	 * (counted from the flood's start) and some slack. */
	while (open_left > 0 && pc_clock_mono_us() - t0 < (TIMEOUT_MS + 5000) * 1000u) {
		for (int i = 0; i < IDLE + SLOW; i++) {
			int fd = i < IDLE ? idle[i] : slow[i - IDLE];
			if (!gone[i] && closed_by_peer(fd)) {
				gone[i] = true;
				open_left--;
			} else if (!gone[i] && i >= IDLE) {
				(void)send(fd, "E", 1, MSG_NOSIGNAL | MSG_DONTWAIT);
			}
		}
		pc_sleep_ms(100);
	}
	printf("# flood connections still open after %.1f s: %zu of %d\n",
	       (double)(pc_clock_mono_us() - t0) / 1e6, open_left, IDLE + SLOW);
	assert_int_equal(open_left, 0);
	for (int i = 0; i < IDLE + SLOW; i++) {
		close(i < IDLE ? idle[i] : slow[i - IDLE]);
	}
}

/* Sends raw bytes as a request; the status of the answer (0: none). */
static int
http_raw(const fx *x, const char *req, size_t len)
{
	struct timeval tv = { 10, 0 };
	char           buf[512];
	int            fd = tcp_open(x, false), status = 0;
	ssize_t        n;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)send(fd, req, len, MSG_NOSIGNAL);
	if ((n = recv(fd, buf, sizeof(buf) - 1, 0)) > 0) {
		buf[n] = '\0';
		sscanf(buf, "HTTP/1.%*d %d", &status);
	}
	close(fd);
	return status;
}

/* Requests that are not a GET of the page get an error status and the
 * connection closed; a head larger than the server reads is refused. */
static void
test_http_hostile_requests(void **state)
{
	fx         *x = *state;
	static char big[8191]; /* the most the server reads: nothing left unread */
	char       *page;
	size_t      len;

	start_agg(x, NULL, NULL);
	assert_int_equal(http_get(x, "/nope", &page, &len), 404);
	free(page);
	assert_int_equal(http_get(x, "/metrics?x=1", &page, &len), 200);
	free(page);
	assert_int_equal(http_raw(x, "POST /metrics HTTP/1.1\r\n\r\n", 26), 405);
	assert_int_equal(http_raw(x, "\x16\x03\x01garbage\r\n\r\n", 14), 400);
	assert_int_equal(http_raw(x, "GET /metrics\r\n\r\n", 16), 400);
	memcpy(big, "GET /metrics HTTP/1.1\r\nX: ", 26);
	memset(big + 26, 'a', sizeof(big) - 26);
	assert_int_equal(http_raw(x, big, sizeof(big)), 431);
	assert_int_equal(http_get(x, "/metrics", &page, &len), 200); /* still serving */
	free(page);
}

/* The limits are flags: --max-retired-groups 10 keeps 10 retired groups;
 * with --metrics-max-conns 2 a third connection closes the one that has
 * waited longest at once; --metrics-timeout 500 closes the others then. */
static void
test_limits_are_flags(void **state)
{
	fx                *x       = *state;
	static const char *extra[] = { "--max-retired-groups",
		                       "10",
		                       "--metrics-timeout",
		                       "500",
		                       "--metrics-max-conns",
		                       "2",
		                       NULL };
	pc_encoder         enc     = { 0 };
	table             *t       = calloc(1, sizeof(*t));
	nng_socket         pub;
	char              *page;
	size_t             len;
	double             sum;
	int                a, b, c;
	uint64_t           t0;

	assert_non_null(t);
	start_agg(x, NULL, extra);
	assert_int_equal(nng_pub0_open(&pub), 0);
	assert_int_equal(nng_dial(pub, x->url_in, NULL, NNG_FLAG_NONBLOCK), 0);
	feed(x, pub, &enc, t, 5, 20); /* 80 groups retired */
	assert_int_equal(http_get(x, "/metrics", &page, &len), 200);
	assert_int_equal(series_value(page, "pidcast_host_retired_groups{host=\"loadhost\"}"), 10);
	assert_int_equal(
	        series_value(page, "pidcast_host_retired_groups_folded_total{host=\"loadhost\"}"),
	        70);
	assert_int_equal(cpu_groups(page, &sum), 20 + 10 + 1);
	assert_true(sum > 99.5 && sum < 100.5);
	free(page);

	a = tcp_open(x, false);
	b = tcp_open(x, false);
	/* The listen backlog keeps the order: a is the one waited longest. */
	t0 = pc_clock_mono_us();
	c  = tcp_open(x, false);
	while (!closed_by_peer(a)) {
		assert_true(pc_clock_mono_us() - t0 < 400000u); /* well before the timeout */
		pc_sleep_ms(1);
	}
	printf("# the oldest of 3 connections closed after %.1f ms\n",
	       (double)(pc_clock_mono_us() - t0) / 1000.0);
	assert_false(closed_by_peer(c));
	while (!closed_by_peer(c)) {
		assert_true(pc_clock_mono_us() - t0 < 3000000u);
		pc_sleep_ms(10);
	}
	printf("# an idle connection closed after %.1f ms (--metrics-timeout 500)\n",
	       (double)(pc_clock_mono_us() - t0) / 1000.0);
	assert_true(pc_clock_mono_us() - t0 >= 450000u);
	close(a);
	close(b);
	close(c);
	nng_close(pub);
	pc_encoder_fini(&enc);
	free(t);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_retired_groups_bounded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_idle_http_connections, setup, teardown),
		cmocka_unit_test_setup_teardown(test_http_hostile_requests, setup, teardown),
		cmocka_unit_test_setup_teardown(test_limits_are_flags, setup, teardown),
	};

	if (argc < 2) {
		fprintf(stderr, "usage: test_agg_load AGGREGATOR\n");
		return 2;
	}
	agg_path = argv[1];
	return cmocka_run_group_tests(tests, NULL, NULL);
}
