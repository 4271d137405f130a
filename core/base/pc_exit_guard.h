/* pc_exit_guard.h: a bound on how long a binary's cleanup may take.
 *
 * NNG 1.5.2 (Debian 12's) has a TLS defect: a connection that fails, or is
 * closed, while its pipe starts one more send or receive leaves that aio
 * pending forever (tls_common.c never marks the connection closed, so the
 * new operation waits for a TCP callback that will not come). The pipe's
 * teardown then waits forever, and nng_close with it. A binary that is
 * stopping calls pc_exit_guard first: if the cleanup has not returned in
 * ms, the process exits with status anyway. */
#ifndef PC_EXIT_GUARD_H
#define PC_EXIT_GUARD_H

/* The cleanup a stopping binary does after this should take well under
 * this; NNG's own closes take milliseconds when they do not hang. */
#define PC_EXIT_GUARD_MS 3000

/* Starts the guard; returns a pc_err code (it is then not running). */
int pc_exit_guard(unsigned ms, int status);

#endif
