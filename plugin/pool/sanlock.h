/* sanlock's boundary: the only file that calls libsanlock (the client library, talking to the
 * host's sanlock daemon). Owns the layout of a shared pool's lease area (a lockspace named by
 * the pool UUID, then paxos leases), joining and leaving, the host list, and leases held by this
 * process or on behalf of another. It knows nothing of pools or SQLite; sanlock's own return
 * codes are translated here to -errno with a message (vd_err) naming what to do.
 */
#ifndef XENVD_SANLOCK_H
#define XENVD_SANLOCK_H

#include <sys/types.h>

#include "base/util.h"

#define VD_SANLOCK_MAX_HOST_ID 2000
#define VD_SANLOCK_DEFAULT_IO_TIMEOUT 10
/* sanlock's resource and lockspace names: at most 48 bytes. */
#define VD_SANLOCK_NAME_MAX 48

/* The lease area is a row of slots, each one lease of `align` bytes: slot 0 the lockspace (one
 * delta lease per host id), slot 1 the paxos lease guarding the metadata, the rest free for
 * further resources (vd_sanlock_resource_format). */
enum {
	VD_SANLOCK_SLOT_LOCKSPACE = 0,
	VD_SANLOCK_SLOT_METADATA = 1,
	VD_SANLOCK_SLOTS = 16,
};
#define VD_SANLOCK_METADATA_RESOURCE "metadata"

struct vd_sanlock_area {
	char lockspace[VD_SANLOCK_NAME_MAX + 1]; /* the pool UUID, 32 hex digits */
	char pool[37];				   /* the pool UUID as messages print it */
	char path[1024];			   /* the device carrying the lease area */
	uint64_t offset;			   /* bytes from the start of the device */
	uint32_t sector_size;			   /* 512 or 4096 */
	uint32_t align;				   /* bytes per slot: 1 MiB (512) or 8 MiB (4k) */
};

/* Bytes per slot for a device of this logical sector size (2000 host ids fit either way):
 * 1 MiB for 512-byte sectors, 8 MiB for 4096; -EINVAL for any other size. */
int vd_sanlock_align_for(uint32_t sector_size, uint32_t *ret_align);
/* Fills a with the lease area of pool_uuid at offset of path. */
int vd_sanlock_area_init(struct vd_sanlock_area *a, const uint8_t pool_uuid[16], const char *path,
			 uint64_t offset, uint32_t sector_size);
static inline uint64_t vd_sanlock_area_size(const struct vd_sanlock_area *a)
{
	return (uint64_t)VD_SANLOCK_SLOTS * a->align;
}
static inline uint64_t vd_sanlock_slot_offset(const struct vd_sanlock_area *a, unsigned slot)
{
	return a->offset + (uint64_t)slot * a->align;
}

/* Whether the sanlock daemon answers (0), or -ECONNREFUSED/-ENOENT with a message. */
int vd_sanlock_daemon_check(void);

/* Writes a fresh lockspace (io_timeout recorded in it) and metadata lease through the daemon.
 * The area must not be in use by any host. */
int vd_sanlock_area_format(const struct vd_sanlock_area *a, uint32_t io_timeout);
/* Writes a fresh paxos lease named name in slot (2 .. VD_SANLOCK_SLOTS-1). */
int vd_sanlock_resource_format(const struct vd_sanlock_area *a, unsigned slot, const char *name);

/* Joining: 0 when joined (or, without wait, when the join has started); -EADDRINUSE when
 * another live host holds host_id (message names the id and xenvd.conf); -EINVAL for an id
 * out of 1..2000; -EEXIST when this host is already in the lockspace with another id. */
int vd_sanlock_join(const struct vd_sanlock_area *a, uint64_t host_id, uint32_t io_timeout,
		    bool wait);
int vd_sanlock_leave(const struct vd_sanlock_area *a, uint64_t host_id, bool wait);

enum vd_sanlock_join_state {
	VD_SANLOCK_NOT_JOINED = 0,
	VD_SANLOCK_JOINING,
	VD_SANLOCK_JOINED,
};
int vd_sanlock_join_state(const struct vd_sanlock_area *a, uint64_t host_id,
			  enum vd_sanlock_join_state *ret);
/* The host id under which this host is in the lockspace (0: it is not), and whether it is
 * still on its way in (joining: sanlock has not yet acquired its delta lease). */
int vd_sanlock_joined_host_id(const char *lockspace, uint64_t *ret_host_id, bool *ret_joining);

/* After an acquisition failed with -ENOTCONN: 0 when this host is in the lockspace after all
 * (waiting up to wait_s while a join is under way, as just after 'lockspace-start --no-wait'
 * at boot), else -ENOTCONN ("... has not joined its lockspace; run 'xl-vd lockspace-start'")
 * or -ETIMEDOUT. *ret_host_id (may be NULL): the id under which it is in. */
int vd_sanlock_check_joined(const struct vd_sanlock_area *a, unsigned wait_s,
			    uint64_t *ret_host_id);

enum vd_sanlock_host_state {
	VD_SANLOCK_HOST_UNKNOWN = 0,
	VD_SANLOCK_HOST_FREE,
	VD_SANLOCK_HOST_LIVE,
	VD_SANLOCK_HOST_FAIL,
	VD_SANLOCK_HOST_DEAD,
};
struct vd_sanlock_host {
	uint64_t host_id;
	uint64_t generation;
	uint64_t timestamp;
	uint32_t io_timeout;
	enum vd_sanlock_host_state state;
};
/* "live", "dead", "free", "fail", "unknown". */
const char *vd_sanlock_host_state_name(enum vd_sanlock_host_state s);
/* Every host sanlock knows in the lockspace (this host must have joined), by host id. */
int vd_sanlock_hosts(const struct vd_sanlock_area *a, struct vd_sanlock_host **ret, size_t *ret_n);

/* The metadata lease, exclusive, held by the calling process through its own registration
 * with the daemon: if the process dies, the daemon releases it. Without waiting: -EBUSY when
 * another process or host holds it; -ENOTCONN when this host has not joined the lockspace;
 * -ECONNREFUSED when no daemon answers. Every acquisition is counted (vd_sanlock_stats, and a
 * line "acquire <pid> <microseconds>" appended to $XENVD_LEASE_STATS when set). */
int vd_sanlock_md_acquire(const struct vd_sanlock_area *a);
int vd_sanlock_md_release(const struct vd_sanlock_area *a);

struct vd_sanlock_stats {
	uint64_t acquired;  /* successful acquisitions */
	uint64_t refused;   /* attempts refused as busy */
	uint64_t acquire_us; /* time spent in successful acquisitions */
};
const struct vd_sanlock_stats *vd_sanlock_stats(void);

/* Registers the calling process with the daemon (once per process); unkillable restricts
 * both SIGKILL and SIGTERM, which sanlock 3.8.5 answers with SIGKILL anyway: the active-VD
 * lease holder uses vd_sanlock_register_holder below instead. */
int vd_sanlock_register(bool unkillable);
/* A lease in slot of the area, held by pid (a process registered with the daemon; 0: the
 * calling process), shared or exclusive. Errors as vd_sanlock_md_acquire. Never waits: a lease
 * whose owner host is failing but not yet dead is -EBUSY until sanlock declares it dead. */
int vd_sanlock_acquire(const struct vd_sanlock_area *a, unsigned slot, const char *name,
		       bool shared, pid_t pid);
int vd_sanlock_release(const struct vd_sanlock_area *a, unsigned slot, const char *name,
		       pid_t pid);

/* ---- the active-VD lease and its holder (DESIGN.md "Shared pools": fencing) ----
 * One shared-mode lease per pool, "active" in VD_SANLOCK_SLOT_ACTIVE, held by each host's
 * holder process (xenvd-leased) for as long as any dm device of the pool exists on that host:
 * sanlock resets a host only when a process holding leases in a lockspace it lost does not let
 * go, and dm devices are invisible to it. */
#define VD_SANLOCK_SLOT_ACTIVE 2
#define VD_SANLOCK_ACTIVE_RESOURCE "active"

/* Registers the calling process (the holder) with the daemon for good and restricts it so
 * that sanlock does not SIGKILL it when a lockspace is lost or removed: sanlock then sends
 * SIGTERM, which the holder answers by releasing only what no dm device needs; a lease kept
 * keeps the lockspace, and wdmd's watchdog resets the host. SIGKILL only: sanlock 3.8.5 turns
 * a SIGTERM it may not send into SIGKILL, so restricting both would get the holder killed
 * (measured: tests/integration/holder_sanlock.sh). *ret_sock stays open for the process's life. */
int vd_sanlock_register_holder(int *ret_sock);

/* A lease sanlock says a process holds. */
struct vd_sanlock_lease {
	char lockspace[VD_SANLOCK_NAME_MAX + 1];
	char name[VD_SANLOCK_NAME_MAX + 1];
	char path[1024];
	uint64_t offset;
	bool shared;
};
/* Every lease pid holds (sanlock_inquire), as many times as it holds them: -ESRCH when pid is
 * not registered with the daemon. */
int vd_sanlock_leases_of(pid_t pid, struct vd_sanlock_lease **ret, size_t *ret_n);
/* How many times pid holds lease name of the area (a shared lease acquired twice is held
 * twice: acquire only when this says 0). */
int vd_sanlock_held_count(const struct vd_sanlock_area *a, const char *name, pid_t pid,
			  unsigned *ret);
/* Releases a lease pid holds, as vd_sanlock_leases_of named it. */
int vd_sanlock_release_lease(const struct vd_sanlock_lease *l, pid_t pid);

#endif
