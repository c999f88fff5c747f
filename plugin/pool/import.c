#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <unistd.h>

#include "base/error.h"
#include "pool/import.h"
#include "pool/lock.h"
#include "pool/pool.h"
#include "pool/vdisk.h"

#define IMPORT_CHUNK (1024 * 1024)

static int refuse_writable_attachments(struct vd_db *db, uint32_t id)
{
	struct vd_attachment *list = NULL;
	size_t n = 0;
	int r;

	r = vd_db_attachment_list_all(db, id, &list, &n);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n && r == 0; i++)
		if (strchr(list[i].mode, 'w') && list[i].host_id != vd_db_host_id(db))
			r = vd_err(-EBUSY,
				   "VD %" PRIu32 " is attached writable to domain %" PRIu32
				   " (%s) on host %" PRIu32 "; detach it there first",
				   id, list[i].domid, list[i].vdev ? list[i].vdev : "-",
				   list[i].host_id);
		else if (strchr(list[i].mode, 'w'))
			r = vd_err(-EBUSY,
				   "VD %" PRIu32 " is attached writable to domain %" PRIu32
				   " (%s, %s); detach it (or 'xl-vd unmap %" PRIu32 "') first",
				   id, list[i].domid, list[i].vdev ? list[i].vdev : "-",
				   list[i].backend_path, id);
	vd_db_attachment_list_free(list, n);
	return r;
}

int vd_import_image(struct vd_db *db, uint32_t id, int image_fd,
		    void (*progress)(uint64_t done, uint64_t total, void *userdata), void *userdata)
{
	_cleanup_close_ int lock_fd = -EBADF;
	_cleanup_free_ uint8_t *buf = NULL;
	struct vd_run *segs = NULL;
	struct vd_vdisk v = { 0 };
	uint64_t image_size, done = 0;
	size_t n = 0;
	int r;

	r = vd_lock_vdisk(vd_db_path(db), id, VD_LOCK_WAIT_IMPORT_MS, &lock_fd);
	if (r < 0)
		return r;
	r = refuse_writable_attachments(db, id);
	if (r < 0)
		return r;
	r = vd_db_vdisk_get(db, id, &v);
	if (r < 0)
		return r == -ENOENT ? vd_err(r, "VD %" PRIu32 " does not exist", id) : r;
	r = vd_pool_device_size(image_fd, &image_size);
	if (r < 0) {
		vd_vdisk_dispose(&v);
		return vd_err(r, "cannot size the image: %m");
	}
	if (image_size > v.size) {
		char a[32], b[32];

		r = vd_err(-EFBIG,
			   "the image (%s) is larger than VD %" PRIu32 " (%s); grow it first "
			   "('xl-vd resize %" PRIu32 " SIZE')",
			   vd_format_size(image_size, a, sizeof(a)), id,
			   vd_format_size(v.size, b, sizeof(b)), id);
		vd_vdisk_dispose(&v);
		return r;
	}
	vd_vdisk_dispose(&v);

	buf = malloc(IMPORT_CHUNK);
	if (!buf)
		return -ENOMEM;
	r = vd_vdisk_runs(db, id, O_RDWR, &segs, &n);
	if (r < 0)
		return r;
	/* The copy needs no database: a shared pool's metadata lease goes now. */
	(void)vd_db_idle(db);
	for (size_t i = 0; i < n && r == 0 && done < image_size; i++) {
		const struct vd_run *s = &segs[i];

		for (uint64_t off = 0; off < s->length && done < image_size;) {
			size_t len = IMPORT_CHUNK;

			if (len > s->length - off)
				len = (size_t)(s->length - off);
			if (len > image_size - done)
				len = (size_t)(image_size - done);
			r = vd_pread_all(image_fd, buf, len, s->vd_offset + off);
			if (r < 0) {
				r = vd_err(r, "cannot read the image at byte %" PRIu64 ": %m",
					   s->vd_offset + off);
				break;
			}
			r = vd_pwrite_all(s->fd, buf, len, s->dev_offset + off);
			if (r < 0) {
				r = vd_err(r, "cannot write pool device %s at byte %" PRIu64 ": %m",
					   s->device_path, s->dev_offset + off);
				break;
			}
			off += len;
			done += len;
			if (progress)
				progress(done, image_size, userdata);
		}
	}
	for (size_t i = 0; i < n && r == 0; i++)
		if (fdatasync(segs[i].fd) < 0)
			r = vd_err(-errno, "cannot flush pool device %s: %m", segs[i].device_path);
	vd_vdisk_runs_free(segs, n);
	return r;
}

