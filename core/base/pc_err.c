/* pc_err.c: messages for pidcast's error codes, and NNG's errors as ours. */
#include "base/pc_err.h"

#include <nng/nng.h>

const char *
pc_strerror(int err)
{
	switch (err) {
	case PC_OK:
		return "success";
	case PC_ENOMEM:
		return "out of memory";
	case PC_EINVAL:
		return "invalid argument";
	case PC_ENOENT:
		return "not found";
	case PC_EPROTO:
		return "malformed message";
	case PC_ETOOBIG:
		return "over the size limit";
	case PC_EPERM:
		return "permission denied";
	case PC_ESYS:
		return "operating system error";
	case PC_ENOTSUP:
		return "not supported";
	case PC_ETIMEDOUT:
		return "timed out";
	case PC_ECONN:
		return "connection failed";
	case PC_EADDR:
		return "address unusable";
	case PC_EEXIST:
		return "already exists";
	}
	return "unknown error";
}

int
pc_nng_err(int rv)
{
	switch (rv) {
	case 0:
		return PC_OK;
	case NNG_ENOMEM:
		return PC_ENOMEM;
	case NNG_ETIMEDOUT:
		return PC_ETIMEDOUT;
	case NNG_ECONNREFUSED:
	case NNG_ECONNRESET:
	case NNG_ECONNABORTED:
	case NNG_ECLOSED:
	case NNG_ECONNSHUT:
		return PC_ECONN;
	case NNG_EADDRINUSE:
	case NNG_EADDRINVAL:
	case NNG_ENOTSUP:
		return PC_EADDR;
	case NNG_EMSGSIZE:
		return PC_ETOOBIG;
	case NNG_EPERM:
		return PC_EPERM;
	default:
		return PC_ESYS;
	}
}
