/* pc_err.h: the error codes every pidcast library function returns. */
#ifndef PC_ERR_H
#define PC_ERR_H

/* Zero is success; library code never prints, it returns one of these and
 * the binaries turn it into a message with pc_strerror(). */
enum pc_err {
	PC_OK = 0,
	PC_ENOMEM,    /* out of memory */
	PC_EINVAL,    /* an argument or a value out of range */
	PC_ENOENT,    /* no such process, file or entry */
	PC_EPROTO,    /* bytes that do not decode, or violate the protocol */
	PC_ETOOBIG,   /* a message or table over its limit */
	PC_EPERM,     /* the OS refused access */
	PC_ESYS,      /* another OS error */
	PC_ENOTSUP,   /* not available on this OS or build */
	PC_ETIMEDOUT, /* no answer in time */
	PC_ECONN,     /* no connection to the peer, or it went away */
	PC_EADDR,     /* an address that cannot be used (bad URL, in use) */
	PC_EEXIST,    /* it exists already (a service of that name) */
};

const char *pc_strerror(int err);

/* NNG's error (an nng_err value) as a pc_err code. */
int pc_nng_err(int nng_rv);

#endif
