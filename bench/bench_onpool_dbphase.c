/* bench_onpool_dbphase: one run of block-vd's database phase, as a whole process (bench_onpool.sh times it): "add
 * VD BACKEND" opens the database as block-vd does, reads the VD, its extents and attachments,
 * and records the attachment in one transaction; "remove BACKEND" removes it. Nothing of
 * xenstore or device-mapper: only what block-vd asks of the database. */
#include <stdio.h>
#include <string.h>

#include "base/config.h"
#include "base/error.h"
#include "pool/db.h"

int main(int argc, char **argv)
{
	struct vd_config cfg;
	struct vd_db *db = NULL;
	int r;

	if (argc < 3 || (strcmp(argv[1], "add") == 0 && argc != 4)) {
		fprintf(stderr, "usage: bench_onpool_dbphase add VD BACKEND | remove BACKEND\n");
		return 2;
	}
	if (vd_config_load(NULL, &cfg) < 0 ||
	    vd_db_open(cfg.db_path, 0, &db) < 0) {
		fprintf(stderr, "bench_onpool_dbphase: %s\n", vd_errmsg());
		return 1;
	}
	vd_db_set_wait(db, 15000);
	if (strcmp(argv[1], "add") == 0) {
		struct vd_attachment a = { .domid = 7, .devid = 51712, .mode = "w" }, old = { 0 };
		struct vd_attachment *list = NULL;
		struct vd_extent *ext = NULL;
		struct vd_vdisk v = { 0 };
		size_t n = 0, nl = 0;
		uint32_t id = (uint32_t)strtoul(argv[2], NULL, 10);

		a.vd_id = id;
		a.backend_path = argv[3];
		a.dm_name = "vd-bench";
		a.since = vd_now();
		r = vd_db_attachment_get(db, argv[3], &old);
		if (r == 0)
			vd_attachment_dispose(&old);
		r = vd_db_vdisk_get(db, id, &v);
		if (r == 0)
			r = vd_db_extents_of(db, id, &ext, &n);
		if (r == 0)
			r = vd_db_attachment_list(db, id, &list, &nl);
		if (r == 0)
			r = vd_db_begin(db);
		if (r == 0)
			r = vd_db_attachment_add(db, &a);
		if (r == 0)
			r = vd_db_commit(db);
		vd_vdisk_dispose(&v);
		free(ext);
		vd_db_attachment_list_free(list, nl);
	} else {
		r = vd_db_begin(db);
		if (r == 0)
			r = vd_db_attachment_remove(db, argv[2]);
		if (r == 0)
			r = vd_db_commit(db);
	}
	if (r < 0)
		fprintf(stderr, "bench_onpool_dbphase: %s\n", vd_errmsg());
	vd_db_print_io_stats(db, stderr);
	vd_db_close(db);
	vd_config_dispose(&cfg);
	return r < 0;
}
