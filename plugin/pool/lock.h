/* Per-VD advisory locks (flock on a file per VD) that serialise what changes a VD's extents
 * (resize, delete, gc reclaim) against what maps them (block-vd add/remove, map, import).
 * The lock directory is beside the database: <dbdir>/locks/, root's and only root's; lock files
 * are never followed through a symlink.
 */
#ifndef XENVD_LOCK_H
#define XENVD_LOCK_H

#include "pool/db.h"

/* Takes VD id's lock, waiting up to timeout_ms (0: do not wait; -EWOULDBLOCK when held).
 * *ret_fd holds it; close() releases it. */
int vd_lock_vdisk(struct vd_db *db, uint32_t id, int timeout_ms, int *ret_fd);

/* Removes VD id's lock file, for a VD whose extents were reclaimed (ids are never reused). Call
 * it holding the lock; a process that was waiting for it notices and takes a new one. */
void vd_lock_remove(struct vd_db *db, uint32_t id);

#endif
