/* device-mapper: the only module that calls libdevmapper. Creates, reloads, removes, queries and
 * lists the dm devices of VDs (name vd-<id>, DM UUID XENVD-<pool uuid hex>-<id>), waits on udev
 * cookies when udev runs and lets libdevmapper make the nodes when it does not. Builds no tables
 * (dmtable.c) and knows nothing of the database; callers go through an ops table so that tests
 * can put a fault injector in its place.
 */
#ifndef XENVD_DM_H
#define XENVD_DM_H

#include "attach/dmtable.h"

#define VD_DM_UUID_PREFIX "XENVD-"
#define VD_DM_NAME_MAX 32  /* "vd-4294967295" */
#define VD_DM_UUID_MAX 64  /* "XENVD-" + 32 hex + "-" + 10 digits */

struct vd_dm_info {
	bool exists;
	uint32_t major, minor;
	int32_t open_count;
	bool suspended;
	bool read_only;
	char name[128];
	char uuid[130];
};

enum vd_dm_remove_flags {
	VD_DM_REMOVE_RETRY =
		1 << 0, /* retry EBUSY for a few seconds (udev probes, lingering I/O) */
	VD_DM_REMOVE_FORCE = 1 << 1, /* then swap in an error target so openers let go, and retry */
};

/* Every operation returns 0 or -errno and sets vd_err() on failure:
 *   -EEXIST  create: the name is taken
 *   -ENODEV  the device does not exist (reload, remove, table), or a device in the table vanished
 *   -EBUSY   remove: still open (the message names holders and opening processes)
 *   -ENOTSUP the kernel has no device-mapper
 *   -EMEDIUMTYPE table: a target that is not linear (e.g. the error target of a forced remove)
 * info() of a missing device returns 0 with exists = false. */
struct vd_dm_ops {
	int (*create)(const char *name, const char *uuid, const struct vd_dm_table *t,
		      struct vd_dm_info *ret);
	/* Loads the table into the inactive slot and resumes: the live table is replaced. */
	int (*reload)(const char *name, const struct vd_dm_table *t);
	int (*remove)(const char *name, unsigned flags);
	int (*info)(const char *name, struct vd_dm_info *ret);
	int (*table)(const char *name, struct vd_dm_table *ret);
	/* Every dm device whose UUID starts with uuid_prefix (NULL: all). */
	int (*list)(const char *uuid_prefix, struct vd_dm_info **ret, size_t *ret_n);
};

/* The libdevmapper implementation. */
extern const struct vd_dm_ops vd_dm_libdevmapper_ops;

/* Whether udev is running (/run/udev/control exists): decides cookies vs library-made nodes. */
bool vd_dm_udev_running(void);

/* "vd-7" */
const char *vd_dm_name(uint32_t id, char buf[static VD_DM_NAME_MAX]);
/* "XENVD-<32 hex>-7" */
const char *vd_dm_uuid(const uint8_t pool_uuid[16], uint32_t id, char buf[static VD_DM_UUID_MAX]);
/* Parses our DM UUID; -EINVAL for anything else (a device that is not ours). */
int vd_dm_uuid_parse(const char *uuid, uint8_t ret_pool_uuid[16], uint32_t *ret_id);
/* "/dev/mapper/vd-7" */
const char *vd_dm_path(const char *name, char *buf, size_t len);

/* Who holds block device major:minor: "held by dm-5; open in pid 812 (qemu-system-i38)", or
 * "no holder or opening process found (a kernel user such as blkback)". Reads /sys and /proc;
 * for error messages only (cost grows with the number of processes). malloc'd. */
int vd_dm_describe_users(uint32_t major, uint32_t minor, char **ret);

#endif
