/* pc_scrub.h: secrets out of command lines before they leave the agent.
 *
 * A value that follows a sensitive word is replaced by "********", in the
 * forms Linux and Windows programs use: --password=V, password=V,
 * /password:V, and --password V or -Password V (the next argument). A word
 * is sensitive when the option's name contains one of the words, case
 * ignored: password, passwd, secret, token, api_key, apikey, and any the
 * operator adds. The probes scrub a command line once, when they first read
 * it, so nothing downstream ever holds the secret. */
#ifndef PC_SCRUB_H
#define PC_SCRUB_H

#include <stdbool.h>
#include <stddef.h>

#define PC_SCRUB_MASK "********"

typedef struct pc_scrub {
	bool               off;   /* scrubbing is on unless this is set */
	const char *const *extra; /* more sensitive words */
	size_t             n_extra;
} pc_scrub;

/* A scrubbed copy of cmd (malloc'd), or NULL when out of memory. With s
 * NULL the built-in words apply. */
char *pc_scrub_cmdline(const char *cmd, const pc_scrub *s);

/* The longest command line a record holds by default (the agent's
 * --cmdline-max), and the most it may be set to. */
#define PC_CMDLINE_MAX       8192
#define PC_CMDLINE_MAX_LIMIT (1u << 20)
/* What a probe reads past the limit, so that the argument the limit cuts
 * is scrubbed whole, not as the piece that fits. */
#define PC_CMDLINE_LOOKAHEAD 4096

/* Cuts s (valid UTF-8) in place to at most max bytes (0: PC_CMDLINE_MAX)
 * on a character boundary; true when it cut. */
bool pc_cmdline_cut(char *s, size_t max);

/* cmd scrubbed first and then cut (pc_cmdline_cut): a cut can never split
 * a secret past the scrubber. *cut is set when it was cut (left alone
 * otherwise). NULL when out of memory. */
char *pc_scrub_cut(const char *cmd, const pc_scrub *s, size_t max, bool *cut);

#endif
