#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/error.h"
#include "attach/holder.h"

#define PID_FILE "xenvd-leased.pid"
/* How long a creator or the last remover waits for the pool's host-local lock: others hold it
 * only around a dm create or a dm list. */
#define POOL_LOCK_WAIT_MS 10000
/* How long a hold retries the active-VD lease while another host's acquire holds it busy. */
#define HOLD_BUSY_WAIT_MS 10000

const char *vd_holder_run_dir(void)
{
	const char *dir = getenv("XENVD_RUN_DIR");

	return dir && *dir ? dir : "/run/xenvd";
}

static int make_run_dir(void)
{
	const char *dir = vd_holder_run_dir();

	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return vd_err(-errno, "cannot create %s: %m", dir);
	return 0;
}

int vd_holder_pid(pid_t *ret)
{
	char path[4096], buf[32];
	_cleanup_close_ int fd = -EBADF;
	ssize_t n;
	long pid;

	snprintf(path, sizeof(path), "%s/" PID_FILE, vd_holder_run_dir());
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	/* The holder keeps its pid file locked: unlocked means it died (or never ran). */
	if (fd < 0 || flock(fd, LOCK_SH | LOCK_NB) == 0)
		return vd_err(-ESRCH, "the active-VD lease holder (xenvd-leased) is not running on "
				      "this host, so a shared pool's VDs cannot be attached here; run "
				      "'xl-vd lockspace-start'");
	n = read(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return vd_err(-ESRCH, "the pid file %s of xenvd-leased is empty; run 'xl-vd "
				      "lockspace-start'", path);
	buf[n] = '\0';
	pid = strtol(buf, NULL, 10);
	if (pid <= 1 || kill((pid_t)pid, 0) < 0)
		return vd_err(-ESRCH, "xenvd-leased (pid %ld in %s) is not running; run 'xl-vd "
				      "lockspace-start'", pid, path);
	*ret = (pid_t)pid;
	return 0;
}

/* The pool's host-local lock (<run dir>/active-<lockspace>.lock), flock'd in mode. */
static int pool_lock(const char *lockspace, int mode, int *ret_fd)
{
	char path[4096];
	_cleanup_close_ int fd = -EBADF;
	int waited = 0, r;

	r = make_run_dir();
	if (r < 0)
		return r;
	snprintf(path, sizeof(path), "%s/active-%s.lock", vd_holder_run_dir(), lockspace);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return vd_err(-errno, "cannot open %s: %m", path);
	while (flock(fd, mode | LOCK_NB) < 0) {
		if (errno != EWOULDBLOCK)
			return vd_err(-errno, "cannot lock %s: %m", path);
		if (waited >= POOL_LOCK_WAIT_MS)
			return vd_err(-ETIMEDOUT, "%s stays locked by another xenvd process", path);
		usleep(10 * 1000);
		waited += 10;
	}
	*ret_fd = TAKE_FD(fd);
	return 0;
}

/* <run dir>/active-<lockspace>.area: where the pool's lease area is, for a holder that starts
 * again (after a crash or a sanlock restart) while the pool's dm devices exist. */
static void remember_area(const struct vd_sanlock_area *a)
{
	char path[4096], tmp[4200];
	FILE *f;

	snprintf(path, sizeof(path), "%s/active-%s.area", vd_holder_run_dir(), a->lockspace);
	snprintf(tmp, sizeof(tmp), "%s.%d", path, (int)getpid());
	f = fopen(tmp, "we");
	if (!f)
		return;
	fprintf(f, "%s\n%" PRIu64 "\n%" PRIu32 "\n", a->path, a->offset, a->sector_size);
	if (fclose(f) != 0 || rename(tmp, path) < 0)
		unlink(tmp);
}

static int recall_area(const char *file, struct vd_sanlock_area *ret, uint8_t ret_pool[16]);

static int holder_hold(const struct vd_sanlock_area *a, const uint8_t pool_uuid[16],
		       int *ret_lock_fd)
{
	_cleanup_close_ int lock_fd = -EBADF;
	unsigned held = 0;
	pid_t pid;
	int r;

	(void)pool_uuid;
	r = pool_lock(a->lockspace, LOCK_SH, &lock_fd);
	if (r < 0)
		return r;
	r = vd_holder_pid(&pid);
	if (r < 0)
		return r;
	/* A shared lease acquired twice is held twice: acquire only what is not held. Two
	 * creators may both see 0 and both acquire; the last remover releases every count. */
	r = vd_sanlock_held_count(a, VD_SANLOCK_ACTIVE_RESOURCE, pid, &held);
	if (r < 0)
		return r;
	if (held == 0) {
		/* Busy only while another host is inside its own shared acquire (sanlock takes
		 * the lease's paxos leader for an instant): retry, well within libxl's 40 s. */
		for (int waited = 0;; waited += 200) {
			r = vd_sanlock_acquire(a, VD_SANLOCK_SLOT_ACTIVE,
					       VD_SANLOCK_ACTIVE_RESOURCE, true, pid);
			if (r != -EBUSY || waited >= HOLD_BUSY_WAIT_MS)
				break;
			vd_err_clear();
			usleep(200 * 1000);
		}
		if (r < 0)
			return vd_err_prefix(r, "cannot take pool %s's active-VD lease for "
						"xenvd-leased (pid %d)", a->lockspace, (int)pid);
		vd_info("pool %s: xenvd-leased (pid %d) now holds the active-VD lease",
			a->lockspace, (int)pid);
		remember_area(a);
	}
	*ret_lock_fd = TAKE_FD(lock_fd);
	return 0;
}

int vd_holder_pool_active(const uint8_t pool_uuid[16], const struct vd_dm_ops *dm)
{
	char prefix[VD_DM_UUID_MAX];
	struct vd_dm_info *devs = NULL;
	size_t n = 0;
	int r;

	/* "XENVD-<pool hex>-0" less its id: every VD of the pool */
	vd_dm_uuid(pool_uuid, 0, prefix);
	prefix[strlen(prefix) - 1] = '\0';
	r = dm->list(prefix, &devs, &n);
	if (r == -ENOTSUP) {
		vd_err_clear();
		return 0;
	}
	if (r < 0)
		return r;
	free(devs);
	return n > 0;
}

/* Releases every count of the pool's active lease that pid holds. */
static int release_all(const char *lockspace, pid_t pid, unsigned *ret_released)
{
	struct vd_sanlock_lease *list = NULL;
	size_t n = 0;
	int r;

	*ret_released = 0;
	r = vd_sanlock_leases_of(pid, &list, &n);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n && r == 0; i++) {
		if (strcmp(list[i].lockspace, lockspace) != 0 ||
		    strcmp(list[i].name, VD_SANLOCK_ACTIVE_RESOURCE) != 0)
			continue;
		r = vd_sanlock_release_lease(&list[i], pid);
		if (r == 0)
			(*ret_released)++;
	}
	free(list);
	return r;
}

static int holder_release_if_idle(const struct vd_sanlock_area *a, const uint8_t pool_uuid[16],
				  const struct vd_dm_ops *dm, bool *ret_released)
{
	_cleanup_close_ int lock_fd = -EBADF;
	unsigned released = 0;
	pid_t pid;
	int r;

	*ret_released = false;
	/* Exclusive: no creator is between its hold and its dm create. */
	r = pool_lock(a->lockspace, LOCK_EX, &lock_fd);
	if (r < 0)
		return r;
	r = vd_holder_pool_active(pool_uuid, dm);
	if (r != 0)
		return r < 0 ? r : 0;
	if (vd_holder_pid(&pid) < 0) {
		vd_err_clear();
		return 0; /* no holder: it holds nothing */
	}
	r = release_all(a->lockspace, pid, &released);
	if (r == -ESRCH) {
		vd_err_clear();
		return 0;
	}
	if (r < 0)
		return r;
	if (released)
		vd_info("pool %s: no dm device left on this host; xenvd-leased released the "
			"active-VD lease", a->lockspace);
	*ret_released = released > 0;
	return 0;
}

const struct vd_lease_ops vd_lease_holder_ops = {
	.hold = holder_hold,
	.release_if_idle = holder_release_if_idle,
};

/* ---- the holder process ---- */

static int parse_lockspace(const char *lockspace, uint8_t ret[16])
{
	if (strlen(lockspace) != 32)
		return -EINVAL;
	for (size_t i = 0; i < 16; i++) {
		unsigned v;

		if (sscanf(lockspace + 2 * i, "%2x", &v) != 1)
			return -EINVAL;
		ret[i] = (uint8_t)v;
	}
	return 0;
}

/* Releases the active lease of every pool with no dm device left; *ret_kept: how many pools'
 * leases stay held. */
static int release_idle_pools(const struct vd_dm_ops *dm, size_t *ret_kept)
{
	struct vd_sanlock_lease *list = NULL;
	size_t n = 0, kept = 0;
	int r;

	r = vd_sanlock_leases_of(getpid(), &list, &n);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		_cleanup_close_ int lock_fd = -EBADF;
		uint8_t pool[16];
		unsigned released = 0;
		bool seen = false;

		if (strcmp(list[i].name, VD_SANLOCK_ACTIVE_RESOURCE) != 0 ||
		    parse_lockspace(list[i].lockspace, pool) < 0)
			continue;
		for (size_t j = 0; j < i; j++)
			seen = seen || strcmp(list[j].lockspace, list[i].lockspace) == 0;
		if (seen)
			continue;
		/* A creator holds it (shared) only from its hold to its dm create. */
		r = pool_lock(list[i].lockspace, LOCK_EX, &lock_fd);
		if (r < 0) {
			vd_warn("pool %s: %s; keeping its active-VD lease", list[i].lockspace,
				vd_errmsg());
			kept++;
			continue;
		}
		r = vd_holder_pool_active(pool, dm);
		if (r != 0) {
			if (r < 0)
				vd_warn("pool %s: cannot list its dm devices (%s); keeping its "
					"active-VD lease", list[i].lockspace, vd_errmsg());
			kept++;
			continue;
		}
		r = release_all(list[i].lockspace, getpid(), &released);
		if (r < 0) {
			vd_warn("pool %s: %s", list[i].lockspace, vd_errmsg());
			kept++;
		} else if (released) {
			vd_info("pool %s: no dm device left; active-VD lease released",
				list[i].lockspace);
		}
	}
	free(list);
	*ret_kept = kept;
	return 0;
}

/* Whether a signal came from the sanlock daemon (or its helper): its request when a lockspace
 * is lost or removed, not a request to stop. */
static bool from_sanlock(pid_t sender)
{
	char path[64], comm[32] = "";
	FILE *f;

	if (sender <= 0)
		return false;
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)sender);
	f = fopen(path, "re");
	if (!f)
		return false;
	if (!fgets(comm, sizeof(comm), f))
		comm[0] = '\0';
	fclose(f);
	return strncmp(comm, "sanlock", 7) == 0;
}

static int recall_area(const char *file, struct vd_sanlock_area *ret, uint8_t ret_pool[16])
{
	_cleanup_fclose_ FILE *f = fopen(file, "re");
	const char *base = strrchr(file, '/');
	char path[1024], ls[64];
	uint64_t offset;
	uint32_t sector;

	if (!f || !base || sscanf(base, "/active-%32[0-9a-f].area", ls) != 1 ||
	    parse_lockspace(ls, ret_pool) < 0)
		return -EINVAL;
	if (!fgets(path, sizeof(path), f) || fscanf(f, "%" SCNu64 "%" SCNu32, &offset, &sector) != 2)
		return -EINVAL;
	path[strcspn(path, "\n")] = '\0';
	return vd_sanlock_area_init(ret, ret_pool, path, offset, sector);
}

/* At start: the pools whose dm devices exist here and whose lease area an earlier holder
 * recorded get their active-VD lease back (held by this process). */
static void retake_active_pools(const struct vd_dm_ops *dm)
{
	char pattern[4096];
	DIR *d = opendir(vd_holder_run_dir());
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d))) {
		struct vd_sanlock_area a;
		uint8_t pool[16];
		unsigned held = 0;
		int r;

		if (strncmp(e->d_name, "active-", 7) != 0 || !strstr(e->d_name, ".area") ||
		    strchr(e->d_name + 7, '.') != strstr(e->d_name, ".area"))
			continue;
		snprintf(pattern, sizeof(pattern), "%s/%s", vd_holder_run_dir(), e->d_name);
		if (recall_area(pattern, &a, pool) < 0 || vd_holder_pool_active(pool, dm) != 1)
			continue;
		r = vd_sanlock_held_count(&a, VD_SANLOCK_ACTIVE_RESOURCE, getpid(), &held);
		if (r == 0 && held == 0)
			r = vd_sanlock_acquire(&a, VD_SANLOCK_SLOT_ACTIVE,
					       VD_SANLOCK_ACTIVE_RESOURCE, true, getpid());
		if (r < 0)
			vd_warn("pool %s has dm devices here but its active-VD lease cannot be "
				"taken again: %s", a.lockspace, vd_errmsg());
		else
			vd_info("pool %s has dm devices here: active-VD lease taken again",
				a.lockspace);
	}
	closedir(d);
}

int vd_holder_run(const struct vd_dm_ops *dm, int interval_ms)
{
	_cleanup_close_ int pid_fd = -EBADF, sock = -EBADF, sfd = -EBADF;
	char path[4096], line[32];
	sigset_t mask;
	int r, len;

	r = make_run_dir();
	if (r < 0)
		return r;
	snprintf(path, sizeof(path), "%s/" PID_FILE, vd_holder_run_dir());
	pid_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (pid_fd < 0)
		return vd_err(-errno, "cannot open %s: %m", path);
	/* vd_holder_pid() tests the lock with a shared one for an instant: retry briefly */
	for (int tries = 0; flock(pid_fd, LOCK_EX | LOCK_NB) < 0; tries++) {
		if (errno != EWOULDBLOCK || tries == 50)
			return vd_err(errno == EWOULDBLOCK ? -EALREADY : -errno,
				      "another xenvd-leased runs (%s is locked)", path);
		usleep(10 * 1000);
	}

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
		return -errno;
	sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	if (sfd < 0)
		return vd_err(-errno, "signalfd: %m");
	r = vd_sanlock_register_holder(&sock);
	if (r < 0)
		return r;
	/* Only now: a creator acquires on behalf of this pid, which sanlock must know. */
	len = snprintf(line, sizeof(line), "%d\n", (int)getpid());
	if (ftruncate(pid_fd, 0) < 0 || pwrite(pid_fd, line, (size_t)len, 0) != len)
		return vd_err(-errno, "cannot write %s: %m", path);
	vd_info("xenvd-leased %d: registered with sanlock; holding the active-VD leases of this "
		"host's shared pools", (int)getpid());
	retake_active_pools(dm);

	for (;;) {
		struct pollfd p[2] = { { .fd = sfd, .events = POLLIN },
				       { .fd = sock, .events = POLLIN } };
		struct signalfd_siginfo si;
		size_t kept = 0;
		bool stop = false;

		r = poll(p, 2, interval_ms);
		if (r < 0 && errno != EINTR)
			return vd_err(-errno, "poll: %m");
		if (p[1].revents & (POLLHUP | POLLERR))
			return vd_err(-ECONNRESET, "the sanlock daemon closed our registration; "
						   "leases are gone");
		if (r > 0 && (p[0].revents & POLLIN) &&
		    read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
			bool sanlock = from_sanlock((pid_t)si.ssi_pid);

			vd_info("xenvd-leased: signal %u from %s (pid %u)", si.ssi_signo,
				sanlock ? "sanlock" : "another process", si.ssi_pid);
			/* sanlock's SIGTERM asks for what is idle; SIGHUP only rescans */
			stop = !sanlock && si.ssi_signo != SIGHUP;
		}
		r = release_idle_pools(dm, &kept);
		if (r < 0) {
			vd_warn("xenvd-leased: %s", vd_errmsg());
			kept = 1; /* cannot tell: keep everything */
		}
		if (stop && kept == 0) {
			vd_info("xenvd-leased: no active-VD lease held; exiting");
			unlink(path);
			return 0;
		}
		if (stop || (r == 0 && kept && p[0].revents))
			vd_warn("xenvd-leased: dm devices of %zu shared pool(s) exist on this host: "
				"keeping their active-VD leases (detach their VDs first; if the "
				"lockspace is lost, the watchdog resets this host)", kept);
	}
}
