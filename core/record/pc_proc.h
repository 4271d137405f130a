/* pc_proc.h: the process record of DESIGN.md, one struct for every OS, and
 * the table that names its fields for the diff, the codec and JSON. */
#ifndef PC_PROC_H
#define PC_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Every field but the key (pid, create_time_ms), in the order of their
 * numbers in proto/pidcast.proto (ppid is field 3): the codec relies on it,
 * and test_codec checks it against the generated descriptor. */
typedef enum pc_field {
	PC_F_PPID,
	PC_F_NAME,
	PC_F_EXE,
	PC_F_CMDLINE,
	PC_F_USER,
	PC_F_THREADS,
	PC_F_HANDLES,
	PC_F_CPU_USER_US,
	PC_F_CPU_SYSTEM_US,
	PC_F_RSS_BYTES,
	PC_F_PEAK_RSS_BYTES,
	PC_F_PRIVATE_BYTES,
	PC_F_PAGE_FAULTS,
	PC_F_IO_READ_OPS,
	PC_F_IO_WRITE_OPS,
	PC_F_IO_OTHER_OPS,
	PC_F_IO_READ_BYTES,
	PC_F_IO_WRITE_BYTES,
	PC_F_IO_OTHER_BYTES,
	PC_F_PARTIAL,
	PC_F_KERNEL,
	PC_F_STATE,
	PC_F_CGROUP,
	PC_F_CONTAINER_ID,
	PC_F_POD_UID,
	PC_F_SERVICE,
	PC_F_COUNT
} pc_field;

/* A set of fields, bit (1 << pc_field). */
typedef uint32_t pc_mask;
#define PC_MASK_ALL ((pc_mask)((1u << PC_F_COUNT) - 1))
#define PC_BIT(f)   ((pc_mask)1u << (f))

/* The context fields: read from text that changes rarely (docs/PROBES.md). */
#define PC_MASK_CONTEXT                                                           \
	(PC_BIT(PC_F_CGROUP) | PC_BIT(PC_F_CONTAINER_ID) | PC_BIT(PC_F_POD_UID) | \
	 PC_BIT(PC_F_SERVICE))

/* The strings that a delta clears with "" (docs/PROTOCOL.md §7): for them
 * an empty string is never a value, so "" in a delta says "none now". */
#define PC_MASK_CLEARABLE (PC_BIT(PC_F_STATE) | PC_MASK_CONTEXT)

/* The text a probe reads rarely, which pc_proc_diff() skips when both
 * records carry the same text_id. */
#define PC_MASK_TEXT (PC_BIT(PC_F_EXE) | PC_BIT(PC_F_CMDLINE) | PC_BIT(PC_F_USER) | PC_MASK_CONTEXT)

/* The fields that a probe's stats_for_pids reads: every number that
 * changes (its records carry no strings). */
#define PC_MASK_STATS                                                                        \
	(PC_MASK_ALL &                                                                       \
	 ~(PC_BIT(PC_F_PPID) | PC_BIT(PC_F_NAME) | PC_BIT(PC_F_EXE) | PC_BIT(PC_F_CMDLINE) | \
	   PC_BIT(PC_F_USER) | PC_BIT(PC_F_KERNEL) | PC_BIT(PC_F_STATE) | PC_MASK_CONTEXT))

typedef enum pc_type { PC_T_U32, PC_T_U64, PC_T_STR, PC_T_BOOL } pc_type;

typedef struct pc_field_info {
	const char *name; /* the proto field name, and the JSON key */
	pc_type     type;
	size_t      offset; /* in struct pc_proc */
} pc_field_info;

extern const pc_field_info pc_fields[PC_F_COUNT];

/* How a process ended, as the probe saw it end (known), in a snapshot's
 * exits and an exit event; not a field: it never changes while the process
 * lives, and the diff does not look at it. */
typedef struct pc_exit {
	bool     known;
	int32_t  code;    /* its exit code, when it exited (0-255) */
	int32_t  signal;  /* the signal that ended it, else 0 */
	uint64_t time_ms; /* Unix milliseconds */
} pc_exit;

/* One process. Strings are owned by the record (NULL when unknown) and
 * freed by pc_proc_clear(). They are valid UTF-8 (base/pc_utf8.h): the
 * probes repair what they read from the OS, and pc_proc_set_str() what it
 * is given, which covers every string decoded from a peer. */
typedef struct pc_proc {
	uint32_t pid;
	uint64_t create_time_ms; /* Unix milliseconds */
	uint32_t ppid;
	char    *name;
	char    *exe;
	char    *cmdline;
	char    *user;
	uint32_t threads;
	uint32_t handles;
	uint64_t cpu_user_us;
	uint64_t cpu_system_us;
	uint64_t rss_bytes;
	uint64_t peak_rss_bytes;
	uint64_t private_bytes;
	uint64_t page_faults;
	uint64_t io_read_ops;
	uint64_t io_write_ops;
	uint64_t io_other_ops;
	uint64_t io_read_bytes;
	uint64_t io_write_bytes;
	uint64_t io_other_bytes;
	bool     partial;
	bool     kernel;
	char    *state; /* one letter; a probe points it at pc_proc_state_str() */
	char    *cgroup;
	char    *container_id;
	char    *pod_uid;
	char    *service;
	pc_exit  exit; /* set only on a record of a process that ended */
	/* Not a field: a probe's mark of the PC_MASK_TEXT strings it gave,
	 * new (pc_probe_text_id()) whenever they may have changed, so that
	 * the cache compares a number a tick, not a command line; 0 when
	 * unknown (then the strings are compared). */
	uint64_t text_id;
} pc_proc;

/* The state letter c as a string that lives forever ("R"), for a probe's
 * records; NULL for a letter that no OS gives. */
const char *pc_proc_state_str(char c);

/* A copy of s, or NULL when out of memory (strdup is POSIX, not C11). */
char *pc_strdup(const char *s);

/* Frees the strings and zeroes the record. */
void pc_proc_clear(pc_proc *p);

/* Replaces a string field with a copy of s (NULL clears it), repaired to
 * valid UTF-8 (invalid bytes as U+FFFD). */
int pc_proc_set_str(pc_proc *p, pc_field f, const char *s);

/* Copies the fields in mask from src to dst (strings duplicated); the key
 * and the exit status are copied too. On PC_ENOMEM dst keeps its old value for the failed field. */
int pc_proc_assign(pc_proc *dst, const pc_proc *src, pc_mask mask);

/* The fields whose values differ; the key is not compared, nor the
 * PC_MASK_TEXT strings of two records with the same nonzero text_id. */
pc_mask pc_proc_diff(const pc_proc *a, const pc_proc *b);

#endif
