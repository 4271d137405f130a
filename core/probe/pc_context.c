/* pc_context.c: a cgroup path read as containers, pods and units. */
#include "probe/pc_context.h"

#include <stdlib.h>
#include <string.h>

#include "base/pc_err.h"
#include "record/pc_proc.h"

#define ID_LEN  64 /* a container id: sha256 in hex */
#define UID_LEN 36 /* a pod uid: 8-4-4-4-12 */

static bool
is_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
			return false;
		}
	}
	return true;
}

static bool
ends_with(const char *s, size_t n, const char *tail)
{
	size_t t = strlen(tail);

	return n >= t && memcmp(s + n - t, tail, t) == 0;
}

static bool
starts_with(const char *s, size_t n, const char *head)
{
	size_t h = strlen(head);

	return n >= h && memcmp(s, head, h) == 0;
}

/* A copy of n bytes of s, NUL-terminated. */
static char *
dup_n(const char *s, size_t n)
{
	char *d = malloc(n + 1);

	if (d != NULL) {
		memcpy(d, s, n);
		d[n] = '\0';
	}
	return d;
}

/* The container id a component names, or NULL: RUNTIME-ID.scope (systemd
 * driver) or ID alone (cgroupfs driver). */
static const char *
container_in(const char *c, size_t n)
{
	static const char *const runtimes[] = { "docker-", "cri-containerd-", "crio-", "libpod-" };

	if (n == ID_LEN && is_hex(c, n)) {
		return c;
	}
	if (!ends_with(c, n, ".scope")) {
		return NULL;
	}
	n -= strlen(".scope");
	for (size_t i = 0; i < sizeof(runtimes) / sizeof(runtimes[0]); i++) {
		size_t h = strlen(runtimes[i]);
		if (n == h + ID_LEN && starts_with(c, n, runtimes[i]) && is_hex(c + h, ID_LEN)) {
			return c + h;
		}
	}
	return NULL;
}

/* The pod uid a component of a kubepods path names, into uid (UID_LEN + 1
 * bytes): kubepods-besteffort-pod<uid, '_' for '-'>.slice, or pod<uid>. */
static bool
pod_in(const char *c, size_t n, char *uid)
{
	const char *at;

	if (starts_with(c, n, "kubepods") && ends_with(c, n, ".slice")) {
		n -= strlen(".slice");
		at = c + n - UID_LEN;
		if (n < UID_LEN + 4 || memcmp(at - 4, "-pod", 4) != 0) {
			return false;
		}
	} else if (n == UID_LEN + 3 && starts_with(c, n, "pod")) {
		at = c + 3;
	} else {
		return false;
	}
	for (size_t i = 0; i < UID_LEN; i++) {
		char ch   = at[i] == '_' ? '-' : at[i];
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;
		if (dash ? ch != '-' : !is_hex(&ch, 1)) {
			return false;
		}
		uid[i] = ch;
	}
	uid[UID_LEN] = '\0';
	return true;
}

bool
pc_context_pick(const char *text, char *out, size_t cap)
{
	const char *found = NULL;

	for (const char *line = text; line != NULL && *line != '\0';) {
		const char *c = strchr(line, ':');
		if (c != NULL && strncmp(line, "0::", 3) == 0) {
			found = line + 3;
			break; /* v2 wins */
		}
		if (c != NULL && strncmp(c + 1, "name=systemd:", 13) == 0) {
			found = c + 14;
		}
		line = strchr(line, '\n');
		line = line != NULL ? line + 1 : NULL;
	}
	if (found == NULL || cap == 0) {
		return false;
	}
	size_t n = strcspn(found, "\n");
	if (n >= cap) {
		n = cap - 1;
	}
	memmove(out, found, n); /* out may be text's own buffer */
	out[n] = '\0';
	return true;
}

int
pc_context_parse(const char *path, pc_context *ctx)
{
	const char *id = NULL, *unit = NULL, *scope = NULL;
	size_t      unit_n = 0, scope_n = 0;
	bool        kube = false, pod = false;
	char        uid[UID_LEN + 1];

	pc_context_clear(ctx);
	for (const char *c = path; *c != '\0';) {
		size_t      n = strcspn(c, "/");
		const char *cid;

		if (n > 0) {
			kube = kube || starts_with(c, n, "kubepods");
			if (kube && pod_in(c, n, uid)) {
				pod = true;
			}
			if ((cid = container_in(c, n)) != NULL) {
				id = cid;
			}
			if (ends_with(c, n, ".service")) {
				unit   = c;
				unit_n = n;
			} else if (ends_with(c, n, ".scope")) {
				scope   = c;
				scope_n = n;
			}
		}
		c += n + (c[n] == '/');
	}
	if (unit == NULL) {
		unit   = scope;
		unit_n = scope_n;
	}
	if ((ctx->cgroup = pc_strdup(path)) == NULL ||
	    (id != NULL && (ctx->container_id = dup_n(id, ID_LEN)) == NULL) ||
	    (pod && (ctx->pod_uid = pc_strdup(uid)) == NULL) ||
	    (unit != NULL && (ctx->service = dup_n(unit, unit_n)) == NULL)) {
		pc_context_clear(ctx);
		return PC_ENOMEM;
	}
	return PC_OK;
}

/* A copy of s, NULL staying NULL; false when out of memory. */
static bool
copy_str(char **dst, const char *s)
{
	return s == NULL || (*dst = pc_strdup(s)) != NULL;
}

int
pc_context_copy(pc_context *dst, const pc_context *src)
{
	pc_context_clear(dst);
	if (!copy_str(&dst->cgroup, src->cgroup) ||
	    !copy_str(&dst->container_id, src->container_id) ||
	    !copy_str(&dst->pod_uid, src->pod_uid) || !copy_str(&dst->service, src->service)) {
		pc_context_clear(dst);
		return PC_ENOMEM;
	}
	return PC_OK;
}

void
pc_context_fill(const pc_context *ctx, pc_proc *r)
{
	r->cgroup       = ctx->cgroup;
	r->container_id = ctx->container_id;
	r->pod_uid      = ctx->pod_uid;
	r->service      = ctx->service;
}

void
pc_context_clear(pc_context *ctx)
{
	free(ctx->cgroup);
	free(ctx->container_id);
	free(ctx->pod_uid);
	free(ctx->service);
	memset(ctx, 0, sizeof(*ctx));
}
