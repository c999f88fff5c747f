#include <inttypes.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "error.h"
#include "sharing.h"

int vd_sharing_mode(const char *mode, char *ret)
{
	if (!mode || !*mode)
		return -EINVAL;
	if (!strchr(mode, 'w'))
		*ret = 'r';
	else if (!strchr(mode, '!'))
		*ret = 'w';
	else
		*ret = '!';
	return 0;
}

bool vd_sharing_compatible(int level, char want, char have, bool same_domain)
{
	if (want == '!' || level >= 2 || same_domain)
		return true;
	if (have == '!')
		have = 'w';
	if (level <= 0)
		return want == 'r' && have == 'r';
	/* level 1: one writer, any number of readers */
	return !(want == 'w' && have == 'w');
}

static const char *mode_word(char m)
{
	return m == 'r' ? "read-only" : "writable";
}

/* ---- block device topology from /sys ---- */

static int read_sys_u64(dev_t dev, const char *attr, uint64_t *ret)
{
	char path[128], buf[64];
	FILE *f;
	int ok;

	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/%s", major(dev), minor(dev), attr);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	ok = fgets(buf, sizeof(buf), f) != NULL;
	fclose(f);
	if (!ok || sscanf(buf, "%" SCNu64, ret) != 1)
		return -EINVAL;
	return 0;
}

/* A partition's whole disk and its start (sectors); -ENOENT when dev is no partition. */
static int partition_of(dev_t dev, dev_t *ret_disk, uint64_t *ret_start, uint64_t *ret_len)
{
	char path[128], buf[32];
	unsigned maj, min;
	FILE *f;
	int ok;

	if (read_sys_u64(dev, "partition", &(uint64_t){ 0 }) < 0)
		return -ENOENT;
	if (read_sys_u64(dev, "start", ret_start) < 0 || read_sys_u64(dev, "size", ret_len) < 0)
		return -EIO;
	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/../dev", major(dev), minor(dev));
	f = fopen(path, "re");
	if (!f)
		return -errno;
	ok = fgets(buf, sizeof(buf), f) != NULL;
	fclose(f);
	if (!ok || sscanf(buf, "%u:%u", &maj, &min) != 2)
		return -EINVAL;
	*ret_disk = makedev(maj, min);
	return 0;
}

/* The backing file of a loop device (st_dev/st_ino); -ENOENT when dev is not a bound loop. */
static int loop_backing(dev_t dev, struct stat *ret)
{
	char path[128], file[4096];
	FILE *f;
	int ok;

	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/loop/backing_file", major(dev),
		 minor(dev));
	f = fopen(path, "re");
	if (!f)
		return -ENOENT;
	ok = fgets(file, sizeof(file), f) != NULL;
	fclose(f);
	if (!ok)
		return -ENOENT;
	file[strcspn(file, "\n")] = '\0';
	return stat(file, ret) < 0 ? -errno : 0;
}

/* What /sys says about the block devices the VD's table uses, read once per check. */
struct our_device {
	dev_t dev;
	bool is_partition;
	dev_t disk;
	uint64_t start, len;
	bool is_loop;
	struct stat file;
};

struct topology {
	const struct vd_sharing_request *req;
	struct our_device devs[16];
	size_t n;
};

static void topology_init(struct topology *topo, const struct vd_sharing_request *req)
{
	topo->req = req;
	topo->n = 0;
	for (size_t i = 0; i < req->table->n && topo->n < ARRAY_SIZE(topo->devs); i++) {
		dev_t dev = req->table->targets[i].dev;
		struct our_device *d;
		bool seen = false;

		for (size_t j = 0; j < topo->n; j++)
			seen = seen || topo->devs[j].dev == dev;
		if (seen)
			continue;
		d = &topo->devs[topo->n++];
		*d = (struct our_device){ .dev = dev };
		d->is_partition = partition_of(dev, &d->disk, &d->start, &d->len) == 0;
		d->is_loop = loop_backing(dev, &d->file) == 0;
	}
}

static bool overlaps(const struct topology *topo, dev_t dev)
{
	const struct vd_sharing_request *req = topo->req;
	dev_t disk;
	uint64_t start, len;
	struct stat file;
	bool checked_loop = false, is_loop = false;

	if (dev == 0)
		return false;
	if (req->dm_dev && dev == req->dm_dev)
		return true;
	if (vd_dmtable_uses(req->table, dev, 0, UINT64_MAX / 2))
		return true;
	/* dev is a partition of a disk the VD lives on, covering some of its sectors */
	if (partition_of(dev, &disk, &start, &len) == 0 &&
	    vd_dmtable_uses(req->table, disk, start, len))
		return true;
	for (size_t i = 0; i < topo->n; i++) {
		const struct our_device *d = &topo->devs[i];

		/* dev is the whole disk of a partition the VD lives on */
		if (d->is_partition && d->disk == dev)
			return true;
		/* dev is another loop device over the same file as one of ours */
		if (d->is_loop) {
			if (!checked_loop) {
				is_loop = loop_backing(dev, &file) == 0;
				checked_loop = true;
			}
			if (is_loop && file.st_dev == d->file.st_dev &&
			    file.st_ino == d->file.st_ino)
				return true;
		}
	}
	return false;
}

bool vd_sharing_device_overlaps(const struct vd_sharing_request *req, dev_t dev)
{
	struct topology topo;

	topology_init(&topo, req);
	return overlaps(&topo, dev);
}

/* ---- the three kinds of other users ---- */

static int check_attachments(struct vd_db *db, const struct vd_sharing_request *req)
{
	struct vd_attachment *list = NULL;
	size_t n = 0;
	int r;

	/* Extents have exactly one owner (db invariant, `xl-vd check`), so only attachments of
	 * this same VD can overlap it; those overlap it completely. */
	r = vd_db_attachment_list(db, req->vd_id, &list, &n);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n && r == 0; i++) {
		const struct vd_attachment *a = &list[i];
		char have;

		if (req->backend_path && strcmp(a->backend_path, req->backend_path) == 0)
			continue;
		if (vd_sharing_mode(a->mode, &have) < 0)
			have = 'w';
		if (vd_sharing_compatible(req->level, req->mode, have, a->domid == req->domid))
			continue;
		r = vd_err(-EBUSY,
			   "VD %" PRIu32 " is already attached %s to domain %" PRIu32
			   " (%s, %s); sharing level %d does not allow another %s user: detach it "
			   "there first, or attach read-only",
			   req->vd_id, mode_word(have), a->domid, a->vdev ? a->vdev : "-",
			   a->backend_path, req->level, mode_word(req->mode));
	}
	vd_db_attachment_list_free(list, n);
	return r;
}

static int check_mounts(const struct topology *topo)
{
	const struct vd_sharing_request *req = topo->req;
	_cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
	char *line = NULL;
	size_t cap = 0;
	int r = 0;

	if (!f)
		return 0; /* no /proc: nothing to compare against */
	while (r == 0 && getline(&line, &cap, f) > 0) {
		unsigned maj, min;
		char mnt[1024], opts[512];

		/* 36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue */
		if (sscanf(line, "%*u %*u %u:%u %*s %1023s %511s", &maj, &min, mnt, opts) != 4)
			continue;
		if (maj == 0 || !overlaps(topo, makedev(maj, min)))
			continue;
		char have = (strncmp(opts, "ro", 2) == 0 && (opts[2] == ',' || opts[2] == '\0'))
				    ? 'r'
				    : 'w';

		/* A mount is a dom0 user even for a dom0 attach: it is not a Xen backend. */
		if (vd_sharing_compatible(req->level, req->mode, have, false))
			continue;
		r = vd_err(-EBUSY,
			   "VD %" PRIu32 " overlaps device %u:%u mounted %s on %s in dom0; unmount "
			   "it first",
			   req->vd_id, maj, min, have == 'r' ? "read-only" : "read-write", mnt);
	}
	free(line);
	return r;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int check_backends(struct vd_db *db, struct vd_xs *xs, const struct topology *topo)
{
	const struct vd_sharing_request *req = topo->req;
	struct vd_attachment *ours = NULL;
	size_t nours = 0, nbe = 0;
	char **be = NULL;
	_cleanup_free_ char **known = NULL;
	int r;

	/* Our own backends are judged by check_attachments(); everything else that xenstore
	 * knows is judged by the device it names. */
	r = vd_db_attachment_list(db, 0, &ours, &nours);
	if (r < 0)
		return r;
	known = calloc(nours ? nours : 1, sizeof(*known));
	if (!known) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < nours; i++)
		known[i] = ours[i].backend_path;
	qsort(known, nours, sizeof(*known), cmp_str);

	r = vd_xs_list_vbd_backends(xs, &be, &nbe);
	if (r < 0)
		goto out;
	for (size_t i = 0; i < nbe && r == 0; i++) {
		_cleanup_free_ char *pd = NULL, *physdev_path = NULL, *mode = NULL, *fe = NULL;
		dev_t dev;
		char have;
		uint32_t fe_id = 0;

		if (req->backend_path && strcmp(be[i], req->backend_path) == 0)
			continue;
		if (bsearch(&be[i], known, nours, sizeof(*known), cmp_str))
			continue;
		if (asprintf(&physdev_path, "%s/physical-device", be[i]) < 0) {
			r = -ENOMEM;
			break;
		}
		if (vd_xs_read(xs, physdev_path, &pd) < 0 ||
		    vd_xs_parse_physical_device(pd, &dev) < 0)
			continue; /* not (yet) connected to a device */
		if (!overlaps(topo, dev))
			continue;

		free(physdev_path);
		physdev_path = NULL;
		if (asprintf(&physdev_path, "%s/mode", be[i]) >= 0)
			(void)vd_xs_read(xs, physdev_path, &mode);
		if (!mode || vd_sharing_mode(mode, &have) < 0)
			have = 'w';
		free(physdev_path);
		physdev_path = NULL;
		if (asprintf(&physdev_path, "%s/frontend-id", be[i]) >= 0 &&
		    vd_xs_read(xs, physdev_path, &fe) == 0 && strcmp(fe, "0") != 0 &&
		    vd_parse_id(fe, false, &fe_id) < 0)
			fe_id = UINT32_MAX;
		if (vd_sharing_compatible(req->level, req->mode, have, fe && fe_id == req->domid))
			continue;
		r = vd_err(-EBUSY,
			   "VD %" PRIu32 " overlaps device %s used %s by domain %s through %s; "
			   "detach that disk first",
			   req->vd_id, pd, mode_word(have), fe ? fe : "?", be[i]);
	}
out:
	vd_xs_strv_free(be, nbe);
	vd_db_attachment_list_free(ours, nours);
	return r;
}

int vd_sharing_check(struct vd_db *db, struct vd_xs *xs, const struct vd_sharing_request *req)
{
	struct topology topo;
	int r;

	if (req->mode == '!' || req->level >= 2)
		return 0;
	r = check_attachments(db, req);
	if (r < 0)
		return r;
	topology_init(&topo, req);
	r = check_mounts(&topo);
	if (r == 0 && xs)
		r = check_backends(db, xs, &topo);
	return r;
}
