/* pc_scrub.c: one pass over a command line, argument by argument. */
#include "probe/pc_scrub.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "base/pc_buf.h"
#include "record/pc_proc.h"

static const char *const builtin[] = {
	"password", "passwd", "secret", "token", "api_key", "apikey"
};

/* Whether name[0..n) contains word, case ignored. */
static bool
contains(const char *name, size_t n, const char *word)
{
	size_t w = strlen(word);

	for (size_t i = 0; i + w <= n; i++) {
		size_t k = 0;
		while (k < w && tolower((unsigned char)name[i + k]) == word[k]) {
			k++;
		}
		if (k == w) {
			return true;
		}
	}
	return false;
}

static bool
sensitive(const char *name, size_t n, const pc_scrub *s)
{
	for (size_t i = 0; i < sizeof(builtin) / sizeof(builtin[0]); i++) {
		if (contains(name, n, builtin[i])) {
			return true;
		}
	}
	for (size_t i = 0; s != NULL && i < s->n_extra; i++) {
		if (contains(name, n, s->extra[i])) {
			return true;
		}
	}
	return false;
}

/* The end of the argument at p: the next unquoted space. */
static const char *
arg_end(const char *p)
{
	char quote = 0;

	for (; *p != '\0'; p++) {
		if (quote != 0) {
			quote = *p == quote ? 0 : quote;
		} else if (*p == '"' || *p == '\'') {
			quote = *p;
		} else if (*p == ' ' || *p == '\t') {
			break;
		}
	}
	return p;
}

char *
pc_scrub_cmdline(const char *cmd, const pc_scrub *s)
{
	pc_buf      out       = { 0 };
	bool        mask_next = false;
	const char *p         = cmd;

	if (s != NULL && s->off) {
		return pc_strdup(cmd);
	}
	while (*p != '\0') {
		const char *end = arg_end(p), *name = p, *sep;
		size_t      len = (size_t)(end - p);

		if (*p == ' ' || *p == '\t') {
			pc_buf_add(&out, p, 1);
			p++;
			continue;
		}
		if (mask_next) { /* the value of "--password V" */
			pc_buf_str(&out, PC_SCRUB_MASK);
			mask_next = false;
			p         = end;
			continue;
		}
		while (name < end && (*name == '-' || *name == '/')) {
			name++;
		}
		sep = name;
		while (sep < end && *sep != '=' && *sep != ':') {
			sep++;
		}
		if (sep < end && sensitive(name, (size_t)(sep - name), s)) {
			pc_buf_add(&out, p, (size_t)(sep - p) + 1); /* up to '=' or ':' */
			pc_buf_str(&out, PC_SCRUB_MASK);
		} else {
			pc_buf_add(&out, p, len);
			/* An option alone whose name is sensitive: its value follows. */
			mask_next =
			        sep == end && name > p && sensitive(name, (size_t)(end - name), s);
		}
		p = end;
	}
	if (out.err != 0) {
		pc_buf_fini(&out);
		return NULL;
	}
	if (out.data == NULL) {
		return pc_strdup("");
	}
	return out.data; /* the buffer is the string */
}

bool
pc_cmdline_cut(char *s, size_t max)
{
	size_t n;

	if (max == 0) {
		max = PC_CMDLINE_MAX;
	}
	if ((n = strlen(s)) <= max) {
		return false;
	}
	n = max;
	while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80) {
		n--; /* s[n], a continuation byte, is not where a character starts */
	}
	s[n] = '\0';
	return true;
}

char *
pc_scrub_cut(const char *cmd, const pc_scrub *s, size_t max, bool *cut)
{
	char *out = pc_scrub_cmdline(cmd, s);

	if (out != NULL && pc_cmdline_cut(out, max)) {
		*cut = true;
	}
	return out;
}
