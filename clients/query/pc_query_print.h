/* pc_query_print.h: pidcast-query's output of the Agent service's replies,
 * as tables or as JSON lines. */
#ifndef PC_QUERY_PRINT_H
#define PC_QUERY_PRINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "pidcast.pb-c.h"

/* Each returns PC_OK, PC_EPROTO for a record without its key, or
 * PC_ENOMEM; host may be NULL (absent). */

/* One record in full: a "field: value" line per field it has, or one JSON
 * object with every field. */
int pc_query_print_record(FILE *out, const Pidcast__Process *m, const char *host, bool json);

/* Lists: PID PPID USER THREADS RSS(MiB) CPU(s) NAME, or a JSON object a
 * line. The header is separate so that pages can follow one another.
 * hosts (n of them, or NULL) names each record's host, from a server of
 * several (the aggregator): then the table starts with a HOST column
 * (with_host) and each JSON object has "host". */
void pc_query_print_list_header(FILE *out, bool with_host);
int  pc_query_print_list(FILE *out, Pidcast__Process *const *m, size_t n, char *const *hosts,
                         bool json);

/* Top: PID NAME CPU% RSS(MiB) IO(B/s), and HOST when the entries have one;
 * or the records with "cpu_percent" and "io_bytes_per_sec". */
int pc_query_print_top(FILE *out, const Pidcast__TopReply *r, bool json);

/* Hosts: HOST UP SYNCED PROCS SEQ INSTANCE, or a JSON object a line. */
int pc_query_print_hosts(FILE *out, const Pidcast__ListHostsReply *r, bool json);

/* Text from a peer (a host name, an error message), made safe for a
 * terminal: valid UTF-8, control characters escaped (base/pc_term.h).
 * Every string these print from a reply goes through the same helper. */
void pc_query_print_text(FILE *out, const char *s);

#endif
