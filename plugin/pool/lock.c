#include <fcntl.h>
#include <libgen.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>

#include "base/error.h"
#include "pool/lock.h"

int vd_lock_vdisk(const char *db_path, uint32_t id, int timeout_ms, int *ret_fd)
{
	_cleanup_free_ char *copy = strdup(db_path);
	_cleanup_close_ int fd = -EBADF;
	char path[4096];
	struct timespec start, now;

	if (!copy)
		return -ENOMEM;
	snprintf(path, sizeof(path), "%s/locks", dirname(copy));
	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		return vd_err(-errno, "cannot create lock directory %s: %m", path);
	snprintf(path + strlen(path), sizeof(path) - strlen(path), "/vd-%u.lock", id);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return vd_err(-errno, "cannot open lock %s: %m", path);

	clock_gettime(CLOCK_MONOTONIC, &start);
	while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno != EWOULDBLOCK && errno != EINTR)
			return vd_err(-errno, "cannot lock VD %u (%s): %m", id, path);
		clock_gettime(CLOCK_MONOTONIC, &now);
		long waited = (now.tv_sec - start.tv_sec) * 1000 +
			      (now.tv_nsec - start.tv_nsec) / 1000000;
		if (waited >= timeout_ms)
			return vd_err(-EWOULDBLOCK, "VD %u is busy: another xenvd command holds its "
						    "lock (%s); retry when it has finished", id, path);
		usleep(2000);
	}
	*ret_fd = TAKE_FD(fd);
	return 0;
}
