/* `xl-vd import`: a raw image copied into a VD's extents straight on the pool devices (no dm
 * needed), under the VD's lock. Never while the VD is attached writable.
 */
#ifndef XENVD_IMPORT_H
#define XENVD_IMPORT_H

#include <stdint.h>

#include "pool/db.h"

/* image_fd: a regular file or block device. -EBUSY while the VD is attached writable anywhere,
 * -EFBIG when the image is larger than the VD. progress (may be NULL) gets bytes done / total. */
int vd_import_image(struct vd_db *db, uint32_t id, int image_fd,
		    void (*progress)(uint64_t done, uint64_t total, void *userdata),
		    void *userdata);

#endif
