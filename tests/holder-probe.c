/* The integration test's view of the active-VD lease (tests/integration/holder_sanlock.sh):
 * what block-vd does around the first dm device of a shared pool, and what its last remover
 * does, through the real holder and sanlock daemon, without device-mapper.
 *   holder-probe hold LOCKSPACE PATH      the holder holds the lease (slot 2 of the lease area
 *                                         at offset 0 of PATH, 512-byte sectors)
 *   holder-probe release LOCKSPACE PATH   the last remover: releases it when no dm device of
 *                                         the pool exists (none can here: no device-mapper)
 *   holder-probe count LOCKSPACE PATH     how many times the holder holds it
 *   holder-probe late-db VD               block-vd's order (attacher first, database after):
 *                                         maps VD of the shared pool at $XENVD_DB through
 *                                         a stand-in device-mapper and says whether the lease
 *                                         was held before the dm device was made
 */
#include <stdio.h>
#include <string.h>

#include "base/error.h"
#include "attach/attach.h"
#include "attach/dm.h"
#include "attach/holder.h"
#include "base/config.h"

/* ---- late-db: a stand-in device-mapper and lease, recording their order ---- */
static char order[256];

static void note(const char *what)
{
	size_t used = strlen(order);

	snprintf(order + used, sizeof(order) - used, "%s ", what);
}

static bool made;

static int dm_create(const char *name, const char *uuid, const struct vd_dm_table *t,
		     struct vd_dm_info *ret)
{
	(void)uuid;
	(void)t;
	note("create");
	made = true;
	*ret = (struct vd_dm_info){ .exists = true, .major = 253, .minor = 9 };
	snprintf(ret->name, sizeof(ret->name), "%s", name);
	return 0;
}

static int dm_info(const char *name, struct vd_dm_info *ret)
{
	(void)name;
	*ret = (struct vd_dm_info){ 0 };
	return 0;
}

static int dm_remove(const char *name, unsigned flags)
{
	(void)name;
	(void)flags;
	made = false;
	return 0;
}

static int dm_list(const char *prefix, struct vd_dm_info **ret, size_t *ret_n)
{
	(void)prefix;
	*ret = NULL;
	*ret_n = 0;
	return 0;
}

static const struct vd_dm_ops fake_dm = {
	.create = dm_create, .remove = dm_remove, .info = dm_info, .list = dm_list,
};

static int lease_hold(const struct vd_sanlock_area *a, const uint8_t pool[16], int *ret_fd)
{
	(void)a;
	(void)pool;
	note("hold");
	*ret_fd = -1;
	return 0;
}

static int lease_release(const struct vd_sanlock_area *a, const uint8_t pool[16],
			 const struct vd_dm_ops *dm, bool *ret_released)
{
	(void)a;
	(void)pool;
	(void)dm;
	note("release");
	*ret_released = true;
	return 0;
}

static const struct vd_lease_ops fake_lease = { .hold = lease_hold,
						.release_if_idle = lease_release };

static int late_db(const char *vd)
{
	struct vd_attach_ops ops = vd_attach_real_ops;
	struct vd_config cfg;
	struct vd_attacher h;
	struct vd_db *db = NULL;
	char path[64];
	uint32_t id;
	int r;

	ops.dm = &fake_dm;
	ops.lease = &fake_lease;
	if (vd_parse_u32(vd, &id) < 0)
		return -EINVAL;
	r = vd_config_load(NULL, &cfg);
	if (r < 0)
		return r;
	/* as hotplug/block-vd.c: the attacher is made before the database is open */
	vd_attacher_init(&h, NULL, NULL);
	h.ops = &ops;
	r = vd_db_open(cfg.db_path, 0, &db);
	vd_config_dispose(&cfg);
	if (r < 0)
		return r;
	h.db = db;
	r = vd_attach_map(&h, id, "w", path, sizeof(path));
	if (r == 0)
		r = vd_attach_unmap(&h, id);
	vd_db_close(db);
	if (r == 0)
		printf("%s\n", order);
	return r;
}

static void sink(enum vd_log_level level, const char *msg, void *userdata)
{
	(void)level;
	(void)userdata;
	fprintf(stderr, "holder-probe: %s\n", msg);
}

int main(int argc, char **argv)
{
	struct vd_sanlock_area area;
	uint8_t pool[16];
	unsigned held = 0;
	pid_t pid;
	int r, fd = -1;
	bool released = false;

	if (argc == 3 && !strcmp(argv[1], "late-db")) {
		vd_log_set_sink(sink, NULL);
		r = late_db(argv[2]);
		if (r < 0)
			fprintf(stderr, "holder-probe: %s\n", vd_errmsg());
		return r < 0;
	}
	if (argc != 4 || strlen(argv[2]) != 32) {
		fprintf(stderr, "usage: holder-probe hold|release|count LOCKSPACE(32 hex) PATH\n");
		return 2;
	}
	vd_log_set_sink(sink, NULL);
	vd_log_set_level(VD_LOG_INFO);
	for (int i = 0; i < 16; i++) {
		unsigned v;

		if (sscanf(argv[2] + 2 * i, "%2x", &v) != 1)
			return 2;
		pool[i] = (uint8_t)v;
	}
	r = vd_sanlock_area_init(&area, pool, argv[3], 0, 512);
	if (r == 0 && !strcmp(argv[1], "hold")) {
		r = vd_lease_holder_ops.hold(&area, pool, &fd);
		if (r == 0)
			close(fd);
	} else if (r == 0 && !strcmp(argv[1], "release")) {
		r = vd_lease_holder_ops.release_if_idle(&area, pool, &vd_dm_libdevmapper_ops,
							&released);
		if (r == 0)
			printf("%s\n", released ? "released" : "kept");
	} else if (r == 0 && !strcmp(argv[1], "count")) {
		r = vd_holder_pid(&pid);
		if (r == 0)
			r = vd_sanlock_held_count(&area, VD_SANLOCK_ACTIVE_RESOURCE, pid, &held);
		if (r == 0)
			printf("%u\n", held);
	} else if (r == 0) {
		fprintf(stderr, "holder-probe: unknown action %s\n", argv[1]);
		return 2;
	}
	if (r < 0) {
		fprintf(stderr, "holder-probe: %s\n", vd_errmsg());
		return 1;
	}
	return 0;
}
