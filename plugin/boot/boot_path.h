/* Path resolution inside the guest: a small mount table (root filesystem plus /boot etc. from
 * the guest's fstab) and a resolver that follows symlinks inside it with a loop limit, where
 * ".." stops at the guest's root. Nothing here ever touches a dom0 path.
 */
#ifndef XENVD_BOOT_PATH_H
#define XENVD_BOOT_PATH_H

#include "boot/boot_fs.h"

#define VD_BOOT_MAX_MOUNTS 16
#define VD_BOOT_MAX_SYMLINKS 40

struct vd_boot_mount {
	char path[256]; /* canonical: "/", "/boot", ... */
	struct vd_boot_fs *fs;
};

struct vd_boot_ns {
	struct vd_boot_mount mounts[VD_BOOT_MAX_MOUNTS];
	size_t n;
};

void vd_boot_ns_init(struct vd_boot_ns *ns, struct vd_boot_fs *root);
/* path is canonicalised lexically ("//boot/" → "/boot"); -ENOSPC when the table is full. */
int vd_boot_ns_add_mount(struct vd_boot_ns *ns, const char *path, struct vd_boot_fs *fs);

/* Resolves path (absolute, or relative to "/") following every symlink. -ENOENT, -ENOTDIR,
 * -ELOOP (more than VD_BOOT_MAX_SYMLINKS links), -ENAMETOOLONG. */
int vd_boot_ns_resolve(const struct vd_boot_ns *ns, const char *path, struct vd_boot_fs **ret_fs,
		       vd_boot_ino *ret_ino);

/* Resolves and checks for a regular file; -EISDIR for a directory, -EINVAL for others. */
int vd_boot_ns_resolve_file(const struct vd_boot_ns *ns, const char *path,
			    struct vd_boot_fs **ret_fs, vd_boot_ino *ret_ino, uint64_t *ret_size);

/* Lexical canonical form of an absolute guest path into out ("/a/../b" → "/b"). */
int vd_boot_path_canonical(const char *path, char *out, size_t len);

#endif
