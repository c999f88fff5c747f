#include "boot_fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vd_boot_fstab f = {};
	int partno;

	if (vd_boot_fstab_parse((const char *)data, size, &f) != 0)
		return 0;
	for (size_t i = 0; i < f.n; i++) {
		if (!f.lines[i].spec || !f.lines[i].mountpoint || !f.lines[i].type)
			abort();
		if (vd_boot_devname_partno(f.lines[i].spec, &partno) == 0 && partno < 0)
			abort();
	}
	vd_boot_fstab_dispose(&f);
	return 0;
}
