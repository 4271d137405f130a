/* pc_context.h: whose process it is, from its cgroup path: the container
 * and Kubernetes pod that the path names, the way the runtimes name their
 * cgroups, and the systemd unit. Pure text work, the same on every OS (the
 * Linux backends read the path: pc_procfs_text.h). */
#ifndef PC_CONTEXT_H
#define PC_CONTEXT_H

#include <stdbool.h>
#include <stddef.h>

#include "record/pc_proc.h"

/* A process's context; each string malloc'd, NULL when there is none. */
typedef struct pc_context {
	char *cgroup;       /* the v2 path, "/system.slice/cron.service" */
	char *container_id; /* 64 hex digits, lower case */
	char *pod_uid;      /* with dashes, as Kubernetes writes it */
	char *service;      /* the last "*.service" of the path, else the last "*.scope" */
} pc_context;

/* From the text of /proc/PID/cgroup, the path of the cgroup v2 line
 * ("0::PATH"), else of the name=systemd one (a v1-only host): copied to
 * out (cap bytes, cut if longer), which may be text's own buffer. false
 * when the text has neither. */
bool pc_context_pick(const char *text, char *out, size_t cap);

/* Sets ctx from a cgroup path: the path, and what it names. Recognised
 * (the last match of the path wins, so a nested container is the inner
 * one): docker-ID.scope, cri-containerd-ID.scope, crio-ID.scope,
 * libpod-ID.scope (systemd driver), and a component of 64 hex digits
 * (cgroupfs driver: /docker/ID, /kubepods/.../ID); the pod from
 * kubepods-...-podUID.slice (underscores back to dashes) or
 * /kubepods/.../podUID. conmon's scopes are not containers. PC_OK, or
 * PC_ENOMEM with ctx cleared. */
int pc_context_parse(const char *path, pc_context *ctx);

/* dst (cleared first) as a copy of src. PC_OK, or PC_ENOMEM with dst
 * cleared. */
int pc_context_copy(pc_context *dst, const pc_context *src);

/* Points r's context fields at ctx's strings (borrowed, as a probe's
 * snapshot records are). */
void pc_context_fill(const pc_context *ctx, pc_proc *r);

/* Frees the strings; ctx is all NULL after. */
void pc_context_clear(pc_context *ctx);

#endif
