/* A run: a stretch of a VD that lies contiguously on one device. The one type the pool hands
 * out (vd_vdisk_runs), the dm table builder turns into targets and the boot disk reader reads
 * through. Plain data: this header depends on nothing else in xenvd.
 */
#ifndef XENVD_RUN_H
#define XENVD_RUN_H

#include <stdint.h>
#include <sys/types.h>

struct vd_run {
	uint64_t vd_offset;	 /* bytes from the VD's start */
	uint64_t length;	 /* bytes */
	uint64_t dev_offset;	 /* bytes from the device's start (data offset included) */
	dev_t dev;		 /* the block device for a dm table (set by attach), else 0 */
	int fd;			 /* open when asked for, else -1; shared by a device's runs */
	int64_t device_id;	 /* pool device row; 0 for a plain disk */
	uint8_t device_uuid[16]; /* pool device label UUID */
	char *device_path;	 /* pool device, last seen; NULL for a plain disk */
};

#endif
