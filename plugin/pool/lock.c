#include <fcntl.h>
#include <libgen.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>

#include "base/error.h"
#include "pool/lock.h"

/* <dbdir>/locks, created if missing; refused when it is not a directory of root's that only
 * root can write (a symlink there, or a directory others can write, would let them point
 * root's O_CREAT elsewhere or hold every VD's lock). */
static int lock_dir(const char *db_path, char *buf, size_t len)
{
	_cleanup_free_ char *copy = strdup(db_path);
	struct stat st;

	if (!copy)
		return -ENOMEM;
	snprintf(buf, len, "%s/locks", dirname(copy));
	if (mkdir(buf, 0700) < 0 && errno != EEXIST)
		return vd_err(-errno, "cannot create lock directory %s: %m", buf);
	if (lstat(buf, &st) < 0)
		return vd_err(-errno, "lock directory %s: %m", buf);
	if (!S_ISDIR(st.st_mode))
		return vd_err(-ENOTDIR, "lock directory %s is not a directory (a symlink?); remove "
					"it and xenvd makes a new one", buf);
	return vd_check_private(buf, &st, "lock directory");
}

static int lock_path(const char *db_path, uint32_t id, char *buf, size_t len)
{
	int r = lock_dir(db_path, buf, len);

	if (r < 0)
		return r;
	snprintf(buf + strlen(buf), len - strlen(buf), "/vd-%u.lock", id);
	return 0;
}

int vd_lock_vdisk(const char *db_path, uint32_t id, int timeout_ms, int *ret_fd)
{
	char path[4096];
	struct timespec start, now;
	int r;

	r = lock_path(db_path, id, path, sizeof(path));
	if (r < 0)
		return r;
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		_cleanup_close_ int fd = -EBADF;
		struct stat held, named;

		fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0)
			return vd_err(-errno, errno == ELOOP ? "lock %s is a symlink; remove it"
							     : "cannot open lock %s: %m", path);
		while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
			if (errno != EWOULDBLOCK && errno != EINTR)
				return vd_err(-errno, "cannot lock VD %u (%s): %m", id, path);
			clock_gettime(CLOCK_MONOTONIC, &now);
			long waited = (now.tv_sec - start.tv_sec) * 1000 +
				      (now.tv_nsec - start.tv_nsec) / 1000000;
			if (waited >= timeout_ms)
				return vd_err(-EWOULDBLOCK,
					      "VD %u is busy: another xenvd command holds its lock "
					      "(%s); retry when it has finished", id, path);
			usleep(2000);
		}
		/* The holder may have removed the file (the VD was reclaimed) while we waited:
		 * a lock on an unlinked file excludes nobody, so take the one at the path. */
		if (fstat(fd, &held) == 0 && lstat(path, &named) == 0 &&
		    held.st_dev == named.st_dev && held.st_ino == named.st_ino) {
			*ret_fd = TAKE_FD(fd);
			return 0;
		}
	}
}

void vd_lock_remove(const char *db_path, uint32_t id)
{
	char path[4096];

	if (lock_path(db_path, id, path, sizeof(path)) < 0) {
		vd_err_clear();
		return;
	}
	if (unlink(path) < 0 && errno != ENOENT)
		vd_warn("cannot remove lock %s of reclaimed VD %u: %m", path, id);
}
