/* For unit tests that need a pool: its database is a file, or with XENVD_DB_STORAGE=pool (the
 * second run of the suite, tests/onpool-suite.sh) on the pool's first device, which is grown by
 * the metadata area so that it holds the same extents. Also a raw SQLite connection to either,
 * for tests that damage the database behind the library's back. */
#ifndef XENVD_TEST_POOL_FIXTURE_H
#define XENVD_TEST_POOL_FIXTURE_H

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pool/db.h"
#include "pool/db_vfs.h"
#include "pool/mdarea.h"
#include "pool/pool.h"

static inline bool fixture_onpool(void)
{
	const char *s = getenv("XENVD_DB_STORAGE");

	return s && strcmp(s, "pool") == 0;
}

static inline int fixture_new_pool(const char *db_path, const char *dev_path,
				   const struct vd_format_opts *fo, struct vd_db **ret)
{
	struct vd_format_opts o = *fo;
	struct stat st;
	int r;

	if (!fixture_onpool()) {
		r = vd_db_open(db_path, VD_DB_CREATE, ret);
		if (r == 0)
			r = vd_pool_format(*ret, dev_path, fo, NULL);
		return r;
	}
	o.max_extents = 4096;
	if (stat(dev_path, &st) < 0 ||
	    truncate(dev_path, st.st_size + (off_t)vd_mdarea_size_for(o.max_extents)) < 0)
		return -errno;
	return vd_pool_format_onpool(db_path, dev_path, &o, ret, NULL);
}

static struct vd_db_vfs *fixture_raw_vfs;

static inline int fixture_raw_open(const char *db_path, sqlite3 **ret)
{
	if (!vd_locator_is(db_path))
		return sqlite3_open(db_path, ret);
	if (vd_db_vfs_attach(db_path, false, &fixture_raw_vfs) < 0)
		return SQLITE_CANTOPEN;
	return sqlite3_open_v2(vd_db_vfs_filename(fixture_raw_vfs), ret, SQLITE_OPEN_READWRITE,
			       VD_DB_VFS_NAME);
}

static inline void fixture_raw_close(sqlite3 *sql)
{
	sqlite3_close(sql);
	vd_db_vfs_detach(fixture_raw_vfs);
	fixture_raw_vfs = NULL;
}

#endif
