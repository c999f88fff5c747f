/* vdloader --vd=ID: see boot_vd.h. */
#include <fcntl.h>

#include "base/error.h"
#include "boot/boot_vd.h"
#include "pool/db.h"
#include "pool/vdisk.h"

int vd_boot_vd_runs(const char *db_path, const char *id, struct vd_run **ret_runs,
		    size_t *ret_n_runs)
{
	_cleanup_db_ struct vd_db *db = NULL;
	struct vd_vdisk vd = {};
	struct vd_run *runs = NULL;
	size_t n_runs = 0;
	int r;

	r = vd_db_open(db_path, VD_DB_READONLY, &db);
	if (r < 0)
		return r;
	r = vd_vdisk_lookup(db, id, &vd);
	if (r < 0)
		return r;
	r = vd_vdisk_runs(db, vd.id, O_RDONLY, &runs, &n_runs);
	vd_vdisk_dispose(&vd);
	if (r < 0)
		return r;
	/* The extent map is all it needs: a shared pool's metadata lease goes now, not after the
	 * (slow) reading of the guest's disk. */
	(void)vd_db_idle(db);
	if (n_runs == 0) {
		vd_vdisk_runs_free(runs, n_runs);
		return vd_err(-ENODATA, "VD %s has no extents", id);
	}
	*ret_runs = runs;
	*ret_n_runs = n_runs;
	return 0;
}

const struct vd_boot_vd_source vd_boot_vd_pool = {
	.runs = vd_boot_vd_runs,
	.runs_free = vd_vdisk_runs_free,
};
