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

#endif
