/* Attaching a VD to a consumer and detaching it, as library functions: under the VD's lock,
 * runs → backing devices → dm device (shared by all attachments of a VD, removed with the
 * last) → attachment row. A failure undoes exactly what the run did. The hotplug backend
 * (hotplug.h) and `xl-vd map`/`unmap`/`resize` are its callers; it talks to device-mapper
 * only through the ops table of dm.h and never to xenstore.
 */
#ifndef XENVD_ATTACH_H
#define XENVD_ATTACH_H

#include <stdbool.h>
#include <sys/types.h>

#include "pool/db.h"
#include "attach/dm.h"
#include "attach/xs.h"
#include "attach/sharing.h"
#include "attach/holder.h"

/* Attachments made by `xl-vd map` have this backend_path prefix ("dom0-map:7"); they have no
 * xenstore backend. */
#define VD_MAP_BACKEND_PREFIX "dom0-map:"

/* How long an attach or detach waits for the VD's lock: well inside libxl's 40 s hotplug
 * timeout. */
#define VD_ATTACH_LOCK_TIMEOUT_MS 20000

struct vd_attach_ops {
	const struct vd_dm_ops *dm;
	/* The block device to put in the dm table for an open, label-checked pool device: the
	 * device itself, or a loop device bound to a pool file. *ret_hold_fd (or -1) keeps a new
	 * loop device alive until the dm table holds it. */
	int (*backing_device)(int fd, const char *path, dev_t *ret_dev, int *ret_hold_fd);
	/* Other hosts' liveness in a shared pool (sharing.h); NULL: every host is live. */
	const struct vd_host_ops *hosts;
	/* The active-VD lease of a shared pool (holder.h). */
	const struct vd_lease_ops *lease;
};
/* libdevmapper + loop devices. */
extern const struct vd_attach_ops vd_attach_real_ops;

/* What attaches and detaches share: the database, xenstore (for the sharing check against
 * other backends), the ops, the policy, and what the current run is about (for log lines). */
struct vd_attacher {
	struct vd_db *db;
	struct vd_xs *xs; /* NULL: no xenstore (map/unmap on a host without xenstored) */
	const struct vd_attach_ops *ops;
	int sharing_level;   /* VD_SHARING_* */
	int lock_timeout_ms; /* waiting for the VD's lock */
	struct vd_phases *phases; /* NULL, or where runs mark their steps' times */
	/* A shared pool's lease area: while this host has a dm device of the pool, its holder
	 * holds the pool's active-VD lease (holder.h). NULL: the database's own (vd_db_lease_area
	 * of db, looked up at each attach and detach; none for an unshared pool). */
	const struct vd_sanlock_area *lease_area;

	/* What the current run is about, for log lines (set as it is learnt). */
	uint32_t vd_id;	  /* 0 until known */
	int64_t domid;	  /* -1 until known */
	int64_t devid;	  /* -1 until known */
};

/* h->lease_area, else the lease area of h->db's pool (NULL: not shared). */
const struct vd_sanlock_area *vd_attacher_lease_area(const struct vd_attacher *h);

/* Sets the defaults above (level 0 unless told, VD_ATTACH_LOCK_TIMEOUT_MS, real ops). */
void vd_attacher_init(struct vd_attacher *h, struct vd_db *db, struct vd_xs *xs);

/* Marks the end of a step in h->phases, if any. */
void vd_attach_mark(const struct vd_attacher *h, const char *phase);

/* One attach: its request (h .. mode_str) and exactly what it changed, so that it can be undone. */
struct vd_attach_run {
	struct vd_attacher *h;
	uint32_t vd_id;
	const char *backend_path;
	uint32_t domid, devid;
	const char *vdev;
	char mode;	      /* canonical 'r', 'w', '!' */
	const char *mode_str; /* as stored in the attachment */
	const struct vd_xs_domain *frontend; /* the frontend's VM, for the same-VM sharing rule
						and the attachment row; NULL when unknown */

	char name[VD_DM_NAME_MAX];
	dev_t dev;

	int lock_fd;
	bool created_dm;
	bool reloaded;
	struct vd_dm_table old_table;
	bool attachment_added;
	int lease_lock_fd;  /* the pool's host-local lock, from the lease hold to the dm create */
	bool lease_held;    /* this run made sure the holder holds the active-VD lease */
};

/* Attaches run->vd_id for run->backend_path; on failure undoes what it did. Holds the VD's lock
 * (run->lock_fd) until vd_attach_run_done. */
int vd_attach(struct vd_attach_run *run);
/* Undoes a successful vd_attach (in reverse order). Errors are logged, not returned. */
void vd_attach_undo(struct vd_attach_run *run);
/* Releases the lock and the saved table. */
void vd_attach_run_done(struct vd_attach_run *run);

/* Under the VD's lock: drops the attachment (if any) and removes the dm device when no other
 * attachment is left. Missing pieces are fine (idempotent, half-done attaches). */
int vd_detach(struct vd_attacher *h, uint32_t id, const char *backend_path);

/* Drops the attachment row of backend_path in its own transaction; absent is fine. */
int vd_attach_forget(struct vd_db *db, const char *backend_path);

/* How many of this host's attachments of VD id other than backend_path (NULL: all of them)
 * exist: what decides whether this host's dm device of the VD is still used. */
int vd_attach_count_others(struct vd_db *db, uint32_t id, const char *backend_path,
			   size_t *ret);

/* The VD's dm device in dom0 for `xl-vd map` ("dom0-map:<id>" attachment, domid 0). mode is
 * "r" or "w". ret_path: "/dev/mapper/vd-<id>" (at least 64 bytes). Idempotent. */
int vd_attach_map(struct vd_attacher *h, uint32_t vd_id, const char *mode, char *ret_path,
		  size_t len);
/* Undoes vd_attach_map; the dm device goes when nothing else is attached. */
int vd_attach_unmap(struct vd_attacher *h, uint32_t vd_id);

/* After `xl-vd resize` grew a VD: if its dm device is live, load the grown table (the old one
 * is a prefix of it) under the VD's lock, so blkback sees the new size and tells the guest.
 * 0 when there is no live device or its table is already current; *ret_reloaded says whether a
 * table was loaded. -EBUSY when the live table is not a prefix of the VD's (run `xl-vd check`). */
int vd_attach_grow_live(struct vd_attacher *h, uint32_t vd_id, bool *ret_reloaded);

#endif
