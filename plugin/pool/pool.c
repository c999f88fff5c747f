#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "base/config.h"
#include "base/error.h"
#include "pool/label.h"
#include "pool/mdarea.h"
#include "pool/pool.h"
#include "pool/sanlock.h"
#include "pool/signature.h"

#define MIN_EXTENT_SIZE (64 * 1024)

int vd_pool_device_size(int fd, uint64_t *ret_size)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (S_ISREG(st.st_mode)) {
		*ret_size = (uint64_t)st.st_size;
		return 0;
	}
	if (S_ISBLK(st.st_mode)) {
		uint64_t size;

		if (ioctl(fd, BLKGETSIZE64, &size) < 0)
			return -errno;
		*ret_size = size;
		return 0;
	}
	return -ENOTBLK;
}

int vd_pool_zero_range(int fd, uint64_t off, uint64_t len)
{
	static const uint8_t zeroes[1 << 16];
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (S_ISBLK(st.st_mode)) {
		uint64_t range[2] = { off, len };

		if (ioctl(fd, BLKZEROOUT, range) == 0)
			return 0;
		if (errno != EOPNOTSUPP && errno != ENOTTY && errno != EINVAL)
			return -errno;
	} else if (S_ISREG(st.st_mode)) {
		/* A hole reads back as zeroes and gives the space back to the host. */
		if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off,
			      (off_t)len) == 0)
			return 0;
		if (fallocate(fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, (off_t)off,
			      (off_t)len) == 0)
			return 0;
	}
	/* Last resort: write zeroes. */
	while (len > 0) {
		size_t chunk = len < sizeof(zeroes) ? (size_t)len : sizeof(zeroes);
		int r = vd_pwrite_all(fd, zeroes, chunk, off);

		if (r < 0)
			return r;
		off += chunk;
		len -= chunk;
	}
	return fdatasync(fd) < 0 ? -errno : 0;
}

/* The device or file format writes to, by its canonical path, opened read-write; O_EXCL on a
 * block device fails while it is mounted or held by device-mapper. */
static int open_for_format(const char *path, char **ret_canonical, struct stat *ret_st,
			   int *ret_fd, uint64_t *ret_size)
{
	_cleanup_free_ char *canonical = realpath(path, NULL);
	_cleanup_close_ int fd = -EBADF;
	int r;

	if (!canonical)
		return vd_err(-errno, "cannot format %s: %m", path);
	if (stat(canonical, ret_st) < 0)
		return vd_err(-errno, "cannot format %s: %m", path);
	if (!S_ISREG(ret_st->st_mode) && !S_ISBLK(ret_st->st_mode))
		return vd_err(-ENOTBLK, "cannot format %s: not a block device or regular file",
			      path);
	fd = open(canonical, O_RDWR | O_CLOEXEC | (S_ISBLK(ret_st->st_mode) ? O_EXCL : 0));
	if (fd < 0)
		return vd_err(-errno, errno == EBUSY
					      ? "cannot format %s: it is in use (mounted, or held by "
						"device-mapper or another driver): %m"
					      : "cannot format %s: %m", path);
	r = vd_pool_device_size(fd, ret_size);
	if (r < 0)
		return vd_err(r, "cannot read the size of %s: %m", path);
	*ret_canonical = TAKE_PTR(canonical);
	*ret_fd = TAKE_FD(fd);
	return 0;
}

/* After a label read that found no label (r < 0): a damaged label and another program's
 * data are refused unless force; any other read error always is. */
static int refuse_unlabelled_data(int fd, const char *path, int r, bool force)
{
	char what[256];

	if (r == -EBADMSG)
		return force ? 0
			     : vd_err(r, "%s carries a damaged xenvd label; pass --force to "
					 "overwrite it",
				      path);
	if (r != -ENOMSG)
		return vd_err(r, "cannot read %s: %m", path);
	if (force)
		return 0;
	r = vd_signature_probe(fd, what, sizeof(what));
	if (r < 0)
		return vd_err(r, "cannot probe %s for existing data: %m", path);
	if (r > 0)
		return vd_err(-EEXIST, "%s carries %s; pass --force to overwrite it (its data "
				       "will be lost)", path, what);
	return 0;
}

/* format's extent size: the one asked for, else the configuration's; checked either way. */
static int choose_extent_size(uint64_t *extent_size)
{
	int r;

	if (!*extent_size) {
		struct vd_config cfg;

		r = vd_config_load(NULL, &cfg);
		if (r < 0)
			return r;
		*extent_size = cfg.extent_size;
		vd_config_dispose(&cfg);
	}
	if (*extent_size < MIN_EXTENT_SIZE || *extent_size % 4096)
		return vd_err(-EINVAL, "extent size %" PRIu64 " is invalid: it must be a multiple "
				       "of 4K and at least 64K", *extent_size);
	return 0;
}

static int pool_extent_size(struct vd_db *db, uint64_t *ret)
{
	struct vd_pool_device *list = NULL;
	size_t n = 0;
	int r = vd_db_device_list(db, &list, &n);

	if (r < 0)
		return r;
	*ret = n ? list[0].extent_size : 0;
	vd_db_device_list_free(list, n);
	return 0;
}

/* When the pool carries its database, whether the locator puts a copy of the metadata area on
 * the device open at fd: then its label must say so, and its extents start after the area. */
static int area_on_device(struct vd_db *db, int fd, struct vd_md_copy *ret,
			  struct vd_locator *ret_loc)
{
	struct stat st, other;
	int r;

	memset(ret, 0, sizeof(*ret));
	if (!vd_db_storage(db))
		return 0;
	r = vd_locator_read(vd_db_path(db), ret_loc);
	if (r < 0)
		return r;
	if (fstat(fd, &st) < 0)
		return -errno;
	for (size_t i = 0; i < ret_loc->n; i++) {
		if (stat(ret_loc->copies[i].path, &other) < 0)
			continue;
		if (S_ISBLK(st.st_mode) ? S_ISBLK(other.st_mode) && st.st_rdev == other.st_rdev
					: st.st_dev == other.st_dev && st.st_ino == other.st_ino) {
			*ret = ret_loc->copies[i];
			ret->path = NULL;
			ret->identity = NULL;
			break;
		}
	}
	return 0;
}

static void locator_disposep(struct vd_locator *l)
{
	vd_locator_dispose(l);
}

int vd_pool_format(struct vd_db *db, const char *path, const struct vd_format_opts *opts,
		   struct vd_pool_device *ret)
{
	_cleanup_(locator_disposep) struct vd_locator loc = { 0 };
	bool new_copy = false, locator_grew = false;
	struct vd_md_copy area;
	uint64_t data_offset = VD_DATA_OFFSET;
	_cleanup_close_ int fd = -EBADF;
	_cleanup_free_ char *canonical = NULL, *identity = NULL;
	struct vd_pool_device dev = { 0 }, existing = { 0 };
	struct vd_label label = { 0 }, old = { 0 };
	uint8_t saved[VD_LABEL_SIZE], pool_uuid[16];
	uint64_t size, extent_size = opts->extent_size, pool_es;
	char what[256], uuid_text[37];
	struct stat st;
	int64_t id;
	int r;

	r = open_for_format(path, &canonical, &st, &fd, &size);
	if (r < 0)
		return r;

	vd_db_pool_uuid(db, pool_uuid);
	r = vd_label_read(fd, &old);
	if (r == -EPROTONOSUPPORT)
		return vd_err(r, "%s carries a xenvd label of a newer version than this xenvd "
				 "understands; it is never overwritten: upgrade xenvd", path);
	if (r == 0) {
		bool ours = memcmp(old.pool_uuid, pool_uuid, 16) == 0;

		vd_uuid_unparse(old.device_uuid, uuid_text);
		if (ours && vd_db_device_find(db, old.device_uuid, NULL, &existing) == 0) {
			vd_pool_device_dispose(&existing);
			return vd_err(-EEXIST, "%s is already in this pool (device %s); "
					       "'xl-vd pool-list' shows it", path, uuid_text);
		}
		/* Our pool's label but no row: a format interrupted before its commit; redo it. */
		if (!ours && !opts->force) {
			char other[37];

			vd_uuid_unparse(old.pool_uuid, other);
			return vd_err(-EEXIST, "%s belongs to another xenvd pool (%s, device %s); "
					       "remove it there with 'xl-vd pool-remove', or pass "
					       "--force to destroy that pool's data on it",
				      path, other, uuid_text);
		}
	} else {
		r = refuse_unlabelled_data(fd, path, r, opts->force);
		if (r < 0)
			return r;
	}

	r = choose_extent_size(&extent_size);
	if (r < 0)
		return r;
	r = pool_extent_size(db, &pool_es);
	if (r < 0)
		return r;
	if (pool_es && pool_es != extent_size) {
		char a[32], b[32];

		return vd_err(-EINVAL, "the pool's extent size is %s, %s was asked for; format "
				       "%s with --extent-size %s (one size per pool keeps every VD "
				       "a whole number of extents)",
			      vd_format_size(pool_es, a, sizeof(a)),
			      vd_format_size(extent_size, b, sizeof(b)), path,
			      vd_format_size(pool_es, a, sizeof(a)));
	}
	r = area_on_device(db, fd, &area, &loc);
	if (r < 0)
		return r;
	if (!area.copy && loc.n == 1) {
		/* The pool's second device gets the second copy of its database, so that one
		 * lost device does not lose the map of the others. */
		if (size >= VD_MD_OFFSET + loc.copies[0].size + extent_size) {
			area = (struct vd_md_copy){ .offset = VD_MD_OFFSET,
						    .size = loc.copies[0].size, .copy = 2 };
			new_copy = true;
		} else {
			vd_warn("%s is too small for a second copy of the pool's database (%s); "
				"the pool keeps one copy, on %s", path,
				vd_format_size(loc.copies[0].size, what, sizeof(what)),
				loc.copies[0].path);
		}
	}
	if (area.copy)
		data_offset = area.offset + area.size;
	if (size < data_offset + extent_size) {
		char a[32], b[32];

		return vd_err(-ENOSPC, "%s is too small (%s) to hold one %s extent after the label "
				       "and metadata area",
			      path, vd_format_size(size, a, sizeof(a)),
			      vd_format_size(extent_size, b, sizeof(b)));
	}

	label = (struct vd_label){
		.version = VD_LABEL_VERSION,
		.extent_size = extent_size,
		.data_offset = data_offset,
		.extent_count = (size - data_offset) / extent_size,
		.device_size = size,
		.created = vd_now(),
		.md_offset = area.offset,
		.md_size = area.size,
		.md_copy = area.copy,
	};
	memcpy(label.pool_uuid, pool_uuid, 16);
	if (area.copy && !new_copy) {
		/* The locator named this device when the area was made. */
		memcpy(label.device_uuid, area.device_uuid, 16);
	} else {
		r = vd_random(label.device_uuid, 16);
		if (r < 0)
			return r;
		label.device_uuid[6] = (label.device_uuid[6] & 0x0f) | 0x40;
		label.device_uuid[8] = (label.device_uuid[8] & 0x3f) | 0x80;
	}

	/* Label first, then the row: a crash in between leaves a label of this pool with no
	 * row, which the next format of the same device recognises and redoes. The reverse
	 * order would leave a row that points at an unlabelled device. */
	r = vd_pread_all(fd, saved, sizeof(saved), 0);
	if (r < 0)
		return vd_err(r, "cannot read %s: %m", path);
	r = vd_label_write(fd, &label);
	if (r < 0)
		return vd_err(r, "cannot write the label of %s: %m", path);

	r = vd_pool_device_identity(canonical, &identity);
	if (r < 0)
		return vd_err(r, "cannot read the identity of %s: %m", path);
	dev = (struct vd_pool_device){
		.path = canonical,
		.identity = identity,
		.size = size,
		.extent_size = extent_size,
		.data_offset = data_offset,
		.extent_count = label.extent_count,
		.added = label.created,
		.scrub = !opts->no_scrub,
	};
	memcpy(dev.uuid, label.device_uuid, 16);
	r = vd_db_begin(db);
	if (r < 0)
		goto restore;
	if (new_copy) {
		/* Cloned in the transaction's write lock, before it writes anything; listed in
		 * the locator before the commit, so that no committed state has a copy that
		 * this dom0 does not keep in step. */
		area.path = canonical;
		memcpy(area.device_uuid, label.device_uuid, 16);
		r = vd_db_add_area_copy(db, &area);
		if (r == 0) {
			loc.copies[loc.n] = area;
			loc.copies[loc.n].path = strdup(canonical);
			if (!loc.copies[loc.n].path)
				r = -ENOMEM;
			else
				loc.n++;
		}
		if (r == 0) {
			r = vd_locator_write(vd_db_path(db), &loc);
			locator_grew = r == 0;
		}
		area.path = NULL;
		if (r < 0) {
			vd_db_rollback(db);
			goto restore;
		}
	}
	r = vd_db_device_add(db, &dev, &id);
	if (r < 0) {
		vd_db_rollback(db);
		goto restore;
	}
	r = vd_db_commit(db);
	if (r < 0)
		goto restore;
	if (ret)
		return vd_db_device_get(db, id, ret);
	return 0;

restore:
	/* Undo exactly what this run did: the locator names the copies it named before, and the
	 * previous first 4 KiB come back. */
	if (locator_grew) {
		int w;

		loc.n--;
		free(loc.copies[loc.n].path);
		loc.copies[loc.n].path = NULL;
		w = vd_locator_write(vd_db_path(db), &loc);
		if (w < 0)
			vd_warn_errno(w, "undo: cannot drop %s from the database locator %s: %m",
				      path, vd_db_path(db));
	}
	(void)vd_pwrite_all(fd, saved, sizeof(saved), 0);
	(void)fdatasync(fd);
	return r;
}

static int mkdir_parents(const char *path)
{
	_cleanup_free_ char *copy = strdup(path);
	char *slash;

	if (!copy)
		return -ENOMEM;
	slash = strrchr(copy, '/');
	if (!slash || slash == copy)
		return 0;
	*slash = '\0';
	for (char *p = copy + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(copy, 0700) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	return mkdir(copy, 0700) < 0 && errno != EEXIST ? -errno : 0;
}

static void random_uuid(uint8_t uuid[16])
{
	(void)vd_random(uuid, 16);
	uuid[6] = (uuid[6] & 0x0f) | 0x40;
	uuid[8] = (uuid[8] & 0x3f) | 0x80;
}

int vd_pool_format_onpool(const char *db_path, const char *path, const struct vd_format_opts *opts,
			  struct vd_db **ret_db, struct vd_pool_device *ret)
{
	_cleanup_close_ int fd = -EBADF;
	_cleanup_free_ char *canonical = NULL;
	struct vd_locator loc = { 0 };
	struct vd_label old;
	struct vd_db *db = NULL;
	uint64_t size, extent_size = opts->extent_size, max_extents = opts->max_extents, md_size;
	char a[32], b[32];
	struct stat st;
	int r;

	if (access(db_path, F_OK) == 0)
		return vd_err(-EEXIST, "%s already exists: this dom0 has a pool", db_path);
	r = open_for_format(path, &canonical, &st, &fd, &size);
	if (r < 0)
		return r;

	/* The same refusals as vd_pool_format, before anything is written. */
	r = vd_label_read(fd, &old);
	if (r == -EPROTONOSUPPORT)
		return vd_err(r, "%s carries a xenvd label of a newer version than this xenvd "
				 "understands; it is never overwritten: upgrade xenvd", path);
	if (r == 0 && !opts->force) {
		char other[37];

		vd_uuid_unparse(old.pool_uuid, other);
		return vd_err(-EEXIST, "%s belongs to another xenvd pool (%s)%s; bring that pool "
				       "here with 'xl-vd pool-import %s', or pass --force to destroy "
				       "its data", path, other,
			      old.md_copy ? ", which carries its own database" : "", path);
	}
	if (r < 0) {
		r = refuse_unlabelled_data(fd, path, r, opts->force);
		if (r < 0)
			return r;
	}
	r = choose_extent_size(&extent_size);
	if (r < 0)
		return r;
	if (!max_extents) {
		max_extents = size > VD_MD_OFFSET ? (size - VD_MD_OFFSET) / extent_size * 8 : 0;
		if (max_extents < 16384)
			max_extents = 16384;
	}
	md_size = vd_mdarea_size_for(max_extents);
	if (size < VD_MD_OFFSET + md_size + extent_size)
		return vd_err(-ENOSPC, "%s (%s) is too small for a metadata area of %s (for %" PRIu64
				       " extents) and one extent; pass --max-extents N for a smaller "
				       "area, or --file-database to keep the database in %s",
			      path, vd_format_size(size, a, sizeof(a)),
			      vd_format_size(md_size, b, sizeof(b)), max_extents, db_path);

	random_uuid(loc.pool_uuid);
	loc.n = 1;
	loc.copies[0] = (struct vd_md_copy){
		.path = canonical,
		.offset = VD_MD_OFFSET,
		.size = md_size,
		.copy = 1,
	};
	random_uuid(loc.copies[0].device_uuid);
	/* Area, then locator, then database, then label and row (vd_pool_format). A crash
	 * before the locator leaves nothing this dom0 knows of; after it, a pool with no device
	 * whose next 'xl-vd format' of this device finds its area in the locator and finishes. */
	r = vd_mdarea_init(fd, VD_MD_OFFSET, md_size, loc.pool_uuid, 1);
	if (r < 0)
		return vd_err(r, "cannot write the metadata area of %s: %m", path);
	close(TAKE_FD(fd));
	r = mkdir_parents(db_path);
	if (r < 0)
		return vd_err(r, "cannot create the directory of %s: %m", db_path);
	r = vd_locator_write(db_path, &loc);
	if (r < 0)
		return r;
	r = vd_db_open(db_path, VD_DB_CREATE, &db);
	if (r == 0)
		r = vd_pool_format(db, canonical, opts, ret);
	if (r < 0) {
		/* Nothing of this pool is in use yet: the next format starts afresh. */
		vd_db_close(db);
		unlink(db_path);
		return r;
	}
	*ret_db = db;
	return 0;
}

int vd_pool_import(const char *db_path, char *const *devices, size_t n, struct vd_db **ret_db)
{
	struct vd_locator loc = { 0 }, existing = { 0 };
	struct vd_label labels[64];
	char *paths[64] = { 0 };
	struct vd_db *db = NULL;
	bool have_pool = false, wrote = false;
	char uuid[37], other[37];
	int r = 0;

	if (n == 0 || n > ARRAY_SIZE(labels))
		return vd_err(-EINVAL, "pool-import takes 1 to %zu devices", ARRAY_SIZE(labels));
	for (size_t i = 0; i < n; i++) {
		_cleanup_close_ int fd = -EBADF;

		paths[i] = realpath(devices[i], NULL);
		if (!paths[i]) {
			r = vd_err(-errno, "cannot import %s: %m", devices[i]);
			goto out;
		}
		fd = open(paths[i], O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			r = vd_err(-errno, "cannot import %s: %m", devices[i]);
			goto out;
		}
		r = vd_label_read(fd, &labels[i]);
		if (r < 0) {
			r = vd_err(r, "cannot import %s: %s", devices[i],
				   r == -ENOMSG ? "it carries no xenvd label" :
				   r == -EPROTONOSUPPORT ? "its label is of a newer xenvd" :
				   r == -EBADMSG ? "its xenvd label is damaged" : "cannot read its label");
			goto out;
		}
		if (!have_pool) {
			memcpy(loc.pool_uuid, labels[i].pool_uuid, 16);
			have_pool = true;
		} else if (memcmp(loc.pool_uuid, labels[i].pool_uuid, 16) != 0) {
			vd_uuid_unparse(loc.pool_uuid, uuid);
			vd_uuid_unparse(labels[i].pool_uuid, other);
			r = vd_err(-EINVAL, "cannot import: %s belongs to pool %s, %s to pool %s; "
					    "import one pool at a time", devices[0], uuid, devices[i],
				   other);
			goto out;
		}
		if (labels[i].md_copy && loc.n < 2) {
			struct vd_md_copy *c = &loc.copies[loc.n++];

			memcpy(c->device_uuid, labels[i].device_uuid, 16);
			c->offset = labels[i].md_offset;
			c->size = labels[i].md_size;
			c->copy = labels[i].md_copy;
			c->path = strdup(paths[i]);
			if (!c->path) {
				r = -ENOMEM;
				goto out;
			}
		}
	}
	vd_uuid_unparse(loc.pool_uuid, uuid);
	if (loc.n == 0) {
		r = vd_err(-ENOENT, "none of the devices given carries pool %s's database (its "
				    "first device, and its second if it has a copy, do); name them, "
				    "or 'xl-vd --db FILE' if the pool kept its database in a file",
			   uuid);
		goto out;
	}
	if (loc.n == 2 && loc.copies[0].copy == 2) {
		struct vd_md_copy t = loc.copies[0];

		loc.copies[0] = loc.copies[1];
		loc.copies[1] = t;
	}
	if (access(db_path, F_OK) == 0) {
		if (!vd_locator_is(db_path)) {
			r = vd_err(-EEXIST, "this dom0 already has a pool database in %s; a dom0 "
					    "serves one pool: move it away first", db_path);
			goto out;
		}
		r = vd_locator_read(db_path, &existing);
		if (r < 0)
			goto out;
		if (memcmp(existing.pool_uuid, loc.pool_uuid, 16) != 0) {
			vd_uuid_unparse(existing.pool_uuid, other);
			r = vd_err(-EEXIST, "this dom0 already serves pool %s (%s); it cannot import "
					    "pool %s as well", other, db_path, uuid);
			goto out;
		}
		/* Copies the locator knows and the command line did not name stay in it. */
		for (size_t i = 0; i < existing.n && loc.n < 2; i++) {
			bool named = false;

			for (size_t j = 0; j < loc.n; j++)
				named |= loc.copies[j].copy == existing.copies[i].copy;
			if (named)
				continue;
			loc.copies[loc.n] = existing.copies[i];
			loc.copies[loc.n].identity = NULL;
			loc.copies[loc.n].path = strdup(existing.copies[i].path);
			if (!loc.copies[loc.n].path) {
				r = -ENOMEM;
				goto out;
			}
			loc.n++;
		}
		if (loc.n == 2 && loc.copies[0].copy == 2) {
			struct vd_md_copy t = loc.copies[0];

			loc.copies[0] = loc.copies[1];
			loc.copies[1] = t;
		}
	}
	r = mkdir_parents(db_path);
	if (r < 0) {
		r = vd_err(r, "cannot create the directory of %s: %m", db_path);
		goto out;
	}
	r = vd_locator_write(db_path, &loc);
	if (r < 0)
		goto out;
	wrote = existing.n == 0;
	r = vd_db_open(db_path, 0, &db);
	if (r == -ENOTCONN) {
		/* A shared pool, and this host has not joined its lockspace: lockspace-start
		 * needs the locator to find the lease area, so it stays. */
		_cleanup_free_ char *why = strdup(vd_errmsg());

		wrote = false;
		r = vd_err(r, "%s, then run this pool-import again", why ? why : "");
		goto out;
	}
	if (r < 0)
		goto out;
	/* Where every device given is now (the database has where it was last seen). */
	r = vd_db_begin(db);
	for (size_t i = 0; r == 0 && i < n; i++) {
		struct vd_pool_device dev = { 0 };

		if (vd_db_device_find(db, labels[i].device_uuid, NULL, &dev) < 0) {
			vd_err_clear();
			vd_uuid_unparse(labels[i].device_uuid, other);
			vd_warn("%s (device %s) carries pool %s's label but the pool's database has "
				"no such device (removed from the pool?); left alone", paths[i],
				other, uuid);
			continue;
		}
		if (strcmp(dev.path, paths[i]) != 0)
			r = vd_db_device_set_path(db, dev.id, paths[i]);
		vd_pool_device_dispose(&dev);
	}
	if (r == 0)
		r = vd_db_commit(db);
	else
		vd_db_rollback(db);
	if (r < 0)
		goto out;
	*ret_db = TAKE_PTR(db);
	wrote = false;
out:
	vd_db_close(db);
	if (wrote)
		unlink(db_path);
	for (size_t i = 0; i < n && i < ARRAY_SIZE(paths); i++)
		free(paths[i]);
	vd_locator_dispose(&loc);
	vd_locator_dispose(&existing);
	return r;
}

static int find_device(struct vd_db *db, const char *which, struct vd_pool_device *ret);

int vd_pool_move_db(struct vd_db *db, const char *device, uint64_t max_extents,
		    struct vd_db **ret_db)
{
	_cleanup_free_ char *db_path = strdup(vd_db_path(db)), *tmp = NULL, *kept = NULL;
	struct vd_pool_device *list = NULL, dev = { 0 };
	struct vd_locator loc = { 0 };
	_cleanup_close_ int fd = -EBADF;
	struct vd_label label;
	uint64_t total = 0, md_size, take, area_off;
	char uuid[37], a[32];
	size_t n = 0;
	int r;

	*ret_db = NULL;
	if (!db_path)
		return -ENOMEM;
	if (vd_db_storage(db))
		return vd_err(-EEXIST, "the pool's database is on the pool already (%s)",
			      vd_db_storage(db));
	r = vd_db_device_list(db, &list, &n);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++)
		total += list[i].extent_count;
	if (device) {
		r = find_device(db, device, &dev);
	} else {
		r = -ENOENT;
		for (size_t i = 0; i < n && r == -ENOENT; i++)
			if (strncmp(list[i].path, "/dev/", 5) == 0)
				r = vd_db_device_get(db, list[i].id, &dev);
		if (r == -ENOENT)
			r = vd_err(r, "the pool has no block device to carry its database; name a "
				      "device of the pool");
	}
	vd_db_device_list_free(list, n);
	if (r < 0)
		return r;
	vd_uuid_unparse(dev.uuid, uuid);
	if (!max_extents)
		max_extents = total * 8 < 16384 ? 16384 : total * 8;
	md_size = vd_mdarea_size_for(max_extents);
	take = (md_size + dev.extent_size - 1) / dev.extent_size;
	if (take >= dev.extent_count) {
		r = vd_err(-ENOSPC, "pool device %s (%s) has %" PRIu64 " extents; the database "
				    "needs %s, %" PRIu64 " of them: name a bigger device, or pass "
				    "--max-extents N", uuid, dev.path, dev.extent_count,
			   vd_format_size(md_size, a, sizeof(a)), take);
		goto out;
	}
	/* The area: the device's last `take` extents, which must be free. */
	area_off = dev.data_offset + (dev.extent_count - take) * dev.extent_size;
	md_size = take * dev.extent_size;
	r = vd_pool_open_device(db, &dev, O_RDWR, &fd);
	if (r < 0)
		goto out;
	r = vd_label_read(fd, &label);
	if (r < 0) {
		r = vd_err(r, "cannot read the label of %s: %m", dev.path);
		goto out;
	}
	/* Holding the write lock of the file: nothing changes it while it is copied. */
	r = vd_db_begin(db);
	if (r < 0)
		goto out;
	for (uint64_t e = dev.extent_count - take; e < dev.extent_count; e++) {
		uint32_t owner;
		bool dirty;

		r = vd_db_extent_state(db, dev.id, e, &owner, &dirty);
		if (r == 0 && owner)
			r = vd_err(-EBUSY, "the last %" PRIu64 " extents of pool device %s (%s), "
					   "where the database would go, hold data of VD %u; free "
					   "them (delete or shrink that VD, then 'xl-vd gc') or name "
					   "another device", take, uuid, dev.path, owner);
		if (r < 0)
			goto rollback;
	}

	vd_db_pool_uuid(db, loc.pool_uuid);
	loc.n = 1;
	loc.copies[0] = (struct vd_md_copy){ .path = dev.path, .offset = area_off,
					     .size = md_size, .copy = 1 };
	memcpy(loc.copies[0].device_uuid, dev.uuid, 16);
	if (asprintf(&tmp, "%s.onpool-new", db_path) < 0 ||
	    asprintf(&kept, "%s.pre-pool", db_path) < 0) {
		r = -ENOMEM;
		goto rollback;
	}
	r = vd_mdarea_init(fd, area_off, md_size, loc.pool_uuid, 1);
	if (r < 0) {
		r = vd_err(r, "cannot write the metadata area on %s: %m", dev.path);
		goto rollback;
	}
	r = vd_locator_write(tmp, &loc);
	if (r == 0)
		r = vd_db_copy_to_pool(db, tmp);
	if (r == 0)
		r = vd_db_open(tmp, 0, ret_db);
	if (r < 0)
		goto rollback;
	/* In the copy: the device gives up the extents that now hold the database. */
	r = vd_db_begin(*ret_db);
	if (r == 0)
		r = vd_db_device_shrink(*ret_db, dev.id, dev.extent_count - take);
	if (r == 0)
		r = vd_db_commit(*ret_db);
	else
		vd_db_rollback(*ret_db);
	if (r < 0)
		goto rollback;
	/* The label, then the locator in the file's place. A crash between them leaves the
	 * file in charge and a label it disagrees with: running this command again finishes. */
	label.extent_count = dev.extent_count - take;
	label.md_offset = area_off;
	label.md_size = md_size;
	label.md_copy = 1;
	r = vd_label_write(fd, &label);
	if (r < 0) {
		r = vd_err(r, "cannot write the label of %s: %m", dev.path);
		goto rollback;
	}
	(void)unlink(kept);
	if (link(db_path, kept) < 0 || rename(tmp, db_path) < 0) {
		r = vd_err(-errno, "cannot put the locator in place of %s: %m", db_path);
		goto rollback;
	}
	{
		/* The file's WAL goes with it (SQLite names it after the database). */
		_cleanup_free_ char *wal = NULL, *kept_wal = NULL;

		if (asprintf(&wal, "%s-wal", db_path) >= 0 &&
		    asprintf(&kept_wal, "%s-wal", kept) >= 0 && access(wal, F_OK) == 0) {
			(void)unlink(kept_wal);
			(void)rename(wal, kept_wal);
		}
	}
	vd_db_rollback(db);
	vd_info("database %s moved onto pool device %s (%s); the file is kept as %s", db_path,
		uuid, dev.path, kept);
	/* The copy's connection was opened under the temporary name: reopen by the real one. */
	vd_db_close(*ret_db);
	*ret_db = NULL;
	r = vd_db_open(db_path, 0, ret_db);
	goto out;
rollback:
	vd_db_rollback(db);
	if (*ret_db) {
		vd_db_close(*ret_db);
		*ret_db = NULL;
	}
	if (tmp)
		unlink(tmp);
out:
	vd_pool_device_dispose(&dev);
	return r;
}

/* The device's logical sector size: what sanlock's leases are written for. */
static int sector_size_of(int fd, uint32_t *ret)
{
	struct stat st;
	int ss = 512;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (S_ISBLK(st.st_mode) && ioctl(fd, BLKSSZGET, &ss) < 0)
		return -errno;
	*ret = (uint32_t)ss;
	return 0;
}

static int refuse_attached(struct vd_db *db)
{
	struct vd_attachment *list = NULL;
	char names[512] = "";
	size_t n = 0, len = 0;
	int r;

	r = vd_db_attachment_list(db, 0, &list, &n);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n && len < sizeof(names) - 64; i++)
		len += (size_t)snprintf(names + len, sizeof(names) - len, "%sVD %u (domain %u)",
					i ? ", " : "", list[i].vd_id, list[i].domid);
	vd_db_attachment_list_free(list, n);
	if (n)
		return vd_err(-EBUSY, "the pool cannot be made shared while VDs are attached: %s; "
				      "detach them (shut those guests down) first", names);
	return 0;
}

int vd_pool_share(struct vd_db *db, uint32_t io_timeout)
{
	_cleanup_(locator_disposep) struct vd_locator loc = { 0 };
	struct vd_pool_device dev = { 0 };
	struct vd_sanlock_area sa;
	struct vd_md_lease lease = { 0 };
	_cleanup_close_ int fd = -EBADF;
	struct vd_label label;
	uint64_t end, take, first, lease_off;
	uint8_t pool_uuid[16];
	char uuid[37], a[32];
	const struct vd_md_copy *primary = NULL;
	int r;

	if (!vd_db_storage(db))
		return vd_err(-EINVAL, "the pool's database is the file %s: a pool whose database "
				       "is a file cannot be shared; move the database onto the pool "
				       "with 'xl-vd db-to-pool', then run 'xl-vd pool-share'",
			      vd_db_path(db));
	vd_db_pool_uuid(db, pool_uuid);
	vd_uuid_unparse(pool_uuid, uuid);
	if (vd_db_lease(db, NULL))
		return vd_err(-EEXIST, "pool %s is shared already", uuid);
	r = refuse_attached(db);
	if (r < 0)
		return r;
	r = vd_locator_read(vd_db_path(db), &loc);
	if (r < 0)
		return r;
	for (size_t i = 0; i < loc.n; i++)
		if (loc.copies[i].copy == 1)
			primary = &loc.copies[i];
	if (!primary)
		return vd_err(-ENODEV, "the locator %s names no first copy of the metadata area",
			      vd_db_path(db));
	r = vd_db_device_find(db, primary->device_uuid, NULL, &dev);
	if (r < 0)
		return vd_err(r, "the device carrying the pool's database is not in the pool: %m");
	r = vd_pool_open_device(db, &dev, O_RDWR, &fd);
	if (r < 0)
		goto out;
	r = sector_size_of(fd, &lease.sector_size);
	if (r == 0)
		r = vd_sanlock_area_init(&sa, pool_uuid, dev.path, 0, lease.sector_size);
	if (r < 0)
		goto out;
	/* The lease area: the device's last extents, aligned as sanlock wants its leases. */
	end = dev.data_offset + dev.extent_count * dev.extent_size;
	lease.size = vd_sanlock_area_size(&sa);
	lease_off = end >= lease.size ? (end - lease.size) / sa.align * sa.align : 0;
	if (lease_off < dev.data_offset + dev.extent_size) {
		r = vd_err(-ENOSPC, "pool device %s (%s) is too small for a lease area of %s "
				    "besides one extent", dev.path, uuid,
			   vd_format_size(lease.size, a, sizeof(a)));
		goto out;
	}
	first = (lease_off - dev.data_offset) / dev.extent_size;
	take = dev.extent_count - first;
	lease.offset = lease_off;
	memcpy(lease.device_uuid, dev.uuid, 16);
	r = vd_sanlock_area_init(&sa, pool_uuid, dev.path, lease_off, lease.sector_size);
	if (r == 0)
		r = vd_sanlock_daemon_check();
	if (r < 0)
		goto out;

	/* 1. The extents go (refused if any holds data), 2. the label says so, 3. the leases
	 * are written, 4. the headers record them. A crash before 4 leaves an unshared pool
	 * that is only a few extents smaller. */
	r = vd_db_begin(db);
	if (r < 0)
		goto out;
	r = vd_db_device_shrink(db, dev.id, first);
	if (r == 0)
		r = vd_db_commit(db);
	else
		vd_db_rollback(db);
	if (r < 0) {
		r = vd_err_prefix(r, "the last %" PRIu64 " extents of pool device %s, where the "
				     "lease area would go, must be free", take, dev.path);
		goto out;
	}
	r = vd_label_read(fd, &label);
	if (r == 0) {
		label.extent_count = first;
		r = vd_label_write(fd, &label);
	}
	if (r < 0) {
		r = vd_err(r, "cannot write the label of %s: %m", dev.path);
		goto out;
	}
	r = vd_sanlock_area_format(&sa, io_timeout);
	/* the active-VD lease each host's holder holds while it has dm devices (holder.h) */
	if (r == 0)
		r = vd_sanlock_resource_format(&sa, VD_SANLOCK_SLOT_ACTIVE,
					       VD_SANLOCK_ACTIVE_RESOURCE);
	if (r < 0)
		goto out;
	r = vd_db_begin(db);
	if (r < 0)
		goto out;
	r = vd_db_set_lease(db, &lease);
	if (r == 0)
		r = vd_db_commit(db);
	else
		vd_db_rollback(db);
	if (r < 0)
		goto out;
	vd_info("pool %s is shared: its lease area is %s at %" PRIu64 " (%s, %u-byte sectors)",
		uuid, dev.path, lease_off, vd_format_size(lease.size, a, sizeof(a)),
		lease.sector_size);
out:
	vd_pool_device_dispose(&dev);
	return r;
}

static int find_device(struct vd_db *db, const char *which, struct vd_pool_device *ret)
{
	uint8_t uuid[16];
	_cleanup_free_ char *canonical = NULL;
	int r;

	if (vd_uuid_parse(which, uuid) == 0)
		r = vd_db_device_find(db, uuid, NULL, ret);
	else {
		canonical = realpath(which, NULL);
		r = vd_db_device_find(db, NULL, canonical ? canonical : which, ret);
	}
	if (r == -ENOENT)
		return vd_err(r, "%s is not a device of this pool; 'xl-vd pool-list' shows them",
			      which);
	return r;
}

int vd_pool_remove(struct vd_db *db, const char *which, bool force)
{
	struct vd_locator loc = { 0 };
	uint32_t copy = 0;
	_cleanup_txn_ struct vd_db *txn = NULL;
	struct vd_pool_device dev = { 0 };
	_cleanup_close_ int fd = -EBADF;
	char uuid_text[37];
	int r;

	r = find_device(db, which, &dev);
	if (r < 0)
		return r;
	vd_uuid_unparse(dev.uuid, uuid_text);
	if (vd_db_storage(db)) {
		/* The first copy of the database stays where it is; the second goes with its
		 * device, and the pool keeps one copy. */
		r = vd_locator_read(vd_db_path(db), &loc);
		if (r < 0)
			goto out;
		for (size_t i = 0; i < loc.n; i++)
			if (memcmp(loc.copies[i].device_uuid, dev.uuid, 16) == 0)
				copy = loc.copies[i].copy;
	}

	r = vd_db_txn_begin(db, &txn);
	if (r < 0)
		goto out;
	r = vd_db_device_remove(db, dev.id);
	if (r < 0) {
		r = vd_err_prefix(r, "cannot remove pool device %s (%s)", uuid_text, dev.path);
		goto out;
	}
	if (copy == 1) {
		r = vd_err(-EBUSY, "cannot remove pool device %s (%s): it carries the pool's "
				   "database", uuid_text, dev.path);
		goto out;
	}
	/* The label is wiped before the commit so that a failure leaves the row, which still
	 * describes a labelled device; a crash after the wipe leaves a row whose label is gone,
	 * which 'xl-vd check' reports and pool-remove --force finishes. */
	r = vd_pool_open_device(db, &dev, O_RDWR, &fd);
	if (r == 0) {
		r = vd_label_wipe(fd);
		if (r < 0) {
			r = vd_err(r, "cannot wipe the label of %s: %m", dev.path);
			goto out;
		}
	} else if (!force) {
		r = vd_err_prefix(r, "cannot remove pool device %s", uuid_text);
		goto out;
	}
	r = vd_db_commit(TAKE_PTR(txn));
	if (r == 0 && copy == 2) {
		size_t keep = 0;

		for (size_t i = 0; i < loc.n; i++) {
			if (loc.copies[i].copy == 2) {
				free(loc.copies[i].path);
				free(loc.copies[i].identity);
				continue;
			}
			loc.copies[keep++] = loc.copies[i];
		}
		loc.n = keep;
		r = vd_locator_write(vd_db_path(db), &loc);
		if (r == 0)
			vd_warn("the second copy of the pool's database went with %s; the pool keeps "
				"one copy, on %s", dev.path, loc.copies[0].path);
	}
out:
	vd_locator_dispose(&loc);
	vd_pool_device_dispose(&dev);
	return r;
}

/* The name /proc/devices gives a block major ("loop", "xvd", "nbd"), or "" when unknown. */
static void major_name(unsigned major, char *buf, size_t len)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/devices", "re");
	char line[128], name[64];
	bool block = false;
	unsigned m;

	buf[0] = '\0';
	while (f && fgets(line, sizeof(line), f)) {
		if (strncmp(line, "Block devices:", 14) == 0)
			block = true;
		else if (block && sscanf(line, "%u %63s", &m, name) == 2 && m == major) {
			snprintf(buf, len, "%s", name);
			return;
		}
	}
}

/* The whole disk's directory in /sys of block device rdev (a partition's parent). */
static void disk_sysfs(dev_t rdev, char *buf, size_t len)
{
	char path[128];

	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/partition", major(rdev), minor(rdev));
	snprintf(buf, len, access(path, F_OK) == 0 ? "/sys/dev/block/%u:%u/.." : "/sys/dev/block/%u:%u",
		 major(rdev), minor(rdev));
}

/* Whether a guest can write the block device (name in /dev, rdev): a xen-blkfront disk (dom0's
 * xvd* from libxl's local attach of a guest's own disk, or any vbd-driven disk), or a network or
 * replicated device (nbd, rbd, ZFS zvols, drbd) whose contents come from elsewhere. Decided from
 * the driver, with the names as a fallback. Never adopted as a pool device, whatever its label
 * says. why: the reason, for messages. */
static bool guest_writable(const char *name, dev_t rdev, char *why, size_t len)
{
	static const char *const drivers[] = { "xvd", "nbd", "rbd", "zvol", "drbd" };
	static const char *const names[] = { "xvd", "nbd", "rbd", "zd", "drbd" };
	const char *hook = getenv("XENVD_TEST_GUEST_WRITABLE");
	char major_driver[64], sys[160], link[PATH_MAX];
	ssize_t n;

	/* Tests mark a loop device as one a guest writes; the hook can only add refusals. */
	if (hook) {
		size_t l = strlen(name);

		for (const char *p = strstr(hook, name); p; p = strstr(p + 1, name))
			if ((p == hook || p[-1] == ' ') && (p[l] == ' ' || p[l] == '\0')) {
				snprintf(why, len, "marked guest-writable by XENVD_TEST_GUEST_WRITABLE");
				return true;
			}
	}
	major_name(major(rdev), major_driver, sizeof(major_driver));
	for (size_t i = 0; i < ARRAY_SIZE(drivers); i++)
		if (strcmp(major_driver, drivers[i]) == 0) {
			snprintf(why, len, "its driver is %s", major_driver);
			return true;
		}
	disk_sysfs(rdev, sys, sizeof(sys));
	strncat(sys, "/device/driver", sizeof(sys) - strlen(sys) - 1);
	n = readlink(sys, link, sizeof(link) - 1);
	if (n > 0) {
		link[n] = '\0';
		if (strcmp(basename(link), "vbd") == 0) {
			snprintf(why, len, "it is a Xen virtual block device (vbd driver)");
			return true;
		}
	}
	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (strncmp(name, names[i], strlen(names[i])) == 0) {
			snprintf(why, len, "it is named like %s devices", names[i]);
			return true;
		}
	return false;
}

/* A loop device's backing file, "" when it has none. */
static void loop_backing_file(dev_t rdev, char *buf, size_t len)
{
	_cleanup_fclose_ FILE *f = NULL;
	char path[160];

	buf[0] = '\0';
	disk_sysfs(rdev, path, sizeof(path));
	strncat(path, "/loop/backing_file", sizeof(path) - strlen(path) - 1);
	f = fopen(path, "re");
	if (f && fgets(buf, (int)len, f))
		buf[strcspn(buf, "\n")] = '\0';
}

int vd_pool_device_identity(const char *path, char **ret_identity)
{
	_cleanup_free_ char *canonical = realpath(path, NULL), *best = NULL;
	char driver[64], backing[PATH_MAX];
	struct dirent *e;
	struct stat st;
	DIR *d;

	*ret_identity = NULL;
	if (!canonical || stat(canonical, &st) < 0)
		return -errno;
	if (!S_ISBLK(st.st_mode))
		return 0; /* files are only ever found at their path */
	major_name(major(st.st_rdev), driver, sizeof(driver));
	if (strcmp(driver, "loop") == 0) {
		loop_backing_file(st.st_rdev, backing, sizeof(backing));
		if (!backing[0])
			return 0;
		/* a loop device's partitions share its backing file: tell them apart */
		char part[128];
		_cleanup_fclose_ FILE *f = NULL;
		unsigned no = 0;

		snprintf(part, sizeof(part), "/sys/dev/block/%u:%u/partition", major(st.st_rdev),
			 minor(st.st_rdev));
		f = fopen(part, "re");
		if (f && fscanf(f, "%u", &no) != 1)
			no = 0;
		if ((no ? asprintf(ret_identity, "loop:%s:p%u", backing, no)
			: asprintf(ret_identity, "loop:%s", backing)) < 0)
			return -ENOMEM;
		return 0;
	}
	/* Hardware names only: dm-, lvm-pv-, md- names come from the contents, which a copy
	 * shares. A WWN first, then the lowest other name (the same every time). */
	d = opendir("/dev/disk/by-id");
	while (d && (e = readdir(d))) {
		static const char *const from_contents[] = { ".", "dm-", "lvm-pv-", "md-" };
		_cleanup_free_ char *target = NULL;
		char link[PATH_MAX];
		bool skip = false;

		for (size_t i = 0; i < ARRAY_SIZE(from_contents); i++)
			skip |= strncmp(e->d_name, from_contents[i], strlen(from_contents[i])) == 0;
		if (skip)
			continue;
		snprintf(link, sizeof(link), "/dev/disk/by-id/%s", e->d_name);
		target = realpath(link, NULL);
		if (!target || strcmp(target, canonical) != 0)
			continue;
		bool wwn = strncmp(e->d_name, "wwn-", 4) == 0;
		bool best_wwn = best && strncmp(best, "wwn-", 4) == 0;

		if (!best || (wwn && !best_wwn) || (wwn == best_wwn && strcmp(e->d_name, best) < 0)) {
			free(best);
			if (!(best = strdup(e->d_name))) {
				closedir(d);
				return -ENOMEM;
			}
		}
	}
	if (d)
		closedir(d);
	if (best) {
		*ret_identity = TAKE_PTR(best);
		return 0;
	}
	/* No udev names (a minimal dom0): what the kernel reports, where udev takes them from. */
	static const char *const attrs[][2] = { { "wwid", "wwid" }, { "device/wwid", "wwid" },
						{ "serial", "serial" }, { "device/serial", "serial" } };
	char sys[160], value[256], part[160];
	unsigned no = 0;
	_cleanup_fclose_ FILE *pf = NULL;

	snprintf(part, sizeof(part), "/sys/dev/block/%u:%u/partition", major(st.st_rdev),
		 minor(st.st_rdev));
	pf = fopen(part, "re");
	if (pf && fscanf(pf, "%u", &no) != 1)
		no = 0;
	for (size_t i = 0; i < ARRAY_SIZE(attrs); i++) {
		_cleanup_fclose_ FILE *f = NULL;
		size_t len;

		disk_sysfs(st.st_rdev, sys, sizeof(sys));
		snprintf(sys + strlen(sys), sizeof(sys) - strlen(sys), "/%s", attrs[i][0]);
		f = fopen(sys, "re");
		if (!f || !fgets(value, sizeof(value), f))
			continue;
		len = strlen(value);
		while (len && (value[len - 1] == '\n' || value[len - 1] == ' '))
			value[--len] = '\0';
		if (!len)
			continue;
		if ((no ? asprintf(ret_identity, "%s:%s:p%u", attrs[i][1], value, no)
			: asprintf(ret_identity, "%s:%s", attrs[i][1], value)) < 0)
			return -ENOMEM;
		return 0;
	}
	return 0;
}

/* Block devices that never hold a pool device of their own: device-mapper devices (VDs among
 * them, whose first sectors are guest data), ram, optical and floppy devices, and the members of
 * an md RAID (a RAID1 member shows the array's first sectors: the array is the device). */
static bool scan_skips(const char *name)
{
	static const char *const prefixes[] = { "dm-", "ram", "zram", "sr", "fd" };
	char path[64 + 256];
	struct dirent *e;
	bool member = false;
	DIR *d;

	for (size_t i = 0; i < ARRAY_SIZE(prefixes); i++)
		if (strncmp(name, prefixes[i], strlen(prefixes[i])) == 0)
			return true;
	snprintf(path, sizeof(path), "/sys/class/block/%s/holders", name);
	d = opendir(path);
	if (!d)
		return false;
	while (!member && (e = readdir(d)))
		member = strncmp(e->d_name, "md", 2) == 0;
	closedir(d);
	return member;
}

/* What the label search found for one pool device. */
struct label_search {
	char *adopt;	   /* the one disk with its label and its recorded identity */
	char *unverified;  /* the first disk with its label but not that identity */
	char *unverified_identity;
	unsigned n_unverified;
	char refused[512]; /* guest-writable disks that carry it: ignored */
};

static void label_search_dispose(struct label_search *s)
{
	free(s->adopt);
	free(s->unverified);
	free(s->unverified_identity);
}

/* Pool devices are identified by their label, but a label is 4 KiB anyone can copy: when a disk
 * is no longer where it was last seen (renamed at boot, moved to another port), the block
 * devices in /dev are probed for the label with this device's UUID (a read-only look at the
 * first 4 KiB of each), and one is adopted only if it also shows the hardware identity recorded
 * at format time. Disks a guest can write are never adopted and never count as duplicates
 * (a guest could otherwise deny the pool its device); a disk with the label but not the
 * identity is only reported. Two disks with label and identity (multipath without dm) are
 * refused. */
static int find_by_label(const struct vd_pool_device *dev, const uint8_t pool_uuid[16],
			 const char *uuid_text, struct label_search *ret)
{
	struct dirent *e;
	DIR *d = opendir("/dev");
	size_t refused_len = 0;
	int r = 0;

	if (!d)
		return -ENODEV;
	while (r == 0 && (e = readdir(d))) {
		uint8_t buf[VD_LABEL_SIZE];
		_cleanup_free_ char *identity = NULL;
		struct vd_label l;
		char path[sizeof("/dev/") + 256], why[128];
		struct stat st;
		int fd;

		if ((e->d_type != DT_BLK && e->d_type != DT_UNKNOWN) || scan_skips(e->d_name))
			continue;
		snprintf(path, sizeof(path), "/dev/%s", e->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
		if (fd < 0)
			continue;
		if (fstat(fd, &st) < 0 || !S_ISBLK(st.st_mode) ||
		    pread(fd, buf, sizeof(buf), 0) != (ssize_t)sizeof(buf) ||
		    vd_label_decode(buf, &l) < 0 || memcmp(l.pool_uuid, pool_uuid, 16) != 0 ||
		    memcmp(l.device_uuid, dev->uuid, 16) != 0) {
			close(fd);
			continue;
		}
		close(fd);
		if (guest_writable(e->d_name, st.st_rdev, why, sizeof(why))) {
			vd_warn("pool device %s: %s carries its label but is never adopted: %s, so a "
				"guest may have written that label", uuid_text, path, why);
			refused_len += (size_t)snprintf(ret->refused + refused_len,
							refused_len < sizeof(ret->refused)
								? sizeof(ret->refused) - refused_len
								: 0,
							"%s%s", refused_len ? ", " : "", path);
			if (refused_len >= sizeof(ret->refused))
				refused_len = sizeof(ret->refused) - 1;
			continue;
		}
		r = vd_pool_device_identity(path, &identity);
		if (r < 0) {
			r = 0;
			continue;
		}
		if (dev->identity && identity && strcmp(dev->identity, identity) == 0) {
			if (ret->adopt)
				r = vd_err(-ENOTUNIQ, "pool device %s is not at %s any more, and both "
						      "%s and %s carry its label and identity %s "
						      "(multipath?); disconnect one",
					   uuid_text, dev->path, ret->adopt, path, identity);
			else if (!(ret->adopt = strdup(path)))
				r = -ENOMEM;
			continue;
		}
		if (ret->n_unverified++ == 0) {
			ret->unverified = strdup(path);
			ret->unverified_identity = TAKE_PTR(identity);
			if (!ret->unverified)
				r = -ENOMEM;
		}
	}
	closedir(d);
	return r;
}

int vd_pool_find_label(const uint8_t pool_uuid[16], const uint8_t device_uuid[16],
		       const char *last_path, const char *identity, char **ret_path)
{
	struct vd_pool_device dev = { .path = (char *)last_path, .identity = (char *)identity };
	struct label_search found = { 0 };
	char uuid_text[37];
	int r;

	memcpy(dev.uuid, device_uuid, 16);
	vd_uuid_unparse(device_uuid, uuid_text);
	r = find_by_label(&dev, pool_uuid, uuid_text, &found);
	if (r == 0 && found.adopt)
		*ret_path = TAKE_PTR(found.adopt);
	else if (r == 0)
		r = vd_err(-ENODEV, "pool device %s, which carries the pool's database, is not at %s "
				    "and no disk in /dev carries its label and identity%s%s%s; "
				    "reconnect it, or if it is that disk, 'xl-vd pool-import %s'",
			   uuid_text, last_path, found.unverified ? " (" : "",
			   found.unverified ? found.unverified : "",
			   found.unverified ? " has the label only)" : "",
			   found.unverified ? found.unverified : "DEVICE");
	label_search_dispose(&found);
	return r;
}

/* Records where a moved pool device is now: in the caller's transaction if one is open, else
 * in one of its own. Best effort (a read-only database keeps the old path; the label is the
 * identity either way). */
static void record_new_path(struct vd_db *db, const struct vd_pool_device *dev,
			    const char *uuid_text, const char *path)
{
	_cleanup_txn_ struct vd_db *txn = NULL;
	bool own = !vd_db_in_transaction(db);
	int r = own ? vd_db_txn_begin(db, &txn) : 0;

	if (r == 0)
		r = vd_db_device_set_path(db, dev->id, path);
	if (own && r == 0)
		r = vd_db_commit(TAKE_PTR(txn));
	if (r < 0) {
		vd_warn("pool device %s found at %s (was %s), but the new path is not recorded: %s",
			uuid_text, path, dev->path, vd_errmsg());
		vd_err_clear();
		return;
	}
	vd_info("pool device %s moved from %s to %s", uuid_text, dev->path, path);
}

/* The device at path, its label checked against dev. */
static int open_checked(struct vd_db *db, const struct vd_pool_device *dev, const char *path,
			int open_flags, const char *uuid_text, int *ret_fd)
{
	_cleanup_close_ int fd = -EBADF;
	struct vd_label label;
	uint8_t pool_uuid[16];
	char found[37];
	int r;

	fd = open(path, open_flags | O_CLOEXEC);
	if (fd < 0)
		return vd_err(-ENODEV, "pool device %s is missing: cannot open %s (where it was "
				       "last seen): %m; reconnect that disk", uuid_text, path);
	r = vd_label_read(fd, &label);
	if (r == -ENOMSG)
		return vd_err(-ENODEV, "pool device %s: %s carries no xenvd label; another disk "
				       "may have taken its place: reconnect the right disk",
			      uuid_text, path);
	if (r == -EBADMSG)
		return vd_err(-ENXIO, "pool device %s: the label on %s is damaged (bad checksum); "
				      "its VDs are not mapped until it is repaired", uuid_text,
			      path);
	if (r == -EPROTONOSUPPORT)
		return vd_err(-ENXIO, "pool device %s: %s carries a label of a newer xenvd; "
				      "upgrade xenvd", uuid_text, path);
	if (r < 0)
		return vd_err(r, "pool device %s: cannot read the label of %s: %m", uuid_text,
			      path);
	vd_db_pool_uuid(db, pool_uuid);
	vd_uuid_unparse(label.device_uuid, found);
	if (memcmp(label.pool_uuid, pool_uuid, 16) || memcmp(label.device_uuid, dev->uuid, 16))
		return vd_err(-ESTALE, "pool device %s: %s now carries device %s%s; a disk was "
				       "swapped or renamed: reconnect the right disk",
			      uuid_text, path, found,
			      memcmp(label.pool_uuid, pool_uuid, 16) ? " of another pool" : "");
	if (label.extent_size != dev->extent_size || label.data_offset != dev->data_offset ||
	    label.extent_count != dev->extent_count)
		return vd_err(-ENXIO, "pool device %s: the label on %s disagrees with the "
				      "database (extent size, data offset or count); run "
				      "'xl-vd check'", uuid_text, path);
	*ret_fd = TAKE_FD(fd);
	return 0;
}

/* A device formatted before identities were recorded gets its identity the first time it is
 * found at its recorded path. Best effort, like record_new_path. */
static void record_identity(struct vd_db *db, const struct vd_pool_device *dev)
{
	_cleanup_free_ char *identity = NULL;
	bool own;
	int r;

	if (dev->identity || strncmp(dev->path, "/dev/", 5) != 0 ||
	    vd_pool_device_identity(dev->path, &identity) < 0 || !identity)
		return;
	own = !vd_db_in_transaction(db);
	r = own ? vd_db_begin(db) : 0;
	if (r == 0)
		r = vd_db_device_set_identity(db, dev->id, identity);
	if (own && r == 0)
		r = vd_db_commit(db);
	else if (own && vd_db_in_transaction(db))
		vd_db_rollback(db);
	if (r < 0)
		vd_err_clear();
}

/* Whether the disk at dev's recorded path is still the one recorded, not just a disk with its
 * label: names in /dev are not stable across reboots, and a shared pool's recorded path is
 * whatever host found the device last (another host's /dev/vdb may be this host's disk of a
 * guest). A disk a guest can write, or one whose identity differs from the recorded one, is
 * -ESTALE, and the caller looks for the device by its label and identity. */
static int still_the_device(const struct vd_pool_device *dev, const char *uuid_text)
{
	_cleanup_free_ char *identity = NULL, *canonical = NULL;
	char why[128];
	struct stat st;

	if (strncmp(dev->path, "/dev/", 5) != 0)
		return 0; /* files are only ever found at their path */
	canonical = realpath(dev->path, NULL);
	if (!canonical || stat(canonical, &st) < 0 || !S_ISBLK(st.st_mode))
		return 0; /* open_checked() opened it; nothing more to learn */
	if (guest_writable(strrchr(canonical, '/') + 1, st.st_rdev, why, sizeof(why)))
		return vd_err(-ESTALE, "pool device %s: %s, where it was last seen, carries its "
				       "label but %s, so a guest may have written it",
			      uuid_text, dev->path, why);
	if (!dev->identity)
		return 0;
	if (vd_pool_device_identity(canonical, &identity) < 0)
		identity = NULL;
	if (!identity || strcmp(identity, dev->identity) != 0)
		return vd_err(-ESTALE, "pool device %s: %s, where it was last seen, carries its "
				       "label but not its identity %s (it shows %s)",
			      uuid_text, dev->path, dev->identity, identity ? identity : "none");
	return 0;
}

int vd_pool_open_device(struct vd_db *db, const struct vd_pool_device *dev, int open_flags,
			int *ret_fd)
{
	_cleanup_(label_search_dispose) struct label_search found = { 0 };
	_cleanup_free_ char *first = NULL;
	uint8_t pool_uuid[16];
	char uuid_text[37];
	int r, orig;

	vd_uuid_unparse(dev->uuid, uuid_text);
	r = open_checked(db, dev, dev->path, open_flags, uuid_text, ret_fd);
	if (r == 0) {
		r = still_the_device(dev, uuid_text);
		if (r == 0) {
			record_identity(db, dev);
			return 0;
		}
		close(*ret_fd);
		*ret_fd = -EBADF;
	}
	/* Gone, or another disk in its place: look for it by its label. Files are only ever
	 * found at their path. */
	if ((r != -ENODEV && r != -ESTALE) || strncmp(dev->path, "/dev/", 5) != 0)
		return r == -ESTALE ? -ENXIO : r;
	orig = r == -ESTALE ? -ENXIO : r;
	first = strdup(vd_errmsg());
	vd_db_pool_uuid(db, pool_uuid);
	r = find_by_label(dev, pool_uuid, uuid_text, &found);
	if (r < 0)
		return r;
	if (found.adopt) {
		vd_err_clear();
		r = open_checked(db, dev, found.adopt, open_flags, uuid_text, ret_fd);
		if (r < 0)
			return r;
		record_new_path(db, dev, uuid_text, found.adopt);
		if (found.unverified)
			vd_warn("pool device %s: %s carries its label too, without its identity (a "
				"copy?); it was not used", uuid_text, found.unverified);
		return 0;
	}
	if (found.unverified)
		return vd_err(orig, "%s; %s carries its label but is not adopted: its identity "
				    "(%s) is not the one recorded for it (%s), and a copy of a label "
				    "proves nothing. If it is that disk, adopt it with 'xl-vd "
				    "pool-relink %s' (or 'xl-vd check --repair')%s%s%s",
			      first ? first : "pool device missing", found.unverified,
			      found.unverified_identity ? found.unverified_identity : "none",
			      dev->identity ? dev->identity : "none", found.unverified,
			      found.refused[0] ? "; never adopted, as a guest can write them: " : "",
			      found.refused, found.n_unverified > 1 ? "; other disks carry it too" : "");
	return vd_err(orig, "%s (no other disk in /dev carries its label either%s%s)",
		      first ? first : "pool device missing",
		      found.refused[0] ? ", except some a guest can write, never adopted: " : "",
		      found.refused);
}

int vd_pool_relink(struct vd_db *db, const char *path, struct vd_pool_device *ret)
{
	_cleanup_free_ char *canonical = NULL, *identity = NULL;
	_cleanup_close_ int fd = -EBADF, old_fd = -EBADF;
	struct vd_pool_device dev = { 0 };
	struct vd_label label;
	uint8_t pool_uuid[16];
	char uuid_text[37], why[128];
	const char *name;
	struct stat st;
	int r;

	canonical = realpath(path, NULL);
	if (!canonical || stat(canonical, &st) < 0)
		return vd_err(-errno, "cannot relink %s: %m", path);
	if (!S_ISBLK(st.st_mode) && !S_ISREG(st.st_mode))
		return vd_err(-ENOTBLK, "cannot relink %s: not a block device or regular file",
			      path);
	name = strrchr(canonical, '/') + 1;
	if (S_ISBLK(st.st_mode) && guest_writable(name, st.st_rdev, why, sizeof(why)))
		return vd_err(-EPERM, "%s is never adopted as a pool device: %s, so a guest may "
				      "have written its label", path, why);
	fd = open(canonical, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return vd_err(-errno, "cannot relink %s: %m", path);
	r = vd_label_read(fd, &label);
	vd_db_pool_uuid(db, pool_uuid);
	if (r < 0 || memcmp(label.pool_uuid, pool_uuid, 16) != 0)
		return vd_err(-ENODEV, "%s carries no label of this pool; 'xl-vd pool-list' shows "
				       "the pool's devices", path);
	vd_uuid_unparse(label.device_uuid, uuid_text);
	r = vd_db_device_find(db, label.device_uuid, NULL, &dev);
	if (r < 0)
		return vd_err(r == -ENOENT ? -ENODEV : r, "%s carries the label of device %s, "
							  "which this pool no longer has", path,
			      uuid_text);
	close(TAKE_FD(fd));
	if (strcmp(dev.path, canonical) != 0 &&
	    open_checked(db, &dev, dev.path, O_RDONLY, uuid_text, &old_fd) == 0) {
		r = vd_err(-EEXIST, "pool device %s is at its recorded path %s; %s is a copy of its "
				    "label: disconnect the copy", uuid_text, dev.path, path);
		goto out;
	}
	vd_err_clear();
	r = open_checked(db, &dev, canonical, O_RDONLY, uuid_text, &fd);
	if (r < 0)
		goto out;
	r = vd_pool_device_identity(canonical, &identity);
	if (r < 0) {
		r = vd_err(r, "cannot read the identity of %s: %m", path);
		goto out;
	}
	r = vd_db_begin(db);
	if (r < 0)
		goto out;
	r = vd_db_device_set_path(db, dev.id, canonical);
	if (r == 0)
		r = vd_db_device_set_identity(db, dev.id, identity);
	if (r == 0)
		r = vd_db_commit(db);
	else
		vd_db_rollback(db);
	if (r < 0)
		goto out;
	vd_info("pool device %s relinked from %s to %s (identity %s)", uuid_text, dev.path,
		canonical, identity ? identity : "none");
	if (ret)
		r = vd_db_device_get(db, dev.id, ret);
out:
	vd_pool_device_dispose(&dev);
	return r;
}

int vd_pool_repair_links(struct vd_db *db, char **report, unsigned *ret_relinked)
{
	struct vd_pool_device *list = NULL;
	size_t n = 0, len = *report ? strlen(*report) : 0;
	uint8_t pool_uuid[16];
	int r = vd_db_device_list(db, &list, &n);

	if (r < 0)
		return r;
	vd_db_pool_uuid(db, pool_uuid);
	for (size_t i = 0; i < n && r == 0; i++) {
		_cleanup_(label_search_dispose) struct label_search found = { 0 };
		char uuid_text[37], line[PATH_MAX + 160];
		int fd = -EBADF;

		vd_uuid_unparse(list[i].uuid, uuid_text);
		if (open_checked(db, &list[i], list[i].path, O_RDONLY, uuid_text, &fd) == 0) {
			close(fd);
			continue;
		}
		vd_err_clear();
		if (strncmp(list[i].path, "/dev/", 5) != 0 ||
		    find_by_label(&list[i], pool_uuid, uuid_text, &found) < 0 ||
		    found.n_unverified + (found.adopt ? 1 : 0) != 1) {
			vd_err_clear();
			continue; /* nothing to adopt, or not only one: the admin decides */
		}
		const char *to = found.adopt ? found.adopt : found.unverified;

		r = vd_pool_relink(db, to, NULL);
		if (r < 0)
			break;
		snprintf(line, sizeof(line), "repaired: pool device %s was missing at %s; adopted %s, "
					     "the one disk carrying its label (--repair)\n",
			 uuid_text, list[i].path, to);
		char *grown = realloc(*report, len + strlen(line) + 1);

		if (!grown) {
			r = -ENOMEM;
			break;
		}
		*report = grown;
		strcpy(*report + len, line);
		len += strlen(line);
		(*ret_relinked)++;
	}
	vd_db_device_list_free(list, n);
	return r;
}

int vd_pool_check_labels(struct vd_db *db, char **report, unsigned *problems)
{
	struct vd_pool_device *list = NULL;
	size_t n = 0, len = *report ? strlen(*report) : 0;
	int r = vd_db_device_list(db, &list, &n);

	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		int fd = -EBADF;
		const char *msg;
		char *grown;

		r = vd_pool_open_device(db, &list[i], O_RDONLY, &fd);
		if (r == 0) {
			close(fd);
			continue;
		}
		msg = vd_errmsg();
		grown = realloc(*report, len + strlen(msg) + 2);
		if (!grown) {
			vd_db_device_list_free(list, n);
			return -ENOMEM;
		}
		*report = grown;
		len += (size_t)sprintf(*report + len, "%s\n", msg);
		(*problems)++;
	}
	vd_db_device_list_free(list, n);
	vd_err_clear();
	return 0;
}
