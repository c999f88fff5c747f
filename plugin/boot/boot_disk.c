#include <string.h>
#include <sys/mman.h>

#include "boot/boot_disk.h"

int vd_boot_disk_init(struct vd_boot_disk *disk, const struct vd_run *runs, size_t n_runs)
{
	uint64_t size = 0;

	if (!runs || n_runs == 0)
		return -EINVAL;
	for (size_t i = 0; i < n_runs; i++) {
		if (runs[i].fd < 0 || size + runs[i].length < size)
			return -EINVAL;
		size += runs[i].length;
	}
	disk->runs = runs;
	disk->n_runs = n_runs;
	disk->size = size;
	disk->remote_fd = -1;
	return 0;
}

int vd_boot_disk_init_remote(struct vd_boot_disk *disk, int fd, uint64_t size)
{
	if (fd < 0 || size == 0)
		return -EINVAL;
	disk->runs = NULL;
	disk->n_runs = 0;
	disk->size = size;
	disk->remote_fd = fd;
	return 0;
}

struct remote_request {
	uint64_t offset;
	uint32_t length;
	uint32_t pad;
};

static int read_full(int fd, void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len > 0) {
		ssize_t n = read(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EPIPE;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int write_full(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EPIPE;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int remote_pread(const struct vd_boot_disk *disk, void *buf, size_t len, uint64_t off)
{
	uint8_t *p = buf;

	while (len > 0) {
		size_t chunk = len > VD_BOOT_REMOTE_MAX_READ ? VD_BOOT_REMOTE_MAX_READ : len;
		struct remote_request req = { .offset = off, .length = (uint32_t)chunk };
		int32_t status;
		int r;

		r = write_full(disk->remote_fd, &req, sizeof(req));
		if (r == 0)
			r = read_full(disk->remote_fd, &status, sizeof(status));
		if (r < 0)
			return -EIO;
		if (status < 0)
			return status;
		r = read_full(disk->remote_fd, p, chunk);
		if (r < 0)
			return -EIO;
		p += chunk;
		off += chunk;
		len -= chunk;
	}
	return 0;
}

int vd_boot_disk_serve_one(const struct vd_boot_disk *disk, int fd)
{
	static uint8_t buf[VD_BOOT_REMOTE_MAX_READ];
	struct remote_request req;
	int32_t status = 0;
	int r;

	r = read_full(fd, &req, sizeof(req));
	if (r < 0)
		return r;
	if (req.length == 0 || req.length > VD_BOOT_REMOTE_MAX_READ)
		status = -EIO;
	else
		status = vd_boot_disk_pread(disk, buf, req.length, req.offset);
	r = write_full(fd, &status, sizeof(status));
	if (r == 0 && status == 0)
		r = write_full(fd, buf, req.length);
	return r;
}

int vd_boot_disk_pread(const struct vd_boot_disk *disk, void *buf, size_t len, uint64_t off)
{
	uint8_t *p = buf;
	uint64_t run_start = 0;

	if (off > disk->size || len > disk->size - off)
		return -EIO;
	if (disk->remote_fd >= 0)
		return remote_pread(disk, buf, len, off);
	for (size_t i = 0; i < disk->n_runs && len > 0; i++) {
		const struct vd_run *run = &disk->runs[i];
		uint64_t run_end = run_start + run->length;

		if (off < run_end) {
			uint64_t in_run = off - run_start;
			size_t chunk = (size_t)(run->length - in_run < len ? run->length - in_run : len);
			int r = vd_pread_all(run->fd, p, chunk, run->dev_offset + in_run);

			if (r < 0)
				return r == -ENODATA ? -EIO : r;
			p += chunk;
			off += chunk;
			len -= chunk;
		}
		run_start = run_end;
	}
	return len == 0 ? 0 : -EIO;
}

#define PROBE_WINDOW (1024 * 1024)

int vd_boot_disk_probe_fd(const struct vd_boot_disk *disk, uint64_t off, uint64_t len,
			  int *ret_fd, uint64_t *ret_offset, bool *ret_owned)
{
	uint64_t run_start = 0;
	_cleanup_close_ int mfd = -EBADF;
	_cleanup_free_ uint8_t *buf = NULL;
	size_t head, tail;
	int r;

	if (off > disk->size || len > disk->size - off || len == 0)
		return -EINVAL;
	for (size_t i = 0; disk->remote_fd < 0 && i < disk->n_runs; i++) {
		const struct vd_run *run = &disk->runs[i];

		if (off >= run_start && off + len <= run_start + run->length) {
			*ret_fd = run->fd;
			*ret_offset = run->dev_offset + (off - run_start);
			*ret_owned = false;
			return 0;
		}
		run_start += run->length;
	}

	/* Spans runs: a sparse copy of the head and tail keeps other tenants' bytes out. */
	mfd = memfd_create("vdloader-probe", MFD_CLOEXEC);
	if (mfd < 0)
		return -errno;
	if (ftruncate(mfd, (off_t)len) < 0)
		return -errno;
	buf = malloc(PROBE_WINDOW);
	if (!buf)
		return -ENOMEM;
	head = len < PROBE_WINDOW ? (size_t)len : PROBE_WINDOW;
	r = vd_boot_disk_pread(disk, buf, head, off);
	if (r < 0)
		return r;
	r = vd_pwrite_all(mfd, buf, head, 0);
	if (r < 0)
		return r;
	tail = len - head < PROBE_WINDOW ? (size_t)(len - head) : PROBE_WINDOW;
	if (tail > 0) {
		r = vd_boot_disk_pread(disk, buf, tail, off + len - tail);
		if (r < 0)
			return r;
		r = vd_pwrite_all(mfd, buf, tail, len - tail);
		if (r < 0)
			return r;
	}
	*ret_fd = TAKE_FD(mfd);
	*ret_offset = 0;
	*ret_owned = true;
	return 0;
}
