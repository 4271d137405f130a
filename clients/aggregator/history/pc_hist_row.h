/* pc_hist_row.h: one row of history as it waits to be written, and the
 * bounded queue that holds them while the store is slow or down.
 *
 * A row is one of: a process's start, its exit (how it ended and its final
 * counters), a sample of its counters, or a host going up or down. Rows are
 * small and flat: a sample is about a hundred bytes, and only starts and
 * exits carry text (name, exe, command line, user and context, in one
 * allocation). The queue is a ring, so that a batch that failed to be
 * written goes back in front of the rows that came after it, in order.
 * It counts what it holds in bytes, against the bound of --history-buffer. */
#ifndef PC_HIST_ROW_H
#define PC_HIST_ROW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "record/pc_proc.h"

typedef enum pc_hrow_kind {
	PC_HROW_START,  /* time_ms is the process's create time */
	PC_HROW_EXIT,   /* time_ms is when it ended (or was seen gone) */
	PC_HROW_SAMPLE, /* time_ms is the host's tick time */
	PC_HROW_HOST    /* a host up or down at time_ms */
} pc_hrow_kind;

/* The strings of a start or an exit, in this order in pc_hrow.text. */
typedef enum pc_htext {
	PC_HT_NAME,
	PC_HT_EXE,
	PC_HT_CMDLINE,
	PC_HT_USER,
	PC_HT_CONTAINER_ID,
	PC_HT_SERVICE,
	PC_HT_CGROUP,
	PC_HT_COUNT
} pc_htext;

typedef struct pc_hrow {
	uint8_t  kind; /* pc_hrow_kind */
	bool     up;   /* PC_HROW_HOST */
	bool     exit_known;
	uint32_t host; /* the host's number (pc_hist_host_id) */
	uint32_t pid;
	uint32_t ppid;
	uint32_t threads;
	int32_t  exit_code;
	int32_t  exit_signal;
	uint64_t time_ms;
	uint64_t create_time_ms;
	uint64_t cpu_user_us;
	uint64_t cpu_system_us;
	uint64_t rss_bytes;
	uint64_t peak_rss_bytes;
	uint64_t io_read_bytes;
	uint64_t io_write_bytes;
	char    *text; /* starts and exits: PC_HT_COUNT strings, each ending in NUL */
	uint32_t text_len;
} pc_hrow;

/* A row of p (kind START, EXIT or SAMPLE); the text only for starts and
 * exits. PC_ENOMEM leaves row empty. */
int pc_hrow_of_proc(pc_hrow *row, pc_hrow_kind kind, uint32_t host, const pc_proc *p,
                    uint64_t time_ms);
/* String i of a start's or an exit's text; "" for a row without text. */
const char *pc_hrow_str(const pc_hrow *row, pc_htext i);
/* What the row costs in the queue. */
size_t pc_hrow_bytes(const pc_hrow *row);
void   pc_hrow_free(pc_hrow *row);

typedef struct pc_hqueue {
	pc_hrow *rows;
	size_t   cap, head, n; /* a ring: rows[head], then n - 1 more */
	size_t   bytes;        /* pc_hrow_bytes() of every row held */
} pc_hqueue;

/* Takes row at the back (moved: the queue owns its text). */
int pc_hqueue_push(pc_hqueue *q, pc_hrow *row);
/* Gives up to max rows from the front into out (moved): their number. */
size_t pc_hqueue_take(pc_hqueue *q, pc_hrow *out, size_t max);
/* Puts n rows back in front, in their order (a batch that failed). */
int pc_hqueue_unshift(pc_hqueue *q, pc_hrow *rows, size_t n);
/* Frees the front row: its bytes. */
size_t pc_hqueue_drop(pc_hqueue *q);
void   pc_hqueue_fini(pc_hqueue *q);

#endif
