/* Per-VD advisory locks (flock on a file per VD) that serialise what changes a VD's extents
 * (resize, delete, gc reclaim) against what maps them (block-vd add/remove, map, import).
 * The lock directory is beside the database file, <dbdir>/locks/, root's and only root's; lock
 * files are never followed through a symlink. This module knows the database only by its path.
 */
#ifndef XENVD_LOCK_H
#define XENVD_LOCK_H

#include "base/util.h"

/* How long each caller waits for a VD's lock. */
#define VD_LOCK_NO_WAIT 0		 /* gc and allocation skip a busy VD */
#define VD_LOCK_WAIT_IMPORT_MS 5000	 /* import: a mapped VD is not waited for long */
#define VD_LOCK_WAIT_CHANGE_MS 10000 /* resize, scrub */

/* Takes VD id's lock for the database at db_path (vd_db_path()), waiting up to timeout_ms
 * (VD_LOCK_NO_WAIT: -EWOULDBLOCK when held). *ret_fd holds it; close() releases it. */
int vd_lock_vdisk(const char *db_path, uint32_t id, int timeout_ms, int *ret_fd);

/* Removes VD id's lock file, for a VD whose extents were reclaimed (ids are never reused). Call
 * it holding the lock; a process that was waiting for it notices and takes a new one. */
void vd_lock_remove(const char *db_path, uint32_t id);

#endif
