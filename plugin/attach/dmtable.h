/* Device-mapper tables for VDs, as pure data: a VD's runs → linear targets (adjacent runs
 * coalesced, sector arithmetic checked), their text form, and comparison with a table read back
 * from the kernel. No I/O and no libdevmapper here: dm.c loads what this module builds.
 */
#ifndef XENVD_DMTABLE_H
#define XENVD_DMTABLE_H

#include <sys/types.h>

#include "base/util.h"
#include "pool/run.h"

#define VD_SECTOR_SIZE 512u

/* One "linear" target: sectors [start, start+length) of the dm device map to sectors
 * [offset, offset+length) of the block device dev. */
struct vd_dm_target {
	uint64_t start;
	uint64_t length;
	dev_t dev;
	uint64_t offset;
};

struct vd_dm_table {
	struct vd_dm_target *targets;
	size_t n;
};

/* Builds the table for runs given in VD order, from each run's vd_offset, length, dev_offset
 * and dev (a pool device, or the loop device in front of a file-backed one). The runs must tile
 * the VD from offset 0 without gaps or overlaps; every value must be a multiple of 512 and
 * nothing may overflow 2^64 bytes. Violations are -EINVAL (misaligned, gap, overlap, empty run)
 * or -EOVERFLOW, with a message. */
int vd_dmtable_build(const struct vd_run *runs, size_t n, struct vd_dm_table *ret);

void vd_dmtable_dispose(struct vd_dm_table *t);
static inline void vd_dmtable_disposep(struct vd_dm_table *t)
{
	vd_dmtable_dispose(t);
}
#define _cleanup_dmtable_ _cleanup_(vd_dmtable_disposep)

/* Total length in sectors. */
uint64_t vd_dmtable_sectors(const struct vd_dm_table *t);

/* Params of one linear target as the kernel prints them: "253:4 2048". buf >= 48 bytes. */
const char *vd_dmtable_params(const struct vd_dm_target *t, char *buf, size_t len);

/* Parses kernel-printed linear params ("maj:min offset") into a target whose start/length the
 * caller sets. -EINVAL on anything else. */
int vd_dmtable_parse_params(const char *params, struct vd_dm_target *ret);

/* Appends one target (used when reading a table back); merges nothing. */
int vd_dmtable_append(struct vd_dm_table *t, const struct vd_dm_target *target);

/* Same targets in the same order (after coalescing both sides). */
bool vd_dmtable_equal(const struct vd_dm_table *a, const struct vd_dm_table *b);

/* Whether a is a prefix of b (b only appends sectors: a VD that grew). */
bool vd_dmtable_is_prefix(const struct vd_dm_table *a, const struct vd_dm_table *b);

/* Whether the table maps any sector of [offset, offset+length) of dev (sectors). */
bool vd_dmtable_uses(const struct vd_dm_table *t, dev_t dev, uint64_t offset, uint64_t length);

/* The whole table in dmsetup's text form, one target per line (malloc'd). */
int vd_dmtable_format(const struct vd_dm_table *t, char **ret);

#endif
