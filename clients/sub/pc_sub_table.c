/* pc_sub_table.c: the rows pidcast-sub shows, kept, totalled and sorted. */
#include "pc_sub_table.h"

#include <stdlib.h>
#include <string.h>

#include "base/pc_err.h"

/* The optional columns, in the order shown. Identifiers are cut where
 * they are still told apart, as docker shows them; the filter sees them
 * whole. The state is one letter, which a filter would find everywhere. */
const pc_col pc_cols[] = {
	{ "HOST", 16, PC_COL_HOST, true, true },
	{ "S", 1, PC_F_STATE, false, false },
	{ "SERVICE", 24, PC_F_SERVICE, false, true },
	{ "CONTAINER", 12, PC_F_CONTAINER_ID, false, true },
	{ "POD", 8, PC_F_POD_UID, false, true },
	{ "CGROUP", 32, PC_F_CGROUP, true, true },
};
const size_t pc_ncols = sizeof(pc_cols) / sizeof(pc_cols[0]);
_Static_assert(sizeof(pc_cols) / sizeof(pc_cols[0]) <= PC_COLS_MAX, "one bit a column");

const char *
pc_sort_name(pc_sort s)
{
	static const char *const names[] = { "CPU", "memory", "I/O", "PID", "name" };

	return s <= PC_SORT_NAME ? names[s] : "?";
}

const char *
pc_col_value(const pc_col *c, const pc_row *r)
{
	if (c->source == PC_COL_HOST) {
		return r->host;
	}
	return *(char *const *)((const char *)r->p + pc_fields[c->source].offset);
}

static char
lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

bool
pc_has_text(const char *s, const char *needle)
{
	size_t n = strlen(needle);

	if (n == 0) {
		return true;
	}
	for (; s != NULL && *s != '\0'; s++) {
		size_t i = 0;
		while (i < n && s[i] != '\0' && lower(s[i]) == lower(needle[i])) {
			i++;
		}
		if (i == n) {
			return true;
		}
	}
	return false;
}

/* The filter looks where a user would: the name, the command line, the
 * user, and every optional column (host, service, container...). */
static bool
matches(const pc_row *r, const char *filter)
{
	if (filter[0] == '\0' || pc_has_text(r->p->name, filter) ||
	    pc_has_text(r->p->cmdline, filter) || pc_has_text(r->p->user, filter)) {
		return true;
	}
	for (size_t i = 0; i < pc_ncols; i++) {
		if (pc_cols[i].filter && pc_has_text(pc_col_value(&pc_cols[i], r), filter)) {
			return true;
		}
	}
	return false;
}

void
pc_table_begin(pc_table *t)
{
	t->n = t->offered = t->kernel_hidden = 0;
	t->threads = t->rss_bytes = 0;
	t->cpu                    = 0;
	t->cols                   = 0;
}

int
pc_table_add(pc_table *t, const pc_view *v, const pc_row *r)
{
	t->offered++;
	if (r->p->kernel && !v->kernel) {
		t->kernel_hidden++;
		return PC_OK;
	}
	if (!matches(r, v->filter)) {
		return PC_OK;
	}
	if (t->n == t->cap) {
		size_t  cap = t->cap != 0 ? t->cap * 2 : 256;
		pc_row *a   = realloc(t->rows, cap * sizeof(*a));
		if (a == NULL) {
			return PC_ENOMEM;
		}
		t->rows = a;
		t->cap  = cap;
	}
	t->rows[t->n++] = *r;
	t->threads += r->p->threads;
	t->rss_bytes += r->p->rss_bytes;
	t->cpu += r->cpu;
	return PC_OK;
}

/* Ties, and the keys that are equal, go by PID: the order stays put
 * between two updates. */
static int
by_pid(const void *a, const void *b)
{
	const pc_row *x = a, *y = b;

	return x->p->pid < y->p->pid ? -1 : x->p->pid > y->p->pid;
}

static int
by_cpu(const void *a, const void *b)
{
	const pc_row *x = a, *y = b;

	if (x->cpu != y->cpu) {
		return x->cpu < y->cpu ? 1 : -1;
	}
	return by_pid(a, b);
}

static int
by_mem(const void *a, const void *b)
{
	const pc_row *x = a, *y = b;

	if (x->p->rss_bytes != y->p->rss_bytes) {
		return x->p->rss_bytes < y->p->rss_bytes ? 1 : -1;
	}
	return by_pid(a, b);
}

static int
by_io(const void *a, const void *b)
{
	const pc_row *x = a, *y = b;

	if (x->io != y->io) {
		return x->io < y->io ? 1 : -1;
	}
	return by_pid(a, b);
}

/* A process without a name goes last. */
static int
by_name(const void *a, const void *b)
{
	const pc_row *x = a, *y = b;
	int           c;

	if ((x->p->name == NULL) != (y->p->name == NULL)) {
		return x->p->name == NULL ? 1 : -1;
	}
	if (x->p->name != NULL && (c = strcmp(x->p->name, y->p->name)) != 0) {
		return c;
	}
	return by_pid(a, b);
}

/* Whether column c has something to tell of the kept rows: a value, or
 * for a "many" column a second one. */
static bool
shown(const pc_table *t, const pc_col *c)
{
	const char *first = NULL;

	for (size_t j = 0; j < t->n; j++) {
		const char *s = pc_col_value(c, &t->rows[j]);
		if (s == NULL || s[0] == '\0') {
			continue;
		}
		if (!c->many || (first != NULL && strcmp(first, s) != 0)) {
			return true;
		}
		first = first != NULL ? first : s;
	}
	return false;
}

void
pc_table_end(pc_table *t, const pc_view *v)
{
	static int (*const cmp[])(const void *, const void *) = { by_cpu, by_mem, by_io, by_pid,
		                                                  by_name };

	if (t->n > 1) {
		qsort(t->rows, t->n, sizeof(*t->rows), cmp[v->sort <= PC_SORT_NAME ? v->sort : 0]);
	}
	for (size_t i = 0; i < pc_ncols; i++) {
		if (shown(t, &pc_cols[i])) {
			t->cols |= 1u << i;
		}
	}
}

void
pc_table_fini(pc_table *t)
{
	free(t->rows);
	memset(t, 0, sizeof(*t));
}
