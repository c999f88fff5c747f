#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libdevmapper.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>

#include "attach/dm.h"
#include "base/error.h"

#define REMOVE_FORCE_TRIES 5
#define REMOVE_FORCE_DELAY_US 1000000

const char *vd_dm_name(uint32_t id, char buf[static VD_DM_NAME_MAX])
{
	snprintf(buf, VD_DM_NAME_MAX, "vd-%" PRIu32, id);
	return buf;
}

const char *vd_dm_uuid(const uint8_t pool_uuid[16], uint32_t id, char buf[static VD_DM_UUID_MAX])
{
	char hex[33];

	for (int i = 0; i < 16; i++)
		snprintf(hex + 2 * i, 3, "%02x", pool_uuid[i]);
	snprintf(buf, VD_DM_UUID_MAX, VD_DM_UUID_PREFIX "%s-%" PRIu32, hex, id);
	return buf;
}

int vd_dm_uuid_parse(const char *uuid, uint8_t ret_pool_uuid[16], uint32_t *ret_id)
{
	const size_t plen = strlen(VD_DM_UUID_PREFIX);
	uint8_t pool[16];
	uint32_t id;

	if (!uuid || strncmp(uuid, VD_DM_UUID_PREFIX, plen) != 0)
		return -EINVAL;
	uuid += plen;
	for (int i = 0; i < 16; i++) {
		int hi = vd_hexval(uuid[2 * i]), lo = hi < 0 ? -1 : vd_hexval(uuid[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -EINVAL;
		pool[i] = (uint8_t)(hi << 4 | lo);
	}
	if (uuid[32] != '-' || vd_parse_id(uuid + 33, &id) < 0)
		return -EINVAL;
	if (ret_pool_uuid)
		memcpy(ret_pool_uuid, pool, 16);
	if (ret_id)
		*ret_id = id;
	return 0;
}

const char *vd_dm_path(const char *name, char *buf, size_t len)
{
	snprintf(buf, len, "/dev/mapper/%s", name);
	return buf;
}

/* ---- who holds a device (error messages only) ---- */

static void describe_holders(FILE *out, uint32_t maj, uint32_t min, bool *found)
{
	char path[64];
	DIR *d;
	struct dirent *de;

	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/holders", maj, min);
	d = opendir(path);
	if (!d)
		return;
	while ((de = readdir(d))) {
		char namefile[PATH_MAX], dmname[128] = "";
		FILE *f;

		if (de->d_name[0] == '.')
			continue;
		snprintf(namefile, sizeof(namefile), "/sys/class/block/%s/dm/name", de->d_name);
		f = fopen(namefile, "re");
		if (f) {
			if (fgets(dmname, sizeof(dmname), f))
				dmname[strcspn(dmname, "\n")] = '\0';
			fclose(f);
		}
		fprintf(out, "%sheld by %s%s%s%s", *found ? "; " : "", de->d_name,
			*dmname ? " (" : "", dmname, *dmname ? ")" : "");
		*found = true;
	}
	closedir(d);
}

static void describe_openers(FILE *out, dev_t dev, bool *found)
{
	DIR *proc = opendir("/proc");
	struct dirent *pe;

	if (!proc)
		return;
	while ((pe = readdir(proc))) {
		char fddir[300];
		DIR *fds;
		struct dirent *fe;

		if (!isdigit((unsigned char)pe->d_name[0]))
			continue;
		snprintf(fddir, sizeof(fddir), "/proc/%s/fd", pe->d_name);
		fds = opendir(fddir);
		if (!fds)
			continue;
		while ((fe = readdir(fds))) {
			struct stat st;

			if (fe->d_name[0] == '.')
				continue;
			if (fstatat(dirfd(fds), fe->d_name, &st, 0) < 0)
				continue;
			if (S_ISBLK(st.st_mode) && st.st_rdev == dev) {
				char commf[300], comm[32] = "?";
				FILE *f;

				snprintf(commf, sizeof(commf), "/proc/%s/comm", pe->d_name);
				f = fopen(commf, "re");
				if (f) {
					if (fgets(comm, sizeof(comm), f))
						comm[strcspn(comm, "\n")] = '\0';
					fclose(f);
				}
				fprintf(out, "%sopen in pid %s (%s)", *found ? "; " : "",
					pe->d_name, comm);
				*found = true;
				break;
			}
		}
		closedir(fds);
	}
	closedir(proc);
}

int vd_dm_describe_users(uint32_t maj, uint32_t min, char **ret)
{
	char *buf = NULL;
	size_t len = 0;
	bool found = false;
	FILE *out = open_memstream(&buf, &len);

	if (!out)
		return -ENOMEM;
	describe_holders(out, maj, min, &found);
	describe_openers(out, makedev(maj, min), &found);
	if (!found)
		fputs("no holder or opening process found (a kernel user such as Xen's blkback "
		      "or a mount)",
		      out);
	if (fclose(out) != 0) {
		free(buf);
		return -ENOMEM;
	}
	*ret = buf;
	return 0;
}

/* ---- libdevmapper ---- */

static int udev_state = -1; /* -1 unknown, 0 no udev, 1 udev */
static bool driver_present;

/* The kernel's device-mapper registers a misc device; without it every ioctl would fail with
 * a bare ENODEV from /dev/mapper/control. */
static bool dm_driver_registered(void)
{
	char line[128];
	bool found = false;
	FILE *f = fopen("/proc/misc", "re");

	if (!f)
		return access("/dev/mapper/control", F_OK) == 0;
	while (!found && fgets(line, sizeof(line), f))
		found = strstr(line, "device-mapper") != NULL;
	fclose(f);
	return found;
}

bool vd_dm_udev_running(void)
{
	return access("/run/udev/control", F_OK) == 0;
}

/* Only dm's udev rule completes a cookie: with udev running but the rule missing (no dmsetup
 * package), dm_udev_wait() would block forever (lvm2 issues #70, #170). */
static bool dm_udev_rules_present(void)
{
	static const char *const paths[] = {
		"/etc/udev/rules.d/95-dm-notify.rules",
		"/lib/udev/rules.d/95-dm-notify.rules",
		"/usr/lib/udev/rules.d/95-dm-notify.rules",
	};

	for (size_t i = 0; i < ARRAY_SIZE(paths); i++)
		if (access(paths[i], F_OK) == 0)
			return true;
	return false;
}

/* libdevmapper logs through this: its messages become our debug log, never stderr. */
_printf_(5, 6) static void dm_log_to_vd(int level, const char *file, int line,
					int dm_errno_or_class, const char *f, ...)
{
	char msg[512];
	va_list ap;

	if (vd_log_get_level() < VD_LOG_DEBUG)
		return;
	va_start(ap, f);
	vsnprintf(msg, sizeof(msg), f, ap);
	va_end(ap);
	vd_debug("libdevmapper: %s (%s:%d, level %d)", msg, file, line, level);
}

static void dm_setup(void)
{
	if (udev_state >= 0)
		return;
	dm_log_with_errno_init(dm_log_to_vd);
	driver_present = dm_driver_registered();
	udev_state = vd_dm_udev_running();
	if (udev_state && !dm_udev_rules_present()) {
		vd_warn("udev runs but has no device-mapper rules (95-dm-notify.rules, package "
			"dmsetup): xenvd creates its /dev/mapper nodes itself");
		udev_state = 0;
	}
	if (!udev_state) {
		/* Nothing would ever complete a cookie: let libdevmapper make /dev/mapper nodes
		 * itself (the library fallback) and skip the semaphores entirely. */
		dm_udev_set_sync_support(0);
		vd_debug("dm: udev is not running, libdevmapper creates device nodes itself");
	}
}

/* Every operation starts here: -ENOTSUP with a message when the kernel has no device-mapper. */
static int dm_ready(const char *what, const char *name)
{
	dm_setup();
	if (!driver_present)
		return vd_err(-ENOTSUP,
			      "cannot %s dm device %s: this kernel has no device-mapper (load it: "
			      "modprobe dm_mod)",
			      what, name ? name : "");
	return 0;
}

static uint16_t udev_flags(void)
{
	/* With udev, its rules make the nodes (cryptsetup does the same); without it the library
	 * fallback must stay on, or no /dev/mapper node would ever appear. */
	return udev_state ? DM_UDEV_DISABLE_LIBRARY_FALLBACK : 0;
}

static struct dm_task *task_new(int type, const char *name)
{
	struct dm_task *dmt = dm_task_create(type);

	if (!dmt)
		return NULL;
	if (name && !dm_task_set_name(dmt, name)) {
		dm_task_destroy(dmt);
		return NULL;
	}
	return dmt;
}

static void dm_taskp(struct dm_task **dmt)
{
	if (*dmt)
		dm_task_destroy(*dmt);
}
#define _cleanup_task_ _cleanup_(dm_taskp)

static int task_errno(struct dm_task *dmt)
{
	int e = dm_task_get_errno(dmt);

	return e > 0 ? -e : -EIO;
}

/* Runs a task that makes uevents, waiting on its udev cookie (also when it failed: the cookie
 * was created and a partial action may have sent events). */
static int run_with_cookie(struct dm_task *dmt)
{
	uint32_t cookie = 0;
	int r = 0;

	if (!dm_task_set_cookie(dmt, &cookie, udev_flags()))
		return -ENOMEM;
	if (!dm_task_run(dmt))
		r = task_errno(dmt);
	(void)dm_udev_wait(cookie);
	return r;
}

static int fill_info(struct dm_task *dmt, struct vd_dm_info *ret)
{
	struct dm_info di;
	const char *s;

	memset(ret, 0, sizeof(*ret));
	if (!dm_task_get_info(dmt, &di))
		return -EIO;
	ret->exists = di.exists;
	if (!di.exists)
		return 0;
	ret->major = di.major;
	ret->minor = di.minor;
	ret->open_count = di.open_count;
	ret->suspended = di.suspended;
	ret->read_only = di.read_only;
	s = dm_task_get_name(dmt);
	if (s)
		snprintf(ret->name, sizeof(ret->name), "%s", s);
	s = dm_task_get_uuid(dmt);
	if (s)
		snprintf(ret->uuid, sizeof(ret->uuid), "%s", s);
	return 0;
}

static int no_dm_error(int r, const char *what, const char *name)
{
	if (r == -ENOENT || r == -ENXIO)
		return vd_err(-ENOTSUP,
			      "cannot %s dm device %s: the kernel has no device-mapper (load the "
			      "dm_mod module)",
			      what, name);
	return r;
}

static int real_info(const char *name, struct vd_dm_info *ret)
{
	_cleanup_task_ struct dm_task *dmt = NULL;
	int r;

	r = dm_ready("query", name);
	if (r < 0)
		return r;
	dmt = task_new(DM_DEVICE_INFO, name);
	if (!dmt)
		return -ENOMEM;
	if (!dm_task_run(dmt)) {
		r = task_errno(dmt);
		if (r == -ENXIO || r == -ENODEV) {
			memset(ret, 0, sizeof(*ret));
			return 0;
		}
		return vd_err(no_dm_error(r, "query", name), "cannot query dm device %s: %s",
			      name, strerror(-r));
	}
	return fill_info(dmt, ret);
}

static int add_targets(struct dm_task *dmt, const struct vd_dm_table *t)
{
	for (size_t i = 0; i < t->n; i++) {
		char params[48];

		vd_dmtable_params(&t->targets[i], params, sizeof(params));
		if (!dm_task_add_target(dmt, t->targets[i].start, t->targets[i].length, "linear",
					params))
			return -ENOMEM;
	}
	return 0;
}

static int real_remove_once(const char *name, bool retry)
{
	_cleanup_task_ struct dm_task *dmt = NULL;

	dmt = task_new(DM_DEVICE_REMOVE, name);
	if (!dmt)
		return -ENOMEM;
	/* libdevmapper retries EBUSY 25 times at 200 ms: a udev worker probing the new node or a
	 * blkid that opened it for a moment lets go within that window. */
	if (retry && !dm_task_retry_remove(dmt))
		return -ENOMEM;
	return run_with_cookie(dmt);
}

static int real_create(const char *name, const char *uuid, const struct vd_dm_table *t,
		       struct vd_dm_info *ret)
{
	_cleanup_task_ struct dm_task *dmt = NULL;
	struct vd_dm_info info;
	int r;

	r = dm_ready("create", name);
	if (r < 0)
		return r;
	dmt = task_new(DM_DEVICE_CREATE, name);
	if (!dmt)
		return -ENOMEM;
	if (uuid && !dm_task_set_uuid(dmt, uuid))
		return -ENOMEM;
	r = add_targets(dmt, t);
	if (r < 0)
		return r;
	r = run_with_cookie(dmt);
	if (r < 0) {
		if (r == -EEXIST || r == -EBUSY) {
			/* EBUSY from create: the name or the UUID is taken. */
			if (real_info(name, &info) == 0 && info.exists)
				return vd_err(-EEXIST,
					      "dm device %s already exists (%u:%u, UUID %s)", name,
					      info.major, info.minor, info.uuid);
			return vd_err(-EEXIST, "cannot create dm device %s: DM UUID %s is taken by "
					       "another device (run 'dmsetup info -u %s')",
				      name, uuid ? uuid : "-", uuid ? uuid : "-");
		}
		/* A device that got created but whose table failed to load is removed again, so
		 * that a failed create leaves nothing behind. */
		if (real_info(name, &info) == 0 && info.exists)
			(void)real_remove_once(name, true);
		if (r == -ENXIO || r == -ENODEV)
			return vd_err(-ENODEV,
				      "cannot create dm device %s: a pool device in its table has "
				      "disappeared (%s)",
				      name, strerror(-r));
		return vd_err(no_dm_error(r, "create", name), "cannot create dm device %s: %s",
			      name, strerror(-r));
	}
	r = fill_info(dmt, ret);
	if (r < 0 || !ret->exists)
		return real_info(name, ret);
	return 0;
}

static int resume(const char *name)
{
	_cleanup_task_ struct dm_task *dmt = NULL;

	dmt = task_new(DM_DEVICE_RESUME, name);
	if (!dmt)
		return -ENOMEM;
	return run_with_cookie(dmt);
}

static int load_table(const char *name, const struct vd_dm_table *t, bool error_target)
{
	_cleanup_task_ struct dm_task *dmt = NULL;
	int r;

	dmt = task_new(DM_DEVICE_RELOAD, name);
	if (!dmt)
		return -ENOMEM;
	if (error_target) {
		if (!dm_task_add_target(dmt, 0, vd_dmtable_sectors(t), "error", ""))
			return -ENOMEM;
	} else {
		r = add_targets(dmt, t);
		if (r < 0)
			return r;
	}
	if (!dm_task_run(dmt))
		return task_errno(dmt);
	return 0;
}

static int real_reload(const char *name, const struct vd_dm_table *t)
{
	int r;

	r = dm_ready("reload", name);
	if (r < 0)
		return r;
	r = load_table(name, t, false);
	if (r < 0)
		return vd_err(r == -ENXIO ? -ENODEV : r,
			      "cannot load a new table into dm device %s: %s", name, strerror(-r));
	r = resume(name);
	if (r < 0)
		return vd_err(r, "cannot resume dm device %s with its new table: %m", name);
	return 0;
}

static int busy_error(const char *name, const struct vd_dm_info *info)
{
	_cleanup_free_ char *users = NULL;

	(void)vd_dm_describe_users(info->major, info->minor, &users);
	return vd_err(-EBUSY,
		      "dm device %s (%u:%u) is still open (open count %d): %s; detach the guest "
		      "disk or unmount it, then retry",
		      name, info->major, info->minor, info->open_count, users ? users : "?");
}

/* Replaces the live table with an error target of the same size, so that every opener gets
 * EIO from now on and a guest or process that still holds the device lets go. */
static int swap_in_error_target(const char *name)
{
	_cleanup_dmtable_ struct vd_dm_table t = { 0 };
	struct vd_dm_target whole;
	int r;

	r = vd_dm_libdevmapper_ops.table(name, &t);
	if (r == -EMEDIUMTYPE)
		return 0; /* already swapped */
	if (r < 0)
		return r;
	whole = (struct vd_dm_target){ .start = 0, .length = vd_dmtable_sectors(&t) };
	vd_dmtable_dispose(&t);
	r = vd_dmtable_append(&t, &whole);
	if (r < 0)
		return r;
	r = load_table(name, &t, true);
	if (r < 0)
		return r;
	return resume(name);
}

static int real_remove(const char *name, unsigned flags)
{
	struct vd_dm_info info;
	int r;

	r = dm_ready("remove", name);
	if (r < 0)
		return r;
	r = real_info(name, &info);
	if (r < 0)
		return r;
	if (!info.exists)
		return vd_err(-ENODEV, "dm device %s does not exist", name);

	r = real_remove_once(name, flags & (VD_DM_REMOVE_RETRY | VD_DM_REMOVE_FORCE));
	if (r == 0 || r == -ENXIO)
		return 0;
	if (r != -EBUSY)
		return vd_err(r, "cannot remove dm device %s: %m", name);
	if (!(flags & VD_DM_REMOVE_FORCE)) {
		(void)real_info(name, &info);
		return busy_error(name, &info);
	}

	vd_warn("dm device %s is busy; replacing its table with an error target", name);
	r = swap_in_error_target(name);
	if (r < 0)
		vd_warn_errno(r, "cannot swap an error target into %s: %m", name);
	for (int i = 0; i < REMOVE_FORCE_TRIES; i++) {
		struct timespec ts = { .tv_sec = REMOVE_FORCE_DELAY_US / 1000000 };

		r = real_remove_once(name, false);
		if (r == 0 || r == -ENXIO)
			return 0;
		if (r != -EBUSY)
			return vd_err(r, "cannot remove dm device %s: %m", name);
		nanosleep(&ts, NULL);
	}
	(void)real_info(name, &info);
	return busy_error(name, &info);
}

static int real_table(const char *name, struct vd_dm_table *ret)
{
	_cleanup_task_ struct dm_task *dmt = NULL;
	struct vd_dm_table t = { 0 };
	struct dm_info di;
	void *next = NULL;
	int r;

	r = dm_ready("read the table of", name);
	if (r < 0)
		return r;
	dmt = task_new(DM_DEVICE_TABLE, name);
	if (!dmt)
		return -ENOMEM;
	if (!dm_task_run(dmt)) {
		r = task_errno(dmt);
		return vd_err(r == -ENXIO ? -ENODEV : r,
			      "cannot read the table of dm device %s: %s", name, strerror(-r));
	}
	if (!dm_task_get_info(dmt, &di) || !di.exists)
		return vd_err(-ENODEV, "dm device %s does not exist", name);
	do {
		uint64_t start, length;
		char *type = NULL, *params = NULL;
		struct vd_dm_target target;

		next = dm_get_next_target(dmt, next, &start, &length, &type, &params);
		if (!type)
			break;
		if (strcmp(type, "linear") != 0) {
			vd_dmtable_dispose(&t);
			return vd_err(-EMEDIUMTYPE, "dm device %s has a '%s' target, not linear",
				      name, type);
		}
		if (vd_dmtable_parse_params(params, &target) < 0) {
			vd_dmtable_dispose(&t);
			return vd_err(-EINVAL, "dm device %s: cannot parse linear target '%s'",
				      name, params ? params : "");
		}
		target.start = start;
		target.length = length;
		r = vd_dmtable_append(&t, &target);
		if (r < 0) {
			vd_dmtable_dispose(&t);
			return r;
		}
	} while (next);
	*ret = t;
	return 0;
}

static int real_list(const char *uuid_prefix, struct vd_dm_info **ret, size_t *ret_n)
{
	_cleanup_task_ struct dm_task *dmt = NULL;
	struct dm_names *names;
	struct vd_dm_info *list = NULL;
	size_t n = 0;
	unsigned next = 0;
	int r;

	r = dm_ready("list", NULL);
	if (r < 0)
		return r;
	dmt = task_new(DM_DEVICE_LIST, NULL);
	if (!dmt)
		return -ENOMEM;
	if (!dm_task_run(dmt)) {
		r = task_errno(dmt);
		return vd_err(no_dm_error(r, "list", "devices"), "cannot list dm devices: %s",
			      strerror(-r));
	}
	names = dm_task_get_names(dmt);
	if (names && names->dev) {
		do {
			struct vd_dm_info info, *grown;

			names = (struct dm_names *)((char *)names + next);
			next = names->next;
			if (real_info(names->name, &info) < 0 || !info.exists)
				continue;
			if (uuid_prefix &&
			    strncmp(info.uuid, uuid_prefix, strlen(uuid_prefix)) != 0)
				continue;
			grown = realloc(list, (n + 1) * sizeof(*list));
			if (!grown) {
				free(list);
				return -ENOMEM;
			}
			list = grown;
			list[n++] = info;
		} while (next);
	}
	*ret = list;
	*ret_n = n;
	return 0;
}

const struct vd_dm_ops vd_dm_libdevmapper_ops = {
	.create = real_create,
	.reload = real_reload,
	.remove = real_remove,
	.info = real_info,
	.table = real_table,
	.list = real_list,
};
