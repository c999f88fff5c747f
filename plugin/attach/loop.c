#include <dirent.h>
#include <fcntl.h>
#include <linux/loop.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "base/error.h"
#include "attach/loop.h"

#define ATTACH_TRIES 16

/* Whether loop device fd is bound to the whole of the file (st) and usable in that mode. */
static bool loop_backs(int fd, const struct stat *st, bool read_only)
{
	struct loop_info64 info;

	if (ioctl(fd, LOOP_GET_STATUS64, &info) < 0)
		return false;
	if (info.lo_device != (uint64_t)st->st_dev || info.lo_inode != (uint64_t)st->st_ino)
		return false;
	if (info.lo_offset != 0 || info.lo_sizelimit != 0)
		return false;
	if (!read_only && (info.lo_flags & LO_FLAGS_READ_ONLY))
		return false;
	return true;
}

/* Scans bound loop devices (those with a loop/ directory in sysfs) for one backed by st. */
static int find_open(const struct stat *st, bool read_only, int *ret_fd, dev_t *ret_dev)
{
	DIR *d = opendir("/sys/block");
	struct dirent *de;
	int r = -ENOENT;

	if (!d)
		return -ENOENT;
	while ((de = readdir(d))) {
		char path[300];
		struct stat lst;
		int fd;

		if (strncmp(de->d_name, "loop", 4) != 0)
			continue;
		snprintf(path, sizeof(path), "/sys/block/%s/loop", de->d_name);
		if (access(path, F_OK) < 0)
			continue; /* not bound */
		snprintf(path, sizeof(path), "/dev/%s", de->d_name);
		fd = open(path, (read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
		if (fd < 0)
			continue;
		/* Checked after opening: our open keeps an autoclear loop from going away. */
		if (fstat(fd, &lst) == 0 && S_ISBLK(lst.st_mode) && loop_backs(fd, st, read_only)) {
			*ret_fd = fd;
			*ret_dev = lst.st_rdev;
			r = 0;
			break;
		}
		close(fd);
	}
	closedir(d);
	return r;
}

static int configure(int loop_fd, int backing_fd, const char *name, bool read_only)
{
	struct loop_config cfg;

	memset(&cfg, 0, sizeof(cfg));
	cfg.fd = (uint32_t)backing_fd;
	cfg.info.lo_flags = LO_FLAGS_AUTOCLEAR | (read_only ? LO_FLAGS_READ_ONLY : 0);
	if (name)
		snprintf((char *)cfg.info.lo_file_name, sizeof(cfg.info.lo_file_name), "%s", name);
	if (ioctl(loop_fd, LOOP_CONFIGURE, &cfg) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOTTY)
		return -errno;
	/* Kernels before 5.8: bind, then set the flags. */
	if (ioctl(loop_fd, LOOP_SET_FD, backing_fd) < 0)
		return -errno;
	if (ioctl(loop_fd, LOOP_SET_STATUS64, &cfg.info) < 0) {
		int r = -errno;

		(void)ioctl(loop_fd, LOOP_CLR_FD, 0);
		return r;
	}
	return 0;
}

int vd_loop_attach(int backing_fd, const char *name, bool read_only, int *ret_loop_fd,
		   dev_t *ret_dev)
{
	_cleanup_close_ int ctl = -EBADF, lock_fd = -EBADF;
	char self[64];
	struct stat st;
	int r = -EBUSY;

	if (fstat(backing_fd, &st) < 0)
		return vd_err(-errno, "cannot stat pool file %s: %m", name ? name : "?");
	if (!S_ISREG(st.st_mode))
		return vd_err(-EINVAL, "%s is not a regular file; only files need a loop device",
			      name ? name : "?");

	/* Serialise find-or-attach on the file itself, so two block-vd runs mapping VDs of the
	 * same file-backed pool device end up sharing one loop device. The lock goes on a fresh
	 * open file description: one the caller's fd may carry stays untouched. */
	snprintf(self, sizeof(self), "/proc/self/fd/%d", backing_fd);
	lock_fd = open(self, O_RDONLY | O_CLOEXEC);
	if (lock_fd < 0 || flock(lock_fd, LOCK_EX) < 0)
		return vd_err(-errno, "cannot lock pool file %s: %m", name ? name : "?");

	if (find_open(&st, read_only, ret_loop_fd, ret_dev) == 0) {
		r = 0;
		goto out;
	}

	ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
	if (ctl < 0) {
		r = vd_err(-errno, "cannot open /dev/loop-control to map pool file %s: %m (is the "
				   "loop module loaded?)",
			   name ? name : "?");
		goto out;
	}
	for (int i = 0; i < ATTACH_TRIES; i++) {
		char path[32];
		struct stat lst;
		int nr, fd;

		nr = ioctl(ctl, LOOP_CTL_GET_FREE);
		if (nr < 0) {
			r = vd_err(-errno, "no free loop device for pool file %s: %m",
				   name ? name : "?");
			goto out;
		}
		snprintf(path, sizeof(path), "/dev/loop%d", nr);
		fd = open(path, (read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
		if (fd < 0) {
			r = vd_err(-errno, "cannot open %s for pool file %s: %m", path,
				   name ? name : "?");
			goto out;
		}
		r = configure(fd, backing_fd, name, read_only);
		if (r == -EBUSY) {
			close(fd); /* another process took it between GET_FREE and us */
			continue;
		}
		if (r < 0) {
			close(fd);
			r = vd_err(r, "cannot bind %s to pool file %s: %m", path,
				   name ? name : "?");
			goto out;
		}
		if (fstat(fd, &lst) < 0) {
			r = -errno;
			close(fd);
			goto out;
		}
		vd_debug("loop: %s now backs %s", path, name ? name : "?");
		*ret_loop_fd = fd;
		*ret_dev = lst.st_rdev;
		r = 0;
		goto out;
	}
	r = vd_err(-EBUSY, "could not bind a loop device to pool file %s after %d tries",
		   name ? name : "?", ATTACH_TRIES);
out:
	return r; /* closing lock_fd releases the lock */
}
