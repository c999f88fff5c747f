/* What to boot and copying it out: partitions → filesystems → root and its fstab → the search
 * order (explicit kernel or entry, BLS, grub.cfg, extlinux, menu.lst, /vmlinuz) → the chosen
 * kernel and initrds copied into fds the caller opened. Runs inside the sandbox: it reads guest
 * bytes, and writes nothing but the two fds it is given.
 */
#ifndef XENVD_BOOT_FIND_H
#define XENVD_BOOT_FIND_H

#include "boot/boot_disk.h"

struct vd_boot_request {
	const char *kernel;	/* --kernel: guest path, skips config parsing */
	const char *ramdisk;	/* --ramdisk: guest path (with --kernel) */
	const char *entry;	/* --entry: [dev:]kernel[,initrd], or a menu index/title/id */
	const char *root;	/* --root: partition (xvda2, UUID=, LABEL=, PARTUUID=) */
	const char *extra_args; /* --args: appended to the entry's command line */
	bool list;		/* -l: describe the entries only */
	bool extents;		/* list extent-mapped files' runs for the caller to copy */
	uint64_t kernel_max;
	uint64_t ramdisk_max;
	uint64_t config_max;
};

struct vd_boot_result {
	char *args;	     /* final command line (never NULL on success) */
	char *kernel_path;   /* in the guest, for messages and --dryrun */
	char *ramdisk_paths; /* in the guest, space-separated; NULL when there is none */
	char *source;	     /* "grub.cfg /boot/grub/grub.cfg on partition 1 (entry 'x')" */
	uint64_t kernel_size;
	uint64_t ramdisk_size; /* 0 and !has_ramdisk when none */
	bool has_ramdisk;
	char *listing; /* with list: the entries as text */
	/* with extents: "out_offset disk_offset length\n" lines of what the caller copies into
	 * the kernel and ramdisk files (the rest was copied here, or is a hole); may be NULL */
	char *kernel_extents, *ramdisk_extents;
};

/* kernel_fd/ramdisk_fd < 0: find only (dryrun, list). Errors carry a message (vd_errmsg). */
int vd_boot_find(const struct vd_boot_disk *disk, const struct vd_boot_request *req, int kernel_fd,
		 int ramdisk_fd, struct vd_boot_result *ret);
void vd_boot_result_dispose(struct vd_boot_result *r);

#endif
