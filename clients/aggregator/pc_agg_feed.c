/* pc_agg_feed.c: the ring of recent starts and exits, and its JSON. */
#include "pc_agg_feed.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/pc_utf8.h"
#include "wire/pc_json.h"

/* s cut to fit cap bytes at a character's boundary (strings of records
 * are valid UTF-8, and stay so). */
static void
copy(char *out, size_t cap, const char *s)
{
	size_t n = s != NULL ? pc_utf8_prefix(s, cap - 1) : 0;

	memcpy(out, s != NULL ? s : "", n);
	out[n] = '\0';
}

void
pc_feed_add(pc_feed *f, const char *host, const pc_proc *p, bool exit, uint64_t time_ms)
{
	pc_feed_event *e;

	if (f->ring == NULL && (f->ring = calloc(PC_FEED_MAX, sizeof(*f->ring))) == NULL) {
		return;
	}
	e                 = &f->ring[f->last % PC_FEED_MAX];
	e->id             = ++f->last;
	e->exit           = exit;
	e->pid            = p->pid;
	e->ppid           = p->ppid;
	e->create_time_ms = p->create_time_ms;
	e->how            = exit ? p->exit : (pc_exit){ 0 };
	e->time_ms        = !exit                              ? p->create_time_ms
	                    : p->exit.known && p->exit.time_ms ? p->exit.time_ms
	                                                       : time_ms;
	copy(e->host, sizeof(e->host), host);
	copy(e->name, sizeof(e->name), p->name);
	copy(e->cmdline, sizeof(e->cmdline), p->cmdline);
	copy(e->user, sizeof(e->user), p->user);
}

static void
event_json(const pc_feed_event *e, pc_buf *b)
{
	pc_buf_printf(b, "{\"id\":%" PRIu64 ",\"kind\":\"%s\",\"time_ms\":%" PRIu64 ",\"host\":",
	              e->id, e->exit ? "exit" : "start", e->time_ms);
	pc_json_str(b, e->host);
	pc_buf_printf(b, ",\"pid\":%" PRIu32 ",\"create_time_ms\":%" PRIu64 ",\"ppid\":%" PRIu32,
	              e->pid, e->create_time_ms, e->ppid);
	pc_buf_str(b, ",\"name\":");
	pc_json_str(b, e->name);
	pc_buf_str(b, ",\"cmdline\":");
	pc_json_str(b, e->cmdline);
	pc_buf_str(b, ",\"user\":");
	pc_json_str(b, e->user);
	if (e->exit && e->how.known) {
		if (e->how.signal != 0) {
			pc_buf_printf(b, ",\"exit_signal\":%" PRId32, e->how.signal);
		} else {
			pc_buf_printf(b, ",\"exit_code\":%" PRId32, e->how.code);
		}
	}
	if (e->exit && e->time_ms >= e->create_time_ms) {
		pc_buf_printf(b, ",\"lifetime_ms\":%" PRIu64, e->time_ms - e->create_time_ms);
	}
	pc_buf_str(b, "}");
}

void
pc_feed_json(const pc_feed *f, uint64_t after, size_t limit, pc_buf *b)
{
	uint64_t kept  = f->last < PC_FEED_MAX ? f->last : PC_FEED_MAX;
	uint64_t first = f->last - kept + 1; /* the oldest id kept */

	if (after >= f->last) {
		first = f->last + 1; /* nothing newer (and no overflow) */
	} else if (after + 1 > first) {
		first = after + 1;
	}
	if (f->last >= first && f->last - first + 1 > limit) {
		first = f->last - limit + 1;
	}
	pc_buf_printf(b, "{\"last\":%" PRIu64 ",\"started_ms\":%" PRIu64 ",\"events\":[", f->last,
	              f->started_ms);
	for (uint64_t id = first; f->ring != NULL && id <= f->last; id++) {
		if (id > first) {
			pc_buf_str(b, ",");
		}
		event_json(&f->ring[(id - 1) % PC_FEED_MAX], b);
	}
	pc_buf_str(b, "]}");
}

void
pc_feed_fini(pc_feed *f)
{
	free(f->ring);
	f->ring = NULL;
}
