#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "error.h"
#include "hotplug.h"
#include "lock.h"
#include "loop.h"
#include "pool.h"
#include "sharing.h"
#include "vdisk.h"

#define DEFAULT_LOCK_TIMEOUT_MS 20000

static void mark(const struct vd_hotplug *h, const char *phase)
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

const struct vd_hotplug_ops vd_hotplug_real_ops = {
	.dm = &vd_dm_libdevmapper_ops,
	.backing_device = real_backing_device,
};

void vd_hotplug_init(struct vd_hotplug *h, struct vd_db *db, struct vd_xs *xs)
{
	*h = (struct vd_hotplug){
		.db = db,
		.xs = xs,
		.ops = &vd_hotplug_real_ops,
		.sharing_level = 0,
		.lock_timeout_ms = DEFAULT_LOCK_TIMEOUT_MS,
		.domid = -1,
		.devid = -1,
	};
}

/* ---- one attach, and exactly what it changed ---- */

struct attach_run {
	struct vd_hotplug *h;
	uint32_t vd_id;
	const char *backend_path;
	uint32_t domid, devid;
	const char *vdev;
	char mode;	      /* canonical 'r', 'w', '!' */
	const char *mode_str; /* as stored in the attachment */

	char name[VD_DM_NAME_MAX];
	dev_t dev;

	int lock_fd;
	bool created_dm;
	bool reloaded;
	struct vd_dm_table old_table;
	bool attachment_added;
};

static int db_remove_attachment(struct vd_db *db, const char *backend_path)
{
	_cleanup_txn_ struct vd_db *txn = NULL;
	int r;

	r = vd_db_begin(db);
	if (r < 0)
		return r;
	txn = db;
	r = vd_db_attachment_remove(db, backend_path);
	if (r < 0 && r != -ENOENT)
		return r;
	r = vd_db_commit(db);
	if (r < 0)
		return r;
	TAKE_PTR(txn);
	return 0;
}

/* Reverse order of doing. Errors are logged: the caller's error is the one that matters. */
static void attach_undo(struct attach_run *run)
{
	struct vd_hotplug *h = run->h;
	int r;

	if (run->attachment_added) {
		r = db_remove_attachment(h->db, run->backend_path);
		if (r < 0)
			vd_warn("undo: cannot drop the attachment %s of VD %" PRIu32 ": %s",
				run->backend_path, run->vd_id, strerror(-r));
		run->attachment_added = false;
	}
	if (run->created_dm) {
		r = h->ops->dm->remove(run->name, VD_DM_REMOVE_RETRY);
		if (r < 0 && r != -ENODEV)
			vd_warn("undo: cannot remove dm device %s: %s", run->name, strerror(-r));
		run->created_dm = false;
	}
	if (run->reloaded) {
		r = h->ops->dm->reload(run->name, &run->old_table);
		if (r < 0)
			vd_warn("undo: cannot restore the previous table of %s: %s", run->name,
				strerror(-r));
		run->reloaded = false;
	}
}

static void attach_run_done(struct attach_run *run)
{
	vd_dmtable_dispose(&run->old_table);
	if (run->lock_fd >= 0)
		close(run->lock_fd);
	run->lock_fd = -1;
}

static int count_other_attachments(struct vd_db *db, uint32_t id, const char *backend_path,
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

/* The VD's segments → block devices → dm table. Loop devices bound here are kept alive by
 * hold_fds until the caller has a dm table over them. */
static int build_table(struct attach_run *run, int **ret_hold_fds, size_t *ret_nhold,
		       struct vd_dm_table *ret)
{
	struct vd_hotplug *h = run->h;
	struct vd_segment *segs = NULL;
	_cleanup_free_ struct vd_dm_run *runs = NULL;
	int *hold = NULL;
	size_t n = 0, nhold = 0;
	int r;

	r = vd_vdisk_segments(h->db, run->vd_id, O_RDWR, &segs, &n);
	if (r < 0)
		return r;
	runs = calloc(n ? n : 1, sizeof(*runs));
	hold = calloc(n ? n : 1, sizeof(*hold));
	if (!runs || !hold) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		dev_t dev = 0;
		bool seen = false;

		/* vd_vdisk_segments shares one fd among a device's runs: resolve it once. */
		for (size_t j = 0; j < i; j++)
			if (segs[j].fd == segs[i].fd) {
				dev = runs[j].dev;
				seen = true;
				break;
			}
		if (!seen) {
			int hold_fd = -1;

			r = h->ops->backing_device(segs[i].fd, segs[i].device_path, &dev, &hold_fd);
			if (r < 0)
				goto out;
			if (hold_fd >= 0)
				hold[nhold++] = hold_fd;
		}
		runs[i] = (struct vd_dm_run){
			.vd_offset = segs[i].vd_offset,
			.length = segs[i].length,
			.dev_offset = segs[i].dev_offset,
			.dev = dev,
		};
	}
	r = vd_dmtable_build(runs, n, ret);
out:
	vd_segments_free(segs, n);
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

static int check_lease(struct vd_hotplug *h, uint32_t id, const char *backend_path)
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
	r = count_other_attachments(h->db, id, backend_path, &others);
	if (r < 0)
		return r;
	if (others > 0 && state == VD_EXPIRED)
		return 0;
	return vd_err(state == VD_EXPIRED ? -EKEYEXPIRED : -ENOENT,
		      "VD %" PRIu32 " is %s and not attached anywhere; renew its lease first "
		      "('xl-vd refresh %" PRIu32 " --expire SECONDS|0')",
		      id, vd_state_name(state), id);
}

static int attach(struct attach_run *run)
{
	struct vd_hotplug *h = run->h;
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

	r = vd_lock_vdisk(h->db, run->vd_id, h->lock_timeout_ms, &run->lock_fd);
	if (r < 0)
		return r;
	mark(h, "lock");

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
	mark(h, "lookup");

	r = build_table(run, &hold, &nhold, &table);
	if (r < 0)
		return r;
	mark(h, "segments");

	r = dm->info(run->name, &info);
	if (r < 0)
		goto out;
	mark(h, "dm-info");
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
	};
	r = vd_sharing_check(h->db, h->xs, &req);
	if (r < 0)
		goto out;
	mark(h, "sharing");

	if (info.exists) {
		struct vd_dm_table live = { 0 };

		r = count_other_attachments(h->db, run->vd_id, run->backend_path, &others);
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
	mark(h, "dm");

	if (!have_attachment) {
		struct vd_attachment a = {
			.vd_id = run->vd_id,
			.backend_path = (char *)run->backend_path,
			.domid = run->domid,
			.devid = run->devid,
			.vdev = (char *)run->vdev,
			.dm_name = run->name,
			.since = vd_now(),
		};
		_cleanup_txn_ struct vd_db *txn = NULL;

		snprintf(a.mode, sizeof(a.mode), "%s", run->mode_str);
		r = vd_db_begin(h->db);
		if (r < 0)
			goto out;
		txn = h->db;
		r = vd_db_attachment_add(h->db, &a);
		if (r < 0)
			goto out;
		r = vd_db_commit(h->db);
		if (r < 0)
			goto out;
		TAKE_PTR(txn);
		run->attachment_added = true;
		mark(h, "record");
	}
	r = 0;
out:
	/* The dm table (if any) now holds the loop devices; our own references can go. */
	for (size_t i = 0; i < nhold; i++)
		close(hold[i]);
	if (r < 0)
		attach_undo(run);
	return r;
}

/* Detach under the VD's lock: drops the attachment (if any) and removes the dm device when no
 * attachment is left. Missing pieces are fine (idempotent, half-done adds). */
static int detach(struct vd_hotplug *h, uint32_t id, const char *backend_path)
{
	const struct vd_dm_ops *dm = h->ops->dm;
	_cleanup_close_ int lock_fd = -EBADF;
	struct vd_dm_info info;
	char name[VD_DM_NAME_MAX];
	size_t others = 0;
	uint32_t owner;
	int r;

	vd_dm_name(id, name);
	r = vd_lock_vdisk(h->db, id, h->lock_timeout_ms, &lock_fd);
	if (r < 0)
		return r;
	mark(h, "lock");
	r = db_remove_attachment(h->db, backend_path);
	if (r < 0)
		return vd_err(r, "cannot drop the attachment %s of VD %" PRIu32 ": %s",
			      backend_path, id, strerror(-r));
	mark(h, "record");
	r = count_other_attachments(h->db, id, NULL, &others);
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
	if (!info.exists)
		return 0;
	if (vd_dm_uuid_parse(info.uuid, NULL, &owner) < 0 || owner != id) {
		vd_warn("dm device %s is not ours (UUID '%s'); leaving it alone", name, info.uuid);
		return 0;
	}
	r = dm->remove(name, VD_DM_REMOVE_RETRY);
	if (r == -ENODEV)
		return 0;
	if (r < 0)
		return r;
	mark(h, "dm-remove");
	vd_info("removed dm device %s", name);
	return 0;
}

int vd_hotplug_grow_live(struct vd_hotplug *h, uint32_t vd_id, bool *ret_reloaded)
{
	const struct vd_dm_ops *dm = h->ops->dm;
	struct attach_run run = { .h = h, .lock_fd = -1, .vd_id = vd_id };
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
	r = vd_lock_vdisk(h->db, vd_id, h->lock_timeout_ms, &run.lock_fd);
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
	attach_run_done(&run);
	return r;
}

/* ---- block-vd add / remove ---- */

static int parse_devid(const char *be, int64_t *ret)
{
	const char *slash = strrchr(be, '/');
	uint32_t devid;

	if (!slash || (strcmp(slash + 1, "0") != 0 && vd_parse_id(slash + 1, false, &devid) < 0))
		return -EINVAL;
	*ret = strcmp(slash + 1, "0") == 0 ? 0 : devid;
	return 0;
}

int vd_hotplug_parse_target(const char *params, uint32_t *ret_id)
{
	_cleanup_free_ char *copy = NULL;
	char *p, *end;

	if (!params)
		return vd_err(-EINVAL,
			      "the backend has no 'params' node: libxl did not pass a target");
	copy = strdup(params);
	if (!copy)
		return -ENOMEM;
	/* libxl keeps trailing whitespace of target= (it eats the rest of the spec) */
	for (p = copy; *p == ' ' || *p == '\t' || *p == '\n'; p++)
		;
	for (end = p + strlen(p);
	     end > p && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\n');)
		*--end = '\0';
	if (strncmp(p, "vd:", 3) != 0 || vd_parse_id(p + 3, false, ret_id) < 0)
		return vd_err(-EINVAL,
			      "target '%s' is not vd:<id>; write the disk as "
			      "'vdev=xvda,access=rw,script=block-vd,target=vd:<id>' (target= last)",
			      params);
	return 0;
}

static int fail_add(struct vd_hotplug *h, const char *be, int r)
{
	const char *msg = vd_errmsg();
	int w;

	vd_log(VD_LOG_ERR, "add failed: %s", msg);
	if (h->xs && be) {
		/* in use elsewhere: hotplug-status=busy, as the stock scripts' ebusy writes */
		w = r == -EBUSY ? vd_xs_write_busy(h->xs, be, msg)
				: vd_xs_write_error(h->xs, be, msg);
		if (w < 0)
			vd_log(VD_LOG_ERR, "cannot write hotplug-error to %s: %s", be,
			       strerror(-w));
	}
	return r;
}

int vd_hotplug_add(struct vd_hotplug *h, const char *xenbus_path)
{
	_cleanup_free_ char *be = NULL;
	struct vd_xs_backend b = { .frontend_id = -1 };
	struct attach_run run = { .h = h, .lock_fd = -1 };
	struct vd_attachment existing = { 0 };
	char path[64], mode;
	int r;

	if (!h->xs)
		return vd_err(-ENOTCONN, "block-vd add needs xenstore");
	if (!xenbus_path || !*xenbus_path)
		return vd_err(-EINVAL, "XENBUS_PATH is not set: block-vd is run by libxl");
	r = vd_xs_absolute(h->xs, xenbus_path, &be);
	if (r < 0)
		return r;
	if (parse_devid(be, &h->devid) < 0)
		return fail_add(h, be, vd_err(-EINVAL, "XENBUS_PATH %s does not end in a device "
						       "id", xenbus_path));

	r = vd_xs_read_backend(h->xs, be, &b);
	if (r < 0)
		return fail_add(h, be, r);
	h->domid = b.frontend_id;
	mark(h, "xs-read");
	r = vd_hotplug_parse_target(b.params, &run.vd_id);
	if (r < 0)
		goto fail;
	h->vd_id = run.vd_id;
	if (!b.mode || vd_sharing_mode(b.mode, &mode) < 0) {
		r = vd_err(-EINVAL, "the backend %s has no valid 'mode' node", be);
		goto fail;
	}
	if (b.frontend_id < 0 || b.frontend_id > UINT16_MAX) {
		r = vd_err(-EINVAL, "the backend %s has no valid 'frontend-id' node", be);
		goto fail;
	}

	/* Already done (libxl retried, or we are run twice): the stock script exits 0 too. */
	if (b.physical_device && vd_db_attachment_get(h->db, be, &existing) == 0) {
		bool same = existing.vd_id == run.vd_id;

		vd_attachment_dispose(&existing);
		if (same) {
			vd_info("already attached (physical-device %s)", b.physical_device);
			vd_xs_backend_dispose(&b);
			return 0;
		}
	}

	run.backend_path = be;
	run.domid = (uint32_t)b.frontend_id;
	run.devid = (uint32_t)h->devid;
	run.vdev = b.vdev;
	run.mode = mode;
	run.mode_str = mode == 'r' ? "r" : mode == 'w' ? "w" : "w!";

	r = attach(&run);
	if (r < 0)
		goto fail;
	r = vd_xs_write_connected(h->xs, be, run.dev, vd_dm_path(run.name, path, sizeof(path)));
	if (r < 0) {
		attach_undo(&run);
		goto fail;
	}
	mark(h, "xs-write");
	vd_info("attached %s as %s (%u:%u) for domain %" PRId64 ", mode %s", b.params, path,
		major(run.dev), minor(run.dev), b.frontend_id, run.mode_str);
	attach_run_done(&run);
	vd_xs_backend_dispose(&b);
	return 0;
fail:
	attach_run_done(&run);
	vd_xs_backend_dispose(&b);
	return fail_add(h, be, r);
}

int vd_hotplug_remove(struct vd_hotplug *h, const char *xenbus_path)
{
	_cleanup_free_ char *be = NULL;
	struct vd_xs_backend b = { .frontend_id = -1 };
	struct vd_attachment a = { 0 };
	uint32_t id = 0;
	int r;

	if (!h->xs)
		return vd_err(-ENOTCONN, "block-vd remove needs xenstore");
	if (!xenbus_path || !*xenbus_path)
		return vd_err(-EINVAL, "XENBUS_PATH is not set: block-vd is run by libxl");
	r = vd_xs_absolute(h->xs, xenbus_path, &be);
	if (r < 0)
		return r;
	(void)parse_devid(be, &h->devid);
	/* The backend may be half-written or half-gone: read what is there. */
	if (vd_xs_read_backend(h->xs, be, &b) == 0)
		h->domid = b.frontend_id;
	mark(h, "xs-read");

	r = vd_db_attachment_get(h->db, be, &a);
	if (r == 0) {
		id = a.vd_id;
		h->domid = a.domid;
		vd_attachment_dispose(&a);
	} else if (r == -ENOENT) {
		/* No attachment: an add that failed or was killed before recording one. Its dm
		 * device (if it got that far) goes unless another attachment uses it. */
		if (vd_hotplug_parse_target(b.params, &id) < 0) {
			vd_err_clear();
			vd_info("nothing to remove: no attachment and no vd: target");
			vd_xs_backend_dispose(&b);
			return 0;
		}
	} else {
		vd_xs_backend_dispose(&b);
		return r;
	}
	vd_xs_backend_dispose(&b);
	h->vd_id = id;

	r = detach(h, id, be);
	if (r < 0) {
		vd_log(VD_LOG_ERR, "remove: %s", vd_errmsg());
		return r;
	}
	vd_info("detached");
	return 0;
}

/* ---- xl-vd map / unmap ---- */

int vd_hotplug_map(struct vd_hotplug *h, uint32_t vd_id, const char *mode, char *ret_path,
		   size_t len)
{
	char key[64];
	char m;
	struct attach_run run = { .h = h, .lock_fd = -1, .vd_id = vd_id };
	int r;

	if (vd_sharing_mode(mode, &m) < 0)
		return vd_err(-EINVAL, "mode '%s' is neither r nor w", mode ? mode : "");
	snprintf(key, sizeof(key), VD_MAP_BACKEND_PREFIX "%" PRIu32, vd_id);
	h->vd_id = vd_id;
	h->domid = 0;
	run.backend_path = key;
	run.mode = m;
	run.mode_str = m == 'r' ? "r" : m == 'w' ? "w" : "w!";
	r = attach(&run);
	attach_run_done(&run);
	if (r < 0)
		return r;
	vd_dm_path(run.name, ret_path, len);
	return 0;
}

int vd_hotplug_unmap(struct vd_hotplug *h, uint32_t vd_id)
{
	char key[64];

	snprintf(key, sizeof(key), VD_MAP_BACKEND_PREFIX "%" PRIu32, vd_id);
	h->vd_id = vd_id;
	return detach(h, vd_id, key);
}

/* ---- xl-vd check: dm devices vs attachments vs xenstore ---- */

struct report {
	FILE *f;
	char *buf;
	size_t len;
	unsigned problems;
};

_printf_(2, 3) static void problem(struct report *rep, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(rep->f, fmt, ap);
	va_end(ap);
	fputc('\n', rep->f);
	rep->problems++;
}

static bool attachment_of(const struct vd_attachment *list, size_t n, uint32_t id)
{
	for (size_t i = 0; i < n; i++)
		if (list[i].vd_id == id)
			return true;
	return false;
}

static const struct vd_attachment *attachment_at(const struct vd_attachment *list, size_t n,
						  const char *be)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(list[i].backend_path, be) == 0)
			return &list[i];
	return NULL;
}

static void check_dm_devices(struct vd_db *db, const struct vd_hotplug_ops *ops,
			     const struct vd_attachment *att, size_t natt, bool repair,
			     struct report *rep)
{
	struct vd_dm_info *devs = NULL;
	size_t ndevs = 0;
	uint8_t pool[16], theirs[16];
	int r;

	vd_db_pool_uuid(db, pool);
	r = ops->dm->list(VD_DM_UUID_PREFIX, &devs, &ndevs);
	if (r < 0) {
		problem(rep, "cannot list dm devices: %s", vd_errmsg());
		return;
	}
	for (size_t i = 0; i < ndevs; i++) {
		const struct vd_dm_info *d = &devs[i];
		uint32_t id;

		if (vd_dm_uuid_parse(d->uuid, theirs, &id) < 0)
			continue;
		if (memcmp(theirs, pool, 16) != 0)
			continue; /* another pool's (another database on this host) */
		if (attachment_of(att, natt, id))
			continue;
		if (!repair) {
			problem(rep, "dm device %s (%u:%u) of VD %" PRIu32 " has no attachment "
				     "(leaked; open count %d); 'xl-vd check --repair' removes it",
				d->name, d->major, d->minor, id, d->open_count);
			continue;
		}
		if (d->open_count > 0) {
			_cleanup_free_ char *users = NULL;

			(void)vd_dm_describe_users(d->major, d->minor, &users);
			problem(rep, "dm device %s (%u:%u) of VD %" PRIu32 " has no attachment but "
				     "is open: %s; not removed",
				d->name, d->major, d->minor, id, users ? users : "?");
			continue;
		}
		r = ops->dm->remove(d->name, VD_DM_REMOVE_RETRY);
		if (r < 0)
			problem(rep,
				"dm device %s of VD %" PRIu32 " has no attachment; removing it "
				"failed: %s",
				d->name, id, vd_errmsg());
		else
			fprintf(rep->f, "repaired: removed leaked dm device %s of VD %" PRIu32 "\n",
				d->name, id);
	}
	free(devs);
}

static void check_attachments_live(struct vd_db *db, const struct vd_hotplug_ops *ops,
				   struct vd_xs *xs, const struct vd_attachment *att, size_t natt,
				   bool repair, struct report *rep)
{
	for (size_t i = 0; i < natt; i++) {
		const struct vd_attachment *a = &att[i];
		char name[VD_DM_NAME_MAX];
		struct vd_dm_info info;
		bool gone = false;

		vd_dm_name(a->vd_id, name);
		if (ops->dm->info(name, &info) == 0 && !info.exists)
			problem(rep,
				"attachment %s of VD %" PRIu32 " (domain %" PRIu32 ") has no dm "
				"device %s (orphan)",
				a->backend_path, a->vd_id, a->domid, name);
		if (!xs || a->backend_path[0] != '/')
			continue;

		_cleanup_free_ char *params_path = NULL, *params = NULL;
		uint32_t id;

		if (asprintf(&params_path, "%s/params", a->backend_path) < 0)
			continue;
		if (vd_xs_read(xs, params_path, &params) == -ENOENT) {
			gone = true;
		} else if (params) {
			char *p = params + strspn(params, " \t");

			if (strncmp(p, "vd:", 3) != 0 || vd_parse_id(strtok(p + 3, " \t\n"), false,
								    &id) < 0 ||
			    id != a->vd_id)
				problem(rep, "attachment %s says VD %" PRIu32 " but the backend's "
					     "params are '%s'",
					a->backend_path, a->vd_id, params);
		}
		if (!gone)
			continue;
		if (!repair) {
			problem(rep, "attachment %s of VD %" PRIu32 " (domain %" PRIu32 ") has no "
				     "xenstore backend any more (stale); 'xl-vd check --repair' "
				     "drops it",
				a->backend_path, a->vd_id, a->domid);
			continue;
		}
		if (db_remove_attachment(db, a->backend_path) < 0)
			problem(rep, "stale attachment %s of VD %" PRIu32 ": cannot drop it: %s",
				a->backend_path, a->vd_id, vd_errmsg());
		else
			fprintf(rep->f, "repaired: dropped stale attachment %s of VD %" PRIu32 "\n",
				a->backend_path, a->vd_id);
	}
}

static void check_backends_recorded(struct vd_xs *xs, const struct vd_attachment *att,
				    size_t natt, struct report *rep)
{
	char **be = NULL;
	size_t nbe = 0;

	if (vd_xs_list_vbd_backends(xs, &be, &nbe) < 0) {
		problem(rep, "cannot list vbd backends in xenstore: %s", vd_errmsg());
		return;
	}
	for (size_t i = 0; i < nbe; i++) {
		struct vd_xs_backend b = { .frontend_id = -1 };

		if (attachment_at(att, natt, be[i]))
			continue;
		if (vd_xs_read_backend(xs, be[i], &b) < 0)
			continue;
		if (b.params && strncmp(b.params, "vd:", 3) == 0 && b.physical_device)
			problem(rep,
				"backend %s (domain %" PRId64 ") uses %s through %s but has no "
				"attachment record",
				be[i], b.frontend_id, b.params, b.physical_device);
		vd_xs_backend_dispose(&b);
	}
	vd_xs_strv_free(be, nbe);
}

int vd_check_runtime_with(struct vd_db *db, const struct vd_hotplug_ops *ops, struct vd_xs *xs,
			  bool repair, char **ret_report, unsigned *ret_problems)
{
	struct report rep = { 0 };
	struct vd_attachment *att = NULL;
	size_t natt = 0;
	int r;

	rep.f = open_memstream(&rep.buf, &rep.len);
	if (!rep.f)
		return -ENOMEM;
	r = vd_db_attachment_list(db, 0, &att, &natt);
	if (r < 0) {
		fclose(rep.f);
		free(rep.buf);
		return r;
	}
	/* Attachments first: dropping stale ones may turn their dm device into a leak that the
	 * dm pass then removes in the same run. */
	check_attachments_live(db, ops, xs, att, natt, repair, &rep);
	if (repair) {
		vd_db_attachment_list_free(att, natt);
		att = NULL;
		natt = 0;
		r = vd_db_attachment_list(db, 0, &att, &natt);
		if (r < 0) {
			fclose(rep.f);
			free(rep.buf);
			return r;
		}
	}
	check_dm_devices(db, ops, att, natt, repair, &rep);
	if (xs)
		check_backends_recorded(xs, att, natt, &rep);
	vd_db_attachment_list_free(att, natt);
	if (fclose(rep.f) != 0) {
		free(rep.buf);
		return -ENOMEM;
	}
	if (rep.len == 0) {
		free(rep.buf);
		rep.buf = NULL;
	}
	*ret_report = rep.buf;
	*ret_problems = rep.problems;
	return 0;
}

int vd_check_runtime(struct vd_db *db, bool repair, char **ret_report, unsigned *ret_problems)
{
	_cleanup_xs_ struct vd_xs *xs = NULL;

	/* Without xenstored (not a Xen dom0, or xenstored down) only dm is compared. */
	if (vd_xs_open(NULL, &xs) < 0) {
		vd_err_clear();
		xs = NULL;
	}
	return vd_check_runtime_with(db, &vd_hotplug_real_ops, xs, repair, ret_report,
				     ret_problems);
}

/* ---- xl-vd import ---- */

#define IMPORT_CHUNK (1024 * 1024)

static int refuse_writable_attachments(struct vd_db *db, uint32_t id)
{
	struct vd_attachment *list = NULL;
	size_t n = 0;
	int r;

	r = vd_db_attachment_list(db, id, &list, &n);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n && r == 0; i++)
		if (strchr(list[i].mode, 'w'))
			r = vd_err(-EBUSY,
				   "VD %" PRIu32 " is attached writable to domain %" PRIu32
				   " (%s, %s); detach it (or 'xl-vd unmap %" PRIu32 "') first",
				   id, list[i].domid, list[i].vdev ? list[i].vdev : "-",
				   list[i].backend_path, id);
	vd_db_attachment_list_free(list, n);
	return r;
}

int vd_import_image(struct vd_db *db, uint32_t id, int image_fd,
		    void (*progress)(uint64_t done, uint64_t total, void *userdata), void *userdata)
{
	_cleanup_close_ int lock_fd = -EBADF;
	_cleanup_free_ uint8_t *buf = NULL;
	struct vd_segment *segs = NULL;
	struct vd_vdisk v = { 0 };
	uint64_t image_size, done = 0;
	size_t n = 0;
	int r;

	r = vd_lock_vdisk(db, id, 5000, &lock_fd);
	if (r < 0)
		return r;
	r = refuse_writable_attachments(db, id);
	if (r < 0)
		return r;
	r = vd_db_vdisk_get(db, id, &v);
	if (r < 0)
		return r == -ENOENT ? vd_err(r, "VD %" PRIu32 " does not exist", id) : r;
	r = vd_device_size(image_fd, &image_size);
	if (r < 0) {
		vd_vdisk_dispose(&v);
		return vd_err(r, "cannot size the image: %s", strerror(-r));
	}
	if (image_size > v.size) {
		char a[32], b[32];

		r = vd_err(-EFBIG,
			   "the image (%s) is larger than VD %" PRIu32 " (%s); grow it first "
			   "('xl-vd resize %" PRIu32 " SIZE')",
			   vd_format_size(image_size, a, sizeof(a)), id,
			   vd_format_size(v.size, b, sizeof(b)), id);
		vd_vdisk_dispose(&v);
		return r;
	}
	vd_vdisk_dispose(&v);

	buf = malloc(IMPORT_CHUNK);
	if (!buf)
		return -ENOMEM;
	r = vd_vdisk_segments(db, id, O_RDWR, &segs, &n);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n && r == 0 && done < image_size; i++) {
		const struct vd_segment *s = &segs[i];

		for (uint64_t off = 0; off < s->length && done < image_size;) {
			size_t len = IMPORT_CHUNK;

			if (len > s->length - off)
				len = (size_t)(s->length - off);
			if (len > image_size - done)
				len = (size_t)(image_size - done);
			r = vd_pread_all(image_fd, buf, len, s->vd_offset + off);
			if (r < 0) {
				r = vd_err(r, "cannot read the image at byte %" PRIu64 ": %s",
					   s->vd_offset + off, strerror(-r));
				break;
			}
			r = vd_pwrite_all(s->fd, buf, len, s->dev_offset + off);
			if (r < 0) {
				r = vd_err(r, "cannot write pool device %s at byte %" PRIu64 ": %s",
					   s->device_path, s->dev_offset + off, strerror(-r));
				break;
			}
			off += len;
			done += len;
			if (progress)
				progress(done, image_size, userdata);
		}
	}
	for (size_t i = 0; i < n && r == 0; i++)
		if (fdatasync(segs[i].fd) < 0)
			r = vd_err(-errno, "cannot flush pool device %s: %m", segs[i].device_path);
	vd_segments_free(segs, n);
	return r;
}
