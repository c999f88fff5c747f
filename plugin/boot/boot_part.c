#include <blkid/blkid.h>
#include <string.h>

#include "boot/boot_part.h"
#include "base/error.h"

#define MAX_VOLUMES 128

static void blkid_probe_freep(blkid_probe *pr)
{
	if (*pr)
		blkid_free_probe(*pr);
}
#define _cleanup_probe_ _cleanup_(blkid_probe_freep)

bool vd_boot_fstype_is_ext(const char *fstype)
{
	return !strcmp(fstype, "ext2") || !strcmp(fstype, "ext3") || !strcmp(fstype, "ext4") ||
	       !strcmp(fstype, "ext4dev");
}

static void copy_value(blkid_probe pr, const char *name, char *dst, size_t len)
{
	const char *v = NULL;

	if (blkid_probe_lookup_value(pr, name, &v, NULL) == 0 && v)
		snprintf(dst, len, "%s", v);
}

static int new_probe(const struct vd_boot_disk *disk, uint64_t off, uint64_t len,
		     blkid_probe *ret, int *ret_owned_fd)
{
	int fd;
	uint64_t fd_off;
	bool owned;
	blkid_probe pr;
	int r;

	r = vd_boot_disk_probe_fd(disk, off, len, &fd, &fd_off, &owned);
	if (r < 0)
		return r;
	pr = blkid_new_probe();
	if (!pr) {
		if (owned)
			close(fd);
		return -ENOMEM;
	}
	if (blkid_probe_set_device(pr, fd, (blkid_loff_t)fd_off, (blkid_loff_t)len) != 0) {
		blkid_free_probe(pr);
		if (owned)
			close(fd);
		return -EIO;
	}
	*ret = pr;
	*ret_owned_fd = owned ? fd : -EBADF;
	return 0;
}

/* Filesystem type, UUID and label of one volume. */
static int probe_volume(const struct vd_boot_disk *disk, struct vd_boot_volume *vol)
{
	_cleanup_probe_ blkid_probe pr = NULL;
	_cleanup_close_ int owned_fd = -EBADF;
	int r;

	r = new_probe(disk, vol->offset, vol->size, &pr, &owned_fd);
	if (r < 0)
		return r;
	blkid_probe_enable_superblocks(pr, 1);
	blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_TYPE | BLKID_SUBLKS_UUID |
						      BLKID_SUBLKS_LABEL);
	blkid_probe_enable_partitions(pr, 0);
	r = blkid_do_safeprobe(pr);
	if (r == 0) {
		copy_value(pr, "TYPE", vol->fstype, sizeof(vol->fstype));
		copy_value(pr, "UUID", vol->uuid, sizeof(vol->uuid));
		copy_value(pr, "LABEL", vol->label, sizeof(vol->label));
	} else if (r == -2) {
		snprintf(vol->fstype, sizeof(vol->fstype), "ambiguous");
	}
	return 0;
}

int vd_boot_part_scan(const struct vd_boot_disk *disk, struct vd_boot_volume **ret,
		      size_t *ret_n)
{
	_cleanup_probe_ blkid_probe pr = NULL;
	_cleanup_close_ int owned_fd = -EBADF;
	_cleanup_free_ struct vd_boot_volume *vols = NULL;
	blkid_partlist list;
	size_t n = 0;
	int r, nparts;

	r = new_probe(disk, 0, disk->size, &pr, &owned_fd);
	if (r < 0)
		return vd_err(r, "cannot probe the disk: %s", strerror(-r));
	blkid_probe_enable_partitions(pr, 1);
	blkid_probe_set_partitions_flags(pr, BLKID_PARTS_ENTRY_DETAILS);
	blkid_probe_enable_superblocks(pr, 0);
	r = blkid_do_safeprobe(pr);
	list = r == 0 ? blkid_probe_get_partitions(pr) : NULL;
	nparts = list ? blkid_partlist_numof_partitions(list) : 0;

	vols = calloc(nparts > 0 ? (size_t)nparts : 1, sizeof(*vols));
	if (!vols)
		return -ENOMEM;
	for (int i = 0; i < nparts && n < MAX_VOLUMES; i++) {
		blkid_partition par = blkid_partlist_get_partition(list, i);
		uint64_t start, size;
		blkid_parttable tab;
		const char *s;

		if (!par || blkid_partition_is_extended(par))
			continue;
		if (blkid_partition_get_start(par) < 0 || blkid_partition_get_size(par) <= 0)
			continue;
		start = (uint64_t)blkid_partition_get_start(par) * 512;
		size = (uint64_t)blkid_partition_get_size(par) * 512;
		if (start >= disk->size || size > disk->size - start) {
			vd_debug("partition %d lies beyond the disk; skipped",
				 blkid_partition_get_partno(par));
			continue;
		}
		vols[n].partno = blkid_partition_get_partno(par);
		tab = blkid_partition_get_table(par);
		s = tab ? blkid_parttable_get_type(tab) : NULL;
		snprintf(vols[n].pttype, sizeof(vols[n].pttype), "%s", s ? s : "");
		vols[n].offset = start;
		vols[n].size = size;
		/* MBR boot flag 0x80; GPT attribute bit 2 "legacy BIOS bootable". */
		vols[n].bootable = (blkid_partition_get_flags(par) & 0x80) ||
				   (blkid_partition_get_flags(par) & 0x4);
		s = blkid_partition_get_uuid(par);
		if (s)
			snprintf(vols[n].partuuid, sizeof(vols[n].partuuid), "%s", s);
		s = blkid_partition_get_name(par);
		if (s)
			snprintf(vols[n].partlabel, sizeof(vols[n].partlabel), "%s", s);
		n++;
	}
	if (n == 0) {
		/* No table, or an empty one: the whole disk may hold a filesystem. */
		vols[0].partno = 0;
		vols[0].offset = 0;
		vols[0].size = disk->size;
		n = 1;
	}
	for (size_t i = 0; i < n; i++) {
		r = probe_volume(disk, &vols[i]);
		if (r < 0)
			return vd_err(r, "cannot probe partition %d: %s", vols[i].partno,
				      strerror(-r));
	}
	*ret = TAKE_PTR(vols);
	*ret_n = n;
	return 0;
}
