/* Virtual disks: create (allocation policy), refresh, resize, delete, gc, scrubbing, and the
 * VD → pool-device mapping everyone else reads (device-mapper tables, vdloader --vd, import).
 * Every change is one database transaction; zeroing runs outside it and is recorded after.
 */
#ifndef XENVD_VDISK_H
#define XENVD_VDISK_H

#include "pool/db.h"

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

struct vd_gc_result {
	unsigned reclaimed_vdisks;
	uint64_t reclaimed_extents;
	uint64_t scrubbed_extents;   /* free extents zeroed */
	uint64_t unscrubbed_extents; /* free extents of --no-scrub devices: marked clean, not zeroed */
};
/* Reclaims every expired, unattached VD and zeroes dirty free extents ahead of time. */
int vd_gc(struct vd_db *db, vd_progress_fn progress, void *userdata, struct vd_gc_result *ret);

/* One run of a VD that is contiguous on one pool device. */
struct vd_segment {
	uint64_t vd_offset;  /* bytes from the VD's start */
	uint64_t length;     /* bytes */
	uint64_t dev_offset; /* bytes from the pool device's start (data offset included) */
	int64_t device_id;
	uint8_t device_uuid[16];
	char *device_path; /* last seen */
	int fd;		   /* open and label-checked when asked for, else -1; shared by a device's runs */
};
/* The VD's runs in VD order, adjacent extents coalesced. With open_flags >= 0, every pool device
 * is opened and its label checked (vd_pool_open_device); the fds are closed by
 * vd_segments_free (each once). */
int vd_vdisk_segments(struct vd_db *db, uint32_t id, int open_flags, struct vd_segment **ret,
		      size_t *ret_n);
void vd_segments_free(struct vd_segment *segs, size_t n);

#endif
