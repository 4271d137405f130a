/* pc_agg_http_parse.c: an HTTP request head and its query string, read in
 * place; no I/O, so the fuzzer takes it whole. */
#include "pc_agg_http.h"

#include <ctype.h>
#include <stdbool.h>
#include <string.h>

/* Whether s begins with the n bytes of name, in any case (strncasecmp is
 * not C11). */
static bool
starts_ci(const char *s, const char *name, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\0' ||
		    tolower((unsigned char)s[i]) != tolower((unsigned char)name[i])) {
			return false;
		}
	}
	return true;
}

/* The value of header name (case-insensitive) in the lines after the
 * request line, cut at its line's end; "" when absent. */
static const char *
header(char *lines, const char *name)
{
	size_t n = strlen(name);

	for (char *l = lines; l != NULL && *l != '\0';) {
		char *end = strchr(l, '\n');
		if (end != NULL) {
			*end = '\0';
			if (end > l && end[-1] == '\r') {
				end[-1] = '\0';
			}
		}
		if (starts_ci(l, name, n) && l[n] == ':') {
			l += n + 1;
			while (*l == ' ' || *l == '\t') {
				l++;
			}
			return l;
		}
		l = end != NULL ? end + 1 : NULL;
	}
	return "";
}

int
pc_http_parse(char *head, pc_http_req *req)
{
	char *eol = strchr(head, '\n');
	char *sp1 = strchr(head, ' '), *sp2, *q;

	if (eol == NULL || sp1 == NULL || sp1 > eol || (sp2 = strchr(sp1 + 1, ' ')) == NULL ||
	    sp2 > eol || strncmp(sp2 + 1, "HTTP/1.", 7) != 0 || sp1[1] != '/') {
		return 400;
	}
	if (sp1 - head != 3 || strncmp(head, "GET", 3) != 0) {
		return 405;
	}
	*sp2       = '\0';
	req->path  = sp1 + 1;
	req->query = "";
	if ((q = strchr(sp1 + 1, '?')) != NULL) {
		*q         = '\0';
		req->query = q + 1;
	}
	req->if_none_match = header(eol + 1, "If-None-Match");
	return 0;
}

static int
hex(int c)
{
	return isdigit(c) ? c - '0' : isxdigit(c) ? tolower(c) - 'a' + 10 : -1;
}

/* Decodes n bytes of s into out (cap bytes with the NUL); -1 as above. */
static int
decode(const char *s, size_t n, char *out, size_t cap)
{
	size_t o = 0;

	if (cap == 0) {
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)s[i];
		if (c == '+') {
			c = ' ';
		} else if (c == '%') {
			if (i + 2 >= n || hex((unsigned char)s[i + 1]) < 0 ||
			    hex((unsigned char)s[i + 2]) < 0) {
				return -1;
			}
			c = hex((unsigned char)s[i + 1]) * 16 + hex((unsigned char)s[i + 2]);
			i += 2;
		}
		if (c == 0 || o + 1 >= cap) {
			return -1;
		}
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return 1;
}

int
pc_http_param(const char *query, const char *name, char *out, size_t cap)
{
	size_t n = strlen(name);

	if (cap > 0) {
		out[0] = '\0';
	}
	for (const char *p = query; p != NULL && *p != '\0';) {
		const char *amp = strchr(p, '&');
		size_t      len = amp != NULL ? (size_t)(amp - p) : strlen(p);
		if (len > n && strncmp(p, name, n) == 0 && p[n] == '=') {
			return decode(p + n + 1, len - n - 1, out, cap);
		}
		if (len == n && strncmp(p, name, n) == 0) {
			return cap > 0 ? 1 : -1; /* "name" alone: an empty value */
		}
		p = amp != NULL ? amp + 1 : NULL;
	}
	return 0;
}

const char *
pc_http_status(int status)
{
	switch (status) {
	case 200:
		return "200 OK";
	case 304:
		return "304 Not Modified";
	case 400:
		return "400 Bad Request";
	case 404:
		return "404 Not Found";
	case 405:
		return "405 Method Not Allowed";
	case 431:
		return "431 Request Header Fields Too Large";
	case 503:
		return "503 Service Unavailable";
	default:
		return "500 Internal Server Error";
	}
}
