#include <ctype.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>

#include "base/error.h"
#include "pool/label.h"
#include "pool/lock.h"
#include "pool/pool.h"
#include "pool/vdisk.h"

/* gc zeroes free extents a batch at a time inside a write transaction, so no allocation can
 * take an extent while it is being zeroed; the batch bounds how long others wait. */
#define GC_BATCH_EXTENTS 16

struct device_table {
	struct vd_pool_device *dev;
	size_t n;
};

static void device_table_free(struct device_table *t)
{
	vd_db_device_list_free(t->dev, t->n);
	t->dev = NULL;
	t->n = 0;
}

static const struct vd_pool_device *device_by_id(const struct device_table *t, int64_t id)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->dev[i].id == id)
			return &t->dev[i];
	return NULL;
}

/* An extent number read from the database, checked before anything is mapped or zeroed at it: a
 * damaged row must not put the label, or another device's bytes, inside a VD. */
static int check_extent(const struct vd_pool_device *dev, uint64_t ext_no, uint32_t vd_id)
{
	char uuid[37], who[32] = "a free extent";

	if (dev->extent_size && dev->data_offset >= VD_LABEL_SIZE && dev->data_offset <= dev->size &&
	    dev->extent_count <= (dev->size - dev->data_offset) / dev->extent_size &&
	    ext_no < dev->extent_count)
		return 0;
	if (vd_id)
		snprintf(who, sizeof(who), "VD %" PRIu32, vd_id);
	vd_uuid_unparse(dev->uuid, uuid);
	return vd_err(-EBADMSG, "the database is damaged: %s has extent %" PRIu64 " of pool device "
				"%s (%s), which has %" PRIu64 " extents of %" PRIu64 " bytes from "
				"offset %" PRIu64 " in %" PRIu64 " bytes; nothing was mapped or zeroed: "
				"run 'xl-vd check' and restore the database from a backup",
		      who, ext_no, uuid, dev->path, dev->extent_count, dev->extent_size,
		      dev->data_offset, dev->size);
}

static bool valid_name(const char *name)
{
	size_t len = strlen(name);
	bool digits_only = true;

	if (len == 0 || len > 64 || strncmp(name, "vd:", 3) == 0)
		return false;
	for (const char *p = name; *p; p++) {
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_' && *p != '.')
			return false;
		digits_only &= isdigit((unsigned char)*p) != 0;
	}
	return !digits_only;
}

int vd_vdisk_lookup(struct vd_db *db, const char *which, struct vd_vdisk *ret)
{
	uint32_t id;

	if (vd_parse_id(which, &id) == 0 || vd_parse_target(which, &id) == 0)
		return vd_db_vdisk_get(db, id, ret);
	if (!valid_name(which))
		return vd_err(-EINVAL, "'%s' is neither a VD id (a positive number) nor a VD name",
			      which);
	return vd_db_vdisk_get_by_name(db, which, ret);
}

/* ---- what "expired" means ---- */

const char *vd_vdisk_state_name(enum vd_state s)
{
	switch (s) {
	case VD_LIVE:
		return "live";
	case VD_EXPIRED:
		return "expired";
	case VD_DELETED:
		return "deleted";
	}
	return "?";
}

enum vd_state vd_vdisk_effective_state(const struct vd_vdisk *v, int64_t now)
{
	if (v->state == VD_LIVE && v->expires && v->expires <= now)
		return VD_EXPIRED;
	return v->state;
}

static int cmp_expiry(const void *a, const void *b)
{
	const struct vd_vdisk *x = a, *y = b;

	if (x->expires != y->expires)
		return x->expires < y->expires ? -1 : 1;
	return (x->id > y->id) - (x->id < y->id);
}

/* Expired VDs without attachments, oldest expiry first: what gc and a short allocation may
 * reclaim. */
static int reclaimable(struct vd_db *db, int64_t now, uint32_t **ret_ids, size_t *ret_n)
{
	struct vd_vdisk *all = NULL;
	uint32_t *ids;
	size_t nall = 0, n = 0;
	int r;

	r = vd_db_vdisk_list(db, false, &all, &nall);
	if (r < 0)
		return r;
	if (nall)
		qsort(all, nall, sizeof(*all), cmp_expiry);
	ids = calloc(nall ? nall : 1, sizeof(*ids));
	if (!ids) {
		vd_db_vdisk_list_free(all, nall);
		return -ENOMEM;
	}
	for (size_t i = 0; i < nall; i++)
		if (!all[i].attachments && vd_vdisk_effective_state(&all[i], now) == VD_EXPIRED)
			ids[n++] = all[i].id;
	vd_db_vdisk_list_free(all, nall);
	*ret_ids = ids;
	*ret_n = n;
	return 0;
}

/* ---- how allocation chooses extents ---- */

/* How many free extents an allocation looks at when searching for a contiguous run. */
#define PICK_SCAN_LIMIT 65536

struct free_run {
	size_t first; /* index into the scanned rows */
	size_t len;
};

struct free_scan {
	uint64_t want;
	struct vd_extent *rows;
	size_t nrows, cap;
	struct free_run *runs;
	size_t nruns;
};

static int cmp_run_len_desc(const void *a, const void *b)
{
	const struct free_run *x = a, *y = b;

	if (x->len != y->len)
		return x->len < y->len ? 1 : -1;
	return (x->first > y->first) - (x->first < y->first);
}

static int scan_free_extent(const struct vd_extent *e, void *userdata)
{
	struct free_scan *sc = userdata;
	struct vd_extent *last = sc->nrows ? &sc->rows[sc->nrows - 1] : NULL;
	bool extends = last && last->device_id == e->device_id && last->dirty == e->dirty &&
		       last->ext_no + 1 == e->ext_no;

	if (sc->nrows == sc->cap) {
		size_t ncap = sc->cap ? sc->cap * 2 : 256;
		struct vd_extent *grown = realloc(sc->rows, ncap * sizeof(*sc->rows));

		if (!grown)
			return -ENOMEM;
		sc->rows = grown;
		sc->cap = ncap;
	}
	sc->rows[sc->nrows++] = *e;
	if (extends) {
		sc->runs[sc->nruns - 1].len++;
	} else {
		struct free_run *grown = realloc(sc->runs, (sc->nruns + 1) * sizeof(*sc->runs));

		if (!grown)
			return -ENOMEM;
		sc->runs = grown;
		sc->runs[sc->nruns++] = (struct free_run){ .first = sc->nrows - 1, .len = 1 };
	}
	/* First fit: stop as soon as one run is long enough. */
	return sc->runs[sc->nruns - 1].len >= sc->want ? 1 : 0;
}

/* Candidate free extents for an allocation of n: the first run of adjacent clean extents long
 * enough, else the longest runs first so the dm table stays short. Fewer than n when the pool
 * is short (ret_n says how many). */
static int pick_free(struct vd_db *db, uint64_t n, struct vd_extent **ret, size_t *ret_n)
{
	struct free_scan sc = { .want = n };
	struct vd_extent *picked;
	size_t got = 0;
	int r;

	if (n == 0) {
		*ret = NULL;
		*ret_n = 0;
		return 0;
	}
	r = vd_db_extents_free_each(db, n > PICK_SCAN_LIMIT ? (size_t)n : PICK_SCAN_LIMIT,
				    scan_free_extent, &sc);
	if (r < 0)
		goto out;
	picked = calloc(n < sc.nrows ? n : sc.nrows ? sc.nrows : 1, sizeof(*picked));
	if (!picked) {
		r = -ENOMEM;
		goto out;
	}
	if (sc.nruns && sc.runs[sc.nruns - 1].len >= n) {
		memcpy(picked, sc.rows + sc.runs[sc.nruns - 1].first, n * sizeof(*picked));
		got = n;
	} else {
		if (sc.nruns)
			qsort(sc.runs, sc.nruns, sizeof(*sc.runs), cmp_run_len_desc);
		for (size_t i = 0; i < sc.nruns && got < n; i++) {
			size_t take = sc.runs[i].len < n - got ? sc.runs[i].len : (size_t)(n - got);

			memcpy(picked + got, sc.rows + sc.runs[i].first, take * sizeof(*picked));
			got += take;
		}
	}
	*ret = picked;
	*ret_n = got;
out:
	free(sc.rows);
	free(sc.runs);
	return r;
}

/* Releases an expired, unattached VD's extents to the pool (marked dirty: they hold that
 * tenant's data until zeroed). Must run inside a transaction. */
static int reclaim_one(struct vd_db *db, uint32_t id)
{
	struct vd_vdisk v = { 0 };
	int r;

	r = vd_db_vdisk_get(db, id, &v);
	if (r < 0)
		return r;
	r = vd_db_extents_release(db, id, 0);
	if (r == 0)
		r = vd_db_vdisk_set_expiry(db, id, v.expires ? v.expires : vd_now(), VD_DELETED);
	vd_vdisk_dispose(&v);
	vd_debug("reclaimed VD %u", id);
	return r;
}

/* Takes n extents for VD id at first_index, reclaiming expired VDs oldest first when the free
 * extents are not enough. Inside a transaction. */
static int allocate(struct vd_db *db, const struct device_table *devs, uint32_t id,
		    uint64_t first_index, uint64_t n)
{
	_cleanup_free_ struct vd_extent *picked = NULL;
	_cleanup_free_ uint32_t *expired = NULL;
	size_t got = 0, nexpired = 0, next = 0;
	int r;

	for (;;) {
		free(picked);
		picked = NULL;
		r = pick_free(db, n, &picked, &got);
		if (r < 0)
			return r;
		if (got == n)
			break;
		if (!expired) {
			r = reclaimable(db, vd_now(), &expired, &nexpired);
			if (r < 0)
				return r;
		}
		if (next >= nexpired) {
			char need[32], have[32];
			uint64_t es = devs->dev[0].extent_size;

			return vd_err(-ENOSPC, "not enough space in the pool: %s needed, %s free "
					       "(%zu extents of %" PRIu64 " bytes); add a device with "
					       "'xl-vd format' or delete VDs and run 'xl-vd gc'",
				      vd_format_size(n * es, need, sizeof(need)),
				      vd_format_size(got * es, have, sizeof(have)), got, es);
		}
		/* Oldest-expired first, as the original Xen VDs did; one that is busy (its lock
		 * held by a map or attach in progress) is skipped. */
		int lock_fd = -EBADF;
		uint32_t victim = expired[next++];

		if (vd_lock_vdisk(vd_db_path(db), victim, VD_LOCK_NO_WAIT, &lock_fd) < 0) {
			vd_err_clear();
			continue;
		}
		r = reclaim_one(db, victim);
		/* Should the caller's transaction roll back, the VD stays expired without a lock
		 * file, and the next vd_lock_vdisk makes one. */
		if (r == 0)
			vd_lock_remove(vd_db_path(db), victim);
		close(lock_fd);
		if (r < 0)
			return r;
	}
	/* Extents of a pool opted out of scrubbing are handed out as they are. */
	for (size_t i = 0; i < got; i++) {
		const struct vd_pool_device *d = device_by_id(devs, picked[i].device_id);

		if (d && !d->scrub)
			picked[i].dirty = false;
	}
	return vd_db_extents_assign(db, id, first_index, picked, got);
}

/* One pool, one extent size (format refuses another): a VD's size is a whole number of extents.
 * Devices that disagree come from a damaged database. */
static int one_extent_size(struct vd_db *db, const struct device_table *ret)
{
	for (size_t i = 1; i < ret->n; i++)
		if (ret->dev[i].extent_size != ret->dev[0].extent_size) {
			char a[37], b[37];

			vd_uuid_unparse(ret->dev[0].uuid, a);
			vd_uuid_unparse(ret->dev[i].uuid, b);
			return vd_err(-EBADMSG, "the database %s is damaged: pool devices %s and %s "
						"have different extent sizes (%" PRIu64 " and %" PRIu64
						"), and a pool has one; run 'xl-vd check'",
				      vd_db_path(db), a, b, ret->dev[0].extent_size,
				      ret->dev[i].extent_size);
		}
	return 0;
}

static int pool_devices(struct vd_db *db, struct device_table *ret)
{
	int r = vd_db_device_list(db, &ret->dev, &ret->n);

	if (r < 0)
		return r;
	if (ret->n == 0)
		return vd_err(-ENOSPC, "the pool of %s has no devices; add one with "
				       "'xl-vd format DEVICE'", vd_db_path(db));
	return one_extent_size(db, ret);
}

static uint64_t extents_for(uint64_t size, uint64_t extent_size)
{
	return size / extent_size + (size % extent_size != 0);
}

/* A new VD row with its n extents, in one transaction. */
static int insert_vdisk(struct vd_db *db, const struct device_table *devs, const char *name,
			int64_t now, int64_t expires, uint64_t n, uint32_t *ret_id)
{
	_cleanup_txn_ struct vd_db *txn = NULL;
	uint64_t es = devs->dev[0].extent_size;
	uint32_t id;
	int r;

	r = vd_db_txn_begin(db, &txn);
	if (r < 0)
		return r;
	r = vd_db_vdisk_insert(db, name, now, expires, &id);
	if (r == 0)
		r = allocate(db, devs, id, 0, n);
	if (r == 0)
		r = vd_db_vdisk_set_size(db, id, n, n * es);
	if (r < 0)
		return r;
	r = vd_db_commit(TAKE_PTR(txn));
	if (r == 0)
		*ret_id = id;
	return r;
}

int vd_vdisk_create(struct vd_db *db, const struct vd_create_opts *opts, vd_progress_fn progress,
		    void *userdata, struct vd_vdisk *ret)
{
	struct device_table devs = { 0 };
	struct vd_vdisk v = { 0 };
	uint64_t n, es;
	uint32_t id = 0;
	int64_t now = vd_now();
	int r;

	if (opts->name && !valid_name(opts->name))
		return vd_err(-EINVAL, "VD name '%s' is invalid: use 1-64 letters, digits, '-', "
				       "'_' or '.', not only digits", opts->name);
	if (opts->size == 0)
		return vd_err(-EINVAL, "a VD needs a size greater than zero");
	if (opts->expire_seconds < 0)
		return vd_err(-EINVAL, "an expiry must be 0 (never) or a positive number of seconds");

	r = pool_devices(db, &devs);
	if (r < 0)
		goto out;
	es = devs.dev[0].extent_size;
	n = extents_for(opts->size, es);
	if (n > (UINT64_MAX / es))
		return vd_err(-EINVAL, "VD size %" PRIu64 " is too large", opts->size);

	r = insert_vdisk(db, &devs, opts->name, now,
			 opts->expire_seconds ? now + opts->expire_seconds : 0, n, &id);
	if (r < 0)
		goto out;

	r = vd_vdisk_scrub(db, id, progress, userdata);
	if (r < 0) {
		vd_err_prefix(r, "VD %u was created but zeroing its reused extents failed "
				 "(it stays unusable until 'xl-vd gc' finishes that)", id);
		goto out;
	}
	r = vd_db_vdisk_get(db, id, ret ? ret : &v);
out:
	vd_vdisk_dispose(&v);
	device_table_free(&devs);
	return r;
}

static int require_usable(const struct vd_vdisk *v, const char *action)
{
	if (v->state == VD_DELETED)
		return vd_err(-ENOENT, "VD %u was deleted and its extents reclaimed; it cannot be "
				       "%s", v->id, action);
	if (vd_vdisk_effective_state(v, vd_now()) == VD_EXPIRED)
		return vd_err(-ESTALE, "VD %u has expired; renew it with 'xl-vd refresh %u' "
				       "before it can be %s", v->id, v->id, action);
	return 0;
}

int vd_vdisk_refresh(struct vd_db *db, uint32_t id, int64_t expire_seconds)
{
	_cleanup_txn_ struct vd_db *txn = NULL;
	struct vd_vdisk v = { 0 };
	int64_t now = vd_now();
	int r;

	if (expire_seconds < 0)
		return vd_err(-EINVAL, "an expiry must be 0 (never) or a positive number of seconds");
	r = vd_db_txn_begin(db, &txn);
	if (r < 0)
		return r;
	r = vd_db_vdisk_get(db, id, &v);
	if (r == 0 && v.state == VD_DELETED)
		r = vd_err(-ENOENT, "VD %u was deleted and its extents reclaimed; it cannot be "
				    "refreshed: create a new VD", id);
	if (r == 0)
		r = vd_db_vdisk_set_expiry(db, id, expire_seconds ? now + expire_seconds : 0,
					   VD_LIVE);
	if (r == 0)
		r = vd_db_commit(TAKE_PTR(txn));
	vd_vdisk_dispose(&v);
	return r;
}

/* An online grow reloads the VD's dm device on this host only: another host of a shared pool
 * that has the VD attached would keep the old size under a guest told nothing. */
static int refuse_grow_elsewhere(struct vd_db *db, uint32_t id)
{
	struct vd_attachment *list = NULL;
	size_t n = 0;
	int r;

	r = vd_db_attachment_list_all(db, id, &list, &n);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n && r == 0; i++)
		if (list[i].host_id != vd_db_host_id(db))
			r = vd_err(-EBUSY,
				   "VD %" PRIu32 " is attached on host %" PRIu32 " (domain %" PRIu32
				   ", %s, mode %s); an online grow reloads the VD's device only on "
				   "this host: grow it on host %" PRIu32 ", or detach it there first "
				   "(if host %" PRIu32 " is dead, 'xl-vd check --repair' clears its "
				   "attachments)",
				   id, list[i].host_id, list[i].domid, list[i].vdev ? list[i].vdev : "-",
				   list[i].mode, list[i].host_id, list[i].host_id);
	vd_db_attachment_list_free(list, n);
	return r;
}

int vd_vdisk_resize(struct vd_db *db, uint32_t id, uint64_t size, bool force,
		    vd_progress_fn progress, void *userdata, struct vd_vdisk *ret)
{
	_cleanup_close_ int lock_fd = -EBADF;
	_cleanup_txn_ struct vd_db *txn = NULL;
	struct device_table devs = { 0 };
	struct vd_vdisk v = { 0 };
	uint64_t n, es;
	int r;

	if (size == 0)
		return vd_err(-EINVAL, "a VD needs a size greater than zero");
	r = vd_lock_vdisk(vd_db_path(db), id, VD_LOCK_WAIT_CHANGE_MS, &lock_fd);
	if (r < 0)
		return r;
	r = pool_devices(db, &devs);
	if (r < 0)
		goto out;
	es = devs.dev[0].extent_size;
	n = extents_for(size, es);

	r = vd_db_txn_begin(db, &txn);
	if (r < 0)
		goto out;
	r = vd_db_vdisk_get(db, id, &v);
	if (r == 0)
		r = require_usable(&v, "resized");
	if (r == 0 && n < v.extent_count) {
		char cur[32], want[32];

		if (!force)
			r = vd_err(-EPERM, "shrinking VD %u from %s to %s destroys the data at its "
					   "end; pass --force if that is intended", id,
				   vd_format_size(v.size, cur, sizeof(cur)),
				   vd_format_size(n * es, want, sizeof(want)));
		else if (v.attachments)
			r = vd_err(-EBUSY, "VD %u is attached (%u attachment(s)); detach it before "
					   "shrinking", id, v.attachments);
		else
			r = vd_db_extents_release(db, id, n);
	} else if (r == 0 && n > v.extent_count) {
		r = refuse_grow_elsewhere(db, id);
		if (r == 0)
			r = allocate(db, &devs, id, v.extent_count, n - v.extent_count);
	}
	if (r == 0)
		r = vd_db_vdisk_set_size(db, id, n, n * es);
	if (r < 0)
		goto out;
	r = vd_db_commit(TAKE_PTR(txn));
	if (r < 0)
		goto out;
	close(TAKE_FD(lock_fd)); /* scrub takes it again */
	r = vd_vdisk_scrub(db, id, progress, userdata);
	if (r == 0 && ret)
		r = vd_db_vdisk_get(db, id, ret);
out:
	vd_vdisk_dispose(&v);
	device_table_free(&devs);
	return r;
}

int vd_vdisk_delete(struct vd_db *db, uint32_t id, bool force)
{
	_cleanup_txn_ struct vd_db *txn = NULL;
	struct vd_vdisk v = { 0 };
	int r;

	r = vd_db_txn_begin(db, &txn);
	if (r < 0)
		return r;
	r = vd_db_vdisk_get(db, id, &v);
	if (r == 0 && v.state == VD_DELETED)
		r = vd_err(-ENOENT, "VD %u was already deleted", id);
	if (r == 0 && v.attachments && !force)
		r = vd_err(-EBUSY, "VD %u is attached (%u attachment(s), see 'xl-vd show %u'); "
				   "detach it first, or pass --force (it is then reclaimed after "
				   "the last detach)", id, v.attachments, id);
	if (r == 0)
		r = vd_db_vdisk_set_expiry(db, id, vd_now(), VD_EXPIRED);
	if (r == 0)
		r = vd_db_commit(TAKE_PTR(txn));
	vd_vdisk_dispose(&v);
	return r;
}

/* Opens every device of the table once. fds[i] for devs->dev[i], -1 when not needed. */
static int open_devices(struct vd_db *db, const struct device_table *devs, const bool *needed,
			int flags, int *fds)
{
	for (size_t i = 0; i < devs->n; i++) {
		fds[i] = -1;
		if (!needed[i])
			continue;
		int r = vd_pool_open_device(db, &devs->dev[i], flags, &fds[i]);

		if (r < 0) {
			for (size_t j = 0; j < i; j++)
				if (fds[j] >= 0)
					close(fds[j]);
			return r;
		}
	}
	return 0;
}

static void close_devices(const struct device_table *devs, int *fds)
{
	for (size_t i = 0; i < devs->n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

static size_t device_index(const struct device_table *t, int64_t id)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->dev[i].id == id)
			return i;
	return SIZE_MAX;
}

/* Zeroes the given extents and marks them clean, a batch per transaction. Inside each batch's
 * transaction an extent is zeroed only if it still belongs to owner (0: still free) and is still
 * dirty: an allocation may have taken a free extent since the list was read, and its new VD's
 * data must never be zeroed. */
static int zero_extents(struct vd_db *db, const struct device_table *devs, uint32_t owner,
			const struct vd_extent *ext, size_t n, uint64_t *done, uint64_t total,
			vd_progress_fn progress, void *userdata, struct vd_vdisk_gc_result *counts)
{
	_cleanup_free_ bool *needed = calloc(devs->n ? devs->n : 1, sizeof(bool));
	_cleanup_free_ int *fds = calloc(devs->n ? devs->n : 1, sizeof(int));
	int r;

	if (!needed || !fds)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		size_t d = device_index(devs, ext[i].device_id);

		if (d == SIZE_MAX)
			continue;
		r = check_extent(&devs->dev[d], ext[i].ext_no, owner);
		if (r < 0)
			return r;
		if (devs->dev[d].scrub)
			needed[d] = true;
	}
	r = open_devices(db, devs, needed, O_RDWR, fds);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n && r == 0; i += GC_BATCH_EXTENTS) {
		size_t end = i + GC_BATCH_EXTENTS < n ? i + GC_BATCH_EXTENTS : n;
		_cleanup_txn_ struct vd_db *txn = NULL;

		r = vd_db_txn_begin(db, &txn);
		if (r < 0)
			break;
		for (size_t k = i; k < end && r == 0; k++) {
			size_t d = device_index(devs, ext[k].device_id);
			const struct vd_pool_device *dev = d == SIZE_MAX ? NULL : &devs->dev[d];

			uint32_t now_owner;
			bool dirty;

			if (d == SIZE_MAX)
				continue;
			r = vd_db_extent_state(db, ext[k].device_id, ext[k].ext_no, &now_owner,
					       &dirty);
			if (r < 0)
				break;
			if (now_owner != owner || !dirty)
				continue;
			if (dev->scrub) {
				r = vd_pool_zero_range(fds[d],
						  dev->data_offset + ext[k].ext_no * dev->extent_size,
						  dev->extent_size);
				if (r < 0) {
					r = vd_err(r, "cannot zero extent %" PRIu64 " of %s: %m",
						   ext[k].ext_no, dev->path);
					break;
				}
				if (counts)
					counts->scrubbed_extents++;
			} else if (counts) {
				counts->unscrubbed_extents++;
			}
			r = vd_db_extent_set_clean(db, ext[k].device_id, ext[k].ext_no);
			*done += dev->extent_size;
		}
		if (r == 0)
			r = vd_db_commit(TAKE_PTR(txn));
		if (progress)
			progress(*done, total, userdata);
	}
	close_devices(devs, fds);
	return r;
}

int vd_vdisk_scrub(struct vd_db *db, uint32_t id, vd_progress_fn progress, void *userdata)
{
	struct device_table devs = { 0 };
	_cleanup_free_ struct vd_extent *ext = NULL;
	_cleanup_close_ int lock_fd = -EBADF;
	_cleanup_txn_ struct vd_db *txn = NULL;
	size_t n = 0, ndirty = 0;
	uint64_t done = 0, total = 0;
	struct vd_vdisk v = { 0 };
	int r;

	r = vd_lock_vdisk(vd_db_path(db), id, VD_LOCK_WAIT_CHANGE_MS, &lock_fd);
	if (r < 0)
		return r;
	r = vd_db_vdisk_get(db, id, &v);
	if (r < 0)
		return r;
	if (!v.needs_scrub)
		goto out;
	r = pool_devices(db, &devs);
	if (r == 0)
		r = vd_db_extents_of(db, id, &ext, &n);
	if (r < 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		if (!ext[i].dirty)
			continue;
		ext[ndirty++] = ext[i];
		total += devs.dev[0].extent_size;
	}
	r = zero_extents(db, &devs, id, ext, ndirty, &done, total, progress, userdata, NULL);
	if (r < 0)
		goto out;
	r = vd_db_txn_begin(db, &txn);
	if (r == 0)
		r = vd_db_vdisk_set_scrubbed(db, id);
	if (r == 0)
		r = vd_db_commit(TAKE_PTR(txn));
out:
	vd_vdisk_dispose(&v);
	device_table_free(&devs);
	return r;
}

int vd_vdisk_gc(struct vd_db *db, vd_progress_fn progress, void *userdata, struct vd_vdisk_gc_result *ret)
{
	_cleanup_free_ uint32_t *expired = NULL;
	struct vd_vdisk_gc_result res = { 0 };
	struct device_table devs = { 0 };
	struct vd_vdisk *all = NULL;
	size_t nexpired = 0, nall = 0;
	int r;

	/* 1. Reclaim expired, unattached VDs, each under its lock and in its own transaction. */
	r = reclaimable(db, vd_now(), &expired, &nexpired);
	if (r < 0)
		return r;
	for (size_t i = 0; i < nexpired; i++) {
		_cleanup_close_ int lock_fd = -EBADF;
		_cleanup_txn_ struct vd_db *txn = NULL;
		struct vd_vdisk v = { 0 };

		if (vd_lock_vdisk(vd_db_path(db), expired[i], VD_LOCK_NO_WAIT, &lock_fd) < 0) {
			vd_err_clear();
			continue; /* busy: next gc */
		}
		r = vd_db_txn_begin(db, &txn);
		if (r < 0)
			return r;
		/* Still expired and unattached? A refresh or an attach may have come first. */
		r = vd_db_vdisk_get(db, expired[i], &v);
		if (r == 0 && v.state != VD_DELETED && !v.attachments &&
		    vd_vdisk_effective_state(&v, vd_now()) == VD_EXPIRED) {
			r = reclaim_one(db, expired[i]);
			if (r == 0) {
				res.reclaimed_vdisks++;
				res.reclaimed_extents += v.extent_count;
			}
		}
		vd_vdisk_dispose(&v);
		if (r == 0)
			r = vd_db_commit(TAKE_PTR(txn));
		if (r < 0)
			return r;
		vd_lock_remove(vd_db_path(db), expired[i]);
	}

	/* 2. Finish VDs whose creation was interrupted before their extents were zeroed. */
	r = vd_db_vdisk_list(db, false, &all, &nall);
	if (r < 0)
		return r;
	for (size_t i = 0; i < nall && r == 0; i++)
		if (all[i].needs_scrub)
			r = vd_vdisk_scrub(db, all[i].id, NULL, NULL);
	vd_db_vdisk_list_free(all, nall);
	if (r < 0)
		return r;

	/* 3. Zero dirty free extents ahead of time, so creates need not wait for it. */
	r = vd_db_device_list(db, &devs.dev, &devs.n);
	if (r == 0)
		r = one_extent_size(db, &devs);
	if (r < 0) {
		device_table_free(&devs);
		return r;
	}
	uint64_t done = 0, total = 0;
	for (;;) {
		_cleanup_free_ struct vd_extent *dirty = NULL;
		size_t n = 0;

		r = vd_db_extents_dirty_free(db, 1024, &dirty, &n);
		if (r < 0 || n == 0)
			break;
		if (!total)
			total = (vd_db_extents_free_count(db)) * devs.dev[0].extent_size;
		/* Re-checked under each batch's transaction: skip those allocated meanwhile. */
		r = zero_extents(db, &devs, 0, dirty, n, &done, total, progress, userdata, &res);
		if (r < 0)
			break;
	}
	device_table_free(&devs);
	if (r == 0 && ret)
		*ret = res;
	return r;
}

int vd_vdisk_runs(struct vd_db *db, uint32_t id, int open_flags, struct vd_run **ret,
		      size_t *ret_n)
{
	struct device_table devs = { 0 };
	_cleanup_free_ struct vd_extent *ext = NULL;
	_cleanup_free_ bool *needed = NULL;
	_cleanup_free_ int *fds = NULL;
	struct vd_run *runs = NULL;
	struct vd_vdisk v = { 0 };
	size_t n = 0, nruns = 0;
	int r;

	r = vd_db_vdisk_get(db, id, &v);
	if (r < 0)
		return r;
	if (v.state == VD_DELETED) {
		r = vd_err(-ENOENT, "VD %u was deleted and its extents reclaimed", id);
		goto out;
	}
	if (v.needs_scrub) {
		r = vd_err(-EAGAIN, "VD %u still has extents holding a previous tenant's data (its "
				    "creation was interrupted); run 'xl-vd gc' to zero them", id);
		goto out;
	}
	r = vd_db_device_list(db, &devs.dev, &devs.n);
	if (r == 0)
		r = vd_db_extents_of(db, id, &ext, &n);
	if (r < 0)
		goto out;

	runs = calloc(n ? n : 1, sizeof(*runs));
	needed = calloc(devs.n ? devs.n : 1, sizeof(bool));
	fds = calloc(devs.n ? devs.n : 1, sizeof(int));
	if (!runs || !needed || !fds) {
		r = -ENOMEM;
		goto out;
	}
	uint64_t vd_offset = 0;
	for (size_t i = 0; i < n; i++) {
		size_t d = device_index(&devs, ext[i].device_id);
		const struct vd_pool_device *dev;
		uint64_t dev_offset;

		if (d == SIZE_MAX) {
			r = vd_err(-EBADMSG, "VD %u refers to pool device #%" PRId64 ", which is "
					     "not in the database; run 'xl-vd check'", id,
				   ext[i].device_id);
			goto out;
		}
		dev = &devs.dev[d];
		r = check_extent(dev, ext[i].ext_no, id);
		if (r < 0)
			goto out;
		needed[d] = true;
		dev_offset = dev->data_offset + ext[i].ext_no * dev->extent_size;
		if (nruns && runs[nruns - 1].device_id == dev->id &&
		    runs[nruns - 1].dev_offset + runs[nruns - 1].length == dev_offset) {
			runs[nruns - 1].length += dev->extent_size;
		} else {
			runs[nruns] = (struct vd_run){
				.vd_offset = vd_offset,
				.length = dev->extent_size,
				.dev_offset = dev_offset,
				.device_id = dev->id,
				.device_path = strdup(dev->path),
				.fd = -1,
			};
			memcpy(runs[nruns].device_uuid, dev->uuid, 16);
			if (!runs[nruns].device_path) {
				r = -ENOMEM;
				goto out;
			}
			nruns++;
		}
		vd_offset += dev->extent_size;
	}
	if (open_flags >= 0) {
		r = open_devices(db, &devs, needed, open_flags, fds);
		if (r < 0)
			goto out;
		for (size_t i = 0; i < nruns; i++)
			runs[i].fd = fds[device_index(&devs, runs[i].device_id)];
		/* The device as it is now, not as recorded: a shrunk disk or truncated file must
		 * not have a VD mapped past its end. */
		for (size_t i = 0; i < nruns; i++) {
			uint64_t size;

			r = vd_pool_device_size(runs[i].fd, &size);
			if (r < 0) {
				r = vd_err(r, "cannot read the size of pool device %s: %m",
					   runs[i].device_path);
				goto out;
			}
			if (runs[i].dev_offset + runs[i].length > size) {
				r = vd_err(-ENOSPC, "VD %u reaches byte %" PRIu64 " of pool device %s, "
						    "which now has only %" PRIu64 " bytes (shrunk or "
						    "truncated?); nothing was mapped: restore its size",
					   id, runs[i].dev_offset + runs[i].length,
					   runs[i].device_path, size);
				goto out;
			}
		}
	}
	*ret = TAKE_PTR(runs);
	*ret_n = nruns;
out:
	if (runs)
		vd_vdisk_runs_free(runs, nruns);
	vd_vdisk_dispose(&v);
	device_table_free(&devs);
	return r;
}

void vd_vdisk_runs_free(struct vd_run *runs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		/* A device's fd is shared by its runs: close it at its last use only. */
		bool later = false;

		for (size_t j = i + 1; j < n && runs[i].fd >= 0; j++)
			later |= runs[j].fd == runs[i].fd;
		if (runs[i].fd >= 0 && !later)
			close(runs[i].fd);
		free(runs[i].device_path);
	}
	free(runs);
}
