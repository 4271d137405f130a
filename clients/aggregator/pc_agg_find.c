/* pc_agg_find.c: the fleet's processes in the order asked: each host's
 * first rows kept per order and merged, or a pass over every table with a
 * bounded heap for a search. */
#include "pc_agg_find.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "base/pc_err.h"

const char *const pc_find_by_names[PC_FIND_N_BY] = { "cpu",  "rss", "io",  "start",
	                                             "name", "pid", "host" };

/* A host's first rows in one order, as of one version of its table. */
typedef struct kept {
	bool         used;
	pc_find_by   by;
	bool         desc;
	uint64_t     version;
	uint64_t     asked; /* the host's clock when last asked: the least recent goes */
	pc_find_hit *rows;
	size_t       n, cap; /* cap rows asked for; n < cap: the whole table */
	bool         zeros;  /* rows of rate 0 follow, not kept (rated rows only) */
} kept;

struct pc_find_host {
	kept     k[PC_FIND_KEPT];
	uint64_t clock;
};

static pc_find_host *
find_host(pc_agg_host *h)
{
	if (h->find == NULL) {
		h->find = calloc(1, sizeof(*h->find));
	}
	return h->find;
}

void
pc_find_host_free(pc_find_host *c)
{
	if (c == NULL) {
		return;
	}
	for (size_t i = 0; i < PC_FIND_KEPT; i++) {
		free(c->k[i].rows);
	}
	free(c);
}

static const char *
str_of(pc_find_by by, const pc_find_hit *x)
{
	return by == PC_FIND_HOST ? x->h->name : x->p->name != NULL ? x->p->name : "";
}

/* Whether a comes before b; ties by host, then pid, so that pages of the
 * same order never overlap. */
static bool
before(pc_find_by by, bool desc, const pc_find_hit *a, const pc_find_hit *b)
{
	int c = 0;

	if (by == PC_FIND_NAME || by == PC_FIND_HOST) {
		c = strcmp(str_of(by, a), str_of(by, b));
	} else if (a->num != b->num) {
		c = a->num < b->num ? -1 : 1;
	}
	if (c != 0) {
		return desc ? c > 0 : c < 0;
	}
	if (a->h != b->h && (c = strcmp(a->h->name, b->h->name)) != 0) {
		return c < 0;
	}
	return a->p->pid < b->p->pid;
}

static pc_find_hit
hit_of(pc_find_by by, const pc_agg_host *h, const pc_proc *p)
{
	pc_find_hit x = { .h = h, .p = p };
	double      cpu, io;

	switch (by) {
	case PC_FIND_CPU:
	case PC_FIND_IO:
		pc_replica_rates(h->rep, p, &cpu, &io);
		x.num = by == PC_FIND_CPU ? cpu : io;
		break;
	case PC_FIND_RSS:
		x.num = (double)p->rss_bytes;
		break;
	case PC_FIND_START:
		x.num = (double)p->create_time_ms;
		break;
	case PC_FIND_PID:
		x.num = p->pid;
		break;
	default:
		break;
	}
	return x;
}

/* A bounded heap of the k first hits: its root is the last of them. */
typedef struct heap {
	pc_find_by   by;
	bool         desc;
	pc_find_hit *a;
	size_t       n, k, cap; /* a holds cap; grown up to k */
	bool         failed;    /* out of memory: rows were lost */
} heap;

static void
swap(pc_find_hit *a, pc_find_hit *b)
{
	pc_find_hit t = *a;
	*a            = *b;
	*b            = t;
}

static void
sift_down(heap *hp, size_t n, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < n && before(hp->by, hp->desc, &hp->a[m], &hp->a[l])) {
			m = l;
		}
		if (r < n && before(hp->by, hp->desc, &hp->a[m], &hp->a[r])) {
			m = r;
		}
		if (m == i) {
			return;
		}
		swap(&hp->a[i], &hp->a[m]);
		i = m;
	}
}

static void
heap_add(heap *hp, pc_find_hit x)
{
	if (hp->n < hp->k) {
		/* Grown as matches come: a deep page asks for room for offset +
		 * limit rows, which a search may never fill. */
		if (hp->n == hp->cap) {
			size_t       cap = hp->cap ? 2 * hp->cap : 256;
			pc_find_hit *a   = realloc(hp->a, (cap < hp->k ? cap : hp->k) * sizeof(*a));
			if (a == NULL) {
				hp->failed = true;
				return;
			}
			hp->a   = a;
			hp->cap = cap < hp->k ? cap : hp->k;
		}
		size_t i = hp->n++;
		hp->a[i] = x;
		while (i > 0 && before(hp->by, hp->desc, &hp->a[(i - 1) / 2], &hp->a[i])) {
			swap(&hp->a[i], &hp->a[(i - 1) / 2]);
			i = (i - 1) / 2;
		}
	} else if (hp->k > 0 && before(hp->by, hp->desc, &x, &hp->a[0])) {
		hp->a[0] = x;
		sift_down(hp, hp->k, 0);
	}
}

/* In order, in place: the root (the last kept) goes to the end, and so on
 * (C11's qsort takes no context, and the order needs one). */
static void
heap_sort(heap *hp)
{
	for (size_t n = hp->n; n > 1; n--) {
		swap(&hp->a[0], &hp->a[n - 1]);
		sift_down(hp, n - 1, 0);
	}
}

/* ASCII lower case: the search's, without the locale's function call a
 * character. */
static inline unsigned char
lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c + ('a' - 'A')) : c;
}

/* What a search looks for: the text in lower case, and Horspool's table of
 * how far the window may jump on each byte (both cases of a letter), so
 * that a million command lines are read a few bytes in every n, not byte
 * by byte. */
typedef struct search {
	const unsigned char *q;
	size_t               n;
	bool                 is_pid;
	uint32_t             pid;
	size_t               skip[256];
} search;

static void
search_init(search *s, const char *q)
{
	s->q      = (const unsigned char *)q;
	s->n      = strlen(q);
	s->is_pid = s->n > 0 && s->n < 11;
	for (size_t i = 0; i < s->n; i++) {
		s->is_pid = s->is_pid && isdigit(s->q[i]);
	}
	unsigned long long pid = s->is_pid ? strtoull(q, NULL, 10) : 0;
	s->is_pid              = s->is_pid && pid <= UINT32_MAX; /* 10 digits may not fit */
	s->pid                 = (uint32_t)pid;
	for (size_t c = 0; c < 256; c++) {
		s->skip[c] = s->n;
	}
	for (size_t i = 0; i + 1 < s->n; i++) {
		unsigned char c = s->q[i];
		s->skip[c]      = s->n - 1 - i;
		if (c >= 'a' && c <= 'z') {
			s->skip[c - ('a' - 'A')] = s->n - 1 - i;
		}
	}
}

/* Whether hay holds the text, in any case; s->n > 0. */
static bool
contains(const search *s, const char *hay)
{
	const unsigned char *h = (const unsigned char *)hay;
	size_t               len, n = s->n;

	if (hay == NULL || (len = strlen(hay)) < n) {
		return false;
	}
	for (size_t i = 0; i + n <= len; i += s->skip[h[i + n - 1]]) {
		if (lower(h[i + n - 1]) != s->q[n - 1]) {
			continue;
		}
		size_t j = 0;
		while (j + 1 < n && lower(h[i + j]) == s->q[j]) {
			j++;
		}
		if (j + 1 == n) {
			return true;
		}
	}
	return false;
}

/* The host's name is tried once a host (scan()), not once a process. */
static bool
matches(const search *s, const pc_proc *p)
{
	return (s->is_pid && p->pid == s->pid) || contains(s, p->name) || contains(s, p->user) ||
	       contains(s, p->cmdline) || contains(s, p->container_id) || contains(s, p->service);
}

static bool
wanted(const pc_find *f, const pc_agg_host *h)
{
	return f->host == NULL || strcmp(h->name, f->host) == 0;
}

/* A pass reads a million records and their strings, each a cache miss:
 * asked for BATCH at a time (the records, then their strings), the misses
 * overlap instead of following one another. A builtin of gcc and clang. */
#define BATCH       64
#define PREFETCH(a) __builtin_prefetch(a)

/* A search, or a page too deep to merge: every table passed over. */
static int
scan(pc_agg *g, const pc_find *f, heap *hp, uint64_t *total)
{
	search s;

	search_init(&s, f->q);
	for (size_t i = 0; i < g->n_hosts; i++) {
		const pc_agg_host *h = g->hosts[i];
		const pc_proc     *p;
		size_t             cur = 0;
		bool               all;
		if (!wanted(f, h)) {
			continue;
		}
		all = s.n == 0 || contains(&s, h->name);
		for (size_t nb = BATCH; nb == BATCH;) {
			const pc_proc *b[BATCH];
			for (nb = 0; nb < BATCH && (p = pc_replica_next(h->rep, &cur)) != NULL;) {
				PREFETCH(p);
				b[nb++] = p;
			}
			for (size_t j = 0; j < nb && !all; j++) {
				PREFETCH(b[j]->name);
				PREFETCH(b[j]->cmdline);
				PREFETCH(b[j]->user);
			}
			for (size_t j = 0; j < nb; j++) {
				if (all || matches(&s, b[j])) {
					(*total)++;
					heap_add(hp, hit_of(f->by, h, b[j]));
				}
			}
		}
	}
	heap_sort(hp);
	return PC_OK;
}

/* The host's first rows in f's order, at least need of them (or all),
 * computed again when its table changed; NULL when out of memory. */
static const kept *
rows_of(pc_agg_host *h, const pc_find *f, size_t need)
{
	pc_find_host *c = find_host(h);
	kept         *k = NULL;
	uint64_t      v = pc_replica_version(h->rep);

	if (c == NULL) {
		return NULL;
	}
	c->clock++;
	for (size_t i = 0; i < PC_FIND_KEPT && k == NULL; i++) {
		if (c->k[i].used && c->k[i].by == f->by && c->k[i].desc == f->desc) {
			k = &c->k[i];
		}
	}
	if (k != NULL && k->version == v && (k->n < k->cap || k->cap >= need)) {
		/* Kept, and enough: all it has (n < cap) or as many as asked. */
		k->asked = c->clock;
		return k;
	}
	if (k == NULL) { /* a free one, or the least recently asked */
		k = &c->k[0];
		for (size_t i = 1; i < PC_FIND_KEPT && k->used; i++) {
			if (!c->k[i].used || c->k[i].asked < k->asked) {
				k = &c->k[i];
			}
		}
	}
	size_t cap = 64;
	while (cap < need) {
		cap *= 2;
	}
	if (cap != k->cap || k->rows == NULL) {
		free(k->rows);
		k->used = false;
		if ((k->rows = malloc(cap * sizeof(*k->rows))) == NULL) {
			k->cap = 0;
			return NULL;
		}
		k->cap = cap;
	}
	heap           hp = { .by = f->by, .desc = f->desc, .a = k->rows, .k = cap, .cap = cap };
	const pc_proc *p;
	const pc_proc *const *rated;
	size_t                cur   = 0, n_rated;
	bool                  zeros = false;
	if ((f->by == PC_FIND_CPU || f->by == PC_FIND_IO) && f->desc &&
	    pc_replica_rated(h->rep, &rated, &n_rated)) {
		/* The busiest first: only the processes the last update rated can
		 * have a rate above 0, a few of the table. The rest, all at 0,
		 * are not kept here (fill_zeros()). */
		for (size_t i = 0; i < n_rated; i++) {
			pc_find_hit x = hit_of(f->by, h, rated[i]);
			if (x.num > 0) {
				heap_add(&hp, x);
			}
		}
		zeros = hp.n < pc_replica_count(h->rep);
	} else {
		/* By CPU or I/O without the rated list (it could not grow): the
		 * same shape from every record, rows at 0 left out. */
		bool rated_only = (f->by == PC_FIND_CPU || f->by == PC_FIND_IO) && f->desc;
		while ((p = pc_replica_next(h->rep, &cur)) != NULL) {
			pc_find_hit x = hit_of(f->by, h, p);
			if (!rated_only || x.num > 0) {
				heap_add(&hp, x);
			}
		}
		zeros = rated_only && hp.n < pc_replica_count(h->rep);
	}
	heap_sort(&hp);
	*k = (kept){ .used    = true,
		     .zeros   = zeros,
		     .by      = f->by,
		     .desc    = f->desc,
		     .version = v,
		     .asked   = c->clock,
		     .rows    = k->rows,
		     .n       = hp.n,
		     .cap     = cap };
	return k;
}

/* The merge's place in one host's kept rows. */
typedef struct cursor {
	const kept *k;
	size_t      at;
} cursor;

static bool
first_of(const pc_find *f, const cursor *a, const cursor *b)
{
	return before(f->by, f->desc, &a->k->rows[a->at], &b->k->rows[b->at]);
}

/* A heap of cursors whose root is at the first row of all. */
static void
cursor_down(const pc_find *f, cursor *c, size_t n, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < n && first_of(f, &c[l], &c[m])) {
			m = l;
		}
		if (r < n && first_of(f, &c[r], &c[m])) {
			m = r;
		}
		if (m == i) {
			return;
		}
		cursor t = c[i];
		c[i]     = c[m];
		c[m]     = t;
		i        = m;
	}
}

static int
by_name(const void *a, const void *b)
{
	return strcmp((*(pc_agg_host *const *)a)->name, (*(pc_agg_host *const *)b)->name);
}

/* The rows at a rate of 0, after every row above it: they are in the
 * order of their host's name, then pid, so they come from the first hosts
 * by name, each host's from its rows kept by pid, the ones above 0 left
 * out. An idle fleet's busiest page is then one host's first rows. */
static int
fill_zeros(pc_agg *g, const pc_find *f, heap *out, size_t need)
{
	pc_agg_host **hs    = malloc((g->n_hosts + 1) * sizeof(*hs));
	pc_find       byp   = { .q = "", .by = PC_FIND_PID, .desc = false };
	size_t        n     = 0;
	double        rate0 = 0, io;

	if (hs == NULL) {
		return PC_ENOMEM;
	}
	for (size_t i = 0; i < g->n_hosts; i++) {
		if (wanted(f, g->hosts[i])) {
			hs[n++] = g->hosts[i];
		}
	}
	qsort(hs, n, sizeof(*hs), by_name);
	for (size_t i = 0; i < n && out->n < need; i++) {
		const pc_proc *const *rated;
		size_t                n_rated = 0, above = 0;
		const kept           *k;
		/* Its rows above 0 are among its first (need left + above) by pid. */
		if (pc_replica_rated(hs[i]->rep, &rated, &n_rated)) {
			for (size_t j = 0; j < n_rated; j++) {
				above += hit_of(f->by, hs[i], rated[j]).num > 0;
			}
		} else {
			const pc_proc *p;
			size_t         cur = 0;
			while ((p = pc_replica_next(hs[i]->rep, &cur)) != NULL) {
				above += hit_of(f->by, hs[i], p).num > 0;
			}
		}
		if ((k = rows_of(hs[i], &byp, need - out->n + above)) == NULL) {
			free(hs);
			return PC_ENOMEM;
		}
		for (size_t j = 0; j < k->n && out->n < need; j++) {
			pc_find_hit x = k->rows[j];
			pc_replica_rates(hs[i]->rep, x.p, &rate0, &io);
			if ((f->by == PC_FIND_CPU ? rate0 : io) == 0) {
				x.num            = 0;
				out->a[out->n++] = x;
			}
		}
	}
	free(hs);
	return PC_OK;
}

/* The hosts' kept rows merged, the first offset + limit of them. */
static int
merge(pc_agg *g, const pc_find *f, heap *out, uint64_t *total)
{
	size_t  need = f->offset + f->limit, n = 0;
	cursor *c = malloc((g->n_hosts + 1) * sizeof(*c));

	bool zeros = false;

	if (c == NULL) {
		return PC_ENOMEM;
	}
	for (size_t i = 0; i < g->n_hosts; i++) {
		pc_agg_host *h = g->hosts[i];
		const kept  *k;
		if (!wanted(f, h)) {
			continue;
		}
		*total += pc_replica_count(h->rep);
		if ((k = rows_of(h, f, need)) == NULL) {
			free(c);
			return PC_ENOMEM;
		}
		zeros = zeros || k->zeros;
		if (k->n > 0) {
			c[n++] = (cursor){ k, 0 };
		}
	}
	for (size_t i = n / 2; i-- > 0;) {
		cursor_down(f, c, n, i);
	}
	while (out->n < need && n > 0) {
		out->a[out->n++] = c[0].k->rows[c[0].at++];
		if (c[0].at == c[0].k->n) {
			c[0] = c[--n];
		}
		cursor_down(f, c, n, 0);
	}
	free(c);
	/* Past every host's rows above 0, with those at 0 not kept. */
	return out->n < need && zeros ? fill_zeros(g, f, out, need) : PC_OK;
}

int
pc_find_run(pc_agg *g, const pc_find *f, pc_find_hit **out, size_t *n, uint64_t *total)
{
	heap hp = { .by = f->by, .desc = f->desc, .k = f->offset + f->limit };
	int  rv;

	*out   = NULL;
	*n     = 0;
	*total = 0;
	if (f->q[0] == '\0' && hp.k <= PC_FIND_TOP) {
		/* A merge fills its page directly: room for all of it. */
		if ((hp.a = malloc(hp.k * sizeof(*hp.a))) == NULL) {
			return PC_ENOMEM;
		}
		hp.cap = hp.k;
		rv     = merge(g, f, &hp, total);
	} else {
		rv = scan(g, f, &hp, total);
	}
	if (rv == PC_OK && hp.failed) {
		rv = PC_ENOMEM;
	}
	if (rv != PC_OK) {
		free(hp.a);
		return rv;
	}
	/* The page: rows [offset, offset + limit) of the first hp.n. */
	if (hp.n > f->offset) {
		memmove(hp.a, hp.a + f->offset, (hp.n - f->offset) * sizeof(*hp.a));
		*n = hp.n - f->offset;
	}
	*out = hp.a;
	return PC_OK;
}
