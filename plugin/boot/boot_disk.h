/* The guest disk as vdloader reads it: an ordered list of (fd, dev_offset, length) runs, so a
 * plain image or block device is one run and a VD read straight from its pool is several; or a
 * "remote" disk whose reads the parent serves over a socket, so a sandboxed reader never holds a
 * pool device's fd (which would expose other tenants' extents). Owns reading only; it never
 * opens or writes anything and knows nothing of partitions.
 */
#ifndef XENVD_BOOT_DISK_H
#define XENVD_BOOT_DISK_H

#include "base/util.h"
#include "pool/run.h"

struct vd_boot_disk {
	const struct vd_run *runs; /* read: fd (not owned), dev_offset, length */
	size_t n_runs;
	uint64_t size;	/* sum of the runs' lengths */
	int remote_fd;	/* >= 0: reads are requests over this socket (no runs) */
	int probe_fd;	/* >= 0: the buffer vd_boot_disk_probe_fd fills (not owned) */
};

#define VD_BOOT_REMOTE_MAX_READ (1024 * 1024)

/* Sets size from the runs; -EINVAL for no runs or an overflow. */
int vd_boot_disk_init(struct vd_boot_disk *disk, const struct vd_run *runs, size_t n_runs);

/* A disk of size bytes whose reads are served by vd_boot_disk_serve_one at the other end of fd. */
int vd_boot_disk_init_remote(struct vd_boot_disk *disk, int fd, uint64_t size);

/* Parent side: answers one read request arriving on fd from disk. -EPIPE once the peer closed;
 * a request outside the disk is answered with -EIO, never served. */
int vd_boot_disk_serve_one(const struct vd_boot_disk *disk, int fd);

/* Reads exactly len bytes at off (disk coordinates); -EIO past the end or on a short read. */
int vd_boot_disk_pread(const struct vd_boot_disk *disk, void *buf, size_t len, uint64_t off);

/* Copies [off, off + len) of the disk into out_fd at out_off, letting the kernel move the bytes:
 * spliced through pipe_fds (an empty pipe of VD_BOOT_COPY_PIPE bytes, one per thread) when
 * given, else copy_file_range, sendfile, or read and write. -EIO past the disk's end; after
 * an error the pipe may hold bytes (close it). */
#define VD_BOOT_COPY_PIPE (1u << 20)
int vd_boot_disk_copy_to(const struct vd_boot_disk *disk, uint64_t off, uint64_t len, int out_fd,
			 uint64_t out_off, const int pipe_fds[2]);

/* The probe buffer of a remote disk: a sparse memfd as large as the disk, which the parent
 * (serving side, read-write fd) fills on request with the first and last VD_BOOT_PROBE_WINDOW
 * bytes of the range libblkid probes, and the reader (read-only fd of the same memfd) probes.
 * The reader creates no file and can write none: it pins no memory outside its limits. */
#define VD_BOOT_PROBE_WINDOW (1u << 20)
void vd_boot_disk_set_probe_buffer(struct vd_boot_disk *disk, int fd);

/* A file descriptor libblkid can probe for [off, off + len): the underlying fd and its offset
 * when the range lies in one run; for a remote disk the probe buffer, filled by the parent;
 * otherwise a new sparse memfd holding the range's first and last MiB, which the caller closes
 * (*ret_owned). */
int vd_boot_disk_probe_fd(const struct vd_boot_disk *disk, uint64_t off, uint64_t len,
			  int *ret_fd, uint64_t *ret_offset, bool *ret_owned);

#endif
