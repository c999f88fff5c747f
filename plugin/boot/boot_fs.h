/* ext2/3/4 reading for vdloader through libext2fs, fed by an io_manager over vd_boot_disk (so
 * one code path serves images, block devices and VDs read from their pool). Read-only: the
 * filesystem is never written, replayed or mounted. Owns the libext2fs boundary.
 */
#ifndef XENVD_BOOT_FS_H
#define XENVD_BOOT_FS_H

#include <sys/types.h>

#include "boot/boot_disk.h"
#include "boot/boot_part.h"

struct vd_boot_fs;
typedef uint32_t vd_boot_ino;
#define VD_BOOT_ROOT_INO 2

/* Registers libext2fs's error table; call before the sandbox locks things down. */
void vd_boot_fs_global_init(void);

/* Opens the volume's ext filesystem read-only. A corrupt superblock or another filesystem is
 * a clear error naming the partition. */
int vd_boot_fs_open(const struct vd_boot_disk *disk, const struct vd_boot_volume *vol,
		    struct vd_boot_fs **ret);
void vd_boot_fs_close(struct vd_boot_fs *fs);
const struct vd_boot_volume *vd_boot_fs_volume(const struct vd_boot_fs *fs);

/* One directory entry: -ENOENT when name is absent. */
int vd_boot_fs_lookup(struct vd_boot_fs *fs, vd_boot_ino dir, const char *name,
		      vd_boot_ino *ret);
/* Mode bits (S_IFMT included) and size. */
int vd_boot_fs_stat(struct vd_boot_fs *fs, vd_boot_ino ino, mode_t *ret_mode, uint64_t *ret_size);
/* The size of a regular file; -EISDIR for a directory, -EINVAL for anything else. */
int vd_boot_fs_regular_size(struct vd_boot_fs *fs, vd_boot_ino ino, uint64_t *ret_size);
/* A symlink's target, NUL-terminated, at most max bytes (-ENAMETOOLONG beyond). */
int vd_boot_fs_readlink(struct vd_boot_fs *fs, vd_boot_ino ino, size_t max, char **ret);
/* A whole regular file into memory, NUL-terminated; -EFBIG beyond max bytes. */
int vd_boot_fs_read(struct vd_boot_fs *fs, vd_boot_ino ino, size_t max, char **ret,
		    size_t *ret_len);
/* A regular file's bytes written at out_offset of out_fd (holes stay holes); -EFBIG beyond max
 * bytes before anything is written. */
/* An extent-mapped file's data as (file offset, disk offset, length) runs, in file order, for
 * someone else to copy (holes are left out); -EOPNOTSUPP for block-mapped or inline files,
 * -EUCLEAN for a tree that overlaps, goes backwards or leaves the filesystem. */
int vd_boot_fs_extents(struct vd_boot_fs *fs, vd_boot_ino ino, uint64_t max,
		       int (*fn)(void *userdata, uint64_t file_off, uint64_t disk_off, uint64_t len),
		       void *userdata, uint64_t *ret_size);
int vd_boot_fs_copy(struct vd_boot_fs *fs, vd_boot_ino ino, int out_fd, uint64_t out_offset,
		    uint64_t max, uint64_t *ret_size);
/* Calls fn for every entry of a directory except "." and ".."; fn returns < 0 to stop. */
int vd_boot_fs_list(struct vd_boot_fs *fs, vd_boot_ino dir,
		    int (*fn)(const char *name, vd_boot_ino ino, void *userdata), void *userdata);

#endif
