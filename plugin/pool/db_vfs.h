/* SQLite's boundary for a pool that carries its own database: the SQLite VFS "xenvd-mdarea",
 * which puts the database file and its rollback journal on the regions of the pool's metadata
 * area (mdarea.c) and passes SQLite's lock calls to the pool's metadata lock (mdlock.c). db.c
 * opens the database through it; nothing here runs SQL.
 */
#ifndef XENVD_DB_VFS_H
#define XENVD_DB_VFS_H

#include "pool/mdarea.h"

#define VD_DB_VFS_NAME "xenvd-mdarea"

struct vd_db_vfs;

/* Reads the locator at locator_path, finds the devices carrying the pool's metadata area
 * (at their recorded paths, else by their labels), opens the area, takes the local lock and
 * makes the area known to SQLite under a name for sqlite3_open_v2(name, ..., VD_DB_VFS_NAME).
 * A damaged area is refused with a message naming the device and what is wrong. */
int vd_db_vfs_attach(const char *locator_path, bool readonly, struct vd_db_vfs **ret);
const char *vd_db_vfs_filename(const struct vd_db_vfs *v);
struct vd_mdarea *vd_db_vfs_area(const struct vd_db_vfs *v);
/* How many copies of the area the locator names; fewer serve when one was left out. */
size_t vd_db_vfs_copies_named(const struct vd_db_vfs *v);
/* Whether the pool is shared (its lock takes the sanlock metadata lease); idle lets the lease
 * go between operations (the next lock takes it again); why the last lock call failed. */
bool vd_db_vfs_shared(const struct vd_db_vfs *v);
int vd_db_vfs_idle(struct vd_db_vfs *v);
const char *vd_db_vfs_lock_error(const struct vd_db_vfs *v, int *ret_errno);
/* A shared pool's lease area, from its locator and metadata area header, without opening the
 * database or taking any lock (lockspace-start, host-list): -ENOENT with a message when the
 * pool is not shared. */
struct vd_sanlock_area;
int vd_db_vfs_lease_area(const char *locator_path, struct vd_sanlock_area *ret);
/* A shared pool's: this host's id in its lockspace (as checked at attach), and its lease area;
 * 0 and NULL for an unshared pool. */
uint32_t vd_db_vfs_host_id(const struct vd_db_vfs *v);
const struct vd_sanlock_area *vd_db_vfs_lease(const struct vd_db_vfs *v);
/* After sqlite3_close: forgets the name, releases the area and the lock. */
void vd_db_vfs_detach(struct vd_db_vfs *v);

#endif
