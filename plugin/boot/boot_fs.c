#include <ext2fs/ext2fs.h>
#include <string.h>
#include <sys/stat.h>

#include "boot/boot_fs.h"
#include "base/error.h"

struct vd_boot_fs {
	ext2_filsys e2fs;
	const struct vd_boot_disk *disk;
	struct vd_boot_volume vol;
	int slot;
};

/* libext2fs names its device by a string; ours are slots in this table ("vdboot:<n>"). */
#define MAX_SLOTS 16
static struct vd_boot_fs *slots[MAX_SLOTS];

struct volume_io {
	struct vd_boot_fs *fs;
};

#define COPY_CHUNK (1024 * 1024)

void vd_boot_fs_global_init(void)
{
	static bool done;

	if (!done)
		initialize_ext2_error_table();
	done = true;
}

/* libext2fs codes are either errno values or com_err codes; map the ones users meet. */
static int e2_errno(errcode_t code)
{
	if (code > 0 && code < 4096)
		return -(int)code;
	switch (code) {
	case EXT2_ET_FILE_NOT_FOUND:
		return -ENOENT;
	case EXT2_ET_NO_MEMORY:
		return -ENOMEM;
	case EXT2_ET_SYMLINK_LOOP:
		return -ELOOP;
	case EXT2_ET_RO_UNSUPP_FEATURE:
	case EXT2_ET_UNSUPP_FEATURE:
		return -EOPNOTSUPP;
	case EXT2_ET_FILE_TOO_BIG:
		return -EFBIG;
	default:
		return -EUCLEAN;
	}
}

static const char *e2_describe(errcode_t code)
{
	switch (code) {
	case EXT2_ET_BAD_MAGIC:
		return "bad superblock magic";
	case EXT2_ET_CORRUPT_SUPERBLOCK:
		return "corrupt superblock";
	case EXT2_ET_SB_CSUM_INVALID:
		return "superblock checksum mismatch";
	case EXT2_ET_BAD_DESC_SIZE:
	case EXT2_ET_GDESC_BAD_BLOCK_MAP:
	case EXT2_ET_GDESC_BAD_INODE_MAP:
	case EXT2_ET_GDESC_BAD_INODE_TABLE:
	case EXT2_ET_GDESC_READ:
		return "corrupt group descriptors";
	case EXT2_ET_SHORT_READ:
		return "filesystem extends beyond its partition";
	case EXT2_ET_UNSUPP_FEATURE:
	case EXT2_ET_RO_UNSUPP_FEATURE:
		return "filesystem uses features this libext2fs does not support";
	case EXT2_ET_UNEXPECTED_BLOCK_SIZE:
		return "unexpected block size";
	default:
		return NULL;
	}
}

static errcode_t vio_open(const char *name, int flags, io_channel *ret)
{
	io_channel ch = NULL;
	struct volume_io *vio = NULL;
	unsigned slot;
	errcode_t e;

	if (!name || sscanf(name, "vdboot:%u", &slot) != 1 || slot >= MAX_SLOTS || !slots[slot])
		return EXT2_ET_BAD_DEVICE_NAME;
	if (flags & IO_FLAG_RW)
		return EXT2_ET_RO_FILSYS;
	e = ext2fs_get_memzero(sizeof(*ch), &ch);
	if (e)
		return e;
	e = ext2fs_get_memzero(sizeof(*vio), &vio);
	if (e)
		goto fail;
	e = ext2fs_get_mem(strlen(name) + 1, &ch->name);
	if (e)
		goto fail;
	strcpy(ch->name, name);
	vio->fs = slots[slot];
	ch->magic = EXT2_ET_MAGIC_IO_CHANNEL;
	ch->manager = NULL; /* set by the caller below */
	ch->block_size = 1024;
	ch->refcount = 1;
	ch->private_data = vio;
	*ret = ch;
	return 0;
fail:
	ext2fs_free_mem(&vio);
	ext2fs_free_mem(&ch);
	return e;
}

static errcode_t vio_close(io_channel ch)
{
	if (--ch->refcount > 0)
		return 0;
	ext2fs_free_mem(&ch->private_data);
	ext2fs_free_mem(&ch->name);
	ext2fs_free_mem(&ch);
	return 0;
}

static errcode_t vio_set_blksize(io_channel ch, int blksize)
{
	if (blksize <= 0 || blksize > 65536)
		return EXT2_ET_INVALID_ARGUMENT;
	ch->block_size = blksize;
	return 0;
}

static errcode_t vio_read_blk64(io_channel ch, unsigned long long block, int count, void *data)
{
	struct volume_io *vio = ch->private_data;
	const struct vd_boot_volume *vol = &vio->fs->vol;
	uint64_t len = count < 0 ? (uint64_t)-(int64_t)count : (uint64_t)count * ch->block_size;
	uint64_t off;

	if (block > UINT64_MAX / (uint64_t)ch->block_size)
		return EXT2_ET_SHORT_READ;
	off = block * (uint64_t)ch->block_size;
	if (off > vol->size || len > vol->size - off)
		return EXT2_ET_SHORT_READ;
	return vd_boot_disk_pread(vio->fs->disk, data, (size_t)len, vol->offset + off) < 0
		       ? EXT2_ET_SHORT_READ
		       : 0;
}

static errcode_t vio_read_blk(io_channel ch, unsigned long block, int count, void *data)
{
	return vio_read_blk64(ch, block, count, data);
}

static errcode_t vio_write_blk64(io_channel ch, unsigned long long block, int count,
				 const void *data)
{
	return EXT2_ET_RO_FILSYS;
}

static errcode_t vio_write_blk(io_channel ch, unsigned long block, int count, const void *data)
{
	return EXT2_ET_RO_FILSYS;
}

static errcode_t vio_flush(io_channel ch)
{
	return 0;
}

static errcode_t vio_set_option(io_channel ch, const char *option, const char *arg)
{
	return EXT2_ET_INVALID_ARGUMENT;
}

static errcode_t vio_open_wrapper(const char *name, int flags, io_channel *ret);

static struct struct_io_manager volume_io_manager = {
	.magic = EXT2_ET_MAGIC_IO_MANAGER,
	.name = "xenvd boot volume",
	.open = vio_open_wrapper,
	.close = vio_close,
	.set_blksize = vio_set_blksize,
	.read_blk = vio_read_blk,
	.write_blk = vio_write_blk,
	.flush = vio_flush,
	.set_option = vio_set_option,
	.read_blk64 = vio_read_blk64,
	.write_blk64 = vio_write_blk64,
};

static errcode_t vio_open_wrapper(const char *name, int flags, io_channel *ret)
{
	errcode_t e = vio_open(name, flags, ret);

	if (!e)
		(*ret)->manager = &volume_io_manager;
	return e;
}

void vd_boot_fs_close(struct vd_boot_fs *fs)
{
	if (!fs)
		return;
	if (fs->e2fs)
		ext2fs_close_free(&fs->e2fs);
	if (fs->slot >= 0)
		slots[fs->slot] = NULL;
	free(fs);
}

const struct vd_boot_volume *vd_boot_fs_volume(const struct vd_boot_fs *fs)
{
	return &fs->vol;
}

int vd_boot_fs_open(const struct vd_boot_disk *disk, const struct vd_boot_volume *vol,
		    struct vd_boot_fs **ret)
{
	struct vd_boot_fs *fs;
	char name[32];
	const char *why;
	errcode_t e;
	int slot = -1;

	if (!vd_boot_fstype_is_ext(vol->fstype)) {
		if (vol->fstype[0])
			return vd_err(-EMEDIUMTYPE,
				      "partition %d holds a %s filesystem; vdloader reads ext2/3/4 "
				      "only (put /boot on ext4)",
				      vol->partno, vol->fstype);
		return vd_err(-EMEDIUMTYPE, "partition %d holds no recognisable filesystem",
			      vol->partno);
	}
	for (int i = 0; i < MAX_SLOTS; i++)
		if (!slots[i]) {
			slot = i;
			break;
		}
	if (slot < 0)
		return vd_err(-EMFILE, "too many filesystems open");
	fs = calloc(1, sizeof(*fs));
	if (!fs)
		return -ENOMEM;
	fs->disk = disk;
	fs->vol = *vol;
	fs->slot = slot;
	slots[slot] = fs;
	snprintf(name, sizeof(name), "vdboot:%d", slot);
	e = ext2fs_open2(name, NULL, EXT2_FLAG_64BITS | EXT2_FLAG_SKIP_MMP, 0, 0,
			 &volume_io_manager, &fs->e2fs);
	if (e) {
		int r = e2_errno(e);

		fs->e2fs = NULL;
		vd_boot_fs_close(fs);
		why = e2_describe(e);
		if (vol->partno == 0)
			snprintf(name, sizeof(name), "the disk");
		else
			snprintf(name, sizeof(name), "partition %d", vol->partno);
		if (why)
			return vd_err(r, "%s (%s): cannot open the filesystem: %s", name, vol->fstype,
				      why);
		return vd_err(r, "%s (%s): cannot open the filesystem (libext2fs error %ld)", name,
			      vol->fstype, (long)e);
	}
	*ret = fs;
	return 0;
}

int vd_boot_fs_lookup(struct vd_boot_fs *fs, vd_boot_ino dir, const char *name,
		      vd_boot_ino *ret)
{
	ext2_ino_t ino;
	size_t len = strlen(name);
	errcode_t e;

	if (len == 0 || len > 255)
		return -ENOENT;
	e = ext2fs_lookup(fs->e2fs, dir, name, (int)len, NULL, &ino);
	if (e)
		return e2_errno(e);
	if (ino < 1 || ino > fs->e2fs->super->s_inodes_count)
		return -EUCLEAN;
	*ret = ino;
	return 0;
}

static int read_inode(struct vd_boot_fs *fs, vd_boot_ino ino, struct ext2_inode *inode)
{
	errcode_t e;

	if (ino < 1 || ino > fs->e2fs->super->s_inodes_count)
		return -EUCLEAN;
	e = ext2fs_read_inode(fs->e2fs, ino, inode);
	return e ? e2_errno(e) : 0;
}

int vd_boot_fs_stat(struct vd_boot_fs *fs, vd_boot_ino ino, mode_t *ret_mode, uint64_t *ret_size)
{
	struct ext2_inode inode;
	int r = read_inode(fs, ino, &inode);

	if (r < 0)
		return r;
	*ret_mode = inode.i_mode;
	*ret_size = EXT2_I_SIZE(&inode);
	return 0;
}

/* Reads up to len bytes from the start of a file through libext2fs's generic path. */
static int file_read(struct vd_boot_fs *fs, vd_boot_ino ino, char *buf, size_t len)
{
	ext2_file_t file;
	errcode_t e;
	size_t done = 0;

	e = ext2fs_file_open(fs->e2fs, ino, 0, &file);
	if (e)
		return e2_errno(e);
	while (done < len) {
		unsigned int got = 0;
		unsigned int want = len - done > COPY_CHUNK ? COPY_CHUNK : (unsigned)(len - done);

		e = ext2fs_file_read(file, buf + done, want, &got);
		if (e || got == 0)
			break;
		done += got;
	}
	ext2fs_file_close(file);
	if (e)
		return e2_errno(e);
	return done == len ? 0 : -EUCLEAN;
}

int vd_boot_fs_readlink(struct vd_boot_fs *fs, vd_boot_ino ino, size_t max, char **ret)
{
	struct ext2_inode inode;
	_cleanup_free_ char *target = NULL;
	uint64_t size;
	int r = read_inode(fs, ino, &inode);

	if (r < 0)
		return r;
	if (!LINUX_S_ISLNK(inode.i_mode))
		return -EINVAL;
	size = EXT2_I_SIZE(&inode);
	if (size == 0)
		return -EUCLEAN;
	if (size > max)
		return -ENAMETOOLONG;
	target = calloc(1, (size_t)size + 1);
	if (!target)
		return -ENOMEM;
	if (ext2fs_is_fast_symlink(&inode)) {
		if (size >= sizeof(inode.i_block))
			return -EUCLEAN;
		memcpy(target, inode.i_block, (size_t)size);
	} else {
		r = file_read(fs, ino, target, (size_t)size);
		if (r < 0)
			return r;
	}
	if (strlen(target) != size)
		return -EUCLEAN; /* a NUL inside a link target */
	*ret = TAKE_PTR(target);
	return 0;
}

int vd_boot_fs_regular_size(struct vd_boot_fs *fs, vd_boot_ino ino, uint64_t *ret_size)
{
	mode_t mode;
	int r = vd_boot_fs_stat(fs, ino, &mode, ret_size);

	if (r < 0)
		return r;
	if (!LINUX_S_ISREG(mode))
		return LINUX_S_ISDIR(mode) ? -EISDIR : -EINVAL;
	return 0;
}

int vd_boot_fs_read(struct vd_boot_fs *fs, vd_boot_ino ino, size_t max, char **ret,
		    size_t *ret_len)
{
	_cleanup_free_ char *buf = NULL;
	uint64_t size;
	int r;

	r = vd_boot_fs_regular_size(fs, ino, &size);
	if (r < 0)
		return r;
	if (size > max)
		return -EFBIG;
	buf = malloc((size_t)size + 1);
	if (!buf)
		return -ENOMEM;
	r = file_read(fs, ino, buf, (size_t)size);
	if (r < 0)
		return r;
	buf[size] = '\0';
	*ret = TAKE_PTR(buf);
	*ret_len = (size_t)size;
	return 0;
}

static int write_at(int fd, const void *buf, size_t len, uint64_t off)
{
	int r = vd_pwrite_all(fd, buf, len, off);

	return r == -EFBIG ? vd_err(-EFBIG, "output file would exceed the size limit") : r;
}

/* Extent-mapped files: the runs of the file's bytes on the disk, in file order, holes and
 * unwritten extents left out. The leaves must go forward through the file without overlapping,
 * as ext4 writes them: a crafted tree whose extents overlap or go backwards could make a copy
 * rewrite the same bytes over and over, so it is refused, and nothing past the size is mapped. */
static int walk_extents(struct vd_boot_fs *fs, vd_boot_ino ino, struct ext2_inode *inode,
			uint64_t size,
			int (*fn)(void *userdata, uint64_t file_off, uint64_t disk_off, uint64_t len),
			void *userdata)
{
	ext2_extent_handle_t handle;
	struct ext2fs_extent ext;
	uint64_t bs = fs->e2fs->blocksize, vol_blocks = fs->vol.size / bs;
	uint64_t next_lblk = 0, mapped = 0;
	errcode_t e;
	int r = 0;

	e = ext2fs_extent_open2(fs->e2fs, ino, inode, &handle);
	if (e)
		return e2_errno(e);
	for (e = ext2fs_extent_get(handle, EXT2_EXTENT_ROOT, &ext); !e;
	     e = ext2fs_extent_get(handle, EXT2_EXTENT_NEXT, &ext)) {
		uint64_t file_off, len;

		if (!(ext.e_flags & EXT2_EXTENT_FLAGS_LEAF) ||
		    (ext.e_flags & EXT2_EXTENT_FLAGS_SECOND_VISIT))
			continue;
		if (ext.e_lblk < next_lblk) {
			r = vd_err(-EUCLEAN, "inode %u: extents overlap or go backwards (block %llu "
					     "after %llu); refusing the file",
				   (unsigned)ino, (unsigned long long)ext.e_lblk,
				   (unsigned long long)next_lblk);
			break;
		}
		next_lblk = ext.e_lblk + ext.e_len;
		if (ext.e_flags & EXT2_EXTENT_FLAGS_UNINIT)
			continue;
		file_off = ext.e_lblk * bs;
		if (file_off >= size)
			continue;
		len = (uint64_t)ext.e_len * bs;
		if (len > size - file_off)
			len = size - file_off;
		if (len > size - mapped) {
			r = vd_err(-EUCLEAN, "inode %u: extents map more than the file's %llu bytes",
				   (unsigned)ino, (unsigned long long)size);
			break;
		}
		mapped += len;
		if (ext.e_pblk >= vol_blocks || ext.e_len > vol_blocks - ext.e_pblk) {
			r = vd_err(-EUCLEAN, "inode %u: an extent lies outside the filesystem",
				   (unsigned)ino);
			break;
		}
		r = fn(userdata, file_off, fs->vol.offset + ext.e_pblk * bs, len);
		if (r < 0)
			break;
	}
	ext2fs_extent_free(handle);
	if (r < 0)
		return r;
	if (e && e != EXT2_ET_EXTENT_NO_NEXT)
		return e2_errno(e);
	return 0;
}

struct copy_ctx {
	struct vd_boot_fs *fs;
	int out_fd;
	uint64_t out_offset;
	uint8_t *buf;
};

static int copy_one_extent(void *userdata, uint64_t file_off, uint64_t disk_off, uint64_t len)
{
	struct copy_ctx *c = userdata;

	while (len > 0) {
		size_t chunk = len > COPY_CHUNK ? COPY_CHUNK : (size_t)len;
		int r = vd_boot_disk_pread(c->fs->disk, c->buf, chunk, disk_off);

		if (r == 0)
			r = write_at(c->out_fd, c->buf, chunk, c->out_offset + file_off);
		if (r < 0)
			return r;
		disk_off += chunk;
		file_off += chunk;
		len -= chunk;
	}
	return 0;
}

static int copy_extents(struct vd_boot_fs *fs, vd_boot_ino ino, struct ext2_inode *inode,
			int out_fd, uint64_t out_offset, uint64_t size)
{
	_cleanup_free_ uint8_t *buf = malloc(COPY_CHUNK);
	struct copy_ctx c = { fs, out_fd, out_offset, buf };

	if (!buf)
		return -ENOMEM;
	return walk_extents(fs, ino, inode, size, copy_one_extent, &c);
}

static int copy_generic(struct vd_boot_fs *fs, vd_boot_ino ino, int out_fd, uint64_t out_offset,
			uint64_t size)
{
	_cleanup_free_ uint8_t *buf = malloc(COPY_CHUNK);
	ext2_file_t file;
	uint64_t done = 0;
	errcode_t e = 0;
	int r = 0;

	if (!buf)
		return -ENOMEM;
	e = ext2fs_file_open(fs->e2fs, ino, 0, &file);
	if (e)
		return e2_errno(e);
	while (done < size) {
		unsigned int got = 0;
		unsigned int want = size - done > COPY_CHUNK ? COPY_CHUNK : (unsigned)(size - done);

		e = ext2fs_file_read(file, buf, want, &got);
		if (e || got == 0)
			break;
		r = write_at(out_fd, buf, got, out_offset + done);
		if (r < 0)
			break;
		done += got;
	}
	ext2fs_file_close(file);
	if (r < 0)
		return r;
	if (e)
		return e2_errno(e);
	return done == size ? 0
			    : vd_err(-EUCLEAN, "inode %u: its blocks end before its size",
				     (unsigned)ino);
}

/* A regular file's inode and size, at most max bytes. */
static int regular_inode(struct vd_boot_fs *fs, vd_boot_ino ino, uint64_t max,
			 struct ext2_inode *ret_inode, uint64_t *ret_size)
{
	int r = read_inode(fs, ino, ret_inode);

	if (r < 0)
		return r;
	if (!LINUX_S_ISREG(ret_inode->i_mode))
		return LINUX_S_ISDIR(ret_inode->i_mode) ? -EISDIR : -EINVAL;
	*ret_size = EXT2_I_SIZE(ret_inode);
	return *ret_size > max ? -EFBIG : 0;
}

int vd_boot_fs_copy(struct vd_boot_fs *fs, vd_boot_ino ino, int out_fd, uint64_t out_offset,
		    uint64_t max, uint64_t *ret_size)
{
	struct ext2_inode inode;
	uint64_t size;
	int r = regular_inode(fs, ino, max, &inode, &size);

	if (r < 0)
		return r;
	if ((inode.i_flags & EXT4_EXTENTS_FL) && !(inode.i_flags & EXT4_INLINE_DATA_FL))
		r = copy_extents(fs, ino, &inode, out_fd, out_offset, size);
	else
		r = copy_generic(fs, ino, out_fd, out_offset, size);
	if (r < 0)
		return r;
	*ret_size = size;
	return 0;
}

struct list_ctx {
	int (*fn)(const char *name, vd_boot_ino ino, void *userdata);
	void *userdata;
	int r;
};

static int list_one(ext2_ino_t dir, int entry, struct ext2_dir_entry *dirent, int offset,
		    int blocksize, char *buf, void *priv)
{
	struct list_ctx *ctx = priv;
	char name[256];
	int len = ext2fs_dirent_name_len(dirent);

	if (dirent->inode == 0 || len <= 0)
		return 0;
	memcpy(name, dirent->name, (size_t)len);
	name[len] = '\0';
	if (!strcmp(name, ".") || !strcmp(name, ".."))
		return 0;
	if (strlen(name) != (size_t)len)
		return 0; /* a NUL inside a name: not a name anyone can ask for */
	ctx->r = ctx->fn(name, dirent->inode, ctx->userdata);
	return ctx->r < 0 ? DIRENT_ABORT : 0;
}

int vd_boot_fs_list(struct vd_boot_fs *fs, vd_boot_ino dir,
		    int (*fn)(const char *name, vd_boot_ino ino, void *userdata), void *userdata)
{
	struct list_ctx ctx = { .fn = fn, .userdata = userdata };
	errcode_t e;

	e = ext2fs_dir_iterate2(fs->e2fs, dir, 0, NULL, list_one, &ctx);
	if (ctx.r < 0)
		return ctx.r;
	return e ? e2_errno(e) : 0;
}

int vd_boot_fs_extents(struct vd_boot_fs *fs, vd_boot_ino ino, uint64_t max,
		       int (*fn)(void *userdata, uint64_t file_off, uint64_t disk_off, uint64_t len),
		       void *userdata, uint64_t *ret_size)
{
	struct ext2_inode inode;
	uint64_t size;
	int r = regular_inode(fs, ino, max, &inode, &size);

	if (r < 0)
		return r;
	if (!(inode.i_flags & EXT4_EXTENTS_FL) || (inode.i_flags & EXT4_INLINE_DATA_FL))
		return -EOPNOTSUPP;
	r = walk_extents(fs, ino, &inode, size, fn, userdata);
	if (r < 0)
		return r;
	*ret_size = size;
	return 0;
}
