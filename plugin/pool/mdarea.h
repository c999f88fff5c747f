/* The metadata area: where a pool that carries its own database keeps it, on its devices
 * (DESIGN.md "Where the metadata lives"). Owns the area's on-disk format (a header block, then
 * a database region and a journal region, each with a header recording its length and a
 * checksum), aligned O_DIRECT I/O to one or two copies of it, the I/O counters, and the
 * locator file that tells a dom0 where its pool's database lives. It knows nothing of SQLite
 * (db_vfs.c puts SQLite's files on its regions) nor of what the database says.
 */
#ifndef XENVD_MDAREA_H
#define XENVD_MDAREA_H

#include "base/util.h"

#define VD_MD_BLOCK 4096
/* A new pool's area starts here on its first device: right after the label's megabyte. */
#define VD_MD_OFFSET (1024 * 1024)

enum vd_md_region { VD_MD_DB = 0, VD_MD_JOURNAL = 1 };

struct vd_md_stats {
	uint64_t reads, writes, flushes;
};

/* Where one copy of the area lies. */
struct vd_md_copy {
	uint8_t device_uuid[16];
	char *path;	 /* last seen */
	uint64_t offset; /* bytes from the start of the device */
	uint64_t size;
	uint32_t copy;	 /* 1 or 2 */
	char *identity;	 /* the device's hardware identity (locator only; NULL: none known) */
};

struct vd_mdarea;

/* Bytes of area (a whole number of MiB) for a pool that may reach max_extents extents. */
uint64_t vd_mdarea_size_for(uint64_t max_extents);

/* Writes a fresh, empty area (header block with both regions at length 0) at offset of fd. */
int vd_mdarea_init(int fd, uint64_t offset, uint64_t size, const uint8_t pool_uuid[16],
		   uint32_t copy);

/* Whether path carries, at offset, the header of a metadata area of pool_uuid. */
bool vd_mdarea_probe(const char *path, uint64_t offset, const uint8_t pool_uuid[16]);

/* Opens the area copies (1 or 2 of them) and checks their headers. A copy that cannot be read,
 * or whose header is blank or fails its checksum, is refused with a message naming it; with
 * two copies, one bad copy is left out with a warning and the other serves. */
int vd_mdarea_open(const uint8_t pool_uuid[16], const struct vd_md_copy *copies, size_t n,
		   bool readonly, struct vd_mdarea **ret);
void vd_mdarea_close(struct vd_mdarea *a);
void vd_mdarea_pool_uuid(const struct vd_mdarea *a, uint8_t ret[16]);
/* How many copies serve (one may have been left out when opening), and whether copy `copy`
 * (1 or 2) is among them. */
size_t vd_mdarea_copies(const struct vd_mdarea *a);
bool vd_mdarea_has_copy(const struct vd_mdarea *a, uint32_t copy);
/* "/dev/sdb (1 MiB + 64 MiB)" for messages. */
const char *vd_mdarea_describe(const struct vd_mdarea *a);

/* Makes a second copy of the area at where (on another device): the database region as it is
 * now, an empty journal, flushed; from then on every write goes to both. Call it holding the
 * write lock with nothing written yet in the transaction. */
int vd_mdarea_add_copy(struct vd_mdarea *a, const struct vd_md_copy *where);

/* Whether two copies disagreed when opened (the newer serves reads); vd_mdarea_resync, holding
 * the write lock, copies the newer over the older if they still disagree. */
bool vd_mdarea_out_of_step(const struct vd_mdarea *a);
int vd_mdarea_resync(struct vd_mdarea *a);

/* A shared pool's lease area (DESIGN.md "Shared pools"), recorded in every copy's header. */
struct vd_md_lease {
	uint8_t device_uuid[16]; /* the pool device carrying it (that of the area's first copy) */
	uint64_t offset;	 /* bytes from the start of that device */
	uint64_t size;
	uint32_t sector_size;	 /* 512 or 4096, as the leases were written */
};
/* Whether the pool is shared, and where its lease area is. */
bool vd_mdarea_lease(const struct vd_mdarea *a, struct vd_md_lease *ret);
/* Records the lease area in every copy's header (flushed): from then on the pool is shared,
 * and the header is of a version an older xenvd refuses. Call it holding the write lock. */
int vd_mdarea_set_lease(struct vd_mdarea *a, const struct vd_md_lease *lease);

/* Re-reads the header block (after taking a lock: another process may have written). */
int vd_mdarea_refresh(struct vd_mdarea *a);
uint64_t vd_mdarea_length(const struct vd_mdarea *a, enum vd_md_region r);
uint64_t vd_mdarea_capacity(const struct vd_mdarea *a, enum vd_md_region r);
/* Reads [off, off+len) of a region; past its length reads zeroes and returns -ENODATA. */
int vd_mdarea_read(struct vd_mdarea *a, enum vd_md_region r, void *buf, size_t len,
		   uint64_t off);
/* Writes; the journal is buffered until sync, the database goes straight to the devices.
 * -ENOSPC past the region's capacity. */
int vd_mdarea_write(struct vd_mdarea *a, enum vd_md_region r, const void *buf, size_t len,
		    uint64_t off);
int vd_mdarea_truncate(struct vd_mdarea *a, enum vd_md_region r, uint64_t len);
/* Writes what is buffered and the header block if a length changed, then flushes. */
int vd_mdarea_sync(struct vd_mdarea *a, enum vd_md_region r);
const struct vd_md_stats *vd_mdarea_stats(const struct vd_mdarea *a);

/* Fault injection for the power-cut test: every device write after the first n is dropped
 * (and reported as done); -1 turns it off. */
void vd_mdarea_drop_writes_after(struct vd_mdarea *a, int64_t n);

/* ---- the locator: a small text file at the database path saying which devices carry the
 * pool's database. Any other file there is a database file. ---- */
#define VD_LOCATOR_MAGIC "# xenvd on-pool database locator v1"
bool vd_locator_is(const char *path);
struct vd_locator {
	uint8_t pool_uuid[16];
	struct vd_md_copy copies[2];
	size_t n;
};
void vd_locator_dispose(struct vd_locator *l);
int vd_locator_read(const char *path, struct vd_locator *ret);
/* Written beside path, synced, renamed over it (an existing database file is replaced). */
int vd_locator_write(const char *path, const struct vd_locator *l);

#endif
