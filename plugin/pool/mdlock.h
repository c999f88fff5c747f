/* The lock on a pool's on-pool database, with SQLite's five levels (none, shared, reserved,
 * pending, exclusive) so that db_vfs.c passes SQLite's lock calls straight through. Locking
 * sits behind an ops table: the local backend (below) serialises the processes of one host;
 * a shared pool's cross-host lease (DESIGN.md "Shared pools") is another backend taken in the
 * same calls, in front of the local one.
 */
#ifndef XENVD_MDLOCK_H
#define XENVD_MDLOCK_H

#include "base/util.h"

enum vd_mdlock_level {
	VD_MDLOCK_NONE = 0,
	VD_MDLOCK_SHARED = 1,
	VD_MDLOCK_RESERVED = 2,
	VD_MDLOCK_PENDING = 3,
	VD_MDLOCK_EXCLUSIVE = 4,
};

struct vd_mdlock;

struct vd_mdlock_ops {
	/* Raises the lock to level (never waits): 0, or -EBUSY when another holder stands in
	 * the way (SQLite retries through its busy handler). */
	int (*lock)(struct vd_mdlock *l, enum vd_mdlock_level level);
	/* Lowers it to SHARED or NONE. */
	int (*unlock)(struct vd_mdlock *l, enum vd_mdlock_level level);
	/* Whether anyone holds RESERVED or more (SQLite's hot-journal test). */
	int (*check_reserved)(struct vd_mdlock *l, bool *ret);
	/* Lets go of what is kept between transactions (a shared pool's lease) when nothing is
	 * locked; NULL when the backend keeps nothing. */
	int (*idle)(struct vd_mdlock *l);
	void (*free)(struct vd_mdlock *l);
};

struct vd_mdlock {
	const struct vd_mdlock_ops *ops;
	enum vd_mdlock_level level;
};

/* The local backend: open-file-description byte-range locks (SQLite's own byte layout) on
 * <lock_dir>/pool-<uuid>.dblock, lock_dir being /run/xenvd unless $XENVD_RUN_DIR says. Every
 * process of the host that opens this pool's database, by whatever path, takes the same lock. */
int vd_mdlock_local(const uint8_t pool_uuid[16], struct vd_mdlock **ret);

/* A shared pool's backend (DESIGN.md "Shared pools"): the pool's sanlock metadata lease,
 * taken by this process in front of the local lock (which it then owns) on the first lock
 * above NONE, and kept across transactions until idle (or free) lets it go, so that one
 * operation costs one acquisition. A lease held elsewhere is -EBUSY, with nothing held: SQLite's
 * busy handling and vd_db_begin retry it, within their bounds. This host not (yet) in the
 * lockspace is -ENOTCONN, after waiting up to join_wait_s for a join under way. */
struct vd_sanlock_area;
int vd_mdlock_shared(struct vd_mdlock *local, const struct vd_sanlock_area *area,
		     unsigned join_wait_s, struct vd_mdlock **ret);

#endif
