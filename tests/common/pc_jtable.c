/* pc_jtable.c: a flat JSON object splitter and a PID-keyed table of the
 * values it found. */
#include "pc_jtable.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/pc_buf.h"
#include "wire/pc_codec.h"
#include "base/pc_idmap.h"
#include "wire/pc_json.h"
#include "record/pc_proc.h"

/* Slots of a record: the key, then every field of pc_fields. */
#define SLOT_CREATE 0
#define SLOT_FIELD  1
#define SLOTS       (SLOT_FIELD + PC_F_COUNT)

typedef struct jrec {
	char *v[SLOTS]; /* JSON text of each value; NULL: not printed */
} jrec;

struct pc_jtable {
	pc_idmap map;
};

/* One "key":value pair of a flat object: the key and the value's text. */
typedef struct jpair {
	const char *key, *val;
	size_t      key_len, val_len;
} jpair;

/* Splits {"k":v,...} into at most cap pairs; the count, or -1. */
static int
split(const char *s, jpair *out, int cap)
{
	int n = 0;

	if (*s++ != '{') {
		return -1;
	}
	while (*s != '}') {
		if (n == cap || *s++ != '"') {
			return -1;
		}
		out[n].key = s;
		while (*s != '"' && *s != '\0') {
			s++;
		}
		out[n].key_len = (size_t)(s - out[n].key);
		if (*s++ != '"' || *s++ != ':') {
			return -1;
		}
		out[n].val = s;
		if (*s == '"') {
			for (s++; *s != '"'; s++) {
				if (*s == '\0' || (*s == '\\' && *++s == '\0')) {
					return -1;
				}
			}
			s++;
		} else {
			while (*s != ',' && *s != '}' && *s != '\0') {
				s++;
			}
		}
		out[n].val_len = (size_t)(s - out[n].val);
		n++;
		if (*s == ',') {
			s++;
		} else if (*s != '}') {
			return -1;
		}
	}
	return s[1] == '\0' ? n : -1;
}

static bool
key_is(const jpair *p, const char *k)
{
	return p->key_len == strlen(k) && memcmp(p->key, k, p->key_len) == 0;
}

/* The slot of a record key, or -1 for the line's own keys. */
static int
slot_of(const jpair *p)
{
	if (key_is(p, "create_time_ms")) {
		return SLOT_CREATE;
	}
	for (int f = 0; f < PC_F_COUNT; f++) {
		if (key_is(p, pc_fields[f].name)) {
			return SLOT_FIELD + f;
		}
	}
	return -1;
}

static uint64_t
num(const jpair *p)
{
	return strtoull(p->val, NULL, 10);
}

static void
copy_str(char *dst, size_t cap, const jpair *p)
{
	size_t n = p->val_len >= 2 ? p->val_len - 2 : 0; /* without quotes */

	n = n < cap - 1 ? n : cap - 1;
	memcpy(dst, p->val + 1, n);
	dst[n] = '\0';
}

static void
rec_free(jrec *r)
{
	if (r != NULL) {
		for (int i = 0; i < SLOTS; i++) {
			free(r->v[i]);
		}
		free(r);
	}
}

pc_jtable *
pc_jtable_open(void)
{
	return calloc(1, sizeof(pc_jtable));
}

void
pc_jtable_close(pc_jtable *t)
{
	size_t   cur = 0;
	uint32_t pid;
	jrec    *r;

	if (t == NULL) {
		return;
	}
	while ((r = pc_idmap_next(&t->map, &cur, &pid)) != NULL) {
		rec_free(r);
	}
	pc_idmap_fini(&t->map);
	free(t);
}

/* Sets the record's slots from the pairs. */
static int
store(jrec *r, const jpair *p, int n)
{
	for (int i = 0; i < n; i++) {
		int slot = slot_of(&p[i]);
		if (slot < 0) {
			continue;
		}
		free(r->v[slot]);
		r->v[slot] = NULL;
		/* null is an unknown string: as a snapshot that does not carry it. */
		if (p[i].val_len == 4 && memcmp(p[i].val, "null", 4) == 0) {
			continue;
		}
		if ((r->v[slot] = malloc(p[i].val_len + 1)) == NULL) {
			return -1;
		}
		memcpy(r->v[slot], p[i].val, p[i].val_len);
		r->v[slot][p[i].val_len] = '\0';
	}
	return 0;
}

int
pc_jtable_line(pc_jtable *t, const char *line, pc_jline *out)
{
	jpair    p[SLOTS + 8];
	int      n       = split(line, p, (int)(sizeof(p) / sizeof(p[0])));
	bool     has_pid = false;
	uint32_t pid     = 0;
	jrec    *r;

	memset(out, 0, sizeof(*out));
	for (int i = 0; i < n; i++) {
		if (key_is(&p[i], "event")) {
			copy_str(out->event, sizeof(out->event), &p[i]);
		} else if (key_is(&p[i], "reason")) {
			copy_str(out->reason, sizeof(out->reason), &p[i]);
		} else if (key_is(&p[i], "from")) {
			out->from = num(&p[i]);
		} else if (key_is(&p[i], "seq")) {
			out->seq = num(&p[i]);
		} else if (key_is(&p[i], "processes")) {
			out->processes = num(&p[i]);
		} else if (key_is(&p[i], "pid")) {
			pid     = (uint32_t)num(&p[i]);
			has_pid = true;
		}
	}
	if (n < 0 || out->event[0] == '\0') {
		return -1;
	}
	if (strcmp(out->event, "resync") == 0 || strcmp(out->event, "update") == 0 ||
	    strcmp(out->event, "unsynced") == 0) { /* state lines: the table is as it was */
		return 0;
	}
	if (!has_pid) {
		return -1;
	}
	r = pc_idmap_get(&t->map, pid);
	if (strcmp(out->event, "new") == 0) {
		/* A new record replaces the old one: the PID was reused. */
		rec_free(pc_idmap_remove(&t->map, pid));
		if ((r = calloc(1, sizeof(*r))) == NULL || pc_idmap_set(&t->map, pid, r) != 0) {
			free(r);
			return -1;
		}
		return store(r, p, n);
	}
	if (r == NULL) {
		return -1;
	}
	if (strcmp(out->event, "changed") == 0) {
		return store(r, p, n);
	}
	if (strcmp(out->event, "exit") == 0) {
		rec_free(pc_idmap_remove(&t->map, pid));
		return 0;
	}
	return -1;
}

size_t
pc_jtable_count(const pc_jtable *t)
{
	return pc_idmap_count(&t->map);
}

/* The record equals the process message, printed as pidcast-sub would. */
static int
rec_equals(const jrec *r, const Pidcast__Process *m, pc_buf *b, char *why, size_t cap)
{
	pc_proc want = { 0 };
	pc_mask mask;
	jrec    w = { 0 };
	jpair   p[SLOTS + 2];
	int     rv = 0, n;

	pc_buf_reset(b);
	if (pc_codec_proc_from_msg(m, &want, &mask) != 0) {
		snprintf(why, cap, "pid %u: a snapshot record that does not decode", m->pid);
		return -1;
	}
	pc_json_proc(b, &want, mask);
	pc_proc_clear(&want);
	if (b->err != 0 || (n = split((const char *)b->data, p, SLOTS + 2)) < 0 ||
	    store(&w, p, n) != 0) {
		snprintf(why, cap, "pid %u: cannot print the snapshot's record", m->pid);
		return -1;
	}
	for (int i = 0; i < SLOTS && rv == 0; i++) {
		const char *got = r->v[i] ? r->v[i] : "(absent)";
		const char *exp = w.v[i] ? w.v[i] : "(absent)";
		if (strcmp(got, exp) != 0) {
			snprintf(why, cap, "pid %u: %s is %.80s, the agent has %.80s", m->pid,
			         i == SLOT_CREATE ? "create_time_ms"
			                          : pc_fields[i - SLOT_FIELD].name,
			         got, exp);
			rv = -1;
		}
	}
	for (int i = 0; i < SLOTS; i++) {
		free(w.v[i]);
	}
	return rv;
}

int
pc_jtable_equals(const pc_jtable *t, const Pidcast__Update *s, char *why, size_t cap)
{
	pc_buf b  = { 0 };
	int    rv = 0;

	if (pc_idmap_count(&t->map) != s->n_upserts) {
		snprintf(why, cap, "%zu processes, the agent has %zu", pc_idmap_count(&t->map),
		         s->n_upserts);
		return -1;
	}
	for (size_t i = 0; i < s->n_upserts && rv == 0; i++) {
		const jrec *r = pc_idmap_get(&t->map, s->upserts[i]->pid);
		if (r == NULL) {
			snprintf(why, cap, "pid %u missing", s->upserts[i]->pid);
			rv = -1;
		} else {
			rv = rec_equals(r, s->upserts[i], &b, why, cap);
		}
	}
	pc_buf_fini(&b);
	return rv;
}
