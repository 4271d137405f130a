/* pc_err.c: messages for pidcast's error codes. */
#include "base/pc_err.h"

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
