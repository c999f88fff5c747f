/* vdloader --vd=ID: a VD's extent map read straight from its pool (the database and, on a shared
 * pool, its metadata lease). The only boot/ file that calls into pool/db: vd_boot_loader_run
 * reaches it through its options only, so a vdloader linked without it (the static one, which
 * execs vdloader-vd for --vd) carries no SQLite and no libsanlock_client.
 */
#ifndef XENVD_BOOT_VD_H
#define XENVD_BOOT_VD_H

#include "boot/boot_loader.h"

/* Opens every pool device VD id lies on (read-only, labels checked) and returns its runs in VD
 * order; the database and its lease are let go before it returns. Errors name the VD. */
int vd_boot_vd_runs(const char *db_path, const char *id, struct vd_run **ret_runs,
		    size_t *ret_n_runs);

/* What a vdloader that reads --vd in-process sets in vd_boot_loader_opts.vd_source. */
extern const struct vd_boot_vd_source vd_boot_vd_pool;

#endif
