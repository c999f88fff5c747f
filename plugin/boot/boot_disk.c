#include <fcntl.h>
#include <linux/falloc.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>

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
	disk->probe_fd = -1;
	return 0;
}

void vd_boot_disk_set_probe_buffer(struct vd_boot_disk *disk, int fd)
{
	disk->probe_fd = fd;
}

int vd_boot_disk_init_remote(struct vd_boot_disk *disk, int fd, uint64_t size)
{
	if (fd < 0 || size == 0)
		return -EINVAL;
	disk->runs = NULL;
	disk->n_runs = 0;
	disk->size = size;
	disk->remote_fd = fd;
	disk->probe_fd = -1;
	return 0;
}

enum { REMOTE_READ, REMOTE_PROBE };

struct remote_request {
	uint64_t offset;
	uint64_t length;
	uint32_t kind;
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

/* Sends one request and reads its status: < 0 the request's error, -EIO a broken channel. */
static int remote_call(const struct vd_boot_disk *disk, const struct remote_request *req)
{
	int32_t status;

	if (write_full(disk->remote_fd, req, sizeof(*req)) < 0 ||
	    read_full(disk->remote_fd, &status, sizeof(status)) < 0)
		return -EIO;
	return status < 0 ? status : 0;
}

static int remote_pread(const struct vd_boot_disk *disk, void *buf, size_t len, uint64_t off)
{
	uint8_t *p = buf;

	while (len > 0) {
		size_t chunk = len > VD_BOOT_REMOTE_MAX_READ ? VD_BOOT_REMOTE_MAX_READ : len;
		struct remote_request req = { .offset = off, .length = chunk, .kind = REMOTE_READ };
		int r = remote_call(disk, &req);

		if (r < 0)
			return r;
		r = read_full(disk->remote_fd, p, chunk);
		if (r < 0)
			return -EIO;
		p += chunk;
		off += chunk;
		len -= chunk;
	}
	return 0;
}

/* Parent side of a probe: the probe buffer (sized like the disk, sparse) gets the range's first
 * and last VD_BOOT_PROBE_WINDOW bytes at the places libblkid looks for them, zeros elsewhere. */
static int fill_probe_buffer(const struct vd_boot_disk *disk, uint8_t *buf, uint64_t off,
			     uint64_t len)
{
	uint64_t edges[2][2] = { { 0, 0 }, { 0, 0 } }; /* [start, length) within the range */
	struct stat st;
	int r;

	if (disk->probe_fd < 0 || fstat(disk->probe_fd, &st) < 0 || (uint64_t)st.st_size < len)
		return -EIO;
	if (fallocate(disk->probe_fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0,
		      st.st_size) < 0)
		return -errno;
	edges[0][1] = len < VD_BOOT_PROBE_WINDOW ? len : VD_BOOT_PROBE_WINDOW;
	if (len > edges[0][1]) {
		edges[1][1] = len - edges[0][1] < VD_BOOT_PROBE_WINDOW ? len - edges[0][1]
								       : VD_BOOT_PROBE_WINDOW;
		edges[1][0] = len - edges[1][1];
	}
	for (size_t e = 0; e < 2; e++)
		for (uint64_t done = 0; done < edges[e][1];) {
			size_t chunk = edges[e][1] - done > VD_BOOT_REMOTE_MAX_READ
					       ? VD_BOOT_REMOTE_MAX_READ
					       : (size_t)(edges[e][1] - done);

			r = vd_boot_disk_pread(disk, buf, chunk, off + edges[e][0] + done);
			if (r == 0)
				r = vd_pwrite_all(disk->probe_fd, buf, chunk, edges[e][0] + done);
			if (r < 0)
				return r;
			done += chunk;
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
	if (req.kind == REMOTE_PROBE)
		status = req.offset > disk->size || req.length == 0 ||
				 req.length > disk->size - req.offset
			 ? -EIO
			 : fill_probe_buffer(disk, buf, req.offset, req.length);
	else if (req.kind != REMOTE_READ || req.length == 0 ||
		 req.length > VD_BOOT_REMOTE_MAX_READ)
		status = -EIO;
	else
		status = vd_boot_disk_pread(disk, buf, req.length, req.offset);
	r = write_full(fd, &status, sizeof(status));
	if (r == 0 && status == 0 && req.kind == REMOTE_READ)
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

int vd_boot_disk_probe_fd(const struct vd_boot_disk *disk, uint64_t off, uint64_t len,
			  int *ret_fd, uint64_t *ret_offset, bool *ret_owned)
{
	uint64_t run_start = 0;
	_cleanup_close_ int mfd = -EBADF;
	_cleanup_free_ uint8_t *buf = NULL;
	size_t head, tail;
	int fd, r;

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

	if (disk->remote_fd >= 0) {
		/* the parent fills the buffer, which we may only read */
		struct remote_request req = { .offset = off, .length = len, .kind = REMOTE_PROBE };

		if (disk->probe_fd < 0)
			return -EBADF;
		r = remote_call(disk, &req);
		if (r < 0)
			return r;
		*ret_fd = disk->probe_fd;
		*ret_offset = 0;
		*ret_owned = false;
		return 0;
	}

	/* Spans runs: a sparse copy of the head and tail keeps other tenants' bytes out. */
	head = len < VD_BOOT_PROBE_WINDOW ? (size_t)len : VD_BOOT_PROBE_WINDOW;
	mfd = memfd_create("vdloader-probe", MFD_CLOEXEC);
	if (mfd < 0)
		return -errno;
	fd = mfd;
	if (ftruncate(fd, (off_t)len) < 0)
		return -errno;
	buf = malloc(head);
	if (!buf)
		return -ENOMEM;
	r = vd_boot_disk_pread(disk, buf, head, off);
	if (r < 0)
		return r;
	r = vd_pwrite_all(fd, buf, head, 0);
	if (r < 0)
		return r;
	tail = len - head < VD_BOOT_PROBE_WINDOW ? (size_t)(len - head) : VD_BOOT_PROBE_WINDOW;
	if (tail > 0) {
		r = vd_boot_disk_pread(disk, buf, tail, off + len - tail);
		if (r == 0)
			r = vd_pwrite_all(fd, buf, tail, len - tail);
		if (r < 0)
			return r;
	}
	*ret_fd = TAKE_FD(mfd);
	*ret_offset = 0;
	*ret_owned = true;
	return 0;
}

/* Through our own pipe of VD_BOOT_COPY_PIPE bytes: the page cache pages of the disk go into the
 * pipe by reference and are copied once into the output's page cache. copy_file_range does the
 * same through an internal pipe of 16 pages; with its larger batches this runs ~20% faster where
 * a guest filesystem with 1 KiB blocks (mke2fs's choice below 512 MiB) leaves a file's bytes
 * at disk offsets not page-aligned to their offsets in the file (every page then arrives in two
 * pieces), and as fast as copy_file_range where they are aligned. The pipe starts and ends
 * empty; on an error it may hold bytes and the caller closes it. */
static int copy_spliced(int in_fd, uint64_t in_off, uint64_t len, int out_fd, uint64_t out_off,
			const int pipe_fds[2])
{
	while (len > 0) {
		loff_t i = (loff_t)in_off, o = (loff_t)out_off;
		size_t want = len > VD_BOOT_COPY_PIPE ? VD_BOOT_COPY_PIPE : (size_t)len;
		ssize_t n = splice(in_fd, &i, pipe_fds[1], NULL, want, 0), left;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO; /* the source ended early */
		for (left = n; left > 0;) {
			ssize_t w = splice(pipe_fds[0], NULL, out_fd, &o, (size_t)left, 0);

			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				return w < 0 ? -errno : -EIO;
			left -= w;
		}
		in_off += (uint64_t)n;
		out_off += (uint64_t)n;
		len -= (uint64_t)n;
	}
	return 0;
}

/* One piece within one fd: spliced through pipe_fds when given, else copy_file_range, sendfile
 * when the two files are on different filesystems or the kernel lacks it, read and write as the
 * last resort. Pieces of different output files may be copied from different threads. */
static int copy_piece(int in_fd, uint64_t in_off, uint64_t len, int out_fd, uint64_t out_off,
		      const int pipe_fds[2])
{
	static _Atomic bool no_cfr, no_sendfile;

	if (pipe_fds)
		return copy_spliced(in_fd, in_off, len, out_fd, out_off, pipe_fds);
	while (len > 0) {
		size_t want = len > (1u << 30) ? (1u << 30) : (size_t)len;
		ssize_t n = -1;

		if (!no_cfr) {
			loff_t i = (loff_t)in_off, o = (loff_t)out_off;

			n = copy_file_range(in_fd, &i, out_fd, &o, want, 0);
			if (n < 0 && (errno == EXDEV || errno == EINVAL || errno == ENOSYS ||
				      errno == EOPNOTSUPP || errno == EBADF))
				no_cfr = true;
		}
		if (n < 0 && no_cfr && !no_sendfile) {
			off_t i = (off_t)in_off;

			if (lseek(out_fd, (off_t)out_off, SEEK_SET) < 0)
				return -errno;
			n = sendfile(out_fd, in_fd, &i, want);
			if (n < 0 && (errno == EINVAL || errno == ENOSYS))
				no_sendfile = true;
		}
		if (n < 0 && no_cfr && no_sendfile) {
			/* on the heap: the copy may run on a thread with a small stack */
			_cleanup_free_ uint8_t *buf = malloc(65536);
			size_t chunk = want > 65536 ? 65536 : want;
			int r = buf ? vd_pread_all(in_fd, buf, chunk, in_off) : -ENOMEM;

			if (r == 0)
				r = vd_pwrite_all(out_fd, buf, chunk, out_off);
			if (r < 0)
				return r == -ENODATA ? -EIO : r;
			n = (ssize_t)chunk;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO; /* the source ended early */
		in_off += (uint64_t)n;
		out_off += (uint64_t)n;
		len -= (uint64_t)n;
	}
	return 0;
}

int vd_boot_disk_copy_to(const struct vd_boot_disk *disk, uint64_t off, uint64_t len, int out_fd,
			 uint64_t out_off, const int pipe_fds[2])
{
	uint64_t run_start = 0;

	if (disk->remote_fd >= 0 || off > disk->size || len > disk->size - off)
		return -EIO;
	for (size_t i = 0; i < disk->n_runs && len > 0; i++) {
		const struct vd_run *run = &disk->runs[i];
		uint64_t run_end = run_start + run->length;

		if (off < run_end) {
			uint64_t in_run = off - run_start;
			uint64_t chunk = run->length - in_run < len ? run->length - in_run : len;
			int r = copy_piece(run->fd, run->dev_offset + in_run, chunk, out_fd, out_off,
					   pipe_fds);

			if (r < 0)
				return r;
			off += chunk;
			out_off += chunk;
			len -= chunk;
		}
		run_start = run_end;
	}
	return len == 0 ? 0 : -EIO;
}
