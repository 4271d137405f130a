/* pc_query_history.h: pidcast-query's output of the history methods
 * (History, Events, TopAt), as tables or JSON lines. Each returns PC_OK
 * or PC_ENOMEM. */
#ifndef PC_QUERY_HISTORY_H
#define PC_QUERY_HISTORY_H

#include <stdbool.h>
#include <stdio.h>

#include "pidcast.pb-c.h"

/* TIME PID CPU% RSS(MiB) THREADS READ(B/s) WRITE(B/s), after a line that
 * names the host, the process and its start; or an object a sample. */
int pc_query_print_history(FILE *out, const Pidcast__HistoryReply *r, bool json);

/* TIME EVENT HOST PID NAME LIVED ENDED (exit code, signal, or ? when the
 * agent did not see it end), or an object an event. */
int pc_query_print_events(FILE *out, const Pidcast__EventsReply *r, bool json);

/* HOST PID NAME CPU% RSS(MiB) IO(B/s) over the window, or an object an
 * entry. */
int pc_query_print_top_at(FILE *out, const Pidcast__TopAtReply *r, bool json);

/* The history store's figures of a ListHosts reply, one line; nothing
 * when the server keeps none. */
int pc_query_print_history_stats(FILE *out, const Pidcast__ListHostsReply *r, bool json);

#endif
