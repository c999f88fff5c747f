/* A shared pool seen from one host (DESIGN.md "Shared pools"): joining and leaving its
 * lockspace under this host's host_id, and the hosts sanlock knows in it. Works from the
 * database locator and the metadata area header alone, so that a host that has not joined can
 * join; sanlock itself is sanlock.c's, the lease around transactions mdlock.c's.
 */
#ifndef XENVD_SHARED_H
#define XENVD_SHARED_H

#include "pool/db.h"
#include "pool/sanlock.h"

/* The lease area of the pool whose locator is db_path: -ENOENT with a message when the pool
 * is not shared, -EINVAL when db_path is a database file. */
int vd_shared_area(const char *db_path, struct vd_sanlock_area *ret);

/* host_id as xenvd.conf gives it: -ENOKEY with a message naming the key and the file when it
 * is not set. */
int vd_shared_check_host_id(int host_id);

/* Joins the pool's lockspace as host_id (waiting until joined unless !wait). Joining again
 * under the same id is a no-op. */
int vd_shared_join(const char *db_path, int host_id, uint32_t io_timeout, bool wait);

/* Leaves it (under whichever id this host is in it), refused (-EBUSY, naming them) while this
 * host has attachments of the pool, or while a process of this host holds one of its leases.
 * Leaving a lockspace not joined is a no-op. */
int vd_shared_leave(const char *db_path, int host_id);

struct vd_shared_host {
	struct vd_sanlock_host h;
	bool this_host;
	int64_t attached; /* attachments the host recorded in the pool's database */
};
/* Every host sanlock knows in the pool's lockspace (this host must have joined), by id. */
int vd_shared_hosts(const char *db_path, int host_id, struct vd_shared_host **ret,
		    size_t *ret_n);

#endif
