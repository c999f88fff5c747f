#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/error.h"
#include "pool/mdlock.h"
#include "pool/sanlock.h"

/* SQLite's lock bytes (os_unix.c's layout): a lock file has nothing else in it, so any offset
 * would do; keeping SQLite's makes the protocol easy to check against its documentation. */
#define PENDING_BYTE 0x40000000
#define RESERVED_BYTE (PENDING_BYTE + 1)
#define SHARED_FIRST (PENDING_BYTE + 2)
#define SHARED_SIZE 510

struct local_lock {
	struct vd_mdlock base;
	int fd;
};

static int range(int fd, short type, off_t start, off_t len)
{
	struct flock fl = { .l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len };

	if (fcntl(fd, F_OFD_SETLK, &fl) == 0)
		return 0;
	return errno == EAGAIN || errno == EACCES ? -EBUSY : -errno;
}

static int local_lock(struct vd_mdlock *l, enum vd_mdlock_level level)
{
	struct local_lock *ll = (struct local_lock *)l;
	int r;

	if (l->level >= level)
		return 0;
	if (level == VD_MDLOCK_SHARED) {
		/* A pending writer keeps new readers out: shared is taken through the pending
		 * byte, which is let go at once. */
		r = range(ll->fd, F_RDLCK, PENDING_BYTE, 1);
		if (r < 0)
			return r;
		r = range(ll->fd, F_RDLCK, SHARED_FIRST, SHARED_SIZE);
		(void)range(ll->fd, F_UNLCK, PENDING_BYTE, 1);
		if (r < 0)
			return r;
		l->level = VD_MDLOCK_SHARED;
		return 0;
	}
	if (level == VD_MDLOCK_RESERVED) {
		r = range(ll->fd, F_WRLCK, RESERVED_BYTE, 1);
		if (r == 0)
			l->level = VD_MDLOCK_RESERVED;
		return r;
	}
	/* PENDING, then EXCLUSIVE once every reader has gone. */
	if (l->level < VD_MDLOCK_PENDING) {
		r = range(ll->fd, F_WRLCK, PENDING_BYTE, 1);
		if (r < 0)
			return r;
		l->level = VD_MDLOCK_PENDING;
	}
	if (level == VD_MDLOCK_EXCLUSIVE) {
		r = range(ll->fd, F_WRLCK, SHARED_FIRST, SHARED_SIZE);
		if (r < 0)
			return r;
		l->level = VD_MDLOCK_EXCLUSIVE;
	}
	return 0;
}

static int local_unlock(struct vd_mdlock *l, enum vd_mdlock_level level)
{
	struct local_lock *ll = (struct local_lock *)l;
	int r = 0;

	if (l->level <= level)
		return 0;
	if (level == VD_MDLOCK_SHARED) {
		if (l->level == VD_MDLOCK_EXCLUSIVE)
			r = range(ll->fd, F_RDLCK, SHARED_FIRST, SHARED_SIZE);
		if (r == 0)
			r = range(ll->fd, F_UNLCK, PENDING_BYTE, 2); /* pending and reserved */
	} else {
		r = range(ll->fd, F_UNLCK, 0, 0);
	}
	if (r == 0)
		l->level = level;
	return r;
}

static int local_check_reserved(struct vd_mdlock *l, bool *ret)
{
	struct local_lock *ll = (struct local_lock *)l;
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = RESERVED_BYTE,
			    .l_len = 1 };

	if (l->level >= VD_MDLOCK_RESERVED) {
		*ret = true;
		return 0;
	}
	if (fcntl(ll->fd, F_OFD_GETLK, &fl) < 0)
		return -errno;
	*ret = fl.l_type != F_UNLCK;
	return 0;
}

static void local_free(struct vd_mdlock *l)
{
	struct local_lock *ll = (struct local_lock *)l;

	close(ll->fd);
	free(ll);
}

static const struct vd_mdlock_ops local_ops = {
	.lock = local_lock,
	.unlock = local_unlock,
	.check_reserved = local_check_reserved,
	.free = local_free,
};

int vd_mdlock_local(const uint8_t pool_uuid[16], struct vd_mdlock **ret)
{
	const char *dir = getenv("XENVD_RUN_DIR");
	struct local_lock *ll;
	char path[4096], uuid[37];
	int fd;

	if (!dir || !*dir)
		dir = "/run/xenvd";
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return vd_err(-errno, "cannot create %s for the pool database's lock: %m", dir);
	vd_uuid_unparse(pool_uuid, uuid);
	snprintf(path, sizeof(path), "%s/pool-%s.dblock", dir, uuid);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return vd_err(-errno, "cannot open the pool database's lock %s: %m", path);
	ll = calloc(1, sizeof(*ll));
	if (!ll) {
		close(fd);
		return -ENOMEM;
	}
	ll->base.ops = &local_ops;
	ll->fd = fd;
	*ret = &ll->base;
	return 0;
}

struct shared_lock {
	struct vd_mdlock base;
	struct vd_mdlock *local;
	struct vd_sanlock_area area;
	unsigned join_wait_s;
	bool held; /* the metadata lease */
};

static int shared_lock(struct vd_mdlock *l, enum vd_mdlock_level level)
{
	struct shared_lock *sl = (struct shared_lock *)l;
	int r;

	if (l->level >= level)
		return 0;
	/* The lease first: whoever holds it is the only one on any host to want the local lock,
	 * so a process never waits for the lease while holding the local lock. */
	if (!sl->held) {
		r = vd_sanlock_md_acquire(&sl->area);
		/* Asked only now, not before every acquisition: one round trip to the daemon
		 * less per operation. */
		if (r == -ENOTCONN && vd_sanlock_check_joined(&sl->area, sl->join_wait_s, NULL) == 0)
			r = vd_sanlock_md_acquire(&sl->area);
		if (r < 0)
			return r;
		sl->held = true;
	}
	r = sl->local->ops->lock(sl->local, level);
	l->level = sl->local->level;
	return r;
}

static int shared_unlock(struct vd_mdlock *l, enum vd_mdlock_level level)
{
	struct shared_lock *sl = (struct shared_lock *)l;
	int r = sl->local->ops->unlock(sl->local, level);

	l->level = sl->local->level;
	return r;
}

static int shared_check_reserved(struct vd_mdlock *l, bool *ret)
{
	struct shared_lock *sl = (struct shared_lock *)l;

	/* Another host's writer would hold the lease; only this host's processes can stand in
	 * the way, and a journal nobody here reserves is hot. */
	return sl->local->ops->check_reserved(sl->local, ret);
}

static int shared_idle(struct vd_mdlock *l)
{
	struct shared_lock *sl = (struct shared_lock *)l;
	int r;

	if (!sl->held || l->level != VD_MDLOCK_NONE)
		return 0;
	r = vd_sanlock_md_release(&sl->area);
	/* Whatever the daemon said, the lease is not ours to count on any more. */
	sl->held = false;
	return r;
}

static void shared_free(struct vd_mdlock *l)
{
	struct shared_lock *sl = (struct shared_lock *)l;

	if (l->level != VD_MDLOCK_NONE)
		(void)shared_unlock(l, VD_MDLOCK_NONE);
	if (shared_idle(l) < 0)
		vd_debug("releasing the metadata lease of pool %s: %s", sl->area.pool,
			 vd_errmsg());
	sl->local->ops->free(sl->local);
	free(sl);
}

static const struct vd_mdlock_ops shared_ops = {
	.lock = shared_lock,
	.unlock = shared_unlock,
	.check_reserved = shared_check_reserved,
	.idle = shared_idle,
	.free = shared_free,
};

int vd_mdlock_shared(struct vd_mdlock *local, const struct vd_sanlock_area *area,
		     unsigned join_wait_s, struct vd_mdlock **ret)
{
	struct shared_lock *sl = calloc(1, sizeof(*sl));

	if (!sl)
		return -ENOMEM;
	sl->base.ops = &shared_ops;
	sl->base.level = local->level;
	sl->local = local;
	sl->area = *area;
	sl->join_wait_s = join_wait_s;
	*ret = &sl->base;
	return 0;
}
