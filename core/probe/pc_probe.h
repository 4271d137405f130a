/* pc_probe.h: the probe interface, modeled on the Datadog Agent's procutil
 * Probe: processes_by_pid(now, collect_stats) and stats_for_pids(pids, now).
 *
 * A backend (Toolhelp on Windows, /proc on Linux, a scripted one in tests)
 * embeds struct pc_probe as its first member. It keeps, per process, what
 * makes the next tick cheap (an open handle or held fds) and what never
 * changes (exe, command line, user), and releases both as soon as the
 * process is gone. It knows nothing of the wire. */
#ifndef PC_PROBE_H
#define PC_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "record/pc_proc.h"
#include "probe/pc_scrub.h"

/* One tick's records. Their strings are borrowed from the probe and stay
 * valid until its next call: never pc_proc_clear() them.
 *
 * exits are the processes that ended since the last snapshot, as a
 * backend that watches them end (bpf) saw them: each with its final
 * record (every field, the counters read at its end) and exit.known set,
 * short-lived ones that no snapshot listed included. A backend that only
 * polls (procfs, Windows) reports none: a process missing from procs is
 * then an exit of which only the key is known. A process is never in
 * both lists. */
typedef struct pc_snapshot {
	pc_proc *procs;
	size_t   n;
	size_t   cap;
	pc_proc *exits;
	size_t   n_exits;
	size_t   cap_exits;
	uint64_t time_ms; /* Unix milliseconds when the snapshot was taken */
} pc_snapshot;

/* Appends a zeroed record; NULL when out of memory. */
pc_proc *pc_snapshot_add(pc_snapshot *s);
pc_proc *pc_snapshot_add_exit(pc_snapshot *s);
void     pc_snapshot_reset(pc_snapshot *s);
void     pc_snapshot_fini(pc_snapshot *s);

typedef struct pc_probe pc_probe;

/* What a backend that watches processes end has seen, since it opened. */
typedef struct pc_probe_stats {
	bool     events; /* it watches forks, execs and exits */
	uint64_t exits;  /* exits reported in snapshots */
	/* Events the kernel dropped because its ring buffer was full: each
	 * lost exit is a process reported by key only, or not at all. */
	uint64_t lost_forks, lost_execs, lost_exits;
} pc_probe_stats;

typedef struct pc_probe_ops {
	const char *name;
	/* On failure, why (cap bytes, may be NULL) says what an operator
	 * can do about it. */
	int (*open)(pc_probe **out, char *why, size_t cap);
	void (*close)(pc_probe *p);
	/* Every process on the host. Without collect_stats, only the key and
	 * the fields that never change (ppid, name, exe, cmdline, user). */
	int (*processes_by_pid)(pc_probe *p, uint64_t now_ms, bool collect_stats, pc_snapshot *out);
	/* Counters of the given processes; PIDs that do not exist are left out. */
	int (*stats_for_pids)(pc_probe *p, const uint32_t *pids, size_t n, uint64_t now_ms,
	                      pc_snapshot *out);
	/* Optional (NULL: a backend that only polls). */
	void (*stats)(pc_probe *p, pc_probe_stats *out);
} pc_probe_ops;

struct pc_probe {
	const pc_probe_ops *ops;
	pc_scrub            scrub;       /* applied to command lines as they are read */
	size_t              cmdline_max; /* then cut to this; 0: PC_CMDLINE_MAX */
};

/* Sets how command lines are scrubbed (on, with the built-in words, by
 * default); s->extra is borrowed. Call before the first snapshot. */
void pc_probe_set_scrub(pc_probe *p, const pc_scrub *s);

/* Sets the longest command line a record holds (0: PC_CMDLINE_MAX); one
 * cut there, after scrubbing, marks the record partial. */
void pc_probe_set_cmdline_max(pc_probe *p, size_t max);

/* The Linux probe reads what only /proc/PID/status has (the uid, the peak
 * RSS and swap) when a process is new and then once in this many ticks;
 * peak RSS is raised to the current RSS every tick in between. */
#define PC_PROBE_STATUS_EVERY 16

/* procfs re-reads a process's cgroup (its context) once in this many
 * ticks, staggered by PID, so that a move to another cgroup shows within
 * as many ticks at an eighth of a file read a process a tick; bpf sees
 * the cgroup's id every tick and reads the path only when it changes. */
#define PC_PROBE_CONTEXT_EVERY 8

/* The backends built for this OS, NULL-terminated; the first is the default. */
extern const pc_probe_ops *const pc_probe_backends[];

/* Opens the backend of that name, PC_ENOENT if none; or with name NULL
 * the first of pc_probe_backends that opens (the others are fallbacks:
 * bpf, then procfs, on Linux). why (cap bytes, may be NULL) gets, for the
 * named backend, why it failed, and with name NULL, why each one before
 * the one that opened failed ("bpf: ...") or "" when the first did. */
int  pc_probe_open_why(const char *name, pc_probe **out, char *why, size_t cap);
int  pc_probe_open(const char *name, pc_probe **out); /* why NULL */
void pc_probe_close(pc_probe *p);
int  pc_probe_processes_by_pid(pc_probe *p, uint64_t now_ms, bool collect_stats, pc_snapshot *out);
int  pc_probe_stats_for_pids(pc_probe *p, const uint32_t *pids, size_t n, uint64_t now_ms,
                             pc_snapshot *out);
/* The backend's event figures; all 0 (events false) for one that polls. */
void pc_probe_stats_get(pc_probe *p, pc_probe_stats *out);

#endif
