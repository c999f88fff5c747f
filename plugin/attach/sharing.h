/* The sharing policy of block-vd: may a VD be attached in a given mode while others use it?
 * Levels (xenvd.conf "sharing", enum vd_sharing_level): 0 = only readers may share, 1 = one
 * writer plus readers, 2 = anything; mode "w!" skips the check. Conflicts are found by extent
 * overlap against our attachments, against other vbd backends' physical-device and against dom0
 * mounts. A user in the requester's own domain, or in a domain of the requester's VM (the same
 * VM UUID, as a domain being migrated, saved or restored has: Xen's block-common.sh same_vm), is
 * the requester itself and never a conflict. Reads the database, xenstore (through xs.h) and
 * /proc, /sys; changes nothing.
 * Across the hosts of a shared pool the same rules apply through the attachment rows every host
 * records (its host id on each): a row of another host counts unless sanlock declares that host
 * dead (its rows are then stale: it was reset before sanlock said so); the same-VM rule there
 * goes by the VM UUID the row recorded (a migration's source), since the other host's domain
 * ids mean nothing here.
 */
#ifndef XENVD_SHARING_H
#define XENVD_SHARING_H

#include <sys/types.h>

#include "pool/db.h"
#include "attach/dmtable.h"
#include "attach/xs.h"
#include "base/config.h"

/* Canonical attachment modes (the char in vd_sharing_request.mode and vd_attach_run.mode). */
enum vd_sharing_mode {
	VD_MODE_READ = 'r',
	VD_MODE_WRITE = 'w',
	VD_MODE_FORCED = '!', /* "w!": writable, sharing not checked */
};

/* Canonical modes, as block-common.sh canonicalise_mode: no 'w' → 'r'; 'w' → 'w'; 'w' and '!'
 * → '!' (forced, no check). -EINVAL for an empty or NULL mode. */
int vd_sharing_mode(const char *mode, char *ret);

/* The mode as xenstore and the database spell it: "r", "w" or "w!". */
const char *vd_sharing_mode_string(char mode);

/* Whether a new user wanting `want` may join an existing one holding `have` at level. */
bool vd_sharing_compatible(int level, char want, char have, bool same_domain);

/* Host liveness in a shared pool's lockspace, as sanlock sees it: an ops seam so that tests can
 * declare a host dead or live. NULL ops: every host is live. */
struct vd_host_ops {
	/* *ret_dead: sanlock declares host host_id of db's pool dead (SANLK_HOST_DEAD). Live,
	 * failing, unknown and free are not dead: a host whose state is unknown may still write. */
	int (*host_dead)(struct vd_db *db, uint32_t host_id, bool *ret_dead);
};
/* Through the sanlock module (pool/sanlock.h). */
extern const struct vd_host_ops vd_host_sanlock_ops;
/* What it decides from sanlock's host list: whether host_id is listed and DEAD. */
struct vd_sanlock_host;
bool vd_sharing_host_listed_dead(const struct vd_sanlock_host *hosts, size_t n,
				 uint32_t host_id);
/* Whether host_id is dead according to ops (NULL: never). */
int vd_sharing_host_dead(const struct vd_host_ops *ops, struct vd_db *db, uint32_t host_id,
			 bool *ret_dead);

struct vd_sharing_request {
	uint32_t vd_id;
	char mode;		  /* canonical: 'r', 'w' or '!' */
	uint32_t domid;		  /* frontend domain of the new attachment */
	const char *backend_path; /* absolute; this attachment itself is never a conflict */
	int level;
	const struct vd_dm_table *table; /* the VD's sectors on its backing block devices */
	dev_t dm_dev;			 /* the VD's dm device if it exists, else 0 */
	/* The requester's VM (vd_xs_read_domain of domid); NULL when unknown: then only the
	 * same domain counts as the requester. */
	const struct vd_xs_domain *vm;
	const struct vd_host_ops *hosts; /* liveness of other hosts (NULL: all live) */
};

/* The same-VM rule. Whether a user in domain `domid` counts as the requester of req: its own
 * domain; or, when req->vm is known, a domain of the same VM, or one of the two is the other's
 * device-model stub domain (xenstore "target"); two domains that name no VM are not the same.
 * A domain whose xenstore entries are already gone (torn down before its backends) counts as
 * the requester, as in the stock script, unless recorded_vm (the VM UUID our attachment row
 * recorded for it, NULL if none) says it was another VM. xs NULL: only recorded_vm is used. */
int vd_sharing_same_vm(struct vd_xs *xs, const struct vd_sharing_request *req, uint32_t domid,
		       const char *recorded_vm, bool *ret);

/* 0, or -EBUSY with a message naming the other user (domain and device, or the mount point)
 * and the next step. Other errors when the check itself cannot run.
 *
 * Cost: the set of devices overlapping the VD is worked out once from /sys (the VD's devices,
 * their whole disks and overlapping partitions); one attachments query; /proc/self/mountinfo;
 * xenstore: the frontend domains' directories and the physical-device of every vbd that is
 * not ours, each group sent as one pipelined batch (vd_xs_read_each), so the wait does not
 * grow with the number of unrelated vbds; a matching device costs two more reads. No global
 * lock is taken: callers hold only the VD's own lock. */
int vd_sharing_check(struct vd_db *db, struct vd_xs *xs, const struct vd_sharing_request *req);

/* Only the other hosts' attachments, from the database alone: what vd_attach checks again
 * inside the transaction that records the new attachment, where the pool's metadata lease
 * orders it against every other host's (two hosts cannot both pass and both record). 0 or
 * -EBUSY naming the host, the domain and its VM. */
int vd_sharing_check_hosts(struct vd_db *db, const struct vd_sharing_request *req);

#endif
