/* Attaching a VD (block-vd add, xl-vd map) and detaching it (block-vd remove, xl-vd unmap), as
 * library functions: under the VD's lock, segments → backing devices → dm device (shared by all
 * attachments of a VD, removed with the last) → attachment row → xenstore results. A failure
 * undoes exactly what the run did. Also the runtime consistency check behind `xl-vd check`.
 * Talks to device-mapper and xenstore only through the ops tables of dm.h and xs.h.
 */
#ifndef XENVD_HOTPLUG_H
#define XENVD_HOTPLUG_H

#include <sys/types.h>

#include "db.h"
#include "dm.h"
#include "xs.h"

/* Attachments made by `xl-vd map` have this backend_path prefix ("dom0-map:7"); they have no
 * xenstore backend. */
#define VD_MAP_BACKEND_PREFIX "dom0-map:"

struct vd_hotplug_ops {
	const struct vd_dm_ops *dm;
	/* The block device to put in the dm table for an open, label-checked pool device: the
	 * device itself, or a loop device bound to a pool file. *ret_hold_fd (or -1) keeps a new
	 * loop device alive until the dm table holds it. */
	int (*backing_device)(int fd, const char *path, dev_t *ret_dev, int *ret_hold_fd);
};
/* libdevmapper + loop devices. */
extern const struct vd_hotplug_ops vd_hotplug_real_ops;

struct vd_hotplug {
	struct vd_db *db;
	struct vd_xs *xs; /* NULL: no xenstore (map/unmap on a host without xenstored) */
	const struct vd_hotplug_ops *ops;
	int sharing_level;   /* 0, 1, 2 */
	int lock_timeout_ms; /* waiting for the VD's lock; well inside libxl's 40 s */
	struct vd_phases *phases; /* NULL, or where add/remove mark their steps' times */

	/* What the current run is about, for log lines (set as it is learnt). */
	uint32_t vd_id;	  /* 0 until known */
	int64_t domid;	  /* -1 until known */
	int64_t devid;	  /* -1 until known */
};

/* Sets the defaults above (level 0 unless told, 20 s lock timeout, real ops). */
void vd_hotplug_init(struct vd_hotplug *h, struct vd_db *db, struct vd_xs *xs);

/* The VD id of a backend's params: "vd:<id>" exactly, surrounding whitespace ignored (libxl
 * keeps whatever followed target=). -EINVAL with a message showing the right disk line. */
int vd_hotplug_parse_target(const char *params, uint32_t *ret_id);

/* block-vd add: xenbus_path as libxl passes it (relative or absolute). On failure writes
 * hotplug-error and hotplug-status=error and returns -errno (message in vd_errmsg()). */
int vd_hotplug_add(struct vd_hotplug *h, const char *xenbus_path);

/* block-vd remove: idempotent; copes with a half-done add. */
int vd_hotplug_remove(struct vd_hotplug *h, const char *xenbus_path);

/* The VD's dm device in dom0 for `xl-vd map` ("dom0-map:<id>" attachment, domid 0). mode is
 * "r" or "w". ret_path: "/dev/mapper/vd-<id>" (at least 64 bytes). Idempotent. */
int vd_hotplug_map(struct vd_hotplug *h, uint32_t vd_id, const char *mode, char *ret_path,
		   size_t len);
/* Undoes vd_hotplug_map; the dm device goes when nothing else is attached. */
int vd_hotplug_unmap(struct vd_hotplug *h, uint32_t vd_id);

/* After `xl-vd resize` grew a VD: if its dm device is live, load the grown table (the old one
 * is a prefix of it) under the VD's lock, so blkback sees the new size and tells the guest.
 * 0 when there is no live device or its table is already current; *ret_reloaded says whether a
 * table was loaded. -EBUSY when the live table is not a prefix of the VD's (run `xl-vd check`). */
int vd_hotplug_grow_live(struct vd_hotplug *h, uint32_t vd_id, bool *ret_reloaded);

/* `xl-vd import`: copies a raw image (regular file or block device) into the VD's extents
 * straight on the pool devices (no dm needed), under the VD's lock. Refused with -EBUSY while
 * the VD is attached writable anywhere, -EFBIG when the image is larger than the VD. progress
 * (may be NULL) gets bytes done / total. */
int vd_import_image(struct vd_db *db, uint32_t id, int image_fd,
		    void (*progress)(uint64_t done, uint64_t total, void *userdata),
		    void *userdata);

/* For `xl-vd check`: compares dm devices carrying our UUID prefix, attachments and xenstore
 * backends; one report line per problem (leaked dm device, attachment without dm device or
 * without backend, vd: backend without attachment). repair removes leaked dm devices nothing
 * has open and attachments whose xenstore backend is gone. *ret_report NULL when clean. */
int vd_check_runtime(struct vd_db *db, bool repair, char **ret_report, unsigned *ret_problems);
/* The same with explicit ops and xenstore (NULL: skip the xenstore comparisons). */
int vd_check_runtime_with(struct vd_db *db, const struct vd_hotplug_ops *ops, struct vd_xs *xs,
			  bool repair, char **ret_report, unsigned *ret_problems);

#endif
