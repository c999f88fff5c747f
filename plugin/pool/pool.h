/* Pool devices: formatting one (label, then database row), removing one, and opening one with
 * its label checked against the database. The only module that decides whether a path is the
 * device the database means. Label encoding is label.c's; SQL is db.c's.
 */
#ifndef XENVD_POOL_H
#define XENVD_POOL_H

#include "pool/db.h"

struct vd_format_opts {
	uint64_t extent_size; /* 0: the configured default */
	bool force;	      /* overwrite a filesystem, partition table or foreign label */
	bool no_scrub;	      /* this device's extents are not zeroed on reuse */
	uint64_t max_extents; /* a new on-pool database: extents the pool may reach (0: 8 times
			       * this device's, at least 16384) */
};

/* Formats path as the first device of a NEW pool that carries its own database: a metadata
 * area after the label (sized for max_extents), the database created in it, and a locator at
 * db_path saying where it is (DESIGN.md "Where the metadata lives"). db_path must not exist.
 * Returns the opened database. */
int vd_pool_format_onpool(const char *db_path, const char *path, const struct vd_format_opts *opts,
			  struct vd_db **ret_db, struct vd_pool_device *ret);

int vd_pool_format(struct vd_db *db, const char *path, const struct vd_format_opts *opts,
		   struct vd_pool_device *ret);

/* Brings a pool that carries its own database to a dom0 that has none (db_path must not exist,
 * or be the locator of the same pool): reads the labels of the devices given, finds the
 * copies of the metadata area among them, writes the locator at db_path, opens the database
 * and records where each device given is now. Returns the opened database. */
int vd_pool_import(const char *db_path, char *const *devices, size_t n, struct vd_db **ret_db);

/* Moves a pool's database from its file onto the pool: the last free extents of device (a path
 * or UUID; NULL: the first block device of the pool) become its metadata area, sized for
 * max_extents (0: as format would), the database is copied there, the device's label says so,
 * and the locator replaces the file at the database path (the file stays beside it as
 * <path>.pre-pool). Run it with no other xenvd command running. Returns the locator path's
 * new database in *ret_db (db is closed). */
int vd_pool_move_db(struct vd_db *db, const char *device, uint64_t max_extents,
		    struct vd_db **ret_db);

/* Makes a pool that carries its database shared by the hosts of a SAN (DESIGN.md "Shared
 * pools"): the last extents of the device carrying the area's first copy become its lease area
 * (sanlock's lockspace named by the pool UUID, then the metadata lease), written through the
 * sanlock daemon with io_timeout, and every copy of the metadata area header records it.
 * Refused for a database file, for a pool already shared, and while VDs are attached (named). */
int vd_pool_share(struct vd_db *db, uint32_t io_timeout);

/* "UUID" or a path; refuses while any extent is owned unless force (which also needs the
 * owners to be deleted VDs). Wipes the label. */
int vd_pool_remove(struct vd_db *db, const char *which, bool force);

/* Opens the device (O_RDONLY/O_RDWR | O_CLOEXEC, plus extra_flags) at its last-seen path and
 * checks that its label is the one the database has: pool UUID, device UUID, extent size,
 * data offset. A mismatch is -ENXIO (another disk is there) or -ENODEV (no label/missing),
 * with a message that names the device UUID, the path and the next step. A block device
 * missing at its path is looked for by its label in /dev and adopted only when it also shows
 * the recorded identity and no guest can write it; other candidates are named in the message
 * with the command that adopts them (vd_pool_relink). */
int vd_pool_open_device(struct vd_db *db, const struct vd_pool_device *dev, int open_flags,
			int *ret_fd);

/* The block device in /dev carrying the label of device_uuid of pool_uuid (not at last_path
 * any more): -ENODEV with a message when none does, -ENOTUNIQ when two do. */
int vd_pool_find_label(const uint8_t pool_uuid[16], const uint8_t device_uuid[16],
		       const char *last_path, const char *identity, char **ret_path);
/* A stable hardware identity of the block device at path, recorded at format time and required
 * of a disk found by its label at another path: a /dev/disk/by-id name (a WWN first; never one
 * derived from the contents), else the kernel's wwid or serial ("serial:S123"), or a loop
 * device's backing file ("loop:/srv/pool.img"). NULL when it has none (and for regular files,
 * which are only ever found at their path). */
int vd_pool_device_identity(const char *path, char **ret_identity);

/* xl-vd pool-relink: records path as where the pool device whose label it carries is now, with
 * path's identity, after checking its label against the database. Refused for a device a guest
 * can write (xen-blkfront, nbd, rbd, zvol, drbd), and while the device is still at its
 * recorded path (path is then a copy). */
int vd_pool_relink(struct vd_db *db, const char *path, struct vd_pool_device *ret);

/* xl-vd check --repair: every pool device missing at its recorded path that exactly one disk
 * (not a guest-writable one) carries the label of is relinked to it; one report line each. */
int vd_pool_repair_links(struct vd_db *db, char **report, unsigned *ret_relinked);

/* Opens every pool device read-only and checks its label; one report line per device that
 * fails (appended to *report, malloc'd), counted in *problems. */
int vd_pool_check_labels(struct vd_db *db, char **report, unsigned *problems);

/* Size of a regular file or block device, in bytes. */
int vd_pool_device_size(int fd, uint64_t *ret_size);

/* Zeroes [off, off+len) of the device: BLKZEROOUT on block devices, a punched hole (which reads
 * back as zeroes) or written zeroes on regular files. */
int vd_pool_zero_range(int fd, uint64_t off, uint64_t len);

#endif
