/* pc_winproc.c: a Windows process's image path, command line and user,
 * read once when a probe first sees it; the SID name cache. */
#include "probe/pc_winproc.h"

#include <sddl.h>
#include <winternl.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "base/pc_utf8.h"
#include "record/pc_proc.h"

#define EPOCH_DIFF_100NS 116444736000000000ULL

struct pc_win_user {
	char *sid; /* string form, the key */
	char *name;
};

uint64_t
pc_win_unix_ms(uint64_t t)
{
	return t > EPOCH_DIFF_100NS ? (t - EPOCH_DIFF_100NS) / 10000u : 0;
}

/* NtQueryInformationProcess class for the command line (Windows 8.1+). */
#define PROCESS_COMMAND_LINE_INFORMATION 60

/* ProcessBasicInformation answers with this larger form when asked for it
 * (Windows 8+); bit 0 of Flags is IsProtectedProcess. */
typedef struct {
	SIZE_T                    Size;
	PROCESS_BASIC_INFORMATION BasicInfo;
	ULONG                     Flags;
} extended_basic_info;

static bool
is_protected(HANDLE h)
{
	extended_basic_info info;
	ULONG               n;

	memset(&info, 0, sizeof(info));
	info.Size = sizeof(info);
	if (NtQueryInformationProcess(h, ProcessBasicInformation, &info, sizeof(info), &n) < 0 ||
	    n != sizeof(info)) {
		return false; /* no extended form (older Windows, Wine): unknown */
	}
	return (info.Flags & 1u) != 0;
}

size_t
pc_win_utf8_to(char *out, size_t cap, const WCHAR *w, int n)
{
	return pc_utf8_from_utf16(out, cap, (const uint16_t *)w, n < 0 ? SIZE_MAX : (size_t)n);
}

char *
pc_win_utf8(const WCHAR *w, int n)
{
	size_t units = n < 0 ? wcslen(w) : (size_t)n;
	char  *s     = malloc(3 * units + 1); /* a unit takes at most 3 bytes */

	if (s != NULL) {
		pc_win_utf8_to(s, 3 * units + 1, w, (int)units);
	}
	return s;
}

static char *
image_path(HANDLE h)
{
	WCHAR buf[32768];
	DWORD n = (DWORD)(sizeof(buf) / sizeof(buf[0]));

	return QueryFullProcessImageNameW(h, 0, buf, &n) ? pc_win_utf8(buf, (int)n) : NULL;
}

/* DOMAIN\user of the process token, looked up once per SID. */
static const char *
token_user(pc_win_users *t, HANDLE h)
{
	HANDLE tok;
	union {
		TOKEN_USER tu;
		BYTE       raw[256];
	} info;
	DWORD        n;
	char        *sid = NULL;
	WCHAR        name[256], dom[256];
	DWORD        nn = 256, dn = 256;
	SID_NAME_USE use;
	const char  *out = NULL;

	if (!OpenProcessToken(h, TOKEN_QUERY, &tok)) {
		return NULL;
	}
	if (!GetTokenInformation(tok, TokenUser, &info, sizeof(info), &n)) {
		CloseHandle(tok);
		return NULL;
	}
	CloseHandle(tok);
	if (!ConvertSidToStringSidA(info.tu.User.Sid, &sid)) {
		return NULL;
	}
	for (size_t i = 0; i < t->n; i++) {
		if (strcmp(t->users[i].sid, sid) == 0) {
			LocalFree(sid);
			return t->users[i].name;
		}
	}
	struct pc_win_user *grown = realloc(t->users, (t->n + 1) * sizeof(*grown));
	if (grown != NULL) {
		char *full = NULL;
		t->users   = grown;
		if (LookupAccountSidW(NULL, info.tu.User.Sid, name, &nn, dom, &dn, &use)) {
			char *u = pc_win_utf8(name, -1), *d = pc_win_utf8(dom, -1);
			if (u != NULL && d != NULL &&
			    (full = malloc(strlen(u) + strlen(d) + 2)) != NULL) {
				sprintf(full, "%s\\%s", d, u);
			}
			free(u);
			free(d);
		} else {
			full = pc_strdup(sid); /* an account with no name: its SID */
		}
		char *key = pc_strdup(sid);
		if (full != NULL && key != NULL) {
			t->users[t->n++] = (struct pc_win_user){ key, full };
			out              = full;
		} else {
			free(full);
			free(key);
		}
	}
	LocalFree(sid);
	return out;
}

/* The longest command line Windows has: 32,767 UTF-16 units. */
#define CMDLINE_BYTES (32768 * sizeof(WCHAR))

/* The command line into raw (cap bytes): NtQueryInformationProcess class 60
 * where the OS has it (it needs only the limited right); else the PEB's
 * process parameters, read with a second, short-lived handle with
 * PROCESS_VM_READ (Wine 8 answers class 60 with STATUS_INVALID_INFO_CLASS). */
static char *
command_line_in(HANDLE h, DWORD pid, BYTE *raw, size_t cap)
{
	UNICODE_STRING             *us = (UNICODE_STRING *)raw;
	ULONG                       n;
	PROCESS_BASIC_INFORMATION   pbi;
	PEB                         peb;
	RTL_USER_PROCESS_PARAMETERS params;
	HANDLE                      vm;
	char                       *out = NULL;

	if (NtQueryInformationProcess(h, (PROCESSINFOCLASS)PROCESS_COMMAND_LINE_INFORMATION, raw,
	                              (ULONG)cap, &n) >= 0) {
		return pc_win_utf8(us->Buffer, us->Length / sizeof(WCHAR));
	}
	/* Never ask a protected process for more than the limited right. */
	if (is_protected(h)) {
		return NULL;
	}
	vm = OpenProcess(PROCESS_QUERY_INFORMATION | PROCESS_VM_READ, FALSE, pid);
	if (vm == NULL) {
		return NULL;
	}
	if (NtQueryInformationProcess(vm, ProcessBasicInformation, &pbi, sizeof(pbi), &n) >= 0 &&
	    pbi.PebBaseAddress != NULL &&
	    ReadProcessMemory(vm, pbi.PebBaseAddress, &peb, sizeof(peb), NULL) &&
	    ReadProcessMemory(vm, peb.ProcessParameters, &params, sizeof(params), NULL) &&
	    params.CommandLine.Length <= cap - sizeof(WCHAR)) {
		WCHAR *buf = (WCHAR *)raw;
		if (params.CommandLine.Length == 0) {
			out = pc_strdup("");
		} else if (ReadProcessMemory(vm, params.CommandLine.Buffer, buf,
		                             params.CommandLine.Length, NULL)) {
			out = pc_win_utf8(buf, params.CommandLine.Length / sizeof(WCHAR));
		}
	}
	CloseHandle(vm);
	return out;
}

/* Read whole (it is at most CMDLINE_BYTES), so that it is scrubbed whole
 * before it is cut to the probe's limit. */
static char *
command_line(HANDLE h, DWORD pid)
{
	union cl {
		UNICODE_STRING us;
		BYTE           raw[sizeof(UNICODE_STRING) + CMDLINE_BYTES];
	} *cl = malloc(sizeof(*cl));
	char *out;

	if (cl == NULL) {
		return NULL;
	}
	out = command_line_in(h, pid, cl->raw, sizeof(cl->raw));
	free(cl);
	return out;
}

void
pc_win_users_fini(pc_win_users *u)
{
	for (size_t i = 0; i < u->n; i++) {
		free(u->users[i].sid);
		free(u->users[i].name);
	}
	free(u->users);
	u->users = NULL;
	u->n     = 0;
}

bool
pc_win_statics(pc_win_users *u, const pc_probe *p, HANDLE h, DWORD pid, char **exe, char **cmdline,
               const char **user)
{
	char *raw = command_line(h, pid);
	bool  cut = false;

	*exe     = image_path(h);
	*cmdline = raw != NULL ? pc_scrub_cut(raw, &p->scrub, p->cmdline_max, &cut) : NULL;
	*user    = token_user(u, h);
	free(raw);
	return *exe != NULL && *cmdline != NULL && *user != NULL && !cut;
}
