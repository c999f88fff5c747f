/* The active-VD lease of a shared pool and the per-host process that holds it (xenvd-leased).
 * sanlock resets a host only when a process holding leases in a lockspace the host lost does
 * not let go in time; dm devices are kernel objects it cannot see. So while any dm device of a
 * shared pool exists on a host, that host's holder holds the pool's "active" lease (shared
 * mode, one per pool, pool/sanlock.h), acquired on its behalf by whoever creates the first dm
 * device (block-vd add, xl-vd map, vdloader) and released by whoever removes the last one. The
 * holder is registered so that sanlock cannot SIGKILL it; when the lockspace is lost it lets go
 * only of pools that have no dm device left, and the watchdog resets the host otherwise.
 * A host-local lock orders creators (shared) against the last remover's check (exclusive).
 * Calls libsanlock only through pool/sanlock.h and device-mapper only through dm.h's ops.
 */
#ifndef XENVD_HOLDER_H
#define XENVD_HOLDER_H

#include <sys/types.h>

#include "attach/dm.h"
#include "pool/sanlock.h"

/* Where the holder's pid file and the per-pool locks live: $XENVD_RUN_DIR, else /run/xenvd. */
const char *vd_holder_run_dir(void);

/* The running holder's pid (its pid file, locked by it while it lives): -ESRCH with a message
 * naming 'xl-vd lockspace-start' when none runs. */
int vd_holder_pid(pid_t *ret);

/* What attach and detach call (an ops table: unit tests count and fail these). */
struct vd_lease_ops {
	/* Before a dm device of the pool is created or reused: the holder holds the pool's
	 * active lease (acquired on its behalf unless it already does). *ret_lock_fd is the
	 * pool's host-local lock, shared; keep it until the dm device exists, then close it. */
	int (*hold)(const struct vd_sanlock_area *a, const uint8_t pool_uuid[16],
		    int *ret_lock_fd);
	/* After a dm device of the pool was removed: when none is left on this host, the
	 * holder's lease is released. *ret_released says whether it was. */
	int (*release_if_idle)(const struct vd_sanlock_area *a, const uint8_t pool_uuid[16],
			       const struct vd_dm_ops *dm, bool *ret_released);
};
/* Through the running holder and the sanlock daemon. */
extern const struct vd_lease_ops vd_lease_holder_ops;

/* Whether any dm device of the pool exists on this host (0/1), by dm->list; a kernel without
 * device-mapper has none. */
int vd_holder_pool_active(const uint8_t pool_uuid[16], const struct vd_dm_ops *dm);

/* The holder itself (xenvd-leased): takes the pid file (-EALREADY when another holder runs),
 * registers with sanlock (vd_sanlock_register_holder), takes again the leases of pools whose
 * dm devices exist (areas recorded by earlier holds), then until told to stop: every
 * interval_ms, on SIGHUP, and at once on SIGTERM from sanlock (its request when a lockspace is
 * lost or removed), releases the active lease of every pool that has no dm device left (the
 * backstop for a remover that died between its dm remove and its release). SIGTERM or SIGINT
 * from anyone else ends it (0) when it holds no lease; with leases held it logs which pools
 * keep it and carries on: if the lockspace is gone, the watchdog then resets the host. Returns
 * an error when sanlock closes its registration (the daemon stopped: the leases are gone). */
int vd_holder_run(const struct vd_dm_ops *dm, int interval_ms);

#endif
