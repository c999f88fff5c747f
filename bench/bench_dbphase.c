/* block-vd's database phase as a whole process, for bench/bench_pool.sh: what `block-vd add`
 * and `block-vd remove` do between reading xenstore and writing it back, through the same
 * library calls (vd_db_open as block-vd opens it, vd_attach / vd_detach: VD lock, lease check,
 * segments with every pool device opened and its label checked, sharing check against the
 * attachments, attachment row), with device-mapper replaced by a no-op and no xenstore. Those
 * two cost the same whatever the pool's size and need a Xen dom0; the pool's size reaches
 * block-vd only through this phase, which is what the benchmark compares across pools.
 *
 *   bench_dbphase add|remove VD BACKEND_PATH      (database: XENVD_DB, else the configured one)
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "attach/attach.h"
#include "base/config.h"
#include "base/error.h"
#include "pool/db.h"

static int nodm_create(const char *name, const char *uuid, const struct vd_dm_table *t,
		       struct vd_dm_info *ret)
{
	(void)name, (void)uuid, (void)t;
	*ret = (struct vd_dm_info){ .exists = true, .major = 253, .minor = 0 };
	return 0;
}

static int nodm_reload(const char *name, const struct vd_dm_table *t)
{
	(void)name, (void)t;
	return 0;
}

static int nodm_remove(const char *name, unsigned flags)
{
	(void)name, (void)flags;
	return 0;
}

static int nodm_info(const char *name, struct vd_dm_info *ret)
{
	(void)name;
	*ret = (struct vd_dm_info){ .exists = false };
	return 0;
}

static int nodm_table(const char *name, struct vd_dm_table *ret)
{
	(void)name, (void)ret;
	return -ENODEV;
}

static int nodm_list(const char *prefix, struct vd_dm_info **ret, size_t *ret_n)
{
	(void)prefix;
	*ret = NULL;
	*ret_n = 0;
	return 0;
}

static const struct vd_dm_ops nodm = {
	.create = nodm_create,
	.reload = nodm_reload,
	.remove = nodm_remove,
	.info = nodm_info,
	.table = nodm_table,
	.list = nodm_list,
};

/* A pool file would get a loop device here: outside the database phase. */
static int no_loop(int fd, const char *path, dev_t *ret_dev, int *ret_hold_fd)
{
	struct stat st;

	(void)path;
	if (fstat(fd, &st) < 0)
		return -errno;
	*ret_dev = S_ISBLK(st.st_mode) ? st.st_rdev : makedev(7, 255);
	*ret_hold_fd = -1;
	return 0;
}

static const struct vd_attach_ops ops = { .dm = &nodm, .backing_device = no_loop };

int main(int argc, char **argv)
{
	struct vd_config cfg = { 0 };
	struct vd_attacher h;
	struct vd_db *db = NULL;
	const char *db_path;
	uint32_t id;
	int r;

	if (argc != 4 || (strcmp(argv[1], "add") && strcmp(argv[1], "remove")) ||
	    vd_parse_u32(argv[2], &id) < 0) {
		fprintf(stderr, "usage: bench_dbphase add|remove VD BACKEND_PATH\n");
		return 2;
	}
	r = vd_config_load(NULL, &cfg);
	if (r < 0)
		goto out;
	db_path = getenv("XENVD_DB") ? getenv("XENVD_DB") : cfg.db_path;
	r = vd_db_open(db_path, 0, &db);
	if (r < 0)
		goto out;
	vd_db_set_wait(db, 15000);
	vd_attacher_init(&h, db, NULL);
	h.ops = &ops;
	if (strcmp(argv[1], "add") == 0) {
		struct vd_attach_run run = {
			.h = &h,
			.vd_id = id,
			.backend_path = argv[3],
			.domid = 7,
			.devid = 51712,
			.vdev = "xvdb",
			.mode = 'w',
			.mode_str = "w",
			.lock_fd = -1,
		};

		r = vd_attach(&run);
		vd_attach_run_done(&run);
	} else {
		r = vd_detach(&h, id, argv[3]);
	}
out:
	if (r < 0)
		fprintf(stderr, "bench_dbphase %s: %s\n", argv[1], vd_errmsg());
	vd_db_close(db);
	vd_config_dispose(&cfg);
	return r < 0 ? 1 : 0;
}
