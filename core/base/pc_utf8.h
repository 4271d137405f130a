/* pc_utf8.h: text from the OS and from peers made valid UTF-8.
 *
 * Process names, paths, command lines, user and host names come from the
 * OS as bytes (Linux) or UTF-16 (Windows), and from peers as whatever they
 * send; Linux even cuts comm at 15 bytes inside a character. Protobuf
 * strings, JSON and Prometheus labels must be UTF-8, and one bad byte makes
 * Prometheus refuse a whole scrape. So the rule is applied once, where text
 * enters (docs/PROTOCOL.md, "Strings"):
 *
 *   - a byte that does not start a valid character (a stray continuation,
 *     a truncated sequence, an overlong form, a surrogate, past U+10FFFF)
 *     becomes U+FFFD, one for each such byte;
 *   - an unpaired UTF-16 surrogate becomes U+FFFD;
 *   - text is cut on a character boundary, never inside one.
 *
 * Everything after that point (records, JSON, labels, replies) may assume
 * valid UTF-8 and only escapes. Text stops at a NUL byte, as C strings do. */
#ifndef PC_UTF8_H
#define PC_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* U+FFFD REPLACEMENT CHARACTER, encoded. */
#define PC_UTF8_REPLACEMENT "\xef\xbf\xbd"

/* Length (1 to 4) of the valid character at s, which has n bytes left, or
 * 0 when the bytes there are not one (or n is 0, or s is at a NUL). */
size_t pc_utf8_char(const char *s, size_t n);

/* Whether the string is valid UTF-8 (NULL is not). */
bool pc_utf8_valid(const char *s);

/* The length of the longest prefix of s of at most max bytes that does not
 * end inside a character; for cutting text with "%.*s". */
size_t pc_utf8_prefix(const char *s, size_t max);

/* Writes the first len bytes of s (or up to its NUL), repaired, into out,
 * cut on a character boundary so that it fits with its NUL in cap bytes
 * (cap >= 1). Returns the length written. */
size_t pc_utf8_repair(char *out, size_t cap, const char *s, size_t len);

/* A new repaired copy of s, or NULL when out of memory. */
char *pc_utf8_dup(const char *s);

/* Whether repairing raw gives clean: a receiver compares a peer's string
 * with the repaired one it keeps without making a copy. */
bool pc_utf8_same(const char *raw, const char *clean);

/* n UTF-16 units of w (or up to a 0 unit) as UTF-8 into out, surrogate
 * pairs joined and unpaired ones as U+FFFD, cut on a character boundary
 * to fit with its NUL in cap bytes (cap >= 1; 3 * n + 1 always fits).
 * Returns the length written. Portable, so that the same rule holds
 * whatever WideCharToMultiByte does with surrogates on a given Windows or
 * Wine. */
size_t pc_utf8_from_utf16(char *out, size_t cap, const uint16_t *w, size_t n);

#endif
