/* pc_update.c: building, framing and parsing Updates (see pc_update.h). */
#include "wire/pc_update.h"

#include <stdlib.h>
#include <string.h>

#include "wire/pc_codec.h"
#include "base/pc_err.h"
#include "base/pc_utf8.h"

void
pc_encoder_fini(pc_encoder *e)
{
	free(e->procs);
	free(e->proc_ptrs);
	free(e->keys);
	free(e->key_ptrs);
	free(e->cuts);
	pc_buf_fini(&e->frame);
	memset(e, 0, sizeof(*e));
}

static int
reserve(pc_encoder *e, size_t procs, size_t keys)
{
	if (procs > e->cap_procs) {
		size_t             cap = procs + procs / 2 + 16;
		Pidcast__Process  *p   = realloc(e->procs, cap * sizeof(*p));
		Pidcast__Process **pp  = p ? realloc(e->proc_ptrs, cap * sizeof(*pp)) : NULL;
		if (p != NULL) {
			e->procs = p;
		}
		if (pp == NULL) {
			return PC_ENOMEM;
		}
		e->proc_ptrs = pp;
		e->cap_procs = cap;
	}
	if (keys > e->cap_keys) {
		size_t                cap = keys + keys / 2 + 16;
		Pidcast__ProcessKey  *k   = realloc(e->keys, cap * sizeof(*k));
		Pidcast__ProcessKey **kp  = k ? realloc(e->key_ptrs, cap * sizeof(*kp)) : NULL;
		if (k != NULL) {
			e->keys = k;
		}
		if (kp == NULL) {
			return PC_ENOMEM;
		}
		e->key_ptrs = kp;
		e->cap_keys = cap;
	}
	return PC_OK;
}

static void
header(pc_encoder *e, const pc_update_hdr *h, Pidcast__Update__Kind kind)
{
	Pidcast__Update init = PIDCAST__UPDATE__INIT;

	e->msg                 = init;
	e->msg.host            = (char *)h->host;
	e->msg.has_instance_id = 1;
	e->msg.instance_id     = h->instance_id;
	e->msg.has_seq         = 1;
	e->msg.seq             = h->seq;
	e->msg.has_time_ms     = 1;
	e->msg.time_ms         = h->time_ms;
	e->msg.has_interval_ms = 1;
	e->msg.interval_ms     = h->interval_ms;
	e->msg.has_kind        = 1;
	e->msg.kind            = kind;
	e->msg.upserts         = e->proc_ptrs;
	e->msg.exits           = e->key_ptrs;
	e->n_cuts              = 0;
}

static void
add_proc(pc_encoder *e, const pc_proc *p, pc_mask mask)
{
	Pidcast__Process *m    = &e->procs[e->msg.n_upserts];
	Pidcast__Process  init = PIDCAST__PROCESS__INIT;

	*m = init;
	pc_codec_proc_to_msg(p, mask, m);
	e->proc_ptrs[e->msg.n_upserts++] = m;
}

/* An exit's status and final record (the message's storage is the
 * procs array past the upserts, at *at). */
static void
add_final(pc_encoder *e, Pidcast__ProcessKey *k, const pc_key *x, size_t *at)
{
	Pidcast__Process *m    = &e->procs[(*at)++];
	Pidcast__Process  init = PIDCAST__PROCESS__INIT;
	const pc_exit    *s    = &x->final->exit;

	*m = init;
	pc_codec_proc_to_msg(x->final, x->mask, m);
	k->final = m;
	if (!s->known) {
		return;
	}
	if (s->signal != 0) {
		k->has_exit_signal = 1;
		k->exit_signal     = s->signal;
	} else {
		k->has_exit_code = 1;
		k->exit_code     = s->code;
	}
	k->has_exit_time_ms = 1;
	k->exit_time_ms     = s->time_ms;
}

/* How many of d's exits carry a final record. */
static size_t
finals(const pc_delta *d)
{
	size_t n = 0;

	for (size_t i = 0; d != NULL && i < d->n_exits; i++) {
		n += d->exits[i].final != NULL;
	}
	return n;
}

/* d's exits into e->msg (room reserved), their final records' messages in
 * the procs array from e->msg.n_upserts on; with only_final, the exits
 * that carry one. */
static void
add_exits(pc_encoder *e, const pc_delta *d, bool only_final)
{
	size_t at = e->msg.n_upserts, n = 0;

	for (size_t i = 0; d != NULL && i < d->n_exits; i++) {
		Pidcast__ProcessKey  init = PIDCAST__PROCESS_KEY__INIT;
		Pidcast__ProcessKey *k;
		if (only_final && d->exits[i].final == NULL) {
			continue;
		}
		k                     = &e->keys[n]; /* keys is NULL when no room was needed */
		*k                    = init;
		k->has_pid            = 1;
		k->pid                = d->exits[i].pid;
		k->has_create_time_ms = 1;
		k->create_time_ms     = d->exits[i].create_time_ms;
		if (d->exits[i].final != NULL) {
			add_final(e, k, &d->exits[i], &at);
		}
		e->key_ptrs[n++] = k;
	}
	e->msg.n_exits = n;
}

int
pc_encoder_delta(pc_encoder *e, const pc_update_hdr *h, const pc_delta *d)
{
	if (reserve(e, d->n_upserts + finals(d), d->n_exits) != PC_OK) {
		return PC_ENOMEM;
	}
	header(e, h, PIDCAST__UPDATE__KIND__DELTA);
	for (size_t i = 0; i < d->n_upserts; i++) {
		add_proc(e, d->upserts[i].rec, d->upserts[i].mask);
	}
	add_exits(e, d, false);
	return PC_OK;
}

int
pc_encoder_keyframe(pc_encoder *e, const pc_update_hdr *h, pc_next_fn next, const void *table,
                    size_t n)
{
	return pc_encoder_keyframe_exits(e, h, next, table, n, NULL);
}

int
pc_encoder_keyframe_exits(pc_encoder *e, const pc_update_hdr *h, pc_next_fn next, const void *table,
                          size_t n, const pc_delta *d)
{
	size_t         cur = 0, nf = finals(d);
	const pc_proc *p;

	if (reserve(e, n + nf, nf) != PC_OK) {
		return PC_ENOMEM;
	}
	header(e, h, PIDCAST__UPDATE__KIND__KEYFRAME);
	while (e->msg.n_upserts < n && (p = next(table, &cur)) != NULL) {
		add_proc(e, p, PC_MASK_ALL);
	}
	add_exits(e, d, true);
	return PC_OK;
}

bool
pc_host_valid(const char *host, size_t len)
{
	size_t i = 0, n;

	if (len < 1 || len > PC_HOST_MAX || memchr(host, '/', len) != NULL) {
		return false;
	}
	for (; i < len; i += n) { /* a NUL is no character: refused too */
		if ((n = pc_utf8_char(host + i, len - i)) == 0) {
			return false;
		}
	}
	return true;
}

void
pc_topic(pc_buf *b, const char *host)
{
	pc_buf_str(b, PC_TOPIC_PREFIX);
	pc_buf_str(b, host);
	pc_buf_add(b, "/", 2); /* the slash and the terminating NUL */
}

int
pc_encoder_frame(pc_encoder *e)
{
	size_t n = pidcast__update__get_packed_size(&e->msg);

	pc_buf_reset(&e->frame);
	pc_topic(&e->frame, e->msg.host);
	if (pc_buf_reserve(&e->frame, n) != PC_OK) {
		return e->frame.err;
	}
	e->frame.len += pidcast__update__pack(&e->msg, (uint8_t *)e->frame.data + e->frame.len);
	return PC_OK;
}

/* Bytes a varint of v takes. */
static size_t
varint_size(uint64_t v)
{
	size_t n = 1;

	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

/* Framed size of record i of e->msg: upserts first, then exits; with its
 * field tag and length. */
static size_t
record_size(const pc_encoder *e, size_t i)
{
	size_t n =
	        i < e->msg.n_upserts
	                ? pidcast__process__get_packed_size(e->msg.upserts[i])
	                : pidcast__process_key__get_packed_size(e->msg.exits[i - e->msg.n_upserts]);

	return 1 + varint_size(n) + n;
}

static int
add_cut(pc_encoder *e, size_t at)
{
	if (e->n_cuts == e->cap_cuts) {
		size_t  cap  = e->cap_cuts ? e->cap_cuts * 2 : 16;
		size_t *cuts = realloc(e->cuts, cap * sizeof(*cuts));
		if (cuts == NULL) {
			return PC_ENOMEM;
		}
		e->cuts     = cuts;
		e->cap_cuts = cap;
	}
	e->cuts[e->n_cuts++] = at;
	return PC_OK;
}

int
pc_encoder_split(pc_encoder *e, size_t max_records, size_t max_bytes, size_t *n)
{
	size_t          total = e->msg.n_upserts + e->msg.n_exits;
	size_t          head, used = 0, count = 0;
	Pidcast__Update h = e->msg;

	/* What every part repeats: the header, a topic as long as the host,
	 * and room for part and parts. */
	h.n_upserts = 0;
	h.n_exits   = 0;
	head        = pidcast__update__get_packed_size(&h) + 2 * strlen(e->msg.host) + 24;
	e->n_cuts   = 0;
	*n          = 1;
	if ((max_records == 0 || total <= max_records) &&
	    (max_bytes == 0 || pidcast__update__get_packed_size(&e->msg) + head <= max_bytes)) {
		return PC_OK; /* whole */
	}
	if (add_cut(e, 0) != PC_OK) {
		return PC_ENOMEM;
	}
	for (size_t i = 0; i < total; i++) {
		size_t sz = max_bytes ? record_size(e, i) : 0;
		if (count > 0 && ((max_records && count == max_records) ||
		                  (max_bytes && head + used + sz > max_bytes))) {
			if (add_cut(e, i) != PC_OK) {
				return PC_ENOMEM;
			}
			used  = 0;
			count = 0;
		}
		used += sz;
		count++;
	}
	if (add_cut(e, total) != PC_OK) {
		return PC_ENOMEM;
	}
	*n = e->n_cuts - 1;
	return PC_OK;
}

int
pc_encoder_frame_part(pc_encoder *e, size_t i)
{
	Pidcast__Update whole = e->msg;
	size_t          nu    = whole.n_upserts;
	size_t          from, to, u_from, u_to;
	int             rv;

	if (e->n_cuts < 3) { /* not split */
		return i == 0 ? pc_encoder_frame(e) : PC_EINVAL;
	}
	if (i + 1 >= e->n_cuts) {
		return PC_EINVAL;
	}
	from   = e->cuts[i];
	to     = e->cuts[i + 1];
	u_from = from < nu ? from : nu;
	u_to   = to < nu ? to : nu;
	/* An array the message does not use may be NULL: no offset on it. */
	e->msg.upserts   = whole.upserts != NULL ? whole.upserts + u_from : NULL;
	e->msg.n_upserts = u_to - u_from;
	e->msg.exits     = whole.exits != NULL ? whole.exits + (from - u_from) : NULL;
	e->msg.n_exits   = (to - u_to) - (from - u_from);
	e->msg.has_part  = 1;
	e->msg.part      = (uint32_t)i;
	e->msg.has_parts = 1;
	e->msg.parts     = (uint32_t)(e->n_cuts - 1);
	rv               = pc_encoder_frame(e);
	e->msg           = whole;
	return rv;
}

/* Reads a varint at *p (before end); false when it runs off the end. */
static bool
read_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	*v = 0;
	for (int shift = 0; *p < end && shift < 64; shift += 7) {
		uint8_t b = *(*p)++;
		*v |= (uint64_t)(b & 0x7f) << shift;
		if (b < 0x80) {
			return true;
		}
	}
	return false;
}

/* The number of upserts and exits an encoded Update holds, counted on the
 * wire without decoding, up to limit + 1. Malformed bytes stop the count:
 * the decoder refuses them anyway. */
static size_t
count_records(const uint8_t *p, size_t len, size_t limit)
{
	const uint8_t *end = p + len;
	size_t         n   = 0;
	uint64_t       key, v;

	while (p < end && n <= limit && read_varint(&p, end, &key)) {
		switch (key & 7) {
		case 0: /* varint */
			if (!read_varint(&p, end, &v)) {
				return n;
			}
			break;
		case 1: /* 64 bits */
			p += (size_t)(end - p) < 8 ? (size_t)(end - p) : 8;
			break;
		case 2: /* length-delimited */
			if (!read_varint(&p, end, &v) || v > (uint64_t)(end - p)) {
				return n;
			}
			p += v;
			n += (key >> 3) == 7 || (key >> 3) == 8;
			break;
		case 5: /* 32 bits */
			p += (size_t)(end - p) < 4 ? (size_t)(end - p) : 4;
			break;
		default:
			return n;
		}
	}
	return n;
}

int
pc_update_parse(const void *frame, size_t len, Pidcast__Update **out)
{
	const char      *f    = frame;
	const char      *nul  = memchr(f, '\0', len < PC_HOST_MAX + 8 ? len : PC_HOST_MAX + 8);
	size_t           plen = strlen(PC_TOPIC_PREFIX), tlen;
	Pidcast__Update *u;

	if (nul == NULL || (size_t)(nul - f) < plen + 1 || memcmp(f, PC_TOPIC_PREFIX, plen) != 0 ||
	    nul[-1] != '/') {
		return PC_EPROTO;
	}
	if (!pc_host_valid(f + plen, (size_t)(nul - f) - plen - 1)) {
		return PC_EINVAL;
	}
	tlen = (size_t)(nul - f) + 1;
	if (count_records((const uint8_t *)f + tlen, len - tlen, PC_UPDATE_MAX_RECORDS) >
	    PC_UPDATE_MAX_RECORDS) {
		return PC_ETOOBIG;
	}
	u = pidcast__update__unpack(NULL, len - tlen, (const uint8_t *)f + tlen);
	if (u == NULL) {
		return PC_EPROTO;
	}
	/* The topic's host and the message's must agree, or a subscriber to one
	 * host could be fed another's table. */
	if (u->host == NULL || !u->has_seq || !u->has_instance_id ||
	    strlen(u->host) != (size_t)(nul - f) - plen - 1 ||
	    memcmp(u->host, f + plen, strlen(u->host)) != 0) {
		pidcast__update__free_unpacked(u, NULL);
		return PC_EPROTO;
	}
	*out = u;
	return PC_OK;
}
