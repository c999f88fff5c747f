/* The pool database: the only file that calls SQLite. Owns the schema and its migrations,
 * transactions (BEGIN IMMEDIATE, retried while another process holds the write lock) and every
 * statement (bound parameters only). It knows nothing of devices, labels or device-mapper:
 * callers in pool.c / vdisk.c give it facts and take facts back.
 */
#ifndef XENVD_DB_H
#define XENVD_DB_H

#include "base/util.h"

#define VD_DB_SCHEMA_VERSION 4

struct vd_db;

enum vd_db_open_flags {
	VD_DB_CREATE = 1 << 0,	 /* create the file (and its directory) if missing */
	VD_DB_READONLY = 1 << 1, /* never write, never migrate */
};

/* Opens (and creates or migrates) the database. A database of a newer schema is refused with
 * -EPROTONOSUPPORT and a message naming both versions. The WAL stays small for every process:
 * closing never checkpoints (that would cost each short-lived process fsyncs); a commit that
 * leaves 1 MiB or more in the WAL checkpoints it and truncates it to zero, as does an open
 * that finds one that large. */
int vd_db_open(const char *path, unsigned flags, struct vd_db **ret);
void vd_db_close(struct vd_db *db);
static inline void vd_db_closep(struct vd_db **db)
{
	if (*db)
		vd_db_close(*db);
}
#define _cleanup_db_ _cleanup_(vd_db_closep)
/* The database file, or for a pool that carries its database, the locator naming its devices
 * (mdarea.h). */
const char *vd_db_path(const struct vd_db *db);
/* In a transaction that has written nothing yet: a second copy of the pool's metadata area
 * (mdarea.h's struct vd_md_copy), kept in step from now on. -EINVAL for a database file. */
struct vd_md_copy;
int vd_db_add_area_copy(struct vd_db *db, const struct vd_md_copy *where);
/* check --repair: a copy of the pool's metadata area that was left out when the database was
 * opened (blank, damaged or stale) is made again from the one that serves. 1 and its path in
 * *ret_path (malloc'd) when it was, 0 when there was nothing to repair. */
int vd_db_repair_area_copy(struct vd_db *db, char **ret_path);
/* What this connection cost the metadata area's devices (all zero for a database file).
 * Programs print it on stderr at exit when $XENVD_IO_STATS=1 (make bench-onpool). */
void vd_db_io_stats(const struct vd_db *db, uint64_t *ret_reads, uint64_t *ret_writes,
		    uint64_t *ret_flushes);
void vd_db_print_io_stats(const struct vd_db *db, FILE *f);
/* NULL for a database file; else where the pool's metadata area is ("/dev/sdb@1048576"). */
const char *vd_db_storage(const struct vd_db *db);
/* How long a write transaction waits for another writer (default 60 s); block-vd lowers it to
 * stay inside libxl's 40 s hotplug limit. */
void vd_db_set_wait(struct vd_db *db, int ms);
void vd_db_pool_uuid(const struct vd_db *db, uint8_t ret_uuid[16]);
/* A shared pool (DESIGN.md "Shared pools"): every lock of the database takes the pool's
 * sanlock metadata lease first, and keeps it, so that an operation of several transactions
 * costs one acquisition, until vd_db_close, or vd_db_idle between transactions (before slow
 * work that needs no database: device-mapper, xenstore, copying data). */
bool vd_db_shared(const struct vd_db *db);
/* The pool's lease area, as its metadata area header records it (false: not shared); set it
 * in a transaction (vd_pool_share). */
struct vd_md_lease;
bool vd_db_lease(const struct vd_db *db, struct vd_md_lease *ret);
int vd_db_set_lease(struct vd_db *db, const struct vd_md_lease *lease);
int vd_db_idle(struct vd_db *db);

/* One write transaction. begin waits (bounded, ~60 s) for other writers; every mutating call
 * below must run between begin and commit. rollback is a no-op outside a transaction. */
int vd_db_begin(struct vd_db *db);
/* Whether a transaction begun with vd_db_begin is open. */
bool vd_db_in_transaction(const struct vd_db *db);
int vd_db_commit(struct vd_db *db);
void vd_db_rollback(struct vd_db *db);
static inline void vd_db_rollbackp(struct vd_db **db)
{
	if (*db)
		vd_db_rollback(*db);
}
/* `_cleanup_txn_ struct vd_db *txn = NULL;` then vd_db_txn_begin(db, &txn): the transaction
 * rolls back when txn goes out of scope unless vd_db_commit(TAKE_PTR(txn)) ended it. */
#define _cleanup_txn_ _cleanup_(vd_db_rollbackp)
static inline int vd_db_txn_begin(struct vd_db *db, struct vd_db **ret_txn)
{
	int r = vd_db_begin(db);

	if (r == 0)
		*ret_txn = db;
	return r;
}

/* ---- pool devices ---- */
enum vd_device_state { VD_DEVICE_ACTIVE = 0, VD_DEVICE_REMOVING = 1 };

struct vd_pool_device {
	int64_t id;
	uint8_t uuid[16];
	char *path; /* last seen */
	uint64_t size;
	uint64_t extent_size;
	uint64_t data_offset;
	uint64_t extent_count;
	int64_t added;
	bool scrub; /* zero extents reused from another VD */
	enum vd_device_state state;
	uint64_t free_extents; /* filled by vd_db_device_count_free() only: O(free extents) */
	/* "wwn-0x5000c500a1b2c3d4" (a /dev/disk/by-id name), "loop:/srv/pool.img" (a loop
	 * device's backing file) or NULL: what pool.c checks before adopting a disk found by its
	 * label at another path. */
	char *identity;
};
void vd_pool_device_dispose(struct vd_pool_device *d);

/* Inserts the device and its extent_count free extents. */
int vd_db_device_add(struct vd_db *db, const struct vd_pool_device *d, int64_t *ret_id);
int vd_db_device_get(struct vd_db *db, int64_t id, struct vd_pool_device *ret);
int vd_db_device_find(struct vd_db *db, const uint8_t uuid[16], const char *path,
		      struct vd_pool_device *ret);
int vd_db_device_list(struct vd_db *db, struct vd_pool_device **ret, size_t *ret_n);
void vd_db_device_list_free(struct vd_pool_device *list, size_t n);
int vd_db_device_count_free(struct vd_db *db, struct vd_pool_device *list, size_t n);
int vd_db_device_set_path(struct vd_db *db, int64_t id, const char *path);
/* Gives up the device's extents from extent_count on (their rows go); -EBUSY naming the owners
 * when any is owned. */
int vd_db_device_shrink(struct vd_db *db, int64_t id, uint64_t extent_count);
/* Copies this database file, whole, into the empty metadata area the locator at
 * locator_path names (SQLite's backup API; the copy keeps a rollback journal). */
int vd_db_copy_to_pool(struct vd_db *db, const char *locator_path);
int vd_db_device_set_identity(struct vd_db *db, int64_t id, const char *identity);
/* Removes a device none of whose extents is owned; -EBUSY with the owners otherwise. */
int vd_db_device_remove(struct vd_db *db, int64_t id);

/* ---- virtual disks ---- */
enum vd_state { VD_LIVE = 0, VD_EXPIRED = 1, VD_DELETED = 2 };

struct vd_vdisk {
	uint32_t id;
	char *name;		/* NULL when unnamed */
	uint64_t size;		/* bytes, a whole number of extents */
	uint64_t extent_count;
	int64_t created;
	int64_t expires;	/* 0 = never */
	enum vd_state state;	/* as stored; see vd_vdisk_effective_state() in vdisk.h */
	bool needs_scrub;	/* some extents still hold another tenant's data */
	uint32_t attachments;	/* filled by get/list */
};
void vd_vdisk_dispose(struct vd_vdisk *v);

int vd_db_vdisk_insert(struct vd_db *db, const char *name, int64_t created, int64_t expires,
		       uint32_t *ret_id);
int vd_db_vdisk_get(struct vd_db *db, uint32_t id, struct vd_vdisk *ret);
int vd_db_vdisk_get_by_name(struct vd_db *db, const char *name, struct vd_vdisk *ret);
/* include_deleted: also VDs whose extents were reclaimed. */
int vd_db_vdisk_list(struct vd_db *db, bool include_deleted, struct vd_vdisk **ret, size_t *ret_n);
void vd_db_vdisk_list_free(struct vd_vdisk *list, size_t n);
int vd_db_vdisk_set_expiry(struct vd_db *db, uint32_t id, int64_t expires, enum vd_state state);
int vd_db_vdisk_set_scrubbed(struct vd_db *db, uint32_t id);

/* ---- extents ---- */
struct vd_extent {
	int64_t device_id;
	uint64_t ext_no;   /* on the device */
	uint64_t vd_index; /* position in the VD */
	bool dirty;	   /* holds another tenant's data */
};

/* Calls fn for each free extent, clean ones first, then by device and position (so adjacent
 * extents come in order), at most max of them; fn returns 1 to stop, < 0 to fail with that. */
int vd_db_extents_free_each(struct vd_db *db, size_t max,
			    int (*fn)(const struct vd_extent *e, void *userdata), void *userdata);
uint64_t vd_db_extents_free_count(struct vd_db *db);
/* Gives the picked extents to VD id at vd_index first_index.. in order. */
int vd_db_extents_assign(struct vd_db *db, uint32_t id, uint64_t first_index,
			 const struct vd_extent *ext, size_t n);
/* The VD's extents in VD order. */
int vd_db_extents_of(struct vd_db *db, uint32_t id, struct vd_extent **ret, size_t *ret_n);
/* Frees the VD's extents with vd_index >= from_index, marking them dirty. */
int vd_db_extents_release(struct vd_db *db, uint32_t id, uint64_t from_index);
/* Owner (0 = free) and dirty mark of one extent. */
int vd_db_extent_state(struct vd_db *db, int64_t device_id, uint64_t ext_no, uint32_t *ret_owner,
		       bool *ret_dirty);
/* Clears the dirty mark of one extent (after it was zeroed). */
int vd_db_extent_set_clean(struct vd_db *db, int64_t device_id, uint64_t ext_no);
/* Dirty free extents, at most max of them (for gc's scrub-ahead). */
int vd_db_extents_dirty_free(struct vd_db *db, size_t max, struct vd_extent **ret, size_t *ret_n);
int vd_db_vdisk_set_size(struct vd_db *db, uint32_t id, uint64_t extent_count, uint64_t size);

/* ---- attachments (written by block-vd) ----
 * Each row is one host's: host_id is a shared pool's host id (xenvd.conf host_id, 1-2000) or 0
 * for an unshared pool. The calls without a host id mean this host's rows (vd_db_set_host_id;
 * 0 until set); only the _all/_host calls see other hosts' rows. */
struct vd_attachment {
	uint32_t vd_id;
	char *backend_path; /* e.g. /local/domain/0/backend/vbd/5/51712: unique */
	uint32_t domid;	    /* frontend domain */
	uint32_t devid;
	char mode[4];	    /* "r", "w", "w!" */
	char *vdev;	    /* "xvdb" when known, else NULL */
	char *dm_name;	    /* "vd-7" */
	int64_t since;
	char *vm_uuid;	    /* the frontend's VM UUID when known, else NULL */
	uint32_t host_id;   /* the host it is on (0: unshared pool); set by get/list */
};
void vd_attachment_dispose(struct vd_attachment *a);
/* Which host "this host" is for the attachment calls below: the pool's shared host id, or 0
 * (the default) for an unshared pool. Set once, right after opening a shared pool. */
void vd_db_set_host_id(struct vd_db *db, uint32_t host_id);
uint32_t vd_db_host_id(const struct vd_db *db);
/* A shared pool's lease area (sanlock.h), NULL for an unshared pool. vd_db_open sets the host
 * id of a shared pool to the one this host joined its lockspace with. */
struct vd_sanlock_area;
const struct vd_sanlock_area *vd_db_lease_area(const struct vd_db *db);
/* Records a as this host's (a->host_id is ignored). */
int vd_db_attachment_add(struct vd_db *db, const struct vd_attachment *a);
/* This host's attachment at backend_path. -ENOENT when there is none (remove is idempotent at
 * the caller). */
int vd_db_attachment_remove(struct vd_db *db, const char *backend_path);
/* Host host_id's (check --repair of a dead host's stale rows). */
int vd_db_attachment_remove_host(struct vd_db *db, uint32_t host_id, const char *backend_path);
int vd_db_attachment_get(struct vd_db *db, const char *backend_path, struct vd_attachment *ret);
/* This host's attachments of VD vd_id (0: of every VD), by VD, then age. */
int vd_db_attachment_list(struct vd_db *db, uint32_t vd_id, struct vd_attachment **ret,
			  size_t *ret_n);
/* Every host's, by VD, host, then age: what sharing decisions and listings look at. */
int vd_db_attachment_list_all(struct vd_db *db, uint32_t vd_id, struct vd_attachment **ret,
			      size_t *ret_n);
void vd_db_attachment_list_free(struct vd_attachment *list, size_t n);

/* ---- consistency (xl-vd check) ---- */
/* Appends one line per broken invariant to *ret_report (malloc'd, NULL when all hold). */
int vd_db_check(struct vd_db *db, char **ret_report, unsigned *ret_problems);

#endif
