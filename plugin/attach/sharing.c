#include <dirent.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/major.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "base/error.h"
#include "attach/sharing.h"
#include "pool/sanlock.h"

int vd_sharing_mode(const char *mode, char *ret)
{
	if (!mode || !*mode)
		return -EINVAL;
	if (!strchr(mode, 'w'))
		*ret = VD_MODE_READ;
	else if (!strchr(mode, '!'))
		*ret = VD_MODE_WRITE;
	else
		*ret = VD_MODE_FORCED;
	return 0;
}

const char *vd_sharing_mode_string(char mode)
{
	return mode == VD_MODE_READ ? "r" : mode == VD_MODE_WRITE ? "w" : "w!";
}

bool vd_sharing_compatible(int level, char want, char have, bool same_domain)
{
	if (want == VD_MODE_FORCED || level >= VD_SHARING_ANY || same_domain)
		return true;
	if (have == VD_MODE_FORCED)
		have = VD_MODE_WRITE;
	if (level <= VD_SHARING_READERS)
		return want == VD_MODE_READ && have == VD_MODE_READ;
	/* VD_SHARING_ONE_WRITER */
	return !(want == VD_MODE_WRITE && have == VD_MODE_WRITE);
}

static bool uuid_match(const char *a, const char *b)
{
	/* two unknowns are not a match (the stock script's "" = "" mistake, fixed upstream) */
	return a && b && *a && strcmp(a, b) == 0;
}

static bool vm_of_requester(const struct vd_xs_domain *req, const char *uuid)
{
	return uuid_match(req->vm_uuid, uuid) || uuid_match(req->target_vm_uuid, uuid);
}

int vd_sharing_same_vm(struct vd_xs *xs, const struct vd_sharing_request *req, uint32_t domid,
		       const char *recorded_vm, bool *ret)
{
	struct vd_xs_domain other;
	int r;

	*ret = domid == req->domid;
	if (*ret || !req->vm)
		return 0;
	if (!xs) {
		*ret = vm_of_requester(req->vm, recorded_vm);
		return 0;
	}
	r = vd_xs_read_domain(xs, domid, &other);
	if (r < 0)
		return r;
	if (other.gone) {
		/* libxl removes /local/domain/<domid> after the domain's backends; the stock
		 * script takes such a domain for the requester (it cannot tell which VM it was).
		 * Our own row can. */
		*ret = !recorded_vm || !*recorded_vm || vm_of_requester(req->vm, recorded_vm);
		return 0;
	}
	*ret = vm_of_requester(req->vm, other.vm_uuid) ||
	       vm_of_requester(req->vm, other.target_vm_uuid);
	return 0;
}

static const char *mode_word(char m)
{
	return m == VD_MODE_READ ? "read-only" : "writable";
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

/* Every block device that overlaps the VD, worked out once per check from /sys, starting
 * from the devices in its table: bounded by the VD's own devices and their partitions, never
 * by how many other disks the host has. Deciding whether some other device overlaps is then
 * a lookup, with no /sys read, except for loop devices when the pool has files. */
#define MAX_DEVS 64

struct our_loop {
	dev_t dev;
	struct stat file; /* its backing file */
};

struct topology {
	const struct vd_sharing_request *req;
	dev_t devs[MAX_DEVS]; /* table devices, their whole disks, overlapping partitions */
	size_t n;
	struct our_loop loops[16];
	size_t nloops;
};

static void add_dev(struct topology *topo, dev_t dev)
{
	for (size_t i = 0; i < topo->n; i++)
		if (topo->devs[i] == dev)
			return;
	if (topo->n < ARRAY_SIZE(topo->devs))
		topo->devs[topo->n++] = dev;
}

/* The partitions of whole disk `disk` that cover sectors the VD uses on it. */
static void add_partitions_of(struct topology *topo, dev_t disk)
{
	char path[128];
	struct dirent *e;
	DIR *d;

	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u", major(disk), minor(disk));
	d = opendir(path);
	if (!d)
		return;
	while ((e = readdir(d))) {
		char attr[128 + 2 * NAME_MAX], buf[32];
		unsigned maj, min;
		uint64_t start, len;
		dev_t part;
		FILE *f;
		int ok;

		if (e->d_name[0] == '.')
			continue;
		snprintf(attr, sizeof(attr), "%s/%s/partition", path, e->d_name);
		if (access(attr, F_OK) < 0)
			continue;
		snprintf(attr, sizeof(attr), "%s/%s/dev", path, e->d_name);
		f = fopen(attr, "re");
		if (!f)
			continue;
		ok = fgets(buf, sizeof(buf), f) && sscanf(buf, "%u:%u", &maj, &min) == 2;
		fclose(f);
		part = makedev(maj, min);
		if (!ok || read_sys_u64(part, "start", &start) < 0 ||
		    read_sys_u64(part, "size", &len) < 0)
			continue;
		if (vd_dmtable_uses(topo->req->table, disk, start, len))
			add_dev(topo, part);
	}
	closedir(d);
}

static void topology_init(struct topology *topo, const struct vd_sharing_request *req)
{
	topo->req = req;
	topo->n = 0;
	topo->nloops = 0;
	if (req->dm_dev)
		add_dev(topo, req->dm_dev);
	for (size_t i = 0; i < req->table->n; i++) {
		dev_t dev = req->table->targets[i].dev, disk = 0;
		uint64_t start = 0, len = 0;
		bool seen = false;

		for (size_t j = 0; j < i; j++)
			seen = seen || req->table->targets[j].dev == dev;
		if (seen)
			continue;
		add_dev(topo, dev);
		if (partition_of(dev, &disk, &start, &len) == 0)
			add_dev(topo, disk); /* the whole disk holds the partition */
		else
			add_partitions_of(topo, dev);
		if (topo->nloops < ARRAY_SIZE(topo->loops) &&
		    loop_backing(dev, &topo->loops[topo->nloops].file) == 0)
			topo->loops[topo->nloops++].dev = dev;
	}
}

static bool overlaps(const struct topology *topo, dev_t dev)
{
	struct stat file;

	if (dev == 0)
		return false;
	for (size_t i = 0; i < topo->n; i++)
		if (topo->devs[i] == dev)
			return true;
	/* another loop device over the same file as one of ours */
	if (topo->nloops == 0 || major(dev) != LOOP_MAJOR || loop_backing(dev, &file) < 0)
		return false;
	for (size_t i = 0; i < topo->nloops; i++)
		if (file.st_dev == topo->loops[i].file.st_dev &&
		    file.st_ino == topo->loops[i].file.st_ino)
			return true;
	return false;
}

/* ---- the three kinds of other users ---- */

int vd_sharing_host_dead(const struct vd_host_ops *ops, struct vd_db *db, uint32_t host_id,
			 bool *ret_dead)
{
	*ret_dead = false;
	if (!ops || !ops->host_dead || host_id == 0)
		return 0;
	return ops->host_dead(db, host_id, ret_dead);
}

static int sanlock_host_dead(struct vd_db *db, uint32_t host_id, bool *ret_dead)
{
	const struct vd_sanlock_area *area = vd_db_lease_area(db);
	struct vd_sanlock_host *hosts = NULL;
	size_t n = 0;
	int r;

	*ret_dead = false;
	if (!area)
		return 0; /* not shared: no other host */
	r = vd_sanlock_hosts(area, &hosts, &n);
	if (r < 0)
		return r;
	*ret_dead = vd_sharing_host_listed_dead(hosts, n, host_id);
	free(hosts);
	return 0;
}

bool vd_sharing_host_listed_dead(const struct vd_sanlock_host *hosts, size_t n, uint32_t host_id)
{
	/* Only DEAD: sanlock says so once host_dead seconds passed without a renewal, by which
	 * time the host has been reset. LIVE, FAIL (renewals late), UNKNOWN (not watched long
	 * enough yet), FREE and a host not listed at all may still be writing. */
	for (size_t i = 0; i < n; i++)
		if (hosts[i].host_id == host_id)
			return hosts[i].state == VD_SANLOCK_HOST_DEAD;
	return false;
}

const struct vd_host_ops vd_host_sanlock_ops = { .host_dead = sanlock_host_dead };

static const char *mode_abbrev(char m)
{
	return m == VD_MODE_READ ? "ro" : "rw";
}

/* An attachment recorded by another host of the shared pool. */
static int check_remote(struct vd_db *db, const struct vd_sharing_request *req,
			const struct vd_attachment *a, char have)
{
	bool dead;
	int r;

	if (vd_sharing_compatible(req->level, req->mode, have, false))
		return 0;
	/* A migration: the source host's domain of the same VM still holds it. */
	if (req->vm && vm_of_requester(req->vm, a->vm_uuid)) {
		vd_info("VD %" PRIu32 " is held %s on host %" PRIu32 " by domain %" PRIu32
			" of the same VM %s (a migration): allowed",
			req->vd_id, mode_abbrev(have), a->host_id, a->domid, a->vm_uuid);
		return 0;
	}
	r = vd_sharing_host_dead(req->hosts, db, a->host_id, &dead);
	if (r < 0)
		return r;
	if (dead) {
		vd_info("VD %" PRIu32 "'s attachment %s on host %" PRIu32 " is stale: sanlock "
			"declares host %" PRIu32 " dead",
			req->vd_id, a->backend_path, a->host_id, a->host_id);
		return 0;
	}
	return vd_err(-EBUSY,
		      "VD %" PRIu32 " is held %s by domain %" PRIu32 " (vm %s) on host %" PRIu32
		      "; sharing level %d does not allow another %s user: detach it there first, "
		      "or attach read-only (if host %" PRIu32 " is down, its attachments count "
		      "until sanlock declares it dead: see 'xl-vd host-list')",
		      req->vd_id, mode_abbrev(have), a->domid, a->vm_uuid ? a->vm_uuid : "unknown",
		      a->host_id, req->level, mode_word(req->mode), a->host_id);
}

static int check_attachments(struct vd_db *db, struct vd_xs *xs,
			     const struct vd_sharing_request *req, bool remote_only)
{
	uint32_t self = vd_db_host_id(db);
	struct vd_attachment *list = NULL;
	size_t n = 0;
	int r;

	/* Extents have exactly one owner (db invariant, `xl-vd check`), so only attachments of
	 * this same VD can overlap it; those overlap it completely. Every host's count. */
	r = vd_db_attachment_list_all(db, req->vd_id, &list, &n);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n && r == 0; i++) {
		const struct vd_attachment *a = &list[i];
		bool same;
		char have;

		if (vd_sharing_mode(a->mode, &have) < 0)
			have = VD_MODE_WRITE;
		if (a->host_id != self) {
			r = check_remote(db, req, a, have);
			continue;
		}
		if (remote_only)
			continue;
		if (req->backend_path && strcmp(a->backend_path, req->backend_path) == 0)
			continue;
		if (vd_sharing_compatible(req->level, req->mode, have, a->domid == req->domid))
			continue;
		r = vd_sharing_same_vm(xs, req, a->domid, a->vm_uuid, &same);
		if (r < 0)
			break;
		if (same)
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

int vd_sharing_check_hosts(struct vd_db *db, const struct vd_sharing_request *req)
{
	if (req->mode == VD_MODE_FORCED || req->level >= VD_SHARING_ANY)
		return 0;
	return check_attachments(db, NULL, req, true);
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
				    ? VD_MODE_READ
				    : VD_MODE_WRITE;

		/* A mount is a dom0 user even for a dom0 attach: it is not a Xen backend. */
		if (vd_sharing_compatible(req->level, req->mode, have, false))
			continue;
		r = vd_err(-EBUSY,
			   "VD %" PRIu32 " overlaps device %u:%u mounted %s on %s in dom0; unmount "
			   "it first",
			   req->vd_id, maj, min, have == VD_MODE_READ ? "read-only" : "read-write",
			   mnt);
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
	size_t nours = 0, nbe = 0, nother = 0;
	char **be = NULL, **pds = NULL;
	_cleanup_free_ char **known = NULL, **other = NULL;
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
	other = calloc(nbe ? nbe : 1, sizeof(*other));
	if (!other) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < nbe; i++)
		if (!(req->backend_path && strcmp(be[i], req->backend_path) == 0) &&
		    !bsearch(&be[i], known, nours, sizeof(*known), cmp_str))
			other[nother++] = be[i];
	/* every physical-device at once: one round trip's wait, however many vbds there are */
	r = vd_xs_read_each(xs, other, nother, "physical-device", &pds);
	if (r < 0)
		goto out;
	for (size_t i = 0; i < nother && r == 0; i++) {
		_cleanup_free_ char *path = NULL, *mode = NULL, *fe = NULL;
		dev_t dev;
		char have;
		uint32_t fe_id = 0;
		bool same;

		if (!pds[i] || vd_xs_parse_physical_device(pds[i], &dev) < 0)
			continue; /* not (yet) connected to a device */
		if (!overlaps(topo, dev))
			continue;

		if (asprintf(&path, "%s/mode", other[i]) >= 0)
			(void)vd_xs_read(xs, path, &mode);
		if (!mode || vd_sharing_mode(mode, &have) < 0)
			have = VD_MODE_WRITE;
		free(path);
		path = NULL;
		if (asprintf(&path, "%s/frontend-id", other[i]) >= 0 &&
		    vd_xs_read(xs, path, &fe) == 0 && vd_parse_u32(fe, &fe_id) < 0)
			fe_id = UINT32_MAX;
		if (vd_sharing_compatible(req->level, req->mode, have, fe && fe_id == req->domid))
			continue;
		if (fe && fe_id != UINT32_MAX) {
			r = vd_sharing_same_vm(xs, req, fe_id, NULL, &same);
			if (r < 0)
				break;
			if (same)
				continue;
		}
		r = vd_err(-EBUSY,
			   "VD %" PRIu32 " overlaps device %s used %s by domain %s through %s; "
			   "detach that disk first",
			   req->vd_id, pds[i], mode_word(have), fe ? fe : "?", other[i]);
	}
out:
	vd_xs_strv_free(pds, nother);
	vd_xs_strv_free(be, nbe);
	vd_db_attachment_list_free(ours, nours);
	return r;
}

int vd_sharing_check(struct vd_db *db, struct vd_xs *xs, const struct vd_sharing_request *req)
{
	struct topology topo;
	int r;

	if (req->mode == VD_MODE_FORCED || req->level >= VD_SHARING_ANY)
		return 0;
	r = check_attachments(db, xs, req, false);
	if (r < 0)
		return r;
	topology_init(&topo, req);
	r = check_mounts(&topo);
	if (r == 0 && xs)
		r = check_backends(db, xs, &topo);
	return r;
}
