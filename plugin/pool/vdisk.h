/* Virtual disks: create (allocation policy: which free runs a VD gets), what "expired" means,
 * refresh, resize, delete, gc, scrubbing, and the VD → pool-device runs everyone else reads
 * (device-mapper tables, vdloader --vd, import).
 * Every change is one database transaction; zeroing runs outside it and is recorded after.
 */
#ifndef XENVD_VDISK_H
#define XENVD_VDISK_H

#include "pool/db.h"
#include "pool/run.h"

const char *vd_vdisk_state_name(enum vd_state s);
/* What "expired" means: LIVE with an expiry in the past reads as EXPIRED. */
enum vd_state vd_vdisk_effective_state(const struct vd_vdisk *v, int64_t now);

struct vd_create_opts {
	uint64_t size;		/* bytes; rounded up to whole extents */
	int64_t expire_seconds; /* 0 = never */
	const char *name;	/* NULL: unnamed */
};

/* Progress of long work (scrub, gc): done/total in bytes. */
typedef void (*vd_progress_fn)(uint64_t done, uint64_t total, void *userdata);

int vd_vdisk_create(struct vd_db *db, const struct vd_create_opts *opts, vd_progress_fn progress,
		    void *userdata, struct vd_vdisk *ret);

/* "7", "vd:7" or a name. -ENOENT names what was looked for. */
int vd_vdisk_lookup(struct vd_db *db, const char *which, struct vd_vdisk *ret);

/* New expiry: now + seconds, or never (0). An expired VD whose extents are intact is revived. */
int vd_vdisk_refresh(struct vd_db *db, uint32_t id, int64_t expire_seconds);

/* Grows (new extents appended, scrubbed first) or, with force and no attachment, shrinks. */
int vd_vdisk_resize(struct vd_db *db, uint32_t id, uint64_t size, bool force,
		    vd_progress_fn progress, void *userdata, struct vd_vdisk *ret);

/* Expires now; the extents go back to the pool at the next gc or allocation. Refused while
 * attached unless force (the attachment keeps the data until detach). */
int vd_vdisk_delete(struct vd_db *db, uint32_t id, bool force);

/* Zeroes the VD's extents that still hold another tenant's data; clears needs_scrub. */
int vd_vdisk_scrub(struct vd_db *db, uint32_t id, vd_progress_fn progress, void *userdata);

struct vd_vdisk_gc_result {
	unsigned reclaimed_vdisks;
	uint64_t reclaimed_extents;
	uint64_t scrubbed_extents;   /* free extents zeroed */
	uint64_t unscrubbed_extents; /* free extents of --no-scrub devices: marked clean, not zeroed */
};
/* Reclaims every expired, unattached VD and zeroes dirty free extents ahead of time. */
int vd_vdisk_gc(struct vd_db *db, vd_progress_fn progress, void *userdata, struct vd_vdisk_gc_result *ret);

/* One run of a VD that is contiguous on one pool device. */
/* The VD's runs in VD order, adjacent extents coalesced. With open_flags >= 0, every pool device
 * is opened and its label checked (vd_pool_open_device); the fds are closed by
 * vd_vdisk_runs_free (each once). */
int vd_vdisk_runs(struct vd_db *db, uint32_t id, int open_flags, struct vd_run **ret,
		      size_t *ret_n);
void vd_vdisk_runs_free(struct vd_run *runs, size_t n);

#endif
