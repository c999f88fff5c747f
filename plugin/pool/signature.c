#include <blkid.h>
#include <string.h>

#include "pool/signature.h"

static void probe_freep(blkid_probe *pr)
{
	if (*pr)
		blkid_free_probe(*pr);
}

int vd_signature_probe(int fd, char *buf, size_t len)
{
	_cleanup_(probe_freep) blkid_probe pr = blkid_new_probe();
	const char *type = NULL, *label = NULL, *pttype = NULL;
	int rc;

	if (!pr)
		return -ENOMEM;
	if (blkid_probe_set_device(pr, fd, 0, 0) < 0)
		return -EIO;
	blkid_probe_enable_superblocks(pr, 1);
	blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_TYPE | BLKID_SUBLKS_LABEL);
	blkid_probe_enable_partitions(pr, 1);
	blkid_probe_set_partitions_flags(pr, BLKID_PARTS_MAGIC);

	rc = blkid_do_safeprobe(pr);
	if (rc == 1)
		return 0;
	if (rc == -2) {
		snprintf(buf, len, "several conflicting signatures");
		return 1;
	}
	if (rc < 0)
		return -EIO;
	blkid_probe_lookup_value(pr, "TYPE", &type, NULL);
	blkid_probe_lookup_value(pr, "LABEL", &label, NULL);
	blkid_probe_lookup_value(pr, "PTTYPE", &pttype, NULL);
	if (type && label)
		snprintf(buf, len, "an existing %s signature labelled '%s'", type, label);
	else if (type)
		snprintf(buf, len, "an existing %s signature", type);
	else if (pttype)
		snprintf(buf, len, "a %s partition table", pttype);
	else
		snprintf(buf, len, "an unidentified signature");
	return 1;
}
