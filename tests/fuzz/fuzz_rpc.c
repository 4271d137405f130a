/* fuzz_rpc.c: libFuzzer target for the RPC server: any bytes as a request
 * to the Agent service over a replica with processes; the reply must always
 * be a Reply that decodes, its message valid UTF-8 whatever the request
 * echoed into it. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wire/pc_codec.h"
#include "base/pc_err.h"
#include "base/pc_utf8.h"
#include "stream/pc_replica.h"
#include "rpc/pc_rpc.h"
#include "service/pc_service.h"
#include "wire/pc_update.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A replica with a few processes, through a real keyframe. */
static pc_replica *
replica(void)
{
	pc_replica        *r;
	Pidcast__Update    u = PIDCAST__UPDATE__INIT;
	Pidcast__Process   m[8], *mp[8];
	pc_proc            p[8];
	pc_apply           res;
	static const char *names[] = { "init", "sshd", "python3", "bash" };

	if (pc_replica_open(&r) != PC_OK) {
		abort();
	}
	memset(p, 0, sizeof(p));
	for (int i = 0; i < 8; i++) {
		Pidcast__Process init = PIDCAST__PROCESS__INIT;
		p[i].pid              = (uint32_t)(1 + i * 100);
		p[i].create_time_ms   = 1700000000000ULL + (uint64_t)i;
		p[i].ppid             = i ? 1 : 0;
		p[i].name             = (char *)names[i % 4];
		p[i].user             = "root";
		p[i].cpu_user_us      = (uint64_t)i * 1000;
		p[i].rss_bytes        = (uint64_t)i << 20;
		m[i]                  = init;
		pc_codec_proc_to_msg(&p[i], PC_MASK_ALL, &m[i]);
		mp[i] = &m[i];
	}
	u.host            = "fuzzhost";
	u.has_instance_id = u.has_seq = u.has_time_ms = u.has_kind = 1;
	u.instance_id                                              = 7;
	u.seq                                                      = 1;
	u.time_ms                                                  = 1700000000000ULL;
	u.kind      = PIDCAST__UPDATE__KIND__KEYFRAME;
	u.upserts   = mp;
	u.n_upserts = 8;
	if (pc_replica_apply(r, &u, NULL, NULL, &res) != PC_OK) {
		abort();
	}
	return r;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static pc_service *svc;
	static nng_mtx    *lock;
	static pc_buf      out;
	Pidcast__Reply    *r;

	if (svc == NULL) {
		if (nng_mtx_alloc(&lock) != 0 || pc_service_open(&svc, lock, NULL) != PC_OK ||
		    pc_service_add(svc, replica()) != PC_OK) {
			abort();
		}
	}
	pc_rpc_serve(pc_service_base(svc), data, size, &out);
	if ((r = pidcast__reply__unpack(NULL, out.len, (const uint8_t *)out.data)) == NULL ||
	    !r->has_status || (r->message != NULL && !pc_utf8_valid(r->message))) {
		abort(); /* every answer is a Reply with a status, in UTF-8 */
	}
	pidcast__reply__free_unpacked(r, NULL);
	return 0;
}
