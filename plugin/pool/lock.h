/* Per-VD advisory locks (flock on a file per VD) that serialise what changes a VD's extents
 * (resize, delete, gc reclaim) against what maps them (block-vd add/remove, map, import).
 * The lock directory is beside the database: <dbdir>/locks/.
 */
#ifndef XENVD_LOCK_H
#define XENVD_LOCK_H

#include "pool/db.h"

/* Takes VD id's lock, waiting up to timeout_ms (0: do not wait; -EWOULDBLOCK when held).
 * *ret_fd holds it; close() releases it. */
/* How long each caller waits for a VD's lock. */
#define VD_LOCK_NO_WAIT 0		 /* gc and allocation skip a busy VD */
#define VD_LOCK_WAIT_IMPORT_MS 5000	 /* import: a mapped VD is not waited for long */
#define VD_LOCK_WAIT_CHANGE_MS 10000 /* resize, scrub */

int vd_lock_vdisk(struct vd_db *db, uint32_t id, int timeout_ms, int *ret_fd);

#endif
