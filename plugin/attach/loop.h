/* Loop devices for file-backed pool devices: finds the loop device already backed by the same
 * file (same inode, whole file) or binds a free one with LO_FLAGS_AUTOCLEAR, so the loop goes
 * away by itself once the last dm table over it is removed. Owns nothing else of the device.
 */
#ifndef XENVD_LOOP_H
#define XENVD_LOOP_H

#include <sys/types.h>

#include "base/util.h"

/* backing_fd: the open (label-checked) pool file; name: shown in losetup (may be NULL).
 * On success *ret_loop_fd is an open fd on the loop device that keeps it alive (autoclear
 * fires on its last close): hold it until something else (a dm table) holds the loop. */
int vd_loop_attach(int backing_fd, const char *name, bool read_only, int *ret_loop_fd,
		   dev_t *ret_dev);

#endif
