/* pc_sub_table.h: the table pidcast-sub shows, as plain data: the rows a
 * view keeps (kernel threads or not, a typed filter), sorted by one key,
 * their totals, and which optional columns some row fills. The plain table
 * (pc_sub_plain.h) and the screen (pc_sub_screen.h) draw it; neither
 * decides what is in it.
 *
 * The optional columns are one table of (header, width, source, when
 * shown): the host of a row, and string fields of the record (the state
 * and the context: service, container, pod, cgroup). A column shows when
 * some kept row has a value, or, for the host and the cgroup, when the
 * kept rows have two different values: one host, or every process in
 * "/", tells nothing a column would. A new field is one line there. */
#ifndef PC_SUB_TABLE_H
#define PC_SUB_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "record/pc_proc.h"

typedef enum pc_sort {
	PC_SORT_CPU, /* the busiest first */
	PC_SORT_MEM, /* resident size, the largest first */
	PC_SORT_IO,  /* read + write bytes a second, the busiest first */
	PC_SORT_PID, /* ascending */
	PC_SORT_NAME /* ascending, bytewise */
} pc_sort;

/* "CPU", "memory", "I/O", "PID", "name": what the header says. */
const char *pc_sort_name(pc_sort s);

#define PC_FILTER_MAX 64 /* bytes of a typed filter */

typedef struct pc_view {
	pc_sort sort;
	bool    kernel;                    /* keep kernel threads */
	char    filter[PC_FILTER_MAX + 1]; /* a substring, any case; "": none */
} pc_view;

typedef struct pc_row {
	const pc_proc *p;
	const char    *host;
	double         cpu; /* percent of one core, over the last update */
	double         io;  /* read + write bytes a second, likewise */
} pc_row;

/* An optional column. source is a string field of pc_proc (pc_field), or
 * PC_COL_HOST for the row's host. */
#define PC_COL_HOST (-1)
typedef struct pc_col {
	const char *header;
	size_t      width; /* the most it takes, in columns */
	int         source;
	bool        many;   /* shown for two different values, not for one */
	bool        filter; /* the typed filter looks at it */
} pc_col;

#define PC_COLS_MAX 32 /* pc_table.cols has a bit for each */
extern const pc_col pc_cols[];
extern const size_t pc_ncols;

/* The value of column c in row r; NULL when there is none. */
const char *pc_col_value(const pc_col *c, const pc_row *r);

typedef struct pc_table {
	pc_row  *rows; /* kept, sorted after pc_table_end */
	size_t   n, cap;
	size_t   offered; /* rows given to pc_table_add */
	size_t   kernel_hidden;
	uint64_t threads, rss_bytes; /* totals of the kept rows */
	double   cpu;
	uint32_t cols; /* bit i: pc_cols[i] is shown */
} pc_table;

/* The stream's state, for the header line of either output. */
typedef struct pc_stream_state {
	const char *url;
	const char *host; /* of the last update; "" before the first */
	size_t      processes;
	uint64_t    seq;
	bool        synced;
	uint64_t    gaps, resyncs, refused;
} pc_stream_state;

/* Empties t for a new round; its memory is kept. */
void pc_table_begin(pc_table *t);
/* Keeps r if v lets it through. PC_OK, or PC_ENOMEM (nothing kept). */
int pc_table_add(pc_table *t, const pc_view *v, const pc_row *r);
/* Sorts by v's key and settles the optional columns. */
void pc_table_end(pc_table *t, const pc_view *v);
void pc_table_fini(pc_table *t);

/* Whether s holds needle, ignoring ASCII case; "" is in everything. */
bool pc_has_text(const char *s, const char *needle);

#endif
