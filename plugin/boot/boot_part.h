/* Partition discovery for vdloader: MBR, GPT or a bare filesystem, found with libblkid probing
 * the disk through a file descriptor, and each volume's filesystem type, UUID and label.
 * Owns the libblkid boundary; it reads guest bytes, so it runs inside the sandbox only.
 */
#ifndef XENVD_BOOT_PART_H
#define XENVD_BOOT_PART_H

#include "boot/boot_disk.h"

struct vd_boot_volume {
	int partno;	 /* 1.. for a partition, 0 for a bare filesystem on the whole disk */
	uint64_t offset; /* bytes */
	uint64_t size;	 /* bytes */
	bool bootable;	 /* MBR active flag or GPT legacy-BIOS-bootable */
	char fstype[32]; /* "ext4", "xfs", ... or "" when unknown */
	char uuid[40];	 /* filesystem UUID */
	char label[64];	 /* filesystem label */
	char partuuid[40];
	char partlabel[72];
	char pttype[8]; /* the partition table: "dos", "gpt" (libblkid's names); "" without */
};

/* The disk's volumes in partition-number order (extended-partition containers left out).
 * -ENOMEDIUM with a message when nothing usable is found. */
int vd_boot_part_scan(const struct vd_boot_disk *disk, struct vd_boot_volume **ret,
		      size_t *ret_n);

/* "ext2", "ext3", "ext4" and "jbd"-less ext variants libext2fs reads. */
bool vd_boot_fstype_is_ext(const char *fstype);

#endif
