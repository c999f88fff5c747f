#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "base/error.h"
#include "attach/attach.h"
#include "pool/lock.h"
#include "attach/loop.h"
#include "pool/pool.h"
#include "attach/sharing.h"
#include "pool/vdisk.h"


void vd_attach_mark(const struct vd_attacher *h, const char *phase)
{
	if (h->phases)
		vd_phases_mark(h->phases, phase);
}

static int real_backing_device(int fd, const char *path, dev_t *ret_dev, int *ret_hold_fd)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return vd_err(-errno, "cannot stat pool device %s: %m", path);
	if (S_ISBLK(st.st_mode)) {
		*ret_dev = st.st_rdev;
		*ret_hold_fd = -1;
		return 0;
	}
	if (S_ISREG(st.st_mode))
		return vd_loop_attach(fd, path, (fcntl(fd, F_GETFL) & O_ACCMODE) == O_RDONLY,
				      ret_hold_fd, ret_dev);
	return vd_err(-ENOTBLK, "pool device %s is neither a block device nor a file", path);
}

const struct vd_attach_ops vd_attach_real_ops = {
	.dm = &vd_dm_libdevmapper_ops,
	.backing_device = real_backing_device,
	.hosts = &vd_host_sanlock_ops,
	.lease = &vd_lease_holder_ops,
};

const struct vd_sanlock_area *vd_attacher_lease_area(const struct vd_attacher *h)
{
	/* block-vd sets h->db after vd_attacher_init: the pool's own area, looked up late */
	return h->lease_area ? h->lease_area : h->db ? vd_db_lease_area(h->db) : NULL;
}

/* After this host's last dm device of a shared pool went: the holder lets go of the pool's
 * active-VD lease. Errors are logged: the detach itself is done. */
static void release_lease_if_idle(struct vd_attacher *h)
{
	const struct vd_sanlock_area *area = vd_attacher_lease_area(h);
	uint8_t pool[16];
	bool released = false;
	int r;

	if (!area || !h->ops->lease)
		return;
	vd_db_pool_uuid(h->db, pool);
	r = h->ops->lease->release_if_idle(area, pool, h->ops->dm, &released);
	if (r < 0)
		vd_warn_errno(r, "cannot release pool %s's active-VD lease (xenvd-leased releases "
				 "it within seconds when no dm device is left): %m",
			      area->lockspace);
}

void vd_attacher_init(struct vd_attacher *h, struct vd_db *db, struct vd_xs *xs)
{
	*h = (struct vd_attacher){
		.db = db,
		.xs = xs,
		.ops = &vd_attach_real_ops,
		.sharing_level = VD_SHARING_READERS,
		.lock_timeout_ms = VD_ATTACH_LOCK_TIMEOUT_MS,
		.domid = -1,
		.devid = -1,
	};
}



int vd_attach_forget(struct vd_db *db, const char *backend_path)
{
	_cleanup_txn_ struct vd_db *txn = NULL;
	int r;

	r = vd_db_txn_begin(db, &txn);
	if (r < 0)
		return r;
	r = vd_db_attachment_remove(db, backend_path);
	if (r < 0 && r != -ENOENT)
		return r;
	return vd_db_commit(TAKE_PTR(txn));
}

/* Reverse order of doing. Errors are logged: the caller's error is the one that matters. */
void vd_attach_undo(struct vd_attach_run *run)
{
	struct vd_attacher *h = run->h;
	int r;

	if (run->attachment_added) {
		r = vd_attach_forget(h->db, run->backend_path);
		if (r < 0)
			vd_warn_errno(r, "undo: cannot drop the attachment %s of VD %" PRIu32
					 ": %m", run->backend_path, run->vd_id);
		run->attachment_added = false;
	}
	if (run->created_dm) {
		r = h->ops->dm->remove(run->name, VD_DM_REMOVE_RETRY);
		if (r < 0 && r != -ENODEV)
			vd_warn_errno(r, "undo: cannot remove dm device %s: %m", run->name);
		run->created_dm = false;
	}
	if (run->reloaded) {
		r = h->ops->dm->reload(run->name, &run->old_table);
		if (r < 0)
			vd_warn_errno(r, "undo: cannot restore the previous table of %s: %m",
				      run->name);
		run->reloaded = false;
	}
	if (run->lease_held) {
		if (run->lease_lock_fd > 0)
			close(run->lease_lock_fd);
		run->lease_lock_fd = -1;
		release_lease_if_idle(h);
		run->lease_held = false;
	}
}

void vd_attach_run_done(struct vd_attach_run *run)
{
	vd_dmtable_dispose(&run->old_table);
	if (run->lease_lock_fd > 0)
		close(run->lease_lock_fd);
	run->lease_lock_fd = -1;
	if (run->lock_fd >= 0)
		close(run->lock_fd);
	run->lock_fd = -1;
}

int vd_attach_count_others(struct vd_db *db, uint32_t id, const char *backend_path,
				   size_t *ret)
{
	struct vd_attachment *list = NULL;
	size_t n = 0, others = 0;
	int r;

	r = vd_db_attachment_list(db, id, &list, &n);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++)
		if (!backend_path || strcmp(list[i].backend_path, backend_path) != 0)
			others++;
	vd_db_attachment_list_free(list, n);
	*ret = others;
	return 0;
}

/* The VD's runs → block devices → dm table. Loop devices bound here are kept alive by
 * hold_fds until the caller has a dm table over them. */
static int build_table(struct vd_attach_run *run, int **ret_hold_fds, size_t *ret_nhold,
		       struct vd_dm_table *ret)
{
	struct vd_attacher *h = run->h;
	struct vd_run *runs = NULL;
	int *hold = NULL;
	size_t n = 0, nhold = 0;
	int r;

	r = vd_vdisk_runs(h->db, run->vd_id, O_RDWR, &runs, &n);
	if (r < 0)
		return r;
	hold = calloc(n ? n : 1, sizeof(*hold));
	if (!hold) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		bool seen = false;

		/* vd_vdisk_runs shares one fd among a device's runs: resolve it once. */
		for (size_t j = 0; j < i; j++)
			if (runs[j].fd == runs[i].fd) {
				runs[i].dev = runs[j].dev;
				seen = true;
				break;
			}
		if (!seen) {
			int hold_fd = -1;

			r = h->ops->backing_device(runs[i].fd, runs[i].device_path, &runs[i].dev,
						   &hold_fd);
			if (r < 0)
				goto out;
			if (hold_fd >= 0)
				hold[nhold++] = hold_fd;
		}
	}
	r = vd_dmtable_build(runs, n, ret);
out:
	vd_vdisk_runs_free(runs, n);
	if (r < 0) {
		for (size_t i = 0; i < nhold; i++)
			close(hold[i]);
		free(hold);
		return r;
	}
	*ret_hold_fds = hold;
	*ret_nhold = nhold;
	return 0;
}

/* Attachments of VD id on every host of the pool, other than this host's backend_path. */
static int count_all_hosts(struct vd_db *db, uint32_t id, const char *backend_path, size_t *ret)
{
	struct vd_attachment *list = NULL;
	size_t n = 0, others = 0;
	int r;

	r = vd_db_attachment_list_all(db, id, &list, &n);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++)
		if (list[i].host_id != vd_db_host_id(db) ||
		    strcmp(list[i].backend_path, backend_path) != 0)
			others++;
	vd_db_attachment_list_free(list, n);
	*ret = others;
	return 0;
}

static int check_lease(struct vd_attacher *h, uint32_t id, const char *backend_path)
{
	struct vd_vdisk v = { 0 };
	enum vd_state state;
	size_t others = 0;
	int r;

	r = vd_db_vdisk_get(h->db, id, &v);
	if (r == -ENOENT)
		return vd_err(-ENOENT, "VD %" PRIu32 " does not exist; 'xl-vd list' shows the VDs",
			      id);
	if (r < 0)
		return r;
	state = vd_vdisk_effective_state(&v, vd_now());
	vd_vdisk_dispose(&v);
	if (state == VD_LIVE)
		return 0;
	/* An expired VD that is attached keeps working (its extents are never reclaimed while
	 * attached), so a second attachment (the bootloader's dom0 attach, then the guest's)
	 * is fine; a new first attachment would resurrect a lease that has run out. */
	r = count_all_hosts(h->db, id, backend_path, &others);
	if (r < 0)
		return r;
	if (others > 0 && state == VD_EXPIRED)
		return 0;
	return vd_err(state == VD_EXPIRED ? -EKEYEXPIRED : -ENOENT,
		      "VD %" PRIu32 " is %s and not attached anywhere; renew its lease first "
		      "('xl-vd refresh %" PRIu32 " --expire SECONDS|0')",
		      id, vd_vdisk_state_name(state), id);
}

int vd_attach(struct vd_attach_run *run)
{
	struct vd_attacher *h = run->h;
	const struct vd_dm_ops *dm = h->ops->dm;
	_cleanup_dmtable_ struct vd_dm_table table = { 0 };
	_cleanup_free_ int *hold = NULL;
	size_t nhold = 0, others = 0;
	struct vd_attachment existing = { 0 };
	struct vd_dm_info info;
	bool have_attachment = false;
	uint8_t pool_uuid[16];
	char uuid[VD_DM_UUID_MAX];
	int r;

	vd_dm_name(run->vd_id, run->name);
	vd_db_pool_uuid(h->db, pool_uuid);
	vd_dm_uuid(pool_uuid, run->vd_id, uuid);
	run->lease_lock_fd = -1; /* (runs are zeroed: 0 means none too) */

	r = vd_lock_vdisk(vd_db_path(h->db), run->vd_id, h->lock_timeout_ms, &run->lock_fd);
	if (r < 0)
		return r;
	vd_attach_mark(h, "lock");

	r = vd_db_attachment_get(h->db, run->backend_path, &existing);
	if (r == 0) {
		have_attachment = true;
		if (existing.vd_id != run->vd_id) {
			r = vd_err(-EEXIST, "%s is already recorded as an attachment of VD %" PRIu32
					    ", not %" PRIu32 "; run 'xl-vd check --repair'",
				   run->backend_path, existing.vd_id, run->vd_id);
			vd_attachment_dispose(&existing);
			return r;
		}
		vd_attachment_dispose(&existing);
	} else if (r != -ENOENT) {
		return r;
	}

	r = check_lease(h, run->vd_id, run->backend_path);
	if (r < 0)
		return r;
	vd_attach_mark(h, "lookup");

	r = build_table(run, &hold, &nhold, &table);
	if (r < 0)
		return r;
	vd_attach_mark(h, "segments");

	r = dm->info(run->name, &info);
	if (r < 0)
		goto out;
	vd_attach_mark(h, "dm-info");
	if (info.exists && strcmp(info.uuid, uuid) != 0) {
		r = vd_err(-EEXIST,
			   "a dm device named %s exists but is not this pool's VD %" PRIu32
			   " (its UUID is '%s'); remove or rename it ('dmsetup remove %s')",
			   run->name, run->vd_id, info.uuid, run->name);
		goto out;
	}

	struct vd_sharing_request req = {
		.vd_id = run->vd_id,
		.mode = run->mode,
		.domid = run->domid,
		.backend_path = run->backend_path,
		.level = h->sharing_level,
		.table = &table,
		.dm_dev = info.exists ? makedev(info.major, info.minor) : 0,
		.vm = run->frontend,
		.hosts = h->ops->hosts,
	};
	r = vd_sharing_check(h->db, h->xs, &req);
	if (r < 0)
		goto out;
	vd_attach_mark(h, "sharing");

	/* A shared pool: the holder holds the active-VD lease before a dm device of the pool
	 * exists here, so that losing the lockspace resets this host rather than leaving the
	 * device writing unseen. */
	if (vd_attacher_lease_area(h) && h->ops->lease) {
		r = h->ops->lease->hold(vd_attacher_lease_area(h), pool_uuid, &run->lease_lock_fd);
		if (r < 0)
			goto out;
		run->lease_held = true;
		vd_attach_mark(h, "lease");
	}

	if (info.exists) {
		struct vd_dm_table live = { 0 };

		r = vd_attach_count_others(h->db, run->vd_id, run->backend_path, &others);
		if (r < 0)
			goto out;
		r = dm->table(run->name, &live);
		if (r == 0 && vd_dmtable_equal(&live, &table)) {
			vd_dmtable_dispose(&live);
			vd_debug("dm device %s exists with the same table: shared", run->name);
		} else if ((r == 0 && (others == 0 || vd_dmtable_is_prefix(&live, &table))) ||
			   (r == -EMEDIUMTYPE && others == 0)) {
			/* Stale (nothing attached) or the VD grew: load the current table. */
			run->old_table = live;
			r = dm->reload(run->name, &table);
			if (r < 0)
				goto out;
			run->reloaded = run->old_table.n > 0;
			vd_info("dm device %s reloaded with the VD's current table", run->name);
		} else {
			vd_dmtable_dispose(&live);
			if (r == 0 || r == -EMEDIUMTYPE)
				r = vd_err(-EBUSY,
					   "dm device %s maps a different table than VD %" PRIu32
					   " has now, and %zu other attachment(s) use it; detach "
					   "them first or run 'xl-vd check'",
					   run->name, run->vd_id, others);
			goto out;
		}
	} else {
		r = dm->create(run->name, uuid, &table, &info);
		if (r < 0)
			goto out;
		run->created_dm = true;
		vd_info("created dm device %s (%u:%u, %zu target(s))", run->name, info.major,
			info.minor, table.n);
	}
	run->dev = makedev(info.major, info.minor);
	vd_attach_mark(h, "dm");
	/* the device exists: a last remover now sees it and keeps the lease */
	if (run->lease_lock_fd > 0)
		close(run->lease_lock_fd);
	run->lease_lock_fd = -1;

	if (!have_attachment) {
		struct vd_attachment a = {
			.vd_id = run->vd_id,
			.backend_path = (char *)run->backend_path,
			.domid = run->domid,
			.devid = run->devid,
			.vdev = (char *)run->vdev,
			.dm_name = run->name,
			.since = vd_now(),
			.vm_uuid = run->frontend ? (char *)run->frontend->vm_uuid : NULL,
		};
		_cleanup_txn_ struct vd_db *txn = NULL;

		snprintf(a.mode, sizeof(a.mode), "%s", run->mode_str);
		r = vd_db_txn_begin(h->db, &txn);
		if (r < 0)
			goto out;
		/* Another host may have recorded a writer since the check above; this
		 * transaction (under a shared pool's metadata lease) orders us after it. */
		if (vd_db_host_id(h->db) != 0) {
			r = vd_sharing_check_hosts(h->db, &req);
			if (r < 0)
				goto out;
		}
		r = vd_db_attachment_add(h->db, &a);
		if (r < 0)
			goto out;
		r = vd_db_commit(TAKE_PTR(txn));
		if (r < 0)
			goto out;
		run->attachment_added = true;
		vd_attach_mark(h, "record");
	}
	r = 0;
out:
	/* The dm table (if any) now holds the loop devices; our own references can go. */
	for (size_t i = 0; i < nhold; i++)
		close(hold[i]);
	if (r < 0)
		vd_attach_undo(run);
	return r;
}

/* Detach under the VD's lock: drops the attachment (if any) and removes the dm device when no
 * attachment is left. Missing pieces are fine (idempotent, half-done adds). */
int vd_detach(struct vd_attacher *h, uint32_t id, const char *backend_path)
{
	const struct vd_dm_ops *dm = h->ops->dm;
	_cleanup_close_ int lock_fd = -EBADF;
	struct vd_dm_info info;
	char name[VD_DM_NAME_MAX];
	size_t others = 0;
	uint32_t owner;
	int r;

	vd_dm_name(id, name);
	r = vd_lock_vdisk(vd_db_path(h->db), id, h->lock_timeout_ms, &lock_fd);
	if (r < 0)
		return r;
	vd_attach_mark(h, "lock");
	r = vd_attach_forget(h->db, backend_path);
	if (r < 0)
		return vd_err(r, "cannot drop the attachment %s of VD %" PRIu32 ": %m",
			      backend_path, id);
	vd_attach_mark(h, "record");
	r = vd_attach_count_others(h->db, id, NULL, &others);
	if (r < 0)
		return r;
	if (others > 0) {
		vd_info("VD %" PRIu32 " keeps dm device %s for %zu other attachment(s)", id, name,
			others);
		return 0;
	}
	r = dm->info(name, &info);
	if (r < 0)
		return r;
	if (!info.exists) {
		release_lease_if_idle(h);
		return 0;
	}
	if (vd_dm_uuid_parse(info.uuid, NULL, &owner) < 0 || owner != id) {
		vd_warn("dm device %s is not ours (UUID '%s'); leaving it alone", name, info.uuid);
		return 0;
	}
	r = dm->remove(name, VD_DM_REMOVE_RETRY);
	if (r < 0 && r != -ENODEV)
		return r;
	if (r == 0) {
		vd_attach_mark(h, "dm-remove");
		vd_info("removed dm device %s", name);
	}
	release_lease_if_idle(h);
	return 0;
}

int vd_attach_grow_live(struct vd_attacher *h, uint32_t vd_id, bool *ret_reloaded)
{
	const struct vd_dm_ops *dm = h->ops->dm;
	struct vd_attach_run run = { .h = h, .lock_fd = -1, .vd_id = vd_id };
	_cleanup_dmtable_ struct vd_dm_table table = { 0 }, live = { 0 };
	_cleanup_free_ int *hold = NULL;
	struct vd_dm_info info;
	size_t nhold = 0;
	int r;

	*ret_reloaded = false;
	vd_dm_name(vd_id, run.name);
	r = dm->info(run.name, &info);
	if (r < 0 || !info.exists)
		return r < 0 ? r : 0;
	r = vd_lock_vdisk(vd_db_path(h->db), vd_id, h->lock_timeout_ms, &run.lock_fd);
	if (r < 0)
		return r;
	r = build_table(&run, &hold, &nhold, &table);
	if (r < 0)
		goto out;
	r = dm->table(run.name, &live);
	if (r == -ENODEV) {
		r = 0; /* detached meanwhile */
		goto out;
	}
	if (r < 0)
		goto out;
	if (vd_dmtable_equal(&live, &table))
		goto out;
	if (!vd_dmtable_is_prefix(&live, &table)) {
		r = vd_err(-EBUSY,
			   "dm device %s maps a table that is not the start of VD %" PRIu32
			   "'s; run 'xl-vd check'",
			   run.name, vd_id);
		goto out;
	}
	r = dm->reload(run.name, &table);
	if (r == 0) {
		*ret_reloaded = true;
		vd_info("dm device %s reloaded: VD %" PRIu32 " grew to %" PRIu64 " sectors",
			run.name, vd_id, vd_dmtable_sectors(&table));
	}
out:
	for (size_t i = 0; i < nhold; i++)
		close(hold[i]);
	vd_attach_run_done(&run);
	return r;
}


int vd_attach_map(struct vd_attacher *h, uint32_t vd_id, const char *mode, char *ret_path,
		   size_t len)
{
	char key[64];
	char m;
	struct vd_attach_run run = { .h = h, .lock_fd = -1, .vd_id = vd_id };
	int r;

	if (vd_sharing_mode(mode, &m) < 0)
		return vd_err(-EINVAL, "mode '%s' is neither r nor w", mode ? mode : "");
	snprintf(key, sizeof(key), VD_MAP_BACKEND_PREFIX "%" PRIu32, vd_id);
	h->vd_id = vd_id;
	h->domid = 0;
	run.backend_path = key;
	run.mode = m;
	run.mode_str = vd_sharing_mode_string(m);
	r = vd_attach(&run);
	vd_attach_run_done(&run);
	if (r < 0)
		return r;
	vd_dm_path(run.name, ret_path, len);
	return 0;
}

int vd_attach_unmap(struct vd_attacher *h, uint32_t vd_id)
{
	char key[64];

	snprintf(key, sizeof(key), VD_MAP_BACKEND_PREFIX "%" PRIu32, vd_id);
	h->vd_id = vd_id;
	return vd_detach(h, vd_id, key);
}

