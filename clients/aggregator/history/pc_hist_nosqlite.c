/* pc_hist_nosqlite.c: the SQLite store of a build without SQLite (Windows):
 * it says so at open, and the aggregator takes ClickHouse or none. */
#include "pc_hist_store.h"

#include <stdio.h>

#include "base/pc_err.h"

static int
store_open(pc_hstore **out, const char *url, char *err, size_t n)
{
	(void)url;
	*out = NULL;
	snprintf(err, n, "sqlite: not in this build (Windows): use clickhouse://HOST:PORT/DB");
	return PC_ENOTSUP;
}

const pc_hstore_ops pc_hstore_sqlite = { .scheme = "sqlite", .open = store_open };
